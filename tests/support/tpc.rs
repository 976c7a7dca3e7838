//! The real `tpc` binary under test, run with the given flags. Its stdout and stderr go
//! to one log file; when a test panics, the guard prints its last lines before killing it.

use super::procs::Proc;
use std::fs;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::Duration;
use tempfile::TempDir;

/// Lines of tpc's output printed when a test fails.
const TAIL_LINES: usize = 60;
/// How long [`Tpc::terminate`] waits for tpc to exit after SIGTERM.
const TERM_TIMEOUT: Duration = Duration::from_secs(10);

/// A running tpc; SIGKILLed by PID on drop unless [`Tpc::terminate`]d.
pub struct Tpc {
    proc: Proc,
    _own_dir: Option<TempDir>,
}

impl Tpc {
    /// Starts `tpc ARGS...` with its output in a temp dir of its own.
    pub fn spawn(args: &[&str]) -> Tpc {
        let dir = tempfile::Builder::new()
            .prefix("tpc-out-")
            .tempdir()
            .expect("create temp dir");
        let mut tpc = Tpc::spawn_in(dir.path(), args);
        tpc._own_dir = Some(dir);
        tpc
    }

    /// Starts `tpc ARGS...` with stdout and stderr appended to `dir/tpc.log`. Unless
    /// `args` set `-listen_address`, it is off: tests serve nothing on every address.
    pub fn spawn_in(dir: &Path, args: &[&str]) -> Tpc {
        Tpc::spawn_in_env(dir, args, &[])
    }

    /// [`Tpc::spawn_in`] with these environment variables set (e.g. `RUST_LOG`).
    pub fn spawn_in_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Tpc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tpc"));
        // First, so that a later -listen_address wins and `--` (supervise) ends nothing.
        if !args.iter().any(|a| a.starts_with("-listen_address")) {
            cmd.arg("-listen_address=");
        }
        cmd.args(args);
        cmd.envs(env.iter().copied());
        let proc = Proc::spawn("tpc", &mut cmd, &dir.join("tpc.log"));
        Tpc {
            proc,
            _own_dir: None,
        }
    }

    /// tpc's PID.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Everything tpc wrote so far (stdout and stderr).
    pub fn output(&self) -> String {
        fs::read_to_string(self.proc.log_path()).unwrap_or_default()
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        self.proc.log_path()
    }

    /// The last `n` lines of the log, with a header.
    pub fn log_tail(&self, n: usize) -> String {
        format!(
            "--- tpc log (last {n} lines) ---\n{}",
            self.proc.log_tail(n)
        )
    }

    /// The exit status if tpc has exited, `None` while it runs.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.proc.exited()
    }

    /// Sends SIGTERM and waits up to 10 s for the exit; returns the exit status. Panics
    /// (after SIGKILL) if tpc does not exit in time.
    pub fn terminate(&mut self) -> ExitStatus {
        self.proc
            .signal_and_wait("TERM", TERM_TIMEOUT)
            .unwrap_or_else(|| panic!("tpc did not exit within {TERM_TIMEOUT:?} of SIGTERM"))
    }
}

impl Drop for Tpc {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.log_tail(TAIL_LINES));
        }
        self.proc.kill();
    }
}
