//! The real `tpc` daemon under load, against a fake sentinel (a RESP server inside the
//! test): a pub/sub flood leaves its memory bounded and a switch after it is still
//! applied; a flood of switches for an unknown master costs a few `SENTINEL MASTERS`,
//! not one each; and the sentinel timeouts are tpc's own: a slow sentinel and one with
//! 200,000 masters are linked, one that never answers is given up on and retried.

mod fake_sentinel;
mod tpc_daemon;

use std::thread;
use std::time::{Duration, Instant};

use fake_sentinel::{chatter, master, FakeSentinel};
use tpc_daemon::Tpc;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Starts tpc linked to the fake sentinel on `port`, with no periodic queries (so every
/// `SENTINEL MASTERS` the fake counts was asked for by an event).
fn start(port: u16, extra: &[&str]) -> Tpc {
    let mut args = vec!["-reconcile_interval", "0"];
    args.extend(extra);
    Tpc::start(tempfile::tempdir().unwrap(), &[port], &args)
}

/// Starts tpc on a fake sentinel that monitors node-1 at port 7001, and waits until tpc
/// wrote it and subscribed.
fn linked() -> (FakeSentinel, Tpc) {
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let tpc = start(sentinel.port, &[]);
    tpc.wait_config("127.0.0.1:7001:1 node-1", secs(20));
    sentinel.wait_subscribers(1, secs(10));
    (sentinel, tpc)
}

/// Fails over node-1 from 7001 to 7002 as a real sentinel would (its answer changes and it
/// publishes the switch), and returns how long tpc took to write it.
fn fail_over(sentinel: &FakeSentinel, tpc: &Tpc) -> Duration {
    let start = Instant::now();
    sentinel.set_masters(vec![master("node-1", 7002, 2)]);
    sentinel.publish("+switch-master", "node-1 127.0.0.1 7001 127.0.0.1 7002");
    tpc.wait_config("127.0.0.1:7002:1 node-1", secs(60));
    start.elapsed()
}

/// 300,000 pub/sub messages grew tpc by about 85 MB that it never gave back: the
/// client library queued every message it could not hand on. Now tpc's resident memory
/// stays within 20 MB of what it was before the flood, and a switch published after
/// the flood is still applied.
#[test]
fn a_pubsub_flood_leaves_memory_bounded_and_a_later_switch_applied() {
    let (sentinel, mut tpc) = linked();
    let before = tpc.memory();
    let flood = Instant::now();
    sentinel.flood(chatter(300_000));
    eprintln!("flood written in {:?}", flood.elapsed());
    let took = fail_over(&sentinel, &tpc);
    let after = tpc.memory();
    eprintln!(
        "tpc: {} KiB before, peak {} KiB, {} KiB after; switch written {took:?} after the flood",
        before.rss_kib, after.peak_kib, after.rss_kib
    );
    assert!(
        after.peak_kib < before.rss_kib + 20 * 1024,
        "tpc grew from {} KiB to a peak of {} KiB",
        before.rss_kib,
        after.peak_kib
    );
    assert!(tpc.terminate().success());
}

/// Every `+switch-master` for a master tpc does not know asked every sentinel for
/// `SENTINEL MASTERS`: thousands of queries for a flood. Now a link has at most one query
/// in flight and one owed, and an owed one waits until the events before it reached the
/// core: 10,000 such switches cost a handful of queries, and a real switch after them
/// is applied.
#[test]
fn a_flood_of_switches_for_an_unknown_master_costs_a_few_queries() {
    let (sentinel, mut tpc) = linked();
    let queries = sentinel.masters_queries();
    let ghost = (
        "+switch-master".to_string(),
        "ghost 127.0.0.1 8001 127.0.0.1 8002".to_string(),
    );
    sentinel.flood(std::iter::repeat_n(ghost, 10_000));
    let took = fail_over(&sentinel, &tpc);
    // The switch asks for a confirming query; give every owed query time to go out.
    thread::sleep(secs(3));
    let asked = sentinel.masters_queries() - queries;
    let said = tpc.log_count("Ignoring switch of unknown master ghost");
    eprintln!(
        "{asked} SENTINEL MASTERS for 10,000 unknown switches; switch written after {took:?}; {said} warning line(s)"
    );
    assert!(asked <= 5, "{asked} SENTINEL MASTERS for the flood");
    // Said at the 1st, 10th, 100th... of them, not once each (a flood filled the log).
    assert!(
        (1..=5).contains(&said),
        "{said} warning lines for the flood"
    );
    assert!(tpc.terminate().success());
}

/// The client library's 0.5 s response timeout applied, so a sentinel answering in 0.7 s
/// was never linked. tpc's own default timeout is generous.
#[test]
fn a_sentinel_answering_in_700_ms_is_linked() {
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    sentinel.set_delay(Duration::from_millis(700));
    let mut tpc = start(sentinel.port, &[]);
    tpc.wait_config("127.0.0.1:7001:1 node-1", secs(30));
    let log = tpc.log();
    assert!(log.contains("Connected to sentinel"), "{log}");
    assert!(!log.contains("Cannot reach sentinel"), "{log}");
    assert!(tpc.terminate().success());
}

/// A `SENTINEL MASTERS` of 200,000 masters took longer than the library's 0.5 s to
/// arrive and be read. It is linked, in reasonable time and memory.
#[test]
fn a_sentinel_with_200000_masters_is_linked() {
    let masters = (0..200_000)
        .map(|i| master(&format!("node-{i:06}"), 10_000 + (i % 50_000) as u16, 1))
        .collect();
    let sentinel = FakeSentinel::start(masters);
    let started = Instant::now();
    let mut tpc = start(sentinel.port, &[]);
    tpc.wait_config("node-199999", secs(120));
    let took = started.elapsed();
    let memory = tpc.memory();
    eprintln!(
        "200,000 masters written after {took:?}; tpc peak {} KiB, now {} KiB",
        memory.peak_kib, memory.rss_kib
    );
    assert!(tpc.log().contains("Connected to sentinel"), "{}", tpc.log());
    assert!(took < secs(60), "linking took {took:?}");
    assert!(
        memory.peak_kib < 1024 * 1024,
        "tpc peaked at {} KiB",
        memory.peak_kib
    );
    assert!(tpc.terminate().success());
}

/// A sentinel that accepts connections and never answers is given up on after
/// `-sentinel_timeout` (not a built-in 5 s), with a reason that says so, and retried.
#[test]
fn a_sentinel_that_never_answers_is_given_up_on_and_retried() {
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    sentinel.set_silent(true);
    let started = Instant::now();
    let mut tpc = start(sentinel.port, &["-sentinel_timeout", "1"]);
    let given_up = format!(
        "Cannot reach sentinel 127.0.0.1:{}: connect: no answer within 1s",
        sentinel.port
    );
    tpc.wait_log(&given_up, 1, secs(10));
    let first = started.elapsed();
    tpc.wait_log(&given_up, 2, secs(10));
    assert!(first < secs(4), "given up on after {first:?}");
    assert!(sentinel.connections() >= 2);
    assert!(tpc.is_running());
    assert!(!tpc.out.exists());
    assert!(tpc.terminate().success());
}
