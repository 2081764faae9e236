//! Announcing a termination exactly once: whether this invocation writes the
//! `terminated` record (it made the move, or it found one whose record was lost and
//! claimed it first), and marking the entry announced only after the record is written,
//! so that a process dying in between announces again rather than never.

use crate::app::budget::Budget;
use crate::app::settle::{Effects, Marked, Settled};
use crate::domain::ledger::announcement_due;
use chrono::{DateTime, TimeDelta, Utc};

/// Whether this invocation writes the `terminated` record, and how it came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announcement {
    /// This invocation moved the entry into `terminated`: it writes the record, then
    /// marks it.
    pub moved: bool,
    /// For a termination whose record was lost: `Claimed` when this invocation took it
    /// (and so writes the record), otherwise who has it.
    pub claimed: Marked,
}

impl Announcement {
    /// True when this invocation writes the `terminated` record.
    pub fn announces(&self) -> bool {
        self.moved || self.claimed == Marked::Claimed
    }

    /// After the record is written: marks a move announced; a claim was marked when it
    /// was taken.
    pub async fn after_record(
        &self,
        effects: &Effects,
        settled: &Settled,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> Marked {
        if self.moved {
            mark(effects, settled, budget, now).await
        } else {
            self.claimed
        }
    }
}

/// How long after a move into `terminated` its record may be taken as lost: longer than
/// any invocation of the function runs, so the invocation that made the move is gone.
fn grace(budget: &Budget) -> TimeDelta {
    TimeDelta::from_std(budget.granted()).unwrap_or(TimeDelta::MAX) + TimeDelta::seconds(1)
}

/// Whether this invocation writes the `terminated` record: it made the move (and marks it
/// after writing the record), or, when `eligible`, it found a termination whose record
/// was lost (its writer died, or lost the ledger's answer) and can no longer be written
/// by that writer, and claimed it first, so that two finding it at once write it once.
pub async fn announcement(
    effects: &Effects,
    settled: &Settled,
    eligible: bool,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Announcement {
    let moved = settled.entered_terminated();
    let owed = !moved
        && eligible
        && settled
            .own()
            .is_some_and(|e| announcement_due(e, now, grace(budget)));
    let claimed = if owed {
        mark(effects, settled, budget, now).await
    } else {
        Marked::Elsewhere
    };
    Announcement { moved, claimed }
}

/// Marks the termination this invocation wrote or found as announced.
async fn mark(effects: &Effects, settled: &Settled, budget: &Budget, now: DateTime<Utc>) -> Marked {
    match settled.own() {
        Some(entry) => effects.mark_announced(entry, budget, now).await,
        None => Marked::Elsewhere,
    }
}
