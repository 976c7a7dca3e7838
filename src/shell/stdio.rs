//! Writing to standard output and standard error without ever panicking (`print!`
//! panics when the reader went away). A closed stdout (EPIPE, as in `tpc ... | head -1`)
//! is a normal end: the reader wants no more.

use std::fmt;
use std::io::{self, Write};

/// Why text could not go to stdout.
#[derive(Debug)]
pub enum StdoutError {
    /// The reader went away (EPIPE): a normal end, nothing more will be read.
    Closed,
    /// Any other write error.
    Io(io::Error),
}

impl fmt::Display for StdoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StdoutError::Closed => f.write_str("stdout is closed (its reader went away)"),
            StdoutError::Io(e) => write!(f, "cannot write to stdout: {e}"),
        }
    }
}

impl std::error::Error for StdoutError {}

/// Whether `error` says the reader of a pipe went away.
pub fn is_closed(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::BrokenPipe
}

/// Writes `text` to stdout and flushes it.
pub fn out(text: &str) -> Result<(), StdoutError> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| match is_closed(&e) {
            true => StdoutError::Closed,
            false => StdoutError::Io(e),
        })
}

/// Writes `line` and a newline to stderr; if stderr cannot be written, there is
/// nowhere left to say so, and the line is dropped.
pub fn err_line(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}
