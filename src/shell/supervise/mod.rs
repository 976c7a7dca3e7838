//! Supervise mode (`-supervise -- nutcracker -c FILE ...`): stock twemproxy cannot
//! reload its config, so tpc runs nutcracker as its child and a reload is a restart.
//!
//! One task owns the child ([`Supervisor::start`]):
//! - it starts the child at once when the config file exists, else at the first
//!   restart asked for (the core asks after its first successful write);
//! - [`Supervisor::restart`] (the core's reload) ends the child with its process group
//!   (SIGTERM, SIGKILL after the grace), starts it again, and succeeds once the new
//!   child is still running [`ALIVE_CHECK`] later; otherwise it fails with what the
//!   child printed, and the core retries;
//! - a child that dies on its own is started again after a delay ([`restarts`]), with a
//!   log line naming how it ended and a notification at the first death of a streak;
//! - after every start the mark of what nutcracker loaded is updated, as after a
//!   reload ([`mark_loaded`]);
//! - [`Supervisor::stop`] (tpc is stopping) ends the child the same way and ends the
//!   task. The child is tied to tpc's life ([`Tie::DiesWithTpc`](crate::shell::spawn::Tie)):
//!   even a SIGKILLed tpc leaves no nutcracker behind.

pub mod output;
pub mod restarts;
pub mod running;

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};
use tracing::{info, warn};

use super::child::describe;
use super::effects::mark_loaded;
use super::notifier::Notifier;
use super::reload::quote;
use restarts::Restarts;
use running::Running;

/// How long a child just started must keep running to count as started.
pub const ALIVE_CHECK: Duration = Duration::from_millis(200);

/// How long the child gets between SIGTERM and SIGKILL, when restarted or stopped.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// What the supervisor needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The child's command line, program first.
    pub argv: Vec<String>,
    /// The config file it loads (`-out`).
    pub config: PathBuf,
    /// How long it gets between SIGTERM and SIGKILL ([`STOP_GRACE`] in the daemon).
    pub stop_grace: Duration,
    /// Where the first death of a streak is told.
    pub notifier: Notifier,
}

/// What the supervisor is asked.
#[derive(Debug)]
enum Request {
    /// Restart the child (start it if none runs); the outcome goes back.
    Restart(oneshot::Sender<Result<(), String>>),
    /// Stop the child and end.
    Stop,
}

/// A handle on the supervisor task.
#[derive(Debug, Clone)]
pub struct Supervisor {
    requests: mpsc::UnboundedSender<Request>,
    pid: watch::Receiver<Option<u32>>,
}

impl Supervisor {
    /// Starts the supervisor task (inside a tokio runtime, on its own thread: see
    /// [`Tie::DiesWithTpc`](crate::shell::spawn::Tie)); with `start_now` (the config
    /// file exists), it starts the child at once. Returns the handle and the task,
    /// which ends after [`Supervisor::stop`], once the child has exited.
    pub fn start(settings: Settings, start_now: bool) -> (Supervisor, JoinHandle<()>) {
        let (requests, rx) = mpsc::unbounded_channel();
        let (pid_tx, pid) = watch::channel(None);
        let task = tokio::spawn(supervise(settings, rx, pid_tx, start_now));
        (Supervisor { requests, pid }, task)
    }

    /// Restarts the child (or starts it, if none runs); `Ok` once the new one is still
    /// running [`ALIVE_CHECK`] after its start.
    pub async fn restart(&self) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        let gone = || "the supervisor has stopped (tpc is stopping)".to_string();
        self.requests
            .send(Request::Restart(tx))
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// Asks the supervisor to stop the child and end.
    pub fn stop(&self) {
        let _ = self.requests.send(Request::Stop);
    }

    /// The process id of the child running now, if one is.
    pub fn pid(&self) -> Option<u32> {
        *self.pid.borrow()
    }
}

/// The supervisor task's state.
struct State {
    settings: Settings,
    child: Option<Running>,
    restarts: Restarts,
    /// When to start the child again, after it died.
    retry_at: Option<Instant>,
}

async fn supervise(
    settings: Settings,
    mut requests: mpsc::UnboundedReceiver<Request>,
    pid: watch::Sender<Option<u32>>,
    start_now: bool,
) {
    let mut state = State {
        settings,
        child: None,
        restarts: Restarts::default(),
        retry_at: start_now.then(Instant::now),
    };
    loop {
        let retry_at = state.retry_at;
        tokio::select! {
            request = requests.recv() => match request {
                Some(Request::Restart(reply)) => {
                    let _ = reply.send(state.restart().await);
                }
                Some(Request::Stop) | None => break,
            },
            status = exit_of(&mut state.child) => state.died(status).await,
            _ = sleep_until(retry_at.unwrap_or_else(Instant::now)), if retry_at.is_some() => {
                state.retry_at = None;
                if let Err(e) = state.launch().await {
                    state.failed(&e, Duration::ZERO);
                }
            }
        }
        pid.send_replace(state.child.as_ref().map(Running::pid));
    }
    if let Some(child) = state.child.take() {
        let pid = child.pid();
        info!("Stopping nutcracker (pid {pid}): SIGTERM to its process group");
        let status = child.stop(state.settings.stop_grace).await;
        let how = status.map_or_else(|| "killed".to_string(), |s| describe(&s));
        info!("nutcracker (pid {pid}) stopped ({how})");
    }
    pid.send_replace(None);
}

/// Completes when the child (if any) exits.
async fn exit_of(child: &mut Option<Running>) -> std::io::Result<std::process::ExitStatus> {
    match child {
        Some(child) => child.exited().await,
        None => std::future::pending().await,
    }
}

impl State {
    /// A restart asked for: ends the running child, starts a new one.
    async fn restart(&mut self) -> Result<(), String> {
        if let Some(old) = self.child.take() {
            let pid = old.pid();
            info!("Restarting nutcracker (pid {pid}) to load the new config: SIGTERM to its process group");
            self.restarts.stayed_up(old.up_for());
            old.stop(self.settings.stop_grace).await;
        }
        self.retry_at = None;
        self.launch().await.inspect_err(|e| {
            // Counted in the streak, not notified: the core tells of a failed reload.
            let next = self.restarts.died(Duration::ZERO);
            warn!("{e}; starting it again in {}ms", next.delay.as_millis());
            self.retry_at = Some(Instant::now() + next.delay);
        })
    }

    /// Starts the child and checks that it keeps running; on success it is the child
    /// and the mark of what nutcracker loaded is updated.
    async fn launch(&mut self) -> Result<(), String> {
        let config = self.settings.config.clone();
        // What nutcracker will read, so that what it loaded is remembered.
        let loading = tokio::fs::read(&config).await.ok();
        let mut child = Running::start(&self.settings.argv)?;
        let pid = child.pid();
        info!(
            "Started nutcracker (pid {pid}): {}",
            self.settings.argv.join(" ")
        );
        match tokio::time::timeout(ALIVE_CHECK, child.exited()).await {
            Err(_) => {
                if let Some(loading) = loading {
                    mark_loaded(config, loading).await;
                }
                self.child = Some(child);
                Ok(())
            }
            Ok(status) => {
                let how = status.map_or_else(|e| format!("its end unknown: {e}"), |s| describe(&s));
                let output = child.output().await;
                Err(format!(
                    "nutcracker (pid {pid}) exited within {}ms of its start ({how}){}",
                    ALIVE_CHECK.as_millis(),
                    quote(&output)
                ))
            }
        }
    }

    /// The child exited on its own.
    async fn died(&mut self, status: std::io::Result<std::process::ExitStatus>) {
        let Some(child) = self.child.take() else {
            return;
        };
        let (pid, up_for) = (child.pid(), child.up_for());
        let how = status.map_or_else(|e| format!("its end unknown: {e}"), |s| describe(&s));
        let output = child.output().await;
        let error = format!(
            "nutcracker (pid {pid}) exited on its own after {}s ({how}){}",
            up_for.as_secs(),
            quote(&output)
        );
        self.failed(&error, up_for);
    }

    /// The child died or failed to start after `up_for`: logs it, tells the first of a
    /// streak, and plans the next start.
    fn failed(&mut self, error: &str, up_for: Duration) {
        let next = self.restarts.died(up_for);
        let delay = next.delay.as_millis();
        warn!("{error}; starting it again in {delay}ms");
        if next.first {
            self.settings.notifier.send(format!(
                "{error}; tpc starts it again (in {delay}ms, then with back-off; further exits are only logged until it stays up {}s)",
                restarts::STABLE.as_secs()
            ));
        }
        self.retry_at = Some(Instant::now() + next.delay);
    }
}
