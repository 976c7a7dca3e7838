//! The real `tpc` binary as a process under test: started in a temporary folder with
//! its config and log there, polled, stopped by SIGTERM, killed on drop (its log is
//! printed when the test failed).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Polls `f` every 25 ms until it holds; fails the test after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(25));
    }
}

/// A process's memory, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// Resident now (`VmRSS`), in KiB.
    pub rss_kib: u64,
    /// The most ever resident (`VmHWM`), in KiB.
    pub peak_kib: u64,
}

impl Memory {
    /// The memory of process `pid`.
    pub fn of(pid: u32) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
        };
        Memory {
            rss_kib: field("VmRSS:"),
            peak_kib: field("VmHWM:"),
        }
    }
}

/// The tpc process under test, killed on drop.
pub struct Tpc {
    child: Child,
    /// The folder tpc runs in: its config (unless `-out` says otherwise) and log.
    pub dir: tempfile::TempDir,
    /// The config file tpc writes.
    pub out: PathBuf,
}

impl Tpc {
    /// Starts tpc in `dir` linked to the sentinels on `ports`. Unless `extra` says
    /// otherwise: the config goes to `dir/nutcracker.yml`, the command is `true`, the
    /// wait is 0, the log goes to `dir/tpc.log` and no metrics are served.
    pub fn start(dir: tempfile::TempDir, ports: &[u16], extra: &[&str]) -> Tpc {
        Tpc::start_env(dir, ports, extra, &[])
    }

    /// [`Tpc::start`] with these environment variables set.
    pub fn start_env(
        dir: tempfile::TempDir,
        ports: &[u16],
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Tpc {
        let sentinels: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let given = |flag: &str| extra.contains(&flag);
        let out = match extra.iter().position(|a| *a == "-out") {
            Some(i) => PathBuf::from(extra[i + 1]),
            None => dir.path().join("nutcracker.yml"),
        };
        let mut args: Vec<String> = vec![
            "-sentinels".into(),
            sentinels.join(","),
            "-out".into(),
            out.display().to_string(),
            "-log".into(),
            dir.path().join("tpc.log").display().to_string(),
        ];
        if !given("-cmd") {
            args.extend(["-cmd".into(), "true".into()]);
        }
        if !given("-wait") {
            args.extend(["-wait".into(), "0".into()]);
        }
        if !extra.iter().any(|a| a.starts_with("-listen_address")) {
            args.push("-listen_address=".into());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tpc"));
        cmd.args(&args)
            .env_remove("TPC_SENTINEL_PASSWORD")
            .env_remove("TPC_REDIS_AUTH")
            .env_remove("TPC_SLACK_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        Tpc { child, dir, out }
    }

    /// Starts `tpc ARGS...` exactly as given (no flag added), in `dir`, its stdout a
    /// pipe (see [`Tpc::take_stdout`]) and its stderr in `dir/stderr`.
    pub fn start_exactly(dir: tempfile::TempDir, args: &[&str]) -> Tpc {
        let stderr = std::fs::File::create(dir.path().join("stderr")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_tpc"))
            .args(args)
            .env_remove("TPC_SENTINEL_PASSWORD")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let out = dir.path().join("nutcracker.yml");
        Tpc { child, dir, out }
    }

    /// tpc's stdout, when started by [`Tpc::start_exactly`] (once).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// Waits up to `timeout` for tpc to exit by itself; `None` while it still runs.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if start.elapsed() > timeout {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// tpc's memory now.
    pub fn memory(&self) -> Memory {
        Memory::of(self.pid())
    }

    /// A file in tpc's folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A file in tpc's folder, empty when it is missing.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    /// The config as tpc last wrote it, empty before the first write.
    pub fn config(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// tpc's log so far.
    pub fn log(&self) -> String {
        self.read("tpc.log")
    }

    /// How many times `needle` appears in the log.
    pub fn log_count(&self, needle: &str) -> usize {
        self.log().matches(needle).count()
    }

    /// Waits until the config holds `line`.
    pub fn wait_config(&self, line: &str, timeout: Duration) {
        wait_until(&format!("config with {line:?}"), timeout, || {
            self.config().contains(line)
        });
    }

    /// Waits until the log holds `needle` at least `count` times.
    pub fn wait_log(&self, needle: &str, count: usize, timeout: Duration) {
        wait_until(
            &format!("{count} log lines with {needle:?}"),
            timeout,
            || self.log_count(needle) >= count,
        );
    }

    /// Whether tpc has not exited.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Sends SIGTERM and waits (up to 10 s) for tpc to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "tpc ignored SIGTERM"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and expects a clean exit.
    pub fn stop(&mut self) {
        let status = self.terminate();
        assert!(status.success(), "tpc exited with {status:?}");
    }
}

impl Drop for Tpc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!(
                "--- tpc log ({}) ---\n{}",
                self.dir.path().display(),
                self.log()
            );
        }
    }
}
