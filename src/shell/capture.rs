//! One output stream of a child process, kept bounded: its first and last [`KEEP`]
//! bytes and how many bytes it had in all. A command that prints gigabytes costs tpc at
//! most twice [`KEEP`] of memory per stream.

use std::collections::VecDeque;

/// Bytes kept at each end of a stream.
pub const KEEP: usize = 64 * 1024;

/// Longest line, in characters, that [`Captured::last_lines`] gives whole.
const LAST_LINE_CHARS: usize = 200;

/// The kept part of an output stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
}

impl Captured {
    /// Adds the next bytes of the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = KEEP - self.head.len();
        let (head, rest) = bytes.split_at(room.min(bytes.len()));
        self.head.extend_from_slice(head);
        // Only the last KEEP bytes of what does not fit the head can be kept.
        let rest = &rest[rest.len().saturating_sub(KEEP)..];
        self.tail.extend(rest);
        let excess = self.tail.len().saturating_sub(KEEP);
        self.tail.drain(..excess);
    }

    /// How many bytes the stream had.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// How many bytes are kept (at most twice [`KEEP`]).
    pub fn kept(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    /// The kept bytes as lines (invalid UTF-8 replaced, blank lines dropped), with a
    /// line saying how many bytes were left out between the two ends.
    pub fn lines(&self) -> Vec<String> {
        let left_out = self.total - self.kept() as u64;
        let tail: Vec<u8> = self.tail.iter().copied().collect();
        let mut lines = Vec::new();
        if left_out == 0 {
            push_lines(&mut lines, &[self.head.as_slice(), &tail].concat());
        } else {
            push_lines(&mut lines, &self.head);
            lines.push(format!("[{left_out} bytes left out]"));
            push_lines(&mut lines, &tail);
        }
        lines
    }

    /// The last `n` non-blank lines, each cut to a readable length: for error messages.
    pub fn last_lines(&self, n: usize) -> Vec<String> {
        let mut lines = self.lines();
        let lines = lines.split_off(lines.len().saturating_sub(n));
        lines
            .into_iter()
            .map(|line| match line.char_indices().nth(LAST_LINE_CHARS) {
                Some((cut, _)) => format!("{}…", &line[..cut]),
                None => line,
            })
            .collect()
    }
}

fn push_lines(lines: &mut Vec<String>, bytes: &[u8]) {
    lines.extend(
        String::from_utf8_lossy(bytes)
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .map(str::to_string),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_output_is_kept_whole_as_lines() {
        let mut c = Captured::default();
        c.push(b"one\n\ntw");
        c.push(b"o\r\nthree");
        assert_eq!(c.lines(), ["one", "two", "three"]);
        assert_eq!(c.last_lines(2), ["two", "three"]);
        assert_eq!(c.total(), 15);
    }

    #[test]
    fn long_output_keeps_both_ends_and_counts_the_rest() {
        let mut c = Captured::default();
        c.push(b"first\n");
        for _ in 0..1000 {
            c.push(&[b'x'; 10_000]);
        }
        c.push(b"\nlast\n");
        assert_eq!(c.total(), 6 + 10_000_000 + 6);
        assert_eq!(c.kept(), 2 * KEEP);
        let lines = c.lines();
        assert_eq!(lines[0], "first");
        assert_eq!(
            lines[2],
            format!("[{} bytes left out]", c.total() - 2 * KEEP as u64)
        );
        assert_eq!(lines.last().unwrap(), "last");
        let last = c.last_lines(2);
        assert_eq!(last[0].chars().count(), LAST_LINE_CHARS + 1);
        assert_eq!(last[1], "last");
    }

    #[test]
    fn one_huge_push_is_kept_bounded() {
        let mut c = Captured::default();
        let mut big = vec![b'a'; 3 * KEEP];
        big.extend_from_slice(b"\nend");
        c.push(&big);
        assert_eq!(c.kept(), 2 * KEEP);
        assert_eq!(c.last_lines(1), ["end"]);
    }
}
