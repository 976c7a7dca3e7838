//! The raw command line, as argh parses it after [`super::goflags::rewrite`]: every flag of the
//! original tpc with its default, plus tpc's own additions. Validation into settings
//! happens in [`super::validate`].

use argh::FromArgs;

use super::goflags::{parse_go_bool, FlagSpec, Kind};

/// Every flag tpc accepts, with how it takes a value; the names match [`RawArgs`].
pub const FLAGS: &[FlagSpec] = &[
    FlagSpec {
        name: "sentinels",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "out",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "cmd",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "cmd_timeout",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "wait",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "log",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "master_pattern",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "masters",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "name",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "ip",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "port",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "hash",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "has_tag",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "hash_tag",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "distribution",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "timeout",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "backlog",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "redis_auth",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "redis_auth_file",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "redis_db",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "client_connections",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "server_connections",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "preconnect",
        kind: Kind::Bool,
    },
    FlagSpec {
        name: "auto_eject_hosts",
        kind: Kind::Bool,
    },
    FlagSpec {
        name: "server_retry_timeout",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "server_failure_limit",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "token",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "token_file",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "channel",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "username",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "icon_emoji",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "slack_url",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "record",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "reconcile_interval",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "start_grace_ms",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "confirm_grace_ms",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "nutcracker",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "validate",
        kind: Kind::Bool,
    },
    FlagSpec {
        name: "sentinel_username",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "sentinel_password",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "sentinel_password_file",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "sentinel_tls",
        kind: Kind::Bool,
    },
    FlagSpec {
        name: "sentinel_ca",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "sentinel_timeout",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "sentinel_log",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "format",
        kind: Kind::Value,
    },
    FlagSpec {
        name: "version",
        kind: Kind::Switch,
    },
];

fn go_bool(text: &str) -> Result<bool, String> {
    parse_go_bool(text)
}

fn default_cmd() -> String {
    super::DEFAULT_CMD.to_string()
}

/// Listens to Redis Sentinel and rewrites twemproxy's config (and runs a reload command)
/// when a master fails over.
#[derive(FromArgs, Debug, Clone, PartialEq, Eq)]
pub struct RawArgs {
    /// CSV of host:port to redis sentinels (":8000" means localhost)
    #[argh(option, default = "String::new()")]
    pub sentinels: String,
    /// file to write configuration, will write to STDOUT if empty
    #[argh(option, default = "String::new()")]
    pub out: String,
    /// command to execute after master failover, split like a shell would but run
    /// without one (default "killall -USR1 nutcracker", which stock nutcracker ignores)
    #[argh(option, default = "default_cmd()")]
    pub cmd: String,
    /// seconds the command may run before it is killed and counted as failed
    /// (default 30)
    #[argh(option, default = "30")]
    pub cmd_timeout: i64,
    /// minimum number of seconds to wait between cmd execution (default 60)
    #[argh(option, default = "60")]
    pub wait: i64,
    /// path to log file, will write to STDOUT if empty (STDERR when the config goes to
    /// STDOUT)
    #[argh(option, default = "String::new()")]
    pub log: String,
    /// if provided, will filter master names from sentinel based on pattern (substring)
    #[argh(option, default = "String::new()")]
    pub master_pattern: String,
    /// dry run: render the config for the masters listed in this file (lines
    /// "name host:port") and exit, connecting to no sentinel
    #[argh(option)]
    pub masters: Option<String>,
    /// twemproxy: name of redis pool (default "redis")
    #[argh(option, default = "String::from(\"redis\")")]
    pub name: String,
    /// twemproxy: ip address (default "0.0.0.0")
    #[argh(option, default = "String::from(\"0.0.0.0\")")]
    pub ip: String,
    /// twemproxy: port (default 9000)
    #[argh(option, default = "9000")]
    pub port: i64,
    /// twemproxy: hash algorithm (default "fnv1a_64")
    #[argh(option, default = "String::from(\"fnv1a_64\")")]
    pub hash: String,
    /// twemproxy: a two character string that specifies the part of the key used for
    /// hashing, e.g. '{}' or '$$' (the original's spelling)
    #[argh(option)]
    pub has_tag: Option<String>,
    /// twemproxy: the same as -has_tag, correctly spelt
    #[argh(option)]
    pub hash_tag: Option<String>,
    /// twemproxy: key distribution (default "ketama")
    #[argh(option, default = "String::from(\"ketama\")")]
    pub distribution: String,
    /// twemproxy: the timeout value in msec to connect to or hear from a server; -1
    /// omits it (default 400)
    #[argh(option, default = "400")]
    pub timeout: i64,
    /// twemproxy: TCP backlog argument (default 512)
    #[argh(option, default = "512")]
    pub backlog: i64,
    /// twemproxy: authenticate to the redis server on connect (visible in ps: prefer
    /// -redis_auth_file or the TPC_REDIS_AUTH environment variable)
    #[argh(option, default = "String::new()")]
    pub redis_auth: String,
    /// twemproxy: file holding the redis_auth password
    #[argh(option)]
    pub redis_auth_file: Option<String>,
    /// twemproxy: the DB number to use on the redis pool servers (default 0)
    #[argh(option, default = "0")]
    pub redis_db: i64,
    /// twemproxy: the maximum number of connections allowed from redis clients
    /// (default 16384)
    #[argh(option, default = "16384")]
    pub client_connections: i64,
    /// twemproxy: the maximum number of connections that can be open to each server
    /// (default 1)
    #[argh(option, default = "1")]
    pub server_connections: i64,
    /// twemproxy: preconnect to all the servers in this pool on process start
    #[argh(option, from_str_fn(go_bool), default = "false")]
    pub preconnect: bool,
    /// twemproxy: eject a server temporarily after server_failure_limit consecutive
    /// failures (default true; switch off with -auto_eject_hosts=false)
    #[argh(option, from_str_fn(go_bool), default = "true")]
    pub auto_eject_hosts: bool,
    /// twemproxy: msec to wait before retrying an ejected server; -1 omits it
    /// (default 30000)
    #[argh(option, default = "30000")]
    pub server_retry_timeout: i64,
    /// twemproxy: consecutive failures before a server is ejected; -1 omits it
    /// (default 3)
    #[argh(option, default = "3")]
    pub server_failure_limit: i64,
    /// slack: API token used for notifications (visible in ps: prefer -token_file or
    /// the TPC_SLACK_TOKEN environment variable)
    #[argh(option, default = "String::new()")]
    pub token: String,
    /// slack: file holding the API token
    #[argh(option)]
    pub token_file: Option<String>,
    /// slack: channel for notifications (default "#incidents")
    #[argh(option, default = "String::from(\"#incidents\")")]
    pub channel: String,
    /// slack: username for notifications
    #[argh(option, default = "String::new()")]
    pub username: String,
    /// slack: icon emoji for notifications
    #[argh(option, default = "String::new()")]
    pub icon_emoji: String,
    /// slack: Web API base URL, http or https (default "https://slack.com/api")
    // The doc is the help text, where a bare URL reads best.
    #[allow(rustdoc::bare_urls)]
    #[argh(option, default = "String::from(\"https://slack.com/api\")")]
    pub slack_url: String,
    /// seconds between queries of every sentinel that correct any drift; 0 never
    /// (default 30)
    #[argh(option, default = "30")]
    pub reconcile_interval: i64,
    /// milliseconds to wait at start, after the first sentinel answered, for the others
    /// before the config is touched (default 1000)
    #[argh(option, default = "1000")]
    pub start_grace_ms: i64,
    /// milliseconds one sentinel's newer epoch, or a pub/sub switch, is believed before
    /// the majority of the sentinels must confirm it (default 5000)
    #[argh(option, default = "5000")]
    pub confirm_grace_ms: i64,
    /// nutcracker binary that checks each config (nutcracker -t) before it replaces the
    /// live one (default: found on PATH)
    #[argh(option)]
    pub nutcracker: Option<String>,
    /// check each config with nutcracker -t before it replaces the live one (default
    /// true; switch off with -validate=false)
    #[argh(option, from_str_fn(go_bool), default = "true")]
    pub validate: bool,
    /// sentinel: ACL user name
    #[argh(option)]
    pub sentinel_username: Option<String>,
    /// sentinel: password (visible in ps: prefer -sentinel_password_file or the
    /// TPC_SENTINEL_PASSWORD environment variable)
    #[argh(option)]
    pub sentinel_password: Option<String>,
    /// sentinel: file holding the password
    #[argh(option)]
    pub sentinel_password_file: Option<String>,
    /// sentinel: speak TLS to the sentinels
    #[argh(option, from_str_fn(go_bool), default = "false")]
    pub sentinel_tls: bool,
    /// sentinel: PEM file of the CA that signed the sentinels' certificates (default:
    /// the system's)
    #[argh(option)]
    pub sentinel_ca: Option<String>,
    /// sentinel: seconds a sentinel may take to accept a connection or to answer a
    /// command (SENTINEL MASTERS, PING) before tpc gives up on the link and reconnects
    /// (default 30)
    // Generous: sentinels are slow for honest reasons (a loaded host, SENTINEL MASTERS
    // of many thousands of masters, a PONG queued behind a flood of events), a link given
    // up on too early is no link at all, and a dead host is noticed sooner anyway when its
    // connection is refused or reset.
    #[argh(option, default = "30")]
    pub sentinel_timeout: i64,
    /// record every input the core sees to this file (JSON Lines), for `tpc replay`;
    /// an existing recording is kept as FILE.1
    #[argh(option)]
    pub record: Option<String>,
    /// replay: read this redis-sentinel log instead of a recording (`tpc replay
    /// -sentinel_log FILE`)
    #[argh(option)]
    pub sentinel_log: Option<String>,
    /// replay: timeline format, text or json (default text)
    #[argh(option, default = "String::from(\"text\")")]
    pub format: String,
    /// print the version and exit
    #[argh(switch)]
    pub version: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_is_a_flag_of_raw_args() {
        for spec in FLAGS {
            let flag = format!("--{}", spec.name.replace('_', "-"));
            let mut args = vec![flag.as_str()];
            let value = match spec.kind {
                Kind::Value => Some(if spec.name.contains("timeout") {
                    "1"
                } else {
                    "2"
                }),
                Kind::Bool => Some("true"),
                Kind::Switch => None,
            };
            args.extend(value);
            let parsed = RawArgs::from_args(&["tpc"], &args);
            assert!(
                parsed.is_ok(),
                "{flag}: {:?}",
                parsed.err().map(|e| e.output)
            );
        }
    }

    #[test]
    fn defaults_are_the_originals() {
        let a = RawArgs::from_args(&["tpc"], &[]).unwrap();
        assert_eq!(a.cmd, "killall -USR1 nutcracker");
        assert_eq!((a.wait, a.port, a.timeout, a.backlog), (60, 9000, 400, 512));
        assert_eq!(
            (a.hash.as_str(), a.distribution.as_str()),
            ("fnv1a_64", "ketama")
        );
        assert_eq!((a.client_connections, a.server_connections), (16384, 1));
        assert!(!a.preconnect && a.auto_eject_hosts);
        assert_eq!((a.server_retry_timeout, a.server_failure_limit), (30000, 3));
        assert_eq!(a.channel, "#incidents");
    }
}
