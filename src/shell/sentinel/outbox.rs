//! What one sentinel link holds for the daemon, bounded. The link reads its pub/sub
//! connection as fast as the bytes arrive (the client library queues whatever is not
//! read, without limit) and keeps here what the daemon has not taken yet. When the
//! daemon falls behind, informative events are dropped and counted; the events tpc acts
//! on are kept, and should even those not fit, the link owes the core a fresh
//! `SENTINEL MASTERS` instead of losing them silently.
//!
//! [`Unread`] counts what the link handed to the daemon and the core has not taken in
//! yet, so the link can tell when the core has caught up.

use crate::core::event::acted_on;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use super::{Answer, LinkEvent, MasterAnswer};

/// Events an outbox holds, at most.
pub const ROOM: usize = 4096;
/// Informative events are held only while fewer than this many events are: the rest of
/// the room is kept for the events tpc acts on.
pub const ROOM_FOR_INFORMATIVE: usize = 1024;

/// One link's events on their way to the daemon, oldest first.
#[derive(Debug, Default)]
pub struct Outbox {
    events: VecDeque<LinkEvent>,
    /// Informative events dropped since the last report.
    dropped: u64,
    /// Vital events that did not fit since the last report.
    overflowed: u64,
    /// A vital event did not fit since the last [`Outbox::take_stale`].
    stale: bool,
}

impl Outbox {
    /// Takes a pub/sub message from `sentinel`, unless there is no room for it: an
    /// informative one is then dropped and counted, a vital one makes the outbox stale.
    pub fn push_message(&mut self, sentinel: &str, channel: &str, payload: &[u8]) {
        // What the core acts on is never dropped silently.
        let vital = acted_on(channel);
        let room = if vital { ROOM } else { ROOM_FOR_INFORMATIVE };
        if self.events.len() >= room {
            if vital {
                self.overflowed += 1;
                self.stale = true;
            } else {
                self.dropped += 1;
            }
            return;
        }
        self.events.push_back(LinkEvent::Message {
            sentinel: sentinel.to_string(),
            channel: channel.to_string(),
            payload: String::from_utf8_lossy(payload).into_owned(),
        });
    }

    /// Takes an answer to `SENTINEL MASTERS` (and `REPLICAS`), always: it replaces an
    /// older answer still held, which it supersedes.
    pub fn push_answer(&mut self, sentinel: &str, answer: Answer) {
        self.events
            .retain(|e| !matches!(e, LinkEvent::Snapshot { .. }));
        self.events.push_back(LinkEvent::Snapshot {
            sentinel: sentinel.to_string(),
            answer,
        });
    }

    /// Takes an answer to `SENTINEL MASTER <name>`, always, after what is held.
    pub fn push_master(&mut self, sentinel: &str, answer: MasterAnswer) {
        self.events.push_back(LinkEvent::Master {
            sentinel: sentinel.to_string(),
            answer,
        });
    }

    /// The link is up with this first answer: both go before every message heard while
    /// the answer was on its way, as if the messages came after it.
    pub fn link_up(&mut self, sentinel: &str, answer: Answer) {
        self.events.push_front(LinkEvent::Snapshot {
            sentinel: sentinel.to_string(),
            answer,
        });
        self.events.push_front(LinkEvent::Up {
            sentinel: sentinel.to_string(),
        });
    }

    /// The oldest event, taken out.
    pub fn pop(&mut self) -> Option<LinkEvent> {
        self.events.pop_front()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Whether a vital event did not fit since the last call: the sentinel must then be
    /// asked for its masters again.
    pub fn take_stale(&mut self) -> bool {
        std::mem::take(&mut self.stale)
    }

    /// What was dropped since the last report, as a log line; none if nothing was.
    pub fn take_report(&mut self, sentinel: &str) -> Option<String> {
        let (dropped, overflowed) = (self.dropped, self.overflowed);
        (self.dropped, self.overflowed) = (0, 0);
        match (dropped, overflowed) {
            (0, 0) => None,
            (d, 0) => Some(format!(
                "Sentinel {sentinel}: tpc fell behind its events and dropped {d} informative one(s)"
            )),
            (d, o) => Some(format!(
                "Sentinel {sentinel}: tpc fell behind its events, dropped {d} informative one(s) and {o} it acts on; it asked SENTINEL MASTERS again instead"
            )),
        }
    }
}

/// Counts the events a link handed to the daemon that the core has not taken in yet.
#[derive(Debug, Default)]
pub struct Unread {
    count: AtomicUsize,
    none_left: Notify,
}

/// One event handed to the daemon; dropping it, once the core took the event in,
/// counts it read.
#[derive(Debug)]
pub struct Receipt(Arc<Unread>);

impl Unread {
    /// A receipt for one more event handed over.
    pub fn receipt(self: &Arc<Self>) -> Receipt {
        self.count.fetch_add(1, Ordering::AcqRel);
        Receipt(Arc::clone(self))
    }

    /// Whether the core took in every event handed over.
    pub fn is_empty(&self) -> bool {
        self.count.load(Ordering::Acquire) == 0
    }

    /// Completes once the core took in every event handed over.
    pub async fn all_read(&self) {
        loop {
            // Registered before the check, so a last receipt dropped in between wakes it.
            let none_left = self.none_left.notified();
            if self.is_empty() {
                return;
            }
            none_left.await;
        }
    }
}

impl Drop for Receipt {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.none_left.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &str = "127.0.0.1:26379";

    fn channels(outbox: &mut Outbox) -> Vec<String> {
        std::iter::from_fn(|| outbox.pop())
            .map(|e| match e {
                LinkEvent::Message { channel, .. } => channel,
                LinkEvent::Snapshot { answer, .. } => format!(
                    "snapshot {} {}",
                    answer.masters.len(),
                    answer.replicas.len()
                ),
                LinkEvent::Master { answer, .. } => format!("master {}", answer.name),
                LinkEvent::Up { .. } => "up".into(),
                LinkEvent::Down { .. } => "down".into(),
            })
            .collect()
    }

    #[test]
    fn informative_events_are_dropped_first_and_counted() {
        let mut outbox = Outbox::default();
        for _ in 0..ROOM_FOR_INFORMATIVE + 10 {
            outbox.push_message(S, "+failover-end", b"x");
        }
        outbox.push_message(S, "+switch-master", b"m 1.1.1.1 1 2.2.2.2 2");
        assert!(!outbox.take_stale());
        let report = outbox.take_report(S).unwrap();
        assert!(report.contains("dropped 10 informative"), "{report}");
        assert_eq!(outbox.take_report(S), None);
        let held = channels(&mut outbox);
        assert_eq!(held.len(), ROOM_FOR_INFORMATIVE + 1);
        assert_eq!(held.last().unwrap(), "+switch-master");
    }

    #[test]
    fn a_vital_event_that_does_not_fit_makes_the_outbox_stale() {
        let mut outbox = Outbox::default();
        for _ in 0..ROOM + 3 {
            outbox.push_message(S, "-monitor", b"master m 1.1.1.1 1");
        }
        assert!(outbox.take_stale());
        assert!(!outbox.take_stale());
        let report = outbox.take_report(S).unwrap();
        assert!(report.contains("3 it acts on"), "{report}");
        assert_eq!(channels(&mut outbox).len(), ROOM);
    }

    #[test]
    fn a_newer_answer_replaces_an_older_one_and_the_first_goes_first() {
        let mut outbox = Outbox::default();
        outbox.push_message(S, "+odown", b"master m 1.1.1.1 1");
        let answer = |masters, replicas| Answer { masters, replicas };
        let m = crate::core::MasterInfo {
            name: "m".into(),
            addr: crate::core::Addr {
                host: "1.1.1.1".into(),
                port: 1,
            },
            epoch: Some(1),
        };
        outbox.link_up(S, answer(vec![], [("m".into(), vec![])].into()));
        outbox.push_message(S, "-odown", b"master m 1.1.1.1 1");
        outbox.push_answer(S, answer(vec![], [].into()));
        outbox.push_message(S, "+sdown", b"x");
        outbox.push_answer(S, answer(vec![m], [("m".into(), vec![])].into()));
        assert_eq!(
            channels(&mut outbox),
            ["up", "+odown", "-odown", "+sdown", "snapshot 1 1"]
        );
    }

    #[tokio::test]
    async fn all_read_waits_for_the_last_receipt() {
        let unread = Arc::new(Unread::default());
        unread.all_read().await;
        let (a, b) = (unread.receipt(), unread.receipt());
        assert!(!unread.is_empty());
        drop(a);
        let waiting = tokio::spawn({
            let unread = Arc::clone(&unread);
            async move { unread.all_read().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(b);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .unwrap()
            .unwrap();
    }
}
