//! Hostile bodies under a valid signature: each gets a 4xx or a 200, never a 5xx or a
//! panic, and leaks nothing of itself into the logs or the response.

mod support;

use merge_deprovision::lambda::config::MAX_BODY_BYTES_VAR;
use merge_deprovision_samples::{Signing, employee_envelope, function_url_event};
use serde_json::json;
use support::hostile::hostile_bodies;
use support::{Answer, answer, post, receiver, receiver_with, request};

fn assert_handled(name: &str, expected: &str, answer: &Answer) {
    let body = answer.json();
    if answer.status == 200 {
        assert_eq!(body["decision"], expected, "{name}: {body}");
    } else {
        assert_eq!(answer.status, 400, "{name}: {body}");
        assert_eq!(body["error"], expected, "{name}: {body}");
        assert!(body["message"].is_string(), "{name}: {body}");
    }
}

/// Each hostile body, signed, through the handler with the limit raised to the function
/// URL's own so that every body reaches the parser.
fn answers_to_hostile_bodies() -> Vec<(&'static str, &'static str, Vec<u8>, Answer)> {
    let receiver = receiver_with(&[(MAX_BODY_BYTES_VAR, "6291456")]);
    hostile_bodies()
        .into_iter()
        .map(|(name, expected, body)| {
            let event = function_url_event("POST", &body, Signing::TestKey, true, "r");
            let answer = answer(&receiver, &request(&event));
            (name, expected, body, answer)
        })
        .collect()
}

#[test]
fn hostile_bodies_under_a_valid_signature_get_a_4xx_or_a_200() {
    for (name, expected, _, answer) in answers_to_hostile_bodies() {
        assert_handled(name, expected, &answer);
    }
}

#[test]
fn a_5_mb_date_is_refused_by_size_at_the_default_limit() {
    let envelope = employee_envelope("Employee.changed", |d| {
        d.insert(
            "termination_date".into(),
            json!("9".repeat(5 * 1024 * 1024)),
        );
    });
    let body = serde_json::to_vec(&envelope).unwrap();
    let answer = answer(&receiver(), &post(&body, Signing::TestKey));
    assert_eq!(
        (answer.status, answer.json()["error"].as_str()),
        (413, Some("payload_too_large"))
    );
}

#[test]
fn a_5_mb_date_under_a_raised_limit_is_undetermined_not_a_crash() {
    let envelope = employee_envelope("Employee.changed", |d| {
        d.insert("employment_status".into(), json!("ACTIVE"));
        d.insert(
            "termination_date".into(),
            json!(format!("2026-11-20{}", "9".repeat(5 * 1024 * 1024))),
        );
    });
    let body = serde_json::to_vec(&envelope).unwrap();
    let receiver = receiver_with(&[(MAX_BODY_BYTES_VAR, "6291456")]);
    let answer = answer(&receiver, &post(&body, Signing::TestKey));
    assert_eq!(
        (answer.status, answer.json()["decision"].as_str()),
        (200, Some("undetermined"))
    );
    assert!(answer.logs.len() < 4096, "the date is not logged");
}

#[test]
fn out_of_range_years_make_the_date_unreadable() {
    let body = br#"{"hook":{"event":"Employee.changed"},"data":{"termination_date":"+999999-01-01T00:00:00Z"}}"#;
    let answer = answer(&receiver(), &post(body, Signing::TestKey));
    assert_eq!(answer.json()["decision"], "undetermined");
}

#[test]
fn an_event_named_dot_is_ignored() {
    let body = br#"{"hook":{"event":"."},"data":{}}"#;
    let answer = answer(&receiver(), &post(body, Signing::TestKey));
    assert_eq!(
        (answer.status, answer.json()["decision"].as_str()),
        (200, Some("ignored"))
    );
}

#[test]
fn refusals_of_hostile_bodies_echo_no_part_of_the_body() {
    for (name, _, body, answer) in answers_to_hostile_bodies() {
        if answer.status == 200 {
            continue;
        }
        // No run of 12 bytes of the body appears in what the function wrote.
        let written = format!("{}{}", answer.logs, answer.body);
        for window in body.windows(12).step_by(3) {
            if let Ok(text) = std::str::from_utf8(window) {
                assert!(!written.contains(text), "{name}: {text:?} was echoed");
            }
        }
    }
}
