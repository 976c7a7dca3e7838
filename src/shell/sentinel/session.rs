//! One sentinel link's life, from connecting to the error that ends it. One loop does
//! everything side by side, nothing waiting on anything else: reading the pub/sub
//! connection as fast as it comes (into the bounded [`Outbox`]), handing events to the
//! daemon as it takes them, one `SENTINEL MASTERS` at a time, and a PING now and then.
//!
//! Queries are coalesced. The core may ask for one per event it takes in (every switch
//! of a master it does not know does), but a link has at most one query in flight and
//! owes at most one more. The owed one waits until the core took in every event the
//! link handed over, so that one answer covers them all, and until [`QUERY_GAP`] after
//! the previous one began, so that a sentinel answering for thousands of masters is
//! not asked many times a second; but never longer than [`QUERY_HOLD`], so a steady
//! flood cannot hold it back for ever.
//!
//! The core may also ask about single masters (`SENTINEL MASTER <name>`, the cheap
//! confirmation of one switch). Those names are owed alike, one set of them, and go as
//! soon as nothing is in flight and the core caught up with the link (no gap: each is
//! a small answer); a whole answer starting covers every name owed before it, and more
//! than [`NAMES_OWED_MAX`] names owed become one whole query.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use redis::aio::{PubSubSink, PubSubStream};
use redis::Msg;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::{interval, sleep_until, Instant, MissedTickBehavior};
use tracing::warn;

use crate::core::Addr;

use super::outbox::{Outbox, Unread};
use super::{
    alive, client, query_all, query_connection, query_masters, within, Answer, Asking, Delivery,
    MasterAnswer, SentinelAuth, Shared, PING_EVERY,
};

/// The longest an owed query waits.
const QUERY_HOLD: Duration = Duration::from_secs(1);
/// An owed query waits this long after the previous one began, unless it was owed for
/// [`QUERY_HOLD`] already.
const QUERY_GAP: Duration = Duration::from_secs(1);
/// More names owed than this are asked about with one whole query: a flood of switches
/// of masters tpc does not know cannot grow the set without bound.
const NAMES_OWED_MAX: usize = 64;

/// An answer to a query in flight.
enum Reply {
    /// `SENTINEL MASTERS`.
    All(Answer),
    /// `SENTINEL MASTER <name>` for some names.
    Masters(Vec<MasterAnswer>),
}

type Pending<T> = Option<BoxFuture<'static, Result<T, String>>>;

/// One link's life. `Ok` means the daemon is gone; `Err` says why the link ended.
pub(super) async fn run(
    addr: &Addr,
    auth: &SentinelAuth,
    sentinel: &str,
    asking: &Asking,
    events: &mpsc::Sender<Delivery>,
    queries: &mut (watch::Receiver<u64>, broadcast::Receiver<String>),
) -> Result<(), String> {
    let timeout = asking.timeout;
    let client = client(addr, auth)?;
    // Both connections are made before subscribing, so no event arrives unread.
    let conn = query_connection(addr, auth, timeout).await?;
    let pubsub = within("connect", timeout, client.get_async_pubsub()).await?;
    let (mut sink, mut stream) = pubsub.split();
    within("PSUBSCRIBE *", timeout, sink.psubscribe("*")).await?;
    // The first whole answer covers every ask made before it.
    queries.0.mark_unchanged();
    queries.1 = queries.1.resubscribe();
    let mut link = Link {
        sentinel,
        asking,
        conn,
        sink,
        events,
        outbox: Outbox::default(),
        unread: Arc::new(Unread::default()),
        linked: false,
        owed: None,
        names: BTreeSet::new(),
        names_since: None,
        last_asked: None,
        query: None,
        ping: None,
    };
    let ended = link.follow(&mut stream, queries).await;
    if let Some(report) = link.outbox.take_report(sentinel) {
        warn!("{report}");
    }
    // What the link heard before it failed still goes to the core, in order.
    if ended.is_err() && link.linked && !link.flush().await {
        return Ok(());
    }
    ended
}

/// The state of one link while it is connected.
struct Link<'a> {
    /// Which sentinel, `host:port`.
    sentinel: &'a str,
    /// What to ask, and how long an answer may take.
    asking: &'a Asking,
    /// The connection queries go over.
    conn: Shared,
    /// The pub/sub connection's sending half, for PING.
    sink: PubSubSink,
    /// Where events go.
    events: &'a mpsc::Sender<Delivery>,
    /// What the daemon has not taken yet.
    outbox: Outbox,
    /// What the daemon took and the core has not yet taken in.
    unread: Arc<Unread>,
    /// Whether the first answer arrived (the link is up).
    linked: bool,
    /// Since when a query is owed, if one is.
    owed: Option<Instant>,
    /// Masters owed a `SENTINEL MASTER <name>`.
    names: BTreeSet<String>,
    /// Since when `names` is not empty.
    names_since: Option<Instant>,
    /// When the last query began.
    last_asked: Option<Instant>,
    /// The query in flight.
    query: Pending<Reply>,
    /// The PING in flight.
    ping: Pending<()>,
}

impl Link<'_> {
    /// Starts a `SENTINEL MASTERS`: it covers every name owed.
    fn ask(&mut self) {
        self.last_asked = Some(Instant::now());
        self.names.clear();
        self.names_since = None;
        let replicas_of = self.asking.replicas_of.clone();
        let query = query_all(self.conn.clone(), self.asking.timeout, replicas_of);
        self.query = Some(query.map(|r| r.map(Reply::All)).boxed());
    }

    /// Starts a `SENTINEL MASTER <name>` for every name owed.
    fn ask_names(&mut self) {
        let names = std::mem::take(&mut self.names).into_iter().collect();
        self.names_since = None;
        let replicas_of = self.asking.replicas_of.clone();
        let query = query_masters(self.conn.clone(), self.asking.timeout, names, replicas_of);
        self.query = Some(query.map(|r| r.map(Reply::Masters)).boxed());
    }

    /// Notes that a query is owed (once: later asks join it).
    fn owe(&mut self) {
        self.owed.get_or_insert_with(Instant::now);
    }

    /// Notes that `name` is owed a `SENTINEL MASTER <name>`; too many owed, a whole
    /// query instead.
    fn owe_name(&mut self, name: String) {
        self.names.insert(name);
        self.names_since.get_or_insert_with(Instant::now);
        if self.names.len() > NAMES_OWED_MAX {
            self.owe();
        }
    }

    /// Whether an owed query waits only for the core to take in what it was handed.
    fn waits_for_core(&self) -> bool {
        (self.owed.is_some() || self.names_since.is_some())
            && self.query.is_none()
            && self.outbox.is_empty()
            && !self.unread.is_empty()
    }

    /// Starts the owed query when none is in flight, the core caught up with this link
    /// and the previous query began long enough ago; or once it waited long enough.
    fn start_owed_query(&mut self) {
        if self.query.is_some() {
            return;
        }
        if let Some(since) = self.owed {
            let rested = self.last_asked.is_none_or(|t| t.elapsed() >= QUERY_GAP);
            if (self.caught_up() && rested) || since.elapsed() >= QUERY_HOLD {
                self.owed = None;
                self.ask();
                return;
            }
        }
        if let Some(since) = self.names_since {
            if self.caught_up() || since.elapsed() >= QUERY_HOLD {
                self.ask_names();
            }
        }
    }

    /// Whether the core took in everything this link heard.
    fn caught_up(&self) -> bool {
        self.linked && self.outbox.is_empty() && self.unread.is_empty()
    }

    /// When the owed query may start if nothing but time changes: at the end of the gap
    /// after the previous query when only that holds it, else at the end of the hold.
    /// None when no query waits.
    fn owed_due(&self) -> Option<Instant> {
        if self.query.is_some() {
            return None;
        }
        let all = self.owed.map(|since| {
            let hold = since + QUERY_HOLD;
            match self.last_asked {
                Some(last) if self.caught_up() => hold.min(last + QUERY_GAP),
                _ => hold,
            }
        });
        let names = self.names_since.map(|since| since + QUERY_HOLD);
        all.into_iter().chain(names).min()
    }

    /// One message from the pub/sub connection; none when it closed.
    fn take(&mut self, msg: Option<Msg>) -> Result<(), String> {
        let msg = msg.ok_or("connection closed")?;
        self.outbox.push_message(
            self.sentinel,
            msg.get_channel_name(),
            msg.get_payload_bytes(),
        );
        Ok(())
    }

    /// An answer to `SENTINEL MASTERS` (and `REPLICAS`), the first of which brings the
    /// link up, or to `SENTINEL MASTER <name>`s.
    fn answered(&mut self, reply: Reply) {
        let answer = match reply {
            Reply::All(answer) => answer,
            Reply::Masters(answers) => {
                for answer in answers {
                    self.outbox.push_master(self.sentinel, answer);
                }
                return;
            }
        };
        if self.linked {
            self.outbox.push_answer(self.sentinel, answer);
        } else {
            self.outbox.link_up(self.sentinel, answer);
            self.linked = true;
        }
    }

    /// Follows the sentinel until the link fails (`Err`) or the daemon is gone (`Ok`).
    async fn follow(
        &mut self,
        stream: &mut PubSubStream,
        queries: &mut (watch::Receiver<u64>, broadcast::Receiver<String>),
    ) -> Result<(), String> {
        self.ask();
        let mut tick = interval(PING_EVERY);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            self.start_owed_query();
            let can_send = self.linked && !self.outbox.is_empty();
            let waits_for_core = self.waits_for_core();
            let due = self.owed_due();
            tokio::select! {
                // Everything there is gets read at once: what is not read piles up in the
                // client library without limit.
                msg = stream.next() => {
                    self.take(msg)?;
                    while let Some(msg) = tokio::task::unconstrained(stream.next()).now_or_never() {
                        self.take(msg)?;
                    }
                    if self.outbox.take_stale() {
                        self.owe();
                    }
                }
                answer = settle(&mut self.query) => {
                    self.query = None;
                    self.answered(answer?);
                }
                permit = self.events.reserve(), if can_send => {
                    let Ok(mut permit) = permit else { return Ok(()) };
                    // Then as many as there is room for at once, not one per turn.
                    while let Some(event) = self.outbox.pop() {
                        permit.send(Delivery { event, receipt: Some(self.unread.receipt()) });
                        let Ok(next) = self.events.try_reserve() else { break };
                        permit = next;
                    }
                }
                changed = queries.0.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    self.owe();
                }
                name = queries.1.recv() => match name {
                    Ok(name) => self.owe_name(name),
                    // Names were missed: a whole answer covers them.
                    Err(RecvError::Lagged(_)) => self.owe(),
                    Err(RecvError::Closed) => return Ok(()),
                },
                () = self.unread.all_read(), if waits_for_core => {}
                () = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {}
                pong = settle(&mut self.ping) => {
                    self.ping = None;
                    pong?;
                }
                _ = tick.tick() => {
                    if let Some(report) = self.outbox.take_report(self.sentinel) {
                        warn!("{report}");
                    }
                    if self.ping.is_none() {
                        self.ping = Some(alive(self.sink.clone(), self.asking.timeout).boxed());
                    }
                }
            }
        }
    }

    /// Hands the daemon every event still held; false if the daemon is gone.
    async fn flush(&mut self) -> bool {
        while let Some(event) = self.outbox.pop() {
            let delivery = Delivery {
                event,
                receipt: None,
            };
            if self.events.send(delivery).await.is_err() {
                return false;
            }
        }
        true
    }
}

/// The outcome of the operation in `slot`; never, if there is none.
async fn settle<T>(slot: &mut Pending<T>) -> Result<T, String> {
    match slot {
        Some(operation) => operation.await,
        None => std::future::pending().await,
    }
}
