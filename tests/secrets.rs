//! The signature key kept in Secrets Manager, through the real handler and the in-memory
//! secret store: deliveries verify, a rotation reaches the function at the first delivery
//! signed with the new key (or, in a process less than a minute old, at the first one
//! once that minute is over), a flood of bad signatures reads the secret at most once a
//! minute, the read at init included, and a failed read keeps the keys with one warning.

mod support;

use chrono::TimeDelta;
use merge_deprovision::aws::memory::MemorySecrets;
use merge_deprovision::aws::secrets::SecretError;
use merge_deprovision::domain::signature::sign;
use merge_deprovision::telemetry::record::SECRET_REFRESH_FAILED_MESSAGE;
use merge_deprovision_samples::{LOCAL_TEST_KEY, Signing, function_url_event};
use std::sync::Arc;
use support::{answer, post, request, secret_app};

const ID: &str = "merge/webhook-key";

/// A delivery of `body` signed with `key`.
fn signed_with(key: &str, body: &[u8]) -> lambda_http::Request {
    let mut event = function_url_event("POST", body, Signing::Unsigned, false, "secret-test");
    event["headers"]["x-merge-webhook-signature"] = sign(key.as_bytes(), body).into();
    request(&event)
}

const BODY: &[u8] =
    br#"{"hook":{"event":"Employee.changed"},"data":{"id":"e1","employment_status":"INACTIVE"}}"#;

#[test]
fn a_plain_or_rotation_secret_verifies_deliveries() {
    for value in [
        LOCAL_TEST_KEY.to_owned(),
        format!(r#"{{"current": "{LOCAL_TEST_KEY}", "previous": "old-key"}}"#),
    ] {
        let store = Arc::new(MemorySecrets::with(ID, &value));
        let app = secret_app(store.clone(), TimeDelta::zero());
        let answer = answer(&app, &post(BODY, Signing::TestKey));
        assert_eq!(answer.json()["decision"], "terminated", "{value}");
        assert_eq!(store.reads(), 1, "read once, at init");
    }
    let store = Arc::new(MemorySecrets::with(
        ID,
        &format!(r#"{{"current": "new-key", "previous": "{LOCAL_TEST_KEY}"}}"#),
    ));
    let app = secret_app(store, TimeDelta::zero());
    let old = answer(&app, &post(BODY, Signing::TestKey));
    assert_eq!(old.records()[0]["signature_key"], "previous");
}

#[test]
fn after_a_rotation_the_new_key_verifies_at_once_and_neither_key_is_refused() {
    let store = Arc::new(MemorySecrets::with(ID, LOCAL_TEST_KEY));
    let app = secret_app(store.clone(), TimeDelta::minutes(2));
    store.put(
        ID,
        &format!(r#"{{"current": "rotated-key", "previous": "{LOCAL_TEST_KEY}"}}"#),
    );
    let rotated = answer(&app, &signed_with("rotated-key", BODY));
    assert_eq!(rotated.status, 200, "verified through the mismatch refresh");
    assert_eq!(rotated.records()[0]["signature_key"], "current");
    assert_eq!(store.reads(), 2);
    let old = answer(&app, &post(BODY, Signing::TestKey));
    assert_eq!(old.status, 200, "the previous key still verifies");
    let neither = answer(&app, &signed_with("some-other-key", BODY));
    assert_eq!(neither.status, 401);
    assert_eq!(neither.json()["error"], "invalid_signature");
}

#[test]
fn a_thousand_bad_signatures_read_the_secret_at_most_once_a_minute() {
    let store = Arc::new(MemorySecrets::with(ID, LOCAL_TEST_KEY));
    let app = secret_app(store.clone(), TimeDelta::minutes(2));
    for _ in 0..1000 {
        assert_eq!(answer(&app, &post(BODY, Signing::WrongKey)).status, 401);
    }
    // The tests decide at one fixed instant: one read at init, one after the first
    // mismatch, and none for the rest of that minute.
    assert_eq!(store.reads(), 2);
    let fresh = Arc::new(MemorySecrets::with(ID, LOCAL_TEST_KEY));
    let app = secret_app(fresh.clone(), TimeDelta::zero());
    for _ in 0..1000 {
        answer(&app, &post(BODY, Signing::WrongKey));
    }
    assert_eq!(fresh.reads(), 1, "right after init, only the read at init");
}

#[test]
fn a_rotation_right_after_a_cold_start_verifies_once_the_processs_first_minute_is_over() {
    let rotated = format!(r#"{{"current": "rotated-key", "previous": "{LOCAL_TEST_KEY}"}}"#);
    // Loaded 59 s ago, then rotated: the key was just read, so nothing reads it again.
    let store = Arc::new(MemorySecrets::with(ID, LOCAL_TEST_KEY));
    let young = secret_app(store.clone(), TimeDelta::seconds(59));
    store.put(ID, &rotated);
    let refused = answer(&young, &signed_with("rotated-key", BODY));
    assert_eq!(refused.json()["error"], "invalid_signature");
    assert_eq!(store.reads(), 1);
    // Loaded a minute ago: the first delivery signed with the new key reads and verifies.
    let store = Arc::new(MemorySecrets::with(ID, LOCAL_TEST_KEY));
    let minute_old = secret_app(store.clone(), TimeDelta::seconds(60));
    store.put(ID, &rotated);
    let verified = answer(&minute_old, &signed_with("rotated-key", BODY));
    assert_eq!(verified.json()["decision"], "terminated");
    assert_eq!(verified.records()[0]["signature_key"], "current");
    assert_eq!(store.reads(), 2);
}

#[test]
fn a_failed_read_keeps_the_keys_warns_once_with_the_code_and_answers_as_usual() {
    let store = Arc::new(MemorySecrets::with(ID, LOCAL_TEST_KEY));
    let app = secret_app(store.clone(), TimeDelta::minutes(2));
    store.fail_with(Some(SecretError::new("AccessDeniedException")));
    let refused = answer(&app, &post(BODY, Signing::WrongKey));
    assert_eq!(refused.status, 401);
    let records = refused.records();
    assert_eq!(records.len(), 2, "{}", refused.logs);
    assert_eq!(records[0]["level"], "WARN");
    assert_eq!(records[0]["message"], SECRET_REFRESH_FAILED_MESSAGE);
    assert_eq!(records[0]["error"], "AccessDeniedException");
    assert_eq!(refused.metrics["SecretRefreshFailures"], 1);
    let valid = answer(&app, &post(BODY, Signing::TestKey));
    assert_eq!(valid.status, 200, "the cached key still verifies");
    assert!(!refused.logs.contains(LOCAL_TEST_KEY));
}

#[test]
fn aged_keys_are_read_again_before_the_next_delivery() {
    let store = Arc::new(MemorySecrets::with(ID, LOCAL_TEST_KEY));
    let app = secret_app(store.clone(), TimeDelta::seconds(301));
    store.put(ID, "replaced-key");
    let answer = answer(&app, &signed_with("replaced-key", BODY));
    assert_eq!(answer.status, 200);
    assert_eq!(store.reads(), 2);
}

#[test]
fn a_slow_read_of_the_secret_ends_in_a_clean_answer_with_the_cached_keys_before_the_deadline() {
    use lambda_http::RequestExt;
    let store = Arc::new(MemorySecrets::with(ID, LOCAL_TEST_KEY));
    // Read long ago, so this invocation reads it again first.
    let app = secret_app(store.clone(), TimeDelta::hours(1));
    store.slow(std::time::Duration::from_secs(30));
    let request = post(BODY, Signing::TestKey);
    let mut context = merge_deprovision_samples::lambda_context("slow-secret", "merge-deprovision");
    context.deadline = (std::time::SystemTime::now() + std::time::Duration::from_millis(1500))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let started = std::time::Instant::now();
    let answered = answer(&app, &request.with_lambda_context(context));
    assert!(
        started.elapsed() < std::time::Duration::from_millis(1500),
        "answered in {:?}",
        started.elapsed()
    );
    assert_eq!(
        answered.json()["decision"],
        "terminated",
        "the cached key verifies"
    );
    let records = answered.records();
    let warning = records
        .iter()
        .find(|r| r["message"] == SECRET_REFRESH_FAILED_MESSAGE)
        .expect("the read that ran out of time is reported");
    assert_eq!(warning["error"], "TimedOut");
}

#[test]
fn the_in_memory_secret_store_prints_no_value() {
    let store = MemorySecrets::with(ID, "SENTINEL-KEY-debug-91f0");
    let printed = format!("{store:?}");
    assert!(printed.contains(ID));
    assert!(!printed.contains("SENTINEL"), "{printed}");
}
