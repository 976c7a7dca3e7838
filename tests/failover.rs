//! End-to-end failover tests with real `redis-server`, `redis-sentinel` and `nutcracker`
//! processes on loopback, and the real `tpc` binary as the agent that keeps nutcracker
//! pointed at the current masters (DESIGN.md §8).
//!
//! The tests take the [`support::serial`] lock: a 2-core machine runs one Sentinel
//! deployment reliably, two at once make failovers slow and flaky.

mod support;

use ::tpc::core::driver::{Driver, Entry};
use ::tpc::core::{Core, Effect};
use ::tpc::shell::recording::Reader;
use std::fs;
use std::path::Path;
use std::time::Instant;
use support::*;

/// The harness on its own: a cluster starts, fails over (every sentinel agrees on the
/// new master, which says it is one), and the restart script (re)starts a nutcracker
/// that serves keys from the new master.
#[test]
fn harness_failover_works() {
    let _serial = serial();
    let started = Instant::now();
    let cluster = Cluster::start(&["node-1"], 3);
    eprintln!("cluster ready after {:?}", started.elapsed());
    let (master, replica) = cluster.redis_ports("node-1");
    assert_eq!(cluster.master_addr("node-1"), local(master));
    assert_eq!(cluster.sentinels_shorthand().matches(':').count(), 3);

    let (old, new) = cluster.failover("node-1");
    assert_eq!((old, new.clone()), (local(master), local(replica)));
    for i in cluster.live_sentinels() {
        assert_eq!(
            cluster.master_addr_from(i, "node-1"),
            Some(new.clone()),
            "sentinel {i}"
        );
    }
    assert_eq!(role(&new).as_deref(), Some("master"));

    check_restart_script(cluster.dir(), &new);
}

/// tpc follows two failovers and the loss of its sentinel; after each change nutcracker
/// runs with a config that `nutcracker -t` accepts, was restarted exactly once, and
/// routes keys to the current masters. SIGTERM stops tpc with exit status 0.
#[test]
fn tpc_follows_failovers_through_nutcracker() {
    let _serial = serial();
    let mut rig = Rig::start(&["node-1", "node-2"], &[], &[]);
    rig.expect_followed("the first config", None);

    let (old1, _) = rig.cluster.failover("node-1");
    rig.expect_followed("the node-1 failover", Some("node-1"));

    // tpc starts with the first sentinel listed: kill it, tpc must carry on.
    rig.cluster.kill_sentinel(0);
    wait_until(secs(20), "tpc to subscribe on a live sentinel", || {
        let live = rig.cluster.live_sentinels();
        live.iter()
            .any(|&i| rig.cluster.sentinel_subscribers(i) > 0)
    });
    rig.cluster.wait_rejoined("node-1", &old1);
    assert_eq!(
        role(&old1).as_deref(),
        Some("slave"),
        "old node-1 master {old1}"
    );

    rig.cluster.failover("node-2");
    rig.expect_followed("the node-2 failover", Some("node-2"));

    assert!(
        rig.tpc.exited().is_none(),
        "tpc exited early:\n{}",
        rig.tpc.log_tail(60)
    );
    let status = rig.tpc.terminate();
    assert!(
        status.success(),
        "tpc exited with {status} on SIGTERM:\n{}",
        rig.tpc.log_tail(60)
    );
    rig.expect_replay_matches();
}

impl Rig {
    /// The recording tpc made replays to the same effects and the same config: a write
    /// then a reload for each change tpc was seen to follow, each write naming the
    /// servers nutcracker was seen to run with, the config on disk byte for byte, and
    /// the same timeline twice. `TPC_SAVE_RECORDING=FILE` keeps a copy (that is how the
    /// corpus's real recording was made).
    fn expect_replay_matches(&self) {
        let path = recording_path(&self.conf);
        if let Some(save) = std::env::var_os("TPC_SAVE_RECORDING") {
            fs::copy(&path, save).expect("copy the recording");
        }
        let (timeline, final_config) = replay(&path);
        let mut written = Vec::new();
        let mut sequence = Vec::new();
        for entry in &timeline {
            match entry {
                Entry::Effect(_, Effect::WriteConfig { text, .. }) => {
                    written.push(servers_in(text));
                    sequence.push("write");
                }
                Entry::Effect(_, Effect::RunReload { .. }) => sequence.push("reload"),
                _ => {}
            }
        }
        assert_eq!(
            sequence,
            ["write", "reload"].repeat(self.followed.len()),
            "effects in {timeline:#?}"
        );
        assert_eq!(written, self.followed, "configs in {timeline:#?}");
        assert_eq!(
            final_config.as_deref(),
            fs::read_to_string(&self.conf).ok().as_deref()
        );
        assert_eq!(replay(&path).0, timeline, "replay is not deterministic");
    }
}

/// Replays a recording through the core: the timeline and the final config.
fn replay(path: &Path) -> (Vec<Entry>, Option<String>) {
    let file = std::io::BufReader::new(fs::File::open(path).expect("tpc wrote a recording"));
    let (header, mut reader) = Reader::open(file).expect("a valid header");
    let mut driver = Driver::new(Core::new(header.settings, header.on_disk), header.outcomes);
    let mut timeline = Vec::new();
    while let Some(input) = reader.next_input().expect("valid inputs") {
        driver.feed(input, &mut |e| timeline.push(e));
    }
    assert_eq!(reader.truncated_at(), None);
    driver.finish(&mut |e| timeline.push(e));
    (timeline, driver.core().on_disk().map(str::to_string))
}

/// The restart script starts nutcracker, restarts it with a new PID, counts its runs,
/// and the nutcracker it starts serves `master`; `nutcracker -t` rejects a bad config.
fn check_restart_script(dir: &Path, master: &str) {
    let conf = dir.join("nutcracker.yml");
    let listen = free_port();
    fs::write(
        &conf,
        nutcracker_yaml("redis", &local(listen), &[("node-1", master)]),
    )
    .unwrap();
    assert!(nutcracker_accepts(&conf));
    let nut = Nutcracker::new(dir, &conf, listen);
    let mut pids = Vec::new();
    for run in 1..=2 {
        let out = nut.restart();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "restart.sh run {run} failed: {stderr}"
        );
        assert_eq!(nut.reloads(), run);
        nut.wait_serving(secs(5));
        pids.push(nut.pid().expect("nutcracker pid"));
        let key = format!("script-{run}");
        assert!(resp(&nut.addr(), &["SET", &key, "v"]).is_ok());
        assert_eq!(get(master, &key).as_deref(), Some("v"));
    }
    assert_ne!(pids[0], pids[1], "restart.sh did not restart nutcracker");
    assert!(
        !procs::pid_alive(pids[0]),
        "the first nutcracker survived the restart"
    );

    fs::write(&conf, "redis:\n  listen: 127.0.0.1:1\n  bogus_key: 1\n").unwrap();
    assert!(
        !nutcracker_accepts(&conf),
        "nutcracker -t accepted an unknown key"
    );
}
