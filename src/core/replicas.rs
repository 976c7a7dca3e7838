//! Replicas of the masters that replica pools follow (`-replica_pools`): what each
//! sentinel says about them (`SENTINEL REPLICAS <name>`, and the `+slave`,
//! `+convert-to-slave`, `+sdown`/`-sdown` and `+switch-master` events), and which one a
//! replica pool's server points at. Bounded: a sentinel's word about a master holds at
//! most [`MAX_REPLICAS`] replicas, the ones most worth choosing ([`most_choosable`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::addr::Addr;
use crate::core::truth::SentinelId;

/// The most replicas kept per master and sentinel; more are ignored (no real master has
/// that many, and a flood of made-up `+slave` events must not grow memory).
pub const MAX_REPLICAS: usize = 64;

/// Redis's default `replica-priority`.
const DEFAULT_PRIORITY: u32 = 100;

fn default_priority() -> u32 {
    DEFAULT_PRIORITY
}

/// One replica as a sentinel reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaInfo {
    /// Its address.
    pub addr: Addr,
    /// Flagged `s_down`, `o_down` or `disconnected`, or its link to the master is down:
    /// never chosen.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub down: bool,
    /// Its `slave-priority`; lower is chosen first.
    #[serde(default = "default_priority")]
    pub priority: u32,
}

/// The [`MAX_REPLICAS`] replicas of an answer most worth keeping, in the order
/// [`Replicas::choice`] prefers them: healthy first, then lowest priority, then lowest
/// address. A long list of stale entries (a sentinel keeps every replica it ever saw
/// until `SENTINEL RESET`) never pushes out a healthy replica listed after them.
pub fn most_choosable(mut replicas: Vec<ReplicaInfo>) -> Vec<ReplicaInfo> {
    if replicas.len() > MAX_REPLICAS {
        replicas.sort_by(|a, b| (a.down, a.priority, &a.addr).cmp(&(b.down, b.priority, &b.addr)));
        replicas.truncate(MAX_REPLICAS);
    }
    replicas
}

/// What one sentinel says about one replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Health {
    down: bool,
    priority: u32,
}

/// Every sentinel's word about the replicas of the followed masters.
#[derive(Debug, Default)]
pub struct Replicas {
    by_master: BTreeMap<String, BTreeMap<SentinelId, BTreeMap<Addr, Health>>>,
    version: u64,
}

impl Replicas {
    /// Changes whenever a choice may have changed.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// A sentinel's whole answer about `master`'s replicas: it replaces what that
    /// sentinel said before.
    pub fn answer(&mut self, master: &str, sentinel: SentinelId, replicas: &[ReplicaInfo]) {
        let said: BTreeMap<Addr, Health> = most_choosable(replicas.to_vec())
            .into_iter()
            .map(|r| {
                let health = Health {
                    down: r.down,
                    priority: r.priority,
                };
                (r.addr, health)
            })
            .collect();
        let by_sentinel = self.by_master.entry(master.to_string()).or_default();
        if by_sentinel.get(&sentinel) != Some(&said) {
            by_sentinel.insert(sentinel, said);
            self.version += 1;
        }
    }

    /// A sentinel's `+sdown` about one replica of `master` that its answers listed: down
    /// until its next answer. No event says a replica is healthy (`+slave` comes before
    /// the sentinel has even connected to it, `+convert-to-slave` and `-sdown` before it
    /// has synced): only answers, with the replica's link to its master, do. A replica
    /// the answers did not list is not kept, so no flood of events grows memory.
    pub fn down(&mut self, master: &str, sentinel: SentinelId, addr: &Addr) {
        let health = self
            .by_master
            .get_mut(master)
            .and_then(|by_sentinel| by_sentinel.get_mut(&sentinel))
            .and_then(|said| said.get_mut(addr));
        if let Some(h) = health.filter(|h| !h.down) {
            h.down = true;
            self.version += 1;
        }
    }

    /// `master` failed over to `addr`: it is no replica any more.
    pub fn promoted(&mut self, master: &str, addr: &Addr) {
        let Some(by_sentinel) = self.by_master.get_mut(master) else {
            return;
        };
        for said in by_sentinel.values_mut() {
            if said.remove(addr).is_some() {
                self.version += 1;
            }
        }
    }

    /// A sentinel's link is lost: its word no longer counts.
    pub fn forget(&mut self, sentinel: SentinelId) {
        for by_sentinel in self.by_master.values_mut() {
            if by_sentinel.remove(&sentinel).is_some() {
                self.version += 1;
            }
        }
    }

    /// The replica a replica pool's server for `master` points at: one that a majority
    /// of the sentinels answering about `master` list, that none reports down, that is
    /// no master (`is_master`: the master's own address, or another master's) and not a
    /// wildcard address; lowest priority first (priority 0, "never promote", last), then
    /// lowest address; none when there is no such replica.
    pub fn choice(&self, master: &str, is_master: impl Fn(&Addr) -> bool) -> Option<&Addr> {
        let by_sentinel = self.by_master.get(master)?;
        let mut merged: BTreeMap<&Addr, (Health, usize)> = BTreeMap::new();
        for (addr, h) in by_sentinel.values().flatten() {
            let (m, listed) = merged.entry(addr).or_insert((*h, 0));
            m.down |= h.down;
            m.priority = m.priority.min(h.priority);
            *listed += 1;
        }
        let answering = by_sentinel.len();
        merged
            .into_iter()
            .filter(|(addr, (h, listed))| {
                !h.down && listed * 2 > answering && !is_master(addr) && !is_wildcard(addr)
            })
            .min_by_key(|(addr, (h, _))| (h.priority == 0, h.priority, *addr))
            .map(|(addr, _)| addr)
    }
}

/// Whether `addr` is no one's address (`0.0.0.0`, `::`, any spelling of them: only
/// zeros, dots and colons): never a replica to route to. Read from the text alone: the
/// core resolves nothing.
fn is_wildcard(addr: &Addr) -> bool {
    !addr.host.is_empty() && addr.host.bytes().all(|b| matches!(b, b'0' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> Addr {
        Addr::parse(&format!("127.0.0.1:{port}")).unwrap()
    }

    fn info(port: u16, down: bool, priority: u32) -> ReplicaInfo {
        ReplicaInfo {
            addr: addr(port),
            down,
            priority,
        }
    }

    #[test]
    fn chooses_a_healthy_replica_a_majority_lists_by_priority_then_address() {
        let (a, b) = (SentinelId(0), SentinelId(1));
        let not = |m: u16| move |x: &Addr| *x == addr(m);
        let mut r = Replicas::default();
        assert_eq!(r.choice("m", not(1)), None);
        r.answer("m", a, &[info(3, false, 100), info(2, false, 100)]);
        assert_eq!(r.choice("m", not(1)), Some(&addr(2)));
        // A replica only one of two sentinels lists is not trusted.
        r.answer(
            "m",
            b,
            &[info(2, false, 100), info(3, false, 100), info(4, false, 10)],
        );
        assert_eq!(r.choice("m", not(1)), Some(&addr(2)));
        r.answer(
            "m",
            a,
            &[info(2, false, 100), info(3, false, 100), info(4, false, 10)],
        );
        assert_eq!(r.choice("m", not(1)), Some(&addr(4)));
        // Down by one sentinel's word: never chosen.
        r.down("m", b, &addr(4));
        assert_eq!(r.choice("m", not(1)), Some(&addr(2)));
        r.answer(
            "m",
            b,
            &[info(2, false, 100), info(3, false, 100), info(4, false, 10)],
        );
        assert_eq!(r.choice("m", not(1)), Some(&addr(4)));
        // A master's address is never a replica's.
        assert_eq!(r.choice("m", not(4)), Some(&addr(2)));
        r.forget(b);
        r.down("m", a, &addr(4));
        r.down("m", a, &addr(2));
        assert_eq!(r.choice("m", not(1)), Some(&addr(3)));
        r.down("m", a, &addr(3));
        assert_eq!(r.choice("m", not(1)), None);
    }

    #[test]
    fn never_promoted_and_wildcard_replicas_come_last_or_never() {
        let mut r = Replicas::default();
        let wildcard = ReplicaInfo {
            addr: Addr::parse("0.0.0.0:7101").unwrap(),
            down: false,
            priority: 1,
        };
        r.answer(
            "m",
            SentinelId(0),
            &[info(5, false, 0), info(6, false, 100), wildcard],
        );
        assert_eq!(r.choice("m", |_| false), Some(&addr(6)));
        r.down("m", SentinelId(0), &addr(6));
        assert_eq!(
            r.choice("m", |_| false),
            Some(&addr(5)),
            "priority 0 when nothing else"
        );
    }

    #[test]
    fn a_healthy_replica_listed_after_many_stale_ones_is_kept() {
        let mut list: Vec<ReplicaInfo> = (1..=1000).map(|p| info(p, true, 1)).collect();
        list.push(info(2000, false, 100));
        let mut r = Replicas::default();
        r.answer("m", SentinelId(0), &list);
        assert_eq!(r.choice("m", |a| *a == addr(1)), Some(&addr(2000)));
        let kept = most_choosable(list);
        assert_eq!(kept.len(), MAX_REPLICAS);
        assert_eq!(kept[0], info(2000, false, 100));
    }

    #[test]
    fn a_flood_of_made_up_replicas_is_bounded() {
        let mut r = Replicas::default();
        for port in 1..=1000 {
            r.down("m", SentinelId(0), &addr(port));
        }
        assert!(r.by_master.is_empty(), "events keep no replica");
        assert_eq!(r.version(), 0);
        let many: Vec<ReplicaInfo> = (1..=1000).map(|p| info(p, false, 1)).collect();
        r.answer("m", SentinelId(1), &many);
        let kept: usize = r.by_master["m"].values().map(BTreeMap::len).sum();
        assert_eq!(kept, MAX_REPLICAS);
    }
}
