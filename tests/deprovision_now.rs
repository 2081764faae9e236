//! Deprovision now (`merge-deprovision.deprovision-now`), through the real handler
//! against the in-memory twins: one employee the ledger holds, named by id or by a match
//! value, is terminated by hand and deprovisioned within the one invocation, the
//! identity-collision check still applied; a later HR delivery saying active gives the
//! rehire warning and nothing back.

mod support;

use merge_deprovision::domain::decision::Decision;
use merge_deprovision::domain::deprovision::Outcome;
use merge_deprovision::domain::ledger::{EmployeeKey, Source};
use merge_deprovision::scim::memory::{Change, MemoryScim};
use merge_deprovision::telemetry::record::{REHIRE_MESSAGE, TERMINATED_MESSAGE};
use serde_json::{Value, json};
use support::{
    DeprovisionApp, answer, answer_direct, deprovision_app, direct, employee_delivery, stream_batch,
};

const CHAT: &str = "https://chat.example.com/scim/v2";
const CHAT_TOKEN: &str = "TOKEN-SENTINEL-chat-now-77c1";
const LINKED_ACCOUNT: &str = "a3602c03-aba7-4d9d-a349-dbc338504092";

fn employee(n: u32) -> String {
    format!("0958cbc6-6040-430a-848e-{n:012}")
}

fn key(n: u32) -> EmployeeKey {
    EmployeeKey::new(Some(LINKED_ACCOUNT), &employee(n))
}

fn sample(name: &str) -> Value {
    let path = format!(
        "{}/events/deprovision-now/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn app(extra: Value) -> DeprovisionApp {
    let scim = MemoryScim::new();
    scim.serve(CHAT, CHAT_TOKEN);
    let mut target = json!({"name": "chat", "base_url": CHAT, "token": CHAT_TOKEN});
    for (k, v) in extra.as_object().unwrap() {
        target[k.as_str()] = v.clone();
    }
    deprovision_app(&json!({"targets": [target]}), scim, &[])
}

/// Employee `n`, active in HR and in the ledger, with `email`.
fn active_employee(d: &DeprovisionApp, n: u32, email: &str, modified_at: &str) {
    let delivery = employee_delivery(
        "Employee.changed",
        json!({"id": employee(n), "work_email": email, "employment_status": "ACTIVE",
               "termination_date": null, "modified_at": modified_at}),
    );
    assert_eq!(answer(&d.app, &delivery).status, 200);
}

const EMAIL: &str = "leaver1@merge.dev";

/// The status the handler answers `document` with.
fn status(d: &DeprovisionApp, document: &Value) -> u16 {
    let request = direct(document);
    let (answered, _) = support::capture_logs(true, || {
        merge_deprovision_samples::ready(merge_deprovision::lambda::handler::answer_event(
            &d.app,
            &request,
            support::now(),
        ))
    });
    answered.unwrap().response.status().as_u16()
}

#[test]
fn an_employee_named_by_id_is_terminated_by_hand_and_deactivated_within_the_invocation() {
    let d = app(json!({}));
    let user = d.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    active_employee(&d, 1, EMAIL, "2026-11-26T04:12:09Z");
    let _ = stream_batch(&d.ledger);
    let answered = answer_direct(&d.app, &direct(&sample("by-id")));
    assert_eq!(
        answered.body["outcomes"],
        json!({"deactivated": 1}),
        "{}",
        answered.body
    );
    assert_eq!(answered.body["moved"], true);
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(user)]);
    let entry = d.ledger.entries()[&key(1)].clone();
    assert_eq!(entry.decision, Decision::Terminated);
    assert_eq!(entry.changed_by, Source::ByHand);
    assert!(entry.announced);
    assert_eq!(entry.deprovisioning["chat"].outcome, Outcome::Deactivated);
    let records = answered.records();
    let terminated = records
        .iter()
        .find(|r| r["message"] == TERMINATED_MESSAGE)
        .expect("announced like any termination");
    assert_eq!(terminated["source"], "by_hand");
    assert_eq!(terminated["reasons"], "deprovisioned_by_hand");
    assert!(!answered.logs.contains(CHAT_TOKEN));
    // The stream's record of the move finds nothing more to do.
    let batch = stream_batch(&d.ledger).expect("the move into terminated");
    answer_direct(&d.app, &batch);
    assert_eq!(d.scim.changes(CHAT).len(), 1);
}

#[test]
fn an_employee_named_by_a_match_value_is_found_through_the_ledger_and_protection_is_lifted() {
    let d = app(json!({"protected": [EMAIL]}));
    let user = d.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    active_employee(&d, 1, EMAIL, "2026-11-26T04:12:09Z");
    let answered = answer_direct(&d.app, &direct(&sample("by-match")));
    assert_eq!(
        answered.body["employee_id"],
        employee(1),
        "{}",
        answered.body
    );
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(user)]);
}

#[test]
fn the_identity_collision_check_still_refuses() {
    let d = app(json!({}));
    let user = d.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    active_employee(&d, 1, EMAIL, "2026-11-26T04:12:09Z");
    // A new hire given the same address, live in the ledger.
    active_employee(&d, 2, EMAIL, "2026-11-26T05:12:09Z");
    let answered = answer_direct(&d.app, &direct(&sample("by-id")));
    assert_eq!(
        answered.body["outcomes"],
        json!({"conflict": 1}),
        "{}",
        answered.body
    );
    assert!(d.scim.user(CHAT, &user).unwrap().active);
    // By the shared value there is no telling whom: nothing at all is done.
    let shared = answer_direct(&d.app, &direct(&sample("by-match")));
    assert_eq!(shared.body["error"], "ambiguous");
}

#[test]
fn a_later_hr_delivery_saying_active_gives_the_rehire_warning_and_nothing_back() {
    let d = app(json!({}));
    let user = d.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    active_employee(&d, 1, EMAIL, "2026-11-26T04:12:09Z");
    answer_direct(&d.app, &direct(&sample("by-id")));
    // HR's next change of the record still says active.
    let delivery = employee_delivery(
        "Employee.changed",
        json!({"id": employee(1), "work_email": EMAIL, "employment_status": "ACTIVE",
               "termination_date": null, "modified_at": "2026-11-27T04:12:09Z"}),
    );
    let later = answer(&d.app, &delivery);
    assert!(
        later
            .records()
            .iter()
            .any(|r| r["message"] == REHIRE_MESSAGE)
    );
    assert!(
        !d.scim.user(CHAT, &user).unwrap().active,
        "access not restored"
    );
    assert_eq!(d.ledger.entries()[&key(1)].decision, Decision::Active);
}

#[test]
fn an_employee_the_ledger_does_not_hold_is_404_naming_the_field_and_nothing_acts() {
    let d = app(json!({}));
    let user = d.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    for (name, field) in [("by-id", "employee_id"), ("by-match", "match.value")] {
        assert_eq!(status(&d, &sample(name)), 404);
        let answered = answer_direct(&d.app, &direct(&sample(name)));
        assert_eq!(answered.body["error"], "not_found");
        assert!(answered.body["message"].as_str().unwrap().contains(field));
    }
    assert!(d.scim.user(CHAT, &user).unwrap().active);
    assert!(d.ledger.entries().is_empty());
}

#[test]
fn bad_input_is_refused_with_400_naming_the_field() {
    let d = app(json!({}));
    let cases = [
        (json!({"employee_id": "e"}), "linked_account_id"),
        (json!({"linked_account_id": LINKED_ACCOUNT}), "employee_id"),
        (
            json!({"linked_account_id": LINKED_ACCOUNT, "match": {"attribute": "phone", "value": "1"}}),
            "match.attribute",
        ),
        (
            json!({"linked_account_id": LINKED_ACCOUNT, "employee_id": "e", "match": {"attribute": "username", "value": "g"}}),
            "only one",
        ),
    ];
    for (fields, named) in cases {
        let mut document = fields.clone();
        document["kind"] = json!("merge-deprovision.deprovision-now");
        document["version"] = json!(1);
        assert_eq!(status(&d, &document), 400, "{fields}");
        let answered = answer_direct(&d.app, &direct(&document));
        assert_eq!(answered.body["error"], "invalid_document", "{fields}");
        assert!(
            answered.body["message"].as_str().unwrap().contains(named),
            "{}",
            answered.body
        );
    }
}

#[test]
fn an_index_still_naming_the_values_former_holder_acts_on_nobody() {
    use merge_deprovision::domain::decision::Decision;
    use merge_deprovision::domain::deprovision::Sharer;
    let d = app(json!({}));
    let user = d.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    // Employee 1 held the address once and has another now; the index has not caught up.
    active_employee(&d, 1, "someone.else@merge.dev", "2026-11-26T04:12:09Z");
    d.ledger.stale_sharing(vec![Sharer {
        key: key(1),
        decision: Decision::Active,
        value: Some(EMAIL.to_owned()),
    }]);
    let answered = answer_direct(&d.app, &direct(&sample("by-match")));
    assert_eq!(answered.body["error"], "not_found", "{}", answered.body);
    assert_eq!(d.ledger.entries()[&key(1)].decision, Decision::Active);
    assert!(d.scim.changes(CHAT).is_empty());
    assert!(d.scim.user(CHAT, &user).unwrap().active);
}
