//! The scenario corpus: every `tests/scenarios/*.jsonl` (a hand-written or recorded
//! sequence of inputs) and every `tests/scenarios/sentinel_logs/*.log` (a redis-sentinel
//! log in any shape tpc reads, with the masters known before it in the `.masters` file
//! beside it, or else in its first `+monitor` lines; lines without a year are of 2026)
//! is replayed
//! through the core, in-process, exactly as `tpc replay` does, and its effect timeline
//! and final config are kept as an insta snapshot in `snapshots/`.
//!
//! Adding a file adds a case: no code changes. Each scenario starts with comment lines
//! saying what it shows; they are copied into its snapshot's description, so reviewing a
//! snapshot means checking that the timeline shows what the comment claims.
//!
//! To accept new or changed timelines: `INSTA_UPDATE=always cargo test --test scenarios`
//! (then delete any stray `.snap.new`), and read every changed snapshot.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use tpc::core::CoreSettings;
use tpc::shell::cli::{Format, ReplayOptions, Source};
use tpc::shell::replay;

/// The corpus must not silently shrink (a bad glob, a moved folder).
const MIN_SCENARIOS: usize = 14;

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios")
}

/// The files in `dir` whose name ends with `.ext`, sorted.
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    files
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .expect("a file name")
        .to_string_lossy()
        .into_owned()
}

/// The comment lines a scenario starts with, without their `#`.
fn leading_comment(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .map_while(|line| line.strip_prefix('#'))
        .map(|line| line.trim().to_string())
        .collect()
}

/// Replays like `tpc replay` with no flags, twice: the timeline must not depend on
/// anything but the inputs (invariant 7).
fn replay_text(source: Source, masters: Option<PathBuf>) -> String {
    let options = ReplayOptions {
        source,
        format: Format::Text,
        masters,
        flags: CoreSettings::default(),
        given: vec![],
        clock: Default::default(),
        log_year: Some(2026),
        verbose: false,
        expect: None,
        bless: false,
    };
    let run = || {
        let mut out: Vec<u8> = Vec::new();
        replay::run(&options, &mut out)
            .unwrap_or_else(|e| panic!("replay of {:?} failed: {e}", options.source));
        String::from_utf8(out).expect("the timeline is UTF-8")
    };
    let first = run();
    assert_eq!(
        first,
        run(),
        "replaying {:?} twice gave different timelines",
        options.source
    );
    first
}

/// Checks `output` against the snapshot `name` in the top-level `snapshots/` folder.
/// Returns the failure message instead of panicking, so every case is checked (and
/// every `.snap.new` written) in one run.
fn check_snapshot(name: &str, input: &Path, description: &str, output: &str) -> Result<(), String> {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    s.set_prepend_module_to_snapshot(true);
    s.set_input_file(input);
    s.set_description(description);
    s.set_omit_expression(true);
    catch_unwind(AssertUnwindSafe(|| {
        s.bind(|| insta::assert_snapshot!(name, output));
    }))
    .map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| format!("snapshot {name} does not match"))
    })
}

/// Panics listing every case that failed.
fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_scenario_matches_its_snapshot() {
    let dir = scenarios_dir();
    let scenarios = files(&dir, "jsonl");
    assert!(
        scenarios.len() >= MIN_SCENARIOS,
        "expected at least {MIN_SCENARIOS} scenarios in {}, found {}: {:?}",
        dir.display(),
        scenarios.len(),
        scenarios.iter().map(|p| stem(p)).collect::<Vec<_>>()
    );
    let mut failures = Vec::new();
    for path in &scenarios {
        let name = stem(path);
        let output = replay_text(Source::Recording(path.clone()), None);
        let description = leading_comment(path).join("\n");
        if let Err(e) = check_snapshot(&name, path, &description, &output) {
            failures.push(format!("{name}: {e}"));
        }
    }
    report(failures);
}

#[test]
fn every_sentinel_log_matches_its_snapshot() {
    let dir = scenarios_dir().join("sentinel_logs");
    let logs = files(&dir, "log");
    assert!(!logs.is_empty(), "no sentinel log in {}", dir.display());
    let mut failures = Vec::new();
    for path in &logs {
        let masters = Some(path.with_extension("masters")).filter(|m| m.is_file());
        let name = format!("sentinel_log_{}", stem(path));
        let output = replay_text(Source::SentinelLog(path.clone()), masters.clone());
        let description = format!(
            "redis-sentinel log {}, masters from {}",
            path.file_name().unwrap().to_string_lossy(),
            masters.as_ref().map_or("its +monitor lines".into(), |m| m
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned())
        );
        if let Err(e) = check_snapshot(&name, path, &description, &output) {
            failures.push(format!("{name}: {e}"));
        }
    }
    report(failures);
}

#[test]
fn every_scenario_explains_itself() {
    let scenarios = files(&scenarios_dir(), "jsonl");
    let silent: Vec<String> = scenarios
        .iter()
        .filter(|path| leading_comment(path).first().is_none_or(|l| l.is_empty()))
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        silent.is_empty(),
        "these scenarios do not start with a `# ...` comment line saying what they show: {silent:?}"
    );
}

#[test]
fn scenario_names_have_a_two_digit_prefix() {
    let misnamed: Vec<String> = files(&scenarios_dir(), "jsonl")
        .iter()
        .map(|p| stem(p))
        .filter(|name| {
            let b = name.as_bytes();
            !(b.len() > 3 && b[0].is_ascii_digit() && b[1].is_ascii_digit() && b[2] == b'_')
        })
        .collect();
    assert!(
        misnamed.is_empty(),
        "scenario files are named NN_what_it_shows.jsonl (two digits, an underscore): {misnamed:?}"
    );
}
