//! Every type that holds a signature key, or is built from one, formats with `{:?}`
//! without any of its key material: a key must never reach a log line, a panic message
//! or a failed assertion because something formatted the value holding it.

use chrono::TimeDelta;
use merge_deprovision::app::keys::{KeyError, Refresh};
use merge_deprovision::aws::secrets::SecretError;
use merge_deprovision::domain::secret::{SecretKeys, SecretValueError, read_secret};
use merge_deprovision::domain::signature::Verifier;
use merge_deprovision::lambda::config::KeySource;

const CURRENT: &str = "SENTINEL-CURRENT-KEY-8c1f";
const PREVIOUS: &str = "SENTINEL-PREVIOUS-KEY-77d2";

fn assert_redacted(what: &str, formatted: &str) {
    for key in [CURRENT, PREVIOUS, "SENTINEL"] {
        assert!(
            !formatted.contains(key),
            "{what} prints key material: {formatted}"
        );
    }
}

fn rotation_keys() -> SecretKeys {
    read_secret(&format!(
        r#"{{"current": "{CURRENT}", "previous": "{PREVIOUS}"}}"#
    ))
    .expect("a rotation secret")
}

#[test]
fn secret_keys_debug_prints_no_key_only_whether_a_previous_one_is_held() {
    let keys = rotation_keys();
    // Guards the check against passing because the keys were never read.
    assert_eq!(keys.current, CURRENT);
    assert_eq!(keys.previous.as_deref(), Some(PREVIOUS));
    for formatted in [format!("{keys:?}"), format!("{keys:#?}")] {
        assert_redacted("SecretKeys", &formatted);
        assert!(formatted.contains("previous_key: true"), "{formatted}");
    }
    let plain = read_secret(CURRENT).unwrap();
    assert_redacted("SecretKeys", &format!("{plain:?}"));
    assert!(format!("{plain:?}").contains("previous_key: false"));
}

#[test]
fn a_failed_assertion_on_secret_keys_prints_no_key() {
    let keys = rotation_keys();
    let other = read_secret("some-other-key").unwrap();
    let message = std::panic::catch_unwind(|| assert_eq!(keys, other))
        .expect_err("the keys differ")
        .downcast::<String>()
        .expect("a formatted message");
    assert!(message.contains("SecretKeys"), "{message}");
    assert_redacted("assert_eq! on SecretKeys", &message);
}

#[test]
fn the_verifier_and_the_configured_key_source_print_no_key() {
    let verifier = Verifier::new(CURRENT.as_bytes(), Some(PREVIOUS.as_bytes()));
    assert_redacted("Verifier", &format!("{verifier:?}"));
    let source = KeySource::Environment(Box::new(verifier));
    assert_redacted("KeySource::Environment", &format!("{source:#?}"));
    let secret = KeySource::Secret {
        id: "merge/webhook-key".into(),
        refresh_after: Some(TimeDelta::minutes(5)),
    };
    assert!(format!("{secret:?}").contains("merge/webhook-key"));
}

#[test]
fn key_errors_and_refresh_outcomes_name_kinds_and_codes_only() {
    let formatted = [
        format!(
            "{:?}",
            KeyError::Read(SecretError::new("AccessDeniedException"))
        ),
        format!("{:?}", KeyError::Value(SecretValueError::WrongShape)),
        format!("{:?}", Refresh::Failed("InvalidSecretValue".into())),
        format!(
            "{:?}",
            read_secret(&format!(r#"{{"current": "", "previous": "{PREVIOUS}"}}"#))
        ),
    ];
    for text in &formatted {
        assert_redacted("a key error", text);
    }
}
