//! Reconciliation end to end: sweeps driven through the real handler against a fake of
//! Merge's API on loopback, into the in-memory ledger and schedule group. The API key
//! and account tokens are sentinels, and no output may carry them.

mod support;

use chrono::{DateTime, TimeDelta, Utc};
use merge_deprovision::app::sweep::Reconciliation;
use merge_deprovision::aws::scheduler::SchedulerError;
use merge_deprovision::domain::decision::{Decision, Policy};
use merge_deprovision::domain::ledger::{EmployeeKey, Identity, Observation, Source, transition};
use merge_deprovision::domain::reconcile::{OVERLAP, sweep_schedule_name};
use merge_deprovision::lambda::handler::answer_event;
use merge_deprovision::lambda::state::App;
use merge_deprovision::merge::client::MergeClient;
use merge_deprovision_samples::Signing;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use support::fake_merge::{API_KEY, FakeMerge, Scripted, employee, employees};
use support::{LedgerApp, capture_logs, fired_event, in_lambda, ledger_app, now, post};

const ACCOUNT: &str = "acct-1";
const OTHER: &str = "acct-2";
const TOKEN: &str = "SENTINEL-ACCOUNT-TOKEN-1";
const OTHER_TOKEN: &str = "SENTINEL-ACCOUNT-TOKEN-2";
const EARLIER: &str = "2026-11-20T08:00:00Z";

fn block<F: std::future::Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
    }
    RUNTIME.with(|runtime| runtime.block_on(future))
}

struct Sweeping {
    app: App,
    store: Arc<merge_deprovision::aws::memory::MemorySecrets>,
    ledger: Arc<merge_deprovision::aws::memory::MemoryLedger>,
    schedules: Arc<merge_deprovision::aws::memory::MemorySchedules>,
    merge: FakeMerge,
}

fn sweeping(page_limit: usize) -> Sweeping {
    let merge = FakeMerge::start();
    let LedgerApp {
        app,
        ledger,
        schedules,
    } = ledger_app();
    let base = merge_deprovision::net::base_url(&merge.base_url()).unwrap();
    let (secret, store) = support::merge_secret(
        &json!({"api_key": API_KEY, "account_tokens": {ACCOUNT: TOKEN, OTHER: OTHER_TOKEN}}),
    );
    let app = app.with_reconciliation(Reconciliation {
        secret: secret.into(),
        pages: Arc::new(MergeClient::new(
            merge_deprovision::net::client().unwrap(),
            &base,
        )),
        policy: Policy::default(),
        page_limit,
    });
    Sweeping {
        app,
        store,
        ledger,
        schedules,
        merge,
    }
}

/// What one invocation answered and wrote.
struct Swept {
    body: Value,
    metrics: Option<Value>,
    logs: String,
}

impl Swept {
    fn records(&self) -> Vec<Value> {
        self.logs
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn with_message(&self, message: &str) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|r| r["message"] == message)
            .collect()
    }

    fn summary(&self) -> Value {
        self.records()
            .into_iter()
            .find(|r| r["reconciliation"].is_string())
            .expect("a sweep record")
    }
}

fn invoke(s: &Sweeping, input: &str, at: DateTime<Utc>) -> Swept {
    let request = fired_event(input);
    let (answered, logs) = capture_logs(true, || block(answer_event(&s.app, &request, at)));
    let answered = answered.expect("the sweep answers");
    let body = serde_json::from_slice(answered.response.body().as_ref()).unwrap();
    let metrics = answered.metrics.map(|m| serde_json::from_str(&m).unwrap());
    let swept = Swept {
        body,
        metrics,
        logs,
    };
    assert_no_secret(&swept.logs);
    assert_no_secret(&swept.body.to_string());
    if let Some(metrics) = &swept.metrics {
        assert_no_secret(&metrics.to_string());
    }
    swept
}

fn assert_no_secret(text: &str) {
    for secret in [API_KEY, TOKEN, OTHER_TOKEN, "SENTINEL"] {
        assert!(
            !text.contains(secret),
            "a secret or sensitive field leaked: {text}"
        );
    }
}

fn sweep_of(account: &str) -> String {
    json!({"kind": "merge-deprovision.reconcile", "version": 1, "linked_account_id": account})
        .to_string()
}

fn sweep(s: &Sweeping, at: DateTime<Utc>) -> Swept {
    invoke(s, &sweep_of(ACCOUNT), at)
}

fn leaver(index: usize, date: &str, modified_at: &str) -> Value {
    let mut e = employee(index, modified_at);
    e["employment_status"] = json!("INACTIVE");
    e["termination_date"] = json!(date);
    e
}

fn id(index: usize) -> String {
    format!("00000000-0000-4000-8000-{index:012}")
}

fn entry_of(s: &Sweeping, index: usize) -> Option<merge_deprovision::domain::ledger::Entry> {
    s.ledger
        .entries()
        .get(&EmployeeKey::new(Some(ACCOUNT), &id(index)))
        .cloned()
}

fn query_of(request: &support::fake_merge::Recorded) -> BTreeMap<String, String> {
    request.query.iter().cloned().collect()
}

#[test]
fn a_first_full_sweep_reads_every_page_and_records_only_what_it_found() {
    let s = sweeping(usize::MAX);
    let mut staff = employees(250, EARLIER);
    staff[7] = leaver(7, "2026-11-21T00:00:00Z", EARLIER);
    staff[8] = leaver(8, "2099-06-30T00:00:00Z", EARLIER);
    staff[8]["employment_status"] = json!("ACTIVE");
    s.merge.set_account(TOKEN, staff);

    let swept = sweep(&s, now());

    assert_eq!(swept.body["reconciliation"], "completed");
    let requests = s.merge.requests();
    assert_eq!(requests.len(), 3, "250 employees are three pages of 100");
    for request in &requests {
        let query = query_of(request);
        assert_eq!(query["page_size"], "100");
        assert_eq!(query["include_deleted_data"], "true");
        assert!(
            !query.contains_key("modified_after"),
            "a first sweep reads all"
        );
        assert!(!query.contains_key("include_remote_data"));
        assert_eq!(
            request.headers["authorization"],
            format!("Bearer {API_KEY}")
        );
        assert_eq!(request.headers["x-account-token"], TOKEN);
    }
    assert!(!query_of(&requests[0]).contains_key("cursor"));
    assert!(query_of(&requests[1]).contains_key("cursor"));
    assert_eq!(s.ledger.entries().len(), 250);
    assert_eq!(entry_of(&s, 7).unwrap().decision, Decision::Terminated);
    assert_eq!(entry_of(&s, 7).unwrap().changed_by, Source::Reconciliation);
    assert_eq!(entry_of(&s, 8).unwrap().decision, Decision::Scheduled);
    assert_eq!(
        s.schedules.schedules().len(),
        1,
        "the future date has its timer"
    );
    let terminated = swept.with_message("employee terminated: revoke access");
    assert_eq!(terminated.len(), 1, "one terminated record");
    assert_eq!(terminated[0]["source"], "reconciliation");
    assert_eq!(terminated[0]["employee_id"], id(7));
    assert_eq!(
        swept.records().len(),
        3,
        "the leaver, the schedule and the summary: unchanged employees write no record"
    );
    let summary = swept.summary();
    assert_eq!(summary["pages"], 3);
    assert_eq!(summary["employees"], 250);
    assert_eq!(summary["changed_terminated"], 1);
    assert_eq!(summary["changed_scheduled"], 1);
    assert_eq!(summary["requests"], 3);
    assert_eq!(summary["watermark"], "2026-11-27T12:00:00Z");
    let metrics = swept.metrics.unwrap();
    assert_eq!(metrics["FoundByReconciliation"], 2);
    assert_eq!(metrics["Sweeps"], 1);
    assert_eq!(metrics["Terminations"], 1);
    assert!(
        entry_of(&s, 7).unwrap().announced,
        "the record is marked written"
    );
}

#[test]
fn an_incremental_sweep_reads_from_the_watermark_less_the_overlap_and_finds_a_missed_webhook() {
    let s = sweeping(usize::MAX);
    s.merge.set_account(TOKEN, employees(150, EARLIER));
    sweep(&s, now());
    s.merge.clear_requests();
    // A sync marks employee 42 a leaver; its webhook never arrives.
    let synced = "2026-11-28T03:00:00Z";
    s.merge.update(
        TOKEN,
        &id(42),
        json!({"employment_status": "INACTIVE", "termination_date": "2026-11-27T00:00:00Z", "modified_at": synced}),
    );
    let tomorrow = now() + TimeDelta::days(1);

    let swept = sweep(&s, tomorrow);

    let requests = s.merge.requests();
    assert_eq!(requests.len(), 1, "only what changed comes back");
    assert_eq!(
        query_of(&requests[0])["modified_after"],
        merge_deprovision::domain::dates::to_rfc3339(now() - OVERLAP)
    );
    assert_eq!(entry_of(&s, 42).unwrap().decision, Decision::Terminated);
    assert_eq!(
        swept
            .with_message("employee terminated: revoke access")
            .len(),
        1
    );
    assert_eq!(swept.metrics.clone().unwrap()["FoundByReconciliation"], 1);
    assert_eq!(swept.summary()["watermark"], "2026-11-28T12:00:00Z");
    // The same sweep again finds nothing new and writes nothing.
    let writes = s.ledger.writes().len();
    let again = sweep(&s, tomorrow + TimeDelta::hours(1));
    assert_eq!(s.ledger.writes().len(), writes);
    assert!(
        again
            .metrics
            .unwrap()
            .get("FoundByReconciliation")
            .is_none()
    );
}

#[test]
fn a_termination_date_that_passed_with_no_webhook_is_terminated_by_the_sweep() {
    let s = sweeping(usize::MAX);
    let mut staff = employees(3, EARLIER);
    // Still ACTIVE in Merge, but the date is past: no webhook comes when a date passes.
    staff[1]["termination_date"] = json!("2026-11-26T00:00:00Z");
    s.merge.set_account(TOKEN, staff);

    let swept = sweep(&s, now());

    let entry = entry_of(&s, 1).unwrap();
    assert_eq!(entry.decision, Decision::Terminated);
    assert_eq!(entry.changed_by, Source::Reconciliation);
    let records = swept.with_message("employee terminated: revoke access");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["reasons"], "termination_date_passed");
}

#[test]
fn an_overdue_timer_is_terminated_by_the_sweep_and_a_recent_one_is_left_to_fire() {
    let s = sweeping(usize::MAX);
    s.merge.set_account(TOKEN, employees(2, EARLIER));
    let scheduled = |index: usize, effective: DateTime<Utc>| {
        let observation = Observation {
            key: EmployeeKey::new(Some(ACCOUNT), &id(index)),
            decision: Decision::Scheduled,
            reasons: "termination_date_in_future".into(),
            termination_date: Some(effective),
            effective_at: Some(effective),
            effective_rule: Some("the date's own time".into()),
            version: Some(now() - TimeDelta::days(10)),
            removal: false,
            identity: Identity::default(),
            source: Source::Webhook,
            delivery_id: None,
        };
        transition(None, &observation, now() - TimeDelta::days(10))
            .write
            .unwrap()
    };
    // Its timer went to the dead-letter queue an hour ago; another is due in 5 minutes.
    s.ledger.insert(scheduled(100, now() - TimeDelta::hours(1)));
    s.ledger
        .insert(scheduled(101, now() - TimeDelta::minutes(5)));

    let swept = sweep(&s, now());

    assert_eq!(entry_of(&s, 100).unwrap().decision, Decision::Terminated);
    assert_eq!(
        entry_of(&s, 100).unwrap().changed_by,
        Source::Reconciliation
    );
    assert_eq!(entry_of(&s, 101).unwrap().decision, Decision::Scheduled);
    let records = swept.with_message("employee terminated: revoke access");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["employee_id"], id(100));
    assert_eq!(records[0]["source"], "reconciliation");
    assert_eq!(swept.summary()["changed_terminated"], 1);
}

#[test]
fn a_sweep_resumed_across_three_invocations_reads_each_page_once_and_skips_none() {
    let s = sweeping(1);
    let mut staff = employees(250, EARLIER);
    staff[249] = leaver(249, "2026-11-21T00:00:00Z", EARLIER);
    s.merge.set_account(TOKEN, staff);
    // Scheduler keeps a fired schedule a while: each follow-up is created meanwhile.
    s.schedules.keep_fired();

    let first = sweep(&s, now());
    assert_eq!(first.body["reconciliation"], "paused");
    let stored = s.ledger.sweeps()[ACCOUNT].clone();
    assert_eq!(
        stored.watermark, None,
        "the watermark waits for the last page"
    );
    assert!(stored.run.as_ref().unwrap().cursor.is_some());
    let (_, follow_up) = s
        .schedules
        .fire_next_once()
        .expect("a follow-up is scheduled");
    let second = invoke(&s, &follow_up, now() + TimeDelta::minutes(1));
    assert_eq!(second.body["reconciliation"], "paused");
    let (_, follow_up) = s.schedules.fire_next_once().expect("another follow-up");
    let third = invoke(&s, &follow_up, now() + TimeDelta::minutes(2));

    assert_eq!(third.body["reconciliation"], "completed");
    assert!(
        s.schedules.once_schedules().is_empty(),
        "nothing more to continue"
    );
    let cursors: Vec<Option<String>> = s
        .merge
        .requests()
        .iter()
        .map(|r| query_of(r).get("cursor").cloned())
        .collect();
    assert_eq!(cursors.len(), 3);
    let distinct: std::collections::BTreeSet<_> = cursors.iter().collect();
    assert_eq!(distinct.len(), 3, "no page read twice: {cursors:?}");
    assert_eq!(s.ledger.entries().len(), 250, "none skipped");
    assert_eq!(entry_of(&s, 249).unwrap().decision, Decision::Terminated);
    let summary = third.summary();
    assert_eq!(summary["pages"], 3, "the summary covers the whole sweep");
    assert_eq!(summary["employees"], 250);
    assert_eq!(
        summary["watermark"], "2026-11-27T12:00:00Z",
        "the watermark is when the sweep started"
    );
}

#[test]
fn a_stale_page_does_not_undo_a_newer_webhook() {
    let s = sweeping(usize::MAX);
    // The webhook said terminated at 10:00; the sweep's page still holds the 08:00 record.
    let newer = Observation {
        key: EmployeeKey::new(Some(ACCOUNT), &id(3)),
        decision: Decision::Terminated,
        reasons: "status_inactive".into(),
        termination_date: None,
        effective_at: None,
        effective_rule: None,
        version: Some("2026-11-20T10:00:00Z".parse().unwrap()),
        removal: false,
        identity: Identity::default(),
        source: Source::Webhook,
        delivery_id: Some("d1".into()),
    };
    let mut stored = transition(None, &newer, now()).write.unwrap();
    stored.announced = true;
    s.ledger.insert(stored.clone());
    s.merge.set_account(TOKEN, employees(5, EARLIER));

    let swept = sweep(&s, now());

    assert_eq!(entry_of(&s, 3), Some(stored), "the newer webhook stands");
    assert!(swept.with_message("employee active").is_empty());
    assert_eq!(swept.summary()["changed_active"], 0);
}

fn sync_completed(account: &str) -> lambda_http::Request {
    let body = json!({
        "hook": {"id": "h1", "event": "LinkedAccount.sync_completed", "target": "https://example.com"},
        "linked_account": {"id": account, "integration": "Humaans", "integration_slug": "humaans",
            "category": "hris", "end_user_origin_id": "o1", "account_type": "PRODUCTION"},
        "data": {"is_initial_sync": false, "integration_name": "Humaans",
            "sync_status": {"hris.Employee": {"last_sync_result": "DONE"}}}
    });
    in_lambda(post(&serde_json::to_vec(&body).unwrap(), Signing::TestKey))
}

#[test]
fn two_sync_completed_webhooks_for_one_account_give_one_sweep() {
    let s = sweeping(usize::MAX);
    s.merge.set_account(TOKEN, employees(3, EARLIER));
    let first = support::answer(&s.app, &sync_completed(ACCOUNT));
    let second = support::answer(&s.app, &sync_completed(ACCOUNT));

    assert_eq!(first.status, 200);
    assert_eq!(first.json()["sweep"], "requested");
    assert_eq!(second.status, 200);
    assert_eq!(second.json()["sweep"], "pending");
    assert!(
        s.merge.requests().is_empty(),
        "the webhook reads nothing itself"
    );
    let pending = s.schedules.once_schedules();
    assert_eq!(pending.len(), 1, "one sweep pending");
    let (at, _) = pending.values().next().unwrap().clone();
    assert!(at > now(), "in its own invocation, later");
    let input = s
        .schedules
        .fire_once(&sweep_schedule_name(ACCOUNT))
        .unwrap();
    let swept = invoke(&s, &input, at);
    assert_eq!(swept.body["reconciliation"], "completed");
    assert!(s.schedules.once_schedules().is_empty());
}

#[test]
fn a_webhook_for_an_account_missing_from_the_secret_warns_and_calls_nothing() {
    let s = sweeping(usize::MAX);
    let answer = support::answer(&s.app, &sync_completed("acct-unknown"));
    assert_eq!(answer.status, 200);
    let records = answer.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["level"], "WARN");
    assert_eq!(records[0]["linked_account_id"], "acct-unknown");
    assert_eq!(s.schedules.calls(), 0);
    assert!(s.merge.requests().is_empty());
}

#[test]
fn throttling_and_server_errors_are_retried_honouring_retry_after() {
    let s = sweeping(usize::MAX);
    s.merge.set_account(TOKEN, employees(3, EARLIER));
    s.merge.script([
        Scripted::TooMany(Some(1)),
        Scripted::TooMany(None),
        Scripted::Unavailable,
    ]);
    let started = std::time::Instant::now();

    let swept = sweep(&s, now());

    assert_eq!(swept.body["reconciliation"], "completed");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After: 1 was waited"
    );
    let summary = swept.summary();
    assert_eq!(summary["requests"], 4);
    assert_eq!(summary["rate_limited"], 2);
    assert_eq!(s.ledger.entries().len(), 3);
}

#[test]
fn a_retry_after_longer_than_the_invocation_delays_the_follow_up_as_long() {
    let s = sweeping(usize::MAX);
    s.merge.set_account(TOKEN, employees(3, EARLIER));
    s.merge.script([Scripted::TooMany(Some(600))]);
    let started = std::time::Instant::now();

    let swept = sweep(&s, now());

    assert_eq!(swept.body["reconciliation"], "merge_unavailable");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "no wait the budget cannot hold"
    );
    let (_, (at, _)) = s.schedules.once_schedules().pop_first().unwrap();
    assert!(
        at >= now() + TimeDelta::minutes(10),
        "not before Merge asked: {at}"
    );
}

#[test]
fn a_refused_token_is_an_error_naming_the_account_and_the_other_accounts_go_on() {
    let s = sweeping(usize::MAX);
    s.merge.set_account(TOKEN, employees(3, EARLIER));
    s.merge.set_account(OTHER_TOKEN, employees(2, EARLIER));
    s.merge.script([Scripted::Unauthorized]);

    let refused = sweep(&s, now());
    let other = invoke(&s, &sweep_of(OTHER), now());

    let summary = refused.summary();
    assert_eq!(summary["level"], "ERROR");
    assert_eq!(summary["reconciliation"], "unauthorized");
    assert_eq!(summary["linked_account_id"], ACCOUNT);
    assert_eq!(summary["status"], 401);
    assert_eq!(
        refused.metrics.clone().unwrap()["ReconciliationFailures"],
        1
    );
    assert_eq!(other.body["reconciliation"], "completed");
    assert_eq!(
        s.ledger.sweeps()[ACCOUNT].lease_until,
        None,
        "the lease is released"
    );
}

#[test]
fn a_cursor_merge_refuses_is_a_failure_and_the_next_sweep_restarts_from_the_watermark() {
    let s = sweeping(1);
    s.merge.set_account(TOKEN, employees(250, EARLIER));
    let first = sweep(&s, now());
    assert_eq!(first.body["reconciliation"], "paused");
    let (_, follow_up) = s.schedules.fire_next_once().expect("a follow-up");
    s.merge.script([Scripted::BadRequest]);

    let refused = invoke(&s, &follow_up, now() + TimeDelta::minutes(1));

    let summary = refused.summary();
    assert_eq!(summary["reconciliation"], "merge_rejected");
    assert_eq!(summary["level"], "ERROR");
    assert_eq!(summary["status"], 400);
    assert_eq!(
        refused.metrics.clone().unwrap()["ReconciliationFailures"],
        1
    );
    assert!(
        s.schedules.once_schedules().is_empty(),
        "the same request is not sent again a minute later"
    );
    let stored = s.ledger.sweeps()[ACCOUNT].clone();
    assert_eq!(stored.run, None, "the refused cursor is dropped");
    assert_eq!(stored.lease_until, None);

    s.merge.clear_requests();
    let next = sweep(&s, now() + TimeDelta::minutes(5));
    assert_eq!(next.body["reconciliation"], "paused");
    let requests = s.merge.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        query_of(&requests[0]).get("cursor"),
        None,
        "the next sweep starts from the first page"
    );
}

#[test]
fn merge_unavailable_five_invocations_in_a_row_is_a_failure_and_follow_ups_back_off() {
    use merge_deprovision::app::sweep::PAGE_ATTEMPTS;
    use merge_deprovision::domain::reconcile::UNAVAILABLE_LIMIT;
    let s = sweeping(usize::MAX);
    s.merge.set_account(TOKEN, employees(3, EARLIER));
    let mut input = sweep_of(ACCOUNT);
    let mut at = now();
    for time in 1..=UNAVAILABLE_LIMIT {
        // Retry-After: 0, so that the retries cost no time here.
        s.merge
            .script((0..PAGE_ATTEMPTS).map(|_| Scripted::TooMany(Some(0))));
        let swept = invoke(&s, &input, at);
        let summary = swept.summary();
        let failures = swept
            .metrics
            .as_ref()
            .and_then(|m| m["ReconciliationFailures"].as_u64())
            .unwrap_or(0);
        let (name, (when, follow_up)) = s.schedules.once_schedules().pop_first().unwrap();
        if time < UNAVAILABLE_LIMIT {
            assert_eq!(summary["reconciliation"], "merge_unavailable");
            assert_eq!(summary["level"], "WARN");
            assert_eq!(failures, 0);
            assert_eq!(when, at + TimeDelta::minutes(1));
        } else {
            assert_eq!(summary["reconciliation"], "merge_down");
            assert_eq!(summary["level"], "ERROR");
            assert_eq!(failures, 1);
            assert!(when > at + TimeDelta::minutes(1), "backed off: {when}");
        }
        s.schedules.fire_once(&name);
        input = follow_up;
        at = when;
    }
    let recovered = invoke(&s, &input, at);
    assert_eq!(recovered.body["reconciliation"], "completed");
    assert_eq!(s.ledger.sweeps()[ACCOUNT].unavailable, 0);
}

#[test]
fn a_follow_up_created_while_scheduler_still_keeps_the_fired_schedule_is_not_lost() {
    let s = sweeping(1);
    s.merge.set_account(TOKEN, employees(250, EARLIER));
    s.schedules.keep_fired();
    let requested = support::answer(&s.app, &sync_completed(ACCOUNT));
    assert_eq!(requested.json()["sweep"], "requested");
    let fired = sweep_schedule_name(ACCOUNT);
    let input = s.schedules.fire_once(&fired).expect("the requested sweep");

    let swept = invoke(&s, &input, now() + TimeDelta::minutes(1));

    assert_eq!(swept.body["reconciliation"], "paused");
    let pending = s.schedules.once_schedules();
    assert_eq!(pending.len(), 1, "the follow-up is pending: {pending:?}");
    let (name, (at, _)) = pending.first_key_value().unwrap();
    assert_ne!(*name, fired, "a name of its own");
    assert!(*at > now() + TimeDelta::minutes(1));
    let again = support::answer(&s.app, &sync_completed(ACCOUNT));
    assert_eq!(
        again.json()["sweep"],
        "pending",
        "webhooks still collapse on the fixed name"
    );
}

#[test]
fn a_page_past_four_mib_is_refused_as_malformed_and_is_a_failure() {
    let s = sweeping(usize::MAX);
    s.merge.set_account(TOKEN, employees(3, EARLIER));
    s.merge.script([Scripted::Oversized]);

    let swept = sweep(&s, now());

    let summary = swept.summary();
    assert_eq!(summary["reconciliation"], "merge_rejected");
    assert_eq!(summary["error"], "malformed_page");
    assert_eq!(summary["level"], "ERROR");
    assert!(s.ledger.entries().is_empty());
}

#[test]
fn a_malformed_page_behind_a_cursor_drops_the_cursor_and_the_next_sweep_restarts_from_the_watermark()
 {
    let s = sweeping(1);
    s.merge.set_account(TOKEN, employees(250, EARLIER));
    let first = sweep(&s, now());
    assert_eq!(first.body["reconciliation"], "paused");
    let (_, follow_up) = s.schedules.fire_next_once().expect("a follow-up");
    s.merge.script([Scripted::Oversized]);

    let malformed = invoke(&s, &follow_up, now() + TimeDelta::minutes(1));

    let summary = malformed.summary();
    assert_eq!(summary["reconciliation"], "merge_rejected");
    assert_eq!(summary["error"], "malformed_page");
    assert!(
        s.schedules.once_schedules().is_empty(),
        "the same page is not asked for again a minute later"
    );
    let stored = s.ledger.sweeps()[ACCOUNT].clone();
    assert_eq!(
        stored.run, None,
        "the cursor of the malformed page is dropped"
    );
    assert_eq!(stored.lease_until, None);

    s.merge.clear_requests();
    let next = sweep(&s, now() + TimeDelta::minutes(5));
    assert_eq!(next.body["reconciliation"], "paused");
    let requests = s.merge.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        query_of(&requests[0]).get("cursor"),
        None,
        "the next sweep starts from the first page"
    );
}

/// The summary's failures metric, 0 when absent.
fn failures_of(swept: &Swept) -> u64 {
    swept
        .metrics
        .as_ref()
        .and_then(|m| m["ReconciliationFailures"].as_u64())
        .unwrap_or(0)
}

/// After a run was dropped: the next sweep asks for the first page again, reads every
/// page and completes.
fn the_next_sweep_starts_from_the_first_page(s: &Sweeping, at: DateTime<Utc>) {
    s.merge.clear_requests();
    let next = sweep(s, at);
    assert_eq!(next.body["reconciliation"], "completed");
    let requests = s.merge.requests();
    assert_eq!(
        query_of(&requests[0]).get("cursor"),
        None,
        "the next sweep starts from the first page"
    );
}

#[test]
fn a_next_equal_to_the_cursor_just_read_abandons_the_run_as_malformed_and_is_a_failure() {
    let s = sweeping(usize::MAX);
    s.merge.set_account(TOKEN, employees(250, EARLIER));
    // The first page as usual; the second answers with its own cursor as `next`.
    s.merge.script([Scripted::AsUsual, Scripted::NextRepeats]);

    let swept = sweep(&s, now());

    assert_eq!(
        s.merge.requests().len(),
        2,
        "the same page is not asked for again"
    );
    let summary = swept.summary();
    assert_eq!(summary["reconciliation"], "merge_rejected");
    assert_eq!(summary["error"], "malformed_page");
    assert_eq!(summary["level"], "ERROR");
    assert_eq!(failures_of(&swept), 1);
    assert!(
        s.schedules.once_schedules().is_empty(),
        "no follow-up asks for it again"
    );
    let stored = s.ledger.sweeps()[ACCOUNT].clone();
    assert_eq!(stored.run, None, "the run is dropped");
    assert_eq!(stored.watermark, None, "the watermark does not move");
    assert_eq!(
        s.ledger.entries().len(),
        100,
        "the looping page's employees are not settled"
    );
    the_next_sweep_starts_from_the_first_page(&s, now() + TimeDelta::minutes(5));
}

#[test]
fn an_empty_next_abandons_the_run_as_malformed_and_is_a_failure() {
    let s = sweeping(usize::MAX);
    s.merge.set_account(TOKEN, employees(250, EARLIER));
    s.merge.script([Scripted::AsUsual, Scripted::NextEmpty]);

    let swept = sweep(&s, now());

    assert_eq!(s.merge.requests().len(), 2);
    assert_eq!(swept.summary()["reconciliation"], "merge_rejected");
    assert_eq!(swept.summary()["error"], "malformed_page");
    assert_eq!(failures_of(&swept), 1);
    assert!(s.schedules.once_schedules().is_empty());
    assert_eq!(s.ledger.sweeps()[ACCOUNT].run, None);
    the_next_sweep_starts_from_the_first_page(&s, now() + TimeDelta::minutes(5));
}

#[test]
fn a_run_past_its_invocations_gives_up_with_too_many_invocations_and_restarts_from_the_watermark() {
    use merge_deprovision::domain::reconcile::RUN_INVOCATIONS;
    let s = sweeping(1);
    s.merge.set_account(TOKEN, employees(250, EARLIER));
    let first = sweep(&s, now());
    assert_eq!(first.body["reconciliation"], "paused");
    assert_eq!(
        s.ledger.sweeps()[ACCOUNT].run.as_ref().unwrap().invocations,
        1
    );
    // As if the run had gone on for all the invocations it may take.
    let mut stored = s.ledger.sweeps()[ACCOUNT].clone();
    stored.run.as_mut().unwrap().invocations = RUN_INVOCATIONS;
    stored.revision += 1;
    let expected = Some(stored.revision - 1);
    block(merge_deprovision::aws::ledger::Ledger::put_sweep(
        s.ledger.as_ref(),
        &stored,
        expected,
    ))
    .unwrap();
    let (_, follow_up) = s.schedules.fire_next_once().expect("a follow-up");
    s.merge.clear_requests();

    let given_up = invoke(&s, &follow_up, now() + TimeDelta::minutes(1));

    let summary = given_up.summary();
    assert_eq!(summary["reconciliation"], "too_many_invocations");
    assert_eq!(summary["error"], "too_many_invocations");
    assert_eq!(summary["level"], "ERROR");
    assert_eq!(failures_of(&given_up), 1);
    assert!(s.merge.requests().is_empty(), "no page read");
    assert!(s.schedules.once_schedules().is_empty(), "no follow-up");
    assert_eq!(s.ledger.sweeps()[ACCOUNT].run, None, "the run is dropped");
    s.merge.clear_requests();
    let next = sweep(&s, now() + TimeDelta::minutes(5));
    assert_eq!(next.body["reconciliation"], "paused");
    assert_eq!(query_of(&s.merge.requests()[0]).get("cursor"), None);
    assert_eq!(
        s.ledger.sweeps()[ACCOUNT].run.as_ref().unwrap().invocations,
        1
    );
}

#[test]
fn a_failed_overdue_step_is_followed_up_a_minute_later_and_the_follow_up_terminates_the_overdue() {
    let s = sweeping(usize::MAX);
    s.merge.set_account(TOKEN, Vec::new());
    let observation = Observation {
        key: EmployeeKey::new(Some(ACCOUNT), &id(100)),
        decision: Decision::Scheduled,
        reasons: "termination_date_in_future".into(),
        termination_date: Some(now() - TimeDelta::hours(1)),
        effective_at: Some(now() - TimeDelta::hours(1)),
        effective_rule: Some("the date's own time".into()),
        version: Some(now() - TimeDelta::days(10)),
        removal: false,
        identity: Identity::default(),
        source: Source::Webhook,
        delivery_id: None,
    };
    // Its timer was lost.
    s.ledger.insert(
        transition(None, &observation, now() - TimeDelta::days(10))
            .write
            .unwrap(),
    );
    // The lease's read and write go through; the overdue query fails.
    s.ledger.script([
        None,
        None,
        Some(merge_deprovision::aws::ledger::LedgerError::Unreachable),
    ]);

    let failed = sweep(&s, now());

    assert_eq!(failed.summary()["reconciliation"], "ledger_failed");
    assert_eq!(failed.summary()["level"], "ERROR");
    assert_eq!(failures_of(&failed), 1);
    assert_eq!(entry_of(&s, 100).unwrap().decision, Decision::Scheduled);
    let pending = s.schedules.once_schedules();
    assert_eq!(pending.len(), 1, "a follow-up: {pending:?}");
    let (at, _) = pending.values().next().unwrap().clone();
    assert_eq!(at, now() + TimeDelta::minutes(1), "as a paused sweep's");
    let (_, follow_up) = s.schedules.fire_next_once().unwrap();
    s.merge.clear_requests();

    let second = invoke(&s, &follow_up, at);

    assert_eq!(second.body["reconciliation"], "completed");
    assert!(s.merge.requests().is_empty(), "the pages stay read");
    assert_eq!(entry_of(&s, 100).unwrap().decision, Decision::Terminated);
    assert_eq!(
        second
            .with_message("employee terminated: revoke access")
            .len(),
        1
    );
    assert!(s.schedules.once_schedules().is_empty());
}

#[test]
fn a_rehire_of_a_deprovisioned_leaver_found_by_a_sweep_says_to_restore_by_hand_once() {
    use merge_deprovision::domain::outcome::{Deprovisioning, Outcome};
    use merge_deprovision::telemetry::record::REHIRE_MESSAGE;
    let s = sweeping(usize::MAX);
    // Terminated by a webhook, and deactivated in `chat` by deprovisioning.
    let terminated = Observation {
        key: EmployeeKey::new(Some(ACCOUNT), &id(4)),
        decision: Decision::Terminated,
        reasons: "status_inactive".into(),
        termination_date: None,
        effective_at: None,
        effective_rule: None,
        version: Some(EARLIER.parse().unwrap()),
        removal: false,
        identity: Identity::default(),
        source: Source::Webhook,
        delivery_id: Some("d1".into()),
    };
    let mut entry = transition(None, &terminated, now() - TimeDelta::days(6))
        .write
        .unwrap();
    entry.announced = true;
    let removed_at = now() - TimeDelta::days(6) + TimeDelta::minutes(1);
    entry.deprovisioning.insert(
        "chat".into(),
        Deprovisioning {
            outcome: Outcome::Deactivated,
            at: removed_at,
            termination: entry.terminated_at,
            attempts: 0,
            user: None,
            run: None,
            by: None,
        },
    );
    s.ledger.insert(entry);
    // Rehired in the HR system; the webhook was lost.
    s.merge
        .set_account(TOKEN, employees(6, "2026-11-26T09:00:00Z"));

    let swept = sweep(&s, now());

    assert_eq!(swept.body["reconciliation"], "completed");
    assert_eq!(entry_of(&s, 4).unwrap().decision, Decision::Active);
    let warnings = swept.with_message(REHIRE_MESSAGE);
    assert_eq!(warnings.len(), 1, "{}", swept.logs);
    assert_eq!(warnings[0]["level"], "WARN");
    assert_eq!(warnings[0]["target"], "chat");
    assert_eq!(warnings[0]["employee_id"], id(4));
    assert_eq!(
        warnings[0]["deprovisioned_at"],
        merge_deprovision::domain::dates::to_rfc3339(removed_at)
    );
    assert_eq!(warnings[0]["source"], "reconciliation");
    let again = sweep(&s, now() + TimeDelta::hours(1));
    assert!(
        again.with_message(REHIRE_MESSAGE).is_empty(),
        "said once: {}",
        again.logs
    );
}

#[test]
fn the_recurring_sweep_fans_out_one_staggered_schedule_per_account() {
    let s = sweeping(usize::MAX);
    let swept = invoke(
        &s,
        r#"{"kind": "merge-deprovision.reconcile", "version": 1}"#,
        now(),
    );
    assert_eq!(swept.body["scheduled"], 2);
    let pending = s.schedules.once_schedules();
    assert_eq!(pending.len(), 2);
    for account in [ACCOUNT, OTHER] {
        let (_, input) = &pending[&sweep_schedule_name(account)];
        let document: Value = serde_json::from_str(input).unwrap();
        assert_eq!(document["linked_account_id"], account);
    }
    assert!(s.merge.requests().is_empty(), "fanning out reads nothing");
}

#[test]
fn a_second_sweep_of_an_account_under_way_waits_for_the_lease() {
    let s = sweeping(1);
    s.merge.set_account(TOKEN, employees(250, EARLIER));
    sweep(&s, now());
    // The follow-up is pending; meanwhile someone holds the lease.
    let mut held = s.ledger.sweeps()[ACCOUNT].clone();
    held.lease_until = Some(now() + TimeDelta::minutes(5));
    held.holder = "elsewhere".into();
    held.revision += 1;
    let expected = Some(held.revision - 1);
    block(merge_deprovision::aws::ledger::Ledger::put_sweep(
        s.ledger.as_ref(),
        &held,
        expected,
    ))
    .unwrap();
    s.schedules.fire_next_once();
    s.merge.clear_requests();

    let busy = sweep(&s, now() + TimeDelta::minutes(1));

    assert_eq!(busy.body["reconciliation"], "busy");
    assert!(
        s.merge.requests().is_empty(),
        "two sweeps never run at once"
    );
    let (_, (at, _)) = s.schedules.once_schedules().pop_first().unwrap();
    assert!(
        at >= now() + TimeDelta::minutes(5),
        "continued after the lease"
    );
}

#[test]
fn the_reconcile_events_in_events_are_read_and_answered_as_direct_invocations() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events/reconcile");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let document = merge_deprovision::domain::reconcile::read_reconcile(text.as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let s = sweeping(usize::MAX);
        s.merge.set_account(TOKEN, employees(1, EARLIER));
        let swept = invoke(&s, &text, now());
        let expected = match document.linked_account_id {
            None => "fanned_out",
            // The sample names an account this secret does not hold.
            Some(_) => "unknown_account",
        };
        assert_eq!(swept.body["reconciliation"], expected, "{}", file.display());
    }
}

#[test]
fn a_reconcile_document_never_reaches_a_sweep_through_the_function_url() {
    let s = sweeping(usize::MAX);
    let body = sweep_of(ACCOUNT);
    let answer = support::answer(&s.app, &in_lambda(post(body.as_bytes(), Signing::TestKey)));
    assert_eq!(answer.json()["decision"], "ignored");
    assert!(s.merge.requests().is_empty());
    assert!(s.schedules.once_schedules().is_empty());
}

#[test]
fn a_token_rotated_since_init_is_read_again_after_a_401_and_the_sweep_goes_on() {
    let s = sweeping(usize::MAX);
    // The customer relinked: Merge now knows only the new token, and it is in the secret.
    s.merge
        .set_account("SENTINEL-NEW-TOKEN", employees(3, EARLIER));
    s.store.put(
        support::MERGE_SECRET_ID,
        &json!({"api_key": API_KEY, "account_tokens": {ACCOUNT: "SENTINEL-NEW-TOKEN"}}).to_string(),
    );

    let swept = sweep(&s, now() + TimeDelta::minutes(2));

    assert_eq!(swept.body["reconciliation"], "completed");
    let tokens: Vec<String> = s
        .merge
        .requests()
        .iter()
        .map(|r| r.headers["x-account-token"].clone())
        .collect();
    assert_eq!(tokens, [TOKEN, "SENTINEL-NEW-TOKEN"]);
    assert!(!swept.logs.contains("SENTINEL-NEW-TOKEN"));
}

fn config_with(
    vars: &[(&str, &str)],
) -> Result<merge_deprovision::lambda::config::Config, merge_deprovision::lambda::config::ConfigError>
{
    let base = [
        ("MERGE_WEBHOOK_SIGNATURE_KEY", "k"),
        ("EMPLOYEE_LEDGER_TABLE", support::LEDGER_TABLE),
        ("TERMINATION_SCHEDULE_GROUP", "merge-deprovision"),
        ("TERMINATION_SCHEDULE_ROLE_ARN", support::SCHEDULER_ROLE_ARN),
    ];
    merge_deprovision::lambda::config::Config::from_lookup(|name| {
        vars.iter()
            .chain(base.iter())
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
}

#[test]
fn a_merge_api_secret_that_cannot_be_read_or_has_another_shape_stops_init_naming_no_value() {
    use merge_deprovision::aws::memory::MemorySecrets;
    let config = config_with(&[("MERGE_API_SECRET_ID", "merge/api")]).unwrap();
    for value in [
        r#"{"api_key": "SENTINEL-KEY"}"#,
        "SENTINEL-KEY",
        r#"{"api_key": "SENTINEL-KEY", "account_tokens": {"a": ""}}"#,
    ] {
        let store = Arc::new(MemorySecrets::with("merge/api", value));
        let error = merge_deprovision_samples::ready(App::load(&config, store, now()))
            .err()
            .expect("init stops");
        assert!(error.starts_with("MERGE_API_SECRET_ID: "), "{error}");
        assert!(!error.contains("SENTINEL"), "{error}");
    }
    let missing = Arc::new(MemorySecrets::default());
    let error = merge_deprovision_samples::ready(App::load(&config, missing, now()))
        .err()
        .unwrap();
    assert!(error.contains("MERGE_API_SECRET_ID"), "{error}");
    assert!(error.contains("ResourceNotFoundException"), "{error}");
}

#[test]
fn reconciliation_needs_the_ledger_and_an_https_or_loopback_base_url() {
    use merge_deprovision::lambda::config::{Config, ConfigError};
    let without_ledger = Config::from_lookup(|name| match name {
        "MERGE_WEBHOOK_SIGNATURE_KEY" => Some("k".into()),
        "MERGE_API_SECRET_ID" => Some("merge/api".into()),
        _ => None,
    });
    assert_eq!(
        without_ledger.err(),
        Some(ConfigError::ReconciliationWithoutLedger)
    );
    let plain = config_with(&[
        ("MERGE_API_SECRET_ID", "merge/api"),
        ("MERGE_API_BASE_URL", "http://api.merge.dev/api"),
    ]);
    assert_eq!(
        plain.err(),
        Some(ConfigError::InvalidMergeBaseUrl(
            merge_deprovision::net::BaseUrlError::NotHttps
        ))
    );
    let eu = config_with(&[
        ("MERGE_API_SECRET_ID", "merge/api"),
        ("MERGE_API_BASE_URL", "https://api-eu.merge.dev/api/"),
    ])
    .unwrap();
    assert_eq!(
        eu.reconciliation.unwrap().base_url.as_str(),
        "https://api-eu.merge.dev/api"
    );
    let fake = config_with(&[
        ("MERGE_API_SECRET_ID", "merge/api"),
        ("MERGE_API_BASE_URL", "http://127.0.0.1:9/api"),
    ]);
    assert!(fake.is_ok());
    assert!(
        config_with(&[]).unwrap().reconciliation.is_none(),
        "off without the secret"
    );
}

/// Sweeps with a deadline `ms` milliseconds away, as Lambda sets it.
fn invoke_within(s: &Sweeping, input: &str, ms: i64) -> Value {
    invoke_within_at(s, input, ms, now())
}

/// Sweeps at `at` with a deadline `ms` milliseconds away.
fn invoke_within_at(s: &Sweeping, input: &str, ms: i64, at: DateTime<Utc>) -> Value {
    use lambda_http::RequestExt;
    let mut context = merge_deprovision_samples::lambda_context("cut", "merge-deprovision");
    context.invoked_function_arn = support::FUNCTION_ARN.to_owned();
    context.deadline = (Utc::now() + TimeDelta::milliseconds(ms)).timestamp_millis() as u64;
    let request = lambda_http::request::from_str(input)
        .unwrap()
        .with_lambda_context(context);
    let answered = block(answer_event(&s.app, &request, at)).unwrap();
    serde_json::from_slice(answered.response.body().as_ref()).unwrap()
}

#[test]
fn pages_read_with_too_little_time_left_leave_only_the_overdue_step_to_the_follow_up() {
    let s = sweeping(usize::MAX);
    s.merge.set_account(TOKEN, employees(3, EARLIER));

    // 2.6 s: the page is read in time, but too little is left for the overdue step.
    let first = invoke_within(&s, &sweep_of(ACCOUNT), 2_600);

    assert_eq!(first["reconciliation"], "paused");
    let stored = s.ledger.sweeps()[ACCOUNT].clone();
    let run = stored.run.expect("the run goes on");
    assert!(run.pages_done, "the pages are kept as read");
    assert_eq!(run.cursor, None);
    assert_eq!(
        stored.watermark, None,
        "the watermark waits for the overdue step"
    );
    let (_, follow_up) = s.schedules.fire_next_once().expect("a follow-up");
    s.merge.clear_requests();

    let second = invoke_within(&s, &follow_up, 2_600);

    assert_eq!(second["reconciliation"], "completed");
    assert!(
        s.merge.requests().is_empty(),
        "no page is read again: only the overdue step ran"
    );
    assert_eq!(s.ledger.sweeps()[ACCOUNT].watermark, Some(now()));
    assert!(s.schedules.once_schedules().is_empty());
}

#[test]
fn a_sweep_cut_short_mid_page_reads_that_page_again_and_counts_each_employee_once() {
    use lambda_http::RequestExt;
    let s = sweeping(usize::MAX);
    s.merge.set_account(TOKEN, employees(250, EARLIER));
    // Each ledger call takes 4 ms and each invocation has 2.6 s: no invocation can
    // settle the 250 employees' 500 calls, so each stops within a page.
    s.ledger.slow(std::time::Duration::from_millis(4));
    let mut input = sweep_of(ACCOUNT);
    let mut invocations = 0;
    let last = loop {
        invocations += 1;
        assert!(invocations <= 10, "the sweep ends");
        let mut context = merge_deprovision_samples::lambda_context("cut", "merge-deprovision");
        context.invoked_function_arn = support::FUNCTION_ARN.to_owned();
        context.deadline = (Utc::now() + TimeDelta::milliseconds(2_600)).timestamp_millis() as u64;
        let request = lambda_http::request::from_str(&input)
            .unwrap()
            .with_lambda_context(context);
        let answered = block(answer_event(&s.app, &request, now())).unwrap();
        let body: Value = serde_json::from_slice(answered.response.body().as_ref()).unwrap();
        if body["reconciliation"] != "paused" {
            break body;
        }
        input = s.schedules.fire_next_once().expect("a follow-up").1;
    };
    assert!(invocations >= 2, "the budget cut it");
    assert_eq!(last["reconciliation"], "completed");
    assert_eq!(last["employees"], 250, "each employee counted once");
    assert_eq!(last["pages"], 3, "each page counted once");
    assert_eq!(s.ledger.entries().len(), 250, "none skipped");
}

#[test]
fn every_merge_host_the_template_allows_is_a_base_url_the_function_accepts_as_given() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml")).unwrap();
    let template: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let parameter = &template["Parameters"]["MergeApiBaseUrl"];
    let allowed = parameter["AllowedValues"].as_sequence().unwrap();
    assert_eq!(allowed.len(), 3, "the US, EU and APAC hosts");
    assert!(allowed.contains(&parameter["Default"]));
    for host in allowed {
        let host = host.as_str().unwrap();
        let config = config_with(&[
            ("MERGE_API_SECRET_ID", "merge/api"),
            ("MERGE_API_BASE_URL", host),
        ])
        .unwrap();
        assert_eq!(config.reconciliation.unwrap().base_url.as_str(), host);
    }
}

mod sweep_state {
    //! The sweep item's transitions under any interleaving of three invocations, each
    //! writing compare-and-swap as the ledger does.
    use chrono::{DateTime, TimeDelta, Utc};
    use merge_deprovision::domain::reconcile::{
        OVERLAP, SeenCursors, SweepState, Totals, begin, complete, pause,
    };
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        Begin { who: usize, full: bool },
        Pause { who: usize },
        Complete { who: usize },
    }

    fn step() -> impl Strategy<Value = (Step, i64)> {
        let who = 0..3usize;
        let step = prop_oneof![
            (who.clone(), any::<bool>()).prop_map(|(who, full)| Step::Begin { who, full }),
            who.clone().prop_map(|who| Step::Pause { who }),
            who.prop_map(|who| Step::Complete { who }),
        ];
        // Seconds until the step: sometimes within a lease, sometimes after it.
        (step, 1..200i64)
    }

    const LEASE: TimeDelta = TimeDelta::seconds(70);

    proptest! {
        #[test]
        fn leases_exclude_and_the_watermark_only_moves_to_a_completed_sweeps_start(
            steps in proptest::collection::vec(step(), 1..40)
        ) {
            let mut now: DateTime<Utc> = "2026-11-27T12:00:00Z".parse().unwrap();
            let mut stored: Option<SweepState> = None;
            // What each invocation last wrote, which its next write is planned against.
            let mut mine: [Option<SweepState>; 3] = [None, None, None];
            let holders = ["a", "b", "c"];
            for (step, wait) in steps {
                now += TimeDelta::seconds(wait);
                let before = stored.clone();
                let (who, planned) = match step {
                    Step::Begin { who, full } => {
                        match begin(stored.as_ref(), "acct", full, holders[who], LEASE, now) {
                            Err(busy) => {
                                let held = stored.as_ref().unwrap();
                                prop_assert!(held.holder != holders[who]);
                                prop_assert!(busy.until > now);
                                continue;
                            }
                            Ok(planned) => {
                                if let Some(held) = &before
                                    && held.lease_until.is_some_and(|until| until > now)
                                {
                                    prop_assert_eq!(&held.holder, holders[who]);
                                }
                                let run = planned.run.clone().unwrap();
                                match before.as_ref().and_then(|b| b.run.clone()) {
                                    Some(old) if !full || old.modified_after.is_none() => {
                                        prop_assert_eq!(run.started_at, old.started_at);
                                        prop_assert_eq!(run.modified_after, old.modified_after);
                                    }
                                    _ => {
                                        prop_assert_eq!(run.started_at, now);
                                        let watermark = before.as_ref().and_then(|b| b.watermark);
                                        let expected = if full { None } else { watermark.map(|w| w - OVERLAP) };
                                        prop_assert_eq!(run.modified_after, expected);
                                    }
                                }
                                (who, planned)
                            }
                        }
                    }
                    Step::Pause { who } => match &mine[who] {
                        Some(state) => (who, pause(state, Some("c".into()), &Totals::default(), &SeenCursors::default())),
                        None => continue,
                    },
                    Step::Complete { who } => match &mine[who] {
                        Some(state) => (who, complete(state)),
                        None => continue,
                    },
                };
                // Compare-and-swap on the revision, as the ledger writes.
                let expected = planned.revision.checked_sub(1).filter(|r| *r > 0);
                if stored.as_ref().map(|s| s.revision) != expected {
                    mine[who] = None;
                    continue;
                }
                if let Some(old) = &before {
                    prop_assert!(planned.watermark >= old.watermark, "the watermark never goes back");
                    if planned.watermark != old.watermark {
                        prop_assert_eq!(planned.watermark, old.run.as_ref().map(|r| r.started_at));
                        prop_assert!(planned.run.is_none());
                    }
                }
                prop_assert!(planned.watermark.is_none_or(|w| w <= now));
                stored = Some(planned.clone());
                mine[who] = planned.lease_until.is_some().then_some(planned);
            }
        }
    }
}

#[test]
fn a_thousand_accounts_fan_out_paced_and_all_start_within_the_hour() {
    let s = sweeping(usize::MAX);
    let tokens: serde_json::Map<String, Value> = (0..1000)
        .map(|i| (format!("acct-{i:04}"), json!(format!("SENTINEL-T-{i}"))))
        .collect();
    s.store.put(
        support::MERGE_SECRET_ID,
        &json!({"api_key": API_KEY, "account_tokens": tokens}).to_string(),
    );
    // Each CreateSchedule takes 20 ms, as against the service.
    s.schedules.slow(std::time::Duration::from_millis(20));
    let started = std::time::Instant::now();

    let (scheduled, invocations) = fan_out_to_the_end(&s, |input| {
        invoke(&s, input, now() + TimeDelta::minutes(10)).body
    });

    assert_eq!(scheduled, 1000);
    assert!(invocations >= 1);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(20),
        "paced under 50 CreateSchedule calls a second: {:?}",
        started.elapsed()
    );
    for i in 0..1000 {
        let account = format!("acct-{i:04}");
        assert!(
            s.schedules
                .once_schedules()
                .values()
                .any(|(_, input)| *input == sweep_of(&account)),
            "{account} is scheduled"
        );
    }
    let times: Vec<DateTime<Utc>> = s
        .schedules
        .once_schedules()
        .values()
        .map(|(at, _)| *at)
        .collect();
    let (first, last) = (times.iter().min().unwrap(), times.iter().max().unwrap());
    assert!(
        *last - *first < TimeDelta::hours(1),
        "all under way within the hour"
    );
    let mut per_minute: BTreeMap<DateTime<Utc>, usize> = BTreeMap::new();
    for at in &times {
        *per_minute.entry(*at).or_default() += 1;
    }
    assert!(
        per_minute.values().all(|n| *n <= 20),
        "at most 20 start together"
    );
}

#[test]
fn accounts_spread_over_two_secrets_are_swept_each_with_its_own_secret() {
    let merge = FakeMerge::start();
    merge.set_account(TOKEN, employees(2, EARLIER));
    merge.set_account(OTHER_TOKEN, employees(3, EARLIER));
    let LedgerApp {
        app,
        ledger,
        schedules,
    } = ledger_app();
    let (first, _) =
        support::merge_secret(&json!({"api_key": API_KEY, "account_tokens": {ACCOUNT: TOKEN}}));
    let (second, _) =
        support::merge_secret(&json!({"api_key": API_KEY, "account_tokens": {OTHER: OTHER_TOKEN}}));
    let base = merge_deprovision::net::base_url(&merge.base_url()).unwrap();
    let app = app.with_reconciliation(Reconciliation {
        secret: merge_deprovision::app::sweep::MergeSecrets::new(vec![first, second]),
        pages: Arc::new(MergeClient::new(
            merge_deprovision::net::client().unwrap(),
            &base,
        )),
        policy: Policy::default(),
        page_limit: usize::MAX,
    });
    let s = Sweeping {
        app,
        store: Arc::new(merge_deprovision::aws::memory::MemorySecrets::default()),
        ledger,
        schedules,
        merge,
    };
    assert_eq!(sweep(&s, now()).body["employees"], 2);
    assert_eq!(invoke(&s, &sweep_of(OTHER), now()).body["employees"], 3);
    let fanned = invoke(
        &s,
        r#"{"kind": "merge-deprovision.reconcile", "version": 1}"#,
        now(),
    );
    assert_eq!(fanned.body["scheduled"], 2, "every account of every secret");
    let config = config_with(&[("MERGE_API_SECRET_ID", "merge/api-1, merge/api-2")]).unwrap();
    assert_eq!(
        config.reconciliation.unwrap().secret_ids,
        ["merge/api-1", "merge/api-2"]
    );
}

/// Fans out with `invoke`, then fires each continuation until none is left: the
/// accounts scheduled and pending, and the invocations it took.
fn fan_out_to_the_end(s: &Sweeping, invoke: impl Fn(&str) -> Value) -> (u64, usize) {
    let mut body = invoke(r#"{"kind": "merge-deprovision.reconcile", "version": 1}"#);
    let mut invocations = 1;
    let mut done = 0;
    loop {
        assert_eq!(body["reconciliation"], "fanned_out", "{body}");
        assert_eq!(body["failed"], 0, "{body}");
        done += body["scheduled"].as_u64().unwrap() + body["pending"].as_u64().unwrap();
        let continuation = s
            .schedules
            .once_schedules()
            .into_iter()
            .find(|(_, (_, input))| !input.contains("linked_account_id"));
        let Some((name, _)) = continuation else {
            assert_eq!(body["continued"], 0, "{body}");
            return (done, invocations);
        };
        assert!(body["continued"].as_u64().unwrap() > 0, "{body}");
        let input = s.schedules.fire_once(&name).unwrap();
        assert!(input.contains("resume_after") || body["scheduled"] == 0);
        body = invoke(&input);
        invocations += 1;
        assert!(invocations < 100, "the continuations end");
    }
}

fn many_accounts(s: &Sweeping, n: usize) -> Vec<String> {
    let tokens: serde_json::Map<String, Value> = (0..n)
        .map(|i| (format!("acct-{i:04}"), json!(format!("SENTINEL-T-{i}"))))
        .collect();
    s.store.put(
        support::MERGE_SECRET_ID,
        &json!({"api_key": API_KEY, "account_tokens": tokens}).to_string(),
    );
    (0..n).map(|i| format!("acct-{i:04}")).collect()
}

fn every_account_is_scheduled_once(s: &Sweeping, accounts: &[String]) {
    let inputs: Vec<String> = s
        .schedules
        .once_schedules()
        .values()
        .map(|(_, input)| input.clone())
        .collect();
    for account in accounts {
        let count = inputs.iter().filter(|i| **i == sweep_of(account)).count();
        assert_eq!(count, 1, "{account} is scheduled once");
    }
    assert_eq!(inputs.len(), accounts.len(), "no continuation is left");
}

#[test]
fn a_fan_out_cut_short_by_its_deadline_schedules_the_rest_through_its_continuations() {
    let s = sweeping(usize::MAX);
    let accounts = many_accounts(&s, 60);

    let (scheduled, invocations) = fan_out_to_the_end(&s, |input| {
        invoke_within_at(&s, input, 2_600, now() + TimeDelta::minutes(10))
    });

    assert_eq!(scheduled, 60);
    assert!(invocations > 1, "the deadline cut the first one short");
    every_account_is_scheduled_once(&s, &accounts);
}

#[test]
fn a_fan_out_scheduler_throttles_leaves_the_throttled_accounts_to_its_continuation() {
    let s = sweeping(usize::MAX);
    let accounts = many_accounts(&s, 30);
    s.schedules.script([
        None,
        None,
        Some(SchedulerError::Throttled),
        Some(SchedulerError::Throttled),
    ]);

    let (scheduled, invocations) = fan_out_to_the_end(&s, |input| {
        invoke(&s, input, now() + TimeDelta::minutes(10)).body
    });

    assert!(scheduled >= 30, "{scheduled}");
    assert_eq!(invocations, 2);
    every_account_is_scheduled_once(&s, &accounts);
}
