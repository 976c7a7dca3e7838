//! The masters list for a dry run: one master a line, `name host:port`; blank lines and
//! lines starting with `#` are skipped.

use std::fmt;

use crate::core::event::check_name;
use crate::core::{Addr, MasterInfo};

/// A line of a masters list that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub why: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {} (expected `name host:port`)",
            self.line, self.why
        )
    }
}

impl std::error::Error for LineError {}

/// Reads a masters list.
pub fn parse(text: &str) -> Result<Vec<MasterInfo>, LineError> {
    let mut masters = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let err = |why: String| LineError { line: line_no, why };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let [name, addr] = words[..] else {
            return Err(err(format!("{} word(s)", words.len())));
        };
        masters.push(MasterInfo {
            name: check_name(name).map_err(|e| err(e.to_string()))?,
            addr: Addr::parse(addr).map_err(|e| err(e.to_string()))?,
            epoch: None,
        });
    }
    Ok(masters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_and_addresses() {
        let m = parse("# shard list\nnode-1 10.0.0.1:6379\n\n  node-2   10.0.0.2:6380 \n").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].name, "node-2");
        assert_eq!(m[1].addr.port, 6380);
    }

    #[test]
    fn says_which_line_is_wrong() {
        assert_eq!(parse("a 1.1.1.1:1\nb\n").unwrap_err().line, 2);
        let e = parse("a 1.1.1.1:99999").unwrap_err().to_string();
        assert!(e.starts_with("line 1: port \"99999\""), "{e}");
    }
}
