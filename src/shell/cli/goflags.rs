//! The original tpc's Go-style command lines, rewritten into the form argh parses.
//!
//! Go's `flag` package takes `-flag value`, `-flag=value`, `--flag value` and
//! `--flag=value`; booleans are set by `-flag` alone and switched off only as
//! `-flag=false`. argh takes `--flag value` with dashes in names. This module maps one
//! to the other so old command lines keep working unchanged.

use std::fmt;

/// How a flag takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Takes the next argument (or the text after `=`).
    Value,
    /// A Go boolean: alone means true, `=false` switches it off.
    Bool,
    /// No value at all (`-version`).
    Switch,
}

/// A flag tpc accepts: its spelling in the original (underscores) and how it takes a
/// value.
#[derive(Debug, Clone, Copy)]
pub struct FlagSpec {
    /// Name as written after the dash(es), e.g. `master_pattern`.
    pub name: &'static str,
    /// How it takes a value.
    pub kind: Kind,
}

/// Why a command line could not be rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoFlagError {
    /// A flag tpc does not know.
    Unknown(String),
    /// A flag that needs a value came last.
    MissingValue(String),
    /// A word that is not a flag where flags were expected.
    Unexpected(String),
    /// A switch was given a value.
    ValueForSwitch(String),
}

impl fmt::Display for GoFlagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GoFlagError::Unknown(flag) => {
                write!(f, "flag provided but not defined: -{flag} (run tpc -h to list the flags)")
            }
            GoFlagError::MissingValue(flag) => write!(f, "flag needs an argument: -{flag}"),
            GoFlagError::Unexpected(word) => write!(
                f,
                "unexpected argument {word:?}: tpc takes only flags (did you forget the '-' or quote a value with spaces?)"
            ),
            GoFlagError::ValueForSwitch(flag) => write!(f, "flag -{flag} takes no value"),
        }
    }
}

/// What a command line asks for before any parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Print help.
    Help,
    /// Arguments rewritten for argh.
    Args(Vec<String>),
}

/// Rewrites Go-style `args` (without the program name) for argh: every flag becomes
/// `--dashed-name`, values follow as separate arguments, and booleans always carry
/// their value. `-h`, `-help` and `--help` anywhere ask for help.
pub fn rewrite(args: &[String], flags: &[FlagSpec]) -> Result<Request, GoFlagError> {
    // (argh flag, value); a flag given twice keeps its last value, as in Go.
    let mut parsed: Vec<(String, Option<String>)> = Vec::with_capacity(args.len());
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let Some(body) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            return Err(GoFlagError::Unexpected(arg.clone()));
        };
        if body.is_empty() {
            return Err(GoFlagError::Unexpected(arg.clone()));
        }
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        if matches!(name, "h" | "help") {
            return Ok(Request::Help);
        }
        let name = name.replace('-', "_");
        let spec = flags
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| GoFlagError::Unknown(name.clone()))?;
        let value = match (spec.kind, inline) {
            (Kind::Switch, None) => None,
            (Kind::Switch, Some(_)) => return Err(GoFlagError::ValueForSwitch(name)),
            (Kind::Bool, v) => Some(v.unwrap_or("true").to_string()),
            (Kind::Value, Some(v)) => Some(v.to_string()),
            (Kind::Value, None) => match iter.next() {
                Some(v) => Some(v.clone()),
                None => return Err(GoFlagError::MissingValue(name)),
            },
        };
        let flag = format!("--{}", spec.name.replace('_', "-"));
        parsed.retain(|(f, _)| *f != flag);
        parsed.push((flag, value));
    }
    let out = parsed
        .into_iter()
        .flat_map(|(flag, value)| std::iter::once(flag).chain(value))
        .collect();
    Ok(Request::Args(out))
}

/// Parses a Go boolean: `1 t T TRUE true True` or `0 f F FALSE false False`.
pub fn parse_go_bool(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!(
            "{text:?} is not a boolean (use true or false, as -flag=false)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAGS: &[FlagSpec] = &[
        FlagSpec {
            name: "sentinels",
            kind: Kind::Value,
        },
        FlagSpec {
            name: "master_pattern",
            kind: Kind::Value,
        },
        FlagSpec {
            name: "timeout",
            kind: Kind::Value,
        },
        FlagSpec {
            name: "preconnect",
            kind: Kind::Bool,
        },
        FlagSpec {
            name: "auto_eject_hosts",
            kind: Kind::Bool,
        },
        FlagSpec {
            name: "version",
            kind: Kind::Switch,
        },
    ];

    fn rw(args: &[&str]) -> Result<Request, GoFlagError> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        rewrite(&args, FLAGS)
    }

    fn ok(args: &[&str]) -> Vec<String> {
        match rw(args) {
            Ok(Request::Args(a)) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_go_spelling_of_a_value() {
        let want = vec!["--sentinels".to_string(), ":8000".to_string()];
        assert_eq!(ok(&["-sentinels", ":8000"]), want);
        assert_eq!(ok(&["-sentinels=:8000"]), want);
        assert_eq!(ok(&["--sentinels", ":8000"]), want);
        assert_eq!(ok(&["--sentinels=:8000"]), want);
        assert_eq!(ok(&["-master_pattern", "x"]), ["--master-pattern", "x"]);
        assert_eq!(ok(&["--master-pattern=x"]), ["--master-pattern", "x"]);
    }

    #[test]
    fn negative_values_are_values() {
        assert_eq!(ok(&["-timeout", "-1"]), ["--timeout", "-1"]);
        assert_eq!(ok(&["-timeout=-1"]), ["--timeout", "-1"]);
    }

    #[test]
    fn go_booleans() {
        assert_eq!(ok(&["-preconnect"]), ["--preconnect", "true"]);
        assert_eq!(
            ok(&["-auto_eject_hosts=false"]),
            ["--auto-eject-hosts", "false"]
        );
        assert_eq!(ok(&["-version"]), ["--version"]);
    }

    #[test]
    fn the_last_of_a_repeated_flag_wins() {
        assert_eq!(
            ok(&["-timeout", "1", "-preconnect", "-timeout=2"]),
            ["--preconnect", "true", "--timeout", "2"]
        );
    }

    #[test]
    fn help_and_errors() {
        assert_eq!(rw(&["-sentinels", ":1", "-h"]), Ok(Request::Help));
        assert_eq!(rw(&["-help"]), Ok(Request::Help));
        assert_eq!(
            rw(&["-nope", "1"]),
            Err(GoFlagError::Unknown("nope".into()))
        );
        assert_eq!(
            rw(&["-sentinels"]),
            Err(GoFlagError::MissingValue("sentinels".into()))
        );
        assert_eq!(rw(&["stray"]), Err(GoFlagError::Unexpected("stray".into())));
        assert_eq!(
            rw(&["-version=1"]),
            Err(GoFlagError::ValueForSwitch("version".into()))
        );
        assert_eq!(parse_go_bool("F"), Ok(false));
        assert!(parse_go_bool("yes").unwrap_err().contains("-flag=false"));
    }
}
