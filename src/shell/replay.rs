//! `tpc replay`: a recording, a hand-written scenario or a redis-sentinel log, streamed
//! through the same core as the daemon on virtual time, printed as an effect timeline
//! (text or JSON Lines) followed by the final config.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use serde_json::json;

use crate::core::driver::{Driver, Entry, Outcomes};
use crate::core::{Core, Effect, Input, Millis};

use super::cli::{apply_overrides, Format, ReplayOptions, Source};
use super::masters_file;
use super::recording::{self, Reader, RecordingError};
use super::sentinel_log::Importer;

/// Why a replay stopped.
#[derive(Debug)]
pub enum ReplayError {
    /// A file could not be opened or read.
    Io(String, io::Error),
    /// The recording is not valid.
    Recording(String, RecordingError),
    /// The masters file is not valid.
    Masters(String, masters_file::LineError),
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Io(p, e) => write!(f, "{p}: {e}"),
            ReplayError::Recording(p, e) => write!(f, "{p}: {e}"),
            ReplayError::Masters(p, e) => write!(f, "{p}: {e}"),
        }
    }
}

impl std::error::Error for ReplayError {}

fn open(path: &Path) -> Result<BufReader<File>, ReplayError> {
    File::open(path)
        .map(|f| BufReader::with_capacity(1 << 16, f))
        .map_err(|e| ReplayError::Io(path.display().to_string(), e))
}

/// Prints the timeline in the chosen format.
struct Printer<W: Write> {
    out: W,
    format: Format,
    error: Option<io::Error>,
}

impl<W: Write> Printer<W> {
    fn entry(&mut self, entry: Entry) {
        let result = match self.format {
            Format::Text => write_text(&mut self.out, &entry),
            Format::Json => writeln!(self.out, "{}", json_line(&entry)),
        };
        if let Err(e) = result {
            self.error.get_or_insert(e);
        }
    }
}

/// Writes one timeline line as text, straight to `out`.
fn write_text(out: &mut impl Write, entry: &Entry) -> io::Result<()> {
    match entry {
        Entry::Effect(at, effect) => {
            write!(out, "+{at} ")?;
            match effect {
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
            }
        }
        Entry::Failed(at, id, error) => writeln!(out, "+{at} effect {} failed: {error}", id.0),
        Entry::Link(at, sentinel, None) => writeln!(out, "+{at} link up: {sentinel}"),
        Entry::Link(at, sentinel, Some(why)) => {
            writeln!(out, "+{at} link down: {sentinel}: {why}")
        }
    }
}

fn json_line(entry: &Entry) -> serde_json::Value {
    match entry {
        Entry::Effect(at, effect) => {
            let mut v = serde_json::to_value(effect).expect("effects serialize");
            v["at"] = json!(at.as_u64());
            v
        }
        Entry::Failed(at, id, error) => json!({"at": at.as_u64(), "failed": id.0, "error": error}),
        Entry::Link(at, sentinel, reason) => {
            json!({"at": at.as_u64(), "link": sentinel, "up": reason.is_none(), "reason": reason})
        }
    }
}

/// Replays as `options` says, writing the timeline and final config to `out`.
pub fn run(options: &ReplayOptions, out: impl Write) -> Result<(), ReplayError> {
    let mut printer = Printer {
        out,
        format: options.format,
        error: None,
    };
    let mut notes = Vec::new();
    let (mut driver, name) = match &options.source {
        Source::Recording(path) => {
            let name = path.display().to_string();
            let (header, mut reader) =
                Reader::open(open(path)?).map_err(|e| ReplayError::Recording(name.clone(), e))?;
            let mut settings = header.settings.clone();
            apply_overrides(&mut settings, &options.flags, &options.given);
            // Recorded outcomes belong to the effects the daemon asked for; once flags
            // change what the core decides, its effects differ and are simulated.
            let changed = settings != header.settings || options.masters.is_some();
            let simulate = changed && header.outcomes == Outcomes::Recorded;
            if simulate {
                notes.push(
                    "flags changed the recording's settings: writes and reloads are simulated (each succeeds), not the recorded outcomes".into(),
                );
            }
            let outcomes = if simulate {
                Outcomes::Simulated
            } else {
                header.outcomes
            };
            let core = Core::new(settings, header.on_disk).with_reload_owed(header.reload_owed);
            let mut driver = Driver::new(core, outcomes);
            feed_masters(&mut driver, options, &mut printer)?;
            loop {
                match reader.next_input() {
                    Ok(Some(Input::Done { .. })) if simulate => {}
                    Ok(Some(input)) => driver.feed(input, &mut |e| printer.entry(e)),
                    Ok(None) => break,
                    Err(e) => return Err(ReplayError::Recording(name, e)),
                }
            }
            if let Some(line) = reader.truncated_at() {
                notes.push(format!(
                    "line {line} is cut short (the recording ended mid-line); replayed up to the line before"
                ));
            }
            (driver, name)
        }
        Source::SentinelLog(path) => {
            let name = path.display().to_string();
            let core = Core::new(options.flags.clone(), None);
            let mut driver = Driver::new(core, Outcomes::Simulated);
            feed_masters(&mut driver, options, &mut printer)?;
            let mut importer = Importer::default();
            for line in open(path)?.lines() {
                let line = line.map_err(|e| ReplayError::Io(name.clone(), e))?;
                if let Some(input) = importer.input(&line) {
                    driver.feed(input, &mut |e| printer.entry(e));
                }
            }
            notes.push(format!(
                "{} line(s) were not sentinel events and were skipped",
                importer.skipped
            ));
            (driver, name)
        }
    };
    driver.finish(&mut |e| printer.entry(e));
    finish(&mut printer, driver.core(), &notes).map_err(|e| ReplayError::Io(name, e))
}

/// Feeds the `-masters` file, if any, as a snapshot at time 0.
fn feed_masters<W: Write>(
    driver: &mut Driver,
    options: &ReplayOptions,
    printer: &mut Printer<W>,
) -> Result<(), ReplayError> {
    let Some(path) = &options.masters else {
        return Ok(());
    };
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ReplayError::Io(name.clone(), e))?;
    let masters = masters_file::parse(&text).map_err(|e| ReplayError::Masters(name.clone(), e))?;
    let input = Input::Snapshot {
        at: Millis::ZERO,
        sentinel: format!("file {name}").into(),
        replicas: Default::default(),
        masters,
    };
    driver.feed(input, &mut |e| printer.entry(e));
    Ok(())
}

fn finish<W: Write>(printer: &mut Printer<W>, core: &Core, notes: &[String]) -> io::Result<()> {
    if let Some(e) = printer.error.take() {
        return Err(e);
    }
    let stats = core.stats();
    let out = &mut printer.out;
    match printer.format {
        Format::Text => {
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
            for note in notes {
                writeln!(out, "# {note}")?;
            }
            match core.on_disk() {
                Some(text) => write!(out, "final config:\n{text}")?,
                None => writeln!(out, "final config: none written")?,
            }
        }
        Format::Json => {
            let end = json!({"final_config": core.on_disk(), "stats": stats, "notes": notes});
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
