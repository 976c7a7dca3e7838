//! Supervise mode with real processes: the real `tpc` binary runs stock nutcracker as
//! its child (`-supervise -- nutcracker -c FILE ...`) and restarts it to reload. A real
//! failover is followed through it; a child killed by hand is started again; a child
//! that cannot start fails the reload with its own words; SIGTERM stops both, SIGKILL
//! to tpc leaves no nutcracker; a flood of output costs no memory.

mod fake_sentinel;
mod fake_slack;
mod support;

use std::collections::BTreeMap;
use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use fake_sentinel::{master, FakeSentinel};
use fake_slack::Slack;
use support::procs::{pid_alive, send_signal};
use support::tpc::Tpc;
use support::*;

/// tpc's flags (`-sentinels`, `-out CONF`, the pool on `proxy`'s port, `extra`), then
/// the supervised nutcracker's command line.
fn tpc_args(sentinels: &str, conf: &Path, listen: u16, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "-sentinels".into(),
        sentinels.into(),
        "-out".into(),
        conf.display().to_string(),
        "-ip".into(),
        "127.0.0.1".into(),
        "-port".into(),
        listen.to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(supervise_args(conf));
    args
}

fn spawn(dir: &Path, args: &[String]) -> Tpc {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Tpc::spawn_in(dir, &args)
}

/// Every master at the address the live sentinels agree on.
fn view(cluster: &Cluster) -> BTreeMap<String, String> {
    cluster
        .names()
        .into_iter()
        .map(|n| (n.clone(), cluster.master_addr(&n)))
        .collect()
}

/// A config file for one pool on `listen` with one server, as an operator left it.
fn existing_config(conf: &Path, listen: u16) {
    let server = local(free_port());
    fs::write(
        conf,
        nutcracker_yaml("redis", &local(listen), &[("node-1", &server)]),
    )
    .unwrap();
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Waits until the mark beside `conf` says nutcracker loaded exactly `conf`.
fn wait_marked(conf: &Path, what: &str) {
    wait_until(secs(5), &format!("the loaded mark after {what}"), || {
        marked_as_loaded(conf)
    });
}

#[test]
fn a_real_failover_reaches_the_new_master_through_the_nutcracker_tpc_runs() {
    let _serial = serial();
    let cluster = Cluster::start(&["node-1", "node-2"], 3);
    let conf = cluster.dir().join("nutcracker.yml");
    let listen = free_port();
    let proxy = local(listen);
    let args = tpc_args(&cluster.sentinels_csv(), &conf, listen, &["-wait", "1"]);
    let mut tpc = spawn(cluster.dir(), &args);

    // No file at first: nutcracker starts after the first write.
    let servers = wait_config(&conf, &view(&cluster), "the start", secs(20));
    let first = wait_child_serving(tpc.pid(), &proxy, None, secs(15));
    hold_for(secs(2), "one nutcracker, started once", || {
        nutcracker_child(tpc.pid()) == Some(first)
    });
    let all: Vec<&str> = servers.keys().map(String::as_str).collect();
    check_keys(&proxy, &servers, "start", all);
    wait_marked(&conf, "the start");

    let (_, new) = cluster.failover("node-1");
    let servers = wait_config(&conf, &view(&cluster), "the failover", secs(20));
    assert_eq!(servers["node-1"], new);
    let second = wait_child_serving(tpc.pid(), &proxy, Some(first), secs(15));
    assert!(!pid_alive(first), "the old nutcracker {first} still runs");
    hold_for(secs(2), "the new nutcracker, restarted once", || {
        nutcracker_child(tpc.pid()) == Some(second)
    });
    // Clients through nutcracker: each key is found on exactly one current master, read
    // directly, and some on node-1's new master.
    check_keys(&proxy, &servers, "failover", vec!["node-1"]);
    wait_marked(&conf, "the failover");
    let log = tpc.output();
    assert!(
        log.contains(&format!(
            "Restarting nutcracker (pid {first}) to load the new config"
        )),
        "{}",
        tpc.log_tail(40)
    );

    let status = tpc.terminate();
    assert!(status.success(), "tpc exited with {status}");
    assert!(!pid_alive(second), "nutcracker {second} outlived tpc");
}

#[test]
fn a_nutcracker_killed_by_hand_is_started_again_and_sigterm_stops_both() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nutcracker.yml");
    let listen = free_port();
    let proxy = local(listen);
    existing_config(&conf, listen);
    let slack = Slack::start();
    // No sentinel answers: nothing but the supervisor touches nutcracker.
    let nobody = local(free_port());
    let extra = ["-slack_url", &slack.url, "-token", "xoxb-test"];
    let mut tpc = spawn(dir.path(), &tpc_args(&nobody, &conf, listen, &extra));

    // The file exists: nutcracker starts at once, and its log lines are tpc's.
    let first = wait_child_serving(tpc.pid(), &proxy, None, secs(10));
    wait_until(secs(5), "nutcracker's own log line in tpc's", || {
        tpc.output()
            .lines()
            .any(|l| l.contains("nutcracker: [") && l.contains(&format!("started on pid {first}")))
    });
    // Past its start-up check: its death is one of a child that ran.
    hold_for(ms(500), "the first nutcracker", || {
        nutcracker_child(tpc.pid()) == Some(first)
    });

    send_signal(first, "KILL");
    let second = wait_child_serving(tpc.pid(), &proxy, Some(first), secs(5));
    assert!(
        tpc.output()
            .contains(&format!("nutcracker (pid {first}) exited on its own after"))
            && tpc.output().contains("(killed by signal 9)"),
        "{}",
        tpc.log_tail(30)
    );
    slack.wait_for(
        &format!("nutcracker (pid {first}) exited on its own"),
        secs(5),
    );

    // A second death in a row is logged, not notified again.
    hold_for(ms(500), "the second nutcracker", || {
        nutcracker_child(tpc.pid()) == Some(second)
    });
    // The next start loads a file changed meanwhile, and the mark says so.
    existing_config(&conf, listen);
    assert!(!marked_as_loaded(&conf));
    send_signal(second, "KILL");
    let third = wait_child_serving(tpc.pid(), &proxy, Some(second), secs(5));
    wait_marked(&conf, "a start after a death");
    assert!(tpc
        .output()
        .contains(&format!("nutcracker (pid {second}) exited on its own")));
    hold_for(secs(1), "one notification for the streak", || {
        slack.count("exited on its own") == 1
    });

    let status = tpc.terminate();
    assert!(status.success(), "tpc exited with {status}");
    for pid in [first, second, third] {
        assert!(!pid_alive(pid), "nutcracker {pid} outlived tpc");
    }
    assert!(tpc
        .output()
        .contains(&format!("Stopping nutcracker (pid {third})")));
}

#[test]
fn tpc_killed_with_sigkill_leaves_no_nutcracker() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nutcracker.yml");
    let listen = free_port();
    existing_config(&conf, listen);
    let nobody = local(free_port());
    let mut tpc = spawn(dir.path(), &tpc_args(&nobody, &conf, listen, &[]));
    let child = wait_child_serving(tpc.pid(), &local(listen), None, secs(10));

    send_signal(tpc.pid(), "KILL");
    wait_until(secs(5), "tpc to die", || tpc.exited().is_some());
    wait_until(secs(5), "nutcracker to die with tpc", || !pid_alive(child));
}

#[test]
fn a_nutcracker_that_cannot_start_fails_the_reload_with_its_words_until_it_can() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nutcracker.yml");
    let listen = free_port();
    let proxy = local(listen);
    // Another program holds the pool's port: nutcracker cannot listen, and exits.
    let squatter = TcpListener::bind(&proxy).unwrap();
    let sentinel = FakeSentinel::start(vec![master("node-1", free_port(), 1)]);
    let sentinels = local(sentinel.port);
    let slack = Slack::start();
    let extra = [
        "-wait",
        "0",
        "-slack_url",
        &slack.url,
        "-token",
        "xoxb-test",
    ];
    let mut tpc = spawn(dir.path(), &tpc_args(&sentinels, &conf, listen, &extra));

    wait_until(secs(15), "the failed start in tpc's log", || {
        tpc.output().lines().any(|l| {
            l.contains("Error updating config: nutcracker (pid")
                && l.contains("exited within 200ms of its start (exit code 1)")
                && l.contains("Address already in use")
        })
    });
    slack.wait_for("Error running reload command: nutcracker (pid", secs(5));
    assert!(
        !marked_as_loaded(&conf),
        "marked as loaded, but it never ran"
    );

    drop(squatter);
    let child = wait_child_serving(tpc.pid(), &proxy, None, secs(15));
    slack.wait_for("Reload command succeeded again", secs(15));
    wait_marked(&conf, "the start");
    let status = tpc.terminate();
    assert!(status.success(), "tpc exited with {status}");
    assert!(!pid_alive(child), "nutcracker {child} outlived tpc");
}

#[test]
fn a_flood_of_output_is_logged_line_by_line_at_a_bounded_cost() {
    const ENDLESS_LINE: usize = 64 * 1024 * 1024;
    const LINES: usize = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nutcracker.yml");
    let listen = free_port();
    existing_config(&conf, listen);
    // A nutcracker that first floods its stderr: one 64 MB line, then many lines.
    let wrapper = dir.path().join("noisy-nutcracker");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nhead -c {ENDLESS_LINE} /dev/zero | tr '\\0' x >&2\necho >&2\n\
             seq {LINES} | sed 's/^/line /' >&2\nexec {} \"$@\"\n",
            binary("nutcracker").display()
        ),
    )
    .unwrap();
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
    let nobody = local(free_port());
    let mut args = tpc_args(&nobody, &conf, listen, &[]);
    let program = args.iter().position(|a| a == "--").unwrap() + 1;
    args[program] = wrapper.display().to_string();
    let mut tpc = spawn(dir.path(), &args);

    // The flood is logged up to tpc's budget (200 lines per 10 s), the rest counted.
    wait_until(secs(60), "the count of the lines left out", || {
        tpc.output().contains("more lines in 10s not logged")
    });
    wait_child_serving(tpc.pid(), &local(listen), None, secs(10));
    let log = tpc.output();
    let cut = format!("… ({ENDLESS_LINE} bytes in all)");
    let endless = log.lines().find(|l| l.contains(&cut)).expect(&cut);
    assert!(
        endless.len() < 1024,
        "{} bytes logged for one line",
        endless.len()
    );
    assert_eq!(
        log.matches("nutcracker: line ").count(),
        199,
        "200 lines a window"
    );
    let left_out = log
        .lines()
        .find_map(|l| l.split("nutcracker: (").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap();
    assert!(left_out >= LINES + 1 - 200, "{left_out} left out");
    let peak = peak_kib(tpc.pid());
    assert!(peak < 32 * 1024, "tpc's peak memory: {peak} KiB");
    assert!(tpc.terminate().success());
}

/// The most memory process `pid` ever held (`VmHWM`), in KiB.
fn peak_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}
