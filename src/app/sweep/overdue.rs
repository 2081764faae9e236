//! The overdue step, once every page is read: the account's entries still `scheduled`
//! long past their date, whose timers were lost, terminated by the sweep.

use super::account::{Progress, SweepRun};
use super::employees::unsettled;
use super::report::SweepEnd;
use crate::aws::ledger::LedgerError;
use crate::domain::dates::to_rfc3339;
use crate::domain::decision::Decision;
use crate::domain::envelope::{Action, LinkedAccount};
use crate::domain::reconcile::{OVERDUE_AFTER, is_overdue};
use crate::domain::webhook::Decided;
use crate::telemetry::record::{Severity, TERMINATED_MESSAGE, log_decision};
use chrono::{DateTime, Utc};

/// How the overdue step went.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Overdue {
    /// Every overdue entry terminated (or found moved on).
    Done,
    /// The ledger or Scheduler failed: what was terminated before stays so.
    Failed(SweepEnd),
}

impl SweepRun<'_> {
    /// Terminates the account's entries still `scheduled` more than
    /// [`OVERDUE_AFTER`] past their date: their timers were lost.
    pub(super) async fn terminate_overdue(&self, progress: &mut Progress) -> Overdue {
        let listed = self
            .budget
            .run(
                self.effects
                    .ledger
                    .scheduled_before(self.account, self.now - OVERDUE_AFTER),
            )
            .await
            .unwrap_or(Err(LedgerError::TimedOut));
        let overdue = match listed {
            Ok(overdue) => overdue,
            Err(error) => return Overdue::Failed(SweepEnd::Ledger(error)),
        };
        // The query already selects them; the rule is checked here too, on the parsed
        // instant.
        for found in overdue.into_iter().filter(|e| is_overdue(e, self.now)) {
            let settled = match self
                .effects
                .settle_overdue(&found, Some(self.target), self.budget, self.now)
                .await
            {
                Ok(settled) => settled,
                Err(failure) => return Overdue::Failed(unsettled(failure)),
            };
            if !settled.entered_terminated() {
                continue;
            }
            progress.totals.count_change(Decision::Terminated);
            progress.found += 1;
            progress.terminations += 1;
            if let Some(entry) = settled.own() {
                let decided = overdue_decided(entry, self.now);
                let mut record = self.facts;
                record.ledger = Some(settled.change().as_str());
                record.ledger_decision = Some(Decision::Terminated.as_str());
                log_decision(Severity::Warn, TERMINATED_MESSAGE, &decided, &record);
                let _ = self
                    .effects
                    .mark_announced(entry, self.budget, self.now)
                    .await;
            }
        }
        Overdue::Done
    }
}

/// The record's view of an overdue entry the sweep terminated: from the ledger.
fn overdue_decided(entry: &crate::domain::ledger::Entry, now: DateTime<Utc>) -> Decided {
    use crate::domain::decision::{Reason, Verdict};
    use crate::domain::employee::{Employee, RawDate};
    let identity = entry.identity.clone();
    Decided {
        event: crate::domain::reconcile::RECONCILE_KIND.to_owned(),
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
        termination_lag: entry.effective_at.map(|effective| now - effective),
        sync_lag: None,
    }
}
