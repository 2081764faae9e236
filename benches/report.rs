//! The access-removal report's own cost: the rows and summary built from the evidence
//! trail of 1,000 leavers in 3 targets (a held outcome then a deactivation per target,
//! 7,000 facts), and each of its three forms rendered, beside the whole of it as one
//! invocation makes it. Pure values: no ledger read, no S3 write.
//!
//! `cargo bench --bench report`; prints each form's size and the process's peak
//! resident memory (VmHWM) after one whole report, before criterion's iterations.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use criterion::Criterion;
use merge_deprovision::domain::evidence::{Evidence, Fact, Trigger};
use merge_deprovision::domain::ledger::{EmployeeKey, Identity};
use merge_deprovision::domain::outcome::Outcome;
use merge_deprovision::domain::report::{DEFAULT_SLA_HOURS, Form, Period, Report, build};
use std::hint::black_box;
use std::time::Instant;

const LEAVERS: u32 = 1_000;
const TARGETS: [&str; 3] = ["okta", "github", "slack"];
const ACCOUNT: &str = "a3602c03-aba7-4d9d-a349-dbc338504092";

fn as_of() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 6, 0, 0).unwrap()
}

/// A month's trail: each leaver terminated on one of November's days, each target held
/// a minute later and deactivated some hours after that.
fn trail() -> Vec<Evidence> {
    let mut facts = Vec::new();
    for n in 0..LEAVERS {
        let key = EmployeeKey::new(Some(ACCOUNT), &format!("0958cbc6-6040-430a-848e-{n:012}"));
        let at = Utc
            .with_ymd_and_hms(2026, 11, 1 + n % 30, n % 24, 0, 0)
            .unwrap();
        facts.push(Evidence {
            key: key.clone(),
            at,
            fact: Fact::Terminated {
                termination_date: Some(at),
                effective_at: Some(at),
                rule: Some("start of the local day (Europe/London)".to_owned()),
                by: Trigger::Webhook,
                learned_at: at - TimeDelta::days(2),
                learned_by: Trigger::Webhook,
                historical: false,
                identity: Identity {
                    remote_id: Some(format!("{n}")),
                    employee_number: Some(format!("E-{n:05}")),
                    work_email: Some(format!("leaver{n}@merge.dev")),
                    username: Some(format!("leaver{n}")),
                    display_full_name: Some(format!("Leaver Number {n}")),
                    integration: Some("bamboohr".to_owned()),
                    end_user_organization_name: Some("Merge Sample Co".to_owned()),
                },
            },
        });
        for (i, target) in TARGETS.iter().enumerate() {
            let step = |minutes: i64, outcome: Outcome, by: Trigger| Evidence {
                key: key.clone(),
                at: at + TimeDelta::minutes(minutes),
                fact: Fact::Target {
                    target: (*target).to_owned(),
                    termination: Some(at),
                    outcome,
                    user: outcome.changed().then(|| format!("{target}-{n}")),
                    run: Some(format!("run-{n}")),
                    by,
                },
            };
            facts.push(step(1, Outcome::Held, Trigger::Webhook));
            let later = 60 * i64::from(n % 40) + i as i64;
            facts.push(step(later, Outcome::Deactivated, Trigger::Release));
        }
    }
    facts
}

fn report(facts: &[Evidence]) -> Report {
    let period = Period::month(2026, 11).unwrap();
    let sla = TimeDelta::hours(DEFAULT_SLA_HOURS);
    build(facts, &period, Some(ACCOUNT), sla, as_of())
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let facts = trail();
    let before = peak_rss_kib();
    let started = Instant::now();
    let whole = report(&facts);
    let sizes = Form::ALL.map(|form| (form, form.render(&whole).len()));
    let took = started.elapsed();
    let after = peak_rss_kib();
    assert_eq!(whole.rows.len(), (LEAVERS as usize) * TARGETS.len());

    let mut c = Criterion::default().configure_from_args();
    c.bench_function("report: build, 1,000 leavers x 3 targets", |b| {
        b.iter(|| report(black_box(&facts)))
    });
    for form in Form::ALL {
        c.bench_function(&format!("report: render {}", form.as_str()), |b| {
            b.iter(|| form.render(black_box(&whole)))
        });
    }
    c.bench_function("report: build and render all three forms", |b| {
        b.iter(|| {
            let report = report(black_box(&facts));
            Form::ALL.map(|form| form.render(&report).len())
        })
    });
    c.final_summary();
    println!();
    println!(
        "report of {LEAVERS} leavers x {} targets ({} facts, {} rows), once before the \
         iterations: {took:?}",
        TARGETS.len(),
        facts.len(),
        whole.rows.len()
    );
    for (form, bytes) in sizes {
        println!("  {}: {:.1} KiB", form.as_str(), bytes as f64 / 1024.0);
    }
    println!(
        "  peak RSS (VmHWM): {:.1} MiB with the trail in memory, {:.1} MiB after one whole \
         report",
        before as f64 / 1024.0,
        after as f64 / 1024.0
    );
}
