//! Text from outside (sentinel channels and payloads, a command's output) as it may go
//! into a log line: control characters escaped, so it cannot forge a line or fill the
//! log with NULs, and long text cut short, so one huge payload is not a huge line.

use std::fmt;

/// How many characters of outside text a log line shows.
pub const MAX_SHOWN: usize = 256;

/// `text` for a log line; see the module doc.
pub fn shown(text: &str) -> Shown<'_> {
    Shown(text)
}

/// Outside text, displayed safely.
pub struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.chars().enumerate() {
            if i == MAX_SHOWN {
                return write!(f, "… ({} bytes in all)", self.0.len());
            }
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_long_text_cut() {
        assert_eq!(
            shown("a\nb\0c\u{1b}[31m").to_string(),
            "a\\nb\\u{0}c\\u{1b}[31m"
        );
        assert_eq!(shown("plain: é ✓").to_string(), "plain: é ✓");
        let long = "x".repeat(10_000);
        let s = shown(&long).to_string();
        assert!(s.starts_with(&"x".repeat(MAX_SHOWN)));
        assert!(s.ends_with("… (10000 bytes in all)"), "{s}");
    }
}
