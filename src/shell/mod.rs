//! The shell: everything with I/O. The command line, sentinel links, config writes,
//! the reload command (or the supervised nutcracker), Slack, logs, signals, and the
//! daemon loop that connects them to the pure [`crate::core`].

pub mod capture;
pub mod cases;
pub mod child;
pub mod cli;
pub mod clock;
pub mod config_file;
pub mod daemon;
pub mod dry_run;
pub mod effects;
pub mod logging;
pub mod masters_file;
pub mod memory;
pub mod metrics;
pub mod notifier;
pub mod recording;
pub mod reload;
pub mod replay;
pub mod reply;
pub mod sentinel;
pub mod sentinel_log;
pub mod spawn;
pub mod status;
pub mod stdio;
pub mod supervise;
pub mod systemd;
pub mod utc;

use std::process::ExitCode;
use std::time::Duration;

use tracing::error;

use cli::{Command, Options};
use stdio::{err_line, StdoutError};

/// Runs what the command line asked for and says how it ended. A reader of stdout that
/// went away (`tpc ... | head -1`) is a clean end.
pub fn run(command: Command) -> ExitCode {
    match command {
        Command::Help(text) => print(&text),
        Command::Version => print(&format!("tpc {}\n", env!("CARGO_PKG_VERSION"))),
        Command::Run(options) => match &options.dry_run_masters {
            Some(file) => match dry_run::run(&options, file) {
                Ok(lines) => {
                    lines.iter().for_each(|l| err_line(l));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    err_line(&format!("tpc: {e}"));
                    ExitCode::FAILURE
                }
            },
            None => run_daemon(*options),
        },
        Command::Status(options) => run_status(&options),
        Command::Test { dir, bless } => {
            let (report, all_passed) = cases::run_dir(&dir, bless);
            let printed = print(&report);
            if all_passed {
                printed
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Replay(options) if options.expect.is_some() => {
            let expected = options
                .expect
                .as_deref()
                .unwrap_or(std::path::Path::new(""));
            match cases::check(&options, expected, options.bless) {
                Ok(cases::Checked::Passed) => print("as expected\n"),
                Ok(cases::Checked::Blessed) => print(&format!("wrote {}\n", expected.display())),
                Ok(cases::Checked::Failed(diff)) => {
                    let _ = print(&format!(
                        "tpc now does otherwise than {} says:\n{diff}",
                        expected.display()
                    ));
                    ExitCode::FAILURE
                }
                Err(e) => {
                    err_line(&format!("tpc replay: {e}"));
                    ExitCode::FAILURE
                }
            }
        }
        Command::Replay(options) => {
            let stdout = std::io::stdout();
            match replay::run(&options, std::io::BufWriter::new(stdout.lock())) {
                Ok(()) => ExitCode::SUCCESS,
                Err(replay::ReplayError::Io(_, e)) if stdio::is_closed(&e) => ExitCode::SUCCESS,
                Err(e) => {
                    err_line(&format!("tpc replay: {e}"));
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Prints `text` to stdout.
fn print(text: &str) -> ExitCode {
    match stdio::out(text) {
        Ok(()) | Err(StdoutError::Closed) => ExitCode::SUCCESS,
        Err(e) => {
            err_line(&format!("tpc: {e}"));
            ExitCode::FAILURE
        }
    }
}

/// tpc's one-thread runtime; none (said on stderr) when it cannot start.
fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| err_line(&format!("tpc: cannot start the runtime: {e}")))
        .ok()
}

/// `tpc status`: exit 0 in sync, 1 not.
fn run_status(options: &Options) -> ExitCode {
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let found = runtime.block_on(status::run(options));
    let printed = print(&found.text);
    if found.in_sync {
        printed
    } else {
        ExitCode::FAILURE
    }
}

fn run_daemon(options: Options) -> ExitCode {
    let target = match (&options.log, &options.out) {
        (Some(path), _) => logging::Target::File(path),
        (None, None) => logging::Target::Stderr,
        (None, Some(_)) => logging::Target::Stdout,
    };
    if let Err(e) = logging::init(target, options.log_format) {
        err_line(&format!("tpc: cannot open log file: {e}"));
        return ExitCode::FAILURE;
    }
    for warning in &options.warnings {
        tracing::warn!("{warning}");
    }
    memory::set_up();
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let code = runtime.block_on(async {
        tokio::spawn(reopen_log_on_hangup());
        match daemon::run(options, shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                error!("{e}");
                err_line(&format!("tpc: {e}"));
                ExitCode::FAILURE
            }
        }
    });
    // A write stuck in a blocking thread (stdout nobody reads) must not hold the exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    code
}

/// Reopens the log file on every SIGHUP, for logrotate.
async fn reopen_log_on_hangup() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hangup) = signal(SignalKind::hangup()) else {
        return;
    };
    while hangup.recv().await.is_some() {
        match logging::reopen() {
            Ok(()) => tracing::info!("SIGHUP: log file reopened"),
            Err(e) => {
                tracing::warn!("SIGHUP: cannot reopen the log file, keeping the old one: {e}")
            }
        }
    }
}

/// Completes on SIGTERM or SIGINT. The handlers are set up at once, not when the future
/// is first polled: a signal during the checks at start (a `nutcracker -t` that takes
/// its time) then stops tpc cleanly once they end, rather than killing it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let handlers = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    async move {
        match handlers {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                // Without signal handlers the default action (exit) applies; never finish.
                std::future::pending::<()>().await
            }
        }
    }
}
