//! Fault tests with real `redis-server`, `redis-sentinel` and `nutcracker` processes and
//! the real `tpc` binary (DESIGN.md §4, §7, §8): sentinels dying in the middle of a
//! failover, every sentinel link cut while a failover happens, and a sentinel that comes
//! back with the view it had before the failover. Each test checks what a client sees:
//! the config on disk, `nutcracker -t` accepting it, and where keys written through
//! nutcracker land.
//!
//! The tests take the [`support::serial`] lock: a 2-core machine runs one Sentinel
//! deployment reliably, two at once make failovers slow and flaky.

mod support;

use std::thread::sleep;
use std::time::Instant;
use support::*;

/// tpc is linked to all three sentinels and following. A `SENTINEL FAILOVER node-1` is
/// sent to sentinel 2 and, as soon as it answers OK, sentinels 0 and 1 are killed: the
/// failover goes on inside sentinel 2 alone (a forced failover needs no quorum), and only
/// sentinel 2 can tell tpc about it. tpc must follow through that one sentinel.
#[test]
fn follows_a_failover_with_two_of_three_sentinels_killed_during_it() {
    let _serial = serial();
    let mut rig = Rig::start(&["node-1", "node-2"], &[], &[]);
    rig.expect_followed("the first config", None);
    rig.wait_linked_to_all();

    let old = rig.cluster.master_addr("node-1");
    let offset = rig.log_len();
    let new = failover_then_kill(&mut rig.cluster, "node-1", 2, &[0, 1]);
    assert_eq!(rig.cluster.live_sentinels(), vec![2]);
    rig.expect_followed(
        "the node-1 failover with sentinels 0 and 1 killed",
        Some("node-1"),
    );
    assert_eq!(rig.servers["node-1"], new);
    assert_ne!(new, old);

    let log = rig.log_since(offset);
    let heard: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("'+switch-master' from"))
        .collect();
    eprintln!("tpc heard the switch as:\n  {}", heard.join("\n  "));
    for i in [0, 1] {
        let killed = rig.tpc_sentinel_addr(i);
        assert!(
            has_line(&log, &format!("Lost sentinel {killed}")),
            "tpc did not notice that sentinel {i} ({killed}) died"
        );
    }
    rig.expect_running();
}

/// Every sentinel sits behind a TCP proxy. Once tpc follows, all proxies cut their
/// connections and close new ones at once (tpc logs that no sentinel is reachable); node-1 is
/// failed over meanwhile, so tpc hears nothing of it and the file keeps the old address.
/// When the proxies let connections through again, tpc must reconnect, ask the
/// sentinels, and rewrite the config to the new master, restarting nutcracker once.
/// Periodic reconciliation is off: the reconnect alone must repair the config.
#[test]
fn a_failover_while_every_link_is_down_is_repaired_on_reconnect() {
    let _serial = serial();
    let mut rig = Rig::start(
        &["node-1", "node-2"],
        &[0, 1, 2],
        &["-reconcile_interval", "0"],
    );
    rig.expect_followed("the first config", None);
    rig.wait_linked_to_all();

    let offset = rig.log_len();
    let cut = Instant::now();
    rig.proxies.iter().for_each(|(_, p)| p.cut());
    rig.wait_log(offset, "No sentinel reachable", secs(10));
    eprintln!("tpc lost every sentinel {:?} after the cut", cut.elapsed());

    let (old, new) = rig.cluster.failover("node-1");
    // tpc cannot know: the file keeps the old address and nutcracker is not restarted.
    // Holding the cut a few seconds also lets tpc's reconnect back-off grow.
    let (servers, reloads) = (rig.servers.clone(), rig.reloads);
    hold_for(secs(3), "the old config while every link is cut", || {
        config_servers(&rig.conf).as_ref() == Some(&servers) && rig.nut.reloads() == reloads
    });
    assert_eq!(rig.servers["node-1"], old);
    eprintln!("links cut for {:?}; restoring them", cut.elapsed());

    let offset = rig.log_len();
    let restored = Instant::now();
    rig.proxies.iter().for_each(|(_, p)| p.restore());
    let servers = wait_config(&rig.conf, &rig.cluster_view(), "the reconnect", secs(15));
    eprintln!(
        "config repaired {:?} after the links came back",
        restored.elapsed()
    );
    assert_eq!(servers["node-1"], new);
    rig.expect_followed("the failover missed while cut", Some("node-1"));

    let log = rig.log_since(offset);
    assert!(
        log.contains("Connected to sentinel"),
        "tpc did not reconnect:\n{log}"
    );
    let how: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Replacing master node-1"))
        .collect();
    eprintln!("tpc repaired node-1 as:\n  {}", how.join("\n  "));
    rig.expect_running();
}

/// Sentinel 0 is killed and node-1 failed over by the other two; tpc follows. Then
/// sentinel 0 is started again from its config file, which still names the old master
/// with the old config epoch: until it hears from the others (a hello, at once to 2 s
/// later; measured 0 to ~1 s here) it answers `SENTINEL MASTERS` with that stale view.
/// Whether tpc asks within that window is printed, not asserted (it did in 13 of 15
/// runs); a tpc that took the stale answer fails the hold below. tpc, reconciling every second, must never
/// move node-1 back: for 8 s the config keeps the new address and nutcracker is not
/// restarted, and keys still land on the new master.
///
/// Sentinel 0 sits behind a proxy that waits for its upstream instead of refusing: tpc's
/// attempts to reconnect while sentinel 0 is down stay pending and go through the moment
/// it is back, so tpc's growing back-off does not make it miss the short stale window.
#[test]
fn a_sentinel_back_with_a_stale_view_cannot_roll_back() {
    let _serial = serial();
    let mut rig = Rig::start(&["node-1", "node-2"], &[0], &["-reconcile_interval", "1"]);
    rig.expect_followed("the first config", None);
    rig.wait_linked_to_all();

    rig.cluster.kill_sentinel(0);
    let (old, new) = rig.cluster.failover("node-1");
    rig.expect_followed("the node-1 failover without sentinel 0", Some("node-1"));

    let offset = rig.log_len();
    rig.cluster.restart_sentinel(0);
    let restarted = Instant::now();
    let s0 = rig.cluster.sentinel_addr(0);
    let first = sentinel_view(&s0, "node-1");
    eprintln!("sentinel 0 restarted; it reports node-1 as {first:?} (old {old}, new {new})");

    let (servers, reloads) = (rig.servers.clone(), rig.reloads);
    let mut caught_up = None;
    hold_for(secs(8), "the new node-1 address with no restart", || {
        if caught_up.is_none() && sentinel_view(&s0, "node-1").is_some_and(|(a, _)| a == new) {
            caught_up = Some(restarted.elapsed());
        }
        config_servers(&rig.conf).as_ref() == Some(&servers) && rig.nut.reloads() == reloads
    });
    assert!(nutcracker_accepts(&rig.conf));
    check_keys(&rig.nut.addr(), &servers, "after-stale", vec!["node-1"]);

    let log = rig.log_since(offset);
    let proxy = rig.tpc_sentinel_addr(0);
    assert!(
        has_line(&log, &format!("Connected to sentinel {proxy}")),
        "tpc did not reconnect to the restarted sentinel 0 ({proxy}):\n{log}"
    );
    let ignored: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&format!("Ignoring node-1 at {old} from")))
        .collect();
    eprintln!(
        "sentinel 0 caught up after {caught_up:?}; stale answer reached tpc: {}\n  {}",
        !ignored.is_empty(),
        ignored.join("\n  ")
    );
    rig.expect_running();
}

/// Sends `SENTINEL FAILOVER name` to sentinel `via` (retrying while it refuses), kills
/// the sentinels `kill` right after it answers OK, and returns the new master once `via`
/// reports it and it says it is one. Falls back to [`Cluster::failover`] through the
/// survivors if this failover aborted.
fn failover_then_kill(cluster: &mut Cluster, name: &str, via: usize, kill: &[usize]) -> String {
    let old = cluster.master_addr(name);
    let addr = cluster.sentinel_addr(via);
    let mut answers = Vec::new();
    for _ in 0..4 {
        cluster.wait_ready(name);
        let reply = resp(&addr, &["SENTINEL", "FAILOVER", name]);
        if reply.is_ok() {
            break;
        }
        answers.push(reply);
        sleep(secs(1));
    }
    assert!(answers.len() < 4, "SENTINEL FAILOVER refused: {answers:?}");
    kill.iter().for_each(|&i| cluster.kill_sentinel(i));
    let started = Instant::now();
    while started.elapsed() < secs(20) {
        if let Some(new) = cluster.master_addr_from(via, name) {
            if new != old && role(&new).as_deref() == Some("master") {
                eprintln!(
                    "failover of {name}: {old} -> {new} in {:?}",
                    started.elapsed()
                );
                return new;
            }
        }
        sleep(POLL);
    }
    eprintln!("failover of {name} via sentinel {via} aborted; retrying with the survivors");
    let (first, new) = cluster.failover(name);
    assert_eq!(first, old);
    new
}

/// `(ip:port, config-epoch)` of `name` as the sentinel at `addr` reports it.
fn sentinel_view(addr: &str, name: &str) -> Option<(String, String)> {
    let fields = try_resp(addr, &["SENTINEL", "MASTER", name]).ok()?.fields();
    let get = |k: &str| fields.get(k).cloned();
    Some((
        format!("{}:{}", get("ip")?, get("port")?),
        get("config-epoch")?,
    ))
}
