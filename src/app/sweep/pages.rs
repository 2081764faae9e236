//! Reading one page of the account's employees from Merge, with the retries and waits
//! that fit the budget.

use super::secret::Reconciliation;
use super::{CHECKPOINT_RESERVE, INITIAL_BACKOFF, MAX_BACKOFF, PAGE_ATTEMPTS};
use crate::app::budget::Budget;
use crate::domain::reconcile::Totals;
use crate::merge::pages::{Credentials, EmployeeQuery, MAX_RETRY_AFTER, MergeError, Page};
use std::time::Duration;

/// Reads one page, retrying 429, 5xx and timeouts with backoff (or after `Retry-After`),
/// as long as the wait fits the budget.
pub(super) async fn read_page(
    reconciliation: &Reconciliation,
    credentials: Credentials<'_>,
    query: &EmployeeQuery,
    totals: &mut Totals,
    budget: &Budget,
) -> Result<Page, MergeError> {
    let mut backoff = INITIAL_BACKOFF;
    let mut attempt = 0;
    loop {
        attempt += 1;
        totals.requests += 1;
        let answer = budget
            .run_leaving(
                CHECKPOINT_RESERVE,
                reconciliation.pages.list_page(credentials, query),
            )
            .await
            .unwrap_or(Err(MergeError::TimedOut));
        let error = match answer {
            Ok(page) => return Ok(page),
            Err(error) => error,
        };
        if let MergeError::RateLimited { .. } = error {
            totals.rate_limited += 1;
        }
        if !error.is_transient() || attempt >= PAGE_ATTEMPTS {
            return Err(error);
        }
        let wait = match &error {
            MergeError::RateLimited {
                retry_after: Some(after),
            } => (*after).min(MAX_RETRY_AFTER),
            _ => jittered(backoff),
        };
        backoff = (backoff * 2).min(MAX_BACKOFF);
        if budget.left() < wait + CHECKPOINT_RESERVE {
            return Err(error);
        }
        tokio::time::sleep(wait).await;
    }
}

/// `wait` less up to a quarter, so that sweeps throttled together do not retry together.
fn jittered(wait: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    wait - wait / 4 * (nanos % 1000) / 1000
}
