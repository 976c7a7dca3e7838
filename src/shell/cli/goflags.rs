//! The original tpc's Go-style command lines, read with the flag table
//! ([`super::flags::FLAGS`]).
//!
//! Go's `flag` package takes `-flag value`, `-flag=value`, `--flag value` and
//! `--flag=value`; booleans are set by `-flag` alone and switched off only as
//! `-flag=false`. Dashes inside a name read as underscores (`--master-pattern`). A
//! lone `--` ends the flags: every word after it is left as it is (under `-supervise`,
//! the command tpc runs).

use std::fmt;

use super::args::RawArgs;
use super::compat;
use super::flags::{defaults, lookup, Flag, Kind, FLAGS};

/// Why a command line could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoFlagError {
    /// A flag tpc does not know, and the known flag it most likely means.
    Unknown(String, Option<&'static str>),
    /// A flag that needs a value came last.
    MissingValue(String),
    /// A word that is not a flag where flags were expected.
    Unexpected(String),
    /// A word that is no flag right after a secret's value: likely the rest of a secret
    /// with a space, so it is not shown.
    UnexpectedAfterSecret(&'static str),
    /// A switch was given a value.
    ValueForSwitch(String),
    /// A value the flag cannot take.
    BadValue {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
        /// What is expected.
        why: String,
    },
}

impl fmt::Display for GoFlagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GoFlagError::Unknown(flag, Some(near)) => {
                write!(f, "flag provided but not defined: -{flag} (did you mean -{near}?)")
            }
            GoFlagError::Unknown(flag, None) => {
                write!(f, "flag provided but not defined: -{flag} (run tpc -h to list the flags)")
            }
            GoFlagError::MissingValue(flag) => write!(f, "flag needs an argument: -{flag}"),
            GoFlagError::Unexpected(word) => write!(
                f,
                "unexpected argument {word:?}: tpc takes only flags (did you forget the '-' or quote a value with spaces?)"
            ),
            GoFlagError::UnexpectedAfterSecret(flag) => write!(
                f,
                "unexpected argument after the value of -{flag} (not shown: it may be part of the secret); quote a value with spaces, or give it as a file or in the environment"
            ),
            GoFlagError::ValueForSwitch(flag) => write!(f, "flag -{flag} takes no value"),
            GoFlagError::BadValue { flag, value, why } => {
                write!(f, "invalid value {value:?} for -{flag}: {why}")
            }
        }
    }
}

/// What a command line asks for.
#[derive(Debug, Clone)]
pub enum Request {
    /// Print help.
    Help,
    /// Run with these.
    Flags {
        /// The flags given, in order, each with its value (none for a switch).
        given: Vec<(&'static Flag, Option<String>)>,
        /// The words after `--`, as they are.
        rest: Vec<String>,
    },
}

/// Reads Go-style `args` (without the program name). `-h`, `-help` and `--help`
/// anywhere before `--` ask for help.
pub fn scan(args: &[String]) -> Result<Request, GoFlagError> {
    let mut given = Vec::with_capacity(args.len());
    let mut iter = args.iter();
    // The secret flag whose value was the last word, if it was one.
    let mut after_secret: Option<&'static str> = None;
    while let Some(arg) = iter.next() {
        if arg == "--" {
            let rest = iter.cloned().collect();
            return Ok(Request::Flags { given, rest });
        }
        let Some(body) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            return Err(match after_secret {
                Some(flag) => GoFlagError::UnexpectedAfterSecret(flag),
                None => GoFlagError::Unexpected(arg.clone()),
            });
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
        let Some(flag) = FLAGS.iter().find(|f| f.is_named(&name)) else {
            let near = nearest(&name);
            return Err(GoFlagError::Unknown(name, near));
        };
        let value = match (flag.kind, inline) {
            (Kind::Switch, None) => None,
            (Kind::Switch, Some(_)) => return Err(GoFlagError::ValueForSwitch(name)),
            (Kind::Bool, v) => Some(v.unwrap_or("true").to_string()),
            (Kind::Value(_), Some(v)) => Some(v.to_string()),
            (Kind::Value(_), None) => match iter.next() {
                Some(v) => Some(v.clone()),
                None => return Err(GoFlagError::MissingValue(name)),
            },
        };
        let secret = super::secrets::ALL.iter().any(|s| s.flag == flag.name);
        after_secret = (secret && inline.is_none()).then_some(flag.name);
        given.push((flag, value));
    }
    Ok(Request::Flags {
        given,
        rest: Vec::new(),
    })
}

/// The raw arguments for the flags `given`: the defaults (of the `-compat` release, if
/// given), then each flag in order, so the last of a repeated flag wins, as in Go.
pub fn raw_args(given: &[(&'static Flag, Option<String>)]) -> Result<RawArgs, GoFlagError> {
    let bad = |flag: &'static Flag, value: &str, why: String| GoFlagError::BadValue {
        flag: flag.name,
        value: value.to_string(),
        why,
    };
    let release = given
        .iter()
        .rev()
        .find(|(f, _)| f.name == "compat")
        .and_then(|(f, v)| v.as_deref().map(|v| (f, v)))
        .map(|(f, v)| compat::release(v).map_err(|why| bad(f, v, why)))
        .transpose()?;
    let mut raw = defaults(release);
    for (flag, value) in given {
        let value = value.as_deref().unwrap_or("");
        (flag.set)(&mut raw, value).map_err(|why| bad(flag, value, why))?;
    }
    Ok(raw)
}

/// The known flag `name` most likely misspells: the closest within two edits, fewer
/// than half its letters.
fn nearest(name: &str) -> Option<&'static str> {
    FLAGS
        .iter()
        .flat_map(|f| std::iter::once(f.name).chain(f.aliases.iter().copied()))
        .filter(|known| known.len() > 1)
        .map(|known| (edits(name, known), known))
        .filter(|(d, _)| *d <= 2 && *d < name.len() / 2)
        .min_by_key(|(d, _)| *d)
        .and_then(|(_, known)| lookup(known))
        .map(|f| f.name)
}

/// Levenshtein distance.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
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

    /// The flags given and the words after `--`.
    type Scanned = (Vec<(&'static str, Option<String>)>, Vec<String>);

    fn scanned(args: &[&str]) -> Result<Scanned, GoFlagError> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        match scan(&args)? {
            Request::Flags { given, rest } => {
                Ok((given.into_iter().map(|(f, v)| (f.name, v)).collect(), rest))
            }
            Request::Help => Ok((vec![("-h", None)], Vec::new())),
        }
    }

    fn rw(args: &[&str]) -> Result<Vec<(&'static str, Option<String>)>, GoFlagError> {
        let (given, rest) = scanned(args)?;
        assert!(rest.is_empty(), "{args:?} left {rest:?}");
        Ok(given)
    }

    fn ok(args: &[&str]) -> Vec<(&'static str, Option<String>)> {
        rw(args).unwrap()
    }

    fn one(name: &'static str, value: &str) -> Vec<(&'static str, Option<String>)> {
        vec![(name, Some(value.to_string()))]
    }

    #[test]
    fn every_go_spelling_of_a_value() {
        let want = one("sentinels", ":8000");
        assert_eq!(ok(&["-sentinels", ":8000"]), want);
        assert_eq!(ok(&["-sentinels=:8000"]), want);
        assert_eq!(ok(&["--sentinels", ":8000"]), want);
        assert_eq!(ok(&["--sentinels=:8000"]), want);
        assert_eq!(ok(&["-master_pattern", "x"]), one("master_pattern", "x"));
        assert_eq!(ok(&["--master-pattern=x"]), one("master_pattern", "x"));
    }

    #[test]
    fn negative_values_are_values() {
        assert_eq!(ok(&["-timeout", "-1"]), one("timeout", "-1"));
        assert_eq!(ok(&["-timeout=-1"]), one("timeout", "-1"));
    }

    #[test]
    fn go_booleans_and_switches() {
        assert_eq!(ok(&["-preconnect"]), one("preconnect", "true"));
        assert_eq!(
            ok(&["-auto_eject_hosts=false"]),
            one("auto_eject_hosts", "false")
        );
        assert_eq!(ok(&["-version"]), vec![("version", None)]);
        assert_eq!(ok(&["-v"]), vec![("version", None)]);
    }

    #[test]
    fn the_last_of_a_repeated_flag_wins() {
        let args: Vec<String> = ["-timeout", "1", "-preconnect", "-timeout=2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let Ok(Request::Flags { given, .. }) = scan(&args) else {
            panic!()
        };
        let raw = raw_args(&given).unwrap();
        assert_eq!((raw.timeout, raw.preconnect), (2, true));
    }

    #[test]
    fn help_and_errors() {
        assert_eq!(ok(&["-sentinels", ":1", "-h"]), vec![("-h", None)]);
        assert_eq!(ok(&["-help"]), vec![("-h", None)]);
        assert_eq!(
            rw(&["-nope", "1"]),
            Err(GoFlagError::Unknown("nope".into(), None))
        );
        assert_eq!(
            rw(&["-sentinel", ":1"]),
            Err(GoFlagError::Unknown("sentinel".into(), Some("sentinels")))
        );
        assert_eq!(
            rw(&["-sentinels"]),
            Err(GoFlagError::MissingValue("sentinels".into()))
        );
        assert_eq!(rw(&["stray"]), Err(GoFlagError::Unexpected("stray".into())));
        let e = rw(&["-redis_auth", "pass", "word"]).unwrap_err();
        assert_eq!(e, GoFlagError::UnexpectedAfterSecret("redis_auth"));
        assert!(!e.to_string().contains("word"), "{e}");
        assert_eq!(
            rw(&["-version=1"]),
            Err(GoFlagError::ValueForSwitch("version".into()))
        );
        assert_eq!(parse_go_bool("F"), Ok(false));
        assert!(parse_go_bool("yes").unwrap_err().contains("-flag=false"));
    }

    #[test]
    fn a_lone_double_dash_ends_the_flags() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            scanned(&["-supervise", "--", "nutcracker", "-c", "x.yml", "-h", "--"]),
            Ok((
                vec![("supervise", Some("true".into()))],
                words(&["nutcracker", "-c", "x.yml", "-h", "--"])
            ))
        );
        assert_eq!(scanned(&["--"]), Ok((vec![], vec![])));
        // As in Go, a flag that takes a value takes the next word, even `--`.
        assert_eq!(
            scanned(&["-cmd", "--", "x"]),
            Err(GoFlagError::Unexpected("x".into()))
        );
        assert_eq!(
            scanned(&["-wait", "1", "--", "-wait", "2"]),
            Ok((vec![("wait", Some("1".into()))], words(&["-wait", "2"])))
        );
    }

    #[test]
    fn edits_counts_insertions_deletions_and_changes() {
        assert_eq!(edits("sentinel", "sentinels"), 1);
        assert_eq!(edits("wiat", "wait"), 2);
        assert_eq!(edits("", "abc"), 3);
        assert_eq!(edits("same", "same"), 0);
    }
}
