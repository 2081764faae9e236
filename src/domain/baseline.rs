//! Each linked account's baseline, and which terminations are historical: a
//! termination that took effect long before the function first heard of the account,
//! of an employee the ledger never saw live, is recorded but never acted on
//! automatically (no `employee terminated: revoke access` record, no deprovisioning);
//! only a backfill, asked for on purpose, works it.
//!
//! Why: the first sweep of a newly linked account (or SCIM turned on for an old ledger)
//! finds every leaver the HR system ever had. Most lost their access years ago, and the
//! address of one may now be someone else's: acting on them locks out colleagues and
//! trips the brake on noise.

use crate::domain::decision::Decision;
#[cfg(test)]
use crate::domain::ledger::enters_current;
use crate::domain::ledger::{Entry, Transition};
use chrono::{DateTime, TimeDelta, Utc};

/// How a baseline came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetBy {
    /// The first delivery or sweep observation of the account recorded it.
    FirstSeen,
    /// An operator set it (`merge-deprovision.baseline`).
    Operator,
    /// The ledger already held entries of the account when its baseline was first asked
    /// for (a version before baselines wrote them): nobody can say when the function
    /// first heard of it, so the baseline is [`EARLIEST`] and nothing is historical
    /// until an operator sets one.
    Existing,
}

/// The baseline of an account the ledger knew before baselines existed: 1970, before
/// any termination a ledger holds.
pub const EARLIEST: DateTime<Utc> = DateTime::<Utc>::UNIX_EPOCH;

impl SetBy {
    /// The name stored and answered.
    pub fn as_str(self) -> &'static str {
        match self {
            SetBy::FirstSeen => "first_seen",
            SetBy::Operator => "operator",
            SetBy::Existing => "existing",
        }
    }

    /// The origin a stored name means.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "first_seen" => Some(SetBy::FirstSeen),
            "operator" => Some(SetBy::Operator),
            "existing" => Some(SetBy::Existing),
            _ => None,
        }
    }
}

/// One linked account's baseline, as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    /// The linked account (or [`NO_LINKED_ACCOUNT`](crate::domain::ledger::NO_LINKED_ACCOUNT)).
    pub linked_account_id: String,
    /// When the function first heard of the account, or the instant an operator chose.
    pub at: DateTime<Utc>,
    /// How it was set.
    pub set_by: SetBy,
}

/// The default lookback: a termination that took effect up to this long before the
/// baseline is current, not historical. HR records leavers late (a week is common, a
/// month-end batch more), and the first delivery of an account is often itself a
/// termination that took effect that morning.
pub const DEFAULT_LOOKBACK_DAYS: u32 = 30;
/// The smallest lookback accepted: a week, so that an account's first delivery (often
/// that morning's leaver, or last Friday's) is never historical.
pub const MIN_LOOKBACK_DAYS: u32 = 7;
/// The largest lookback accepted.
pub const MAX_LOOKBACK_DAYS: u32 = 3650;

/// The instant before which a termination is historical: the baseline less the lookback.
pub fn cutoff(baseline: &Baseline, lookback: TimeDelta) -> DateTime<Utc> {
    cutoff_of(baseline.at, lookback)
}

/// The instant `lookback` before the baseline instant `at`.
pub fn cutoff_of(at: DateTime<Utc>, lookback: TimeDelta) -> DateTime<Utc> {
    at.checked_sub_signed(lookback)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// True when `written`, planned against `stored`, records a termination as historical:
/// the ledger's first sight of the employee is this termination (no entry at all: an
/// employee seen in any state before, even `undetermined`, may have worked here since
/// the baseline), and it took effect before `cutoff`. A termination whose effective
/// time is unknown is current: nothing shows it is old.
pub fn is_historical(stored: Option<&Entry>, written: &Entry, cutoff: DateTime<Utc>) -> bool {
    written.decision == Decision::Terminated
        && stored.is_none()
        && written.effective_at.is_some_and(|at| at < cutoff)
}

/// `planned` with its written entry marked historical or not. A new termination is
/// historical by [`is_historical`], and owes no `terminated` record: it is written
/// announced. A later version of a historical termination stays historical only while
/// its effective time is still before `cutoff`: a date corrected to a recent one makes
/// it a current termination from this write (its own `terminated_at`, its record owed),
/// which [`enters_current`](crate::domain::ledger::enters_current) tells as a move
/// into `terminated`. Any other write clears
/// the mark.
pub fn classify(
    stored: Option<&Entry>,
    mut planned: Transition,
    cutoff: DateTime<Utc>,
) -> Transition {
    let Some(write) = planned.write.as_mut() else {
        return planned;
    };
    let continues = write.decision == Decision::Terminated
        && stored.is_some_and(|s| s.decision == Decision::Terminated);
    if !continues {
        write.historical = is_historical(stored, write, cutoff);
        if write.historical {
            write.announced = true;
        }
        return planned;
    }
    let was = stored.is_some_and(|s| s.historical);
    let still_old = write.effective_at.is_some_and(|at| at < cutoff);
    write.historical = was && still_old;
    if was && !still_old {
        write.terminated_at = Some(write.updated_at);
        write.announced = false;
    }
    planned
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ledger::{EmployeeKey, Identity, Observation, Source, transition};
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    fn observed(decision: Decision, effective: Option<DateTime<Utc>>, version: u32) -> Observation {
        Observation {
            key: EmployeeKey::new(Some("acct"), "e1"),
            decision,
            reasons: String::new(),
            termination_date: effective,
            effective_at: effective,
            effective_rule: None,
            version: Some(at(2026, 11, version)),
            removal: false,
            identity: Identity::default(),
            source: Source::Reconciliation,
            delivery_id: None,
        }
    }

    fn baseline() -> Baseline {
        Baseline {
            linked_account_id: "acct".into(),
            at: at(2026, 12, 1),
            set_by: SetBy::FirstSeen,
        }
    }

    fn planned(stored: Option<&Entry>, incoming: &Observation) -> Transition {
        let cut = cutoff(&baseline(), TimeDelta::days(30));
        classify(stored, transition(stored, incoming, at(2026, 12, 1)), cut)
    }

    #[test]
    fn a_leaver_first_seen_years_after_the_termination_is_historical_and_owes_no_record() {
        let old = observed(Decision::Terminated, Some(at(2023, 3, 31)), 1);
        let written = planned(None, &old).write.unwrap();
        assert!(written.historical);
        assert!(written.announced, "nothing is announced for it");
    }

    #[test]
    fn a_termination_within_the_lookback_is_current() {
        let recent = observed(Decision::Terminated, Some(at(2026, 11, 20)), 1);
        let written = planned(None, &recent).write.unwrap();
        assert!(!written.historical);
        assert!(!written.announced, "its record is owed");
    }

    #[test]
    fn an_old_date_on_an_employee_the_ledger_saw_active_is_a_current_termination() {
        let active = observed(Decision::Active, None, 1);
        let stored = planned(None, &active).write.unwrap();
        let late = observed(Decision::Terminated, Some(at(2023, 3, 31)), 2);
        let written = planned(Some(&stored), &late).write.unwrap();
        assert!(
            !written.historical,
            "HR said they worked here after the baseline"
        );
    }

    #[test]
    fn an_old_termination_after_any_earlier_sight_is_current() {
        for first in [Decision::Undetermined, Decision::Scheduled] {
            let seen = observed(first, Some(at(2099, 6, 30)), 1);
            let stored = planned(None, &seen).write.unwrap();
            let old = observed(Decision::Terminated, Some(at(2023, 3, 31)), 2);
            let written = planned(Some(&stored), &old).write.unwrap();
            assert!(!written.historical, "seen as {first:?} first");
            assert!(enters_current(Some(&stored), &written));
        }
    }

    #[test]
    fn a_historical_termination_whose_date_is_corrected_to_a_recent_one_becomes_current() {
        let typo = observed(Decision::Terminated, Some(at(2025, 11, 25)), 1);
        let stored = planned(None, &typo).write.unwrap();
        assert!(stored.historical);
        assert!(!enters_current(None, &stored), "nothing is owed for it");
        let corrected = observed(Decision::Terminated, Some(at(2026, 11, 25)), 2);
        let written = planned(Some(&stored), &corrected).write.unwrap();
        assert!(!written.historical);
        assert!(!written.announced, "its record is owed now");
        assert_eq!(
            written.terminated_at,
            Some(at(2026, 12, 1)),
            "a termination of its own"
        );
        assert!(enters_current(Some(&stored), &written));
        // A later version of the current one is no new move.
        let again = observed(Decision::Terminated, Some(at(2026, 11, 25)), 3);
        let later = planned(Some(&written), &again).write.unwrap();
        assert!(!enters_current(Some(&written), &later));
    }

    #[test]
    fn a_termination_with_no_known_effective_time_is_current() {
        let undated = observed(Decision::Terminated, None, 1);
        assert!(!planned(None, &undated).write.unwrap().historical);
    }

    #[test]
    fn a_newer_version_of_a_historical_termination_stays_historical_and_a_rehire_clears_it() {
        let old = observed(Decision::Terminated, Some(at(2023, 3, 31)), 1);
        let stored = planned(None, &old).write.unwrap();
        let again = observed(Decision::Terminated, Some(at(2023, 3, 31)), 2);
        let kept = planned(Some(&stored), &again).write.unwrap();
        assert!(kept.historical);
        let rehired = observed(Decision::Active, None, 3);
        let back = planned(Some(&kept), &rehired).write.unwrap();
        assert!(!back.historical);
        let left_again = observed(Decision::Terminated, Some(at(2023, 3, 31)), 4);
        let second = planned(Some(&back), &left_again).write.unwrap();
        assert!(!second.historical, "seen live since: a current termination");
    }
}
