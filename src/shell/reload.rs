//! Running the reload command: argv already split (no shell), bounded by a timeout that
//! kills it with every process it started, its output logged line by line at debug.

use std::ffi::OsStr;
use std::future::Future;
use std::time::Duration;

use tracing::debug;

use super::child::{self, Output, RunError};
use super::spawn::Tie;
use crate::core::shown::shown;

/// Lines of each output stream quoted in an error.
const QUOTED_LINES: usize = 3;

/// Runs `argv` and says how it went: `Ok` on exit status 0, otherwise why not. An empty
/// `argv` runs nothing and succeeds.
pub async fn run(argv: &[String], timeout: Duration) -> Result<(), String> {
    run_until(argv, timeout, std::future::pending()).await
}

/// [`run`], also ending the command (with every process it started) when `stop`
/// completes: tpc is stopping.
pub async fn run_until(
    argv: &[String],
    timeout: Duration,
    stop: impl Future<Output = ()>,
) -> Result<(), String> {
    let Some((program, args)) = argv.split_first() else {
        return Ok(());
    };
    // A reload that restarts a service finishes its work even if tpc dies meanwhile.
    let result = child::run(OsStr::new(program), args, timeout, stop, Tie::Loose).await;
    let output = match &result {
        Ok(exited) => Some(&exited.output),
        Err(e) => e.output(),
    };
    if let Some(output) = output {
        log(output);
    }
    let error = match &result {
        Ok(exited) if exited.status.success() => return Ok(()),
        Ok(exited) => child::describe(&exited.status),
        Err(RunError::TimedOut { after, .. }) => format!(
            "killed after {}s (-cmd_timeout), with every process it started",
            after.as_secs()
        ),
        Err(e) => e.to_string(),
    };
    // The core logs the failure, with this text.
    Err(format!("{error}{}", output.map(quote).unwrap_or_default()))
}

/// Logs what the command printed, one debug line per line (a failure quotes its last
/// lines in its error).
fn log(output: &Output) {
    for (stream, kept) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        for line in kept.lines() {
            debug!("Command {stream}: {}", shown(&line));
        }
    }
}

/// The last lines a command printed, for an error: `; stderr: a | b`.
pub fn quote(output: &Output) -> String {
    let mut text = String::new();
    for (stream, kept) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let lines = kept.last_lines(QUOTED_LINES);
        if !lines.is_empty() {
            text.push_str(&format!("; {stream}: {}", lines.join(" | ")));
        }
    }
    text
}
