//! Driving the core on virtual time, for replay and tests: inputs go in with their
//! recorded times, and every effect the core asks for comes out as a timeline entry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::effect::{Effect, EffectId};
use crate::core::input::{Input, Outcome};
use crate::core::machine::Core;
use crate::core::time::Millis;

/// Where effect outcomes come from when inputs are replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcomes {
    /// The inputs hold the outcomes the daemon saw (`done` inputs) and its timer ticks:
    /// they are fed exactly as they are.
    Recorded,
    /// The inputs hold only the world's events (hand-written scenarios, imported logs):
    /// every effect is performed at once and succeeds, and the core is ticked whenever
    /// it asks.
    #[default]
    Simulated,
}

/// One line of a timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// The core asked for this effect at this time.
    Effect(Millis, Effect),
    /// A recorded effect failed.
    Failed(Millis, EffectId, String),
    /// A sentinel link came up (no reason) or went down (why).
    Link(Millis, String, Option<String>),
}

/// A slow effect asked for whose outcome has not come (yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slow {
    /// A config write.
    Write,
    /// A reload command.
    Reload,
}

/// Most ticks in a row without an input, before the driver stops waiting for the core
/// to settle (a safeguard: the core always settles much sooner).
const MAX_TICKS: usize = 10_000;

/// Feeds a core inputs on virtual time and reports what it does.
#[derive(Debug)]
pub struct Driver {
    core: Core,
    outcomes: Outcomes,
    now: Millis,
    /// Slow effects asked for, with no outcome yet: when, and what.
    unfinished: BTreeMap<EffectId, (Millis, Slow)>,
}

impl Driver {
    /// A driver around `core`.
    pub fn new(core: Core, outcomes: Outcomes) -> Driver {
        Driver {
            core,
            outcomes,
            now: Millis::ZERO,
            unfinished: BTreeMap::new(),
        }
    }

    /// The core being driven.
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// Writes and reloads asked for whose outcome has not come: when, and which. Only a
    /// recording can leave one (it ended first); simulated ones finish at once.
    pub fn unfinished(&self) -> impl Iterator<Item = (EffectId, Millis, Slow)> + '_ {
        self.unfinished
            .iter()
            .map(|(id, (at, slow))| (*id, *at, *slow))
    }

    /// Feeds one input; with simulated outcomes, first lets virtual time run up to the
    /// input's time, ticking the core whenever it asks.
    pub fn feed(&mut self, input: Input, out: &mut impl FnMut(Entry)) {
        if self.outcomes == Outcomes::Simulated {
            self.run_until(input.at(), out);
        }
        self.now = self.now.max(input.at());
        if let Input::Done { id, .. } = &input {
            self.unfinished.remove(id);
        }
        match &input {
            Input::Done {
                at,
                id,
                outcome: Outcome::Failed { error },
            } => out(Entry::Failed(*at, *id, error.clone())),
            Input::LinkUp { at, sentinel } => out(Entry::Link(*at, sentinel.to_string(), None)),
            Input::LinkDown {
                at,
                sentinel,
                reason,
            } => out(Entry::Link(
                *at,
                sentinel.to_string(),
                Some(reason.to_string()),
            )),
            _ => {}
        }
        self.core.handle(input);
        self.drain(out);
    }

    /// After the last input: with simulated outcomes, lets time run until the core has
    /// nothing left to do but reconcile.
    pub fn finish(&mut self, out: &mut impl FnMut(Entry)) {
        if self.outcomes == Outcomes::Simulated {
            self.tick_while(out, |core, _| !core.is_settled());
        }
    }

    /// Ticks the core at each time it asks for, up to `until`.
    fn run_until(&mut self, until: Millis, out: &mut impl FnMut(Entry)) {
        self.tick_while(out, |_, t| t <= until);
    }

    /// Ticks the core at each time it asks for while `go` says so.
    fn tick_while(&mut self, out: &mut impl FnMut(Entry), go: impl Fn(&Core, Millis) -> bool) {
        for _ in 0..MAX_TICKS {
            match self.core.poll_timeout() {
                Some(t) if go(&self.core, t) => {
                    self.now = self.now.max(t);
                    self.core.handle(Input::Tick { at: self.now });
                    self.drain(out);
                }
                _ => return,
            }
        }
    }

    fn drain(&mut self, out: &mut impl FnMut(Entry)) {
        while let Some(effect) = self.core.poll_effect() {
            let done = match &effect {
                Effect::WriteConfig { id, .. } => Some((*id, Slow::Write)),
                Effect::RunReload { id } => Some((*id, Slow::Reload)),
                // Nothing on disk answers a replayed read: a recording holds the answers.
                Effect::Notify { .. }
                | Effect::Query
                | Effect::QueryMaster { .. }
                | Effect::ReadConfig { .. }
                | Effect::Stop { .. } => None,
            };
            out(Entry::Effect(self.now, effect));
            match (done, self.outcomes) {
                (Some((id, _)), Outcomes::Simulated) => self.core.handle(Input::Done {
                    at: self.now,
                    id,
                    outcome: Outcome::Ok,
                }),
                (Some((id, slow)), Outcomes::Recorded) => {
                    self.unfinished.insert(id, (self.now, slow));
                }
                (None, _) => {}
            }
        }
    }
}
