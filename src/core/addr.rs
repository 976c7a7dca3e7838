//! Addresses of Redis instances as Sentinel reports them: a host and a port.

use crate::core::shown::shown;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a host or port could not be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrError {
    /// The host is empty or holds whitespace, control characters or YAML specials.
    BadHost(String),
    /// The port is not a number from 1 to 65535.
    BadPort(String),
    /// The text is not `host:port`.
    NotHostPort(String),
}

impl fmt::Display for AddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddrError::BadHost(h) => write!(
                f,
                "host \"{}\" is not a hostname or IP address (letters, digits, '.', '-', '_', ':' for IPv6)",
                shown(h)
            ),
            AddrError::BadPort(p) => {
                write!(f, "port \"{}\" is not a number from 1 to 65535", shown(p))
            }
            AddrError::NotHostPort(s) => write!(
                f,
                "\"{}\" is not host:port (e.g. 10.0.0.1:6379, [::1]:6379 or :6379)",
                shown(s)
            ),
        }
    }
}

impl std::error::Error for AddrError {}

/// A Redis instance's address. In recordings it is the string `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Addr {
    /// Hostname or IP address, as Sentinel reports it.
    pub host: String,
    /// TCP port, 1 to 65535.
    pub port: u16,
}

impl Addr {
    /// Builds an address from Sentinel's separate host and port words.
    pub fn parse_parts(host: &str, port: &str) -> Result<Addr, AddrError> {
        if !is_valid_host(host) {
            return Err(AddrError::BadHost(host.to_string()));
        }
        Ok(Addr {
            host: host.to_string(),
            port: parse_port(port)?,
        })
    }

    /// Parses `host:port`; an empty host (`:6379`) means `127.0.0.1`, as in the original.
    pub fn parse(text: &str) -> Result<Addr, AddrError> {
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| AddrError::NotHostPort(text.to_string()))?;
        // `[::1]:6379` as URLs write it; `::1:6379` (split at the last colon) as tpc's
        // recordings do. A bracket without its pair is neither.
        let host = match (host.strip_prefix('['), host.ends_with(']')) {
            (Some(inner), true) => &inner[..inner.len() - 1],
            (None, false) => host,
            _ => return Err(AddrError::NotHostPort(text.to_string())),
        };
        let host = if host.is_empty() { "127.0.0.1" } else { host };
        Addr::parse_parts(host, port)
    }
}

impl From<Addr> for String {
    fn from(a: Addr) -> String {
        a.to_string()
    }
}

impl TryFrom<String> for Addr {
    type Error = AddrError;
    fn try_from(s: String) -> Result<Addr, AddrError> {
        Addr::parse(&s)
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Parses a TCP port from 1 to 65535.
pub fn parse_port(text: &str) -> Result<u16, AddrError> {
    match text.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(AddrError::BadPort(text.to_string())),
    }
}

/// Whether `host` can stand in a nutcracker server line: a hostname, IPv4 or IPv6
/// address, and nothing that YAML or twemproxy would read differently (a leading `-`
/// could even make `---`, a YAML document marker).
pub fn is_valid_host(host: &str) -> bool {
    host.len() <= 253
        && host
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b':')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_and_shorthand() {
        assert_eq!(
            Addr::parse("10.0.0.1:6379").unwrap(),
            Addr {
                host: "10.0.0.1".into(),
                port: 6379
            }
        );
        assert_eq!(Addr::parse(":8000").unwrap().host, "127.0.0.1");
        assert_eq!(Addr::parse("[::1]:26379").unwrap().host, "::1");
    }

    #[test]
    fn refuses_bad_ports_and_hosts() {
        assert_eq!(Addr::parse("h:0"), Err(AddrError::BadPort("0".into())));
        assert_eq!(
            Addr::parse("h:65536"),
            Err(AddrError::BadPort("65536".into()))
        );
        assert_eq!(Addr::parse("h"), Err(AddrError::NotHostPort("h".into())));
        assert!(matches!(
            Addr::parse_parts("a b", "1"),
            Err(AddrError::BadHost(_))
        ));
        assert!(matches!(
            Addr::parse_parts("x\"y", "1"),
            Err(AddrError::BadHost(_))
        ));
    }
}
