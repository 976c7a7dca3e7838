//! The one flag table: every flag's name, aliases, kind, default, help text, how it sets
//! the raw arguments and how it overrides a recording's settings in replay. Parsing
//! ([`super::goflags`]), help ([`super::help`]), error messages, replay overrides
//! ([`super::validate::apply_overrides`]) and the README's flag table all read it.
//!
//! The work divides so: this table (with [`super::goflags`]) owns the Go-style command
//! line (`-flag value`, `-flag=value`, Go booleans), defaults and help; argh parses the
//! typed values ([`argh::FromArgValue`]), so a number reads as argh reads it everywhere.

use argh::FromArgValue;

use crate::core::settings::CoreSettings;

use super::args::RawArgs;
use super::compat;
use super::goflags::parse_go_bool;

/// How a flag takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Takes the next argument (or the text after `=`); the text names the value in help
    /// (`int`, `string`, `seconds`, ...).
    Value(&'static str),
    /// A Go boolean: alone means true, `=false` switches it off.
    Bool,
    /// No value at all (`-version`).
    Switch,
}

/// What a flag does to `tpc replay`.
#[derive(Debug, Clone, Copy)]
pub enum Replay {
    /// Given to replay, it overrides the recording's setting: copies it from the flags'
    /// settings (second) into the recording's (first).
    Override(fn(&mut CoreSettings, &CoreSettings)),
    /// One of replay's own inputs (what to read, how to print).
    Input,
    /// The daemon's only: replay accepts it and ignores it.
    Daemon,
}

/// Where a flag comes from, for the README and the migration notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// In the original's README.
    Original,
    /// In the released binaries from this version.
    Release(&'static str),
    /// tpc's own.
    New,
}

/// A flag tpc accepts.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    /// Name as written after the dash(es), e.g. `master_pattern`.
    pub name: &'static str,
    /// Other names for the same flag.
    pub aliases: &'static [&'static str],
    /// How it takes a value.
    pub kind: Kind,
    /// Its default, as given on a command line; empty for none.
    pub default: &'static str,
    /// One sentence for `-h` and the README.
    pub help: &'static str,
    /// Where it comes from.
    pub since: Since,
    /// Sets the raw arguments from a value; the error says what is expected.
    pub set: fn(&mut RawArgs, &str) -> Result<(), String>,
    /// What it does to replay.
    pub replay: Replay,
    /// A value other than the default that tpc accepts, for tests that walk the table.
    pub example: &'static str,
}

/// How the help of every flag that shapes the generated pool begins.
const POOL_HELP: &str = "Twemproxy: ";

impl Flag {
    /// Whether this flag shapes the pool tpc generates (`-name`, `-port`, `-redis_auth`,
    /// ...): its help says `Twemproxy:`. Template mode takes these from the template.
    pub fn shapes_the_pool(&self) -> bool {
        self.help.starts_with(POOL_HELP)
    }

    /// Whether `name` (underscores) names this flag.
    pub fn is_named(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }
}

/// The flag named `name` (or one of its aliases).
pub fn lookup(name: &str) -> Option<&'static Flag> {
    FLAGS.iter().find(|f| f.is_named(name))
}

fn int(text: &str) -> Result<i64, String> {
    i64::from_arg_value(text).map_err(|_| "a whole number is expected, e.g. 10".to_string())
}

/// A whole number of a unit; a value written with a unit (`5s`) says which unit is meant.
fn whole(text: &str, unit: &str) -> Result<i64, String> {
    i64::from_arg_value(text).map_err(|_| {
        let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        if !digits.is_empty() && digits.len() < text.len() && int(digits).is_ok() {
            format!("a whole number of {unit} is expected, without a unit ({digits}, not {text})")
        } else {
            format!("a whole number of {unit} is expected, e.g. 10")
        }
    })
}

fn secs(text: &str) -> Result<i64, String> {
    whole(text, "seconds")
}

fn millis(text: &str) -> Result<i64, String> {
    whole(text, "milliseconds")
}

fn text(text: &str) -> Result<String, String> {
    Ok(text.to_string())
}

fn some(text: &str) -> Result<Option<String>, String> {
    Ok(Some(text.to_string()))
}

fn boolean(text: &str) -> Result<bool, String> {
    parse_go_bool(text)
}

/// A table row: `flag!(name, kind, default, since, replay, example, help, |raw, v| ...)`.
macro_rules! flag {
    ($name:literal $(| $alias:literal)*, $kind:expr, $default:expr, $since:expr,
     $replay:expr, $example:literal, $help:literal, $field:ident = $parse:ident) => {
        Flag {
            name: $name,
            aliases: &[$($alias),*],
            kind: $kind,
            default: $default,
            help: $help,
            since: $since,
            set: |raw, v| {
                raw.$field = $parse(v)?;
                Ok(())
            },
            replay: $replay,
            example: $example,
        }
    };
}

use Kind::{Bool, Switch, Value};
use Replay::{Daemon, Input, Override};
use Since::{New, Original, Release};

const INT: Kind = Value("int");
const STRING: Kind = Value("string");
const SECONDS: Kind = Value("seconds");
const MS: Kind = Value("ms");
const FILE: Kind = Value("file");

/// Every flag tpc accepts, in the order help lists them.
pub const FLAGS: &[Flag] =
    &[
        flag!(
            "sentinels",
            Value("host:port,..."),
            "",
            Original,
            Override(|b, f| b.sentinels = f.sentinels),
            ":26379",
            "CSV of host:port of the redis sentinels (\":26379\" means localhost); at least one",
            sentinels = text
        ),
        flag!(
            "out",
            FILE,
            "",
            Original,
            Daemon,
            "nutcracker.yml",
            "File to write the configuration to; STDOUT when empty",
            out = text
        ),
        flag!(
            "cmd",
            STRING,
            super::DEFAULT_CMD,
            Original,
            Daemon,
            "true",
            "Command run after the config changed, split like a shell would but run without one \
         (stock nutcracker ignores the default's SIGUSR1)",
            cmd = text
        ),
        flag!(
            "cmd_timeout",
            SECONDS,
            "30",
            New,
            Daemon,
            "5",
            "Seconds the command may run before it is killed and counted as failed",
            cmd_timeout = secs
        ),
        flag!(
            "supervise",
            Bool,
            "false",
            New,
            Daemon,
            "true",
            "Run nutcracker as tpc's child, its command line after --: a reload restarts it, and \
         it is restarted when it dies (stock twemproxy cannot reload); needs -out, the same \
         file as the child's -c, and no -cmd",
            supervise = boolean
        ),
        flag!(
            "wait",
            SECONDS,
            "60",
            Original,
            Override(|b, f| b.wait = f.wait),
            "5",
            "Minimum number of seconds between command runs",
            wait = secs
        ),
        flag!(
            "log",
            FILE,
            "",
            Original,
            Daemon,
            "tpc.log",
            "Log file (appended); STDOUT when empty, STDERR when the config goes to STDOUT",
            log = text
        ),
        flag!(
            "log_format",
            STRING,
            "text",
            New,
            Daemon,
            "json",
            "Log lines as text, or as json (one object a line, for log shippers); RUST_LOG \
         sets the level, e.g. RUST_LOG=debug for every sentinel event",
            log_format = text
        ),
        flag!(
            "master_pattern",
            STRING,
            "",
            Original,
            Override(|b, f| b.master_pattern = f.master_pattern.clone()),
            "node",
            "Keep only the masters whose name contains this",
            master_pattern = text
        ),
        flag!(
            "master_regex",
            STRING,
            "",
            New,
            Override(|b, f| b.master_regex = f.master_regex.clone()),
            "^node-[0-9]+$",
            "Keep only the masters whose name matches this regular expression (searched \
         anywhere in the name: anchor it with ^ and $), besides -master_pattern",
            master_regex = text
        ),
        flag!(
            "template",
            FILE,
            "",
            New,
            Override(|b, f| b.template = f.template.clone()),
            "examples/nutcracker.yml",
            "Template mode: keep this nutcracker config (any pools and keys), changing only the \
         host:port of each server line \"host:port:weight name\" to the current address of the \
         master called name, and write it to -out, which may be this file",
            template = text
        ),
        flag!(
            "replica_pools",
            Value("pool,..."),
            "",
            New,
            Override(|b, f| b.replica_pools = f.replica_pools.clone()),
            "cache",
            "Template mode: CSV of pools whose servers follow a healthy replica of the master \
         they are named after (lowest slave-priority, then address), or the master while none \
         is healthy",
            replica_pools = text
        ),
        flag!(
            "strict",
            Bool,
            "false",
            New,
            Override(|b, f| b.strict = f.strict),
            "true",
            "Template mode: stop at start when a server line has no name tpc can follow, or no \
         sentinel knows its master",
            strict = boolean
        ),
        flag!(
            "masters",
            FILE,
            "",
            New,
            Input,
            "examples/masters.txt",
            "Dry run: render the config for the masters in this file (lines \"name host:port\") \
         and exit, connecting to no sentinel; in replay, the masters at the start",
            masters = some
        ),
        flag!(
            "name",
            STRING,
            "redis",
            Original,
            Override(|b, f| b.pool.name = f.pool.name.clone()),
            "cache",
            "Twemproxy: name of the pool",
            name = text
        ),
        flag!(
            "ip",
            STRING,
            "0.0.0.0",
            Original,
            Override(|b, f| b.pool.ip = f.pool.ip.clone()),
            "127.0.0.1",
            "Twemproxy: address the pool listens on",
            ip = text
        ),
        flag!(
            "port",
            INT,
            "9000",
            Original,
            Override(|b, f| b.pool.port = f.pool.port),
            "22121",
            "Twemproxy: port the pool listens on",
            port = int
        ),
        flag!(
            "hash",
            STRING,
            "fnv1a_64",
            Original,
            Override(|b, f| b.pool.hash = f.pool.hash.clone()),
            "murmur",
            "Twemproxy: hash algorithm",
            hash = text
        ),
        flag!("has_tag", STRING, "", Original,
        Override(|b, f| b.pool.hash_tag = f.pool.hash_tag.clone()), "{}",
        "Twemproxy: two bytes that delimit the part of the key that is hashed, e.g. '{}' or '$$' \
         (the original's spelling)",
        has_tag = some),
        flag!(
            "hash_tag",
            STRING,
            "",
            New,
            Override(|b, f| b.pool.hash_tag = f.pool.hash_tag.clone()),
            "$$",
            "Twemproxy: the same as -has_tag, correctly spelt",
            hash_tag = some
        ),
        flag!(
            "distribution",
            STRING,
            "ketama",
            Original,
            Override(|b, f| b.pool.distribution = f.pool.distribution.clone()),
            "modula",
            "Twemproxy: key distribution: ketama, modula or random",
            distribution = text
        ),
        flag!(
            "timeout",
            MS,
            "400",
            Original,
            Override(|b, f| b.pool.timeout = f.pool.timeout),
            "1000",
            "Twemproxy: msec to connect to or hear from a server; -1 leaves it out",
            timeout = int
        ),
        flag!(
            "backlog",
            INT,
            "512",
            Original,
            Override(|b, f| b.pool.backlog = f.pool.backlog),
            "1024",
            "Twemproxy: TCP listen backlog",
            backlog = int
        ),
        flag!("redis_auth", STRING, "", Original,
        Override(|b, f| b.pool.redis_auth = f.pool.redis_auth.clone()), "s3cret",
        "Twemproxy: password sent to the redis servers; visible in ps, so prefer -redis_auth_file \
         or TPC_REDIS_AUTH",
        redis_auth = text),
        flag!(
            "redis_auth_file",
            FILE,
            "",
            New,
            Override(|b, f| b.pool.redis_auth = f.pool.redis_auth.clone()),
            "Cargo.toml",
            "Twemproxy: file holding the redis_auth password",
            redis_auth_file = some
        ),
        flag!(
            "redis_db",
            INT,
            "0",
            Original,
            Override(|b, f| b.pool.redis_db = f.pool.redis_db),
            "5",
            "Twemproxy: DB number on the redis servers (clients always see DB 0)",
            redis_db = int
        ),
        flag!(
            "client_connections",
            INT,
            "16384",
            Original,
            Override(|b, f| b.pool.client_connections = f.pool.client_connections),
            "100",
            "Twemproxy: maximum number of client connections",
            client_connections = int
        ),
        flag!(
            "server_connections",
            INT,
            "1",
            Original,
            Override(|b, f| b.pool.server_connections = f.pool.server_connections),
            "4",
            "Twemproxy: maximum number of connections to each server",
            server_connections = int
        ),
        flag!(
            "preconnect",
            Bool,
            "false",
            Original,
            Override(|b, f| b.pool.preconnect = f.pool.preconnect),
            "true",
            "Twemproxy: connect to every server when nutcracker starts",
            preconnect = boolean
        ),
        flag!(
            "auto_eject_hosts",
            Bool,
            "true",
            Original,
            Override(|b, f| b.pool.auto_eject_hosts = f.pool.auto_eject_hosts),
            "false",
            "Twemproxy: eject a server for a while after server_failure_limit failures in a row \
         (switch off with -auto_eject_hosts=false)",
            auto_eject_hosts = boolean
        ),
        flag!(
            "server_retry_timeout",
            MS,
            "30000",
            Original,
            Override(|b, f| b.pool.server_retry_timeout = f.pool.server_retry_timeout),
            "500",
            "Twemproxy: msec before an ejected server is retried; -1 leaves it out",
            server_retry_timeout = int
        ),
        flag!(
            "server_failure_limit",
            INT,
            "3",
            Original,
            Override(|b, f| b.pool.server_failure_limit = f.pool.server_failure_limit),
            "10",
            "Twemproxy: failures in a row before a server is ejected; -1 leaves it out",
            server_failure_limit = int
        ),
        flag!(
            "token",
            STRING,
            "",
            Original,
            Daemon,
            "xoxb-1",
            "Slack: API token for notifications; visible in ps, so prefer -token_file or \
         TPC_SLACK_TOKEN",
            token = text
        ),
        flag!(
            "token_file",
            FILE,
            "",
            New,
            Daemon,
            "Cargo.toml",
            "Slack: file holding the API token",
            token_file = some
        ),
        flag!(
            "channel",
            STRING,
            "#incidents",
            Original,
            Daemon,
            "#ops",
            "Slack: channel for notifications",
            channel = text
        ),
        flag!(
            "username",
            STRING,
            "",
            Original,
            Daemon,
            "tpc",
            "Slack: username for notifications",
            username = text
        ),
        flag!(
            "icon_emoji",
            STRING,
            "",
            Original,
            Daemon,
            ":robot:",
            "Slack: icon emoji for notifications",
            icon_emoji = text
        ),
        flag!(
            "slack_url",
            Value("url"),
            "https://slack.com/api",
            New,
            Daemon,
            "http://127.0.0.1:1/api",
            "Slack: Web API base URL, http or https",
            slack_url = text
        ),
        flag!(
            "webhook",
            Value("url"),
            "",
            New,
            Daemon,
            "http://127.0.0.1:1/hook",
            "Webhook: also POST each notification to this http(s) URL as JSON; visible in ps, so \
         prefer -webhook_file or TPC_WEBHOOK_URL",
            webhook = text
        ),
        flag!(
            "webhook_file",
            FILE,
            "",
            New,
            Daemon,
            "examples/webhook_url.txt",
            "Webhook: file holding the URL",
            webhook_file = some
        ),
        flag!(
            "webhook_format",
            STRING,
            "json",
            New,
            Daemon,
            "slack",
            "Webhook: json (event, master, old and new address, time, host, version) or slack \
         (a Slack or Mattermost incoming-webhook body)",
            webhook_format = text
        ),
        flag!(
            "record",
            FILE,
            "",
            New,
            Daemon,
            "rec.jsonl",
            "Record every input the core sees to this file (JSON Lines), for tpc replay; an \
         existing recording is kept as FILE.1",
            record = some
        ),
        flag!(
            "reconcile_interval",
            SECONDS,
            "30",
            New,
            Override(|b, f| b.reconcile = f.reconcile),
            "7",
            "Seconds between queries of every sentinel that correct any drift; 0 never",
            reconcile_interval = secs
        ),
        flag!(
            "start_grace_ms",
            MS,
            "1000",
            New,
            Override(|b, f| b.start_grace = f.start_grace),
            "10",
            "At start, msec to wait for the other sentinels after the first answered",
            start_grace_ms = millis
        ),
        flag!("confirm_grace_ms", MS, "5000", New,
        Override(|b, f| b.confirm_grace = f.confirm_grace), "10",
        "Msec one sentinel's newer epoch, or a pub/sub switch, is believed before the majority \
         must confirm it",
        confirm_grace_ms = millis),
        flag!(
            "nutcracker",
            FILE,
            "",
            New,
            Daemon,
            "/usr/sbin/nutcracker",
            "Nutcracker binary for the nutcracker -t check at start (default: found on PATH)",
            nutcracker = some
        ),
        flag!(
            "validate",
            Bool,
            "true",
            New,
            Daemon,
            "false",
            "Check with nutcracker -t, once at start, the template or the pool the flags make; every config written after is that with server lines tpc validates",
            validate = boolean
        ),
        flag!(
            "sentinel_username",
            STRING,
            "",
            New,
            Daemon,
            "tpc",
            "Sentinel: ACL user name",
            sentinel_username = some
        ),
        flag!(
            "sentinel_password",
            STRING,
            "",
            New,
            Daemon,
            "pw",
            "Sentinel: password; visible in ps, so prefer -sentinel_password_file or \
         TPC_SENTINEL_PASSWORD",
            sentinel_password = some
        ),
        flag!(
            "sentinel_password_file",
            FILE,
            "",
            New,
            Daemon,
            "Cargo.toml",
            "Sentinel: file holding the password",
            sentinel_password_file = some
        ),
        flag!(
            "sentinel_tls",
            Bool,
            "false",
            New,
            Daemon,
            "true",
            "Sentinel: speak TLS to the sentinels",
            sentinel_tls = boolean
        ),
        flag!(
            "sentinel_ca",
            FILE,
            "",
            New,
            Daemon,
            "Cargo.toml",
            "Sentinel: PEM file of the CA that signed the sentinels' certificates (default: the \
         system's)",
            sentinel_ca = some
        ),
        flag!(
            "sentinel_timeout",
            SECONDS,
            "30",
            New,
            Daemon,
            "2",
            "Sentinel: seconds a sentinel may take to accept a connection or answer before its \
         link is reset",
            sentinel_timeout = secs
        ),
        flag!("backup", Value("dir"), "", Release("0.1.7"), Daemon, ".",
        "Also save every written config as DIR/backup-YYYYMMDDhhmmss (UTC); a failed backup is \
         logged and never blocks the write",
        backup = text),
        flag!(
            "backup_keep",
            INT,
            "0",
            New,
            Daemon,
            "3",
            "Keep only this many backups in -backup's folder, removing the oldest; 0 keeps all",
            backup_keep = int
        ),
        flag!(
            "listen_address",
            Value("host:port"),
            ":9298",
            Release("0.1.5"),
            Daemon,
            "127.0.0.1:9100",
            "Address to serve Prometheus metrics (at -telemetry_path), /healthz and /readyz on; \
         no host means every address; none when empty",
            listen_address = text
        ),
        flag!(
            "telemetry_path",
            STRING,
            "/metrics",
            Release("0.1.5"),
            Daemon,
            "/m",
            "Path under -listen_address that serves the metrics",
            telemetry_path = text
        ),
        flag!(
            "compat",
            Value("version"),
            "",
            New,
            Override(compat::override_core),
            "0.1.8",
            "Take the defaults and key order of this released version (0.1.5 to 0.1.8)",
            compat = some
        ),
        flag!(
            "sentinel_log",
            FILE,
            "",
            New,
            Input,
            "s.log",
            "Replay: read this redis-sentinel log instead of a recording",
            sentinel_log = some
        ),
        flag!(
            "expect",
            FILE,
            "",
            New,
            Input,
            "f.expected",
            "Replay: compare what tpc does with this file (as tpc replay prints it); exit 1 with \
         a diff when it differs",
            expect = some
        ),
        flag!(
            "bless",
            Bool,
            "false",
            New,
            Input,
            "true",
            "Replay -expect and tpc test: write the expected file(s) from what tpc does now \
         instead of comparing",
            bless = boolean
        ),
        flag!(
            "format",
            STRING,
            "text",
            New,
            Input,
            "json",
            "Replay: timeline format, text or json",
            format = text
        ),
        flag!(
            "clock",
            STRING,
            "relative",
            New,
            Input,
            "wall",
            "Replay: timeline times, relative (+seconds since the start) or wall (the recording's or the log's own clock)",
            clock = text
        ),
        flag!(
            "log_year",
            INT,
            "",
            New,
            Input,
            "2024",
            "Replay: the year a sentinel log starts in, for lines that carry none (Redis before 5.0, syslog); default: the year the file was last modified",
            log_year = some
        ),
        Flag {
            name: "version",
            aliases: &["v"],
            kind: Switch,
            default: "",
            help: "Print the version and exit",
            since: Release("0.1.5"),
            set: |raw, _| {
                raw.version = true;
                Ok(())
            },
            replay: Daemon,
            example: "",
        },
    ];

/// The raw arguments with every default: the table's, then `release`'s.
pub fn defaults(release: Option<&compat::Release>) -> RawArgs {
    let mut raw = RawArgs::default();
    for flag in FLAGS.iter().filter(|f| !f.default.is_empty()) {
        // The table's defaults always parse (a unit test checks).
        let _ = (flag.set)(&mut raw, flag.default);
    }
    for (name, value) in release.into_iter().flat_map(|r| r.defaults.iter()) {
        if let Some(flag) = lookup(name) {
            // So do the releases' (the same test).
            let _ = (flag.set)(&mut raw, value);
        }
    }
    raw
}
