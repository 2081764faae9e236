//! The backfill of one linked account (`merge-deprovision.backfill`): its `terminated`
//! entries that some covering target still owes (historical terminations, and those
//! the ledger held before deprovisioning was on), listed in a dry run, or worked one
//! after another under the brake as far as the budget allows. Run again, it finds only
//! what is still owed. The reindex of an account's entries older than the match
//! indexes, which the identity check needs, is here too.

use crate::app::budget::Budget;
use crate::app::deprovision::Deprovisioner;
use crate::app::settle::Effects;
use crate::app::stream::MIN_WORK;
use crate::aws::ledger::{LedgerError, Reindexed};
use crate::domain::backfill::{BackfillDocument, Candidate, candidates, scoped};
use crate::domain::deprovision::Pass;
use crate::domain::evidence::operator;
use crate::telemetry::record::RequestFacts;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// How a backfill ended.
#[derive(Debug)]
pub enum Backfilled {
    /// Deprovisioning is off: there is nothing to backfill into.
    Off,
    /// Asked to act while `DEPROVISION_MODE` is `dry-run`: refused, as the release is.
    /// Its findings would be listed for a release once enforcing, and that release is
    /// past the brake; list with the document's own dry run instead.
    DryRunMode,
    /// No target of the secret has the name the document gave.
    UnknownTarget,
    /// The account's entries could not be read: nothing was done.
    Unread(LedgerError),
    /// The dry run: who would be worked, nothing changed; and whether a sweep of the
    /// account ever completed (without one, historical leavers are not worked).
    Listed {
        /// The leavers owed.
        found: Vec<Candidate>,
        /// A sweep of the account completed.
        swept: bool,
    },
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
    /// Of those, historical leavers left alone because no sweep of the account ever
    /// completed: the live employees who may hold their addresses now are not all in
    /// the ledger, so the identity check could not see them.
    pub unswept: usize,
    /// Of those, leavers not worked to the end: the budget did not reach them, the
    /// ledger cut their work short, or the brake held and the rest were left: a backfill
    /// run again (after the brake's hour) takes them.
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
    let swept = match budget
        .run(effects.ledger.get_sweep(&document.linked_account_id))
        .await
        .unwrap_or(Err(LedgerError::TimedOut))
    {
        Ok(state) => state.is_some_and(|s| s.watermark.is_some()),
        Err(error) => return Backfilled::Unread(error),
    };
    if document.dry_run {
        return Backfilled::Listed { found, swept };
    }
    if deprovisioner.mode() == crate::domain::deprovision::Mode::DryRun {
        return Backfilled::DryRunMode;
    }
    let mut worked = Worked {
        found: found.len(),
        ..Worked::default()
    };
    let mut braked = false;
    for candidate in &found {
        if candidate.historical && !swept {
            worked.unswept += 1;
            continue;
        }
        // Once the brake holds, the rest wait for the next hour's backfill: each would
        // cost a search and a write only to be held.
        if braked || budget.left() < MIN_WORK {
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
            braked |= target.outcome == crate::domain::deprovision::Outcome::Held;
        }
        worked.lines.extend(lines);
        if done.ledger_error.is_some() {
            worked.remaining += 1;
        } else {
            worked.worked += 1;
        }
    }
    let run = (facts.function_request_id, now);
    noted(effects, document, &worked, run, budget).await;
    Backfilled::Worked(worked)
}

/// Writes the backfill's operator fact: what it worked, left and could not reach.
async fn noted(
    effects: &Effects,
    document: &BackfillDocument,
    worked: &Worked,
    (run, now): (Option<&str>, DateTime<Utc>),
    budget: &Budget,
) {
    let summary = format!(
        "{} worked, {} left, {} unswept",
        worked.worked, worked.remaining, worked.unswept
    );
    let account = Some(document.linked_account_id.as_str());
    let fact = operator(account, "backfill", &summary, run, now);
    effects.note_operator(fact, budget).await;
}

/// How a reindex ended.
#[derive(Debug)]
pub enum Reindexing {
    /// No ledger: there is nothing to reindex.
    Off,
    /// The account's entries could not be read or written (some may have been).
    Failed(LedgerError),
    /// Every entry of the account carries its index keys.
    Done(Reindexed),
}

/// Writes the index keys of the account's entries written before the match indexes
/// existed, so the identity check sees every live employee.
pub async fn reindex(effects: Option<&Effects>, account: &str, budget: &Budget) -> Reindexing {
    let Some(effects) = effects else {
        return Reindexing::Off;
    };
    match budget.run(effects.ledger.reindex(account)).await {
        Ok(Ok(done)) => Reindexing::Done(done),
        Ok(Err(error)) => Reindexing::Failed(error),
        Err(_) => Reindexing::Failed(LedgerError::TimedOut),
    }
}
