//! Sentinel pub/sub messages: the channel names the event, the payload holds
//! space-separated words. Parsing is a pure function of channel and payload.

use crate::core::shown::shown;
use std::fmt;

use crate::core::addr::{is_valid_host, parse_port, Addr, AddrError};

/// Longest master name tpc accepts, in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// Why a payload could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The payload has fewer words than the event needs.
    TooFewWords {
        /// What the event needs, e.g. `<name> <old-ip> <old-port> <new-ip> <new-port>`.
        expected: &'static str,
        /// How many words there were.
        got: usize,
    },
    /// The payload has more words than the event allows.
    TooManyWords {
        /// What the event needs.
        expected: &'static str,
        /// How many words there were.
        got: usize,
    },
    /// A host or port in the payload is not valid.
    Addr(AddrError),
    /// The master name cannot stand in a nutcracker config.
    BadName(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::TooFewWords { expected, got } => {
                write!(f, "expected `{expected}`, got only {got} word(s)")
            }
            ParseError::TooManyWords { expected, got } => {
                write!(f, "expected `{expected}`, got {got} words")
            }
            ParseError::Addr(e) => e.fmt(f),
            ParseError::BadName(n) => write!(
                f,
                "master name \"{}\" cannot be a nutcracker server name (use 1 to {MAX_NAME_LEN} letters, digits, '.', '-' or '_')",
                shown(n)
            ),
        }
    }
}

impl std::error::Error for ParseError {}

impl From<AddrError> for ParseError {
    fn from(e: AddrError) -> Self {
        ParseError::Addr(e)
    }
}

/// Whether a master name can be written as a nutcracker server name without quoting,
/// injection or ambiguity.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// Checks a master name, see [`is_valid_name`].
pub fn check_name(name: &str) -> Result<String, ParseError> {
    if is_valid_name(name) {
        Ok(name.to_string())
    } else {
        Err(ParseError::BadName(name.to_string()))
    }
}

/// The space-separated words of a payload, remembering where the last one ended so
/// the rest can be taken whole.
struct Words<'a> {
    payload: &'a str,
    iter: std::str::SplitAsciiWhitespace<'a>,
    end: usize,
}

impl<'a> Words<'a> {
    fn new(payload: &'a str) -> Words<'a> {
        Words {
            payload,
            iter: payload.split_ascii_whitespace(),
            end: 0,
        }
    }

    fn next(&mut self) -> Option<&'a str> {
        let word = self.iter.next()?;
        // `word` is a subslice of `payload`: its offset is the pointer difference.
        self.end = word.as_ptr() as usize - self.payload.as_ptr() as usize + word.len();
        Some(word)
    }

    fn take<const N: usize>(&mut self) -> [Option<&'a str>; N] {
        std::array::from_fn(|_| self.next())
    }

    /// Everything after the last word taken, trimmed.
    fn rest(&self) -> &'a str {
        self.payload[self.end..].trim()
    }
}

/// A host and port inside a payload, checked but not copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPort<'a> {
    /// Hostname or IP address.
    pub host: &'a str,
    /// Port, 1 to 65535.
    pub port: u16,
}

impl<'a> HostPort<'a> {
    fn parse(host: &'a str, port: &str) -> Result<HostPort<'a>, ParseError> {
        if !is_valid_host(host) {
            return Err(ParseError::Addr(AddrError::BadHost(host.to_string())));
        }
        Ok(HostPort {
            host,
            port: parse_port(port)?,
        })
    }

    /// An owned address.
    pub fn to_addr(self) -> Addr {
        Addr {
            host: self.host.to_string(),
            port: self.port,
        }
    }
}

impl fmt::Display for HostPort<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// The instance a Sentinel event is about:
/// `<type> <name> <ip> <port> [@ <master-name> <master-ip> <master-port>] [more...]`.
/// Borrows from the payload: parsing allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance<'a> {
    /// `master`, `slave` or `sentinel`.
    pub kind: &'a str,
    /// The instance's name (the master name for a master, `ip:port` for others).
    pub name: &'a str,
    /// The instance's address.
    pub addr: HostPort<'a>,
    /// For replicas and sentinels: the master they belong to.
    pub master: Option<(&'a str, HostPort<'a>)>,
    /// Any words after the details, e.g. `#quorum 3/2`.
    pub extra: &'a str,
}

impl Instance<'_> {
    /// The master this event concerns: the instance itself, or the one after `@`.
    pub fn master_name(&self) -> &str {
        match &self.master {
            Some((name, _)) => name,
            None => self.name,
        }
    }
}

impl fmt::Display for Instance<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", shown(self.kind), shown(self.name), self.addr)?;
        if let Some((name, addr)) = &self.master {
            write!(f, " @ {} {addr}", shown(name))?;
        }
        if !self.extra.is_empty() {
            write!(f, " {}", shown(self.extra))?;
        }
        Ok(())
    }
}

/// Whether tpc acts on events of `channel` (see [`SentinelEvent::parse`]): a failover,
/// a master added or removed, a master objectively down or back, and for replica pools
/// a replica added, down or back. The rest only informs.
pub fn acted_on(channel: &str) -> bool {
    matches!(
        channel,
        "+switch-master"
            | "+monitor"
            | "-monitor"
            | "+odown"
            | "-odown"
            | "+slave"
            | "+convert-to-slave"
            | "+sdown"
            | "-sdown"
    )
}

/// The epoch a `+new-epoch` message announces: the sentinel's current epoch (one for
/// all its masters), a bare number, which a failover's leader publishes as it starts
/// the failover, just before its `+try-failover` (the epoch the master's config gets),
/// and every other sentinel as it votes or learns a higher one. `None` for another
/// channel, or a payload that is not one `u64`. The event itself stays
/// [`SentinelEvent::Other`]: informative, dropped first when a link falls behind.
pub fn announced_epoch(channel: &str, payload: &str) -> Option<u64> {
    if channel != "+new-epoch" {
        return None;
    }
    payload.trim().parse().ok()
}

/// A Sentinel event, parsed; borrows names from the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SentinelEvent<'a> {
    /// `+switch-master`: the failover. The master `name` moved from `old` to `new`.
    SwitchMaster {
        /// Master name.
        name: &'a str,
        /// Address it had.
        old: Addr,
        /// Address it has now.
        new: Addr,
    },
    /// `+monitor`: Sentinel started watching a master.
    Monitor {
        /// Master name.
        name: &'a str,
        /// The master's address.
        addr: Addr,
    },
    /// `-monitor`: Sentinel stopped watching a master.
    Unmonitor {
        /// Master name.
        name: &'a str,
    },
    /// `+odown` (`down` true) or `-odown` (false): a master is, or is no longer,
    /// objectively down.
    ObjectivelyDown {
        /// True for `+odown`.
        down: bool,
        /// The instance concerned.
        instance: Instance<'a>,
    },
    /// Any other event about an instance (`+sdown`, `+slave`, `+failover-end`, ...),
    /// informative only.
    About {
        /// The instance concerned.
        instance: Instance<'a>,
    },
    /// An event whose payload is not instance details (`+new-epoch 7`, `+tilt`, ...),
    /// informative only.
    Other,
}

const SWITCH_FORM: &str = "<name> <old-ip> <old-port> <new-ip> <new-port>";
const INSTANCE_FORM: &str = "<type> <name> <ip> <port> [@ <master> <ip> <port>]";

/// Whether a channel's payload is instance details.
fn is_instance_channel(channel: &str) -> bool {
    matches!(
        channel,
        "+sdown"
            | "-sdown"
            | "+odown"
            | "-odown"
            | "+monitor"
            | "-monitor"
            | "+reset-master"
            | "+slave"
            | "+failover-state-reconf-slaves"
            | "+failover-detected"
            | "+slave-reconf-sent"
            | "+slave-reconf-inprog"
            | "+slave-reconf-done"
            | "-dup-sentinel"
            | "+sentinel"
            | "+failover-end-for-timeout"
            | "+failover-end"
            | "+promoted-slave"
            | "+convert-to-slave"
            | "+fix-slave-config"
            | "+config-update-from"
            | "+try-failover"
            | "+elected-leader"
            | "+failover-state-select-slave"
            | "+selected-slave"
            | "+failover-state-send-slaveof-noone"
            | "+failover-state-wait-promotion"
            | "-failover-abort-not-elected"
            | "-failover-abort-no-good-slave"
            | "+role-change"
            | "-role-change"
            | "+reboot"
    )
}

fn count_words(payload: &str) -> usize {
    payload.split_ascii_whitespace().count()
}

impl<'a> SentinelEvent<'a> {
    /// Parses one message from `PSUBSCRIBE *` on a sentinel.
    pub fn parse(channel: &str, payload: &'a str) -> Result<SentinelEvent<'a>, ParseError> {
        match channel {
            "+switch-master" => parse_switch(payload),
            c if is_instance_channel(c) => {
                let instance = parse_instance(payload)?;
                Ok(match c {
                    "+odown" | "-odown" => SentinelEvent::ObjectivelyDown {
                        down: c == "+odown",
                        instance,
                    },
                    "+monitor" if instance.kind == "master" => SentinelEvent::Monitor {
                        name: checked_name(instance.name)?,
                        addr: instance.addr.to_addr(),
                    },
                    "-monitor" if instance.kind == "master" => SentinelEvent::Unmonitor {
                        name: checked_name(instance.name)?,
                    },
                    _ => SentinelEvent::About { instance },
                })
            }
            _ => Ok(SentinelEvent::Other),
        }
    }
}

fn checked_name(name: &str) -> Result<&str, ParseError> {
    if is_valid_name(name) {
        Ok(name)
    } else {
        Err(ParseError::BadName(name.to_string()))
    }
}

fn parse_switch(payload: &str) -> Result<SentinelEvent<'_>, ParseError> {
    let mut words = Words::new(payload);
    let [Some(name), Some(old_ip), Some(old_port), Some(new_ip), Some(new_port)] = words.take()
    else {
        return Err(ParseError::TooFewWords {
            expected: SWITCH_FORM,
            got: count_words(payload),
        });
    };
    if !words.rest().is_empty() {
        return Err(ParseError::TooManyWords {
            expected: SWITCH_FORM,
            got: count_words(payload),
        });
    }
    Ok(SentinelEvent::SwitchMaster {
        name: checked_name(name)?,
        old: Addr::parse_parts(old_ip, old_port)?,
        new: Addr::parse_parts(new_ip, new_port)?,
    })
}

fn parse_instance(payload: &str) -> Result<Instance<'_>, ParseError> {
    let too_few = || ParseError::TooFewWords {
        expected: INSTANCE_FORM,
        got: count_words(payload),
    };
    let mut words = Words::new(payload);
    let [Some(kind), Some(name), Some(ip), Some(port)] = words.take() else {
        return Err(too_few());
    };
    let addr = HostPort::parse(ip, port)?;
    let before_master = words.end;
    let master = if words.next() == Some("@") {
        let [Some(m_name), Some(m_ip), Some(m_port)] = words.take() else {
            return Err(too_few());
        };
        Some((m_name, HostPort::parse(m_ip, m_port)?))
    } else {
        words.end = before_master;
        None
    };
    let rest = words.rest();
    Ok(Instance {
        kind,
        name,
        addr,
        master,
        extra: rest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(h: &str, p: u16) -> Addr {
        Addr {
            host: h.into(),
            port: p,
        }
    }

    #[test]
    fn switch_master() {
        assert_eq!(
            SentinelEvent::parse("+switch-master", "node-25 127.0.0.1 6025 127.0.0.1 7025"),
            Ok(SentinelEvent::SwitchMaster {
                name: "node-25",
                old: addr("127.0.0.1", 6025),
                new: addr("127.0.0.1", 7025),
            })
        );
    }

    #[test]
    fn switch_master_malformed() {
        assert!(matches!(
            SentinelEvent::parse("+switch-master", "node-25 127.0.0.1 6025"),
            Err(ParseError::TooFewWords { got: 3, .. })
        ));
        assert!(matches!(
            SentinelEvent::parse("+switch-master", "n 1.1.1.1 1 2.2.2.2 2 extra"),
            Err(ParseError::TooManyWords { got: 6, .. })
        ));
        assert!(matches!(
            SentinelEvent::parse("+switch-master", "n 1.1.1.1 x 2.2.2.2 2"),
            Err(ParseError::Addr(AddrError::BadPort(_)))
        ));
        assert!(matches!(
            SentinelEvent::parse("+switch-master", "n 1.1.1.1 70000 2.2.2.2 2"),
            Err(ParseError::Addr(AddrError::BadPort(_)))
        ));
        assert!(matches!(
            SentinelEvent::parse("+switch-master", "a:b 1.1.1.1 1 2.2.2.2 2"),
            Err(ParseError::BadName(_))
        ));
        assert!(matches!(
            SentinelEvent::parse("+switch-master", ""),
            Err(ParseError::TooFewWords { got: 0, .. })
        ));
    }

    #[test]
    fn odown_with_quorum() {
        let e =
            SentinelEvent::parse("+odown", "master node-25 127.0.0.1 6025 #quorum 5/3").unwrap();
        let SentinelEvent::ObjectivelyDown { down, instance } = e else {
            panic!("not odown: {e:?}")
        };
        assert!(down);
        assert_eq!(instance.name, "node-25");
        assert_eq!(instance.extra, "#quorum 5/3");
        assert_eq!(
            instance.to_string(),
            "master node-25 127.0.0.1:6025 #quorum 5/3"
        );
        let e = SentinelEvent::parse("-odown", "master node-25 127.0.0.1 6025").unwrap();
        assert!(matches!(
            e,
            SentinelEvent::ObjectivelyDown { down: false, .. }
        ));
    }

    #[test]
    fn replica_details_name_their_master() {
        let e = SentinelEvent::parse(
            "+sdown",
            "slave 127.0.0.1:6025 127.0.0.1 6025 @ node-25 127.0.0.1 7025",
        )
        .unwrap();
        let SentinelEvent::About { instance } = e else {
            panic!("not About: {e:?}")
        };
        assert_eq!(instance.master_name(), "node-25");
        assert_eq!(
            instance.master.unwrap().1.to_addr(),
            addr("127.0.0.1", 7025)
        );
    }

    #[test]
    fn truncated_master_part_is_an_error() {
        assert!(matches!(
            SentinelEvent::parse("+sdown", "slave a 1.1.1.1 1 @ m 2.2.2.2"),
            Err(ParseError::TooFewWords { got: 7, .. })
        ));
        assert!(matches!(
            SentinelEvent::parse("+sdown", "slave a 1.1.1.1"),
            Err(ParseError::TooFewWords { got: 3, .. })
        ));
    }

    #[test]
    fn monitor_and_unmonitor() {
        assert_eq!(
            SentinelEvent::parse("+monitor", "master node-3 10.0.0.3 6379 quorum 2"),
            Ok(SentinelEvent::Monitor {
                name: "node-3",
                addr: addr("10.0.0.3", 6379)
            })
        );
        assert_eq!(
            SentinelEvent::parse("-monitor", "master node-3 10.0.0.3 6379"),
            Ok(SentinelEvent::Unmonitor { name: "node-3" })
        );
    }

    #[test]
    fn informative_events() {
        assert_eq!(
            SentinelEvent::parse("+new-epoch", "7"),
            Ok(SentinelEvent::Other)
        );
        assert_eq!(
            SentinelEvent::parse("+tilt", "#tilt mode entered"),
            Ok(SentinelEvent::Other)
        );
        let e = SentinelEvent::parse(
            "+config-update-from",
            "sentinel 4898 127.0.0.1 8001 @ node-25 127.0.0.1 6025",
        )
        .unwrap();
        assert!(matches!(e, SentinelEvent::About { .. }));
    }

    #[test]
    fn an_announced_epoch_is_one_u64_on_new_epoch() {
        assert_eq!(announced_epoch("+new-epoch", "7"), Some(7));
        assert_eq!(
            announced_epoch("+new-epoch", " 18446744073709551615\n"),
            Some(u64::MAX)
        );
        for bad in ["", "-1", "7 8", "18446744073709551616", "x", "0x7"] {
            assert_eq!(announced_epoch("+new-epoch", bad), None, "{bad:?}");
        }
        assert_eq!(announced_epoch("+vote-for-leader", "7"), None);
    }

    #[test]
    fn names() {
        assert!(is_valid_name("node-25"));
        assert!(is_valid_name("cache_01.prod"));
        for bad in ["", "a b", "a:b", "a\"b", "a#b", "a\nb", "{x}", "é"] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
        assert!(!is_valid_name(&"x".repeat(256)));
        assert!(is_valid_name(&"x".repeat(255)));
    }
}
