//! The real `tpc` daemon under faults a real sentinel won't produce on demand, with fake
//! sentinels (RESP servers inside the test) and a fake Slack: sentinels that disagree,
//! a stale answer after a switch, hostile answers to `SENTINEL MASTERS`, configs
//! nutcracker rejects, reload commands that fail, an output folder that cannot be
//! written, and sentinel passwords kept out of logs and `ps`.

mod fake_sentinel;
mod fake_slack;
mod tpc_daemon;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use fake_sentinel::{entries_reply, master, FakeSentinel, MastersReply};
use fake_slack::Slack;
use tpc_daemon::{wait_until, Tpc};

fn server(port: u16, name: &str) -> String {
    format!("127.0.0.1:{port}:1 {name}")
}

/// Asserts that `f` stays true for all of `d`.
fn holds_for(what: &str, d: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < d {
        assert!(f(), "no longer true after {:?}: {what}", start.elapsed());
        thread::sleep(Duration::from_millis(25));
    }
}

/// The real nutcracker binary: on PATH, or in /usr/sbin where Debian puts it.
fn real_nutcracker() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join("nutcracker"))
        .find(|p| p.is_file())
        .expect("nutcracker must be installed (run scripts/test.sh)")
}

fn nutcracker_accepts(path: &Path) -> bool {
    Command::new(real_nutcracker())
        .arg("-t")
        .arg("-c")
        .arg(path)
        .output()
        .unwrap()
        .status
        .success()
}

/// Writes an executable script.
fn script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Every file under `dir` whose name looks like one of tpc's temp files.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(temp_files(&path));
        } else if path.to_string_lossy().ends_with(".tmp") {
            found.push(path);
        }
    }
    found
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn two_sentinels_disagree_and_the_higher_epoch_wins() {
    let a = FakeSentinel::start(vec![master("node-1", 7001, 5)]);
    let b = FakeSentinel::start(vec![master("node-1", 7002, 3)]);
    let tpc = Tpc::start(
        tempfile::tempdir().unwrap(),
        &[a.port, b.port],
        &["-reconcile_interval", "1"],
    );
    tpc.wait_config(&server(7001, "node-1"), secs(10));
    a.wait_subscribers(1, secs(5));
    b.wait_subscribers(1, secs(5));
    let (qa, qb) = (a.masters_queries(), b.masters_queries());

    // Both are asked again every second; B's lower epoch never wins.
    holds_for("config at 7001", Duration::from_millis(1500), || {
        let c = tpc.config();
        c.contains(&server(7001, "node-1")) && !c.contains(":7002:")
    });
    wait_until("both sentinels queried again", secs(3), || {
        a.masters_queries() > qa && b.masters_queries() > qb
    });
    let stale = format!(
        "Ignoring node-1 at 127.0.0.1:7002 from 127.0.0.1:{}: its epoch 3 is older than 5",
        b.port
    );
    wait_until("the stale answer logged", secs(3), || {
        tpc.log().contains(&stale)
    });

    // B learns of a newer failover than A: now B is the truth.
    b.set_masters(vec![master("node-1", 7003, 6)]);
    tpc.wait_config(&server(7003, "node-1"), secs(4));
    let stale = format!(
        "Ignoring node-1 at 127.0.0.1:7001 from 127.0.0.1:{}: its epoch 5 is older than 6",
        a.port
    );
    wait_until("A's answer now stale", secs(3), || {
        tpc.log().contains(&stale)
    });
    holds_for("config at 7003", Duration::from_millis(1200), || {
        tpc.config().contains(&server(7003, "node-1"))
    });
    assert!(nutcracker_accepts(&tpc.out));
}

#[test]
fn a_switch_then_a_stale_snapshot_keeps_the_switch() {
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let mut tpc = Tpc::start(
        tempfile::tempdir().unwrap(),
        &[s.port],
        &["-reconcile_interval", "0"],
    );
    tpc.wait_config(&server(7001, "node-1"), secs(10));
    s.wait_subscribers(1, secs(5));
    let queries = s.masters_queries();

    // The sentinel still answers 7001 at epoch 1: its view lags the switch it announced.
    s.publish("+switch-master", "node-1 127.0.0.1 7001 127.0.0.1 7002");
    tpc.wait_config(&server(7002, "node-1"), secs(5));
    wait_until("a query confirming the switch", secs(5), || {
        s.masters_queries() > queries
    });
    let stale = format!(
        "Ignoring node-1 at 127.0.0.1:7001 from 127.0.0.1:{}: its epoch 1 is older than 2",
        s.port
    );
    wait_until("the stale answer logged", secs(5), || {
        tpc.log().contains(&stale)
    });
    holds_for("config at 7002", Duration::from_millis(500), || {
        tpc.config().contains(&server(7002, "node-1"))
    });

    // A new link asks again and hears the same stale answer: still 7002.
    let queries = s.masters_queries();
    s.drop_connections();
    wait_until("a query on the new link", secs(5), || {
        s.masters_queries() > queries
    });
    wait_until("the stale answer logged again", secs(5), || {
        tpc.log_count(&stale) >= 2
    });
    holds_for("config at 7002", Duration::from_millis(500), || {
        tpc.config().contains(&server(7002, "node-1"))
    });
    assert!(!tpc.config().contains(":7001:"));
    tpc.stop();
}

#[test]
fn hostile_sentinel_answers_reset_the_link_without_harm() {
    // Two sentinels, each with its own run of hostile answers: each link backs off on
    // its own, and one bad sentinel does not disturb the other link.
    let a = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let b = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let mut tpc = Tpc::start(
        tempfile::tempdir().unwrap(),
        &[a.port, b.port],
        &["-reconcile_interval", "1"],
    );
    tpc.wait_config(&server(7001, "node-1"), secs(10));
    a.wait_subscribers(1, secs(5));
    b.wait_subscribers(1, secs(5));
    let good = tpc.config();
    let modified = std::fs::metadata(&tpc.out).unwrap().modified().unwrap();
    let (conns_a, conns_b) = (a.connections(), b.connections());
    let lost_before = tpc.log_count("Lost sentinel") + tpc.log_count("Cannot reach sentinel");

    use MastersReply::{Raw, RawThenClose};
    a.queue_masters_replies(vec![
        // A status reply, an integer, and nested arrays of non-strings.
        Raw("+OK\r\n".into()),
        Raw(":42\r\n".into()),
        // A bulk string holding a forged log line: read as one entry without fields, so
        // no master at all (and the line never reaches the log as a line of its own).
        Raw("$40\r\nx\n2026-01-01T00:00:00Z  INFO forged line\r\n".into()),
        Raw("*2\r\n*2\r\n:1\r\n*1\r\n:2\r\n*1\r\n*0\r\n".into()),
    ]);
    b.queue_masters_replies(vec![
        // Not RESP at all, an error reply, and an answer cut off by a closed connection.
        Raw("hello, this is not RESP\r\n".into()),
        Raw(
            "-NOPERM this user has no permissions to run the 'sentinel|masters' command\r\n".into(),
        ),
        RawThenClose("*1\r\n*10\r\n$4\r\nname\r\n$6\r\nnode-1\r\n$2\r\nip\r\n$9\r\n127.0".into()),
    ]);
    wait_until("every hostile answer given", secs(12), || {
        a.queued_replies() == 0 && b.queued_replies() == 0
    });
    // And a good answer after them, from each.
    let (qa, qb) = (a.masters_queries(), b.masters_queries());
    wait_until("good answers again", secs(10), || {
        a.masters_queries() > qa && b.masters_queries() > qb
    });
    assert!(tpc.is_running(), "tpc died on a hostile answer");
    assert_eq!(tpc.config(), good);
    assert_eq!(
        std::fs::metadata(&tpc.out).unwrap().modified().unwrap(),
        modified,
        "the config was rewritten"
    );
    assert!(temp_files(tpc.dir.path()).is_empty());
    let log = tpc.log();
    let resets = log.matches("Lost sentinel").count()
        + log.matches("Cannot reach sentinel").count()
        - lost_before;
    assert!(resets >= 6, "only {resets} links reset:\n{log}");
    assert!(
        !log.lines().any(|l| l.starts_with("2026-01-01T00:00:00Z")),
        "a sentinel's answer forged a log line:\n{log}"
    );
    assert!(
        a.connections() >= conns_a + 2 && b.connections() >= conns_b + 2,
        "tpc did not reconnect ({} -> {}, {} -> {})",
        conns_a,
        a.connections(),
        conns_b,
        b.connections()
    );

    // A failover, reported among entries tpc must refuse: hostile names and bad ports.
    let hostile = entries_reply(&[
        vec![
            ("name", "evil\n  redis_auth: x"),
            ("ip", "127.0.0.1"),
            ("port", "7101"),
        ],
        vec![("name", "a:b"), ("ip", "127.0.0.1"), ("port", "7102")],
        vec![
            ("name", "\"quoted\""),
            ("ip", "127.0.0.1"),
            ("port", "7103"),
        ],
        vec![("name", "node-2"), ("ip", "127.0.0.1"), ("port", "99999")],
        vec![("name", "node-3"), ("ip", "127.0.0.1"), ("port", "x1")],
        vec![
            ("name", "node-4"),
            ("ip", "127.0.0.1\n  - 1.2.3.4"),
            ("port", "7104"),
        ],
        vec![("name", "node-5"), ("ip", "127.0.0.1")],
        vec![
            ("name", "node-1"),
            ("ip", "127.0.0.1"),
            ("port", "7002"),
            ("flags", "master"),
            ("config-epoch", "2"),
        ],
    ]);
    a.set_raw_masters(Some(hostile.clone()));
    b.set_raw_masters(Some(hostile));
    tpc.wait_config(&server(7002, "node-1"), secs(8));
    let config = tpc.config();
    let servers: Vec<&str> = config
        .lines()
        .filter(|l| l.trim_start().starts_with("- "))
        .collect();
    assert_eq!(servers, ["  - 127.0.0.1:7002:1 node-1"], "{config}");
    for bad in [
        "evil",
        "redis_auth",
        "a:b",
        "quoted",
        "node-2",
        "node-4",
        "1.2.3.4",
    ] {
        assert!(!config.contains(bad), "{bad} in\n{config}");
    }
    assert!(nutcracker_accepts(&tpc.out), "{config}");
    let log = tpc.log();
    assert!(log.contains("Skipping a master"), "{log}");
    assert!(
        !log.lines().any(|l| l.starts_with("  redis_auth")),
        "a master name broke a log line:\n{log}"
    );
    tpc.stop();
}

#[test]
fn a_config_nutcracker_rejects_never_replaces_the_live_one() {
    let dir = tempfile::tempdir().unwrap();
    let checker = dir.path().join("nutcracker-check");
    script(
        &checker,
        &format!(
            "#!/bin/bash\n\
             if [ -e \"$(dirname \"$0\")/reject\" ]; then\n\
             \x20 echo \"nutcracker: configuration file 'x' syntax is invalid\" >&2\n\
             \x20 exit 1\n\
             fi\n\
             exec {} \"$@\"\n",
            real_nutcracker().display()
        ),
    );
    let reject = dir.path().join("reject");
    let reloads = dir.path().join("reloads");
    let cmd = format!("sh -c 'echo reload >> {}'", reloads.display());
    let checker_arg = checker.display().to_string();
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let slack = Slack::start();
    let mut tpc = Tpc::start(
        dir,
        &[s.port],
        &[
            "-nutcracker",
            &checker_arg,
            "-cmd",
            &cmd,
            "-token",
            "xoxb-test",
            "-slack_url",
            &slack.url,
        ],
    );
    let reload_count = || {
        std::fs::read_to_string(&reloads)
            .unwrap_or_default()
            .lines()
            .count()
    };
    tpc.wait_config(&server(7001, "node-1"), secs(10));
    wait_until("the first reload", secs(5), || reload_count() == 1);
    s.wait_subscribers(1, secs(5));
    let first = tpc.config();
    let bak = PathBuf::from(format!("{}.bak", tpc.out.display()));
    assert!(!bak.exists(), "a .bak with no previous config");

    std::fs::write(&reject, "").unwrap();
    s.publish("+switch-master", "node-1 127.0.0.1 7001 127.0.0.1 7002");
    tpc.wait_log("nutcracker -t rejected the new config", 1, secs(5));
    // The retry after 1 s fails too; still one notification for the streak.
    tpc.wait_log("Error writing config", 2, secs(5));
    assert_eq!(
        tpc.config(),
        first,
        "a rejected config replaced the live one"
    );
    assert!(!bak.exists(), "a rejected config touched the .bak");
    assert!(temp_files(tpc.dir.path()).is_empty(), "temp file left");
    assert_eq!(reload_count(), 1, "reloaded without a new config");
    slack.wait_for("Error writing config", secs(5));
    let errors: Vec<String> = slack
        .texts()
        .into_iter()
        .filter(|t| t.contains("Error writing config"))
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("nutcracker -t rejected"), "{errors:?}");
    assert!(errors[0].contains("syntax is invalid"), "{errors:?}");

    // nutcracker accepts again: the retry (2 s after the second failure) goes through.
    std::fs::remove_file(&reject).unwrap();
    tpc.wait_config(&server(7002, "node-1"), secs(6));
    assert_eq!(std::fs::read_to_string(&bak).unwrap(), first);
    assert!(nutcracker_accepts(&tpc.out));
    wait_until("the reload of the new config", secs(5), || {
        reload_count() == 2
    });
    slack.wait_for("Config written again after failures", secs(5));
    assert_eq!(slack.count("Error writing config"), 1);
    assert!(temp_files(tpc.dir.path()).is_empty(), "temp file left");
    tpc.stop();
}

/// A reload command that logs each start time to `dir/runs` and fails while
/// `dir/fail_left` holds a positive count (decrementing it); each finished run adds a
/// line to `dir/done`.
fn flaky_reload(dir: &Path) -> PathBuf {
    let path = dir.join("reload.sh");
    script(
        &path,
        &format!(
            "#!/bin/bash\n\
             d={}\n\
             date +%s.%N >> \"$d/runs\"\n\
             left=$(cat \"$d/fail_left\" 2>/dev/null || echo 0)\n\
             if [ \"$left\" -gt 0 ]; then\n\
             \x20 echo $((left - 1)) > \"$d/fail_left\"\n\
             \x20 echo simulated reload failure >&2\n\
             \x20 echo failed >> \"$d/done\"\n\
             \x20 exit 1\n\
             fi\n\
             echo ok >> \"$d/done\"\n",
            dir.display()
        ),
    );
    path
}

fn run_times(dir: &Path) -> Vec<f64> {
    std::fs::read_to_string(dir.join("runs"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect()
}

#[test]
fn a_reload_that_fails_twice_then_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let reload = flaky_reload(dir.path()).display().to_string();
    let d = dir.path().to_path_buf();
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let slack = Slack::start();
    let mut tpc = Tpc::start(
        dir,
        &[s.port],
        &[
            "-cmd",
            &reload,
            "-wait",
            "0",
            "-token",
            "xoxb-test",
            "-slack_url",
            &slack.url,
        ],
    );
    tpc.wait_config(&server(7001, "node-1"), secs(10));
    wait_until("the first reload done", secs(5), || {
        std::fs::read_to_string(d.join("done")).is_ok_and(|t| t == "ok\n")
    });
    s.wait_subscribers(1, secs(5));

    std::fs::write(d.join("fail_left"), "2").unwrap();
    s.publish("+switch-master", "node-1 127.0.0.1 7001 127.0.0.1 7002");
    tpc.wait_config(&server(7002, "node-1"), secs(5));
    wait_until("three runs for the switch", secs(10), || {
        run_times(&d).len() == 4
    });
    slack.wait_for("Reload command succeeded again", secs(5));
    // Nothing more is owed.
    holds_for("no further run", Duration::from_millis(1200), || {
        run_times(&d).len() == 4
    });
    let t = run_times(&d);
    let (gap1, gap2) = (t[2] - t[1], t[3] - t[2]);
    assert!((0.95..2.0).contains(&gap1), "first retry after {gap1:.3}s");
    assert!((1.95..4.0).contains(&gap2), "second retry after {gap2:.3}s");
    assert_eq!(
        slack.count("Error running reload command"),
        1,
        "{:?}",
        slack.texts()
    );
    assert_eq!(
        slack.count("Reload command succeeded again"),
        1,
        "{:?}",
        slack.texts()
    );
    let log = tpc.log();
    assert!(
        log.contains("Command stderr: simulated reload failure"),
        "{log}"
    );
    assert_eq!(log.matches("Command failed").count(), 2, "{log}");
    tpc.stop();
}

#[test]
fn a_failed_reload_is_retried_no_sooner_than_wait() {
    let dir = tempfile::tempdir().unwrap();
    let reload = flaky_reload(dir.path()).display().to_string();
    let d = dir.path().to_path_buf();
    std::fs::write(d.join("fail_left"), "1").unwrap();
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let mut tpc = Tpc::start(dir, &[s.port], &["-cmd", &reload, "-wait", "2"]);
    tpc.wait_config(&server(7001, "node-1"), secs(10));
    // The first run fails; the back-off (1 s) is shorter than -wait (2 s).
    wait_until("the retry", secs(8), || run_times(&d).len() == 2);
    let t = run_times(&d);
    assert!(t[1] - t[0] >= 1.95, "retried after {:.3}s", t[1] - t[0]);
    holds_for("no further run", Duration::from_millis(500), || {
        run_times(&d).len() == 2
    });
    tpc.stop();
}

/// Makes a folder immutable with `chattr +i` while alive, if the filesystem allows.
struct Immutable(PathBuf);

impl Immutable {
    fn try_new(dir: &Path) -> Option<Immutable> {
        let ok = Command::new("chattr")
            .arg("+i")
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let guard = ok.then(|| Immutable(dir.to_path_buf()))?;
        // Root may still write where immutability is not enforced: check.
        match std::fs::write(dir.join("probe"), "") {
            Ok(()) => None,
            Err(_) => Some(guard),
        }
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
        let _ = std::fs::remove_file(self.0.join("probe"));
    }
}

#[test]
fn an_unwritable_output_directory_is_retried() {
    struct Case {
        name: &'static str,
        tpc: Tpc,
        slack: Slack,
        fix: Box<dyn FnOnce()>,
    }
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let start_with = |sentinel: &FakeSentinel, dir: tempfile::TempDir, out: &Path| {
        let slack = Slack::start();
        let out = out.display().to_string();
        let tpc = Tpc::start(
            dir,
            &[sentinel.port],
            &[
                "-out",
                &out,
                "-token",
                "xoxb-test",
                "-slack_url",
                &slack.url,
            ],
        );
        (tpc, slack)
    };
    let start = |dir, out: &Path| start_with(&s, dir, out);
    let mut cases = Vec::new();

    // The folder is gone after tpc started (a volume unmounted): tpc checks at start
    // that it exists. The sentinel names the master only once the folder is gone.
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("etc/nutcracker");
    std::fs::create_dir_all(&folder).unwrap();
    let late = FakeSentinel::start(vec![]);
    let (tpc, slack) = start_with(&late, dir, &folder.join("nutcracker.yml"));
    tpc.wait_log("monitors 0 master(s)", 1, secs(10));
    std::fs::remove_dir_all(&folder).unwrap();
    late.set_masters(vec![master("node-1", 7001, 1)]);
    late.drop_connections();
    cases.push(Case {
        name: "folder gone",
        tpc,
        slack,
        fix: Box::new(move || std::fs::create_dir_all(&folder).unwrap()),
    });

    // An immutable folder, where chattr works (root ignores permissions otherwise).
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("locked");
    std::fs::create_dir(&folder).unwrap();
    if let Some(guard) = Immutable::try_new(&folder) {
        let (tpc, slack) = start(dir, &folder.join("nutcracker.yml"));
        cases.push(Case {
            name: "immutable folder",
            tpc,
            slack,
            fix: Box::new(move || drop(guard)),
        });
    }

    for case in &mut cases {
        // A first failure and its retry 1 s later.
        case.tpc.wait_log("Error writing config", 2, secs(10));
        assert!(case.tpc.is_running(), "{}: tpc exited", case.name);
        assert!(!case.tpc.out.exists(), "{}", case.name);
        assert!(temp_files(case.tpc.dir.path()).is_empty(), "{}", case.name);
        case.slack.wait_for("Error writing config", secs(5));
        assert_eq!(
            case.slack.count("Error writing config"),
            1,
            "{}: {:?}",
            case.name,
            case.slack.texts()
        );
    }
    // Fix every case before the next retry (2 s after the second failure) of any.
    let cases: Vec<(&str, Tpc, Slack)> = cases
        .into_iter()
        .map(|case| {
            (case.fix)();
            (case.name, case.tpc, case.slack)
        })
        .collect();
    for (name, tpc, slack) in &cases {
        tpc.wait_config(&server(7001, "node-1"), secs(8));
        assert!(nutcracker_accepts(&tpc.out), "{name}");
        slack.wait_for("Config written again after failures", secs(5));
        assert_eq!(slack.count("Error writing config"), 1, "{name}");
        assert!(temp_files(tpc.dir.path()).is_empty(), "{name}");
        let mode = std::fs::metadata(&tpc.out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
}

const PASSWORD: &str = "sentinel-pw-8d1f3c";

fn cmdline(tpc: &Tpc) -> String {
    std::fs::read(format!("/proc/{}/cmdline", tpc.pid()))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap()
}

fn auths(s: &FakeSentinel) -> Vec<Vec<String>> {
    s.commands()
        .into_iter()
        .filter(|c| c[0].eq_ignore_ascii_case("AUTH"))
        .collect()
}

#[test]
fn secrets_stay_out_of_logs_and_ps() {
    // From the environment, for the default user.
    let env_sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    env_sentinel.require_password("default", PASSWORD);
    let mut from_env = Tpc::start_env(
        tempfile::tempdir().unwrap(),
        &[env_sentinel.port],
        &[],
        &[("TPC_SENTINEL_PASSWORD", PASSWORD)],
    );

    // From a file (with its trailing newline), for an ACL user.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sentinel.pw");
    std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    let file = file.display().to_string();
    let file_sentinel = FakeSentinel::start(vec![master("node-1", 7002, 1)]);
    file_sentinel.require_password("tpc", PASSWORD);
    let mut from_file = Tpc::start(
        dir,
        &[file_sentinel.port],
        &[
            "-sentinel_username",
            "tpc",
            "-sentinel_password_file",
            &file,
        ],
    );

    // The wrong password: tpc keeps trying, and says why without saying the password.
    let wrong_password = "wrong-pw-55e0a9";
    let wrong_sentinel = FakeSentinel::start(vec![master("node-1", 7003, 1)]);
    wrong_sentinel.require_password("default", PASSWORD);
    let mut wrong = Tpc::start_env(
        tempfile::tempdir().unwrap(),
        &[wrong_sentinel.port],
        &[],
        &[("TPC_SENTINEL_PASSWORD", wrong_password)],
    );

    from_env.wait_config(&server(7001, "node-1"), secs(10));
    from_file.wait_config(&server(7002, "node-1"), secs(10));
    env_sentinel.wait_subscribers(1, secs(5));
    file_sentinel.wait_subscribers(1, secs(5));
    assert!(auths(&env_sentinel)
        .iter()
        .all(|c| c[1..] == [PASSWORD.to_string()]));
    assert!(auths(&file_sentinel)
        .iter()
        .all(|c| c[1..] == ["tpc".to_string(), PASSWORD.to_string()]));
    assert!(!auths(&env_sentinel).is_empty() && !auths(&file_sentinel).is_empty());
    // redis-rs logs in first on every connection: nothing was refused for want of AUTH.
    assert_eq!(
        env_sentinel.noauth_replies() + file_sentinel.noauth_replies(),
        0
    );

    wait_until("several refused logins", secs(10), || {
        auths(&wrong_sentinel).len() >= 3
    });
    wait_until("the refusal logged", secs(5), || {
        wrong.log().contains("Password authentication failed")
    });
    assert!(wrong.is_running(), "tpc gave up on a wrong password");
    assert!(!wrong.out.exists());
    assert_eq!(wrong_sentinel.subscribers(), 0);

    for tpc in [&from_env, &from_file, &wrong] {
        assert!(!cmdline(tpc).contains(PASSWORD), "{}", cmdline(tpc));
    }
    from_env.stop();
    from_file.stop();
    wrong.stop();
    for (tpc, secret) in [
        (&from_env, PASSWORD),
        (&from_file, PASSWORD),
        (&wrong, wrong_password),
    ] {
        let log = tpc.log();
        assert!(
            !log.contains(secret),
            "the password leaked into the log:\n{log}"
        );
    }
}
