//! Failover regression tests in the operator's own CI: a case is a recording
//! (`NAME.jsonl`) or a redis-sentinel log (`NAME.log`), with the flags to replay it with
//! in `NAME.flags` (optional; paths in it are relative to the case's folder), and what
//! tpc must do in `NAME.expected`: the text `tpc replay` prints, times included.
//! `tpc test DIR` replays every case of a folder; `tpc replay FILE -expect EXPECTED`
//! checks one. `-bless` writes the expected files from what tpc does now.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::cli::{self, Command, ReplayOptions};
use super::replay;

/// How one check went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// tpc does what the expected file says.
    Passed,
    /// tpc does otherwise: a unified diff, expected first.
    Failed(String),
    /// The expected file was written.
    Blessed,
}

/// Replays `options` into text, or says why it could not.
fn replayed(options: &ReplayOptions) -> Result<String, String> {
    let mut out = Vec::new();
    replay::run(options, &mut out).map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Checks what `options` replay to against `expected` (or writes it, when `bless`).
pub fn check(options: &ReplayOptions, expected: &Path, bless: bool) -> Result<Checked, String> {
    let got = replayed(options)?;
    if bless {
        std::fs::write(expected, &got)
            .map_err(|e| format!("cannot write {}: {e}", expected.display()))?;
        return Ok(Checked::Blessed);
    }
    let want = std::fs::read_to_string(expected).map_err(|e| {
        format!(
            "cannot read the expected file {} ({e}); write it with -bless once what tpc does is right",
            expected.display()
        )
    })?;
    if want == got {
        return Ok(Checked::Passed);
    }
    let diff = similar::TextDiff::from_lines(&want, &got);
    let shown = expected.display().to_string();
    Ok(Checked::Failed(
        diff.unified_diff()
            .header(&shown, "what tpc does now")
            .to_string(),
    ))
}

/// One case of a folder: its file, and its expected file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Case {
    name: String,
    /// `tpc replay` arguments, as if given on a command line in the case's folder; or
    /// why its flags file cannot be read (the case fails, the others run).
    args: Result<Vec<String>, String>,
    expected: PathBuf,
}

/// The cases in `dir`, by name.
fn cases(dir: &Path) -> Result<Vec<Case>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the folder of cases {}: {e}", dir.display()))?;
    let mut cases = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let (Some(stem), Some(ext)) = (path.file_stem(), path.extension()) else {
            continue;
        };
        let (stem, file) = (
            stem.to_string_lossy(),
            entry.file_name().to_string_lossy().into_owned(),
        );
        let mut args = match ext.to_str() {
            Some("jsonl") => vec![file],
            Some("log") => vec!["-sentinel_log".to_string(), file],
            _ => continue,
        };
        let flags = dir.join(format!("{stem}.flags"));
        let args = match std::fs::read_to_string(&flags) {
            Ok(text) => {
                let lines: Vec<&str> = text
                    .lines()
                    .filter(|l| !l.trim_start().starts_with('#'))
                    .collect();
                shell_words::split(&lines.join(" "))
                    .map(|words| {
                        args.extend(words);
                        args
                    })
                    .map_err(|e| format!("{stem}.flags: {e}"))
            }
            Err(_) => Ok(args),
        };
        cases.push(Case {
            expected: PathBuf::from(format!("{stem}.expected")),
            name: stem.into_owned(),
            args,
        });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(twice) = cases.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(format!(
            "two cases are named {} (NAME.jsonl and NAME.log): rename one, each needs its own NAME.expected",
            twice[0].name
        ));
    }
    // An expected file whose case is gone (renamed, lost) must not pass unnoticed.
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "expected") {
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            if !cases.iter().any(|c| c.name == stem) {
                return Err(format!(
                    "{} has no case: give it {stem}.jsonl or {stem}.log, or remove it",
                    path.display()
                ));
            }
        }
    }
    Ok(cases)
}

/// Runs every case of `dir`: the report (a line per case, a diff per failure, a closing
/// count) and whether every case passed.
pub fn run_dir(dir: &Path, bless: bool) -> (String, bool) {
    let mut report = String::new();
    let cases = match cases(dir) {
        Ok(cases) if cases.is_empty() => {
            let none = format!(
                "no case in {}: a case is NAME.jsonl (a recording) or NAME.log (a sentinel log), with NAME.expected beside it\n",
                dir.display()
            );
            return (none, false);
        }
        Ok(cases) => cases,
        Err(e) => return (format!("{e}\n"), false),
    };
    // Paths in cases are the folder's: the cases run from there.
    let back = std::env::current_dir().ok();
    if let Err(e) = std::env::set_current_dir(dir) {
        return (format!("cannot enter {}: {e}\n", dir.display()), false);
    }
    let (mut passed, mut failed) = (0, 0);
    for case in &cases {
        let result = case.args.clone().and_then(|case_args| {
            let mut args = vec!["replay".to_string()];
            args.extend(case_args);
            match cli::parse(&args) {
                Ok(Command::Replay(options)) => check(&options, &case.expected, bless),
                Ok(_) => Err("its flags ask for help, not a replay".to_string()),
                Err(e) => Err(format!("its flags: {e}")),
            }
        });
        match result {
            Ok(Checked::Passed) => {
                passed += 1;
                let _ = writeln!(report, "ok      {}", case.name);
            }
            Ok(Checked::Blessed) => {
                passed += 1;
                let _ = writeln!(report, "blessed {}", case.name);
            }
            Ok(Checked::Failed(diff)) => {
                failed += 1;
                let _ = writeln!(
                    report,
                    "FAILED  {}: tpc now does otherwise\n{diff}",
                    case.name
                );
            }
            Err(e) => {
                failed += 1;
                let _ = writeln!(report, "FAILED  {}: {e}", case.name);
            }
        }
    }
    if let Some(back) = back {
        let _ = std::env::set_current_dir(back);
    }
    let _ = writeln!(report, "{passed} passed, {failed} failed");
    (report, failed == 0)
}
