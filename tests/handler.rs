//! The request path through the real handler: each refusal's status and body, the order
//! of checks, and the one log record each request writes.

mod support;

use merge_deprovision::telemetry::record::{
    REJECTED_MESSAGE, TERMINATED_MESSAGE, UNDETERMINED_UNREADABLE_DATE_MESSAGE,
};
use merge_deprovision_samples::{Signing, TYPICAL_ENVELOPE, employee_envelope, function_url_event};
use serde_json::{Value, json};
use support::{answer, limited_receiver, post, receiver, request, rotating_receiver};

fn employee_body(event: &str, fields: Value) -> Vec<u8> {
    let envelope = employee_envelope(event, |data| {
        for (k, v) in fields.as_object().unwrap() {
            data.insert(k.clone(), v.clone());
        }
    });
    serde_json::to_vec(&envelope).unwrap()
}

fn terminated_body() -> Vec<u8> {
    employee_body(
        "Employee.changed",
        json!({"employment_status": "INACTIVE", "termination_date": "2026-11-20"}),
    )
}

fn assert_refused(body: &[u8], signing: Signing, status: u16, code: &str) {
    let answer = answer(&receiver(), &post(body, signing));
    assert_eq!(
        (answer.status, answer.json()["error"].as_str()),
        (status, Some(code)),
        "{}",
        answer.body
    );
}

#[test]
fn anything_but_post_gets_405_with_an_allow_header() {
    for method in ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"] {
        let event = function_url_event(method, &terminated_body(), Signing::TestKey, false, "r");
        let answer = answer(&receiver(), &request(&event));
        assert_eq!(answer.status, 405, "{method}");
        assert_eq!(answer.headers["allow"], "POST");
        assert_eq!(answer.json()["error"], "method_not_allowed");
    }
}

#[test]
fn a_body_over_the_limit_gets_413_before_the_signature_is_checked() {
    let body = terminated_body();
    let answer = answer(
        &limited_receiver(body.len() - 1),
        &post(&body, Signing::Unsigned),
    );
    assert_eq!(answer.status, 413);
    assert_eq!(answer.json()["error"], "payload_too_large");
}

#[test]
fn a_body_exactly_at_the_limit_is_accepted() {
    let body = terminated_body();
    let answer = answer(
        &limited_receiver(body.len()),
        &post(&body, Signing::TestKey),
    );
    assert_eq!(answer.status, 200);
}

#[test]
fn a_missing_signature_gets_401_missing_signature() {
    assert_refused(
        &terminated_body(),
        Signing::Unsigned,
        401,
        "missing_signature",
    );
}

#[test]
fn a_wrong_signature_gets_401_invalid_signature() {
    assert_refused(
        &terminated_body(),
        Signing::WrongKey,
        401,
        "invalid_signature",
    );
}

#[test]
fn unsigned_garbage_is_refused_as_unsigned_not_parsed() {
    assert_refused(
        b"not json at all",
        Signing::WrongKey,
        401,
        "invalid_signature",
    );
}

#[test]
fn a_delivery_signed_with_the_previous_key_is_accepted_during_rotation() {
    let answer = answer(
        &rotating_receiver(),
        &post(&terminated_body(), Signing::TestKey),
    );
    assert_eq!(answer.status, 200);
    assert_eq!(answer.records()[0]["signature_key"], "previous");
}

#[test]
fn signed_bodies_that_are_not_json_objects_get_400() {
    assert_refused(b"{\"hook\":", Signing::TestKey, 400, "malformed_json");
    assert_refused(b"", Signing::TestKey, 400, "malformed_json");
    assert_refused(b"[]", Signing::TestKey, 400, "body_not_object");
    assert_refused(b"null", Signing::TestKey, 400, "body_not_object");
    assert_refused(
        b"\"Employee.changed\"",
        Signing::TestKey,
        400,
        "body_not_object",
    );
}

#[test]
fn an_envelope_with_a_malformed_hook_gets_400_invalid_envelope() {
    assert_refused(
        br#"{"hook":"Employee.changed"}"#,
        Signing::TestKey,
        400,
        "invalid_envelope",
    );
    assert_refused(
        br#"{"hook":{"event":["Employee.changed"]}}"#,
        Signing::TestKey,
        400,
        "invalid_envelope",
    );
}

#[test]
fn an_employee_event_whose_data_is_not_an_object_gets_400() {
    for data in ["[]", "null", "\"e1\"", "42"] {
        let body = format!(r#"{{"hook":{{"event":"Employee.changed"}},"data":{data}}}"#);
        assert_refused(body.as_bytes(), Signing::TestKey, 400, "invalid_employee");
    }
    assert_refused(
        br#"{"hook":{"event":"Employee.removed"}}"#,
        Signing::TestKey,
        400,
        "invalid_employee",
    );
}

#[test]
fn an_object_without_hook_event_is_acknowledged_and_ignored() {
    let answer = answer(
        &receiver(),
        &post(br#"{"hook":{"id":"h"}}"#, Signing::TestKey),
    );
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json(),
        json!({"decision": "ignored", "reasons": ["no_event"]})
    );
}

#[test]
fn other_events_are_ignored_even_with_odd_data() {
    for event in [
        "LinkedAccount.linked",
        "Issue.resolved",
        "Employment.changed",
        "Candidate.changed",
        ".",
    ] {
        let body = format!(r#"{{"hook":{{"event":"{event}"}},"data":[1,2]}}"#);
        let answer = answer(&receiver(), &post(body.as_bytes(), Signing::TestKey));
        assert_eq!(answer.status, 200, "{event}");
        assert_eq!(answer.json()["decision"], "ignored", "{event}");
        assert_eq!(
            answer.json()["reasons"],
            json!(["not_an_employee_event"]),
            "{event}"
        );
    }
}

#[test]
fn an_employee_event_with_an_undecided_action_is_ignored_for_that_reason() {
    let body = br#"{"hook":{"event":"Employee.synced"},"data":{"id":"e1"}}"#;
    let answer = answer(&receiver(), &post(body, Signing::TestKey));
    assert_eq!(
        (answer.status, answer.json()),
        (
            200,
            json!({"decision": "ignored", "reasons": ["employee_action_not_decided"]})
        )
    );
    assert_eq!(answer.records()[0]["event"], "Employee.synced");
}

#[test]
fn every_response_is_json_with_a_content_type() {
    for request in [
        post(&terminated_body(), Signing::TestKey),
        post(b"x", Signing::Unsigned),
    ] {
        let answer = answer(&receiver(), &request);
        assert_eq!(answer.headers["content-type"], "application/json");
        answer.json();
    }
}

#[test]
fn the_terminated_record_stands_out_and_carries_every_documented_field() {
    let answer = answer(&receiver(), &post(&terminated_body(), Signing::TestKey));
    let records = answer.records();
    assert_eq!(
        records.len(),
        1,
        "exactly one record per decided webhook: {}",
        answer.logs
    );
    let record = &records[0];
    let typical: Value = serde_json::from_str(TYPICAL_ENVELOPE).unwrap();
    let (data, account) = (&typical["data"], &typical["linked_account"]);
    assert_eq!(record["level"], "WARN");
    assert_eq!(record["message"], TERMINATED_MESSAGE);
    assert_eq!(record["decision"], "terminated");
    assert_eq!(record["reasons"], "status_inactive,termination_date_passed");
    assert_eq!(record["event"], "Employee.changed");
    for field in [
        "remote_id",
        "employee_number",
        "work_email",
        "username",
        "display_full_name",
    ] {
        assert_eq!(record[field], data[field], "{field}");
    }
    assert_eq!(record["employee_id"], data["id"]);
    assert_eq!(record["linked_account_id"], account["id"]);
    assert_eq!(record["integration"], account["integration_slug"]);
    assert_eq!(
        record["end_user_organization_name"],
        account["end_user_organization_name"]
    );
    assert_eq!(record["termination_date"], "2026-11-20T00:00:00Z");
}

#[test]
fn the_scheduled_record_carries_the_effective_date_at_info() {
    let body = employee_body(
        "Employee.changed",
        json!({"employment_status": "ACTIVE", "termination_date": "2027-01-31"}),
    );
    let answer = answer(&receiver(), &post(&body, Signing::TestKey));
    let record = &answer.records()[0];
    assert_eq!(record["level"], "INFO");
    assert_eq!(record["decision"], "scheduled");
    assert_eq!(record["effective_at"], "2027-01-31T00:00:00Z");
    assert_eq!(answer.json()["effective_at"], "2027-01-31T00:00:00Z");
}

#[test]
fn the_undetermined_record_is_a_warning() {
    let body = employee_body(
        "Employee.changed",
        json!({"employment_status": "ACTIVE", "termination_date": "end of Q4"}),
    );
    let answer = answer(&receiver(), &post(&body, Signing::TestKey));
    let record = &answer.records()[0];
    assert_eq!(
        (record["level"].as_str(), record["decision"].as_str()),
        (Some("WARN"), Some("undetermined"))
    );
    assert_eq!(record["message"], UNDETERMINED_UNREADABLE_DATE_MESSAGE);
}

#[test]
fn a_rejected_request_logs_one_warning_with_its_code_and_no_payload() {
    let body = terminated_body();
    let answer = answer(&receiver(), &post(&body, Signing::WrongKey));
    let records = answer.records();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record["level"], "WARN");
    assert_eq!(record["message"], REJECTED_MESSAGE);
    assert_eq!(record["error"], "invalid_signature");
    assert_eq!(record["status"], 401);
    assert_eq!(record["body_bytes"], body.len());
    assert_eq!(record["source_ip"], "203.0.113.10");
    assert!(!answer.logs.contains("greg@merge.dev"));
}

#[test]
fn error_messages_do_not_echo_the_payload() {
    let answer = answer(
        &receiver(),
        &post(
            br#"{"hook": {"event": "Employee.changed"}, "data": SECRET"#,
            Signing::TestKey,
        ),
    );
    assert_eq!(answer.status, 400);
    assert!(!answer.body.contains("SECRET"), "{}", answer.body);
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .contains("line 1, column")
    );
}
