//! The undo (`merge-deprovision.undo`), through the real handler against the in-memory
//! twins: it re-activates exactly the users this function deactivated and recorded (in a
//! window, for one employee, for one run), never a user someone else deactivated, lists
//! first, goes through the brake, and leaves each re-activation final for its
//! termination.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use lambda_http::RequestExt;
use merge_deprovision::domain::deprovision::{Outcome, with_outcome};
use merge_deprovision::domain::ledger::EmployeeKey;
use merge_deprovision::lambda::handler::answer_event;
use merge_deprovision::scim::memory::{Change, MemoryScim};
use merge_deprovision::telemetry::record::REHIRE_MESSAGE;
use merge_deprovision_samples::ready;
use serde_json::{Value, json};
use support::{
    DeprovisionApp, Direct, answer, capture_logs, deprovision_app, direct, employee_delivery,
    stream_batch,
};

const CHAT: &str = "https://chat.example.com/scim/v2";
const CHAT_TOKEN: &str = "TOKEN-SENTINEL-chat-undo-5e2a";
const LINKED_ACCOUNT: &str = "a3602c03-aba7-4d9d-a349-dbc338504092";
const OTHER_ACCOUNT: &str = "b7d1e4f0-2c3a-4b5d-8e6f-000000000b0b";
/// The run `events/undo/run.json` names.
const SAMPLE_RUN: &str = "7f1c2a9e-5b3d-4e8f-9a6c-2d4b6f8e0a13";

fn employee(n: u32) -> String {
    format!("0958cbc6-6040-430a-848e-{n:012}")
}

fn email(n: u32) -> String {
    format!("leaver{n}@merge.dev")
}

fn key(n: u32) -> EmployeeKey {
    EmployeeKey::new(Some(LINKED_ACCOUNT), &employee(n))
}

fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, hour, minute, 0).unwrap()
}

fn sample(name: &str) -> Value {
    let mut document = as_sent(name);
    // The scene's leavers are still terminated: a window or a run undoes their changes
    // only when asked to (see the test of the default below).
    if document.get("employee_id").is_none() {
        document["include_terminated"] = json!(true);
    }
    document
}

/// The sample as it is in `events/undo/`.
fn as_sent(name: &str) -> Value {
    let path = format!("{}/events/undo/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn app(action: &str, vars: &[(&str, &str)]) -> DeprovisionApp {
    let scim = MemoryScim::new();
    scim.serve(CHAT, CHAT_TOKEN);
    let targets = json!({"targets": [{"name": "chat", "base_url": CHAT, "token": CHAT_TOKEN,
        "action": action}]});
    deprovision_app(&targets, scim, vars)
}

/// Runs `request` through the handler at `now`, as the invocation `run`.
fn invoke(
    d: &DeprovisionApp,
    request: lambda_http::Request,
    run: &str,
    now: DateTime<Utc>,
) -> Direct {
    let context = merge_deprovision_samples::lambda_context(run, "merge-deprovision");
    let request = request.with_lambda_context(context);
    let (answered, logs) = capture_logs(true, || ready(answer_event(&d.app, &request, now)));
    let answered = answered.expect("the handler answers");
    Direct {
        body: serde_json::from_slice(answered.response.body().as_ref()).unwrap(),
        logs,
        metrics: answered
            .metrics
            .iter()
            .flat_map(|m| {
                m.lines()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect::<Vec<Value>>()
            })
            .collect(),
    }
}

/// Employee `n` leaves; its SCIM user (active or not) is added first. Its id.
fn leaver(d: &DeprovisionApp, n: u32, active: bool) -> String {
    let id = d.scim.add(CHAT, &email(n), &[&email(n)], None, active);
    let delivery = employee_delivery(
        "Employee.changed",
        json!({"id": employee(n), "work_email": email(n), "employment_status": "INACTIVE",
               "termination_date": "2026-11-20", "modified_at": "2026-11-26T04:12:09Z"}),
    );
    assert_eq!(answer(&d.app, &delivery).status, 200);
    id
}

/// The stream's batch of the moves so far, worked by the invocation `run` at `now`.
fn stream(d: &DeprovisionApp, run: &str, now: DateTime<Utc>) {
    let batch = stream_batch(&d.ledger).expect("a move into terminated");
    invoke(d, batch, run, now);
}

fn undo(d: &DeprovisionApp, document: Value, now: DateTime<Utc>) -> Direct {
    invoke(d, direct(&document), "undo-run-1", now)
}

fn outcome(d: &DeprovisionApp, n: u32) -> Option<Outcome> {
    d.ledger.entries()[&key(n)]
        .deprovisioning
        .get("chat")
        .map(|r| r.outcome)
}

fn active(d: &DeprovisionApp, id: &str) -> bool {
    d.scim.user(CHAT, id).expect("the user exists").active
}

/// One leaver deactivated in the window, one someone else deactivated, one deactivated
/// after the window, and one of another account in the window.
struct Scene {
    d: DeprovisionApp,
    mine: String,
    theirs: String,
    later: String,
    elsewhere: String,
}

fn scene() -> Scene {
    let d = app("deactivate", &[]);
    let mine = leaver(&d, 1, true);
    let theirs = leaver(&d, 2, false);
    stream(&d, SAMPLE_RUN, at(12, 5));
    let later = leaver(&d, 3, true);
    stream(&d, "later-run", at(14, 0));
    assert_eq!(outcome(&d, 1), Some(Outcome::Deactivated));
    assert_eq!(outcome(&d, 2), Some(Outcome::AlreadyInactive));
    assert_eq!(outcome(&d, 3), Some(Outcome::Deactivated));
    // Another account's leaver, deactivated in the window by this function.
    let elsewhere = d.scim.add(CHAT, "other@example.com", &[], None, false);
    let mut other = d.ledger.entries()[&key(1)].clone();
    other.key = EmployeeKey::new(Some(OTHER_ACCOUNT), &employee(9));
    other.deprovisioning.get_mut("chat").unwrap().user = Some(elsewhere.clone());
    d.ledger.insert(other);
    Scene {
        d,
        mine,
        theirs,
        later,
        elsewhere,
    }
}

#[test]
fn an_undo_in_a_window_reactivates_exactly_what_this_function_deactivated_there() {
    let s = scene();
    let answered = undo(&s.d, sample("window-act"), at(15, 0));
    assert_eq!(answered.body["found"], 1, "{}", answered.body);
    assert_eq!(answered.body["outcomes"], json!({"reactivated": 1}));
    assert_eq!(answered.body["changes"][0]["scim_user_id"], s.mine.as_str());
    assert_eq!(
        answered.body["changes"][0]["deprovisioned_by_run"],
        SAMPLE_RUN
    );
    assert!(active(&s.d, &s.mine));
    for untouched in [&s.theirs, &s.later, &s.elsewhere] {
        assert!(!active(&s.d, untouched), "{untouched} stays inactive");
    }
    assert_eq!(
        s.d.scim.changes(CHAT).last(),
        Some(&Change::Reactivated(s.mine.clone()))
    );
    let recorded = s.d.ledger.entries()[&key(1)].deprovisioning["chat"].clone();
    assert_eq!(recorded.outcome, Outcome::Reactivated);
    assert_eq!(recorded.run.as_deref(), Some("undo-run-1"));
    let records = answered.records();
    let record = records.iter().find(|r| r["undo"] == "reactivated").unwrap();
    assert_eq!(record["scim_user_id"], s.mine.as_str());
    assert_eq!(record["employee_id"], employee(1));
    assert!(!answered.logs.contains(CHAT_TOKEN), "never the token");
    assert_eq!(answered.metrics[0]["Outcome"], "reactivated");
}

#[test]
fn the_dry_run_lists_what_would_be_reactivated_and_changes_nothing() {
    let s = scene();
    let changes = s.d.scim.changes(CHAT);
    let entries = s.d.ledger.entries();
    let answered = undo(&s.d, sample("window"), at(15, 0));
    assert_eq!(answered.body["dry_run"], true);
    assert_eq!(answered.body["outcomes"], json!({"would_reactivate": 1}));
    assert_eq!(s.d.scim.changes(CHAT), changes);
    assert_eq!(s.d.ledger.entries(), entries);
    assert!(!active(&s.d, &s.mine));
}

#[test]
fn an_undo_of_one_run_names_its_account_and_reactivates_only_that_runs_changes() {
    let s = scene();
    let answered = undo(&s.d, sample("run"), at(15, 0));
    assert_eq!(answered.body["outcomes"], json!({"reactivated": 1}));
    assert!(active(&s.d, &s.mine));
    assert!(!active(&s.d, &s.later) && !active(&s.d, &s.elsewhere));
}

#[test]
fn a_second_undo_changes_nothing() {
    let s = scene();
    undo(&s.d, sample("window-act"), at(15, 0));
    let changes = s.d.scim.changes(CHAT);
    let again = undo(&s.d, sample("window-act"), at(15, 5));
    assert_eq!(again.body["found"], 0, "{}", again.body);
    assert_eq!(s.d.scim.changes(CHAT), changes);
}

#[test]
fn a_redelivery_release_recheck_or_backfill_after_an_undo_does_not_deactivate_again() {
    let s = scene();
    undo(&s.d, sample("window-act"), at(15, 0));
    let entry = s.d.ledger.entries()[&key(1)].clone();
    let mut before = entry.clone();
    before.decision = merge_deprovision::domain::decision::Decision::Active;
    let record = merge_deprovision::aws::stream::record_of(Some(&before), &entry, "9");
    invoke(
        &s.d,
        direct(&json!({"Records": [record]})),
        "redelivery",
        at(15, 10),
    );
    for recheck in [false, true] {
        let release =
            json!({"kind": "merge-deprovision.release-held", "version": 1, "recheck": recheck});
        invoke(&s.d, direct(&release), "release", at(15, 20));
    }
    let backfill = json!({"kind": "merge-deprovision.backfill", "version": 1,
        "linked_account_id": LINKED_ACCOUNT, "dry_run": false});
    invoke(&s.d, direct(&backfill), "backfill", at(15, 30));
    assert!(active(&s.d, &s.mine), "still active");
    assert_eq!(outcome(&s.d, 1), Some(Outcome::Reactivated));
}

#[test]
fn a_deleted_user_is_not_undoable() {
    let d = app("delete", &[]);
    leaver(&d, 1, true);
    stream(&d, "run-1", at(12, 5));
    assert_eq!(outcome(&d, 1), Some(Outcome::Deleted));
    let answered = undo(&d, sample("employee"), at(15, 0));
    assert_eq!(answered.body["outcomes"], json!({"not_undoable": 1}));
    assert_eq!(outcome(&d, 1), Some(Outcome::Deleted));
}

#[test]
fn the_brake_holds_the_excess_and_a_later_undo_continues() {
    let d = app("deactivate", &[("DEPROVISION_MAX_PER_HOUR", "2")]);
    let users: Vec<String> = (1..=3).map(|n| leaver(&d, n, true)).collect();
    // The brake holds the third; the release (past the brake) carries it out.
    stream(&d, "run-1", at(10, 5));
    let released = json!({"kind": "merge-deprovision.release-held", "version": 1});
    invoke(&d, direct(&released), "release", at(11, 5));
    assert!(users.iter().all(|u| !active(&d, u)));
    let document = json!({"kind": "merge-deprovision.undo", "version": 1,
        "linked_account_id": LINKED_ACCOUNT, "from": "2026-11-27T00:00:00Z",
        "to": "2026-11-27T23:59:59Z", "dry_run": false, "include_terminated": true});
    let first = undo(&d, document.clone(), at(12, 0));
    assert_eq!(
        first.body["outcomes"],
        json!({"reactivated": 2, "held": 1}),
        "{}",
        first.body
    );
    assert_eq!(users.iter().filter(|u| active(&d, u)).count(), 2);
    let next = undo(&d, document, at(13, 0));
    assert_eq!(
        next.body["outcomes"],
        json!({"reactivated": 1}),
        "{}",
        next.body
    );
    assert!(users.iter().all(|u| active(&d, u)));
}

#[test]
fn a_deactivation_recorded_before_the_user_was_kept_is_not_recorded_and_nobody_changes() {
    let d = app("deactivate", &[]);
    let id = leaver(&d, 1, true);
    stream(&d, "run-1", at(12, 5));
    // As an item written before the user was kept reads.
    let entry = d.ledger.entries()[&key(1)].clone();
    d.ledger.insert(with_outcome(
        &entry,
        "chat",
        Outcome::Deactivated,
        at(12, 5),
    ));
    let answered = undo(&d, sample("employee"), at(15, 0));
    assert_eq!(answered.body["outcomes"], json!({"not_recorded": 1}));
    assert!(!active(&d, &id));
}

#[test]
fn a_user_someone_reactivated_is_already_active_and_one_gone_is_not_found() {
    let d = app("deactivate", &[]);
    let back = leaver(&d, 1, true);
    let gone = leaver(&d, 2, true);
    stream(&d, "run-1", at(12, 5));
    d.scim.set_active(CHAT, &back, true);
    ready(merge_deprovision::scim::client::Scim::delete(
        &d.scim,
        &merge_deprovision::scim::client::Endpoint {
            base: url::Url::parse(CHAT).unwrap(),
            token: merge_deprovision::domain::deprovision::Token::new(CHAT_TOKEN),
        },
        &gone,
    ))
    .unwrap();
    let answered = undo(&d, sample("window-act"), at(15, 0));
    assert_eq!(
        answered.body["outcomes"],
        json!({"already_active": 1, "not_found": 1})
    );
    assert_eq!(outcome(&d, 1), Some(Outcome::Reactivated));
}

#[test]
fn an_employee_hr_moved_back_to_active_is_still_found_and_reactivated() {
    let d = app("deactivate", &[]);
    let id = leaver(&d, 1, true);
    stream(&d, "run-1", at(12, 5));
    let corrected = employee_delivery(
        "Employee.changed",
        json!({"id": employee(1), "work_email": email(1), "employment_status": "ACTIVE",
               "termination_date": null, "modified_at": "2026-11-27T04:12:09Z"}),
    );
    let rehired = answer(&d.app, &corrected);
    assert!(rehired.logs.contains(REHIRE_MESSAGE));
    let answered = undo(&d, sample("employee"), at(15, 0));
    assert_eq!(answered.body["outcomes"], json!({"reactivated": 1}));
    assert!(active(&d, &id));
}

#[test]
fn an_undo_that_would_act_is_refused_in_dry_run_mode_but_its_listing_answers() {
    let d = app("deactivate", &[("DEPROVISION_MODE", "dry-run")]);
    let refused = undo(&d, sample("window-act"), at(15, 0));
    assert_eq!(refused.body["error"], "dry_run");
    let listed = undo(&d, sample("window"), at(15, 0));
    assert_eq!(listed.body["dry_run"], true);
}

#[test]
fn bad_input_is_refused_with_400_naming_the_field() {
    let d = app("deactivate", &[]);
    let cases = [
        (json!({"employee_id": "e"}), "linked_account_id"),
        (json!({"linked_account_id": LINKED_ACCOUNT}), "employee_id"),
        (
            json!({"linked_account_id": LINKED_ACCOUNT, "from": "soon", "to": "2026-11-27T00:00:00Z"}),
            "`from`",
        ),
        (
            json!({"linked_account_id": LINKED_ACCOUNT, "from": "2026-11-27T00:00:00Z"}),
            "`to`",
        ),
        (
            json!({"linked_account_id": LINKED_ACCOUNT, "run": "r", "employee_id": "e"}),
            "only one",
        ),
    ];
    for (fields, named) in cases {
        let mut document = fields.clone();
        document["kind"] = json!("merge-deprovision.undo");
        document["version"] = json!(1);
        let request =
            support::in_lambda(lambda_http::request::from_str(&document.to_string()).unwrap());
        let (answered, _) = capture_logs(true, || ready(answer_event(&d.app, &request, at(15, 0))));
        let answered = answered.unwrap();
        assert_eq!(answered.response.status(), 400, "{fields}");
        let body: Value = serde_json::from_slice(answered.response.body().as_ref()).unwrap();
        assert_eq!(body["error"], "invalid_document");
        assert!(body["message"].as_str().unwrap().contains(named), "{body}");
    }
}

#[test]
fn by_default_a_window_leaves_alone_the_leavers_whose_termination_still_stands() {
    let s = scene();
    let answered = undo(&s.d, as_sent("window-act"), at(15, 0));
    assert_eq!(answered.body["found"], 0, "{}", answered.body);
    assert!(!active(&s.d, &s.mine), "a real leaver keeps losing access");
    // Once HR corrects the record (the bad sync's case), the same document undoes it.
    let mut corrected = s.d.ledger.entries()[&key(1)].clone();
    corrected.decision = merge_deprovision::domain::decision::Decision::Active;
    s.d.ledger.insert(corrected);
    let answered = undo(&s.d, as_sent("window-act"), at(15, 1));
    assert_eq!(
        answered.body["outcomes"],
        json!({"reactivated": 1}),
        "{}",
        answered.body
    );
    assert!(active(&s.d, &s.mine));
}
