//! What operators rely on: Powertools-compatible keys on every record, a delivery id,
//! one valid Embedded Metric Format line per invocation, and the policy knobs.

mod support;

use chrono::{DateTime, TimeDelta, Utc};
use lambda_http::lambda_runtime::Config as LambdaConfig;
use lambda_http::{Context, Request, RequestExt};
use merge_deprovision::domain::dates::parse_hr_date;
use merge_deprovision::lambda::config::{
    INACTIVE_WITHOUT_DATE_VAR, METRICS_NAMESPACE_VAR, SERVICE_NAME_VAR,
    TERMINATION_OFFSET_HOURS_VAR,
};
use merge_deprovision::telemetry::record::UNDETERMINED_INACTIVE_MESSAGE;
use merge_deprovision_samples::{
    MANIFEST_FILE, Signing, TYPICAL_ENVELOPE, employee_envelope, read_manifest,
};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use support::{Answer, answer, now, post, receiver, receiver_with, request};

fn in_lambda(request: Request, request_id: &str) -> Request {
    let config = LambdaConfig {
        function_name: "merge-deprovision-prod".into(),
        memory: 128,
        ..LambdaConfig::default()
    };
    // Context is non-exhaustive, so it is built by assignment.
    let mut context = Context::default();
    context.request_id = request_id.into();
    context.xray_trace_id = Some("Root=1-6747a2b0-3f2d1c0b9a8e7d6c5b4a3928".into());
    context.env_config = Arc::new(config);
    request.with_lambda_context(context)
}

fn body(fields: Value) -> Vec<u8> {
    let envelope = employee_envelope("Employee.changed", |data| {
        for (k, v) in fields.as_object().unwrap() {
            data.insert(k.clone(), v.clone());
        }
    });
    serde_json::to_vec(&envelope).unwrap()
}

fn terminated_body() -> Vec<u8> {
    body(json!({"employment_status": "INACTIVE", "termination_date": "2026-11-20T00:00:00Z"}))
}

fn record(answer: &Answer) -> Value {
    let records = answer.records();
    assert_eq!(records.len(), 1, "{}", answer.logs);
    records.into_iter().next().unwrap()
}

#[test]
fn every_record_carries_the_powertools_keys_and_cold_start_only_once() {
    let app = receiver();
    let first = answer(
        &app,
        &in_lambda(post(&terminated_body(), Signing::TestKey), "req-1"),
    );
    let second = answer(&app, &in_lambda(post(b"{}", Signing::WrongKey), "req-2"));
    let third = answer(
        &app,
        &in_lambda(
            post(br#"{"hook":{"event":"Issue.created"}}"#, Signing::TestKey),
            "req-3",
        ),
    );
    for (answer, id, cold) in [
        (&first, "req-1", true),
        (&second, "req-2", false),
        (&third, "req-3", false),
    ] {
        let record = record(answer);
        assert_eq!(record["cold_start"], cold, "{record}");
        assert_eq!(record["function_request_id"], id);
        assert_eq!(
            record["xray_trace_id"],
            "Root=1-6747a2b0-3f2d1c0b9a8e7d6c5b4a3928"
        );
        assert_eq!(record["function_name"], "merge-deprovision-prod");
        assert_eq!(record["function_memory_size"], 128);
        assert_eq!(record["service"], "merge-deprovision");
        assert_eq!(answer.metrics["ColdStart"].as_u64(), cold.then_some(1));
    }
}

#[test]
fn the_service_name_is_configurable() {
    let app = receiver_with(&[(SERVICE_NAME_VAR, "offboarding")]);
    let answer = answer(&app, &post(&terminated_body(), Signing::TestKey));
    assert_eq!(record(&answer)["service"], "offboarding");
    assert_eq!(answer.metrics["service"], "offboarding");
}

#[test]
fn retries_of_one_delivery_share_a_delivery_id_and_other_deliveries_do_not() {
    let app = receiver();
    let first = record(&answer(&app, &post(&terminated_body(), Signing::TestKey)));
    let retry = record(&answer(&app, &post(&terminated_body(), Signing::TestKey)));
    let other = record(&answer(
        &app,
        &post(
            &body(json!({"employment_status": "ACTIVE"})),
            Signing::TestKey,
        ),
    ));
    let forged = record(&answer(&app, &post(&terminated_body(), Signing::WrongKey)));
    let unsigned = record(&answer(&app, &post(&terminated_body(), Signing::Unsigned)));
    assert!(first["delivery_id"].is_string());
    assert_eq!(first["delivery_id"], retry["delivery_id"]);
    assert_ne!(first["delivery_id"], other["delivery_id"]);
    assert!(forged["delivery_id"].is_string(), "probes are grouped too");
    assert_ne!(first["delivery_id"], forged["delivery_id"]);
    assert!(unsigned.get("delivery_id").is_none());
}

/// Checks one line against the Embedded Metric Format specification.
fn assert_valid_emf(line: &Value, at: DateTime<Utc>) {
    let aws = &line["_aws"];
    assert_eq!(
        aws["Timestamp"].as_i64(),
        Some(at.timestamp_millis()),
        "{line}"
    );
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .expect("CloudWatchMetrics is a list");
    assert!(!directives.is_empty());
    for directive in directives {
        let namespace = directive["Namespace"].as_str().expect("a namespace");
        assert!(!namespace.is_empty() && !namespace.starts_with("AWS/"));
        for set in directive["Dimensions"].as_array().expect("dimension sets") {
            let set = set.as_array().expect("a dimension set is a list");
            assert!(set.len() <= 30);
            for key in set {
                let key = key.as_str().expect("dimension names are strings");
                assert!(
                    ["Decision", "Integration"].contains(&key),
                    "no id-like dimension: {key}"
                );
                assert!(
                    line[key].is_string(),
                    "dimension {key} has a string member: {line}"
                );
            }
        }
        for metric in directive["Metrics"].as_array().expect("metric definitions") {
            let name = metric["Name"].as_str().expect("a metric name");
            assert!(
                line[name].is_number(),
                "metric {name} has a numeric member: {line}"
            );
            let unit = metric["Unit"].as_str().expect("a unit");
            assert!(["Count", "Seconds"].contains(&unit), "{unit}");
        }
    }
}

#[test]
fn every_sample_event_produces_one_valid_emf_line_with_its_decision() {
    // With the ledger on, in manifest order, so that the timers are answered too.
    let app = support::ledger_app().app;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let manifest =
        read_manifest(&std::fs::read_to_string(dir.join(MANIFEST_FILE)).unwrap()).unwrap();
    for entry in manifest {
        let event: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(&entry.file)).unwrap()).unwrap();
        let answer = answer(&app, &support::in_lambda(request(&event)));
        assert_valid_emf(&answer.metrics, now());
        // An outdated timer decides nothing: it counts as ignored.
        let decision = match entry.decision.as_deref() {
            Some("outdated") => "ignored",
            Some(decision) => decision,
            None => "rejected",
        };
        assert_eq!(answer.metrics["Decision"], decision, "{}", entry.file);
        assert_eq!(answer.metrics["Webhooks"], 1);
        let signature_failure = matches!(
            entry.error.as_deref(),
            Some("invalid_signature" | "missing_signature")
        );
        assert_eq!(
            answer.metrics["SignatureFailures"].as_u64(),
            signature_failure.then_some(1),
            "{}",
            entry.file
        );
    }
}

#[test]
fn hostile_bodies_still_produce_valid_emf_lines() {
    let app = receiver();
    for (name, _, body) in support::hostile::hostile_bodies() {
        let answer = answer(&app, &post(&body, Signing::TestKey));
        assert_valid_emf(&answer.metrics, now());
        assert!(answer.metrics["Decision"].is_string(), "{name}");
    }
}

#[test]
fn a_termination_reports_how_long_the_leaver_kept_access_and_the_sync_lag() {
    let answer = answer(&receiver(), &post(&terminated_body(), Signing::TestKey));
    let typical: Value = serde_json::from_str(TYPICAL_ENVELOPE).unwrap();
    let modified = parse_hr_date(typical["data"]["modified_at"].as_str().unwrap()).unwrap();
    let ended = parse_hr_date("2026-11-20T00:00:00Z").unwrap();
    let seconds = |d: TimeDelta| d.num_milliseconds() as f64 / 1000.0;
    assert_eq!(
        answer.metrics["TerminationLagSeconds"],
        seconds(now() - ended)
    );
    assert_eq!(answer.metrics["SyncLagSeconds"], seconds(now() - modified));
    assert_eq!(answer.metrics["Integration"], "humaans");
    let record = record(&answer);
    assert_eq!(record["termination_lag_seconds"], seconds(now() - ended));
    assert_eq!(record["sync_lag_seconds"], seconds(now() - modified));
}

#[test]
fn no_termination_lag_is_reported_for_other_decisions() {
    let scheduled = body(json!({"employment_status": "ACTIVE", "termination_date": "2099-01-01"}));
    let answer = answer(&receiver(), &post(&scheduled, Signing::TestKey));
    assert_eq!(answer.metrics["Decision"], "scheduled");
    assert!(answer.metrics.get("TerminationLagSeconds").is_none());
    assert!(answer.metrics["SyncLagSeconds"].is_number());
}

#[test]
fn the_metrics_namespace_is_configurable() {
    let app = receiver_with(&[(METRICS_NAMESPACE_VAR, "Security/Offboarding")]);
    let answer = answer(&app, &post(&terminated_body(), Signing::TestKey));
    assert_eq!(
        answer.metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "Security/Offboarding"
    );
}

fn dated(termination: DateTime<Utc>) -> Vec<u8> {
    body(json!({"employment_status": "ACTIVE", "termination_date": termination.to_rfc3339()}))
}

#[test]
fn the_termination_offset_moves_the_boundary_by_its_hours() {
    let app = receiver_with(&[(TERMINATION_OFFSET_HOURS_VAR, "24")]);
    let day_ago = now() - TimeDelta::hours(24);
    let cases = [
        (day_ago - TimeDelta::seconds(1), "terminated"),
        (day_ago, "terminated"),
        (day_ago + TimeDelta::seconds(1), "scheduled"),
    ];
    for (date, expected) in cases {
        let answer = answer(&app, &post(&dated(date), Signing::TestKey));
        assert_eq!(answer.json()["decision"], expected, "{date}");
    }
    let answer = answer(
        &app,
        &post(&dated(day_ago + TimeDelta::seconds(1)), Signing::TestKey),
    );
    assert_eq!(answer.json()["effective_at"], "2026-11-27T12:00:01Z");
}

#[test]
fn without_an_offset_the_boundary_is_the_date_itself() {
    let app = receiver();
    assert_eq!(
        answer(&app, &post(&dated(now()), Signing::TestKey)).json()["decision"],
        "terminated"
    );
    let later = now() + TimeDelta::seconds(1);
    assert_eq!(
        answer(&app, &post(&dated(later), Signing::TestKey)).json()["decision"],
        "scheduled"
    );
}

#[test]
fn inactive_without_a_date_follows_the_configured_meaning() {
    let inactive = body(json!({"employment_status": "INACTIVE", "termination_date": null}));
    let default = answer(&receiver(), &post(&inactive, Signing::TestKey));
    assert_eq!(default.json()["decision"], "terminated");
    let untrusting = receiver_with(&[(INACTIVE_WITHOUT_DATE_VAR, "undetermined")]);
    let answer = answer(&untrusting, &post(&inactive, Signing::TestKey));
    assert_eq!(answer.json()["decision"], "undetermined");
    assert_eq!(answer.json()["reasons"], json!(["status_inactive"]));
    // The record says why: there is no date to be unreadable.
    let record = &answer.records()[0];
    assert_eq!(record["message"], UNDETERMINED_INACTIVE_MESSAGE);
    assert!(!record["message"].as_str().unwrap().contains("unreadable"));
}
