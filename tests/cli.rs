//! The real `tpc` binary's command line: exit statuses, help, version, and the dry run.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs tpc and returns what it printed; a tpc still running after 20 s (it took flags
/// it should have refused, and started) is killed.
fn tpc(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tpc"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tpc runs");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The example template: two pools, a master in both, a server line without a name.
const TEMPLATE: &str = "examples/nutcracker.yml";

#[test]
fn a_wrong_flag_or_value_exits_2_with_one_line() {
    for (args, says) in [
        (&["-bogus"][..], "flag provided but not defined: -bogus"),
        (&["-sentinels", ":1", "-wait", "soon"], "-wait"),
        (
            &["-sentinels", ":1", "-distribution", "x"],
            "ketama, modula, random",
        ),
        (&["-out", "/tmp/x"], "no sentinel given"),
        (&["-sentinels", ":1", "-master_regex", "("], "-master_regex"),
        (
            &["-sentinels", ":1", "-replica_pools", "read"],
            "give -template",
        ),
        (
            &["-sentinels", ":1", "-template", "/no/such.yml"],
            "-template",
        ),
        (
            &[
                "-sentinels",
                ":1",
                "-template",
                TEMPLATE,
                "-replica_pools",
                "nope",
            ],
            "its pools are sessions, cache",
        ),
        (
            &["-sentinels", ":1", "-template", TEMPLATE, "-redis_db", "2"],
            "-redis_db shapes the pool tpc generates",
        ),
        // The example's last server line has no name.
        (
            &["-sentinels", ":1", "-template", TEMPLATE, "-strict"],
            "line 24",
        ),
    ] {
        let o = tpc(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = stderr(&o);
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.contains(says), "{e}");
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn help_and_version_exit_0() {
    for flag in ["-h", "-help", "--help"] {
        let o = tpc(&[flag]);
        assert!(o.status.success());
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains("-sentinels") && text.contains("Twemproxy: port"),
            "{text}"
        );
    }
    let o = tpc(&["--version"]);
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("tpc {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn dry_run_writes_a_0640_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let masters = dir.path().join("masters.txt");
    std::fs::write(&masters, "node-2 10.0.0.2:6379\nnode-1 10.0.0.1:6379\n").unwrap();
    let out = dir.path().join("nutcracker.yml");
    let args = [
        "-masters",
        masters.to_str().unwrap(),
        "-out",
        out.to_str().unwrap(),
        "-redis_auth",
        "s3cret",
    ];
    let o = tpc(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("  - 10.0.0.1:6379:1 node-1\n  - 10.0.0.2:6379:1 node-2\n"));
    // A new file: 0640, the folder's group (it may hold redis_auth).
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert!(stderr(&o).contains("would run 'killall -USR1 nutcracker'"));
    assert!(!stderr(&o).contains("s3cret"));
    let again = tpc(&args);
    assert!(
        stderr(&again).contains("config unchanged"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn dry_run_names_the_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let masters = dir.path().join("masters.txt");
    std::fs::write(&masters, "node-1 10.0.0.1:6379\nnode-2\n").unwrap();
    let o = tpc(&["-masters", masters.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
}

#[test]
fn replay_prints_the_timeline_and_the_final_config() {
    let o = tpc(&["replay", "examples/failover.jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("write config (node-1 127.0.0.1:"), "{text}");
    assert!(text.contains("run reload"));
    assert!(text.contains("link down:"));
    assert!(text.contains("final config:\nredis:\n"));

    let o = tpc(&["replay", "examples/failover.jsonl", "-format", "json"]);
    assert!(o.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    assert!(lines.iter().any(|l| l["effect"] == "run_reload"));
    assert!(lines.last().unwrap()["final_config"].is_string());
}

#[test]
fn replay_flags_override_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.jsonl");
    std::fs::write(
        &file,
        concat!(
            "{\"tpc_recording\":1,\"settings\":{\"wait\":60000}}\n",
            "{\"type\":\"snapshot\",\"at\":0,\"sentinel\":\"s\",\"masters\":[{\"name\":\"node-1\",\"addr\":\"10.0.0.1:6379\"}]}\n",
            "{\"type\":\"message\",\"at\":1000,\"sentinel\":\"s\",\"channel\":\"+switch-master\",\"payload\":\"node-1 10.0.0.1 6379 10.0.0.2 6379\"}\n",
        ),
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["replay", file.to_str().unwrap()];
        args.extend(extra);
        String::from_utf8_lossy(&tpc(&args).stdout).into_owned()
    };
    assert!(run(&[]).contains("+60.000s write config (node-1"));
    assert!(run(&["-wait", "5"]).contains("+5.000s write config (node-1"));
    assert!(run(&["-port", "22121"]).contains("listen: 0.0.0.0:22121"));
}

#[test]
fn replay_stops_at_a_bad_line_with_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.jsonl");
    std::fs::write(&file, "{\"tpc_recording\":1}\n{\"type\":\"tick\",\"at\":1}\n{\"type\":\"tick\"\n{\"type\":\"tick\",\"at\":2}\n").unwrap();
    let o = tpc(&["replay", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("line 3"), "{}", stderr(&o));

    // A recording cut mid-line (a crash) replays up to its last whole line, and says so.
    std::fs::write(
        &file,
        "{\"tpc_recording\":1}\n{\"type\":\"tick\",\"at\":1}\n{\"type\":\"ti",
    )
    .unwrap();
    let o = tpc(&["replay", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("line 3 is cut short"));

    let o = tpc(&["replay", "/no/such/file"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/no/such/file"));
    let o = tpc(&["replay"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nothing to replay"));
}

#[test]
fn replay_imports_a_sentinel_log() {
    let o = tpc(&[
        "replay",
        "-sentinel_log",
        "tests/scenarios/sentinel_logs/incident.log",
        "-masters",
        "tests/scenarios/sentinel_logs/incident.masters",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("write config (node-2"), "{text}");
    assert!(
        text.contains("30 of 48 line(s) were sentinel events (30 Redis 5.0+)"),
        "{text}"
    );
}

/// A log file in a temporary folder.
fn log_file(dir: &tempfile::TempDir, bytes: &[u8]) -> String {
    let file = dir.path().join("sentinel.log");
    std::fs::write(&file, bytes).unwrap();
    file.to_str().unwrap().to_string()
}

#[test]
fn a_log_with_no_event_is_an_error_naming_the_shapes_tried() {
    let dir = tempfile::tempdir().unwrap();
    let file = log_file(
        &dir,
        b"{\"level\":\"info\",\"msg\":\"+switch-master m 10.0.0.1 6379 10.0.0.2 6379\"}\nsecond line\n",
    );
    let o = tpc(&["replay", "-sentinel_log", &file]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let e = stderr(&o);
    assert!(e.contains("no sentinel event read from 2 line(s)"), "{e}");
    for shape in [
        "Redis 5.0+",
        "Redis 3.x-4.x",
        "Redis 2.6-2.8 and Windows",
        "Valkey logfmt",
        "docker logs -t",
        "grep -n",
    ] {
        assert!(e.contains(shape), "{shape}: {e}");
    }
    assert!(e.contains("  2: second line"), "{e}");
    assert!(
        e.contains("line 1 looks like an event but fits no shape"),
        "{e}"
    );
    // An empty file too.
    let o = tpc(&["replay", "-sentinel_log", &log_file(&dir, b"")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("holds no line"), "{}", stderr(&o));
}

#[test]
fn unread_event_lines_are_listed_and_bad_bytes_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let mut log =
        b"1:X 03 Feb 2026 10:43:15.163 # +sdown master node-1 10.0.0.1 6379 caf\xe9\n".to_vec();
    for i in 0..7 {
        log.extend(
            format!("1:X 03 Feb 10:43 # +switch-master node-{i} 10.0.0.1 6379 10.0.0.2 6379\n")
                .bytes(),
        );
    }
    let file = log_file(&dir, &log);
    let o = tpc(&["replay", "-sentinel_log", &file]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("# line(s) 1 hold bytes that are not UTF-8"),
        "{text}"
    );
    assert!(
        text.contains("# line 6 looks like a sentinel event but fits no shape"),
        "{text}"
    );
    assert!(!text.contains("# line 7 looks"), "{text}");
    assert!(
        text.contains("... and 2 more such line(s) (-v lists them all)"),
        "{text}"
    );
    let o = tpc(&["replay", "-sentinel_log", &file, "-v"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("# line 8 looks like a sentinel event"),
        "{text}"
    );
    assert!(!text.contains("-v lists them all"), "{text}");
}

#[test]
fn replay_shows_wall_clock_times_and_a_summary() {
    let log = "tests/scenarios/sentinel_logs/redis5_monitor_lines.log";
    let o = tpc(&["replay", "-sentinel_log", log, "-clock", "wall"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    // The log's own clock; the config on disk before the incident is not written again.
    assert!(
        text.contains(
            "2026-02-03 10:43:15.163 write config (node-1 10.0.0.1:6379 -> 10.0.0.2:6379)"
        ),
        "{text}"
    );
    assert!(!text.contains("node-2 added"), "{text}");
    assert!(text.contains("  node-1 10.0.0.1:6379 -> 10.0.0.2:6379: switched 2026-02-03 10:43:15.163, config 2026-02-03 10:43:15.163, reload 2026-02-03 10:43:15.163, gap 0.000s"), "{text}");
    let o = tpc(&["replay", "-sentinel_log", log, "-format", "json"]);
    let last: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(last["summary"][0]["master"], "node-1");
    assert_eq!(last["summary"][0]["gap"], 0);
    assert_eq!(last["summary"][0]["switched"], 195_059);
    // A recording's wall clock is UTC, from its header.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.jsonl");
    std::fs::write(
        &file,
        concat!(
            "{\"tpc_recording\":1,\"started_at\":1795645261123,\"tpc_version\":\"0.2.0\"}\n",
            "{\"type\":\"snapshot\",\"at\":1000,\"sentinel\":\"s\",\"masters\":[{\"name\":\"node-1\",\"addr\":\"10.0.0.1:6379\"}]}\n",
        ),
    )
    .unwrap();
    let o = tpc(&["replay", file.to_str().unwrap(), "-clock", "wall"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("2026-11-25 22:21:02.123Z write config (node-1 added"),
        "{text}"
    );
}

/// Runs tpc in `dir`, killing it if it is still running after 5 s (a daemon started
/// where it should have refused).
fn tpc_in(dir: &std::path::Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tpc"))
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tpc runs");
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() && start.elapsed().as_secs() < 5 {
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

#[test]
fn a_recording_onto_the_config_the_log_or_a_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("nutcracker.yml");
    std::fs::write(&out, "live config\n").unwrap();
    std::os::unix::fs::symlink("nutcracker.yml", d.join("link.yml")).unwrap();
    std::os::unix::fs::symlink(d, d.join("again")).unwrap();
    std::fs::create_dir(d.join("recordings")).unwrap();
    let (out_arg, log_arg) = (out.to_str().unwrap(), d.join("tpc.log"));
    let log_arg = log_arg.to_str().unwrap();
    for (record, says) in [
        ("nutcracker.yml", "-out"),
        ("link.yml", "-out"),
        ("again/nutcracker.yml", "-out"),
        // The log does not exist yet: the same path is the same file.
        ("tpc.log", "-log"),
        ("./again/tpc.log", "-log"),
        ("recordings", "folder"),
    ] {
        let o = tpc_in(
            d,
            &[
                "-sentinels",
                "127.0.0.1:1",
                "-out",
                out_arg,
                "-log",
                log_arg,
                "-record",
                record,
            ],
        );
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "-record {record}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.contains("-record") && e.contains(says), "{e}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "live config\n");
        assert_eq!(
            std::fs::read_dir(d).unwrap().count(),
            4,
            "-record {record} left a file"
        );
    }
}

#[test]
fn a_non_utf8_argument_exits_2_with_one_line_that_never_shows_it() {
    for args in [
        vec![
            OsString::from("-sentinels"),
            OsString::from(":1"),
            OsString::from("-redis_auth"),
            OsString::from_vec(b"s3cr\xffet".to_vec()),
        ],
        vec![OsString::from_vec(b"-sentinels=:1,s3cr\xffet".to_vec())],
        vec![
            OsString::from("replay"),
            OsString::from_vec(b"s3cr\xffet".to_vec()),
        ],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_tpc"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = stderr(&o);
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.contains("UTF-8"), "{e}");
        assert!(!e.contains("s3cr") && !e.contains('\u{fffd}'), "{e}");
        assert!(o.stdout.is_empty());
    }
}

/// Runs `tpc ARGS` with its stdout a pipe nobody reads any more (like `| head -1`
/// once head has exited): every write to it fails with EPIPE.
fn tpc_into_a_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_tpc"))
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_stdout_is_a_clean_end_not_a_panic() {
    for args in [
        &["-masters", "examples/masters.txt"][..],
        &["-h"],
        &["--version"],
        &["replay", "examples/failover.jsonl"],
    ] {
        let o = tpc_into_a_closed_pipe(args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {e}");
        assert!(!e.contains("panicked"), "{args:?}: {e}");
    }
}

/// A FIFO (or any non-file) as `-out` is an error at once, not a hang on reading it.
#[test]
fn a_fifo_as_out_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("nutcracker.yml");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let started = std::time::Instant::now();
    let o = tpc_in(
        dir.path(),
        &["-sentinels", "127.0.0.1:1", "-out", fifo.to_str().unwrap()],
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("not a regular file"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
}

/// Runs the real `nutcracker -t` on `text`: the independent judge of what nutcracker
/// refuses.
fn nutcracker_accepts(text: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.yml");
    std::fs::write(&path, text).unwrap();
    Command::new("nutcracker")
        .args(["-t", "-c"])
        .arg(&path)
        .output()
        .expect("nutcracker must be installed (run scripts/test.sh)")
        .status
        .success()
}

/// A config built without tpc: the pool nutcracker's docs show, one server, and `key`
/// set to `value`.
fn model_config(key: &str, value: serde_yaml::Value) -> String {
    let mut pool: serde_yaml::Mapping = serde_yaml::from_str(
        "listen: 0.0.0.0:9000\nhash: fnv1a_64\ndistribution: ketama\ntimeout: 400\n\
         redis: true\nservers:\n- 10.0.0.1:6379:1 node-1\n",
    )
    .unwrap();
    pool.insert(key.into(), value);
    let mut file = serde_yaml::Mapping::new();
    file.insert("redis".into(), pool.into());
    serde_yaml::to_string(&file).unwrap()
}

/// Runs tpc's dry run with `flags` and returns its exit status, stderr and the config it
/// wrote.
fn dry_run(flags: &[&str]) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let masters = dir.path().join("masters.txt");
    std::fs::write(&masters, "node-1 10.0.0.1:6379\n").unwrap();
    let out = dir.path().join("nutcracker.yml");
    let mut args = vec![
        "-masters",
        masters.to_str().unwrap(),
        "-out",
        out.to_str().unwrap(),
    ];
    args.extend(flags);
    let o = tpc(&args);
    let config = std::fs::read_to_string(&out).unwrap_or_default();
    (o.status.code(), stderr(&o), config)
}

#[test]
fn tpc_refuses_at_start_exactly_what_nutcracker_refuses() {
    use serde_yaml::Value;
    let s = |v: &str| Value::from(v);
    let n = |v: i64| Value::from(v);
    let listen = |ip: &str| Value::from(format!("{ip}:9000"));
    assert!(nutcracker_accepts(&model_config("hash", s("fnv1a_64"))));
    // (flag, value, what nutcracker reads for it)
    let refused: Vec<(&str, &str, &str, Value)> = vec![
        ("-hash_tag", "éé", "hash_tag", s("éé")),
        ("-has_tag", "abc", "hash_tag", s("abc")),
        ("-ip", "1.2.3.4.5", "listen", listen("1.2.3.4.5")),
        ("-ip", "256.1.1.1", "listen", listen("256.1.1.1")),
        (
            "-ip",
            "no-such-host.invalid",
            "listen",
            listen("no-such-host.invalid"),
        ),
        ("-ip", "[::1]", "listen", listen("[::1]")),
        ("-port", "0", "listen", s("0.0.0.0:0")),
        ("-port", "65536", "listen", s("0.0.0.0:65536")),
        ("-hash", "sha1", "hash", s("sha1")),
        (
            "-distribution",
            "consistent",
            "distribution",
            s("consistent"),
        ),
        ("-timeout", "-2", "timeout", n(-2)),
        ("-timeout", "2147483648", "timeout", n(2147483648)),
        ("-backlog", "-1", "backlog", n(-1)),
        ("-backlog", "2147483648", "backlog", n(2147483648)),
        ("-redis_db", "-1", "redis_db", n(-1)),
        ("-redis_db", "2147483648", "redis_db", n(2147483648)),
        (
            "-client_connections",
            "2147483648",
            "client_connections",
            n(2147483648),
        ),
        ("-server_connections", "0", "server_connections", n(0)),
        (
            "-server_connections",
            "2147483648",
            "server_connections",
            n(2147483648),
        ),
        (
            "-server_retry_timeout",
            "2147483648",
            "server_retry_timeout",
            n(2147483648),
        ),
        ("-server_failure_limit", "-2", "server_failure_limit", n(-2)),
        (
            "-server_failure_limit",
            "2147483648",
            "server_failure_limit",
            n(2147483648),
        ),
    ];
    for (flag, value, key, read) in refused {
        let model = model_config(key, read);
        assert!(
            !nutcracker_accepts(&model),
            "nutcracker accepts {flag} {value}:\n{model}"
        );
        let (status, e, _) = dry_run(&[flag, value]);
        assert_eq!(status, Some(2), "tpc accepts {flag} {value}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.contains(flag) && e.contains("must be"), "{e}");
    }
    let mut accepted: Vec<[&str; 2]> = vec![
        ["-hash_tag", "é"],
        ["-hash_tag", "{}"],
        ["-ip", "localhost"],
        ["-ip", "::1"],
        ["-ip", "127.0.0.1"],
        ["-port", "1"],
        ["-port", "65535"],
        ["-timeout", "0"],
        ["-timeout", "2147483647"],
        ["-backlog", "0"],
        ["-backlog", "2147483647"],
        ["-redis_db", "2147483647"],
        ["-client_connections", "0"],
        ["-client_connections", "2147483647"],
        ["-server_connections", "1"],
        ["-server_connections", "2147483647"],
        ["-server_retry_timeout", "0"],
        ["-server_retry_timeout", "2147483647"],
        ["-server_failure_limit", "0"],
        ["-server_failure_limit", "2147483647"],
    ];
    for hash in tpc::core::settings::HASHES {
        accepted.push(["-hash", hash]);
    }
    for distribution in tpc::core::settings::DISTRIBUTIONS {
        accepted.push(["-distribution", distribution]);
    }
    for flags in accepted {
        let (status, e, config) = dry_run(&flags);
        assert_eq!(status, Some(0), "tpc refuses {flags:?}: {e}");
        assert!(
            nutcracker_accepts(&config),
            "nutcracker refuses {flags:?}:\n{config}"
        );
    }
}

#[test]
fn every_path_is_checked_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let in_missing = missing.join("file");
    let plain = dir.path().join("plain");
    std::fs::write(&plain, "").unwrap();
    let (in_missing, plain) = (in_missing.to_str().unwrap(), plain.to_str().unwrap());
    for (args, names) in [
        (vec!["-out", in_missing], missing.to_str().unwrap()),
        (vec!["-log", in_missing], missing.to_str().unwrap()),
        (vec!["-record", in_missing], missing.to_str().unwrap()),
        (
            vec!["-sentinel_tls", "-sentinel_ca", in_missing],
            in_missing,
        ),
        (vec!["-nutcracker", plain], plain),
        (vec!["-nutcracker", in_missing], in_missing),
    ] {
        let mut all = vec!["-sentinels", ":26379"];
        all.extend(&args);
        let o = tpc(&all);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.contains(args[args.len() - 2]) && e.contains(names), "{e}");
    }
}

#[test]
fn secrets_come_from_a_flag_a_file_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("auth");
    std::fs::write(&file, "from-file-pw\n").unwrap();
    let file = file.to_str().unwrap();
    let auth = |config: &str| {
        let yaml: serde_yaml::Value = serde_yaml::from_str(config).unwrap();
        yaml["redis"]["redis_auth"].as_str().map(str::to_string)
    };
    let (status, e, config) = dry_run(&["-redis_auth_file", file]);
    assert_eq!(status, Some(0), "{e}");
    assert_eq!(auth(&config).as_deref(), Some("from-file-pw"));
    assert!(!e.contains("from-file-pw"), "{e}");

    let with_env = |flags: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        let masters = dir.path().join("masters.txt");
        std::fs::write(&masters, "node-1 10.0.0.1:6379\n").unwrap();
        let mut args = vec!["-masters", masters.to_str().unwrap()];
        args.extend(flags);
        Command::new(env!("CARGO_BIN_EXE_tpc"))
            .args(&args)
            .env("TPC_REDIS_AUTH", "from-env-pw")
            .output()
            .unwrap()
    };
    let o = with_env(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        auth(&String::from_utf8_lossy(&o.stdout)).as_deref(),
        Some("from-env-pw")
    );
    // A flag or a file wins over the environment.
    let o = with_env(&["-redis_auth_file", file]);
    assert_eq!(
        auth(&String::from_utf8_lossy(&o.stdout)).as_deref(),
        Some("from-file-pw")
    );

    for (args, says) in [
        (
            vec!["-redis_auth", "x", "-redis_auth_file", file],
            "-redis_auth_file",
        ),
        (vec!["-token", "x", "-token_file", file], "-token_file"),
        (vec!["-token_file", "/no/such/token"], "/no/such/token"),
        (vec!["-redis_auth_file", "/dev/null"], "empty"),
    ] {
        let (status, e, _) = dry_run(&args);
        assert_eq!(status, Some(2), "{args:?}: {e}");
        assert!(e.contains(says), "{e}");
        assert!(!e.contains("from-file-pw"), "{e}");
    }
}

#[test]
fn v_prints_the_version_and_replay_h_its_own_help() {
    let o = tpc(&["-v"]);
    assert_eq!(o.status.code(), Some(0));
    let version = format!("tpc {}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(String::from_utf8_lossy(&o.stdout), version);
    let o = tpc(&["replay", "-h"]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.starts_with("Usage: tpc replay FILE"), "{text}");
    let o = tpc(&["-sentinel", ":1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean -sentinels?"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn backup_saves_each_written_config_and_a_failed_one_never_blocks_the_write() {
    let dir = tempfile::tempdir().unwrap();
    let masters = dir.path().join("masters.txt");
    std::fs::write(&masters, "node-1 10.0.0.1:6379\n").unwrap();
    let out = dir.path().join("nutcracker.yml");
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    let m = masters.to_str().unwrap();
    let o = tpc(&[
        "-masters",
        m,
        "-out",
        out.to_str().unwrap(),
        "-backup",
        backups.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let saved: Vec<_> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    let name = saved[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(name.starts_with("backup-") && name.len() == 21, "{name}");
    assert_eq!(
        std::fs::read(&saved[0]).unwrap(),
        std::fs::read(&out).unwrap()
    );
    // A backup folder that cannot be written: the config is written all the same.
    std::fs::set_permissions(&backups, std::fs::Permissions::from_mode(0o500)).unwrap();
    let other = dir.path().join("other.yml");
    let o = tpc(&[
        "-masters",
        m,
        "-out",
        other.to_str().unwrap(),
        "-backup",
        backups.to_str().unwrap(),
    ]);
    std::fs::set_permissions(&backups, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(other.exists());
    if !stderr(&o).contains("backup failed") {
        // Root writes anyway; then the backup is there.
        assert!(stderr(&o).contains("backup saved"), "{}", stderr(&o));
    }
}

/// A flag that changes what the core decides makes replay simulate the outcomes: the
/// recorded ones belong to other effects, and waiting for them stalled the replay.
#[test]
fn replay_with_a_changed_setting_follows_every_failover() {
    let servers = |o: &Output| -> Vec<String> {
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let config = text
            .split("final config:")
            .nth(1)
            .unwrap_or_default()
            .to_string();
        config
            .lines()
            .filter(|l| l.trim_start().starts_with("- "))
            .map(str::to_string)
            .collect()
    };
    let recorded = tpc(&["replay", "examples/failover.jsonl"]);
    assert!(recorded.status.success());
    for flags in [&["-wait", "5"][..], &["-wait", "10"], &["-timeout", "500"]] {
        let args = [&["replay", "examples/failover.jsonl"][..], flags].concat();
        let o = tpc(&args);
        assert!(o.status.success(), "{flags:?}: {}", stderr(&o));
        assert_eq!(servers(&o), servers(&recorded), "{flags:?}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("simulated"),
            "{flags:?}"
        );
    }
}

/// `-log` onto the config would append log lines to it: refused like `-record`.
#[test]
fn a_log_onto_the_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nutcracker.yml");
    std::fs::write(&out, "live config\n").unwrap();
    std::os::unix::fs::symlink("nutcracker.yml", dir.path().join("link.yml")).unwrap();
    for log in ["nutcracker.yml", "link.yml"] {
        let o = tpc_in(
            dir.path(),
            &[
                "-sentinels",
                "127.0.0.1:1",
                "-out",
                out.to_str().unwrap(),
                "-log",
                log,
            ],
        );
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "-log {log}: {e}");
        assert!(e.contains("-log") && e.contains("-out"), "{e}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "live config\n");
    }
}

#[test]
fn a_bad_template_is_one_line_naming_where() {
    let dir = tempfile::tempdir().unwrap();
    for (text, says) in [
        ("alpha:\n  servers:\n    - [unclosed\n", "line 4"),
        (
            "alpha:\n  listen: 127.0.0.1:1\nbeta:\n  listen: x\n",
            "pool \"alpha\" has no servers",
        ),
        ("- 1\n- 2\n", "mapping of pool names"),
    ] {
        let file = dir.path().join("t.yml");
        std::fs::write(&file, text).unwrap();
        let o = tpc(&["-sentinels", ":1", "-template", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{text}");
        let e = stderr(&o);
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.contains("-template") && e.contains(says), "{text}: {e}");
    }
}

#[test]
fn dry_run_keeps_a_template_and_filters_by_regex() {
    let dir = tempfile::tempdir().unwrap();
    let masters = dir.path().join("masters.txt");
    std::fs::write(
        &masters,
        "node-1 10.1.1.1:7001\nnode-3 10.3.3.3:7003\nnode-12 10.1.2.1:1\n",
    )
    .unwrap();
    let o = tpc(&[
        "-template",
        TEMPLATE,
        "-masters",
        masters.to_str().unwrap(),
        "-master_regex",
        "^node-[12]$",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let template = std::fs::read_to_string(TEMPLATE).unwrap();
    // node-3 is filtered out: it keeps the template's address; node-1 moves in both pools.
    let want = template.replace("10.0.0.1:6379", "10.1.1.1:7001");
    assert_eq!(String::from_utf8_lossy(&o.stdout), want);
}

/// `-supervise -- COMMAND` is refused, with what would be right, whenever the child would
/// not load the file tpc writes or not stay tpc's child; nothing is started or written.
#[test]
fn supervise_refuses_what_cannot_work_and_a_dry_run_names_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nutcracker.yml");
    std::fs::write(&out, "live config\n").unwrap();
    std::os::unix::fs::symlink("nutcracker.yml", dir.path().join("link.yml")).unwrap();
    let out_arg = out.to_str().unwrap();
    let head = ["-sentinels", "127.0.0.1:1", "-out", out_arg];
    let cases: [(&[&str], &str); 9] = [
        (
            &["-supervise"],
            "-supervise needs nutcracker's command line after --",
        ),
        (
            &["-supervise", "--"],
            "-supervise needs nutcracker's command line after --",
        ),
        (
            &["--", "nutcracker", "-c", "nutcracker.yml"],
            "only run with -supervise: add -supervise",
        ),
        (
            &[
                "-cmd",
                "true",
                "-supervise",
                "--",
                "nutcracker",
                "-c",
                "nutcracker.yml",
            ],
            "-supervise and -cmd exclude each other",
        ),
        (&["-supervise", "--", "nutcracker"], "names no config file"),
        (
            &[
                "-supervise",
                "--",
                "nutcracker",
                "-c",
                "/etc/nutcracker/nutcracker.yml",
            ],
            "loads /etc/nutcracker/nutcracker.yml, which is not -out",
        ),
        (
            &["-supervise", "--", "nutcracker", "--conf-file=other.yml"],
            "loads other.yml, which is not -out",
        ),
        (
            &["-supervise", "--", "nutcracker", "-d", "-c", "link.yml"],
            "has -d: nutcracker would daemonize",
        ),
        (
            &["-supervise", "--", "nutcracker", "-c", "link.yml", "-t"],
            "has -t: nutcracker would daemonize or exit at once",
        ),
    ];
    for (tail, says) in cases {
        let args: Vec<&str> = head.iter().chain(tail).copied().collect();
        let o = tpc_in(dir.path(), &args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{tail:?}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.contains(says), "{tail:?}: {e}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "live config\n");
    }
    // A dry run names the restart it would make instead of the reload command.
    let masters = dir.path().join("masters.txt");
    std::fs::write(&masters, "node-1 10.0.0.1:6379\n").unwrap();
    let new = dir.path().join("new.yml");
    let o = tpc_in(
        dir.path(),
        &[
            "-masters",
            masters.to_str().unwrap(),
            "-out",
            new.to_str().unwrap(),
            "-supervise",
            "--",
            "nutcracker",
            "-c",
            "new.yml",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("dry run: would restart the supervised nutcracker")
            && !stderr(&o).contains("killall"),
        "{}",
        stderr(&o)
    );
    // Without -out there is no file for nutcracker to load.
    let o = tpc_in(
        dir.path(),
        &[
            "-sentinels",
            "127.0.0.1:1",
            "-supervise",
            "--",
            "nutcracker",
            "-c",
            "x.yml",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("-supervise needs -out"),
        "{}",
        stderr(&o)
    );
}

/// A hostile payload in a recording cannot forge timeline lines or send control
/// characters to the terminal: replay escapes it (adversarial pass).
#[test]
fn replay_escapes_what_a_sentinel_sent() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.jsonl");
    let payload = r#"x\n+0.001s write config (node-1 127.0.0.1:1 -> 6.6.6.6:1)\u0000\u001b[2J"#;
    std::fs::write(
        &file,
        format!(
            "{{\"tpc_recording\":1}}\n{{\"type\":\"message\",\"at\":7,\"sentinel\":\"127.0.0.1:1\",\"channel\":\"+switch-master\",\"payload\":\"{payload}\"}}\n"
        ),
    )
    .unwrap();
    let o = tpc(&["replay", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(!text.lines().any(|l| l.starts_with("+0.001s")), "{text}");
    assert!(!text.contains('\0') && !text.contains('\u{1b}'), "{text:?}");
    assert!(text.contains(r"x\n+0.001s write config"), "{text}");
}
