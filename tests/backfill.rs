//! Historical terminations and the backfill, through the real handler against the
//! in-memory twins: a leaver who left long before the account was first seen is
//! recorded but never acted on by itself, and leavers the ledger held before SCIM was
//! turned on are worked only by a backfill asked for on purpose, under the brake, once.

mod support;

use merge_deprovision::aws::memory::MemoryLedger;
use merge_deprovision::domain::decision::Decision;
use merge_deprovision::domain::deprovision::Outcome;
use merge_deprovision::domain::ledger::EmployeeKey;
use merge_deprovision::scim::memory::{Change, MemoryScim};
use merge_deprovision::telemetry::record::{HISTORICAL_MESSAGE, TERMINATED_MESSAGE};
use serde_json::{Value, json};
use std::sync::Arc;
use support::{
    DeprovisionApp, Direct, answer, answer_direct, deprovision_app, direct, employee_delivery,
    stream_batch,
};

const CHAT: &str = "https://chat.example.com/scim/v2";
const CHAT_TOKEN: &str = "TOKEN-SENTINEL-chat-8d1f";
const LINKED_ACCOUNT: &str = "a3602c03-aba7-4d9d-a349-dbc338504092";
const OLD: &str = "0958cbc6-6040-430a-848e-0000000000a1";
const OLDER: &str = "0958cbc6-6040-430a-848e-0000000000a2";

fn secret(extra: Value) -> Value {
    let mut target = json!({"name": "chat", "base_url": CHAT, "token": CHAT_TOKEN});
    for (k, v) in extra.as_object().unwrap() {
        target[k.as_str()] = v.clone();
    }
    json!({ "targets": [target] })
}

fn directory() -> MemoryScim {
    let scim = MemoryScim::new();
    scim.serve(CHAT, CHAT_TOKEN);
    scim
}

fn key(employee: &str) -> EmployeeKey {
    EmployeeKey::new(Some(LINKED_ACCOUNT), employee)
}

/// A delivery of an employee who left on `left` (a date).
fn left_on(employee: &str, email: &str, left: &str) -> lambda_http::Request {
    employee_delivery(
        "Employee.changed",
        json!({"id": employee, "work_email": email, "employment_status": "INACTIVE",
               "termination_date": left, "modified_at": "2026-11-26T04:12:09Z"}),
    )
}

fn document(fields: Value) -> lambda_http::Request {
    let mut body = json!({"version": 1, "linked_account_id": LINKED_ACCOUNT});
    for (k, v) in fields.as_object().unwrap() {
        body[k.as_str()] = v.clone();
    }
    direct(&body)
}

fn backfill(d: &DeprovisionApp, fields: Value) -> Direct {
    let mut fields = fields;
    fields["kind"] = json!("merge-deprovision.backfill");
    answer_direct(&d.app, &document(fields))
}

/// The account as a completed first sweep leaves it: every live employee read into the
/// ledger, which a backfill of historical leavers waits for.
fn swept(ledger: &MemoryLedger) {
    use merge_deprovision::aws::ledger::Ledger;
    let state = merge_deprovision::domain::reconcile::SweepState {
        linked_account_id: LINKED_ACCOUNT.to_owned(),
        watermark: Some(support::now()),
        run: None,
        lease_until: None,
        holder: String::new(),
        unavailable: 0,
        revision: 1,
    };
    merge_deprovision_samples::ready(ledger.put_sweep(&state, None)).unwrap();
}

fn outcome(ledger: &MemoryLedger, employee: &str) -> Option<Outcome> {
    let entry = ledger.entries().get(&key(employee))?.clone();
    entry.deprovisioning.get("chat").map(|d| d.outcome)
}

fn messages(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| r["message"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_leaver_first_seen_years_after_leaving_is_recorded_historical_and_nobody_is_changed() {
    let scim = directory();
    // The address was given to someone else since; the ledger knows nothing of them.
    let holder = scim.add(CHAT, "alex@merge.dev", &["alex@merge.dev"], None, true);
    let d = deprovision_app(&secret(json!({})), scim, &[]);
    let answered = answer(&d.app, &left_on(OLD, "alex@merge.dev", "2023-03-31"));
    assert_eq!(answered.status, 200);
    let records = answered.records();
    assert_eq!(messages(&records), [HISTORICAL_MESSAGE]);
    assert_eq!(records[0]["level"], "INFO");
    let entry = d.ledger.entries()[&key(OLD)].clone();
    assert_eq!(entry.decision, Decision::Terminated);
    assert!(entry.historical);
    assert!(d.store.waiting_keys().is_empty(), "no release finds it");
    // Nothing reaches the stream's work, and a release or recheck finds nothing.
    if let Some(batch) = stream_batch(&d.ledger) {
        answer_direct(&d.app, &batch);
    }
    for recheck in [false, true] {
        let release = direct(
            &json!({"kind": "merge-deprovision.release-held", "version": 1, "recheck": recheck}),
        );
        answer_direct(&d.app, &release);
    }
    assert!(d.scim.changes(CHAT).is_empty());
    assert!(d.scim.user(CHAT, &holder).unwrap().active);
    assert_eq!(outcome(&d.ledger, OLD), None);
}

#[test]
fn a_recent_leaver_on_the_accounts_first_delivery_is_current() {
    let scim = directory();
    let leaver = scim.add(CHAT, "greg@merge.dev", &["greg@merge.dev"], None, true);
    let d = deprovision_app(&secret(json!({})), scim, &[]);
    let answered = answer(&d.app, &left_on(OLD, "greg@merge.dev", "2026-11-20"));
    assert_eq!(messages(&answered.records()), [TERMINATED_MESSAGE]);
    answer_direct(
        &d.app,
        &stream_batch(&d.ledger).expect("a move into terminated"),
    );
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(leaver)]);
}

#[test]
fn a_backfill_lists_first_then_works_the_historical_leaver_once() {
    let scim = directory();
    let leaver = scim.add(CHAT, "old@merge.dev", &["old@merge.dev"], None, true);
    let d = deprovision_app(&secret(json!({})), scim, &[]);
    answer(&d.app, &left_on(OLD, "old@merge.dev", "2023-03-31"));

    let preview = backfill(&d, json!({}));
    assert_eq!(preview.body["dry_run"], true, "{}", preview.body);
    assert_eq!(preview.body["leavers"], 1);
    assert_eq!(preview.body["historical"], 1);
    assert_eq!(preview.body["listed"][0]["employee_id"], OLD);
    assert_eq!(preview.body["listed"][0]["targets"], json!(["chat"]));
    assert!(d.scim.calls(CHAT).is_empty(), "a dry run calls no target");
    assert_eq!(outcome(&d.ledger, OLD), None);

    assert_eq!(preview.body["sweep_completed"], false);
    // Until a sweep completed, the live employees who may hold the address are not all
    // in the ledger: a historical leaver is left alone.
    let unswept = backfill(&d, json!({"dry_run": false}));
    assert_eq!(unswept.body["unswept"], 1, "{}", unswept.body);
    assert!(d.scim.calls(CHAT).is_empty());
    swept(&d.ledger);
    let acted = backfill(&d, json!({"dry_run": false}));
    assert_eq!(acted.body["worked"], 1, "{}", acted.body);
    assert_eq!(acted.body["outcomes"]["deactivated"], 1);
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(leaver)]);
    assert_eq!(outcome(&d.ledger, OLD), Some(Outcome::Deactivated));
    assert!(d.store.waiting_keys().is_empty());
    assert_eq!(acted.metrics.len(), 1);

    let again = backfill(&d, json!({"dry_run": false}));
    assert_eq!(again.body["found"], 0, "{}", again.body);
    assert_eq!(d.scim.changes(CHAT).len(), 1);
}

#[test]
fn turning_scim_on_for_an_existing_ledger_leaves_its_leavers_to_the_backfill() {
    // Deprovisioning was off when the leaver was recorded: the stream never brings it.
    let scim = directory();
    let leaver = scim.add(CHAT, "greg@merge.dev", &["greg@merge.dev"], None, true);
    let before = deprovision_app(&secret(json!({})), scim.clone(), &[]);
    let mut recorded = {
        answer(&before.app, &left_on(OLD, "greg@merge.dev", "2026-11-20"));
        before.ledger.entries()[&key(OLD)].clone()
    };
    recorded.deprovisioning.clear();
    let ledger = Arc::new(MemoryLedger::new());
    ledger.insert(recorded);
    let d = support::deprovision_app_over(ledger, &secret(json!({})), scim, &[]);
    assert!(
        stream_batch(&d.ledger).is_none(),
        "no stream record for what was there"
    );
    assert!(d.scim.changes(CHAT).is_empty());

    let preview = backfill(&d, json!({"target": "chat"}));
    assert_eq!(preview.body["leavers"], 1, "{}", preview.body);
    assert_eq!(preview.body["historical"], 0);
    let acted = backfill(&d, json!({"target": "chat", "dry_run": false}));
    assert_eq!(acted.body["worked"], 1, "{}", acted.body);
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(leaver)]);
}

/// `request` answered `hours` after the tests' clock: the brake's next hour.
fn answer_later(d: &DeprovisionApp, request: &lambda_http::Request, hours: i64) -> Value {
    let later = support::now() + chrono::TimeDelta::hours(hours);
    let (answered, _) = support::capture_logs(true, || {
        merge_deprovision_samples::ready(merge_deprovision::lambda::handler::answer_event(
            &d.app, request, later,
        ))
    });
    serde_json::from_slice(answered.unwrap().response.body().as_ref()).unwrap()
}

#[test]
fn a_backfill_stops_at_the_brake_and_only_the_next_backfill_goes_on_never_the_release() {
    let scim = directory();
    let first = scim.add(CHAT, "old@merge.dev", &["old@merge.dev"], None, true);
    let second = scim.add(CHAT, "older@merge.dev", &["older@merge.dev"], None, true);
    let third = scim.add(CHAT, "oldest@merge.dev", &["oldest@merge.dev"], None, true);
    let d = deprovision_app(
        &secret(json!({})),
        scim,
        &[("DEPROVISION_MAX_PER_HOUR", "1")],
    );
    answer(&d.app, &left_on(OLD, "old@merge.dev", "2023-03-31"));
    answer(&d.app, &left_on(OLDER, "older@merge.dev", "2022-01-31"));
    let oldest = "0958cbc6-6040-430a-848e-0000000000a3";
    answer(&d.app, &left_on(oldest, "oldest@merge.dev", "2021-06-30"));
    swept(&d.ledger);
    let acted = backfill(&d, json!({"dry_run": false}));
    assert_eq!(acted.body["outcomes"]["deactivated"], 1, "{}", acted.body);
    assert_eq!(acted.body["outcomes"]["held"], 1);
    assert_eq!(acted.body["remaining"], 1, "the brake held: the rest wait");
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(first)]);
    assert_eq!(
        d.scim
            .calls(CHAT)
            .iter()
            .filter(|c| c.contains("oldest"))
            .count(),
        0
    );

    // The release is past the brake: it leaves a historical leaver's work alone.
    let release = direct(&json!({"kind": "merge-deprovision.release-held", "version": 1}));
    answer_direct(&d.app, &release);
    assert_eq!(d.scim.changes(CHAT).len(), 1);
    assert_eq!(outcome(&d.ledger, OLDER), Some(Outcome::Held));

    // The next hour's backfill goes on, one change an hour.
    let mut document = json!({"kind": "merge-deprovision.backfill", "dry_run": false});
    document["version"] = json!(1);
    document["linked_account_id"] = json!(LINKED_ACCOUNT);
    let next = answer_later(&d, &direct(&document), 1);
    assert_eq!(next["outcomes"]["deactivated"], 1, "{next}");
    assert_eq!(d.scim.changes(CHAT)[1], Change::Deactivated(second));
    let last = answer_later(&d, &direct(&document), 2);
    assert_eq!(last["outcomes"]["deactivated"], 1, "{last}");
    assert_eq!(d.scim.changes(CHAT)[2], Change::Deactivated(third));
}

#[test]
fn a_backfill_asked_to_act_in_a_dry_run_deployment_is_refused_and_changes_nothing() {
    let scim = directory();
    scim.add(CHAT, "old@merge.dev", &["old@merge.dev"], None, true);
    let d = deprovision_app(&secret(json!({})), scim, &[("DEPROVISION_MODE", "dry-run")]);
    answer(&d.app, &left_on(OLD, "old@merge.dev", "2023-03-31"));
    let listed = backfill(&d, json!({}));
    assert_eq!(listed.body["leavers"], 1, "{}", listed.body);
    let acted = backfill(&d, json!({"dry_run": false}));
    assert_eq!(acted.body["error"], "dry_run", "{}", acted.body);
    assert!(d.scim.calls(CHAT).is_empty());
    assert_eq!(outcome(&d.ledger, OLD), None);
    assert!(d.store.waiting_keys().is_empty());
}

#[test]
fn a_backfill_of_one_target_leaves_the_others_to_their_own_backfill() {
    const CRM: &str = "https://crm.example.com/scim/v2";
    const CRM_TOKEN: &str = "TOKEN-SENTINEL-crm-2b7e";
    let scim = directory();
    scim.serve(CRM, CRM_TOKEN);
    let chat_user = scim.add(CHAT, "greg@merge.dev", &["greg@merge.dev"], None, true);
    let crm_user = scim.add(CRM, "greg@merge.dev", &["greg@merge.dev"], None, true);
    let both = json!({"targets": [
        {"name": "chat", "base_url": CHAT, "token": CHAT_TOKEN},
        {"name": "crm", "base_url": CRM, "token": CRM_TOKEN}]});
    // A leaver recorded before deprovisioning was on: no outcome, no stream record.
    let earlier = deprovision_app(&both, directory(), &[]);
    answer(&earlier.app, &left_on(OLD, "greg@merge.dev", "2026-11-20"));
    let mut recorded = earlier.ledger.entries()[&key(OLD)].clone();
    recorded.deprovisioning.clear();
    let ledger = Arc::new(MemoryLedger::new());
    ledger.insert(recorded);
    let d = support::deprovision_app_over(ledger, &both, scim, &[]);
    let acted = backfill(&d, json!({"target": "chat", "dry_run": false}));
    assert_eq!(acted.body["worked"], 1, "{}", acted.body);
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(chat_user)]);
    let release = direct(&json!({"kind": "merge-deprovision.release-held", "version": 1}));
    answer_direct(&d.app, &release);
    assert!(d.scim.changes(CRM).is_empty(), "nobody asked for crm");
    let crm = backfill(&d, json!({"target": "crm", "dry_run": false}));
    assert_eq!(crm.body["worked"], 1, "{}", crm.body);
    assert_eq!(d.scim.changes(CRM), [Change::Deactivated(crm_user)]);
}

#[test]
fn a_historical_termination_whose_date_is_corrected_to_last_week_is_deprovisioned() {
    let scim = directory();
    let leaver = scim.add(CHAT, "greg@merge.dev", &["greg@merge.dev"], None, true);
    let d = deprovision_app(&secret(json!({})), scim, &[]);
    answer(&d.app, &left_on(OLD, "greg@merge.dev", "2025-11-20"));
    assert!(
        d.ledger.entries()[&key(OLD)].historical,
        "a typo in the year"
    );
    let corrected = employee_delivery(
        "Employee.changed",
        json!({"id": OLD, "work_email": "greg@merge.dev", "employment_status": "INACTIVE",
               "termination_date": "2026-11-20", "modified_at": "2026-11-26T09:00:00Z"}),
    );
    let answered = answer(&d.app, &corrected);
    assert_eq!(messages(&answered.records()), [TERMINATED_MESSAGE]);
    assert!(
        d.store.waiting_keys().contains(&key(OLD)),
        "listed with the move"
    );
    answer_direct(
        &d.app,
        &stream_batch(&d.ledger).expect("the move out of history"),
    );
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(leaver)]);
}

#[test]
fn an_operators_earlier_baseline_makes_an_old_termination_current() {
    let scim = directory();
    let leaver = scim.add(CHAT, "old@merge.dev", &["old@merge.dev"], None, true);
    let d = deprovision_app(&secret(json!({})), scim, &[]);
    let baseline = |fields: Value| {
        let mut fields = fields;
        fields["kind"] = json!("merge-deprovision.baseline");
        answer_direct(&d.app, &document(fields))
    };
    let unseen = baseline(json!({}));
    assert_eq!(unseen.body["baseline"], Value::Null, "{}", unseen.body);
    let set = baseline(json!({"at": "2020-01-01T00:00:00Z"}));
    assert_eq!(set.body["baseline"], "2020-01-01T00:00:00Z", "{}", set.body);
    assert_eq!(set.body["set_by"], "operator");
    assert_eq!(set.body["historical_before"], "2019-12-02T00:00:00Z");
    assert_eq!(set.records()[0]["level"], "WARN");

    let answered = answer(&d.app, &left_on(OLD, "old@merge.dev", "2023-03-31"));
    assert_eq!(messages(&answered.records()), [TERMINATED_MESSAGE]);
    answer_direct(&d.app, &stream_batch(&d.ledger).expect("a current move"));
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(leaver)]);
}

#[test]
fn a_backfill_or_baseline_document_that_cannot_be_read_is_refused_naming_the_problem() {
    let d = deprovision_app(&secret(json!({})), directory(), &[]);
    let no_account = answer_direct(
        &d.app,
        &direct(&json!({"kind": "merge-deprovision.backfill", "version": 1})),
    );
    assert_eq!(no_account.body["error"], "invalid_document");
    assert!(
        no_account.body["message"]
            .as_str()
            .unwrap()
            .contains("linked_account_id")
    );
    let unknown = backfill(&d, json!({"target": "payroll-secret-name"}));
    assert_eq!(unknown.body["error"], "unknown_target");
    assert!(!unknown.body.to_string().contains("payroll-secret-name"));
    let future = answer_direct(
        &d.app,
        &document(json!({"kind": "merge-deprovision.baseline", "at": "2099-01-01T00:00:00Z"})),
    );
    assert_eq!(future.body["error"], "invalid_document");
    assert!(d.ledger.baselines().is_empty());
}

#[test]
fn a_backfill_sent_to_the_function_url_even_signed_is_only_an_ignored_webhook() {
    let d = deprovision_app(&secret(json!({})), directory(), &[]);
    let body = json!({"kind": "merge-deprovision.backfill", "version": 1,
        "linked_account_id": LINKED_ACCOUNT, "dry_run": false});
    // Signed with the webhook key, as a caller who knows it would: still only a delivery,
    // of an envelope that names no employee.
    let request = support::in_lambda(support::post(
        body.to_string().as_bytes(),
        merge_deprovision_samples::Signing::TestKey,
    ));
    let answered = answer(&d.app, &request);
    assert_eq!(answered.status, 200);
    assert!(
        answered.body.contains(r#""decision":"ignored""#),
        "{}",
        answered.body
    );
    assert!(d.ledger.entries().is_empty());
    assert!(d.scim.calls(CHAT).is_empty());
}

#[test]
fn the_backfill_samples_in_events_are_read_and_answered_as_their_docs_say() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events/backfill");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "act.json",
            "baseline-read.json",
            "baseline-set.json",
            "dry-run.json",
            "reindex.json"
        ]
    );
    let scim = directory();
    let leaver = scim.add(CHAT, "old@merge.dev", &["old@merge.dev"], None, true);
    let d = deprovision_app(&secret(json!({})), scim, &[]);
    answer(&d.app, &left_on(OLD, "old@merge.dev", "2023-03-31"));
    swept(&d.ledger);
    let invoke = |name: &str| {
        let document: Value = serde_json::from_str(&read(name)).unwrap();
        answer_direct(&d.app, &direct(&document))
    };
    let baseline = invoke("baseline-read.json");
    assert_eq!(baseline.body["set_by"], "first_seen", "{}", baseline.body);
    let preview = invoke("dry-run.json");
    assert_eq!(preview.body["leavers"], 1, "{}", preview.body);
    assert!(d.scim.changes(CHAT).is_empty());
    let acted = invoke("act.json");
    assert_eq!(acted.body["worked"], 1, "{}", acted.body);
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(leaver)]);
    let set = invoke("baseline-set.json");
    assert_eq!(set.body["set_by"], "operator", "{}", set.body);
    assert_eq!(set.body["replaced"], baseline.body["baseline"]);
    let reindexed = invoke("reindex.json");
    assert_eq!(reindexed.body["entries"], 1, "{}", reindexed.body);
    assert_eq!(
        reindexed.body["rewritten"], 0,
        "written by this version: indexed"
    );
}

#[test]
fn an_employee_recorded_before_the_match_indexes_holds_its_address_once_the_account_is_reindexed() {
    use merge_deprovision::aws::ledger::Ledger;
    use merge_deprovision::domain::deprovision::EmployeeField;
    let scim = directory();
    let holder_account = scim.add(CHAT, "alex@merge.dev", &["alex@merge.dev"], None, true);
    // The holder, active, as a version before the indexes wrote it.
    let earlier = deprovision_app(&secret(json!({})), directory(), &[]);
    let holder = employee_delivery(
        "Employee.changed",
        json!({"id": OLDER, "work_email": "alex@merge.dev", "employment_status": "ACTIVE",
               "termination_date": null, "modified_at": "2026-11-26T04:12:09Z"}),
    );
    answer(&earlier.app, &holder);
    let ledger = Arc::new(MemoryLedger::new());
    ledger.insert_unindexed(earlier.ledger.entries()[&key(OLDER)].clone());
    let d = support::deprovision_app_over(ledger, &secret(json!({})), scim, &[]);
    let sharing = || {
        merge_deprovision_samples::ready(d.ledger.sharing(
            LINKED_ACCOUNT,
            EmployeeField::WorkEmail,
            "alex@merge.dev",
        ))
        .unwrap()
    };
    assert!(sharing().is_empty(), "invisible to the identity check");

    let reindex = direct(&json!({"kind": "merge-deprovision.reindex", "version": 1,
        "linked_account_id": LINKED_ACCOUNT}));
    let reindexed = answer_direct(&d.app, &reindex);
    assert_eq!(reindexed.body["rewritten"], 1, "{}", reindexed.body);
    assert_eq!(sharing().len(), 1);
    assert_eq!(answer_direct(&d.app, &reindex).body["rewritten"], 0);

    // The leaver who had the address before the holder: a conflict, nobody changed.
    answer(&d.app, &left_on(OLD, "alex@merge.dev", "2026-11-20"));
    answer_direct(&d.app, &stream_batch(&d.ledger).expect("a current move"));
    assert!(d.scim.changes(CHAT).is_empty());
    assert!(d.scim.user(CHAT, &holder_account).unwrap().active);
    assert_eq!(outcome(&d.ledger, OLD), Some(Outcome::Conflict));
}
