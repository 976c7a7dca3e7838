//! Performing the core's effects: config writes and reload commands run in tasks of
//! their own and report back as outcomes; notifications and queries are handed off
//! without waiting.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use crate::core::{Effect, EffectId, Outcome};

use super::config_file::{loaded, write_atomically};
use super::reload;
use super::slack::Notifier;

/// An effect's id and how it went, on its way back to the core.
pub type Done = (EffectId, Outcome);

/// Everything needed to perform effects.
#[derive(Debug, Clone)]
pub struct Performer {
    /// Config file; stdout when none.
    pub out: Option<PathBuf>,
    /// nutcracker binary that checks each config before it replaces the live one;
    /// none to skip the check.
    pub nutcracker: Option<PathBuf>,
    /// Reload command, split.
    pub cmd: Vec<String>,
    /// Reload command as written, for logs.
    pub cmd_line: String,
    /// How long the reload command may run.
    pub cmd_timeout: Duration,
    /// Where outcomes go.
    pub done: mpsc::UnboundedSender<Done>,
    /// Slack.
    pub notifier: Notifier,
    /// Asks every sentinel link to query again (each change is one request).
    pub queries: watch::Sender<u64>,
}

fn outcome(result: Result<(), String>) -> Outcome {
    match result {
        Ok(()) => Outcome::Ok,
        Err(error) => Outcome::Failed { error },
    }
}

impl Performer {
    /// Starts performing `effect`; slow ones report to `done` when finished.
    pub fn perform(&self, effect: Effect) {
        match effect {
            Effect::WriteConfig { id, text, changes } => {
                for change in &changes {
                    info!("Config change: {change}");
                }
                let (out, check) = (self.out.clone(), self.nutcracker.clone());
                let done = self.done.clone();
                tokio::task::spawn_blocking(move || {
                    let result = match &out {
                        Some(path) => {
                            info!("Writing to outfile: {}", path.display());
                            write_atomically(path, &text, check.as_deref())
                        }
                        None => {
                            info!("Writing config to STDOUT");
                            print!("{text}");
                            Ok(())
                        }
                    };
                    let _ = done.send((id, outcome(result)));
                });
            }
            Effect::RunReload { id } => {
                info!("Running command: '{}'", self.cmd_line);
                let (cmd, timeout, done) = (self.cmd.clone(), self.cmd_timeout, self.done.clone());
                let out = self.out.clone();
                tokio::spawn(async move {
                    // What nutcracker will read, so that what it loaded is remembered.
                    let loading = match &out {
                        Some(path) => tokio::fs::read(path).await.ok(),
                        None => None,
                    };
                    let result = reload::run(&cmd, timeout).await;
                    if let (Ok(()), Some(path), Some(config)) = (&result, &out, &loading) {
                        if let Err(e) = loaded::remember(path, config) {
                            warn!("Cannot remember what nutcracker loaded beside {}: {e}; a restart may reload again", path.display());
                        }
                    }
                    let _ = done.send((id, outcome(result)));
                });
            }
            Effect::Notify { text } => self.notifier.send(text),
            Effect::Query => {
                self.queries.send_modify(|n| *n += 1);
            }
        }
    }
}
