//! `-sentinels`: comma-separated `host:port`, `:port` meaning localhost. A sentinel named
//! twice (`:26379` and `127.0.0.1:26379`, `[::1]:26379` and `::1:26379`, or the same
//! hostname in other letter cases) is followed once, with a warning: two links to one
//! sentinel would count its answers twice.

use std::net::IpAddr;

use crate::core::Addr;

use super::validate::UsageError;

/// The sentinels to follow, each once and in the order first given, and a warning for
/// each one named again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentinels {
    /// The sentinels.
    pub addrs: Vec<Addr>,
    /// One line for each sentinel named again.
    pub warnings: Vec<String>,
}

/// What makes two spellings the same sentinel: an IP address in its one canonical
/// form, a hostname in lower case, and the port.
fn identity(addr: &Addr) -> (String, u16) {
    let host = match addr.host.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => addr.host.to_ascii_lowercase(),
    };
    (host, addr.port)
}

/// Parses `-sentinels`.
pub fn parse(csv: &str) -> Result<Sentinels, UsageError> {
    let mut seen: Vec<((String, u16), &str)> = Vec::new();
    let mut sentinels = Sentinels {
        addrs: Vec::new(),
        warnings: Vec::new(),
    };
    for entry in csv.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let addr = Addr::parse(entry).map_err(|e| UsageError::BadSentinel {
            entry: entry.to_string(),
            why: e.to_string(),
        })?;
        let id = identity(&addr);
        match seen.iter().find(|(known, _)| *known == id) {
            Some((_, first)) => sentinels.warnings.push(format!(
                "-sentinels names {addr} twice ({first:?} and {entry:?}); following it once"
            )),
            None => {
                seen.push((id, entry));
                sentinels.addrs.push(addr);
            }
        }
    }
    Ok(sentinels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_sentinel_are_merged() {
        let s = parse(" :1, 127.0.0.1:1,[::1]:1,0:0:0:0:0:0:0:1:1,Sentinel-A:2,sentinel-a:2,::1:3")
            .unwrap();
        let addrs: Vec<String> = s.addrs.iter().map(Addr::to_string).collect();
        assert_eq!(addrs, ["127.0.0.1:1", "::1:1", "Sentinel-A:2", "::1:3"]);
        assert_eq!(s.warnings.len(), 3, "{:?}", s.warnings);
        assert_eq!(
            s.warnings[0],
            "-sentinels names 127.0.0.1:1 twice (\":1\" and \"127.0.0.1:1\"); following it once"
        );
    }

    #[test]
    fn a_bad_entry_is_named() {
        let e = parse(":1,nope").unwrap_err().to_string();
        assert!(e.contains("\"nope\""), "{e}");
    }
}
