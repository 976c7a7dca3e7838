//! Settings that shape the core's decisions: the nutcracker pool to render (or the
//! operator's template to keep), the master filters and the minimum wait between
//! reloads. Built and validated by the CLI in the shell; the core takes them as given.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::core::filter::MasterRegex;
use crate::core::secret::Secret;
use crate::core::template::Template;
use crate::core::time::Millis;

/// Hash functions twemproxy 0.5.0 accepts for `hash`.
pub const HASHES: &[&str] = &[
    "one_at_a_time",
    "md5",
    "crc16",
    "crc32",
    "crc32a",
    "fnv1_64",
    "fnv1a_64",
    "fnv1_32",
    "fnv1a_32",
    "hsieh",
    "murmur",
    "jenkins",
];

/// Key distributions twemproxy 0.5.0 accepts for `distribution`.
pub const DISTRIBUTIONS: &[&str] = &["ketama", "modula", "random"];

/// The order of the pool's keys in the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyOrder {
    /// The original's README's (and tpc's) order.
    #[default]
    Readme,
    /// The released binaries' (0.1.5 to 0.1.8) order (DESIGN.md §2).
    Released,
}

/// One nutcracker pool, exactly the keys the original tpc wrote.
///
/// A value of `-1` for `timeout`, `server_retry_timeout` or `server_failure_limit` omits
/// the key from the file, as the original did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolSettings {
    /// Pool name: the top-level key of the YAML file.
    pub name: String,
    /// Address nutcracker listens on.
    pub ip: String,
    /// Port nutcracker listens on.
    pub port: u16,
    /// Hash function, one of [`HASHES`].
    pub hash: String,
    /// Two-character hash tag, or empty for none.
    pub hash_tag: String,
    /// Key distribution, one of [`DISTRIBUTIONS`].
    pub distribution: String,
    /// Server timeout in milliseconds; -1 omits it.
    pub timeout: i64,
    /// TCP listen backlog.
    pub backlog: i64,
    /// Password nutcracker sends to every Redis server; empty for none. Never
    /// serialized, so a recording's header holds no trace of it.
    #[serde(skip_serializing)]
    pub redis_auth: Secret,
    /// Database number nutcracker selects on every Redis server.
    pub redis_db: i64,
    /// Maximum client connections (ignored by nutcracker 0.5.0, kept for compatibility).
    pub client_connections: i64,
    /// Maximum connections to each server.
    pub server_connections: i64,
    /// Connect to every server when nutcracker starts.
    pub preconnect: bool,
    /// Eject a server temporarily after `server_failure_limit` failures.
    pub auto_eject_hosts: bool,
    /// Milliseconds before an ejected server is retried; -1 omits it.
    pub server_retry_timeout: i64,
    /// Consecutive failures before ejection; -1 omits it.
    pub server_failure_limit: i64,
    /// The order of the keys in the file.
    pub key_order: KeyOrder,
}

impl Default for PoolSettings {
    /// The original tpc's defaults.
    fn default() -> Self {
        PoolSettings {
            name: "redis".into(),
            ip: "0.0.0.0".into(),
            port: 9000,
            hash: "fnv1a_64".into(),
            hash_tag: String::new(),
            distribution: "ketama".into(),
            timeout: 400,
            backlog: 512,
            redis_auth: Secret::default(),
            redis_db: 0,
            client_connections: 16384,
            server_connections: 1,
            preconnect: false,
            auto_eject_hosts: true,
            server_retry_timeout: 30000,
            server_failure_limit: 3,
            key_order: KeyOrder::Readme,
        }
    }
}

/// Everything the core needs to decide what to write and when to reload.
///
/// In a recording's header every field may be left out, taking the original's default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoreSettings {
    /// The pool rendered into the config.
    pub pool: PoolSettings,
    /// Keep only masters whose name contains this string; empty keeps all.
    pub master_pattern: String,
    /// Keep only masters whose name matches this regular expression; empty keeps all.
    #[serde(skip_serializing_if = "MasterRegex::is_empty")]
    pub master_regex: MasterRegex,
    /// The operator's config whose server addresses tpc keeps (template mode); none
    /// renders `pool` (generate mode). Written without its `redis_auth`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
    /// In template mode, the pools whose servers follow a healthy replica of their
    /// master rather than the master.
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub replica_pools: BTreeSet<String>,
    /// In template mode, a server no sentinel knows at start stops tpc.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub strict: bool,
    /// Minimum time between two reload commands.
    pub wait: Millis,
    /// How often to query every sentinel to correct any drift; zero never does (the
    /// original's behaviour, and the default of a recording's header).
    pub reconcile: Millis,
    /// How long one sentinel's higher config epoch, or a pub/sub switch, is believed
    /// without a majority of the reachable sentinels agreeing (DESIGN.md §4).
    pub confirm_grace: Millis,
    /// At start, how long after the first answer to wait for the other sentinels before
    /// touching the config.
    pub start_grace: Millis,
    /// How many sentinels tpc links to; start-up ends early once each has answered or
    /// is down. Zero: every sentinel heard of.
    pub sentinels: usize,
}

impl Default for CoreSettings {
    fn default() -> Self {
        CoreSettings {
            pool: PoolSettings::default(),
            master_pattern: String::new(),
            master_regex: MasterRegex::default(),
            template: None,
            replica_pools: BTreeSet::new(),
            strict: false,
            wait: Millis::from_secs(60),
            reconcile: Millis::ZERO,
            confirm_grace: Millis::from_secs(5),
            start_grace: Millis::from_secs(1),
            sentinels: 0,
        }
    }
}

impl CoreSettings {
    /// Whether a master with this name passes the `-master_pattern` and
    /// `-master_regex` filters.
    pub fn wants(&self, master: &str) -> bool {
        master.contains(&self.master_pattern) && self.master_regex.is_match(master)
    }
}
