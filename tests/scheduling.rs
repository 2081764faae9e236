//! Scheduled terminations through the real handler and the in-memory schedule group:
//! what is created, updated and cancelled, what a stale delivery cannot change, what a
//! failure answers, what a fired schedule logs, and that no function URL request can be
//! taken for a fired schedule.

mod support;

use merge_deprovision::aws::scheduler::SchedulerError;
use merge_deprovision::domain::schedule::{EXPIRY_KIND, MIN_LEAD, TERMINATION_KIND};
use merge_deprovision::lambda::http::FiredError;
use merge_deprovision::lambda::record::{
    SCHEDULING_FAILED_MESSAGE, TERMINATED_MESSAGE, UNKNOWN_EVENT_MESSAGE,
};
use merge_deprovision_samples::Signing;
use serde_json::{Value, json};
use support::{
    DEAD_LETTER_ARN, FUNCTION_ARN, SCHEDULER_ROLE_ARN, answer, answer_fired, employee_delivery,
    fired_event, in_lambda, now, post, scheduling_app,
};

fn scheduled(date: &str, modified_at: &str) -> lambda_http::Request {
    employee_delivery(
        "Employee.changed",
        json!({"employment_status": "ACTIVE", "termination_date": date, "modified_at": modified_at}),
    )
}

fn active(modified_at: &str) -> lambda_http::Request {
    employee_delivery(
        "Employee.changed",
        json!({"employment_status": "ACTIVE", "termination_date": null, "modified_at": modified_at}),
    )
}

fn terminated(modified_at: &str) -> lambda_http::Request {
    employee_delivery(
        "Employee.changed",
        json!({"employment_status": "INACTIVE", "termination_date": "2026-11-20", "modified_at": modified_at}),
    )
}

#[test]
fn a_scheduled_delivery_creates_one_schedule_at_its_effective_time_with_every_field() {
    let (app, schedules) = scheduling_app();
    let answer = answer(&app, &scheduled("2099-06-30", "2026-11-26T04:12:09Z"));
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["decision"], "scheduled");
    let stored = schedules.schedules();
    assert_eq!(stored.len(), 1);
    let (name, schedule) = stored.into_iter().next().unwrap();
    assert!(name.len() <= 64);
    assert!(
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    );
    assert_eq!(schedule.expression, "at(2099-06-30T00:00:00)");
    assert_eq!(schedule.target.function_arn, FUNCTION_ARN);
    assert_eq!(schedule.target.role_arn, SCHEDULER_ROLE_ARN);
    assert_eq!(
        schedule.target.dead_letter_arn.as_deref(),
        Some(DEAD_LETTER_ARN)
    );
    let document = &schedule.document;
    assert_eq!(document.kind, TERMINATION_KIND);
    assert_eq!(
        document.effective_at.as_deref(),
        Some("2099-06-30T00:00:00Z")
    );
    assert_eq!(
        document.modified_at.as_deref(),
        Some("2026-11-26T04:12:09Z")
    );
    assert_eq!(document.work_email.as_deref(), Some("greg@merge.dev"));
    let record = &answer.records()[0];
    assert_eq!(record["schedule"], "created");
    assert_eq!(record["schedule_name"], name.as_str());
    assert_eq!(answer.metrics["SchedulesCreated"], 1);
}

#[test]
fn the_schedule_name_holds_no_email_or_name() {
    let (app, schedules) = scheduling_app();
    answer(&app, &scheduled("2099-06-30", "2026-11-26T04:12:09Z"));
    let name = schedules.schedules().into_keys().next().unwrap();
    for personal in ["greg", "merge.dev", "Cousin", "Hirsch", "0958cbc6"] {
        assert!(!name.contains(personal), "{name} holds {personal}");
    }
}

#[test]
fn a_later_delivery_with_another_date_updates_the_same_schedule() {
    let (app, schedules) = scheduling_app();
    answer(&app, &scheduled("2099-06-30", "2026-11-26T04:12:09Z"));
    let moved = answer(&app, &scheduled("2099-07-31", "2026-11-26T05:00:00Z"));
    assert_eq!(moved.records()[0]["schedule"], "updated");
    assert_eq!(moved.metrics["SchedulesUpdated"], 1);
    let stored = schedules.schedules();
    assert_eq!(stored.len(), 1, "one employee, one schedule");
    let schedule = stored.into_values().next().unwrap();
    assert_eq!(schedule.expression, "at(2099-07-31T00:00:00)");
}

#[test]
fn active_terminated_or_undetermined_cancels_a_pending_termination() {
    let undetermined = || {
        employee_delivery(
            "Employee.changed",
            json!({"employment_status": "ACTIVE", "termination_date": "end of Q4",
                   "modified_at": "2026-11-26T05:00:00Z"}),
        )
    };
    type Delivery = fn() -> lambda_http::Request;
    let newer: [(&str, Delivery); 3] = [
        ("active", || active("2026-11-26T05:00:00Z")),
        ("terminated", || terminated("2026-11-26T05:00:00Z")),
        ("undetermined", undetermined),
    ];
    for (decision, delivery) in newer {
        let (app, schedules) = scheduling_app();
        answer(&app, &scheduled("2099-06-30", "2026-11-26T04:12:09Z"));
        let cancelled = answer(&app, &delivery());
        assert_eq!(cancelled.json()["decision"], decision);
        assert_eq!(
            cancelled.records()[0]["schedule"],
            "cancelled",
            "{decision}"
        );
        assert_eq!(cancelled.metrics["SchedulesCancelled"], 1);
        let kinds: Vec<String> = schedules
            .schedules()
            .into_values()
            .map(|s| s.document.kind)
            .collect();
        assert_eq!(kinds, vec![EXPIRY_KIND], "{decision}: nothing left to fire");
    }
}

#[test]
fn an_added_employee_decided_active_makes_no_scheduler_call() {
    let (app, schedules) = scheduling_app();
    let added = employee_delivery(
        "Employee.added",
        json!({"employment_status": "ACTIVE", "termination_date": null}),
    );
    let answer = answer(&app, &added);
    assert_eq!(answer.json()["decision"], "active");
    assert_eq!(schedules.calls(), 0);
    assert_eq!(answer.records()[0]["schedule"], "not_needed");
}

#[test]
fn a_stale_scheduled_retry_after_a_newer_active_one_schedules_nothing() {
    // With and without a schedule existing when the newer delivery came.
    for earlier in [true, false] {
        let (app, schedules) = scheduling_app();
        if earlier {
            answer(&app, &scheduled("2099-06-30", "2026-11-26T04:00:00Z"));
        }
        answer(&app, &active("2026-11-26T06:00:00Z"));
        let retry = answer(&app, &scheduled("2099-06-30", "2026-11-26T04:00:00Z"));
        assert_eq!(retry.status, 200, "a stale delivery is still acknowledged");
        assert_eq!(retry.records()[0]["schedule"], "stale");
        assert!(
            schedules
                .schedules()
                .values()
                .all(|s| s.document.kind == EXPIRY_KIND),
            "earlier schedule: {earlier}"
        );
    }
}

#[test]
fn a_duplicate_delivery_changes_nothing_and_writes_nothing() {
    let (app, schedules) = scheduling_app();
    answer(&app, &scheduled("2099-06-30", "2026-11-26T04:12:09Z"));
    let calls = schedules.calls();
    let duplicate = answer(&app, &scheduled("2099-06-30", "2026-11-26T04:12:09Z"));
    assert_eq!(duplicate.records()[0]["schedule"], "unchanged");
    assert_eq!(schedules.calls(), calls + 1, "one read, no write");
    assert!(duplicate.metrics.get("SchedulesUpdated").is_none());
}

#[test]
fn a_termination_due_within_the_minute_is_set_a_minute_ahead_not_refused() {
    let (app, schedules) = scheduling_app();
    let soon = now() + chrono::TimeDelta::seconds(1);
    let answer = answer(&app, &scheduled(&soon.to_rfc3339(), "2026-11-26T04:12:09Z"));
    assert_eq!(answer.json()["decision"], "scheduled");
    let schedule = schedules.schedules().into_values().next().unwrap();
    assert_eq!(schedule.at, now() + MIN_LEAD);
    assert_eq!(schedule.expression, "at(2026-11-27T12:01:00)");
}

#[test]
fn a_failed_scheduler_call_is_a_503_with_one_error_record_and_the_next_delivery_is_served() {
    for error in [
        SchedulerError::Throttled,
        SchedulerError::Unreachable,
        SchedulerError::Denied,
    ] {
        let (app, schedules) = scheduling_app();
        schedules.fail_next([error.clone()]);
        let failed = answer(&app, &scheduled("2099-06-30", "2026-11-26T04:12:09Z"));
        assert_eq!(failed.status, 503);
        assert_eq!(failed.json()["error"], "scheduling_unavailable");
        let records = failed.records();
        assert_eq!(records.len(), 1);
        let record = &records[0];
        assert_eq!(record["level"], "ERROR");
        assert_eq!(record["message"], SCHEDULING_FAILED_MESSAGE);
        assert_eq!(record["decision"], "scheduled");
        assert_eq!(
            record["employee_id"],
            "0958cbc6-6040-430a-848e-aafacbadf4ae"
        );
        assert_eq!(record["schedule_error"], error.kind());
        assert_eq!(record["effective_at"], "2099-06-30T00:00:00Z");
        assert_eq!(failed.metrics["SchedulingFailures"], 1);
        assert!(schedules.schedules().is_empty());

        let retried = answer(&app, &scheduled("2099-06-30", "2026-11-26T04:12:09Z"));
        assert_eq!(retried.status, 200, "the retry succeeds");
        assert_eq!(schedules.schedules().len(), 1);
    }
}

#[test]
fn a_create_that_meets_a_conflict_or_an_update_that_meets_not_found_is_planned_again() {
    let (app, schedules) = scheduling_app();
    // Read (nothing), create (a concurrent delivery made it: conflict), read, create.
    schedules.script([None, Some(SchedulerError::Conflict)]);
    let created = answer(&app, &scheduled("2099-06-30", "2026-11-26T04:00:00Z"));
    assert_eq!(created.status, 200);
    assert_eq!(schedules.calls(), 4);
    // Read, update (it fired meanwhile: not found), read, update.
    schedules.script([None, Some(SchedulerError::NotFound)]);
    let moved = answer(&app, &scheduled("2099-07-31", "2026-11-26T05:00:00Z"));
    assert_eq!(moved.status, 200);
    let stored = schedules.schedules();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored.into_values().next().unwrap().expression,
        "at(2099-07-31T00:00:00)"
    );
    // A second conflict in a row is a failure, not a loop.
    schedules.script([
        None,
        Some(SchedulerError::Conflict),
        None,
        Some(SchedulerError::Conflict),
    ]);
    let failed = answer(&app, &scheduled("2099-08-31", "2026-11-26T06:00:00Z"));
    assert_eq!(failed.status, 503);
}

#[test]
fn a_fired_schedule_logs_terminated_with_the_fields_of_every_terminated_record() {
    let (app, schedules) = scheduling_app();
    answer(&app, &scheduled("2099-06-30", "2026-11-26T04:12:09Z"));
    let name = schedules.schedules().into_keys().next().unwrap();
    let input = serde_json::to_string(&schedules.fire(&name).unwrap()).unwrap();

    let (answered, logs) = answer_fired(&app, &fired_event(&input));
    let answered = answered.expect("a known input");
    let records: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record["level"], "WARN");
    assert_eq!(record["message"], TERMINATED_MESSAGE);
    assert_eq!(record["decision"], "terminated");
    assert_eq!(record["reasons"], "termination_date_reached");
    assert_eq!(record["schedule"], "fired");
    assert_eq!(record["schedule_name"], name.as_str());

    // The same identity and account fields as a terminated webhook's record.
    let webhook = answer(&app, &terminated("2026-11-26T06:00:00Z")).records()[0].clone();
    for field in [
        "employee_id",
        "remote_id",
        "employee_number",
        "work_email",
        "username",
        "display_full_name",
        "linked_account_id",
        "integration",
        "end_user_organization_name",
        "termination_date",
        "effective_at",
        "termination_lag_seconds",
        "function_request_id",
        "service",
    ] {
        assert!(
            record.get(field).is_some(),
            "the fired record lacks {field}"
        );
        assert!(
            webhook.get(field).is_some(),
            "the webhook record lacks {field}"
        );
    }
    let metrics: Value = serde_json::from_str(answered.metrics.as_deref().unwrap()).unwrap();
    assert_eq!(metrics["Decision"], "terminated");
    assert_eq!(metrics["ScheduledTerminationsFired"], 1);
    assert!(metrics["TerminationLagSeconds"].is_number());
}

#[test]
fn an_unknown_event_is_an_invocation_error_with_an_error_record() {
    let (app, _) = scheduling_app();
    for event in [
        "[1,2,3]",
        r#"{"detail-type":"Scheduled Event"}"#,
        r#"{"kind":"merge-deprovision.scheduled-termination","version":2,"employee_id":"e"}"#,
        r#"{"kind":"merge-deprovision.scheduled-termination","version":1,"employee_id":"e"}"#,
        r#"{"kind":"other","version":1,"employee_id":"e"}"#,
    ] {
        let (answered, logs) = answer_fired(&app, &fired_event(event));
        assert!(
            matches!(answered, Err(FiredError::Unknown(_))),
            "{event}: {answered:?}"
        );
        let record: Value = serde_json::from_str(logs.lines().next().unwrap()).unwrap();
        assert_eq!(record["level"], "ERROR", "{event}");
        assert_eq!(record["message"], UNKNOWN_EVENT_MESSAGE);
        assert_eq!(logs.lines().count(), 1);
    }
}

#[test]
fn a_function_url_request_is_never_taken_for_a_fired_schedule_whatever_its_body() {
    let (app, schedules) = scheduling_app();
    let document = json!({
        "kind": TERMINATION_KIND, "version": 1, "employee_id": "victim",
        "effective_at": "2026-11-01T00:00:00Z", "work_email": "victim@example.com"
    });
    let body = serde_json::to_vec(&document).unwrap();
    for signing in [Signing::TestKey, Signing::WrongKey, Signing::Unsigned] {
        let request = in_lambda(post(&body, signing));
        assert!(!merge_deprovision::lambda::http::is_fired_event(&request));
        let answer = answer(&app, &request);
        assert_ne!(answer.json()["decision"], "terminated", "{signing:?}");
        assert!(answer.records()[0].get("schedule").is_none());
        assert!(!answer.logs.contains("termination_date_reached"));
    }
    assert_eq!(schedules.calls(), 0);
}

/// One version of the employee's record, as a delivery would carry it.
#[derive(Debug, Clone)]
enum Version {
    Scheduled { days_ahead: i64 },
    Active,
    Terminated,
    Undetermined,
}

fn delivery(version: &Version, hour: usize) -> lambda_http::Request {
    let modified_at = format!("2026-11-20T{hour:02}:00:00Z");
    let fields = match version {
        Version::Scheduled { days_ahead } => {
            let date = (now() + chrono::TimeDelta::days(*days_ahead)).format("%Y-%m-%d");
            json!({"employment_status": "ACTIVE", "termination_date": date.to_string()})
        }
        Version::Active => json!({"employment_status": "ACTIVE", "termination_date": null}),
        Version::Terminated => {
            json!({"employment_status": "INACTIVE", "termination_date": "2026-11-20"})
        }
        Version::Undetermined => {
            json!({"employment_status": "ACTIVE", "termination_date": "soon"})
        }
    };
    let mut fields = fields;
    fields["modified_at"] = json!(modified_at);
    employee_delivery("Employee.changed", fields)
}

fn version() -> impl proptest::strategy::Strategy<Value = Version> {
    use proptest::prelude::*;
    prop_oneof![
        (1i64..400).prop_map(|days_ahead| Version::Scheduled { days_ahead }),
        Just(Version::Active),
        Just(Version::Terminated),
        Just(Version::Undetermined),
    ]
}

/// Versions of one employee's record, oldest first, and an order of deliveries in which
/// every version appears at least once and some more than once.
fn versions_and_order() -> impl proptest::strategy::Strategy<Value = (Vec<Version>, Vec<usize>)> {
    use proptest::prelude::*;
    proptest::collection::vec(version(), 1..6).prop_flat_map(|versions| {
        let n = versions.len();
        let repeats = proptest::collection::vec(0..n, 0..12);
        (Just(versions), repeats).prop_flat_map(move |(versions, repeats)| {
            let mut order: Vec<usize> = (0..n).collect();
            order.extend(repeats);
            (Just(versions), Just(order).prop_shuffle())
        })
    })
}

proptest::proptest! {
    #[test]
    fn any_order_with_duplicates_ends_as_the_newest_modified_at_implies(
        (versions, order) in versions_and_order(),
    ) {
        let (app, schedules) = scheduling_app();
        for &index in &order {
            let answer = answer(&app, &delivery(&versions[index], index));
            proptest::prop_assert_eq!(answer.status, 200);
        }
        let newest = versions.last().unwrap();
        let pending: Vec<_> = schedules
            .schedules()
            .into_values()
            .filter(|s| s.document.is_termination())
            .collect();
        match newest {
            Version::Scheduled { days_ahead } => {
                proptest::prop_assert_eq!(pending.len(), 1);
                let date = (now() + chrono::TimeDelta::days(*days_ahead)).format("%Y-%m-%d");
                proptest::prop_assert_eq!(
                    pending[0].expression.clone(),
                    format!("at({date}T00:00:00)")
                );
            }
            _ => proptest::prop_assert!(pending.is_empty(), "{:?}", pending),
        }
        proptest::prop_assert!(schedules.schedules().len() <= 1, "one employee, one schedule");
    }
}
