//! `-master_regex`: a regular expression a master's name must match, beside
//! `-master_pattern`'s substring. Kept compiled; written and read as its pattern.

use std::fmt;

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A compiled `-master_regex`, or none (every name matches).
#[derive(Clone, Default)]
pub struct MasterRegex(Option<Regex>);

impl MasterRegex {
    /// Compiles `pattern`; an empty one matches every name.
    pub fn new(pattern: &str) -> Result<MasterRegex, regex::Error> {
        if pattern.is_empty() {
            return Ok(MasterRegex(None));
        }
        Regex::new(pattern).map(|r| MasterRegex(Some(r)))
    }

    /// Whether `name` matches (anywhere in it, as `regex` searches; anchor with `^…$`).
    pub fn is_match(&self, name: &str) -> bool {
        self.0.as_ref().is_none_or(|r| r.is_match(name))
    }

    /// The pattern, empty for none.
    pub fn as_str(&self) -> &str {
        self.0.as_ref().map_or("", Regex::as_str)
    }

    /// Whether there is no pattern.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

impl PartialEq for MasterRegex {
    fn eq(&self, other: &MasterRegex) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for MasterRegex {}

impl fmt::Debug for MasterRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl Serialize for MasterRegex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MasterRegex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<MasterRegex, D::Error> {
        let pattern = String::deserialize(d)?;
        MasterRegex::new(&pattern).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_by_search_and_round_trips() {
        let r = MasterRegex::new("^cache-[0-9]+$").unwrap();
        assert!(r.is_match("cache-12"));
        assert!(!r.is_match("cache-12x"));
        assert!(!r.is_match("xcache-1"));
        assert!(MasterRegex::default().is_match("anything"));
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<MasterRegex>(&json).unwrap(), r);
        assert!(serde_json::from_str::<MasterRegex>("\"(\"").is_err());
    }
}
