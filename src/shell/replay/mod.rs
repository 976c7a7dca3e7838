//! `tpc replay`: a recording, a hand-written scenario or a redis-sentinel log, streamed
//! through the same core as the daemon on virtual time, printed as an effect timeline
//! ([`timeline`], text or JSON Lines), then what was still pending, a summary per
//! master ([`summary`]), what the core counted, notes (skipped lines, and why messages
//! did nothing: [`explain`]), and the final config.
//!
//! The starting masters (`-masters`, or a log's first `+monitor` lines) are the state
//! before the incident: the config already on disk and loaded, not a write and a
//! reload at time 0.

pub mod explain;
pub mod summary;
pub mod timeline;

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use serde_json::json;

use crate::core::driver::{Driver, Outcomes, Slow};
use crate::core::event::{acted_on, SentinelEvent};
use crate::core::template::shown_config;
use crate::core::{Core, CoreSettings, Input, MasterInfo, Millis};

use super::cli::{apply_overrides, Clock, Format, ReplayOptions, Source};
use super::masters_file;
use super::recording::{self, Reader, RecordingError};
use super::sentinel_log::{shapes, Importer, Report, Year, YearFrom};
use super::utc;

use explain::Before;
use timeline::{Timeline, Times};

/// Why a replay stopped.
#[derive(Debug)]
pub enum ReplayError {
    /// A file could not be opened or read.
    Io(String, io::Error),
    /// The recording is not valid.
    Recording(String, RecordingError),
    /// The masters file is not valid.
    Masters(String, masters_file::LineError),
    /// No sentinel event was read from the log.
    NoEvents(String, Box<Report>),
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Io(p, e) => write!(f, "{p}: {e}"),
            ReplayError::Recording(p, e) => write!(f, "{p}: {e}"),
            ReplayError::Masters(p, e) => write!(f, "{p}: {e}"),
            ReplayError::NoEvents(p, report) => {
                write!(
                    f,
                    "{p}: no sentinel event read from {} line(s). Shapes tried:",
                    report.lines
                )?;
                for shape in &shapes::SHAPES {
                    write!(f, "\n  {}: {}", shape.name, shape.example)?;
                }
                write!(f, "\nbehind any of these prefixes:")?;
                for prefix in &super::sentinel_log::prefixes::PREFIXES {
                    write!(f, "\n  {}: {:?}", prefix.name, prefix.example)?;
                }
                if report.first_lines.is_empty() {
                    write!(f, "\nThe file holds no line.")?;
                } else {
                    write!(f, "\nThe file's first lines:")?;
                }
                for (n, line) in &report.first_lines {
                    write!(f, "\n  {n}: {line}")?;
                }
                for (n, line) in report.unread.iter().take(SHOWN_UNREAD) {
                    write!(
                        f,
                        "\nline {n} looks like an event but fits no shape: {line}"
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ReplayError {}

/// How many unread event-looking lines are listed without `-v`.
const SHOWN_UNREAD: usize = 5;

fn open(path: &Path) -> Result<BufReader<File>, ReplayError> {
    File::open(path)
        .map(|f| BufReader::with_capacity(1 << 16, f))
        .map_err(|e| ReplayError::Io(path.display().to_string(), e))
}

/// What a replay notes besides the timeline.
#[derive(Debug, Default)]
struct Notes {
    /// General notes.
    notes: Vec<String>,
    /// Messages that did nothing, and why.
    explained: Vec<String>,
}

/// Replays as `options` says, writing the timeline and final config to `out`.
pub fn run(options: &ReplayOptions, out: impl Write) -> Result<(), ReplayError> {
    match &options.source {
        Source::Recording(path) => replay_recording(options, path, out),
        Source::SentinelLog(path) => replay_log(options, path, out),
    }
}

fn replay_recording(
    options: &ReplayOptions,
    path: &Path,
    out: impl Write,
) -> Result<(), ReplayError> {
    let name = path.display().to_string();
    let mut notes = Notes::default();
    let (header, mut reader) =
        Reader::open(open(path)?).map_err(|e| ReplayError::Recording(name.clone(), e))?;
    let mut settings = header.settings.clone();
    apply_overrides(&mut settings, &options.flags, &options.given);
    let masters = read_masters(options)?;
    // Recorded outcomes belong to the effects the daemon asked for; once flags change
    // what the core decides, its effects differ and are simulated.
    let changed = settings != header.settings || masters.is_some();
    let simulate = changed && header.outcomes == Outcomes::Recorded;
    if simulate {
        notes.notes.push(
            "flags changed the recording's settings: writes and reloads are simulated (each succeeds), not the recorded outcomes".into(),
        );
    }
    let outcomes = if simulate {
        Outcomes::Simulated
    } else {
        header.outcomes
    };
    let times = times(
        options.clock,
        header.started_at.map(|start| (start, true)),
        "the recording's header has no start time (recorded by an older tpc)",
        &mut notes,
    );
    let on_disk = match &masters {
        Some(masters) => starting_config(&settings, masters),
        None => header.on_disk.clone(),
    };
    let core = Core::new(settings, on_disk).with_reload_owed(header.reload_owed);
    let mut driver = Driver::new(core, outcomes);
    let simulated = outcomes == Outcomes::Simulated;
    let mut timeline = Timeline::new(out, options.format, times, simulated);
    if let Some(masters) = masters {
        feed_start(&mut driver, &mut timeline, masters, "file -masters");
    }
    loop {
        match reader.next_numbered() {
            Ok(Some((_, Input::Done { .. }))) if simulate => {}
            Ok(Some((line, input))) => {
                feed(&mut driver, &mut timeline, &mut notes, line, input);
            }
            Ok(None) => break,
            Err(e) => return Err(ReplayError::Recording(name, e)),
        }
    }
    if let Some(line) = reader.truncated_at() {
        notes.notes.push(format!(
            "line {line} is cut short (the recording ended mid-line); replayed up to the line before"
        ));
    }
    end(driver, timeline, notes).map_err(|e| ReplayError::Io(name, e))
}

fn replay_log(options: &ReplayOptions, path: &Path, out: impl Write) -> Result<(), ReplayError> {
    let name = path.display().to_string();
    let mut notes = Notes::default();
    let mut importer = Importer::new(year(options, path));
    let mut source = open(path)?;
    let mut bytes = Vec::new();
    for line_no in 1.. {
        bytes.clear();
        match source.read_until(b'\n', &mut bytes) {
            Ok(0) => break,
            Ok(_) => importer.line(line_no, &bytes),
            Err(e) => return Err(ReplayError::Io(name, e)),
        }
    }
    let imported = importer.finish();
    let report = imported.report;
    if report.events() == 0 {
        return Err(ReplayError::NoEvents(name, Box::new(report)));
    }
    log_notes(&report, options.verbose, &mut notes.notes);
    let times = times(
        options.clock,
        imported.start.map(|start| (start, false)),
        "the log has no event",
        &mut notes,
    );
    let settings = options.flags.clone();
    let mut inputs = imported.inputs;
    let start = match read_masters(options)? {
        Some(masters) => Some((masters, "file -masters")),
        None => monitored(&mut inputs).map(|m| (m, "the log's +monitor lines")),
    };
    let on_disk = start
        .as_ref()
        .and_then(|(masters, _)| starting_config(&settings, masters));
    let mut driver = Driver::new(Core::new(settings, on_disk), Outcomes::Simulated);
    let mut timeline = Timeline::new(out, options.format, times, true);
    if let Some((masters, from)) = start {
        feed_start(&mut driver, &mut timeline, masters, from);
    }
    for (line, input) in inputs {
        feed(&mut driver, &mut timeline, &mut notes, line, input);
    }
    end(driver, timeline, notes).map_err(|e| ReplayError::Io(name, e))
}

/// The year for a log's lines that carry none: `-log_year`, else the year the file
/// was last modified, else this year.
fn year(options: &ReplayOptions, path: &Path) -> Year {
    let civil_year = |t: std::time::SystemTime| utc::stamp(t).get(..4)?.parse().ok();
    if let Some(year) = options.log_year {
        return Year {
            year,
            from: YearFrom::Flag,
        };
    }
    let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    match mtime.and_then(civil_year) {
        Some(year) => Year {
            year,
            from: YearFrom::Mtime,
        },
        None => Year {
            year: civil_year(std::time::SystemTime::now()).unwrap_or(1970),
            from: YearFrom::Now,
        },
    }
}

/// What reading the log found, as notes.
fn log_notes(report: &Report, verbose: bool, notes: &mut Vec<String>) {
    let shapes: Vec<String> = report
        .shapes
        .iter()
        .map(|(shape, n)| format!("{n} {shape}"))
        .collect();
    let mut read = format!(
        "{} of {} line(s) were sentinel events ({})",
        report.events(),
        report.lines,
        shapes.join(", ")
    );
    if !report.prefixes.is_empty() {
        let prefixes: Vec<String> = report
            .prefixes
            .iter()
            .map(|(p, n)| format!("{p} on {n}"))
            .collect();
        read.push_str(&format!("; prefixes: {}", prefixes.join(", ")));
    }
    notes.push(read);
    if report.sentinels.len() > 1 {
        let names: Vec<String> = report
            .sentinels
            .iter()
            .map(|(s, n)| format!("{s} ({n})"))
            .collect();
        notes.push(format!(
            "{} sentinels' logs: {}",
            report.sentinels.len(),
            names.join(", ")
        ));
    }
    if let Some(year) = report.year_used {
        notes.push(format!(
            "some lines carry no year: {} taken from {}{}",
            year.year,
            year.from,
            if year.from == YearFrom::Flag {
                ""
            } else {
                " (-log_year sets it)"
            }
        ));
    }
    if !report.not_utf8.is_empty() {
        let lines: Vec<String> = report.not_utf8.iter().map(usize::to_string).collect();
        notes.push(format!(
            "line(s) {} hold bytes that are not UTF-8, replaced by U+FFFD",
            lines.join(", ")
        ));
    }
    let shown = if verbose {
        report.unread.len()
    } else {
        SHOWN_UNREAD
    };
    for (n, line) in report.unread.iter().take(shown) {
        notes.push(format!(
            "line {n} looks like a sentinel event but fits no shape, skipped: {line}"
        ));
    }
    if report.unread.len() > shown {
        notes.push(format!(
            "... and {} more such line(s) (-v lists them all)",
            report.unread.len() - shown
        ));
    }
}

/// How the timeline shows times; a wall clock that cannot be had is noted.
fn times(clock: Clock, start: Option<(i64, bool)>, missing: &str, notes: &mut Notes) -> Times {
    match (clock, start) {
        (Clock::Relative, _) => Times::Relative,
        (Clock::Wall, Some((start, utc))) => Times::Wall { start, utc },
        (Clock::Wall, None) => {
            notes
                .notes
                .push(format!("-clock wall: {missing}; times are relative"));
            Times::Relative
        }
    }
}

/// The `-masters` file, if given.
fn read_masters(options: &ReplayOptions) -> Result<Option<Vec<MasterInfo>>, ReplayError> {
    let Some(path) = &options.masters else {
        return Ok(None);
    };
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ReplayError::Io(name.clone(), e))?;
    masters_file::parse(&text)
        .map(Some)
        .map_err(|e| ReplayError::Masters(name, e))
}

/// The masters of a log's first `+monitor` lines (before anything tpc acts on
/// happens), taken out of its inputs.
fn monitored(inputs: &mut Vec<(usize, Input<'static>)>) -> Option<Vec<MasterInfo>> {
    let mut masters = Vec::new();
    let mut taken = Vec::new();
    for (i, (_, input)) in inputs.iter().enumerate() {
        let Input::Message {
            channel, payload, ..
        } = input
        else {
            break;
        };
        match SentinelEvent::parse(channel, payload) {
            Ok(SentinelEvent::Monitor { name, addr }) => {
                masters.retain(|m: &MasterInfo| m.name != name);
                masters.push(MasterInfo {
                    name: name.to_string(),
                    addr,
                    epoch: None,
                });
                taken.push(i);
            }
            _ if channel == "+slave" || !acted_on(channel) => {}
            _ => break,
        }
    }
    for i in taken.into_iter().rev() {
        inputs.remove(i);
    }
    (!masters.is_empty()).then_some(masters)
}

/// The config tpc would have on disk for `masters`: the state before the incident.
fn starting_config(settings: &CoreSettings, masters: &[MasterInfo]) -> Option<String> {
    let mut driver = Driver::new(Core::new(settings.clone(), None), Outcomes::Simulated);
    driver.feed(snapshot(masters.to_vec(), "start"), &mut |_| {});
    driver.finish(&mut |_| {});
    driver.core().on_disk().map(str::to_string)
}

fn snapshot(masters: Vec<MasterInfo>, from: &str) -> Input<'static> {
    Input::Snapshot {
        at: Millis::ZERO,
        sentinel: from.to_string().into(),
        replicas: Default::default(),
        masters,
    }
}

/// Feeds the starting masters at time 0 (the config on disk already holds them).
fn feed_start<W: Write>(
    driver: &mut Driver,
    timeline: &mut Timeline<W>,
    masters: Vec<MasterInfo>,
    from: &str,
) {
    driver.feed(snapshot(masters, from), &mut |e| timeline.entry(e));
}

/// Feeds one input from line `line`, explaining a message that did nothing.
fn feed<W: Write>(
    driver: &mut Driver,
    timeline: &mut Timeline<W>,
    notes: &mut Notes,
    line: usize,
    input: Input,
) {
    timeline.summary.input(&input);
    let message = matches!(input, Input::Message { .. }).then(|| input.clone());
    let before = message.as_ref().map(|m| Before::new(driver.core(), m));
    driver.feed(input, &mut |e| timeline.entry(e));
    if let (Some(message), Some(before)) = (message, before) {
        if let Some(why) = before.explain(driver.core(), line, &message) {
            notes.explained.push(why);
        }
    }
}

/// After the last input: lets the core settle, then writes what is pending, the
/// summary, the counts, the notes and the final config.
fn end<W: Write>(mut driver: Driver, mut timeline: Timeline<W>, notes: Notes) -> io::Result<()> {
    driver.finish(&mut |e| timeline.entry(e));
    let times = timeline.times();
    let running: Vec<_> = driver.unfinished().map(|(id, _, _)| id).collect();
    let mut pending: Vec<(Millis, String)> = driver
        .unfinished()
        .map(|(id, at, slow)| {
            let what = match slow {
                Slow::Write => "config write",
                Slow::Reload => "reload",
            };
            (
                at,
                format!("{what} {} pending: asked, no outcome by the end", id.0),
            )
        })
        .collect();
    if !driver.core().is_settled() && driver.core().is_ready() {
        if let Some(due) = driver.core().poll_timeout() {
            pending.push((
                due,
                "write or reload pending: due then, after the end".into(),
            ));
        }
    }
    for (sentinel, since, retries) in timeline.still_down() {
        pending.push((
            since,
            format!(
                "link down: {sentinel}: still down at the end ({retries} more failed attempt(s))"
            ),
        ));
    }
    let format = timeline.format();
    let (mut out, error, summary) = timeline.into_parts();
    if let Some(e) = error {
        return Err(e);
    }
    let core = driver.core();
    let stats = core.stats();
    let failovers = summary.failovers();
    let all_notes: Vec<&String> = notes.explained.iter().chain(&notes.notes).collect();
    pending.sort();
    match format {
        Format::Text => {
            for (at, what) in &pending {
                writeln!(out, "{} {what}", times.show(*at))?;
            }
            if failovers.is_empty() {
                writeln!(out, "summary: no failover")?;
            } else {
                writeln!(
                    out,
                    "summary (per failover: Sentinel's switch, tpc's config naming the new address, its reload, the gap between switch and reload):"
                )?;
            }
            let show =
                |t: Option<Millis>, none: &str| t.map_or(none.to_string(), |t| times.show(t));
            for f in &failovers {
                let from = f.from.as_ref().map_or("?".to_string(), |a| a.to_string());
                let unfinished = f.reload_id().is_some_and(|id| running.contains(&id));
                let reload = match (f.reload, f.config) {
                    (Some(_), _) if unfinished => {
                        format!("{} (no outcome by the end)", show(f.reload, ""))
                    }
                    (Some(_), _) => show(f.reload, ""),
                    (None, Some(_)) => "pending".into(),
                    (None, None) => "never".into(),
                };
                writeln!(
                    out,
                    "  {} {from} -> {}: switched {}, config {}, reload {reload}, gap {}",
                    f.master,
                    f.to,
                    show(f.switched, "unseen (learnt from an answer)"),
                    show(f.config, "never"),
                    f.gap.map_or("open".to_string(), |g| g.to_string()),
                )?;
            }
            writeln!(
                out,
                "# {} message(s), {} malformed; switches: {} applied, {} ignored; {} refused update(s), {} outlier(s) overruled, {} disagreement(s); writes: {} ok, {} failed; reloads: {} ok, {} failed",
                stats.messages,
                stats.malformed,
                stats.switches_applied,
                stats.switches_ignored,
                stats.refused,
                stats.outliers,
                stats.disagreements,
                stats.writes,
                stats.write_failures,
                stats.reloads,
                stats.reload_failures
            )?;
            for note in all_notes {
                writeln!(out, "# {note}")?;
            }
            match core.on_disk() {
                Some(text) => write!(out, "final config:\n{}", shown_config(text))?,
                None => writeln!(out, "final config: none written")?,
            }
        }
        Format::Json => {
            let pending: Vec<_> = pending
                .iter()
                .map(|(at, what)| json!({"at": at.as_u64(), "pending": what}))
                .collect();
            // A reload with no outcome by the end has no gap yet, as in the text.
            let summary: Vec<serde_json::Value> = failovers
                .iter()
                .map(|f| {
                    let mut v = json!(f);
                    if f.reload_id().is_some_and(|id| running.contains(&id)) {
                        v["gap"] = serde_json::Value::Null;
                        v["reload_outcome"] = json!("none by the end");
                    }
                    v
                })
                .collect();
            let end = json!({
                "final_config": core.on_disk().map(shown_config),
                "stats": stats,
                "notes": all_notes,
                "summary": summary,
                "pending": pending,
            });
            writeln!(out, "{end}")?;
        }
    }
    out.flush()
}

/// The recording header and input lines for `inputs`, as the daemon would write them.
pub fn to_recording(header: &recording::Header, inputs: &[Input]) -> String {
    let mut text = header.to_line();
    for input in inputs {
        text.push_str(&recording::input_line(input));
    }
    text
}
