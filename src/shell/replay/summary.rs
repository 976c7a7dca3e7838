//! The summary after a replay's timeline: per master, each failover with the time
//! Sentinel switched (the first `+switch-master` heard), when tpc's config named the new
//! address (the write), when the reload that loads it ran, and the gap between the
//! switch and that reload: the part of the shard's outage that tpc added.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::core::driver::Entry;
use crate::core::event::SentinelEvent;
use crate::core::{Addr, Effect, EffectId, Input, Millis};

/// One failover of one master.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failover {
    /// Master name.
    pub master: String,
    /// Its address before.
    pub from: Option<Addr>,
    /// Its address after.
    pub to: Addr,
    /// When Sentinel's switch was first heard (none: tpc learnt it from an answer).
    pub switched: Option<Millis>,
    /// When a config naming `to` was written.
    pub config: Option<Millis>,
    /// When the reload loading that config started.
    pub reload: Option<Millis>,
    /// From the switch (or the write, without one) to the reload.
    pub gap: Option<Millis>,
    #[serde(skip)]
    write_id: Option<EffectId>,
    #[serde(skip)]
    reload_id: Option<EffectId>,
}

impl Failover {
    /// The reload that loads the new address, once one ran.
    pub fn reload_id(&self) -> Option<EffectId> {
        self.reload_id
    }
}

/// Failovers gathered from a replay's inputs and timeline. Indexed so that each input
/// and entry costs the same however many failovers came before (a replay may hold
/// hundreds of thousands).
#[derive(Debug, Clone, Default)]
pub struct Summary {
    failovers: Vec<Failover>,
    /// Per master, its last failover.
    last: BTreeMap<String, usize>,
    /// Per master, its failovers whose reload has not run.
    open: BTreeMap<String, BTreeSet<usize>>,
    /// Failovers whose config was written and whose reload has not run.
    awaiting: BTreeSet<usize>,
    /// The last write and the failovers it named, and the last reload and the failovers
    /// it loaded: the core runs one at a time, so a failure is about one of these.
    last_write: Option<(EffectId, Vec<usize>)>,
    last_reload: Option<(EffectId, Vec<usize>)>,
}

impl Summary {
    /// Notes a `+switch-master` input (the first of a failover counts).
    pub fn input(&mut self, input: &Input) {
        let Input::Message {
            at,
            channel,
            payload,
            ..
        } = input
        else {
            return;
        };
        if channel != "+switch-master" {
            return;
        }
        let Ok(SentinelEvent::SwitchMaster { name, old, new }) =
            SentinelEvent::parse(channel, payload)
        else {
            return;
        };
        // The same switch from another sentinel, or heard again: the master's last
        // failover already took it there.
        let known = self
            .last
            .get(name)
            .is_some_and(|i| self.failovers[*i].to == new);
        if !known && old != new {
            self.push(Failover {
                master: name.to_string(),
                from: Some(old),
                to: new,
                switched: Some(*at),
                config: None,
                reload: None,
                gap: None,
                write_id: None,
                reload_id: None,
            });
        }
    }

    /// Notes a timeline entry: writes, reloads, and their failures.
    pub fn entry(&mut self, entry: &Entry) {
        match entry {
            Entry::Effect(at, Effect::WriteConfig { id, changes, .. }) => {
                let mut named = Vec::new();
                for change in changes {
                    let (Some(from), Some(to)) = (&change.from, &change.to) else {
                        continue;
                    };
                    let open = self.open.get(&change.name).and_then(|open| {
                        open.iter().copied().find(|i| self.failovers[*i].to == *to)
                    });
                    let i = match open {
                        Some(i) => i,
                        None => self.push(Failover {
                            master: change.name.clone(),
                            from: Some(from.clone()),
                            to: to.clone(),
                            switched: None,
                            config: None,
                            reload: None,
                            gap: None,
                            write_id: None,
                            reload_id: None,
                        }),
                    };
                    let f = &mut self.failovers[i];
                    f.config = Some(*at);
                    f.write_id = Some(*id);
                    self.awaiting.insert(i);
                    named.push(i);
                }
                self.last_write = Some((*id, named));
            }
            Entry::Effect(at, Effect::RunReload { id }) => {
                let loaded: Vec<usize> = std::mem::take(&mut self.awaiting).into_iter().collect();
                for &i in &loaded {
                    let f = &mut self.failovers[i];
                    f.reload = Some(*at);
                    f.reload_id = Some(*id);
                    let since = f.switched.or(f.config).unwrap_or(*at);
                    f.gap = Some(Millis(at.as_u64().saturating_sub(since.as_u64())));
                    if let Some(open) = self.open.get_mut(&f.master) {
                        open.remove(&i);
                    }
                }
                self.last_reload = Some((*id, loaded));
            }
            Entry::Failed(_, id, _) => {
                let of = |last: &Option<(EffectId, Vec<usize>)>| {
                    last.as_ref()
                        .filter(|(last, _)| last == id)
                        .map(|(_, list)| list.clone())
                };
                // Any other id (only a hand-made recording has one) is looked for in
                // every failover.
                let touched = of(&self.last_write)
                    .or_else(|| of(&self.last_reload))
                    .unwrap_or_else(|| (0..self.failovers.len()).collect());
                for i in touched {
                    self.failed(i, *id);
                }
            }
            _ => {}
        }
    }

    /// Adds a failover, open until its reload runs; returns its index.
    fn push(&mut self, failover: Failover) -> usize {
        let i = self.failovers.len();
        self.last.insert(failover.master.clone(), i);
        self.open
            .entry(failover.master.clone())
            .or_default()
            .insert(i);
        self.failovers.push(failover);
        i
    }

    /// Effect `id` failed: failover `i` loses the config or the reload it brought.
    fn failed(&mut self, i: usize, id: EffectId) {
        let f = &mut self.failovers[i];
        if f.write_id == Some(id) {
            (f.config, f.write_id) = (None, None);
            self.awaiting.remove(&i);
        }
        if f.reload_id == Some(id) {
            (f.reload, f.reload_id, f.gap) = (None, None, None);
            self.open.entry(f.master.clone()).or_default().insert(i);
            if f.config.is_some() {
                self.awaiting.insert(i);
            }
        }
    }

    /// The failovers, by master, then in time order.
    pub fn failovers(&self) -> Vec<&Failover> {
        let mut all: Vec<&Failover> = self.failovers.iter().collect();
        all.sort_by(|a, b| a.master.cmp(&b.master));
        all
    }
}
