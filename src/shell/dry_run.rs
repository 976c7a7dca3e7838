//! The dry run (`-masters FILE`): the core is fed the listed masters as one snapshot, and
//! its effects are performed without touching nutcracker: the config is written (to
//! `-out` or stdout) and the reload command is only named.

use std::fmt;
use std::path::Path;
use std::time::SystemTime;

use crate::core::{Core, Effect, Input, Millis, Outcome};

use super::cli::Options;
use super::config_file::archive::Archive;
use super::config_file::{read_existing, remove_stale, write_atomically};
use super::masters_file;
use super::stdio::{self, StdoutError};

/// Why a dry run failed.
#[derive(Debug)]
pub enum DryRunError {
    /// The masters file could not be read.
    Read(String, std::io::Error),
    /// A line of the masters file is wrong.
    Parse(String, masters_file::LineError),
    /// The file lists no master (nutcracker needs at least one server).
    NoMasters(String),
    /// The config could not be written.
    Write(String),
    /// The core stopped (e.g. `-strict` and a template server the file does not list).
    Stopped(String),
}

impl fmt::Display for DryRunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DryRunError::Read(p, e) => write!(f, "cannot read masters file {p}: {e}"),
            DryRunError::Parse(p, e) => write!(f, "{p}: {e}"),
            DryRunError::NoMasters(p) => write!(
                f,
                "{p} lists no master (matching -master_pattern); nutcracker needs at least one server"
            ),
            DryRunError::Write(e) | DryRunError::Stopped(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for DryRunError {}

/// Renders the config for the masters in `file`. Returns what the core did, one line
/// per effect, for stderr.
pub fn run(options: &Options, file: &Path) -> Result<Vec<String>, DryRunError> {
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|e| DryRunError::Read(name.clone(), e))?;
    let masters = masters_file::parse(&text).map_err(|e| DryRunError::Parse(name.clone(), e))?;
    let on_disk = match &options.out {
        Some(out) => read_existing(out)
            .map_err(|e| DryRunError::Write(format!("cannot read {}: {e}", out.display())))?,
        None => None,
    };
    let mut core = Core::new(options.core.clone(), on_disk);
    core.handle(Input::Snapshot {
        at: Millis::ZERO,
        sentinel: format!("file {name}").into(),
        replicas: Default::default(),
        masters,
    });
    if core.masters().is_empty() {
        return Err(DryRunError::NoMasters(name));
    }
    let mut log: Vec<String> = match &options.out {
        Some(out) => remove_stale(out).iter().map(ToString::to_string).collect(),
        None => Vec::new(),
    };
    while let Some(effect) = core.poll_effect() {
        let done = match effect {
            Effect::WriteConfig { id, text, .. } => {
                match &options.out {
                    Some(out) => {
                        write_atomically(out, &text).map_err(DryRunError::Write)?;
                        log.push(format!("wrote {}", out.display()));
                        if let Some(dir) = &options.backup {
                            let archive = Archive::new(dir.clone(), options.backup_keep);
                            log.push(match archive.save(&text, SystemTime::now()) {
                                Ok(saved) => format!("backup saved: {}", saved.display()),
                                Err(e) => format!("backup failed: {e}"),
                            });
                        }
                    }
                    None => match stdio::out(&text) {
                        // The reader went away (`| head -1`): it wanted no more.
                        Ok(()) | Err(StdoutError::Closed) => {}
                        Err(e) => return Err(DryRunError::Write(e.to_string())),
                    },
                }
                Some(id)
            }
            Effect::RunReload { id } => {
                log.push(match &options.supervise {
                    Some(_) => "dry run: would restart the supervised nutcracker".to_string(),
                    None => format!("dry run: would run '{}'", options.cmd_line),
                });
                Some(id)
            }
            Effect::Notify { text, .. } => {
                log.push(format!("dry run: would notify: {text}"));
                None
            }
            Effect::Query | Effect::QueryMaster { .. } | Effect::ReadConfig { .. } => None,
            Effect::Stop { error } => return Err(DryRunError::Stopped(error)),
        };
        if let Some(id) = done {
            core.handle(Input::Done {
                at: Millis::ZERO,
                id,
                outcome: Outcome::Ok,
            });
        }
    }
    if core.stats().writes == 0 {
        log.push("config unchanged: nothing written, nothing to reload".to_string());
    }
    Ok(log)
}
