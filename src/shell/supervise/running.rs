//! One run of the supervised child: started as tpc starts every program ([`spawn`]),
//! tied to tpc's life, its output followed ([`output`]); stopped with its process group.

use std::io;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::process::Child;
use tokio::task::JoinHandle;

use super::output;
use crate::shell::capture::Captured;
use crate::shell::child::Output;
use crate::shell::spawn::{self, Group, Started, Tie};

/// How long the output of a child that ended is still read (a process it left behind
/// may hold the pipes open).
const READ_WAIT: Duration = Duration::from_millis(500);

/// The child, running.
#[derive(Debug)]
pub struct Running {
    child: Child,
    group: Group,
    pid: u32,
    started: Instant,
    readers: Vec<(JoinHandle<()>, Arc<Mutex<Captured>>)>,
}

impl Running {
    /// Starts `argv` (program first, never empty: the command line is checked).
    pub fn start(argv: &[String]) -> Result<Running, String> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| "no command to supervise".to_string())?;
        let Started {
            child,
            group,
            stdout,
            stderr,
        } = spawn::start(program.as_ref(), args, Tie::DiesWithTpc)
            .map_err(|e| format!("cannot start {program:?}: {e}"))?;
        let readers = [stdout, stderr]
            .into_iter()
            .map(|pipe| {
                let kept = Arc::new(Mutex::new(Captured::default()));
                (tokio::spawn(output::follow(pipe, kept.clone())), kept)
            })
            .collect();
        Ok(Running {
            pid: child.id().unwrap_or_default(),
            child,
            group,
            started: Instant::now(),
            readers,
        })
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// How long it has been running.
    pub fn up_for(&self) -> Duration {
        self.started.elapsed()
    }

    /// Completes when it exits. Cancel-safe.
    pub async fn exited(&mut self) -> io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// After it exited: what it printed. The processes it left in its group are its own.
    pub async fn output(mut self) -> Output {
        self.group.release();
        self.collect().await
    }

    /// Ends it with its process group (SIGTERM, SIGKILL after `grace`) and returns how
    /// it ended, if that could be learnt.
    pub async fn stop(mut self, grace: Duration) -> Option<ExitStatus> {
        self.group.end(&mut self.child, grace).await;
        let status = self.child.try_wait().ok().flatten();
        self.collect().await;
        status
    }

    /// The output read, once the readers reached the end of the pipes (or after
    /// [`READ_WAIT`]).
    async fn collect(self) -> Output {
        let mut streams = Vec::new();
        for (reader, kept) in self.readers {
            let abort = reader.abort_handle();
            if tokio::time::timeout(READ_WAIT, reader).await.is_err() {
                abort.abort();
            }
            let kept = std::mem::take(&mut *kept.lock().unwrap_or_else(|e| e.into_inner()));
            streams.push(kept);
        }
        let mut streams = streams.into_iter();
        Output {
            stdout: streams.next().unwrap_or_default(),
            stderr: streams.next().unwrap_or_default(),
        }
    }
}
