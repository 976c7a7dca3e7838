//! Why a replayed message did nothing: a malformed payload, or a switch tpc did not
//! follow. Each is told with its line number, its payload, and the reason, judged from
//! what the core knew just before the message.

use crate::core::event::SentinelEvent;
use crate::core::shown::shown;
use crate::core::{Core, Input};

/// What the core knew before a message, to explain what it made of it.
pub struct Before {
    malformed: u64,
    ignored: u64,
    known: Option<String>,
}

impl Before {
    /// Notes the core's counts (and the master's address, for a switch) before `input`.
    pub fn new(core: &Core, input: &Input) -> Before {
        let stats = core.stats();
        let known = match input {
            Input::Message {
                channel, payload, ..
            } if channel == "+switch-master" => payload
                .split_whitespace()
                .next()
                .and_then(|name| core.master(name).map(|a| a.to_string())),
            _ => None,
        };
        Before {
            malformed: stats.malformed,
            ignored: stats.switches_ignored,
            known,
        }
    }

    /// The explanation of what `core` made of `input`, if it was malformed or ignored.
    pub fn explain(&self, core: &Core, line: usize, input: &Input) -> Option<String> {
        let Input::Message {
            channel, payload, ..
        } = input
        else {
            return None;
        };
        let stats = core.stats();
        // Most messages need no explanation: the line is only written out for one.
        let head = || format!("line {line}: {} {}", shown(channel), shown(payload));
        if stats.malformed > self.malformed {
            let why = match SentinelEvent::parse(channel, payload) {
                Err(e) => e.to_string(),
                Ok(_) => "not understood".into(),
            };
            return Some(format!("{}: malformed, skipped: {}", head(), shown(&why)));
        }
        if stats.switches_ignored <= self.ignored {
            return None;
        }
        let why = match SentinelEvent::parse(channel, payload) {
            Ok(SentinelEvent::SwitchMaster { name, old, new }) => {
                match self.known.as_deref() {
                    _ if !core.settings().wants(name) => {
                        "the master is outside -master_pattern".to_string()
                    }
                    _ if old == new => "the old and new addresses are the same".into(),
                    None => format!(
                    "tpc knew no master {name} (not in -masters, a +monitor line, or an answer)"
                ),
                    Some(known) if known == new.to_string() => {
                        format!("already followed: tpc had {name} at {new} (the same switch, heard again)")
                    }
                    Some(known) if known != old.to_string() => {
                        format!("tpc knew {name} at {known}, not at the switch's old address {old}")
                    }
                    Some(known) => format!("the sentinels' answers keep {name} at {known}"),
                }
            }
            _ => "not followed".into(),
        };
        Some(format!("{}: switch ignored: {why}", head()))
    }
}
