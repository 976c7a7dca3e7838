//! Log output: lines like the original's, to stdout, to stderr when the config itself
//! goes to stdout, or appended to the `-log` file.

use std::fs::OpenOptions;
use std::io;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// Standard output.
    Stdout,
    /// Standard error (used when the config is written to stdout).
    Stderr,
    /// Appended to this file.
    File(&'a Path),
}

/// Installs the global subscriber. `RUST_LOG` can change the level (default `info`).
pub fn init(target: Target<'_>) -> io::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false);
    // A second init (e.g. in tests) keeps the first subscriber; that is fine.
    let _ = match target {
        Target::Stdout => builder.with_writer(io::stdout).try_init(),
        Target::Stderr => builder.with_writer(io::stderr).try_init(),
        Target::File(path) => {
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            builder.with_writer(Mutex::new(file)).try_init()
        }
    };
    Ok(())
}
