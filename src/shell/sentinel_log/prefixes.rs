//! What shippers, viewers and shell tools put in front of a sentinel's log line:
//! `docker logs -t` / `kubectl logs --timestamps` / containerd RFC 3339 stamps,
//! journald and syslog (`Feb 03 10:43:14 host redis-sentinel[5095]:`), `kubectl logs
//! --prefix` (`[pod/sentinel-0/sentinel]`), `cat -n` and `grep -n` line numbers, and the
//! file name `grep` writes when it searches several logs. A prefix may say when (a
//! stamp) and who (a file, host or pod: one sentinel each).

use std::sync::LazyLock;

use regex::Regex;

use super::stamp::{self, Stamp, ISO_FORM};

/// One prefix taken off a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken<'a> {
    /// Which prefix it was.
    pub name: &'static str,
    /// The time it carried.
    pub stamp: Option<Stamp>,
    /// The sentinel it names (file, host or pod).
    pub source: Option<String>,
    /// The rest of the line.
    pub rest: &'a str,
}

/// One prefix: its name, an example, and its pattern.
pub struct Prefix {
    /// What writes it.
    pub name: &'static str,
    /// An example.
    pub example: &'static str,
    re: &'static LazyLock<Option<Regex>>,
    take: fn(&regex::Captures) -> (Option<Stamp>, Option<String>),
}

// A pattern that does not compile matches nothing; a test checks each compiles.
static RFC3339: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^({ISO_FORM})\s+(?:(?:stdout|stderr) [FP] )?(?:([\w.-]+) [\w./@-]+(?:\[\d+\])?: )?"
    ))
    .ok()
});
static SYSLOG: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?) ([\w.-]+) [\w./@-]+(?:\[\d+\])?: ").ok()
});
static KUBECTL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^\[((?:pod|po)/[^\]\s]+)\] ").ok());
static CAT_N: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^\s*\d+\t").ok());
static GREP_N: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^\d+[:-]").ok());
static FILE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^([^\s:]*[^\s:\d][^\s:]*):").ok());

fn rfc3339(c: &regex::Captures) -> (Option<Stamp>, Option<String>) {
    (
        stamp::iso(&c[1].replace(' ', "T")),
        c.get(2).map(|h| h.as_str().to_string()),
    )
}

fn syslog(c: &regex::Captures) -> (Option<Stamp>, Option<String>) {
    (
        stamp::civil(&c[2], &c[1], None, &c[3]),
        Some(c[4].to_string()),
    )
}

fn named(c: &regex::Captures) -> (Option<Stamp>, Option<String>) {
    (None, Some(c[1].to_string()))
}

fn nothing(_: &regex::Captures) -> (Option<Stamp>, Option<String>) {
    (None, None)
}

/// Every prefix, tried in this order (a stamp before a file name: `2026-11-25T22:` is no
/// file).
pub const PREFIXES: [Prefix; 6] = [
    Prefix {
        name: "RFC 3339 stamp (docker logs -t, kubectl --timestamps, containerd)",
        example: "2026-11-25T22:21:01.123456789Z ",
        re: &RFC3339,
        take: rfc3339,
    },
    Prefix {
        name: "syslog/journald",
        example: "Nov 25 22:21:01 host redis-sentinel[5095]: ",
        re: &SYSLOG,
        take: syslog,
    },
    Prefix {
        name: "kubectl --prefix",
        example: "[pod/sentinel-0/sentinel] ",
        re: &KUBECTL,
        take: named,
    },
    Prefix {
        name: "cat -n",
        example: "    12\t",
        re: &CAT_N,
        take: nothing,
    },
    Prefix {
        name: "grep -n",
        example: "12:",
        re: &GREP_N,
        take: nothing,
    },
    Prefix {
        name: "file name (grep over several logs)",
        example: "sentinel-1.log:",
        re: &FILE,
        take: named,
    },
];

/// Takes the first prefix that fits off `line`.
pub fn take(line: &str) -> Option<Taken<'_>> {
    PREFIXES.iter().find_map(|p| {
        let c = p.re.as_ref()?.captures(line)?;
        let end = c.get(0)?.end();
        let (stamp, source) = (p.take)(&c);
        Some(Taken {
            name: p.name,
            stamp,
            source,
            rest: line.get(end..)?,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        assert!(PREFIXES.iter().all(|p| p.re.is_some()));
    }

    #[test]
    fn each_prefix_takes_its_example() {
        for p in &PREFIXES {
            let line = format!("{}1:X 25 Nov 2026 22:21:01.123 # +tilt", p.example);
            let taken = take(&line).unwrap_or_else(|| panic!("{}", p.name));
            assert_eq!(taken.name, p.name);
            assert_eq!(taken.rest, "1:X 25 Nov 2026 22:21:01.123 # +tilt");
        }
    }
}
