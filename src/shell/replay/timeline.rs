//! The timeline a replay prints, as text or JSON Lines: effects, failed outcomes and
//! links, each at its time (relative, or on the recording's or log's wall clock). A
//! sentinel link that goes down and stays down through retries is shown once when it
//! goes down, and its outage is summed up when it comes back.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::json;

use crate::core::driver::Entry;
use crate::core::{Effect, Millis};
use crate::shell::cli::Format;
use crate::shell::utc;

use super::summary::Summary;

/// How times are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    /// `+1.250s`.
    Relative,
    /// The wall-clock time: milliseconds since 1970 at time 0, and whether that clock
    /// is UTC (a recording's) or the log's own.
    Wall {
        /// Wall-clock milliseconds at time 0.
        start: i64,
        /// The clock is UTC.
        utc: bool,
    },
}

impl Times {
    /// A time as the timeline writes it.
    pub fn show(&self, at: Millis) -> String {
        match *self {
            Times::Relative => format!("+{at}"),
            Times::Wall { start, utc } => {
                let at = i64::try_from(at.as_u64()).unwrap_or(i64::MAX);
                let wall = utc::wall(start.saturating_add(at));
                if utc {
                    format!("{wall}Z")
                } else {
                    wall
                }
            }
        }
    }
}

/// A link that is down: since when, why, and how many more downs came since.
#[derive(Debug, Clone)]
struct Outage {
    since: Millis,
    retries: u64,
}

/// Prints the timeline and gathers the summary.
pub struct Timeline<W: Write> {
    out: W,
    format: Format,
    times: Times,
    error: Option<io::Error>,
    outages: BTreeMap<String, Outage>,
    /// Queries and reads of the config file are left out: nobody answers them.
    unanswered_hidden: bool,
    /// The summary per master, fed every entry.
    pub summary: Summary,
}

impl<W: Write> Timeline<W> {
    /// A timeline written to `out`; with `simulated` outcomes, queries and reads of the
    /// config file are left out, since nobody answers them.
    pub fn new(out: W, format: Format, times: Times, simulated: bool) -> Timeline<W> {
        Timeline {
            out,
            format,
            times,
            error: None,
            outages: BTreeMap::new(),
            unanswered_hidden: simulated,
            summary: Summary::default(),
        }
    }

    /// The format written.
    pub fn format(&self) -> Format {
        self.format
    }

    /// How times are written.
    pub fn times(&self) -> Times {
        self.times
    }

    /// Prints one entry (a repeated link-down of a link already down only counts).
    pub fn entry(&mut self, entry: Entry) {
        self.summary.entry(&entry);
        if self.unanswered_hidden
            && matches!(
                entry,
                Entry::Effect(
                    _,
                    Effect::Query | Effect::QueryMaster { .. } | Effect::ReadConfig { .. }
                )
            )
        {
            return;
        }
        let folded = match &entry {
            Entry::Link(at, sentinel, Some(_)) => {
                if let Some(outage) = self.outages.get_mut(sentinel) {
                    outage.retries += 1;
                    return;
                }
                self.outages.insert(
                    sentinel.clone(),
                    Outage {
                        since: *at,
                        retries: 0,
                    },
                );
                None
            }
            Entry::Link(at, sentinel, None) => self.outages.remove(sentinel).map(|o| {
                (
                    Millis(at.as_u64().saturating_sub(o.since.as_u64())),
                    o.retries,
                )
            }),
            _ => None,
        };
        let result = match self.format {
            Format::Text => self.text(&entry, folded),
            Format::Json => {
                let mut line = json_line(&entry, folded);
                if let Times::Wall { .. } = self.times {
                    line["wall"] = json!(self.times.show(entry_at(&entry)));
                }
                writeln!(self.out, "{line}")
            }
        };
        self.keep(result);
    }

    /// Links still down at the end: name, since when, and retries.
    pub fn still_down(&self) -> impl Iterator<Item = (&str, Millis, u64)> {
        self.outages
            .iter()
            .map(|(name, o)| (name.as_str(), o.since, o.retries))
    }

    fn keep(&mut self, result: io::Result<()>) {
        if let Err(e) = result {
            self.error.get_or_insert(e);
        }
    }

    /// The output, and the first error writing it.
    pub fn into_parts(self) -> (W, Option<io::Error>, Summary) {
        (self.out, self.error, self.summary)
    }

    /// Writes one timeline line as text.
    fn text(&mut self, entry: &Entry, folded: Option<(Millis, u64)>) -> io::Result<()> {
        let out = &mut self.out;
        write!(out, "{} ", self.times.show(entry_at(entry)))?;
        match entry {
            Entry::Effect(_, effect) => match effect {
                Effect::WriteConfig { changes, .. } => {
                    out.write_all(b"write config")?;
                    for (i, change) in changes.iter().enumerate() {
                        let sep = if i == 0 { " (" } else { ", " };
                        write!(out, "{sep}{change}")?;
                    }
                    if !changes.is_empty() {
                        out.write_all(b")")?;
                    }
                    writeln!(out)
                }
                Effect::RunReload { .. } => writeln!(out, "run reload"),
                Effect::Notify { text, .. } => writeln!(out, "notify: {text}"),
                Effect::Query => writeln!(out, "query sentinels"),
                Effect::QueryMaster { name } => writeln!(out, "query sentinels about {name}"),
                Effect::ReadConfig { .. } => writeln!(out, "check the config file"),
                Effect::Stop { error } => writeln!(out, "stop: {error}"),
            },
            Entry::Failed(_, id, error) => writeln!(out, "effect {} failed: {error}", id.0),
            Entry::Link(_, sentinel, None) => match folded {
                Some((down, retries)) => writeln!(
                    out,
                    "link up: {sentinel} (was down {down}, {retries} more failed attempt(s))"
                ),
                None => writeln!(out, "link up: {sentinel}"),
            },
            Entry::Link(_, sentinel, Some(why)) => {
                writeln!(out, "link down: {sentinel}: {why}")
            }
        }
    }
}

fn entry_at(entry: &Entry) -> Millis {
    match entry {
        Entry::Effect(at, _) | Entry::Failed(at, _, _) | Entry::Link(at, _, _) => *at,
    }
}

fn json_line(entry: &Entry, folded: Option<(Millis, u64)>) -> serde_json::Value {
    match entry {
        Entry::Effect(at, effect) => {
            let mut v =
                serde_json::to_value(effect).unwrap_or_else(|e| json!({"error": e.to_string()}));
            v["at"] = json!(at.as_u64());
            v
        }
        Entry::Failed(at, id, error) => json!({"at": at.as_u64(), "failed": id.0, "error": error}),
        Entry::Link(at, sentinel, reason) => {
            let mut v = json!({"at": at.as_u64(), "link": sentinel, "up": reason.is_none(), "reason": reason});
            if let Some((down, retries)) = folded {
                v["down_ms"] = json!(down.as_u64());
                v["retries"] = json!(retries);
            }
            v
        }
    }
}
