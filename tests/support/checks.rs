//! Checks the end-to-end tests share: nutcracker restarted exactly once more, and keys
//! written through nutcracker landing on the current masters.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;

/// Keys written through nutcracker per check.
pub const KEYS: usize = 40;

/// `n` whole seconds.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Waits for the `n`th run of the restart script, checks that no other run follows
/// within 2 s, and waits until nutcracker serves.
pub fn expect_reloads(nut: &Nutcracker, n: usize) {
    wait_until(secs(15), &format!("restart number {n}"), || {
        nut.reloads() >= n
    });
    hold_for(secs(2), &format!("exactly {n} restarts"), || {
        nut.reloads() == n
    });
    nut.wait_serving(secs(10));
}

/// Writes [`KEYS`] keys through nutcracker and finds each one on exactly one of the
/// current `masters` (read directly); asserts that each of `must_hit` received one.
pub fn check_keys(
    nut: &Nutcracker,
    masters: &BTreeMap<String, String>,
    phase: &str,
    must_hit: Vec<&str>,
) {
    check_keys_at(&nut.addr(), masters, phase, must_hit);
}

/// [`check_keys`] through the nutcracker pool listening on `pool` (`ip:port`), whose
/// servers are `masters`.
pub fn check_keys_at(
    pool: &str,
    masters: &BTreeMap<String, String>,
    phase: &str,
    must_hit: Vec<&str>,
) {
    let mut conn = Conn::open(pool).expect("connect to nutcracker");
    let mut hits: BTreeMap<&str, usize> = BTreeMap::new();
    for i in 0..KEYS {
        // Vary the first characters: twemproxy's fnv1a_64 keeps the low 32 bits, so keys
        // that differ only at the end (k0, k1, ...) all land on the same shard.
        let (key, value) = (format!("{i}-{phase}"), format!("{phase}-v{i}"));
        let reply = conn
            .cmd(&["SET", &key, &value])
            .expect("SET through nutcracker");
        assert!(
            reply.is_ok(),
            "SET {key} through nutcracker answered {reply:?}"
        );
        let holders: Vec<&str> = masters
            .iter()
            .filter(|(_, addr)| get(addr, &key).as_deref() == Some(value.as_str()))
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(
            holders.len(),
            1,
            "{key} must be on exactly one current master of {masters:?}"
        );
        *hits.entry(holders[0]).or_default() += 1;
    }
    for name in must_hit {
        assert!(
            hits.contains_key(name),
            "no key landed on {name} ({}): {hits:?}",
            masters[name]
        );
    }
}
