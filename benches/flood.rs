//! Memory and latency under a pub/sub flood: starts the real tpc binary (release build)
//! against the tests' fake sentinel, floods it with 3,000,000 events (informative ones,
//! and every tenth a `+switch-master` for a master tpc does not know), then fails node-1
//! over, and prints tpc's resident memory before the flood, at its peak and after, how
//! long the switch took to reach the config, and how many `SENTINEL MASTERS` the flood
//! cost. Run with `cargo bench --bench flood` (`TPC_FLOOD=N` for another size).
//! Figures, not pass/fail; the target is under 30 MB after, with the switch prompt.

#[path = "../tests/fake_sentinel/mod.rs"]
mod fake_sentinel;
#[path = "../tests/tpc_daemon/mod.rs"]
mod tpc_daemon;

use std::time::{Duration, Instant};

use fake_sentinel::{chatter, master, FakeSentinel};
use tpc_daemon::Tpc;

const DEFAULT_FLOOD: usize = 3_000_000;

fn mib(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 / 1024.0)
}

fn main() {
    let n = std::env::var("TPC_FLOOD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_FLOOD);
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let mut tpc = Tpc::start(
        tempfile::tempdir().unwrap(),
        &[sentinel.port],
        &["-reconcile_interval", "0"],
    );
    tpc.wait_config("127.0.0.1:7001:1 node-1", Duration::from_secs(20));
    sentinel.wait_subscribers(1, Duration::from_secs(10));
    let before = tpc.memory();
    let queries = sentinel.masters_queries();

    let ghost = (
        "+switch-master".to_string(),
        "ghost 127.0.0.1 8001 127.0.0.1 8002".to_string(),
    );
    let events = chatter(n)
        .enumerate()
        .map(|(i, event)| if i % 10 == 9 { ghost.clone() } else { event });
    let started = Instant::now();
    sentinel.flood(events);
    let flooded = started.elapsed();

    let switch = Instant::now();
    sentinel.set_masters(vec![master("node-1", 7002, 2)]);
    sentinel.publish("+switch-master", "node-1 127.0.0.1 7001 127.0.0.1 7002");
    tpc.wait_config("127.0.0.1:7002:1 node-1", Duration::from_secs(120));
    let switched = switch.elapsed();
    // Let owed queries go out and the allocator settle.
    std::thread::sleep(Duration::from_secs(3));
    let after = tpc.memory();
    let asked = sentinel.masters_queries() - queries;
    assert!(tpc.terminate().success());

    println!(
        "flood: {n} events written in {flooded:.2?} ({:.0}/s)",
        n as f64 / flooded.as_secs_f64()
    );
    println!(
        "tpc RSS: before {}, peak {}, after {}",
        mib(before.rss_kib),
        mib(after.peak_kib),
        mib(after.rss_kib)
    );
    println!("switch after the flood written in {switched:.2?}");
    println!("SENTINEL MASTERS asked during and after the flood: {asked}");
    for line in tpc.log().lines().filter(|l| l.contains("fell behind")) {
        println!(
            "tpc: {}",
            line.split_once(" WARN ").map_or(line, |(_, l)| l)
        );
    }
}
