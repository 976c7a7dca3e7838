//! `-compat VERSION`: the defaults and key order of the original's released binaries
//! (0.1.5 to 0.1.8), which differ from its README (DESIGN.md §2), so that a user of a
//! released binary changes one word and gets the same file.

use crate::core::settings::CoreSettings;

use super::flags::{lookup, Replay};

/// A released version's defaults, where they differ from tpc's (the README's).
#[derive(Debug, Clone, Copy)]
pub struct Release {
    /// The version, as given to `-compat`.
    pub version: &'static str,
    /// Flag name and its default in that release.
    pub defaults: &'static [(&'static str, &'static str)],
}

/// What every release from 0.1.5 to 0.1.8 defaults to.
const RELEASED: &[(&str, &str)] = &[
    ("cmd", ""),
    ("wait", "0"),
    ("timeout", "-1"),
    ("backlog", "1024"),
    ("client_connections", "4096"),
    ("preconnect", "true"),
    ("auto_eject_hosts", "false"),
    ("server_retry_timeout", "-1"),
    ("server_failure_limit", "-1"),
];

/// The releases `-compat` takes.
pub const RELEASES: &[Release] = &[
    Release {
        version: "0.1.5",
        defaults: RELEASED,
    },
    Release {
        version: "0.1.6",
        defaults: RELEASED,
    },
    Release {
        version: "0.1.7",
        defaults: RELEASED,
    },
    Release {
        version: "0.1.8",
        defaults: RELEASED,
    },
];

/// The release named `version`, or what `-compat` takes.
pub fn release(version: &str) -> Result<&'static Release, String> {
    RELEASES
        .iter()
        .find(|r| r.version == version)
        .ok_or_else(|| {
            let known: Vec<&str> = RELEASES.iter().map(|r| r.version).collect();
            format!("a released version is expected: {}", known.join(", "))
        })
}

/// Replay's override for `-compat`: every setting the release defaults differently, and
/// its key order.
pub fn override_core(base: &mut CoreSettings, flags: &CoreSettings) {
    base.pool.key_order = flags.pool.key_order;
    for (name, _) in RELEASED {
        if let Some(Replay::Override(apply)) = lookup(name).map(|f| f.replay) {
            apply(base, flags);
        }
    }
}
