//! When a supervised nutcracker that died is started again: after [`FIRST_DELAY`],
//! doubling with each death in a row up to [`MAX_DELAY`]; a child that stayed up
//! [`STABLE`] ends the streak. The first death of a streak is the one worth telling
//! people about.

use std::time::Duration;

/// The delay after the first death of a streak.
pub const FIRST_DELAY: Duration = Duration::from_millis(100);
/// The longest delay.
pub const MAX_DELAY: Duration = Duration::from_secs(10);
/// How long a child must stay up for its next death to begin a new streak.
pub const STABLE: Duration = Duration::from_secs(30);

/// The deaths in a row of the supervised child.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restarts {
    deaths: u32,
}

/// What to do after a death.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Next {
    /// Wait this long before starting the child again.
    pub delay: Duration,
    /// This death begins a streak.
    pub first: bool,
}

impl Restarts {
    /// Counts the death (or failed start) of a child that had been up for `up_for`.
    pub fn died(&mut self, up_for: Duration) -> Next {
        self.stayed_up(up_for);
        self.deaths = self.deaths.saturating_add(1);
        let doublings = (self.deaths - 1).min(16);
        Next {
            delay: FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY),
            first: self.deaths == 1,
        }
    }

    /// Notes that a child ended on purpose (restarted) after `up_for`: long enough,
    /// and the streak is over.
    pub fn stayed_up(&mut self, up_for: Duration) {
        if up_for >= STABLE {
            self.deaths = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn delays_double_from_100ms_to_10s_and_a_stable_run_ends_the_streak() {
        let mut r = Restarts::default();
        let delays: Vec<(u64, bool)> = (0..10)
            .map(|_| r.died(ms(5)))
            .map(|n| (n.delay.as_millis() as u64, n.first))
            .collect();
        assert_eq!(
            delays,
            [
                (100, true),
                (200, false),
                (400, false),
                (800, false),
                (1600, false),
                (3200, false),
                (6400, false),
                (10_000, false),
                (10_000, false),
                (10_000, false)
            ]
        );
        assert_eq!(r.died(STABLE - ms(1)).delay, MAX_DELAY);
        assert_eq!(
            r.died(STABLE),
            Next {
                delay: FIRST_DELAY,
                first: true
            }
        );
        r.died(ms(1));
        r.stayed_up(ms(29_999));
        assert!(!r.died(ms(1)).first);
        r.stayed_up(STABLE);
        assert!(r.died(ms(1)).first);
        for _ in 0..100 {
            r.died(ms(1));
        }
        assert_eq!(r.died(ms(1)).delay, MAX_DELAY);
    }
}
