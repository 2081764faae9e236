//! Deprovision now (`merge-deprovision.deprovision-now`): one employee a person named,
//! found in the ledger (by Merge id, or by a value its match indexes hold; never on a
//! value alone), moved into `terminated` by hand and effective now, announced like any
//! termination (its record before the mark), and deprovisioned within this invocation
//! in every covering target, past the brake and with protection lifted, the
//! identity-collision check still applied. A later HR delivery saying active follows the
//! usual rehire rule: a warning, nothing given back.

use crate::app::announce::announcement;
use crate::app::budget::Budget;
use crate::app::deprovision::{Deprovisioner, Worked};
use crate::app::settle::{Effects, Settled, Unsettled};
use crate::aws::ledger::LedgerError;
use crate::domain::deprovision::{EmployeeField, Pass, field_value, normalised};
use crate::domain::evidence::operator;
use crate::domain::ledger::{Change, EmployeeKey, Entry, Transition};
use crate::domain::now::{NOW_KIND, Named, NowDocument, by_hand};
use crate::telemetry::record::{RequestFacts, log_by_hand_termination};
use chrono::{DateTime, Utc};

/// How deprovisioning one employee now ended.
#[derive(Debug)]
pub enum Deprovisioned {
    /// The ledger or deprovisioning is off.
    Off,
    /// The ledger holds no such employee: nothing was done. The field that named them.
    NotHeld(&'static str),
    /// More than one employee of the account holds the match value: nothing was done;
    /// their Merge ids, for the person to name one.
    Shared(Vec<String>),
    /// The ledger failed: nothing, or only the move, was done; invoke again.
    Unavailable(LedgerError),
    /// Moved (or found) terminated, and worked in every covering target.
    Worked {
        /// The entry as the move left it.
        entry: Box<Entry>,
        /// This invocation moved it into `terminated` (otherwise it was already).
        moved: bool,
        /// Each target's outcome.
        worked: Worked,
        /// The target outcomes' metric lines.
        lines: Vec<String>,
    },
}

/// Deprovisions the employee `document` names, now.
pub async fn deprovision_now(
    effects: Option<&Effects>,
    deprovisioner: Option<&Deprovisioner>,
    document: &NowDocument,
    facts: &RequestFacts<'_>,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Deprovisioned {
    let (Some(effects), Some(deprovisioner)) = (effects, deprovisioner) else {
        return Deprovisioned::Off;
    };
    let key = match resolve(effects, document, budget).await {
        Ok(key) => key,
        Err(ended) => return ended,
    };
    // The match index is eventually consistent: after a change of address it may still
    // name the value's former holder, so the entry itself must hold the value given.
    let expected = match &document.named {
        Named::Match { field, value } => normalised(value).map(|v| (*field, v)),
        Named::Employee(_) => None,
    };
    let settled = match terminate(effects, &key, expected.as_ref(), budget, now).await {
        Ok(Some(settled)) => settled,
        Ok(None) => return Deprovisioned::NotHeld(named_by(document)),
        Err(error) => return Deprovisioned::Unavailable(error),
    };
    let Some(entry) = settled.own().cloned() else {
        return Deprovisioned::NotHeld(named_by(document));
    };
    let moved = settled.entered_terminated();
    // Its record before the mark, as every termination's: a process dying between them
    // announces again rather than never.
    let announced = announcement(effects, &settled, true, budget, now).await;
    if announced.announces() {
        let facts = RequestFacts {
            ledger: Some(settled.change().as_str()),
            ledger_decision: Some(entry.decision.as_str()),
            ..*facts
        };
        log_by_hand_termination(&entry, NOW_KIND, &facts);
        announced.after_record(effects, &settled, budget, now).await;
    }
    let (worked, lines) = deprovisioner
        .work(effects, &key, Pass::ByHand, facts, budget, now)
        .await;
    let summary = format!(
        "employee {}: moved {moved}, {} targets worked",
        key.employee_id,
        worked.done.len()
    );
    let fact = operator(
        key.linked_account(),
        NOW_KIND_NAME,
        &summary,
        facts.function_request_id,
        now,
    );
    effects.note_operator(fact, budget).await;
    Deprovisioned::Worked {
        entry: Box::new(entry),
        moved,
        worked,
        lines,
    }
}

/// The action's name in its operator's fact.
const NOW_KIND_NAME: &str = "deprovision_now";

/// The field the document named the employee by.
fn named_by(document: &NowDocument) -> &'static str {
    match document.named {
        Named::Employee(_) => "employee_id",
        Named::Match { .. } => "match.value",
    }
}

/// The employee's key, as the ledger holds them: by id as given, or the one entry of
/// the account whose indexed value is the one given.
async fn resolve(
    effects: &Effects,
    document: &NowDocument,
    budget: &Budget,
) -> Result<EmployeeKey, Deprovisioned> {
    let account = &document.linked_account_id;
    let (field, value) = match &document.named {
        Named::Employee(id) => {
            return Ok(EmployeeKey {
                linked_account_id: account.clone(),
                employee_id: id.clone(),
            });
        }
        Named::Match { field, value } => (*field, value),
    };
    let Some(value) = normalised(value) else {
        return Err(Deprovisioned::NotHeld("match.value"));
    };
    let sharers = budget
        .run(effects.ledger.sharing(account, field, &value))
        .await
        .unwrap_or(Err(LedgerError::TimedOut))
        .map_err(Deprovisioned::Unavailable)?;
    match sharers.as_slice() {
        [] => Err(Deprovisioned::NotHeld("match.value")),
        [one] => Ok(one.key.clone()),
        many => Err(Deprovisioned::Shared(
            many.iter().map(|s| s.key.employee_id.clone()).collect(),
        )),
    }
}

/// Moves the entry into `terminated` by hand; `None` when the ledger holds no entry.
async fn terminate(
    effects: &Effects,
    key: &EmployeeKey,
    expected: Option<&(EmployeeField, String)>,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Result<Option<Settled>, LedgerError> {
    let holds = |stored: &Entry| {
        expected.is_none_or(|(field, value)| {
            field_value(&stored.identity, *field)
                .and_then(normalised)
                .as_deref()
                == Some(value.as_str())
        })
    };
    let plan = |stored: Option<&Entry>| match stored
        .filter(|s| holds(s))
        .and_then(|s| Some((s, by_hand(s, now)?)))
    {
        Some((stored, write)) => Transition {
            write: Some(write),
            change: Change::Moved(stored.decision),
        },
        None => Transition {
            write: None,
            change: Change::Unchanged,
        },
    };
    match effects.write_planned(key, plan, None, budget, now).await {
        Ok(settled) if settled.stored.as_ref().is_none_or(|s| !holds(s)) => Ok(None),
        Ok(settled) => Ok(Some(settled)),
        Err(Unsettled::Ledger(error)) => Err(error),
        Err(Unsettled::Timer(_)) => Err(LedgerError::Unreachable),
    }
}
