//! What comes out of the core: the shell performs these. Slow effects carry an id and
//! their outcome comes back as [`Input::Done`](crate::core::input::Input::Done).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::core::addr::Addr;

/// Identifies a slow effect so its outcome can be matched to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EffectId(pub u64);

/// One master's change between the config on disk and the one being written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Master name.
    pub name: String,
    /// Address in the config on disk; none when the master is new.
    pub from: Option<Addr>,
    /// Address in the new config; none when the master is removed.
    pub to: Option<Addr>,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.from, &self.to) {
            (Some(a), Some(b)) => write!(f, "{} {} -> {}", self.name, a, b),
            (None, Some(b)) => write!(f, "{} added at {}", self.name, b),
            (Some(a), None) => write!(f, "{} removed from {}", self.name, a),
            (None, None) => write!(f, "{}", self.name),
        }
    }
}

/// One thing the core wants done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    /// Replace the config file with `text`, atomically. Report the outcome.
    WriteConfig {
        /// Matches the outcome to this write.
        id: EffectId,
        /// The whole file.
        text: String,
        /// What differs from the config on disk, sorted by name.
        changes: Vec<Change>,
    },
    /// Run the reload command. Report the outcome.
    RunReload {
        /// Matches the outcome to this run.
        id: EffectId,
    },
    /// Send a notification (Slack); fire and forget.
    Notify {
        /// The message.
        text: String,
    },
    /// Ask the sentinels for `SENTINEL MASTERS` again; the answer comes back as a
    /// snapshot.
    Query,
}
