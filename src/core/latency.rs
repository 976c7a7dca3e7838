//! Switch-to-reload latency: for each master that moved, from the moment the core first
//! saw the move to the start of the reload that loads it: the figure that matters
//! during an incident, since every request to that shard fails meanwhile.
//!
//! A move waits in three places: seen (not in a write yet), being written, written (not
//! reloaded yet). Each master is kept once per place, with the earliest time it was
//! seen, so the state stays as small as the list of masters.

use std::collections::BTreeMap;

use crate::core::histogram::Histogram;
use crate::core::time::Millis;

/// Moves on their way to nutcracker, and the latencies of those that got there.
#[derive(Debug, Clone, Default)]
pub struct Latency {
    seen: BTreeMap<String, Millis>,
    writing: BTreeMap<String, Millis>,
    written: BTreeMap<String, Millis>,
    histogram: Histogram,
}

/// Keeps the earlier time of `name` in `into`.
fn merge(into: &mut BTreeMap<String, Millis>, name: String, at: Millis) {
    into.entry(name)
        .and_modify(|t| *t = (*t).min(at))
        .or_insert(at);
}

impl Latency {
    /// `name` moved at `now`; `back_on_disk`: to the address the file on disk already
    /// has, so no write is owed for it any more.
    pub fn moved(&mut self, name: &str, back_on_disk: bool, now: Millis) {
        if back_on_disk {
            self.seen.remove(name);
        } else if !self.seen.contains_key(name) {
            self.seen.insert(name.to_string(), now);
        }
    }

    /// A write of the masters `changed` started. A move seen but not in it needs no
    /// write (the master is not in the file, or is back where the file has it).
    pub fn write_started<'a>(&mut self, changed: impl Iterator<Item = &'a str>) {
        for name in changed {
            if let Some(at) = self.seen.remove(name) {
                merge(&mut self.writing, name.to_string(), at);
            }
        }
        self.seen.clear();
    }

    /// The write ended: written, or (on failure) still to write.
    pub fn write_done(&mut self, ok: bool) {
        let into = if ok {
            &mut self.written
        } else {
            &mut self.seen
        };
        for (name, at) in std::mem::take(&mut self.writing) {
            merge(into, name, at);
        }
    }

    /// A reload started at `now`: it loads every move written so far.
    pub fn reload_started(&mut self, now: Millis) {
        for at in std::mem::take(&mut self.written).into_values() {
            self.histogram.observe(now.since(at));
        }
    }

    /// The latencies so far.
    pub fn histogram(&self) -> &Histogram {
        &self.histogram
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(l: &Latency) -> (u64, Millis) {
        (l.histogram().count(), l.histogram().sum())
    }

    #[test]
    fn a_move_counts_from_first_seen_to_the_reload_that_loads_it() {
        let mut l = Latency::default();
        l.moved("a", false, Millis(100));
        l.moved("a", false, Millis(150));
        l.write_started(["a"].into_iter());
        l.reload_started(Millis(200));
        assert_eq!(observed(&l), (0, Millis(0)), "not written yet");
        l.write_done(true);
        l.reload_started(Millis(400));
        assert_eq!(observed(&l), (1, Millis(300)));
        l.reload_started(Millis(900));
        assert_eq!(observed(&l), (1, Millis(300)), "counted once");
    }

    #[test]
    fn a_failed_write_keeps_the_first_time_and_an_undone_move_counts_nothing() {
        let mut l = Latency::default();
        l.moved("a", false, Millis(100));
        l.write_started(["a"].into_iter());
        l.write_done(false);
        l.moved("a", false, Millis(500));
        l.write_started(["a"].into_iter());
        l.write_done(true);
        l.reload_started(Millis(1_100));
        assert_eq!(observed(&l), (1, Millis(1_000)));
        l.moved("b", false, Millis(2_000));
        l.moved("b", true, Millis(2_100));
        l.moved("c", false, Millis(2_000));
        l.write_started(std::iter::empty());
        l.write_done(true);
        l.reload_started(Millis(3_000));
        assert_eq!(observed(&l), (1, Millis(1_000)));
    }
}
