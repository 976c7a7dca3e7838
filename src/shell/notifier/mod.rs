//! Notifications, each destination fed by a task of its own from a bounded queue that
//! drops the oldest (`queue`), so that notifying never delays failover handling: Slack's
//! Web API (`slack`) and a webhook (`webhook`). Each post has a bounded time and is
//! tried a few times; at shutdown what is still queued gets a bounded time to go out.

mod queue;
pub mod slack;
pub mod webhook;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::task::JoinSet;
use tracing::{debug, warn};

use crate::core::effect::About;

use super::cli::{SlackOptions, WebhookOptions};

pub use queue::Queue;

/// Notifications waiting per destination before the oldest is dropped.
const ROOM: usize = 256;
/// How long one post may take.
const POST_TIMEOUT: Duration = Duration::from_secs(5);
/// Tries per notification, and the pause before each retry.
const RETRY_PAUSES: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(3)];

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The message, for people.
    pub text: String,
    /// What it is about, for tools.
    pub about: About,
    /// When tpc decided it.
    pub at: SystemTime,
}

impl Note {
    /// A notification decided now.
    pub fn new(text: String, about: About) -> Note {
        Note {
            text,
            about,
            at: SystemTime::now(),
        }
    }
}

/// Hands notifications to every configured destination; does nothing without one.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    queues: Vec<Arc<Queue>>,
    tasks: Arc<Mutex<JoinSet<()>>>,
}

impl Notifier {
    /// Starts a task per configured destination; must be called inside a tokio runtime.
    pub fn start(slack: Option<SlackOptions>, webhook: Option<WebhookOptions>) -> Notifier {
        let mut notifier = Notifier::default();
        let mut tasks = JoinSet::new();
        if let Some(options) = slack {
            let queue = Arc::new(Queue::new("Slack", ROOM));
            tasks.spawn(slack::post_all(options, queue.clone()));
            notifier.queues.push(queue);
        }
        if let Some(options) = webhook {
            let queue = Arc::new(Queue::new("Webhook", ROOM));
            tasks.spawn(webhook::post_all(options, queue.clone()));
            notifier.queues.push(queue);
        }
        notifier.tasks = Arc::new(Mutex::new(tasks));
        notifier
    }

    /// Queues `text` (about nothing in particular) for every destination; never waits.
    pub fn send(&self, text: String) {
        self.notify(Note::new(text, About::default()));
    }

    /// Queues `note` for every destination; never waits.
    pub fn notify(&self, note: Note) {
        if self.queues.is_empty() {
            debug!("Notification (none configured): {}", note.text);
        }
        for queue in &self.queues {
            queue.push(note.clone());
        }
    }

    /// No more notifications: gives what is queued up to `within` to go out.
    pub async fn finish(&self, within: Duration) {
        for queue in &self.queues {
            queue.close();
        }
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        let all_out = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(within, all_out).await.is_err() {
            warn!(
                "Notifications still queued {}s after the stop are not sent",
                within.as_secs()
            );
        }
    }
}

/// Delivers every notification of `queue` with `post` (given a shared HTTP client),
/// each within [`POST_TIMEOUT`] and tried again after each of [`RETRY_PAUSES`]; a
/// notification that fails every try is logged and dropped.
pub async fn deliver_all<F, Fut>(name: &str, queue: Arc<Queue>, post: F)
where
    F: Fn(reqwest::Client, Note) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let client = match reqwest::Client::builder().timeout(POST_TIMEOUT).build() {
        Ok(c) => c,
        Err(e) => {
            warn!("{name} notifications disabled: cannot build an HTTP client: {e}");
            return;
        }
    };
    while let Some(note) = queue.pop().await {
        let mut pauses = RETRY_PAUSES.iter();
        loop {
            match post(client.clone(), note.clone()).await {
                Ok(()) => break,
                Err(e) => match pauses.next() {
                    Some(pause) => {
                        debug!("{name} notification failed ({e}); trying again");
                        tokio::time::sleep(*pause).await;
                    }
                    None => {
                        warn!("{name} notification failed: {e}");
                        break;
                    }
                },
            }
        }
    }
}
