//! What goes into the core: every input carries the time it happened at. A recording is
//! a list of these, one JSON object per line.

use serde::{Deserialize, Serialize};

use crate::core::effect::EffectId;
use crate::core::time::Millis;
use crate::core::topology::MasterInfo;

/// How an effect the core asked for turned out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// It worked.
    Ok,
    /// It failed; `error` says why, for logs and notifications.
    Failed {
        /// What went wrong, in words a person can act on.
        error: String,
    },
}

/// One input to the core.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Input {
    /// A pub/sub message from a sentinel (`PSUBSCRIBE *`).
    Message {
        /// When it arrived.
        at: Millis,
        /// Which sentinel sent it (`host:port`).
        sentinel: String,
        /// The channel: the event name, e.g. `+switch-master`.
        channel: String,
        /// The payload, space-separated words.
        payload: String,
    },
    /// The answer to `SENTINEL MASTERS` from one sentinel.
    Snapshot {
        /// When the answer arrived.
        at: Millis,
        /// Which sentinel answered.
        sentinel: String,
        /// Every master it monitors.
        masters: Vec<MasterInfo>,
    },
    /// A link to a sentinel is up and subscribed.
    LinkUp {
        /// When.
        at: Millis,
        /// Which sentinel.
        sentinel: String,
    },
    /// A link to a sentinel was lost or could not be made.
    LinkDown {
        /// When.
        at: Millis,
        /// Which sentinel.
        sentinel: String,
        /// Why, in words.
        reason: String,
    },
    /// A timer fired; early or repeated ticks are harmless.
    Tick {
        /// When.
        at: Millis,
    },
    /// An effect the core asked for has finished.
    Done {
        /// When it finished.
        at: Millis,
        /// The effect's id.
        id: EffectId,
        /// How it went.
        outcome: Outcome,
    },
}

impl Input {
    /// When this input happened.
    pub fn at(&self) -> Millis {
        match self {
            Input::Message { at, .. }
            | Input::Snapshot { at, .. }
            | Input::LinkUp { at, .. }
            | Input::LinkDown { at, .. }
            | Input::Tick { at }
            | Input::Done { at, .. } => *at,
        }
    }
}
