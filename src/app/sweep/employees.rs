//! Settling one page's employees: the same decision (under the account's local cutoff)
//! and ledger write as a webhook for each, the record of each change the sweep found
//! (the lag on a move into `terminated` only; a rehire's warning), and the budget's cut.

use super::CHECKPOINT_RESERVE;
use super::account::{PageSettled, Progress, SweepRun};
use super::report::SweepEnd;
use crate::app::deprovision::warn_rehire;
use crate::app::settle::{Marked, Settled, Unsettled};
use crate::domain::decision::{Decision, Policy, decide};
use crate::domain::employee::Employee;
use crate::domain::envelope::{Action, LinkedAccount};
use crate::domain::ledger::{Change, Observation, Source};
use crate::domain::webhook::{Decided, termination_lag};
use crate::telemetry::record::{
    HISTORICAL_MESSAGE, Severity, TERMINATED_MESSAGE, decision_message, log_decision,
};
use chrono::{DateTime, Utc};

/// What became of one swept employee.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum EmployeeSettled {
    /// Nothing worth a record: no observation, or no change a webhook would have missed.
    Quiet,
    /// A change the sweep found, recorded and counted.
    Found,
    /// The ledger or Scheduler failed.
    Failed(SweepEnd),
}

impl SweepRun<'_> {
    /// Settles `employees` in order while the checkpoint's reserve is left.
    pub(super) async fn settle_page(
        &self,
        employees: Vec<Employee>,
        progress: &mut Progress,
    ) -> PageSettled {
        for (before, employee) in (0_u64..).zip(employees) {
            if self.budget.left() < CHECKPOINT_RESERVE {
                return PageSettled::OutOfTime { settled: before };
            }
            progress.totals.employees += 1;
            match self.settle_employee(employee, progress).await {
                EmployeeSettled::Quiet | EmployeeSettled::Found => {}
                EmployeeSettled::Failed(end) => {
                    let settled = before + 1;
                    return PageSettled::Failed { end, settled };
                }
            }
        }
        PageSettled::All
    }

    /// Decides and settles one employee, and writes the record of a change found.
    pub(super) async fn settle_employee(
        &self,
        employee: Employee,
        progress: &mut Progress,
    ) -> EmployeeSettled {
        // The account's own local cutoff, as a webhook's decision reads it.
        let policy = match self
            .effects
            .baselines
            .cutoffs()
            .policy_for(
                self.effects.ledger.as_ref(),
                Some(self.account),
                &employee,
                &self.reconciliation.policy,
                self.budget,
                self.now,
            )
            .await
        {
            Ok(policy) => policy,
            Err(error) => return EmployeeSettled::Failed(SweepEnd::Ledger(error)),
        };
        let mut decided = swept_decided(&policy, self.account, employee, self.now);
        let Some(mut observation) = Observation::from_decided(&decided, None) else {
            return EmployeeSettled::Quiet;
        };
        observation.source = Source::Reconciliation;
        let settled = match self
            .effects
            .settle_observation(&observation, Some(self.target), self.budget, self.now)
            .await
        {
            Ok(settled) => settled,
            Err(failure) => return EmployeeSettled::Failed(unsettled(failure)),
        };
        if !is_found(&settled) {
            return EmployeeSettled::Quiet;
        }
        let held = settled
            .entry
            .as_ref()
            .map_or(decided.verdict.decision, |e| e.decision);
        let mut record = self.facts;
        record.ledger = Some(settled.change().as_str());
        record.ledger_decision = Some(held.as_str());
        if settled.entered_historical() {
            // Known now, long gone: counted apart, as no webhook was missed for it.
            progress.totals.historical += 1;
            record.historical = Some(true);
            log_decision(Severity::Info, HISTORICAL_MESSAGE, &decided, &record);
            return EmployeeSettled::Quiet;
        }
        progress.totals.count_change(held);
        progress.found += 1;
        if settled.entered_terminated() {
            progress.terminations += 1;
            // The move's record alone carries the lag, as a webhook's does.
            decided.termination_lag = termination_lag(&decided.verdict, self.now);
            log_decision(Severity::Warn, TERMINATED_MESSAGE, &decided, &record);
            if let Some(entry) = settled.own()
                && self
                    .effects
                    .mark_announced(entry, self.budget, self.now)
                    .await
                    == Marked::Failed
            {
                // The record stays owed; the next delivery or firing writes it.
            }
        } else {
            let (severity, message) = decision_message(&decided);
            log_decision(severity, message, &decided, &record);
        }
        // A rehire of a deprovisioned leaver whose webhook was lost is found here only:
        // the warning a webhook would have written, once, as the move out of
        // `terminated` happens once.
        warn_rehire(settled.stored.as_ref(), settled.own(), &record);
        EmployeeSettled::Found
    }
}

/// The end a failed settlement gives the sweep.
pub(super) fn unsettled(failure: Unsettled) -> SweepEnd {
    match failure {
        Unsettled::Ledger(e) => SweepEnd::Ledger(e),
        Unsettled::Timer(e) => SweepEnd::Scheduling(e),
    }
}

/// The decision record's view of one swept employee, without a lag: only the record of
/// a move into `terminated` carries one.
fn swept_decided(
    policy: &Policy,
    account: &str,
    employee: Employee,
    now: DateTime<Utc>,
) -> Decided {
    let verdict = decide(Action::Changed, &employee, now, policy);
    Decided {
        event: crate::domain::reconcile::RECONCILE_KIND.to_owned(),
        action: Action::Changed,
        employee,
        linked_account: LinkedAccount {
            id: Some(account.to_owned()),
            ..LinkedAccount::default()
        },
        verdict,
        key: None,
        termination_lag: None,
        sync_lag: None,
    }
}

/// True when a settled sweep observation is a change worth counting: the decision moved,
/// or the ledger learned of an employee who is not simply active. An active employee
/// seen for the first time, or a newer version deciding the same, is no missed webhook
/// about access.
fn is_found(settled: &Settled) -> bool {
    match settled.change() {
        Change::Moved(_) => true,
        Change::Created => settled
            .entry
            .as_ref()
            .is_some_and(|e| e.decision != Decision::Active),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::budget::Budget;
    use crate::app::sweep::testing::{ACCOUNT, Fixture, block, leaver, now};
    use crate::aws::ledger::{Ledger, LedgerError};
    use crate::domain::cutoff::{Cutoff, LocalCutoff, parse_zone};
    use crate::domain::employee::RawDate;
    use crate::domain::ledger::EmployeeKey;
    use crate::telemetry::record::RequestFacts;
    use std::time::Duration;

    fn run<'a>(fixture: &'a Fixture, budget: &'a Budget) -> SweepRun<'a> {
        SweepRun {
            reconciliation: &fixture.reconciliation,
            effects: &fixture.effects,
            target: &fixture.target,
            account: ACCOUNT,
            full: false,
            facts: RequestFacts::default(),
            budget,
            now: now(),
        }
    }

    fn left_on(date: &str) -> Employee {
        Employee {
            termination_date: Some(RawDate::text(date)),
            ..leaver(1)
        }
    }

    #[test]
    fn a_swept_date_only_termination_takes_effect_at_the_accounts_local_cutoff() {
        block(async {
            let fixture = Fixture::new(10).await;
            let new_york = LocalCutoff {
                zone: parse_zone("America/New_York").unwrap(),
                cutoff: Cutoff::StartOfDay,
            };
            fixture
                .ledger
                .put_cutoff(ACCOUNT, new_york, now())
                .await
                .unwrap();
            let budget = Budget::of(Duration::from_secs(9));
            let mut progress = Progress::default();
            let employee = left_on("2026-11-20");
            let key = EmployeeKey::new(Some(ACCOUNT), employee.id.as_deref().unwrap());
            let settled = run(&fixture, &budget)
                .settle_employee(employee, &mut progress)
                .await;
            assert_eq!(settled, EmployeeSettled::Found);
            let entry = fixture.ledger.entries()[&key].clone();
            assert_eq!(
                entry.effective_at,
                Some("2026-11-20T05:00:00Z".parse().unwrap()),
                "midnight in New York, not UTC"
            );
        });
    }

    #[test]
    fn a_cutoff_the_ledger_cannot_read_stops_the_sweep_as_a_ledger_failure() {
        block(async {
            let fixture = Fixture::new(10).await;
            fixture.ledger.fail_next([LedgerError::Throttled]);
            let budget = Budget::of(Duration::from_secs(9));
            let mut progress = Progress::default();
            let settled = run(&fixture, &budget)
                .settle_employee(left_on("2026-11-20"), &mut progress)
                .await;
            assert_eq!(
                settled,
                EmployeeSettled::Failed(SweepEnd::Ledger(LedgerError::Throttled))
            );
            assert!(fixture.ledger.entries().is_empty());
        });
    }
}
