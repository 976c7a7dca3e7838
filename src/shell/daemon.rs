//! The daemon loop: one task, one `select!`. It feeds the core every sentinel event,
//! effect outcome and timer tick, then drains the core's effects and performs them.

use std::borrow::Cow;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch, Notify};
use tokio::time::{sleep_until, Instant};
use tracing::{info, warn};

use crate::core::layout::Layout;
use crate::core::{Core, Effect, Input};

use super::child::GRACE;
use super::cli::{Options, DEFAULT_CMD};
use super::clock::Clock;
use super::config_file::archive::Archive;
use super::config_file::{
    find_nutcracker, loaded, nutcracker_check, nutcracker_check_text, read_existing, remove_stale,
    remove_stale_backups, Stale,
};
use super::effects::Performer;
use super::memory;
use super::metrics::{self, Snapshot};
use super::notifier::Notifier;
use super::recording::{Header, Recorder};
use super::sentinel::{self, LinkEvent};
use super::supervise::{self, Supervisor};
use super::systemd::Systemd;

/// Names asked about (`SENTINEL MASTER <name>`) a link may fall behind by; past that it
/// asks for every master instead.
const MASTER_QUERIES_HELD: usize = 256;

/// How long notifications still queued at the stop may take to go out.
const NOTIFY_WAIT: Duration = Duration::from_secs(5);

/// How long a running reload command may go on once tpc is asked to stop; then it is
/// ended with every process it started.
pub const STOP_WAIT: Duration = Duration::from_secs(5);

/// How long, after ending the reload command, tpc waits for its outcome before it exits
/// without it (its processes were SIGKILLed; this only bounds a stuck write).
const LAST_WAIT: Duration = Duration::from_secs(2);

/// Link events taken in one turn of the loop, at most.
const LINK_BATCH: usize = 1024;

/// Why the daemon could not run.
#[derive(Debug)]
pub enum DaemonError {
    /// The existing config file could not be read.
    ReadConfig {
        /// The file.
        path: String,
        /// The error.
        error: io::Error,
    },
    /// Configs cannot be checked: no nutcracker binary.
    NoNutcracker(String),
    /// `nutcracker -t` rejects the `-template` file.
    TemplateRejected(String),
    /// `nutcracker -t` rejects the pool the flags make (generate mode).
    PoolRejected(String),
    /// The core stopped tpc (e.g. `-strict` and a server no sentinel knows).
    Stopped(String),
    /// The recording file could not be started.
    Record {
        /// The file.
        path: String,
        /// The error.
        error: io::Error,
    },
}

impl std::fmt::Display for DaemonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DaemonError::ReadConfig { path, error } => write!(
                f,
                "cannot read the existing config {path}: {error} (tpc must be able to read and replace it)"
            ),
            DaemonError::NoNutcracker(why) => write!(f, "{why}"),
            DaemonError::TemplateRejected(why) => write!(f, "invalid -template: {why}"),
            DaemonError::PoolRejected(why) => write!(
                f,
                "the pool the flags make is not a config nutcracker takes: {why}; mend the flags, or give -validate=false to write configs unchecked"
            ),
            DaemonError::Stopped(why) => write!(f, "{why}"),
            DaemonError::Record { path, error } => {
                write!(f, "cannot start the recording {path}: {error}")
            }
        }
    }
}

impl std::error::Error for DaemonError {}

/// Where the daemon is in stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Not stopping.
    Running,
    /// Asked to stop; waiting until then for the write or reload in progress.
    Waiting(Instant),
    /// The reload command was told to end; waiting until then for its outcome.
    Ending(Instant),
}

fn to_input(event: LinkEvent, clock: &Clock) -> Input<'static> {
    let at = clock.now();
    match event {
        LinkEvent::Up { sentinel } => Input::LinkUp {
            at,
            sentinel: sentinel.into(),
        },
        LinkEvent::Down { sentinel, reason } => Input::LinkDown {
            at,
            sentinel: sentinel.into(),
            reason: reason.into(),
        },
        LinkEvent::Message {
            sentinel,
            channel,
            payload,
        } => Input::Message {
            at,
            sentinel: sentinel.into(),
            channel: channel.into(),
            payload: payload.into(),
        },
        LinkEvent::Snapshot { sentinel, answer } => Input::Snapshot {
            at,
            sentinel: sentinel.into(),
            masters: answer.masters,
            replicas: answer.replicas,
        },
        LinkEvent::Master { sentinel, answer } => Input::MasterAnswer {
            at,
            sentinel: sentinel.into(),
            name: answer.name.into(),
            master: answer.master,
            replicas: answer.replicas,
        },
    }
}

/// Performs every effect the core asks for, until it asks for none; returns the error
/// of an [`Effect::Stop`], which the daemon stops with.
fn perform_all(core: &mut Core, performer: &Performer) -> Option<String> {
    let mut stop = None;
    while let Some(effect) = core.poll_effect() {
        match effect {
            Effect::Stop { error } => {
                stop.get_or_insert(error);
            }
            effect => performer.perform(effect),
        }
    }
    stop
}

/// What the daemon needs from the disk before it starts.
struct Start {
    /// The config file's content, if there is one.
    on_disk: Option<String>,
    /// nutcracker has not loaded it, by what the last run remembered.
    reload_owed: bool,
    /// The recording, if asked for.
    recorder: Option<Recorder>,
}

/// With `-validate`, has `nutcracker -t` check, once, what tpc cannot vouch for itself:
/// the `-template` file, or (when tpc writes a file) the pool the flags make. Every
/// config tpc writes after is that frame with server lines of names and addresses tpc
/// validated, which `nutcracker -t` passes as they are (DESIGN.md §10; the claim is
/// checked against the real nutcracker in `tests/frame_check.rs`), so no write waits
/// for it.
fn check_frame(options: &Options) -> Result<(), DaemonError> {
    if !options.validate {
        return Ok(());
    }
    let checker =
        || find_nutcracker(options.nutcracker.as_deref()).map_err(DaemonError::NoNutcracker);
    match (&options.template, &options.out) {
        (Some(template), _) => nutcracker_check(&checker()?, template)
            .map_err(|why| DaemonError::TemplateRejected(format!("{}: {why}", template.display()))),
        (None, Some(out)) => {
            let Some(frame) = Layout::new(&options.core).frame() else {
                return Ok(());
            };
            nutcracker_check_text(&checker()?, out, &frame).map_err(DaemonError::PoolRejected)
        }
        (None, None) => Ok(()),
    }
}

/// Reads the config on disk, removes stale temp files beside it, checks what nutcracker
/// must ([`check_frame`]) and starts the recording: everything that can fail before the first connection, with
/// errors that say what to do.
fn prepare(options: &Options) -> Result<Start, DaemonError> {
    if options.cmd_line == DEFAULT_CMD && options.supervise.is_none() {
        warn!(
            "-cmd is the original default '{DEFAULT_CMD}': stock nutcracker ignores SIGUSR1, so a new config is only loaded when nutcracker restarts; set -cmd to a restart (e.g. -cmd 'systemctl restart nutcracker')"
        );
    }
    let on_disk = match &options.out {
        Some(path) => read_existing(path).map_err(|error| DaemonError::ReadConfig {
            path: path.display().to_string(),
            error,
        })?,
        None => None,
    };
    let stale = options.out.as_deref().map(remove_stale).unwrap_or_default();
    let stale_backups = options.backup.as_deref().map(remove_stale_backups);
    for stale in stale.into_iter().chain(stale_backups.into_iter().flatten()) {
        match stale {
            Stale::Removed(_) => info!("{stale}"),
            Stale::Kept(..) => warn!("{stale}"),
        }
    }
    check_frame(options)?;
    let reload_owed = match &options.out {
        Some(out) => loaded::reload_owed(out, on_disk.as_deref()).unwrap_or_else(|e| {
            warn!("Cannot read or keep the mark of what nutcracker loaded beside {}: {e}; a reload owed when tpc stops is not remembered", out.display());
            false
        }),
        None => false,
    };
    // The supervised nutcracker starts with the file on disk: nothing is owed then.
    let reload_owed = reload_owed && !(options.supervise.is_some() && on_disk.is_some());
    if reload_owed {
        warn!("nutcracker has not loaded the config on disk (a reload was owed when tpc stopped): reloading it");
    }
    let header = Header {
        reload_owed,
        ..Header::for_daemon(&options.core, on_disk.as_deref())
    };
    let recorder =
        match &options.record {
            Some(path) => Some(Recorder::create(path, &header, &options.core).map_err(
                |error| DaemonError::Record {
                    path: path.display().to_string(),
                    error,
                },
            )?),
            None => None,
        };
    if let Some(out) = &options.out {
        info!(
            "Following {} sentinel(s); {} stays as it is until one answers",
            options.sentinels.len(),
            out.display()
        );
    }
    Ok(Start {
        on_disk,
        reload_owed,
        recorder,
    })
}

/// Runs until `shutdown` completes (or stdout, where the config goes without `-out`,
/// is closed by its reader), then finishes the write or reload in progress and returns.
/// A reload command still running [`STOP_WAIT`] later is ended with every process it
/// started. Under `-supervise`, the nutcracker it runs is stopped last, and this
/// returns once it has exited.
pub async fn run(options: Options, shutdown: impl Future<Output = ()>) -> Result<(), DaemonError> {
    tokio::pin!(shutdown);
    // A stop asked for while `nutcracker -t` checks (it may take its time) is taken at
    // once: the check dies with tpc.
    let preparing = {
        let options = options.clone();
        tokio::task::spawn_blocking(move || prepare(&options))
    };
    let prepared = tokio::select! {
        biased;
        _ = &mut shutdown => {
            info!("Stopped during start-up, before any sentinel was asked");
            return Ok(());
        }
        prepared = preparing => prepared,
    };
    let Start {
        on_disk,
        reload_owed,
        mut recorder,
    } = prepared.map_err(|e| DaemonError::Stopped(format!("start-up failed: {e}")))??;
    let clock = Clock::start();
    let notifier = Notifier::start(options.slack.clone(), options.webhook.clone());
    let supervised = match (&options.supervise, &options.out) {
        (Some(argv), Some(out)) => Some(Supervisor::start(
            supervise::Settings {
                argv: argv.clone(),
                config: out.clone(),
                stop_grace: supervise::STOP_GRACE,
                notifier: notifier.clone(),
            },
            on_disk.is_some(),
        )),
        _ => None,
    };
    let mut core = Core::new(options.core.clone(), on_disk).with_reload_owed(reload_owed);
    // Every input goes through here, so a recording holds exactly what the core saw.
    let mut feed = |core: &mut Core, input: Input| {
        if let Some(r) = &mut recorder {
            if let Err(e) = r.record(&input) {
                warn!("Recording stopped: {e}");
                recorder = None;
            }
        }
        core.handle(input);
    };
    let (link_tx, mut link_rx) = mpsc::channel(1024);
    let (query_tx, query_rx) = watch::channel(0u64);
    let (master_query_tx, _) = broadcast::channel(MASTER_QUERIES_HELD);
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let (reads_tx, mut reads_rx) = mpsc::unbounded_channel();
    let (end_commands, end_commands_rx) = watch::channel(false);
    let stdout_closed = Arc::new(Notify::new());
    let links = tokio::spawn(sentinel::follow_all(
        options.sentinels.clone(),
        options.auth.clone(),
        options.sentinel_timeout,
        Layout::new(&options.core).followed(),
        link_tx,
        sentinel::Queries {
            all: query_rx,
            masters: master_query_tx.clone(),
        },
    ));
    let writing = Arc::new(std::sync::Mutex::new(()));
    let performer = Performer {
        out: options.out.clone(),
        archive: options
            .backup
            .clone()
            .map(|dir| Archive::new(dir, options.backup_keep)),
        cmd: options.cmd.clone(),
        cmd_line: options.cmd_line.clone(),
        cmd_timeout: options.cmd_timeout,
        supervisor: supervised.as_ref().map(|(s, _)| s.clone()),
        done: done_tx,
        notifier: notifier.clone(),
        queries: query_tx,
        master_queries: master_query_tx,
        reads: reads_tx,
        end_commands: end_commands_rx,
        stdout_closed: stdout_closed.clone(),
        writing: Arc::clone(&writing),
    };
    // The longest start-up takes with a sentinel that answers: its answer, then the grace.
    let start_up =
        options.sentinel_timeout + Duration::from_millis(options.core.start_grace.as_u64());
    let mut systemd = Systemd::from_env(start_up);
    let (snapshot, server) = match &options.metrics {
        Some((addr, path)) => {
            let (tx, rx) = watch::channel(Snapshot::new(&options.sentinels));
            let server = metrics::start(addr, path, rx)
                .await
                .map_err(|why| performer.notifier.send(why))
                .ok();
            (Some(tx), server)
        }
        None => (None, None),
    };
    let mut stop = Stop::Running;
    let mut fatal = None;
    loop {
        if let Some(error) = perform_all(&mut core, &performer) {
            fatal.get_or_insert(error);
        }
        if let Some(snapshot) = &snapshot {
            let backups = performer.archive.as_ref().map_or(0, Archive::failures);
            snapshot.send_modify(|s| s.refresh(&core, &clock, backups));
        }
        systemd.turned(core.is_ready());
        if fatal.is_some() {
            break;
        }
        let stopping = stop != Stop::Running;
        if stopping && !core.is_busy() {
            break;
        }
        let wake = core.poll_timeout().map(|t| clock.instant(t));
        let stop_deadline = match stop {
            Stop::Running => None,
            Stop::Waiting(at) | Stop::Ending(at) => Some(at),
        };
        let systemd_wake = systemd.next_wake();
        tokio::select! {
            Some(delivery) = link_rx.recv(), if !stopping => {
                // Whatever else the links sent is taken in the same turn (up to a batch),
                // each event's effects drained before the next: one a turn would leave
                // the core far behind a link reading a flood.
                let mut next = Some(delivery);
                let mut taken = 0;
                while let Some(delivery) = next.take() {
                    let (event, receipt) = delivery.into_parts();
                    let big = matches!(&event, LinkEvent::Snapshot { answer, .. }
                        if answer.masters.len() >= memory::TRIM_AFTER_MASTERS);
                    feed(&mut core, to_input(event, &clock));
                    // Tells the link the core took the event in (it holds queries until then).
                    drop(receipt);
                    if let Some(error) = perform_all(&mut core, &performer) {
                        fatal.get_or_insert(error);
                        break;
                    }
                    if big {
                        memory::trim();
                    }
                    taken += 1;
                    if taken < LINK_BATCH {
                        next = link_rx.try_recv().ok();
                    }
                }
            }
            Some((id, text)) = reads_rx.recv(), if !stopping => {
                let text = text.map(Cow::Owned);
                feed(&mut core, Input::ConfigRead { at: clock.now(), id, text })
            }
            Some((id, outcome)) = done_rx.recv() => {
                feed(&mut core, Input::Done { at: clock.now(), id, outcome })
            }
            _ = sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() && !stopping => {
                feed(&mut core, Input::Tick { at: clock.now() })
            }
            // Only turns the loop: systemd is told at the top (a stuck loop tells nothing).
            _ = sleep_until(systemd_wake.unwrap_or_else(Instant::now)), if systemd_wake.is_some() => {}
            _ = &mut shutdown, if !stopping => {
                info!("Stopping: finishing the write or reload in progress");
                systemd.stopping();
                stop = Stop::Waiting(Instant::now() + STOP_WAIT);
            }
            _ = stdout_closed.notified(), if !stopping => {
                info!("Stopping: stdout is closed (its reader went away)");
                systemd.stopping();
                stop = Stop::Waiting(Instant::now() + STOP_WAIT);
            }
            _ = sleep_until(stop_deadline.unwrap_or_else(Instant::now)), if stopping => {
                if let Stop::Waiting(_) = stop {
                    warn!(
                        "Still busy {}s after the stop: ending the reload command with every process it started",
                        STOP_WAIT.as_secs()
                    );
                    end_commands.send_replace(true);
                    stop = Stop::Ending(Instant::now() + GRACE + LAST_WAIT);
                } else {
                    warn!("Stopping without the outcome of the write or reload in progress");
                    break;
                }
            }
        }
    }
    systemd.stopping();
    links.abort();
    if let Some((supervisor, task)) = supervised {
        // Bounded: the child gets its grace, then SIGKILL.
        supervisor.stop();
        let _ = task.await;
    }
    if let Some(server) = server {
        server.abort();
    }
    notifier.finish(NOTIFY_WAIT).await;
    // A write answers once its file is in place: its .bak and folder sync may remain.
    // Bounded: a write that never ended was given up on above.
    let finished = tokio::task::spawn_blocking(move || drop(writing.lock()));
    let _ = tokio::time::timeout(Duration::from_secs(1), finished).await;
    if let Some(error) = fatal {
        return Err(DaemonError::Stopped(error));
    }
    info!("Stopped");
    Ok(())
}
