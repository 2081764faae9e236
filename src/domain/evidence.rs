//! The evidence trail: immutable facts about each termination and each target's outcome,
//! and each operator's action, as values. Each is written once, in the same step as the
//! change it describes, and never overwritten; the access-removal report reads them.
//!
//! Nothing sensitive is kept: the identity fields the ledger's entry already carries, and
//! the outcome as deprovisioning recorded it.

use crate::domain::ledger::{EmployeeKey, Identity, Source};
use crate::domain::outcome::Outcome;
use chrono::{DateTime, Utc};

/// What started a target's change: how the work reached the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trigger {
    /// A Merge webhook delivery.
    Webhook,
    /// A timer that fired at a scheduled termination's effective time.
    Timer,
    /// A sweep of Merge's API (reconciliation).
    Sweep,
    /// A person, by hand (`merge-deprovision.deprovision-now`).
    ByHand,
    /// The release of held work (`merge-deprovision.release`, a recheck included).
    Release,
    /// A backfill (`merge-deprovision.backfill`).
    Backfill,
    /// An undo (`merge-deprovision.undo`).
    Undo,
    /// A resume (`merge-deprovision.resume`) working the waiting list.
    Resume,
}

impl Trigger {
    /// Every trigger.
    pub const ALL: [Trigger; 8] = [
        Trigger::Webhook,
        Trigger::Timer,
        Trigger::Sweep,
        Trigger::ByHand,
        Trigger::Release,
        Trigger::Backfill,
        Trigger::Undo,
        Trigger::Resume,
    ];

    /// The name stored, reported and logged.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Webhook => "webhook",
            Trigger::Timer => "timer",
            Trigger::Sweep => "sweep",
            Trigger::ByHand => "by_hand",
            Trigger::Release => "release",
            Trigger::Backfill => "backfill",
            Trigger::Undo => "undo",
            Trigger::Resume => "resume",
        }
    }

    /// The trigger a stored name means.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// What an entry's move was started by, from the source that wrote it.
    pub fn of_source(source: Source) -> Self {
        match source {
            Source::Webhook => Trigger::Webhook,
            Source::Schedule => Trigger::Timer,
            Source::Reconciliation => Trigger::Sweep,
            Source::ByHand => Trigger::ByHand,
        }
    }
}

/// One fact of the trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// Whose: the employee (for an operator's action on an account, the employee id is
    /// empty).
    pub key: EmployeeKey,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub fact: Fact,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    /// The termination took effect here: the entry moved into `terminated`. Its `at` is
    /// the termination's identity (the entry's `terminated_at`) for every later fact.
    Terminated {
        /// The HR system's termination date, when read.
        termination_date: Option<DateTime<Utc>>,
        /// When it took effect.
        effective_at: Option<DateTime<Utc>>,
        /// The rule that made `effective_at` from the date (a local cutoff, the date's
        /// own time), when one is known.
        rule: Option<String>,
        /// What moved it.
        by: Trigger,
        /// When the function first learned of this termination (as `scheduled` for a
        /// future date, or as it moved), and how.
        learned_at: DateTime<Utc>,
        /// How it first learned of it.
        learned_by: Trigger,
        /// Historical: before the account's baseline, never deprovisioned but by a
        /// backfill.
        historical: bool,
        /// Who the employee is.
        identity: Identity,
    },
    /// The employee is no longer terminated (a rehire, a corrected date).
    Rehired {
        /// The termination (its `terminated_at`) it ends.
        termination: DateTime<Utc>,
        /// What moved it.
        by: Trigger,
    },
    /// A target's outcome for a termination.
    Target {
        /// The target's name in the targets secret.
        target: String,
        /// The termination (its `terminated_at`).
        termination: Option<DateTime<Utc>>,
        /// What it came to.
        outcome: Outcome,
        /// The target's user id, when one was changed.
        user: Option<String>,
        /// The invocation that made it (its Lambda request id).
        run: Option<String>,
        /// What started it.
        by: Trigger,
    },
    /// An operator's document: pause, resume, release, backfill, undo, deprovision now,
    /// a baseline or a cutoff set, a report.
    Operator {
        /// The document's name (`pause`, `undo`, ...).
        action: String,
        /// A short summary of what it asked and did, without any value of a secret.
        summary: String,
        /// The invocation (its Lambda request id).
        run: Option<String>,
    },
}
