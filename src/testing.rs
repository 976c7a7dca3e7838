//! Helpers for the crate's unit tests.

use crate::core::Addr;

/// `10.0.0.1:port`, the address the core's unit tests use.
pub fn addr(port: u16) -> Addr {
    Addr {
        host: "10.0.0.1".into(),
        port,
    }
}

/// insta settings that keep every snapshot in the top-level `snapshots/` folder.
pub fn snapshots() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    s.set_prepend_module_to_snapshot(true);
    s
}

/// The seeded proptest config every property test uses (shared with `tests/`).
#[path = "../tests/proptest_config/mod.rs"]
pub mod proptest_config;
