//! What comes out of the core: the shell performs these. Slow effects carry an id and
//! their outcome comes back as [`Input::Done`](crate::core::input::Input::Done).

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

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
        /// The whole file (shared with the core, which keeps it as the file on disk).
        text: Arc<String>,
        /// What differs from the config on disk, sorted by name.
        changes: Vec<Change>,
    },
    /// Run the reload command. Report the outcome.
    RunReload {
        /// Matches the outcome to this run.
        id: EffectId,
    },
    /// Send a notification (Slack, webhook); fire and forget.
    Notify {
        /// The message.
        text: String,
        /// What it is about, for structured notifications (webhooks).
        #[serde(default, skip_serializing_if = "About::is_empty")]
        about: About,
    },
    /// Ask the sentinels for `SENTINEL MASTERS` again; the answer comes back as a
    /// snapshot.
    Query,
    /// Ask the sentinels about one master, `SENTINEL MASTER <name>` (and its replicas
    /// when a replica pool follows them): the cheap confirmation of one switch. Each
    /// sentinel's answer comes back as
    /// [`Input::MasterAnswer`](crate::core::input::Input::MasterAnswer).
    QueryMaster {
        /// The master.
        name: String,
    },
    /// Read the config file as it is on disk now; the answer comes back as
    /// [`Input::ConfigRead`](crate::core::input::Input::ConfigRead) with this id (none
    /// when there is no file to read, e.g. the config goes to stdout).
    ReadConfig {
        /// Matches the answer to this read.
        id: EffectId,
    },
    /// tpc cannot go on as asked (e.g. `-strict` and a template server no sentinel
    /// knows): stop with this error, touching nothing. The core does nothing after it.
    Stop {
        /// What is wrong and what would be right.
        error: String,
    },
}

/// What a notification is about: an event name, and where it applies the master and
/// its addresses before and after.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct About {
    /// What happened, a word such as `switch`, `odown`, `reload_failed` (see
    /// [`crate::core::machine`] for the list).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event: String,
    /// The master concerned, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
    /// Its address before, where that applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Addr>,
    /// Its address after, where that applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Addr>,
}

impl About {
    /// An event about no master in particular.
    pub fn event(event: &str) -> About {
        About {
            event: event.to_string(),
            ..About::default()
        }
    }

    /// An event about `master`.
    pub fn master(event: &str, master: &str) -> About {
        About {
            master: Some(master.to_string()),
            ..About::event(event)
        }
    }

    /// `master` moved (or was held) from one address to another.
    pub fn moved(event: &str, master: &str, from: &Addr, to: &Addr) -> About {
        About {
            from: Some(from.clone()),
            to: Some(to.clone()),
            ..About::master(event, master)
        }
    }

    /// Whether nothing is said.
    pub fn is_empty(&self) -> bool {
        self == &About::default()
    }
}

/// What changes between two sets of masters, each given sorted by name: one walk
/// through both.
pub fn diff<'a>(
    before: impl IntoIterator<Item = (&'a String, &'a Addr)>,
    after: impl IntoIterator<Item = (&'a String, &'a Addr)>,
) -> Vec<Change> {
    let (mut old, mut new) = (before.into_iter().peekable(), after.into_iter().peekable());
    let mut changes = Vec::new();
    loop {
        let order = match (old.peek(), new.peek()) {
            (None, None) => return changes,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((a, _)), Some((b, _))) => a.cmp(b),
        };
        let (name, from, to) = match order {
            Ordering::Less => old.next().map(|(name, a)| (name, Some(a), None)),
            Ordering::Greater => new.next().map(|(name, b)| (name, None, Some(b))),
            Ordering::Equal => old
                .next()
                .zip(new.next())
                .map(|((name, a), (_, b))| (name, Some(a), Some(b))),
        }
        .expect("the side taken was peeked");
        if from != to {
            changes.push(Change {
                name: name.clone(),
                from: from.cloned(),
                to: to.cloned(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn masters(list: &[(&str, u16)]) -> BTreeMap<String, Addr> {
        list.iter()
            .map(|(n, port)| {
                let addr = Addr {
                    host: "10.0.0.1".into(),
                    port: *port,
                };
                (n.to_string(), addr)
            })
            .collect()
    }

    #[test]
    fn diff_lists_moved_added_and_removed_masters_by_name() {
        let before = masters(&[("a", 1), ("c", 3), ("d", 4), ("e", 5)]);
        let after = masters(&[("b", 2), ("c", 3), ("d", 40), ("e", 5), ("f", 6)]);
        let changes: Vec<(String, Option<u16>, Option<u16>)> = diff(&before, &after)
            .into_iter()
            .map(|c| (c.name, c.from.map(|a| a.port), c.to.map(|a| a.port)))
            .collect();
        let expected = [
            ("a", Some(1), None),
            ("b", None, Some(2)),
            ("d", Some(4), Some(40)),
            ("f", None, Some(6)),
        ]
        .map(|(n, from, to)| (n.to_string(), from, to));
        assert_eq!(changes, expected);
        assert!(diff(&after, &after).is_empty());
    }
}
