//! Reaction time: how long from a `+switch-master` to the end of the reload command,
//! against the floor, at 2 to 50,000 masters. Starts the real tpc binary (release build)
//! against the tests' fake sentinel (a small RESP server in this process) and prints one
//! table: per size and with or without `nutcracker -t` (`-validate`), the median, 99th
//! percentile and largest switch → reload over a number of switches, start → first
//! config written, resident memory after the switches, and CPU time per switch. The
//! floor is a bare subscriber in this process that runs the same reload command on the
//! same message. The reload command writes one byte to a FIFO this process reads, so
//! both are timed to the same point. Then the same at 2 masters with real sentinels
//! (see `real`). Run with `cargo bench --bench reaction`; `TPC_REACTION_SIZES=2,1000`
//! and `TPC_REACTION_SWITCHES=N` choose other sizes and counts, `TPC_REACTION_REAL=0`
//! leaves out the real sentinels. Figures, not pass/fail.

#[path = "../tests/fake_sentinel/mod.rs"]
mod fake_sentinel;
#[path = "reaction/real.rs"]
mod real;
#[path = "../tests/support/mod.rs"]
mod support;
#[path = "../tests/tpc_daemon/mod.rs"]
mod tpc_daemon;

use std::ffi::CString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use fake_sentinel::{FakeMaster, FakeSentinel};
use tpc_daemon::Tpc;

const DEFAULT_SIZES: &[usize] = &[2, 1_000, 10_000, 50_000];
const DEFAULT_SWITCHES: usize = 15;
/// Pause between switches, past tpc's query gap, so one switch's confirming query does
/// not overlap the next switch.
const SETTLE: Duration = Duration::from_millis(1_300);
const NUTCRACKER: &str = "/usr/sbin/nutcracker";

/// The reload command both tpc and the floor run, and the times it ran at.
struct Reload {
    script: PathBuf,
    ran: Receiver<Instant>,
    _dir: tempfile::TempDir,
}

impl Reload {
    /// A script that writes one byte to a FIFO, and a thread that notes when each byte
    /// arrives.
    fn new() -> Reload {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("reloaded");
        let c = CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        let script = dir.path().join("reload.sh");
        std::fs::write(
            &script,
            format!("#!/bin/sh\nprintf x > {}\n", fifo.display()),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Read and write: the FIFO never reports end of file between writers.
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo)
            .unwrap();
        let (tx, ran) = mpsc::channel();
        thread::spawn(move || {
            let mut byte = [0u8; 1];
            while file.read_exact(&mut byte).is_ok() {
                if tx.send(Instant::now()).is_err() {
                    return;
                }
            }
        });
        Reload {
            script,
            ran,
            _dir: dir,
        }
    }

    /// Forgets runs noted so far.
    fn drain(&self) {
        while self.ran.try_recv().is_ok() {}
    }

    /// When the command next ran.
    fn next(&self) -> Instant {
        self.ran
            .recv_timeout(Duration::from_secs(60))
            .expect("the reload command ran within 60 s")
    }
}

/// `n` masters, `m00000`..., at 127.0.0.1 on ports from 10000.
fn masters(n: usize) -> Vec<FakeMaster> {
    (0..n)
        .map(|i| FakeMaster {
            name: format!("m{i:05}"),
            ip: "127.0.0.1".into(),
            port: 10_000 + i as u16,
            epoch: 1,
        })
        .collect()
}

/// Fails over master `i`: between 127.0.0.1 and 127.0.0.2, one epoch on, in the answers
/// first; returns the `+switch-master` payload to publish.
fn fail_over(list: &mut [FakeMaster], sentinel: &FakeSentinel, i: usize) -> String {
    let m = &mut list[i];
    let old = m.ip.clone();
    m.ip = if old == "127.0.0.1" {
        "127.0.0.2"
    } else {
        "127.0.0.1"
    }
    .into();
    m.epoch += 1;
    let payload = format!("{} {old} {} {} {}", m.name, m.port, m.ip, m.port);
    sentinel.set_masters(list.to_vec());
    payload
}

/// Which master the `k`th switch moves: spread over the list.
fn pick(k: usize, n: usize) -> usize {
    (k * 7_919) % n
}

/// Reads one RESP reply of the shapes a subscriber gets (arrays of bulk strings and
/// integers); its strings.
fn read_reply(r: &mut BufReader<TcpStream>) -> Option<Vec<String>> {
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let n: usize = line.trim().strip_prefix('*')?.parse().ok()?;
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        line.clear();
        r.read_line(&mut line).ok()?;
        let line = line.trim();
        if let Some(len) = line.strip_prefix('$') {
            let mut buf = vec![0; len.parse::<usize>().ok()? + 2];
            r.read_exact(&mut buf).ok()?;
            buf.truncate(buf.len() - 2);
            items.push(String::from_utf8(buf).ok()?);
        } else {
            items.push(line.to_string());
        }
    }
    Some(items)
}

/// How long after the first the last sentinel may announce the same switch.
const ANNOUNCED_WITHIN: Duration = Duration::from_secs(5);

/// The floor: a bare subscriber to the sentinels on `ports` that runs `script` on the
/// first `+switch-master` of each switch (the same payload again, from another sentinel,
/// is the same switch). Gives when it saw each switch.
fn floor_subscriber(ports: &[u16], script: PathBuf) -> Receiver<Instant> {
    let (heard_tx, heard) = mpsc::channel::<(Instant, String)>();
    for &port in ports {
        let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
        conn.set_nodelay(true).unwrap();
        conn.write_all(b"*2\r\n$10\r\nPSUBSCRIBE\r\n$1\r\n*\r\n")
            .unwrap();
        let mut reader = BufReader::new(conn);
        let heard_tx = heard_tx.clone();
        thread::spawn(move || {
            while let Some(reply) = read_reply(&mut reader) {
                if reply.len() == 4 && reply[0] == "pmessage" && reply[2] == "+switch-master" {
                    let at = Instant::now();
                    if heard_tx.send((at, reply[3].clone())).is_err() {
                        return;
                    }
                }
            }
        });
    }
    let (seen_tx, seen) = mpsc::channel();
    thread::spawn(move || {
        // Each sentinel announces a switch, the last up to a few seconds after the
        // first: only the first announcement of a switch counts, not a late one that
        // would seem to start the next.
        let mut recent = std::collections::HashMap::<String, Instant>::new();
        while let Ok((at, payload)) = heard.recv() {
            recent.retain(|_, first| at.duration_since(*first) < ANNOUNCED_WITHIN);
            if let std::collections::hash_map::Entry::Vacant(e) = recent.entry(payload) {
                e.insert(at);
                Command::new(&script).status().unwrap();
                // Nobody may be listening (the fake sentinel's rows time from the publish).
                let _ = seen_tx.send(at);
            }
        }
    });
    seen
}

/// Switch → reload times: median, 99th percentile (nearest rank: the largest under 100
/// switches), largest, and how many.
#[derive(Clone, Copy)]
struct Times {
    p50: Duration,
    p99: Duration,
    max: Duration,
    n: usize,
}

fn summary(mut times: Vec<Duration>) -> Times {
    times.sort();
    let n = times.len();
    let rank = |p: usize| times[(n * p).div_ceil(100).clamp(1, n) - 1];
    Times {
        p50: rank(50),
        p99: rank(99),
        max: times[n - 1],
        n,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// CPU time used by every thread of process `pid` so far (`/proc/<pid>/task/*/schedstat`).
fn cpu(pid: u32) -> Duration {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    let nanos: u64 = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

/// Switches `count` masters one after the other, timing each from the publish to the
/// reload command's run.
fn switch_times(
    sentinel: &FakeSentinel,
    list: &mut [FakeMaster],
    reload: &Reload,
    count: usize,
) -> Vec<Duration> {
    (0..count)
        .map(|k| {
            let payload = fail_over(list, sentinel, pick(k, list.len()));
            reload.drain();
            let published = Instant::now();
            sentinel.publish("+switch-master", &payload);
            let took = reload.next().duration_since(published);
            thread::sleep(SETTLE);
            took
        })
        .collect()
}

/// One row of the table.
struct Row {
    masters: String,
    what: String,
    switch: Times,
    start: Option<Duration>,
    rss_kib: Option<u64>,
    cpu_per_switch: Option<Duration>,
    queries: String,
}

fn floor(n: usize, reload: &Reload, switches: usize) -> Row {
    let mut list = masters(n);
    let sentinel = FakeSentinel::start(list.clone());
    let _seen = floor_subscriber(&[sentinel.port], reload.script.clone());
    sentinel.wait_subscribers(1, Duration::from_secs(10));
    let times = switch_times(&sentinel, &mut list, reload, switches);
    Row {
        masters: n.to_string(),
        what: "floor (bare subscriber)".into(),
        switch: summary(times),
        start: None,
        rss_kib: None,
        cpu_per_switch: None,
        queries: String::new(),
    }
}

/// Starts tpc linked to the sentinels on `ports`, with `reload` as its command; returns
/// it once its first config is written and loaded, with how long that took.
fn start_tpc(ports: &[u16], validate: bool, reload: &Reload) -> (Tpc, Duration) {
    let script = reload.script.display().to_string();
    let validate_flag = format!("-validate={validate}");
    let args = [
        "-cmd",
        &script,
        "-reconcile_interval",
        "0",
        "-nutcracker",
        NUTCRACKER,
        &validate_flag,
    ];
    reload.drain();
    let started = Instant::now();
    let tpc = Tpc::start(tempfile::tempdir().unwrap(), ports, &args);
    while std::fs::metadata(&tpc.out).map_or(true, |m| m.len() == 0) {
        assert!(started.elapsed() < Duration::from_secs(120), "no config");
        thread::sleep(Duration::from_millis(1));
    }
    let start = started.elapsed();
    reload.next();
    (tpc, start)
}

/// Stops tpc, which must exit cleanly.
fn stop_tpc(mut tpc: Tpc) {
    assert!(tpc.terminate().success(), "tpc failed:\n{}", tpc.log());
}

fn tpc(n: usize, validate: bool, reload: &Reload, switches: usize) -> Row {
    let mut list = masters(n);
    let sentinel = FakeSentinel::start(list.clone());
    let (tpc, start) = start_tpc(&[sentinel.port], validate, reload);
    sentinel.wait_subscribers(1, Duration::from_secs(10));
    thread::sleep(SETTLE);
    let (all_before, one_before) = (sentinel.masters_queries(), sentinel.master_queries());
    let cpu_before = cpu(tpc.pid());
    let times = switch_times(&sentinel, &mut list, reload, switches);
    let cpu_per_switch = (cpu(tpc.pid()) - cpu_before) / switches as u32;
    let rss = tpc.memory().rss_kib;
    let all = sentinel.masters_queries() - all_before;
    let one = sentinel.master_queries() - one_before;
    stop_tpc(tpc);
    Row {
        masters: n.to_string(),
        what: format!("tpc, -validate={validate}"),
        switch: summary(times),
        start: Some(start),
        rss_kib: Some(rss),
        cpu_per_switch: Some(cpu_per_switch),
        queries: format!("{all} MASTERS, {one} MASTER"),
    }
}

/// A comma-separated list of numbers in `name`; empty when it is set to nothing.
fn env_list(name: &str) -> Option<Vec<usize>> {
    let v = std::env::var(name).ok()?;
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().ok())
        .collect()
}

fn main() {
    assert!(Path::new(NUTCRACKER).exists(), "{NUTCRACKER} is needed");
    let sizes = env_list("TPC_REACTION_SIZES").unwrap_or_else(|| DEFAULT_SIZES.to_vec());
    let switches = env_list("TPC_REACTION_SWITCHES")
        .and_then(|v| v.first().copied())
        .unwrap_or(DEFAULT_SWITCHES)
        .max(1);
    let reload = Reload::new();
    println!(
        "| masters | who | n | switch → reload p50 | p99 | max | start → first config | RSS after | CPU per switch | queries during the switches |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for &n in &sizes {
        for row in [
            floor(n, &reload, switches),
            tpc(n, true, &reload, switches),
            tpc(n, false, &reload, switches),
        ] {
            print_row(&row);
        }
    }
    if std::env::var("TPC_REACTION_REAL").as_deref() != Ok("0") {
        let switches = env_list("TPC_REACTION_SWITCHES")
            .and_then(|v| v.first().copied())
            .unwrap_or(real::DEFAULT_SWITCHES)
            .max(1);
        for row in real::rows(&reload, switches) {
            print_row(&row);
        }
    }
    println!("(n switches per row; times from the publish, or with real sentinels from the first +switch-master a subscriber sees, to the reload command's run)");
}

fn print_row(row: &Row) {
    let dash = || "–".to_string();
    println!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        row.masters,
        row.what,
        row.switch.n,
        ms(row.switch.p50),
        ms(row.switch.p99),
        ms(row.switch.max),
        row.start.map_or_else(dash, ms),
        row.rss_kib
            .map_or_else(dash, |k| format!("{:.1} MB", k as f64 / 1024.0)),
        row.cpu_per_switch.map_or_else(dash, ms),
        if row.queries.is_empty() {
            dash()
        } else {
            row.queries.clone()
        },
    );
}
