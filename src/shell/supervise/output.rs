//! The supervised child's stdout and stderr, read as they come: each line goes to tpc's
//! log as `nutcracker: LINE`, shown as other outside text is ([`shown`]), and the bytes
//! are kept bounded ([`Captured`]) for the error when it fails to start. A line is kept
//! up to [`MAX_LINE`] bytes (the rest only counted), so neither a flood of lines nor
//! one endless line grows tpc's memory: when the log is slower than the child, the pipe
//! fills and the child waits.

use std::sync::{Arc, Mutex};

use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tracing::info;

use crate::core::shown::{shown, MAX_SHOWN};
use crate::shell::capture::Captured;

/// What starts each log line of the child's output.
pub const PREFIX: &str = "nutcracker: ";

/// The most bytes of one line kept: enough for the [`MAX_SHOWN`] characters shown.
pub const MAX_LINE: usize = MAX_SHOWN * 4;

/// The part of a stream's current line read so far.
#[derive(Debug, Default)]
pub struct Lines {
    kept: Vec<u8>,
    total: usize,
}

impl Lines {
    /// Takes the next bytes of the stream; `line` gets each line completed, its kept
    /// text and its length in bytes.
    pub fn push(&mut self, bytes: &[u8], line: &mut impl FnMut(&str, usize)) {
        let mut parts = bytes.split(|&b| b == b'\n').peekable();
        while let Some(part) = parts.next() {
            let room = MAX_LINE - self.kept.len();
            self.kept.extend_from_slice(&part[..room.min(part.len())]);
            self.total += part.len();
            if parts.peek().is_some() {
                self.finish(line);
            }
        }
    }

    /// Ends the line read so far (the stream ended), if there is one.
    pub fn finish(&mut self, line: &mut impl FnMut(&str, usize)) {
        let text = String::from_utf8_lossy(&self.kept);
        let text = text.trim_end();
        if !text.is_empty() {
            line(text, self.total);
        }
        self.kept.clear();
        self.total = 0;
    }
}

/// Logs one line of the child's output.
fn log(text: &str, total: usize) {
    if total > MAX_LINE {
        let cut = text
            .char_indices()
            .nth(MAX_SHOWN)
            .map_or(text, |(at, _)| &text[..at]);
        info!("{PREFIX}{} … ({total} bytes in all)", shown(cut));
    } else {
        info!("{PREFIX}{}", shown(text));
    }
}

/// Lines of the child's output logged per [`WINDOW`], at most: a child that floods its
/// output must not fill tpc's log (and disk) nor drown tpc's own lines.
pub const LINES_PER_WINDOW: u32 = 200;
/// The window [`LINES_PER_WINDOW`] counts in.
pub const WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

/// How many lines the current window has logged, and how many it left out.
#[derive(Debug)]
pub struct Budget {
    since: std::time::Instant,
    logged: u32,
    skipped: u64,
}

impl Budget {
    /// A fresh window starting `now`.
    pub fn new(now: std::time::Instant) -> Budget {
        Budget {
            since: now,
            logged: 0,
            skipped: 0,
        }
    }

    /// Starts a new window when the current one is over, first saying how many lines
    /// it left out.
    pub fn roll(&mut self, now: std::time::Instant) {
        if now.duration_since(self.since) < WINDOW {
            return;
        }
        if self.skipped > 0 {
            info!(
                "{PREFIX}({} more lines in {}s not logged: at most {LINES_PER_WINDOW} are)",
                self.skipped,
                WINDOW.as_secs()
            );
        }
        *self = Budget::new(now);
    }

    /// Whether a line seen at `now` may be logged.
    pub fn allows(&mut self, now: std::time::Instant) -> bool {
        self.roll(now);
        if self.logged < LINES_PER_WINDOW {
            self.logged += 1;
            true
        } else {
            self.skipped += 1;
            false
        }
    }
}

/// Logs a line if `budget` allows it now.
fn within(budget: &mut Budget) -> impl FnMut(&str, usize) + '_ {
    |text, total| {
        if budget.allows(std::time::Instant::now()) {
            log(text, total);
        }
    }
}

/// Reads `pipe` to its end, logging each line (within the [`Budget`]) and keeping the
/// bytes in `kept`.
pub async fn follow(mut pipe: pipe::Receiver, kept: Arc<Mutex<Captured>>) {
    let mut budget = Budget::new(std::time::Instant::now());
    let mut lines = Lines::default();
    let mut buf = vec![0; 16 * 1024];
    // Says what a window left out even when the child falls silent after it.
    let mut windows = tokio::time::interval(WINDOW);
    windows.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            read = pipe.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    kept.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(&buf[..n]);
                    lines.push(&buf[..n], &mut within(&mut budget));
                }
            },
            _ = windows.tick() => budget.roll(std::time::Instant::now()),
        }
    }
    lines.finish(&mut within(&mut budget));
    budget.roll(std::time::Instant::now() + WINDOW);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]]) -> (Vec<(String, usize)>, usize) {
        let mut got = Vec::new();
        let mut lines = Lines::default();
        let mut most = 0;
        for chunk in chunks {
            lines.push(chunk, &mut |t: &str, n| got.push((t.to_string(), n)));
            most = most.max(lines.kept.capacity());
        }
        lines.finish(&mut |t: &str, n| got.push((t.to_string(), n)));
        (got, most)
    }

    #[test]
    fn lines_across_chunks_blank_lines_dropped_last_line_kept() {
        let (got, _) = lines(&[b"one\r\ntw", b"o\n\n", b"thr", b"ee"]);
        let got: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(got, ["one", "two", "three"]);
    }

    #[test]
    fn a_flood_of_lines_is_logged_within_the_budget() {
        let start = std::time::Instant::now();
        let mut budget = Budget::new(start);
        let allowed = (0..10_000).filter(|_| budget.allows(start)).count();
        assert_eq!(allowed, LINES_PER_WINDOW as usize);
        assert!(budget.allows(start + WINDOW), "a new window");
        assert_eq!(budget.skipped, 0);
    }

    #[test]
    fn an_endless_line_is_kept_bounded_and_counted() {
        let chunk = vec![b'x'; 64 * 1024];
        let mut chunks: Vec<&[u8]> = vec![&chunk; 1600];
        chunks.push(b"\nnext");
        let (got, most) = lines(&chunks);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0.len(), MAX_LINE);
        assert_eq!(got[0].1, 64 * 1024 * 1600);
        assert_eq!(got[1], ("next".to_string(), 4));
        assert!(most <= 2 * MAX_LINE, "{most} bytes held for one line");
    }
}
