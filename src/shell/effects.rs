//! Performing the core's effects: config writes and reload commands (or, under
//! `-supervise`, restarts of the supervised nutcracker) run in tasks of their own and
//! report back as outcomes, exactly one per effect ([`Reply`]), even when the task
//! panics; notifications and queries are handed off without waiting.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch, Notify};
use tracing::{debug, info, warn};

use crate::core::{Effect, EffectId};

use super::config_file::archive::Archive;
use super::config_file::{loaded, read_existing, replace};
use super::notifier::{Note, Notifier};
use super::reload;
use super::reply::{self, Reply};
use super::stdio::{self, StdoutError};
use super::supervise::Supervisor;

pub use super::reply::Done;

/// A read's id and the config file as it was on disk (none: no file).
pub type ConfigRead = (EffectId, Option<String>);

/// Everything needed to perform effects.
#[derive(Debug, Clone)]
pub struct Performer {
    /// Config file; stdout when none.
    pub out: Option<PathBuf>,
    /// Where each written config is also saved (`-backup`).
    pub archive: Option<Archive>,
    /// Reload command, split.
    pub cmd: Vec<String>,
    /// Reload command as written, for logs.
    pub cmd_line: String,
    /// How long the reload command may run.
    pub cmd_timeout: Duration,
    /// Under `-supervise`, the nutcracker a reload restarts instead of running `cmd`.
    pub supervisor: Option<Supervisor>,
    /// Where outcomes go.
    pub done: mpsc::UnboundedSender<Done>,
    /// Slack.
    pub notifier: Notifier,
    /// Asks every sentinel link to query again (each change is one request).
    pub queries: watch::Sender<u64>,
    /// Asks every sentinel link about one master (each name is one request).
    pub master_queries: broadcast::Sender<String>,
    /// Where the config file read for [`Effect::ReadConfig`] goes.
    pub reads: mpsc::UnboundedSender<ConfigRead>,
    /// Turns true when a running reload command must be ended now (tpc is stopping).
    pub end_commands: watch::Receiver<bool>,
    /// Told when stdout (the config's destination without `-out`) was closed by its
    /// reader: nothing written there will be read any more.
    pub stdout_closed: Arc<Notify>,
    /// Held by the config write under way, from its temp file to its folder's sync.
    pub writing: Arc<std::sync::Mutex<()>>,
}

/// The most changes named in one log line; more are counted.
const CHANGES_NAMED: usize = 10;

/// `: a -> b, c added at d` for a log line; empty without changes.
fn described(changes: &[crate::core::Change]) -> String {
    if changes.is_empty() {
        return String::new();
    }
    let named: Vec<String> = changes
        .iter()
        .take(CHANGES_NAMED)
        .map(ToString::to_string)
        .collect();
    let more = changes.len().saturating_sub(CHANGES_NAMED);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!(": {}{more}", named.join(", "))
}

impl Performer {
    /// Starts performing `effect`; slow ones report to `done` when finished.
    pub fn perform(&self, effect: Effect) {
        match effect {
            Effect::WriteConfig { id, text, changes } => {
                let changes = described(&changes);
                let started = std::time::Instant::now();
                let reply = Reply::new(id, self.done.clone());
                match self.out.clone() {
                    Some(path) => {
                        let archive = self.archive.clone();
                        let writing = Arc::clone(&self.writing);
                        tokio::task::spawn_blocking(move || {
                            // One write at a time, .bak and folder sync included.
                            let _writing = writing.lock().unwrap_or_else(|e| e.into_inner());
                            let replaced = match replace(&path, &text) {
                                Ok(replaced) => replaced,
                                Err(e) => return reply.send(Err(e)),
                            };
                            info!(
                                "Wrote {} in {} ms{changes}",
                                path.display(),
                                started.elapsed().as_millis()
                            );
                            // nutcracker reads the new file from now on: the reload need
                            // not wait for the .bak and the folder's sync.
                            reply.send(Ok(()));
                            if let Err(e) = replaced.finish() {
                                warn!("{e}: the new config is in place, but a crash now could bring the previous one back");
                            }
                            // A backup is a convenience: its failure never fails the write.
                            if let Some(archive) = archive {
                                match archive.save(&text, std::time::SystemTime::now()) {
                                    Ok(saved) => info!("Backup saved: {}", saved.display()),
                                    Err(e) => {
                                        warn!("Backup failed ({} so far): {e}", archive.failures())
                                    }
                                }
                            }
                        });
                    }
                    None => {
                        let closed = self.stdout_closed.clone();
                        reply::spawn_blocking(reply, move || {
                            stdio::out(&text).map_err(|e| {
                                if matches!(e, StdoutError::Closed) {
                                    closed.notify_one();
                                }
                                e.to_string()
                            })?;
                            let ms = started.elapsed().as_millis();
                            info!("Wrote the config to STDOUT in {ms} ms{changes}");
                            Ok(())
                        });
                    }
                }
            }
            Effect::RunReload { id } => {
                let reply = Reply::new(id, self.done.clone());
                let started = std::time::Instant::now();
                if let Some(supervisor) = self.supervisor.clone() {
                    debug!("Reloading: restarting the nutcracker tpc supervises");
                    reply::spawn(reply, async move {
                        let result = supervisor.restart().await;
                        if result.is_ok() {
                            info!(
                                "Restarted nutcracker in {} ms",
                                started.elapsed().as_millis()
                            );
                        }
                        result
                    });
                    return;
                }
                debug!("Running command: '{}'", self.cmd_line);
                let cmd_line = self.cmd_line.clone();
                let (cmd, timeout) = (self.cmd.clone(), self.cmd_timeout);
                let mut end = self.end_commands.clone();
                let stop = async move {
                    // A dropped sender never ends the command: only a `true` does.
                    if end.wait_for(|&now| now).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                };
                let out = self.out.clone();
                reply::spawn(reply, async move {
                    let result = reload::run_until(&cmd, timeout, stop).await;
                    if result.is_ok() {
                        let ms = started.elapsed().as_millis();
                        info!("Reloaded in {ms} ms ('{cmd_line}')");
                    }
                    // What nutcracker read: the core writes nothing while a reload runs,
                    // so the file read now is the one it loaded.
                    if let (Ok(()), Some(path)) = (&result, out) {
                        if let Ok(config) = tokio::fs::read(&path).await {
                            mark_loaded(path, config).await;
                        }
                    }
                    result
                });
            }
            Effect::Notify { text, about } => self.notifier.notify(Note::new(text, about)),
            Effect::ReadConfig { id } => {
                // Without -out there is no file to keep right: no answer.
                if let Some(path) = self.out.clone() {
                    let reads = self.reads.clone();
                    tokio::task::spawn_blocking(move || match read_existing(&path) {
                        Ok(text) => {
                            let _ = reads.send((id, text));
                        }
                        Err(e) => warn!("Cannot read {} to check it: {e}", path.display()),
                    });
                }
            }
            Effect::Query => {
                self.queries.send_modify(|n| *n += 1);
            }
            Effect::QueryMaster { name } => {
                // No link listening (none yet): the first answers cover it.
                let _ = self.master_queries.send(name);
            }
            // The daemon stops on it before it gets here (see `daemon::perform_all`).
            Effect::Stop { error } => warn!("{error}"),
        }
    }
}

/// Notes, beside the config file `path`, that nutcracker loaded `config` (what the file
/// held when it was reloaded or started), so that a restart of tpc knows no reload is
/// owed; a failure is logged.
pub async fn mark_loaded(path: PathBuf, config: Vec<u8>) {
    // Files and fsync: off the runtime's one thread.
    let remembered = tokio::task::spawn_blocking(move || {
        loaded::remember(&path, &config).map_err(|e| (path, e))
    })
    .await;
    if let Ok(Err((path, e))) = remembered {
        warn!(
            "Cannot remember what nutcracker loaded beside {}: {e}; a restart may reload again",
            path.display()
        );
    }
}
