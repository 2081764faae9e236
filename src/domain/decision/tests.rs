//! The termination decision's tests: each rule with the values that show it.

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

#[test]
fn a_date_only_termination_names_the_local_cutoff_that_made_its_instant() {
    use crate::domain::cutoff::Cutoff;
    let melbourne_start = local("Australia/Melbourne", Cutoff::StartOfDay);
    let verdict = with_policy(&left_on("2026-11-27"), melbourne_start);
    // Midnight starting the 27th in Melbourne (AEDT, +11) is 13:00Z on the 26th.
    assert_eq!(verdict.effective_at, Some(instant("2026-11-26T13:00:00Z")));
    assert_eq!(
        verdict.effective_rule.as_deref(),
        Some("start of day, Australia/Melbourne")
    );
    let new_york_end = local("America/New_York", Cutoff::EndOfDay);
    let verdict = with_policy(&left_on("2026-11-27"), new_york_end);
    assert_eq!(verdict.effective_at, Some(instant("2026-11-28T05:00:00Z")));
    assert_eq!(
        verdict.effective_rule.as_deref(),
        Some("end of day, America/New_York")
    );
}

#[test]
fn the_default_cutoff_is_named_as_midnight_utc_and_an_offset_is_added_to_the_rule() {
    assert_eq!(
        changed(&left_on("2026-11-20")).effective_rule.as_deref(),
        Some("start of day, UTC")
    );
    let verdict = with_policy(&left_on("2026-11-20"), offset(6));
    assert_eq!(verdict.effective_at, Some(instant("2026-11-20T06:00:00Z")));
    assert_eq!(
        verdict.effective_rule.as_deref(),
        Some("start of day, UTC, +6 h")
    );
    let verdict = with_policy(&left_on("2026-11-20"), offset(-2));
    assert_eq!(
        verdict.effective_rule.as_deref(),
        Some("start of day, UTC, -2 h")
    );
}

#[test]
fn a_date_with_its_own_time_is_named_as_such_under_any_local_cutoff() {
    use crate::domain::cutoff::Cutoff;
    let melbourne_end = local("Australia/Melbourne", Cutoff::EndOfDay);
    for raw in ["2026-11-27T10:00:00+11:00", "2026-11-27T18:30:00"] {
        let verdict = with_policy(&left_on(raw), melbourne_end);
        assert_eq!(
            verdict.effective_rule.as_deref(),
            Some("the date's own time"),
            "{raw}"
        );
    }
    let policy = Policy {
        effective_offset: TimeDelta::hours(24),
        ..melbourne_end
    };
    let verdict = with_policy(&left_on("2026-11-27T18:30:00Z"), policy);
    assert_eq!(verdict.effective_at, Some(instant("2026-11-28T18:30:00Z")));
    assert_eq!(
        verdict.effective_rule.as_deref(),
        Some("the date's own time, +24 h")
    );
}

#[test]
fn there_is_no_rule_without_an_effective_time() {
    let inactive = Employee {
        employment_status: Some(EmploymentStatus::Inactive),
        ..Employee::default()
    };
    let rehired = Employee {
        hire_date: rfc3339(now() - Duration::days(1)),
        ..terminated_on(now() - Duration::days(2))
    };
    let unreadable = left_on("last friday");
    for employee in [inactive, rehired, unreadable] {
        let verdict = changed(&employee);
        assert_eq!(verdict.effective_at, None, "{employee:?}");
        assert_eq!(verdict.effective_rule, None, "{employee:?}");
    }
}

#[test]
fn an_offset_that_cannot_be_added_is_left_out_of_the_rule_as_it_is_of_the_instant() {
    let policy = Policy {
        effective_offset: TimeDelta::MAX,
        ..Policy::default()
    };
    let verdict = with_policy(&left_on("2026-11-20"), policy);
    assert_eq!(verdict.effective_at, Some(instant("2026-11-20T00:00:00Z")));
    assert_eq!(verdict.effective_rule.as_deref(), Some("start of day, UTC"));
}

#[test]
fn an_offset_of_minutes_is_named_in_minutes() {
    assert_eq!(
        effective_rule(None, TimeDelta::minutes(90)),
        "the date's own time, +90 min"
    );
}
