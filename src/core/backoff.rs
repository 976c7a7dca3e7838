//! Retry delays after a failed effect: doubling from one second, capped at a minute.

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
