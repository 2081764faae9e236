use super::*;
use crate::domain::decision::Decision;
use crate::domain::ledger::{Identity, Observation, Source, transition};

fn change(sequence: &str, new: Option<Decision>, old: Option<Decision>) -> StreamChange {
    let entry = |decision| {
        let observation = Observation {
            key: EmployeeKey::new(Some("acme"), sequence),
            decision,
            reasons: String::new(),
            termination_date: None,
            effective_at: None,
            version: None,
            removal: false,
            identity: Identity::default(),
            source: Source::Webhook,
            delivery_id: None,
        };
        transition(None, &observation, chrono::Utc::now())
            .write
            .unwrap()
    };
    StreamChange {
        sequence_number: sequence.to_owned(),
        key: Some(EmployeeKey::new(Some("acme"), sequence)),
        old: old.map(entry),
        new: new.map(entry),
    }
}

#[test]
fn a_batch_works_moves_into_terminated_and_images_it_cannot_read() {
    let changes = [
        change("1", Some(Decision::Terminated), None),
        change("2", Some(Decision::Terminated), Some(Decision::Terminated)),
        change("3", Some(Decision::Active), Some(Decision::Terminated)),
        change("4", None, Some(Decision::Active)),
    ];
    let keys: Vec<String> = stream_work(&changes).into_iter().map(|(s, _)| s).collect();
    assert_eq!(keys, ["1", "4"]);
}

#[test]
fn a_targets_secret_with_plain_http_to_a_remote_host_is_refused_naming_the_target() {
    let text = r#"{"targets": [{"name": "wiki", "base_url": "http://wiki.example.com/scim", "token": "t"}]}"#;
    let problem = read_targets(text).err().unwrap();
    assert!(
        problem.starts_with("target 1 (wiki): `base_url` must be https://"),
        "{problem}"
    );
    let loopback =
        r#"{"targets": [{"name": "wiki", "base_url": "http://127.0.0.1:8765/v2", "token": "t"}]}"#;
    assert!(read_targets(loopback).is_ok());
}
