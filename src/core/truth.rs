//! Who to believe (DESIGN.md §4): the one rule that turns the sentinels' answers about a
//! master into the address tpc writes.
//!
//! - The config epoch orders answers: the address with the highest epoch is believed at
//!   once, but only provisionally while a majority of the reachable sentinels report
//!   another address. The grace runs from when that majority first stood against the
//!   highest epoch, whichever address and epoch the same sentinels name since (a liar
//!   that keeps switching gains nothing); once it has passed and a majority still names
//!   another address in answers given after the grace, the majority stands and the
//!   minority is an outlier.
//! - A lone higher epoch that only answers name (no sentinel published a switch to it)
//!   does not move tpc off the address it stands on while a majority answers that
//!   address: tpc holds it for the grace, then the same majority rule applies. A real
//!   failover reaches tpc as switches, which keep the fast way; one that only answers
//!   show (tpc was starting, or its link was down) waits for the other sentinels to catch
//!   up (their switches, about a second; their answers, up to the grace). A word held
//!   off stays set aside, its sentinel's switches to it too, until tpc believes it (a
//!   majority names it) or the majority overrules it: the other sentinels' words decide
//!   meanwhile, so a real failover that breaks the majority it was held against is
//!   followed, not it. A liar answering a newer epoch gets nothing (at every start of
//!   tpc, which forgets whom it distrusted, it used to get the grace).
//!   tpc never leaves for it an address it believes at that higher epoch: an honest
//!   leader's answer after its switch keeps the failover.
//! - Without an epoch to order them (two addresses at the top epoch; no epoch counts as
//!   epoch 0), a majority decides; with no majority tpc holds what it has: a
//!   disagreement.
//! - A pub/sub `+switch-master` carries no epoch. It counts as its sentinel's word that
//!   the master is at the new address, one epoch after that sentinel's own last word,
//!   or, from the sentinel that started the failover, at the failover's epoch if that is
//!   higher: the `+new-epoch` it published just before its `+try-failover` of that
//!   master, on its current link. A switch to the replica that leader then promoted
//!   (its `+promoted-slave` of that master after the `+try-failover`) counts at the
//!   failover's epoch, if higher, from any sentinel that announced that epoch or a
//!   higher one on its current link: Sentinel's followers switch on the leader's hello,
//!   about a second before the leader's own switch at the failover's end, and adopt its
//!   epoch first. Until then the leader answers the old address at the failover's epoch;
//!   such an answer counts as its promotion's address. So a stale sentinel's switch is
//!   no newer than what the others report, and an honest one is believed at once while
//!   the others catch up, the first follower's and the leader's even when tpc's last
//!   answer from it predates the previous failover, and the leader's answers do not take
//!   it back. (A sentinel's `+new-epoch` alone is no master's epoch: its current epoch is
//!   global, and a late switch learnt from another sentinel may be older.) It never
//!   raises anything beyond a sentinel's word: a liar announcing a huge epoch, or a
//!   promotion at it, gets what answering it would get (belief for the grace, then the
//!   majority); an honest follower's switch gains from a liar's promotion only an epoch
//!   that follower itself announced; and the next answer replaces it.
//!
//! Epochs are compared, never incremented: any `u64` is just a number.

use crate::core::addr::Addr;
use crate::core::time::Millis;

/// A sentinel, by its index in the core's table of sentinels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SentinelId(pub u32);

/// One sentinel's latest answer about one master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Which sentinel answered.
    pub sentinel: SentinelId,
    /// The address it reported.
    pub addr: Addr,
    /// Its `config-epoch`, when it gave one.
    pub epoch: Option<u64>,
    /// When the answer arrived.
    pub at: Millis,
    /// Implied by a pub/sub switch (its epoch too), not said in an answer.
    pub implied: bool,
    /// This sentinel was overruled as an outlier for this master and has not agreed
    /// with the others since: its answers get no provisional belief.
    pub distrusted: bool,
}

/// Everything the rule looks at for one master.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// The latest answer of every reachable sentinel that reported this master.
    pub reports: &'a [Report],
    /// Since when a majority of the reports has named another address than the highest
    /// epoch without a break, if it does.
    pub contested_since: Option<Millis>,
    /// How long a single sentinel's higher epoch is believed without a majority.
    pub grace: Millis,
    /// The address tpc stands on now.
    pub current: &'a Addr,
    /// Words once held off ([`Judgement::Held`]) and not yet believed nor overruled:
    /// while one is the highest word and only the sentinels held off name it (in
    /// answers or switches), it is set aside and the other sentinels' words decide (a
    /// real failover that breaks the majority it was held against is followed, not it;
    /// an honest sentinel's switch to the same address is not set aside).
    pub probation: &'a [HeldOff],
    /// Now.
    pub now: Millis,
}

/// A word held off: an address, since when, and the sentinels that named it then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldOff {
    /// The address held off.
    pub addr: Addr,
    /// When it was first held off.
    pub since: Millis,
    /// The sentinels that named it.
    pub by: Vec<SentinelId>,
}

/// What the rule decided for one master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// Believe this address (it may be the current one), on the sentinels' answers.
    Believe(Addr),
    /// Believe the highest epoch for now; ask the sentinels again at `until` and judge
    /// their fresh answers.
    Provisional {
        /// The address believed for now.
        addr: Addr,
        /// When the grace ends.
        until: Millis,
    },
    /// Keep `outlier`, a lone higher epoch only answers name, off: stay at the current
    /// address, which a majority answers, or go where the other sentinels' words say
    /// (`to`) once that majority broke; ask the sentinels again at `until`.
    Held {
        /// The address answers alone put at the higher epoch.
        outlier: Addr,
        /// Its epoch.
        epoch: u64,
        /// When the grace ends.
        until: Millis,
        /// Where the others' words put the master, if not at the current address.
        to: Option<Addr>,
    },
    /// The majority overrules the sentinels reporting `outlier` at a higher epoch.
    Overruled {
        /// The majority's address.
        addr: Addr,
        /// The address the outliers report.
        outlier: Addr,
        /// Its epoch.
        epoch: u64,
    },
    /// The sentinels disagree and no rule picks one: keep the current address.
    Disagree,
    /// Nothing to judge on.
    Keep,
}

/// The highest-epoch address among trusted reports, if exactly one address has it. A
/// report without an epoch (a `+monitor`, or a sentinel log) counts as epoch 0.
pub fn top_of(reports: &[Report]) -> Option<(Addr, u64)> {
    let mut best: Option<(&Addr, u64)> = None;
    let mut tied = false;
    for r in reports.iter().filter(|r| !r.distrusted) {
        let e = r.epoch.unwrap_or(0);
        match best {
            Some((_, top)) if e < top => {}
            Some((a, top)) if e == top => tied |= *a != r.addr,
            _ => {
                best = Some((&r.addr, e));
                tied = false;
            }
        }
    }
    best.filter(|_| !tied).map(|(a, e)| (a.clone(), e))
}

/// The address named by more than half of `reports` (counting only those with
/// `counts(report)`, but out of all of them), if any.
fn majority(reports: &[Report], counts: impl Fn(&Report) -> bool) -> Option<&Addr> {
    let need = reports.len() / 2 + 1;
    reports.iter().map(|r| &r.addr).find(|addr| {
        reports
            .iter()
            .filter(|r| r.addr == **addr && counts(r))
            .count()
            >= need
    })
}

/// The address named by more than half of `reports`, if any.
pub fn majority_of(reports: &[Report]) -> Option<&Addr> {
    majority(reports, |_| true)
}

/// The rule, for one master.
pub fn judge(ev: Evidence) -> Judgement {
    let reports = ev.reports;
    if reports.is_empty() {
        return Judgement::Keep;
    }
    let majority_any = majority_of(reports);
    let Some((top, epoch)) = top_of(reports) else {
        return match majority_any {
            Some(addr) => Judgement::Believe(addr.clone()),
            None => Judgement::Disagree,
        };
    };
    if majority_any == Some(&top) {
        return Judgement::Believe(top);
    }
    let until = ev.contested_since.unwrap_or(ev.now) + ev.grace;
    // The grace is over: a majority in answers given since then stands.
    if ev.now >= until {
        if let Some(m) = majority(reports, |r| r.at >= until) {
            return Judgement::Overruled {
                addr: m.clone(),
                outlier: top,
                epoch,
            };
        }
    }
    let answered_only = !reports.iter().any(|r| r.addr == top && r.implied);
    if let Some(judgement) = set_aside(&ev, &top, epoch, until, majority_any) {
        return judgement;
    }
    if majority_any.is_none() {
        return Judgement::Believe(top);
    }
    if answered_only && majority_any == Some(ev.current) {
        return Judgement::Held {
            outlier: top,
            epoch,
            until,
            to: None,
        };
    }
    Judgement::Provisional { addr: top, until }
}

/// A word held off before stays set aside (its switches too: it got no grace, and
/// gets none): the others' words decide where the master is. The sentinels are asked
/// again at the end of its grace and, while a majority stands against it, each round
/// until fresh answers overrule it; with no majority then, it stays aside without more
/// asking. `None` when `top` is no word held off, or tpc stands on it.
fn set_aside(
    ev: &Evidence,
    top: &Addr,
    epoch: u64,
    until: Millis,
    majority_any: Option<&Addr>,
) -> Option<Judgement> {
    let reports = ev.reports;
    let probation = ev.probation.iter().find(|held| {
        held.addr == *top
            && reports
                .iter()
                .filter(|r| r.addr == *top)
                .all(|r| held.by.contains(&r.sentinel))
    });
    let HeldOff { since, .. } =
        probation.filter(|_| top != ev.current && reports.iter().any(|r| r.addr != *top))?;
    let others: Vec<Report> = reports.iter().filter(|r| r.addr != *top).cloned().collect();
    let theirs = judge(Evidence {
        reports: &others,
        ..*ev
    });
    // While a majority stands against it, until fresh answers overrule it.
    let until = match majority_any {
        Some(_) => (*since + ev.grace).max(until),
        None => *since + ev.grace,
    };
    if ev.now >= until && majority_any.is_none() {
        return Some(match theirs {
            Judgement::Held { to: Some(addr), .. } => Judgement::Believe(addr),
            Judgement::Held { to: None, .. } => Judgement::Keep,
            Judgement::Overruled { addr, .. } => Judgement::Believe(addr),
            other => other,
        });
    }
    let to = match theirs {
        Judgement::Believe(addr)
        | Judgement::Overruled { addr, .. }
        | Judgement::Provisional { addr, .. } => Some(addr),
        Judgement::Held { to, .. } => to,
        Judgement::Keep | Judgement::Disagree => None,
    };
    Some(Judgement::Held {
        outlier: top.clone(),
        epoch,
        until,
        to: to.filter(|addr| addr != ev.current),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::addr as a;

    fn r(s: u32, port: u16, epoch: Option<u64>, at: u64) -> Report {
        Report {
            sentinel: SentinelId(s),
            addr: a(port),
            epoch,
            at: Millis(at),
            implied: false,
            distrusted: false,
        }
    }

    /// Judges with tpc standing on an address no report names.
    fn judge_at(now: u64, reports: &[Report], contested_since: Option<u64>) -> Judgement {
        judge_standing(now, reports, contested_since, &a(60_000))
    }

    fn judge_standing(
        now: u64,
        reports: &[Report],
        contested_since: Option<u64>,
        current: &Addr,
    ) -> Judgement {
        judge(Evidence {
            reports,
            contested_since: contested_since.map(Millis),
            grace: Millis(5_000),
            now: Millis(now),
            current,
            probation: &[],
        })
    }

    #[test]
    fn a_lone_higher_epoch_only_answers_name_moves_nothing_a_majority_answers() {
        let reports = [
            r(0, 9, Some(u64::MAX), 0),
            r(1, 2, Some(7), 0),
            r(2, 2, Some(7), 0),
        ];
        let held = Judgement::Held {
            outlier: a(9),
            epoch: u64::MAX,
            until: Millis(5_000),
            to: None,
        };
        assert_eq!(judge_standing(0, &reports, None, &a(2)), held);
        // Past the grace, until fresh answers come, still held ...
        assert_eq!(judge_standing(6_000, &reports, Some(0), &a(2)), held);
        // ... and then the majority overrules it.
        let fresh = [
            r(0, 9, Some(u64::MAX), 6_000),
            r(1, 2, Some(7), 6_000),
            r(2, 2, Some(7), 6_001),
        ];
        assert!(matches!(
            judge_standing(6_001, &fresh, Some(0), &a(2)),
            Judgement::Overruled { .. }
        ));
        // Standing elsewhere, or the higher epoch a switch's: believed for the grace.
        assert!(matches!(
            judge_standing(0, &reports, None, &a(3)),
            Judgement::Provisional { .. }
        ));
        let mut switched = reports.clone();
        switched[0].implied = true;
        assert!(matches!(
            judge_standing(0, &switched, None, &a(2)),
            Judgement::Provisional { .. }
        ));
        // Standing on the higher epoch (an honest leader's answer after its switch):
        // kept, however many lag behind.
        assert!(matches!(
            judge_standing(0, &reports, None, &a(9)),
            Judgement::Provisional { addr, .. } if addr == a(9)
        ));
    }

    #[test]
    fn a_word_held_off_stays_aside_when_a_failover_breaks_the_majority() {
        let mut reports = vec![
            r(0, 2, Some(4), 100),
            r(1, 1, Some(3), 0),
            r(2, 1, Some(3), 0),
            r(4, 9, Some(u64::MAX), 0),
        ];
        reports[0].implied = true;
        let probation = [HeldOff {
            addr: a(9),
            since: Millis(0),
            by: vec![SentinelId(4)],
        }];
        let judged = |reports: &[Report], now: u64| {
            judge(Evidence {
                reports,
                contested_since: None,
                grace: Millis(5_000),
                now: Millis(now),
                current: &a(1),
                probation: &probation,
            })
        };
        // The first honest switch: the others decide (the switch, believed for now).
        assert_eq!(
            judged(&reports, 100),
            Judgement::Held {
                outlier: a(9),
                epoch: u64::MAX,
                until: Millis(5_000),
                to: Some(a(2)),
            }
        );
        // Its own switch gets it nothing either.
        reports[3].implied = true;
        assert!(matches!(
            judged(&reports, 100),
            Judgement::Held { to: Some(to), .. } if to == a(2)
        ));
        // Past its grace, with no majority against it, it stays aside unasked.
        assert_eq!(
            judged(&reports, 6_000),
            Judgement::Provisional {
                addr: a(2),
                until: Millis(11_000)
            }
        );
    }

    #[test]
    fn the_highest_epoch_agreed_by_the_majority_is_believed() {
        let reports = [
            r(0, 2, Some(7), 0),
            r(1, 2, Some(7), 0),
            r(2, 1, Some(6), 0),
        ];
        assert_eq!(judge_at(0, &reports, None), Judgement::Believe(a(2)));
    }

    #[test]
    fn a_lone_higher_epoch_is_provisional_then_overruled_by_fresh_answers() {
        let reports = [
            r(0, 9, Some(u64::MAX), 0),
            r(1, 2, Some(7), 0),
            r(2, 2, Some(7), 0),
        ];
        assert_eq!(
            judge_at(0, &reports, None),
            Judgement::Provisional {
                addr: a(9),
                until: Millis(5_000)
            }
        );
        // After the grace, answers from before it are not enough ...
        assert_eq!(
            judge_at(6_000, &reports, Some(0)),
            Judgement::Provisional {
                addr: a(9),
                until: Millis(5_000)
            }
        );
        // ... fresh ones are.
        let fresh = [
            r(0, 9, Some(u64::MAX), 6_000),
            r(1, 2, Some(7), 6_000),
            r(2, 2, Some(7), 6_001),
        ];
        assert_eq!(
            judge_at(6_001, &fresh, Some(0)),
            Judgement::Overruled {
                addr: a(2),
                outlier: a(9),
                epoch: u64::MAX
            }
        );
    }

    #[test]
    fn honest_lag_converges_within_the_grace() {
        // The leader reports the new address first; the others follow.
        let lagging = [
            r(0, 2, Some(8), 10),
            r(1, 1, Some(7), 10),
            r(2, 1, Some(7), 10),
        ];
        let j = judge_at(10, &lagging, None);
        assert_eq!(
            j,
            Judgement::Provisional {
                addr: a(2),
                until: Millis(5_010)
            }
        );
        let caught_up = [
            r(0, 2, Some(8), 900),
            r(1, 2, Some(8), 900),
            r(2, 1, Some(7), 10),
        ];
        assert_eq!(judge_at(900, &caught_up, None), Judgement::Believe(a(2)));
    }

    #[test]
    fn a_tie_without_a_majority_is_a_disagreement() {
        let same_epoch = [r(0, 1, Some(3), 0), r(1, 2, Some(3), 0)];
        assert_eq!(judge_at(0, &same_epoch, None), Judgement::Disagree);
        let no_epochs = [r(0, 1, None, 0), r(1, 2, None, 0)];
        assert_eq!(judge_at(0, &no_epochs, None), Judgement::Disagree);
        let majority = [r(0, 1, None, 0), r(1, 2, None, 0), r(2, 2, None, 0)];
        assert_eq!(judge_at(0, &majority, None), Judgement::Believe(a(2)));
    }

    #[test]
    fn a_distrusted_sentinel_gets_no_provisional_belief() {
        let mut liar = r(0, 9, Some(1000), 0);
        liar.distrusted = true;
        let reports = [liar, r(1, 2, Some(7), 0), r(2, 2, Some(7), 0)];
        assert_eq!(judge_at(0, &reports, None), Judgement::Believe(a(2)));
    }
}
