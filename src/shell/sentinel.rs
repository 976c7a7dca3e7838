//! Links to Sentinel: one per sentinel, all at once. Each link subscribes first
//! (`PSUBSCRIBE *`) and then asks `SENTINEL MASTERS`, so no event falls between the
//! answer and the subscription; it asks again whenever the core wants the sentinels
//! queried, coalescing those asks (`session`). It reads its pub/sub connection as fast
//! as the bytes come and holds what the daemon has not taken yet in a bounded
//! `outbox`, so a flood of events costs no memory beyond that. Connecting and every
//! answer are bounded by tpc's own timeout (`-sentinel_timeout`), never the client
//! library's defaults. A link that fails reconnects on its own with capped exponential
//! back-off and jitter, forever. What the links hear goes to the daemon as
//! [`Delivery`]s of [`LinkEvent`]s. Pub/sub goes over the redis crate; queries over
//! tpc's own connection (`asker`), which reads a big answer entry by entry.

mod asker;
mod outbox;
mod session;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::PubSubSink;
use resp_rs::resp2::Frame;
use tokio::sync::{broadcast, mpsc, watch, Mutex};
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout, Instant};
use tracing::{info, warn};

use crate::core::replicas::{most_choosable, ReplicaInfo};
use crate::core::snapshot::{
    master_from_fields, pairs, replica_from_fields, Fields, SnapshotError,
};
use crate::core::{Addr, MasterInfo};

pub use asker::ca_roots;
use asker::{Answered, Asker};
pub use outbox::Receipt;

/// How often an idle link is checked with PING.
const PING_EVERY: Duration = Duration::from_secs(5);
/// A link that stayed up this long starts its back-off afresh.
const STABLE: Duration = Duration::from_secs(30);
/// First pause before reconnecting.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest pause before reconnecting.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How to log in to the sentinels.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SentinelAuth {
    /// ACL user; none for the default user.
    pub username: Option<String>,
    /// Password; none when the sentinels need none. A secret: never logged.
    pub password: Option<String>,
    /// Speak TLS to the sentinels.
    pub tls: bool,
    /// PEM file of the CA that signed the sentinels' certificates; none for the
    /// system's roots.
    pub ca_file: Option<std::path::PathBuf>,
}

impl fmt::Debug for SentinelAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentinelAuth")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// What a sentinel link reports to the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// Subscribed to the sentinel.
    Up {
        /// Which sentinel, `host:port`.
        sentinel: String,
    },
    /// The link failed or could not be made.
    Down {
        /// Which sentinel.
        sentinel: String,
        /// Why.
        reason: String,
    },
    /// A pub/sub message.
    Message {
        /// Which sentinel.
        sentinel: String,
        /// Channel (event name).
        channel: String,
        /// Payload.
        payload: String,
    },
    /// The answer to `SENTINEL MASTERS`, and to `SENTINEL REPLICAS` for the masters
    /// replica pools follow.
    Snapshot {
        /// Which sentinel.
        sentinel: String,
        /// The answer.
        answer: Answer,
    },
    /// The answer to `SENTINEL MASTER <name>`, and to `SENTINEL REPLICAS <name>` when
    /// replica pools follow the master.
    Master {
        /// Which sentinel.
        sentinel: String,
        /// The answer.
        answer: MasterAnswer,
    },
}

/// What a sentinel says of one master asked about by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterAnswer {
    /// The master asked about.
    pub name: String,
    /// Its entry; none when the sentinel does not monitor it (or it could not be read).
    pub master: Option<MasterInfo>,
    /// Its replicas, when replica pools follow them.
    pub replicas: Option<Vec<ReplicaInfo>>,
}

/// What the sentinel links are asked to ask: every master again (each change of the
/// counter is one request), or single masters by name.
#[derive(Debug, Clone)]
pub struct Queries {
    /// `SENTINEL MASTERS`: each change is one request.
    pub all: watch::Receiver<u64>,
    /// `SENTINEL MASTER <name>`: each name sent is one request.
    pub masters: broadcast::Sender<String>,
}

/// One round of queries to a sentinel: its masters, and the replicas of those that
/// replica pools follow. Entries that could not be read are left out and logged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    /// `SENTINEL MASTERS`.
    pub masters: Vec<MasterInfo>,
    /// `SENTINEL REPLICAS <master>` for each followed master the sentinel monitors.
    pub replicas: BTreeMap<String, Vec<ReplicaInfo>>,
}

/// A [`LinkEvent`] on its way to the daemon, with a receipt that tells its link, once
/// dropped, that the core took the event in.
#[derive(Debug)]
pub struct Delivery {
    event: LinkEvent,
    /// None when no link waits for it (a link that ended).
    receipt: Option<Receipt>,
}

impl Delivery {
    /// The event, and the receipt to drop once the core took the event in.
    pub fn into_parts(self) -> (LinkEvent, Option<Receipt>) {
        (self.event, self.receipt)
    }
}

/// Follows every sentinel at once, forever, sending what they say to `events`; `timeout`
/// bounds connecting and every answer. Every change of `queries.all` asks each linked
/// sentinel for `SENTINEL MASTERS` again (coalesced per link), and for the replicas of
/// the masters in `replicas_of`; every name sent on `queries.masters`, for `SENTINEL
/// MASTER <name>`. Returns when `events` is closed.
pub async fn follow_all(
    sentinels: Vec<Addr>,
    auth: SentinelAuth,
    timeout: Duration,
    replicas_of: BTreeSet<String>,
    events: mpsc::Sender<Delivery>,
    queries: Queries,
) {
    let replicas_of = Arc::new(replicas_of);
    let mut links = JoinSet::new();
    for addr in sentinels {
        let asking = Asking {
            timeout,
            replicas_of: replicas_of.clone(),
        };
        links.spawn(follow(
            addr,
            auth.clone(),
            asking,
            events.clone(),
            (queries.all.clone(), queries.masters.subscribe()),
        ));
    }
    while links.join_next().await.is_some() {}
}

/// Asks one sentinel once, for `tpc status`: `SENTINEL MASTERS`, and `SENTINEL
/// REPLICAS` for the masters in `replicas_of`; connecting and each answer bounded by
/// `timeout`.
pub async fn ask_once(
    addr: &Addr,
    auth: &SentinelAuth,
    timeout: Duration,
    replicas_of: BTreeSet<String>,
) -> Result<Answer, String> {
    let conn = query_connection(addr, auth, timeout).await?;
    query_all(conn, timeout, Arc::new(replicas_of)).await
}

/// A pause of about `base`, give or take a quarter, so links to sentinels that failed
/// together do not all come back at the same instant.
fn jittered(base: Duration, seed: &str) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    let mix = seed.bytes().fold(nanos, |h, b| h.rotate_left(5) ^ b as u64);
    let quarter = base.as_millis() as u64 / 4;
    let offset = if quarter == 0 {
        0
    } else {
        mix % (2 * quarter + 1)
    };
    Duration::from_millis(base.as_millis() as u64 - quarter + offset)
}

/// The pause before reconnect attempt `failures` (1 for the first).
fn backoff(failures: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << failures.saturating_sub(1).min(10))
        .min(MAX_BACKOFF)
}

/// What a link asks its sentinel, and how long it waits.
#[derive(Debug, Clone)]
struct Asking {
    /// Bounds connecting and every answer.
    timeout: Duration,
    /// The masters whose replicas are asked for.
    replicas_of: Arc<BTreeSet<String>>,
}

/// One sentinel's link, reconnecting forever. Returns when `events` is closed.
async fn follow(
    addr: Addr,
    auth: SentinelAuth,
    asking: Asking,
    events: mpsc::Sender<Delivery>,
    mut queries: (watch::Receiver<u64>, broadcast::Receiver<String>),
) {
    let sentinel = addr.to_string();
    let mut failures: u32 = 0;
    loop {
        info!("Connecting to sentinel {sentinel}");
        let started = Instant::now();
        let reason =
            match session::run(&addr, &auth, &sentinel, &asking, &events, &mut queries).await {
                Ok(()) => return,
                Err(reason) => reason,
            };
        let down = Delivery {
            event: LinkEvent::Down {
                sentinel: sentinel.clone(),
                reason,
            },
            receipt: None,
        };
        if events.send(down).await.is_err() {
            return;
        }
        failures = if started.elapsed() >= STABLE {
            1
        } else {
            failures + 1
        };
        sleep(jittered(backoff(failures), &sentinel)).await;
    }
}

/// `fut`, given up on after `limit`; the error says what failed and why.
async fn within<T, E: fmt::Display>(
    what: &str,
    limit: Duration,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        // One log line per event: redis errors can span several lines.
        Ok(Err(e)) => Err(format!(
            "{what}: {}",
            e.to_string().lines().collect::<Vec<_>>().join(" / ")
        )),
        Err(_) => Err(format!(
            "{what}: no answer within {} (-sentinel_timeout)",
            seconds(limit)
        )),
    }
}

fn client(addr: &Addr, auth: &SentinelAuth) -> Result<redis::Client, String> {
    let address = if auth.tls {
        redis::ConnectionAddr::TcpTls {
            host: addr.host.clone(),
            port: addr.port,
            insecure: false,
            tls_params: None,
        }
    } else {
        redis::ConnectionAddr::Tcp(addr.host.clone(), addr.port)
    };
    let mut settings = redis::RedisConnectionInfo::default();
    if let Some(user) = &auth.username {
        settings = settings.set_username(user);
    }
    if let Some(password) = &auth.password {
        settings = settings.set_password(password);
    }
    let info = redis::IntoConnectionInfo::into_connection_info(address)
        .map_err(|e| e.to_string())?
        .set_redis_settings(settings);
    match (&auth.tls, &auth.ca_file) {
        (true, Some(ca)) => {
            let root_cert = std::fs::read(ca)
                .map_err(|e| format!("cannot read the CA file {}: {e}", ca.display()))?;
            let certs = redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(root_cert),
            };
            redis::Client::build_with_tls(info, certs).map_err(|e| e.to_string())
        }
        _ => redis::Client::open(info).map_err(|e| e.to_string()),
    }
}

/// `d` as a person writes it: `30s`, `1.5s`.
fn seconds(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// PING on the pub/sub connection: an error unless the sentinel answers within `limit`.
async fn alive(mut sink: PubSubSink, limit: Duration) -> Result<(), String> {
    within("PING", limit, sink.ping::<redis::Value>())
        .await
        .map(|_| ())
}

/// The connection queries go over, shared by the queries of one link (one at a time).
type Shared = Arc<Mutex<Asker>>;

/// The connection queries go over, made and logged in within `limit`.
async fn query_connection(
    addr: &Addr,
    auth: &SentinelAuth,
    limit: Duration,
) -> Result<Shared, String> {
    let asker = within("connect", limit, Asker::connect(addr, auth, limit)).await?;
    Ok(Arc::new(Mutex::new(asker)))
}

/// `SENTINEL MASTERS`, then `SENTINEL REPLICAS <name>` for each master it reports that
/// is in `replicas_of`, read; entries that cannot be read are logged and left out. An
/// answer of the wrong shape, or none within `limit`, fails the link.
async fn query_all(
    conn: Shared,
    limit: Duration,
    replicas_of: Arc<BTreeSet<String>>,
) -> Result<Answer, String> {
    let mut conn = conn.lock().await;
    let masters = ask_entries(
        &mut conn,
        limit,
        &["SENTINEL", "MASTERS"],
        "master",
        master_from_fields,
    )
    .await?;
    let mut replicas = BTreeMap::new();
    for master in masters.iter().filter(|m| replicas_of.contains(&m.name)) {
        let found = ask_replicas(&mut conn, limit, &master.name).await?;
        replicas.insert(master.name.clone(), found);
    }
    Ok(Answer { masters, replicas })
}

/// `SENTINEL MASTER <name>` for each of `names`, with `SENTINEL REPLICAS <name>` for
/// those in `replicas_of` that the sentinel monitors. A name the sentinel refuses
/// (it does not monitor it) or reports unreadably is answered as not monitored; an
/// answer of the wrong shape, or none within `limit`, fails the link.
async fn query_masters(
    conn: Shared,
    limit: Duration,
    names: Vec<String>,
    replicas_of: Arc<BTreeSet<String>>,
) -> Result<Vec<MasterAnswer>, String> {
    let mut conn = conn.lock().await;
    let mut answers = Vec::with_capacity(names.len());
    for name in names {
        // One master's flat field list, read whole: it is no bigger than one entry.
        let answer = within(
            "SENTINEL MASTER",
            limit,
            conn.ask_value(&["SENTINEL", "MASTER", &name]),
        )
        .await?;
        let master = match answer {
            Frame::Array(Some(_)) => {
                let fields = asker::fields(&answer).map_err(|e| format!("SENTINEL MASTER: {e}"))?;
                match pairs(&fields).and_then(|fields| master_from_fields(&fields)) {
                    Ok(m) if m.name == name => Some(m),
                    // An answer about another master than asked: a sentinel's lie or a
                    // mix-up, never applied to that other master.
                    Ok(m) => {
                        warn!(
                            "Skipping SENTINEL MASTER {name}: the answer is about {}",
                            m.name
                        );
                        continue;
                    }
                    Err(e) => {
                        warn!("Skipping master {name} in SENTINEL MASTER: {e}");
                        None
                    }
                }
            }
            // "-ERR No such master with that name": it does not monitor it.
            Frame::Error(e) if e.starts_with(b"ERR") => None,
            Frame::Error(e) => {
                return Err(refused("SENTINEL MASTER", &String::from_utf8_lossy(&e)))
            }
            other => {
                return Err(format!(
                    "SENTINEL MASTER: expected a list of fields, got {}",
                    asker::kind(&other)
                ))
            }
        };
        let mut replicas = None;
        if master.is_some() && replicas_of.contains(&name) {
            replicas = Some(ask_replicas(&mut conn, limit, &name).await?);
        }
        answers.push(MasterAnswer {
            name,
            master,
            replicas,
        });
    }
    Ok(answers)
}

/// `SENTINEL REPLICAS <master>`, read, the most choosable first; entries that cannot
/// be read are logged and left out.
async fn ask_replicas(
    conn: &mut Asker,
    limit: Duration,
    master: &str,
) -> Result<Vec<ReplicaInfo>, String> {
    let args = ["SENTINEL", "REPLICAS", master];
    let entry = format!("replica of {master}");
    let found = ask_entries(conn, limit, &args, &entry, replica_from_fields).await?;
    Ok(most_choosable(found))
}

/// Asks `args` (`SENTINEL <what>` and its arguments) for a list of entries, each read
/// with `read` as it arrives and kept only as what tpc needs of it. Entries that cannot
/// be read are left out and said once (`entry` names one). An answer of the wrong
/// shape, or none within `limit`, fails the link.
async fn ask_entries<T>(
    conn: &mut Asker,
    limit: Duration,
    args: &[&str],
    entry: &str,
    read: impl Fn(&Fields<'_>) -> Result<T, SnapshotError>,
) -> Result<Vec<T>, String> {
    let command = args.iter().take(2).copied().collect::<Vec<_>>().join(" ");
    let mut found = Vec::new();
    let mut skipped = Skipped::default();
    let answered = within(
        &command,
        limit,
        conn.ask(args, |frame| {
            let fields = asker::fields(&frame).map_err(|e| format!("{e} for each {entry}"))?;
            match pairs(&fields).and_then(|fields| read(&fields)) {
                Ok(item) => found.push(item),
                Err(e) => skipped.add(e),
            }
            Ok(())
        }),
    )
    .await?;
    skipped.report(&format!("a {entry} in {command}"));
    expect_list(&command, answered)?;
    Ok(found)
}

/// The entries of one answer that could not be read: said in one line per answer, not
/// one each (a sentinel answering millions of bad entries would fill the disk).
#[derive(Default)]
struct Skipped {
    count: usize,
    first: Option<SnapshotError>,
}

impl Skipped {
    fn add(&mut self, e: SnapshotError) {
        self.count += 1;
        self.first.get_or_insert(e);
    }

    /// Logs what was skipped, if anything; `what` names one entry.
    fn report(&self, what: &str) {
        match (&self.first, self.count) {
            (Some(e), 1) => warn!("Skipping {what}: {e}"),
            (Some(e), n) => warn!(
                "Skipping {what}: {e} (and {} more entries of the same answer that cannot be read)",
                n - 1
            ),
            (None, _) => {}
        }
    }
}

/// A sentinel's error reply to `command`, with what to do about a refused login.
fn refused(command: &str, error: &str) -> String {
    let hint = match error.split(' ').next() {
        Some("NOAUTH") => "; the sentinel wants a password: give it with -sentinel_password_file, TPC_SENTINEL_PASSWORD or -sentinel_password",
        Some("NOPERM") => "; the sentinel's ACL does not let -sentinel_username run it",
        _ => "",
    };
    format!("{command}: {error}{hint}")
}

/// An answer to `command` that must be a list of entries: anything else is an error
/// that resets the link.
fn expect_list(command: &str, answered: Answered) -> Result<(), String> {
    match answered {
        Answered::List => Ok(()),
        Answered::Error(e) => Err(refused(command, &e)),
        Answered::Other(what) => Err(format!("{command}: expected a list of entries, got {what}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_with_jitter() {
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(4), Duration::from_millis(800));
        assert_eq!(backoff(50), MAX_BACKOFF);
        for _ in 0..100 {
            let d = jittered(Duration::from_millis(1000), "127.0.0.1:26379");
            assert!((750..=1250).contains(&(d.as_millis() as u64)), "{d:?}");
        }
    }

    #[test]
    fn only_a_list_is_an_answer_of_entries() {
        assert_eq!(expect_list("SENTINEL MASTERS", Answered::List), Ok(()));
        let e = expect_list("SENTINEL MASTERS", Answered::Other("a status")).unwrap_err();
        assert_eq!(
            e,
            "SENTINEL MASTERS: expected a list of entries, got a status"
        );
        let e = expect_list("SENTINEL REPLICAS", Answered::Error("ERR no".into()));
        assert_eq!(e.unwrap_err(), "SENTINEL REPLICAS: ERR no");
    }

    #[test]
    fn a_refused_login_says_what_to_give() {
        let e = refused("SENTINEL MASTERS", "NOAUTH Authentication required.");
        assert!(
            e.starts_with("SENTINEL MASTERS: NOAUTH") && e.contains("-sentinel_password_file"),
            "{e}"
        );
        let e = refused("SENTINEL MASTER", "NOPERM this user has no permissions");
        assert!(e.contains("-sentinel_username"), "{e}");
        assert_eq!(
            refused("SENTINEL MASTERS", "ERR x"),
            "SENTINEL MASTERS: ERR x"
        );
    }

    #[test]
    fn the_password_is_not_debug_printed() {
        let auth = SentinelAuth {
            password: Some("hunter2".into()),
            ..SentinelAuth::default()
        };
        assert!(!format!("{auth:?}").contains("hunter2"));
    }
}
