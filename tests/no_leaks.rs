//! No sensitive Employee field, and no secret, ever reaches a log line or a response,
//! on any path, in either log format.

mod support;

use merge_deprovision_samples::{LOCAL_TEST_KEY, Signing, employee_envelope, function_url_event};
use serde_json::{Value, json};
use support::{answer_with, limited_receiver, post, receiver, request};

/// Distinct values for every field that must never be logged.
const SENTINELS: &[(&str, &str)] = &[
    ("ssn", "SENTINEL-SSN-713"),
    ("date_of_birth", "1901-01-01T00:00:00Z"),
    ("personal_email", "sentinel-personal@example.invalid"),
    ("mobile_phone_number", "+1-555-SENTINEL-PHONE"),
    ("gender", "SENTINEL-GENDER"),
    ("ethnicity", "SENTINEL-ETHNICITY"),
    ("marital_status", "SENTINEL-MARITAL"),
    ("avatar", "https://sentinel-avatar.example.invalid/a.png"),
];
const HOME_SENTINEL: &str = "SENTINEL-HOME-STREET";
const CUSTOM_SENTINEL: &str = "SENTINEL-CUSTOM-FIELD";
const MAPPING_SENTINEL: &str = "SENTINEL-FIELD-MAPPING";
const REMOTE_SENTINEL: &str = "SENTINEL-REMOTE-DATA";

fn every_sentinel() -> Vec<&'static str> {
    let mut all: Vec<&str> = SENTINELS.iter().map(|(_, v)| *v).collect();
    all.extend([
        HOME_SENTINEL,
        CUSTOM_SENTINEL,
        MAPPING_SENTINEL,
        REMOTE_SENTINEL,
        LOCAL_TEST_KEY,
    ]);
    all
}

fn sensitive_body(event: &str, state: Value) -> Vec<u8> {
    let envelope = employee_envelope(event, |data| {
        for (field, value) in SENTINELS {
            data.insert((*field).into(), json!(value));
        }
        data["home_location"]["street_1"] = json!(HOME_SENTINEL);
        data.insert(
            "custom_fields".into(),
            json!({"clearance": CUSTOM_SENTINEL}),
        );
        data.insert(
            "field_mappings".into(),
            json!({"organization_defined_targets": {"x": MAPPING_SENTINEL}}),
        );
        data.insert(
            "remote_data".into(),
            json!([{"path": "/people/1", "data": {"note": REMOTE_SENTINEL}}]),
        );
        for (k, v) in state.as_object().unwrap() {
            data.insert(k.clone(), v.clone());
        }
    });
    serde_json::to_vec(&envelope).unwrap()
}

/// Every path a request can take, each carrying the sentinels in its body.
fn every_path() -> Vec<(&'static str, lambda_http::Request, u16)> {
    let terminated = sensitive_body("Employee.changed", json!({"employment_status": "INACTIVE"}));
    let scheduled = sensitive_body(
        "Employee.changed",
        json!({"employment_status": "ACTIVE", "termination_date": "2099-01-01"}),
    );
    let active = sensitive_body(
        "Employee.changed",
        json!({"employment_status": "ACTIVE", "termination_date": null}),
    );
    let undetermined = sensitive_body(
        "Employee.changed",
        json!({"employment_status": "ACTIVE", "termination_date": "SENTINEL-DATE"}),
    );
    let removed = sensitive_body("Employee.removed", json!({}));
    let ignored = sensitive_body("Employment.changed", json!({}));
    let mut malformed = sensitive_body("Employee.changed", json!({}));
    malformed.truncate(malformed.len() - 2);
    let not_object = format!("[{}]", String::from_utf8(terminated.clone()).unwrap()).into_bytes();
    let bad_employee = {
        let text = String::from_utf8(terminated.clone()).unwrap();
        // A duplicate member makes the Employee invalid while leaving the JSON well-formed.
        text.replacen("\"ssn\"", "\"id\":\"dup\",\"id\"", 1)
            .into_bytes()
    };
    let bad_hook = {
        let mut envelope: Value = serde_json::from_slice(&terminated).unwrap();
        envelope["hook"] = json!(["SENTINEL-SSN-713"]);
        serde_json::to_vec(&envelope).unwrap()
    };
    vec![
        ("terminated", post(&terminated, Signing::TestKey), 200),
        ("scheduled", post(&scheduled, Signing::TestKey), 200),
        ("active", post(&active, Signing::TestKey), 200),
        ("undetermined", post(&undetermined, Signing::TestKey), 200),
        ("removed", post(&removed, Signing::TestKey), 200),
        ("ignored", post(&ignored, Signing::TestKey), 200),
        ("bad signature", post(&terminated, Signing::WrongKey), 401),
        (
            "missing signature",
            post(&terminated, Signing::Unsigned),
            401,
        ),
        ("malformed json", post(&malformed, Signing::TestKey), 400),
        ("not an object", post(&not_object, Signing::TestKey), 400),
        (
            "invalid employee",
            post(&bad_employee, Signing::TestKey),
            400,
        ),
        ("invalid envelope", post(&bad_hook, Signing::TestKey), 400),
        (
            "get",
            request(&function_url_event(
                "GET",
                &terminated,
                Signing::TestKey,
                false,
                "r",
            )),
            405,
        ),
        (
            "base64",
            request(&function_url_event(
                "POST",
                &terminated,
                Signing::TestKey,
                true,
                "r",
            )),
            200,
        ),
    ]
}

fn assert_nothing_leaks(json_logs: bool) {
    for (path, request, status) in every_path() {
        let answer = answer_with(&receiver(), &request, json_logs);
        assert_eq!(answer.status, status, "{path}: {}", answer.body);
        assert!(!answer.logs.is_empty(), "{path}: every request logs");
        for sentinel in every_sentinel() {
            assert!(
                !answer.logs.contains(sentinel),
                "{path}: {sentinel} reached the logs:\n{}",
                answer.logs
            );
            assert!(
                !answer.body.contains(sentinel),
                "{path}: {sentinel} reached the response"
            );
        }
    }
}

#[test]
fn no_sensitive_value_reaches_json_logs_or_responses_on_any_path() {
    assert_nothing_leaks(true);
}

#[test]
fn no_sensitive_value_reaches_text_logs_or_responses_on_any_path() {
    assert_nothing_leaks(false);
}

#[test]
fn an_oversized_body_leaks_nothing() {
    let body = sensitive_body("Employee.changed", json!({}));
    let answer = answer_with(&limited_receiver(64), &post(&body, Signing::TestKey), true);
    assert_eq!(answer.status, 413);
    for sentinel in every_sentinel() {
        assert!(
            !answer.logs.contains(sentinel) && !answer.body.contains(sentinel),
            "{sentinel}"
        );
    }
}

#[test]
fn the_sentinels_really_are_in_the_requests() {
    // Guards the test above against passing because the sentinels never got sent.
    let body = sensitive_body("Employee.changed", json!({}));
    let text = String::from_utf8(body).unwrap();
    for sentinel in every_sentinel()
        .into_iter()
        .filter(|s| *s != LOCAL_TEST_KEY)
    {
        assert!(
            text.contains(sentinel),
            "{sentinel} missing from the request"
        );
    }
}
