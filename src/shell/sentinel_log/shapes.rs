//! The shapes of a redis-sentinel (or valkey-sentinel) log line, once any prefix a
//! shipper or viewer added is gone: each names itself, shows an example, and reads a
//! line into its time and message.

use std::sync::LazyLock;

use regex::Regex;

use super::stamp::{self, Stamp, ISO_FORM};

/// A log line read: its time (if the shape has one) and the message after the level
/// mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// Which shape it had.
    pub shape: &'static str,
    /// The logged time.
    pub stamp: Option<Stamp>,
    /// The message, e.g. `+switch-master node-1 10.0.0.1 6379 10.0.0.2 6379`.
    pub message: String,
}

/// A line's time (if it has one) and message.
type Parts = (Option<Stamp>, String);

/// One shape: its name, an example, and how it is read.
pub struct Shape {
    /// What writes it, e.g. `Redis 5.0+`.
    pub name: &'static str,
    /// An example line.
    pub example: &'static str,
    read: fn(&str) -> Option<Parts>,
}

const LEVEL: &str = r"\\?[.*#-]";
const TIME: &str = r"\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?";

/// Compiles `pattern`; a pattern that does not compile matches nothing (a test checks
/// that each compiles).
fn compile(pattern: String) -> Option<Regex> {
    Regex::new(&pattern).ok()
}

static REDIS5: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(format!(
        r"^\d+:[A-Za-z] +(\d{{1,2}}) ([A-Z][a-z]{{2}}) (\d{{4}}) ({TIME}) +{LEVEL} (.*)$"
    ))
});
static REDIS3: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(format!(
        r"^\d+:[A-Za-z] +(\d{{1,2}}) ([A-Z][a-z]{{2}}) ({TIME}) +{LEVEL} (.*)$"
    ))
});
static REDIS2: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(format!(
        r"^\[\d+\] +(\d{{1,2}}) ([A-Z][a-z]{{2}}) ({TIME}) +{LEVEL} (.*)$"
    ))
});
static VALKEY_ISO: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(format!(r"^\d+:[A-Za-z] +({ISO_FORM}) +{LEVEL} (.*)$")));
static VALKEY_MS: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(format!(r"^\d+:[A-Za-z] +(\d{{13}}) +{LEVEL} (.*)$")));
static LOGFMT_PAIR: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r#"([A-Za-z_]+)=("(?:[^"\\]|\\.)*"|\S*)"#.to_string()));

fn dated(re: &LazyLock<Option<Regex>>, line: &str, year: bool) -> Option<Parts> {
    let c = re.as_ref()?.captures(line)?;
    let (time, message) = if year { (4, 5) } else { (3, 4) };
    let stamp = stamp::civil(
        &c[1],
        &c[2],
        year.then(|| c.get(3).map_or("", |m| m.as_str())),
        &c[time],
    )?;
    Some((Some(stamp), c[message].to_string()))
}

fn redis5(line: &str) -> Option<Parts> {
    dated(&REDIS5, line, true)
}

fn redis3(line: &str) -> Option<Parts> {
    dated(&REDIS3, line, false)
}

fn redis2(line: &str) -> Option<Parts> {
    dated(&REDIS2, line, false)
}

fn valkey_iso(line: &str) -> Option<Parts> {
    let c = VALKEY_ISO.as_ref()?.captures(line)?;
    Some((Some(stamp::iso(&c[1])?), c[2].to_string()))
}

fn valkey_ms(line: &str) -> Option<Parts> {
    let c = VALKEY_MS.as_ref()?.captures(line)?;
    Some((Some(stamp::unix_ms(&c[1])?), c[2].to_string()))
}

/// A logfmt value without its quotes and escapes.
fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

/// Valkey's `log-format logfmt`: `pid=12 role=sentinel timestamp="..." level=warning
/// message="+switch-master ..."` (`time`/`ts` and `msg` are taken too).
fn logfmt(line: &str) -> Option<Parts> {
    if !line.starts_with("pid=") {
        return None;
    }
    let (mut time, mut message) = (None, None);
    for c in LOGFMT_PAIR.as_ref()?.captures_iter(line) {
        let value = unquote(&c[2]);
        match &c[1] {
            "timestamp" | "time" | "ts" => time = Some(value),
            "message" | "msg" => message = Some(value),
            _ => {}
        }
    }
    Some((Some(stamp::any(&time?)?), message?))
}

/// Every shape, tried in this order.
pub const SHAPES: [Shape; 6] = [
    Shape {
        name: "Redis 5.0+",
        example: "12:X 25 Nov 2026 22:21:01.123 # +switch-master ...",
        read: redis5,
    },
    Shape {
        name: "Redis 3.x-4.x (no year)",
        example: "12:X 25 Nov 22:21:01.123 # +switch-master ...",
        read: redis3,
    },
    Shape {
        name: "Redis 2.6-2.8 and Windows (no year)",
        example: "[12] 25 Nov 22:21:01.123 # +switch-master ...",
        read: redis2,
    },
    Shape {
        name: "Valkey ISO 8601",
        example: "12:X 2026-11-25T22:21:01.123+00:00 # +switch-master ...",
        read: valkey_iso,
    },
    Shape {
        name: "Valkey milliseconds",
        example: "12:X 1795645261123 # +switch-master ...",
        read: valkey_ms,
    },
    Shape {
        name: "Valkey logfmt",
        example: "pid=12 role=sentinel timestamp=\"2026-11-25T22:21:01.123+00:00\" level=warning message=\"+switch-master ...\"",
        read: logfmt,
    },
];

/// The message alone, as syslog writes what Redis sends it (`syslog-enabled yes`); read
/// only after a prefix that carried the time.
pub const BARE: &str = "message after a syslog or timestamp prefix";

/// The line read by the first shape that fits.
pub fn read(line: &str) -> Option<Body> {
    SHAPES.iter().find_map(|shape| {
        let (stamp, message) = (shape.read)(line)?;
        Some(Body {
            shape: shape.name,
            stamp,
            message,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        for re in [
            &REDIS5,
            &REDIS3,
            &REDIS2,
            &VALKEY_ISO,
            &VALKEY_MS,
            &LOGFMT_PAIR,
        ] {
            assert!(re.is_some());
        }
    }

    #[test]
    fn logfmt_values_unquote() {
        assert_eq!(unquote(r#""a \"b\" \\ c""#), r#"a "b" \ c"#);
        assert_eq!(unquote("plain"), "plain");
    }
}
