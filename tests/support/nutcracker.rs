//! nutcracker (twemproxy 0.5.0) for tests: stock 0.5.0 cannot reload its config, so
//! "reload" is a restart. [`Nutcracker::new`] writes a `restart.sh` that tests hand to
//! tpc as its reload command (`-cmd "bash DIR/restart.sh"`), and the guard stops the
//! daemonized nutcracker by the PID in its pid file on drop.

use super::procs::{tail, PidFileGuard};
use super::{binary, free_port, line_count, local};
use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long drop waits for a restart in progress before stopping nutcracker anyway.
const SCRIPT_GRACE: Duration = Duration::from_secs(10);

/// A restartable nutcracker for one config file; stopped (by pid file) on drop.
pub struct Nutcracker {
    dir: PathBuf,
    conf: PathBuf,
    listen_port: u16,
    stats_port: u16,
    guard: PidFileGuard,
}

impl Nutcracker {
    /// Writes `dir/restart.sh` for the config `conf` whose pool listens on
    /// `127.0.0.1:listen_port`. Starts nothing: the first run of the script does.
    ///
    /// Each run of the script appends a line to `dir/reloads.log`, stops the nutcracker
    /// in `dir/nutcracker.pid` (TERM, then KILL) and waits for it to exit, starts
    /// `nutcracker -d` with a fixed stats port on 127.0.0.1, and waits up to 5 s until
    /// the listen port accepts; it exits non-zero if any step fails.
    pub fn new(dir: &Path, conf: &Path, listen_port: u16) -> Nutcracker {
        let n = Nutcracker {
            dir: dir.to_path_buf(),
            conf: conf.to_path_buf(),
            listen_port,
            stats_port: free_port(),
            guard: PidFileGuard::new(&dir.join("nutcracker.pid"), "nutcracker"),
        };
        fs::write(n.script(), n.script_text()).expect("write restart.sh");
        n
    }

    /// The reload command for tpc's `-cmd`: `bash DIR/restart.sh` (no spaces in DIR).
    pub fn command(&self) -> String {
        format!("bash {}", self.script().display())
    }

    /// Runs the restart script once, as tpc would, and returns its output.
    pub fn restart(&self) -> Output {
        Command::new("bash")
            .arg(self.script())
            .stdin(Stdio::null())
            .output()
            .expect("run bash restart.sh")
    }

    /// How many times the restart script has run (lines in `reloads.log`).
    pub fn reloads(&self) -> usize {
        line_count(&self.reloads_log())
    }

    /// Waits until no restart is in progress and nutcracker accepts clients; panics after
    /// `timeout` with the script's diagnostics.
    pub fn wait_serving(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let idle = !self.lock_dir().exists();
            if idle && self.pid().is_some() && TcpStream::connect(self.addr()).is_ok() {
                return;
            }
            sleep(Duration::from_millis(50));
        }
        panic!(
            "nutcracker not serving on {} after {timeout:?} ({} restarts):\n{}\n{}",
            self.addr(),
            self.reloads(),
            tail(&self.script_log(), 20),
            tail(&self.log(), 20)
        );
    }

    /// The PID of the running nutcracker, if any.
    pub fn pid(&self) -> Option<u32> {
        self.guard.pid()
    }

    /// The pool's client address, `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        local(self.listen_port)
    }

    /// The pool's listen port.
    pub fn listen_port(&self) -> u16 {
        self.listen_port
    }

    /// The config file nutcracker is started with.
    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// The restart script.
    pub fn script(&self) -> PathBuf {
        self.dir.join("restart.sh")
    }

    /// One line per run of the restart script.
    pub fn reloads_log(&self) -> PathBuf {
        self.dir.join("reloads.log")
    }

    /// nutcracker's own log (`-o`).
    pub fn log(&self) -> PathBuf {
        self.dir.join("nutcracker.log")
    }

    /// The restart script's diagnostics.
    pub fn script_log(&self) -> PathBuf {
        self.dir.join("restart.log")
    }

    fn lock_dir(&self) -> PathBuf {
        self.dir.join("restart.lock")
    }

    fn script_text(&self) -> String {
        let quote = |p: &Path| {
            let s = p.display().to_string();
            assert!(
                !s.contains('\'') && !s.contains(' '),
                "unsupported path {s:?}"
            );
            format!("'{s}'")
        };
        SCRIPT
            .replace("@NUTCRACKER@", &quote(&binary("nutcracker")))
            .replace("@CONF@", &quote(&self.conf))
            .replace("@PIDFILE@", &quote(self.guard.path()))
            .replace("@LOG@", &quote(&self.log()))
            .replace("@RELOADS@", &quote(&self.reloads_log()))
            .replace("@SCRIPTLOG@", &quote(&self.script_log()))
            .replace("@LOCK@", &quote(&self.lock_dir()))
            .replace("@LISTEN@", &self.listen_port.to_string())
            .replace("@STATS@", &self.stats_port.to_string())
    }
}

impl Drop for Nutcracker {
    fn drop(&mut self) {
        // A restart still running (e.g. started by a tpc that was just killed) would
        // start a nutcracker after we stopped it: let it finish first.
        let deadline = Instant::now() + SCRIPT_GRACE;
        while self.lock_dir().exists() && Instant::now() < deadline {
            sleep(Duration::from_millis(50));
        }
        if std::thread::panicking() {
            eprintln!(
                "--- restart.sh runs: {} ---\n{}",
                self.reloads(),
                tail(&self.script_log(), 20)
            );
            eprintln!(
                "--- last lines of nutcracker.log ---\n{}",
                tail(&self.log(), 20)
            );
        }
        self.guard.kill();
    }
}

/// True when `nutcracker -t -c path` accepts the config (parses and validates only).
pub fn nutcracker_accepts(path: &Path) -> bool {
    Command::new(binary("nutcracker"))
        .args(["-t", "-c"])
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run nutcracker -t")
        .success()
}

/// A minimal nutcracker config with pool `pool` on `listen` and servers
/// `(name, ip:port)`, for testing the harness without tpc.
pub fn nutcracker_yaml(pool: &str, listen: &str, servers: &[(&str, &str)]) -> String {
    let mut yaml =
        format!("{pool}:\n  listen: {listen}\n  hash: fnv1a_64\n  distribution: ketama\n");
    yaml += "  redis: true\n  auto_eject_hosts: false\n  timeout: 400\n  servers:\n";
    for (name, addr) in servers {
        yaml += &format!("  - {addr}:1 {name}\n");
    }
    yaml
}

/// The restart script; `@NAME@` placeholders are filled in by `script_text`.
const SCRIPT: &str = r#"#!/usr/bin/env bash
# Restarts nutcracker with a new config: stock nutcracker 0.5.0 cannot reload.
set -u
NUTCRACKER=@NUTCRACKER@
CONF=@CONF@
PIDFILE=@PIDFILE@
LOG=@LOG@
RELOADS=@RELOADS@
SCRIPTLOG=@SCRIPTLOG@
LOCK=@LOCK@
LISTEN_PORT=@LISTEN@
STATS_PORT=@STATS@

say() { echo "$(date +%T.%N) [$$] $*" | tee -a "$SCRIPTLOG" >&2; }
alive() { # running (not a zombie) and really nutcracker
  local state
  [ "$(cat "/proc/$1/comm" 2>/dev/null)" = nutcracker ] || return 1
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
wait_gone() { # PID, tenths of a second
  for _ in $(seq "$2"); do alive "$1" || return 0; sleep 0.1; done
  ! alive "$1"
}
stop_old() {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 0
  [ -n "$pid" ] && alive "$pid" || return 0
  say "stopping nutcracker $pid"
  kill -TERM "$pid" 2>/dev/null
  wait_gone "$pid" 30 && return 0
  kill -KILL "$pid" 2>/dev/null
  wait_gone "$pid" 20 && return 0
  say "nutcracker $pid does not exit"
  return 1
}
accepting() { (exec 3<>"/dev/tcp/127.0.0.1/$LISTEN_PORT") 2>/dev/null; }

# The run is counted once it holds the lock, so "counted and unlocked" means "finished".
locked=
for _ in $(seq 100); do mkdir "$LOCK" 2>/dev/null && { locked=1; break; }; sleep 0.1; done
echo "$(date +%s.%N) $$" >> "$RELOADS"
[ -n "$locked" ] || { say "another restart holds $LOCK"; exit 1; }
trap 'rmdir "$LOCK"' EXIT

stop_old || exit 1
rm -f "$PIDFILE"
"$NUTCRACKER" -d -c "$CONF" -p "$PIDFILE" -o "$LOG" -a 127.0.0.1 -s "$STATS_PORT" || { say "nutcracker -d failed"; exit 1; }
for _ in $(seq 50); do
  pid=$(cat "$PIDFILE" 2>/dev/null)
  if [ -n "$pid" ] && alive "$pid" && accepting; then say "nutcracker $pid accepts on $LISTEN_PORT"; exit 0; fi
  sleep 0.1
done
say "nutcracker did not accept on 127.0.0.1:$LISTEN_PORT within 5 s"
exit 1
"#;
