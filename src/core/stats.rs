//! Counters the core keeps about what it saw and did, for logs and metrics.

use serde::Serialize;

/// Running totals since the core started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Sentinel messages received.
    pub messages: u64,
    /// Messages whose payload could not be parsed.
    pub malformed: u64,
    /// `+switch-master` events applied.
    pub switches_applied: u64,
    /// `+switch-master` events ignored (outside the pattern, unknown master, old
    /// address not matching, or already applied).
    pub switches_ignored: u64,
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
}
