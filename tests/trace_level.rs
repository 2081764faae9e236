//! The most verbose level the template allows, TRACE, run through the built binary and
//! the real Lambda runtime: no line, in either log format, carries any part of an event
//! body, signed or not. The runtime crates log the whole raw event at TRACE, so this
//! holds only because their targets are filtered.

mod support;

use merge_deprovision_samples::{LOCAL_TEST_KEY, Signing, employee_envelope, function_url_event};
use serde_json::{Value, json};
use std::path::PathBuf;
use support::runtime_api::{Function, Reply, RuntimeApi};

/// Values that appear only in the request bodies, never in anything the function writes.
const SSN: &str = "SENTINEL-SSN-404";
const DATE_OF_BIRTH: &str = "1902-02-02T00:00:00Z";
const PERSONAL_EMAIL: &str = "sentinel-trace@example.invalid";

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_merge-deprovision"))
}

/// A terminated Employee carrying the sentinels, as a function URL event signed as
/// `signing` says.
fn sensitive_event(signing: Signing) -> String {
    let envelope = employee_envelope("Employee.changed", |data| {
        data.insert("ssn".into(), json!(SSN));
        data.insert("date_of_birth".into(), json!(DATE_OF_BIRTH));
        data.insert("personal_email".into(), json!(PERSONAL_EMAIL));
        data.insert("employment_status".into(), json!("INACTIVE"));
    });
    let body = serde_json::to_vec(&envelope).unwrap();
    function_url_event("POST", &body, signing, false, "trace-test").to_string()
}

fn status_of(reply: &Reply) -> u64 {
    let Reply::Response(text) = reply else {
        panic!("expected a response, got {reply:?}");
    };
    let response: Value = serde_json::from_str(text).unwrap();
    response["statusCode"]
        .as_u64()
        .expect("a function URL response")
}

/// Runs a signed and a forged delivery through the binary at TRACE and returns what it
/// wrote to stdout and stderr.
async fn logs_at_trace(format: &str) -> (String, String) {
    let api = RuntimeApi::start().await;
    let function = Function::spawn(
        &binary(),
        &api,
        &[
            ("MERGE_WEBHOOK_SIGNATURE_KEY", LOCAL_TEST_KEY),
            ("AWS_LAMBDA_LOG_FORMAT", format),
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
        ],
    );
    let signed = sensitive_event(Signing::TestKey);
    let forged = sensitive_event(Signing::WrongKey);
    // Guards the check below against passing because the sentinels were never sent.
    assert!(signed.contains(SSN) && forged.contains(SSN));
    assert_eq!(status_of(&api.invoke(&signed).await), 200);
    assert_eq!(status_of(&api.invoke(&forged).await), 401);
    function.stop().await
}

fn assert_no_body_in(format: &str, stdout: &str, stderr: &str) {
    assert!(
        stdout.contains("terminated") && stdout.contains("invalid_signature"),
        "{format}: both decisions are logged at TRACE:\n{stdout}"
    );
    for sentinel in [SSN, DATE_OF_BIRTH, PERSONAL_EMAIL] {
        for (stream, text) in [("stdout", stdout), ("stderr", stderr)] {
            assert!(
                !text.contains(sentinel),
                "{format}: {sentinel} reached {stream} at TRACE:\n{text}"
            );
        }
    }
}

#[tokio::test]
async fn a_trace_level_never_logs_the_event_body_in_json() {
    let (stdout, stderr) = logs_at_trace("JSON").await;
    assert_no_body_in("JSON", &stdout, &stderr);
}

#[tokio::test]
async fn a_trace_level_never_logs_the_event_body_in_text() {
    let (stdout, stderr) = logs_at_trace("Text").await;
    assert_no_body_in("Text", &stdout, &stderr);
}
