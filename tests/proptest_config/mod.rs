//! The configuration every property test of tpc runs with, so that CI's verdict depends
//! on the code and not on luck.
//!
//! By default a property test first replays the failures committed in
//! `proptest-regressions/`, then explores the same cases on every run, drawn from one
//! fixed seed. For deeper exploration, ask for more cases and a fresh seed:
//!
//! ```sh
//! PROPTEST_CASES=20000 TPC_PROPTEST_SEED=random cargo test --release --test core_invariants
//! ```
//!
//! Each test prints the seed it ran with (the test harness shows it when the test
//! fails); `TPC_PROPTEST_SEED=<that number>` reruns exactly those cases. proptest's
//! own `PROPTEST_RNG_SEED=<number>` is honoured too.

use std::hash::{BuildHasher, Hasher};

use proptest::test_runner::{Config, FileFailurePersistence, RngSeed};

/// The seed CI explores from.
pub const FIXED_SEED: u64 = 0x7470_6320_7365_6564;

/// The environment variable that picks the seed: a number, or `random`.
pub const SEED_VAR: &str = "TPC_PROPTEST_SEED";

/// A proptest config for `cases` cases (unless `PROPTEST_CASES` says otherwise), with
/// failures persisted to `regressions` (a path from the crate's root) when given.
pub fn config(cases: u32, regressions: Option<&'static str>) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    if let Some(path) = regressions {
        config.failure_persistence = Some(Box::new(FileFailurePersistence::Direct(path)));
    }
    let seed = match (std::env::var(SEED_VAR).ok().as_deref(), config.rng_seed) {
        (Some("random"), _) => std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish(),
        (Some(number), _) => number.trim().parse().unwrap_or_else(|_| {
            panic!("{SEED_VAR}={number:?}: expected a number (u64) or 'random'")
        }),
        (None, RngSeed::Fixed(seed)) => seed,
        (None, RngSeed::Random) => FIXED_SEED,
    };
    eprintln!("proptest seed {seed}: rerun these cases with {SEED_VAR}={seed}");
    config.rng_seed = RngSeed::Fixed(seed);
    config
}
