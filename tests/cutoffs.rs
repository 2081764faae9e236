//! Local cutoffs through the real handler against the in-memory twins: the
//! `merge-deprovision.cutoff` document sets and reads a linked account's time zone and
//! cutoff, refuses bad input naming the field, and a date-only termination of that
//! account then takes effect at its local time; a date with an offset keeps its instant,
//! and an account with none of its own has the configured default.

mod support;

use merge_deprovision::domain::decision::Decision;
use merge_deprovision::domain::ledger::EmployeeKey;
use merge_deprovision::lambda::config::{Config, SIGNATURE_KEY_VAR};
use merge_deprovision::lambda::handler::answer_event;
use merge_deprovision::lambda::state::{App, effects_over};
use merge_deprovision::telemetry::record::CUTOFF_SET_MESSAGE;
use merge_deprovision_samples::{LOCAL_TEST_KEY, ready};
use serde_json::{Value, json};
use std::sync::Arc;
use support::{LedgerApp, capture_logs, employee_delivery, in_lambda, now};

const LINKED_ACCOUNT: &str = "a3602c03-aba7-4d9d-a349-dbc338504092";
const LEAVER: &str = "0958cbc6-6040-430a-848e-0000000000c1";

/// A sample document of `events/cutoff/`.
fn sample(name: &str) -> lambda_http::Request {
    let path = format!("{}/events/cutoff/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("the sample");
    in_lambda(lambda_http::request::from_str(&text).expect("any JSON passes through"))
}

/// What a direct invocation answered: status, body, records.
struct Invoked {
    status: u16,
    body: Value,
    records: Vec<Value>,
}

fn invoke(app: &App, request: &lambda_http::Request) -> Invoked {
    let (answered, logs) = capture_logs(true, || ready(answer_event(app, request, now())));
    let answered = answered.expect("the handler answers");
    Invoked {
        status: answered.response.status().as_u16(),
        body: serde_json::from_slice(answered.response.body().as_ref()).expect("a JSON answer"),
        records: logs
            .lines()
            .map(|l| serde_json::from_str(l).expect("each log line is JSON"))
            .collect(),
    }
}

/// The function with the ledger and timers on, configured with `vars` besides.
fn ledger_app_with(vars: &[(&str, &str)]) -> LedgerApp {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([
            (SIGNATURE_KEY_VAR.into(), LOCAL_TEST_KEY.into()),
            (
                "TERMINATION_SCHEDULE_GROUP".into(),
                "merge-deprovision".into(),
            ),
            (
                "TERMINATION_SCHEDULE_ROLE_ARN".into(),
                support::SCHEDULER_ROLE_ARN.into(),
            ),
            ("EMPLOYEE_LEDGER_TABLE".into(), support::LEDGER_TABLE.into()),
        ])
        .collect();
    let config =
        Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .expect("test configuration is valid");
    let ledger = Arc::new(merge_deprovision::aws::memory::MemoryLedger::new());
    let schedules = Arc::new(merge_deprovision::aws::memory::MemorySchedules::new());
    let effects = effects_over(&config, ledger.clone(), schedules.clone());
    LedgerApp {
        app: App::with_effects(&config, effects),
        ledger,
        schedules,
    }
}

/// A delivery of the leaver, whose termination date is `date`.
fn leaves_on(date: &str) -> lambda_http::Request {
    employee_delivery(
        "Employee.changed",
        json!({"id": LEAVER, "work_email": "leaver@example.com", "employment_status": "ACTIVE",
               "termination_date": date, "modified_at": "2026-11-26T04:12:09Z"}),
    )
}

fn delivered(app: &App, request: &lambda_http::Request) -> Value {
    let answer = support::answer(app, request);
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()
}

fn entry_effective_at(l: &LedgerApp) -> Option<String> {
    let key = EmployeeKey::new(Some(LINKED_ACCOUNT), LEAVER);
    l.ledger.entries()[&key]
        .effective_at
        .map(merge_deprovision::domain::dates::to_rfc3339)
}

#[test]
fn a_date_only_termination_takes_effect_at_the_end_of_the_accounts_local_day() {
    let l = support::ledger_app();
    let set = invoke(&l.app, &sample("set.json"));
    assert_eq!(set.status, 200, "{}", set.body);
    // Now is 2026-11-27T12:00Z, 23:00 in Melbourne: the 27th ends in an hour.
    let body = delivered(&l.app, &leaves_on("2026-11-27"));
    assert_eq!(body["decision"], "scheduled", "{body}");
    assert_eq!(body["effective_at"], "2026-11-27T13:00:00Z", "{body}");
    assert_eq!(
        entry_effective_at(&l).as_deref(),
        Some("2026-11-27T13:00:00Z")
    );
    assert_eq!(
        l.schedules.schedules().len(),
        1,
        "a timer for the local cutoff"
    );
}

#[test]
fn without_the_accounts_own_cutoff_the_same_date_ended_at_midnight_utc() {
    let l = support::ledger_app();
    let body = delivered(&l.app, &leaves_on("2026-11-27"));
    assert_eq!(body["decision"], "terminated", "{body}");
    assert_eq!(body["effective_at"], "2026-11-27T00:00:00Z", "{body}");
}

#[test]
fn merges_midnight_utc_rendering_of_a_date_takes_the_accounts_local_cutoff() {
    let l = support::ledger_app();
    invoke(&l.app, &sample("set.json"));
    // How Merge sends an HR system's date: the 27th ends at midnight in Melbourne.
    let body = delivered(&l.app, &leaves_on("2026-11-27T00:00:00Z"));
    assert_eq!(body["effective_at"], "2026-11-27T13:00:00Z", "{body}");
}

#[test]
fn a_date_with_an_offset_or_a_time_keeps_its_instant_whatever_the_accounts_cutoff() {
    let l = support::ledger_app();
    invoke(&l.app, &sample("set.json"));
    let body = delivered(&l.app, &leaves_on("2026-11-27T09:00:00+11:00"));
    assert_eq!(body["decision"], "terminated", "{body}");
    assert_eq!(body["effective_at"], "2026-11-26T22:00:00Z", "{body}");
    let key = EmployeeKey::new(Some(LINKED_ACCOUNT), LEAVER);
    assert_eq!(l.ledger.entries()[&key].decision, Decision::Terminated);
}

#[test]
fn an_account_with_none_of_its_own_has_the_configured_default_and_the_offset_on_top() {
    let l = ledger_app_with(&[
        ("TERMINATION_TIME_ZONE", "America/New_York"),
        ("TERMINATION_CUTOFF", "end_of_day"),
        ("TERMINATION_OFFSET_HOURS", "1"),
    ]);
    // The 26th ends in New York at 05:00Z on the 27th; an hour later it takes effect.
    let body = delivered(&l.app, &leaves_on("2026-11-26"));
    assert_eq!(body["effective_at"], "2026-11-27T06:00:00Z", "{body}");
    let read = invoke(&l.app, &sample("read.json"));
    assert_eq!(read.status, 200);
    assert_eq!(read.body["source"], "default", "{}", read.body);
    assert_eq!(read.body["time_zone"], "America/New_York");
    assert_eq!(read.body["cutoff"], "end_of_day");
    assert_eq!(read.body["offset_hours"], 1);
}

#[test]
fn the_document_reads_the_setting_sets_it_with_a_warning_and_reads_it_back() {
    let l = support::ledger_app();
    let before = invoke(&l.app, &sample("read.json"));
    assert_eq!(before.status, 200);
    assert_eq!(
        (
            &before.body["source"],
            &before.body["time_zone"],
            &before.body["cutoff"]
        ),
        (&json!("default"), &json!("UTC"), &json!("start_of_day")),
        "{}",
        before.body
    );
    let set = invoke(&l.app, &sample("set.json"));
    assert_eq!(set.body["source"], "account", "{}", set.body);
    assert_eq!(set.body["replaced"], Value::Null);
    let warning = set
        .records
        .iter()
        .find(|r| r["message"] == CUTOFF_SET_MESSAGE)
        .expect("a record of the change");
    assert_eq!(warning["level"], "WARN");
    assert_eq!(warning["time_zone"], "Australia/Melbourne");
    assert_eq!(warning["cutoff"], "end_of_day");
    let after = invoke(&l.app, &sample("read.json"));
    assert_eq!(
        (
            &after.body["source"],
            &after.body["time_zone"],
            &after.body["cutoff"]
        ),
        (
            &json!("account"),
            &json!("Australia/Melbourne"),
            &json!("end_of_day")
        ),
        "{}",
        after.body
    );
    // Today in Melbourne is the 27th, which ends at 13:00Z.
    assert_eq!(
        after.body["example"],
        json!({"termination_date": "2026-11-27", "effective_at": "2026-11-27T13:00:00Z"})
    );
    assert_eq!(l.ledger.cutoffs().len(), 1);
}

#[test]
fn a_bad_zone_or_cutoff_is_refused_with_a_400_naming_the_field_and_nothing_is_written() {
    let l = support::ledger_app();
    for (file, field) in [
        ("bad-zone.json", "`time_zone`"),
        ("bad-cutoff.json", "`cutoff`"),
    ] {
        let refused = invoke(&l.app, &sample(file));
        assert_eq!(refused.status, 400, "{file}");
        assert_eq!(refused.body["error"], "invalid_document", "{file}");
        let message = refused.body["message"].as_str().unwrap();
        assert!(message.starts_with(field), "{file}: {message}");
        assert!(!message.contains("Melbourne\"") && !message.contains("close_of_business"));
    }
    assert!(l.ledger.cutoffs().is_empty());
}

#[test]
fn a_cutoff_document_sent_to_the_function_url_even_signed_is_never_applied() {
    let l = support::ledger_app();
    let document = std::fs::read(format!(
        "{}/events/cutoff/set.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let request = in_lambda(support::post(
        &document,
        merge_deprovision_samples::Signing::TestKey,
    ));
    let answer = support::answer(&l.app, &request);
    assert!(answer.status < 500, "{}", answer.body);
    assert!(l.ledger.cutoffs().is_empty());
}

#[test]
fn a_cutoff_the_ledger_cannot_read_is_a_503_for_merge_to_deliver_again_and_nothing_is_written() {
    use merge_deprovision::aws::ledger::LedgerError;
    let l = support::ledger_app();
    l.ledger.fail_next([LedgerError::Throttled]);
    let answer = support::answer(&l.app, &leaves_on("2026-11-27"));
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(
        answer.json()["error"],
        "ledger_unavailable",
        "{}",
        answer.body
    );
    assert!(l.ledger.entries().is_empty());
    let record = &answer.records()[0];
    assert_eq!(record["level"], "ERROR", "{record}");
}

#[test]
fn an_accounts_new_cutoff_moves_the_timer_of_a_termination_already_scheduled() {
    let l = support::ledger_app();
    // Scheduled under the default: midnight UTC at the start of the 30th.
    delivered(&l.app, &leaves_on("2026-12-30"));
    assert_eq!(
        entry_effective_at(&l).as_deref(),
        Some("2026-12-30T00:00:00Z")
    );
    let before: Vec<String> = l
        .schedules
        .schedules()
        .values()
        .map(|s| s.expression.clone())
        .collect();
    // Melbourne, end of day: 13:00 UTC on the 30th. The same delivery again, or the next
    // sweep's sight of the unchanged record, moves the timer.
    invoke(&l.app, &sample("set.json"));
    delivered(&l.app, &leaves_on("2026-12-30"));
    assert_eq!(
        entry_effective_at(&l).as_deref(),
        Some("2026-12-30T13:00:00Z")
    );
    let after: Vec<String> = l
        .schedules
        .schedules()
        .values()
        .map(|s| s.expression.clone())
        .collect();
    assert_eq!(after.len(), 1, "one timer, moved");
    assert_ne!(before, after, "{before:?} {after:?}");
    assert!(after[0].contains("2026-12-30T13:00"), "{after:?}");
}
