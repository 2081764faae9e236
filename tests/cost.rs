//! What it costs to run: recomputes the monthly cost table in `docs/cost.md` from
//! measured inputs (the bytes each delivery logs, the metric series and datapoints its
//! metrics lines create, the alarms in `template.yaml`) and a stated workload, and fails
//! if the table there differs.
//!
//! The README quotes the table's total, and nothing else, as the monthly cost.
//!
//! After changing the records, the metrics, the template or a price:
//! `UPDATE_README=1 cargo test --test cost` rewrites the table and the README's figure.

mod support;

use serde_json::json;
use std::collections::BTreeMap;
use support::{LedgerApp, Series, answer_in_lambda, emf_series, fired_event, ledger_app, post};

use merge_deprovision_samples::{Signing, employee_envelope};

const START: &str = "<!-- cost-table:start -->";
const END: &str = "<!-- cost-table:end -->";

/// List prices, us-east-1, in USD, read 2026-11-28 from AWS's public pricing pages.
mod price {
    pub const LAMBDA_PER_MILLION_REQUESTS: f64 = 0.20;
    pub const LAMBDA_ARM64_PER_GB_SECOND: f64 = 0.000_013_333_4;
    pub const LOGS_INGESTION_PER_GB: f64 = 0.50;
    pub const LOGS_STORAGE_PER_GB_MONTH: f64 = 0.03;
    pub const CUSTOM_METRIC_PER_MONTH: f64 = 0.30;
    pub const ALARM_PER_MONTH: f64 = 0.10;
    pub const SCHEDULER_PER_MILLION_INVOCATIONS: f64 = 1.00;
    pub const SQS_PER_MILLION_REQUESTS: f64 = 0.40;
    pub const SECRET_PER_MONTH: f64 = 0.40;
    pub const SECRETS_PER_10K_CALLS: f64 = 0.05;
    pub const DASHBOARD_PER_MONTH: f64 = 3.00;
    pub const S3_PER_THOUSAND_PUTS: f64 = 0.005;
    pub const S3_STANDARD_PER_GB_MONTH: f64 = 0.023;
    // DynamoDB on-demand, us-east-1, as published since on-demand throughput prices
    // were halved in November 2024 (not read again on the date above).
    pub const DYNAMODB_PER_MILLION_WRITE_UNITS: f64 = 0.625;
    pub const DYNAMODB_PER_MILLION_READ_UNITS: f64 = 0.125;
    pub const DYNAMODB_STORAGE_PER_GB_MONTH: f64 = 0.25;
    pub const DYNAMODB_PITR_PER_GB_MONTH: f64 = 0.20;
}

/// Employees with an item in the ledger: everyone the HR system has (one item each).
const LEDGER_ITEMS: u64 = 1_000;

/// The workload: a company of 1,000 employees with 50 leavers (and as many joiners) a
/// month, one HR system, on Merge's daily sync. Deliveries a month, by what they decide:
/// - each leaver: the end date entered ahead (`scheduled`), then `INACTIVE` on the day
///   and one more change after it (`terminated` twice): 50 + 100;
/// - each joiner: `Employee.added`, then two changes around the start date (`active`
///   three times): 150; other profile changes (title, manager, team) for a fifth of
///   the staff: 200 (`active`);
/// - one `LinkedAccount.synced` per daily sync: 30 (`ignored`);
/// - requests refused for their signature (scanners on a public URL): 20 (`rejected`).
///
/// Merge sends a webhook only when a sync sees a change, so these are the changes, not
/// the headcount; at-least-once delivery adds a few duplicates, which the round
/// numbers absorb.
const WORKLOAD: [(&str, u64); 5] = [
    ("terminated", 100),
    ("scheduled", 50),
    ("active", 350),
    ("ignored", 30),
    ("rejected", 20),
];
/// Scheduled terminations firing: one per leaver.
const TERMINATION_FIRINGS: u64 = 50;
/// Moves into `terminated` a month, one per leaver: each reaches the function once more
/// as a record of the ledger's stream, when deprovisioning is on.
const STREAM_INVOCATIONS: u64 = 50;
/// The SCIM targets leavers are deprovisioned in: an IT team's chat, wiki and CRM.
const SCIM_TARGETS: usize = 3;
/// Sweeps of the one linked account a month: one after each daily sync (its
/// `LinkedAccount.synced` webhook, counted above as `ignored`, requests it) and one from
/// the daily recurring schedule, which also fans out (one more invocation).
const ACCOUNT_SWEEPS: u64 = 60;
/// The recurring schedule's firings a month, each fanning out.
const FAN_OUTS: u64 = 30;
/// The monthly access-removal report: one invocation fired by its schedule.
const MONTHLY_REPORTS: u64 = 1;
/// How many months of reports the bucket holds in the bound below.
const REPORT_MONTHS_KEPT: u64 = 12;
/// Employees Merge changed in a day, which an incremental sweep reads again (the
/// overlap adds the hour before): the month's deliveries over 30 days, rounded up.
const CHANGED_PER_DAY: usize = 20;
/// Billed duration per invocation. The handler takes tens of microseconds and a cold
/// start about 2 ms here; Lambda bills at 1 ms granularity and, since 2025, bills the
/// init phase too, so 100 ms bounds a cold invocation with room to spare.
const BILLED_SECONDS_PER_INVOCATION: f64 = 0.1;
const MEMORY_GB: f64 = 0.125;
/// Lambda's own START, END and REPORT lines in JSON log format, per invocation.
const PLATFORM_LOG_BYTES: u64 = 600;
const HOURS_PER_MONTH: f64 = 730.0;
const GB: f64 = 1e9;

fn delivery(decision: &str) -> lambda_http::Request {
    let fields = match decision {
        "terminated" => json!({"employment_status": "INACTIVE", "termination_date": "2026-11-20"}),
        "scheduled" => json!({"employment_status": "ACTIVE", "termination_date": "2099-06-30"}),
        _ => json!({"employment_status": "ACTIVE", "termination_date": null}),
    };
    let event = if decision == "ignored" {
        "LinkedAccount.synced"
    } else {
        "Employee.changed"
    };
    let envelope = employee_envelope(event, |data| {
        for (name, value) in fields.as_object().unwrap() {
            data.insert(name.clone(), value.clone());
        }
    });
    let signing = if decision == "rejected" {
        Signing::WrongKey
    } else {
        Signing::TestKey
    };
    post(&serde_json::to_vec(&envelope).unwrap(), signing)
}

/// The measured inputs: log bytes a month, and for each series the datapoints a month.
struct Measured {
    log_bytes: u64,
    record_bytes: BTreeMap<&'static str, u64>,
    datapoints: BTreeMap<Series, u64>,
    alarms: u64,
    retention_days: u64,
    /// Ledger reads and writes a month (each item under 1 KB: one request unit each).
    ledger_reads: u64,
    ledger_writes: u64,
    /// The largest item written, in DynamoDB's measure (names and values).
    item_bytes: u64,
    /// SCIM calls a month (outside AWS: no AWS charge).
    scim_calls: u64,
    /// Brake increments a month (one write unit each).
    brake_writes: u64,
    /// Requests to Merge's API a month, by sweeps.
    merge_requests: u64,
    /// The monthly report's three forms, rendered, in bytes.
    report_bytes: u64,
}

/// The three forms of a month's report for the workload's leavers, each deactivated in
/// every target, rendered by the function's own code.
fn monthly_report_bytes() -> u64 {
    use merge_deprovision::domain::evidence::{Evidence, Fact, Trigger};
    use merge_deprovision::domain::ledger::{EmployeeKey, Identity};
    use merge_deprovision::domain::outcome::Outcome;
    use merge_deprovision::domain::report::{Form, Period, build};
    let start: chrono::DateTime<chrono::Utc> = "2026-11-02T05:00:00Z".parse().unwrap();
    let mut facts = Vec::new();
    for n in 0..STREAM_INVOCATIONS {
        let key = EmployeeKey::new(
            Some("a3602c03-aba7-4d9d-a349-dbc338504092"),
            &format!("{n:036}"),
        );
        let at = start + chrono::TimeDelta::hours(n as i64 * 13);
        let identity = Identity {
            work_email: Some(format!("leaver.{n}@example.com")),
            display_full_name: Some(format!("Leaver Number {n}")),
            remote_id: Some(format!("{n}")),
            ..Identity::default()
        };
        facts.push(Evidence {
            key: key.clone(),
            at,
            fact: Fact::Terminated {
                termination_date: Some(at),
                effective_at: Some(at),
                rule: None,
                by: Trigger::Webhook,
                learned_at: at,
                learned_by: Trigger::Webhook,
                historical: false,
                identity,
            },
        });
        for target in 0..SCIM_TARGETS {
            facts.push(Evidence {
                key: key.clone(),
                at: at + chrono::TimeDelta::seconds(5),
                fact: Fact::Target {
                    target: format!("app-{target}"),
                    termination: Some(at),
                    outcome: Outcome::Deactivated,
                    user: Some(format!("user-{n}-{target}")),
                    run: Some(format!("run-{n}")),
                    by: Trigger::Webhook,
                },
            });
        }
    }
    let period = Period::month(2026, 11).unwrap();
    let as_of = "2026-12-01T00:30:00Z".parse().unwrap();
    let report = build(&facts, &period, None, chrono::TimeDelta::hours(24), as_of);
    assert_eq!(
        report.rows.len(),
        STREAM_INVOCATIONS as usize * SCIM_TARGETS
    );
    Form::ALL
        .iter()
        .map(|form| form.render(&report).len() as u64)
        .sum()
}

/// DynamoDB's size of an item: the lengths of its attribute names and values.
fn item_size(entry: &merge_deprovision::domain::ledger::Entry) -> u64 {
    merge_deprovision::aws::ledger::to_item(entry)
        .iter()
        .map(|(name, value)| {
            let value = value
                .as_s()
                .map(String::len)
                .or_else(|_| value.as_n().map(|n| n.len().div_ceil(2) + 1))
                .unwrap_or(0);
            (name.len() + value) as u64
        })
        .sum()
}

fn measure() -> Measured {
    let mut measured = Measured {
        log_bytes: 0,
        record_bytes: BTreeMap::new(),
        datapoints: BTreeMap::new(),
        alarms: 0,
        retention_days: 0,
        ledger_reads: 0,
        ledger_writes: 0,
        item_bytes: 0,
        scim_calls: 0,
        brake_writes: 0,
        merge_requests: 0,
        report_bytes: monthly_report_bytes(),
    };
    let count_ledger = |l: &LedgerApp, count: u64| -> (u64, u64) {
        let writes = l.ledger.writes().len() as u64;
        let reads = l.ledger.calls() as u64 - writes;
        for entry in l.ledger.entries().values() {
            let size = item_size(entry);
            assert!(
                size < 1024,
                "an item of {size} bytes is more than one write unit"
            );
        }
        (reads * count, writes * count)
    };
    let mut ledger_calls = Vec::new();
    let mut count_in =
        |name: &'static str, count: u64, (logs, metrics): (String, Option<String>)| {
            let metrics = metrics.unwrap_or_default();
            let bytes = (logs.len() + metrics.len() + 1) as u64;
            measured.record_bytes.insert(name, bytes);
            measured.log_bytes += count * (bytes + PLATFORM_LOG_BYTES);
            // A stream batch writes one line per target's outcome.
            for line in metrics.lines() {
                if let Ok(line) = serde_json::from_str::<serde_json::Value>(line) {
                    for series in emf_series(&line) {
                        *measured.datapoints.entry(series).or_default() += count;
                    }
                }
            }
        };
    for (decision, count) in WORKLOAD {
        // A few deliveries an hour leave Lambda no warm process to reuse, so each is
        // measured as a cold start: the larger record, and a ColdStart datapoint. Each
        // employee is new to the schedule group, as most are.
        let l = ledger_app();
        let (logs, metrics) = answer_in_lambda(&l.app, delivery(decision));
        ledger_calls.push(count_ledger(&l, count));
        let line: serde_json::Value = serde_json::from_str(metrics.as_deref().unwrap()).unwrap();
        assert_eq!(
            line["Decision"], decision,
            "the workload's delivery decides {decision}"
        );
        count_in(decision, count, (logs, metrics));
    }
    // What the timers deliver when they fire: a termination.
    {
        let l = ledger_app();
        answer_in_lambda(&l.app, delivery("scheduled"));
        let (reads, writes) = (l.ledger.calls(), l.ledger.writes().len());
        let schedule = l.schedules.schedules().into_keys().next().unwrap();
        let input = serde_json::to_string(&l.schedules.fire(&schedule).unwrap()).unwrap();
        count_in(
            "termination fired",
            TERMINATION_FIRINGS,
            answer_in_lambda(&l.app, fired_event(&input)),
        );
        let fired_writes = (l.ledger.writes().len() - writes) as u64;
        let fired_reads = (l.ledger.calls() - reads) as u64 - fired_writes;
        ledger_calls.push((
            fired_reads * TERMINATION_FIRINGS,
            fired_writes * TERMINATION_FIRINGS,
        ));
        measured.item_bytes = l
            .ledger
            .entries()
            .values()
            .map(item_size)
            .max()
            .unwrap_or(0);
    }
    // What deprovisioning adds: each termination's stream record, worked in every target.
    {
        let scim = merge_deprovision::scim::memory::MemoryScim::new();
        let targets: Vec<serde_json::Value> = (0..SCIM_TARGETS)
            .map(|n| {
                let base = format!("https://app{n}.example.com/scim/v2");
                scim.serve(&base, "token");
                scim.add(&base, "greg@merge.dev", &["greg@merge.dev"], None, true);
                json!({"name": format!("app{n}"), "base_url": base, "token": "token"})
            })
            .collect();
        let d = support::deprovision_app(&json!({ "targets": targets }), scim.clone(), &[]);
        answer_in_lambda(&d.app, delivery("terminated"));
        let batch = support::stream_batch(&d.ledger).expect("the move is on the stream");
        let (reads, writes) = (d.ledger.calls(), d.ledger.writes().len());
        let answered = answer_in_lambda(&d.app, batch);
        let stream_writes = (d.ledger.writes().len() - writes) as u64;
        let stream_reads = (d.ledger.calls() - reads) as u64 - stream_writes;
        ledger_calls.push((
            stream_reads * STREAM_INVOCATIONS,
            stream_writes * STREAM_INVOCATIONS,
        ));
        count_in("deprovisioned", STREAM_INVOCATIONS, answered);
        let calls: usize = (0..SCIM_TARGETS)
            .map(|n| {
                scim.calls(&format!("https://app{n}.example.com/scim/v2"))
                    .len()
            })
            .sum();
        measured.scim_calls = calls as u64 * STREAM_INVOCATIONS;
        let window = merge_deprovision::domain::deprovision::brake_window(support::now());
        measured.brake_writes = u64::from(d.store.taken(&window)) * STREAM_INVOCATIONS;
        let largest = d
            .ledger
            .entries()
            .values()
            .map(item_size)
            .max()
            .unwrap_or(0);
        measured.item_bytes = measured.item_bytes.max(largest);
    }
    // Sweeps, measured against the fake Merge API: an account of 1,000 employees swept in
    // full once (not counted: it happens once), then a day later, after a day's changes,
    // incrementally; and the recurring schedule's fan-out.
    {
        let swept = sweep_of_a_day();
        let (reads, writes) = (swept.ledger_reads, swept.ledger_writes);
        ledger_calls.push((reads * ACCOUNT_SWEEPS, writes * ACCOUNT_SWEEPS));
        measured.merge_requests = swept.merge_requests * ACCOUNT_SWEEPS;
        count_in("sweep of one account", ACCOUNT_SWEEPS, swept.sweep);
        count_in("fan-out", FAN_OUTS, swept.fan_out);
    }
    measured.ledger_reads = ledger_calls.iter().map(|c| c.0).sum();
    measured.ledger_writes = ledger_calls.iter().map(|c| c.1).sum();
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml")).unwrap();
    measured.alarms = template.matches("Type: AWS::CloudWatch::Alarm").count() as u64;
    let retention = template
        .split("LogRetentionInDays:")
        .nth(1)
        .and_then(|rest| rest.split("Default:").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|days| days.parse().ok())
        .expect("the template's default log retention");
    measured.retention_days = retention;
    measured
}

/// What one day's incremental sweep of the workload's account costs, measured.
struct Swept {
    ledger_reads: u64,
    ledger_writes: u64,
    merge_requests: u64,
    sweep: (String, Option<String>),
    fan_out: (String, Option<String>),
}

fn sweep_of_a_day() -> Swept {
    use merge_deprovision::app::sweep::Reconciliation;
    use support::fake_merge::{API_KEY, FakeMerge, employees};
    let merge = FakeMerge::start();
    merge.set_account(
        "token",
        employees(LEDGER_ITEMS as usize, "2026-11-20T08:00:00Z"),
    );
    let l = ledger_app();
    let base = merge_deprovision::net::base_url(&merge.base_url()).unwrap();
    let app = l.app.with_reconciliation(Reconciliation {
        secret: support::merge_secret(
            &json!({"api_key": API_KEY, "account_tokens": {"acct": "token"}}),
        )
        .0
        .into(),
        pages: std::sync::Arc::new(merge_deprovision::merge::client::MergeClient::new(
            merge_deprovision::net::client().unwrap(),
            &base,
        )),
        policy: Default::default(),
        page_limit: usize::MAX,
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let invoke = |input: &str, at| {
        let request = fired_event(input);
        let (answered, logs) = support::capture_logs(true, || {
            runtime.block_on(merge_deprovision::lambda::handler::answer_event(
                &app, &request, at,
            ))
        });
        (logs, answered.unwrap().metrics)
    };
    let one =
        r#"{"kind": "merge-deprovision.reconcile", "version": 1, "linked_account_id": "acct"}"#;
    invoke(one, support::now());
    let tomorrow = support::now() + chrono::TimeDelta::days(1);
    let synced: chrono::DateTime<chrono::Utc> = "2026-11-28T03:00:00Z".parse().unwrap();
    for i in 0..CHANGED_PER_DAY {
        let id = format!("00000000-0000-4000-8000-{i:012}");
        merge.update("token", &id, json!({"modified_at": "2026-11-28T03:00:00Z"}));
        // Its webhook arrived and wrote the entry, as almost every one does: the sweep
        // finds the ledger up to date.
        let key = merge_deprovision::domain::ledger::EmployeeKey::new(Some("acct"), &id);
        let mut entry = l.ledger.entries()[&key].clone();
        entry.version = Some(synced);
        entry.revision += 1;
        l.ledger.insert(entry);
    }
    merge.clear_requests();
    let (calls, writes) = (l.ledger.calls(), l.ledger.writes().len());
    let sweep = invoke(one, tomorrow);
    let swept_writes = (l.ledger.writes().len() - writes) as u64;
    // The sweep item's own reads and writes are calls the twin counts, not entry writes.
    let swept_calls = (l.ledger.calls() - calls) as u64;
    let fan_out = invoke(
        r#"{"kind": "merge-deprovision.reconcile", "version": 1}"#,
        tomorrow,
    );
    Swept {
        ledger_reads: swept_calls - swept_writes - 2,
        ledger_writes: swept_writes + 2,
        merge_requests: merge.requests().len() as u64,
        sweep,
        fan_out,
    }
}

fn usd(amount: f64) -> String {
    if amount == 0.0 {
        "$0".into()
    } else if amount < 0.01 {
        format!("${amount:.5}")
    } else {
        format!("${amount:.2}")
    }
}

/// The cost table, computed from the measured inputs.
fn table(m: &Measured) -> String {
    let deliveries: u64 = WORKLOAD.iter().map(|(_, n)| n).sum();
    let firings = TERMINATION_FIRINGS + ACCOUNT_SWEEPS + FAN_OUTS + MONTHLY_REPORTS;
    let streamed = STREAM_INVOCATIONS;
    let invocations = deliveries + firings + streamed;
    let series = m.datapoints.len();
    // Custom metrics are prorated by the hour: a series costs only for the hours it
    // receives data. Each datapoint in an hour of its own is the worst case.
    let metric_months: f64 = m
        .datapoints
        .values()
        .map(|&points| (points as f64).min(HOURS_PER_MONTH) / HOURS_PER_MONTH)
        .sum();
    // Once the function has run for the retention period, that many months of records
    // are held.
    let stored_gb = m.log_bytes as f64 / GB * (m.retention_days as f64 / (365.0 / 12.0));
    let mut rows: Vec<(String, String, f64)> = vec![
        (
            "Lambda requests".into(),
            format!(
                "{invocations} ({deliveries} deliveries + {TERMINATION_FIRINGS} timers + \
                 {ACCOUNT_SWEEPS} sweeps + {FAN_OUTS} fan-outs + {MONTHLY_REPORTS} monthly \
                 report, all fired by schedules, + {streamed} ledger stream batches)"
            ),
            invocations as f64 / 1e6 * price::LAMBDA_PER_MILLION_REQUESTS,
        ),
        (
            "Lambda compute, 128 MB arm64".into(),
            format!(
                "{:.1} GB-s ({BILLED_SECONDS_PER_INVOCATION} s billed per invocation, a bound)",
                invocations as f64 * BILLED_SECONDS_PER_INVOCATION * MEMORY_GB
            ),
            invocations as f64
                * BILLED_SECONDS_PER_INVOCATION
                * MEMORY_GB
                * price::LAMBDA_ARM64_PER_GB_SECOND,
        ),
        (
            "CloudWatch Logs ingestion".into(),
            format!(
                "{:.2} MB (record and metrics line: {} to {} bytes per invocation, measured; \
                 {PLATFORM_LOG_BYTES} bytes of Lambda's own lines)",
                m.log_bytes as f64 / 1e6,
                m.record_bytes.values().min().unwrap(),
                m.record_bytes.values().max().unwrap()
            ),
            m.log_bytes as f64 / GB * price::LOGS_INGESTION_PER_GB,
        ),
        (
            "CloudWatch Logs storage".into(),
            format!(
                "{:.1} MB held at the {}-day retention, uncompressed (a bound)",
                stored_gb * 1e3,
                m.retention_days
            ),
            stored_gb * price::LOGS_STORAGE_PER_GB_MONTH,
        ),
        (
            "Custom metrics".into(),
            format!(
                "{series} series (measured), prorated by the hours they receive data: \
                 {metric_months:.2} metric-months; {} if every series had data every hour",
                usd(series as f64 * price::CUSTOM_METRIC_PER_MONTH)
            ),
            metric_months * price::CUSTOM_METRIC_PER_MONTH,
        ),
        (
            "Alarms".into(),
            format!("{} standard alarms in template.yaml", m.alarms),
            m.alarms as f64 * price::ALARM_PER_MONTH,
        ),
        (
            "EventBridge Scheduler".into(),
            format!(
                "{firings} firings: a timer per scheduled termination, a schedule per sweep, \
                 the daily fan-out, the monthly report; creating, updating and deleting them \
                 is free"
            ),
            firings as f64 / 1e6 * price::SCHEDULER_PER_MILLION_INVOCATIONS,
        ),
        (
            "DynamoDB requests (on-demand)".into(),
            format!(
                "{} writes ({} of them the brake's counter) and {} strongly consistent reads \
                 (counted through the handler), items of at most {} bytes: one request unit \
                 each; the stream's reads by Lambda are free",
                m.ledger_writes + m.brake_writes,
                m.brake_writes,
                m.ledger_reads,
                m.item_bytes
            ),
            (m.ledger_writes + m.brake_writes) as f64 / 1e6
                * price::DYNAMODB_PER_MILLION_WRITE_UNITS
                + m.ledger_reads as f64 / 1e6 * price::DYNAMODB_PER_MILLION_READ_UNITS,
        ),
        (
            "DynamoDB storage and point-in-time recovery".into(),
            format!(
                "{LEDGER_ITEMS} items of at most {} bytes (every employee ever seen)",
                m.item_bytes
            ),
            (LEDGER_ITEMS * m.item_bytes) as f64 / GB
                * (price::DYNAMODB_STORAGE_PER_GB_MONTH + price::DYNAMODB_PITR_PER_GB_MONTH),
        ),
        (
            "Merge API requests".into(),
            format!(
                "{} GETs by sweeps, measured (a day's changes fit one page of 100); not \
                 billed by AWS, counted against Merge's per-account rate limit",
                m.merge_requests
            ),
            0.0,
        ),
        (
            "SQS".into(),
            "the two dead-letter queues (schedules, the ledger's stream): no traffic unless a \
             firing or a deprovisioning fails, 0 requests"
                .into(),
            0.0 / 1e6 * price::SQS_PER_MILLION_REQUESTS,
        ),
        (
            "Secrets Manager".into(),
            format!(
                "with the key in a secret (optional): one secret and at most one read per \
                 invocation, {invocations} (the key in the environment costs nothing)"
            ),
            price::SECRET_PER_MONTH + invocations as f64 / 1e4 * price::SECRETS_PER_10K_CALLS,
        ),
        (
            "Secrets Manager, SCIM targets".into(),
            format!(
                "the targets secret: one secret and at most one read per stream batch, \
                 {streamed}"
            ),
            price::SECRET_PER_MONTH + streamed as f64 / 1e4 * price::SECRETS_PER_10K_CALLS,
        ),
        (
            "SCIM calls".into(),
            format!(
                "{} HTTPS requests to {SCIM_TARGETS} applications (a GET and a PATCH per \
                 leaver and target, counted through the handler): no AWS charge",
                m.scim_calls
            ),
            0.0,
        ),
        (
            "Secrets Manager, the Merge API secret".into(),
            format!(
                "with reconciliation on: one more secret, read at most once per sweep, \
                 fan-out and sync_completed webhook once it has aged: {} reads at most",
                ACCOUNT_SWEEPS + FAN_OUTS + WORKLOAD[3].1
            ),
            price::SECRET_PER_MONTH
                + (ACCOUNT_SWEEPS + FAN_OUTS + WORKLOAD[3].1) as f64 / 1e4
                    * price::SECRETS_PER_10K_CALLS,
        ),
        (
            "S3, the report bucket".into(),
            format!(
                "{} PUTs a month (the monthly report's CSV, JSON and HTML for \
                 {STREAM_INVOCATIONS} leavers in {SCIM_TARGETS} targets: {} KB, rendered); \
                 {REPORT_MONTHS_KEPT} months kept in S3 Standard, versioned, SSE-S3",
                3 * MONTHLY_REPORTS,
                m.report_bytes / 1_000
            ),
            (3 * MONTHLY_REPORTS) as f64 / 1e3 * price::S3_PER_THOUSAND_PUTS
                + (REPORT_MONTHS_KEPT * m.report_bytes) as f64 / GB
                    * price::S3_STANDARD_PER_GB_MONTH,
        ),
        (
            "CloudWatch dashboard".into(),
            "the template's dashboard (free within an account's first three)".into(),
            price::DASHBOARD_PER_MONTH,
        ),
    ];
    let total: f64 = rows.iter().map(|r| r.2).sum();
    rows.push(("**Total**".into(), "".into(), total));
    let mut text = String::from("| item | monthly quantity | USD / month |\n|---|---|---:|\n");
    for (item, quantity, cost) in rows {
        text.push_str(&format!("| {item} | {quantity} | {} |\n", usd(cost)));
    }
    text
}

#[test]
fn the_documented_cost_table_is_what_the_measured_inputs_give() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/cost.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let expected = table(&measure());
    let (before, rest) = readme
        .split_once(START)
        .expect("docs/cost.md marks the table");
    let (current, after) = rest.split_once(END).expect("docs/cost.md ends the table");
    let current = current.trim_start_matches('\n');
    if current != expected {
        if std::env::var_os("UPDATE_README").is_some() {
            std::fs::write(path, format!("{before}{START}\n{expected}{END}{after}")).unwrap();
        } else {
            panic!(
                "the cost table in docs/cost.md is stale; rerun with UPDATE_README=1 to rewrite \
                 it as:\n{expected}"
            );
        }
    }
}

#[test]
fn the_workload_creates_no_more_series_than_the_ceiling_for_one_integration() {
    let measured = measure();
    assert!(
        measured.datapoints.len()
            <= merge_deprovision::telemetry::metrics::series_ceiling(1)
                + merge_deprovision::telemetry::metrics::RECONCILIATION_METRICS.len(),
        "{:#?}",
        measured.datapoints
    );
}

/// The total of a table made by [`table`], as written in its last row.
fn total_of(table: &str) -> &str {
    let row = table
        .lines()
        .find(|line| line.starts_with("| **Total** |"))
        .expect("the table's total row");
    row.trim_end_matches(" |")
        .rsplit(" | ")
        .next()
        .expect("the total's cell")
}

/// Every dollar amount in `text`: `$` followed by a digit, up to the end of the number.
fn dollar_amounts(text: &str) -> Vec<&str> {
    text.match_indices('$')
        .filter_map(|(at, _)| {
            let rest = &text[at + 1..];
            let digits = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let number = rest[..digits].trim_end_matches('.');
            (!number.is_empty()).then(|| &text[at..at + 1 + number.len()])
        })
        .collect()
}

#[test]
fn the_readme_gives_the_tables_total_as_its_one_dollar_figure() {
    let total = total_of(&table(&measure())).to_owned();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let amounts = dollar_amounts(&readme);
    assert_eq!(
        amounts.len(),
        1,
        "README.md gives the monthly cost once, as docs/cost.md's total: {amounts:?}"
    );
    if amounts[0] == total {
        return;
    }
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(path, readme.replacen(amounts[0], &total, 1)).unwrap();
    } else {
        panic!(
            "README.md gives {} a month where docs/cost.md's table totals {total}; rerun \
             with UPDATE_README=1 to rewrite it",
            amounts[0]
        );
    }
}
