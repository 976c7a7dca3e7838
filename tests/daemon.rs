//! The real `tpc` daemon against a fake sentinel (a RESP server inside the test) and a
//! fake Slack (an HTTP listener inside the test): writes, switches, reconnects, hostile
//! payloads, signals, and secrets kept out of the log.

mod fake_sentinel;
mod fake_slack;
#[path = "support/procs.rs"]
#[allow(dead_code)]
mod procs;
mod tpc_daemon;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use fake_sentinel::{master, FakeSentinel};
use fake_slack::Slack;
use procs::{comm_of, pid_alive, send_signal};
use tpc_daemon::{wait_until, Tpc};

const SECRET_AUTH: &str = "s3cret-auth-value";
const SECRET_TOKEN: &str = "xoxb-secret-token";

/// Starts tpc linked to the fake sentinel on `sentinel_port`, with `-redis_auth` set to
/// [`SECRET_AUTH`] and a reload command that appends a line to `reloads` in its folder.
fn start(sentinel_port: u16, extra: &[&str]) -> Tpc {
    let dir = tempfile::tempdir().unwrap();
    let cmd = format!(
        "sh -c 'echo reload >> {}'",
        dir.path().join("reloads").display()
    );
    let mut args = vec!["-cmd", &cmd, "-redis_auth", SECRET_AUTH];
    args.extend(extra);
    Tpc::start(dir, &[sentinel_port], &args)
}

/// How many times tpc ran its reload command.
fn reloads(tpc: &Tpc) -> usize {
    tpc.read("reloads").lines().count()
}

/// Waits until tpc's config holds `line`.
fn wait_config(tpc: &Tpc, line: &str) {
    tpc.wait_config(line, Duration::from_secs(10));
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
    let mut tpc = start(
        sentinel.port,
        &["-token", SECRET_TOKEN, "-slack_url", &slack.url],
    );
    wait_config(&tpc, "127.0.0.1:7001:1 node-1");
    wait_until("first reload", Duration::from_secs(5), || {
        reloads(&tpc) == 1
    });
    assert!(nutcracker_accepts(&tpc.path("nutcracker.yml")));
    sentinel.wait_subscribers(1, Duration::from_secs(5));

    sentinel.publish("+odown", "master node-1 127.0.0.1 7001 #quorum 2/2");
    sentinel.fail_over("node-1", 7001, 7002);
    wait_config(&tpc, "127.0.0.1:7002:1 node-1");
    wait_until("second reload", Duration::from_secs(5), || {
        reloads(&tpc) == 2
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
    assert_eq!(reloads(&tpc), 2);

    assert!(tpc.terminate().success());
    let log = tpc.log();
    assert!(
        log.contains("Replacing master node-1 127.0.0.1:7001 with 127.0.0.1:7002"),
        "{log}"
    );
    // One line per action, with its outcome and duration.
    assert!(
        log.contains("Wrote ") && log.contains(" ms: node-1 127.0.0.1:7001 -> 127.0.0.1:7002"),
        "{log}"
    );
    assert!(log.contains("Reloaded in "), "{log}");
    // Raw sentinel events are at debug.
    assert!(!log.contains("'+switch-master' from"), "{log}");
    assert!(!log.contains(SECRET_AUTH), "redis_auth leaked into the log");
    assert!(
        !log.contains(SECRET_TOKEN),
        "Slack token leaked into the log"
    );
}

#[test]
fn a_dropped_link_is_rebuilt_and_the_missed_switch_repaired() {
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let mut tpc = start(sentinel.port, &[]);
    wait_config(&tpc, "127.0.0.1:7001:1 node-1");
    sentinel.wait_subscribers(1, Duration::from_secs(5));
    let queries = sentinel.masters_queries();

    // A failover happens while tpc is not subscribed: it only learns it by querying.
    sentinel.set_masters(vec![master("node-1", 7002, 2)]);
    sentinel.drop_connections();
    wait_config(&tpc, "127.0.0.1:7002:1 node-1");
    assert!(sentinel.masters_queries() > queries);
    wait_until("reload after repair", Duration::from_secs(5), || {
        reloads(&tpc) == 2
    });
    assert!(tpc.terminate().success());
    assert!(tpc.log().contains("Lost sentinel"), "{}", tpc.log());
}

#[test]
fn hostile_payloads_never_reach_the_config() {
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let mut tpc = start(sentinel.port, &[]);
    wait_config(&tpc, "127.0.0.1:7001:1 node-1");
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
    sentinel.fail_over("node-1", 7001, 7003);
    wait_config(&tpc, "127.0.0.1:7003:1 node-1");
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
    // The start of a command is said at debug.
    let mut tpc = Tpc::start_env(
        tempfile::tempdir().unwrap(),
        &[sentinel.port],
        &["-cmd", &cmd],
        &[("RUST_LOG", "debug")],
    );
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
    let mut tpc = start(port, &[]);
    wait_until("several attempts", Duration::from_secs(10), || {
        tpc.log().matches("Connecting to sentinel").count() >= 3
    });
    assert!(tpc.is_running(), "tpc gave up");
    assert!(!tpc.path("nutcracker.yml").exists());
    assert!(tpc.terminate().success());
}

#[test]
fn sighup_reopens_the_log_file_for_logrotate() {
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let mut tpc = start(sentinel.port, &[]);
    wait_config(&tpc, "127.0.0.1:7001:1 node-1");
    sentinel.wait_subscribers(1, Duration::from_secs(5));
    // logrotate moves the file away, then signals.
    std::fs::rename(tpc.path("tpc.log"), tpc.path("tpc.log.1")).unwrap();
    Command::new("kill")
        .args(["-HUP", &tpc.pid().to_string()])
        .status()
        .unwrap();
    wait_until("a fresh log file", Duration::from_secs(5), || {
        tpc.log().contains("log file reopened")
    });
    sentinel.fail_over("node-1", 7001, 7002);
    wait_config(&tpc, "127.0.0.1:7002:1 node-1");
    wait_until("the switch in the new log", Duration::from_secs(5), || {
        tpc.log().contains("Replacing master node-1")
    });
    let old = std::fs::read_to_string(tpc.path("tpc.log.1")).unwrap();
    assert!(!old.contains("Replacing master node-1"), "{old}");
    assert!(tpc.terminate().success());
}

/// The PIDs a reload command wrote to `file`, one a line.
fn pids_in(file: &Path) -> Vec<u32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().parse().expect("a PID per line"))
        .collect()
}

/// SIGKILLs the `sleep`s among `pids` that are still alive (a test's leftovers).
fn kill_sleepers(pids: &[u32]) {
    for &pid in pids {
        if pid_alive(pid) && comm_of(pid).as_deref() == Some("sleep") {
            send_signal(pid, "KILL");
        }
    }
}

#[test]
fn sigterm_kills_a_hanging_reload_with_its_children_after_a_bounded_wait() {
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let file = pids.display();
    let cmd = format!("sh -c 'echo $$ >> {file}; sleep 100 & echo $! >> {file}; sleep 100'");
    let mut tpc = start(sentinel.port, &["-cmd", &cmd, "-cmd_timeout", "600"]);
    wait_until("reload started", Duration::from_secs(10), || {
        pids_in(&pids).len() == 2
    });
    let started = pids_in(&pids);
    let start = Instant::now();
    let status = tpc.terminate();
    let took = start.elapsed();
    let gone = {
        let deadline = Instant::now() + Duration::from_secs(5);
        while started.iter().any(|&p| pid_alive(p)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        !started.iter().any(|&p| pid_alive(p))
    };
    kill_sleepers(&started);
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(9), "took {took:?}");
    assert!(gone, "the reload command's processes outlived tpc");
    assert!(tpc.log().contains("killed"), "{}", tpc.log());
}

#[test]
fn a_reload_that_exits_0_leaving_a_child_on_its_output_succeeds_once() {
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let cmd = format!(
        "sh -c 'sleep 100 & echo $! >> {}; echo reloaded'",
        pids.display()
    );
    let mut tpc = start(sentinel.port, &["-cmd", &cmd, "-cmd_timeout", "2"]);
    wait_until("reload done", Duration::from_secs(10), || {
        tpc.log().contains("Reloaded in")
    });
    // Long enough for the timeout and a retry, had the command been taken as hanging.
    thread::sleep(Duration::from_secs(4));
    let log = tpc.log();
    let status = tpc.terminate();
    kill_sleepers(&pids_in(&pids));
    assert!(status.success(), "{status:?}");
    assert_eq!(log.matches("Reloaded in").count(), 1, "{log}");
    assert_eq!(pids_in(&pids).len(), 1, "{log}");
    assert!(!log.contains("killed"), "{log}");
    assert!(!log.contains("Error updating config"), "{log}");
}

#[test]
fn in_stdout_mode_a_reader_that_goes_away_ends_tpc_cleanly() {
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tpc.log").display().to_string();
    let sentinels = format!("127.0.0.1:{}", sentinel.port);
    let mut tpc = Tpc::start_exactly(
        dir,
        &[
            "-sentinels",
            &sentinels,
            "-cmd",
            "true",
            "-wait",
            "0",
            "-log",
            &log,
            "-listen_address=",
        ],
    );
    // Like `tpc ... | head -1`: one line read, then the pipe is closed.
    let mut first = String::new();
    BufReader::new(tpc.take_stdout().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, "redis:\n");
    sentinel.wait_subscribers(1, Duration::from_secs(5));
    // A real failover (the answers agree), so the new config is written whenever the
    // sentinel's confirmation comes.
    sentinel.fail_over("node-1", 7001, 7002);
    let status = tpc.wait_exit(Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    let stderr = tpc.read("stderr");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(tpc.log().contains("stdout is closed"), "{}", tpc.log());
}

#[test]
fn sentinel_text_reaches_slack_escaped() {
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let slack = Slack::start();
    let mut tpc = start(
        sentinel.port,
        &["-token", SECRET_TOKEN, "-slack_url", &slack.url],
    );
    wait_config(&tpc, "127.0.0.1:7001:1 node-1");
    sentinel.wait_subscribers(1, Duration::from_secs(5));
    sentinel.publish(
        "+odown",
        "master <!channel> 127.0.0.1 7001 <http://evil|x> & <@U123>",
    );
    slack.wait_for("+odown", Duration::from_secs(5));
    let texts = slack.texts();
    let text = texts.iter().find(|t| t.contains("+odown")).unwrap();
    assert_eq!(
        text,
        "+odown: master &lt;!channel&gt; 127.0.0.1:7001 &lt;http://evil|x&gt; &amp; &lt;@U123&gt; is objectively down"
    );
    assert!(tpc.terminate().success());
}

#[test]
fn the_same_sentinel_twice_is_followed_once() {
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let mut tpc = start(
        sentinel.port,
        &["-sentinels", &format!(":{0},127.0.0.1:{0}", sentinel.port)],
    );
    wait_config(&tpc, "127.0.0.1:7001:1 node-1");
    sentinel.wait_subscribers(1, Duration::from_secs(5));
    thread::sleep(Duration::from_millis(500));
    assert_eq!(sentinel.subscribers(), 1);
    assert!(tpc.terminate().success());
    let log = tpc.log();
    assert!(log.contains("WARN") && log.contains("twice"), "{log}");
}

/// Secrets YAML must quote (`: `, `#`, `'`), so that no replacement of their text can
/// find them in a config.
const FILE_AUTH: &str = "s3cr#t: it's";
const FILE_TOKEN: &str = "xoxb-t0ken#: it's";
const ENV_PASSWORD: &str = "sentinel-pw'#: x";

#[test]
fn secrets_from_files_or_the_environment_stay_out_of_recordings_logs_and_ps() {
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    sentinel.require_password("default", ENV_PASSWORD);
    let slack = Slack::start();
    let shared = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let path = shared.path().join(name);
        std::fs::write(&path, format!("{text}\n")).unwrap();
        path.display().to_string()
    };
    let (auth_file, token_file) = (file("auth", FILE_AUTH), file("token", FILE_TOKEN));
    let out = shared.path().join("nutcracker.yml").display().to_string();
    let record = shared.path().join("rec.jsonl").display().to_string();
    let args = [
        "-redis_auth_file",
        &auth_file,
        "-token_file",
        &token_file,
        "-slack_url",
        &slack.url,
        "-out",
        &out,
        "-record",
        &record,
    ];
    let env = [
        ("TPC_SENTINEL_PASSWORD", ENV_PASSWORD),
        ("RUST_LOG", "trace"),
    ];
    let mut logs = Vec::new();
    // The second run finds the config, with the secret in it, on disk.
    for run in 1..=2 {
        let mut tpc = Tpc::start_env(tempfile::tempdir().unwrap(), &[sentinel.port], &args, &env);
        wait_config(&tpc, "127.0.0.1:7001:1 node-1");
        sentinel.wait_subscribers(1, Duration::from_secs(5));
        tpc.wait_log("monitors 1 master(s)", 1, Duration::from_secs(5));
        let config: serde_yaml::Value = serde_yaml::from_str(&tpc.config()).unwrap();
        assert_eq!(config["redis"]["redis_auth"].as_str(), Some(FILE_AUTH));
        sentinel.publish("+odown", &format!("master node-{run} 127.0.0.1 7001"));
        slack.wait_for(&format!("node-{run}"), Duration::from_secs(5));
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", tpc.pid())).unwrap();
        logs.push(("argv", String::from_utf8_lossy(&cmdline).into_owned()));
        assert!(tpc.terminate().success());
        logs.push(("log", tpc.log()));
    }
    assert!(slack
        .authorizations()
        .iter()
        .all(|a| *a == format!("Bearer {FILE_TOKEN}")));
    assert!(
        logs.iter().any(|(_, l)| l.contains("TRACE")),
        "not at trace level"
    );
    logs.push(("recording", std::fs::read_to_string(&record).unwrap()));
    logs.push((
        "older recording",
        std::fs::read_to_string(format!("{record}.1")).unwrap(),
    ));
    for (what, text) in logs {
        for fragment in ["s3cr", "t0ken", "sentinel-pw"] {
            assert!(
                !text.contains(fragment),
                "{fragment} in the {what}:\n{text}"
            );
        }
    }
}

/// `-log_format json`: every log line is one JSON object with a time, a level and the
/// message, for log shippers.
#[test]
fn json_logs_are_one_object_a_line() {
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let mut tpc = start(sentinel.port, &["-log_format", "json"]);
    tpc.wait_config("127.0.0.1:7001:1 node-1", Duration::from_secs(10));
    wait_until("the reload", Duration::from_secs(10), || reloads(&tpc) == 1);
    tpc.stop();
    let log = tpc.log();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() >= 3, "{log}");
    for line in &lines {
        assert!(line["timestamp"].is_string(), "{line}");
        assert!(line["level"].is_string(), "{line}");
        assert!(line["message"].is_string(), "{line}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l["message"].as_str().unwrap().starts_with("Reloaded in")),
        "{log}"
    );
}

/// At start tpc says how many masters it follows in one line, not one line per master:
/// a deployment may have thousands.
#[test]
fn start_up_says_how_many_masters_in_one_line() {
    let masters = (1..=200).map(|i| master(&format!("node-{i}"), 7000 + i, 1));
    let sentinel = FakeSentinel::start(masters.collect());
    let mut tpc = Tpc::start(tempfile::tempdir().unwrap(), &[sentinel.port], &[]);
    tpc.wait_config("127.0.0.1:7200:1 node-200", Duration::from_secs(10));
    tpc.wait_log(
        "Start-up over: following 200 master(s)",
        1,
        Duration::from_secs(5),
    );
    assert!(tpc.terminate().success());
    assert_eq!(tpc.log_count("Adding master"), 0, "{}", tpc.log());
}
