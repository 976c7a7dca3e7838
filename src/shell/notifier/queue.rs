//! A bounded queue of notifications for one destination: when it is full the oldest is
//! dropped (the newest says most about now), counted and said in a warning; its sender
//! never waits.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::sync::Notify;
use tracing::warn;

use crate::core::stats::is_power_of_ten;

use super::Note;

/// Notifications waiting for one destination.
#[derive(Debug)]
pub struct Queue {
    /// Whose queue it is, for warnings.
    name: &'static str,
    room: usize,
    items: Mutex<VecDeque<Note>>,
    ready: Notify,
    closed: AtomicBool,
    dropped: AtomicU64,
}

impl Queue {
    /// An empty queue holding at most `room` notifications.
    pub fn new(name: &'static str, room: usize) -> Queue {
        Queue {
            name,
            room: room.max(1),
            items: Mutex::new(VecDeque::new()),
            ready: Notify::new(),
            closed: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        }
    }

    /// Adds `note`, dropping the oldest when full. Never waits.
    pub fn push(&self, note: Note) {
        let dropped = {
            let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
            let dropped = items.len() >= self.room && items.pop_front().is_some();
            items.push_back(note);
            dropped
        };
        if dropped {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // Said at the 1st, 10th, 100th... drop: a stuck destination must not flood
            // the log either.
            if is_power_of_ten(n) {
                warn!(
                    "{} notifications are not going out fast enough: dropped the oldest waiting one ({n} so far)",
                    self.name
                );
            }
        }
        self.ready.notify_one();
    }

    /// The oldest notification; none once the queue is closed and empty.
    pub async fn pop(&self) -> Option<Note> {
        loop {
            // Registered before the check, so a push in between wakes it.
            let ready = self.ready.notified();
            if let Some(note) = self
                .items
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front()
            {
                return Some(note);
            }
            if self.closed.load(Ordering::Acquire) {
                return None;
            }
            ready.await;
        }
    }

    /// No more notifications come: [`Queue::pop`] ends once the queue is empty.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.ready.notify_one();
    }

    /// How many were dropped.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::effect::About;

    fn note(text: &str) -> Note {
        Note::new(text.into(), About::default())
    }

    #[tokio::test]
    async fn a_full_queue_drops_the_oldest_and_a_closed_one_drains() {
        let q = Queue::new("Test", 2);
        q.push(note("a"));
        q.push(note("b"));
        q.push(note("c"));
        assert_eq!(q.dropped(), 1);
        q.close();
        assert_eq!(q.pop().await.unwrap().text, "b");
        assert_eq!(q.pop().await.unwrap().text, "c");
        assert!(q.pop().await.is_none());
    }

    #[test]
    fn drops_are_said_at_powers_of_ten() {
        let said: Vec<u64> = (1..=1000).filter(|n| is_power_of_ten(*n)).collect();
        assert_eq!(said, [1, 10, 100, 1000]);
    }

    #[tokio::test]
    async fn pop_waits_for_a_push() {
        let q = std::sync::Arc::new(Queue::new("Test", 4));
        let waiting = tokio::spawn({
            let q = q.clone();
            async move { q.pop().await.map(|n| n.text) }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        q.push(note("x"));
        assert_eq!(waiting.await.unwrap().as_deref(), Some("x"));
    }
}
