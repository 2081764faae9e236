//! The termination decision: a pure function of the event's action, the Employee and now.

use crate::domain::cutoff::{LocalCutoff, takes_effect};
use crate::domain::dates::{parse_bare_date, parse_hr_date};
use crate::domain::employee::{Employee, EmploymentStatus, RawDate};
use crate::domain::envelope::Action;
use chrono::{DateTime, TimeDelta, Utc};

/// What the function concluded about an employee's access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Employment has ended: revoke access now.
    Terminated,
    /// A termination date lies in the future: revoke access then.
    Scheduled,
    /// Nothing says employment ended.
    Active,
    /// A termination date is present but unreadable, and nothing else decides.
    Undetermined,
}

impl Decision {
    /// The decision as it appears in responses and log records.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Terminated => "terminated",
            Decision::Scheduled => "scheduled",
            Decision::Active => "active",
            Decision::Undetermined => "undetermined",
        }
    }

    /// The decision a stored name means.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Decision::Terminated,
            Decision::Scheduled,
            Decision::Active,
            Decision::Undetermined,
        ]
        .into_iter()
        .find(|d| d.as_str() == text)
    }
}

/// One fact that led to a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The event was `Employee.removed` (or `deleted`).
    EmployeeRemoved,
    /// `remote_was_deleted` is true.
    RemoteWasDeleted,
    /// `employment_status` is `INACTIVE`.
    StatusInactive,
    /// `termination_date` is at or before now.
    TerminationDatePassed,
    /// `termination_date` is after now.
    TerminationDateInFuture,
    /// `termination_date` is present but could not be parsed.
    TerminationDateUnreadable,
    /// A `start_date` or `hire_date` after the `termination_date` makes it stale.
    RehiredAfterTermination,
    /// `employment_status` is `PENDING` (pre-hire).
    StatusPending,
    /// `employment_status` is a value outside Merge's enum.
    UnknownStatus,
    /// No field says employment ended.
    NoTerminationSignal,
    /// A scheduled termination fired: its date has taken effect.
    TerminationDateReached,
}

impl Reason {
    /// The reason as it appears in responses and log records.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::EmployeeRemoved => "employee_removed",
            Reason::RemoteWasDeleted => "remote_was_deleted",
            Reason::StatusInactive => "status_inactive",
            Reason::TerminationDatePassed => "termination_date_passed",
            Reason::TerminationDateInFuture => "termination_date_in_future",
            Reason::TerminationDateUnreadable => "termination_date_unreadable",
            Reason::RehiredAfterTermination => "rehired_after_termination",
            Reason::StatusPending => "status_pending",
            Reason::UnknownStatus => "unknown_status",
            Reason::NoTerminationSignal => "no_termination_signal",
            Reason::TerminationDateReached => "termination_date_reached",
        }
    }
}

/// What `employment_status: INACTIVE` means for an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InactiveMeaning {
    /// Employment has ended (Merge's own guidance).
    #[default]
    Terminated,
    /// Not conclusive, for HR systems that report leave of absence as inactive: a date
    /// still decides, and without one the decision is `undetermined`.
    Undetermined,
}

impl InactiveMeaning {
    /// The meaning as `INACTIVE_WITHOUT_DATE` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            InactiveMeaning::Terminated => "terminated",
            InactiveMeaning::Undetermined => "undetermined",
        }
    }
}

/// How an organisation's HR data is read. The default is the documented behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    /// Added to a termination date to get the instant the termination takes effect; 24
    /// hours makes a last-working-day date mean the end of that day.
    pub effective_offset: TimeDelta,
    /// What `INACTIVE` means.
    pub inactive: InactiveMeaning,
    /// Where and when a date-only termination takes effect (before the offset): the
    /// configured default, or the linked account's own.
    pub local: LocalCutoff,
}

impl Policy {
    /// This policy with the linked account's own local cutoff, when it has one.
    pub fn for_account(&self, own: Option<LocalCutoff>) -> Policy {
        Policy {
            local: own.unwrap_or(self.local),
            ..*self
        }
    }
}

/// True when the employee's termination date is a date only, whose instant the local
/// cutoff decides: only then does the linked account's own cutoff need reading.
pub fn dated_locally(employee: &Employee) -> bool {
    matches!(&employee.termination_date, Some(RawDate::Text(text)) if parse_bare_date(text).is_some())
}

/// A decision with the facts behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The conclusion.
    pub decision: Decision,
    /// Every fact that supports it, in a fixed order.
    pub reasons: Vec<Reason>,
    /// The parsed `termination_date`, whenever it was readable.
    pub termination_date: Option<DateTime<Utc>>,
    /// When the termination date takes (or took) effect: the date (a date only: its
    /// local cutoff) plus the policy's offset. Absent when there is no readable date or a rehire superseded it.
    pub effective_at: Option<DateTime<Utc>>,
}

/// The termination date as the rules see it.
enum DateState {
    Absent,
    Unreadable,
    Superseded(DateTime<Utc>),
    Passed {
        date: DateTime<Utc>,
        effective: DateTime<Utc>,
    },
    Future {
        date: DateTime<Utc>,
        effective: DateTime<Utc>,
    },
}

/// Decides whether the employee is terminated, scheduled for termination, active, or
/// cannot be determined.
///
/// `terminated` when the event is a removal, the record was deleted in the HR system,
/// the status is `INACTIVE` (unless the policy says otherwise), or the termination date
/// plus the policy's offset is at or before `now` and not superseded by a later hire or
/// start date. `scheduled` when the only signal is a termination that takes effect in
/// the future. `undetermined` when the only signal is an unreadable termination date,
/// or an `INACTIVE` the policy does not trust. `active` otherwise.
pub fn decide(action: Action, employee: &Employee, now: DateTime<Utc>, policy: &Policy) -> Verdict {
    let date = date_state(employee, now, policy);
    let (termination_date, effective_at) = match date {
        DateState::Passed { date, effective } | DateState::Future { date, effective } => {
            (Some(date), Some(effective))
        }
        DateState::Superseded(date) => (Some(date), None),
        DateState::Absent | DateState::Unreadable => (None, None),
    };
    let inactive = employee.employment_status == Some(EmploymentStatus::Inactive);

    let mut reasons = Vec::new();
    if action == Action::Removed {
        reasons.push(Reason::EmployeeRemoved);
    }
    if employee.remote_was_deleted == Some(true) {
        reasons.push(Reason::RemoteWasDeleted);
    }
    if inactive && policy.inactive == InactiveMeaning::Terminated {
        reasons.push(Reason::StatusInactive);
    }
    if let DateState::Passed { .. } = date {
        reasons.push(Reason::TerminationDatePassed);
    }
    if !reasons.is_empty() {
        return Verdict {
            decision: Decision::Terminated,
            reasons,
            termination_date,
            effective_at,
        };
    }

    let decision = match date {
        DateState::Future { .. } => {
            reasons.push(Reason::TerminationDateInFuture);
            Decision::Scheduled
        }
        DateState::Unreadable => {
            reasons.push(Reason::TerminationDateUnreadable);
            Decision::Undetermined
        }
        DateState::Superseded(_) => {
            reasons.push(Reason::RehiredAfterTermination);
            Decision::Active
        }
        // A passed date always terminates, so it cannot reach here.
        DateState::Absent | DateState::Passed { .. } => Decision::Active,
    };
    if decision == Decision::Active && inactive {
        // Only reached when the policy does not take INACTIVE as a termination.
        reasons.push(Reason::StatusInactive);
        return Verdict {
            decision: Decision::Undetermined,
            reasons,
            termination_date,
            effective_at,
        };
    }
    if decision == Decision::Active {
        match &employee.employment_status {
            Some(EmploymentStatus::Pending) => reasons.push(Reason::StatusPending),
            Some(EmploymentStatus::Other(_)) => reasons.push(Reason::UnknownStatus),
            _ => {}
        }
        if reasons.is_empty() {
            reasons.push(Reason::NoTerminationSignal);
        }
    }
    Verdict {
        decision,
        reasons,
        termination_date,
        effective_at,
    }
}

fn date_state(employee: &Employee, now: DateTime<Utc>, policy: &Policy) -> DateState {
    let termination = match &employee.termination_date {
        None => return DateState::Absent,
        Some(raw) => match readable(raw) {
            None => return DateState::Unreadable,
            Some(t) => t,
        },
    };
    // hire_date and start_date hold the most recent hire, so one later than the
    // termination date means the person came back and the old date is stale.
    let rehired = [&employee.start_date, &employee.hire_date]
        .into_iter()
        .flatten()
        .filter_map(readable)
        .any(|hired| hired > termination);
    // A date only is a local day: it starts at the local cutoff. A date with a time or
    // an offset keeps the instant it names.
    let start = match &employee.termination_date {
        Some(RawDate::Text(text)) => parse_bare_date(text).map(|d| takes_effect(d, policy.local)),
        _ => None,
    }
    .unwrap_or(termination);
    // An offset that would leave chrono's range cannot be meant; the date stands as is.
    let effective = start
        .checked_add_signed(policy.effective_offset)
        .unwrap_or(start);
    if rehired {
        DateState::Superseded(termination)
    } else if effective <= now {
        DateState::Passed {
            date: termination,
            effective,
        }
    } else {
        DateState::Future {
            date: termination,
            effective,
        }
    }
}

fn readable(raw: &RawDate) -> Option<DateTime<Utc>> {
    match raw {
        RawDate::Text(text) => parse_hr_date(text),
        RawDate::NotText => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
    }

    fn rfc3339(t: DateTime<Utc>) -> Option<RawDate> {
        Some(RawDate::text(t.to_rfc3339()))
    }

    fn terminated_on(t: DateTime<Utc>) -> Employee {
        Employee {
            termination_date: rfc3339(t),
            ..Employee::default()
        }
    }

    fn changed(employee: &Employee) -> Verdict {
        decide(Action::Changed, employee, now(), &Policy::default())
    }

    #[test]
    fn terminated_when_termination_date_has_passed() {
        let verdict = changed(&terminated_on(now() - Duration::days(7)));
        assert_eq!(verdict.decision, Decision::Terminated);
        assert_eq!(verdict.reasons, vec![Reason::TerminationDatePassed]);
        assert_eq!(verdict.termination_date, Some(now() - Duration::days(7)));
    }

    #[test]
    fn terminated_at_the_exact_termination_instant() {
        assert_eq!(
            changed(&terminated_on(now())).decision,
            Decision::Terminated
        );
    }

    #[test]
    fn terminated_one_second_after_the_termination_instant() {
        assert_eq!(
            changed(&terminated_on(now() - Duration::seconds(1))).decision,
            Decision::Terminated
        );
    }

    #[test]
    fn scheduled_one_second_before_the_termination_instant() {
        let date = now() + Duration::seconds(1);
        let verdict = changed(&terminated_on(date));
        assert_eq!(verdict.decision, Decision::Scheduled);
        assert_eq!(verdict.reasons, vec![Reason::TerminationDateInFuture]);
        assert_eq!(verdict.effective_at, Some(date));
    }

    #[test]
    fn a_passed_date_reports_when_it_took_effect() {
        let verdict = changed(&terminated_on(now() - Duration::days(7)));
        assert_eq!(verdict.effective_at, Some(now() - Duration::days(7)));
    }

    #[test]
    fn terminated_when_status_is_inactive_without_a_date() {
        let employee = Employee {
            employment_status: Some(EmploymentStatus::Inactive),
            ..Employee::default()
        };
        let verdict = changed(&employee);
        assert_eq!(verdict.decision, Decision::Terminated);
        assert_eq!(verdict.reasons, vec![Reason::StatusInactive]);
        assert_eq!(verdict.termination_date, None);
    }

    #[test]
    fn terminated_when_inactive_even_with_a_future_date() {
        let employee = Employee {
            employment_status: Some(EmploymentStatus::Inactive),
            ..terminated_on(now() + Duration::days(3))
        };
        let verdict = changed(&employee);
        assert_eq!(verdict.decision, Decision::Terminated);
        assert_eq!(verdict.reasons, vec![Reason::StatusInactive]);
        assert_eq!(verdict.effective_at, Some(now() + Duration::days(3)));
    }

    #[test]
    fn terminated_when_the_hr_record_was_deleted() {
        let employee = Employee {
            remote_was_deleted: Some(true),
            ..Employee::default()
        };
        let verdict = changed(&employee);
        assert_eq!(verdict.decision, Decision::Terminated);
        assert_eq!(verdict.reasons, vec![Reason::RemoteWasDeleted]);
    }

    #[test]
    fn terminated_when_the_employee_is_removed_with_only_ids() {
        let employee = Employee {
            id: Some("e1".into()),
            remote_id: Some("r1".into()),
            ..Employee::default()
        };
        let verdict = decide(Action::Removed, &employee, now(), &Policy::default());
        assert_eq!(verdict.decision, Decision::Terminated);
        assert_eq!(verdict.reasons, vec![Reason::EmployeeRemoved]);
    }

    #[test]
    fn every_terminating_signal_is_listed() {
        let employee = Employee {
            remote_was_deleted: Some(true),
            employment_status: Some(EmploymentStatus::Inactive),
            ..terminated_on(now() - Duration::days(1))
        };
        let verdict = decide(Action::Removed, &employee, now(), &Policy::default());
        assert_eq!(
            verdict.reasons,
            vec![
                Reason::EmployeeRemoved,
                Reason::RemoteWasDeleted,
                Reason::StatusInactive,
                Reason::TerminationDatePassed
            ]
        );
    }

    #[test]
    fn active_when_a_later_hire_supersedes_an_old_termination() {
        let employee = Employee {
            employment_status: Some(EmploymentStatus::Active),
            hire_date: rfc3339(now() - Duration::days(30)),
            ..terminated_on(now() - Duration::days(400))
        };
        let verdict = changed(&employee);
        assert_eq!(verdict.decision, Decision::Active);
        assert_eq!(verdict.reasons, vec![Reason::RehiredAfterTermination]);
        assert_eq!(verdict.termination_date, Some(now() - Duration::days(400)));
    }

    #[test]
    fn a_later_start_date_alone_also_supersedes() {
        let employee = Employee {
            start_date: rfc3339(now() - Duration::days(1)),
            ..terminated_on(now() - Duration::days(2))
        };
        assert_eq!(changed(&employee).decision, Decision::Active);
    }

    #[test]
    fn a_hire_on_the_termination_instant_does_not_supersede() {
        let date = now() - Duration::days(2);
        let employee = Employee {
            hire_date: rfc3339(date),
            ..terminated_on(date)
        };
        assert_eq!(changed(&employee).decision, Decision::Terminated);
    }

    #[test]
    fn an_earlier_hire_does_not_supersede() {
        let employee = Employee {
            hire_date: rfc3339(now() - Duration::days(900)),
            start_date: rfc3339(now() - Duration::days(899)),
            ..terminated_on(now() - Duration::days(2))
        };
        assert_eq!(changed(&employee).decision, Decision::Terminated);
    }

    #[test]
    fn undetermined_when_the_date_cannot_be_parsed() {
        let employee = Employee {
            employment_status: Some(EmploymentStatus::Active),
            termination_date: Some(RawDate::text("last friday")),
            ..Employee::default()
        };
        let verdict = changed(&employee);
        assert_eq!(verdict.decision, Decision::Undetermined);
        assert_eq!(verdict.reasons, vec![Reason::TerminationDateUnreadable]);
    }

    #[test]
    fn undetermined_when_the_date_is_not_a_string() {
        let employee = Employee {
            termination_date: Some(RawDate::NotText),
            ..Employee::default()
        };
        assert_eq!(changed(&employee).decision, Decision::Undetermined);
    }

    #[test]
    fn an_unreadable_date_does_not_hide_an_inactive_status() {
        let employee = Employee {
            employment_status: Some(EmploymentStatus::Inactive),
            termination_date: Some(RawDate::text("soon")),
            ..Employee::default()
        };
        assert_eq!(changed(&employee).decision, Decision::Terminated);
    }

    #[test]
    fn active_with_no_signal_at_all() {
        let verdict = changed(&Employee::default());
        assert_eq!(verdict.decision, Decision::Active);
        assert_eq!(verdict.reasons, vec![Reason::NoTerminationSignal]);
    }

    #[test]
    fn active_for_a_pre_hire() {
        let employee = Employee {
            employment_status: Some(EmploymentStatus::Pending),
            ..Employee::default()
        };
        let verdict = changed(&employee);
        assert_eq!(verdict.decision, Decision::Active);
        assert_eq!(verdict.reasons, vec![Reason::StatusPending]);
    }

    #[test]
    fn active_for_an_unknown_status_with_no_other_signal() {
        let employee = Employee {
            employment_status: Some(EmploymentStatus::Other("ON_LEAVE".into())),
            ..Employee::default()
        };
        let verdict = changed(&employee);
        assert_eq!(verdict.decision, Decision::Active);
        assert_eq!(verdict.reasons, vec![Reason::UnknownStatus]);
    }

    #[test]
    fn an_unreadable_hire_date_does_not_supersede() {
        let employee = Employee {
            hire_date: Some(RawDate::text("recently")),
            ..terminated_on(now() - Duration::days(2))
        };
        assert_eq!(changed(&employee).decision, Decision::Terminated);
    }

    #[test]
    fn date_forms_are_compared_as_instants() {
        let employee = Employee {
            termination_date: Some(RawDate::text("2026-11-27T13:00:00+02:00")),
            ..Employee::default()
        };
        // 13:00 at +02:00 is 11:00 UTC, an hour before now.
        assert_eq!(changed(&employee).decision, Decision::Terminated);
        let bare = Employee {
            termination_date: Some(RawDate::text("2026-11-28")),
            ..Employee::default()
        };
        assert_eq!(changed(&bare).decision, Decision::Scheduled);
    }

    fn with_policy(employee: &Employee, policy: Policy) -> Verdict {
        decide(Action::Changed, employee, now(), &policy)
    }

    fn offset(hours: i64) -> Policy {
        Policy {
            effective_offset: TimeDelta::hours(hours),
            ..Policy::default()
        }
    }

    #[test]
    fn an_offset_delays_when_a_dated_termination_takes_effect() {
        let date = now() - TimeDelta::hours(24);
        // Effective exactly now: terminated.
        assert_eq!(
            with_policy(&terminated_on(date), offset(24)).decision,
            Decision::Terminated
        );
        // Effective one second from now: scheduled, at the offset instant.
        let later = terminated_on(date + TimeDelta::seconds(1));
        let verdict = with_policy(&later, offset(24));
        assert_eq!(verdict.decision, Decision::Scheduled);
        assert_eq!(verdict.effective_at, Some(now() + TimeDelta::seconds(1)));
        assert_eq!(verdict.termination_date, Some(date + TimeDelta::seconds(1)));
        // Effective one second ago: terminated.
        let earlier = terminated_on(date - TimeDelta::seconds(1));
        assert_eq!(
            with_policy(&earlier, offset(24)).decision,
            Decision::Terminated
        );
    }

    #[test]
    fn a_negative_offset_brings_the_termination_forward() {
        let verdict = with_policy(&terminated_on(now() + TimeDelta::hours(2)), offset(-2));
        assert_eq!(verdict.decision, Decision::Terminated);
        let verdict = with_policy(
            &terminated_on(now() + TimeDelta::hours(2) + TimeDelta::seconds(1)),
            offset(-2),
        );
        assert_eq!(verdict.decision, Decision::Scheduled);
    }

    #[test]
    fn the_offset_does_not_move_the_rehire_comparison() {
        let date = now() - TimeDelta::days(3);
        let employee = Employee {
            hire_date: rfc3339(date + TimeDelta::hours(1)),
            ..terminated_on(date)
        };
        assert_eq!(
            with_policy(&employee, offset(24)).decision,
            Decision::Active
        );
    }

    fn local(zone: &str, cutoff: crate::domain::cutoff::Cutoff) -> Policy {
        Policy {
            local: LocalCutoff {
                zone: crate::domain::cutoff::parse_zone(zone).unwrap(),
                cutoff,
            },
            ..Policy::default()
        }
    }

    fn left_on(date: &str) -> Employee {
        Employee {
            termination_date: Some(RawDate::text(date)),
            ..Employee::default()
        }
    }

    fn instant(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn a_date_only_termination_takes_effect_at_the_local_cutoff() {
        use crate::domain::cutoff::Cutoff;
        // Now is 2026-11-27T12:00Z: 23:00 on the 27th in Melbourne, 07:00 in New York.
        let melbourne_end = local("Australia/Melbourne", Cutoff::EndOfDay);
        let verdict = with_policy(&left_on("2026-11-27"), melbourne_end);
        assert_eq!(verdict.decision, Decision::Scheduled);
        assert_eq!(verdict.effective_at, Some(instant("2026-11-27T13:00:00Z")));
        // The date itself is still the date, as the ledger and the rehire rule read it.
        assert_eq!(
            verdict.termination_date,
            Some(instant("2026-11-27T00:00:00Z"))
        );
        let new_york_start = local("America/New_York", Cutoff::StartOfDay);
        let verdict = with_policy(&left_on("2026-11-27"), new_york_start);
        assert_eq!(verdict.decision, Decision::Terminated);
        assert_eq!(verdict.effective_at, Some(instant("2026-11-27T05:00:00Z")));
    }

    #[test]
    fn the_offset_applies_on_top_of_the_local_cutoff() {
        use crate::domain::cutoff::Cutoff;
        let policy = Policy {
            effective_offset: TimeDelta::hours(9),
            ..local("America/New_York", Cutoff::EndOfDay)
        };
        let verdict = with_policy(&left_on("2026-11-26"), policy);
        // The end of the 26th in New York is 05:00Z on the 27th; nine hours later.
        assert_eq!(verdict.effective_at, Some(instant("2026-11-27T14:00:00Z")));
        assert_eq!(verdict.decision, Decision::Scheduled);
    }

    #[test]
    fn a_date_with_an_offset_or_a_time_keeps_its_instant_under_any_local_cutoff() {
        use crate::domain::cutoff::Cutoff;
        let melbourne_end = local("Australia/Melbourne", Cutoff::EndOfDay);
        for (raw, meant) in [
            ("2026-11-27T10:00:00+11:00", "2026-11-26T23:00:00Z"),
            ("2026-11-27T00:00:00+11:00", "2026-11-26T13:00:00Z"),
            ("2026-11-27T18:30:00", "2026-11-27T18:30:00Z"),
        ] {
            let verdict = with_policy(&left_on(raw), melbourne_end);
            assert_eq!(verdict.effective_at, Some(instant(meant)), "{raw}");
            assert_eq!(
                verdict,
                with_policy(&left_on(raw), Policy::default()),
                "{raw}"
            );
        }
    }

    #[test]
    fn only_a_date_only_termination_is_dated_locally() {
        assert!(dated_locally(&left_on(" 2026-11-27 ")));
        // Merge renders an HR system's date as midnight UTC: still a date only.
        assert!(dated_locally(&left_on("2026-11-27T00:00:00Z")));
        assert!(!dated_locally(&left_on("2026-11-27T00:00:00+11:00")));
        assert!(!dated_locally(&left_on("2026-11-27T09:30:00Z")));
        assert!(!dated_locally(&Employee::default()));
        assert!(!dated_locally(&Employee {
            termination_date: Some(RawDate::NotText),
            ..Employee::default()
        }));
    }

    fn inactive_undetermined() -> Policy {
        Policy {
            inactive: InactiveMeaning::Undetermined,
            ..Policy::default()
        }
    }

    #[test]
    fn inactive_without_a_date_is_undetermined_when_the_policy_says_so() {
        let employee = Employee {
            employment_status: Some(EmploymentStatus::Inactive),
            ..Employee::default()
        };
        let verdict = with_policy(&employee, inactive_undetermined());
        assert_eq!(verdict.decision, Decision::Undetermined);
        assert_eq!(verdict.reasons, vec![Reason::StatusInactive]);
    }

    #[test]
    fn with_inactive_untrusted_a_date_still_decides() {
        let inactive = |t| Employee {
            employment_status: Some(EmploymentStatus::Inactive),
            ..terminated_on(t)
        };
        let past = with_policy(&inactive(now()), inactive_undetermined());
        assert_eq!(past.decision, Decision::Terminated);
        assert_eq!(past.reasons, vec![Reason::TerminationDatePassed]);
        let future = with_policy(
            &inactive(now() + TimeDelta::seconds(1)),
            inactive_undetermined(),
        );
        assert_eq!(future.decision, Decision::Scheduled);
    }

    #[test]
    fn with_inactive_untrusted_removal_and_deletion_still_terminate() {
        let employee = Employee {
            employment_status: Some(EmploymentStatus::Inactive),
            remote_was_deleted: Some(true),
            ..Employee::default()
        };
        let verdict = with_policy(&employee, inactive_undetermined());
        assert_eq!(verdict.decision, Decision::Terminated);
        assert_eq!(verdict.reasons, vec![Reason::RemoteWasDeleted]);
    }
}
