//! `tpc status`: asks every sentinel once, prints each master's address and epoch as
//! each sentinel reports it (disagreements marked), then the config tpc would write
//! (decided by the same core the daemon runs) and how the `-out` file differs from it.
//! For monitoring and for a person at 3 a.m.: exit 0 in sync, 1 not (or no sentinel
//! answered), 2 for a wrong command line.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::core::layout::Layout;
use crate::core::template::shown_config;
use crate::core::{Core, Effect, Input, Millis};

use super::cli::Options;
use super::config_file::read_existing;
use super::sentinel::{self, Answer};

/// What `tpc status` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The report, for stdout.
    pub text: String,
    /// The `-out` file is what tpc would write (true without `-out`), and a sentinel
    /// answered.
    pub in_sync: bool,
}

/// Asks the sentinels and compares.
pub async fn run(options: &Options) -> Status {
    let followed = Layout::new(&options.core).followed();
    let mut answers = Vec::new();
    for addr in &options.sentinels {
        let answer = sentinel::ask_once(
            addr,
            &options.auth,
            options.sentinel_timeout,
            followed.clone(),
        )
        .await;
        answers.push((addr.to_string(), answer));
    }
    let on_disk = match &options.out {
        Some(out) => match read_existing(out) {
            Ok(text) => text,
            Err(e) => {
                return Status {
                    text: format!("Cannot read {}: {e}\n", out.display()),
                    in_sync: false,
                }
            }
        },
        None => None,
    };
    report(options, &answers, on_disk)
}

/// The report for these answers and the file on disk.
pub fn report(
    options: &Options,
    answers: &[(String, Result<Answer, String>)],
    on_disk: Option<String>,
) -> Status {
    let mut text = String::new();
    let mut core = Core::new(options.core.clone(), on_disk.clone());
    let mut answered = 0;
    // name -> sentinel -> "addr epoch N"
    let mut seen: BTreeMap<&str, BTreeMap<&str, String>> = BTreeMap::new();
    for (i, (sentinel, answer)) in answers.iter().enumerate() {
        let at = Millis(i as u64);
        match answer {
            Ok(answer) => {
                answered += 1;
                for m in &answer.masters {
                    let epoch = m
                        .epoch
                        .map_or("no epoch".to_string(), |e| format!("epoch {e}"));
                    seen.entry(&m.name)
                        .or_default()
                        .insert(sentinel, format!("{} {epoch}", m.addr));
                }
                core.handle(Input::LinkUp {
                    at,
                    sentinel: sentinel.as_str().into(),
                });
                core.handle(Input::Snapshot {
                    at,
                    sentinel: sentinel.as_str().into(),
                    masters: answer.masters.clone(),
                    replicas: answer.replicas.clone(),
                });
            }
            Err(e) => {
                let _ = writeln!(text, "Sentinel {sentinel}: no answer ({e})");
                core.handle(Input::LinkDown {
                    at,
                    sentinel: sentinel.as_str().into(),
                    reason: e.as_str().into(),
                });
            }
        }
    }
    for (name, by_sentinel) in &seen {
        let addrs: std::collections::BTreeSet<&str> = by_sentinel
            .values()
            .map(|s| s.split(' ').next().unwrap_or(""))
            .collect();
        let mark = if addrs.len() > 1 {
            "  <- sentinels disagree"
        } else {
            ""
        };
        let _ = writeln!(text, "{name}{mark}");
        for (sentinel, said) in by_sentinel {
            let _ = writeln!(text, "  {sentinel}: {said}");
        }
    }
    if answered == 0 {
        text.push_str("No sentinel answered: tpc cannot tell which config is right\n");
        return Status {
            text,
            in_sync: false,
        };
    }
    let mut would_write = None;
    let mut stopped = None;
    while let Some(effect) = core.poll_effect() {
        match effect {
            Effect::WriteConfig { text, .. } => would_write = Some(text),
            Effect::Stop { error } => stopped = Some(error),
            _ => {}
        }
    }
    if let Some(error) = stopped {
        let _ = writeln!(text, "tpc would stop: {error}");
        return Status {
            text,
            in_sync: false,
        };
    }
    let Some(out) = &options.out else {
        text.push_str("The config tpc would write (no -out to compare with):\n");
        let config = would_write
            .as_ref()
            .map(|t| t.as_str())
            .or(on_disk.as_deref())
            .unwrap_or("");
        text.push_str(&shown_config(config));
        return Status {
            text,
            in_sync: true,
        };
    };
    let out = out.display().to_string();
    match would_write {
        None => {
            let _ = writeln!(text, "{out} is in sync: it is what tpc would write");
            Status {
                text,
                in_sync: true,
            }
        }
        Some(wanted) => {
            let _ = writeln!(text, "{out} is NOT in sync; what tpc would write differs:");
            let old = shown_config(&on_disk.unwrap_or_default());
            let wanted = shown_config(&wanted);
            let diff = similar::TextDiff::from_lines(&old, &wanted);
            let _ = write!(
                text,
                "{}",
                diff.unified_diff().header(&out, "what tpc would write")
            );
            Status {
                text,
                in_sync: false,
            }
        }
    }
}
