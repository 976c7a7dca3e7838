//! The daemon's clock: a monotonic [`Millis`] count from start, the only place the
//! daemon's core time comes from.

use tokio::time::Instant;

use crate::core::Millis;

/// Milliseconds since the daemon started, on tokio's monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    /// A clock starting now.
    pub fn start() -> Clock {
        Clock {
            start: Instant::now(),
        }
    }

    /// Now, as the core counts time.
    pub fn now(&self) -> Millis {
        Millis(self.start.elapsed().as_millis() as u64)
    }

    /// The instant a core time stands for, to sleep until it.
    pub fn instant(&self, at: Millis) -> Instant {
        self.start + std::time::Duration::from_millis(at.as_u64())
    }
}
