//! Importing redis-sentinel's (or valkey-sentinel's) own log as inputs. Every line
//! shape a sentinel writes ([`shapes`]) is read, behind any prefix a shipper, viewer or
//! shell tool added ([`prefixes`]); event lines such as
//! `12:X 25 Nov 2026 22:21:01.123 # +switch-master node-1 10.0.0.1 6379 10.0.0.2 6379`
//! become sentinel messages at their logged time, in time order (a merged log may hold
//! several sentinels' logs one after the other), as milliseconds since the first
//! event. What was read, and what was not, is kept in a [`Report`].

pub mod prefixes;
pub mod shapes;
pub mod stamp;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use crate::core::{Input, Millis};

use stamp::Stamp;

/// Name given to the sentinel of a log that does not name its sentinels.
pub const SENTINEL: &str = "sentinel-log";

/// Where the year of lines that carry none came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YearFrom {
    /// `-log_year`: the year the log starts in.
    Flag,
    /// The file's modification time: the year the log ends in.
    Mtime,
    /// The current year, taken as the year the log ends in.
    Now,
}

impl fmt::Display for YearFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            YearFrom::Flag => "-log_year",
            YearFrom::Mtime => "the file's modification time",
            YearFrom::Now => "the current year",
        })
    }
}

/// The year for lines without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Year {
    /// The year.
    pub year: i64,
    /// Where it came from.
    pub from: YearFrom,
}

/// What reading a log found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Lines read.
    pub lines: usize,
    /// Event lines read, by shape.
    pub shapes: BTreeMap<&'static str, usize>,
    /// Lines with a prefix, by prefix.
    pub prefixes: BTreeMap<&'static str, usize>,
    /// Lines that look like a sentinel event but fit no shape: line number and text.
    pub unread: Vec<(usize, String)>,
    /// Lines holding bytes that are not UTF-8 (replaced by U+FFFD).
    pub not_utf8: Vec<usize>,
    /// The first few lines that are not blank, for an error that shows them.
    pub first_lines: Vec<(usize, String)>,
    /// The year taken for event lines that carry none, if any did.
    pub year_used: Option<Year>,
    /// The sentinels the log holds, by name.
    pub sentinels: BTreeMap<String, usize>,
}

impl Report {
    /// Event lines read.
    pub fn events(&self) -> usize {
        self.shapes.values().sum()
    }
}

/// How many of a log's first lines an error shows.
const FIRST_LINES: usize = 5;
/// How much of a line a report shows.
const SHOWN_CHARS: usize = 200;

/// A log imported: its events as inputs, each with its line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The inputs, in time order.
    pub inputs: Vec<(usize, Input<'static>)>,
    /// The first event's logged time (milliseconds since 1970 in the log's clock).
    pub start: Option<i64>,
    /// What was read and what was not.
    pub report: Report,
}

/// One event line read, its time not yet resolved.
#[derive(Debug, Clone)]
struct Event {
    line: usize,
    stamp: Stamp,
    /// New-year crossings of its sentinel's undated lines before this one.
    rollovers: i64,
    sentinel: String,
    channel: String,
    payload: String,
}

// A pattern that does not compile matches nothing; a test checks it compiles.
static EVENT_LIKE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(?:^|[\s\\="])[+-](?:switch-master|sdown|odown|monitor|tilt|try-failover|failover-[a-z-]+|new-epoch|config-update-from|elected-leader|promoted-slave|selected-slave|vote-for-leader|slave|sentinel|convert-to-slave|fix-slave-config|slave-reconf-[a-z]+|role-change|reboot|dup-sentinel|reset-master)\b"#,
    )
    .ok()
});

/// Whether a line holds what looks like a sentinel event.
fn looks_like_event(line: &str) -> bool {
    EVENT_LIKE.as_ref().is_some_and(|re| re.is_match(line))
}

/// The channel and payload of an event message (`+switch-master a b c`); none for any
/// other message.
fn event(message: &str) -> Option<(String, String)> {
    let mut words = message.split_whitespace();
    let channel = words.next()?;
    let mut chars = channel.chars();
    let sign = chars.next()?;
    if !matches!(sign, '+' | '-') || !chars.next()?.is_ascii_alphabetic() {
        return None;
    }
    Some((channel.to_string(), words.collect::<Vec<_>>().join(" ")))
}

/// The most prefixes taken off one line.
const MAX_PREFIXES: usize = 6;

/// A line read: the shape it had, its time, who logged it, and its message.
struct Read {
    shape: &'static str,
    stamp: Stamp,
    source: Option<String>,
    message: String,
}

/// Reads one line behind any prefixes, counting the prefixes in `report`.
fn read_line(line: &str, report: &mut Report) -> Option<Read> {
    let (mut rest, mut stamp, mut source) = (line.trim(), None::<Stamp>, None);
    let mut taken = Vec::new();
    for _ in 0..=MAX_PREFIXES {
        if let Some(body) = shapes::read(rest) {
            for name in taken {
                *report.prefixes.entry(name).or_insert(0) += 1;
            }
            // A prefix's full date beats a line's date without its year.
            let stamp = match (body.stamp, stamp) {
                (Some(Stamp::NoYear { .. }), Some(s @ Stamp::Absolute(_))) => s,
                (Some(s), _) => s,
                (None, s) => s?,
            };
            return Some(Read {
                shape: body.shape,
                stamp,
                source,
                message: body.message,
            });
        }
        // Syslog writes what Redis sends it without Redis's own time and level.
        if let (Some(s), Some(_)) = (stamp, event(rest)) {
            if !taken.is_empty() {
                for name in taken {
                    *report.prefixes.entry(name).or_insert(0) += 1;
                }
                return Some(Read {
                    shape: shapes::BARE,
                    stamp: s,
                    source,
                    message: rest.to_string(),
                });
            }
        }
        let prefix = prefixes::take(rest)?;
        taken.push(prefix.name);
        stamp = prefix.stamp.or(stamp);
        source = prefix.source.or(source);
        rest = prefix.rest.trim_start();
    }
    None
}

/// Turns a sentinel log into inputs: feed it every line, then [`Importer::finish`].
#[derive(Debug)]
pub struct Importer {
    year: Year,
    /// The sentinel named by the last `==> file <==` header (`tail` of several files).
    source: Option<String>,
    /// Per sentinel (a merged log holds several): the month of its last undated line,
    /// and its new-year crossings so far.
    months: BTreeMap<String, (i64, i64)>,
    events: Vec<Event>,
    report: Report,
}

impl Importer {
    /// An importer taking `year` for lines that carry none.
    pub fn new(year: Year) -> Importer {
        Importer {
            year,
            source: None,
            months: BTreeMap::new(),
            events: Vec::new(),
            report: Report::default(),
        }
    }

    /// Reads line number `line_no` (its bytes, newline or not).
    pub fn line(&mut self, line_no: usize, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        if matches!(text, std::borrow::Cow::Owned(_)) {
            self.report.not_utf8.push(line_no);
        }
        let text = text.trim_end_matches(['\n', '\r']);
        self.report.lines += 1;
        if !text.trim().is_empty() && self.report.first_lines.len() < FIRST_LINES {
            self.report.first_lines.push((line_no, shown(text)));
        }
        if let Some(name) = text
            .trim()
            .strip_prefix("==> ")
            .and_then(|t| t.strip_suffix(" <=="))
        {
            self.source = Some(name.to_string());
            return;
        }
        let read = read_line(text, &mut self.report);
        let Some((read, (channel, payload))) = read.and_then(|r| event(&r.message).map(|e| (r, e)))
        else {
            if looks_like_event(text) {
                self.report.unread.push((line_no, shown(text)));
            }
            return;
        };
        let sentinel = read
            .source
            .clone()
            .or_else(|| self.source.clone())
            .unwrap_or_else(|| SENTINEL.to_string());
        let mut rollovers = 0;
        if let Stamp::NoYear { month, .. } = read.stamp {
            // December to January, in the same sentinel's lines: a new year.
            let (last, crossed) = self.months.entry(sentinel.clone()).or_insert((month, 0));
            if month + 6 <= *last {
                *crossed += 1;
            }
            *last = month;
            rollovers = *crossed;
            self.report.year_used = Some(self.year);
        }
        *self.report.shapes.entry(read.shape).or_insert(0) += 1;
        *self.report.sentinels.entry(sentinel.clone()).or_insert(0) += 1;
        self.events.push(Event {
            line: line_no,
            stamp: read.stamp,
            rollovers,
            sentinel,
            channel,
            payload,
        });
    }

    /// The events as inputs in time order (lines of equal time in file order), and the
    /// report.
    pub fn finish(self) -> Imported {
        let Importer {
            year,
            months,
            events,
            report,
            ..
        } = self;
        // The flag's year is each sentinel's first; the file's (or today's), its last.
        let year_of = |e: &Event| match year.from {
            YearFrom::Flag => year.year + e.rollovers,
            YearFrom::Mtime | YearFrom::Now => {
                let crossed = months.get(&e.sentinel).map_or(0, |(_, c)| *c);
                year.year - (crossed - e.rollovers)
            }
        };
        let mut timed: Vec<(i64, Event)> = events
            .into_iter()
            .map(|e| (e.stamp.ms(year_of(&e)), e))
            .collect();
        timed.sort_by_key(|(ms, e)| (*ms, e.line));
        let start = timed.first().map(|(ms, _)| *ms);
        let inputs = timed
            .into_iter()
            .map(|(ms, e)| {
                let at = Millis(u64::try_from(ms - start.unwrap_or(ms)).unwrap_or(0));
                let input = Input::Message {
                    at,
                    sentinel: e.sentinel.into(),
                    channel: e.channel.into(),
                    payload: e.payload.into(),
                };
                (e.line, input)
            })
            .collect();
        Imported {
            inputs,
            start,
            report,
        }
    }
}

/// A line as a report shows it: at most [`SHOWN_CHARS`] characters.
fn shown(line: &str) -> String {
    match line.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests;
