//! Delays doubling from one second, capped at a minute (retries after a failed effect,
//! and asking the sentinels again while no replica is healthy), and the retry state of
//! one kind of effect.

use crate::core::time::Millis;

/// First retry delay.
pub const FIRST: Millis = Millis(1_000);
/// Longest retry delay.
pub const CAP: Millis = Millis(60_000);

/// The delay before retry number `failures` (1 for the first failure).
pub fn delay(failures: u32) -> Millis {
    let shift = failures.saturating_sub(1).min(16);
    Millis((FIRST.0 << shift).min(CAP.0))
}

/// Retries of one kind of effect after failures.
#[derive(Debug, Clone, Default)]
pub struct Retry {
    /// Consecutive failures.
    pub failures: u32,
    /// Not before this time.
    pub not_before: Millis,
}

impl Retry {
    /// Counts a failure at `now`; returns the delay before the next try.
    pub fn failed(&mut self, now: Millis) -> Millis {
        self.failures += 1;
        let delay = delay(self.failures);
        self.not_before = now + delay;
        delay
    }

    /// Counts a success; returns whether it ends a run of failures.
    pub fn succeeded(&mut self) -> bool {
        let was_failing = self.failures > 0;
        *self = Retry::default();
        was_failing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_caps() {
        assert_eq!(delay(1), Millis(1_000));
        assert_eq!(delay(2), Millis(2_000));
        assert_eq!(delay(6), Millis(32_000));
        assert_eq!(delay(7), CAP);
        assert_eq!(delay(100), CAP);
    }
}
