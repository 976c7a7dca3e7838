//! `tpc status` (the real binary) against sentinels on loopback: each master as each
//! sentinel reports it, disagreements marked, and the `-out` file compared with what tpc
//! would write: exit 0 in sync, 1 not, 2 for a wrong command line. Fake sentinels, as
//! the test needs two that disagree on demand.

mod fake_sentinel;

use std::process::{Command, Output};

use fake_sentinel::{master, FakeSentinel};

fn tpc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tpc"))
        .args(args)
        .output()
        .expect("tpc runs")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn status_says_whether_the_file_is_what_tpc_would_write() {
    let a = FakeSentinel::start(vec![master("node-1", 7001, 1), master("node-2", 7002, 1)]);
    let b = FakeSentinel::start(vec![master("node-1", 7001, 1), master("node-2", 7002, 1)]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nutcracker.yml");
    let auth = dir.path().join("auth");
    std::fs::write(&auth, "s3cret-7f2a\n").unwrap();
    let sentinels = format!("127.0.0.1:{},127.0.0.1:{}", a.port, b.port);
    let out_s = out.to_str().unwrap();
    let auth_s = auth.to_str().unwrap();
    let status = |extra: &[&str]| {
        let mut args = vec![
            "status",
            "-sentinels",
            &sentinels,
            "-out",
            out_s,
            "-redis_auth_file",
            auth_s,
        ];
        args.extend_from_slice(extra);
        tpc(&args)
    };

    // No file yet: not in sync, and the diff shows both servers to add.
    let o = status(&[]);
    let report = text(&o);
    assert_eq!(o.status.code(), Some(1), "{report}");
    assert!(report.contains("NOT in sync"), "{report}");
    assert!(report.contains("+  - 127.0.0.1:7001:1 node-1"), "{report}");
    assert!(
        !report.contains("s3cret"),
        "the secret was printed: {report}"
    );
    assert!(!report.contains("disagree"), "{report}");

    // The file written by a dry run for the same masters: in sync.
    let masters = dir.path().join("masters.txt");
    std::fs::write(&masters, "node-1 127.0.0.1:7001\nnode-2 127.0.0.1:7002\n").unwrap();
    let dry = tpc(&[
        "-masters",
        masters.to_str().unwrap(),
        "-out",
        out_s,
        "-redis_auth_file",
        auth_s,
    ]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let o = status(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("is in sync"), "{}", text(&o));
    for port in [a.port, b.port] {
        assert!(
            text(&o).contains(&format!("127.0.0.1:{port}: 127.0.0.1:7001 epoch 1")),
            "{}",
            text(&o)
        );
    }

    // A failover both sentinels agree on: out of sync, the one line changes.
    a.set_masters(vec![master("node-1", 7011, 2), master("node-2", 7002, 1)]);
    b.set_masters(vec![master("node-1", 7011, 2), master("node-2", 7002, 1)]);
    let o = status(&[]);
    let report = text(&o);
    assert_eq!(o.status.code(), Some(1), "{report}");
    assert!(report.contains("-  - 127.0.0.1:7001:1 node-1"), "{report}");
    assert!(report.contains("+  - 127.0.0.1:7011:1 node-1"), "{report}");
    assert!(!report.contains("s3cret"), "{report}");

    // They disagree at the same epoch: marked.
    b.set_masters(vec![master("node-1", 7021, 2), master("node-2", 7002, 1)]);
    let report = text(&status(&[]));
    assert!(report.contains("node-1  <- sentinels disagree"), "{report}");
    assert!(!report.contains("node-2  <-"), "{report}");
}

#[test]
fn status_without_an_answer_exits_1_and_a_bad_command_line_2() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sentinel = format!("127.0.0.1:{port}");
    let o = tpc(&["status", "-sentinels", &sentinel, "-sentinel_timeout", "2"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("No sentinel answered"), "{}", text(&o));
    let o = tpc(&["status"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no sentinel given"));
}
