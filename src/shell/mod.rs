//! The shell: sentinel links, effects, the daemon loop, and the command line.
pub mod cli;
