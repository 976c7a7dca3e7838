//! A histogram of durations on the core's clock, for metrics: fixed buckets, so it stays
//! the same small size however many durations it counts.

use serde::Serialize;

use crate::core::time::Millis;

/// The buckets' upper bounds, in milliseconds: from a quick reload (5 ms) to a failover
/// that waited out a long `-wait` (5 min). Longer durations count only in the total.
pub const BOUNDS: [u64; 15] = [
    5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000,
];

/// Durations counted by bucket, with their count and sum.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Histogram {
    /// `per_bucket[i]`: durations at most `BOUNDS[i]` ms and above the bound before.
    per_bucket: [u64; BOUNDS.len()],
    /// Every duration counted, also those above the last bound.
    count: u64,
    /// Their sum, in milliseconds.
    sum: Millis,
}

impl Histogram {
    /// Counts one duration.
    pub fn observe(&mut self, duration: Millis) {
        let ms = duration.as_u64();
        let bucket = BOUNDS
            .iter()
            .zip(self.per_bucket.iter_mut())
            .find(|(bound, _)| ms <= **bound);
        if let Some((_, n)) = bucket {
            *n += 1;
        }
        self.count += 1;
        self.sum = self.sum + duration;
    }

    /// Each bucket's upper bound and the durations in it (not cumulative), in order.
    pub fn buckets(&self) -> impl Iterator<Item = (Millis, u64)> + '_ {
        BOUNDS
            .iter()
            .zip(self.per_bucket)
            .map(|(bound, n)| (Millis(*bound), n))
    }

    /// How many durations were counted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The sum of every duration counted.
    pub fn sum(&self) -> Millis {
        self.sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_duration_lands_in_the_first_bucket_that_holds_it() {
        let mut h = Histogram::default();
        for ms in [0, 5, 6, 300_000, 300_001] {
            h.observe(Millis(ms));
        }
        let buckets: Vec<(u64, u64)> = h.buckets().map(|(b, n)| (b.as_u64(), n)).collect();
        assert_eq!(buckets[0], (5, 2));
        assert_eq!(buckets[1], (10, 1));
        assert_eq!(buckets[14], (300_000, 1));
        assert_eq!(buckets.iter().map(|(_, n)| n).sum::<u64>(), 4);
        assert_eq!((h.count(), h.sum()), (5, Millis(600_012)));
    }
}
