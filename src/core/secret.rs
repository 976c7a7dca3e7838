//! A secret (a password or a token): it hides itself in `Debug` and `Display`, cannot be
//! serialized, and gives its value only through [`Secret::expose`], so that every place
//! that sends it somewhere says so.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// What `Debug` and `Display` print instead of a secret's value.
const HIDDEN: &str = "<redacted>";

/// A secret value; empty means none. It implements no `Serialize`: a struct that holds
/// one must leave it out (`#[serde(skip_serializing)]`), so it never reaches a
/// recording.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that must send it (the config file, an
    /// `Authorization` header, `AUTH`).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether there is no secret.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            f.write_str("Secret(none)")
        } else {
            write!(f, "Secret({HIDDEN})")
        }
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_empty() { "" } else { HIDDEN })
    }
}

/// Read from a hand-written recording's header, whose settings may give `redis_auth`.
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_itself_and_exposes_on_request() {
        let s = Secret::new("hunter2");
        assert_eq!(
            format!("{s:?} {s} {s:#?}"),
            "Secret(<redacted>) <redacted> Secret(<redacted>)"
        );
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(format!("{:?}", Secret::default()), "Secret(none)");
        let read: Secret = serde_json::from_str("\"hunter2\"").unwrap();
        assert_eq!(read, s);
    }
}
