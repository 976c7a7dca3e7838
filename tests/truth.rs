//! Who to believe (DESIGN.md §4), with three real sentinels and a fake one beside them
//! that misbehaves as a real one cannot on demand: a stale sentinel that announces a
//! switch back to the old master, and a lying one that claims a far higher epoch for a
//! dead address. Real redis, sentinels and nutcracker; the real tpc binary; what a client
//! sees through nutcracker.

mod fake_sentinel;
mod support;

use fake_sentinel::{chatter, master, FakeSentinel};
use support::*;

/// The fake's address as tpc is given it.
fn addr(fake: &FakeSentinel) -> String {
    local(fake.port)
}

/// A port nothing listens on: a dead master.
fn dead_port() -> u16 {
    free_port()
}

/// Issue 8, item 1: one stale sentinel announces a switch back to the dead master after a
/// real failover. The switch raises no epoch, the three real sentinels' answers stand,
/// and nutcracker is never pointed back.
#[test]
fn a_stale_sentinels_switch_back_to_the_old_master_moves_nothing() {
    let _serial = serial();
    let stale = FakeSentinel::start(vec![]);
    let mut rig = Rig::start_with(&["node-1"], &[], &[addr(&stale)], &[]);
    let (first, _) = rig.cluster.redis_ports("node-1");
    stale.set_masters(vec![master("node-1", first, 0)]);
    rig.expect_followed("the first config", None);
    stale.wait_subscribers(1, secs(10));

    let (old, new) = rig.cluster.failover("node-1");
    rig.expect_followed("the failover", Some("node-1"));
    let offset = rig.log_len();
    let (old_port, new_port) = (port_of(&old), port_of(&new));
    stale.publish(
        "+switch-master",
        &format!("node-1 127.0.0.1 {new_port} 127.0.0.1 {old_port}"),
    );
    rig.wait_log(offset, "Not following switch of node-1", secs(5));
    hold_for(secs(3), "the config stays on the new master", || {
        config_servers(&rig.conf).is_some_and(|s| s["node-1"] == new)
    });
    expect_reloads(&rig.nut, rig.reloads);
    check_keys(
        &rig.nut.addr(),
        &rig.servers,
        "after the stale switch",
        vec!["node-1"],
    );
    rig.expect_running();
}

/// Issue 8, item 2: a sentinel that claims epoch u64::MAX for a dead address no other
/// sentinel reports is believed for the grace at most; then the majority stands, tpc
/// says so, and the liar is not believed again on the next answers or switches.
#[test]
fn a_lone_sentinel_with_a_huge_epoch_is_overruled_by_the_majority() {
    let _serial = serial();
    let liar = FakeSentinel::start(vec![]);
    let mut rig = Rig::start_with(
        &["node-1"],
        &[],
        &[addr(&liar)],
        &["-confirm_grace_ms", "1500", "-reconcile_interval", "1"],
    );
    rig.expect_followed("the first config", None);
    liar.wait_subscribers(1, secs(10));
    let truth = rig.servers["node-1"].clone();
    let dead = dead_port();

    let offset = rig.log_len();
    liar.set_masters(vec![master("node-1", dead, u64::MAX)]);
    rig.wait_log(offset, "but the majority reports", secs(10));
    wait_config(
        &rig.conf,
        &rig.cluster_view(),
        "the majority again",
        secs(10),
    );
    // Not re-adopted: answers every second, and a switch from the liar.
    liar.publish(
        "+switch-master",
        &format!("node-1 {} 127.0.0.1 {dead}", truth.replace(':', " ")),
    );
    hold_for(secs(4), "the config stays on the majority's master", || {
        config_servers(&rig.conf).is_some_and(|s| s["node-1"] == truth)
    });
    let log = rig.log_since(offset);
    assert_eq!(
        log.matches("but the majority reports").count(),
        1,
        "the outlier said once:\n{log}"
    );
    check_keys(
        &rig.nut.addr(),
        &rig.cluster_view(),
        "after the liar",
        vec!["node-1"],
    );
    rig.expect_running();
}

/// Issue 8, item 15: one sentinel floods tpc with events while the real ones fail a
/// master over: the failover is followed as usual (one restart, keys on the new master)
/// and tpc's memory stays bounded.
#[test]
fn a_flood_from_one_sentinel_does_not_hold_up_a_real_failover() {
    let _serial = serial();
    let flooder = FakeSentinel::start(vec![]);
    let mut rig = Rig::start_with(&["node-1"], &[], &[addr(&flooder)], &[]);
    rig.expect_followed("the first config", None);
    flooder.wait_subscribers(1, secs(10));
    let before = peak_kib(rig.tpc.pid());
    std::thread::scope(|s| {
        s.spawn(|| flooder.flood(chatter(300_000)));
        rig.cluster.failover("node-1");
        rig.expect_followed("the failover during a flood", Some("node-1"));
    });
    let peak = peak_kib(rig.tpc.pid());
    eprintln!("tpc peak {before} KiB before the flood, {peak} KiB after");
    assert!(
        peak < before + 20 * 1024,
        "tpc grew from {before} KiB to {peak} KiB"
    );
    rig.expect_running();
}

/// Issue 8, item 3: restarted beside a stale sentinel that still reports the dead master
/// (and answers first: it is a fake on this machine, the real ones take longer), tpc
/// leaves the correct file on disk untouched: no write, no restart of nutcracker. The
/// same beside a liar answering a dead address at epoch `u64::MAX` (tpc forgets at a
/// restart whom it distrusted): the liar is overruled once the grace is over, and the
/// file is never touched.
#[test]
fn a_restart_beside_a_stale_or_lying_sentinel_leaves_a_correct_file_untouched() {
    let _serial = serial();
    let mut rig = Rig::start(&["node-1"], &[], &[]);
    rig.expect_followed("the first config", None);
    let (old, _) = rig.cluster.failover("node-1");
    rig.expect_followed("the failover", Some("node-1"));
    rig.tpc.terminate();
    let inode =
        |p: &std::path::Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
    let (text, ino) = (
        std::fs::read_to_string(&rig.conf).unwrap(),
        inode(&rig.conf),
    );

    let stale = FakeSentinel::start(vec![master("node-1", port_of(&old), 0)]);
    let liar = FakeSentinel::start(vec![master("node-1", dead_port(), u64::MAX)]);
    for (what, fake) in [("stale", &stale), ("lying", &liar)] {
        let sentinels = format!("{},{}", addr(fake), rig.cluster.sentinels_csv());
        let (conf, cmd, port) = (
            rig.conf.display().to_string(),
            rig.nut.command(),
            rig.nut.listen_port().to_string(),
        );
        let args = [
            "-sentinels",
            &sentinels,
            "-out",
            &conf,
            "-cmd",
            &cmd,
            "-wait",
            "1",
            "-ip",
            "127.0.0.1",
            "-port",
            &port,
            "-confirm_grace_ms",
            "1500",
        ];
        let offset = rig.log_len();
        rig.tpc = Tpc::spawn_in(rig.cluster.dir(), &args);
        rig.wait_linked_to_all();
        fake.wait_subscribers(1, secs(10));
        hold_for(
            secs(3),
            &format!("the correct file untouched ({what})"),
            || inode(&rig.conf) == ino && std::fs::read_to_string(&rig.conf).unwrap() == text,
        );
        if what == "lying" {
            rig.wait_log(offset, "but the majority reports", secs(10));
        }
        expect_reloads(&rig.nut, rig.reloads);
        rig.expect_running();
        rig.tpc.terminate();
    }
}

/// The most memory process `pid` ever had resident (`VmHWM`), in KiB.
fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}
