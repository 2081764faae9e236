//! No leaver is lost and no rehire is deprovisioned on the way: the move into
//! `terminated` puts the leaver on the release's list in the same write, whatever fails
//! after it, and a rehire that lands while one target is worked stops the next.

mod support;

use merge_deprovision::aws::deprovisioning::DeprovisionStore;
use merge_deprovision::aws::ledger::{Ledger, LedgerError};
use merge_deprovision::aws::memory::{MemoryDeprovisionStore, MemoryLedger};
use merge_deprovision::domain::decision::Decision;
use merge_deprovision::domain::deprovision::Outcome;
use merge_deprovision::domain::ledger::EmployeeKey;
use merge_deprovision::lambda::handler::answer_event;
use merge_deprovision::scim::memory::{Change, MemoryScim};
use merge_deprovision::telemetry::record::REHIRE_MESSAGE;
use merge_deprovision_samples::ready;
use serde_json::{Value, json};
use std::time::Duration;
use support::{
    DeprovisionApp, answer, answer_direct, capture_logs, deprovision_app, direct,
    employee_delivery, now, stream_batch,
};

const CHAT: &str = "https://chat.example.com/scim/v2";
const CRM: &str = "https://crm.example.com/scim/v2";
const CHAT_TOKEN: &str = "TOKEN-SENTINEL-chat-8d1f";
const CRM_TOKEN: &str = "TOKEN-SENTINEL-crm-2b7e";
const LINKED_ACCOUNT: &str = "a3602c03-aba7-4d9d-a349-dbc338504092";
const EMPLOYEE: &str = "0958cbc6-6040-430a-848e-aafacbadf4ae";
const EMAIL: &str = "greg@merge.dev";

fn key() -> EmployeeKey {
    EmployeeKey::new(Some(LINKED_ACCOUNT), EMPLOYEE)
}

fn directory() -> MemoryScim {
    let scim = MemoryScim::new();
    scim.serve(CHAT, CHAT_TOKEN);
    scim.serve(CRM, CRM_TOKEN);
    scim
}

/// Both targets, `chat` first.
fn both() -> Value {
    json!({"targets": [
        {"name": "chat", "base_url": CHAT, "token": CHAT_TOKEN},
        {"name": "crm", "base_url": CRM, "token": CRM_TOKEN},
    ]})
}

fn delivery(status: &str, modified_at: &str) -> lambda_http::Request {
    let termination_date = (status == "INACTIVE").then_some("2026-11-20");
    employee_delivery(
        "Employee.changed",
        json!({"id": EMPLOYEE, "work_email": EMAIL, "employment_status": status,
               "termination_date": termination_date, "modified_at": modified_at}),
    )
}

fn terminate(d: &DeprovisionApp) {
    let answered = answer(&d.app, &delivery("INACTIVE", "2026-11-26T04:12:09Z"));
    assert_eq!(answered.status, 200, "{}", answered.body);
}

fn release(d: &DeprovisionApp) -> Value {
    let document = json!({"kind": "merge-deprovision.release-held", "version": 1});
    answer_direct(&d.app, &direct(&document)).body
}

#[test]
fn the_move_into_terminated_lists_the_leaver_for_the_release_before_any_work_runs() {
    let d = deprovision_app(&both(), directory(), &[]);
    terminate(&d);
    assert_eq!(d.store.waiting_keys(), [key()]);
    let (waiting, _) = capture_logs(false, || ready(d.store.waiting()));
    assert_eq!(waiting.unwrap().len(), 1);
}

#[test]
fn a_leaver_whose_every_stream_delivery_cannot_read_the_ledger_is_still_released() {
    let scim = directory();
    let chat_leaver = scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let crm_leaver = scim.add(CRM, EMAIL, &[EMAIL], None, true);
    let d = deprovision_app(&both(), scim.clone(), &[]);
    terminate(&d);
    let batch = stream_batch(&d.ledger).expect("the move is on the stream");
    // The first delivery and the mapping's five retries each fail their first ledger read.
    for _ in 0..merge_deprovision::app::deprovision::STREAM_ATTEMPTS {
        d.ledger.fail_next([LedgerError::Throttled]);
        let answered = answer_direct(&d.app, &batch);
        let failures = answered.body["batchItemFailures"].as_array().unwrap().len();
        assert_eq!(failures, 1, "handed back for a retry");
    }
    assert!(scim.changes(CHAT).is_empty() && scim.changes(CRM).is_empty());
    // Dead-lettered with only shard and sequence numbers, yet on the release's list.
    assert_eq!(d.store.waiting_keys(), [key()]);
    let released = release(&d);
    assert_eq!(released["released"], 1, "{released}");
    assert_eq!(scim.changes(CHAT), [Change::Deactivated(chat_leaver)]);
    assert_eq!(scim.changes(CRM), [Change::Deactivated(crm_leaver)]);
    assert!(d.store.waiting_keys().is_empty());
}

#[test]
fn a_move_into_terminated_and_its_note_stand_or_fall_together() {
    let ledger = MemoryLedger::new();
    let store = MemoryDeprovisionStore::in_table_of(&ledger);
    let d = deprovision_app(&both(), directory(), &[]);
    terminate(&d);
    let entry = d.ledger.entries()[&key()].clone();
    // A write whose condition does not hold notes nobody.
    let lost = ready(ledger.put_noting(&entry, Some(entry.revision + 7), &[]));
    assert_eq!(lost, Err(LedgerError::ConditionFailed));
    assert!(store.waiting_keys().is_empty());
    assert!(ledger.entries().is_empty());
    // One that holds writes both.
    ready(ledger.put_noting(&entry, None, &[])).unwrap();
    assert_eq!(store.waiting_keys(), [key()]);
    assert_eq!(ledger.entries()[&key()].decision, Decision::Terminated);
}

#[test]
fn with_deprovisioning_off_a_move_into_terminated_lists_nobody() {
    let app = support::ledger_app();
    let answered = answer(&app.app, &delivery("INACTIVE", "2026-11-26T04:12:09Z"));
    assert_eq!(answered.status, 200, "{}", answered.body);
    assert_eq!(app.ledger.moves_into_terminated(), 1);
    let store = MemoryDeprovisionStore::in_table_of(&app.ledger);
    assert!(store.waiting_keys().is_empty());
}

#[test]
fn a_rehire_overtaking_the_first_targets_change_warns_for_it_and_spares_the_second() {
    let scim = directory();
    let chat_leaver = scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    scim.add(CRM, EMAIL, &[EMAIL], None, true);
    let d = deprovision_app(&both(), scim.clone(), &[]);
    terminate(&d);
    let batch = stream_batch(&d.ledger).expect("the move is on the stream");
    let rehire = delivery("ACTIVE", "2026-11-26T05:30:00Z");
    // The rehire's webhook lands while chat's change is under way.
    scim.slow(CHAT, Duration::from_millis(200));
    let ((worked, rehired), logs) = capture_logs(true, || {
        ready(async {
            tokio::join!(answer_event(&d.app, &batch, now()), async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                answer_event(&d.app, &rehire, now()).await
            })
        })
    });
    let (worked, rehired) = (worked.unwrap(), rehired.unwrap());
    assert_eq!(rehired.response.status(), 200);
    let failures: Value = serde_json::from_slice(worked.response.body().as_ref()).unwrap();
    assert_eq!(failures["batchItemFailures"], json!([]));
    assert_eq!(scim.changes(CHAT), [Change::Deactivated(chat_leaver)]);
    assert!(
        scim.changes(CRM).is_empty(),
        "the rehire is not deprovisioned in crm"
    );
    let entry = &d.ledger.entries()[&key()];
    assert_eq!(entry.decision, Decision::Active);
    assert!(
        entry.deprovisioning.get("chat").map(|o| o.outcome) != Some(Outcome::Deactivated),
        "the change could not be recorded over the rehire"
    );
    // Nobody else could name chat's change: this work does, once.
    let warnings: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["message"] == REHIRE_MESSAGE)
        .collect();
    assert_eq!(warnings.len(), 1, "{logs}");
    assert_eq!(warnings[0]["target"], "chat");
    assert!(
        d.store.waiting_keys().is_empty(),
        "nothing is owed any more"
    );
}
