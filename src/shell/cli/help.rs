//! Help texts (`tpc -h`, `tpc replay -h`) and the README's flag table, all written from
//! the flag table ([`super::flags::FLAGS`]), wrapped at 80 columns.

use super::flags::{Flag, Kind, Replay, Since, FLAGS};

const WIDTH: usize = 80;
const INDENT: &str = "        ";

/// What the exit status means, for `-h` and the README.
pub const EXIT_CODES: &str =
    "Exit status: 0 stopped on request (SIGTERM, SIGINT) or done, 1 runtime error, 2 bad command line.";

/// `tpc -h`.
pub fn help() -> String {
    let mut text = String::from(
        "Usage: tpc -sentinels HOST:PORT[,HOST:PORT...] [flags]\n       \
         tpc [flags] -out FILE -supervise -- nutcracker -c FILE [args]\n       \
         tpc replay FILE [flags]\n       \
         tpc status -sentinels HOST:PORT[,HOST:PORT...] [flags]\n       \
         tpc test DIR [-bless]\n\n",
    );
    text.push_str(&wrap(
        "Listens to Redis Sentinel and rewrites twemproxy's config (and runs a reload command) \
         when a master fails over.",
        "",
    ));
    text.push_str("\nSubcommands:\n  replay\n");
    text.push_str(&wrap(
        "Replay a recording (-record) or a redis-sentinel log on virtual time and print the \
         timeline; tpc replay -h lists its flags",
        INDENT,
    ));
    text.push_str("  test\n");
    text.push_str(&wrap(
        "Replay every failover test case in a folder (NAME.jsonl or NAME.log, NAME.flags, \
         NAME.expected) and compare with what is expected; exit 0 only when all pass; -bless \
         writes the expected files",
        INDENT,
    ));
    text.push_str("  status\n");
    text.push_str(&wrap(
        "Ask every sentinel once, print each master as each reports it, and compare -out with \
         the config tpc would write; exit 0 in sync, 1 not",
        INDENT,
    ));
    text.push_str("\nFlags:\n");
    for flag in FLAGS {
        text.push_str(&entry(flag));
    }
    text.push('\n');
    text.push_str(&wrap(EXIT_CODES, ""));
    text
}

/// `tpc replay -h`: replay's inputs and the flags that override a recording's settings.
pub fn replay_help() -> String {
    let mut text = String::from(
        "Usage: tpc replay FILE [flags]\n       \
         tpc replay -sentinel_log FILE [-masters MASTERS] [flags]\n\n",
    );
    text.push_str(&wrap(
        "Feeds a recording (made with tpc -record FILE) or a redis-sentinel log through tpc's \
         core on virtual time and prints the timeline, a summary per failover (switch, config, \
         reload, gap), then the final config. Flags override the recording's settings. A log \
         may be in any shape Redis 2.6 to 7.x or Valkey writes, behind docker, kubectl, \
         journald/syslog, grep -n or cat -n prefixes; -v lists every line that looks like an \
         event but was not read.",
        "",
    ));
    text.push_str("\nFlags:\n");
    for flag in FLAGS.iter().filter(|f| !matches!(f.replay, Replay::Daemon)) {
        text.push_str(&entry(flag));
    }
    text.push('\n');
    text.push_str(&wrap(
        "Exit status: 0 replayed, 1 a file could not be read (or a log held no sentinel event), \
         2 bad command line.",
        "",
    ));
    text
}

/// One flag's help: `  -name kind` then its wrapped description, as Go prints it.
fn entry(flag: &Flag) -> String {
    let mut head = format!("  -{}", flag.name);
    for alias in flag.aliases {
        head.push_str(&format!(", -{alias}"));
    }
    if let Kind::Value(kind) = flag.kind {
        head.push(' ');
        head.push_str(kind);
    }
    head.push('\n');
    let mut description = flag.help.to_string();
    if let Some(default) = shown_default(flag) {
        description.push_str(&format!(" (default {default})"));
    }
    head + &wrap(&description, INDENT)
}

/// The default as Go's help shows it: strings quoted, none when empty or false.
fn shown_default(flag: &Flag) -> Option<String> {
    let d = flag.default;
    match flag.kind {
        _ if d.is_empty() || d == "false" => None,
        Kind::Value("string" | "file" | "url" | "dir" | "host:port") => Some(format!("{d:?}")),
        _ => Some(d.to_string()),
    }
}

/// `text` in lines of at most [`WIDTH`] columns (a longer word gets a line of its own),
/// each starting with `indent`.
fn wrap(text: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::from(indent);
    for word in text.split_whitespace() {
        if line.len() > indent.len() && line.len() + 1 + word.len() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = String::from(indent);
        }
        if line.len() > indent.len() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// The README's flag table (a test checks the README holds exactly this).
pub fn readme_table() -> String {
    let mut text = String::from("| flag | default | meaning |\n|---|---|---|\n");
    for flag in FLAGS {
        let mut names = format!("`-{}`", flag.name);
        for alias in flag.aliases {
            names.push_str(&format!(" (or `-{alias}`)"));
        }
        let since = match flag.since {
            Since::Original => String::new(),
            Since::Release(v) => format!(" (released {v})"),
            Since::New => " (new)".to_string(),
        };
        let default = if flag.default.is_empty() {
            String::new()
        } else {
            format!("`{}`", flag.default)
        };
        text.push_str(&format!(
            "| {names} | {default} | {}{since} |\n",
            flag.help.replace('|', "\\|")
        ));
    }
    text
}
