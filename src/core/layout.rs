//! What the config file is made from: the pool given by flags (generate mode: the
//! servers are the masters the sentinels know) or the operator's template (template
//! mode: the servers are the template's, their addresses kept current, a replica
//! pool's following a healthy replica). Both are templates whose holes are filled with
//! addresses; this is where the two modes differ.

use std::collections::{BTreeMap, BTreeSet};

use crate::core::addr::Addr;
use crate::core::effect::{diff, Change};
use crate::core::render::Renderer;
use crate::core::replicas::Replicas;
use crate::core::settings::CoreSettings;
use crate::core::template::{Hole, Template};
use crate::core::topology::Topology;

/// Where the config's text comes from.
#[derive(Debug, Clone)]
pub enum Layout {
    /// One pool from flags, with a server per known master.
    Generated {
        /// Renders the pool.
        renderer: Renderer,
        /// The pool's name.
        pool: String,
    },
    /// The operator's file, whose bound server lines follow their masters.
    Kept {
        /// The operator's file.
        template: Template,
        /// The pools whose servers follow a replica of their master.
        replica_pools: BTreeSet<String>,
        /// The masters whose replicas those servers follow.
        followed: BTreeSet<String>,
    },
}

/// What a config file holds, as far as tpc decides from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Disk {
    /// The masters' addresses in it (the first master server line of each name).
    pub masters: BTreeMap<String, Addr>,
    /// In template mode, the address at each of the template's holes (empty when the
    /// file does not have the template's server lines).
    pub holes: Vec<Addr>,
    /// Whether the file is exactly this layout's config for these addresses.
    pub rendering: bool,
}

/// A config the known masters call for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The whole file.
    pub text: String,
    /// What tpc will know of it once written.
    pub disk: Disk,
}

impl Layout {
    /// The layout `settings` ask for.
    pub fn new(settings: &CoreSettings) -> Layout {
        match &settings.template {
            Some(template) => Layout::kept(template.clone(), settings.replica_pools.clone()),
            None => Layout::Generated {
                renderer: Renderer::new(&settings.pool),
                pool: settings.pool.name.clone(),
            },
        }
    }

    /// Template mode with `template`, the servers of `replica_pools` following replicas.
    pub fn kept(template: Template, replica_pools: BTreeSet<String>) -> Layout {
        let followed = template
            .holes()
            .iter()
            .filter(|h| replica_pools.contains(&h.pool))
            .map(|h| h.name.clone())
            .collect();
        Layout::Kept {
            template,
            replica_pools,
            followed,
        }
    }

    /// Whether a server of `hole`'s pool follows a replica.
    fn follows_replica(&self, hole: &Hole) -> bool {
        matches!(self, Layout::Kept { replica_pools, .. } if replica_pools.contains(&hole.pool))
    }

    /// Whether some replica pool follows `master`'s replicas.
    pub fn follows_replicas_of(&self, master: &str) -> bool {
        matches!(self, Layout::Kept { followed, .. } if followed.contains(master))
    }

    /// The masters whose replicas some replica pool follows.
    pub fn followed(&self) -> BTreeSet<String> {
        match self {
            Layout::Kept { followed, .. } => followed.clone(),
            Layout::Generated { .. } => BTreeSet::new(),
        }
    }

    /// The names of the masters the config has servers for; `None` in generate mode,
    /// where every known master gets one.
    pub fn bound(&self) -> Option<BTreeSet<&str>> {
        match self {
            Layout::Kept { template, .. } => {
                Some(template.holes().iter().map(|h| h.name.as_str()).collect())
            }
            Layout::Generated { .. } => None,
        }
    }

    /// What a config text holds.
    pub fn read(&self, text: &str) -> Disk {
        let mut disk = Disk::default();
        let Ok(found) = Template::parse(text) else {
            return disk;
        };
        match self {
            Layout::Generated { pool, .. } => {
                for hole in found.holes().iter().filter(|h| &h.pool == pool) {
                    disk.masters
                        .entry(hole.name.clone())
                        .or_insert_with(|| hole.addr.clone());
                }
            }
            Layout::Kept { template, .. } => {
                let same_lines = found.holes().len() == template.holes().len()
                    && found
                        .holes()
                        .iter()
                        .zip(template.holes())
                        .all(|(a, b)| a.name == b.name && a.pool == b.pool);
                if same_lines {
                    disk.holes = found.holes().iter().map(|h| h.addr.clone()).collect();
                }
                for hole in found.holes().iter().filter(|h| !self.follows_replica(h)) {
                    disk.masters
                        .entry(hole.name.clone())
                        .or_insert_with(|| hole.addr.clone());
                }
            }
        }
        disk.rendering = self.render(&disk) == text;
        disk
    }

    /// The config holding what `disk` says (a template's hole it gives no address for
    /// keeps the template's).
    pub fn render(&self, disk: &Disk) -> String {
        match self {
            Layout::Generated { renderer, .. } => renderer.render(&disk.masters),
            Layout::Kept { template, .. } => template.fill(|i, _| disk.holes.get(i)),
        }
    }

    /// The address the known masters and replicas call for at hole `i`, if any: the
    /// master's, or for a replica pool a healthy replica's (the master's when there is
    /// none).
    fn wanted<'a>(
        &self,
        hole: &Hole,
        topology: &'a Topology,
        replicas: &'a Replicas,
        masters: &BTreeSet<&Addr>,
    ) -> Option<&'a Addr> {
        let master = &topology.get(&hole.name)?.addr;
        if self.follows_replica(hole) {
            let replica = replicas.choice(&hole.name, |a| a == master || masters.contains(a));
            return Some(replica.unwrap_or(master));
        }
        Some(master)
    }

    /// Every master's address, which no replica pool may route to (a sentinel listing
    /// another shard's master as a replica would mix shards); empty without replica
    /// pools.
    fn master_addrs<'a>(&self, topology: &'a Topology) -> BTreeSet<&'a Addr> {
        match self {
            Layout::Kept { followed, .. } if !followed.is_empty() => {
                topology.iter().map(|(_, addr)| addr).collect()
            }
            _ => BTreeSet::new(),
        }
    }

    /// The masters of the followed replicas that have no healthy replica now (their
    /// replica pools' servers point at the master).
    pub fn without_replica(&self, topology: &Topology, replicas: &Replicas) -> BTreeSet<String> {
        let Layout::Kept { template, .. } = self else {
            return BTreeSet::new();
        };
        let masters = self.master_addrs(topology);
        template
            .holes()
            .iter()
            .filter(|h| self.follows_replica(h))
            .filter_map(|h| {
                let master = &topology.get(&h.name)?.addr;
                replicas
                    .choice(&h.name, |a| a == master || masters.contains(a))
                    .is_none()
                    .then(|| h.name.clone())
            })
            .collect()
    }

    /// The config the known masters call for; a server whose master no sentinel knows
    /// keeps the address it has on disk (or in the template).
    pub fn target(&self, topology: &Topology, replicas: &Replicas, disk: &Disk) -> Target {
        match self {
            Layout::Generated { renderer, .. } => {
                let masters = topology.addrs();
                let text = renderer.render(&masters);
                let disk = Disk {
                    masters,
                    holes: Vec::new(),
                    rendering: true,
                };
                Target { text, disk }
            }
            Layout::Kept { template, .. } => {
                let masters = self.master_addrs(topology);
                let holes: Vec<Addr> = template
                    .holes()
                    .iter()
                    .enumerate()
                    .map(|(i, h)| {
                        self.wanted(h, topology, replicas, &masters)
                            .or_else(|| disk.holes.get(i))
                            .unwrap_or(&h.addr)
                            .clone()
                    })
                    .collect();
                let mut masters = BTreeMap::new();
                for (hole, addr) in template.holes().iter().zip(&holes) {
                    if !self.follows_replica(hole) {
                        masters.entry(hole.name.clone()).or_insert(addr.clone());
                    }
                }
                let text = template.fill(|i, _| holes.get(i));
                let disk = Disk {
                    masters,
                    holes,
                    rendering: true,
                };
                Target { text, disk }
            }
        }
    }

    /// What changes between the config on disk and `to`, sorted: masters by name, then
    /// each replica pool's server that moves.
    pub fn changes(&self, from: &Disk, to: &Disk) -> Vec<Change> {
        let mut changes = diff(&from.masters, &to.masters);
        if let Layout::Kept { template, .. } = self {
            for (i, hole) in template.holes().iter().enumerate() {
                let (old, new) = (from.holes.get(i), to.holes.get(i));
                if self.follows_replica(hole) && old != new {
                    changes.push(Change {
                        name: format!("{} (replica, pool {})", hole.name, hole.pool),
                        from: old.cloned(),
                        to: new.cloned(),
                    });
                }
            }
        }
        changes
    }

    /// Whether the known masters call for a config other than the one on disk.
    /// Generate mode writes nothing while no master is known: nutcracker rejects a pool
    /// without servers.
    pub fn differs(&self, topology: &Topology, replicas: &Replicas, disk: &Disk) -> bool {
        match self {
            Layout::Generated { .. } => {
                !topology.is_empty() && (!disk.rendering || !topology.has_addrs(&disk.masters))
            }
            Layout::Kept { template, .. } => {
                let masters = self.master_addrs(topology);
                !disk.rendering
                    || template.holes().iter().enumerate().any(|(i, h)| {
                        self.wanted(h, topology, replicas, &masters)
                            .is_some_and(|want| disk.holes.get(i) != Some(want))
                    })
            }
        }
    }
}
