//! tpc keeps twemproxy (nutcracker) pointed at the current Redis masters: it follows
//! Redis Sentinel over pub/sub and, when a master fails over, rewrites nutcracker's
//! config and runs a reload command.
//!
//! [`core`] holds every decision as a pure state machine; [`shell`] connects it to
//! sentinels, files, processes and Slack.

pub mod core;
pub mod shell;

#[cfg(test)]
pub(crate) mod testing;
