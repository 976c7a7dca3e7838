//! The command line: the original tpc's Go-style flags, rewritten ([`goflags`]), parsed
//! by argh ([`args`]) and checked into [`Options`] ([`validate`]).

pub mod args;
pub mod goflags;
pub mod validate;

use argh::FromArgs;

pub use validate::{Options, SlackOptions, UsageError};

use args::{RawArgs, FLAGS};
use goflags::{rewrite, Kind, Request};

/// The original tpc's reload command, kept as the default for compatibility although
/// stock nutcracker ignores SIGUSR1.
pub const DEFAULT_CMD: &str = "killall -USR1 nutcracker";

/// What the command line asks tpc to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run with these options.
    Run(Box<Options>),
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

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, CliError> {
    let argv = match rewrite(args, FLAGS).map_err(|e| CliError(e.to_string()))? {
        Request::Help => return Ok(Command::Help(help())),
        Request::Args(argv) => argv,
    };
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let raw = RawArgs::from_args(&["tpc"], &refs).map_err(|exit| {
        let first = exit.output.lines().next().unwrap_or("invalid arguments");
        CliError(format!("{}; run tpc -h for help", go_spelling(first)))
    })?;
    if raw.version {
        return Ok(Command::Version);
    }
    let options = validate::validate(&raw).map_err(|e| CliError(e.to_string()))?;
    Ok(Command::Run(Box::new(options)))
}

/// argh's help, with the flags spelt as the original's (`-master_pattern`) and the
/// descriptions' group prefixes capitalized as in the original's help.
pub fn help() -> String {
    let exit = RawArgs::from_args(&["tpc"], &["--help"]).expect_err("--help always exits early");
    let mut text = go_spelling(&exit.output);
    for spec in FLAGS.iter().filter(|s| s.kind == Kind::Bool) {
        text = text.replace(&format!(" <{}>", spec.name), "");
    }
    text.replace("  twemproxy: ", "  Twemproxy: ")
        .replace("  slack: ", "  Slack: ")
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
