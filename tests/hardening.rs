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

/// Waits until no temp file is left under `dir`: the mark of what nutcracker loaded is
/// written just after a reload, so one may be on its way to its name for a moment.
fn no_temp_file_left(dir: &Path, what: &str) {
    wait_until(what, Duration::from_secs(5), || temp_files(dir).is_empty());
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

    // B learns of a newer failover than A: with no majority against it, B's newer
    // epoch is the truth.
    b.set_masters(vec![master("node-1", 7003, 6)]);
    tpc.wait_config(&server(7003, "node-1"), secs(4));
    holds_for("config at 7003", Duration::from_millis(1200), || {
        tpc.config().contains(&server(7003, "node-1"))
    });
    assert!(nutcracker_accepts(&tpc.out));
}

/// At start the first sentinel to answer does not decide alone: a stale one answering
/// before the others, with the dead master, leaves a correct file on disk untouched.
#[test]
fn a_stale_sentinel_answering_first_at_start_does_not_touch_a_correct_file() {
    let keep = tempfile::tempdir().unwrap();
    let d = keep.path().to_path_buf();
    let reload = flaky_reload(&d).display().to_string();
    let out = d.join("nutcracker.yml");
    let out_arg = out.display().to_string();
    let args = ["-cmd", &reload, "-out", &out_arg];
    let a = FakeSentinel::start(vec![master("node-1", 7002, 2)]);
    let b = FakeSentinel::start(vec![master("node-1", 7002, 2)]);
    let mut tpc = Tpc::start(tempfile::tempdir().unwrap(), &[a.port, b.port], &args);
    tpc.wait_config(&server(7002, "node-1"), secs(10));
    wait_until("the first reload", secs(5), || run_times(&d).len() == 1);
    tpc.stop();
    let inode = |p: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
    let (good, ino) = (std::fs::read_to_string(&out).unwrap(), inode(&out));

    // Restarted beside a stale sentinel that answers at once; the others take 100 ms
    // per command (several round trips before their first answer, within the 1 s grace).
    let stale = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    a.set_delay(Duration::from_millis(100));
    b.set_delay(Duration::from_millis(100));
    // A grace well past their first answer, so a loaded machine cannot end it first.
    let args = [&args[..], &["-start_grace_ms", "3000"]].concat();
    let tpc = Tpc::start(
        tempfile::tempdir().unwrap(),
        &[stale.port, a.port, b.port],
        &args,
    );
    wait_until("every sentinel asked", secs(10), || {
        a.masters_queries() > 1 && b.masters_queries() > 1 && stale.masters_queries() > 0
    });
    holds_for("the file untouched", Duration::from_millis(1500), || {
        inode(&out) == ino && run_times(&d).len() == 1
    });
    assert_eq!(std::fs::read_to_string(&out).unwrap(), good);
    assert!(!tpc.log().contains("Wrote "), "{}", tpc.log());
}

/// An outlier the majority overruled stays overruled when its link drops and comes back
/// (its reconnect answer is no new evidence).
#[test]
fn an_overruled_outlier_stays_overruled_across_reconnects() {
    let a = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let b = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let liar = FakeSentinel::start(vec![master("node-1", 7666, 50)]);
    let tpc = Tpc::start(
        tempfile::tempdir().unwrap(),
        &[a.port, b.port, liar.port],
        &["-confirm_grace_ms", "1000", "-reconcile_interval", "1"],
    );
    tpc.wait_log("but the majority reports", 1, secs(10));
    tpc.wait_config(&server(7001, "node-1"), secs(5));
    for _ in 0..3 {
        let connections = liar.connections();
        liar.drop_connections();
        wait_until("the liar linked again", secs(5), || {
            liar.connections() > connections && liar.subscribers() > 0
        });
        holds_for("the config on the majority's master", secs(2), || {
            tpc.config().contains(&server(7001, "node-1"))
        });
    }
    assert_eq!(
        tpc.log_count("but the majority reports"),
        1,
        "{}",
        tpc.log()
    );
}

/// A sentinel that keeps announcing a switch its own answers contradict is followed at
/// most once (then corrected); its repeats move nothing and reload nothing.
#[test]
fn a_switch_repeated_against_its_own_answers_is_not_followed_again() {
    let dir = tempfile::tempdir().unwrap();
    let reload = flaky_reload(dir.path()).display().to_string();
    let d = dir.path().to_path_buf();
    let fakes: Vec<FakeSentinel> = (0..3)
        .map(|_| FakeSentinel::start(vec![master("node-1", 7001, 1)]))
        .collect();
    let ports: Vec<u16> = fakes.iter().map(|f| f.port).collect();
    let tpc = Tpc::start(dir, &ports, &["-cmd", &reload, "-wait", "0"]);
    tpc.wait_config(&server(7001, "node-1"), secs(10));
    fakes[2].wait_subscribers(1, secs(5));
    wait_until("the first reload", secs(5), || run_times(&d).len() == 1);
    for _ in 0..4 {
        fakes[2].publish("+switch-master", "node-1 127.0.0.1 7001 127.0.0.1 7666");
        thread::sleep(Duration::from_millis(700));
    }
    holds_for("the config on the answers' master", secs(1), || {
        tpc.config().contains(&server(7001, "node-1"))
    });
    // The first time: followed, then corrected; the repeats: nothing.
    assert!(run_times(&d).len() <= 3, "{} reloads", run_times(&d).len());
    assert_eq!(
        tpc.log_count("its own answer contradicted the same switch"),
        1,
        "{}",
        tpc.log()
    );
}

/// Text from a sentinel cannot forge a log line nor make a huge one: control characters
/// are escaped and long payloads cut short.
#[test]
fn sentinel_text_cannot_forge_or_flood_log_lines() {
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    // Raw events are logged at debug.
    let tpc = Tpc::start_env(
        tempfile::tempdir().unwrap(),
        &[s.port],
        &[],
        &[("RUST_LOG", "debug")],
    );
    tpc.wait_config(&server(7001, "node-1"), secs(10));
    s.wait_subscribers(1, secs(5));
    s.publish("+x\nFORGED ERROR Writing to outfile", "y\nFORGED too");
    s.publish(
        "+switch-master",
        &format!("node-1 {}", "z".repeat(1_000_000)),
    );
    s.publish("+sdown", &format!("slave {}", "w".repeat(1_000_000)));
    tpc.wait_log("Ignoring malformed '+sdown'", 1, secs(5));
    let log = tpc.log();
    assert!(!log.lines().any(|l| l.starts_with("FORGED")), "{log}");
    assert!(log.contains("+x\\nFORGED"), "{log}");
    assert!(log.len() < 100_000, "the log grew to {} bytes", log.len());
}

/// Two sentinels that disagree at the same epoch, asked again every second: one config,
/// one reload, one warning; no write and reload on every reconcile.
#[test]
fn sentinels_disagreeing_at_the_same_epoch_cause_no_reload_loop() {
    let dir = tempfile::tempdir().unwrap();
    let reload = flaky_reload(dir.path()).display().to_string();
    let d = dir.path().to_path_buf();
    let a = FakeSentinel::start(vec![master("node-1", 7001, 5)]);
    let b = FakeSentinel::start(vec![master("node-1", 7002, 5)]);
    let tpc = Tpc::start(
        dir,
        &[a.port, b.port],
        &["-cmd", &reload, "-reconcile_interval", "1"],
    );
    wait_until("the first reload", secs(10), || run_times(&d).len() == 1);
    let (qa, qb) = (a.masters_queries(), b.masters_queries());
    let first = tpc.config();
    wait_until("three more rounds of answers", secs(6), || {
        a.masters_queries() >= qa + 3 && b.masters_queries() >= qb + 3
    });
    assert_eq!(run_times(&d).len(), 1, "a reload per reconcile");
    assert_eq!(tpc.config(), first);
    assert_eq!(
        tpc.log_count("Sentinels disagree about node-1"),
        1,
        "{}",
        tpc.log()
    );
}

/// A switch is confirmed by asking every sentinel about the one master that moved
/// (`SENTINEL MASTER <name>`), not for every master: the cost of a switch does not
/// grow with the number of masters. Start, reconnects and reconciling still ask for all.
#[test]
fn a_switch_is_confirmed_by_asking_about_its_master_alone() {
    let masters: Vec<_> = (1..=50)
        .map(|i| master(&format!("node-{i}"), 7000 + i, 1))
        .collect();
    let a = FakeSentinel::start(masters.clone());
    let b = FakeSentinel::start(masters);
    let tpc = Tpc::start(
        tempfile::tempdir().unwrap(),
        &[a.port, b.port],
        &["-reconcile_interval", "0"],
    );
    tpc.wait_config(&server(7050, "node-50"), secs(10));
    a.wait_subscribers(1, secs(5));
    b.wait_subscribers(1, secs(5));
    let (qa, qb) = (a.masters_queries(), b.masters_queries());

    a.fail_over("node-7", 7007, 8007);
    b.fail_over("node-7", 7007, 8007);
    tpc.wait_config(&server(8007, "node-7"), secs(5));
    wait_until("both sentinels asked about node-7", secs(5), || {
        a.master_queries() > 0 && b.master_queries() > 0
    });
    // Past the links' one-second gap between whole queries.
    thread::sleep(Duration::from_millis(1_500));
    assert_eq!((a.masters_queries(), b.masters_queries()), (qa, qb));
    for s in [&a, &b] {
        let asked: Vec<Vec<String>> = s
            .commands()
            .into_iter()
            .filter(|c| c.len() == 3 && c[1].eq_ignore_ascii_case("MASTER"))
            .collect();
        assert!(!asked.is_empty());
        assert!(asked.iter().all(|c| c[2] == "node-7"), "{asked:?}");
    }
    assert!(tpc.config().contains(&server(8007, "node-7")));

    // A reconnect still asks for every master.
    a.drop_connections();
    wait_until("a whole query on the new link", secs(5), || {
        a.masters_queries() > qa
    });
}

/// DESIGN.md §4: a pub/sub switch proves nothing. Its sentinel's own answers still show
/// the old address at the old epoch, so the switch is undone at once, and it raised no
/// epoch that could make the answers look older.
#[test]
fn a_switch_its_sentinels_answers_contradict_is_undone() {
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let mut tpc = Tpc::start(
        tempfile::tempdir().unwrap(),
        &[s.port],
        &["-reconcile_interval", "0", "-wait", "0"],
    );
    tpc.wait_config(&server(7001, "node-1"), secs(10));
    s.wait_subscribers(1, secs(5));
    let queries = s.masters_queries();

    s.publish("+switch-master", "node-1 127.0.0.1 7001 127.0.0.1 7002");
    wait_until("a query checking the switch", secs(5), || {
        s.master_queries() > 0
    });
    assert_eq!(s.masters_queries(), queries, "only node-1 is asked about");
    let undone = "Replacing master node-1 127.0.0.1:7002 with 127.0.0.1:7001";
    wait_until("the switch undone and written", secs(5), || {
        tpc.log().contains(undone) && tpc.config().contains(&server(7001, "node-1"))
    });
    holds_for("config at 7001", Duration::from_millis(500), || {
        tpc.config().contains(&server(7001, "node-1"))
    });

    // A real failover: the answers now show it at a newer epoch, and stay there.
    s.set_masters(vec![master("node-1", 7002, 2)]);
    s.publish("+switch-master", "node-1 127.0.0.1 7001 127.0.0.1 7002");
    tpc.wait_config(&server(7002, "node-1"), secs(5));
    let queries = s.masters_queries();
    s.drop_connections();
    wait_until("a query on the new link", secs(5), || {
        s.masters_queries() > queries
    });
    holds_for("config at 7002", Duration::from_millis(500), || {
        tpc.config().contains(&server(7002, "node-1"))
    });
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
    // One line per answer, however many entries it has that cannot be read.
    assert!(
        log.lines()
            .filter(|l| l.contains("Skipping a master"))
            .all(|l| l.contains("more entries of the same answer")),
        "{log}"
    );
    assert!(
        !log.lines().any(|l| l.starts_with("  redis_auth")),
        "a master name broke a log line:\n{log}"
    );
    tpc.stop();
}

/// A pool the flags make that nutcracker rejects (a nutcracker stricter than tpc, say):
/// tpc says so at start and exits; the live config is left as it is.
#[test]
fn a_pool_nutcracker_rejects_stops_tpc_at_start_and_keeps_the_live_config() {
    let dir = tempfile::tempdir().unwrap();
    let checker = dir.path().join("nutcracker-check");
    script(
        &checker,
        "#!/bin/bash\n\
         echo \"nutcracker: configuration file 'x' syntax is invalid\" >&2\n\
         exit 1\n",
    );
    let live = "live:\n  listen: 127.0.0.1:22121\n  servers:\n  - 127.0.0.1:7001:1 node-1\n";
    std::fs::write(dir.path().join("nutcracker.yml"), live).unwrap();
    let reloads = dir.path().join("reloads");
    let cmd = format!("sh -c 'echo reload >> {}'", reloads.display());
    let checker_arg = checker.display().to_string();
    let s = FakeSentinel::start(vec![master("node-1", 7002, 1)]);
    let mut tpc = Tpc::start(dir, &[s.port], &["-nutcracker", &checker_arg, "-cmd", &cmd]);
    let status = tpc.wait_exit(secs(10)).expect("tpc exits");
    assert_eq!(status.code(), Some(1), "{}", tpc.log());
    let log = tpc.log();
    for words in [
        "the pool the flags make is not a config nutcracker takes",
        "nutcracker -t rejected it",
        "syntax is invalid",
        "-validate=false",
    ] {
        assert!(log.contains(words), "{words:?} not in {log}");
    }
    assert_eq!(tpc.config(), live, "the live config was touched");
    assert!(!reloads.exists(), "reloaded");
    no_temp_file_left(tpc.dir.path(), "no temp file left");
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
    s.fail_over("node-1", 7001, 7002);
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
    assert!(log.contains("stderr: simulated reload failure"), "{log}");
    assert_eq!(log.matches("Error updating config").count(), 2, "{log}");
    tpc.stop();
}

/// A reload still owed when tpc stops runs at the next start, though the file is already
/// up to date; a restart with nothing owed reloads nothing.
#[test]
fn a_reload_owed_survives_a_restart() {
    let keep = tempfile::tempdir().unwrap();
    let d = keep.path().to_path_buf();
    let reload = flaky_reload(&d).display().to_string();
    let out = d.join("nutcracker.yml").display().to_string();
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let args = ["-cmd", &reload, "-out", &out, "-wait", "0"];
    let done = || std::fs::read_to_string(d.join("done")).unwrap_or_default();
    let mut tpc = Tpc::start(tempfile::tempdir().unwrap(), &[s.port], &args);
    tpc.wait_config(&server(7001, "node-1"), secs(10));
    wait_until("the first reload", secs(5), || done() == "ok\n");
    s.wait_subscribers(1, secs(5));

    // Every reload fails from now on; tpc stops while one is owed.
    std::fs::write(d.join("fail_left"), "1000").unwrap();
    s.fail_over("node-1", 7001, 7002);
    tpc.wait_config(&server(7002, "node-1"), secs(5));
    wait_until("a failed reload", secs(5), || done().contains("failed"));
    tpc.stop();
    std::fs::write(d.join("fail_left"), "0").unwrap();
    let runs = run_times(&d).len();

    let mut tpc = Tpc::start(tempfile::tempdir().unwrap(), &[s.port], &args);
    wait_until("the owed reload at start", secs(10), || {
        run_times(&d).len() == runs + 1 && done().ends_with("ok\n")
    });
    assert!(tpc.config().contains(&server(7002, "node-1")));
    holds_for("no second reload", Duration::from_millis(1500), || {
        run_times(&d).len() == runs + 1
    });
    tpc.stop();

    // Nothing owed: a restart reloads nothing.
    let mut tpc = Tpc::start(tempfile::tempdir().unwrap(), &[s.port], &args);
    tpc.wait_log("monitors 1 master", 1, secs(10));
    holds_for("no reload", Duration::from_millis(1500), || {
        run_times(&d).len() == runs + 1
    });
    tpc.stop();
}

/// A config overwritten or deleted by hand while tpc runs is written again at the next
/// reconcile, with a warning.
#[test]
fn a_config_overwritten_or_deleted_by_hand_is_repaired() {
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let mut tpc = Tpc::start(
        tempfile::tempdir().unwrap(),
        &[s.port],
        &["-reconcile_interval", "1"],
    );
    tpc.wait_config(&server(7001, "node-1"), secs(10));
    let good = tpc.config();
    std::fs::write(&tpc.out, "redis:\n  listen: 0.0.0.0:1\n").unwrap();
    wait_until("the overwritten file repaired", secs(5), || {
        tpc.config() == good
    });
    std::fs::remove_file(&tpc.out).unwrap();
    wait_until("the deleted file repaired", secs(5), || {
        tpc.config() == good
    });
    assert_eq!(tpc.log_count("behind tpc's back"), 2, "{}", tpc.log());
    assert!(nutcracker_accepts(&tpc.out));
    tpc.stop();
}

/// The very first reload fails (no mark of what nutcracker loaded exists yet) and tpc is
/// stopped: the next start still owes it.
#[test]
fn a_first_reload_that_failed_is_owed_after_a_restart() {
    let keep = tempfile::tempdir().unwrap();
    let d = keep.path().to_path_buf();
    let reload = flaky_reload(&d).display().to_string();
    let out = d.join("nutcracker.yml").display().to_string();
    std::fs::write(d.join("fail_left"), "1000").unwrap();
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let args = ["-cmd", &reload, "-out", &out, "-wait", "0"];
    let done = || std::fs::read_to_string(d.join("done")).unwrap_or_default();
    let mut tpc = Tpc::start(tempfile::tempdir().unwrap(), &[s.port], &args);
    tpc.wait_config(&server(7001, "node-1"), secs(10));
    wait_until("a failed reload", secs(5), || done().contains("failed"));
    tpc.stop();
    std::fs::write(d.join("fail_left"), "0").unwrap();
    let mut tpc = Tpc::start(tempfile::tempdir().unwrap(), &[s.port], &args);
    wait_until("the owed reload at start", secs(10), || {
        done().ends_with("ok\n")
    });
    tpc.stop();
}

/// The file read back on reconcile goes into the recording without the secret, and the
/// recording replays to the same repair.
#[test]
fn a_drift_repair_is_recorded_without_the_secret_and_replays() {
    let secret = "s3cr#t: it's-9d1";
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.jsonl");
    let rec_arg = rec.display().to_string();
    let mut tpc = Tpc::start(
        dir,
        &[s.port],
        &[
            "-reconcile_interval",
            "1",
            "-redis_auth",
            secret,
            "-record",
            &rec_arg,
        ],
    );
    tpc.wait_config(&server(7001, "node-1"), secs(10));
    let good = tpc.config();
    std::fs::write(&tpc.out, "redis:\n  listen: 0.0.0.0:1\n").unwrap();
    wait_until("the file repaired", secs(5), || tpc.config() == good);
    tpc.stop();
    let recording = std::fs::read_to_string(&rec).unwrap();
    assert!(recording.contains("config_read"), "{recording}");
    assert!(!recording.contains("s3cr"), "{recording}");
    let replay = Command::new(env!("CARGO_BIN_EXE_tpc"))
        .args(["replay", &rec_arg])
        .output()
        .unwrap();
    let timeline = String::from_utf8_lossy(&replay.stdout);
    let errors = String::from_utf8_lossy(&replay.stderr);
    assert!(replay.status.success(), "{timeline}{errors}");
    assert_eq!(timeline.matches("write config").count(), 2, "{timeline}");
}

/// `-backup DIR` (as the released 0.1.7+): every config the daemon writes is also saved
/// as DIR/backup-YYYYMMDDhhmmss; a backup that fails is logged and the write goes on.
#[test]
fn the_daemon_saves_each_written_config_and_a_failed_backup_blocks_nothing() {
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let keep = tempfile::tempdir().unwrap();
    let backups = keep.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    let backups_arg = backups.display().to_string();
    let tpc = Tpc::start(
        tempfile::tempdir().unwrap(),
        &[s.port],
        &["-backup", &backups_arg],
    );
    tpc.wait_config(&server(7001, "node-1"), secs(10));
    s.wait_subscribers(1, secs(5));
    let saved = || -> Vec<String> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&backups)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    };
    wait_until("the first backup", secs(5), || saved().len() == 1);
    // Backups are named to the second: the next write comes a second later.
    thread::sleep(Duration::from_millis(1100));
    s.fail_over("node-1", 7001, 7002);
    tpc.wait_config(&server(7002, "node-1"), secs(5));
    wait_until("the second backup", secs(5), || saved().len() == 2);
    let both = saved();
    assert!(both[0].contains(&server(7001, "node-1")), "{both:?}");
    assert_eq!(both[1], tpc.config());
    // The folder goes away: the next failover is written all the same, and said.
    std::fs::remove_dir_all(&backups).unwrap();
    s.fail_over("node-1", 7002, 7003);
    tpc.wait_config(&server(7003, "node-1"), secs(5));
    tpc.wait_log("Backup failed", 1, secs(5));
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
        no_temp_file_left(tpc.dir.path(), name);
        let mode = std::fs::metadata(&tpc.out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640, "{name}");
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

/// tpc's own environment (the sentinel password among it) is not passed on to the
/// reload command.
#[test]
fn the_reload_command_does_not_inherit_tpcs_secrets() {
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    s.require_password("default", PASSWORD);
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("env.txt");
    let cmd = format!("sh -c 'env > {}'", env.display());
    // systemd's notification socket is tpc's, not the command's.
    let socket = dir.path().join("notify.sock");
    let _listening = std::os::unix::net::UnixDatagram::bind(&socket).unwrap();
    let socket = socket.display().to_string();
    let tpc = Tpc::start_env(
        dir,
        &[s.port],
        &["-cmd", &cmd],
        &[
            ("TPC_SENTINEL_PASSWORD", PASSWORD),
            ("NOTIFY_SOCKET", socket.as_str()),
            ("WATCHDOG_USEC", "60000000"),
        ],
    );
    wait_until("the reload command ran", secs(10), || env.exists());
    thread::sleep(Duration::from_millis(100));
    let seen = std::fs::read_to_string(&env).unwrap();
    assert!(seen.contains("PATH="), "{seen}");
    assert!(!seen.contains(PASSWORD), "the password reached the command");
    assert!(
        !seen.contains("NOTIFY_SOCKET") && !seen.contains("WATCHDOG_"),
        "{seen}"
    );
    drop(tpc);
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
    // Both connections (pub/sub and queries) log in first: nothing was refused for want of AUTH.
    assert_eq!(
        env_sentinel.noauth_replies() + file_sentinel.noauth_replies(),
        0
    );

    wait_until("several refused logins", secs(10), || {
        auths(&wrong_sentinel).len() >= 3
    });
    wait_until("the refusal logged", secs(5), || {
        wrong.log().contains("the sentinel refused the login")
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

/// An answer to `SENTINEL MASTER node-1` that is about another master (a lie, or a
/// mix-up) is never applied to that other master.
#[test]
fn an_answer_about_another_master_than_asked_is_not_applied() {
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1), master("node-2", 7002, 1)]);
    let mut tpc = Tpc::start(tempfile::tempdir().unwrap(), &[s.port], &[]);
    tpc.wait_config(&server(7002, "node-2"), secs(10));
    s.wait_subscribers(1, secs(5));
    s.answer_master_with("node-1", master("node-2", 7666, 99));
    s.fail_over("node-1", 7001, 7011);
    tpc.wait_config(&server(7011, "node-1"), secs(10));
    wait_until("the confirming question", secs(5), || {
        s.commands()
            .iter()
            .any(|c| c.len() == 3 && c[1].eq_ignore_ascii_case("MASTER") && c[2] == "node-1")
    });
    holds_for("node-2 where it is", Duration::from_millis(1500), || {
        tpc.config().contains(&server(7002, "node-2"))
    });
    assert!(
        tpc.log().contains("the answer is about node-2"),
        "{}",
        tpc.log()
    );
    assert!(tpc.is_running());
}
