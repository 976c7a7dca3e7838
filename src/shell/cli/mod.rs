//! The command line: every flag is written once, in the flag table ([`flags`]); the
//! original tpc's Go-style flags are read with it ([`goflags`]) into raw arguments
//! ([`args`]), argh parsing the typed values, then checked into [`Options`]
//! ([`validate`], with [`sentinels`] and [`secrets`]); a run also checks its paths and
//! listen address first ([`checks`]). Help and the README's flag table come from the same
//! table ([`help`]); `-compat` takes a released version's defaults ([`compat`]);
//! `-supervise -- COMMAND` is checked by [`supervise`].

pub mod args;
pub mod checks;
pub mod compat;
pub mod flags;
pub mod goflags;
pub mod help;
pub mod nutcracker_argv;
pub mod secrets;
pub mod sentinels;
pub mod supervise;
pub mod validate;

use std::ffi::OsString;
use std::path::PathBuf;

use crate::core::CoreSettings;

pub use help::help;
pub use validate::{
    apply_overrides, Options, SlackOptions, UsageError, WebhookFormat, WebhookOptions,
};

use args::RawArgs;
use goflags::{raw_args, scan, Request};

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

/// How `tpc replay` shows times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// `+1.250s`: since the start of the recording or the first event of the log.
    #[default]
    Relative,
    /// The recording's wall clock (UTC) or the log's own clock.
    Wall,
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
    /// How times are shown.
    pub clock: Clock,
    /// The year of a sentinel log's lines that carry none (`-log_year`).
    pub log_year: Option<i64>,
    /// `-v`: list every unread line, not only the first few.
    pub verbose: bool,
    /// `-expect`: compare the output with this file instead of printing it.
    pub expect: Option<PathBuf>,
    /// `-bless`: write the `-expect` file from the output.
    pub bless: bool,
}

/// What the command line asks tpc to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run with these options.
    Run(Box<Options>),
    /// Replay a recording or a sentinel log.
    Replay(Box<ReplayOptions>),
    /// Ask the sentinels once and compare the config file with what tpc would write.
    Status(Box<Options>),
    /// Run every failover test case in a folder (`tpc test DIR`).
    Test {
        /// The folder of cases.
        dir: PathBuf,
        /// Write the expected files instead of comparing.
        bless: bool,
    },
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
    let (status, args) = match args.first().map(String::as_str) {
        Some("replay") => return parse_replay(&args[1..]),
        Some("test") => return parse_test(&args[1..]),
        Some("status") => (true, &args[1..]),
        _ => (false, args),
    };
    let Some((raw, given)) = parse_raw(args)? else {
        return Ok(Command::Help(help()));
    };
    if raw.version {
        return Ok(Command::Version);
    }
    let mut options = validate::validate(&raw).map_err(usage)?;
    if options.sentinels.is_empty() && options.dry_run_masters.is_none() {
        return Err(usage(UsageError::NoSentinels));
    }
    if options.core.template.is_some() {
        let pool_flag = given
            .iter()
            .filter_map(|name| flags::lookup(name))
            .find(|flag| flag.shapes_the_pool());
        if let Some(flag) = pool_flag {
            return Err(usage(UsageError::PoolFlagWithTemplate(flag.name)));
        }
        if !options.core.pool.redis_auth.is_empty() {
            options.warnings.push(format!(
                "{} is set, but template mode sends the servers the template's redis_auth: it is ignored",
                secrets::REDIS_AUTH.env
            ));
        }
    }
    let cmd_given = given.iter().any(|name| name == "cmd");
    options.supervise = supervise::check(&raw, cmd_given, options.out.as_deref())
        .map_err(|e| usage(UsageError::Supervise(e)))?;
    checks::check(&options).map_err(usage)?;
    sentinels::merge_resolved(&mut options.sentinels, &mut options.warnings);
    options.core.sentinels = options.sentinels.len();
    if status {
        if options.sentinels.is_empty() {
            return Err(usage(UsageError::NoSentinels));
        }
        return Ok(Command::Status(Box::new(options)));
    }
    Ok(Command::Run(Box::new(options)))
}

fn usage(e: UsageError) -> CliError {
    CliError(e.to_string())
}

/// Reads Go-style flags (and the words after `--`); `None` when help was asked for.
/// Also returns the names of the flags given.
fn parse_raw(args: &[String]) -> Result<Option<(RawArgs, Vec<String>)>, CliError> {
    let (given, rest) = match scan(args).map_err(|e| CliError(e.to_string()))? {
        Request::Help => return Ok(None),
        Request::Flags { given, rest } => (given, rest),
    };
    let mut raw = raw_args(&given).map_err(|e| CliError(e.to_string()))?;
    raw.command = rest;
    let names = given.iter().map(|(f, _)| f.name.to_string()).collect();
    Ok(Some((raw, names)))
}

/// `tpc replay FILE [flags]`, `tpc replay [flags] FILE` or `tpc replay -sentinel_log
/// FILE [flags]`.
fn parse_replay(args: &[String]) -> Result<Command, CliError> {
    // In replay, `-v` (the daemon's `-version`) asks for every unread line.
    let verbose = args.iter().any(|a| a == "-v" || a == "--v");
    let args: Vec<String> = args
        .iter()
        .filter(|a| *a != "-v" && *a != "--v")
        .cloned()
        .collect();
    let (file, flags) = replay_file(&args);
    let Some((raw, given)) = parse_raw(flags)? else {
        return Ok(Command::Help(help::replay_help()));
    };
    if let Some(word) = raw.command.first() {
        return Err(CliError(format!(
            "unexpected {word:?} after --: tpc replay takes one file (tpc replay [flags] -- FILE)"
        )));
    }
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
    let clock = match raw.clock.as_str() {
        "relative" => Clock::Relative,
        "wall" => Clock::Wall,
        other => {
            return Err(CliError(format!(
                "invalid value {other:?} for -clock: must be relative or wall"
            )))
        }
    };
    let log_year = match raw.log_year.as_deref() {
        None => None,
        Some(y) => Some(
            y.parse::<i64>()
                .ok()
                .filter(|y| (1970..=9999).contains(y))
                .ok_or_else(|| {
                    CliError(format!(
                        "invalid value {y:?} for -log_year: must be a year such as 2024"
                    ))
                })?,
        ),
    };
    let options = validate::validate(&raw).map_err(usage)?;
    let replayed = match &source {
        Source::Recording(p) | Source::SentinelLog(p) => p,
    };
    if let Some(expect) = raw.expect.as_deref() {
        if crate::shell::config_file::same_file(std::path::Path::new(expect), replayed) {
            return Err(CliError(format!(
                "-expect {expect} is the file being replayed: -bless would replace it; give the expected text a file of its own"
            )));
        }
    }
    Ok(Command::Replay(Box::new(ReplayOptions {
        source,
        format,
        masters: options.dry_run_masters,
        flags: options.core,
        given,
        clock,
        log_year,
        verbose,
        expect: raw.expect.as_deref().map(PathBuf::from),
        bless: raw.bless,
    })))
}

/// `tpc test DIR [-bless]`.
fn parse_test(args: &[String]) -> Result<Command, CliError> {
    let usage =
        || CliError("usage: tpc test DIR [-bless] (a folder of failover test cases)".into());
    let bless = |a: &String| {
        matches!(
            a.as_str(),
            "-bless" | "--bless" | "-bless=true" | "--bless=true"
        )
    };
    let mut dirs = args.iter().filter(|a| !bless(a));
    let dir = dirs.next().ok_or_else(usage)?;
    if dirs.next().is_some() || dir.starts_with('-') {
        return Err(usage());
    }
    Ok(Command::Test {
        dir: PathBuf::from(dir),
        bless: args.iter().any(bless),
    })
}

/// The recording to replay, named before the flags, after them, or after `--` (as Go's
/// flag package allows), and the flags.
fn replay_file(args: &[String]) -> (Option<PathBuf>, &[String]) {
    let is_file = |word: &String| !word.starts_with('-');
    match args {
        [first, flags @ ..] if is_file(first) => (Some(PathBuf::from(first)), flags),
        [flags @ .., end, last] if end == "--" => (Some(PathBuf::from(last)), flags),
        // Last, it is the word the flags leave over: without it they read, with it not.
        [flags @ .., last] if is_file(last) && scan(args).is_err() && scan(flags).is_ok() => {
            (Some(PathBuf::from(last)), flags)
        }
        _ => (None, args),
    }
}

#[cfg(test)]
mod tests;
