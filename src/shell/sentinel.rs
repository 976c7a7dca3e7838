//! The link to Sentinel: one sentinel at a time, `PSUBSCRIBE *` first and then
//! `SENTINEL MASTERS`, so no event falls between the query and the subscription. When a
//! link drops, the next sentinel in the list is tried, with capped back-off, forever.
//! What it hears goes to the daemon as [`LinkEvent`]s.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubSink};
use tokio::sync::mpsc;
use tokio::time::{interval, sleep, timeout, Instant, MissedTickBehavior};
use tracing::{info, warn};

use crate::core::snapshot::{master_from_fields, pairs};
use crate::core::{Addr, MasterInfo};

/// How long a connect, subscribe or query may take.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// How often an idle link is checked with PING.
const PING_EVERY: Duration = Duration::from_secs(5);
/// A link that stayed up this long resets the back-off.
const STABLE: Duration = Duration::from_secs(30);
/// Longest pause between connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

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
    /// The answer to `SENTINEL MASTERS`.
    Snapshot {
        /// Which sentinel.
        sentinel: String,
        /// Masters it monitors (entries that could not be read are left out and logged).
        masters: Vec<MasterInfo>,
    },
}

/// Follows `sentinels` one at a time, forever, sending what it hears to `events`. A
/// message on `queries` asks for `SENTINEL MASTERS` again. Returns when `events` is
/// closed.
pub async fn follow(
    sentinels: Vec<Addr>,
    events: mpsc::Sender<LinkEvent>,
    mut queries: mpsc::Receiver<()>,
) {
    let mut failures: u32 = 0;
    for addr in sentinels.iter().cycle() {
        let sentinel = addr.to_string();
        info!("Connecting to sentinel {sentinel}");
        let started = Instant::now();
        let reason = match session(addr, &sentinel, &events, &mut queries).await {
            Ok(()) => return,
            Err(reason) => reason,
        };
        let down = LinkEvent::Down {
            sentinel: sentinel.clone(),
            reason,
        };
        if events.send(down).await.is_err() {
            return;
        }
        failures = if started.elapsed() >= STABLE {
            1
        } else {
            failures + 1
        };
        // Moving on to another sentinel is immediate the first time; only when they keep
        // failing does the pause grow, up to MAX_BACKOFF.
        let pause =
            Duration::from_millis(100 << failures.min(7).saturating_sub(1)).min(MAX_BACKOFF);
        if failures > 1 {
            sleep(pause).await;
        }
    }
}

async fn within<T, E: std::fmt::Display>(
    what: &str,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match timeout(IO_TIMEOUT, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!(
            "{what}: no answer within {}s",
            IO_TIMEOUT.as_secs()
        )),
    }
}

/// One link's life. `Ok` means the daemon is gone; `Err` says why the link ended.
async fn session(
    addr: &Addr,
    sentinel: &str,
    events: &mpsc::Sender<LinkEvent>,
    queries: &mut mpsc::Receiver<()>,
) -> Result<(), String> {
    let client = redis::Client::open(redis::ConnectionAddr::Tcp(addr.host.clone(), addr.port))
        .map_err(|e| e.to_string())?;
    let pubsub = within("connect", client.get_async_pubsub()).await?;
    let (mut sink, mut stream) = pubsub.split();
    within("PSUBSCRIBE *", sink.psubscribe("*")).await?;
    let mut conn = within("connect", client.get_multiplexed_async_connection()).await?;
    let masters = query_masters(&mut conn).await?;
    let send = |e: LinkEvent| async { events.send(e).await.is_err() };
    if send(LinkEvent::Up {
        sentinel: sentinel.to_string(),
    })
    .await
        || send(LinkEvent::Snapshot {
            sentinel: sentinel.to_string(),
            masters,
        })
        .await
    {
        return Ok(());
    }
    let mut ping = interval(PING_EVERY);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let event = tokio::select! {
            msg = stream.next() => {
                let msg = msg.ok_or("connection closed")?;
                LinkEvent::Message {
                    sentinel: sentinel.to_string(),
                    channel: msg.get_channel_name().to_string(),
                    payload: String::from_utf8_lossy(msg.get_payload_bytes()).into_owned(),
                }
            }
            Some(()) = queries.recv() => LinkEvent::Snapshot {
                sentinel: sentinel.to_string(),
                masters: query_masters(&mut conn).await?,
            },
            _ = ping.tick() => {
                alive(&mut sink).await?;
                continue;
            }
        };
        if send(event).await {
            return Ok(());
        }
    }
}

async fn alive(sink: &mut PubSubSink) -> Result<(), String> {
    within("PING", sink.ping::<redis::Value>())
        .await
        .map(|_| ())
}

/// `SENTINEL MASTERS`, read into masters; entries that cannot be read are logged and
/// left out.
async fn query_masters(conn: &mut MultiplexedConnection) -> Result<Vec<MasterInfo>, String> {
    let raw: Vec<Vec<String>> = within(
        "SENTINEL MASTERS",
        redis::cmd("SENTINEL").arg("MASTERS").query_async(conn),
    )
    .await?;
    Ok(raw
        .iter()
        .filter_map(|flat| {
            let fields: BTreeMap<String, String> = pairs(flat);
            master_from_fields(&fields)
                .map_err(|e| warn!("Skipping a master in SENTINEL MASTERS: {e}"))
                .ok()
        })
        .collect())
}
