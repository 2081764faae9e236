//! The employee ledger and its timers through the real handler and the in-memory twins
//! of DynamoDB and EventBridge Scheduler: what is recorded, when the `terminated` record
//! is written (once per termination), what a stale or repeated delivery cannot change,
//! what a fired timer does, what failures and deadlines answer, and a property test over
//! any interleaving of deliveries and firings.

mod support;

use lambda_http::RequestExt;
use merge_deprovision::aws::ledger::LedgerError;
use merge_deprovision::aws::scheduler::SchedulerError;
use merge_deprovision::domain::decision::Decision;
use merge_deprovision::domain::ledger::EmployeeKey;
use merge_deprovision::domain::schedule::{TIMER_KIND, TimerDocument};
use merge_deprovision::lambda::handler::{FiredError, answer_event};
use merge_deprovision::telemetry::record::{
    ALREADY_TERMINATED_MESSAGE, LEDGER_FAILED_MESSAGE, SCHEDULING_FAILED_MESSAGE, STALE_MESSAGE,
    TERMINATED_MESSAGE, TIMER_FAILED_MESSAGE, TIMER_OUTDATED_MESSAGE, TIMER_REFUSED_MESSAGE,
    UNKNOWN_EVENT_MESSAGE,
};
use merge_deprovision_samples::{Signing, ready};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{
    DEAD_LETTER_ARN, FUNCTION_ARN, LedgerApp, SCHEDULER_ROLE_ARN, answer, answer_fired,
    capture_logs, employee_delivery, fired_event, in_lambda, join_all, ledger_app, now, post,
};

const EMPLOYEE: &str = "0958cbc6-6040-430a-848e-aafacbadf4ae";

fn key() -> EmployeeKey {
    EmployeeKey::new(Some("a3602c03-aba7-4d9d-a349-dbc338504092"), EMPLOYEE)
}

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

fn undetermined(modified_at: &str) -> lambda_http::Request {
    employee_delivery(
        "Employee.changed",
        json!({"employment_status": "ACTIVE", "termination_date": "end of Q4", "modified_at": modified_at}),
    )
}

fn record(answer: &support::Answer) -> Value {
    let records = answer.records();
    assert_eq!(records.len(), 1, "one record per request: {}", answer.logs);
    records[0].clone()
}

fn warn_terminated(logs: &str) -> usize {
    logs.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["level"] == "WARN" && r["message"] == TERMINATED_MESSAGE)
        .count()
}

/// Fires the employee's timer as Scheduler does: its input, then the schedule is gone.
fn fire(l: &LedgerApp) -> (Result<Value, FiredError>, String) {
    let name = l.schedules.schedules().into_keys().next().expect("a timer");
    let input = serde_json::to_string(&l.schedules.fire(&name).unwrap()).unwrap();
    fire_input(l, &input)
}

fn fire_input(l: &LedgerApp, input: &str) -> (Result<Value, FiredError>, String) {
    let (answered, logs) = answer_fired(&l.app, &fired_event(input));
    let body = answered
        .map(|a| serde_json::from_slice(a.response.body().as_ref()).expect("a JSON answer"));
    (body, logs)
}

#[test]
fn a_scheduled_delivery_records_the_entry_and_sets_one_timer_holding_ids_only() {
    let l = ledger_app();
    let answer = answer(&l.app, &scheduled("2099-06-30", "2026-11-26T04:12:09Z"));
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["decision"], "scheduled");
    assert_eq!(answer.json()["ledger"], "created");
    let entry = l.ledger.entries().remove(&key()).expect("an entry");
    assert_eq!(entry.decision, Decision::Scheduled);
    assert_eq!(entry.identity.work_email.as_deref(), Some("greg@merge.dev"));
    let stored = l.schedules.schedules();
    assert_eq!(stored.len(), 1);
    let (name, schedule) = stored.into_iter().next().unwrap();
    assert_eq!(schedule.expression, "at(2099-06-30T00:00:00)");
    assert_eq!(schedule.target.function_arn, FUNCTION_ARN);
    assert_eq!(schedule.target.role_arn, SCHEDULER_ROLE_ARN);
    assert_eq!(
        schedule.target.dead_letter_arn.as_deref(),
        Some(DEAD_LETTER_ARN)
    );
    assert_eq!(schedule.document.kind, TIMER_KIND);
    assert_eq!(
        schedule.document.modified_at.as_deref(),
        Some("2026-11-26T04:12:09Z")
    );
    let input = serde_json::to_string(&schedule.document).unwrap();
    for personal in ["greg", "merge.dev", "Cousin", "Hirsch"] {
        assert!(!input.contains(personal), "{input} holds {personal}");
        assert!(!name.contains(personal), "{name} holds {personal}");
    }
    let record = record(&answer);
    assert_eq!(record["schedule"], "created");
    assert_eq!(record["schedule_name"], name.as_str());
    assert_eq!(record["ledger"], "created");
    assert_eq!(answer.metrics["SchedulesCreated"], 1);
}

#[test]
fn a_later_delivery_with_another_date_moves_the_same_timer() {
    let l = ledger_app();
    answer(&l.app, &scheduled("2099-06-30", "2026-11-26T04:12:09Z"));
    let moved = answer(&l.app, &scheduled("2099-07-31", "2026-11-26T05:00:00Z"));
    assert_eq!(record(&moved)["ledger"], "updated");
    assert_eq!(moved.metrics["SchedulesUpdated"], 1);
    let stored = l.schedules.schedules();
    assert_eq!(stored.len(), 1, "one employee, one timer");
    assert_eq!(
        stored.into_values().next().unwrap().expression,
        "at(2099-07-31T00:00:00)"
    );
}

#[test]
fn a_newer_active_or_terminated_delivery_cancels_the_pending_timer() {
    for newer in [
        active("2026-11-26T05:00:00Z"),
        terminated("2026-11-26T05:00:00Z"),
    ] {
        let l = ledger_app();
        answer(&l.app, &scheduled("2099-06-30", "2026-11-26T04:12:09Z"));
        let answer = answer(&l.app, &newer);
        assert_eq!(record(&answer)["schedule"], "cancelled");
        assert_eq!(answer.metrics["SchedulesCancelled"], 1);
        assert!(l.schedules.schedules().is_empty());
    }
}

#[test]
fn an_active_or_terminated_delivery_with_nothing_pending_makes_no_scheduler_call() {
    let l = ledger_app();
    answer(&l.app, &active("2026-11-26T04:00:00Z"));
    answer(&l.app, &terminated("2026-11-26T05:00:00Z"));
    answer(&l.app, &terminated("2026-11-26T05:00:00Z"));
    assert_eq!(l.schedules.calls(), 0);
    assert_eq!(
        l.ledger.calls(),
        10,
        "the account's baseline, read, its partition asked for entries and the baseline \
         recorded, once; its local cutoff (a date-only termination) read once; read and \
         write; read, write and mark; read"
    );
}

#[test]
fn an_unreadable_newer_date_keeps_the_pending_termination_and_its_timer() {
    let l = ledger_app();
    answer(&l.app, &scheduled("2099-06-30", "2026-11-26T04:12:09Z"));
    let answer = answer(&l.app, &undetermined("2026-11-26T05:00:00Z"));
    assert_eq!(answer.status, 200);
    let record = record(&answer);
    assert_eq!(record["decision"], "undetermined");
    assert_eq!(record["level"], "WARN");
    assert_eq!(record["ledger"], "kept");
    assert_eq!(record["ledger_decision"], "scheduled");
    let timers = l.schedules.schedules();
    assert_eq!(timers.len(), 1, "the leaver's timer survives");
    let timer = timers.into_values().next().unwrap();
    assert_eq!(timer.expression, "at(2099-06-30T00:00:00)");
    assert_eq!(
        timer.document.modified_at.as_deref(),
        Some("2026-11-26T05:00:00Z"),
        "the timer follows the entry's version"
    );
}

#[test]
fn a_replayed_terminated_delivery_is_announced_once_then_recognised_at_info() {
    let l = ledger_app();
    let first = answer(&l.app, &terminated("2026-11-26T05:00:00Z"));
    assert_eq!(record(&first)["message"], TERMINATED_MESSAGE);
    assert_eq!(first.metrics["Terminations"], 1);
    for _ in 0..3 {
        let replay = answer(&l.app, &terminated("2026-11-26T05:00:00Z"));
        assert_eq!(replay.status, 200);
        assert_eq!(replay.json()["decision"], "terminated");
        let record = record(&replay);
        assert_eq!(record["level"], "INFO");
        assert_eq!(record["message"], ALREADY_TERMINATED_MESSAGE);
        assert_eq!(record["ledger"], "unchanged");
        assert!(record["terminated_at"].is_string());
        assert!(replay.metrics.get("Terminations").is_none());
    }
    let newer = answer(&l.app, &terminated("2026-11-26T06:00:00Z"));
    assert_eq!(record(&newer)["message"], ALREADY_TERMINATED_MESSAGE);
    assert_eq!(l.ledger.moves_into_terminated(), 1);
}

#[test]
fn the_old_terminated_retry_after_a_rehire_announces_nothing() {
    let l = ledger_app();
    answer(&l.app, &terminated("2026-11-26T05:00:00Z"));
    answer(&l.app, &active("2026-11-26T07:00:00Z"));
    let retry = answer(&l.app, &terminated("2026-11-26T05:00:00Z"));
    assert_eq!(retry.status, 200);
    let record = record(&retry);
    assert_eq!(record["level"], "INFO");
    assert_eq!(record["message"], STALE_MESSAGE);
    assert_eq!(record["ledger_decision"], "active");
    let entry = l.ledger.entries().remove(&key()).unwrap();
    assert_eq!(entry.decision, Decision::Active, "the rehire stands");
}

#[test]
fn a_rehire_then_a_new_termination_is_announced_again() {
    let l = ledger_app();
    let logs: Vec<String> = [
        terminated("2026-11-26T05:00:00Z"),
        active("2026-11-26T07:00:00Z"),
        terminated("2026-11-26T09:00:00Z"),
    ]
    .iter()
    .map(|r| answer(&l.app, r).logs)
    .collect();
    assert_eq!(warn_terminated(&logs.concat()), 2);
    assert_eq!(l.ledger.moves_into_terminated(), 2);
}

#[test]
fn a_stale_scheduled_retry_after_its_timer_fired_sets_no_new_termination() {
    let l = ledger_app();
    answer(&l.app, &scheduled("2099-06-30", "2026-11-26T04:00:00Z"));
    // Moved earlier, to a date that is due within the test's minute.
    answer(
        &l.app,
        &scheduled("2026-11-27T12:30:00Z", "2026-11-26T05:00:00Z"),
    );
    let (fired, logs) = fire(&l);
    assert_eq!(fired.unwrap()["decision"], "terminated");
    assert_eq!(warn_terminated(&logs), 1);
    let retry = answer(&l.app, &scheduled("2099-06-30", "2026-11-26T04:00:00Z"));
    assert_eq!(record(&retry)["message"], STALE_MESSAGE);
    assert!(l.schedules.schedules().is_empty(), "no timer comes back");
    assert_eq!(l.ledger.entries()[&key()].decision, Decision::Terminated);
}

#[test]
fn a_bare_removal_cancels_a_pending_termination_and_an_older_delivery_cannot_undo_it() {
    let l = ledger_app();
    answer(&l.app, &scheduled("2099-06-30", "2026-11-26T04:00:00Z"));
    let removal = employee_delivery("Employee.removed", json!({"modified_at": null}));
    let removed = answer(&l.app, &removal);
    assert_eq!(record(&removed)["message"], TERMINATED_MESSAGE);
    assert!(l.schedules.schedules().is_empty());
    let late = answer(&l.app, &scheduled("2099-06-30", "2026-11-26T04:00:00Z"));
    assert_eq!(
        record(&late)["message"],
        STALE_MESSAGE,
        "the pending one, retried"
    );
    assert!(l.schedules.schedules().is_empty());
}

#[test]
fn a_fired_timer_terminates_with_the_identity_from_the_ledger_once() {
    let l = ledger_app();
    answer(&l.app, &scheduled("2099-06-30", "2026-11-26T04:12:09Z"));
    let name = l.schedules.schedules().into_keys().next().unwrap();
    let input = serde_json::to_string(&l.schedules.fire(&name).unwrap()).unwrap();
    let (answered, logs) = answer_fired(&l.app, &fired_event(&input));
    let answered = answered.expect("a known timer");
    let record: Value = serde_json::from_str(logs.lines().next().unwrap()).unwrap();
    assert_eq!(logs.lines().count(), 1);
    assert_eq!(record["level"], "WARN");
    assert_eq!(record["message"], TERMINATED_MESSAGE);
    assert_eq!(record["reasons"], "termination_date_reached");
    assert_eq!(record["schedule"], "fired");
    assert_eq!(record["schedule_name"], name.as_str());
    assert_eq!(record["ledger"], "moved");
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
        assert!(record.get(field).is_some(), "the record lacks {field}");
    }
    assert_eq!(record["work_email"], "greg@merge.dev");
    let lag = record["termination_lag_seconds"].as_f64().unwrap();
    assert!(
        lag < 0.0,
        "a firing before its time shows as a negative lag"
    );
    let metrics: Value = serde_json::from_str(answered.metrics.as_deref().unwrap()).unwrap();
    assert_eq!(metrics["ScheduledTerminationsFired"], 1);
    assert_eq!(metrics["Terminations"], 1);

    let (again, logs) = fire_input(&l, &input);
    assert_eq!(again.unwrap()["decision"], "outdated");
    assert_eq!(warn_terminated(&logs), 0, "a repeated firing");
}

#[test]
fn an_outdated_timer_terminates_nobody_and_sets_the_current_one_again() {
    let l = ledger_app();
    answer(&l.app, &scheduled("2099-06-30", "2026-11-26T04:00:00Z"));
    let old = l
        .schedules
        .schedules()
        .into_values()
        .next()
        .unwrap()
        .document;
    answer(&l.app, &scheduled("2099-07-31", "2026-11-26T05:00:00Z"));
    let name = l.schedules.schedules().into_keys().next().unwrap();
    l.schedules.fire(&name); // deleted, as Scheduler does after a firing
    let (answered, logs) = fire_input(&l, &serde_json::to_string(&old).unwrap());
    assert_eq!(answered.unwrap()["decision"], "outdated");
    let record: Value = serde_json::from_str(logs.lines().next().unwrap()).unwrap();
    assert_eq!(record["level"], "INFO");
    assert_eq!(record["message"], TIMER_OUTDATED_MESSAGE);
    assert_eq!(
        l.schedules.schedules()[&name].expression,
        "at(2099-07-31T00:00:00)",
        "the current timer is set again"
    );
    assert_eq!(l.ledger.entries()[&key()].decision, Decision::Scheduled);
}

#[test]
fn a_timer_from_before_the_ledger_still_terminates_its_employee() {
    let l = ledger_app();
    let legacy = json!({"kind": "merge-deprovision.scheduled-termination", "version": 1,
        "employee_id": "e-legacy", "linked_account_id": "a1", "work_email": "legacy@example.com",
        "effective_at": "2026-11-27T11:59:00Z", "modified_at": "2026-11-20T00:00:00Z"});
    let (answered, logs) = fire_input(&l, &legacy.to_string());
    assert_eq!(answered.unwrap()["decision"], "terminated");
    assert_eq!(warn_terminated(&logs), 1);
    assert!(logs.contains("legacy@example.com"));
}

#[test]
fn a_failed_scheduler_call_is_a_503_nothing_is_written_and_the_retry_is_served() {
    for error in [
        SchedulerError::Throttled,
        SchedulerError::Unreachable,
        SchedulerError::Denied,
        SchedulerError::QuotaExceeded,
    ] {
        let l = ledger_app();
        l.schedules.fail_next([error.clone()]);
        let failed = answer(&l.app, &scheduled("2099-06-30", "2026-11-26T04:12:09Z"));
        assert_eq!(failed.status, 503);
        assert_eq!(failed.json()["error"], "scheduling_unavailable");
        let record = record(&failed);
        assert_eq!(record["level"], "ERROR");
        assert_eq!(record["message"], SCHEDULING_FAILED_MESSAGE);
        assert_eq!(record["decision"], "scheduled");
        assert_eq!(record["schedule_error"], error.kind());
        assert_eq!(failed.metrics["SchedulingFailures"], 1);
        assert!(l.ledger.entries().is_empty(), "{error:?}: nothing written");

        let retried = answer(&l.app, &scheduled("2099-06-30", "2026-11-26T04:12:09Z"));
        assert_eq!(retried.status, 200, "the retry succeeds");
        assert_eq!(l.schedules.schedules().len(), 1);
    }
}

#[test]
fn a_timer_scheduler_refuses_as_invalid_is_not_retried_and_says_so_at_error() {
    let l = ledger_app();
    l.schedules
        .fail_next([SchedulerError::Invalid, SchedulerError::Invalid]);
    let refused = answer(&l.app, &scheduled("2099-06-30", "2026-11-26T04:12:09Z"));
    assert_eq!(refused.status, 200, "a retry cannot fix it");
    let record = record(&refused);
    assert_eq!(record["level"], "ERROR");
    assert_eq!(record["message"], TIMER_REFUSED_MESSAGE);
    assert_eq!(record["schedule_error"], "invalid");
    assert_eq!(refused.metrics["SchedulingFailures"], 1);
    assert_eq!(l.ledger.entries()[&key()].decision, Decision::Scheduled);
}

#[test]
fn a_ledger_outage_is_a_503_with_one_error_record_and_the_next_delivery_is_served() {
    for error in [
        LedgerError::Throttled,
        LedgerError::Unreachable,
        LedgerError::Denied,
    ] {
        let l = ledger_app();
        l.ledger.fail_next([error.clone()]);
        let failed = answer(&l.app, &terminated("2026-11-26T05:00:00Z"));
        assert_eq!(failed.status, 503);
        assert_eq!(failed.json()["error"], "ledger_unavailable");
        let failure = record(&failed);
        assert_eq!(failure["level"], "ERROR");
        assert_eq!(failure["message"], LEDGER_FAILED_MESSAGE);
        assert_eq!(failure["ledger_error"], error.kind());
        assert_eq!(failure["decision"], "terminated");
        assert_eq!(failed.metrics["LedgerFailures"], 1);
        let served = answer(&l.app, &terminated("2026-11-26T05:00:00Z"));
        assert_eq!(record(&served)["message"], TERMINATED_MESSAGE);
    }
}

#[test]
fn a_termination_whose_write_landed_but_whose_answer_was_lost_is_still_announced() {
    let l = ledger_app();
    l.ledger.lose_answers([LedgerError::Unreachable]);
    let answered = answer(&l.app, &terminated("2026-11-26T05:00:00Z"));
    assert_eq!(answered.status, 200, "read back: it landed");
    assert_eq!(record(&answered)["message"], TERMINATED_MESSAGE);
    let retry = answer(&l.app, &terminated("2026-11-26T05:00:00Z"));
    assert_eq!(record(&retry)["message"], ALREADY_TERMINATED_MESSAGE);
}

#[test]
fn a_termination_is_marked_announced_once_its_record_is_written() {
    let l = ledger_app();
    answer(&l.app, &terminated("2026-11-26T05:00:00Z"));
    let entry = l.ledger.entries()[&key()].clone();
    assert!(entry.announced);
    assert_eq!(entry.revision, 2, "the move, then the mark");
}

/// The ledger as a process that wrote the move and died before its record would leave
/// it: terminated, the record owed, `ago` before now.
fn owed_termination(l: &LedgerApp, ago: chrono::TimeDelta) {
    let written = ledger_app();
    answer(&written.app, &terminated("2026-11-26T05:00:00Z"));
    let mut entry = written.ledger.entries()[&key()].clone();
    entry.announced = false;
    entry.terminated_at = Some(now() - ago);
    l.ledger.insert(entry);
}

#[test]
fn a_termination_whose_record_was_lost_is_announced_by_the_next_terminated_delivery() {
    let l = ledger_app();
    owed_termination(&l, chrono::TimeDelta::minutes(5));
    let retry = answer(&l.app, &terminated("2026-11-26T05:00:00Z"));
    assert_eq!(record(&retry)["message"], TERMINATED_MESSAGE);
    assert_eq!(retry.metrics["Terminations"], 1);
    assert!(l.ledger.entries()[&key()].announced);
    let again = answer(&l.app, &terminated("2026-11-26T05:00:00Z"));
    assert_eq!(record(&again)["message"], ALREADY_TERMINATED_MESSAGE);
}

#[test]
fn an_owed_record_is_announced_by_a_newer_terminated_delivery_too() {
    let l = ledger_app();
    owed_termination(&l, chrono::TimeDelta::minutes(5));
    let newer = answer(&l.app, &terminated("2026-11-26T09:00:00Z"));
    assert_eq!(record(&newer)["message"], TERMINATED_MESSAGE);
    assert!(l.ledger.entries()[&key()].announced);
}

#[test]
fn two_deliveries_finding_one_owed_record_at_once_write_it_once() {
    for seed in 1..=50u64 {
        let l = ledger_app();
        owed_termination(&l, chrono::TimeDelta::minutes(5));
        l.ledger.interleave(seed);
        let (statuses, logs) = concurrently(
            &l,
            vec![
                terminated("2026-11-26T05:00:00Z"),
                terminated("2026-11-26T05:00:00Z"),
            ],
        );
        assert_eq!(statuses, [200, 200]);
        assert_eq!(warn_terminated(&logs), 1, "seed {seed}");
    }
}

#[test]
fn a_move_of_an_employee_with_an_empty_field_is_announced_when_its_answer_is_lost() {
    let l = ledger_app();
    l.ledger.lose_answers([LedgerError::ConditionFailed]);
    let delivery = employee_delivery(
        "Employee.changed",
        json!({"employment_status": "INACTIVE", "termination_date": "2026-11-20",
               "modified_at": "2026-11-26T05:00:00Z", "username": ""}),
    );
    let answered = answer(&l.app, &delivery);
    assert_eq!(record(&answered)["message"], TERMINATED_MESSAGE);
    assert!(l.ledger.entries()[&key()].announced);
}

#[test]
fn a_write_whose_answer_outlasts_the_budget_is_read_back_in_time_and_announced() {
    let l = ledger_app();
    l.ledger.slow_answers(Duration::from_secs(30));
    let request = terminated("2026-11-26T05:00:00Z");
    let mut context = request.lambda_context();
    context.deadline = (std::time::SystemTime::now() + Duration::from_millis(2500))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let started = Instant::now();
    let answered = answer(&l.app, &request.with_lambda_context(context));
    assert!(started.elapsed() < Duration::from_millis(2500));
    assert_eq!(answered.status, 200, "read back: it landed");
    assert_eq!(record(&answered)["message"], TERMINATED_MESSAGE);
}

#[test]
fn an_owed_record_is_left_to_its_writer_while_that_invocation_may_still_run() {
    let l = ledger_app();
    owed_termination(&l, chrono::TimeDelta::seconds(2));
    let concurrent = answer(&l.app, &terminated("2026-11-26T05:00:00Z"));
    assert_eq!(record(&concurrent)["message"], ALREADY_TERMINATED_MESSAGE);
    assert!(!l.ledger.entries()[&key()].announced);
}

#[test]
fn a_retried_firing_announces_the_move_its_first_invocation_did_not() {
    let l = ledger_app();
    answer(&l.app, &scheduled("2099-06-30", "2026-11-26T04:00:00Z"));
    let name = l.schedules.schedules().into_keys().next().unwrap();
    let input = serde_json::to_string(&l.schedules.fire(&name).unwrap()).unwrap();
    let (first, _) = fire_input(&l, &input);
    assert_eq!(first.unwrap()["decision"], "terminated");
    let mut entry = l.ledger.entries()[&key()].clone();
    entry.announced = false;
    entry.terminated_at = Some(now() - chrono::TimeDelta::minutes(1));
    l.ledger.insert(entry);
    let (retried, logs) = fire_input(&l, &input);
    assert!(retried.is_ok());
    assert_eq!(warn_terminated(&logs), 1);
    assert!(l.ledger.entries()[&key()].announced);
}

#[test]
fn a_move_whose_sdk_retry_meets_its_own_condition_is_still_announced() {
    let l = ledger_app();
    // The first attempt commits and its answer is lost; the SDK's retry then finds the
    // revision it expected gone.
    l.ledger.lose_answers([LedgerError::ConditionFailed]);
    let answered = answer(&l.app, &terminated("2026-11-26T05:00:00Z"));
    assert_eq!(record(&answered)["message"], TERMINATED_MESSAGE);
    assert!(l.ledger.entries()[&key()].announced);

    let l = ledger_app();
    answer(&l.app, &scheduled("2099-06-30", "2026-11-26T04:00:00Z"));
    let name = l.schedules.schedules().into_keys().next().unwrap();
    let input = serde_json::to_string(&l.schedules.fire(&name).unwrap()).unwrap();
    l.ledger.lose_answers([LedgerError::ConditionFailed]);
    let (fired, logs) = fire_input(&l, &input);
    assert_eq!(fired.unwrap()["decision"], "terminated");
    assert_eq!(warn_terminated(&logs), 1);
}

#[test]
fn two_copies_of_one_delivery_at_once_announce_it_once() {
    for seed in 1..=50u64 {
        let l = ledger_app();
        l.ledger.interleave(seed);
        let copies = vec![
            terminated("2026-11-26T05:00:00Z"),
            terminated("2026-11-26T05:00:00Z"),
        ];
        let (statuses, logs) = concurrently(&l, copies);
        assert_eq!(statuses, [200, 200]);
        assert_eq!(warn_terminated(&logs), 1, "seed {seed}");
    }
}

#[test]
fn a_removal_carrying_the_stored_version_still_terminates() {
    let l = ledger_app();
    answer(&l.app, &active("2026-11-26T05:00:00Z"));
    let removal = employee_delivery(
        "Employee.removed",
        json!({"modified_at": "2026-11-26T05:00:00Z"}),
    );
    let removed = answer(&l.app, &removal);
    assert_eq!(record(&removed)["message"], TERMINATED_MESSAGE);
    assert_eq!(l.ledger.entries()[&key()].decision, Decision::Terminated);
}

#[test]
fn a_late_retry_of_a_removal_after_the_employee_was_added_again_revokes_nobody() {
    let l = ledger_app();
    let removal = employee_delivery(
        "Employee.removed",
        json!({"modified_at": "2026-11-26T05:00:00Z"}),
    );
    l.ledger.fail_next([LedgerError::Unreachable]);
    assert_eq!(answer(&l.app, &removal).status, 503);
    answer(&l.app, &active("2026-11-26T10:00:00Z"));
    let retry = answer(&l.app, &removal);
    assert_eq!(record(&retry)["message"], STALE_MESSAGE);
    assert_eq!(warn_terminated(&retry.logs), 0);
    assert_eq!(l.ledger.entries()[&key()].decision, Decision::Active);
}

#[test]
fn a_replay_after_the_date_came_terminates_the_scheduled_employee_as_the_timer_would() {
    let l = ledger_app();
    let first = scheduled("2026-11-27T11:00:00Z", "2026-11-26T04:00:00Z");
    let a_day_earlier = now() - chrono::TimeDelta::days(1);
    let (answered, _) = capture_logs(true, || ready(answer_event(&l.app, &first, a_day_earlier)));
    assert_eq!(answered.unwrap().response.status(), 200);
    assert_eq!(l.ledger.entries()[&key()].decision, Decision::Scheduled);
    // Decided at the tests' now, the date has come: the same delivery now terminates.
    let replay = answer(
        &l.app,
        &scheduled("2026-11-27T11:00:00Z", "2026-11-26T04:00:00Z"),
    );
    assert_eq!(replay.json()["decision"], "terminated");
    assert_eq!(record(&replay)["message"], TERMINATED_MESSAGE);
    assert!(l.schedules.schedules().is_empty(), "its timer is gone");
}

#[test]
fn a_write_that_did_not_land_is_a_503_and_its_retry_is_announced() {
    let l = ledger_app();
    l.ledger.script([None, Some(LedgerError::Unreachable)]);
    let failed = answer(&l.app, &terminated("2026-11-26T05:00:00Z"));
    assert_eq!(failed.status, 503);
    let retried = answer(&l.app, &terminated("2026-11-26T05:00:00Z"));
    assert_eq!(record(&retried)["message"], TERMINATED_MESSAGE);
}

#[test]
fn a_firing_during_a_ledger_outage_fails_the_invocation_for_a_retry() {
    let l = ledger_app();
    answer(&l.app, &scheduled("2099-06-30", "2026-11-26T04:12:09Z"));
    l.ledger.fail_next([LedgerError::Unreachable]);
    let (failed, logs) = fire(&l);
    assert!(
        matches!(failed, Err(FiredError::Unsettled { .. })),
        "{failed:?}"
    );
    let record: Value = serde_json::from_str(logs.lines().next().unwrap()).unwrap();
    assert_eq!(record["level"], "ERROR");
    assert_eq!(record["message"], TIMER_FAILED_MESSAGE);
    assert_eq!(record["ledger_error"], "unreachable");
}

#[test]
fn a_date_scheduler_cannot_express_is_recorded_without_a_timer_and_not_retried() {
    let l = ledger_app();
    let far = answer(
        &l.app,
        &scheduled("9999-12-31T23:59:30Z", "2026-11-26T04:00:00Z"),
    );
    assert_eq!(far.status, 200);
    assert_eq!(far.json()["decision"], "scheduled");
    assert_eq!(record(&far)["schedule"], "beyond_range");
    assert!(l.schedules.schedules().is_empty());
    assert_eq!(l.ledger.entries()[&key()].decision, Decision::Scheduled);
}

#[test]
fn a_redeploy_that_changes_the_target_reaches_the_existing_timer() {
    let l = ledger_app();
    answer(&l.app, &scheduled("2099-06-30", "2026-11-26T04:00:00Z"));
    let request = scheduled("2099-06-30", "2026-11-26T04:00:00Z");
    let mut context = request.lambda_context();
    context.invoked_function_arn = format!("{FUNCTION_ARN}-v2");
    let replay = answer(&l.app, &request.with_lambda_context(context));
    assert_eq!(replay.status, 200);
    let timer = l.schedules.schedules().into_values().next().unwrap();
    assert_eq!(timer.target.function_arn, format!("{FUNCTION_ARN}-v2"));
}

#[test]
fn a_slow_ledger_ends_in_a_503_before_the_invocations_deadline() {
    let l = ledger_app();
    l.ledger.slow(Duration::from_secs(30));
    let request = terminated("2026-11-26T05:00:00Z");
    let mut context = request.lambda_context();
    context.deadline = (std::time::SystemTime::now() + Duration::from_millis(1500))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let request = request.with_lambda_context(context);
    let started = Instant::now();
    let answered = answer(&l.app, &request);
    let took = started.elapsed();
    assert_eq!(answered.status, 503);
    assert_eq!(record(&answered)["ledger_error"], "timed_out");
    assert!(took < Duration::from_millis(1500), "answered in {took:?}");
}

#[test]
fn an_unknown_event_is_an_invocation_error_with_an_error_record() {
    let l = ledger_app();
    for event in [
        "[1,2,3]",
        r#"{"detail-type":"Scheduled Event"}"#,
        r#"{"kind":"merge-deprovision.termination-timer","version":2,"employee_id":"e","effective_at":"2026-01-01T00:00:00Z"}"#,
        r#"{"kind":"other","version":1,"employee_id":"e"}"#,
    ] {
        let (answered, logs) = answer_fired(&l.app, &fired_event(event));
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
fn a_function_url_request_is_never_taken_for_a_timer_whatever_its_body() {
    let l = ledger_app();
    let document = json!({"kind": TIMER_KIND, "version": 1, "employee_id": "victim",
        "effective_at": "2026-11-01T00:00:00Z"});
    let body = serde_json::to_vec(&document).unwrap();
    for signing in [Signing::TestKey, Signing::WrongKey, Signing::Unsigned] {
        let request = in_lambda(post(&body, signing));
        assert!(!merge_deprovision::lambda::handler::is_fired_event(
            &request
        ));
        let answer = answer(&l.app, &request);
        assert_ne!(answer.json()["decision"], "terminated", "{signing:?}");
        assert!(!answer.logs.contains("termination_date_reached"));
    }
    assert_eq!(l.schedules.calls(), 0);
    assert!(l.ledger.entries().is_empty());
}

/// Runs `requests` at once in one process, interleaved at every call into the twins,
/// and returns the answers' statuses and everything logged.
fn concurrently(l: &LedgerApp, requests: Vec<lambda_http::Request>) -> (Vec<u16>, String) {
    let app = &l.app;
    capture_logs(true, || {
        ready(async {
            let answers = requests
                .iter()
                .map(|request| answer_event(app, request, now()));
            let mut statuses = Vec::new();
            for answered in join_all(answers).await {
                statuses.push(answered.expect("answered").response.status().as_u16());
            }
            statuses
        })
    })
}

#[test]
fn twenty_concurrent_deliveries_for_one_employee_end_with_the_newest_and_one_timer() {
    for seed in 1..=30u64 {
        let l = ledger_app();
        l.ledger.interleave(seed);
        l.schedules.interleave(seed * 7);
        // The newest delivery is scheduled, active or terminated, by the seed.
        let kind = |i: u64| (i + seed) % 3;
        let requests: Vec<_> = (0..20u64)
            .map(|i| {
                let modified_at = format!("2026-11-26T{:02}:00:00Z", i);
                match kind(i) {
                    0 => scheduled(&format!("2099-{:02}-01", 1 + i % 12), &modified_at),
                    1 => active(&modified_at),
                    _ => terminated(&modified_at),
                }
            })
            .rev()
            .collect();
        let (statuses, logs) = concurrently(&l, requests);
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        let entry = l.ledger.entries()[&key()].clone();
        assert_eq!(
            entry.version.map(|v| v.to_rfc3339()),
            Some("2026-11-26T19:00:00+00:00".to_owned()),
            "seed {seed}: the newest wins"
        );
        let timers = l.schedules.schedules();
        match kind(19) {
            0 => {
                assert_eq!(entry.decision, Decision::Scheduled);
                assert_eq!(timers.len(), 1, "seed {seed}: its timer");
                let timer = timers.values().next().unwrap();
                assert_eq!(timer.expression, "at(2099-08-01T00:00:00)");
                assert_eq!(
                    timer.document.modified_at.as_deref(),
                    Some("2026-11-26T19:00:00Z"),
                    "seed {seed}: the timer is the newest version's"
                );
            }
            1 => {
                assert_eq!(entry.decision, Decision::Active);
                assert!(timers.is_empty(), "seed {seed}: no timer");
            }
            _ => {
                assert_eq!(entry.decision, Decision::Terminated);
                assert!(timers.is_empty(), "seed {seed}: no timer");
            }
        }
        assert_eq!(warn_terminated(&logs), l.ledger.moves_into_terminated());
    }
}

#[test]
fn an_outdated_firing_racing_a_newer_delivery_leaves_the_newest_timer_or_none() {
    for seed in 1..=100u64 {
        for newest in ["earlier", "rehire"] {
            let l = ledger_app();
            answer(&l.app, &scheduled("2099-06-30", "2026-11-26T04:00:00Z"));
            let old = l
                .schedules
                .schedules()
                .into_values()
                .next()
                .unwrap()
                .document;
            answer(&l.app, &scheduled("2099-08-31", "2026-11-26T05:00:00Z"));
            l.ledger.interleave(seed);
            l.schedules.interleave(seed.wrapping_mul(7919));
            let delivery = match newest {
                "earlier" => scheduled("2099-07-15", "2026-11-26T06:00:00Z"),
                _ => active("2026-11-26T06:00:00Z"),
            };
            let fired = fired_event(&serde_json::to_string(&old).unwrap());
            let app = &l.app;
            let (answers, _) = capture_logs(true, || {
                ready(join_all(
                    [&delivery, &fired]
                        .into_iter()
                        .map(|request| answer_event(app, request, now())),
                ))
            });
            assert!(answers.iter().all(Result::is_ok), "seed {seed}");
            let timers = l.schedules.schedules();
            match newest {
                "earlier" => {
                    assert_eq!(timers.len(), 1, "seed {seed}");
                    let timer = timers.values().next().unwrap();
                    assert_eq!(
                        timer.expression, "at(2099-07-15T00:00:00)",
                        "seed {seed}: the newest date"
                    );
                }
                _ => assert!(timers.is_empty(), "seed {seed}: no timer after a rehire"),
            }
        }
    }
}

/// One version of the employee's record, as a delivery would carry it.
#[derive(Debug, Clone)]
enum Version {
    Scheduled {
        days_ahead: i64,
    },
    Active,
    Terminated,
    Undetermined,
    /// `Employee.removed` without `modified_at`.
    Removed,
}

impl Version {
    fn decision(&self) -> Decision {
        match self {
            Version::Scheduled { .. } => Decision::Scheduled,
            Version::Active => Decision::Active,
            Version::Terminated | Version::Removed => Decision::Terminated,
            Version::Undetermined => Decision::Undetermined,
        }
    }
}

fn delivery(version: &Version, hour: Option<u32>) -> lambda_http::Request {
    let mut fields = match version {
        Version::Scheduled { days_ahead } => {
            let date = (now() + chrono::TimeDelta::days(*days_ahead)).format("%Y-%m-%d");
            json!({"employment_status": "ACTIVE", "termination_date": date.to_string()})
        }
        Version::Active => json!({"employment_status": "ACTIVE", "termination_date": null}),
        Version::Terminated => {
            json!({"employment_status": "INACTIVE", "termination_date": "2026-11-20"})
        }
        Version::Undetermined => json!({"employment_status": "ACTIVE", "termination_date": "soon"}),
        Version::Removed => {
            return employee_delivery("Employee.removed", json!({"modified_at": null}));
        }
    };
    fields["modified_at"] = match hour {
        Some(hour) => json!(format!("2026-11-20T{hour:02}:00:00Z")),
        None => Value::Null,
    };
    employee_delivery("Employee.changed", fields)
}

/// A step: deliveries at once, or a firing of the current timer, or of the first timer
/// ever set (outdated once another replaced it).
#[derive(Debug, Clone)]
enum Step {
    Deliver(Vec<usize>),
    /// Deliveries and the current timer's firing, at once.
    DeliverWhileFiring(Vec<usize>),
    FireCurrent,
    FireFirst,
}

/// Versions (each with its `modified_at` hour, if any), the steps, and the seed that
/// interleaves the twins' calls.
type Plan = (Vec<(Version, Option<u32>)>, Vec<Step>, u64);

fn plan() -> impl proptest::strategy::Strategy<Value = Plan> {
    use proptest::prelude::*;
    let version = prop_oneof![
        (1i64..400).prop_map(|days_ahead| Version::Scheduled { days_ahead }),
        Just(Version::Active),
        Just(Version::Terminated),
        Just(Version::Undetermined),
        Just(Version::Removed),
    ];
    // Hours from a small range, so that versions tie; sometimes none at all.
    let hour = prop_oneof![4 => (0u32..6).prop_map(Some), 1 => Just(None)];
    proptest::collection::vec((version, hour), 1..=6).prop_flat_map(|versions| {
        let n = versions.len();
        let step = prop_oneof![
            5 => proptest::collection::vec(0..n, 1..=3).prop_map(Step::Deliver),
            2 => proptest::collection::vec(0..n, 1..=2).prop_map(Step::DeliverWhileFiring),
            1 => Just(Step::FireCurrent),
            1 => Just(Step::FireFirst),
        ];
        (
            Just(versions),
            proptest::collection::vec(step, 1..=8),
            any::<u64>(),
        )
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(192))]
    #[test]
    fn any_interleaving_of_deliveries_and_firings_keeps_the_ledger_exact(
        (versions, steps, seed) in plan(),
    ) {
        let l = ledger_app();
        l.ledger.interleave(seed);
        l.schedules.interleave(seed.rotate_left(17));
        let mut logs = String::new();
        let mut delivered = Vec::new();
        let mut first_timer: Option<TimerDocument> = None;
        let mut fired_current = false;
        for step in &steps {
            if first_timer.is_none() {
                first_timer = l.schedules.schedules().into_values().next().map(|s| s.document);
            }
            match step {
                Step::Deliver(indices) => {
                    let requests = indices.iter().map(|&i| delivery(&versions[i].0, versions[i].1)).collect();
                    let (statuses, step_logs) = concurrently(&l, requests);
                    proptest::prop_assert!(statuses.iter().all(|s| *s == 200), "{:?}", statuses);
                    logs.push_str(&step_logs);
                    delivered.extend(indices.iter().copied());
                }
                Step::DeliverWhileFiring(indices) => {
                    let mut requests: Vec<lambda_http::Request> = indices.iter().map(|&i| delivery(&versions[i].0, versions[i].1)).collect();
                    if let Some(name) = l.schedules.schedules().into_keys().next() {
                        let input = serde_json::to_string(&l.schedules.fire(&name).unwrap()).unwrap();
                        requests.push(fired_event(&input));
                        fired_current = true;
                    }
                    let app = &l.app;
                    let (answers, step_logs) = capture_logs(true, || {
                        ready(join_all(requests.iter().map(|request| answer_event(app, request, now()))))
                    });
                    for answered in &answers {
                        let status = answered.as_ref().map(|a| a.response.status().as_u16());
                        proptest::prop_assert!(matches!(status, Ok(200)), "{:?}", status.err());
                    }
                    logs.push_str(&step_logs);
                    delivered.extend(indices.iter().copied());
                }
                Step::FireCurrent => {
                    let Some(name) = l.schedules.schedules().into_keys().next() else { continue };
                    let input = serde_json::to_string(&l.schedules.fire(&name).unwrap()).unwrap();
                    let (answered, step_logs) = fire_input(&l, &input);
                    proptest::prop_assert!(answered.is_ok());
                    fired_current = true;
                    logs.push_str(&step_logs);
                }
                Step::FireFirst => {
                    let Some(document) = first_timer.clone() else { continue };
                    let current = l.ledger.entries().get(&key()).and_then(|e| e.version);
                    let outdated = document.modified_at.as_deref()
                        .and_then(merge_deprovision::domain::dates::parse_hr_date) != current;
                    // If it is still the stored timer, Scheduler deletes it as it fires.
                    let stored = l.schedules.schedules().into_iter().find(|(_, s)| s.document == document);
                    if let Some((name, _)) = stored {
                        l.schedules.fire(&name);
                    }
                    let (answered, step_logs) = fire_input(&l, &serde_json::to_string(&document).unwrap());
                    proptest::prop_assert!(answered.is_ok());
                    fired_current |= !outdated;
                    if outdated {
                        proptest::prop_assert_eq!(warn_terminated(&step_logs), 0, "an outdated timer terminated");
                    }
                    logs.push_str(&step_logs);
                }
            }
        }
        proptest::prop_assert_eq!(warn_terminated(&logs), l.ledger.moves_into_terminated());
        let Some(entry) = l.ledger.entries().get(&key()).cloned() else {
            proptest::prop_assert!(delivered.is_empty());
            return Ok(());
        };
        // A removal carries no version, whatever the table says.
        let hour = |i: usize| versions[i].1.filter(|_| !matches!(versions[i].0, Version::Removed));
        let newest = delivered.iter().filter_map(|&i| hour(i)).max();
        let removal = delivered.iter().any(|&i| matches!(versions[i].0, Version::Removed));
        let newest_version = newest.map(|h| chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 20, h, 0, 0).unwrap());
        if !removal {
            proptest::prop_assert_eq!(entry.version, newest_version, "the newest version wins");
            if let Some(hour) = newest {
                let decisions: Vec<Decision> = delivered.iter()
                    .filter(|&&i| versions[i].1 == Some(hour) && !matches!(versions[i].0, Version::Removed))
                    .map(|&i| versions[i].0.decision())
                    .collect();
                let fired = fired_current && decisions.contains(&Decision::Scheduled);
                if !decisions.contains(&Decision::Undetermined) {
                    proptest::prop_assert!(
                        decisions.contains(&entry.decision)
                            || (fired && entry.decision == Decision::Terminated),
                        "{:?} not among {:?}", entry.decision, decisions
                    );
                }
            }
        } else {
            proptest::prop_assert!(entry.version >= newest_version);
        }
        let timers = l.schedules.schedules();
        proptest::prop_assert!(timers.len() <= 1, "one employee, one timer");
        if entry.decision == Decision::Scheduled {
            proptest::prop_assert_eq!(timers.len(), 1, "a scheduled entry has its timer");
            let timer = timers.values().next().unwrap();
            let effective = entry.effective_at.unwrap();
            proptest::prop_assert_eq!(timer.at, merge_deprovision::domain::schedule::fire_time(effective, now()).unwrap());
            proptest::prop_assert_eq!(
                timer.document.modified_at.clone(),
                entry.version.map(merge_deprovision::domain::dates::to_rfc3339)
            );
        } else {
            proptest::prop_assert!(timers.is_empty(), "a timer without a scheduled entry: {:?}", entry);
        }
    }
}
