//! Log output: lines of text (or JSON, `-log_format json`), to stdout, to stderr when the config itself
//! goes to stdout, or appended to the `-log` file, which SIGHUP reopens (for logrotate).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::fmt::writer::BoxMakeWriter;
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

/// The `-log` file, reopened on request.
#[derive(Debug)]
struct LogFile {
    path: PathBuf,
    file: Mutex<File>,
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// The log file in use, for [`reopen`].
static LOG_FILE: OnceLock<Arc<LogFile>> = OnceLock::new();

/// A handle that writes whole log lines to the current log file.
struct LogWriter(Arc<LogFile>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut file = self.0.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0
            .file
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .flush()
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// One line of text per event: time, level, message.
    #[default]
    Text,
    /// One JSON object per line, for log shippers: `timestamp`, `level`, `message`.
    Json,
}

/// Installs the global subscriber. `RUST_LOG` can change the level (default `info`),
/// e.g. `RUST_LOG=debug` for every sentinel event.
pub fn init(target: Target<'_>, format: Format) -> io::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let writer = match target {
        Target::Stdout => BoxMakeWriter::new(io::stdout),
        Target::Stderr => BoxMakeWriter::new(io::stderr),
        Target::File(path) => {
            let log = Arc::new(LogFile {
                path: path.to_path_buf(),
                file: Mutex::new(open_append(path)?),
            });
            let _ = LOG_FILE.set(log.clone());
            BoxMakeWriter::new(move || LogWriter(log.clone()))
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false)
        .with_writer(writer)
        // A log line that cannot be written is dropped: reporting it on stderr would
        // panic if stderr is gone too.
        .log_internal_errors(false);
    // A second init (e.g. in tests) keeps the first subscriber; that is fine.
    let _ = match format {
        Format::Text => builder.try_init(),
        Format::Json => builder.json().flatten_event(true).try_init(),
    };
    Ok(())
}

/// Reopens the `-log` file by its name (after logrotate moved it away); does nothing
/// when logging to stdout or stderr. On failure the old file stays in use.
pub fn reopen() -> io::Result<()> {
    let Some(log) = LOG_FILE.get() else {
        return Ok(());
    };
    let fresh = open_append(&log.path)?;
    *log.file.lock().unwrap_or_else(|e| e.into_inner()) = fresh;
    Ok(())
}
