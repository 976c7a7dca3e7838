//! What the config file is made from: the pool given by flags (generate mode: the
//! servers are the masters the sentinels know) or the operator's template (template
//! mode: the servers are the template's, their addresses kept current). Both are
//! templates whose holes are filled with addresses; this is where the two modes differ.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use crate::core::addr::Addr;
use crate::core::render::Renderer;
use crate::core::settings::CoreSettings;
use crate::core::template::{Hole, Template};
use crate::core::topology::Topology;

/// Where the config's text comes from.
#[derive(Debug, Clone)]
pub enum Layout {
    /// One pool from flags, with a server per known master.
    Generated(Renderer),
    /// The operator's file, whose bound server lines follow their masters.
    Kept(Template),
}

impl Layout {
    /// The layout `settings` ask for.
    pub fn new(settings: &CoreSettings) -> Layout {
        match &settings.template {
            Some(template) => Layout::Kept(template.clone()),
            None => Layout::Generated(Renderer::new(&settings.pool)),
        }
    }

    /// The masters a config holds (by its bound server lines: in generate mode the
    /// first line of a name counts; a template's name whose lines disagree holds none),
    /// and whether the config is exactly this layout's config for them.
    pub fn read(&self, text: &str, pool: &str) -> (BTreeMap<String, Addr>, bool) {
        let found = Template::parse(text);
        let holes = found.iter().flat_map(|found| found.holes());
        let masters = match self {
            Layout::Generated(_) => {
                let mut masters = BTreeMap::new();
                for hole in holes.filter(|hole| hole.pool == pool) {
                    masters
                        .entry(hole.name.clone())
                        .or_insert_with(|| hole.addr.clone());
                }
                masters
            }
            Layout::Kept(_) => agreed(holes.map(|hole| (&hole.name, &hole.addr))),
        };
        let rendering = self.render(&masters) == text;
        (masters, rendering)
    }

    /// The config for these masters. A template's server whose master is not given
    /// keeps the template's address.
    pub fn render(&self, masters: &BTreeMap<String, Addr>) -> String {
        match self {
            Layout::Generated(renderer) => renderer.render(masters),
            Layout::Kept(template) => template.fill(|hole| masters.get(&hole.name)),
        }
    }

    /// The config the known masters call for, and the masters it holds.
    pub fn target(&self, topology: &Topology) -> (String, BTreeMap<String, Addr>) {
        match self {
            Layout::Generated(renderer) => (renderer.render(topology.iter()), topology.addrs()),
            Layout::Kept(template) => {
                // A server no sentinel knows keeps its own address, even where another
                // line of the same name has another one.
                let addr = |hole: &Hole| topology.get(&hole.name).map(|k| &k.addr);
                let masters = agreed(
                    template
                        .holes()
                        .iter()
                        .map(|hole| (&hole.name, addr(hole).unwrap_or(&hole.addr))),
                );
                (template.fill(addr), masters)
            }
        }
    }

    /// Whether the known masters call for a config other than `on_disk` (which holds
    /// `on_disk_masters`, and is this layout's config for them when `rendering`).
    /// Generate mode writes nothing while no master is known: nutcracker rejects a
    /// pool without servers.
    pub fn differs(
        &self,
        topology: &Topology,
        on_disk_masters: &BTreeMap<String, Addr>,
        rendering: bool,
    ) -> bool {
        match self {
            Layout::Generated(_) => {
                !topology.is_empty() && (!rendering || !topology.has_addrs(on_disk_masters))
            }
            Layout::Kept(template) => {
                !rendering
                    || template.holes().iter().any(|hole| {
                        topology
                            .get(&hole.name)
                            .is_some_and(|k| on_disk_masters.get(&hole.name) != Some(&k.addr))
                    })
            }
        }
    }
}

/// The masters whose lines all hold one address, and that address (a template may name
/// a master no sentinel knows with other addresses in other pools: it holds none).
fn agreed<'a>(lines: impl Iterator<Item = (&'a String, &'a Addr)>) -> BTreeMap<String, Addr> {
    let mut masters = BTreeMap::new();
    let mut split = BTreeSet::new();
    for (name, addr) in lines {
        match masters.entry(name.clone()) {
            Entry::Vacant(e) => {
                e.insert(addr.clone());
            }
            Entry::Occupied(e) if e.get() != addr => {
                split.insert(name.clone());
            }
            Entry::Occupied(_) => {}
        }
    }
    masters.retain(|name, _| !split.contains(name));
    masters
}
