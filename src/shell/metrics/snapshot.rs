//! What the metrics and health endpoints serve: the core's figures as of the daemon
//! loop's last turn. The loop refreshes one copy after each turn and shares it through
//! a watch channel, so a scrape never waits for the loop and never holds it up.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::core::histogram::Histogram;
use crate::core::stats::Stats;
use crate::core::{Addr, Core};
use crate::shell::clock::Clock;

/// The core's figures at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The core's counters.
    pub stats: Stats,
    /// Switch-to-reload latencies.
    pub switch_latency: Histogram,
    /// Every sentinel followed, in the order given, and whether its link is up.
    pub links: Vec<(String, bool)>,
    /// Masters known.
    pub masters: usize,
    /// The file on disk is what tpc would write.
    pub in_sync: bool,
    /// A config was written, or found right on disk once start-up ended.
    pub ready: bool,
    /// When the last reload command succeeded.
    pub last_reload_ok: Option<Instant>,
    /// Why the last config write failed, until one succeeds.
    pub write_error: Option<String>,
    /// Why the last reload failed, until one succeeds.
    pub reload_error: Option<String>,
    /// Configs that could not be saved to `-backup`.
    pub backup_errors: u64,
}

impl Snapshot {
    /// Before the first turn: every sentinel down, nothing known.
    pub fn new(sentinels: &[Addr]) -> Snapshot {
        Snapshot {
            links: sentinels.iter().map(|s| (s.to_string(), false)).collect(),
            ..Snapshot::default()
        }
    }

    /// Takes the core's figures as they are now.
    pub fn refresh(&mut self, core: &Core, clock: &Clock, backup_errors: u64) {
        self.stats.clone_from(core.stats());
        self.switch_latency.clone_from(core.switch_latency());
        let up: BTreeMap<&str, bool> = core.links().collect();
        for (name, is_up) in &mut self.links {
            *is_up = up.get(name.as_str()).copied().unwrap_or(false);
        }
        self.masters = core.masters_known();
        self.in_sync = core.in_sync();
        self.ready = core.is_ready();
        self.last_reload_ok = core.last_reload_ok().map(|t| clock.instant(t).into_std());
        self.write_error = core.write_error().map(str::to_string);
        self.reload_error = core.reload_error().map(str::to_string);
        self.backup_errors = backup_errors;
    }
}
