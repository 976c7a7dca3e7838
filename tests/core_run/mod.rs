//! A core on virtual time for tests: every write and reload succeeds at once, and what
//! the core wrote, notified and stopped with is kept.

use tpc::core::driver::{Driver, Entry, Outcomes};
use tpc::core::{Core, CoreSettings, Effect, EffectId, Input};

/// A driven core and what it did.
pub struct Run {
    driver: Driver,
    /// Every config written, in order.
    pub writes: Vec<String>,
    /// Every notification.
    pub notes: Vec<String>,
    /// The errors of `Effect::Stop`s.
    pub stops: Vec<String>,
    /// The ids of the reads of the file asked for.
    pub reads: Vec<EffectId>,
    /// When each query of the sentinels was asked for.
    pub queries: Vec<u64>,
}

impl Run {
    /// A core with `settings` and `on_disk` as the file found at start.
    pub fn new(settings: CoreSettings, on_disk: Option<&str>) -> Run {
        let core = Core::new(settings, on_disk.map(str::to_string));
        Run {
            driver: Driver::new(core, Outcomes::Simulated),
            writes: Vec::new(),
            notes: Vec::new(),
            stops: Vec::new(),
            reads: Vec::new(),
            queries: Vec::new(),
        }
    }

    /// Feeds `input`, then lets virtual time run until the core is settled.
    pub fn feed(&mut self, input: Input<'static>) {
        let (writes, notes, stops, reads, queries) = (
            &mut self.writes,
            &mut self.notes,
            &mut self.stops,
            &mut self.reads,
            &mut self.queries,
        );
        let mut out = |entry| {
            if let Entry::Effect(at, effect) = entry {
                match effect {
                    Effect::WriteConfig { text, .. } => writes.push(text.to_string()),
                    Effect::Notify { text, .. } => notes.push(text),
                    Effect::Stop { error } => stops.push(error),
                    Effect::ReadConfig { id } => reads.push(id),
                    Effect::Query => queries.push(at.0),
                    _ => {}
                }
            }
        };
        self.driver.feed(input, &mut out);
        self.driver.finish(&mut out);
    }

    /// The last config written; empty if none was.
    pub fn last(&self) -> &str {
        self.writes.last().map_or("", String::as_str)
    }
}
