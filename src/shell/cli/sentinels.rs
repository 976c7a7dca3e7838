//! `-sentinels`: comma-separated `host:port`, `:port` meaning localhost. A sentinel named
//! twice (`:26379` and `127.0.0.1:26379`, `[::1]:26379` and `::1:26379`, or the same
//! hostname in other letter cases) is followed once, with a warning: two links to one
//! sentinel would count its answers twice. When tpc runs, names that resolve to the same
//! address (`localhost:26379` and `127.0.0.1:26379`) are merged too
//! ([`merge_resolved`]).

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

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

/// Merges the sentinels whose names resolve to a common address and port into the one
/// named first, with a warning for each. A name that does not resolve now is kept: its
/// link will say why it cannot connect.
pub fn merge_resolved(addrs: &mut Vec<Addr>, warnings: &mut Vec<String>) {
    let resolve = |a: &Addr| -> Vec<SocketAddr> {
        (a.host.as_str(), a.port)
            .to_socket_addrs()
            .map(|found| found.collect())
            .unwrap_or_default()
    };
    let mut kept: Vec<(Addr, Vec<SocketAddr>)> = Vec::new();
    for addr in addrs.drain(..) {
        let resolved = resolve(&addr);
        match kept
            .iter()
            .find(|(_, known)| known.iter().any(|k| resolved.contains(k)))
        {
            Some((first, _)) => warnings.push(format!(
                "-sentinels names {first} and {addr}, which resolve to the same address; following it once as {first}"
            )),
            None => kept.push((addr, resolved)),
        }
    }
    addrs.extend(kept.into_iter().map(|(a, _)| a));
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
    fn a_bracket_without_its_pair_is_refused_and_a_long_entry_shown_cut() {
        for entry in ["[::1:26379", "::1]:26379", "[127.0.0.1:26379"] {
            let e = parse(&format!(":1,{entry}")).unwrap_err().to_string();
            assert!(e.contains("is not host:port"), "{entry}: {e}");
            assert!(e.contains("[::1]:6379"), "{entry}: {e}");
        }
        let long = format!("{}:1", "h".repeat(70_000));
        let e = parse(&long).unwrap_err().to_string();
        assert!(e.len() < 1_000, "{} bytes", e.len());
        assert!(e.contains("70002 bytes in all"), "{e}");
    }

    #[test]
    fn names_that_resolve_to_one_address_are_merged() {
        let mut addrs = vec![
            Addr::parse("127.0.0.1:7").unwrap(),
            Addr::parse("localhost:7").unwrap(),
            Addr::parse("127.0.0.1:8").unwrap(),
            Addr::parse("no-such-host.invalid:7").unwrap(),
        ];
        let mut warnings = Vec::new();
        merge_resolved(&mut addrs, &mut warnings);
        let left: Vec<String> = addrs.iter().map(Addr::to_string).collect();
        assert_eq!(
            left,
            ["127.0.0.1:7", "127.0.0.1:8", "no-such-host.invalid:7"]
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("localhost:7"), "{warnings:?}");
    }

    #[test]
    fn a_bad_entry_is_named() {
        let e = parse(":1,nope").unwrap_err().to_string();
        assert!(e.contains("\"nope\""), "{e}");
    }
}
