//! The gap in service while supervise mode restarts nutcracker to reload: tpc's
//! supervisor (the code `tpc -supervise` runs) restarts a real stock nutcracker N times,
//! and each gap is measured from the moment the old nutcracker is signalled until the
//! new one accepts a connection on the pool's listen port (polled every 100 µs once the
//! old one is reaped, so that the old one's last accepts are not counted). Prints the
//! gaps' minimum, median and maximum, and how much of each was the old one exiting.
//! Run with `cargo bench --bench supervise_gap` (`TPC_RESTARTS=N`, default 50).
//! Figures, not pass/fail.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use tpc::shell::notifier::Notifier;
use tpc::shell::supervise::{self, Supervisor};

const DEFAULT_RESTARTS: usize = 50;

/// A port nobody listens on now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// The installed nutcracker.
fn nutcracker() -> PathBuf {
    [
        "/usr/sbin/nutcracker",
        "/usr/bin/nutcracker",
        "/usr/local/sbin/nutcracker",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
    .expect("nutcracker is not installed (apt-get install nutcracker)")
}

/// After `old` (a PID) is gone, polls `addr` until it accepts: (old gone, accepting),
/// both measured from `from`. Gone means reaped: nutcracker's main thread may show as a
/// zombie while its stats thread, and its listening socket, live on.
fn wait_gap(old: u32, addr: String, from: Instant) -> (Duration, Duration) {
    let proc_dir = PathBuf::from(format!("/proc/{old}"));
    while proc_dir.exists() {
        thread::sleep(Duration::from_micros(100));
    }
    let gone = from.elapsed();
    while TcpStream::connect(&addr).is_err() {
        thread::sleep(Duration::from_micros(100));
    }
    (gone, from.elapsed())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let n: usize = std::env::var("TPC_RESTARTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_RESTARTS);
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = dir.path().join("nutcracker.yml");
    let addr = format!("127.0.0.1:{}", free_port());
    let server = format!("127.0.0.1:{}", free_port());
    std::fs::write(
        &conf,
        format!("redis:\n  listen: {addr}\n  redis: true\n  servers:\n  - {server}:1 node-1\n"),
    )
    .expect("write the config");
    let argv: Vec<String> = [
        nutcracker().display().to_string(),
        "-c".into(),
        conf.display().to_string(),
        "-s".into(),
        free_port().to_string(),
        "-a".into(),
        "127.0.0.1".into(),
        "-o".into(),
        dir.path().join("nutcracker.log").display().to_string(),
    ]
    .into();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut gaps = Vec::with_capacity(n);
    let mut exits = Vec::with_capacity(n);
    runtime.block_on(async {
        let settings = supervise::Settings {
            argv,
            config: conf.clone(),
            stop_grace: supervise::STOP_GRACE,
            notifier: Notifier::start(None, None),
        };
        let (supervisor, task) = Supervisor::start(settings, true);
        let started = Instant::now();
        while supervisor.pid().is_none() || TcpStream::connect(&addr).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nutcracker did not start"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for _ in 0..n {
            let old = supervisor.pid().expect("a running nutcracker");
            let from = Instant::now();
            let addr = addr.clone();
            let gap = thread::spawn(move || wait_gap(old, addr, from));
            supervisor.restart().await.expect("the restart succeeds");
            let (gone, accepting) = gap.join().expect("the poller");
            exits.push(gone);
            gaps.push(accepting);
        }
        supervisor.stop();
        let _ = task.await;
    });
    gaps.sort();
    exits.sort();
    let median = |v: &[Duration]| v[v.len() / 2];
    println!("supervise mode: {n} restarts of a real nutcracker, signalled -> new one accepting:");
    println!(
        "  gap: min {}, median {}, max {}",
        ms(gaps[0]),
        ms(median(&gaps)),
        ms(gaps[n - 1])
    );
    println!(
        "  of which the old one exiting: min {}, median {}, max {}",
        ms(exits[0]),
        ms(median(&exits)),
        ms(exits[n - 1])
    );
}
