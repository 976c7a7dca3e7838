//! The masters tpc knows: for each name the address believed now, on what grounds, and
//! every reachable sentinel's latest answer about it. [`crate::core::truth`] decides
//! which address to believe; this module keeps the evidence and applies the decisions.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::core::addr::Addr;
use crate::core::time::Millis;
use crate::core::truth::{
    judge, majority_of, top_of, Evidence, HeldOff, Judgement, Report, SentinelId,
};

/// How long a sentinel overruled as an outlier for a master stays distrusted for it at
/// least, whatever it says meanwhile: its lone word gets no provisional belief. An
/// honest sentinel overruled by mistake still counts in every majority.
pub const DISTRUSTED_AT_LEAST: Millis = Millis(600_000);

/// How many contradicted switches are remembered per master.
const MAX_CONTRADICTED: usize = 16;

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
    /// The latest answer of each reachable sentinel that reported this master, sorted
    /// by sentinel.
    reports: Vec<Report>,
    /// The sentinels that reported this master, sorted: it is dropped only when every
    /// one of them has said `-monitor`.
    monitored_by: Vec<SentinelId>,
    /// The sentinels disagree and tpc holds: said once per disagreement.
    pub disagreeing: bool,
    /// `addr` rests on a pub/sub switch or a lone newer epoch, not yet on answers.
    pub provisional: bool,
    /// What is kept only while a failover runs or the sentinels are in doubt: out of
    /// line, as most of thousands of masters never need it.
    doubts: Option<Box<Doubts>>,
}

/// A master's evidence beyond the sentinels' latest words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Doubts {
    /// Since when a majority of the words has named another address than the highest
    /// epoch, without a break, and every sentinel that held the highest word meanwhile.
    contested: Option<(Millis, BTreeSet<SentinelId>)>,
    /// Sentinels overruled as outliers for this master that have not agreed with tpc
    /// since; kept while their link is down, so a reconnect does not clear them.
    distrusted: BTreeMap<SentinelId, Millis>,
    /// Switches (sentinel, new address) that the sentinel's own next answer contradicted,
    /// and whether that was said: the same switch again from it is not followed.
    contradicted: Vec<(SentinelId, Addr, bool)>,
    /// Sentinels that started a failover of this master (`+try-failover`) and the epoch
    /// they announced just before it: the failover's epoch, which their switch gets.
    leading: Vec<(SentinelId, u64)>,
    /// Failovers of this master whose replica took the role (`+promoted-slave` after
    /// the leader's `+try-failover`): by whom, at which epoch, from and to which address.
    promoted: Vec<Promotion>,
    /// Addresses only answers named at a lone newer epoch, held off while a majority
    /// answered tpc's, and since when: set aside ([`Evidence::probation`]) until tpc
    /// comes to believe one or the majority overrules it.
    held: Vec<HeldOff>,
}

/// The most addresses held off at once for one master ([`Doubts`]): the oldest goes.
const HELD_MAX: usize = 16;

/// No doubt: what a master without [`Doubts`] reads as.
static NO_DOUBTS: Doubts = Doubts {
    contested: None,
    distrusted: BTreeMap::new(),
    contradicted: Vec::new(),
    leading: Vec::new(),
    promoted: Vec::new(),
    held: Vec::new(),
};

/// A failover's leader promoted a replica: its word that the master is at `to` as of
/// `epoch`, though its answers name `from` until the failover ends.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Promotion {
    leader: SentinelId,
    epoch: u64,
    from: Addr,
    to: Addr,
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

/// What judging one master's evidence did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing changed.
    Unchanged,
    /// The master moved to the address the answers show.
    Moved {
        /// Where it was.
        from: Addr,
        /// It was there only provisionally: this corrects tpc's own belief.
        corrects: bool,
    },
    /// The master moved (or stays) to a lone higher epoch, believed for now; ask the
    /// sentinels again at `until`.
    Provisional {
        /// Where it was, if it moved.
        from: Option<Addr>,
        /// When the grace ends.
        until: Millis,
    },
    /// `outlier`, a lone higher epoch only answers name, is held off: the master stays
    /// where a majority answers, or moves where the other sentinels' words say (`from`
    /// is where it was); ask the sentinels again at `until`.
    Held {
        /// Where it was, if it moved.
        from: Option<Addr>,
        /// It was there only provisionally: this corrects tpc's own belief.
        corrects: bool,
        /// The address answers alone put at the higher epoch.
        outlier: Addr,
        /// Its epoch.
        epoch: u64,
        /// When the grace ends.
        until: Millis,
    },
    /// The majority overruled the sentinels reporting `outlier` (they are distrusted
    /// for this master until they agree again); a move corrects tpc's own belief.
    Overruled {
        /// Where it was, if it moved.
        from: Option<Addr>,
        /// The outliers' address.
        outlier: Addr,
        /// The outliers' epoch.
        epoch: u64,
        /// The outliers.
        sentinels: Vec<SentinelId>,
    },
    /// The sentinels started to disagree with no rule to pick one: tpc holds.
    Disagreement,
}

/// What a `+switch-master` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Switched {
    /// Recorded as the sentinel's word; judge the master next.
    Recorded,
    /// The master is unknown.
    Unknown,
    /// The master is known at neither address of the switch.
    Mismatch(Addr),
    /// The same switch from the same sentinel was contradicted by its own next answer
    /// before: not followed (`first`: the first time it comes again).
    Contradicted {
        /// Whether this is the first repeat.
        first: bool,
    },
}

/// The masters tpc knows, by name (sorted, so output is deterministic).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topology {
    masters: BTreeMap<String, Known>,
    version: u64,
    /// The masters added, moved or removed since [`Topology::take_touched`] was last
    /// called.
    touched: Touched,
    /// The epoch each reachable sentinel last announced (`+new-epoch`) on its current
    /// link.
    announced: BTreeMap<SentinelId, u64>,
}

/// The masters added, moved or removed since they were last taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touched {
    /// These.
    Names(BTreeSet<String>),
    /// More than [`TOUCHED_NAMED`]: any may have been (a whole answer at start).
    Many,
}

/// The most touched masters named one by one: past it, comparing every master once is
/// cheaper than keeping their names.
pub const TOUCHED_NAMED: usize = 256;

impl Default for Touched {
    fn default() -> Touched {
        Touched::Names(BTreeSet::new())
    }
}

impl Touched {
    /// Notes that `name` was touched.
    fn insert(&mut self, name: &str) {
        if let Touched::Names(names) = self {
            if names.len() >= TOUCHED_NAMED {
                *self = Touched::Many;
            } else if !names.contains(name) {
                names.insert(name.to_string());
            }
        }
    }

    /// Whether nothing was touched.
    pub fn is_empty(&self) -> bool {
        matches!(self, Touched::Names(names) if names.is_empty())
    }
}

/// What a report did to the topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    /// The master is new: added at the reported address, and judged by it.
    Created,
    /// The master was known with no sentinel's word about it left: this is the first
    /// again.
    Added,
    /// One more word about a master some sentinel speaks for.
    Again,
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

    /// The masters added, moved or removed since the last call, which are all that can
    /// differ from what was derived then.
    pub fn take_touched(&mut self) -> Touched {
        std::mem::take(&mut self.touched)
    }

    /// Names and addresses, sorted by name, without copying.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Addr)> {
        self.masters.iter().map(|(n, k)| (n, &k.addr))
    }

    /// What is known about `name`.
    pub fn get(&self, name: &str) -> Option<&Known> {
        self.masters.get(name)
    }

    /// Whether no master is known.
    pub fn is_empty(&self) -> bool {
        self.masters.is_empty()
    }

    /// How many masters are known.
    pub fn len(&self) -> usize {
        self.masters.len()
    }

    /// Names known now.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.masters.keys()
    }

    /// The masters a majority of whose sentinels answer another address than the one
    /// tpc has for them, with that address. At the end of start-up that is where tpc
    /// stands (not on whichever sentinel answered first) before judging them again.
    pub fn majority_elsewhere(&self) -> Vec<(String, Addr)> {
        self.masters
            .iter()
            .filter(|(_, k)| k.reports.iter().any(|r| r.addr != k.addr))
            .filter_map(|(name, k)| {
                let most = majority_of(&k.reports)?;
                (*most != k.addr).then(|| (name.clone(), most.clone()))
            })
            .collect()
    }

    /// Records `sentinel`'s latest word about `name`: an answer to a query, or a
    /// `+monitor` without an epoch. A master first heard of is added at this address.
    /// Call [`Topology::judge`] next, unless the master was [`Reported::Created`]: its
    /// one report already decided it, and judging it would change nothing.
    pub fn report(
        &mut self,
        name: &str,
        sentinel: SentinelId,
        addr: &Addr,
        epoch: Option<u64>,
        at: Millis,
    ) -> Reported {
        let mut created = false;
        let known = match self.masters.get_mut(name) {
            Some(k) => k,
            None => {
                created = true;
                self.version += 1;
                self.touched.insert(name);
                self.masters.entry(name.to_string()).or_insert(Known {
                    addr: addr.clone(),
                    reports: Vec::new(),
                    monitored_by: Vec::new(),
                    disagreeing: false,
                    provisional: false,
                    doubts: None,
                })
            }
        };
        let added = match () {
            _ if created => Reported::Created,
            _ if known.reports.is_empty() && known.monitored_by.is_empty() => Reported::Added,
            _ => Reported::Again,
        };
        // Between promoting the replica and ending the failover the leader answers the
        // old address at the failover's epoch: its own promotion says where it is.
        let addr = known
            .doubts()
            .promoted
            .iter()
            .find(|p| p.leader == sentinel && p.from == *addr && Some(p.epoch) == epoch)
            .map_or_else(|| addr.clone(), |p| p.to.clone());
        if let Err(i) = known.monitored_by.binary_search(&sentinel) {
            // Exactly as long as needed: thousands of masters each keep one.
            known.monitored_by.reserve_exact(1);
            known.monitored_by.insert(i, sentinel);
        }
        known.put(Report {
            sentinel,
            addr,
            epoch,
            at,
            implied: false,
            distrusted: false,
        });
        added
    }

    /// Notes that `sentinel` answered at `at` without `name`: its last word about it
    /// stands as of then. Returns whether it had one.
    pub fn restate(&mut self, name: &str, sentinel: SentinelId, at: Millis) -> bool {
        let Some(k) = self.masters.get_mut(name) else {
            return false;
        };
        match k.reports.iter_mut().find(|r| r.sentinel == sentinel) {
            Some(r) => {
                r.at = at;
                true
            }
            None => false,
        }
    }

    /// Judges `name`'s evidence with [`judge`] and applies the decision.
    pub fn judge(&mut self, name: &str, grace: Millis, now: Millis) -> Decision {
        let Some(k) = self.masters.get_mut(name) else {
            return Decision::Unchanged;
        };
        // The grace runs from when a majority of the words first named another address
        // than the highest epoch, through any change of address or epoch by sentinels
        // that already held the highest word in this contest (liars switching again, or
        // taking turns, gain nothing); a sentinel new to it starts the grace anew (an
        // honest failover's leader, even to the address a liar named), once each.
        let backers: Vec<SentinelId> = match (top_of(&k.reports), majority_of(&k.reports)) {
            (Some((top, _)), Some(most)) if top != *most => k
                .reports
                .iter()
                .filter(|r| r.addr == top)
                .map(|r| r.sentinel)
                .collect(),
            _ => Vec::new(),
        };
        let contested = match k.doubts.as_mut().and_then(|d| d.contested.take()) {
            _ if backers.is_empty() => None,
            Some((since, ever)) if backers.iter().all(|s| ever.contains(s)) => Some((since, ever)),
            Some((_, mut ever)) => {
                ever.extend(backers);
                Some((now, ever))
            }
            None => Some((now, backers.into_iter().collect())),
        };
        let contested_since = contested.as_ref().map(|(since, _)| *since);
        if contested.is_some() {
            k.doubts_mut().contested = contested;
        }
        k.settle();
        let held = k
            .doubts
            .as_ref()
            .map(|d| d.held.clone())
            .unwrap_or_default();
        let judgement = judge(Evidence {
            reports: &k.reports,
            contested_since,
            grace,
            now,
            current: &k.addr,
            probation: &held,
        });
        let mut moved = |k: &mut Known, to: Addr| -> Option<Addr> {
            if k.addr == to {
                return None;
            }
            self.version += 1;
            self.touched.insert(name);
            Some(std::mem::replace(&mut k.addr, to))
        };
        if !matches!(judgement, Judgement::Disagree) {
            k.disagreeing = false;
        }
        let was_provisional = k.provisional;
        // Only an answer confirms an address; a switch's word alone does not.
        let answered =
            |k: &Known, addr: &Addr| k.reports.iter().any(|r| r.addr == *addr && !r.implied);
        let decision = match judgement {
            Judgement::Keep => Decision::Unchanged,
            Judgement::Believe(addr) => {
                k.provisional = !answered(k, &addr);
                match moved(k, addr) {
                    Some(from) => Decision::Moved {
                        from,
                        corrects: was_provisional && !k.provisional,
                    },
                    None => Decision::Unchanged,
                }
            }
            Judgement::Provisional { addr, until } => {
                k.provisional = true;
                Decision::Provisional {
                    from: moved(k, addr),
                    until,
                }
            }
            Judgement::Held {
                outlier,
                epoch,
                until,
                to,
            } => {
                let from = to.and_then(|to| {
                    k.provisional = !answered(k, &to);
                    moved(k, to)
                });
                let by: Vec<SentinelId> = k
                    .reports
                    .iter()
                    .filter(|r| r.addr == outlier)
                    .map(|r| r.sentinel)
                    .collect();
                let held = &mut k.doubts_mut().held;
                match held.iter_mut().find(|h| h.addr == outlier) {
                    Some(known) => {
                        for s in by {
                            if !known.by.contains(&s) {
                                known.by.push(s);
                            }
                        }
                    }
                    None => {
                        // A liar naming a new address each time cannot grow it for ever.
                        if held.len() == HELD_MAX {
                            held.remove(0);
                        }
                        held.push(HeldOff {
                            addr: outlier.clone(),
                            since: now,
                            by,
                        });
                    }
                }
                Decision::Held {
                    corrects: from.is_some() && was_provisional && !k.provisional,
                    from,
                    outlier,
                    epoch,
                    until,
                }
            }
            Judgement::Overruled {
                addr,
                outlier,
                epoch,
            } => {
                let mut sentinels = Vec::new();
                for r in k.reports.iter_mut() {
                    if r.addr == outlier && r.epoch == Some(epoch) {
                        r.distrusted = true;
                        sentinels.push(r.sentinel);
                    }
                }
                k.doubts_mut()
                    .distrusted
                    .extend(sentinels.iter().map(|s| (*s, now)));
                k.provisional = !answered(k, &addr);
                Decision::Overruled {
                    from: moved(k, addr),
                    outlier,
                    epoch,
                    sentinels,
                }
            }
            Judgement::Disagree => {
                if std::mem::replace(&mut k.disagreeing, true) {
                    Decision::Unchanged
                } else {
                    Decision::Disagreement
                }
            }
        };
        // A word held off is set aside until tpc believes it or the majority overrules
        // its sentinels.
        if let Some(d) = k.doubts.as_mut() {
            if let Decision::Overruled { outlier, .. } = &decision {
                d.held.retain(|h| h.addr != *outlier);
            }
            d.held.retain(|h| h.addr != k.addr);
        }
        decision
    }

    /// Notes that `sentinel` announced `epoch` as its current one (`+new-epoch`).
    pub fn announce(&mut self, sentinel: SentinelId, epoch: u64) {
        self.announced.insert(sentinel, epoch);
    }

    /// Notes that `sentinel` starts a failover of `name` (`+try-failover`): Sentinel
    /// announces the failover's epoch just before, and the new address gets it. Its
    /// current epoch is global, so only this pairing ties it to one master. Returns the
    /// epoch, if it announced one on this link and `name` is known.
    pub fn try_failover(&mut self, name: &str, sentinel: SentinelId) -> Option<u64> {
        let epoch = *self.announced.get(&sentinel)?;
        let d = self.masters.get_mut(name)?.doubts_mut();
        d.leading.retain(|(s, _)| *s != sentinel);
        d.promoted.retain(|p| p.leader != sentinel);
        d.leading.push((sentinel, epoch));
        Some(epoch)
    }

    /// Notes that `sentinel` promoted the replica at `to` for `name`, which was at
    /// `from` (`+promoted-slave`): if it started that failover ([`Topology::try_failover`]),
    /// the promotion is its failover's word, at its epoch (see [`crate::core::truth`]).
    /// Returns the epoch, if so.
    pub fn promoted(
        &mut self,
        name: &str,
        sentinel: SentinelId,
        from: &Addr,
        to: &Addr,
    ) -> Option<u64> {
        let k = self.masters.get_mut(name)?;
        let epoch = k.doubts().leading.iter().find(|(s, _)| *s == sentinel)?.1;
        let d = k.doubts_mut();
        d.promoted.retain(|p| p.leader != sentinel);
        d.promoted.push(Promotion {
            leader: sentinel,
            epoch,
            from: from.clone(),
            to: to.clone(),
        });
        Some(epoch)
    }

    /// Records a `+switch-master` from `by` as its word that `name` is at `new`, at one
    /// epoch after its own last answer, or at the epoch of the failover of `name` it
    /// started if that is higher (see [`crate::core::truth`]); judge the master next. As the original tpc did, only a switch from the address tpc knows (or to
    /// it, heard from another sentinel) counts.
    pub fn switch(
        &mut self,
        name: &str,
        by: SentinelId,
        old: &Addr,
        new: &Addr,
        at: Millis,
    ) -> Switched {
        let Some(k) = self.masters.get_mut(name) else {
            return Switched::Unknown;
        };
        if k.addr != *old && k.addr != *new {
            return Switched::Mismatch(k.addr.clone());
        }
        if let Some(c) = k.doubts.as_mut().and_then(|d| {
            d.contradicted
                .iter_mut()
                .find(|(s, a, _)| *s == by && a == new)
        }) {
            return Switched::Contradicted {
                first: !std::mem::replace(&mut c.2, true),
            };
        }
        let own = k.reports.iter().find(|r| r.sentinel == by);
        let next = own.and_then(|r| r.epoch).unwrap_or(0).saturating_add(1);
        let led = k.doubts().leading.iter().position(|(s, _)| *s == by);
        let epoch = led.map_or(next, |i| next.max(k.doubts_mut().leading.swap_remove(i).1));
        // A promotion to this address at an epoch `by` itself reached: the failover it
        // follows.
        let reached = self.announced.get(&by).copied();
        let followed = k
            .doubts()
            .promoted
            .iter()
            .filter(|p| p.to == *new && reached.is_some_and(|e| p.epoch <= e))
            .map(|p| p.epoch)
            .max();
        let epoch = followed.map_or(epoch, |e| epoch.max(e));
        k.put(Report {
            sentinel: by,
            addr: new.clone(),
            epoch: Some(epoch),
            at,
            implied: true,
            distrusted: false,
        });
        Switched::Recorded
    }

    /// Puts `name` at `addr` (where tpc holds it: the file's address while its sentinels
    /// disagree, or what most answer at the end of start-up), if some sentinel reports
    /// `addr`; says whether it moved.
    pub fn hold_at(&mut self, name: &str, addr: &Addr) -> bool {
        match self.masters.get_mut(name) {
            Some(k) if k.addr != *addr && k.reports.iter().any(|r| r.addr == *addr) => {
                k.addr = addr.clone();
                self.version += 1;
                self.touched.insert(name);
                true
            }
            _ => false,
        }
    }

    /// `sentinel` no longer monitors `name`; the master is forgotten once no sentinel
    /// that reported it still does.
    pub fn withdraw(&mut self, name: &str, sentinel: SentinelId) -> Withdrawn {
        let Some(k) = self.masters.get_mut(name) else {
            return Withdrawn::Unknown;
        };
        k.monitored_by.retain(|s| *s != sentinel);
        k.reports.retain(|r| r.sentinel != sentinel);
        if !k.monitored_by.is_empty() {
            return Withdrawn::StillMonitored(k.monitored_by.len());
        }
        let Some(k) = self.masters.remove(name) else {
            return Withdrawn::Unknown;
        };
        self.version += 1;
        self.touched.insert(name);
        Withdrawn::Removed(k.addr)
    }

    /// Forgets every answer of `sentinel`, and the epochs it announced, whose link is
    /// lost: only reachable sentinels count. Returns the masters it had reported, to
    /// judge again.
    pub fn forget_answers(&mut self, sentinel: SentinelId) -> Vec<String> {
        self.announced.remove(&sentinel);
        let mut affected = Vec::new();
        for (name, k) in self.masters.iter_mut() {
            if let Some(d) = k.doubts.as_mut() {
                d.leading.retain(|(s, _)| *s != sentinel);
                d.promoted.retain(|p| p.leader != sentinel);
                k.settle();
            }
            if let Ok(i) = k.reports.binary_search_by_key(&sentinel, |r| r.sentinel) {
                k.reports.remove(i);
                affected.push(name.clone());
            }
        }
        affected
    }
}

impl Known {
    /// The master's doubts (none, most of the time).
    fn doubts(&self) -> &Doubts {
        self.doubts.as_deref().unwrap_or(&NO_DOUBTS)
    }

    /// The master's doubts, to change.
    fn doubts_mut(&mut self) -> &mut Doubts {
        self.doubts.get_or_insert_with(Box::default)
    }

    /// Lets go of the doubts once none is left.
    fn settle(&mut self) {
        if self.doubts.as_deref() == Some(&NO_DOUBTS) {
            self.doubts = None;
        }
    }

    /// Keeps `report` as its sentinel's latest word. Distrust lasts until the sentinel
    /// agrees with what tpc believes. An answer that contradicts the sentinel's own
    /// switch just before marks that switch; an answer naming its address clears it.
    fn put(&mut self, report: Report) {
        let s = report.sentinel;
        if let Some(d) = self.doubts.as_mut() {
            // Only its own answer, and not soon after, earns an outlier trust again: a
            // liar that agrees for a moment between lies gets no new grace each time.
            let agrees = report.addr == self.addr && !report.implied;
            if agrees
                && d.distrusted
                    .get(&s)
                    .is_some_and(|since| report.at >= *since + DISTRUSTED_AT_LEAST)
            {
                d.distrusted.remove(&s);
            }
            if !report.implied {
                d.contradicted
                    .retain(|(by, addr, _)| !(*by == s && *addr == report.addr));
            }
            self.settle();
        }
        let report = Report {
            distrusted: self.doubts().distrusted.contains_key(&s),
            ..report
        };
        match self.reports.binary_search_by_key(&s, |r| r.sentinel) {
            Ok(i) => {
                let before = &self.reports[i];
                if before.implied && !report.implied && before.addr != report.addr {
                    let before = before.addr.clone();
                    let contradicted = &mut self.doubts_mut().contradicted;
                    // The latest few are enough against a sentinel repeating a switch.
                    if contradicted.len() >= MAX_CONTRADICTED {
                        contradicted.remove(0);
                    }
                    contradicted.push((s, before, false));
                }
                self.reports[i] = report;
            }
            Err(i) => {
                self.reports.reserve_exact(1);
                self.reports.insert(i, report);
            }
        }
    }

    /// Whether `sentinel` was overruled as an outlier for this master and has not
    /// agreed since.
    pub fn is_distrusted(&self, sentinel: SentinelId) -> bool {
        self.doubts().distrusted.contains_key(&sentinel)
    }

    /// The sentinels whose latest answer is this master's current address.
    pub fn agreeing(&self) -> usize {
        self.reports.iter().filter(|r| r.addr == self.addr).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::addr as a;

    const S1: SentinelId = SentinelId(1);
    const S2: SentinelId = SentinelId(2);
    const S3: SentinelId = SentinelId(3);
    const GRACE: Millis = Millis(5_000);

    #[test]
    fn a_master_created_by_a_report_needs_no_judging() {
        for epoch in [None, Some(0), Some(7), Some(u64::MAX)] {
            let mut t = Topology::default();
            assert_eq!(
                t.report("m", S1, &a(1), epoch, Millis(3)),
                Reported::Created
            );
            let (version, addr) = (t.version(), t.get("m").unwrap().addr.clone());
            assert_eq!(t.judge("m", GRACE, Millis(3)), Decision::Unchanged);
            assert_eq!((t.version(), &t.get("m").unwrap().addr), (version, &addr));
            assert!(!t.get("m").unwrap().provisional);
            assert_eq!(t.report("m", S2, &a(2), epoch, Millis(4)), Reported::Again);
            t.withdraw("m", S1);
            assert_eq!(
                t.report("n", S1, &a(3), epoch, Millis(5)),
                Reported::Created
            );
        }
    }

    #[test]
    fn a_switch_is_its_sentinels_word_one_epoch_on() {
        let mut t = Topology::default();
        for s in [S1, S2, S3] {
            t.report("m", s, &a(1), Some(5), Millis(0));
        }
        assert_eq!(t.judge("m", GRACE, Millis(0)), Decision::Unchanged);
        assert_eq!(
            t.switch("other", S1, &a(1), &a(2), Millis(1)),
            Switched::Unknown
        );
        assert_eq!(
            t.switch("m", S1, &a(9), &a(2), Millis(1)),
            Switched::Mismatch(a(1))
        );
        assert_eq!(
            t.switch("m", S1, &a(1), &a(2), Millis(1)),
            Switched::Recorded
        );
        // Believed at once, for the grace, while S2 and S3 lag.
        assert_eq!(
            t.judge("m", GRACE, Millis(1)),
            Decision::Provisional {
                from: Some(a(1)),
                until: Millis(5_001)
            }
        );
        // S1's next answer still shows the old address at its old epoch: the switch
        // proved nothing, and raised no epoch that could pin it.
        t.report("m", S1, &a(1), Some(5), Millis(2));
        assert_eq!(
            t.judge("m", GRACE, Millis(2)),
            Decision::Moved {
                from: a(2),
                corrects: true
            }
        );
        // An epoch at the end of the range is just a number.
        t.report("m", S2, &a(1), Some(u64::MAX), Millis(3));
        t.judge("m", GRACE, Millis(3));
        assert_eq!(
            t.switch("m", S2, &a(1), &a(4), Millis(4)),
            Switched::Recorded
        );
        t.judge("m", GRACE, Millis(4));
        assert_eq!(t.get("m").unwrap().addr, a(4));
    }

    #[test]
    fn a_switch_gets_the_epoch_its_sentinel_announced_before_starting_that_failover() {
        let mut t = Topology::default();
        t.report("m", S1, &a(1), Some(3), Millis(0));
        for s in [S2, S3] {
            t.report("m", s, &a(2), Some(4), Millis(0));
        }
        t.report("n", S1, &a(7), Some(1), Millis(0));
        t.judge("m", GRACE, Millis(0));
        // An epoch announced for another master's failover is not this master's.
        t.announce(S1, 9);
        assert_eq!(t.try_failover("n", S1), Some(9));
        t.switch("m", S1, &a(2), &a(1), Millis(1));
        assert_eq!(t.judge("m", GRACE, Millis(1)), Decision::Unchanged);
        // The failover it starts of this master is.
        t.announce(S1, 10);
        assert_eq!(t.try_failover("m", S1), Some(10));
        t.switch("m", S1, &a(2), &a(1), Millis(2));
        assert!(matches!(
            t.judge("m", GRACE, Millis(2)),
            Decision::Provisional { from: Some(_), .. }
        ));
        // A liar announcing the end of the range gets the grace, then the majority.
        t.report("m", S1, &a(1), Some(10), Millis(3));
        for s in [S2, S3] {
            t.report("m", s, &a(1), Some(10), Millis(3));
        }
        t.judge("m", GRACE, Millis(3));
        t.announce(S3, u64::MAX);
        t.try_failover("m", S3);
        t.switch("m", S3, &a(1), &a(9), Millis(4));
        assert!(matches!(
            t.judge("m", GRACE, Millis(4)),
            Decision::Provisional { from: Some(_), .. }
        ));
        for s in [S1, S2] {
            t.report("m", s, &a(1), Some(10), Millis(5_004));
        }
        assert!(matches!(
            t.judge("m", GRACE, Millis(5_004)),
            Decision::Overruled {
                epoch: u64::MAX,
                ..
            }
        ));
        assert_eq!(t.get("m").unwrap().addr, a(1));
        // A lost link forgets what it announced.
        t.announce(S2, 20);
        t.forget_answers(S2);
        assert_eq!(t.try_failover("m", S2), None);
    }

    #[test]
    fn a_followers_switch_to_the_promoted_replica_gets_the_failovers_epoch_once_it_reached_it() {
        let mut t = Topology::default();
        for s in [S1, S2, S3] {
            t.report("m", s, &a(1), Some(4), Millis(0));
        }
        t.report("m", S2, &a(0), Some(3), Millis(0));
        t.judge("m", GRACE, Millis(0));
        let epoch_of = |t: &Topology, s| {
            let k = t.get("m").unwrap();
            k.reports
                .iter()
                .find(|r| r.sentinel == s)
                .and_then(|r| r.epoch)
        };
        // A promotion without a failover started on this link is nobody's word.
        assert_eq!(t.promoted("m", S1, &a(1), &a(2)), None);
        t.announce(S1, 7);
        t.try_failover("m", S1);
        assert_eq!(t.promoted("m", S1, &a(1), &a(2)), Some(7));
        // A follower that has not announced the failover's epoch gets no more than today.
        t.switch("m", S2, &a(1), &a(2), Millis(1));
        assert_eq!(epoch_of(&t, S2), Some(4));
        t.report("m", S2, &a(1), Some(4), Millis(2));
        t.announce(S2, 7);
        // Nor does a switch to another address.
        t.switch("m", S2, &a(1), &a(3), Millis(3));
        assert_eq!(epoch_of(&t, S2), Some(5));
        t.report("m", S2, &a(1), Some(4), Millis(4));
        t.announce(S3, 7);
        t.switch("m", S3, &a(1), &a(2), Millis(5));
        assert_eq!(epoch_of(&t, S3), Some(7));
        assert!(matches!(
            t.judge("m", GRACE, Millis(5)),
            Decision::Provisional { from: Some(_), .. }
        ));
        // The leader answers the old address at the failover's epoch until it ends: that
        // is the promoted address; the old address at its old epoch is not.
        t.report("m", S1, &a(1), Some(7), Millis(6));
        assert_eq!(t.get("m").unwrap().reports[0].addr, a(2));
        assert!(matches!(
            t.judge("m", GRACE, Millis(6)),
            Decision::Unchanged
        ));
        assert_eq!(t.get("m").unwrap().addr, a(2));
        t.report("m", S1, &a(1), Some(4), Millis(7));
        assert_eq!(t.get("m").unwrap().reports[0].addr, a(1));
        // A liar's promotion at an epoch the follower never reached gives it nothing,
        // and a lost link forgets it.
        t.announce(S1, u64::MAX);
        t.try_failover("m", S1);
        t.promoted("m", S1, &a(2), &a(9));
        t.switch("m", S3, &a(2), &a(9), Millis(8));
        assert_eq!(epoch_of(&t, S3), Some(8));
        t.forget_answers(S1);
        t.announce(S2, u64::MAX);
        t.switch("m", S2, &a(2), &a(9), Millis(9));
        assert_eq!(epoch_of(&t, S2), Some(5));
    }

    #[test]
    fn a_master_goes_when_every_sentinel_that_reported_it_lets_go() {
        let mut t = Topology::default();
        t.report("m", S1, &a(1), Some(1), Millis(0));
        t.report("m", S2, &a(1), Some(1), Millis(0));
        assert_eq!(t.withdraw("m", S1), Withdrawn::StillMonitored(1));
        assert_eq!(t.withdraw("m", S1), Withdrawn::StillMonitored(1));
        assert_eq!(t.withdraw("m", S2), Withdrawn::Removed(a(1)));
        assert_eq!(t.withdraw("m", S2), Withdrawn::Unknown);
        assert!(t.is_empty());
    }

    #[test]
    fn an_overruled_outlier_is_distrusted_until_it_agrees() {
        let mut t = Topology::default();
        for s in [S1, S2, S3] {
            t.report("m", s, &a(1), Some(5), Millis(0));
        }
        t.judge("m", GRACE, Millis(0));
        // A lone higher epoch only an answer names moves nothing a majority answers ...
        t.report("m", S3, &a(9), Some(1000), Millis(10));
        assert_eq!(
            t.judge("m", GRACE, Millis(10)),
            Decision::Held {
                from: None,
                corrects: false,
                outlier: a(9),
                epoch: 1000,
                until: Millis(5_010)
            }
        );
        assert_eq!(t.get("m").unwrap().addr, a(1));
        // ... and once the grace is over, the majority overrules it.
        for s in [S1, S2, S3] {
            let (addr, epoch) = if s == S3 { (a(9), 1000) } else { (a(1), 5) };
            t.report("m", s, &addr, Some(epoch), Millis(5_010));
        }
        assert_eq!(
            t.judge("m", GRACE, Millis(5_010)),
            Decision::Overruled {
                from: None,
                outlier: a(9),
                epoch: 1000,
                sentinels: vec![S3]
            }
        );
        // Its next answer and switch get no belief ...
        t.report("m", S3, &a(9), Some(1001), Millis(6_000));
        assert_eq!(t.judge("m", GRACE, Millis(6_000)), Decision::Unchanged);
        assert_eq!(
            t.switch("m", S3, &a(1), &a(9), Millis(6_001)),
            Switched::Recorded
        );
        assert_eq!(t.judge("m", GRACE, Millis(6_001)), Decision::Unchanged);
        // ... nor does agreeing for a moment (by a switch, or an answer) between lies ...
        assert_eq!(
            t.switch("m", S3, &a(7), &a(1), Millis(6_500)),
            Switched::Recorded
        );
        t.report("m", S3, &a(1), Some(5), Millis(7_000));
        assert!(t.get("m").unwrap().is_distrusted(S3));
        t.report("m", S3, &a(8), Some(2000), Millis(7_001));
        assert_eq!(t.judge("m", GRACE, Millis(7_001)), Decision::Unchanged);
        // ... until it agrees again in an answer, long after.
        let later = Millis(5_010) + DISTRUSTED_AT_LEAST;
        t.report("m", S3, &a(1), Some(5), later);
        assert!(!t.get("m").unwrap().is_distrusted(S3));
    }

    #[test]
    fn distrust_outlives_a_lost_link() {
        let mut t = Topology::default();
        for s in [S1, S2, S3] {
            t.report("m", s, &a(1), Some(5), Millis(0));
        }
        t.report("m", S3, &a(9), Some(50), Millis(10));
        t.judge("m", GRACE, Millis(10));
        for s in [S1, S2, S3] {
            let (addr, epoch) = if s == S3 { (a(9), 50) } else { (a(1), 5) };
            t.report("m", s, &addr, Some(epoch), Millis(5_010));
        }
        assert!(matches!(
            t.judge("m", GRACE, Millis(5_010)),
            Decision::Overruled { .. }
        ));
        t.forget_answers(S3);
        t.report("m", S3, &a(9), Some(50), Millis(6_000));
        assert_eq!(t.judge("m", GRACE, Millis(6_000)), Decision::Unchanged);
        assert_eq!(t.get("m").unwrap().addr, a(1));
    }

    #[test]
    fn a_switch_its_own_sentinels_answer_contradicted_is_not_followed_again() {
        let mut t = Topology::default();
        for s in [S1, S2, S3] {
            t.report("m", s, &a(1), Some(5), Millis(0));
        }
        assert_eq!(
            t.switch("m", S3, &a(1), &a(9), Millis(1)),
            Switched::Recorded
        );
        t.report("m", S3, &a(1), Some(5), Millis(2));
        let again = |t: &mut Topology| t.switch("m", S3, &a(1), &a(9), Millis(3));
        assert_eq!(again(&mut t), Switched::Contradicted { first: true });
        assert_eq!(again(&mut t), Switched::Contradicted { first: false });
        // Another sentinel's switch, and S3's once its answers show it, are followed.
        assert_eq!(
            t.switch("m", S2, &a(1), &a(9), Millis(4)),
            Switched::Recorded
        );
        t.report("m", S3, &a(9), Some(6), Millis(5));
        assert_eq!(again(&mut t), Switched::Recorded);
    }

    #[test]
    fn liars_taking_turns_get_one_grace_between_them() {
        const L1: SentinelId = SentinelId(4);
        const L2: SentinelId = SentinelId(5);
        let mut t = Topology::default();
        let honest = |t: &mut Topology, at: u64| {
            for s in [S1, S2, S3] {
                t.report("m", s, &a(1), Some(1), Millis(at));
            }
        };
        honest(&mut t, 0);
        t.judge("m", GRACE, Millis(0));
        // Each liar in turn claims a newer epoch for a new address, every 1.5 s; the
        // honest ones answer every time.
        let mut last = a(1);
        for turn in 0..20u64 {
            let at = 1_000 + turn * 1_500;
            let (liar, port) = if turn % 2 == 0 { (L1, 100) } else { (L2, 200) };
            t.report(
                "m",
                liar,
                &a(port + turn as u16),
                Some(10 + turn),
                Millis(at),
            );
            t.judge("m", GRACE, Millis(at));
            honest(&mut t, at + 1);
            t.judge("m", GRACE, Millis(at + 1));
            last = t.get("m").unwrap().addr.clone();
            if at > 1_000 + 2 * GRACE.as_u64() {
                assert_eq!(last, a(1), "still on a liar's address at {at} ms");
            }
        }
        assert_eq!(last, a(1));
    }

    #[test]
    fn losing_a_link_forgets_its_answers() {
        let mut t = Topology::default();
        t.report("m", S1, &a(1), Some(5), Millis(0));
        t.report("m", S2, &a(2), Some(6), Millis(0));
        assert_eq!(t.forget_answers(S2), vec!["m".to_string()]);
        assert!(t.forget_answers(S2).is_empty());
        assert_eq!(t.judge("m", GRACE, Millis(1)), Decision::Unchanged);
        assert_eq!(t.get("m").unwrap().addr, a(1));
    }
}
