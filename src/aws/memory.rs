//! In-memory twins of the AWS services, for unit and property tests.
//!
//! [`MemoryLedger`] behaves like the DynamoDB table where this function relies on it: a
//! write whose condition fails changes nothing and says so. [`MemorySchedules`] behaves
//! like EventBridge Scheduler: a create of an existing name is a conflict, an update or a
//! delete of a missing one is not found, an update replaces the whole schedule, and
//! names, `at()` expressions, targets and inputs are validated as the service does; a
//! schedule fires only when a test says so, and is then deleted. [`MemorySecrets`] reads
//! like Secrets Manager and counts its reads. [`MemoryReports`] behaves like a versioned
//! S3 bucket: a put under an existing key keeps the old object as an older version.
//!
//! Faults can be scripted into each, calls can be slowed (to test deadlines), and calls
//! can be made to yield a random number of times first, so that concurrent invocations
//! interleave at every await point as they would against the real service.
//!
//! One file per twin; what their calls share (scripted outcomes, pacing) is here.

mod deprovisioning;
mod ledger;
mod reports;
mod scheduler;
mod secrets;

pub use deprovisioning::MemoryDeprovisionStore;
pub use ledger::{MemoryLedger, Write};
pub use reports::{MemoryReports, StoredObject};
pub use scheduler::{MemorySchedules, StoredSchedule};
pub use secrets::MemorySecrets;

use std::sync::Mutex;
use std::time::Duration;

/// What every twin's calls share: scripted outcomes, a call count, a delay and the
/// interleaving.
#[derive(Debug)]
struct Calls<E> {
    count: usize,
    script: Vec<Option<E>>,
    delay: Option<Duration>,
    jitter: Option<u64>,
}

impl<E> Default for Calls<E> {
    fn default() -> Self {
        Calls {
            count: 0,
            script: Vec::new(),
            delay: None,
            jitter: None,
        }
    }
}

impl<E> Calls<E> {
    /// Counts a call, and returns its scripted failure, its delay and how many times it
    /// yields first.
    fn next(&mut self) -> (Option<E>, Option<Duration>, u64) {
        self.count += 1;
        let failure = if self.script.is_empty() {
            None
        } else {
            self.script.remove(0)
        };
        let yields = match &mut self.jitter {
            Some(state) => {
                // xorshift64: reproducible from the seed, no dependency.
                *state ^= *state << 13;
                *state ^= *state >> 7;
                *state ^= *state << 17;
                *state % 4
            }
            None => 0,
        };
        (failure, self.delay, yields)
    }
}

/// Waits as a slow or busy service would before answering.
async fn pace(delay: Option<Duration>, yields: u64) {
    for _ in 0..yields {
        tokio::task::yield_now().await;
    }
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
