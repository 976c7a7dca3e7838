//! The one outcome every effect owes the core (DESIGN.md invariant 10), whatever
//! happens to the task performing it. A [`Reply`] goes with that task: sending consumes
//! it, and a reply dropped unsent (the task panicked, was cancelled, or never ran)
//! sends a failed outcome itself.

use std::future::Future;

use tokio::sync::mpsc;

use crate::core::{EffectId, Outcome};

/// An effect's id and how it went, on its way back to the core.
pub type Done = (EffectId, Outcome);

/// What a reply dropped unsent says.
pub const NO_OUTCOME: &str =
    "the task performing it ended without an outcome (it panicked or was cancelled: a bug in tpc)";

/// The outcome owed for one effect, sent exactly once.
#[derive(Debug)]
pub struct Reply {
    id: EffectId,
    done: Option<mpsc::UnboundedSender<Done>>,
}

impl Reply {
    /// The outcome of effect `id`, to be sent to `done`.
    pub fn new(id: EffectId, done: mpsc::UnboundedSender<Done>) -> Reply {
        Reply {
            id,
            done: Some(done),
        }
    }

    /// Sends `result` as the outcome: `Ok`, or `Failed` with the error.
    pub fn send(mut self, result: Result<(), String>) {
        let outcome = match result {
            Ok(()) => Outcome::Ok,
            Err(error) => Outcome::Failed { error },
        };
        self.send_outcome(outcome);
    }

    fn send_outcome(&mut self, outcome: Outcome) {
        if let Some(done) = self.done.take() {
            // The receiver is gone only when the daemon has stopped: nobody to tell.
            let _ = done.send((self.id, outcome));
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        self.send_outcome(Outcome::Failed {
            error: NO_OUTCOME.to_string(),
        });
    }
}

/// Runs `work` on a blocking thread; its result is `reply`'s outcome.
pub fn spawn_blocking(reply: Reply, work: impl FnOnce() -> Result<(), String> + Send + 'static) {
    tokio::task::spawn_blocking(move || reply.send(work()));
}

/// Runs `work` as a task; its result is `reply`'s outcome.
pub fn spawn(reply: Reply, work: impl Future<Output = Result<(), String>> + Send + 'static) {
    tokio::spawn(async move { reply.send(work.await) });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything sent for one effect performed by `perform`, until the channel closes.
    async fn outcomes(perform: impl FnOnce(Reply)) -> Vec<Done> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        perform(Reply::new(EffectId(7), tx));
        let mut all = Vec::new();
        while let Some(done) = rx.recv().await {
            all.push(done);
        }
        all
    }

    fn failed(error: &str) -> Vec<Done> {
        vec![(
            EffectId(7),
            Outcome::Failed {
                error: error.into(),
            },
        )]
    }

    #[tokio::test]
    async fn a_task_that_finishes_sends_its_outcome_once() {
        let ok = outcomes(|r| spawn(r, async { Ok(()) })).await;
        assert_eq!(ok, vec![(EffectId(7), Outcome::Ok)]);
        let no = outcomes(|r| spawn_blocking(r, || Err("disk full".into()))).await;
        assert_eq!(no, failed("disk full"));
    }

    #[tokio::test]
    async fn a_task_that_panics_still_sends_exactly_one_failed() {
        let all = outcomes(|r| spawn(r, async { panic!("performer bug") })).await;
        assert_eq!(all, failed(NO_OUTCOME));
        let all = outcomes(|r| spawn_blocking(r, || panic!("performer bug"))).await;
        assert_eq!(all, failed(NO_OUTCOME));
    }

    #[tokio::test]
    async fn a_reply_dropped_unsent_or_cancelled_sends_failed() {
        assert_eq!(outcomes(drop).await, failed(NO_OUTCOME));
        let cancelled = outcomes(|reply| {
            let task = tokio::spawn(async move {
                std::future::pending::<()>().await;
                reply.send(Ok(()));
            });
            task.abort();
        })
        .await;
        assert_eq!(cancelled, failed(NO_OUTCOME));
    }
}
