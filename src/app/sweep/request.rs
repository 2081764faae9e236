//! Asking for a sweep: the one-time schedules that start an account's sweep, or a
//! sweep's own follow-up, and the request a sync_completed webhook makes.

use super::secret::Reconciliation;
use crate::app::budget::Budget;
use crate::app::settle::Effects;
use crate::aws::scheduler::{ScheduleTarget, SchedulerError};
use crate::domain::reconcile::{ReconcileDocument, follow_up_schedule_name, sweep_schedule_name};
use crate::domain::schedule::{MIN_LEAD, whole_minute_at_or_after};
use chrono::{DateTime, Utc};

/// What became of a request for a sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// A one-time schedule now starts it.
    Scheduled(String),
    /// One was already pending: this request joins it.
    Pending(String),
    /// The secret holds no token for the account.
    UnknownAccount,
    /// Scheduler refused or failed.
    Failed(SchedulerError),
}

/// Creates the account's sweep schedule at `at` (a whole minute), unless one is pending.
pub async fn schedule_sweep(
    effects: &Effects,
    target: &ScheduleTarget,
    document: &ReconcileDocument,
    at: DateTime<Utc>,
    budget: &Budget,
) -> Requested {
    schedule_named(effects, target, document, at, budget, false).await
}

/// Creates a sweep's own follow-up at `at`, under a name of its own
/// ([`follow_up_schedule_name`]): a name clash then means a follow-up for that very
/// minute is already pending, never the schedule that is running this sweep.
pub(super) async fn schedule_follow_up(
    effects: &Effects,
    target: &ScheduleTarget,
    document: &ReconcileDocument,
    at: DateTime<Utc>,
    budget: &Budget,
) -> Requested {
    schedule_named(effects, target, document, at, budget, true).await
}

async fn schedule_named(
    effects: &Effects,
    target: &ScheduleTarget,
    document: &ReconcileDocument,
    at: DateTime<Utc>,
    budget: &Budget,
    follow_up: bool,
) -> Requested {
    let Some(account) = document.linked_account_id.as_deref() else {
        return Requested::Failed(SchedulerError::Invalid);
    };
    let Some(timers) = &effects.timers else {
        return Requested::Failed(SchedulerError::Rejected("NoScheduling".into()));
    };
    let name = if follow_up {
        follow_up_schedule_name(account, at)
    } else {
        sweep_schedule_name(account)
    };
    let Ok(input) = serde_json::to_string(document) else {
        return Requested::Failed(SchedulerError::Invalid);
    };
    let created = budget
        .run(timers.schedules.create_once(&name, at, &input, target))
        .await
        .unwrap_or(Err(SchedulerError::TimedOut));
    match created {
        Ok(()) => Requested::Scheduled(name),
        Err(SchedulerError::Conflict) => Requested::Pending(name),
        Err(error) => Requested::Failed(error),
    }
}

/// Requests a sweep of `linked_account_id` a minute from `now` (a sync_completed
/// webhook): the webhook is answered at once, the sweep runs in its own invocation.
pub async fn request_sweep(
    reconciliation: &Reconciliation,
    effects: &Effects,
    target: &ScheduleTarget,
    linked_account_id: &str,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Requested {
    let secret = reconciliation.current_secret(budget, now).await;
    if secret.credentials(linked_account_id).is_none() {
        return Requested::UnknownAccount;
    }
    let document = ReconcileDocument::for_account(linked_account_id, false);
    let at = whole_minute_at_or_after(now + MIN_LEAD);
    schedule_sweep(effects, target, &document, at, budget).await
}
