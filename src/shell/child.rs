//! Running an outside command (the reload command, `nutcracker -t`) so that it can
//! neither hang tpc nor outlive its welcome: started as [`spawn`] starts every program
//! (no stdin, a process group of its own); stdout and stderr read as they come and kept
//! bounded ([`Captured`]); a timeout, or tpc stopping, ends the command together with
//! every process it started (SIGTERM to the group, SIGKILL after [`GRACE`]).
//!
//! The outcome is the command's exit status. Once it has exited, only the output
//! already written is read: a background process it left behind holding stdout open
//! never delays the outcome. That process keeps running; tpc stops reading its output.

use std::ffi::OsStr;
use std::fmt;
use std::fs::File;
use std::future::Future;
use std::io::{self, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;

use super::capture::Captured;
use super::spawn::{self, Started, Tie};

/// How long a command's processes get between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(1);

/// At most this much output already written is read once the command has exited.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// What a command printed, each stream kept bounded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Its standard output.
    pub stdout: Captured,
    /// Its standard error.
    pub stderr: Captured,
}

/// A command that ran to its end.
#[derive(Debug)]
pub struct Exited {
    /// How it ended.
    pub status: ExitStatus,
    /// What it printed.
    pub output: Output,
}

/// Why a command has no exit status to report.
#[derive(Debug)]
pub enum RunError {
    /// It could not be started.
    Start {
        /// The program.
        program: String,
        /// Why.
        error: io::Error,
    },
    /// Its end could not be learnt; its process group was killed.
    Wait {
        /// The program.
        program: String,
        /// Why.
        error: io::Error,
    },
    /// It ran longer than it may, and was killed with its process group.
    TimedOut {
        /// The time it had.
        after: Duration,
        /// What it printed until then.
        output: Box<Output>,
    },
    /// tpc is stopping: it was killed with its process group.
    Stopped {
        /// What it printed until then.
        output: Box<Output>,
    },
}

impl RunError {
    /// What the command printed, when it ran.
    pub fn output(&self) -> Option<&Output> {
        match self {
            RunError::TimedOut { output, .. } | RunError::Stopped { output } => Some(output),
            RunError::Start { .. } | RunError::Wait { .. } => None,
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Start { program, error } => write!(f, "cannot start {program:?}: {error}"),
            RunError::Wait { program, error } => {
                write!(f, "cannot learn how {program:?} ended: {error}; killed it")
            }
            RunError::TimedOut { after, .. } => write!(
                f,
                "killed after {}s, with every process it started",
                after.as_secs()
            ),
            RunError::Stopped { .. } => {
                write!(f, "killed with every process it started: tpc is stopping")
            }
        }
    }
}

impl std::error::Error for RunError {}

/// How a command that ran to its end ended, in words: `exit code 3`,
/// `killed by signal 9`.
pub fn describe(status: &ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
    }
}

/// Runs `program args...` for at most `timeout`, or until `stop` completes; either
/// ends it with every process it started. `tie` says whether it may outlive tpc.
pub async fn run<A: AsRef<OsStr>>(
    program: &OsStr,
    args: &[A],
    timeout: Duration,
    stop: impl Future<Output = ()>,
    tie: Tie,
) -> Result<Exited, RunError> {
    let name = || program.to_string_lossy().into_owned();
    let start_error = |error| RunError::Start {
        program: name(),
        error,
    };
    let Started {
        mut child,
        mut group,
        stdout,
        stderr,
    } = spawn::start(program, args, tie).map_err(start_error)?;
    let (mut stdout, mut stderr) = (Stream::new(stdout), Stream::new(stderr));
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline, stop);
    let end = loop {
        tokio::select! {
            biased;
            status = child.wait() => break End::Exited(status),
            () = &mut stop => break End::Stopped,
            () = &mut deadline => break End::TimedOut,
            () = stdout.read_some(), if stdout.is_open() => {}
            () = stderr.read_some(), if stderr.is_open() => {}
        }
    };
    if matches!(end, End::Exited(Ok(_))) {
        // The command is done; what it left running in the background is its own.
        group.release();
    } else {
        group.end(&mut child, GRACE).await;
    }
    let output = Output {
        stdout: stdout.drain(),
        stderr: stderr.drain(),
    };
    match end {
        End::Exited(Ok(status)) => Ok(Exited { status, output }),
        End::Exited(Err(error)) => Err(RunError::Wait {
            program: name(),
            error,
        }),
        End::TimedOut => Err(RunError::TimedOut {
            after: timeout,
            output: Box::new(output),
        }),
        End::Stopped => Err(RunError::Stopped {
            output: Box::new(output),
        }),
    }
}

/// [`run`] for code that is not async (tied to tpc's life): on a thread and a runtime of its own, so it
/// works the same inside a blocking task of tpc's runtime and outside any runtime.
pub fn run_blocking<A: AsRef<OsStr> + Sync>(
    program: &OsStr,
    args: &[A],
    timeout: Duration,
) -> Result<Exited, RunError> {
    let broken = |error| RunError::Start {
        program: program.to_string_lossy().into_owned(),
        error,
    };
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("tpc-child".into())
            .spawn_scoped(scope, || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(broken)?;
                // This thread waits for the program: tied to it, the program dies with
                // tpc, even a SIGKILLed tpc.
                runtime.block_on(run(
                    program,
                    args,
                    timeout,
                    std::future::pending(),
                    Tie::DiesWithTpc,
                ))
            })
            .map_err(broken)?;
        worker.join().unwrap_or_else(|_| {
            Err(RunError::Wait {
                program: program.to_string_lossy().into_owned(),
                error: io::Error::other("the thread running it panicked"),
            })
        })
    })
}

/// How the wait for a command ended.
enum End {
    Exited(io::Result<ExitStatus>),
    TimedOut,
    Stopped,
}

/// One output pipe of the command, read as it comes.
struct Stream {
    pipe: Option<pipe::Receiver>,
    kept: Captured,
    buf: Vec<u8>,
}

impl Stream {
    fn new(pipe: pipe::Receiver) -> Stream {
        Stream {
            pipe: Some(pipe),
            kept: Captured::default(),
            buf: vec![0; 64 * 1024],
        }
    }

    fn is_open(&self) -> bool {
        self.pipe.is_some()
    }

    /// Reads what is there; at the end of the stream (or on an error) stops reading.
    async fn read_some(&mut self) {
        let Some(pipe) = &mut self.pipe else {
            return std::future::pending().await;
        };
        match pipe.read(&mut self.buf).await {
            Ok(0) | Err(_) => self.pipe = None,
            Ok(n) => self.kept.push(&self.buf[..n]),
        }
    }

    /// Takes what was already written without waiting for more (a process left behind
    /// may hold the pipe open forever), and closes the pipe.
    fn drain(mut self) -> Captured {
        let Some(file) = self
            .pipe
            .take()
            .and_then(|p| p.into_nonblocking_fd().ok())
            .map(File::from)
        else {
            return self.kept;
        };
        let mut file = file;
        let mut read = 0;
        while read < DRAIN_LIMIT {
            match file.read(&mut self.buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    read += n;
                    self.kept.push(&self.buf[..n]);
                }
            }
        }
        self.kept
    }
}
