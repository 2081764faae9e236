//! Deprovisioning's own cost, against in-memory twins of the ledger and of SCIM
//! endpoints, so what is measured is the function's work (the stream record read with
//! the ledger's item format, the plan, the outcome written back, the record and the
//! metrics line), not a network: one stream batch of one move into `terminated`, into one
//! and into three targets, beside a terminated delivery through the webhook path for
//! scale. Each iteration starts from a fresh ledger and directory, set up and dropped
//! outside the measurement.
//!
//! `cargo bench --bench deprovision`; the medians are in docs/performance.md.

use chrono::{DateTime, TimeZone, Utc};
use criterion::{BatchSize, Criterion};
use lambda_http::Request;
use merge_deprovision::app::deprovision::Deprovisioner;
use merge_deprovision::aws::memory::{
    MemoryDeprovisionStore, MemoryLedger, MemorySchedules, MemorySecrets,
};
use merge_deprovision::aws::stream::record_of;
use merge_deprovision::domain::deprovision::{Mode, ScimAttribute, filter_for};
use merge_deprovision::lambda::config::{Config, DeprovisionConfig, SIGNATURE_KEY_VAR};
use merge_deprovision::lambda::handler::answer_event;
use merge_deprovision::lambda::state::{App, effects_over};
use merge_deprovision::scim::memory::MemoryScim;
use merge_deprovision_samples::{
    LOCAL_TEST_KEY, Signing, employee_envelope, function_url_event, ready,
};
use serde_json::json;
use std::hint::black_box;
use std::sync::Arc;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

fn config() -> Config {
    Config::from_lookup(|name| match name {
        SIGNATURE_KEY_VAR => Some(LOCAL_TEST_KEY.to_owned()),
        "EMPLOYEE_LEDGER_TABLE" => Some("ledger".to_owned()),
        _ => None,
    })
    .unwrap()
}

fn terminated() -> Request {
    let envelope = employee_envelope("Employee.changed", |data| {
        data.insert("employment_status".into(), json!("INACTIVE"));
        data.insert("termination_date".into(), json!("2026-11-20"));
    });
    let body = serde_json::to_vec(&envelope).unwrap();
    lambda_http::request::from_str(
        &function_url_event("POST", &body, Signing::TestKey, false, "bench").to_string(),
    )
    .unwrap()
}

/// A function with `targets` SCIM targets, each holding the sample employee, after a
/// terminated delivery; and the stream batch that delivery wrote.
fn world(targets: usize) -> (App, Request) {
    let config = config();
    let ledger = Arc::new(MemoryLedger::new());
    let effects = effects_over(&config, ledger.clone(), Arc::new(MemorySchedules::new()));
    let scim = MemoryScim::new();
    let list: Vec<_> = (0..targets)
        .map(|n| {
            let base = format!("https://app{n}.example.com/scim/v2");
            scim.serve(&base, "token");
            scim.add(&base, "greg@merge.dev", &["greg@merge.dev"], None, true);
            json!({"name": format!("app{n}"), "base_url": base, "token": "token"})
        })
        .collect();
    let deprovisioner = ready(Deprovisioner::load(
        &DeprovisionConfig {
            secret_id: "targets".into(),
            refresh_after: None,
            mode: Mode::Enforce,
            max_per_hour: 1_000_000,
        },
        Arc::new(MemorySecrets::with(
            "targets",
            &json!({ "targets": list }).to_string(),
        )),
        Arc::new(scim),
        Arc::new(MemoryDeprovisionStore::new()),
        now(),
    ))
    .unwrap();
    let app = App::with_effects(&config, effects).with_deprovisioner(deprovisioner);
    ready(answer_event(&app, &terminated(), now())).unwrap();
    // The move into terminated (the mark that its record was written follows it).
    let (old, new) = ledger.drain_stream().swap_remove(0);
    let batch = json!({"Records": [record_of(old.as_ref(), &new, "1")]}).to_string();
    (app, lambda_http::request::from_str(&batch).unwrap())
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    c.bench_function("filter: userName eq, escaped", |b| {
        b.iter(|| filter_for(ScimAttribute::UserName, black_box(r#"a"b\c@example.com"#)))
    });
    for targets in [1, 3] {
        // What is measured does the work: one metrics line per target's outcome.
        let (app, batch) = world(targets);
        let answered = ready(answer_event(&app, &batch, now())).unwrap();
        let lines = answered.metrics.unwrap_or_default();
        assert_eq!(lines.matches("\"deactivated\"").count(), targets, "{lines}");
        c.bench_function(
            &format!("stream batch: one termination into {targets} target(s)"),
            |b| {
                b.iter_batched_ref(
                    || world(targets),
                    |(app, batch)| ready(answer_event(app, batch, now())).unwrap(),
                    BatchSize::SmallInput,
                )
            },
        );
    }
    c.bench_function(
        "webhook: a terminated delivery, ledger on (for scale)",
        |b| {
            b.iter_batched_ref(
                || {
                    let config = config();
                    let effects = effects_over(
                        &config,
                        Arc::new(MemoryLedger::new()),
                        Arc::new(MemorySchedules::new()),
                    );
                    (App::with_effects(&config, effects), terminated())
                },
                |(app, request)| ready(answer_event(app, request, now())).unwrap(),
                BatchSize::SmallInput,
            )
        },
    );
    c.final_summary();
}
