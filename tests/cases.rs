//! `tpc test DIR` and `tpc replay FILE -expect EXPECTED` (the real binary): the
//! example folder of failover tests passes; a deliberately wrong expectation fails with
//! exit 1 and a diff that shows both sides; `-bless` writes the expected files.

use std::path::Path;
use std::process::{Command, Output};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/failover-tests");

fn tpc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tpc"))
        .args(args)
        .output()
        .expect("tpc runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A copy of the example folder, to change.
fn copy_of_examples() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(EXAMPLES).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}

#[test]
fn the_example_cases_pass() {
    let o = tpc(&["test", EXAMPLES]);
    let report = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{report}");
    assert!(report.contains("ok      node-1-incident\n"), "{report}");
    assert!(report.contains("ok      single-failover\n"), "{report}");
    assert!(report.ends_with("2 passed, 0 failed\n"), "{report}");
}

#[test]
fn a_wrong_expectation_fails_with_a_readable_diff() {
    let dir = copy_of_examples();
    let expected = dir.path().join("single-failover.expected");
    let right = std::fs::read_to_string(&expected).unwrap();
    let wrong = right.replace("-> 10.0.0.2:6379)", "-> 10.0.0.7:6379)");
    assert_ne!(wrong, right);
    std::fs::write(&expected, &wrong).unwrap();
    let o = tpc(&["test", dir.path().to_str().unwrap()]);
    let report = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{report}");
    assert!(report.contains("ok      node-1-incident\n"), "{report}");
    assert!(
        report.contains("FAILED  single-failover: tpc now does otherwise"),
        "{report}"
    );
    assert!(
        report.contains("--- single-failover.expected\n+++ what tpc does now\n"),
        "{report}"
    );
    assert!(
        report.contains("-+62.250s write config (node-1 10.0.0.1:6379 -> 10.0.0.7:6379)\n")
            && report.contains("++62.250s write config (node-1 10.0.0.1:6379 -> 10.0.0.2:6379)\n"),
        "{report}"
    );
    assert!(report.ends_with("1 passed, 1 failed\n"), "{report}");

    // The same check for one file.
    let file = dir.path().join("single-failover.jsonl");
    let o = tpc(&[
        "replay",
        file.to_str().unwrap(),
        "-expect",
        expected.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("-> 10.0.0.7:6379"), "{}", stdout(&o));
    // Blessed, it passes.
    let o = tpc(&[
        "replay",
        file.to_str().unwrap(),
        "-expect",
        expected.to_str().unwrap(),
        "-bless",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&expected).unwrap(), right);
}

#[test]
fn bless_writes_the_expected_files_of_new_cases() {
    let dir = copy_of_examples();
    for name in ["single-failover.expected", "node-1-incident.expected"] {
        std::fs::remove_file(dir.path().join(name)).unwrap();
    }
    let d = dir.path().to_str().unwrap();
    let o = tpc(&["test", d]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("write it with -bless"),
        "{}",
        stdout(&o)
    );
    let o = tpc(&["test", d, "-bless"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("blessed single-failover"),
        "{}",
        stdout(&o)
    );
    for name in ["single-failover.expected", "node-1-incident.expected"] {
        assert_eq!(
            std::fs::read_to_string(dir.path().join(name)).unwrap(),
            std::fs::read_to_string(Path::new(EXAMPLES).join(name)).unwrap(),
            "{name}"
        );
    }
    assert_eq!(tpc(&["test", d]).status.code(), Some(0));
}

#[test]
fn a_folder_without_cases_or_a_bad_command_line_fails() {
    let empty = tempfile::tempdir().unwrap();
    let o = tpc(&["test", empty.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("no case in"), "{}", stdout(&o));
    let o = tpc(&["test"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("usage: tpc test DIR"));
}

#[test]
fn a_lost_case_a_doubled_name_and_a_self_expectation_are_refused() {
    // An expected file whose case is gone.
    let dir = copy_of_examples();
    std::fs::rename(
        dir.path().join("single-failover.jsonl"),
        dir.path().join("single-failover.JSONL"),
    )
    .unwrap();
    let o = tpc(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("single-failover.expected has no case"),
        "{}",
        stdout(&o)
    );

    // Two cases of one name.
    let dir = copy_of_examples();
    std::fs::copy(
        dir.path().join("node-1-incident.log"),
        dir.path().join("single-failover.log"),
    )
    .unwrap();
    for args in [vec!["test"], vec!["test", "-bless"]] {
        let mut args = args.clone();
        args.insert(1, dir.path().to_str().unwrap());
        let o = tpc(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(
            stdout(&o).contains("two cases are named single-failover"),
            "{}",
            stdout(&o)
        );
    }

    // -expect naming the file replayed.
    let file = dir.path().join("single-failover.jsonl");
    let f = file.to_str().unwrap();
    let before = std::fs::read(&file).unwrap();
    let o = tpc(&["replay", f, "-expect", f, "-bless"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

/// Expected files are meant to be committed: a password given to the replay never
/// lands in one.
#[test]
fn a_secret_in_a_cases_flags_stays_out_of_its_expected_file() {
    let dir = copy_of_examples();
    std::fs::write(dir.path().join("auth.txt"), "S3cr3tPassw0rd\n").unwrap();
    std::fs::write(
        dir.path().join("single-failover.flags"),
        "-redis_auth_file auth.txt\n",
    )
    .unwrap();
    let o = tpc(&["test", dir.path().to_str().unwrap(), "-bless"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let expected = std::fs::read_to_string(dir.path().join("single-failover.expected")).unwrap();
    assert!(
        expected.contains("redis_auth: '(not recorded)'"),
        "{expected}"
    );
    assert!(!expected.contains("S3cr3t"), "{expected}");
}

#[test]
fn a_flags_file_that_cannot_be_read_fails_its_case_alone() {
    let dir = copy_of_examples();
    std::fs::write(dir.path().join("single-failover.flags"), "-wait \"10\n").unwrap();
    let o = tpc(&["test", dir.path().to_str().unwrap()]);
    let report = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{report}");
    assert!(report.contains("ok      node-1-incident\n"), "{report}");
    assert!(
        report.contains("FAILED  single-failover: single-failover.flags:"),
        "{report}"
    );
    assert!(report.ends_with("1 passed, 1 failed\n"), "{report}");
}

/// In JSON as in text, a reload with no outcome by the end of a recording has no gap.
#[test]
fn a_reload_without_an_outcome_has_no_gap_in_json() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scenarios/19_recording_ends_with_reload_pending.jsonl"
    );
    let o = tpc(&["replay", file, "-format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let summary = last["summary"].as_array().unwrap();
    let pending: Vec<_> = summary
        .iter()
        .filter(|f| f["reload_outcome"] == "none by the end")
        .collect();
    assert_eq!(pending.len(), 1, "{last}");
    assert!(pending[0]["gap"].is_null(), "{last}");
}
