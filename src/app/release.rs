//! The release of waiting deprovisionings (`merge-deprovision.release-held`): every
//! employee whose deprovisioning waits (held by the brake, failed, or a dry run's
//! finding) is worked again, past the brake; with `recheck`, the targets that needed a
//! person (not found, ambiguous, protected) are searched again, under the brake. One
//! with nothing left waiting is taken off the list; what waits for a person stays on it.
//! What the budget did not reach stays listed for the next release.

use crate::app::budget::Budget;
use crate::app::deprovision::Deprovisioner;
use crate::app::settle::Effects;
use crate::app::stream::MIN_WORK;
use crate::aws::ledger::LedgerError;
use crate::domain::deprovision::{Mode, Pass};
use crate::domain::evidence::{Trigger, operator};
use crate::domain::ledger::EmployeeKey;
use crate::telemetry::record::RequestFacts;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// How a release ended.
#[derive(Debug)]
pub enum Release {
    /// Deprovisioning is off: nothing is held.
    Off,
    /// A dry run refuses the release, which would settle held and failed work, and the
    /// dry run's findings, as `would_*`: everything stays listed until the mode is
    /// `enforce`.
    DryRun,
    /// The list of waiting work could not be read: nothing was done.
    Unlisted(LedgerError),
    /// The listed work was worked as far as the budget allowed.
    Released(Released),
}

/// What a release did.
#[derive(Debug, Default)]
pub struct Released {
    /// Employees taken off the list: nothing is owed any more.
    pub released: usize,
    /// Employees still listed: work still waits, or the budget did not reach them.
    pub remaining: usize,
    /// Each target outcome, counted by name.
    pub outcomes: BTreeMap<&'static str, usize>,
    /// The metrics lines of each target's outcome.
    pub lines: Vec<String>,
}

/// Releases what waits, within the budget.
pub async fn release(
    effects: Option<&Effects>,
    deprovisioner: Option<&Deprovisioner>,
    pass: Pass,
    facts: &RequestFacts<'_>,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Release {
    let (Some(effects), Some(deprovisioner)) = (effects, deprovisioner) else {
        return Release::Off;
    };
    if deprovisioner.mode() == Mode::DryRun {
        return Release::DryRun;
    }
    match work_listed(effects, deprovisioner, (pass, None), facts, budget, now).await {
        Ok(released) => {
            let summary = format!(
                "{}: {} released, {} still listed",
                if pass == Pass::Recheck {
                    "recheck"
                } else {
                    "release"
                },
                released.released,
                released.remaining
            );
            let run = facts.function_request_id;
            let fact = operator(None, "release", &summary, run, now);
            effects.note_operator(fact, budget).await;
            Release::Released(released)
        }
        Err(error) => Release::Unlisted(error),
    }
}

/// Works every listed employee in `pass` as far as the budget allows: the release's
/// work, and a resume's (under the brake). An error when the list cannot be read.
pub(crate) async fn work_listed(
    effects: &Effects,
    deprovisioner: &Deprovisioner,
    (pass, by): (Pass, Option<Trigger>),
    facts: &RequestFacts<'_>,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Result<Released, LedgerError> {
    let waiting = deprovisioner.waiting(budget).await?;
    let mut released = Released::default();
    for (key, seen) in &waiting {
        if budget.left() < MIN_WORK {
            released.remaining += 1;
            continue;
        }
        let one = Listing {
            key,
            seen: *seen,
            pass,
            by,
        };
        let (listed, outcomes, lines) =
            release_one(effects, deprovisioner, &one, facts, budget, now).await;
        for outcome in outcomes {
            *released.outcomes.entry(outcome).or_default() += 1;
        }
        released.lines.extend(lines);
        match listed {
            Listed::TakenOff => released.released += 1,
            Listed::Kept => released.remaining += 1,
        }
    }
    Ok(released)
}

/// One listed employee, and the pass the release works it in.
struct Listing<'a> {
    key: &'a EmployeeKey,
    /// The note's count when listed: a note made meanwhile stays.
    seen: u64,
    pass: Pass,
    /// What started the work, when the pass does not tell it (a resume's).
    by: Option<Trigger>,
}

/// Whether an employee's work left it on the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listed {
    /// Nothing is owed any more, and the note is gone.
    TakenOff,
    /// Work still waits, the ledger failed, or the note could not be removed: the next
    /// release finds it again.
    Kept,
}

/// Works one listed employee past the brake: whether it left the list, the names of its
/// target outcomes, and their metrics lines.
async fn release_one(
    effects: &Effects,
    deprovisioner: &Deprovisioner,
    one: &Listing<'_>,
    facts: &RequestFacts<'_>,
    budget: &Budget,
    now: DateTime<Utc>,
) -> (Listed, Vec<&'static str>, Vec<String>) {
    let (key, seen) = (one.key, one.seen);
    let (worked, lines) = deprovisioner
        .work_by(effects, key, (one.pass, one.by), facts, budget, now)
        .await;
    let outcomes = worked.done.iter().map(|d| d.outcome.as_str()).collect();
    let listed = if worked.waiting || worked.ledger_error.is_some() {
        Listed::Kept
    } else if deprovisioner.unnote(key, seen, budget).await.is_ok() {
        Listed::TakenOff
    } else {
        Listed::Kept
    };
    (listed, outcomes, lines)
}
