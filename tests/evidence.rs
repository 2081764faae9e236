//! The evidence trail, through the real handler against the in-memory twins: each
//! termination, each rehire and each target's outcome is one fact, written in the same
//! step as the change it describes, read back a month at a time; a redelivery writes
//! none, and a failure at any step leaves no change without its fact.

mod support;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use lambda_http::RequestExt;
use merge_deprovision::aws::ledger::{Ledger, LedgerError};
use merge_deprovision::domain::decision::Decision;
use merge_deprovision::domain::evidence::{Evidence, Fact, Trigger, of_write};
use merge_deprovision::domain::ledger::{EmployeeKey, Entry};
use merge_deprovision::domain::outcome::Outcome;
use merge_deprovision::lambda::handler::answer_event;
use merge_deprovision::scim::memory::MemoryScim;
use merge_deprovision_samples::ready;
use serde_json::{Value, json};
use support::{DeprovisionApp, capture_logs, deprovision_app, direct, employee_delivery};

const CHAT: &str = "https://chat.example.com/scim/v2";
const WIKI: &str = "https://wiki.example.com/scim/v2";
const CHAT_TOKEN: &str = "TOKEN-SENTINEL-chat-evidence-41d0";
const WIKI_TOKEN: &str = "TOKEN-SENTINEL-wiki-evidence-9b2e";
const LINKED_ACCOUNT: &str = "a3602c03-aba7-4d9d-a349-dbc338504092";
const EMAIL: &str = "leaver1@merge.dev";
const MONTH: &str = "2026-11";

fn employee() -> String {
    "0958cbc6-6040-430a-848e-000000000001".to_owned()
}

fn key() -> EmployeeKey {
    EmployeeKey::new(Some(LINKED_ACCOUNT), &employee())
}

fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, hour, minute, 0).unwrap()
}

fn app() -> DeprovisionApp {
    let scim = MemoryScim::new();
    scim.serve(CHAT, CHAT_TOKEN);
    scim.serve(WIKI, WIKI_TOKEN);
    let targets = json!({"targets": [
        {"name": "chat", "base_url": CHAT, "token": CHAT_TOKEN},
        {"name": "wiki", "base_url": WIKI, "token": WIKI_TOKEN},
    ]});
    deprovision_app(&targets, scim, &[])
}

/// Runs `request` through the handler at `now`, as the invocation `run`: its status.
fn invoke(d: &DeprovisionApp, request: lambda_http::Request, run: &str, now: DateTime<Utc>) -> u16 {
    let context = merge_deprovision_samples::lambda_context(run, "merge-deprovision");
    let request = request.with_lambda_context(context);
    let (answered, _) = capture_logs(true, || ready(answer_event(&d.app, &request, now)));
    answered
        .expect("the handler answers")
        .response
        .status()
        .as_u16()
}

/// An HR delivery of the employee: `status` (`INACTIVE` with a date, or `ACTIVE`).
fn delivery(
    status: &str,
    termination_date: Option<&str>,
    modified_at: &str,
) -> lambda_http::Request {
    employee_delivery(
        "Employee.changed",
        json!({"id": employee(), "work_email": EMAIL, "employment_status": status,
               "termination_date": termination_date, "modified_at": modified_at}),
    )
}

/// Every write the ledger accepted since the last call, as (before, after).
fn writes(d: &DeprovisionApp) -> Vec<(Option<Entry>, Entry)> {
    d.ledger.drain_stream()
}

/// The stream's batch of the moves into `terminated` among `accepted`, as the event
/// source mapping's filter passes them.
fn batch_of(accepted: &[(Option<Entry>, Entry)]) -> Option<lambda_http::Request> {
    let records: Vec<Value> = accepted
        .iter()
        .filter(|(old, new)| {
            new.decision == Decision::Terminated
                && old
                    .as_ref()
                    .is_none_or(|o| o.decision != Decision::Terminated)
        })
        .enumerate()
        .map(|(n, (old, new))| {
            merge_deprovision::aws::stream::record_of(old.as_ref(), new, &format!("{n:021}"))
        })
        .collect();
    (!records.is_empty()).then(|| direct(&json!({ "Records": records })))
}

fn month(d: &DeprovisionApp) -> Vec<Evidence> {
    ready(d.ledger.evidence(MONTH, Some(LINKED_ACCOUNT))).expect("the month reads")
}

/// The termination's fact, or a panic naming what came instead.
fn terminated(evidence: &Evidence) -> (Trigger, DateTime<Utc>, Trigger, bool) {
    match &evidence.fact {
        Fact::Terminated {
            by,
            learned_at,
            learned_by,
            historical,
            identity,
            ..
        } => {
            assert_eq!(identity.work_email.as_deref(), Some(EMAIL));
            (*by, *learned_at, *learned_by, *historical)
        }
        other => panic!("a termination's fact, not {other:?}"),
    }
}

/// A target's fact: (target, termination, outcome, user, run, by).
type TargetFact = (
    String,
    Option<DateTime<Utc>>,
    Outcome,
    Option<String>,
    Option<String>,
    Trigger,
);

fn target(evidence: &Evidence) -> TargetFact {
    match &evidence.fact {
        Fact::Target {
            target,
            termination,
            outcome,
            user,
            run,
            by,
        } => (
            target.clone(),
            *termination,
            *outcome,
            user.clone(),
            run.clone(),
            *by,
        ),
        other => panic!("a target's fact, not {other:?}"),
    }
}

#[test]
fn a_termination_two_targets_a_rehire_and_a_second_termination_are_each_their_own_facts() {
    let d = app();
    let chat_user = d.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let wiki_user = d.scim.add(WIKI, EMAIL, &[EMAIL], None, true);
    let first = delivery("INACTIVE", Some("2026-11-20"), "2026-11-26T04:12:09Z");
    assert_eq!(invoke(&d, first, "webhook-run-1", at(12, 0)), 200);
    let moved = writes(&d);
    let batch = batch_of(&moved).expect("the move into terminated");
    assert_eq!(invoke(&d, batch, "stream-run-1", at(12, 5)), 200);
    let rehire = delivery("ACTIVE", None, "2026-11-27T09:00:00Z");
    assert_eq!(invoke(&d, rehire, "webhook-run-2", at(13, 0)), 200);
    let second = delivery("INACTIVE", Some("2026-11-26"), "2026-11-27T10:00:00Z");
    assert_eq!(invoke(&d, second, "webhook-run-3", at(14, 0)), 200);
    let moved = writes(&d);
    let batch = batch_of(&moved).expect("the second move into terminated");
    assert_eq!(invoke(&d, batch, "stream-run-2", at(14, 5)), 200);

    let facts = month(&d);
    assert_eq!(facts.len(), 7, "{facts:#?}");
    for fact in &facts {
        assert_eq!(fact.key, key());
    }
    // The first termination: when it took effect, learned then, by the webhook.
    assert_eq!(facts[0].at, at(12, 0));
    assert_eq!(
        terminated(&facts[0]),
        (Trigger::Webhook, at(12, 0), Trigger::Webhook, false)
    );
    // Each target deactivated by the stream's run, for that termination.
    let first_run = Some("stream-run-1".to_owned());
    assert_eq!(facts[1].at, at(12, 5));
    assert_eq!(
        target(&facts[1]),
        (
            "chat".into(),
            Some(at(12, 0)),
            Outcome::Deactivated,
            Some(chat_user),
            first_run.clone(),
            Trigger::Webhook
        )
    );
    assert_eq!(
        target(&facts[2]),
        (
            "wiki".into(),
            Some(at(12, 0)),
            Outcome::Deactivated,
            Some(wiki_user),
            first_run,
            Trigger::Webhook
        )
    );
    // The rehire ends that termination.
    assert_eq!(facts[3].at, at(13, 0));
    assert_eq!(
        facts[3].fact,
        Fact::Rehired {
            termination: at(12, 0),
            by: Trigger::Webhook
        }
    );
    // The second termination is another, with its own outcomes: the users the first
    // deactivated are found inactive.
    assert_eq!(facts[4].at, at(14, 0));
    assert_eq!(
        terminated(&facts[4]),
        (Trigger::Webhook, at(14, 0), Trigger::Webhook, false)
    );
    for (fact, name) in facts[5..].iter().zip(["chat", "wiki"]) {
        assert_eq!(fact.at, at(14, 5));
        assert_eq!(
            target(fact),
            (
                name.into(),
                Some(at(14, 0)),
                Outcome::AlreadyInactive,
                None,
                None,
                Trigger::Webhook
            )
        );
    }
    let entry = d.ledger.entries()[&key()].clone();
    match &facts[4].fact {
        Fact::Terminated {
            termination_date,
            effective_at,
            rule,
            ..
        } => {
            assert_eq!(*termination_date, entry.termination_date);
            assert_eq!(*effective_at, entry.effective_at);
            // A date only, under the default cutoff: the start of the day in UTC.
            assert_eq!(rule.as_deref(), Some("start of day, UTC"));
            assert_eq!(*rule, entry.effective_rule);
        }
        other => panic!("a termination's fact, not {other:?}"),
    }
}

#[test]
fn a_redelivery_writes_no_new_fact() {
    let d = app();
    d.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    let first = || delivery("INACTIVE", Some("2026-11-20"), "2026-11-26T04:12:09Z");
    assert_eq!(invoke(&d, first(), "webhook-run-1", at(12, 0)), 200);
    let batch = batch_of(&writes(&d)).expect("the move");
    assert_eq!(invoke(&d, batch.clone(), "stream-run-1", at(12, 5)), 200);
    let before = month(&d);
    assert_eq!(before.len(), 3, "{before:#?}");
    // The same delivery again, and the stream's record again, later.
    assert_eq!(invoke(&d, first(), "webhook-run-2", at(15, 0)), 200);
    assert_eq!(invoke(&d, batch, "stream-run-2", at(15, 5)), 200);
    assert_eq!(month(&d), before);
}

#[test]
fn a_scheduled_termination_is_learned_when_first_scheduled_and_effective_by_its_timer_later() {
    let d = app();
    let future = delivery("ACTIVE", Some("2026-11-30"), "2026-11-26T04:12:09Z");
    assert_eq!(invoke(&d, future, "webhook-run-1", at(12, 0)), 200);
    let scheduled = d.ledger.entries()[&key()].clone();
    assert_eq!(scheduled.decision, Decision::Scheduled);
    assert!(month(&d).is_empty(), "a pending termination is no fact yet");
    // The same data, decided once the date has come: the move a timer would make.
    let effective = scheduled.effective_at.expect("a scheduled entry's time");
    let again = delivery("ACTIVE", Some("2026-11-30"), "2026-11-26T04:12:09Z");
    assert_eq!(
        invoke(&d, again, "webhook-run-2", effective + TimeDelta::hours(1)),
        200
    );
    let facts = ready(d.ledger.evidence("2026-12", None))
        .unwrap()
        .into_iter()
        .chain(month(&d))
        .collect::<Vec<_>>();
    assert_eq!(facts.len(), 1, "{facts:#?}");
    let (_, learned_at, learned_by, _) = terminated(&facts[0]);
    assert_eq!((learned_at, learned_by), (at(12, 0), Trigger::Webhook));
    assert_eq!(facts[0].at, effective + TimeDelta::hours(1));
}

/// The whole flow (a termination, its stream work in both targets, a rehire) with the
/// ledger's `fail_at`-th call failing: the facts stored are exactly those of the writes
/// that landed, whichever call failed.
fn flow_failing_at(fail_at: usize) -> (Vec<Evidence>, Vec<Evidence>) {
    let d = app();
    d.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    d.scim.add(WIKI, EMAIL, &[EMAIL], None, true);
    let mut script = vec![None; fail_at];
    script.push(Some(LedgerError::Unreachable));
    d.ledger.script(script);
    let mut landed = Vec::new();
    let first = delivery("INACTIVE", Some("2026-11-20"), "2026-11-26T04:12:09Z");
    invoke(&d, first, "webhook-run-1", at(12, 0));
    landed.extend(writes(&d));
    if let Some(batch) = batch_of(&landed) {
        invoke(&d, batch, "stream-run-1", at(12, 5));
    }
    let rehire = delivery("ACTIVE", None, "2026-11-27T09:00:00Z");
    invoke(&d, rehire, "webhook-run-2", at(13, 0));
    landed.extend(writes(&d));
    let expected = landed
        .iter()
        .flat_map(|(before, after)| of_write(before.as_ref(), after))
        .collect();
    (expected, d.ledger.all_evidence())
}

#[test]
fn a_failure_at_any_ledger_call_leaves_no_change_without_its_fact_nor_a_fact_without_its_change() {
    let mut failed_writes = 0;
    for fail_at in 0..16 {
        let (expected, stored) = flow_failing_at(fail_at);
        let (mut expected, mut stored) = (expected, stored);
        let order = |e: &Evidence| (e.at, format!("{:?}", e.fact));
        expected.sort_by_key(order);
        stored.sort_by_key(order);
        assert_eq!(stored, expected, "failing at call {fail_at}");
        if expected.len() < 4 {
            failed_writes += 1;
        }
    }
    assert!(
        failed_writes > 0,
        "some failure fell on a write that carried facts"
    );
}

#[test]
fn a_failed_transaction_writes_neither_the_entry_nor_its_facts() {
    let d = app();
    let first = delivery("INACTIVE", Some("2026-11-20"), "2026-11-26T04:12:09Z");
    assert_eq!(invoke(&d, first, "webhook-run-1", at(12, 0)), 200);
    let entry = d.ledger.entries()[&key()].clone();
    let mut rehired = entry.clone();
    rehired.decision = Decision::Active;
    rehired.revision += 1;
    rehired.updated_at = at(13, 0);
    let facts = of_write(Some(&entry), &rehired);
    assert_eq!(facts.len(), 1);
    d.ledger.fail_next([LedgerError::Throttled]);
    let failed = ready(d.ledger.put(&rehired, Some(entry.revision), &facts));
    assert_eq!(failed, Err(LedgerError::Throttled));
    assert_eq!(d.ledger.entries()[&key()], entry);
    assert_eq!(month(&d).len(), 1, "only the termination's own fact");
    // The same write made again over the entry it replaced (a replay of the write
    // itself): its facts' keys are taken, so it is refused whole, and the entry stays.
    ready(d.ledger.put(&rehired, Some(entry.revision), &facts)).expect("the rehire lands");
    d.ledger.insert(entry.clone());
    let refused = ready(d.ledger.put(&rehired, Some(entry.revision), &facts));
    assert_eq!(refused, Err(LedgerError::ConditionFailed));
    assert_eq!(d.ledger.entries()[&key()], entry);
    assert_eq!(
        month(&d).len(),
        2,
        "the termination's fact and the rehire's, once"
    );
}

#[test]
fn an_item_in_an_evidence_partition_this_function_did_not_write_is_unreadable_not_a_panic() {
    let d = app();
    let mut item = std::collections::HashMap::new();
    let s = |v: &str| aws_sdk_dynamodb::types::AttributeValue::S(v.to_owned());
    item.insert("linked_account_id".to_owned(), s("#evidence#2026-11"));
    item.insert(
        "employee_id".to_owned(),
        s(&format!("{LINKED_ACCOUNT}#hand-made")),
    );
    item.insert("fact".to_owned(), s("rumour"));
    d.ledger.insert_evidence_item(item);
    let read = ready(d.ledger.evidence(MONTH, Some(LINKED_ACCOUNT)));
    assert_eq!(read, Err(LedgerError::Unreadable));
}

#[test]
fn the_ledger_grant_reaches_the_evidence_partitions() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"))
        .expect("the template");
    let template: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("YAML");
    let statement = &template["Resources"]["LedgerAccessPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        [0];
    let actions: Vec<&str> = statement["Action"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    // A transaction's put needs `PutItem` on its item; the month's read is a Query.
    assert!(actions.contains(&"dynamodb:PutItem") && actions.contains(&"dynamodb:Query"));
    let excluded = statement["Condition"]["ForAllValues:StringNotEquals"]["dynamodb:LeadingKeys"]
        .as_sequence()
        .unwrap();
    assert!(
        excluded
            .iter()
            .all(|k| !k.as_str().unwrap().starts_with("#evidence")),
        "no evidence partition is kept from the function"
    );
}

fn sample(path: &str) -> Value {
    let path = format!("{}/events/{path}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The facts of `kind` among `facts`.
fn of_kind<'a>(facts: &'a [Evidence], kind: &str) -> Vec<&'a Evidence> {
    facts
        .iter()
        .filter(|e| merge_deprovision::domain::evidence::kind_of(&e.fact) == kind)
        .collect()
}

/// An operator's fact: (action, summary, run).
fn operated(evidence: &Evidence) -> (&str, &str, Option<&str>) {
    match &evidence.fact {
        Fact::Operator {
            action,
            summary,
            run,
        } => (action, summary, run.as_deref()),
        other => panic!("an operator's fact, not {other:?}"),
    }
}

#[test]
fn deprovision_now_and_its_undo_are_facts_by_hand_and_by_undo_and_each_an_operators_action() {
    let d = app();
    let chat_user = d.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    d.scim.add(WIKI, EMAIL, &[EMAIL], None, true);
    let hired = delivery("ACTIVE", None, "2026-11-26T04:12:09Z");
    assert_eq!(invoke(&d, hired, "webhook-run-1", at(12, 0)), 200);
    let now = direct(&sample("deprovision-now/by-id"));
    assert_eq!(invoke(&d, now, "now-run", at(12, 10)), 200);
    let undo = direct(&sample("undo/employee"));
    assert_eq!(invoke(&d, undo, "undo-run", at(13, 0)), 200);

    let facts = month(&d);
    let terminations = of_kind(&facts, "terminated");
    assert_eq!(terminations.len(), 1, "{facts:#?}");
    assert_eq!(
        terminated(terminations[0]),
        (Trigger::ByHand, at(12, 10), Trigger::ByHand, false)
    );
    let targets: Vec<TargetFact> = of_kind(&facts, "target").into_iter().map(target).collect();
    assert_eq!(targets.len(), 4, "{targets:#?}");
    let chat: Vec<_> = targets.iter().filter(|t| t.0 == "chat").collect();
    assert_eq!(
        *chat[0],
        (
            "chat".into(),
            Some(at(12, 10)),
            Outcome::Deactivated,
            Some(chat_user.clone()),
            Some("now-run".into()),
            Trigger::ByHand
        )
    );
    assert_eq!(
        *chat[1],
        (
            "chat".into(),
            Some(at(12, 10)),
            Outcome::Reactivated,
            Some(chat_user),
            Some("undo-run".into()),
            Trigger::Undo
        )
    );
    let operators: Vec<_> = of_kind(&facts, "operator")
        .into_iter()
        .map(operated)
        .collect();
    assert_eq!(operators.len(), 2, "{operators:#?}");
    assert_eq!(
        (operators[0].0, operators[0].2),
        ("deprovision_now", Some("now-run"))
    );
    assert!(operators[0].1.contains(&employee()), "{}", operators[0].1);
    assert_eq!((operators[1].0, operators[1].2), ("undo", Some("undo-run")));
}

#[test]
fn a_pause_and_a_resume_are_operators_facts_and_the_resumed_work_is_started_by_the_resume() {
    let d = app();
    d.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    d.scim.add(WIKI, EMAIL, &[EMAIL], None, true);
    let pause = direct(&sample("controls/pause"));
    assert_eq!(invoke(&d, pause, "pause-run", at(11, 0)), 200);
    let first = delivery("INACTIVE", Some("2026-11-20"), "2026-11-26T04:12:09Z");
    assert_eq!(invoke(&d, first, "webhook-run-1", at(12, 0)), 200);
    let batch = batch_of(&writes(&d)).expect("the move");
    assert_eq!(invoke(&d, batch, "stream-run-1", at(12, 5)), 200);
    let resume = direct(&sample("controls/resume"));
    assert_eq!(invoke(&d, resume, "resume-run", at(13, 0)), 200);

    let facts = month(&d);
    let outcomes: Vec<_> = of_kind(&facts, "target")
        .into_iter()
        .map(target)
        .map(|t| (t.0, t.2, t.5))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("chat".to_owned(), Outcome::Paused, Trigger::Webhook),
            ("wiki".to_owned(), Outcome::Paused, Trigger::Webhook),
            ("chat".to_owned(), Outcome::Deactivated, Trigger::Resume),
            ("wiki".to_owned(), Outcome::Deactivated, Trigger::Resume),
        ]
    );
    // No account named: filed under `-`, in the month's Query of every account.
    let every = ready(d.ledger.evidence(MONTH, None)).unwrap();
    let operators: Vec<_> = of_kind(&every, "operator")
        .into_iter()
        .map(operated)
        .collect();
    assert_eq!(
        operators,
        [
            ("pause", "paused: every target", Some("pause-run")),
            ("resume", "paused: none", Some("resume-run")),
        ]
    );
    // The operator's free-text reason stays out of the trail.
    assert!(
        every
            .iter()
            .all(|e| !format!("{e:?}").contains("sales team"))
    );
}

/// The metrics lines the handler answered `request` with at `now`, one JSON object each.
fn metric_lines(
    d: &DeprovisionApp,
    request: lambda_http::Request,
    now: DateTime<Utc>,
) -> Vec<Value> {
    let context = merge_deprovision_samples::lambda_context("stream-run", "merge-deprovision");
    let request = request.with_lambda_context(context);
    let (answered, _) = capture_logs(true, || ready(answer_event(&d.app, &request, now)));
    let lines = answered
        .expect("the handler answers")
        .metrics
        .unwrap_or_default();
    lines
        .lines()
        .map(|line| serde_json::from_str(line).expect("a metrics line is JSON"))
        .collect()
}

#[test]
fn each_removal_is_measured_against_the_sla_from_the_terminations_effective_time() {
    let d = app();
    d.scim.add(CHAT, EMAIL, &[EMAIL], None, true);
    d.scim.add(WIKI, EMAIL, &[EMAIL], None, true);
    // Effective at midnight UTC on the 27th: worked 12 hours later, within a day.
    let leaver = delivery("INACTIVE", Some("2026-11-27"), "2026-11-27T04:12:09Z");
    assert_eq!(invoke(&d, leaver, "webhook-run", at(12, 0)), 200);
    let batch = batch_of(&writes(&d)).expect("the move into terminated");
    let lines = metric_lines(&d, batch, at(12, 0));
    let removals: Vec<&Value> = lines
        .iter()
        .filter(|line| line.get("AccessRemovalSeconds").is_some())
        .collect();
    assert_eq!(removals.len(), 2, "one removal a target: {lines:#?}");
    for line in removals {
        let day_start = Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap();
        let after = (at(12, 0) - day_start).num_seconds() as f64;
        assert_eq!(line["AccessRemovalSeconds"], after, "{line}");
        assert_eq!(line["AccessRemovalWithinSla"], 1, "{line}");
        assert!(line.get("AccessRemovalMissedSla").is_none(), "{line}");
    }
}
