//! Reading what tpc wrote, for the core's property tests: the server lines of a config.

use std::collections::BTreeMap;

/// The `host:port:weight` of each server in a written config, by name.
pub fn servers(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter_map(|l| l.split_once(' '))
        .map(|(a, n)| (n.to_string(), a.to_string()))
        .collect()
}
