//! The invocation's time budget: every outside call is bounded by what is left before
//! the invocation's own deadline, less a reserve for writing the answer, so that each
//! path ends in its own clean answer (a 503 with its ERROR record) instead of a Lambda
//! timeout, which Merge sees as a bare 502 and nothing records.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Kept back from the deadline for the record, the metrics line and the response.
pub const RESERVE: Duration = Duration::from_millis(500);
/// The budget when the invocation names no deadline (a request built by hand, as in
/// tests and the replay example): the template's timeout less the reserve.
pub const WITHOUT_DEADLINE: Duration = Duration::from_millis(9_500);

/// When the outside calls of one invocation must be done.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    until: Instant,
    /// How long the invocation had when it started, the reserve included: its timeout.
    granted: Duration,
}

/// The budget ran out before the call answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted;

impl Budget {
    /// A budget of `duration` from now.
    pub fn of(duration: Duration) -> Self {
        Budget {
            until: Instant::now() + duration,
            granted: duration + RESERVE,
        }
    }

    /// The budget of an invocation whose deadline is `deadline_ms` (milliseconds since
    /// the Unix epoch, as the Runtime API gives it; 0 for none), less [`RESERVE`].
    pub fn until_deadline(deadline_ms: u64) -> Self {
        if deadline_ms == 0 {
            return Self::of(WITHOUT_DEADLINE);
        }
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let left = Duration::from_millis(
            u64::try_from(u128::from(deadline_ms).saturating_sub(now_ms)).unwrap_or(u64::MAX),
        );
        Self::of(left.saturating_sub(RESERVE))
    }

    /// How long the invocation had when it started: no invocation of the function runs
    /// longer than this.
    pub fn granted(&self) -> Duration {
        self.granted
    }

    /// What is left.
    pub fn left(&self) -> Duration {
        self.until.saturating_duration_since(Instant::now())
    }

    /// Runs `call`, or gives up `kept` before the budget runs out, so that what comes
    /// after it still has that long.
    pub async fn run_leaving<T>(
        &self,
        kept: Duration,
        call: impl Future<Output = T>,
    ) -> Result<T, Exhausted> {
        let until = self.until.checked_sub(kept).unwrap_or(self.until);
        bounded(until.max(Instant::now()), call).await
    }

    /// Runs `call`, or gives up when the budget runs out.
    pub async fn run<T>(&self, call: impl Future<Output = T>) -> Result<T, Exhausted> {
        bounded(self.until, call).await
    }
}

/// Runs `call` until `until`. A call that answers at once (keys from the environment,
/// an in-memory twin) arms no timer, so the request path needs none when it makes no
/// outside call.
async fn bounded<T>(until: Instant, call: impl Future<Output = T>) -> Result<T, Exhausted> {
    let mut call = std::pin::pin!(call);
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(call.as_mut().poll(cx))).await;
    if let std::task::Poll::Ready(answer) = first {
        return Ok(answer);
    }
    tokio::time::timeout_at(until, call)
        .await
        .map_err(|_| Exhausted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch_ms_in(duration: Duration) -> u64 {
        (SystemTime::now() + duration)
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    }

    #[test]
    fn the_budget_is_the_time_to_the_deadline_less_the_reserve() {
        let budget = Budget::until_deadline(epoch_ms_in(Duration::from_secs(3)));
        let left = budget.left();
        assert!(left <= Duration::from_millis(2_500), "{left:?}");
        assert!(left > Duration::from_millis(2_000), "{left:?}");
    }

    #[test]
    fn a_deadline_already_near_leaves_nothing_and_none_leaves_the_default() {
        let near = Budget::until_deadline(epoch_ms_in(Duration::from_millis(100)));
        assert_eq!(near.left(), Duration::ZERO);
        let none = Budget::until_deadline(0);
        assert!(none.left() > Duration::from_secs(9));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_call_longer_than_the_budget_is_abandoned() {
        let budget = Budget::of(Duration::from_millis(20));
        let slow = budget.run(tokio::time::sleep(Duration::from_secs(5))).await;
        assert_eq!(slow, Err(Exhausted));
        let fast = Budget::of(Duration::from_secs(5)).run(async { 7 }).await;
        assert_eq!(fast, Ok(7));
    }
}
