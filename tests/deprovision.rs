//! SCIM deprovisioning through the real handler, against the in-memory twins: a move
//! into `terminated` reaches the function as the ledger's stream record, and each
//! covering target finds the leaver and deactivates (or deletes) exactly that user,
//! once, whatever retries, failures and the brake do.

mod support;

use merge_deprovision::domain::deprovision::{Outcome, ScimValue};
use merge_deprovision::domain::ledger::EmployeeKey;
use merge_deprovision::scim::client::ScimError;
use merge_deprovision::scim::memory::{Change, MemoryScim};
use merge_deprovision::telemetry::record::{
    AMBIGUOUS_MESSAGE, CONFLICT_MESSAGE, DEPROVISION_FAILED_MESSAGE, DEPROVISIONED_MESSAGE,
    HELD_MESSAGE, NOT_FOUND_MESSAGE, NOT_MATCHING_MESSAGE, PROTECTED_MESSAGE, REHIRE_MESSAGE,
};
use serde_json::{Value, json};
use support::{
    DeprovisionApp, Direct, answer, answer_direct, answer_fired, deprovision_app, direct,
    employee_delivery, fired_event, now, restarted, stream_batch,
};

const CHAT: &str = "https://chat.example.com/scim/v2";
const CRM: &str = "https://crm.example.com/scim/v2";
const CHAT_TOKEN: &str = "TOKEN-SENTINEL-chat-8d1f";
const CRM_TOKEN: &str = "TOKEN-SENTINEL-crm-2b7e";
const LINKED_ACCOUNT: &str = "a3602c03-aba7-4d9d-a349-dbc338504092";
const EMPLOYEE: &str = "0958cbc6-6040-430a-848e-aafacbadf4ae";
const EMAIL: &str = "greg@merge.dev";

fn chat(extra: Value) -> Value {
    let mut target = json!({"name": "chat", "base_url": CHAT, "token": CHAT_TOKEN});
    for (k, v) in extra.as_object().unwrap() {
        target[k] = v.clone();
    }
    target
}

fn secret(targets: Vec<Value>) -> Value {
    json!({ "targets": targets })
}

fn directory() -> MemoryScim {
    let scim = MemoryScim::new();
    scim.serve(CHAT, CHAT_TOKEN);
    scim.serve(CRM, CRM_TOKEN);
    scim
}

fn terminated_delivery(employee: &str, email: &str, modified_at: &str) -> lambda_http::Request {
    employee_delivery(
        "Employee.changed",
        json!({"id": employee, "work_email": email, "employment_status": "INACTIVE",
               "termination_date": "2026-11-20", "modified_at": modified_at}),
    )
}

fn terminate(d: &DeprovisionApp) {
    let answered = answer(
        &d.app,
        &terminated_delivery(EMPLOYEE, EMAIL, "2026-11-26T04:12:09Z"),
    );
    assert_eq!(answered.status, 200, "{}", answered.body);
}

/// Delivers the ledger's stream since the last call.
fn stream(d: &DeprovisionApp) -> Direct {
    let batch = stream_batch(&d.ledger).expect("a move into terminated on the stream");
    answer_direct(&d.app, &batch)
}

/// Notes the leaver as waiting for a release, as a held deprovisioning would.
fn ready_wait(d: &DeprovisionApp) {
    use merge_deprovision::aws::deprovisioning::DeprovisionStore;
    merge_deprovision_samples::ready(d.store.wait(&key())).unwrap();
}

fn key() -> EmployeeKey {
    EmployeeKey::new(Some(LINKED_ACCOUNT), EMPLOYEE)
}

fn outcome(d: &DeprovisionApp, target: &str) -> Option<Outcome> {
    outcome_of(d, &key(), target)
}

fn outcome_of(d: &DeprovisionApp, key: &EmployeeKey, target: &str) -> Option<Outcome> {
    d.ledger.entries()[key]
        .deprovisioning
        .get(target)
        .map(|o| o.outcome)
}

fn records_with(direct: &Direct, message: &str) -> Vec<Value> {
    direct
        .records()
        .into_iter()
        .filter(|r| r["message"] == message)
        .collect()
}

fn failures(direct: &Direct) -> usize {
    direct.body["batchItemFailures"].as_array().unwrap().len()
}

#[test]
fn a_terminated_delivery_deactivates_exactly_the_matching_user_once() {
    let scim = directory();
    let leaver = scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let colleague = scim.add(CHAT, "roman@merge.dev", &["roman@merge.dev"], None, true);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim, &[]);
    terminate(&d);
    assert!(
        d.scim.calls(CHAT).is_empty(),
        "the webhook never waits on SCIM"
    );
    let answered = stream(&d);
    assert_eq!(failures(&answered), 0);
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(leaver.clone())]);
    assert!(d.scim.user(CHAT, &colleague).unwrap().active);
    assert_eq!(outcome(&d, "chat"), Some(Outcome::Deactivated));
    let records = answered.records();
    assert_eq!(records.len(), 1, "{}", answered.logs);
    let record = &records[0];
    assert_eq!(record["level"], "INFO");
    assert_eq!(record["target"], "chat");
    assert_eq!(record["deprovision"], "deactivated");
    assert_eq!(record["employee_id"], EMPLOYEE);
    assert_eq!(record["work_email"], EMAIL);
    assert_eq!(answered.metrics.len(), 1);
    assert_eq!(answered.metrics[0]["Outcome"], "deactivated");
    assert_eq!(answered.metrics[0]["Deprovisioned"], 1);

    // The stream delivers again: the ledger says it is done, so nothing is called.
    let calls = d.scim.calls(CHAT).len();
    let replay = stream_batch_of_last_move(&d);
    let again = answer_direct(&d.app, &replay);
    assert_eq!(failures(&again), 0);
    assert_eq!(d.scim.calls(CHAT).len(), calls);
    assert_eq!(d.scim.changes(CHAT).len(), 1);
}

/// The stream record of the employee's move into terminated, built again (a redelivery).
fn stream_batch_of_last_move(d: &DeprovisionApp) -> lambda_http::Request {
    let entry = d.ledger.entries()[&key()].clone();
    let mut before = entry.clone();
    before.decision = merge_deprovision::domain::decision::Decision::Active;
    let record = merge_deprovision::aws::stream::record_of(Some(&before), &entry, "7");
    direct(&json!({ "Records": [record] }))
}

#[test]
fn a_fired_schedule_deactivates_at_its_time() {
    let scim = directory();
    let leaver = scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim, &[]);
    let scheduled = employee_delivery(
        "Employee.changed",
        json!({"work_email": EMAIL, "employment_status": "ACTIVE",
               "termination_date": "2099-06-30", "modified_at": "2026-11-26T04:12:09Z"}),
    );
    assert_eq!(answer(&d.app, &scheduled).status, 200);
    assert!(
        stream_batch(&d.ledger).is_none(),
        "scheduled is no termination"
    );
    let name = d.schedules.schedules().into_keys().next().expect("a timer");
    let input = serde_json::to_string(&d.schedules.fire(&name).unwrap()).unwrap();
    let (fired, _) = answer_fired(&d.app, &fired_event(&input));
    assert!(fired.is_ok());
    assert_eq!(failures(&stream(&d)), 0);
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(leaver)]);
}

#[test]
fn targets_match_by_email_or_external_id_and_can_delete() {
    let scim = directory();
    let by_email = scim.add_with_emails(
        CHAT,
        "gh",
        &[
            ScimValue::address("other@merge.dev", Some("home"), false),
            ScimValue::address("GREG@merge.dev", Some("work"), false),
        ],
        None,
        true,
    );
    let by_id = scim.add(CRM, "greg", &[], Some("19202938"), true);
    let targets = secret(vec![
        chat(json!({"match": "emails=work_email"})),
        json!({"name": "crm", "base_url": CRM, "token": CRM_TOKEN,
               "match": "externalId=remote_id", "action": "delete"}),
    ]);
    let d = deprovision_app(&targets, scim, &[]);
    terminate(&d);
    assert_eq!(failures(&stream(&d)), 0);
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(by_email)]);
    assert_eq!(d.scim.changes(CRM), [Change::Deleted(by_id.clone())]);
    assert!(d.scim.user(CRM, &by_id).is_none());
    assert_eq!(outcome(&d, "crm"), Some(Outcome::Deleted));
}

#[test]
fn a_target_limited_to_another_linked_account_is_never_called() {
    let scim = directory();
    scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    scim.add(CRM, EMAIL, &[EMAIL], None, true);
    let targets = secret(vec![
        chat(json!({"linked_account_ids": [LINKED_ACCOUNT]})),
        json!({"name": "crm", "base_url": CRM, "token": CRM_TOKEN,
               "linked_account_ids": ["another-customer"]}),
    ]);
    let d = deprovision_app(&targets, scim, &[]);
    terminate(&d);
    stream(&d);
    assert_eq!(d.scim.changes(CHAT).len(), 1);
    assert!(d.scim.calls(CRM).is_empty());
    assert_eq!(outcome(&d, "crm"), None);
}

#[test]
fn a_dry_run_finds_the_user_records_would_deactivate_and_changes_nothing() {
    let scim = directory();
    let leaver = scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let d = deprovision_app(
        &secret(vec![chat(json!({}))]),
        scim,
        &[("DEPROVISION_MODE", "dry-run")],
    );
    terminate(&d);
    let answered = stream(&d);
    assert_eq!(d.scim.calls(CHAT), ["GET"]);
    assert!(d.scim.user(CHAT, &leaver).unwrap().active);
    assert_eq!(outcome(&d, "chat"), Some(Outcome::WouldDeactivate));
    assert_eq!(answered.records()[0]["deprovision_mode"], "dry-run");
}

#[test]
fn a_dry_runs_findings_wait_for_the_release_that_enforce_carries_out() {
    let scim = directory();
    let leaver = scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let dry = deprovision_app(
        &secret(vec![chat(json!({}))]),
        scim,
        &[("DEPROVISION_MODE", "dry-run")],
    );
    terminate(&dry);
    stream(&dry);
    assert_eq!(outcome(&dry, "chat"), Some(Outcome::WouldDeactivate));
    let release = json!({"kind": "merge-deprovision.release-held", "version": 1});
    let refused = answer_direct(&dry.app, &direct(&release));
    assert_eq!(refused.body["error"], "dry_run", "{}", refused.body);
    assert_eq!(outcome(&dry, "chat"), Some(Outcome::WouldDeactivate));
    assert!(dry.scim.changes(CHAT).is_empty());

    let enforce = restarted(&dry, &[("DEPROVISION_MODE", "enforce")]);
    let released = answer_direct(&enforce.app, &direct(&release));
    assert_eq!(released.body["released"], 1, "{}", released.body);
    assert_eq!(released.body["remaining"], 0);
    assert_eq!(enforce.scim.changes(CHAT), [Change::Deactivated(leaver)]);
    assert_eq!(outcome(&enforce, "chat"), Some(Outcome::Deactivated));
}

#[test]
fn work_whose_outcome_was_never_written_is_listed_before_the_scim_calls_and_released() {
    let scim = directory();
    let leaver = scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim, &[]);
    terminate(&d);
    // The entry is read, then the ledger is gone before the outcome is written, as when
    // the process dies after its SCIM call.
    d.ledger.script([
        None,
        Some(merge_deprovision::aws::ledger::LedgerError::Unreachable),
    ]);
    let answered = stream(&d);
    assert_eq!(failures(&answered), 1);
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(leaver)]);
    assert_eq!(outcome(&d, "chat"), None);
    assert_eq!(d.store.waiting_keys(), [key()], "the release finds it");
    let released = answer_direct(
        &d.app,
        &direct(&json!({"kind": "merge-deprovision.release-held", "version": 1})),
    );
    assert_eq!(released.body["released"], 1, "{}", released.body);
    assert_eq!(outcome(&d, "chat"), Some(Outcome::AlreadyInactive));
    assert!(d.store.waiting_keys().is_empty());
}

#[test]
fn a_change_that_fails_gives_its_brake_slot_back() {
    let scim = directory();
    scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let other = scim.add(CHAT, "roman@merge.dev", &["roman@merge.dev"], None, true);
    let d = deprovision_app(
        &secret(vec![chat(json!({}))]),
        scim.clone(),
        &[("DEPROVISION_MAX_PER_HOUR", "1")],
    );
    terminate(&d);
    // The search answers; the PATCH is refused.
    scim.script(
        CHAT,
        [
            None,
            Some(ScimError::Rejected {
                status: 400,
                scim_type: Some("invalidValue".into()),
            }),
        ],
    );
    stream(&d);
    assert_eq!(outcome(&d, "chat"), Some(Outcome::Failed));
    let window = merge_deprovision::domain::deprovision::brake_window(now());
    assert_eq!(
        d.store.taken(&window),
        0,
        "nothing changed, nothing counted"
    );
    let answered = answer(
        &d.app,
        &terminated_delivery(
            "another-employee",
            "roman@merge.dev",
            "2026-11-26T04:12:09Z",
        ),
    );
    assert_eq!(answered.status, 200);
    stream(&d);
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(other)]);
    assert_eq!(d.store.taken(&window), 1);
}

#[test]
fn a_note_made_again_meanwhile_is_not_taken_off_the_waiting_list() {
    use merge_deprovision::aws::deprovisioning::DeprovisionStore;
    use merge_deprovision_samples::ready;
    let d = deprovision_app(&secret(vec![chat(json!({}))]), directory(), &[]);
    let first = ready(d.store.wait(&key())).unwrap();
    let listed = ready(d.store.waiting()).unwrap();
    assert_eq!(listed, [(key(), first)]);
    // A stream attempt notes the leaver again while a release works on the first note.
    ready(d.store.wait(&key())).unwrap();
    ready(d.store.done(&key(), first)).unwrap();
    assert_eq!(d.store.waiting_keys(), [key()]);
    let second = ready(d.store.waiting()).unwrap()[0].1;
    ready(d.store.done(&key(), second)).unwrap();
    assert!(d.store.waiting_keys().is_empty());
}

/// A directory's seed, the outcome it leads to, and the record's level.
type Case = (&'static str, fn(&MemoryScim), Outcome, &'static str);

#[test]
fn an_inactive_user_no_user_and_two_users_change_nothing_and_say_so() {
    let cases: [Case; 3] = [
        (
            "inactive",
            |s| drop(s.add(CHAT, EMAIL, &[EMAIL], None, false)),
            Outcome::AlreadyInactive,
            "INFO",
        ),
        ("nobody", |_| {}, Outcome::NotFound, "WARN"),
        (
            "two",
            |s| {
                s.add(CHAT, EMAIL, &[EMAIL], None, true);
                s.add(CHAT, "greg.hirsch", &[EMAIL], None, true);
            },
            Outcome::Ambiguous,
            "ERROR",
        ),
    ];
    for (name, seed, expected, level) in cases {
        let scim = directory();
        seed(&scim);
        let match_rule = if name == "two" {
            "emails=work_email"
        } else {
            "userName=work_email"
        };
        let d = deprovision_app(&secret(vec![chat(json!({"match": match_rule}))]), scim, &[]);
        terminate(&d);
        let answered = stream(&d);
        assert_eq!(failures(&answered), 0, "{name}");
        assert!(d.scim.changes(CHAT).is_empty(), "{name}");
        assert_eq!(outcome(&d, "chat"), Some(expected), "{name}");
        let record = &answered.records()[0];
        assert_eq!(record["level"], level, "{name}");
        let message = match expected {
            Outcome::NotFound => NOT_FOUND_MESSAGE,
            Outcome::Ambiguous => AMBIGUOUS_MESSAGE,
            _ => record["message"].as_str().unwrap(),
        };
        assert_eq!(record["message"], message);
    }
}

#[test]
fn a_server_that_ignores_the_filter_never_gets_another_user_deleted() {
    // Alone, the token's admin is all such a server answers: nothing is deleted.
    let scim = directory();
    let admin = scim.add(CHAT, "admin@merge.dev", &["admin@merge.dev"], None, true);
    scim.ignore_filters(CHAT);
    let d = deprovision_app(&secret(vec![chat(json!({"action": "delete"}))]), scim, &[]);
    terminate(&d);
    let answered = stream(&d);
    assert_eq!(failures(&answered), 0);
    assert!(d.scim.changes(CHAT).is_empty());
    assert!(d.scim.user(CHAT, &admin).is_some());
    assert_eq!(outcome(&d, "chat"), Some(Outcome::NotFound));
    let records = records_with(&answered, NOT_MATCHING_MESSAGE);
    assert_eq!(records.len(), 1, "{}", answered.logs);
    assert_eq!(records[0]["level"], "WARN");

    // Beside the leaver, only the leaver is acted on.
    let scim = directory();
    let admin = scim.add(CHAT, "admin@merge.dev", &["admin@merge.dev"], None, true);
    let leaver = scim.add(CHAT, "GREG@merge.dev", &[EMAIL], None, true);
    scim.ignore_filters(CHAT);
    let d = deprovision_app(&secret(vec![chat(json!({"action": "delete"}))]), scim, &[]);
    terminate(&d);
    assert_eq!(failures(&stream(&d)), 0);
    assert_eq!(d.scim.changes(CHAT), [Change::Deleted(leaver)]);
    assert!(d.scim.user(CHAT, &admin).is_some());

    // Among more users than were sent, the one sent cannot be known to be the only one.
    let scim = directory();
    scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    scim.add(CHAT, "admin@merge.dev", &["admin@merge.dev"], None, true);
    scim.add(CHAT, "roman@merge.dev", &["roman@merge.dev"], None, true);
    scim.ignore_filters(CHAT);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim, &[]);
    terminate(&d);
    stream(&d);
    assert!(d.scim.changes(CHAT).is_empty());
    assert_eq!(outcome(&d, "chat"), Some(Outcome::Ambiguous));
}

#[test]
fn an_email_with_a_quote_and_or_matches_only_that_exact_user() {
    let tricky = r#"x" or userName pr or "@merge.dev"#;
    let scim = directory();
    let bystander = scim.add(CHAT, "x", &["x@merge.dev"], None, true);
    let leaver = scim.add(CHAT, tricky, &[tricky], None, true);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim, &[]);
    let answered = answer(
        &d.app,
        &terminated_delivery(EMPLOYEE, tricky, "2026-11-26T04:12:09Z"),
    );
    assert_eq!(answered.status, 200);
    stream(&d);
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(leaver)]);
    assert!(d.scim.user(CHAT, &bystander).unwrap().active);
}

#[test]
fn thirty_terminations_in_an_hour_deactivate_25_hold_5_then_the_release_does_the_rest() {
    let scim = directory();
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim.clone(), &[]);
    for n in 0..30 {
        let email = format!("leaver{n}@merge.dev");
        scim.add(CHAT, &email, &[&email], None, true);
        let employee = format!("employee-{n:02}");
        let answered = answer(
            &d.app,
            &terminated_delivery(&employee, &email, "2026-11-26T04:12:09Z"),
        );
        assert_eq!(answered.status, 200);
    }
    let answered = stream(&d);
    assert_eq!(failures(&answered), 0);
    assert_eq!(d.scim.changes(CHAT).len(), 25);
    let held = records_with(&answered, HELD_MESSAGE);
    assert_eq!(held.len(), 5);
    assert!(held.iter().all(|r| r["level"] == "WARN"));
    assert_eq!(d.store.waiting_keys().len(), 5);
    let held_lines = answered
        .metrics
        .iter()
        .filter(|m| m["Outcome"] == "held")
        .count();
    assert_eq!(held_lines, 5);

    let release = answer_direct(
        &d.app,
        &direct(&json!({"kind": "merge-deprovision.release-held", "version": 1})),
    );
    assert_eq!(release.body["released"], 5, "{}", release.body);
    assert_eq!(release.body["remaining"], 0);
    assert_eq!(d.scim.changes(CHAT).len(), 30);
    assert!(d.store.waiting_keys().is_empty());
    let deactivated = d
        .ledger
        .entries()
        .values()
        .filter(|e| e.deprovisioning.get("chat").map(|o| o.outcome) == Some(Outcome::Deactivated))
        .count();
    assert_eq!(deactivated, 30);
}

#[test]
fn a_wrong_token_fails_at_once_naming_the_host_and_never_the_token() {
    let scim = directory();
    scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let wrong = json!({"name": "chat", "base_url": CHAT, "token": "TOKEN-SENTINEL-wrong-77"});
    let d = deprovision_app(&secret(vec![wrong]), scim, &[]);
    terminate(&d);
    let answered = stream(&d);
    assert_eq!(failures(&answered), 0, "no retry can fix a refused token");
    assert_eq!(d.scim.calls(CHAT), ["GET"]);
    assert_eq!(outcome(&d, "chat"), Some(Outcome::Failed));
    let record = &records_with(&answered, DEPROVISION_FAILED_MESSAGE)[0];
    assert_eq!(record["level"], "ERROR");
    assert_eq!(record["scim_host"], "chat.example.com");
    assert_eq!(record["scim_status"], 401);
    assert!(!answered.logs.contains("TOKEN-SENTINEL"));
    assert_eq!(answered.metrics[0]["DeprovisionFailures"], 1);
    assert_eq!(
        d.store.waiting_keys(),
        [key()],
        "listed for a release once fixed"
    );
}

#[test]
fn an_endpoint_down_is_retried_by_the_stream_then_done_once_it_is_back() {
    let scim = directory();
    let leaver = scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim.clone(), &[]);
    terminate(&d);
    let batch = stream_batch(&d.ledger).unwrap();
    scim.fail_next(
        CHAT,
        [
            ScimError::Server(503),
            ScimError::Server(502),
            ScimError::Server(503),
        ],
    );
    let down = answer_direct(&d.app, &batch);
    assert_eq!(failures(&down), 1, "handed back to the stream");
    assert_eq!(down.metrics[0]["Outcome"], "failed");
    assert!(
        down.metrics[0].get("DeprovisionFailures").is_none(),
        "a failure the stream retries does not page"
    );
    assert_eq!(
        d.scim.calls(CHAT).len(),
        3,
        "three attempts within the budget"
    );
    assert_eq!(outcome(&d, "chat"), Some(Outcome::Failed));
    assert_eq!(
        d.ledger.entries()[&key()].deprovisioning["chat"].attempts,
        1
    );
    let back = answer_direct(&d.app, &batch);
    assert_eq!(failures(&back), 0);
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(leaver)]);
    assert_eq!(outcome(&d, "chat"), Some(Outcome::Deactivated));
}

#[test]
fn an_endpoint_down_pages_only_on_the_streams_last_attempt() {
    let scim = directory();
    scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim.clone(), &[]);
    terminate(&d);
    let batch = stream_batch(&d.ledger).unwrap();
    let mut paged = Vec::new();
    for _ in 0..merge_deprovision::app::deprovision::STREAM_ATTEMPTS {
        scim.fail_next(CHAT, std::iter::repeat_n(ScimError::Server(503), 3));
        let down = answer_direct(&d.app, &batch);
        paged.push(down.metrics[0].get("DeprovisionFailures").is_some());
    }
    assert_eq!(paged, [false, false, false, false, false, true]);
}

#[test]
fn a_429_waits_as_asked_and_a_412_reads_again_and_retries_once() {
    let scim = directory();
    let leaver = scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim.clone(), &[]);
    terminate(&d);
    scim.script(
        CHAT,
        [
            Some(ScimError::RateLimited {
                retry_after: Some(std::time::Duration::from_millis(50)),
            }),
            None,
            Some(ScimError::PreconditionFailed),
        ],
    );
    let started = std::time::Instant::now();
    let answered = stream(&d);
    assert!(started.elapsed() >= std::time::Duration::from_millis(50));
    assert_eq!(failures(&answered), 0);
    assert_eq!(d.scim.calls(CHAT), ["GET", "GET", "PATCH", "GET", "PATCH"]);
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(leaver)]);
}

#[test]
fn a_patch_finding_the_user_deleted_meanwhile_counts_as_done() {
    let scim = directory();
    scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim.clone(), &[]);
    terminate(&d);
    scim.script(CHAT, [None, Some(ScimError::NotFound)]);
    let answered = stream(&d);
    assert_eq!(failures(&answered), 0);
    assert_eq!(outcome(&d, "chat"), Some(Outcome::AlreadyInactive));
}

#[test]
fn one_failing_target_never_holds_back_another() {
    let scim = directory();
    scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let crm_user = scim.add(CRM, EMAIL, &[EMAIL], None, true);
    let targets = secret(vec![
        chat(json!({})),
        json!({"name": "crm", "base_url": CRM, "token": CRM_TOKEN}),
    ]);
    let d = deprovision_app(&targets, scim.clone(), &[]);
    terminate(&d);
    scim.fail_next(CHAT, std::iter::repeat_n(ScimError::Server(500), 3));
    let answered = stream(&d);
    assert_eq!(failures(&answered), 1);
    assert_eq!(d.scim.changes(CRM), [Change::Deactivated(crm_user)]);
    assert_eq!(outcome(&d, "chat"), Some(Outcome::Failed));
    // The retry calls only the target that failed.
    let crm_calls = d.scim.calls(CRM).len();
    let retried = answer_direct(&d.app, &stream_batch_of_last_move(&d));
    assert_eq!(failures(&retried), 0);
    assert_eq!(d.scim.calls(CRM).len(), crm_calls);
    assert_eq!(outcome(&d, "chat"), Some(Outcome::Deactivated));
}

#[test]
fn a_rehire_of_a_deprovisioned_employee_reactivates_nobody_and_says_to_restore_by_hand() {
    let scim = directory();
    let leaver = scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim, &[]);
    terminate(&d);
    stream(&d);
    let rehire = employee_delivery(
        "Employee.changed",
        json!({"work_email": EMAIL, "employment_status": "ACTIVE", "termination_date": null,
               "modified_at": "2026-11-27T09:00:00Z"}),
    );
    let answered = answer(&d.app, &rehire);
    assert_eq!(answered.status, 200);
    let warning: Vec<Value> = answered
        .records()
        .into_iter()
        .filter(|r| r["message"] == REHIRE_MESSAGE)
        .collect();
    assert_eq!(warning.len(), 1, "{}", answered.logs);
    assert_eq!(warning[0]["level"], "WARN");
    assert_eq!(warning[0]["target"], "chat");
    assert_eq!(warning[0]["deprovisioned_at"], "2026-11-27T12:00:00Z");
    assert!(
        !d.scim.user(CHAT, &leaver).unwrap().active,
        "never reactivated"
    );
    assert!(stream_batch(&d.ledger).is_none());
    let _ = now();
}

#[test]
fn a_targets_secret_of_another_shape_stops_init_naming_the_target_and_field_only() {
    use merge_deprovision::app::deprovision::Deprovisioner;
    use merge_deprovision::lambda::config::DeprovisionConfig;
    let load = |value: &str| {
        let secrets = std::sync::Arc::new(merge_deprovision::aws::memory::MemorySecrets::with(
            "s", value,
        ));
        let config = DeprovisionConfig {
            secret_id: "s".into(),
            refresh_after: None,
            mode: merge_deprovision::domain::deprovision::Mode::Enforce,
            max_per_hour: 25,
        };
        merge_deprovision_samples::ready(Deprovisioner::load(
            &config,
            secrets,
            std::sync::Arc::new(MemoryScim::new()),
            std::sync::Arc::new(merge_deprovision::aws::memory::MemoryDeprovisionStore::new()),
            now(),
        ))
        .err()
        .unwrap()
    };
    let plain_http = r#"{"targets": [{"name": "wiki", "base_url": "http://wiki.example.com/scim", "token": "TOKEN-SENTINEL-1"}]}"#;
    let error = load(plain_http);
    assert!(
        error.starts_with("SCIM_TARGETS_SECRET_ID: target 1 (wiki): `base_url`"),
        "{error}"
    );
    assert!(!error.contains("SENTINEL") && !error.contains("wiki.example.com"));
    let no_token =
        r#"{"targets": [{"name": "wiki", "base_url": "https://wiki.example.com/scim"}]}"#;
    assert!(load(no_token).contains("target 1 (wiki): `token` is missing"));
}

#[test]
fn a_brake_that_cannot_be_read_changes_nothing_and_hands_the_record_back() {
    use merge_deprovision::aws::ledger::LedgerError;
    let scim = directory();
    let leaver = scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim, &[]);
    terminate(&d);
    let batch = stream_batch(&d.ledger).unwrap();
    // The leaver is noted as waiting first; then the brake is throttled.
    d.store.script([None, Some(LedgerError::Throttled)]);
    let answered = answer_direct(&d.app, &batch);
    assert_eq!(failures(&answered), 1);
    assert!(d.scim.changes(CHAT).is_empty());
    let record = &records_with(&answered, DEPROVISION_FAILED_MESSAGE)[0];
    assert_eq!(record["ledger_error"], "throttled");
    assert!(record.get("scim_error").is_none_or(Value::is_null));
    let again = answer_direct(&d.app, &batch);
    assert_eq!(failures(&again), 0);
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(leaver)]);
}

#[test]
fn no_token_or_sensitive_field_reaches_a_record_a_metric_or_an_answer() {
    let scim = directory();
    scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let d = deprovision_app(
        &secret(vec![
            chat(json!({})),
            json!({"name": "crm", "base_url": CRM, "token": "TOKEN-SENTINEL-refused"}),
        ]),
        scim.clone(),
        &[],
    );
    let delivery = employee_delivery(
        "Employee.changed",
        json!({"work_email": EMAIL, "employment_status": "INACTIVE", "termination_date": "2026-11-20",
               "ssn": "SSN-SENTINEL-1", "personal_email": "PERSONAL-SENTINEL-2",
               "date_of_birth": "1990-01-01", "mobile_phone_number": "PHONE-SENTINEL-3"}),
    );
    let webhook = answer(&d.app, &delivery);
    scim.fail_next(CHAT, [ScimError::Server(503)]);
    let streamed = stream(&d);
    let released = answer_direct(
        &d.app,
        &direct(&json!({"kind": "merge-deprovision.release-held", "version": 1})),
    );
    let outputs = [
        webhook.logs.clone(),
        webhook.body.clone(),
        webhook.metrics.to_string(),
        streamed.logs.clone(),
        streamed.body.to_string(),
        format!("{:?}", streamed.metrics),
        released.logs.clone(),
        released.body.to_string(),
        format!("{:?}", released.metrics),
    ];
    for output in outputs {
        for sentinel in [
            CHAT_TOKEN,
            CRM_TOKEN,
            "TOKEN-SENTINEL",
            "SENTINEL-1",
            "SENTINEL-2",
            "SENTINEL-3",
        ] {
            assert!(!output.contains(sentinel), "{sentinel} in {output}");
        }
    }
}

#[test]
fn a_release_or_a_stream_batch_sent_to_the_function_url_is_only_a_webhook() {
    let scim = directory();
    scim.add(CHAT, EMAIL, &[EMAIL], None, false);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim, &[]);
    terminate(&d);
    // Something is waiting, so a release would have work to do.
    ready_wait(&d);
    let batch = stream_batch(&d.ledger).unwrap();
    let stream_body = String::from_utf8(batch.body().as_ref().to_vec()).unwrap();
    for body in [
        json!({"kind": "merge-deprovision.release-held", "version": 1}).to_string(),
        stream_body,
    ] {
        let request = support::in_lambda(support::post(
            body.as_bytes(),
            merge_deprovision_samples::Signing::TestKey,
        ));
        let answered = answer(&d.app, &request);
        assert_eq!(answered.status, 200, "{}", answered.body);
        assert_eq!(answered.json()["decision"], "ignored");
        assert!(
            d.scim.calls(CHAT).is_empty(),
            "nothing reached the SCIM target"
        );
    }
}

#[test]
fn a_token_rotated_in_the_secret_is_used_once_the_targets_have_aged() {
    let scim = directory();
    let leaver = scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim.clone(), &[]);
    // The application's token is rotated: the old one is refused from now on.
    let rotated = "TOKEN-SENTINEL-rotated-4e2a";
    scim.serve(CHAT, rotated);
    d.secrets.put(
        support::TARGETS_SECRET,
        &secret(vec![
            json!({"name": "chat", "base_url": CHAT, "token": rotated}),
        ])
        .to_string(),
    );
    terminate(&d);
    let batch = stream_batch(&d.ledger).unwrap();
    let early = answer_direct(&d.app, &batch);
    assert_eq!(
        outcome(&d, "chat"),
        Some(Outcome::Failed),
        "the cached token: {}",
        early.logs
    );
    let later = now() + chrono::TimeDelta::minutes(6);
    let (answered, logs) = support::capture_logs(true, || {
        merge_deprovision_samples::ready(merge_deprovision::lambda::handler::answer_event(
            &d.app, &batch, later,
        ))
    });
    assert!(answered.is_ok());
    assert_eq!(
        d.scim.changes(CHAT),
        [Change::Deactivated(leaver)],
        "{logs}"
    );
    assert!(!logs.contains("TOKEN-SENTINEL"));
}

mod properties {
    use super::*;
    use merge_deprovision::aws::ledger::LedgerError;
    use proptest::prelude::*;

    /// One thing that can happen to the leaver, the stream or an endpoint.
    #[derive(Debug, Clone)]
    enum Step {
        /// A delivery: terminated or active, at this hour of the day.
        Deliver { terminated: bool, hour: u32 },
        /// The stream delivers what the ledger wrote since.
        Stream,
        /// The stream delivers the leaver's last move again.
        Redeliver,
        /// The endpoint refuses the next call (a permanent failure).
        Refuse,
        /// The endpoint answers 503 to the next call.
        Down,
        /// The ledger fails the next call.
        LedgerFails,
        /// Someone changes the user in the application.
        Touch,
        /// The release invocation.
        Release,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (any::<bool>(), 0u32..24)
                .prop_map(|(terminated, hour)| Step::Deliver { terminated, hour }),
            Just(Step::Stream),
            Just(Step::Redeliver),
            Just(Step::Refuse),
            Just(Step::Down),
            Just(Step::LedgerFails),
            Just(Step::Touch),
            Just(Step::Release),
        ]
    }

    fn delivery(terminated: bool, hour: u32) -> lambda_http::Request {
        let modified_at = format!("2026-11-26T{hour:02}:00:00Z");
        employee_delivery(
            "Employee.changed",
            json!({"id": EMPLOYEE, "work_email": EMAIL,
                   "employment_status": if terminated { "INACTIVE" } else { "ACTIVE" },
                   "termination_date": if terminated { json!("2026-11-20") } else { Value::Null },
                   "modified_at": modified_at}),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn each_termination_deprovisions_the_matching_user_at_most_once_and_nobody_else(
            steps in proptest::collection::vec(step(), 1..14)
        ) {
            let scim = directory();
            let leaver = scim.add(CHAT, EMAIL, &[EMAIL], None, true);
            // Near misses of the leaver's address: a filter that is not exact finds them.
            let bystanders = [
                scim.add(CHAT, "greg@merge.dev.example", &["greg@merge.dev.example"], None, true),
                scim.add(CHAT, "xgreg@merge.dev", &["xgreg@merge.dev"], None, true),
            ];
            let d = deprovision_app(&secret(vec![chat(json!({}))]), scim.clone(), &[]);
            let mut last_batch: Option<lambda_http::Request> = None;
            for step in &steps {
                match step {
                    Step::Deliver { terminated, hour } => {
                        answer(&d.app, &delivery(*terminated, *hour));
                    }
                    Step::Stream => {
                        if let Some(batch) = stream_batch(&d.ledger) {
                            answer_direct(&d.app, &batch);
                            last_batch = Some(batch);
                        }
                    }
                    Step::Redeliver => {
                        if let Some(batch) = &last_batch {
                            answer_direct(&d.app, batch);
                        }
                    }
                    Step::Refuse => scim.fail_next(CHAT, [ScimError::Rejected { status: 400, scim_type: None }]),
                    Step::Down => scim.fail_next(CHAT, [ScimError::Server(503)]),
                    Step::LedgerFails => d.ledger.fail_next([LedgerError::Unreachable]),
                    Step::Touch => scim.touch(CHAT, &leaver),
                    Step::Release => {
                        answer_direct(&d.app, &direct(&json!({"kind": "merge-deprovision.release-held", "version": 1})));
                    }
                }
            }
            // Whatever happened, the stream's retries and the release get through once
            // the scripted faults are spent.
            for _ in 0..steps.len() + 2 {
                if let Some(batch) = stream_batch(&d.ledger) {
                    answer_direct(&d.app, &batch);
                    last_batch = Some(batch);
                }
                if let Some(batch) = &last_batch {
                    answer_direct(&d.app, batch);
                }
                answer_direct(&d.app, &direct(&json!({"kind": "merge-deprovision.release-held", "version": 1})));
            }

            let changes = d.scim.changes(CHAT);
            prop_assert!(changes.len() <= 1, "changed more than once: {changes:?}");
            for change in &changes {
                prop_assert_eq!(change, &Change::Deactivated(leaver.clone()));
            }
            for bystander in &bystanders {
                prop_assert!(d.scim.user(CHAT, bystander).unwrap().active);
            }
            let entries = d.ledger.entries();
            if let Some(entry) = entries.get(&key())
                && entry.decision == merge_deprovision::domain::decision::Decision::Terminated
            {
                let settled = entry.deprovisioning.get("chat").map(|o| o.outcome);
                prop_assert!(
                    matches!(settled, Some(Outcome::Deactivated | Outcome::AlreadyInactive)),
                    "a termination ends deprovisioned: {settled:?}"
                );
                prop_assert!(!d.scim.user(CHAT, &leaver).unwrap().active);
            }
        }
    }
}

/// The release with `recheck`, invoked `minutes` after the test's clock: the targets
/// have aged, so a secret changed meanwhile is read again first.
fn release_after(d: &DeprovisionApp, minutes: i64) -> Direct {
    let later = now() + chrono::TimeDelta::minutes(minutes);
    let release =
        direct(&json!({"kind": "merge-deprovision.release-held", "version": 1, "recheck": true}));
    let (answered, logs) = support::capture_logs(true, || {
        merge_deprovision_samples::ready(merge_deprovision::lambda::handler::answer_event(
            &d.app, &release, later,
        ))
    });
    let answered = answered.expect("the handler answers");
    Direct {
        body: serde_json::from_slice(answered.response.body().as_ref()).unwrap(),
        logs,
        metrics: Vec::new(),
    }
}

#[test]
fn a_leaver_not_found_under_a_wrong_rule_is_deactivated_by_a_recheck_once_the_rule_is_fixed() {
    let scim = directory();
    // The application's userName is not the address: `userName=work_email` finds nobody.
    let leaver = scim.add(CHAT, "ghirsch", &[EMAIL], None, true);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim, &[]);
    terminate(&d);
    let answered = stream(&d);
    assert_eq!(failures(&answered), 0);
    assert_eq!(outcome(&d, "chat"), Some(Outcome::NotFound));
    assert_eq!(records_with(&answered, NOT_FOUND_MESSAGE).len(), 1);
    assert_eq!(d.store.waiting_keys(), [key()], "listed for a person");
    // A redelivery leaves the finding alone: only the release works it again.
    let calls = d.scim.calls(CHAT).len();
    answer_direct(&d.app, &stream_batch_of_last_move(&d));
    assert_eq!(d.scim.calls(CHAT).len(), calls);

    // A plain release leaves it listed and searches nobody: an address searched again
    // long after the termination may be someone else's by now.
    let plain = answer_direct(
        &d.app,
        &direct(&json!({"kind": "merge-deprovision.release-held", "version": 1})),
    );
    assert_eq!(plain.body["remaining"], 1, "{}", plain.body);
    assert_eq!(d.scim.calls(CHAT).len(), calls);
    // A recheck before the rule is fixed finds nobody again, and keeps it listed.
    let again = answer_direct(
        &d.app,
        &direct(&json!({"kind": "merge-deprovision.release-held", "version": 1, "recheck": true})),
    );
    assert_eq!(again.body["remaining"], 1, "{}", again.body);
    assert_eq!(again.body["outcomes"]["not_found"], 1);
    assert_eq!(outcome(&d, "chat"), Some(Outcome::NotFound));

    // The rule is fixed in the secret, as the record advises, and the release finishes.
    d.secrets.put(
        support::TARGETS_SECRET,
        &secret(vec![chat(json!({"match": "emails=work_email"}))]).to_string(),
    );
    let released = release_after(&d, 6);
    assert_eq!(released.body["released"], 1, "{}", released.body);
    assert_eq!(released.body["remaining"], 0);
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(leaver)]);
    assert_eq!(outcome(&d, "chat"), Some(Outcome::Deactivated));
    assert_eq!(records_with(&released, DEPROVISIONED_MESSAGE).len(), 1);
    assert!(d.store.waiting_keys().is_empty());

    // Settled: neither a release nor a redelivery works it again.
    let calls = d.scim.calls(CHAT).len();
    release_after(&d, 7);
    answer_direct(&d.app, &stream_batch_of_last_move(&d));
    assert_eq!(d.scim.calls(CHAT).len(), calls);
    assert_eq!(d.scim.changes(CHAT).len(), 1);
}

#[test]
fn a_user_provisioned_after_the_search_or_a_server_answering_someone_else_is_worked_by_a_recheck() {
    // Provisioned after the search.
    let scim = directory();
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim.clone(), &[]);
    terminate(&d);
    stream(&d);
    assert_eq!(outcome(&d, "chat"), Some(Outcome::NotFound));
    let leaver = scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let released = answer_direct(
        &d.app,
        &direct(&json!({"kind": "merge-deprovision.release-held", "version": 1, "recheck": true})),
    );
    assert_eq!(released.body["released"], 1, "{}", released.body);
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(leaver)]);

    // The server answered only someone else until its filtering was fixed.
    let scim = directory();
    let admin = scim.add(CHAT, "admin@merge.dev", &["admin@merge.dev"], None, true);
    scim.ignore_filters(CHAT);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim, &[]);
    terminate(&d);
    let answered = stream(&d);
    assert_eq!(records_with(&answered, NOT_MATCHING_MESSAGE).len(), 1);
    assert_eq!(d.store.waiting_keys(), [key()]);
    // The server filters again, and the leaver's account is there: the release finishes.
    d.scim.apply_filters(CHAT);
    let leaver = d.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let released = answer_direct(
        &d.app,
        &direct(&json!({"kind": "merge-deprovision.release-held", "version": 1, "recheck": true})),
    );
    assert_eq!(released.body["released"], 1, "{}", released.body);
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(leaver)]);
    assert!(d.scim.user(CHAT, &admin).unwrap().active);
}

#[test]
fn an_address_that_is_only_an_alias_on_the_managers_account_never_deactivates_the_manager() {
    let scim = directory();
    // The leaver's own account is gone; the manager took the address as an alias.
    let manager = scim.add_with_emails(
        CHAT,
        "roman@merge.dev",
        &[
            ScimValue::address("roman@merge.dev", Some("work"), true),
            ScimValue::address(EMAIL, Some("other"), false),
        ],
        None,
        true,
    );
    let d = deprovision_app(
        &secret(vec![chat(json!({"match": "emails=work_email"}))]),
        scim.clone(),
        &[],
    );
    terminate(&d);
    let answered = stream(&d);
    assert_eq!(failures(&answered), 0);
    assert!(d.scim.changes(CHAT).is_empty());
    assert!(d.scim.user(CHAT, &manager).unwrap().active);
    assert_eq!(outcome(&d, "chat"), Some(Outcome::NotFound));
    assert_eq!(records_with(&answered, NOT_MATCHING_MESSAGE).len(), 1);

    // `emails.any` takes any address: in a dry run it shows it would take the manager.
    let d = deprovision_app(
        &secret(vec![chat(json!({"match": "emails.any=work_email"}))]),
        scim,
        &[("DEPROVISION_MODE", "dry-run")],
    );
    terminate(&d);
    stream(&d);
    assert_eq!(outcome(&d, "chat"), Some(Outcome::WouldDeactivate));
}

#[test]
fn a_work_email_with_spaces_around_it_still_finds_and_deactivates_the_leaver() {
    let scim = directory();
    let leaver = scim.add(CHAT, "Greg@Merge.dev", &[EMAIL], None, true);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim, &[]);
    let answered = answer(
        &d.app,
        &terminated_delivery(EMPLOYEE, " greg@merge.dev \t", "2026-11-26T04:12:09Z"),
    );
    assert_eq!(answered.status, 200);
    assert_eq!(failures(&stream(&d)), 0);
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(leaver)]);
    assert_eq!(outcome(&d, "chat"), Some(Outcome::Deactivated));
}

#[test]
fn a_protected_leaver_is_never_changed_and_stays_listed_naming_the_protection() {
    for (protected, by, calls) in [
        // The leaver's own values: known before any call.
        (" GREG@merge.dev ", "work_email", 0),
        (EMPLOYEE, "employee_id", 0),
        // A value only the account found carries (a break-glass address on it).
        ("BREAKGLASS@merge.dev", "scim_value", 1),
    ] {
        let scim = directory();
        let leaver = scim.add_with_emails(
            CHAT,
            "ghirsch",
            &[
                ScimValue::address(EMAIL, Some("work"), true),
                ScimValue::address("breakglass@merge.dev", Some("other"), false),
            ],
            None,
            true,
        );
        let mut targets = secret(vec![chat(json!({"match": "emails=work_email"}))]);
        targets["protected"] = json!([protected]);
        let d = deprovision_app(&targets, scim, &[]);
        terminate(&d);
        let answered = stream(&d);
        assert_eq!(failures(&answered), 0, "{by}");
        assert!(d.scim.changes(CHAT).is_empty(), "{by}");
        assert!(d.scim.user(CHAT, &leaver).unwrap().active, "{by}");
        assert_eq!(
            d.scim.calls(CHAT).len(),
            calls,
            "{by}: checked before any change"
        );
        assert_eq!(outcome(&d, "chat"), Some(Outcome::Protected), "{by}");
        let records = records_with(&answered, PROTECTED_MESSAGE);
        assert_eq!(records.len(), 1, "{by}: {}", answered.logs);
        assert_eq!(records[0]["level"], "WARN");
        assert_eq!(records[0]["target"], "chat");
        assert_eq!(records[0]["protected_by"], by);
        assert_eq!(answered.metrics[0]["Outcome"], "protected");
        assert_eq!(d.store.waiting_keys(), [key()], "{by}: listed for a person");
        // No release lifts it, not even one that rechecks.
        let released = answer_direct(
            &d.app,
            &direct(
                &json!({"kind": "merge-deprovision.release-held", "version": 1, "recheck": true}),
            ),
        );
        assert_eq!(released.body["remaining"], 1, "{}", released.body);
        assert_eq!(released.body["outcomes"]["protected"], 1);
        assert!(d.scim.changes(CHAT).is_empty());
    }
}

#[test]
fn the_user_owning_the_token_is_protected_and_me_is_asked_once_per_target() {
    let scim = directory();
    let admin = scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let colleague = scim.add(CHAT, "roman@merge.dev", &["roman@merge.dev"], None, true);
    scim.own_token(CHAT, &admin);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim, &[]);
    terminate(&d);
    let answered = stream(&d);
    assert_eq!(failures(&answered), 0);
    assert!(d.scim.user(CHAT, &admin).unwrap().active);
    assert_eq!(outcome(&d, "chat"), Some(Outcome::Protected));
    let records = records_with(&answered, PROTECTED_MESSAGE);
    assert_eq!(
        records[0]["protected_by"], "token_owner",
        "{}",
        answered.logs
    );
    assert!(!answered.logs.contains(CHAT_TOKEN));
    // Another leaver: deactivated, and `/Me` is not asked again.
    let other = answer(
        &d.app,
        &terminated_delivery(
            "another-employee",
            "roman@merge.dev",
            "2026-11-26T04:12:09Z",
        ),
    );
    assert_eq!(other.status, 200);
    stream(&d);
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(colleague)]);
    assert_eq!(d.scim.me_calls(CHAT), 1);
}

#[test]
fn a_me_that_fails_changes_nothing_and_one_that_cannot_tell_protects_nobody_extra() {
    // `/Me` down: nobody can tell who owns the token, so nothing changes; the stream
    // retries.
    let scim = directory();
    let leaver = scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    scim.fail_me(CHAT, ScimError::Server(503));
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim, &[]);
    terminate(&d);
    let answered = stream(&d);
    assert_eq!(failures(&answered), 1, "a transient failure is retried");
    assert!(d.scim.changes(CHAT).is_empty());
    assert_eq!(outcome(&d, "chat"), Some(Outcome::Failed));
    // A server that answers `501` (no `/Me`) cannot tell: the leaver is deactivated.
    d.scim.fail_me(CHAT, ScimError::Server(501));
    answer_direct(&d.app, &stream_batch_of_last_move(&d));
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(leaver)]);
}

// Identity collisions: a years-old leaver whose address another employee holds now.

/// E1: terminated last week under `alex@merge.dev` (a termination long before the
/// account was first seen is historical, and never reaches the identity check).
const LEAVER: &str = "7c1d0d7e-0000-4000-8000-00000000e001";
/// E2: active since 2025 under the same address (a rehire under a new Merge id, or a new
/// hire given the freed address).
const HOLDER_2025: &str = "7c1d0d7e-0000-4000-8000-00000000e002";
const ALEX: &str = "alex@merge.dev";

/// A delivery of `fields` for an employee of linked account `account`.
fn delivery_in(account: &str, fields: Value) -> lambda_http::Request {
    let mut envelope = merge_deprovision_samples::employee_envelope("Employee.changed", |data| {
        for (name, value) in fields.as_object().unwrap() {
            data.insert(name.clone(), value.clone());
        }
    });
    envelope["linked_account"]["id"] = json!(account);
    support::in_lambda(support::post(
        &serde_json::to_vec(&envelope).unwrap(),
        merge_deprovision_samples::Signing::TestKey,
    ))
}

/// Delivers `employee` of `account` as `status` under `email`; the ledger takes it.
fn deliver(d: &DeprovisionApp, account: &str, employee: &str, email: &str, status: &str) {
    deliver_at(d, account, employee, email, status, "2026-11-26T04:12:09Z");
}

/// As [`deliver`], for the record as changed at `modified_at`.
fn deliver_at(
    d: &DeprovisionApp,
    account: &str,
    employee: &str,
    email: &str,
    status: &str,
    modified_at: &str,
) {
    let termination = (status == "INACTIVE").then_some("2026-11-20");
    let answered = answer(
        &d.app,
        &delivery_in(
            account,
            json!({"id": employee, "work_email": email, "employment_status": status,
                   "termination_date": termination, "modified_at": modified_at}),
        ),
    );
    assert_eq!(answered.status, 200, "{}", answered.body);
}

fn leaver_key() -> EmployeeKey {
    EmployeeKey::new(Some(LINKED_ACCOUNT), LEAVER)
}

#[test]
fn a_leaver_whose_address_an_active_employee_now_holds_is_a_conflict_and_changes_nobody() {
    // Either order of arrival: the holder first (a rehire seen before the old record's
    // last change), or the leaver first (its move waits on the stream meanwhile).
    for holder_first in [true, false] {
        let scim = directory();
        let holder_account = scim.add(CHAT, ALEX, &[ALEX], None, true);
        let d = deprovision_app(&secret(vec![chat(json!({}))]), scim, &[]);
        if holder_first {
            deliver(&d, LINKED_ACCOUNT, HOLDER_2025, ALEX, "ACTIVE");
            deliver(&d, LINKED_ACCOUNT, LEAVER, ALEX, "INACTIVE");
        } else {
            deliver(&d, LINKED_ACCOUNT, LEAVER, ALEX, "INACTIVE");
            deliver(&d, LINKED_ACCOUNT, HOLDER_2025, ALEX, "ACTIVE");
        }
        let answered = stream(&d);
        assert_eq!(failures(&answered), 0, "a conflict is no failure to retry");
        assert!(
            d.scim.changes(CHAT).is_empty(),
            "holder first: {holder_first}"
        );
        assert!(d.scim.user(CHAT, &holder_account).unwrap().active);
        assert!(
            d.scim.calls(CHAT).is_empty(),
            "refused before any SCIM call"
        );
        assert_eq!(
            outcome_of(&d, &leaver_key(), "chat"),
            Some(Outcome::Conflict)
        );
        let records = records_with(&answered, CONFLICT_MESSAGE);
        assert_eq!(records.len(), 1, "{}", answered.logs);
        assert_eq!(records[0]["level"], "ERROR");
        assert_eq!(records[0]["target"], "chat");
        assert_eq!(records[0]["deprovision"], "conflict");
        assert_eq!(records[0]["employee_id"], LEAVER);
        assert_eq!(records[0]["conflict_with"], HOLDER_2025);
        assert!(!answered.logs.contains(CHAT_TOKEN));
        assert_eq!(answered.metrics[0]["Outcome"], "conflict");
        assert_eq!(
            d.store.waiting_keys(),
            [leaver_key()],
            "listed for a person"
        );
        // The brake was never asked: no slot taken this hour.
        let window = merge_deprovision::domain::deprovision::brake_window(now());
        assert_eq!(d.store.taken(&window), 0);
    }
}

#[test]
fn a_conflict_stays_listed_and_a_recheck_works_it_once_the_holder_has_left() {
    let scim = directory();
    let account = scim.add(CHAT, ALEX, &[ALEX], None, true);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim, &[]);
    deliver(&d, LINKED_ACCOUNT, HOLDER_2025, ALEX, "ACTIVE");
    deliver(&d, LINKED_ACCOUNT, LEAVER, ALEX, "INACTIVE");
    stream(&d);
    let release = json!({"kind": "merge-deprovision.release-held", "version": 1, "recheck": true});
    let released = answer_direct(&d.app, &direct(&release));
    assert_eq!(
        released.body["outcomes"]["conflict"], 1,
        "{}",
        released.body
    );
    assert!(d.scim.changes(CHAT).is_empty(), "the release checks again");
    // The holder leaves too: the address is no live employee's any more.
    let later = "2026-11-27T09:00:00Z";
    deliver_at(&d, LINKED_ACCOUNT, HOLDER_2025, ALEX, "INACTIVE", later);
    let _ = d.ledger.drain_stream();
    let released = answer_direct(&d.app, &direct(&release));
    assert_eq!(
        released.body["outcomes"]["deactivated"], 1,
        "{}",
        released.body
    );
    assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(account)]);
}

#[test]
fn the_same_address_in_another_linked_account_or_on_a_terminated_employee_is_no_conflict() {
    for (account, status) in [("another-customer", "ACTIVE"), (LINKED_ACCOUNT, "INACTIVE")] {
        let scim = directory();
        let leaver = scim.add(CHAT, ALEX, &[ALEX], None, true);
        let d = deprovision_app(&secret(vec![chat(json!({}))]), scim, &[]);
        deliver(&d, account, HOLDER_2025, ALEX, status);
        let _ = d.ledger.drain_stream();
        deliver(&d, LINKED_ACCOUNT, LEAVER, ALEX, "INACTIVE");
        let answered = stream(&d);
        assert_eq!(failures(&answered), 0, "{account} {status}");
        assert_eq!(
            outcome_of(&d, &leaver_key(), "chat"),
            Some(Outcome::Deactivated),
            "{account} {status}: {}",
            answered.logs
        );
        assert_eq!(d.scim.changes(CHAT), [Change::Deactivated(leaver)]);
    }
}

#[test]
fn an_address_differing_only_by_case_or_spaces_is_a_conflict() {
    let scim = directory();
    let holder_account = scim.add(CHAT, ALEX, &[ALEX], None, true);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim, &[]);
    deliver(
        &d,
        LINKED_ACCOUNT,
        HOLDER_2025,
        " Alex@Merge.DEV ",
        "ACTIVE",
    );
    deliver(&d, LINKED_ACCOUNT, LEAVER, ALEX, "INACTIVE");
    let answered = stream(&d);
    assert_eq!(
        outcome_of(&d, &leaver_key(), "chat"),
        Some(Outcome::Conflict)
    );
    assert_eq!(
        records_with(&answered, CONFLICT_MESSAGE)[0]["conflict_with"],
        HOLDER_2025
    );
    assert!(d.scim.user(CHAT, &holder_account).unwrap().active);
}

#[test]
fn an_index_that_cannot_be_read_fails_the_attempt_and_the_retry_still_refuses() {
    use merge_deprovision::aws::ledger::LedgerError;
    let scim = directory();
    let holder_account = scim.add(CHAT, ALEX, &[ALEX], None, true);
    let d = deprovision_app(&secret(vec![chat(json!({}))]), scim, &[]);
    deliver(&d, LINKED_ACCOUNT, HOLDER_2025, ALEX, "ACTIVE");
    deliver(&d, LINKED_ACCOUNT, LEAVER, ALEX, "INACTIVE");
    d.ledger.fail_sharing([LedgerError::Throttled]);
    let batch = stream_batch(&d.ledger).unwrap();
    let answered = answer_direct(&d.app, &batch);
    assert_eq!(
        failures(&answered),
        1,
        "the stream retries: {}",
        answered.logs
    );
    assert_eq!(outcome_of(&d, &leaver_key(), "chat"), Some(Outcome::Failed));
    let failed = records_with(&answered, DEPROVISION_FAILED_MESSAGE);
    assert_eq!(failed[0]["ledger_error"], "throttled", "{}", answered.logs);
    assert!(d.scim.calls(CHAT).is_empty(), "nothing searched on a guess");
    let again = answer_direct(&d.app, &batch);
    assert_eq!(failures(&again), 0);
    assert_eq!(
        outcome_of(&d, &leaver_key(), "chat"),
        Some(Outcome::Conflict)
    );
    assert!(d.scim.user(CHAT, &holder_account).unwrap().active);
}

/// How an other employee of the property stands in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Active,
    Scheduled,
    Terminated,
}

/// An address from a small pool, with its case and the spaces around it varied.
fn pooled_address() -> impl proptest::strategy::Strategy<Value = (usize, String)> {
    use proptest::prelude::*;
    (0usize..3, any::<bool>(), any::<bool>()).prop_map(|(n, upper, spaced)| {
        let base = ["alex@merge.dev", "sam@merge.dev", "kim@merge.dev"][n];
        let cased = if upper {
            base.to_uppercase()
        } else {
            base.to_owned()
        };
        (n, if spaced { format!(" {cased} ") } else { cased })
    })
}

fn others() -> impl proptest::strategy::Strategy<Value = Vec<((usize, String), Standing)>> {
    use proptest::prelude::*;
    let standing = prop_oneof![
        Just(Standing::Active),
        Just(Standing::Scheduled),
        Just(Standing::Terminated)
    ];
    proptest::collection::vec((pooled_address(), standing), 0..6)
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(48))]

    #[test]
    fn a_leavers_account_is_changed_exactly_when_no_live_other_employee_shares_its_address(
        others in others(),
        (leaver_pool, leaver_address) in pooled_address(),
    ) {
        let scim = directory();
        let accounts: Vec<String> = ["alex@merge.dev", "sam@merge.dev", "kim@merge.dev"]
            .iter()
            .map(|a| scim.add(CHAT, a, &[a], None, true))
            .collect();
        let d = deprovision_app(&secret(vec![chat(json!({}))]), scim, &[]);
        for (n, ((_, address), standing)) in others.iter().enumerate() {
            let (status, termination) = match standing {
                Standing::Active => ("ACTIVE", None),
                Standing::Scheduled => ("ACTIVE", Some("2099-06-30")),
                Standing::Terminated => ("INACTIVE", Some("2026-11-20")),
            };
            let answered = answer(
                &d.app,
                &delivery_in(
                    LINKED_ACCOUNT,
                    json!({"id": format!("other-{n}"), "work_email": address,
                           "employment_status": status, "termination_date": termination,
                           "modified_at": "2026-11-26T04:12:09Z"}),
                ),
            );
            proptest::prop_assert_eq!(answered.status, 200);
        }
        let _ = d.ledger.drain_stream();
        deliver(&d, LINKED_ACCOUNT, LEAVER, &leaver_address, "INACTIVE");
        stream(&d);
        let shared = others
            .iter()
            .any(|((n, _), standing)| *n == leaver_pool && *standing != Standing::Terminated);
        let changed = d.scim.changes(CHAT);
        if shared {
            proptest::prop_assert!(changed.is_empty(), "{changed:?}");
            proptest::prop_assert_eq!(
                outcome_of(&d, &leaver_key(), "chat"),
                Some(Outcome::Conflict)
            );
        } else {
            proptest::prop_assert_eq!(
                changed,
                vec![Change::Deactivated(accounts[leaver_pool].clone())]
            );
        }
    }
}
