//! Reading one master out of a `SENTINEL MASTERS` answer: a flat list of field names
//! and values (`name`, `ip`, `port`, `flags`, `config-epoch`, ...).

use std::fmt;

use crate::core::addr::{Addr, AddrError};
use crate::core::event::check_name;
use crate::core::replicas::ReplicaInfo;
use crate::core::topology::MasterInfo;

/// Why an entry of a `SENTINEL MASTERS` answer was not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotError {
    /// A field every master has is missing.
    MissingField(&'static str),
    /// The address is not valid.
    Addr(AddrError),
    /// The name cannot be a nutcracker server name.
    BadName(String),
    /// `config-epoch` is not a number.
    BadEpoch(String),
    /// A field is given twice.
    DuplicateField(String),
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::MissingField(field) => {
                write!(f, "master entry has no '{field}' field")
            }
            SnapshotError::Addr(e) => e.fmt(f),
            SnapshotError::BadName(n) => write!(
                f,
                "master name {n:?} cannot be a nutcracker server name (use 1 to 255 letters, digits, '.', '-' or '_')"
            ),
            SnapshotError::BadEpoch(e) => write!(f, "config-epoch {e:?} is not a number"),
            SnapshotError::DuplicateField(k) => {
                write!(f, "field {k:?} is given twice: the entry is not used")
            }
        }
    }
}

impl std::error::Error for SnapshotError {}

/// One entry's fields, borrowed from the answer and sorted by name for lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields<'a>(Vec<(&'a str, &'a str)>);

impl<'a> Fields<'a> {
    /// The value of field `key`, if the entry has it.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        let i = self.0.binary_search_by(|(k, _)| (*k).cmp(key)).ok()?;
        Some(self.0[i].1)
    }

    /// How many fields the entry has.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the entry has no field.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Reads a flat `[field, value, field, value, ...]` list; a trailing field without a
/// value is dropped. A field given twice makes the entry unusable: which of its values
/// is meant cannot be told (a liar could hide a second name or address).
pub fn pairs<S: AsRef<str>>(flat: &[S]) -> Result<Fields<'_>, SnapshotError> {
    let mut fields: Vec<(&str, &str)> = flat
        .chunks_exact(2)
        .map(|kv| (kv[0].as_ref(), kv[1].as_ref()))
        .collect();
    fields.sort_unstable_by(|a, b| a.0.cmp(b.0));
    if let Some(w) = fields.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(SnapshotError::DuplicateField(w[0].0.to_string()));
    }
    Ok(Fields(fields))
}

/// Reads one master's fields.
pub fn master_from_fields(fields: &Fields<'_>) -> Result<MasterInfo, SnapshotError> {
    let get = |k: &'static str| fields.get(k).ok_or(SnapshotError::MissingField(k));
    let name = get("name")?;
    let name = check_name(name).map_err(|_| SnapshotError::BadName(name.to_string()))?;
    let addr = Addr::parse_parts(get("ip")?, get("port")?).map_err(SnapshotError::Addr)?;
    let epoch = match fields.get("config-epoch") {
        None => None,
        Some(e) => Some(
            e.parse()
                .map_err(|_| SnapshotError::BadEpoch(e.to_string()))?,
        ),
    };
    Ok(MasterInfo { name, addr, epoch })
}

/// Reads one replica's fields from a `SENTINEL REPLICAS` answer. A replica is down
/// unless its flags say it is a replica (`slave`) and nothing worse (`s_down`, `o_down`,
/// `disconnected`), and its link to its master is `ok`: an entry that does not say so
/// is not trusted with reads.
pub fn replica_from_fields(fields: &Fields<'_>) -> Result<ReplicaInfo, SnapshotError> {
    let get = |k: &'static str| fields.get(k).ok_or(SnapshotError::MissingField(k));
    let addr = Addr::parse_parts(get("ip")?, get("port")?).map_err(SnapshotError::Addr)?;
    let flags: Vec<&str> = fields.get("flags").unwrap_or("").split(',').collect();
    let healthy = flags.contains(&"slave")
        && !flags
            .iter()
            .any(|f| matches!(*f, "s_down" | "o_down" | "disconnected" | "master"))
        && fields.get("master-link-status").is_some_and(|s| s == "ok");
    let priority = fields
        .get("slave-priority")
        .or_else(|| fields.get("replica-priority"))
        .and_then(|p| p.parse().ok())
        .unwrap_or(100);
    Ok(ReplicaInfo {
        addr,
        down: !healthy,
        priority,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat<'a>(words: &'a [&'a str]) -> Fields<'a> {
        pairs(words).unwrap()
    }

    #[test]
    fn reads_a_sentinel_masters_entry() {
        let m = master_from_fields(&flat(&[
            "name",
            "node-1",
            "ip",
            "127.0.0.1",
            "port",
            "6379",
            "runid",
            "abc",
            "flags",
            "master",
            "config-epoch",
            "3",
        ]))
        .unwrap();
        assert_eq!(m.name, "node-1");
        assert_eq!(m.addr.to_string(), "127.0.0.1:6379");
        assert_eq!(m.epoch, Some(3));
    }

    #[test]
    fn refuses_broken_entries() {
        assert_eq!(
            master_from_fields(&flat(&["name", "n", "ip", "1.1.1.1"])),
            Err(SnapshotError::MissingField("port"))
        );
        assert!(matches!(
            master_from_fields(&flat(&["name", "a b", "ip", "1.1.1.1", "port", "1"])),
            Err(SnapshotError::BadName(_))
        ));
        assert!(matches!(
            master_from_fields(&flat(&["name", "n", "ip", "1.1.1.1", "port", "0"])),
            Err(SnapshotError::Addr(_))
        ));
        assert!(matches!(
            master_from_fields(&flat(&[
                "name",
                "n",
                "ip",
                "h",
                "port",
                "1",
                "config-epoch",
                "x"
            ])),
            Err(SnapshotError::BadEpoch(_))
        ));
        assert_eq!(flat(&["a", "1", "dangling"]).len(), 1);
        let twice: Vec<String> = ["name", "a", "name", "b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            pairs(&twice),
            Err(SnapshotError::DuplicateField("name".into()))
        );
    }

    #[test]
    fn reads_a_sentinel_replicas_entry() {
        let replica = |words: &[&str]| replica_from_fields(&flat(words));
        let healthy = &[
            "name",
            "127.0.0.1:7002",
            "ip",
            "127.0.0.1",
            "port",
            "7002",
            "flags",
            "slave",
            "master-link-status",
            "ok",
            "slave-priority",
            "10",
        ];
        let r = replica(healthy).unwrap();
        assert_eq!(
            (r.addr.to_string(), r.down, r.priority),
            ("127.0.0.1:7002".into(), false, 10)
        );
        let mut sdown = healthy.to_vec();
        sdown[7] = "s_down,slave,disconnected";
        assert!(replica(&sdown).unwrap().down);
        let mut link = healthy.to_vec();
        link[9] = "err";
        assert!(replica(&link).unwrap().down);
        assert_eq!(replica(&healthy[..6]).unwrap().priority, 100);
        // An entry that does not say it is a healthy replica is down.
        assert!(
            replica(&healthy[..6]).unwrap().down,
            "no flags, no link status"
        );
        let mut master = healthy.to_vec();
        master[7] = "master";
        assert!(replica(&master).unwrap().down);
        assert_eq!(
            replica(&["ip", "127.0.0.1"]),
            Err(SnapshotError::MissingField("port"))
        );
    }
}
