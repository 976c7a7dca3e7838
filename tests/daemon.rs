//! The real `tpc` daemon against a fake sentinel (a RESP server inside the test) and a
//! fake Slack (an HTTP listener inside the test): writes, switches, reconnects, hostile
//! payloads, signals, and secrets kept out of the log.

mod fake_sentinel;
mod fake_slack;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use fake_sentinel::{FakeMaster, FakeSentinel};
use fake_slack::Slack;

const SECRET_AUTH: &str = "s3cret-auth-value";
const SECRET_TOKEN: &str = "xoxb-secret-token";

fn master(name: &str, port: u16, epoch: u64) -> FakeMaster {
    FakeMaster {
        name: name.into(),
        ip: "127.0.0.1".into(),
        port,
        epoch,
    }
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(25));
    }
}

/// The tpc process under test, killed on drop.
struct Tpc {
    child: Child,
    dir: tempfile::TempDir,
}

impl Tpc {
    fn start(sentinel_port: u16, extra: &[&str]) -> Tpc {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nutcracker.yml");
        let reloads = dir.path().join("reloads");
        let cmd = format!("sh -c 'echo reload >> {}'", reloads.display());
        let mut args: Vec<String> = vec![
            "-sentinels".into(),
            format!("127.0.0.1:{sentinel_port}"),
            "-out".into(),
            out.display().to_string(),
            "-cmd".into(),
            cmd,
            "-wait".into(),
            "0".into(),
            "-log".into(),
            dir.path().join("tpc.log").display().to_string(),
            "-redis_auth".into(),
            SECRET_AUTH.into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = Command::new(env!("CARGO_BIN_EXE_tpc"))
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Tpc { child, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    fn reloads(&self) -> usize {
        self.read("reloads").lines().count()
    }

    fn log(&self) -> String {
        self.read("tpc.log")
    }

    fn wait_config(&self, line: &str) {
        wait_until(
            &format!("config with {line:?}"),
            Duration::from_secs(10),
            || self.read("nutcracker.yml").contains(line),
        );
    }

    fn terminate(&mut self) -> ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
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
}

impl Drop for Tpc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("--- tpc log ---\n{}", self.log());
        }
    }
}

fn nutcracker_accepts(path: &Path) -> bool {
    Command::new("nutcracker")
        .arg("-t")
        .arg("-c")
        .arg(path)
        .output()
        .expect("nutcracker must be installed (run scripts/test.sh)")
        .status
        .success()
}

#[test]
fn writes_follows_a_switch_notifies_and_keeps_secrets_out_of_the_log() {
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1), master("node-2", 7101, 1)]);
    let slack = Slack::start();
    let mut tpc = Tpc::start(
        sentinel.port,
        &["-token", SECRET_TOKEN, "-slack_url", &slack.url],
    );
    tpc.wait_config("127.0.0.1:7001:1 node-1");
    wait_until("first reload", Duration::from_secs(5), || {
        tpc.reloads() == 1
    });
    assert!(nutcracker_accepts(&tpc.path("nutcracker.yml")));
    sentinel.wait_subscribers(1, Duration::from_secs(5));

    sentinel.publish("+odown", "master node-1 127.0.0.1 7001 #quorum 2/2");
    sentinel.publish("+switch-master", "node-1 127.0.0.1 7001 127.0.0.1 7002");
    tpc.wait_config("127.0.0.1:7002:1 node-1");
    wait_until("second reload", Duration::from_secs(5), || {
        tpc.reloads() == 2
    });
    let config = tpc.read("nutcracker.yml");
    assert!(config.contains("127.0.0.1:7101:1 node-2"));
    assert!(config.contains(&format!("redis_auth: {SECRET_AUTH}")));

    slack.wait_for("+odown", Duration::from_secs(5));
    slack.wait_for(
        "node-1 moved from 127.0.0.1:7001 to 127.0.0.1:7002",
        Duration::from_secs(5),
    );

    // The same switch from another sentinel's announcement changes nothing.
    sentinel.publish("+switch-master", "node-1 127.0.0.1 7001 127.0.0.1 7002");
    thread::sleep(Duration::from_millis(300));
    assert_eq!(tpc.reloads(), 2);

    assert!(tpc.terminate().success());
    let log = tpc.log();
    assert!(
        log.contains("Replacing master node-1 127.0.0.1:7001 with 127.0.0.1:7002"),
        "{log}"
    );
    assert!(log.contains("Writing to outfile"), "{log}");
    assert!(log.contains("Running command"), "{log}");
    assert!(!log.contains(SECRET_AUTH), "redis_auth leaked into the log");
    assert!(
        !log.contains(SECRET_TOKEN),
        "Slack token leaked into the log"
    );
}

#[test]
fn a_dropped_link_is_rebuilt_and_the_missed_switch_repaired() {
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let mut tpc = Tpc::start(sentinel.port, &[]);
    tpc.wait_config("127.0.0.1:7001:1 node-1");
    sentinel.wait_subscribers(1, Duration::from_secs(5));
    let queries = sentinel.masters_queries();

    // A failover happens while tpc is not subscribed: it only learns it by querying.
    sentinel.set_masters(vec![master("node-1", 7002, 2)]);
    sentinel.drop_connections();
    tpc.wait_config("127.0.0.1:7002:1 node-1");
    assert!(sentinel.masters_queries() > queries);
    wait_until("reload after repair", Duration::from_secs(5), || {
        tpc.reloads() == 2
    });
    assert!(tpc.terminate().success());
    assert!(tpc.log().contains("Lost sentinel"), "{}", tpc.log());
}

#[test]
fn hostile_payloads_never_reach_the_config() {
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let mut tpc = Tpc::start(sentinel.port, &[]);
    tpc.wait_config("127.0.0.1:7001:1 node-1");
    sentinel.wait_subscribers(1, Duration::from_secs(5));
    let good = tpc.read("nutcracker.yml");
    for (channel, payload) in [
        ("+switch-master", "node-1 127.0.0.1 7001"),
        ("+switch-master", "node-1 127.0.0.1 7001 127.0.0.1 99999"),
        (
            "+switch-master",
            "node-1 127.0.0.1 7001 127.0.0.1\n  redis_auth: x 7002",
        ),
        ("+switch-master", "node-1 127.0.0.1 7001 1.2.3.4\"evil 7002"),
        ("+monitor", "master bad:name 127.0.0.1 7005 quorum 2"),
        ("+odown", ""),
        ("+sdown", "slave x 127.0.0.1 notaport"),
        ("no-such-channel", "whatever"),
    ] {
        sentinel.publish(channel, payload);
    }
    sentinel.publish(
        "+switch-master",
        &format!(
            "node-1 127.0.0.1 7001 127.0.0.1 7002 {}",
            "x".repeat(100_000)
        ),
    );
    thread::sleep(Duration::from_millis(300));
    assert_eq!(tpc.read("nutcracker.yml"), good);
    // Still alive and still following.
    sentinel.publish("+switch-master", "node-1 127.0.0.1 7001 127.0.0.1 7003");
    tpc.wait_config("127.0.0.1:7003:1 node-1");
    assert!(nutcracker_accepts(&tpc.path("nutcracker.yml")));
    assert!(tpc.terminate().success());
    assert!(tpc.log().contains("Ignoring malformed"), "{}", tpc.log());
}

#[test]
fn sigterm_lets_the_reload_in_progress_finish() {
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("finished");
    let cmd = format!("sh -c 'sleep 1; touch {}'", marker.display());
    let mut tpc = Tpc::start(sentinel.port, &["-cmd", &cmd]);
    wait_until("reload started", Duration::from_secs(10), || {
        tpc.log().contains("Running command")
    });
    let status = tpc.terminate();
    assert!(status.success(), "{status:?}");
    assert!(
        marker.exists(),
        "tpc exited before its reload command finished"
    );
}

#[test]
fn with_no_sentinel_reachable_it_keeps_trying_and_touches_nothing() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut tpc = Tpc::start(port, &[]);
    wait_until("several attempts", Duration::from_secs(10), || {
        tpc.log().matches("Connecting to sentinel").count() >= 3
    });
    assert!(tpc.child.try_wait().unwrap().is_none(), "tpc gave up");
    assert!(!tpc.path("nutcracker.yml").exists());
    assert!(tpc.terminate().success());
}

#[test]
fn sighup_reopens_the_log_file_for_logrotate() {
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let mut tpc = Tpc::start(sentinel.port, &[]);
    tpc.wait_config("127.0.0.1:7001:1 node-1");
    sentinel.wait_subscribers(1, Duration::from_secs(5));
    // logrotate moves the file away, then signals.
    std::fs::rename(tpc.path("tpc.log"), tpc.path("tpc.log.1")).unwrap();
    Command::new("kill")
        .args(["-HUP", &tpc.child.id().to_string()])
        .status()
        .unwrap();
    wait_until("a fresh log file", Duration::from_secs(5), || {
        tpc.log().contains("log file reopened")
    });
    sentinel.publish("+switch-master", "node-1 127.0.0.1 7001 127.0.0.1 7002");
    tpc.wait_config("127.0.0.1:7002:1 node-1");
    wait_until("the switch in the new log", Duration::from_secs(5), || {
        tpc.log().contains("Replacing master node-1")
    });
    let old = std::fs::read_to_string(tpc.path("tpc.log.1")).unwrap();
    assert!(!old.contains("Replacing master node-1"), "{old}");
    assert!(tpc.terminate().success());
}
