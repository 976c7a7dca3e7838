//! Turns the raw command line into checked [`Options`], before any connection is made.
//! Every error names the flag, what was wrong and what is allowed.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::core::addr::{is_valid_host, Addr};
use crate::core::filter::MasterRegex;
use crate::core::settings::{CoreSettings, KeyOrder, PoolSettings, DISTRIBUTIONS, HASHES};
use crate::core::shown::shown;
use crate::core::template::{Template, TemplateError};
use crate::core::time::Millis;
use crate::core::Secret;

use super::args::RawArgs;
use super::flags::{lookup, Replay};
use super::secrets::{SecretFlag, REDIS_AUTH, SENTINEL_PASSWORD, SLACK_TOKEN, WEBHOOK};
use super::sentinels;
use crate::shell::config_file::same_file;
use crate::shell::logging::Format as LogFormat;
use crate::shell::sentinel::SentinelAuth;

/// A flag value tpc cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageError {
    /// No sentinel given (and no dry run).
    NoSentinels,
    /// A `-sentinels` entry is not host:port.
    BadSentinel {
        /// The entry.
        entry: String,
        /// What is wrong with it.
        why: String,
    },
    /// A number outside its range.
    OutOfRange {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: i64,
        /// The allowed range, in words.
        allowed: &'static str,
    },
    /// A value that is not one of a fixed list.
    NotOneOf {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
        /// The allowed values.
        allowed: &'static [&'static str],
    },
    /// A hash tag that is not exactly two bytes (nutcracker counts bytes).
    BadHashTag {
        /// The flag, `has_tag` or `hash_tag`.
        flag: &'static str,
        /// The value given.
        value: String,
    },
    /// `-has_tag` and `-hash_tag` both given, with different values.
    TwoHashTags,
    /// A listen address or pool name that nutcracker cannot take.
    BadText {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },
    /// The reload command could not be split into words.
    BadCommand(String),
    /// A file named by a flag could not be read.
    BadFile {
        /// The flag.
        flag: &'static str,
        /// The file.
        path: String,
        /// Why.
        why: String,
    },
    /// `-sentinel_ca` without `-sentinel_tls`.
    CaWithoutTls,
    /// `-sentinel_username` without a password: the user would never log in.
    UsernameWithoutPassword,
    /// `-record` names the same file as another flag: recording would replace it.
    RecordOnto {
        /// The `-record` file.
        path: String,
        /// The other flag.
        flag: &'static str,
    },
    /// `-record` names a folder.
    RecordIsFolder(String),
    /// `-log` names the same file as `-out`: log lines would go into the config.
    LogOntoOut(String),
    /// A secret given both as its flag and as a file.
    TwoSources(SecretFlag),
    /// `-replica_pools` without `-template`.
    ReplicaPoolsWithoutTemplate,
    /// A flag of the generated pool (`-name`, `-redis_auth`, ...) with `-template`.
    PoolFlagWithTemplate(&'static str),
    /// `-replica_pools` names a pool the template does not have.
    NoSuchPool {
        /// The pool named.
        pool: String,
        /// The template's pools.
        pools: String,
    },
    /// `-template` is not a nutcracker config tpc can keep.
    BadTemplate {
        /// The template's path.
        path: String,
        /// What is wrong.
        error: TemplateError,
    },
    /// `-strict`, and a server line of the template tpc cannot follow.
    StrictUnbound {
        /// The template's path.
        path: String,
        /// 1-based line.
        line: usize,
        /// The server entry.
        entry: String,
        /// Why tpc cannot follow it.
        why: &'static str,
    },
    /// A `-supervise` command line that cannot work.
    Supervise(super::supervise::SuperviseError),
    /// A path that cannot serve: a missing folder, an unreadable file, a binary that
    /// cannot run.
    BadPath {
        /// The flag.
        flag: &'static str,
        /// The path given.
        path: String,
        /// What is wrong with it.
        problem: String,
        /// What would be right.
        want: &'static str,
    },
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::NoSentinels => write!(
                f,
                "no sentinel given: use -sentinels host:port[,host:port...] (\":26379\" means localhost)"
            ),
            UsageError::BadSentinel { entry, why } => {
                write!(f, "invalid -sentinels entry \"{}\": {why}", shown(entry))
            }
            UsageError::OutOfRange {
                flag,
                value,
                allowed,
            } => write!(f, "invalid value {value} for -{flag}: must be {allowed}"),
            UsageError::NotOneOf {
                flag,
                value,
                allowed,
            } => write!(
                f,
                "invalid value {value:?} for -{flag}: must be one of {}",
                allowed.join(", ")
            ),
            UsageError::BadHashTag { flag, value } => write!(
                f,
                "invalid value {value:?} for -{flag}: must be exactly two bytes, as nutcracker counts them, e.g. '{{}}' or '$$' ({} bytes given)",
                value.len()
            ),
            UsageError::TwoHashTags => write!(
                f,
                "-has_tag and -hash_tag disagree: give only one (-hash_tag is the same flag, correctly spelt)"
            ),
            UsageError::BadText {
                flag,
                value,
                allowed,
            } => write!(f, "invalid value {value:?} for -{flag}: must be {allowed}"),
            UsageError::BadCommand(why) => write!(f, "invalid -cmd: {why}"),
            UsageError::BadFile { flag, path, why } => {
                write!(f, "cannot read {path} given by -{flag}: {why}")
            }
            UsageError::CaWithoutTls => {
                write!(f, "-sentinel_ca needs -sentinel_tls (the CA is only used for TLS)")
            }
            UsageError::UsernameWithoutPassword => write!(
                f,
                "-sentinel_username needs the user's password (-sentinel_password_file, TPC_SENTINEL_PASSWORD or -sentinel_password): without one tpc never logs in as that user"
            ),
            UsageError::RecordOnto { path, flag } => write!(
                f,
                "-record {path} is the same file as -{flag}: the recording would replace it; give the recording a file of its own"
            ),
            UsageError::LogOntoOut(path) => write!(
                f,
                "-log {path} is the same file as -out: log lines would go into the config; give the log a file of its own"
            ),
            UsageError::RecordIsFolder(path) => write!(
                f,
                "-record {path} is a folder: give a file, e.g. {}/tpc.jsonl",
                path.trim_end_matches('/')
            ),
            UsageError::TwoSources(s) => write!(
                f,
                "give -{} or -{}, not both (or neither, to read the {} from {})",
                s.flag, s.file_flag, s.what, s.env
            ),
            UsageError::Supervise(e) => write!(f, "{e}"),
            UsageError::BadPath {
                flag,
                path,
                problem,
                want,
            } => write!(f, "invalid -{flag} {path}: {problem}; {want}"),
            UsageError::PoolFlagWithTemplate(flag) => write!(
                f,
                "-{flag} shapes the pool tpc generates, but with -template the pools are the template's: set it in the template instead, and drop -{flag}"
            ),
            UsageError::ReplicaPoolsWithoutTemplate => write!(
                f,
                "-replica_pools names pools of a template: give -template FILE too (generate mode writes one pool of masters)"
            ),
            UsageError::NoSuchPool { pool, pools } => write!(
                f,
                "invalid value {pool:?} for -replica_pools: the template has no such pool; its pools are {pools}"
            ),
            UsageError::BadTemplate { path, error } => write!(f, "invalid -template {path}: {error}"),
            UsageError::StrictUnbound {
                path,
                line,
                entry,
                why,
            } => write!(
                f,
                "-strict: {path} line {line}: tpc cannot follow server {entry:?} ({why}); write it as \"host:port:weight name\" with name a master the sentinels monitor, or drop -strict"
            ),
        }
    }
}

impl std::error::Error for UsageError {}

/// Slack Web API settings; present only when a token is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackOptions {
    /// API token.
    pub token: Secret,
    /// Channel to post to.
    pub channel: String,
    /// Username to post as; empty for the app's own.
    pub username: String,
    /// Icon emoji; empty for none.
    pub icon_emoji: String,
    /// Web API base URL, without the method name.
    pub api_url: String,
}

/// What a webhook body looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// tpc's own JSON: event, master, old and new address, text, time, host, version.
    Json,
    /// A Slack or Mattermost incoming-webhook body: `{"text": ...}`.
    Slack,
}

/// Where webhooks go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookOptions {
    /// The URL; a secret (incoming-webhook URLs hold their token).
    pub url: Secret,
    /// The body's format.
    pub format: WebhookFormat,
}

/// Everything tpc runs with, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// What the core needs.
    pub core: CoreSettings,
    /// Sentinels to follow, in the order given.
    pub sentinels: Vec<Addr>,
    /// Config file to write; stdout when none.
    pub out: Option<PathBuf>,
    /// The `-template` file, whose parsed text is in `core.template`.
    pub template: Option<PathBuf>,
    /// Reload command as written.
    pub cmd_line: String,
    /// Reload command split into program and arguments; empty runs nothing.
    pub cmd: Vec<String>,
    /// How long the reload command may run.
    pub cmd_timeout: Duration,
    /// Under `-supervise`, nutcracker's command line: tpc runs it as its child and
    /// restarts it instead of running the reload command.
    pub supervise: Option<Vec<String>>,
    /// Log file to append to; stdout (or stderr) when none.
    pub log: Option<PathBuf>,
    /// Slack notifications, when a token is given.
    pub slack: Option<SlackOptions>,
    /// Webhook notifications, when configured.
    pub webhook: Option<WebhookOptions>,
    /// How log lines are written.
    pub log_format: LogFormat,
    /// Dry run: render for the masters in this file and exit.
    pub dry_run_masters: Option<PathBuf>,
    /// Record every input to this file.
    pub record: Option<PathBuf>,
    /// How to log in to the sentinels.
    pub auth: SentinelAuth,
    /// How long a sentinel may take to accept a connection or to answer.
    pub sentinel_timeout: Duration,
    /// Check with `nutcracker -t`, once at start, what tpc cannot vouch for itself.
    pub validate: bool,
    /// The nutcracker binary for checks; none to find it on PATH.
    pub nutcracker: Option<PathBuf>,
    /// Folder to save a copy of every written config in.
    pub backup: Option<PathBuf>,
    /// How many backups to keep; 0 keeps all.
    pub backup_keep: usize,
    /// Where Prometheus metrics are to be served, when given: the address and the path.
    pub metrics: Option<(Addr, String)>,
    /// What the command line asks that tpc does anyway, to log once logging is set up
    /// (a sentinel named twice).
    pub warnings: Vec<String>,
}

/// Reads `secret` from its flag's `value`, its file flag's `file`, or the environment.
fn secret(
    secret: SecretFlag,
    value: Option<&str>,
    file: &Option<String>,
) -> Result<Secret, UsageError> {
    secret.read(value, file.as_deref(), |name| std::env::var(name).ok())
}

fn sentinel_auth(raw: &RawArgs) -> Result<SentinelAuth, UsageError> {
    let password = secret(
        SENTINEL_PASSWORD,
        raw.sentinel_password.as_deref(),
        &raw.sentinel_password_file,
    )?;
    if raw.sentinel_ca.is_some() && !raw.sentinel_tls {
        return Err(UsageError::CaWithoutTls);
    }
    if raw
        .sentinel_username
        .as_deref()
        .is_some_and(|u| !u.is_empty())
        && password.is_empty()
    {
        return Err(UsageError::UsernameWithoutPassword);
    }
    Ok(SentinelAuth {
        username: raw.sentinel_username.clone().filter(|u| !u.is_empty()),
        // The sentinel links take the password as text.
        password: (!password.is_empty()).then(|| password.expose().to_string()),
        tls: raw.sentinel_tls,
        ca_file: raw.sentinel_ca.as_deref().and_then(path),
    })
}

fn range(
    flag: &'static str,
    value: i64,
    min: i64,
    max: i64,
    allowed: &'static str,
) -> Result<i64, UsageError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(UsageError::OutOfRange {
            flag,
            value,
            allowed,
        })
    }
}

fn one_of(
    flag: &'static str,
    value: &str,
    allowed: &'static [&'static str],
) -> Result<String, UsageError> {
    if allowed.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(UsageError::NotOneOf {
            flag,
            value: value.to_string(),
            allowed,
        })
    }
}

fn path(text: &str) -> Option<PathBuf> {
    (!text.is_empty()).then(|| PathBuf::from(text))
}

/// nutcracker reads a hash tag of exactly two bytes.
fn hash_tag(raw: &RawArgs) -> Result<String, UsageError> {
    let (flag, tag) = match (&raw.has_tag, &raw.hash_tag) {
        (Some(a), Some(b)) if a != b => return Err(UsageError::TwoHashTags),
        (Some(t), _) => ("has_tag", t.clone()),
        (None, Some(t)) => ("hash_tag", t.clone()),
        (None, None) => return Ok(String::new()),
    };
    if tag.is_empty() || tag.len() == 2 {
        Ok(tag)
    } else {
        Err(UsageError::BadHashTag { flag, value: tag })
    }
}

/// The largest number nutcracker reads (its `nc_atoi` makes an `int`; a larger one
/// overflows into a refusal or a different number).
const NUT_MAX: i64 = i32::MAX as i64;

fn pool(raw: &RawArgs) -> Result<PoolSettings, UsageError> {
    const NON_NEG: &str = "from 0 to 2147483647";
    const OR_MINUS_ONE: &str = "from 0 to 2147483647, or -1 to leave it out";
    if raw.name.is_empty() || raw.name.contains(|c: char| c.is_whitespace() || c == ':') {
        return Err(UsageError::BadText {
            flag: "name",
            value: raw.name.clone(),
            allowed: "a pool name without spaces or ':'",
        });
    }
    if !is_valid_host(&raw.ip) {
        return Err(UsageError::BadText {
            flag: "ip",
            value: raw.ip.clone(),
            allowed: "an IP address or hostname, e.g. 0.0.0.0 or 127.0.0.1",
        });
    }
    Ok(PoolSettings {
        name: raw.name.clone(),
        ip: raw.ip.clone(),
        port: range("port", raw.port, 1, 65535, "from 1 to 65535")? as u16,
        hash: one_of("hash", &raw.hash, HASHES)?,
        hash_tag: hash_tag(raw)?,
        distribution: one_of("distribution", &raw.distribution, DISTRIBUTIONS)?,
        timeout: range("timeout", raw.timeout, -1, NUT_MAX, OR_MINUS_ONE)?,
        backlog: range("backlog", raw.backlog, 0, NUT_MAX, NON_NEG)?,
        redis_auth: secret(REDIS_AUTH, Some(&raw.redis_auth), &raw.redis_auth_file)?,
        redis_db: range("redis_db", raw.redis_db, 0, NUT_MAX, NON_NEG)?,
        client_connections: range(
            "client_connections",
            raw.client_connections,
            0,
            NUT_MAX,
            NON_NEG,
        )?,
        server_connections: range(
            "server_connections",
            raw.server_connections,
            1,
            NUT_MAX,
            "from 1 to 2147483647",
        )?,
        preconnect: raw.preconnect,
        auto_eject_hosts: raw.auto_eject_hosts,
        server_retry_timeout: range(
            "server_retry_timeout",
            raw.server_retry_timeout,
            -1,
            NUT_MAX,
            OR_MINUS_ONE,
        )?,
        server_failure_limit: range(
            "server_failure_limit",
            raw.server_failure_limit,
            -1,
            NUT_MAX,
            OR_MINUS_ONE,
        )?,
        key_order: if raw.compat.is_some() {
            KeyOrder::Released
        } else {
            KeyOrder::Readme
        },
    })
}

/// Checks that `-record` names a file of its own: not the config, not the log, not a
/// folder.
fn record(
    record: Option<PathBuf>,
    out: Option<&Path>,
    log: Option<&Path>,
) -> Result<Option<PathBuf>, UsageError> {
    let Some(path) = record else {
        return Ok(None);
    };
    let shown = || path.display().to_string();
    if path.is_dir() {
        return Err(UsageError::RecordIsFolder(shown()));
    }
    for (flag, other) in [("out", out), ("log", log)] {
        if other.is_some_and(|other| same_file(&path, other)) {
            return Err(UsageError::RecordOnto {
                path: shown(),
                flag,
            });
        }
    }
    Ok(Some(path))
}

/// `-slack_url`: an http or https URL with a host.
fn slack_url(raw: &RawArgs) -> Result<String, UsageError> {
    let url = raw.slack_url.trim_end_matches('/');
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            Ok(url.to_string())
        }
        _ => Err(UsageError::BadText {
            flag: "slack_url",
            value: raw.slack_url.clone(),
            allowed: "an http:// or https:// URL, e.g. https://slack.com/api",
        }),
    }
}

/// `-webhook` (or its file, or TPC_WEBHOOK_URL) and `-webhook_format`.
fn webhook(raw: &RawArgs) -> Result<Option<WebhookOptions>, UsageError> {
    let format = match raw.webhook_format.as_str() {
        "json" => WebhookFormat::Json,
        "slack" => WebhookFormat::Slack,
        other => {
            return Err(UsageError::NotOneOf {
                flag: "webhook_format",
                value: other.to_string(),
                allowed: &["json", "slack"],
            })
        }
    };
    let url = secret(WEBHOOK, Some(&raw.webhook), &raw.webhook_file)?;
    if url.is_empty() {
        return Ok(None);
    }
    match reqwest::Url::parse(url.expose()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            Ok(Some(WebhookOptions { url, format }))
        }
        // The URL is a secret: it is not repeated.
        _ => Err(UsageError::BadText {
            flag: "webhook",
            value: "(not shown)".into(),
            allowed: "an http:// or https:// URL, e.g. https://hooks.example.com/tpc",
        }),
    }
}

fn slack(raw: &RawArgs) -> Result<Option<SlackOptions>, UsageError> {
    let api_url = slack_url(raw)?;
    let token = secret(SLACK_TOKEN, Some(&raw.token), &raw.token_file)?;
    Ok((!token.is_empty()).then(|| SlackOptions {
        token,
        channel: raw.channel.clone(),
        username: raw.username.clone(),
        icon_emoji: raw.icon_emoji.clone(),
        api_url,
    }))
}

/// Checks every flag and builds the options tpc runs with.
pub fn validate(raw: &RawArgs) -> Result<Options, UsageError> {
    let sentinels = sentinels::parse(&raw.sentinels)?;
    let dry_run_masters = raw.masters.as_deref().and_then(path);
    let wait = range(
        "wait",
        raw.wait,
        0,
        i64::from(u32::MAX),
        "0 or more seconds",
    )?;
    let reconcile = range(
        "reconcile_interval",
        raw.reconcile_interval,
        0,
        i64::from(u32::MAX),
        "0 (never) or more seconds",
    )?;
    let start_grace = range(
        "start_grace_ms",
        raw.start_grace_ms,
        0,
        600_000,
        "from 0 to 600000 milliseconds",
    )?;
    let confirm_grace = range(
        "confirm_grace_ms",
        raw.confirm_grace_ms,
        0,
        600_000,
        "from 0 to 600000 milliseconds",
    )?;
    let cmd_timeout = range(
        "cmd_timeout",
        raw.cmd_timeout,
        1,
        86_400,
        "from 1 to 86400 seconds",
    )?;
    let sentinel_timeout = range(
        "sentinel_timeout",
        raw.sentinel_timeout,
        1,
        86_400,
        "from 1 to 86400 seconds",
    )?;
    let cmd = shell_words::split(&raw.cmd).map_err(|e| UsageError::BadCommand(e.to_string()))?;
    let slack = slack(raw)?;
    let (out, log) = (path(&raw.out), path(&raw.log));
    if let (Some(log), Some(out)) = (&log, &out) {
        if same_file(log, out) {
            return Err(UsageError::LogOntoOut(log.display().to_string()));
        }
    }
    let record = record(
        raw.record.as_deref().and_then(path),
        out.as_deref(),
        log.as_deref(),
    )?;
    let template = template(raw)?;
    let mut warnings = sentinels.warnings;
    warnings.extend(unbound_warning(template.as_ref(), raw.strict));
    Ok(Options {
        core: CoreSettings {
            pool: pool(raw)?,
            master_pattern: raw.master_pattern.clone(),
            master_regex: MasterRegex::new(&raw.master_regex).map_err(|e| UsageError::BadText {
                flag: "master_regex",
                value: raw.master_regex.clone(),
                allowed: regex_error(&e),
            })?,
            replica_pools: replica_pools(raw, template.as_ref())?,
            template,
            strict: raw.strict,
            wait: Millis::from_secs(wait as u64),
            reconcile: Millis::from_secs(reconcile as u64),
            confirm_grace: Millis(confirm_grace as u64),
            start_grace: Millis(start_grace as u64),
            sentinels: sentinels.addrs.len(),
        },
        sentinels: sentinels.addrs,
        out,
        template: path(&raw.template),
        cmd_line: raw.cmd.clone(),
        cmd,
        cmd_timeout: Duration::from_secs(cmd_timeout as u64),
        // Checked with the rest of the daemon's command line (`super::supervise`).
        supervise: None,
        log,
        slack,
        webhook: webhook(raw)?,
        log_format: match raw.log_format.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(UsageError::NotOneOf {
                    flag: "log_format",
                    value: other.to_string(),
                    allowed: &["text", "json"],
                })
            }
        },
        dry_run_masters,
        record,
        auth: sentinel_auth(raw)?,
        sentinel_timeout: Duration::from_secs(sentinel_timeout as u64),
        validate: raw.validate,
        nutcracker: raw.nutcracker.as_deref().and_then(path),
        backup: path(&raw.backup),
        backup_keep: range(
            "backup_keep",
            raw.backup_keep,
            0,
            NUT_MAX,
            "0 (keep all) or more",
        )? as usize,
        metrics: metrics(raw)?,
        warnings,
    })
}

/// The most server lines of a template tpc leaves as written that one warning names.
const UNBOUND_NAMED: usize = 5;

/// Without `-strict`, one warning naming the template's server lines tpc leaves as
/// written (they never follow a failover), if any.
fn unbound_warning(template: Option<&Template>, strict: bool) -> Option<String> {
    let unbound = template.filter(|_| !strict)?.unbound();
    if unbound.is_empty() {
        return None;
    }
    let named: Vec<String> = unbound
        .iter()
        .take(UNBOUND_NAMED)
        .map(|u| {
            format!(
                "line {} {:?} ({})",
                u.line,
                shown(&u.entry).to_string(),
                u.why
            )
        })
        .collect();
    let more = match unbound.len().saturating_sub(UNBOUND_NAMED) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    Some(format!(
        "-template: tpc leaves {} server line(s) as written, never following a failover: {}{more}; write each as \"host:port:weight name\" with name a master the sentinels monitor (-strict refuses to start with such lines)",
        unbound.len(),
        named.join(", ")
    ))
}

/// Why a `-master_regex` is refused, in words that stay valid for every pattern.
fn regex_error(e: &regex::Error) -> &'static str {
    match e {
        regex::Error::CompiledTooBig(_) => {
            "a regular expression of a reasonable size (this one compiles too big)"
        }
        _ => "a regular expression of the regex crate's syntax, e.g. ^cache-[0-9]+$",
    }
}

/// `-template`: the operator's nutcracker config, read and parsed; with `-strict`, every
/// server line must be one tpc can follow.
fn template(raw: &RawArgs) -> Result<Option<Template>, UsageError> {
    let Some(file) = path(&raw.template) else {
        return Ok(None);
    };
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(&file).map_err(|e| UsageError::BadPath {
        flag: "template",
        path: shown.clone(),
        problem: format!("cannot be read ({e})"),
        want: "give your nutcracker config, e.g. /etc/nutcracker/nutcracker.yml",
    })?;
    let template = Template::parse(&text).map_err(|error| UsageError::BadTemplate {
        path: shown.clone(),
        error,
    })?;
    if raw.strict {
        if let Some(line) = template.unbound().first() {
            return Err(UsageError::StrictUnbound {
                path: shown,
                line: line.line,
                entry: line.entry.clone(),
                why: line.why,
            });
        }
    }
    Ok(Some(template))
}

/// `-replica_pools`: pools of the template, comma-separated.
fn replica_pools(
    raw: &RawArgs,
    template: Option<&Template>,
) -> Result<BTreeSet<String>, UsageError> {
    let pools: BTreeSet<String> = raw
        .replica_pools
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    if pools.is_empty() {
        return Ok(pools);
    }
    let Some(template) = template else {
        return Err(UsageError::ReplicaPoolsWithoutTemplate);
    };
    if let Some(unknown) = pools.iter().find(|p| !template.pools().contains(p)) {
        return Err(UsageError::NoSuchPool {
            pool: unknown.clone(),
            pools: template.pools().join(", "),
        });
    }
    Ok(pools)
}

/// `-listen_address` (host:port, ":9298" meaning every address) and `-telemetry_path`.
fn metrics(raw: &RawArgs) -> Result<Option<(Addr, String)>, UsageError> {
    if !raw.telemetry_path.starts_with('/') {
        return Err(UsageError::BadText {
            flag: "telemetry_path",
            value: raw.telemetry_path.clone(),
            allowed: "a path starting with /, e.g. /metrics",
        });
    }
    if raw.listen_address.is_empty() {
        return Ok(None);
    }
    let bad = || UsageError::BadText {
        flag: "listen_address",
        value: raw.listen_address.clone(),
        allowed: "host:port, e.g. :9298 or 127.0.0.1:9298",
    };
    let (host, port) = raw.listen_address.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().ok().filter(|p| *p > 0).ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    if !is_valid_host(host) {
        return Err(bad());
    }
    Ok(Some((
        Addr {
            host: host.to_string(),
            port,
        },
        raw.telemetry_path.clone(),
    )))
}

/// Copies into `base` the settings whose flags were `given` on the command line, taking
/// their values from `flags` (used by replay: flags override a recording's header). Each
/// flag's override is its row's in the flag table.
pub fn apply_overrides(base: &mut CoreSettings, flags: &CoreSettings, given: &[String]) {
    for name in given {
        if let Some(Replay::Override(apply)) = lookup(name).map(|f| f.replay) {
            apply(base, flags);
        }
    }
}
