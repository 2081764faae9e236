//! Each linked account's baseline as the use cases need it: read from the ledger once
//! and kept for a few minutes, recorded at the account's first delivery or sweep
//! observation, and set by an operator (`merge-deprovision.baseline`).

use crate::app::budget::Budget;
use crate::aws::ledger::{Ledger, LedgerError};
use crate::domain::baseline::{
    Baseline, DEFAULT_LOOKBACK_DAYS, EARLIEST, SetBy, cutoff, cutoff_of,
};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

/// How long a baseline read is trusted before it is read again: an operator's new
/// baseline reaches every warm process within this.
pub const KEPT_FOR: TimeDelta = TimeDelta::minutes(5);

/// The baselines this process has read, and the lookback that makes a cutoff of each;
/// beside them, the accounts' local cutoffs, kept the same way by every use case that
/// has the ledger.
#[derive(Debug)]
pub struct Baselines {
    lookback: TimeDelta,
    known: Mutex<HashMap<String, (Baseline, DateTime<Utc>)>>,
    local: crate::app::cutoff::Cutoffs,
}

impl Default for Baselines {
    fn default() -> Self {
        Baselines::with_lookback(TimeDelta::days(i64::from(DEFAULT_LOOKBACK_DAYS)))
    }
}

impl Baselines {
    /// Baselines whose cutoff is `lookback` before each.
    pub fn with_lookback(lookback: TimeDelta) -> Self {
        Baselines {
            lookback,
            known: Mutex::new(HashMap::new()),
            local: Default::default(),
        }
    }

    /// The accounts' local cutoffs this process has read.
    pub fn cutoffs(&self) -> &crate::app::cutoff::Cutoffs {
        &self.local
    }

    /// The lookback.
    pub fn lookback(&self) -> TimeDelta {
        self.lookback
    }

    fn kept(&self, account: &str, now: DateTime<Utc>) -> Option<Baseline> {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known
            .get(account)
            .filter(|(_, read_at)| now - *read_at < KEPT_FOR && *read_at <= now)
            .map(|(baseline, _)| baseline.clone())
    }

    fn keep(&self, baseline: &Baseline, now: DateTime<Utc>) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.insert(baseline.linked_account_id.clone(), (baseline.clone(), now));
    }

    /// The baseline of `account`: kept, read, or recorded: `now` for an account never
    /// seen, [`EARLIEST`] for one the ledger already holds entries of. Two first
    /// sightings at once both read back the one that was written.
    pub async fn of(
        &self,
        ledger: &dyn Ledger,
        account: &str,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> Result<Baseline, LedgerError> {
        if let Some(kept) = self.kept(account, now) {
            return Ok(kept);
        }
        let read = bounded(budget.run(ledger.get_baseline(account)).await)?;
        let baseline = match read {
            Some(stored) => stored,
            None => {
                // An account the ledger already knows (recorded by a version before
                // baselines) was not first heard of now: nothing of it is historical.
                let known = bounded(budget.run(ledger.has_entries(account)).await)?;
                let first = Baseline {
                    linked_account_id: account.to_owned(),
                    at: if known { EARLIEST } else { now },
                    set_by: if known {
                        SetBy::Existing
                    } else {
                        SetBy::FirstSeen
                    },
                };
                match bounded(budget.run(ledger.put_baseline(&first, false)).await) {
                    Ok(()) => first,
                    Err(LedgerError::ConditionFailed) => {
                        bounded(budget.run(ledger.get_baseline(account)).await)?
                            .ok_or(LedgerError::ConditionFailed)?
                    }
                    Err(error) => return Err(error),
                }
            }
        };
        self.keep(&baseline, now);
        Ok(baseline)
    }

    /// The instant before which a termination in `account` is historical.
    pub async fn cutoff(
        &self,
        ledger: &dyn Ledger,
        account: &str,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, LedgerError> {
        // Asked once per employee a sweep settles: the kept instant, with no copy.
        if let Some(at) = self.kept_at(account, now) {
            return Ok(cutoff_of(at, self.lookback));
        }
        let baseline = self.of(ledger, account, budget, now).await?;
        Ok(cutoff(&baseline, self.lookback))
    }

    fn kept_at(&self, account: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known
            .get(account)
            .filter(|(_, read_at)| now - *read_at < KEPT_FOR && *read_at <= now)
            .map(|(baseline, _)| baseline.at)
    }

    /// Sets `account`'s baseline to `at` (an operator's choice); answers the one it
    /// replaced.
    pub async fn set(
        &self,
        ledger: &dyn Ledger,
        account: &str,
        at: DateTime<Utc>,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> Result<Option<Baseline>, LedgerError> {
        // One that cannot be read is what the operator is replacing.
        let before = match bounded(budget.run(ledger.get_baseline(account)).await) {
            Err(LedgerError::Unreadable) => None,
            other => other?,
        };
        let chosen = Baseline {
            linked_account_id: account.to_owned(),
            at,
            set_by: SetBy::Operator,
        };
        bounded(budget.run(ledger.put_baseline(&chosen, true)).await)?;
        self.keep(&chosen, now);
        Ok(before)
    }
}

/// What a baseline document (`merge-deprovision.baseline`) came to.
#[derive(Debug)]
pub enum Asked {
    /// No ledger: there are no baselines.
    Off,
    /// The baseline could not be read or written.
    Failed(LedgerError),
    /// Read: the account's baseline, if it has been seen.
    Read(Option<Baseline>),
    /// Set by the operator, over the one it replaced.
    Set {
        /// The baseline now.
        set: Baseline,
        /// The one before, if any could be read.
        replaced: Option<Baseline>,
    },
}

/// Reads the account's baseline, or sets it when the document gives an instant.
pub async fn ask(
    effects: Option<&crate::app::settle::Effects>,
    document: &crate::domain::backfill::BaselineDocument,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Asked {
    let Some(effects) = effects else {
        return Asked::Off;
    };
    let (ledger, account) = (effects.ledger.as_ref(), document.linked_account_id.as_str());
    let answer = match document.at {
        Some(at) => effects
            .baselines
            .set(ledger, account, at, budget, now)
            .await
            .map(|replaced| Asked::Set {
                set: Baseline {
                    linked_account_id: account.to_owned(),
                    at,
                    set_by: SetBy::Operator,
                },
                replaced,
            }),
        None => bounded(budget.run(ledger.get_baseline(account)).await).map(Asked::Read),
    };
    answer.unwrap_or_else(Asked::Failed)
}

/// A bounded call's answer: its own, or [`LedgerError::TimedOut`] when the budget ran out.
fn bounded<T>(
    answer: Result<Result<T, LedgerError>, crate::app::budget::Exhausted>,
) -> Result<T, LedgerError> {
    answer.unwrap_or(Err(LedgerError::TimedOut))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::memory::MemoryLedger;
    use chrono::TimeZone;
    use std::time::Duration;

    fn block<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(future)
    }

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, hour, 0, 0).unwrap()
    }

    #[test]
    fn an_accounts_first_sighting_records_its_baseline_and_later_ones_keep_it() {
        let ledger = MemoryLedger::new();
        let budget = Budget::of(Duration::from_secs(5));
        let baselines = Baselines::default();
        let first = block(baselines.of(&ledger, "acct", &budget, at(9))).unwrap();
        assert_eq!((first.at, first.set_by), (at(9), SetBy::FirstSeen));
        // Another process, later: it reads the recorded one.
        let elsewhere = Baselines::default();
        let later = block(elsewhere.of(&ledger, "acct", &budget, at(15))).unwrap();
        assert_eq!(later.at, at(9));
        assert_eq!(ledger.baselines().len(), 1);
    }

    #[test]
    fn an_operators_baseline_replaces_the_first_sighting_and_reaches_other_processes_in_minutes() {
        let ledger = MemoryLedger::new();
        let budget = Budget::of(Duration::from_secs(5));
        let warm = Baselines::default();
        block(warm.of(&ledger, "acct", &budget, at(9))).unwrap();
        let operator = Baselines::default();
        let chosen = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap();
        let before = block(operator.set(&ledger, "acct", chosen, &budget, at(10))).unwrap();
        assert_eq!(before.map(|b| b.at), Some(at(9)));
        let soon = at(9) + TimeDelta::minutes(2);
        assert_eq!(
            block(warm.of(&ledger, "acct", &budget, soon)).unwrap().at,
            at(9)
        );
        let later = at(9) + KEPT_FOR;
        let read = block(warm.of(&ledger, "acct", &budget, later)).unwrap();
        assert_eq!((read.at, read.set_by), (chosen, SetBy::Operator));
    }

    #[test]
    fn an_account_the_ledger_knew_before_baselines_gets_the_earliest_so_nothing_is_historical() {
        let ledger = MemoryLedger::new();
        let observation = crate::domain::ledger::Observation {
            key: crate::domain::ledger::EmployeeKey::new(Some("acct"), "e1"),
            decision: crate::domain::decision::Decision::Active,
            reasons: String::new(),
            termination_date: None,
            effective_at: None,
            effective_rule: None,
            version: None,
            removal: false,
            identity: Default::default(),
            source: crate::domain::ledger::Source::Webhook,
            delivery_id: None,
        };
        let entry = crate::domain::ledger::transition(None, &observation, at(1))
            .write
            .unwrap();
        ledger.insert(entry);
        let budget = Budget::of(Duration::from_secs(5));
        let baseline = block(Baselines::default().of(&ledger, "acct", &budget, at(9))).unwrap();
        assert_eq!((baseline.at, baseline.set_by), (EARLIEST, SetBy::Existing));
        let other = block(Baselines::default().of(&ledger, "new-acct", &budget, at(9))).unwrap();
        assert_eq!(other.set_by, SetBy::FirstSeen);
    }

    #[test]
    fn a_baseline_that_cannot_be_read_is_an_error_not_a_guess() {
        let ledger = MemoryLedger::new();
        ledger.fail_next([LedgerError::Throttled]);
        let budget = Budget::of(Duration::from_secs(5));
        let got = block(Baselines::default().of(&ledger, "acct", &budget, at(9)));
        assert_eq!(got, Err(LedgerError::Throttled));
        assert!(ledger.baselines().is_empty());
    }
}
