//! The operator's pause, resume and release preview, through the real handler against
//! the in-memory twins: a pause stops a backlog between two leavers and changes nothing
//! while it stands, a resume finishes the work under the brake, and a preview lists what
//! the release then does, changing nothing itself.

mod support;

use merge_deprovision::domain::deprovision::Outcome;
use merge_deprovision::domain::ledger::EmployeeKey;
use merge_deprovision::scim::memory::{Change, MemoryScim};
use merge_deprovision::telemetry::record::{PAUSE_MESSAGE, PAUSED_MESSAGE, RESUME_MESSAGE};
use serde_json::{Value, json};
use std::time::Duration;
use support::{
    DeprovisionApp, Direct, answer, answer_direct, deprovision_app, direct, employee_delivery,
    restarted, stream_batch,
};

const CHAT: &str = "https://chat.example.com/scim/v2";
const CRM: &str = "https://crm.example.com/scim/v2";
const CHAT_TOKEN: &str = "TOKEN-SENTINEL-chat-8d1f";
const CRM_TOKEN: &str = "TOKEN-SENTINEL-crm-2b7e";
const LINKED_ACCOUNT: &str = "a3602c03-aba7-4d9d-a349-dbc338504092";

fn targets() -> Value {
    json!({"targets": [
        {"name": "chat", "base_url": CHAT, "token": CHAT_TOKEN},
        {"name": "crm", "base_url": CRM, "token": CRM_TOKEN},
    ]})
}

fn directory() -> MemoryScim {
    let scim = MemoryScim::new();
    scim.serve(CHAT, CHAT_TOKEN);
    scim.serve(CRM, CRM_TOKEN);
    scim
}

fn employee(n: usize) -> String {
    format!("0958cbc6-6040-430a-848e-{n:012}")
}

fn email(n: usize) -> String {
    format!("leaver{n}@merge.dev")
}

fn key(n: usize) -> EmployeeKey {
    EmployeeKey::new(Some(LINKED_ACCOUNT), &employee(n))
}

/// `count` leavers, each with a user in both targets, terminated through webhooks; the
/// users' ids in chat and crm.
fn leavers(d: &DeprovisionApp, count: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|n| {
            let address = email(n);
            let chat = d.scim.add(CHAT, &address, &[&address], None, true);
            let crm = d.scim.add(CRM, &address, &[&address], None, true);
            let delivery = employee_delivery(
                "Employee.changed",
                json!({"id": employee(n), "work_email": address, "employment_status": "INACTIVE",
                       "termination_date": "2026-11-20", "modified_at": "2026-11-26T04:12:09Z"}),
            );
            assert_eq!(answer(&d.app, &delivery).status, 200);
            (chat, crm)
        })
        .collect()
}

fn sample(name: &str) -> Value {
    let path = format!("{}/events/controls/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn send(d: &DeprovisionApp, document: &Value) -> Direct {
    answer_direct(&d.app, &direct(document))
}

fn outcome(d: &DeprovisionApp, n: usize, target: &str) -> Option<Outcome> {
    d.ledger.entries()[&key(n)]
        .deprovisioning
        .get(target)
        .map(|o| o.outcome)
}

fn paused_metric(direct: &Direct) -> Option<u64> {
    direct
        .metrics
        .iter()
        .find_map(|m| m["DeprovisioningPaused"].as_u64())
}

fn with_message(direct: &Direct, message: &str) -> usize {
    direct
        .records()
        .iter()
        .filter(|r| r["message"] == message)
        .count()
}

#[test]
fn a_pause_makes_every_leaver_paused_and_a_resume_deactivates_them_all_once() {
    let d = deprovision_app(&targets(), directory(), &[]);
    let users = leavers(&d, 3);
    let paused = send(&d, &sample("pause.json"));
    assert_eq!(paused.body["paused"]["all"], true, "{}", paused.body);
    assert_eq!(paused.body["changed"], true);
    assert_eq!(
        paused_metric(&paused),
        Some(1),
        "the alarm's metric says paused"
    );
    assert_eq!(with_message(&paused, PAUSE_MESSAGE), 1);
    assert_eq!(paused.records()[0]["level"], "WARN");

    let batch = answer_direct(&d.app, &stream_batch(&d.ledger).unwrap());
    assert!(d.scim.changes(CHAT).is_empty() && d.scim.changes(CRM).is_empty());
    assert!(d.scim.calls(CHAT).is_empty(), "not even searched");
    assert_eq!(with_message(&batch, PAUSED_MESSAGE), 6);
    assert_eq!(
        batch.body["batchItemFailures"],
        json!([]),
        "a pause is no failure: the stream does not retry it into the dead-letter queue"
    );
    for n in 0..3 {
        assert_eq!(outcome(&d, n, "chat"), Some(Outcome::Paused));
    }
    assert_eq!(d.store.waiting_keys().len(), 3, "listed for the resume");

    let resumed = send(&d, &sample("resume.json"));
    assert_eq!(resumed.body["paused"]["all"], false, "{}", resumed.body);
    assert_eq!(resumed.body["settled"], 3);
    assert_eq!(resumed.body["outcomes"]["deactivated"], 6);
    assert_eq!(paused_metric(&resumed), Some(0), "the alarm clears");
    assert_eq!(with_message(&resumed, RESUME_MESSAGE), 1);
    let chat: Vec<Change> = users
        .iter()
        .map(|(c, _)| Change::Deactivated(c.clone()))
        .collect();
    assert_eq!(d.scim.changes(CHAT), chat);
    assert!(d.store.waiting_keys().is_empty());

    // A second resume, and a redelivery of the batch, change nothing more.
    send(&d, &sample("resume.json"));
    assert_eq!(d.scim.changes(CHAT).len(), 3);
    assert_eq!(d.scim.changes(CRM).len(), 3);
}

#[test]
fn a_pause_stops_a_backlog_between_two_leavers_within_the_same_batch() {
    let d = deprovision_app(&targets(), directory(), &[]);
    leavers(&d, 6);
    // Each SCIM call takes a while, as a real endpoint's do: the pause lands while the
    // backlog is being worked.
    d.scim.slow(CHAT, Duration::from_millis(100));
    d.scim.slow(CRM, Duration::from_millis(100));
    let batch = stream_batch(&d.ledger).unwrap();
    let worked = std::thread::scope(|scope| {
        let worker = scope.spawn(|| answer_direct(&d.app, &batch));
        // Pause once the first leaver is deactivated, while the rest are under way.
        let started = std::time::Instant::now();
        while d.scim.changes(CHAT).is_empty() && started.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(5));
        }
        send(&d, &sample("pause.json"));
        worker.join().unwrap()
    });
    let changed = d.scim.changes(CHAT).len();
    assert!(
        (1..6).contains(&changed),
        "some leavers were done before the pause, none after: {changed}"
    );
    let paused = (0..6)
        .filter(|n| outcome(&d, *n, "chat") == Some(Outcome::Paused))
        .count();
    assert_eq!(changed + paused, 6, "{}", worked.body);
    // Once paused, nothing later in the batch changed.
    let last_changed = (0..6)
        .rev()
        .find(|n| outcome(&d, *n, "chat") == Some(Outcome::Deactivated));
    let first_paused = (0..6).find(|n| outcome(&d, *n, "chat") == Some(Outcome::Paused));
    assert!(
        last_changed < first_paused,
        "{last_changed:?} {first_paused:?}"
    );

    let resumed = send(&d, &sample("resume.json"));
    assert_eq!(d.scim.changes(CHAT).len(), 6, "{}", resumed.body);
    assert_eq!(d.scim.changes(CRM).len(), 6);
}

#[test]
fn a_resume_works_the_paused_leavers_under_the_brake_and_leaves_the_rest_held() {
    let d = deprovision_app(
        &targets(),
        directory(),
        &[("DEPROVISION_MAX_PER_HOUR", "3")],
    );
    leavers(&d, 3);
    send(&d, &sample("pause.json"));
    answer_direct(&d.app, &stream_batch(&d.ledger).unwrap());
    let resumed = send(&d, &sample("resume.json"));
    assert_eq!(
        resumed.body["outcomes"]["deactivated"], 3,
        "{}",
        resumed.body
    );
    assert_eq!(resumed.body["outcomes"]["held"], 3);
    assert_eq!(
        resumed.body["remaining"], 2,
        "the held wait for the release"
    );
    let changes = d.scim.changes(CHAT).len() + d.scim.changes(CRM).len();
    assert_eq!(changes, 3, "the brake's three an hour, no more");
}

#[test]
fn a_pause_of_one_target_leaves_the_other_working() {
    let d = deprovision_app(&targets(), directory(), &[]);
    let users = leavers(&d, 1);
    let paused = send(&d, &sample("pause-target.json"));
    assert_eq!(
        paused.body["paused"]["targets"],
        json!(["chat"]),
        "{}",
        paused.body
    );
    assert_eq!(paused.body["paused"]["all"], false);
    answer_direct(&d.app, &stream_batch(&d.ledger).unwrap());
    assert!(d.scim.changes(CHAT).is_empty());
    assert_eq!(
        d.scim.changes(CRM),
        [Change::Deactivated(users[0].1.clone())]
    );
    assert_eq!(outcome(&d, 0, "chat"), Some(Outcome::Paused));

    let resumed = send(
        &d,
        &json!({"kind": "merge-deprovision.resume", "version": 1, "targets": ["chat"]}),
    );
    assert_eq!(
        resumed.body["paused"]["targets"],
        json!([]),
        "{}",
        resumed.body
    );
    assert_eq!(
        d.scim.changes(CHAT),
        [Change::Deactivated(users[0].0.clone())]
    );
    assert_eq!(d.scim.changes(CRM).len(), 1, "crm is not worked twice");
}

#[test]
fn resuming_one_target_while_everything_is_paused_leaves_it_paused() {
    let d = deprovision_app(&targets(), directory(), &[]);
    leavers(&d, 1);
    send(&d, &sample("pause.json"));
    let resumed = send(
        &d,
        &json!({"kind": "merge-deprovision.resume", "version": 1, "targets": ["chat"]}),
    );
    assert_eq!(resumed.body["paused"]["all"], true, "{}", resumed.body);
    assert_eq!(paused_metric(&resumed), Some(1), "still paused");
    answer_direct(&d.app, &stream_batch(&d.ledger).unwrap());
    assert!(d.scim.changes(CHAT).is_empty());
}

#[test]
fn a_pause_another_process_made_reaches_this_one_within_five_seconds() {
    let d = deprovision_app(&targets(), directory(), &[]);
    let other = restarted(&d, &[]);
    leavers(&d, 2);
    // This process reads the pause (nothing paused) while working the first leaver...
    let first = answer_direct(&d.app, &stream_batch(&d.ledger).unwrap());
    assert_eq!(first.body["batchItemFailures"], json!([]));
    assert_eq!(d.scim.changes(CHAT).len(), 2);
    // ...the other pauses; within five seconds, this one's next step sees it.
    send(&other, &sample("pause.json"));
    std::thread::sleep(merge_deprovision::app::deprovision::PAUSE_FRESH);
    let delivery = employee_delivery(
        "Employee.changed",
        json!({"id": employee(9), "work_email": email(9), "employment_status": "INACTIVE",
               "termination_date": "2026-11-20", "modified_at": "2026-11-26T04:12:09Z"}),
    );
    d.scim.add(CHAT, &email(9), &[&email(9)], None, true);
    answer(&d.app, &delivery);
    answer_direct(&d.app, &stream_batch(&d.ledger).unwrap());
    assert_eq!(d.scim.changes(CHAT).len(), 2, "the third leaver waits");
    assert_eq!(outcome(&d, 9, "chat"), Some(Outcome::Paused));
}

#[test]
fn a_batch_reads_the_pause_once_not_once_per_target() {
    let d = deprovision_app(&targets(), directory(), &[]);
    leavers(&d, 4);
    answer_direct(&d.app, &stream_batch(&d.ledger).unwrap());
    assert_eq!(d.scim.changes(CHAT).len(), 4);
    assert_eq!(d.store.pause_reads(), 1, "eight targets worked, one read");
}

#[test]
fn a_pause_that_cannot_be_read_changes_nothing_and_the_stream_retries() {
    use merge_deprovision::aws::ledger::LedgerError;
    let d = deprovision_app(&targets(), directory(), &[]);
    leavers(&d, 1);
    let batch = stream_batch(&d.ledger).unwrap();
    // The note is written, then the pause's read fails.
    d.store.script([None, Some(LedgerError::Unreachable)]);
    let worked = answer_direct(&d.app, &batch);
    assert!(d.scim.changes(CHAT).is_empty());
    assert!(d.scim.calls(CHAT).is_empty());
    assert_eq!(
        worked.body["batchItemFailures"].as_array().unwrap().len(),
        1,
        "{}",
        worked.body
    );
    assert_eq!(outcome(&d, 0, "chat"), Some(Outcome::Failed));
    // Retried once the table answers: done.
    answer_direct(&d.app, &batch);
    assert_eq!(d.scim.changes(CHAT).len(), 1);
}

#[test]
fn a_preview_lists_the_waiting_work_by_reason_and_the_release_then_does_exactly_that() {
    let d = deprovision_app(
        &targets(),
        directory(),
        &[("DEPROVISION_MAX_PER_HOUR", "2")],
    );
    leavers(&d, 3);
    // One more leaver with no user in chat: `not_found` there, which waits for a person.
    d.scim.add(CRM, &email(7), &[&email(7)], None, true);
    let delivery = employee_delivery(
        "Employee.changed",
        json!({"id": employee(7), "work_email": email(7), "employment_status": "INACTIVE",
               "termination_date": "2026-11-20", "modified_at": "2026-11-26T04:12:09Z"}),
    );
    answer(&d.app, &delivery);
    answer_direct(&d.app, &stream_batch(&d.ledger).unwrap());
    let before = (d.scim.calls(CHAT).len(), d.scim.calls(CRM).len());
    let waiting = d.store.waiting_keys();

    let preview = send(&d, &sample("preview-release.json"));
    let body = &preview.body;
    assert_eq!(body["preview"], true, "{body}");
    assert_eq!(body["listed"], 3, "{body}");
    assert_eq!(body["by_reason"]["held"], 5, "{body}");
    assert_eq!(body["by_reason"]["not_found"], 1, "{body}");
    assert_eq!(body["would_work"]["targets"], 5, "{body}");
    assert_eq!(body["would_work"]["employees"], 3, "{body}");
    assert_eq!(
        (d.scim.calls(CHAT).len(), d.scim.calls(CRM).len()),
        before,
        "nothing called"
    );
    assert_eq!(
        d.store.waiting_keys(),
        waiting,
        "nothing taken off the list"
    );

    let released = send(
        &d,
        &json!({"kind": "merge-deprovision.release-held", "version": 1}),
    );
    assert_eq!(
        released.body["outcomes"]["deactivated"], 5,
        "{}",
        released.body
    );
    let worked: usize = released.body["outcomes"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap() as usize)
        .sum();
    assert_eq!(
        worked, 5,
        "the release worked what the preview said, no more"
    );
    // What stays listed is what the preview said would stay: the not_found.
    let after = send(&d, &sample("preview-release.json"));
    assert_eq!(after.body["listed"], 1, "{}", after.body);
    assert_eq!(after.body["would_work"]["targets"], 0);
    assert_eq!(after.body["by_reason"]["not_found"], 1);
}

#[test]
fn a_preview_names_the_pause_and_each_paused_target() {
    let d = deprovision_app(&targets(), directory(), &[]);
    leavers(&d, 1);
    send(&d, &sample("pause-target.json"));
    answer_direct(&d.app, &stream_batch(&d.ledger).unwrap());
    let preview = send(&d, &sample("preview-release.json"));
    assert_eq!(
        preview.body["paused"]["targets"],
        json!(["chat"]),
        "{}",
        preview.body
    );
    assert_eq!(preview.body["by_reason"]["paused"], 1);
    let targets = &preview.body["employees"][0]["targets"];
    assert_eq!(targets[0]["target"], "chat");
    assert_eq!(targets[0]["outcome"], "paused");
    assert_eq!(targets[0]["would_work"], true);
}

#[test]
fn bad_pause_and_resume_documents_are_refused_naming_the_field() {
    let d = deprovision_app(&targets(), directory(), &[]);
    let cases = [
        (json!({"kind": "merge-deprovision.pause"}), "`version`"),
        (
            json!({"kind": "merge-deprovision.pause", "version": 1, "targets": "chat"}),
            "`targets`",
        ),
        (
            json!({"kind": "merge-deprovision.pause", "version": 1, "targets": ["nope"]}),
            "`targets`",
        ),
        (
            json!({"kind": "merge-deprovision.pause", "version": 1, "reason": 42}),
            "`reason`",
        ),
        (
            json!({"kind": "merge-deprovision.resume", "version": 1, "reason": "x"}),
            "`reason`",
        ),
        (
            json!({"kind": "merge-deprovision.pause", "version": 1, "all": true}),
            "field",
        ),
    ];
    for (document, field) in cases {
        let request = direct(&document);
        let (answered, _) = support::capture_logs(true, || {
            merge_deprovision_samples::ready(merge_deprovision::lambda::handler::answer_event(
                &d.app,
                &request,
                support::now(),
            ))
        });
        let answered = answered.unwrap();
        assert_eq!(answered.response.status(), 400, "{document}");
        let body: Value = serde_json::from_slice(answered.response.body().as_ref()).unwrap();
        assert!(body["message"].as_str().unwrap().contains(field), "{body}");
        assert!(!body.to_string().contains("nope"), "never echoed: {body}");
    }
    assert_eq!(d.store.stored_pause(), Default::default(), "nothing paused");
}

#[test]
fn a_pause_through_the_function_url_is_not_a_document() {
    let d = deprovision_app(&targets(), directory(), &[]);
    let request = support::post(
        sample("pause.json").to_string().as_bytes(),
        merge_deprovision_samples::Signing::TestKey,
    );
    let answered = answer(&d.app, &request);
    // Signed with the right key, it is still only a webhook, of no Employee event.
    assert_eq!(answered.status, 200, "{}", answered.body);
    assert_eq!(answered.json()["decision"], "ignored");
    assert_eq!(d.store.stored_pause(), Default::default());
}

#[test]
fn deprovision_now_acts_while_everything_automatic_is_paused() {
    let d = deprovision_app(&targets(), directory(), &[]);
    let address = email(3);
    let chat = d.scim.add(CHAT, &address, &[&address], None, true);
    // An employee the ledger holds as active, whom a person must cut off now.
    let delivery = employee_delivery(
        "Employee.changed",
        json!({"id": employee(3), "work_email": address, "employment_status": "ACTIVE",
               "termination_date": null, "modified_at": "2026-11-26T04:12:09Z"}),
    );
    assert_eq!(answer(&d.app, &delivery).status, 200);
    assert_eq!(
        d.ledger.entries()[&key(3)].decision,
        merge_deprovision::domain::decision::Decision::Active
    );
    send(&d, &sample("pause.json"));
    let now = send(
        &d,
        &json!({"kind": "merge-deprovision.deprovision-now", "version": 1,
                "linked_account_id": LINKED_ACCOUNT, "employee_id": employee(3)}),
    );
    assert_eq!(
        d.scim.changes(CHAT),
        [Change::Deactivated(chat)],
        "{}",
        now.body
    );
    assert_eq!(outcome(&d, 3, "chat"), Some(Outcome::Deactivated));
}

#[test]
fn deprovision_now_takes_again_the_access_an_undo_gave_back() {
    let d = deprovision_app(&targets(), directory(), &[]);
    let users = leavers(&d, 1);
    answer_direct(&d.app, &stream_batch(&d.ledger).unwrap());
    let undo = send(
        &d,
        &json!({"kind": "merge-deprovision.undo", "version": 1, "linked_account_id": LINKED_ACCOUNT,
                "employee_id": employee(0), "dry_run": false}),
    );
    assert_eq!(
        outcome(&d, 0, "chat"),
        Some(Outcome::Reactivated),
        "{}",
        undo.body
    );
    assert!(d.scim.user(CHAT, &users[0].0).unwrap().active);
    let now = send(
        &d,
        &json!({"kind": "merge-deprovision.deprovision-now", "version": 1,
                "linked_account_id": LINKED_ACCOUNT, "employee_id": employee(0)}),
    );
    assert!(
        !d.scim.user(CHAT, &users[0].0).unwrap().active,
        "{}",
        now.body
    );
    assert_eq!(outcome(&d, 0, "chat"), Some(Outcome::Deactivated));
}

#[test]
fn a_release_document_with_a_mistyped_preview_is_refused_not_run() {
    let d = deprovision_app(
        &targets(),
        directory(),
        &[("DEPROVISION_MAX_PER_HOUR", "1")],
    );
    leavers(&d, 1);
    answer_direct(&d.app, &stream_batch(&d.ledger).unwrap());
    let before = d.scim.changes(CRM).len() + d.scim.changes(CHAT).len();
    for document in [
        json!({"kind": "merge-deprovision.release-held", "version": 1, "preview": "true"}),
        json!({"kind": "merge-deprovision.release-held", "version": 1, "preveiw": true}),
    ] {
        let refused = send(&d, &document);
        assert_eq!(
            refused.body["error"], "invalid_document",
            "{}",
            refused.body
        );
    }
    assert_eq!(
        d.scim.changes(CRM).len() + d.scim.changes(CHAT).len(),
        before
    );
}

#[test]
fn a_pause_written_meanwhile_is_not_overwritten_by_a_write_planned_before_it() {
    use merge_deprovision::aws::deprovisioning::DeprovisionStore;
    use merge_deprovision::aws::ledger::LedgerError;
    let d = deprovision_app(&targets(), directory(), &[]);
    // Another process read "nothing paused" and plans its write; this one pauses first.
    send(&d, &sample("pause.json"));
    let planned = merge_deprovision::domain::control::Pause::default();
    assert_eq!(
        merge_deprovision_samples::ready(d.store.set_pause(&planned, None)),
        Err(LedgerError::ConditionFailed)
    );
    assert!(d.store.stored_pause().all, "the pause stands");
    // A resume reads what is stored and applies to it.
    let resumed = send(&d, &sample("resume.json"));
    assert_eq!(resumed.body["changed"], true, "{}", resumed.body);
    assert!(!d.store.stored_pause().any());
}

#[test]
fn a_preview_lists_an_employee_hr_corrected_with_nothing_to_work() {
    let d = deprovision_app(&targets(), directory(), &[]);
    leavers(&d, 1);
    send(&d, &sample("pause.json"));
    answer_direct(&d.app, &stream_batch(&d.ledger).unwrap());
    // HR corrects the bad sync: the employee is active again.
    let corrected = employee_delivery(
        "Employee.changed",
        json!({"id": employee(0), "work_email": email(0), "employment_status": "ACTIVE",
               "termination_date": null, "modified_at": "2026-11-26T06:00:00Z"}),
    );
    let answered = answer(&d.app, &corrected);
    assert_eq!(answered.status, 200);
    let entry = d.ledger.entries()[&key(0)].clone();
    assert_ne!(
        entry.decision,
        merge_deprovision::domain::decision::Decision::Terminated,
        "{}",
        answered.body
    );
    let preview = send(&d, &sample("preview-release.json"));
    assert_eq!(preview.body["listed"], 1, "{}", preview.body);
    assert_eq!(preview.body["employees"][0]["targets"], json!([]));
    assert_eq!(preview.body["would_work"]["employees"], 0);
    assert_eq!(preview.body["by_reason"], json!({}));
    // The resume takes it off the list without a call.
    let resumed = send(&d, &sample("resume.json"));
    assert_eq!(resumed.body["settled"], 1, "{}", resumed.body);
    assert!(d.scim.changes(CHAT).is_empty() && d.scim.calls(CHAT).is_empty());
}
