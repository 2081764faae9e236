//! A fired timer: the ledger, not the timer, says whether the employee is still due. A
//! timer the ledger still holds moves the employee into `terminated`, whose record is
//! written before the move is marked announced; any other firing is outdated.

use crate::app::announce::announcement;
use crate::app::budget::Budget;
use crate::app::settle::{Effects, Marked, Settled};
use crate::domain::dates::to_rfc3339;
use crate::domain::decision::{Decision, Reason, Verdict};
use crate::domain::employee::{Employee, RawDate};
use crate::domain::envelope::{Action, LinkedAccount};
use crate::domain::ledger::Entry;
use crate::domain::schedule::TIMER_KIND;
use crate::domain::webhook::Decided;
use crate::telemetry::record::{RequestFacts, Severity, TERMINATED_MESSAGE, log_decision};
use chrono::{DateTime, Utc};

/// How a settled firing ended.
#[derive(Debug)]
pub enum Concluded {
    /// The employee moved into `terminated` (or its lost record was claimed): the
    /// `terminated` record is written, and `marked` says whether the mark followed.
    Announced {
        /// The decision record's view of the entry.
        decided: Box<Decided>,
        /// What marking it announced came to.
        marked: Marked,
    },
    /// The ledger no longer holds this timer's termination (rehired, re-dated, or
    /// already announced): nothing to announce.
    Outdated,
}

/// Announces a settled firing's termination when it is this invocation's to announce:
/// its record first, then the mark. `facts` already carry what the ledger did.
pub async fn conclude(
    effects: &Effects,
    settled: &Settled,
    facts: &RequestFacts<'_>,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Concluded {
    // Any firing for the employee writes a record owed since (the retry of one whose
    // first invocation made the move and died, among others).
    let announcement = announcement(effects, settled, true, budget, now).await;
    match (settled.own(), announcement.announces()) {
        (Some(entry), true) => {
            let decided = fired_decided(entry, now);
            log_decision(Severity::Warn, TERMINATED_MESSAGE, &decided, facts);
            let marked = announcement
                .after_record(effects, settled, budget, now)
                .await;
            Concluded::Announced {
                decided: Box::new(decided),
                marked,
            }
        }
        _ => Concluded::Outdated,
    }
}

/// The decision record's view of a ledger entry a timer terminated: the identity comes
/// from the ledger, since the timer carries none.
fn fired_decided(entry: &Entry, now: DateTime<Utc>) -> Decided {
    let identity = entry.identity.clone();
    Decided {
        event: TIMER_KIND.to_owned(),
        action: Action::Changed,
        employee: Employee {
            id: Some(entry.key.employee_id.clone()),
            remote_id: identity.remote_id,
            employee_number: identity.employee_number,
            username: identity.username,
            work_email: identity.work_email,
            display_full_name: identity.display_full_name,
            modified_at: entry.version.map(|v| RawDate::Text(to_rfc3339(v))),
            ..Employee::default()
        },
        linked_account: LinkedAccount {
            id: entry.key.linked_account().map(str::to_owned),
            integration_slug: identity.integration,
            end_user_organization_name: identity.end_user_organization_name,
        },
        verdict: Verdict {
            decision: Decision::Terminated,
            reasons: vec![Reason::TerminationDateReached],
            termination_date: entry.termination_date,
            effective_at: entry.effective_at,
            effective_rule: entry.effective_rule.clone(),
        },
        key: None,
        // Negative when the timer fired before its time: an early firing must show.
        termination_lag: entry.effective_at.map(|effective| now - effective),
        sync_lag: None,
    }
}
