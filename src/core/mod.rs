//! The pure core of tpc: sentinel events in, decisions out.
//!
//! Everything here is deterministic and free of I/O: no tokio, no redis, no files,
//! sockets or processes, and it never calls `Instant::now()` or `SystemTime::now()`.
//! Time comes in with each [`Input`]; decisions come out as [`Effect`]s that the shell
//! (the daemon, `tpc replay`, or a test) performs. See [`Core`] for the calling order.

pub mod addr;
pub mod backoff;
pub mod driver;
pub mod effect;
pub mod event;
pub mod filter;
pub mod histogram;
pub mod input;
pub mod latency;
pub mod layout;
pub mod links;
pub mod machine;
pub mod patch;
pub mod render;
pub mod replicas;
pub mod secret;
pub mod settings;
pub mod shown;
pub mod snapshot;
pub mod stats;
pub mod template;
pub mod time;
pub mod topology;
pub mod truth;

pub use addr::Addr;
pub use effect::{Change, Effect, EffectId};
pub use input::{Input, Outcome};
pub use machine::Core;
pub use secret::Secret;
pub use settings::{CoreSettings, PoolSettings};
pub use time::Millis;
pub use topology::MasterInfo;
