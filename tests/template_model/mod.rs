//! An independent model of an operator's nutcracker config, for the template property
//! test: pools with their keys, indentation and comments, and server entries each with
//! a host, port, weight, optional master name and quoting style. The model renders its
//! own text (with any address in each server entry), and says what serde_yaml must read
//! back from it; it knows nothing of tpc's parser.

use proptest::prelude::*;
use serde_yaml::Value;

/// Master names servers may carry (few, so that pools share masters).
pub const MASTERS: &[&str] = &["m0", "m1", "m2", "m3", "m4", "m5"];

/// Comments the generator sprinkles, UTF-8 and a commented-out server line among them.
const COMMENTS: &[&str] = &[
    "kept by Puppet",
    "café ☕ — ünïcödé",
    "- 10.9.9.9:6379:1 m0",
    "servers: [10.0.0.1:1:1 m1]",
    "",
];

/// Pool keys and their value as written (the listen port is the pool's own).
const KEYS: &[(&str, &str)] = &[
    ("listen", "127.0.0.1:{port}"),
    ("hash", "fnv1a_64"),
    ("distribution", "ketama"),
    ("redis", "true"),
    ("timeout", "400"),
    ("auto_eject_hosts", "false"),
    ("server_retry_timeout", "2000"),
];

/// How a scalar is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    Plain,
    Single,
    Double,
}

impl Quote {
    fn wrap(self, text: &str) -> String {
        match self {
            Quote::Plain => text.to_string(),
            Quote::Single => format!("'{text}'"),
            Quote::Double => format!("\"{text}\""),
        }
    }
}

/// One `servers:` entry.
#[derive(Debug, Clone)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub weight: u16,
    /// Index into [`MASTERS`]; none: a line tpc leaves alone.
    pub name: Option<usize>,
    pub quote: Quote,
    /// Spaces after the `-`.
    pub dash_spaces: usize,
    /// Index into [`COMMENTS`] of a comment ending the line.
    pub comment: Option<usize>,
}

impl Server {
    /// `host:port` as the template writes it.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    pub fn master(&self) -> Option<&'static str> {
        self.name.map(|n| MASTERS[n])
    }

    /// The entry as YAML reads it, with the address `addr`.
    pub fn entry(&self, addr: &str) -> String {
        match self.master() {
            Some(name) => format!("{addr}:{} {name}", self.weight),
            None => format!("{addr}:{}", self.weight),
        }
    }
}

/// One key of a pool.
#[derive(Debug, Clone)]
pub struct Key {
    pub key: &'static str,
    pub value: String,
    pub quote: Quote,
    pub comment: Option<usize>,
}

impl Key {
    /// The value serde_yaml reads.
    fn value(&self) -> Value {
        if self.quote != Quote::Plain {
            return Value::String(self.value.clone());
        }
        serde_yaml::from_str(&self.value).unwrap_or_else(|_| Value::String(self.value.clone()))
    }
}

/// One pool.
#[derive(Debug, Clone)]
pub struct Pool {
    pub name: String,
    /// Spaces before each key.
    pub indent: usize,
    /// Spaces before each `-`, beyond the key's.
    pub seq_indent: usize,
    /// A comment line before the pool.
    pub comment: Option<usize>,
    pub keys: Vec<Key>,
    /// How many keys come before `servers:`.
    pub servers_at: usize,
    pub servers: Vec<Server>,
}

/// A whole file.
#[derive(Debug, Clone)]
pub struct Model {
    pub header: Option<usize>,
    pub pools: Vec<Pool>,
    pub crlf: bool,
    pub final_newline: bool,
}

impl Model {
    /// The file, each server written with the address `addr(server)` gives.
    pub fn render(&self, mut addr: impl FnMut(&Server) -> String) -> String {
        let mut lines: Vec<String> = Vec::new();
        let comment = |c: usize| format!("# {}", COMMENTS[c]);
        if let Some(c) = self.header {
            lines.push(comment(c));
            lines.push(String::new());
        }
        for pool in &self.pools {
            if let Some(c) = pool.comment {
                lines.push(comment(c));
            }
            lines.push(format!("{}:", pool.name));
            let ind = " ".repeat(pool.indent);
            let key_line = |k: &Key| {
                let tail = k
                    .comment
                    .map_or(String::new(), |c| format!("   {}", comment(c)));
                format!("{ind}{}: {}{tail}", k.key, k.quote.wrap(&k.value))
            };
            let (before, after) = pool.keys.split_at(pool.servers_at.min(pool.keys.len()));
            lines.extend(before.iter().map(key_line));
            lines.push(format!("{ind}servers:"));
            for s in &pool.servers {
                let tail = s
                    .comment
                    .map_or(String::new(), |c| format!("  {}", comment(c)));
                lines.push(format!(
                    "{ind}{}-{}{}{tail}",
                    " ".repeat(pool.seq_indent),
                    " ".repeat(s.dash_spaces),
                    s.quote.wrap(&s.entry(&addr(s)))
                ));
            }
            lines.extend(after.iter().map(key_line));
            lines.push(String::new());
        }
        lines.pop();
        let eol = if self.crlf { "\r\n" } else { "\n" };
        let mut text = lines.join(eol);
        if self.final_newline {
            text.push_str(eol);
        }
        text
    }

    /// The file as serde_yaml must read it, each server at `addr(server)`: pool name to
    /// its keys, `servers` a list of entries.
    pub fn yaml(&self, mut addr: impl FnMut(&Server) -> String) -> Value {
        let mut file = serde_yaml::Mapping::new();
        for pool in &self.pools {
            let mut map = serde_yaml::Mapping::new();
            for k in &pool.keys {
                map.insert(k.key.into(), k.value());
            }
            let servers = pool
                .servers
                .iter()
                .map(|s| Value::String(s.entry(&addr(s))));
            map.insert("servers".into(), Value::Sequence(servers.collect()));
            file.insert(pool.name.clone().into(), Value::Mapping(map));
        }
        Value::Mapping(file)
    }

    /// Every server, in file order.
    pub fn servers(&self) -> impl Iterator<Item = &Server> {
        self.pools.iter().flat_map(|p| &p.servers)
    }
}

fn quote() -> impl Strategy<Value = Quote> {
    prop_oneof![3 => Just(Quote::Plain), 1 => Just(Quote::Single), 1 => Just(Quote::Double)]
}

fn comment() -> impl Strategy<Value = Option<usize>> {
    prop::option::weighted(0.25, 0..COMMENTS.len())
}

/// An IPv4 address or a hostname.
pub fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        (0..=255u8, 0..=255u8, 1..=254u8).prop_map(|(a, b, c)| format!("10.{a}.{b}.{c}")),
        "[a-z][a-z0-9-]{0,7}(\\.[a-z0-9]{1,6}){0,2}",
    ]
}

fn server() -> impl Strategy<Value = Server> {
    (
        host(),
        1..=65535u16,
        1..=100u16,
        prop::option::weighted(0.8, 0..MASTERS.len()),
        quote(),
        1..=3usize,
        comment(),
    )
        .prop_map(
            |(host, port, weight, name, quote, dash_spaces, comment)| Server {
                host,
                port,
                weight,
                name,
                quote,
                dash_spaces,
                comment,
            },
        )
}

fn pool(name: String, port: u16) -> impl Strategy<Value = Pool> {
    (
        2..=4usize,
        prop_oneof![Just(0usize), Just(2usize)],
        comment(),
        prop::collection::btree_map(0..KEYS.len(), (quote(), comment()), 0..=KEYS.len()),
        0..=KEYS.len(),
        prop::collection::vec(server(), 1..=5),
    )
        .prop_map(
            move |(indent, seq_indent, comment, keys, servers_at, servers)| Pool {
                name: name.clone(),
                indent,
                seq_indent,
                comment,
                keys: keys
                    .into_iter()
                    .map(|(k, (quote, comment))| Key {
                        key: KEYS[k].0,
                        value: KEYS[k].1.replace("{port}", &port.to_string()),
                        quote,
                        comment,
                    })
                    .collect(),
                servers_at,
                servers,
            },
        )
}

/// A file of one to four pools.
pub fn model() -> impl Strategy<Value = Model> {
    let names = prop::collection::btree_set("p[a-z]{0,5}", 1..=4);
    (
        names,
        comment(),
        any::<bool>(),
        any::<bool>(),
        20000..30000u16,
    )
        .prop_flat_map(|(names, header, crlf, final_newline, port)| {
            let pools: Vec<_> = names
                .into_iter()
                .enumerate()
                .map(|(i, n)| pool(n, port + i as u16))
                .collect();
            (pools, Just(header), Just(crlf), Just(final_newline))
        })
        .prop_map(|(pools, header, crlf, final_newline)| Model {
            header,
            pools,
            crlf,
            final_newline,
        })
}
