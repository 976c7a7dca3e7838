//! The outside commands tpc runs, against real processes: the reload command
//! ([`tpc::shell::reload::run`]) and the `nutcracker -t` check of
//! [`tpc::shell::config_file::nutcracker_check_text`]. Success is the exit status (a background
//! process holding the output open never delays it), a timeout kills the whole process
//! group, and output is kept bounded.

#[path = "support/procs.rs"]
#[allow(dead_code)]
mod procs;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use procs::{comm_of, pid_alive, send_signal};
use tpc::shell::config_file::{nutcracker_check_text, write_atomically};
use tpc::shell::reload;

fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

/// The PIDs the commands under test wrote to a file, one a line; the `sleep`s among them
/// are SIGKILLed by PID on drop, so no test leaves one behind.
struct Pids(PathBuf);

impl Pids {
    fn in_dir(dir: &Path) -> Pids {
        Pids(dir.join("pids"))
    }

    fn list(&self) -> Vec<u32> {
        std::fs::read_to_string(&self.0)
            .unwrap_or_default()
            .lines()
            .map(|l| l.trim().parse().expect("a PID per line"))
            .collect()
    }

    /// Waits (up to 5 s) until every listed process is gone; false if one is left.
    fn all_gone(&self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.list().into_iter().any(pid_alive) {
            if Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
        true
    }
}

impl Drop for Pids {
    fn drop(&mut self) {
        for pid in self.list() {
            if pid_alive(pid) && comm_of(pid).as_deref() == Some("sleep") {
                send_signal(pid, "KILL");
            }
        }
    }
}

/// Peak resident memory of this process, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_command_that_exits_0_leaving_a_child_on_its_output_succeeds_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let pids = Pids::in_dir(dir.path());
    let script = format!("sleep 100 & echo $! > {}; echo hi", pids.0.display());
    let start = Instant::now();
    let result = reload::run(&sh(&script), Duration::from_secs(5)).await;
    let took = start.elapsed();
    assert_eq!(result, Ok(()));
    assert!(took < Duration::from_secs(2), "took {took:?}");
    // What the command started in the background is its business: it keeps running.
    let [background] = pids.list()[..] else {
        panic!("one background PID")
    };
    assert!(pid_alive(background));
}

#[tokio::test]
async fn a_hanging_command_is_killed_with_every_process_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let pids = Pids::in_dir(dir.path());
    let file = pids.0.display();
    // Every process in the group ignores SIGTERM: only SIGKILL ends them.
    let script = format!(
        "trap '' TERM; sleep 100 & echo $! >> {file}; sleep 100 & echo $! >> {file}; echo $$ >> {file}; wait"
    );
    let start = Instant::now();
    let result = reload::run(&sh(&script), Duration::from_secs(1)).await;
    let took = start.elapsed();
    let error = result.expect_err("a command killed for its timeout failed");
    assert!(error.contains("killed after 1s"), "{error}");
    assert!(took < Duration::from_secs(6), "took {took:?}");
    assert_eq!(pids.list().len(), 3, "the command started");
    assert!(pids.all_gone(), "left alive: {:?}", pids.list());
}

#[tokio::test]
async fn a_command_printing_100_mb_keeps_memory_bounded_and_its_last_words() {
    let before = peak_rss_kib();
    let script = "yes 'some output line' | head -c 100000000; echo; echo last words >&2; exit 3";
    let result = reload::run(&sh(script), Duration::from_secs(120)).await;
    let grown = peak_rss_kib().saturating_sub(before);
    let error = result.expect_err("exit code 3 is a failure");
    assert!(error.contains("exit code 3"), "{error}");
    assert!(error.contains("last words"), "{error}");
    assert!(error.len() < 2000, "the error holds the last lines only");
    assert!(grown < 32 * 1024, "peak memory grew by {grown} KiB");
}

#[tokio::test]
async fn a_failing_command_says_its_exit_code_and_last_lines() {
    let script = "echo one; echo two >&2; echo three; exit 3";
    let error = reload::run(&sh(script), Duration::from_secs(5))
        .await
        .expect_err("exit code 3 is a failure");
    assert!(error.contains("exit code 3"), "{error}");
    assert!(error.contains("two") && error.contains("three"), "{error}");

    let error = reload::run(&sh("kill -KILL $$"), Duration::from_secs(5))
        .await
        .expect_err("killed by a signal");
    assert!(error.contains("signal 9"), "{error}");

    let error = reload::run(&["/no/such/program".to_string()], Duration::from_secs(5))
        .await
        .expect_err("nothing to run");
    assert!(error.contains("cannot start"), "{error}");
    assert_eq!(reload::run(&[], Duration::from_secs(5)).await, Ok(()));
}

/// Writes an executable script from a separate process, so no file descriptor open
/// for writing leaks into a process another test thread forks (ETXTBSY on exec).
fn write_script(path: &Path, body: &str) {
    let status = Command::new("sh")
        .args(["-c", "printf '%s\\n' \"$1\" > \"$2\" && chmod 755 \"$2\""])
        .args(["sh", body])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Temp files left in `dir`.
fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

#[test]
fn a_hanging_nutcracker_check_is_killed_with_its_children_and_the_temp_file_removed() {
    let dir = tempfile::tempdir().unwrap();
    let pids = Pids::in_dir(dir.path());
    let fake = dir.path().join("nutcracker");
    let file = pids.0.display();
    write_script(
        &fake,
        &format!("#!/bin/sh\nsleep 100 & echo $! >> {file}\necho $$ >> {file}\nexec sleep 100"),
    );
    let path = dir.path().join("nutcracker.yml");
    write_atomically(&path, "old").unwrap();

    let (tx, rx) = mpsc::channel();
    let (p, f) = (path.clone(), fake.clone());
    thread::spawn(move || {
        let _ = tx.send(nutcracker_check_text(&f, &p, "new"));
    });
    let result = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the nutcracker check has a timeout");
    let error = result.expect_err("a check that never answers fails");
    assert!(error.contains("nutcracker -t"), "{error}");
    assert!(error.contains("killed after"), "{error}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
    assert_eq!(pids.list().len(), 2, "the fake nutcracker started");
    assert!(pids.all_gone(), "left alive: {:?}", pids.list());
    assert!(
        temp_files(dir.path()).is_empty(),
        "{:?}",
        temp_files(dir.path())
    );

    // A nutcracker that cannot be started leaves no temp file either.
    let error = nutcracker_check_text(Path::new("/no/such/nutcracker"), &path, "new")
        .expect_err("nothing checks the file");
    assert!(error.contains("/no/such/nutcracker"), "{error}");
    assert!(
        temp_files(dir.path()).is_empty(),
        "{:?}",
        temp_files(dir.path())
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
}
