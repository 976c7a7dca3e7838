//! Rendering the nutcracker config of generate mode: one pool, the original tpc's keys
//! in its order (or the released binaries', under `-compat`), and the servers sorted by
//! master name as `ip:port:1 name`, with where each address sits in the text, so that a
//! failover patches it as it does a template's hole. Pure functions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Value};

use crate::core::addr::Addr;
use crate::core::patch::{spell_into, Span};
use crate::core::settings::{KeyOrder, PoolSettings};

/// The YAML shape of one pool, in the order keys are written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolYaml {
    /// `ip:port` nutcracker listens on.
    pub listen: String,
    /// Hash function.
    pub hash: String,
    /// Two-character hash tag, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_tag: Option<String>,
    /// Key distribution.
    pub distribution: String,
    /// Server timeout in milliseconds, when not -1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    /// Listen backlog.
    pub backlog: i64,
    /// Preconnect to servers.
    pub preconnect: bool,
    /// Always true: the pool speaks Redis.
    pub redis: bool,
    /// Password for the servers, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis_auth: Option<String>,
    /// Database number.
    pub redis_db: i64,
    /// Maximum client connections.
    pub client_connections: i64,
    /// Connections per server.
    pub server_connections: i64,
    /// Eject failing servers.
    pub auto_eject_hosts: bool,
    /// Retry delay for ejected servers, when not -1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_retry_timeout: Option<i64>,
    /// Failures before ejection, when not -1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_failure_limit: Option<i64>,
    /// `ip:port:weight name` lines, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<String>,
}

/// A whole config file: pool name to pool.
pub type ConfigYaml = BTreeMap<String, PoolYaml>;

fn unless_minus_one(v: i64) -> Option<i64> {
    (v != -1).then_some(v)
}

fn unless_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// The server line nutcracker reads for a master: `ip:port:1 name`.
pub struct ServerLine<'a>(pub &'a str, pub &'a Addr);

impl std::fmt::Display for ServerLine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:1 {}", self.1.host, self.1.port, self.0)
    }
}

/// The pool as it will be written, for these masters.
pub fn pool_yaml(pool: &PoolSettings, masters: &BTreeMap<String, Addr>) -> PoolYaml {
    PoolYaml {
        listen: format!("{}:{}", pool.ip, pool.port),
        hash: pool.hash.clone(),
        hash_tag: unless_empty(&pool.hash_tag),
        distribution: pool.distribution.clone(),
        timeout: unless_minus_one(pool.timeout),
        backlog: pool.backlog,
        preconnect: pool.preconnect,
        redis: true,
        redis_auth: unless_empty(pool.redis_auth.expose()),
        redis_db: pool.redis_db,
        client_connections: pool.client_connections,
        server_connections: pool.server_connections,
        auto_eject_hosts: pool.auto_eject_hosts,
        server_retry_timeout: unless_minus_one(pool.server_retry_timeout),
        server_failure_limit: unless_minus_one(pool.server_failure_limit),
        servers: masters
            .iter()
            .map(|(name, addr)| ServerLine(name, addr).to_string())
            .collect(),
    }
}

/// The released binaries' key order (DESIGN.md §2).
const RELEASED_ORDER: &[&str] = &[
    "listen",
    "hash",
    "hash_tag",
    "redis_auth",
    "distribution",
    "redis",
    "preconnect",
    "auto_eject_hosts",
    "server_retry_timeout",
    "server_failure_limit",
    "timeout",
    "backlog",
    "redis_db",
    "client_connections",
    "server_connections",
    "servers",
];

/// The keys of a mapping `value` in `order` (keys not in it are dropped).
fn in_order(value: Value, order: &[&str]) -> Value {
    let Value::Mapping(map) = value else {
        return value;
    };
    let ordered: Mapping = order
        .iter()
        .filter_map(|key| map.get(*key).map(|v| (Value::from(*key), v.clone())))
        .collect();
    Value::Mapping(ordered)
}

/// Renders configs for one pool. The pool's keys are rendered once, by serde_yaml (which
/// quotes whatever needs quoting); each config then only appends the server lines,
/// which are plain YAML words (names and hosts are checked before they get here), in
/// the block style serde_yaml itself writes.
#[derive(Clone, PartialEq, Eq)]
pub struct Renderer {
    /// The pool's keys, `redis_auth` included: never printed.
    head: String,
    /// The pool's name.
    pool: String,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer").finish_non_exhaustive()
    }
}

impl Renderer {
    /// A renderer for `pool`.
    pub fn new(pool: &PoolSettings) -> Renderer {
        let yaml = pool_yaml(pool, &BTreeMap::new());
        // Serializing plain strings, integers and booleans into a map cannot fail.
        let head = match pool.key_order {
            KeyOrder::Readme => {
                let mut file = ConfigYaml::new();
                file.insert(pool.name.clone(), yaml);
                serde_yaml::to_string(&file)
            }
            KeyOrder::Released => serde_yaml::to_value(&yaml).and_then(|value| {
                let mut file = Mapping::new();
                file.insert(pool.name.clone().into(), in_order(value, RELEASED_ORDER));
                serde_yaml::to_string(&file)
            }),
        }
        .expect("a config of strings and numbers always serializes");
        Renderer {
            head,
            pool: pool.name.clone(),
        }
    }

    /// The config for these masters (given sorted by name): the pool's keys, then one
    /// server line `ip:port:1 name` per master; and where each address sits in it.
    pub fn fill<'a>(
        &self,
        masters: impl IntoIterator<Item = (&'a String, &'a Addr)>,
    ) -> (String, Vec<Span>) {
        let masters = masters.into_iter();
        let lines = masters.size_hint().0;
        let mut text = String::with_capacity(self.head.len() + 12 + lines * 40);
        let mut spans = Vec::with_capacity(lines);
        text.push_str(&self.head);
        for (i, (name, addr)) in masters.enumerate() {
            if i == 0 {
                text.push_str("  servers:\n");
            }
            text.push_str("  - ");
            let start = text.len();
            spell_into(&mut text, addr);
            spans.push((start, text.len()));
            text.push_str(":1 ");
            text.push_str(name);
            text.push('\n');
        }
        (text, spans)
    }

    /// The pool with one placeholder server: what `nutcracker -t` checks once at start.
    /// Every config rendered after differs from it only in server lines of names and
    /// addresses tpc validated, which nutcracker takes as they are (DESIGN.md §10).
    pub fn frame(&self) -> String {
        let name = "tpc-frame-check".to_string();
        let addr = Addr {
            host: "127.0.0.1".to_string(),
            port: 6379,
        };
        self.render([(&name, &addr)])
    }

    /// The config file text for these masters, given sorted by name.
    pub fn render<'a>(&self, masters: impl IntoIterator<Item = (&'a String, &'a Addr)>) -> String {
        self.fill(masters).0
    }
}

/// Renders the config file text for these masters (sorted by name by the map).
pub fn render(pool: &PoolSettings, masters: &BTreeMap<String, Addr>) -> String {
    Renderer::new(pool).render(masters)
}

/// Parses a config file back, e.g. to check that rendering round-trips.
pub fn parse(text: &str) -> Result<ConfigYaml, serde_yaml::Error> {
    serde_yaml::from_str(text)
}

/// The masters named in a config's pool `pool_name`, read from its server lines
/// (`ip:port:weight name`); empty when the text is not such a config.
pub fn servers_of(text: &str, pool_name: &str) -> BTreeMap<String, Addr> {
    let Ok(file) = parse(text) else {
        return BTreeMap::new();
    };
    let Some(pool) = file.get(pool_name) else {
        return BTreeMap::new();
    };
    pool.servers
        .iter()
        .filter_map(|line| {
            let (addr_weight, name) = line.split_once(' ')?;
            let (addr, _weight) = addr_weight.rsplit_once(':')?;
            Some((name.to_string(), Addr::parse(addr).ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masters(list: &[(&str, &str, u16)]) -> BTreeMap<String, Addr> {
        list.iter()
            .map(|(n, h, p)| {
                (
                    n.to_string(),
                    Addr {
                        host: h.to_string(),
                        port: *p,
                    },
                )
            })
            .collect()
    }

    /// The whole file through serde_yaml, as a reference for [`Renderer`].
    fn render_by_serde(pool: &PoolSettings, masters: &BTreeMap<String, Addr>) -> String {
        let mut file = ConfigYaml::new();
        file.insert(pool.name.clone(), pool_yaml(pool, masters));
        serde_yaml::to_string(&file).unwrap()
    }

    proptest::proptest! {
        #![proptest_config(crate::testing::proptest_config::config(256, None))]

        #[test]
        fn renderer_writes_what_serde_yaml_writes(
            names in proptest::collection::btree_set("[A-Za-z0-9._-]{1,12}", 0..6),
            host in "[A-Za-z0-9:][A-Za-z0-9._:-]{0,20}",
            port in 1u16..,
            pool_name in "\\PC{1,10}",
            auth in "\\PC{0,10}",
        ) {
            let pool = PoolSettings { name: pool_name, redis_auth: auth.into(), ..PoolSettings::default() };
            let m: BTreeMap<String, Addr> = names
                .into_iter()
                .map(|n| (n, Addr { host: host.clone(), port }))
                .collect();
            proptest::prop_assert_eq!(render(&pool, &m), render_by_serde(&pool, &m));
        }
    }

    #[test]
    fn defaults_as_the_original() {
        let text = render(
            &PoolSettings::default(),
            &masters(&[("node-2", "10.0.0.2", 6379), ("node-1", "10.0.0.1", 6379)]),
        );
        crate::testing::snapshots().bind(|| insta::assert_snapshot!(text));
    }

    #[test]
    fn minus_one_omits_and_strings_are_quoted() {
        let pool = PoolSettings {
            name: "cache".into(),
            ip: "127.0.0.1".into(),
            port: 22121,
            hash: "murmur".into(),
            hash_tag: "{}".into(),
            distribution: "modula".into(),
            timeout: -1,
            backlog: 1024,
            redis_auth: "s3cr#t: x".into(),
            redis_db: 3,
            client_connections: 100,
            server_connections: 2,
            preconnect: true,
            auto_eject_hosts: false,
            server_retry_timeout: -1,
            server_failure_limit: -1,
            key_order: KeyOrder::Readme,
        };
        let m = masters(&[("a", "::1", 7000)]);
        let text = render(&pool, &m);
        crate::testing::snapshots().bind(|| insta::assert_snapshot!(text));
        let back = parse(&text).unwrap();
        assert_eq!(back["cache"], pool_yaml(&pool, &m));
        assert_eq!(servers_of(&text, "cache"), m);
        assert!(servers_of(&text, "other").is_empty());
        assert!(servers_of("not: [yaml", "cache").is_empty());
    }
}
