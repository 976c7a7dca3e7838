//! The command line: the original tpc's Go-style flags, rewritten ([`goflags`]), parsed
//! by argh ([`args`]) and checked into [`Options`] ([`validate`], with [`sentinels`] and
//! [`secrets`]); a run also checks its paths and listen address first ([`checks`]).

pub mod args;
pub mod checks;
pub mod goflags;
pub mod secrets;
pub mod sentinels;
pub mod validate;

use std::ffi::OsString;
use std::path::PathBuf;

use argh::FromArgs;

use crate::core::CoreSettings;

pub use validate::{apply_overrides, Options, SlackOptions, UsageError};

use args::{RawArgs, FLAGS};
use goflags::{rewrite, Kind, Request};

/// The original tpc's reload command, kept as the default for compatibility although
/// stock nutcracker ignores SIGUSR1.
pub const DEFAULT_CMD: &str = "killall -USR1 nutcracker";

/// Timeline formats of `tpc replay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human text.
    Text,
    /// JSON Lines, for tools.
    Json,
}

/// What `tpc replay` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A recording (or hand-written scenario) in tpc's JSON Lines format.
    Recording(PathBuf),
    /// A redis-sentinel log file.
    SentinelLog(PathBuf),
}

/// `tpc replay` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayOptions {
    /// What to replay.
    pub source: Source,
    /// Output format.
    pub format: Format,
    /// Initial masters (a snapshot at time 0), from a masters file.
    pub masters: Option<PathBuf>,
    /// Settings from the flags (defaults where not given).
    pub flags: CoreSettings,
    /// Names of the flags given, which override the recording's header.
    pub given: Vec<String>,
}

/// What the command line asks tpc to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run with these options.
    Run(Box<Options>),
    /// Replay a recording or a sentinel log.
    Replay(Box<ReplayOptions>),
    /// Print this help text and exit 0.
    Help(String),
    /// Print the version and exit 0.
    Version,
}

/// A command line tpc cannot run with: one line saying what is wrong (exit status 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The arguments as text. One that is not valid UTF-8 is named by its position only:
/// its bytes may be a secret, and are never shown.
pub fn utf8_args(args: impl IntoIterator<Item = OsString>) -> Result<Vec<String>, CliError> {
    args.into_iter()
        .enumerate()
        .map(|(i, arg)| {
            arg.into_string().map_err(|_| {
                CliError(format!(
                    "argument {} is not valid UTF-8 (not shown: it may be a secret); give every flag and value as UTF-8 text",
                    i + 1
                ))
            })
        })
        .collect()
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, CliError> {
    if args.first().map(String::as_str) == Some("replay") {
        return parse_replay(&args[1..]);
    }
    let Some((raw, _)) = parse_raw(args)? else {
        return Ok(Command::Help(help()));
    };
    if raw.version {
        return Ok(Command::Version);
    }
    let mut options = validate::validate(&raw).map_err(usage)?;
    if options.sentinels.is_empty() && options.dry_run_masters.is_none() {
        return Err(usage(UsageError::NoSentinels));
    }
    checks::check(&options).map_err(usage)?;
    sentinels::merge_resolved(&mut options.sentinels, &mut options.warnings);
    options.core.sentinels = options.sentinels.len();
    Ok(Command::Run(Box::new(options)))
}

fn usage(e: UsageError) -> CliError {
    CliError(e.to_string())
}

/// Rewrites and parses Go-style flags; `None` when help was asked for. Also returns the
/// names of the flags given.
fn parse_raw(args: &[String]) -> Result<Option<(RawArgs, Vec<String>)>, CliError> {
    let argv = match rewrite(args, FLAGS).map_err(|e| CliError(e.to_string()))? {
        Request::Help => return Ok(None),
        Request::Args(argv) => argv,
    };
    let given = argv
        .iter()
        .filter_map(|a| a.strip_prefix("--"))
        .map(|name| name.replace('-', "_"))
        .collect();
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let raw = RawArgs::from_args(&["tpc"], &refs).map_err(|exit| {
        let first = exit.output.lines().next().unwrap_or("invalid arguments");
        CliError(format!("{}; run tpc -h for help", go_spelling(first)))
    })?;
    Ok(Some((raw, given)))
}

/// `tpc replay FILE [flags]`, `tpc replay [flags] FILE` or `tpc replay -sentinel_log
/// FILE [flags]`.
fn parse_replay(args: &[String]) -> Result<Command, CliError> {
    let (file, flags) = replay_file(args);
    let Some((raw, given)) = parse_raw(flags)? else {
        return Ok(Command::Help(help()));
    };
    let source = match (file, raw.sentinel_log.as_deref()) {
        (Some(f), None) => Source::Recording(f),
        (None, Some(log)) => Source::SentinelLog(PathBuf::from(log)),
        (Some(_), Some(_)) => {
            return Err(CliError(
                "give either a recording (tpc replay FILE) or -sentinel_log FILE, not both".into(),
            ))
        }
        (None, None) => {
            return Err(CliError(
                "nothing to replay: use tpc replay FILE, or tpc replay -sentinel_log FILE".into(),
            ))
        }
    };
    let format = match raw.format.as_str() {
        "text" => Format::Text,
        "json" => Format::Json,
        other => {
            return Err(CliError(format!(
                "invalid value {other:?} for -format: must be text or json"
            )))
        }
    };
    let options = validate::validate(&raw).map_err(usage)?;
    Ok(Command::Replay(Box::new(ReplayOptions {
        source,
        format,
        masters: options.dry_run_masters,
        flags: options.core,
        given,
    })))
}

/// The recording to replay, named before the flags, after them, or after `--` (as Go's
/// flag package allows), and the flags.
fn replay_file(args: &[String]) -> (Option<PathBuf>, &[String]) {
    let is_file = |word: &String| !word.starts_with('-');
    match args {
        [first, flags @ ..] if is_file(first) => (Some(PathBuf::from(first)), flags),
        [flags @ .., end, last] if end == "--" => (Some(PathBuf::from(last)), flags),
        // Last, it is the word the flags leave over: without it they read, with it not.
        [flags @ .., last]
            if is_file(last) && rewrite(args, FLAGS).is_err() && rewrite(flags, FLAGS).is_ok() =>
        {
            (Some(PathBuf::from(last)), flags)
        }
        _ => (None, args),
    }
}

/// argh's help, with the flags spelt as the original's (`-master_pattern`) and the
/// descriptions' group prefixes capitalized as in the original's help.
pub fn help() -> String {
    let exit = RawArgs::from_args(&["tpc"], &["--help"]).expect_err("--help always exits early");
    let mut text = go_spelling(&exit.output);
    for spec in FLAGS.iter().filter(|s| s.kind == Kind::Bool) {
        text = text.replace(&format!(" <{}>", spec.name), "");
    }
    // One space before: a long flag name leaves only one.
    text.replace(" twemproxy: ", " Twemproxy: ")
        .replace(" slack: ", " Slack: ")
        .replace("--help, help", "-h, -help  ")
}

/// Rewrites argh's `--dashed-name` spellings as the original's `-underscored_name`.
fn go_spelling(text: &str) -> String {
    let mut text = text.to_string();
    // Longest first, so `--hash-tag` is not caught by `--hash`.
    let mut specs: Vec<_> = FLAGS.iter().collect();
    specs.sort_by_key(|s| std::cmp::Reverse(s.name.len()));
    for spec in specs {
        let dashed = spec.name.replace('_', "-");
        text = text
            .replace(&format!("--{dashed}"), &format!("-{}", spec.name))
            .replace(&format!("<{dashed}>"), &format!("<{}>", spec.name));
    }
    text
}

#[cfg(test)]
mod tests;
