//! How reconciliation work arrives: a reconcile document (the recurring schedule, a
//! sweep's own schedule, or by hand) fans out one sweep per account or sweeps one
//! account; a `sync_completed` webhook asks for the account's sweep.

use crate::app::budget::Budget;
use crate::app::settle::Effects;
use crate::app::sweep::{
    FannedOut, Reconciliation, Requested, SweepReport, fan_out, request_sweep, sweep_account,
};
use crate::aws::scheduler::{ScheduleTarget, SchedulerError};
use crate::domain::reconcile::ReconcileDocument;
use crate::telemetry::record::RequestFacts;
use chrono::{DateTime, Utc};

/// How a reconcile document ended.
#[derive(Debug)]
pub enum Reconciled {
    /// No function ARN to point a schedule at: only a hand-built invocation lacks one.
    NoFunctionArn,
    /// Without an account: one sweep per account in the secret was scheduled.
    FannedOut(FannedOut),
    /// With one: the account was swept as far as the budget allowed.
    Swept(Box<SweepReport>),
}

/// Carries out a reconcile document within the budget.
pub async fn reconcile(
    reconciliation: &Reconciliation,
    effects: &Effects,
    target: Option<&ScheduleTarget>,
    document: &ReconcileDocument,
    facts: &RequestFacts<'_>,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Reconciled {
    let Some(target) = target else {
        return Reconciled::NoFunctionArn;
    };
    match document.linked_account_id.as_deref() {
        None => Reconciled::FannedOut(
            fan_out(
                reconciliation,
                effects,
                target,
                document.full,
                document.resume_after.as_deref(),
                budget,
                now,
            )
            .await,
        ),
        Some(account) => Reconciled::Swept(Box::new(
            sweep_account(
                reconciliation,
                effects,
                Some(target),
                account,
                document.full,
                facts,
                budget,
                now,
            )
            .await,
        )),
    }
}

/// Asks for the sweep of `account` that a `sync_completed` webhook announces: a
/// one-time schedule starts it in its own invocation, so the webhook is answered at once
/// whatever the account's size.
pub async fn after_sync(
    reconciliation: &Reconciliation,
    effects: &Effects,
    target: Option<&ScheduleTarget>,
    account: &str,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Requested {
    match target {
        Some(target) => request_sweep(reconciliation, effects, target, account, budget, now).await,
        None => Requested::Failed(SchedulerError::Rejected("NoFunctionArn".into())),
    }
}
