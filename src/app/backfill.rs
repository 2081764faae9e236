//! The backfill of one linked account (`merge-deprovision.backfill`): its `terminated`
//! entries that some covering target still owes (historical terminations, and those
//! the ledger held before deprovisioning was on), listed in a dry run, or worked one
//! after another under the brake as far as the budget allows. Run again, it finds only
//! what is still owed.

use crate::app::budget::Budget;
use crate::app::deprovision::Deprovisioner;
use crate::app::settle::Effects;
use crate::app::stream::MIN_WORK;
use crate::aws::ledger::LedgerError;
use crate::domain::backfill::{BackfillDocument, Candidate, candidates, scoped};
use crate::domain::deprovision::Pass;
use crate::telemetry::record::RequestFacts;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// How a backfill ended.
#[derive(Debug)]
pub enum Backfilled {
    /// Deprovisioning is off: there is nothing to backfill into.
    Off,
    /// No target of the secret has the name the document gave.
    UnknownTarget,
    /// The account's entries could not be read: nothing was done.
    Unread(LedgerError),
    /// The dry run: who would be worked, nothing changed.
    Listed(Vec<Candidate>),
    /// Worked as far as the budget allowed.
    Worked(Worked),
}

/// What a backfill that acted did.
#[derive(Debug, Default)]
pub struct Worked {
    /// Leavers found owing deprovisioning.
    pub found: usize,
    /// Of those, leavers worked: every owed target attempted (what the brake held
    /// waits for the release).
    pub worked: usize,
    /// Of those, leavers the budget did not reach, or whose work the ledger cut short:
    /// a backfill run again takes them.
    pub remaining: usize,
    /// Each target outcome, counted by name.
    pub outcomes: BTreeMap<&'static str, usize>,
    /// The metrics lines of each target's outcome.
    pub lines: Vec<String>,
}

/// Backfills the account `document` names.
pub async fn backfill(
    effects: Option<&Effects>,
    deprovisioner: Option<&Deprovisioner>,
    document: &BackfillDocument,
    facts: &RequestFacts<'_>,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Backfilled {
    let (Some(effects), Some(deprovisioner)) = (effects, deprovisioner) else {
        return Backfilled::Off;
    };
    let (targets, _) = deprovisioner.current(budget, now).await;
    let only = document.target.as_deref();
    let Some(scope) = scoped(&targets, only) else {
        return Backfilled::UnknownTarget;
    };
    let read = budget
        .run(effects.ledger.terminated(&document.linked_account_id))
        .await
        .unwrap_or(Err(LedgerError::TimedOut));
    let entries = match read {
        Ok(entries) => entries,
        Err(error) => return Backfilled::Unread(error),
    };
    let found = candidates(&entries, &scope, deprovisioner.mode());
    if document.dry_run {
        return Backfilled::Listed(found);
    }
    let mut worked = Worked {
        found: found.len(),
        ..Worked::default()
    };
    for candidate in &found {
        if budget.left() < MIN_WORK {
            worked.remaining += 1;
            continue;
        }
        let (done, lines) = deprovisioner
            .work_in(
                effects,
                &candidate.key,
                (Pass::Backfill, only),
                facts,
                budget,
                now,
            )
            .await;
        for target in &done.done {
            *worked.outcomes.entry(target.outcome.as_str()).or_default() += 1;
        }
        worked.lines.extend(lines);
        if done.ledger_error.is_some() {
            worked.remaining += 1;
        } else {
            worked.worked += 1;
        }
    }
    Backfilled::Worked(worked)
}
