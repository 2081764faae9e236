//! How one account's sweep ended in this invocation, and what it left: the report the
//! edge turns into the sweep's record and metrics.

use crate::aws::ledger::LedgerError;
use crate::aws::scheduler::SchedulerError;
use crate::domain::reconcile::Totals;
use crate::merge::pages::MergeError;
use chrono::{DateTime, Utc};

/// How one account's sweep, or this invocation's part of it, ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepEnd {
    /// Every page read; the watermark moved.
    Completed,
    /// Time ran out (or the page limit): the cursor is stored and a follow-up scheduled.
    Paused,
    /// Another invocation holds the lease: a follow-up is scheduled after it.
    Busy,
    /// The secret holds no token for the account.
    UnknownAccount,
    /// Merge refused the key or the token (401, 403).
    Unauthorized(u16),
    /// Merge kept failing past the retries: the cursor is stored and a follow-up
    /// scheduled.
    MergeUnavailable(MergeError),
    /// Merge stayed unavailable for [`UNAVAILABLE_LIMIT`] invocations in a row or more
    /// (the count): operators should know; follow-ups back off.
    ///
    /// [`UNAVAILABLE_LIMIT`]: crate::domain::reconcile::UNAVAILABLE_LIMIT
    MergeDown(MergeError, u32),
    /// Merge refused the request itself (another 4xx) or answered with no page (a page
    /// whose `next` is empty, the cursor just read, or one the run followed already is
    /// none): a retry sends the same request, so none is scheduled. A refused cursor (an
    /// expired one is answered 400), or one answered with no page, is dropped, and the
    /// next sweep starts again from the watermark.
    MergeRejected(MergeError),
    /// The run took more than [`RUN_INVOCATIONS`] invocations: it is dropped, none is
    /// scheduled, and the next sweep starts again from the watermark.
    ///
    /// [`RUN_INVOCATIONS`]: crate::domain::reconcile::RUN_INVOCATIONS
    TooManyInvocations,
    /// The ledger failed: the lease runs out by itself and the next sweep continues.
    Ledger(LedgerError),
    /// The follow-up could not be scheduled.
    Scheduling(SchedulerError),
}

impl SweepEnd {
    /// The name in records.
    pub fn as_str(&self) -> &'static str {
        match self {
            SweepEnd::Completed => "completed",
            SweepEnd::Paused => "paused",
            SweepEnd::Busy => "busy",
            SweepEnd::UnknownAccount => "unknown_account",
            SweepEnd::Unauthorized(_) => "unauthorized",
            SweepEnd::MergeUnavailable(_) => "merge_unavailable",
            SweepEnd::MergeDown(..) => "merge_down",
            SweepEnd::MergeRejected(_) => "merge_rejected",
            SweepEnd::TooManyInvocations => "too_many_invocations",
            SweepEnd::Ledger(_) => "ledger_failed",
            SweepEnd::Scheduling(_) => "scheduling_failed",
        }
    }

    /// True when operators must act: counted as `ReconciliationFailures`.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            SweepEnd::Unauthorized(_)
                | SweepEnd::MergeDown(..)
                | SweepEnd::MergeRejected(_)
                | SweepEnd::TooManyInvocations
                | SweepEnd::Ledger(_)
                | SweepEnd::Scheduling(_)
        )
    }
}

/// One account's sweep as this invocation left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// How it ended.
    pub end: SweepEnd,
    /// The whole sweep's totals so far (earlier invocations included).
    pub totals: Totals,
    /// Changes this invocation made.
    pub found: u64,
    /// Employees this invocation moved into `terminated`.
    pub terminations: u64,
    /// The watermark as it stands.
    pub watermark: Option<DateTime<Utc>>,
}
