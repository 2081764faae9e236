//! Each linked account's local cutoff as the use cases need it: read from the ledger
//! once and kept for a few minutes, the decision's policy for an account, and the
//! `merge-deprovision.cutoff` document that reads or sets it.

use crate::app::budget::{Budget, Exhausted};
use crate::app::settle::Effects;
use crate::aws::ledger::{Ledger, LedgerError};
use crate::domain::cutoff::{CutoffDocument, LocalCutoff};
use crate::domain::decision::{Policy, dated_locally};
use crate::domain::employee::Employee;
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

/// How long a read is trusted before it is read again: an operator's new cutoff reaches
/// every warm process within this.
pub const KEPT_FOR: TimeDelta = TimeDelta::minutes(5);

/// The accounts' own local cutoffs this process has read (`None`: the account has
/// none, and the configured default applies), each with when it was read.
#[derive(Debug, Default)]
pub struct Cutoffs {
    known: Mutex<HashMap<String, Kept>>,
}

/// An account's own local cutoff (or none), and when it was read.
type Kept = (Option<LocalCutoff>, DateTime<Utc>);

impl Cutoffs {
    fn kept(&self, account: &str, now: DateTime<Utc>) -> Option<Option<LocalCutoff>> {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known
            .get(account)
            .filter(|(_, read_at)| now - *read_at < KEPT_FOR && *read_at <= now)
            .map(|(own, _)| *own)
    }

    fn keep(&self, account: &str, own: Option<LocalCutoff>, now: DateTime<Utc>) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.insert(account.to_owned(), (own, now));
    }

    /// The local cutoff `account` has of its own: kept, or read.
    pub async fn of(
        &self,
        ledger: &dyn Ledger,
        account: &str,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> Result<Option<LocalCutoff>, LedgerError> {
        if let Some(kept) = self.kept(account, now) {
            return Ok(kept);
        }
        let own = bounded(budget.run(ledger.get_cutoff(account)).await)?;
        self.keep(account, own, now);
        Ok(own)
    }

    /// The policy `employee` of `account` is decided under: `base` with the account's
    /// own local cutoff. Read only when the termination date is a date only, the one
    /// form a cutoff changes; otherwise, and for an employee of no account, `base`.
    pub async fn policy_for(
        &self,
        ledger: &dyn Ledger,
        account: Option<&str>,
        employee: &Employee,
        base: &Policy,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> Result<Policy, LedgerError> {
        match account {
            // An empty id is no account's (the ledger keys it `-`): the table takes no
            // empty key, and the default serves.
            Some(account) if !account.is_empty() && dated_locally(employee) => {
                let own = self.of(ledger, account, budget, now).await?;
                Ok(base.for_account(own))
            }
            _ => Ok(*base),
        }
    }

    /// Sets `account`'s local cutoff (an operator's choice); answers the one it
    /// replaced.
    pub async fn set(
        &self,
        ledger: &dyn Ledger,
        account: &str,
        local: LocalCutoff,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> Result<Option<LocalCutoff>, LedgerError> {
        // One that cannot be read is what the operator is replacing.
        let before = match bounded(budget.run(ledger.get_cutoff(account)).await) {
            Err(LedgerError::Unreadable) => None,
            other => other?,
        };
        bounded(budget.run(ledger.put_cutoff(account, local, now)).await)?;
        self.keep(account, Some(local), now);
        Ok(before)
    }
}

/// What a cutoff document (`merge-deprovision.cutoff`) came to.
#[derive(Debug, PartialEq, Eq)]
pub enum CutoffAsked {
    /// No ledger: there is nowhere to keep an account's own; every account has the
    /// configured default.
    Off,
    /// The cutoff could not be read or written.
    Failed(LedgerError),
    /// Read: the account's own, if it has one.
    Read(Option<LocalCutoff>),
    /// Set by the operator, over the one it replaced.
    Set {
        /// The cutoff now.
        set: LocalCutoff,
        /// The account's own before, if it had one that could be read.
        replaced: Option<LocalCutoff>,
    },
}

/// Reads the account's local cutoff, or sets it when the document gives one.
pub async fn ask(
    effects: Option<&Effects>,
    document: &CutoffDocument,
    budget: &Budget,
    now: DateTime<Utc>,
) -> CutoffAsked {
    let Some(effects) = effects else {
        return CutoffAsked::Off;
    };
    let (ledger, account) = (effects.ledger.as_ref(), document.linked_account_id.as_str());
    let cutoffs = effects.baselines.cutoffs();
    let answer = match document.set {
        Some(local) => cutoffs
            .set(ledger, account, local, budget, now)
            .await
            .map(|replaced| CutoffAsked::Set {
                set: local,
                replaced,
            }),
        // Read from the table, not the process's copy: the answer is what every
        // process reads within minutes.
        None => bounded(budget.run(ledger.get_cutoff(account)).await).map(CutoffAsked::Read),
    };
    answer.unwrap_or_else(CutoffAsked::Failed)
}

/// A bounded call's answer: its own, or [`LedgerError::TimedOut`] when the budget ran out.
fn bounded<T>(answer: Result<Result<T, LedgerError>, Exhausted>) -> Result<T, LedgerError> {
    answer.unwrap_or(Err(LedgerError::TimedOut))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::memory::MemoryLedger;
    use crate::domain::cutoff::{Cutoff, parse_zone};
    use crate::domain::employee::RawDate;
    use chrono::TimeZone;
    use std::time::Duration;

    fn block<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(future)
    }

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 9, minute, 0).unwrap()
    }

    fn melbourne() -> LocalCutoff {
        LocalCutoff {
            zone: parse_zone("Australia/Melbourne").unwrap(),
            cutoff: Cutoff::EndOfDay,
        }
    }

    fn left_on(date: &str) -> Employee {
        Employee {
            termination_date: Some(RawDate::text(date)),
            ..Employee::default()
        }
    }

    #[test]
    fn an_operators_cutoff_reaches_another_warm_process_within_minutes() {
        let ledger = MemoryLedger::new();
        let budget = Budget::of(Duration::from_secs(5));
        let warm = Cutoffs::default();
        assert_eq!(block(warm.of(&ledger, "acct", &budget, at(0))), Ok(None));
        let replaced = block(Cutoffs::default().set(&ledger, "acct", melbourne(), &budget, at(1)));
        assert_eq!(replaced, Ok(None));
        assert_eq!(block(warm.of(&ledger, "acct", &budget, at(4))), Ok(None));
        let later = at(0) + KEPT_FOR;
        assert_eq!(
            block(warm.of(&ledger, "acct", &budget, later)),
            Ok(Some(melbourne()))
        );
    }

    #[test]
    fn only_a_date_only_termination_reads_the_accounts_cutoff() {
        let ledger = MemoryLedger::new();
        let budget = Budget::of(Duration::from_secs(5));
        ledger.fail_next([LedgerError::Throttled]);
        let cutoffs = Cutoffs::default();
        let base = Policy::default();
        let dated = left_on("2026-12-01T09:30:00+11:00");
        let got = block(cutoffs.policy_for(&ledger, Some("acct"), &dated, &base, &budget, at(0)));
        assert_eq!(got, Ok(base), "no read, so the scripted failure is not met");
        let bare = left_on("2026-12-01");
        let got = block(cutoffs.policy_for(&ledger, Some("acct"), &bare, &base, &budget, at(0)));
        assert_eq!(got, Err(LedgerError::Throttled));
        block(ledger.put_cutoff("acct", melbourne(), at(0))).unwrap();
        let got = block(cutoffs.policy_for(&ledger, Some("acct"), &bare, &base, &budget, at(0)));
        assert_eq!(got.map(|p| p.local), Ok(melbourne()));
    }

    #[test]
    fn a_cutoff_that_cannot_be_read_is_an_error_not_the_default() {
        let ledger = MemoryLedger::new();
        ledger.fail_next([LedgerError::Throttled]);
        let budget = Budget::of(Duration::from_secs(5));
        let got = block(Cutoffs::default().of(&ledger, "acct", &budget, at(0)));
        assert_eq!(got, Err(LedgerError::Throttled));
    }
}
