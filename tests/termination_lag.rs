//! `TerminationLagSeconds` and the record's `termination_lag_seconds` (how long a leaver
//! kept access until the function said so) are written once per termination: on the
//! move into `terminated`, from a webhook, a timer or a sweep, and never on a repeat, a
//! replay, a delivery answered 503 or a later sweep, which would only grow them. Every
//! case runs through the real handler, over the in-memory ledger and schedule group
//! and, for sweeps, a fake of Merge's API on loopback.

mod support;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use merge_deprovision::app::sweep::Reconciliation;
use merge_deprovision::aws::ledger::LedgerError;
use merge_deprovision::domain::decision::Policy;
use merge_deprovision::lambda::handler::answer_event;
use merge_deprovision::lambda::timer::respond_to_fired;
use merge_deprovision::merge::client::MergeClient;
use merge_deprovision::telemetry::record::{
    ALREADY_TERMINATED_MESSAGE, LEDGER_FAILED_MESSAGE, TERMINATED_MESSAGE,
};
use serde_json::{Value, json};
use std::sync::Arc;
use support::fake_merge::{API_KEY, FakeMerge};
use support::{
    LedgerApp, capture_logs, employee_delivery, fired_event, ledger_app, now, receiver, request,
};

/// The employee of the sample events, and the linked account they come from.
const EMPLOYEE: &str = "0958cbc6-6040-430a-848e-aafacbadf4ae";
const ACCOUNT: &str = "a3602c03-aba7-4d9d-a349-dbc338504092";
const MERGE_TOKEN: &str = "SENTINEL-ACCOUNT-TOKEN-LAG";

/// A sample event of `events/`, as the function URL delivers it.
fn sample(file: &str) -> lambda_http::Request {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(file);
    let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    support::in_lambda(request(&event))
}

/// The `data` of the terminated sample: the employee as Merge holds them.
fn terminated_sample_employee() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/employee-terminated.json"
    );
    let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let body: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
    body["data"].clone()
}

/// A terminated delivery of the sample employee, version `modified_at`.
fn terminated(date: &str, modified_at: &str) -> lambda_http::Request {
    employee_delivery(
        "Employee.changed",
        json!({"employment_status": "INACTIVE", "termination_date": date, "modified_at": modified_at}),
    )
}

/// The sample employee rehired: active, no termination date, version `modified_at`.
fn rehired(modified_at: &str) -> lambda_http::Request {
    employee_delivery(
        "Employee.changed",
        json!({"employment_status": "ACTIVE", "termination_date": null, "modified_at": modified_at}),
    )
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn seconds(lag: TimeDelta) -> f64 {
    lag.num_milliseconds() as f64 / 1000.0
}

/// Runs a future on this thread's runtime, with the I/O a sweep's calls to Merge need.
fn block<F: std::future::Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
    }
    RUNTIME.with(|runtime| runtime.block_on(future))
}

/// What one invocation wrote: its records and its metrics lines.
struct Written {
    status: u16,
    records: Vec<Value>,
    metrics: Vec<Value>,
}

impl Written {
    /// The one decision record (the one with a `decision` field) of a delivery.
    fn decision_record(&self) -> &Value {
        let decided: Vec<&Value> = self
            .records
            .iter()
            .filter(|r| r.get("decision").is_some())
            .collect();
        assert_eq!(decided.len(), 1, "{:#?}", self.records);
        decided[0]
    }

    /// The lag each record carries, by employee id.
    fn record_lags(&self) -> Vec<(String, f64)> {
        self.records
            .iter()
            .filter_map(|r| {
                let lag = r.get("termination_lag_seconds")?.as_f64()?;
                Some((r["employee_id"].as_str()?.to_owned(), lag))
            })
            .collect()
    }

    /// The `TerminationLagSeconds` values of the metrics lines.
    fn metric_lags(&self) -> Vec<f64> {
        self.metrics
            .iter()
            .filter_map(|m| m.get("TerminationLagSeconds")?.as_f64())
            .collect()
    }
}

fn written(
    answered: Result<merge_deprovision::lambda::handler::Answered, impl std::fmt::Debug>,
    logs: &str,
) -> Written {
    let answered = answered.expect("the handler answers");
    let metrics = answered
        .metrics
        .iter()
        .flat_map(|m| m.lines().map(|l| serde_json::from_str(l).unwrap()))
        .collect();
    Written {
        status: answered.response.status().as_u16(),
        records: logs
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        metrics,
    }
}

/// Answers `request` through the handler at `clock`.
fn invoke(
    app: &merge_deprovision::lambda::state::App,
    request: &lambda_http::Request,
    clock: DateTime<Utc>,
) -> Written {
    let (answered, logs) = capture_logs(true, || block(answer_event(app, request, clock)));
    written(answered, &logs)
}

/// Fires the only timer of `l` as Scheduler would, at `clock`.
fn fire(l: &LedgerApp, clock: DateTime<Utc>) -> Written {
    let name = l.schedules.schedules().into_keys().next().expect("a timer");
    let input = serde_json::to_string(&l.schedules.fire(&name).unwrap()).unwrap();
    let request = fired_event(&input);
    let (answered, logs) = capture_logs(true, || block(respond_to_fired(&l.app, &request, clock)));
    written(answered, &logs)
}

#[test]
fn the_first_delivery_of_a_terminated_employee_carries_the_lag_in_its_record_and_metric() {
    let l = ledger_app();
    let first = invoke(&l.app, &sample("employee-terminated.json"), now());
    let record = first.decision_record();
    assert_eq!(record["message"], TERMINATED_MESSAGE);
    let effective = at(record["effective_at"].as_str().unwrap());
    let lag = seconds(now() - effective);
    assert!(lag > 0.0, "the sample's termination is past");
    assert_eq!(first.record_lags(), [(EMPLOYEE.to_owned(), lag)]);
    assert_eq!(first.metric_lags(), [lag]);
    assert_eq!(first.metrics[0]["Terminations"], 1);
}

#[test]
fn a_repeat_delivery_of_a_known_termination_carries_no_lag() {
    let l = ledger_app();
    invoke(&l.app, &sample("employee-terminated.json"), now());
    // A later change of the same leaver (Merge re-syncs them), an hour and a day on.
    for (modified_at, clock) in [
        ("2026-11-27T09:00:00Z", now() + TimeDelta::hours(1)),
        ("2026-11-28T09:00:00Z", now() + TimeDelta::days(1)),
    ] {
        let repeat = invoke(&l.app, &terminated("2026-11-20", modified_at), clock);
        let record = repeat.decision_record();
        assert_eq!(record["message"], ALREADY_TERMINATED_MESSAGE);
        assert_eq!(record["decision"], "terminated");
        assert!(repeat.record_lags().is_empty(), "{record}");
        assert!(repeat.metric_lags().is_empty(), "{:?}", repeat.metrics);
        assert!(repeat.metrics[0].get("Terminations").is_none());
    }
}

#[test]
fn a_replay_of_the_same_delivery_carries_no_lag_whatever_its_encoding() {
    let l = ledger_app();
    invoke(&l.app, &sample("employee-terminated.json"), now());
    for file in [
        "employee-terminated.json",
        "employee-terminated-base64.json",
    ] {
        let replay = invoke(&l.app, &sample(file), now() + TimeDelta::hours(2));
        assert_eq!(
            replay.decision_record()["message"],
            ALREADY_TERMINATED_MESSAGE
        );
        assert_eq!(replay.decision_record()["ledger"], "unchanged", "{file}");
        assert!(replay.record_lags().is_empty(), "{file}");
        assert!(replay.metric_lags().is_empty(), "{file}");
    }
}

#[test]
fn a_delivery_answered_503_carries_no_lag_and_the_retry_that_moves_the_employee_does() {
    let l = ledger_app();
    l.ledger.fail_next([LedgerError::Unreachable]);
    let failed = invoke(&l.app, &sample("employee-terminated.json"), now());
    assert_eq!(failed.status, 503);
    assert_eq!(failed.decision_record()["message"], LEDGER_FAILED_MESSAGE);
    assert_eq!(failed.decision_record()["decision"], "terminated");
    assert!(failed.record_lags().is_empty());
    assert!(failed.metric_lags().is_empty());

    let later = now() + TimeDelta::minutes(5);
    let retry = invoke(&l.app, &sample("employee-terminated.json"), later);
    assert_eq!(retry.status, 200);
    assert_eq!(retry.decision_record()["message"], TERMINATED_MESSAGE);
    let effective = at(retry.decision_record()["effective_at"].as_str().unwrap());
    assert_eq!(retry.metric_lags(), [seconds(later - effective)]);
}

#[test]
fn a_fired_timer_that_terminates_carries_the_lag_and_a_delivery_after_it_none() {
    let l = ledger_app();
    // A date-only termination of tomorrow: scheduled now, it takes effect at midnight.
    let scheduled = employee_delivery(
        "Employee.changed",
        json!({"employment_status": "ACTIVE", "termination_date": "2026-11-28",
               "modified_at": "2026-11-26T04:12:09Z"}),
    );
    let answered = invoke(&l.app, &scheduled, now());
    assert_eq!(answered.decision_record()["decision"], "scheduled");
    assert!(answered.metric_lags().is_empty());

    let midnight = Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0).unwrap();
    let fired = fire(&l, midnight + TimeDelta::seconds(20));
    assert_eq!(fired.decision_record()["message"], TERMINATED_MESSAGE);
    assert_eq!(fired.record_lags(), [(EMPLOYEE.to_owned(), 20.0)]);
    assert_eq!(fired.metric_lags(), [20.0]);
    assert_eq!(fired.metrics[0]["ScheduledTerminationsFired"], 1);

    // HR marks the leaver inactive the next morning: the termination is known.
    let inactive = terminated("2026-11-28", "2026-11-28T08:00:00Z");
    let after = invoke(&l.app, &inactive, midnight + TimeDelta::hours(9));
    assert_eq!(
        after.decision_record()["message"],
        ALREADY_TERMINATED_MESSAGE
    );
    assert!(after.record_lags().is_empty());
    assert!(after.metric_lags().is_empty());
}

#[test]
fn a_rehire_then_a_second_termination_carries_the_lag_again_from_the_second_date() {
    let l = ledger_app();
    let first = invoke(
        &l.app,
        &terminated("2026-11-20", "2026-11-21T00:00:00Z"),
        now(),
    );
    assert_eq!(
        first.metric_lags(),
        [seconds(now() - at("2026-11-20T00:00:00Z"))]
    );

    let back = invoke(&l.app, &rehired("2026-11-22T00:00:00Z"), now());
    assert_eq!(back.decision_record()["decision"], "active");
    assert!(back.metric_lags().is_empty());

    let again = invoke(
        &l.app,
        &terminated("2026-11-25", "2026-11-26T00:00:00Z"),
        now(),
    );
    assert_eq!(again.decision_record()["message"], TERMINATED_MESSAGE);
    let lag = seconds(now() - at("2026-11-25T00:00:00Z"));
    assert_eq!(again.record_lags(), [(EMPLOYEE.to_owned(), lag)]);
    assert_eq!(again.metric_lags(), [lag]);
}

/// The ledger app of [`ledger_app`], sweeping `ACCOUNT` from `merge`.
fn sweeping(merge: &FakeMerge) -> LedgerApp {
    let LedgerApp {
        app,
        ledger,
        schedules,
    } = ledger_app();
    let base = merge_deprovision::net::base_url(&merge.base_url()).unwrap();
    let (secret, _) = support::merge_secret(
        &json!({"api_key": API_KEY, "account_tokens": {ACCOUNT: MERGE_TOKEN}}),
    );
    let app = app.with_reconciliation(Reconciliation {
        secret: secret.into(),
        pages: Arc::new(MergeClient::new(
            merge_deprovision::net::client().unwrap(),
            &base,
        )),
        policy: Policy::default(),
        page_limit: usize::MAX,
    });
    LedgerApp {
        app,
        ledger,
        schedules,
    }
}

fn sweep(l: &LedgerApp, clock: DateTime<Utc>) -> Written {
    let document = json!({"kind": "merge-deprovision.reconcile", "version": 1,
                          "linked_account_id": ACCOUNT});
    invoke(&l.app, &fired_event(&document.to_string()), clock)
}

#[test]
fn a_sweep_carries_the_lag_only_for_the_leaver_it_moves_and_a_later_sweep_for_nobody() {
    let merge = FakeMerge::start();
    let l = sweeping(&merge);
    invoke(&l.app, &sample("employee-terminated.json"), now());
    // Merge holds the leaver the webhook announced, and one whose webhook never came.
    let mut missed = support::fake_merge::employee(7, "2026-11-24T00:00:00Z");
    missed["employment_status"] = json!("INACTIVE");
    missed["termination_date"] = json!("2026-11-24T00:00:00Z");
    let missed_id = missed["id"].as_str().unwrap().to_owned();
    merge.set_account(MERGE_TOKEN, vec![terminated_sample_employee(), missed]);

    let first = sweep(&l, now());
    let lag = seconds(now() - at("2026-11-24T00:00:00Z"));
    assert_eq!(
        first.record_lags(),
        [(missed_id, lag)],
        "{:#?}",
        first.records
    );
    assert_eq!(first.metrics.len(), 1);
    assert_eq!(first.metrics[0]["Terminations"], 1);

    let later = sweep(&l, now() + TimeDelta::days(1));
    assert!(later.record_lags().is_empty(), "{:#?}", later.records);
    assert!(later.metric_lags().is_empty());
}

#[test]
fn without_a_ledger_every_terminated_delivery_is_announced_and_so_carries_the_lag() {
    // Log-only: nothing remembers the first delivery, and each one says "revoke access".
    let app = receiver();
    for clock in [now(), now() + TimeDelta::hours(1)] {
        let answered = invoke(&app, &sample("employee-terminated.json"), clock);
        let record = answered.decision_record();
        assert_eq!(record["message"], TERMINATED_MESSAGE);
        let effective = at(record["effective_at"].as_str().unwrap());
        assert_eq!(answered.metric_lags(), [seconds(clock - effective)]);
        assert!(answered.metrics[0].get("Terminations").is_none());
    }
}
