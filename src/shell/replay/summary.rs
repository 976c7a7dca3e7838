//! The summary after a replay's timeline: per master, each failover with the time
//! Sentinel switched (the first `+switch-master` heard), when tpc's config named the new
//! address (the write), when the reload that loads it ran, and the gap between the
//! switch and that reload: the part of the shard's outage that tpc added.

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

/// Failovers gathered from a replay's inputs and timeline.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    failovers: Vec<Failover>,
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
            .failovers
            .iter()
            .rev()
            .find(|f| f.master == name)
            .is_some_and(|f| f.to == new);
        if !known && old != new {
            self.failovers.push(Failover {
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
                for change in changes {
                    let (Some(from), Some(to)) = (&change.from, &change.to) else {
                        continue;
                    };
                    let open = self
                        .failovers
                        .iter_mut()
                        .find(|f| f.master == change.name && &f.to == to && f.reload.is_none());
                    match open {
                        Some(f) => {
                            f.config = Some(*at);
                            f.write_id = Some(*id);
                        }
                        None => self.failovers.push(Failover {
                            master: change.name.clone(),
                            from: Some(from.clone()),
                            to: to.clone(),
                            switched: None,
                            config: Some(*at),
                            reload: None,
                            gap: None,
                            write_id: Some(*id),
                            reload_id: None,
                        }),
                    }
                }
            }
            Entry::Effect(at, Effect::RunReload { id }) => {
                for f in &mut self.failovers {
                    if f.config.is_some() && f.reload.is_none() {
                        f.reload = Some(*at);
                        f.reload_id = Some(*id);
                        let since = f.switched.or(f.config).unwrap_or(*at);
                        f.gap = Some(Millis(at.as_u64().saturating_sub(since.as_u64())));
                    }
                }
            }
            Entry::Failed(_, id, _) => {
                for f in &mut self.failovers {
                    if f.write_id == Some(*id) {
                        (f.config, f.write_id) = (None, None);
                    }
                    if f.reload_id == Some(*id) {
                        (f.reload, f.reload_id, f.gap) = (None, None, None);
                    }
                }
            }
            _ => {}
        }
    }

    /// The failovers, by master, then in time order.
    pub fn failovers(&self) -> Vec<&Failover> {
        let mut all: Vec<&Failover> = self.failovers.iter().collect();
        all.sort_by(|a, b| a.master.cmp(&b.master));
        all
    }
}
