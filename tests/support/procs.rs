//! Process guards: every process a test starts is stopped by PID when its guard drops,
//! also when the test panics.
//!
//! [`Proc`] owns a spawned child. [`PidFileGuard`] covers processes that daemonize
//! (nutcracker `-d`), which are not our children: it reads their PID from a pid file.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// A spawned child process, SIGKILLed and reaped on drop.
pub struct Proc {
    name: String,
    pid: u32,
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    /// Spawns `cmd` with stdout and stderr appended to `log`; `name` is used in messages.
    /// Panics when the program cannot be started.
    pub fn spawn(name: &str, cmd: &mut Command, log: &Path) -> Proc {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("{name}: cannot open log {}: {e}", log.display()));
        let err = out.try_clone().expect("clone log file handle");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start {cmd:?}: {e}"));
        Proc {
            name: name.to_string(),
            pid: child.id(),
            child: Some(child),
            log: log.to_path_buf(),
        }
    }

    /// The name given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The child's PID (also after it was stopped).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Where stdout and stderr go.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        tail(&self.log, n)
    }

    /// The exit status if the child has exited (it is reaped then); `None` while it runs
    /// or once [`Proc::kill`] or [`Proc::signal_and_wait`] took it.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// SIGKILLs the child and reaps it; harmless when already stopped.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (e.g. `"TERM"`) and waits up to `timeout` for the exit; on timeout
    /// SIGKILLs the child and returns `None` (also when it was already stopped).
    pub fn signal_and_wait(&mut self, signal: &str, timeout: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        send_signal(child.id(), signal);
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Stops the process whose PID is in a pid file (a daemon, not our child) on drop.
///
/// It only signals a PID whose `/proc/PID/comm` is the expected program name, so a stale
/// pid file never kills an unrelated process that reused the PID.
pub struct PidFileGuard {
    path: PathBuf,
    comm: String,
}

impl PidFileGuard {
    /// Guards the process named `comm` (as in `/proc/PID/comm`) whose PID is in `path`.
    pub fn new(path: &Path, comm: &str) -> PidFileGuard {
        PidFileGuard {
            path: path.to_path_buf(),
            comm: comm.to_string(),
        }
    }

    /// The pid file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The PID in the pid file if that process is alive and is the expected program.
    pub fn pid(&self) -> Option<u32> {
        let pid = fs::read_to_string(&self.path).ok()?.trim().parse().ok()?;
        (pid_alive(pid) && comm_of(pid).as_deref() == Some(self.comm.as_str())).then_some(pid)
    }

    /// SIGKILLs the process and waits (up to 5 s) until it is gone; returns its PID.
    pub fn kill(&self) -> Option<u32> {
        let pid = self.pid()?;
        send_signal(pid, "KILL");
        let deadline = Instant::now() + Duration::from_secs(5);
        while pid_alive(pid) && Instant::now() < deadline {
            sleep(Duration::from_millis(20));
        }
        Some(pid)
    }
}

impl Drop for PidFileGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// True while process `pid` has a thread that is not a zombie. Its main thread alone
/// is not enough: nutcracker's main thread can be a zombie while its stats thread (and
/// its listening socket) live on.
pub fn pid_alive(pid: u32) -> bool {
    let Ok(threads) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    threads.filter_map(Result::ok).any(|thread| {
        fs::read_to_string(thread.path().join("stat")).is_ok_and(|stat| {
            // The state follows the parenthesised command name: "TID (comm) S ...".
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
        })
    })
}

/// The live (not zombie) processes whose parent is `pid`, in PID order.
pub fn children(pid: u32) -> Vec<u32> {
    let mut found: Vec<u32> = fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
                .filter(|&child| parent_of(child) == Some(pid) && pid_alive(child))
                .collect()
        })
        .unwrap_or_default();
    found.sort_unstable();
    found
}

/// The parent of process `pid`, from `/proc/PID/stat` ("PID (comm) S PPID ...").
fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The program name of a running process (`/proc/PID/comm`).
pub fn comm_of(pid: u32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Runs `kill -SIGNAL PID`; failures (already gone) are ignored.
pub fn send_signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The last `n` lines of a text file (empty when unreadable).
pub fn tail(path: &Path, n: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
