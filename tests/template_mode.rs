//! Template mode end to end: real `redis-server`s, real sentinels, real nutcracker and
//! the real `tpc` binary keeping an operator's nutcracker.yml (DESIGN.md §10).
//!
//! - two pools on two nutcracker ports, a master in both, through a real failover:
//!   every byte but the failed-over master's addresses is kept, so are owner and mode,
//!   and keys written through each port land on the new master;
//! - a read-only template with `-out` elsewhere;
//! - `-strict` with a server no sentinel knows stops tpc and touches nothing;
//! - a template that is not YAML, or that nutcracker refuses, stops tpc at start with
//!   one line, before it connects to any sentinel;
//! - `-master_regex` leaves the servers of the masters it excludes as written.
//!
//! The tests that start a cluster take the [`support::serial`] lock, like the failover
//! tests.

mod nutcracker_user;
mod support;

use std::fs;
use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{chown, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use nutcracker_user::{nutcracker_gid, nutcracker_user_accepts};
use support::*;

/// The operator's two-pool file of the first test: `node-1` in both pools, `node-2` in
/// `alpha` only, comments, indents of 2 and 3, a quoted line, no final newline.
fn two_pools(alpha: u16, beta: u16, node_1: &str, node_2: &str) -> String {
    format!(
        "# Two pools, kept by hand.\n\
         alpha:\n  listen: 127.0.0.1:{alpha}\n  hash: fnv1a_64\n  distribution: ketama\n  \
         redis: true\n  auto_eject_hosts: false   # Sentinel fails over\n  servers:\n  \
         - {node_1}:1 node-1\n  - {node_2}:1 node-2\n\n\
         # node-1 serves this pool too.\n\
         beta:\n   listen: \"127.0.0.1:{beta}\"\n   hash: murmur\n   distribution: modula\n   \
         redis: true\n   servers:\n     - '{node_1}:10 node-1'   # weight 10"
    )
}

/// `(uid, gid, mode)` of a file.
fn owner_and_mode(path: &Path) -> (u32, u32, u32) {
    let m = fs::metadata(path).expect("stat");
    (m.uid(), m.gid(), m.mode() & 0o7777)
}

/// The content, inode and modification time of a file: what "untouched" means.
fn untouched_stamp(path: &Path) -> (Vec<u8>, u64, SystemTime) {
    let m = fs::metadata(path).expect("stat");
    (
        fs::read(path).expect("read"),
        m.ino(),
        m.modified().expect("mtime"),
    )
}

/// tpc following the cluster's sentinels with `flags`, run in `dir`.
fn tpc(cluster: &Cluster, dir: &Path, flags: &[&str]) -> Tpc {
    let sentinels = cluster.sentinels_csv();
    let mut args = vec!["-sentinels", &sentinels, "-wait", "1"];
    args.extend_from_slice(flags);
    // Sentinel events are logged at debug: some tests wait for them.
    Tpc::spawn_in_env(dir, &args, &[("RUST_LOG", "debug")])
}

/// Waits until tpc has said it is connected to every sentinel of `cluster`.
fn wait_linked(tpc: &Tpc, cluster: &Cluster) {
    wait_until(secs(15), "tpc to link to every sentinel", || {
        let log = tpc.output();
        cluster
            .sentinel_ports()
            .iter()
            .all(|&p| has_line(&log, &format!("Connected to sentinel {}", local(p))))
    });
}

/// Waits up to `timeout` for tpc to exit; its status.
fn exit_of(tpc: &mut Tpc, timeout: Duration) -> ExitStatus {
    wait_for(timeout, "tpc to exit", || tpc.exited())
}

/// Waits until `path` holds exactly `want`; panics showing both otherwise.
fn wait_text(path: &Path, want: &str, what: &str) {
    let deadline = Instant::now() + secs(20);
    while fs::read_to_string(path).ok().as_deref() != Some(want) {
        if Instant::now() >= deadline {
            let text = fs::read_to_string(path).unwrap_or_else(|e| format!("({e})"));
            panic!(
                "{what}: {} is not as expected:\n{text}\n--- want ---\n{want}",
                path.display()
            );
        }
        std::thread::sleep(POLL);
    }
}

/// Waits until the nutcracker pool on `port` accepts clients.
fn wait_accepting(port: u16) {
    wait_until(secs(10), &format!("nutcracker to accept on {port}"), || {
        TcpStream::connect(local(port)).is_ok()
    });
}

#[test]
fn two_pools_follow_a_failover_and_keep_every_other_byte_owner_and_mode() {
    let _serial = serial();
    let gid = nutcracker_gid();
    let cluster = Cluster::start(&["node-1", "node-2"], 3);
    let dir = cluster.dir();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    let (alpha, beta) = (free_port(), free_port());
    let (node_1, node_2) = (cluster.master_addr("node-1"), cluster.master_addr("node-2"));
    let conf = dir.join("nutcracker.yml");
    fs::write(&conf, two_pools(alpha, beta, &node_1, &node_2)).unwrap();
    chown(&conf, Some(0), Some(gid)).unwrap();
    fs::set_permissions(&conf, fs::Permissions::from_mode(0o640)).unwrap();
    assert!(nutcracker_user_accepts(&conf));

    // nutcracker runs on the operator's file before tpc starts.
    let nut = Nutcracker::new(dir, &conf, alpha);
    assert!(nut.restart().status.success(), "the first nutcracker start");
    nut.wait_serving(secs(10));
    wait_accepting(beta);
    let conf_arg = conf.display().to_string();
    let command = nut.command();
    let mut tpc = tpc(
        &cluster,
        dir,
        &["-template", &conf_arg, "-out", &conf_arg, "-cmd", &command],
    );
    wait_linked(&tpc, &cluster);
    // The sentinels agree with the file: nothing written, nothing reloaded.
    hold_for(secs(2), "the file as the operator wrote it", || {
        fs::read_to_string(&conf).ok() == Some(two_pools(alpha, beta, &node_1, &node_2))
    });
    assert_eq!(nut.reloads(), 1);

    let (old, new) = cluster.failover("node-1");
    assert_eq!(old, node_1);
    wait_text(
        &conf,
        &two_pools(alpha, beta, &new, &node_2),
        "after the failover",
    );
    expect_reloads(&nut, 2);
    wait_accepting(beta);
    let alpha_masters = [("node-1", &new), ("node-2", &node_2)]
        .map(|(n, a)| (n.to_string(), a.to_string()))
        .into();
    check_keys(&local(alpha), &alpha_masters, "alpha", vec!["node-1"]);
    let beta_masters = [("node-1".to_string(), new.clone())].into();
    check_keys(&local(beta), &beta_masters, "beta", vec!["node-1"]);

    assert_eq!(owner_and_mode(&conf), (0, gid, 0o640));
    assert!(nutcracker_user_accepts(&conf));
    assert!(tpc.exited().is_none(), "{}", tpc.log_tail(40));
    let status = tpc.terminate();
    assert!(status.success(), "SIGTERM: {status}\n{}", tpc.log_tail(40));
}

#[test]
fn a_read_only_template_is_kept_and_out_follows_the_failover() {
    let _serial = serial();
    let cluster = Cluster::start(&["node-1"], 3);
    let dir = cluster.dir();
    let listen = free_port();
    let node_1 = cluster.master_addr("node-1");
    let text = |at: &str| {
        format!(
            "redis:\n  listen: 127.0.0.1:{listen}\n  redis: true\n  servers:\n  - {at}:1 node-1\n"
        )
    };
    let kept = dir.join("operator");
    fs::create_dir(&kept).unwrap();
    let template = kept.join("nutcracker.yml");
    fs::write(&template, text(&node_1)).unwrap();
    fs::set_permissions(&template, fs::Permissions::from_mode(0o444)).unwrap();
    fs::set_permissions(&kept, fs::Permissions::from_mode(0o555)).unwrap();
    let stamp = untouched_stamp(&template);

    let out = dir.join("nutcracker.yml");
    let nut = Nutcracker::new(dir, &out, listen);
    let (template_arg, out_arg) = (template.display().to_string(), out.display().to_string());
    let command = nut.command();
    let mut tpc = tpc(
        &cluster,
        dir,
        &[
            "-template",
            &template_arg,
            "-out",
            &out_arg,
            "-cmd",
            &command,
        ],
    );
    // No -out file yet: the template's text is written there and loaded.
    wait_text(&out, &text(&node_1), "at start");
    expect_reloads(&nut, 1);

    let (_, new) = cluster.failover("node-1");
    wait_text(&out, &text(&new), "after the failover");
    expect_reloads(&nut, 2);
    check_keys(
        &nut.addr(),
        &[("node-1".to_string(), new)].into(),
        "failover",
        vec!["node-1"],
    );
    assert_eq!(
        untouched_stamp(&template),
        stamp,
        "the template was touched"
    );
    assert_eq!(
        fs::read_dir(&kept).unwrap().count(),
        1,
        "files beside the template"
    );
    assert!(tpc.exited().is_none(), "{}", tpc.log_tail(40));
}

#[test]
fn strict_stops_on_a_server_no_sentinel_knows_and_touches_nothing() {
    let _serial = serial();
    let cluster = Cluster::start(&["node-1"], 1);
    let dir = cluster.dir();
    let node_1 = cluster.master_addr("node-1");
    let conf = dir.join("nutcracker.yml");
    fs::write(
        &conf,
        format!("redis:\n  listen: 127.0.0.1:{}\n  redis: true\n  servers:\n  - 127.0.0.1:9:1 node-1\n  - 127.0.0.1:7:1 node-9\n", free_port()),
    )
    .unwrap();
    let stamp = untouched_stamp(&conf);
    let conf_arg = conf.display().to_string();
    let mut tpc = tpc(
        &cluster,
        dir,
        &[
            "-template",
            &conf_arg,
            "-out",
            &conf_arg,
            "-cmd",
            "true",
            "-strict",
        ],
    );
    let status = exit_of(&mut tpc, secs(20));
    let log = tpc.output();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.lines()
            .any(|l| l.starts_with("tpc: -strict:") && l.contains("node-9 (pool redis, line 6)")),
        "{log}"
    );
    assert!(has_line(
        &log,
        &format!("Connected to sentinel {}", cluster.sentinel_addr(0))
    ));
    // The sentinel has node-1 elsewhere too: still nothing is written.
    assert_eq!(
        untouched_stamp(&conf),
        stamp,
        "the file was touched ({node_1})"
    );
}

/// Runs tpc with `args` until it exits (at most 10 s): its output.
fn run_to_exit(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tpc"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tpc");
    let deadline = Instant::now() + secs(10);
    while child.try_wait().expect("wait for tpc").is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tpc {args:?} did not exit within 10 s");
        }
        std::thread::sleep(POLL);
    }
    child.wait_with_output().expect("tpc's output")
}

/// A template that is not YAML, that nutcracker refuses, or (under `-strict`) that
/// holds a server tpc cannot follow: tpc exits at start with one line on stderr
/// naming the file and what is wrong, and never connects to the sentinel.
#[test]
fn a_bad_template_stops_tpc_at_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let sentinel = TcpListener::bind("127.0.0.1:0").unwrap();
    let sentinel_addr = sentinel.local_addr().unwrap().to_string();
    let cases: &[(&str, &[&str], i32, &[&str])] = &[
        (
            "redis:\n  listen: 127.0.0.1:22121\n  servers:\n  - 127.0.0.1:6379:1 node-1\n   bad: indent\n",
            &[],
            2,
            &["line 5: not valid YAML"],
        ),
        (
            "redis:\n  listen: 127.0.0.1:22121\n  servers: []\n",
            &[],
            2,
            &["line 1: pool \"redis\" has no servers"],
        ),
        (
            "redis:\n  listen: 127.0.0.1:22121\n  bogus_key: 1\n  servers:\n  - 127.0.0.1:6379:1 node-1\n",
            &[],
            1,
            &["nutcracker -t rejected it", "syntax is invalid"],
        ),
        (
            "redis:\n  listen: 127.0.0.1:22121\n  servers:\n  - 127.0.0.1:6379:1 node-1\n  - 127.0.0.1:6380:1\n",
            &["-strict"],
            2,
            &["-strict:", "line 5:", "\"127.0.0.1:6380:1\"", "no name"],
        ),
    ];
    for (i, (text, flags, code, words)) in cases.iter().enumerate() {
        let template = dir.path().join(format!("template-{i}.yml"));
        fs::write(&template, text).unwrap();
        let out = dir.path().join(format!("out-{i}.yml"));
        let (template, out) = (template.display().to_string(), out.display().to_string());
        let mut args = vec!["-sentinels", &sentinel_addr, "-template", &template];
        args.extend_from_slice(&["-out", &out, "-cmd", "true"]);
        args.extend_from_slice(flags);
        let output = run_to_exit(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(*code), "case {i}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "case {i}: {stderr}");
        let line = lines[0];
        assert!(
            line.starts_with("tpc: ") && line.contains(&template),
            "case {i}: {line}"
        );
        for word in *words {
            assert!(line.contains(word), "case {i}: {word:?} not in {line}");
        }
        assert!(!Path::new(&out).exists(), "case {i}: -out was written");
    }
    sentinel.set_nonblocking(true).unwrap();
    match sentinel.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("tpc connected to the sentinel: {other:?}"),
    }
}

/// A master `-master_regex` excludes keeps the template's address, at start and
/// through its failover, while the master it keeps is followed.
#[test]
fn master_regex_leaves_excluded_servers_as_written() {
    let _serial = serial();
    let cluster = Cluster::start(&["node-1", "node-2"], 3);
    let dir = cluster.dir();
    let (node_1, replica_1) = cluster.redis_ports("node-1");
    let node_2 = cluster.master_addr("node-2");
    let text = |node_1: &str, node_2: &str| {
        format!("redis:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n  - {node_1}:1 node-1\n  - {node_2}:1 node-2\n")
    };
    let conf = dir.join("nutcracker.yml");
    // node-1 written at its replica: tpc corrects it at start.
    fs::write(&conf, text(&local(replica_1), &node_2)).unwrap();
    let conf_arg = conf.display().to_string();
    let mut tpc = tpc(
        &cluster,
        dir,
        &[
            "-template",
            &conf_arg,
            "-out",
            &conf_arg,
            "-cmd",
            "true",
            "-master_regex",
            "^node-1$",
        ],
    );
    let followed = text(&local(node_1), &node_2);
    wait_text(&conf, &followed, "at start");
    wait_linked(&tpc, &cluster);

    let (old, new) = cluster.failover("node-2");
    assert_eq!(old, node_2);
    wait_until(secs(20), "tpc to hear of the node-2 failover", || {
        has_line(&tpc.output(), &format!("node-2 {old} -> {new}"))
    });
    hold_for(secs(3), "node-2 as the template writes it", || {
        fs::read_to_string(&conf).ok().as_deref() == Some(followed.as_str())
    });
    assert!(tpc.exited().is_none(), "{}", tpc.log_tail(40));
}
