//! What goes into the core: every input carries the time it happened at. A recording is
//! a list of these, one JSON object per line.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::effect::EffectId;
use crate::core::replicas::ReplicaInfo;
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

/// One input to the core. Its text borrows where it can (`'a`): replay feeds the core
/// straight from the line it read, with no copy; the daemon's inputs own their text
/// (`Input<'static>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Input<'a> {
    /// A pub/sub message from a sentinel (`PSUBSCRIBE *`).
    Message {
        /// When it arrived.
        at: Millis,
        /// Which sentinel sent it (`host:port`).
        sentinel: Cow<'a, str>,
        /// The channel: the event name, e.g. `+switch-master`.
        channel: Cow<'a, str>,
        /// The payload, space-separated words.
        payload: Cow<'a, str>,
    },
    /// The answer to `SENTINEL MASTERS` from one sentinel.
    Snapshot {
        /// When the answer arrived.
        at: Millis,
        /// Which sentinel answered.
        sentinel: Cow<'a, str>,
        /// Every master it monitors.
        masters: Vec<MasterInfo>,
        /// The answers to `SENTINEL REPLICAS <master>` asked with it, for the masters
        /// replica pools follow.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        replicas: BTreeMap<String, Vec<ReplicaInfo>>,
    },
    /// The answer to `SENTINEL MASTER <name>` from one sentinel.
    MasterAnswer {
        /// When the answer arrived.
        at: Millis,
        /// Which sentinel answered.
        sentinel: Cow<'a, str>,
        /// The master asked about.
        name: Cow<'a, str>,
        /// What the sentinel says of it; none when it does not monitor it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        master: Option<MasterInfo>,
        /// The answer to `SENTINEL REPLICAS <name>` asked with it, when replica pools
        /// follow the master's replicas.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replicas: Option<Vec<ReplicaInfo>>,
    },
    /// A link to a sentinel is up and subscribed.
    LinkUp {
        /// When.
        at: Millis,
        /// Which sentinel.
        sentinel: Cow<'a, str>,
    },
    /// A link to a sentinel was lost or could not be made.
    LinkDown {
        /// When.
        at: Millis,
        /// Which sentinel.
        sentinel: Cow<'a, str>,
        /// Why, in words.
        reason: Cow<'a, str>,
    },
    /// A timer fired; early or repeated ticks are harmless.
    Tick {
        /// When.
        at: Millis,
    },
    /// The config file as it was on disk, read for an [`Effect::ReadConfig`](crate::core::Effect::ReadConfig).
    ConfigRead {
        /// When it was read.
        at: Millis,
        /// The read's id.
        id: EffectId,
        /// The file's content; none when there is no file.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<Cow<'a, str>>,
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

impl Input<'_> {
    /// The same input, owning its text.
    pub fn into_owned(self) -> Input<'static> {
        let own = |text: Cow<'_, str>| Cow::Owned(text.into_owned());
        match self {
            Input::Message {
                at,
                sentinel,
                channel,
                payload,
            } => Input::Message {
                at,
                sentinel: own(sentinel),
                channel: own(channel),
                payload: own(payload),
            },
            Input::Snapshot {
                at,
                sentinel,
                masters,
                replicas,
            } => Input::Snapshot {
                at,
                sentinel: own(sentinel),
                masters,
                replicas,
            },
            Input::MasterAnswer {
                at,
                sentinel,
                name,
                master,
                replicas,
            } => Input::MasterAnswer {
                at,
                sentinel: own(sentinel),
                name: own(name),
                master,
                replicas,
            },
            Input::LinkUp { at, sentinel } => Input::LinkUp {
                at,
                sentinel: own(sentinel),
            },
            Input::LinkDown {
                at,
                sentinel,
                reason,
            } => Input::LinkDown {
                at,
                sentinel: own(sentinel),
                reason: own(reason),
            },
            Input::Tick { at } => Input::Tick { at },
            Input::ConfigRead { at, id, text } => Input::ConfigRead {
                at,
                id,
                text: text.map(own),
            },
            Input::Done { at, id, outcome } => Input::Done { at, id, outcome },
        }
    }

    /// When this input happened.
    pub fn at(&self) -> Millis {
        match self {
            Input::Message { at, .. }
            | Input::Snapshot { at, .. }
            | Input::MasterAnswer { at, .. }
            | Input::LinkUp { at, .. }
            | Input::LinkDown { at, .. }
            | Input::Tick { at }
            | Input::ConfigRead { at, .. }
            | Input::Done { at, .. } => *at,
        }
    }
}
