//! Starting an outside program the way tpc starts every one (the reload command,
//! `nutcracker -t`, the nutcracker it supervises): no stdin; stdout and stderr each a
//! pipe of its own; tpc's own environment variables ([`OWN_ENV_PREFIX`]) and systemd's
//! notification socket left out; and a
//! process group of its own ([`Group`]), so that ending it ends every process it started.

use std::ffi::OsStr;
use std::io;
use std::os::fd::OwnedFd;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::net::unix::pipe;
use tokio::process::{Child, Command};

/// The prefix of tpc's own environment variables (e.g. `TPC_SENTINEL_PASSWORD`), which
/// the programs tpc starts do not inherit.
pub const OWN_ENV_PREFIX: &str = "TPC_";

/// systemd's variables for tpc itself: a program tpc starts is not the service.
const SYSTEMD_ENV: [&str; 3] = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"];

/// How long [`Group::end`] waits for the leader once SIGKILLed.
const KILL_WAIT: Duration = Duration::from_secs(1);

/// Whether a program may outlive tpc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tie {
    /// It may (a reload command that restarts a service finishes its work).
    Loose,
    /// The kernel kills it (SIGKILL) when tpc dies, even by SIGKILL: a supervised
    /// nutcracker is never left behind. The kernel counts the death of the *thread*
    /// that started it, so start it from a thread that lives as long as tpc (the
    /// runtime's own thread, not a blocking-pool thread).
    DiesWithTpc,
}

/// A program just started, with its process group and its output pipes.
#[derive(Debug)]
pub struct Started {
    /// The process.
    pub child: Child,
    /// Its process group.
    pub group: Group,
    /// Its standard output.
    pub stdout: pipe::Receiver,
    /// Its standard error.
    pub stderr: pipe::Receiver,
}

/// Starts `program args...` (see the module doc).
pub fn start<A: AsRef<OsStr>>(program: &OsStr, args: &[A], tie: Tie) -> io::Result<Started> {
    let (out_reader, out_writer) = io::pipe()?;
    let (err_reader, err_writer) = io::pipe()?;
    // The Command, holding our copies of the pipes' write ends, is dropped right after
    // the spawn: the program's processes then hold the only ones.
    let mut command = Command::new(program);
    // tpc's own settings from the environment (secrets among them) are not passed on.
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with(OWN_ENV_PREFIX) || SYSTEMD_ENV.contains(&name.as_ref()) {
            command.env_remove(&key);
        }
    }
    if tie == Tie::DiesWithTpc {
        let tpc = std::process::id() as libc::pid_t;
        // SAFETY: the closure runs between fork and exec and calls only prctl(2) and
        // getppid(2), which are async-signal-safe; it allocates nothing.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // tpc died before the line above took effect: nobody would kill this.
                if libc::getppid() != tpc {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
    let child = command
        .args(args)
        .stdin(Stdio::null())
        .stdout(out_writer)
        .stderr(err_writer)
        .process_group(0)
        .spawn()?;
    let group = Group(child.id().and_then(|pid| i32::try_from(pid).ok()));
    let stdout = pipe::Receiver::from_owned_fd(OwnedFd::from(out_reader))?;
    let stderr = pipe::Receiver::from_owned_fd(OwnedFd::from(err_reader))?;
    Ok(Started {
        child,
        group,
        stdout,
        stderr,
    })
}

/// A program's process group (its id is the program's PID); SIGKILLed on drop unless
/// [`Group::release`]d, so that no way out of the code that started it leaves it
/// running.
#[derive(Debug)]
pub struct Group(Option<i32>);

impl Group {
    /// The group's id: the PID of the program that leads it (none once released).
    pub fn id(&self) -> Option<i32> {
        self.0
    }

    /// Sends `signal` to every process in the group.
    pub fn signal(&self, signal: libc::c_int) {
        if let Some(id) = self.0 {
            // SAFETY: kill(2) takes no pointers; a negative PID names a process group,
            // which is ours: the program was started as its leader.
            unsafe {
                libc::kill(-id, signal);
            }
        }
    }

    /// Whether a process is left in the group.
    fn has_members(&self) -> bool {
        // SAFETY: as in `signal`; signal 0 only checks that a process exists.
        self.0.is_some_and(|id| unsafe { libc::kill(-id, 0) } == 0)
    }

    /// Leaves the group alone from now on (the program ended by itself; what it left
    /// running in the background is its own).
    pub fn release(&mut self) {
        self.0 = None;
    }

    /// Ends the group: SIGTERM, up to `grace` for its processes to exit, then SIGKILL
    /// for any left; reaps the leader.
    pub async fn end(&mut self, leader: &mut Child, grace: Duration) {
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + grace;
        let _ = tokio::time::timeout(grace, leader.wait()).await;
        // The leader reaped, the group's id stays reserved while a process is in it.
        while self.has_members() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.signal(libc::SIGKILL);
        self.0 = None;
        // A process stuck in the kernel may not die at once: never wait forever.
        let _ = tokio::time::timeout(KILL_WAIT, leader.wait()).await;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal(libc::SIGKILL);
    }
}
