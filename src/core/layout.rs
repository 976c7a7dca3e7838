//! What the config file is made from: the pool given by flags (generate mode: the
//! servers are the masters the sentinels know) or the operator's template (template
//! mode: the servers are the template's, their addresses kept current, a replica
//! pool's following a healthy replica). Both are templates whose holes are filled with
//! addresses; this is where the two modes differ.
//!
//! A failover moves one master: the config is then patched where that master's servers
//! are (see [`crate::core::patch`]), and only the masters touched since the file was
//! last known to be right are compared ([`Unchecked`]), so a switch costs the same work
//! at 2 masters as at 50,000 but for one copy of the text.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use crate::core::addr::Addr;
use crate::core::effect::{diff, Change};
use crate::core::patch::{patch, spell, Span};
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
        /// The holes of each master, in file order.
        holes_of: BTreeMap<String, Vec<usize>>,
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
    /// Where each hole's address sits in the file's text when it is a rendering (in
    /// generate mode a hole per master, sorted by name); empty otherwise.
    pub spans: Vec<Span>,
    /// Whether the file is exactly this layout's config for these addresses.
    pub rendering: bool,
}

impl Disk {
    /// What the file holds once `written` is on disk.
    pub fn apply(&mut self, written: Written) {
        match written {
            Written::Whole(disk) => *self = disk,
            Written::Moves(moves) => {
                self.masters.extend(moves.masters);
                for (i, addr) in moves.holes {
                    if let Some(hole) = self.holes.get_mut(i) {
                        *hole = addr;
                    }
                }
                self.spans = moves.spans;
            }
        }
    }
}

/// The masters whose servers may not be where the known masters and replicas call
/// for: every other master's are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unchecked {
    /// Any master's (the file was just read, or nothing is known of it).
    All,
    /// Only these masters'.
    Names(BTreeSet<String>),
}

impl Written {
    /// The masters whose servers it moves; `None` when it is written all anew.
    pub fn moved(&self) -> Option<&BTreeSet<String>> {
        match self {
            Written::Whole(_) => None,
            Written::Moves(moves) => Some(&moves.names),
        }
    }
}

impl Unchecked {
    /// Adds `names` to the masters to check.
    pub fn add(&mut self, names: impl IntoIterator<Item = String>) {
        if let Unchecked::Names(set) = self {
            set.extend(names);
        }
    }
}

/// What tpc will know of the file once a config is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The file is this, all anew.
    Whole(Disk),
    /// The file is the one on disk with these servers moved.
    Moves(Moves),
}

/// Servers moved in place: the file's structure is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moves {
    /// The masters whose servers move.
    names: BTreeSet<String>,
    /// The masters' new addresses.
    masters: Vec<(String, Addr)>,
    /// In template mode, the holes' new addresses.
    holes: Vec<(usize, Addr)>,
    /// Where each hole's address sits in the new text.
    spans: Vec<Span>,
}

/// A config the known masters call for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The whole file.
    pub text: String,
    /// What tpc will know of it once written.
    pub written: Written,
    /// What differs from the file on disk, sorted: masters by name, then each replica
    /// pool's server that moves.
    pub changes: Vec<Change>,
}

/// What a config is made from: the masters and replicas tpc believes, and the file on
/// disk (its text, what tpc knows of it, and the masters to compare it for).
#[derive(Clone, Copy)]
pub struct Sources<'a> {
    /// The masters.
    pub topology: &'a Topology,
    /// Their replicas, for replica pools.
    pub replicas: &'a Replicas,
    /// What the file on disk holds.
    pub disk: &'a Disk,
    /// The file's text, if tpc has it.
    pub on_disk: Option<&'a str>,
    /// The masters whose servers may differ from the file.
    pub unchecked: &'a Unchecked,
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
        let mut holes_of = BTreeMap::<String, Vec<usize>>::new();
        for (i, hole) in template.holes().iter().enumerate() {
            holes_of.entry(hole.name.clone()).or_default().push(i);
        }
        Layout::Kept {
            template,
            replica_pools,
            followed,
            holes_of,
        }
    }

    /// In generate mode, the pool the flags make with one placeholder server: what
    /// `nutcracker -t` checks once at start ([`Renderer::frame`]). `None` in template
    /// mode, where the template file itself is checked.
    pub fn frame(&self) -> Option<String> {
        match self {
            Layout::Generated { renderer, .. } => Some(renderer.frame()),
            Layout::Kept { .. } => None,
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
        if disk.rendering {
            disk.spans = found.spans();
        }
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
    /// keeps the address it has on disk (or in the template). `on_disk` is the file's
    /// text, which `disk` describes: where only addresses of `unchecked` masters move,
    /// it is patched in place rather than rendered anew.
    pub fn target(&self, sources: &Sources<'_>) -> Target {
        let Sources {
            topology,
            replicas,
            disk,
            on_disk,
            unchecked,
        } = *sources;
        if let (Some(text), Unchecked::Names(names)) = (on_disk, unchecked) {
            if let Some(target) = self.moved(topology, replicas, disk, text, names, false) {
                return target;
            }
        }
        let (text, next) = match self {
            Layout::Generated { renderer, .. } => {
                let masters = topology.addrs();
                let (text, spans) = renderer.fill(&masters);
                let disk = Disk {
                    masters,
                    holes: Vec::new(),
                    spans,
                    rendering: true,
                };
                (text, disk)
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
                let (text, spans) = template.fill_with_spans(|i, _| holes.get(i));
                let disk = Disk {
                    masters,
                    holes,
                    spans,
                    rendering: true,
                };
                (text, disk)
            }
        };
        Target {
            text,
            changes: self.changes(disk, &next),
            written: Written::Whole(next),
        }
    }

    /// The file on disk with only the servers that move moved: none added or removed.
    /// What a failover still gets while a config that adds or removes masters cannot be
    /// written (its write failed and backs off). `None` when nothing moves or the file's
    /// holes are not known.
    pub fn moves_only(&self, sources: &Sources<'_>) -> Option<Target> {
        let (Some(text), Unchecked::Names(names)) = (sources.on_disk, sources.unchecked) else {
            return None;
        };
        self.moved(
            sources.topology,
            sources.replicas,
            sources.disk,
            text,
            names,
            true,
        )
        .filter(|target| !target.changes.is_empty())
    }

    /// The target as `text` (a rendering `disk` describes) with the servers of the
    /// masters `names` moved; `None` when more than addresses change (a master added
    /// or removed: left out instead when `moves_only`) or the text's holes are not
    /// known.
    fn moved(
        &self,
        topology: &Topology,
        replicas: &Replicas,
        disk: &Disk,
        text: &str,
        names: &BTreeSet<String>,
        moves_only: bool,
    ) -> Option<Target> {
        if !disk.rendering {
            return None;
        }
        match self {
            Layout::Generated { .. } => {
                if disk.spans.len() != disk.masters.len() {
                    return None;
                }
                let mut moved = Vec::new();
                for name in names {
                    let (to, from) = match (topology.get(name), disk.masters.get(name)) {
                        (Some(known), Some(from)) => (&known.addr, from),
                        _ if moves_only => continue,
                        _ => return None,
                    };
                    if from != to {
                        moved.push((name, from, to));
                    }
                }
                // The holes are the masters in name order: one walk finds the moved ones.
                let mut at = moved.iter().peekable();
                let mut moves = Vec::with_capacity(moved.len());
                for (i, name) in disk.masters.keys().enumerate() {
                    if let Some((_, _, to)) = at.next_if(|(n, _, _)| *n == name) {
                        moves.push((i, Cow::Owned(spell(to))));
                    }
                }
                let (text, spans) = patch(text, &disk.spans, &moves);
                let changes = moved
                    .iter()
                    .map(|(name, from, to)| Change {
                        name: name.to_string(),
                        from: Some((*from).clone()),
                        to: Some((*to).clone()),
                    })
                    .collect();
                let masters: Vec<_> = moved
                    .into_iter()
                    .map(|(name, _, to)| (name.clone(), to.clone()))
                    .collect();
                Some(Target {
                    text,
                    written: Written::Moves(Moves {
                        names: masters.iter().map(|(name, _)| name.clone()).collect(),
                        masters,
                        holes: Vec::new(),
                        spans,
                    }),
                    changes,
                })
            }
            Layout::Kept {
                template, holes_of, ..
            } => {
                let count = template.holes().len();
                if disk.spans.len() != count || disk.holes.len() != count {
                    return None;
                }
                let all_masters = self.master_addrs(topology);
                let mut holes = BTreeMap::new();
                for name in names {
                    for &i in holes_of.get(name).into_iter().flatten() {
                        let hole = &template.holes()[i];
                        match self.wanted(hole, topology, replicas, &all_masters) {
                            Some(to) if disk.holes[i] != *to => {
                                holes.insert(i, to);
                            }
                            _ => {}
                        }
                    }
                }
                let now = |i: usize| holes.get(&i).copied().unwrap_or(&disk.holes[i]);
                let mut changes = Vec::new();
                let mut masters = Vec::new();
                for name in names {
                    let first = holes_of
                        .get(name)
                        .into_iter()
                        .flatten()
                        .copied()
                        .find(|&i| !self.follows_replica(&template.holes()[i]));
                    let Some(i) = first else { continue };
                    let from = disk.masters.get(name);
                    if from != Some(now(i)) {
                        changes.push(Change {
                            name: name.clone(),
                            from: from.cloned(),
                            to: Some(now(i).clone()),
                        });
                        masters.push((name.clone(), now(i).clone()));
                    }
                }
                for (&i, &to) in &holes {
                    let hole = &template.holes()[i];
                    if self.follows_replica(hole) {
                        changes.push(Change {
                            name: format!("{} (replica, pool {})", hole.name, hole.pool),
                            from: Some(disk.holes[i].clone()),
                            to: Some(to.clone()),
                        });
                    }
                }
                let moves: Vec<_> = holes
                    .iter()
                    .map(|(&i, &to)| (i, template.spelling(i, to)))
                    .collect();
                let (text, spans) = patch(text, &disk.spans, &moves);
                let names = holes
                    .keys()
                    .map(|&i| template.holes()[i].name.clone())
                    .collect();
                let holes = holes.into_iter().map(|(i, to)| (i, to.clone())).collect();
                Some(Target {
                    text,
                    written: Written::Moves(Moves {
                        names,
                        masters,
                        holes,
                        spans,
                    }),
                    changes,
                })
            }
        }
    }

    /// What changes between the config on disk and `to`, sorted: masters by name, then
    /// each replica pool's server that moves.
    fn changes(&self, from: &Disk, to: &Disk) -> Vec<Change> {
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

    /// Whether the known masters call for a config other than the one on disk. Only the
    /// `unchecked` masters can: they are narrowed to those whose servers differ.
    /// Generate mode writes nothing while no master is known: nutcracker rejects a pool
    /// without servers.
    pub fn differs(
        &self,
        topology: &Topology,
        replicas: &Replicas,
        disk: &Disk,
        unchecked: &mut Unchecked,
    ) -> bool {
        let names = match self {
            Layout::Generated { .. } => {
                if topology.is_empty() {
                    return false;
                }
                if !disk.rendering {
                    return true;
                }
                let addr = |name: &str| topology.get(name).map(|k| &k.addr);
                match std::mem::replace(unchecked, Unchecked::All) {
                    Unchecked::All => diff(&disk.masters, topology.iter())
                        .into_iter()
                        .map(|change| change.name)
                        .collect(),
                    Unchecked::Names(mut names) => {
                        names.retain(|name| addr(name) != disk.masters.get(name));
                        names
                    }
                }
            }
            Layout::Kept {
                template, holes_of, ..
            } => {
                if !disk.rendering {
                    return true;
                }
                let masters = self.master_addrs(topology);
                let differs_at = |i: usize| {
                    self.wanted(&template.holes()[i], topology, replicas, &masters)
                        .is_some_and(|want| disk.holes.get(i) != Some(want))
                };
                match std::mem::replace(unchecked, Unchecked::All) {
                    Unchecked::All => (0..template.holes().len())
                        .filter(|&i| differs_at(i))
                        .map(|i| template.holes()[i].name.clone())
                        .collect(),
                    Unchecked::Names(mut names) => {
                        names.retain(|name| {
                            holes_of
                                .get(name)
                                .into_iter()
                                .flatten()
                                .any(|&i| differs_at(i))
                        });
                        names
                    }
                }
            }
        };
        let differs = !names.is_empty();
        *unchecked = Unchecked::Names(names);
        differs
    }
}
