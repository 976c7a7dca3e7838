//! The masters tpc knows: for each name its current address and the config epoch that
//! address is known to be at least as new as. Decides which updates to accept.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::core::addr::Addr;

/// One master as a sentinel query reports it (`SENTINEL MASTERS`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterInfo {
    /// Master name.
    pub name: String,
    /// Its address.
    pub addr: Addr,
    /// Its `config-epoch`, when the sentinel reported one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
}

/// What tpc believes about one master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    /// Current address.
    pub addr: Addr,
    /// The lowest config epoch this address can have: an update from an older epoch is
    /// stale.
    pub epoch: u64,
    /// The sentinels that reported this master: it is dropped only when every one of
    /// them has said `-monitor`.
    pub monitored_by: BTreeSet<String>,
}

/// What a `-monitor` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Withdrawn {
    /// The master was not known.
    Unknown,
    /// Other sentinels still monitor it: it stays.
    StillMonitored(usize),
    /// No sentinel monitors it any more: it was removed from this address.
    Removed(Addr),
}

/// What happened to one master when an update was offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The master moved (or appeared) at this address.
    Moved {
        /// Where it was, if known.
        from: Option<Addr>,
    },
    /// Nothing to do: the address is the one already known.
    Same,
    /// Refused: the update comes from an older config epoch than the known address.
    Stale {
        /// Epoch of the known address.
        known: u64,
        /// Epoch of the offered address.
        offered: u64,
    },
}

/// The masters tpc knows, by name (sorted, so output is deterministic).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topology {
    masters: BTreeMap<String, Known>,
    version: u64,
}

impl Topology {
    /// Addresses by master name.
    pub fn addrs(&self) -> BTreeMap<String, Addr> {
        self.masters
            .iter()
            .map(|(n, k)| (n.clone(), k.addr.clone()))
            .collect()
    }

    /// Grows with every change of an address, so callers can cache what they derive.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Names and addresses, sorted by name, without copying.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Addr)> {
        self.masters.iter().map(|(n, k)| (n, &k.addr))
    }

    /// Whether exactly these masters are known, at these addresses.
    pub fn has_addrs(&self, addrs: &BTreeMap<String, Addr>) -> bool {
        self.masters.len() == addrs.len()
            && self
                .masters
                .iter()
                .zip(addrs)
                .all(|((n, k), (m, a))| n == m && k.addr == *a)
    }

    /// What is known about `name`.
    pub fn get(&self, name: &str) -> Option<&Known> {
        self.masters.get(name)
    }

    /// Whether no master is known.
    pub fn is_empty(&self) -> bool {
        self.masters.is_empty()
    }

    /// Offers an address for `name` from a query that reported `epoch`. Without an
    /// epoch the offer cannot be judged stale and is taken as it is.
    pub fn offer(&mut self, name: &str, addr: &Addr, epoch: Option<u64>) -> Verdict {
        let stale_unless_same = |k: &Known| epoch.is_some_and(|e| e < k.epoch);
        let epoch_or_known = |k: &Known| epoch.map_or(k.epoch, |e| e.max(k.epoch));
        match self.masters.get_mut(name) {
            None => {
                self.masters.insert(
                    name.to_string(),
                    Known {
                        addr: addr.clone(),
                        epoch: epoch.unwrap_or(0),
                        monitored_by: BTreeSet::new(),
                    },
                );
                self.version += 1;
                Verdict::Moved { from: None }
            }
            Some(k) if stale_unless_same(k) && k.addr != *addr => Verdict::Stale {
                known: k.epoch,
                offered: epoch.unwrap_or(0),
            },
            Some(k) => {
                k.epoch = epoch_or_known(k);
                if k.addr == *addr {
                    Verdict::Same
                } else {
                    let from = std::mem::replace(&mut k.addr, addr.clone());
                    self.version += 1;
                    Verdict::Moved { from: Some(from) }
                }
            }
        }
    }

    /// Applies a `+switch-master` when `name` is known at `old`; a failover always
    /// raises the config epoch, so the new address is at least one epoch newer.
    /// Returns false (and changes nothing) when the name or the old address does not
    /// match, as the original tpc did.
    pub fn switch(&mut self, name: &str, old: &Addr, new: &Addr) -> bool {
        match self.masters.get_mut(name) {
            Some(k) if k.addr == *old => {
                k.addr = new.clone();
                k.epoch += 1;
                self.version += 1;
                true
            }
            _ => false,
        }
    }

    /// Notes that `sentinel` monitors `name`.
    pub fn vouch(&mut self, name: &str, sentinel: &str) {
        if let Some(k) = self.masters.get_mut(name) {
            if !k.monitored_by.contains(sentinel) {
                k.monitored_by.insert(sentinel.to_string());
            }
        }
    }

    /// `sentinel` no longer monitors `name`; the master is forgotten once no sentinel
    /// that reported it still does.
    pub fn withdraw(&mut self, name: &str, sentinel: &str) -> Withdrawn {
        let Some(k) = self.masters.get_mut(name) else {
            return Withdrawn::Unknown;
        };
        k.monitored_by.remove(sentinel);
        if !k.monitored_by.is_empty() {
            return Withdrawn::StillMonitored(k.monitored_by.len());
        }
        let addr = self.masters.remove(name).map(|k| k.addr).expect("known");
        self.version += 1;
        Withdrawn::Removed(addr)
    }

    /// Names known now.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.masters.keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(port: u16) -> Addr {
        Addr {
            host: "10.0.0.1".into(),
            port,
        }
    }

    #[test]
    fn switch_needs_name_and_old_address() {
        let mut t = Topology::default();
        t.offer("m", &a(1), Some(5));
        assert!(!t.switch("other", &a(1), &a(2)));
        assert!(!t.switch("m", &a(9), &a(2)));
        assert!(t.switch("m", &a(1), &a(2)));
        assert_eq!(t.get("m").unwrap().addr, a(2));
        assert_eq!(t.get("m").unwrap().epoch, 6);
    }

    #[test]
    fn a_master_goes_when_every_sentinel_that_reported_it_lets_go() {
        let mut t = Topology::default();
        t.offer("m", &a(1), Some(1));
        t.vouch("m", "s1");
        t.vouch("m", "s2");
        assert_eq!(t.withdraw("m", "s1"), Withdrawn::StillMonitored(1));
        assert_eq!(t.withdraw("m", "s1"), Withdrawn::StillMonitored(1));
        assert_eq!(t.withdraw("m", "s2"), Withdrawn::Removed(a(1)));
        assert_eq!(t.withdraw("m", "s2"), Withdrawn::Unknown);
        assert!(t.is_empty());
    }

    #[test]
    fn older_epoch_cannot_move_a_master_back() {
        let mut t = Topology::default();
        t.offer("m", &a(1), Some(5));
        assert!(t.switch("m", &a(1), &a(2)));
        let stale = Verdict::Stale {
            known: 6,
            offered: 5,
        };
        assert_eq!(t.offer("m", &a(1), Some(5)), stale);
        assert_eq!(t.offer("m", &a(2), Some(6)), Verdict::Same);
        assert_eq!(
            t.offer("m", &a(3), Some(7)),
            Verdict::Moved { from: Some(a(2)) }
        );
        // Without an epoch there is nothing to judge by: the offer is taken.
        assert_eq!(
            t.offer("m", &a(4), None),
            Verdict::Moved { from: Some(a(3)) }
        );
        assert_eq!(t.get("m").unwrap().epoch, 7);
    }
}
