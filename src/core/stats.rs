//! Counters the core keeps about what it saw and did, for logs and metrics.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::core::histogram::Histogram;

/// Whether `n` is 1, 10, 100, ...: when the n-th of a repeated warning is said, so a
/// flood of them does not fill the log.
pub fn is_power_of_ten(mut n: u64) -> bool {
    while n >= 10 && n.is_multiple_of(10) {
        n /= 10;
    }
    n == 1
}

/// Channels counted by name, at most: a sentinel's pub/sub carries any channel anyone
/// publishes to, and each name is a metric's label.
pub const MAX_CHANNELS: usize = 64;

/// The channel name messages count under beyond [`MAX_CHANNELS`] names, or when their
/// name is not fit for a label (control characters, over 64 bytes).
pub const OTHER_CHANNEL: &str = "other";

/// Messages of one channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ChannelCount {
    /// Parsed, or not an event tpc reads.
    pub ok: u64,
    /// Malformed.
    pub error: u64,
}

/// Running totals since the core started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Sentinel messages received.
    pub messages: u64,
    /// Messages whose payload could not be parsed.
    pub malformed: u64,
    /// Messages by channel (see [`MAX_CHANNELS`]).
    pub channels: BTreeMap<String, ChannelCount>,
    /// Sentinel links lost or not made (each failed attempt counts).
    pub link_errors: u64,
    /// `+switch-master` events applied.
    pub switches_applied: u64,
    /// `+switch-master` events ignored (outside the pattern, unknown master, old
    /// address not matching, or already applied).
    pub switches_ignored: u64,
    /// Times each master moved to another address (a switch followed, or the
    /// sentinels' answers). Shared, so that a copy for metrics costs nothing until the
    /// next move.
    pub moves: Arc<BTreeMap<String, u64>>,
    /// Masters refused because their name or an address was invalid.
    pub refused: u64,
    /// Times the majority of the sentinels overruled an outlier's higher epoch.
    pub outliers: u64,
    /// Times the sentinels started to disagree about a master with no rule to pick one.
    pub disagreements: u64,
    /// Configs written.
    pub writes: u64,
    /// Times the file on disk was found changed or deleted behind tpc's back.
    pub drift_repairs: u64,
    /// Config writes that failed.
    pub write_failures: u64,
    /// Reload commands run to success.
    pub reloads: u64,
    /// Reload commands that failed.
    pub reload_failures: u64,
    /// How long reload commands took, from start to outcome, failed ones too.
    pub reload_durations: Histogram,
}

impl Stats {
    /// Counts a message of `channel`, parsed (`ok`) or malformed.
    pub fn count_message(&mut self, channel: &str, ok: bool) {
        self.messages += 1;
        if !ok {
            self.malformed += 1;
        }
        let fit = channel.len() <= 64 && !channel.chars().any(char::is_control);
        let name = match self.channels.contains_key(channel) {
            true => channel,
            false if fit && self.channels.len() < MAX_CHANNELS => channel,
            false => OTHER_CHANNEL,
        };
        let count = match self.channels.get_mut(name) {
            Some(count) => count,
            None => self.channels.entry(name.to_string()).or_default(),
        };
        if ok {
            count.ok += 1;
        } else {
            count.error += 1;
        }
    }

    /// Counts a move of `master`.
    pub fn count_move(&mut self, master: &str) {
        *Arc::make_mut(&mut self.moves)
            .entry(master.to_string())
            .or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_beyond_the_limit_or_unfit_count_as_other() {
        let mut s = Stats::default();
        s.count_message("bad\nname", true);
        for i in 0..MAX_CHANNELS + 5 {
            s.count_message(&format!("ch-{i}"), i % 2 == 0);
        }
        s.count_message("ch-0", false);
        assert_eq!(s.channels.len(), MAX_CHANNELS);
        assert_eq!(s.channels["ch-0"], ChannelCount { ok: 1, error: 1 });
        let other = s.channels[OTHER_CHANNEL];
        assert_eq!(other.ok + other.error, 7);
        assert_eq!((s.messages, s.malformed), (MAX_CHANNELS as u64 + 7, 35));
    }
}
