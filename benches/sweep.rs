//! A sweep of 10,000 employees (100 pages of 100) from a fake Merge API on loopback into
//! the in-memory ledger, through the real handler: a first sweep (every employee new to
//! the ledger, so every one written) and a repeat (every one unchanged, nothing written).
//! Prints employees per second for each, and the process's peak resident memory (VmHWM),
//! the figures the README and docs/performance.md quote. Targets: at least 20,000
//! employees a second, at most 32 MB.
//!
//! The fake runs in a child process (this bench, started again with
//! `SWEEP_BENCH_FAKE` set), so that the peak memory measured is the function's and the
//! in-memory ledger's, not the fake's 10,000 JSON employees; and the memory figure comes
//! from another child (`SWEEP_BENCH_MEMORY`) that only sweeps, twice, as a function's
//! process would.

#[path = "../tests/support/fake_merge.rs"]
mod fake_merge;

use chrono::{DateTime, TimeZone, Utc};
use criterion::Criterion;
use fake_merge::{API_KEY, FakeMerge, employees};
use lambda_http::RequestExt;
use merge_deprovision::app::cached_secret::CachedSecret;
use merge_deprovision::app::sweep::Reconciliation;
use merge_deprovision::aws::memory::{MemoryLedger, MemorySchedules, MemorySecrets};
use merge_deprovision::domain::reconcile::parse_merge_secret;
use merge_deprovision::lambda::config::Config;
use merge_deprovision::lambda::handler::answer_event;
use merge_deprovision::lambda::state::{App, effects_over};
use std::sync::Arc;
use std::time::{Duration, Instant};

const EMPLOYEES: usize = 10_000;
/// A full sweep: the repeat reads every page again, as the first did, despite the
/// watermark the first left.
const DOCUMENT: &str = r#"{"kind": "merge-deprovision.reconcile", "version": 1, "linked_account_id": "acct", "full": true}"#;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The function with the ledger, timers and reconciliation on, over in-memory twins and
/// the fake.
fn app(base_url: &str, runtime: &tokio::runtime::Runtime) -> App {
    let config = Config::from_lookup(|name| {
        Some(
            match name {
                "MERGE_WEBHOOK_SIGNATURE_KEY" => "k",
                "EMPLOYEE_LEDGER_TABLE" => "ledger",
                "TERMINATION_SCHEDULE_GROUP" => "merge-deprovision",
                "TERMINATION_SCHEDULE_ROLE_ARN" => "arn:aws:iam::123456789012:role/scheduler",
                _ => return None,
            }
            .to_owned(),
        )
    })
    .unwrap();
    let effects = effects_over(
        &config,
        Arc::new(MemoryLedger::new()),
        Arc::new(MemorySchedules::new()),
    );
    let secret = format!(r#"{{"api_key": "{API_KEY}", "account_tokens": {{"acct": "token"}}}}"#);
    let store = Arc::new(MemorySecrets::with("merge/api", &secret));
    let secret = runtime
        .block_on(CachedSecret::load(
            store,
            "merge/api",
            None,
            now(),
            parse_merge_secret,
        ))
        .unwrap();
    let base = merge_deprovision::net::base_url(base_url).unwrap();
    App::with_effects(&config, effects).with_reconciliation(Reconciliation {
        secret: secret.into(),
        pages: Arc::new(merge_deprovision::merge::client::MergeClient::new(
            merge_deprovision::net::client().unwrap(),
            &base,
        )),
        policy: Default::default(),
        page_limit: usize::MAX,
    })
}

fn invocation() -> lambda_http::Request {
    let mut context = merge_deprovision_samples::lambda_context("bench", "merge-deprovision");
    context.invoked_function_arn =
        "arn:aws:lambda:eu-west-1:123456789012:function:merge-deprovision".to_owned();
    lambda_http::request::from_str(DOCUMENT)
        .unwrap()
        .with_lambda_context(context)
}

/// Sweeps once, checking that every page was read; returns how long it took.
fn sweep(app: &App, runtime: &tokio::runtime::Runtime) -> Duration {
    let request = invocation();
    let started = Instant::now();
    let answered = runtime
        .block_on(answer_event(app, &request, now()))
        .unwrap();
    let elapsed = started.elapsed();
    let body: serde_json::Value =
        serde_json::from_slice(answered.response.body().as_ref()).unwrap();
    assert_eq!(body["reconciliation"], "completed", "{body}");
    assert_eq!(body["employees"], EMPLOYEES as u64);
    elapsed
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

/// The child's life: serve the fake, say its port, wait to be killed.
fn serve_fake() -> ! {
    let merge = FakeMerge::start();
    merge.set_account("token", employees(EMPLOYEES, "2026-11-20T08:00:00Z"));
    println!("{}", merge.base_url());
    loop {
        std::thread::park();
    }
}

/// Starts the fake in a child process; its base URL.
fn start_fake() -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .env("SWEEP_BENCH_FAKE", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the fake starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_owned())
}

/// A process's life of its own for the memory figure: one first sweep and one repeat
/// into a fresh ledger, as a function's process would see them, then its peak RSS, so
/// that criterion's own allocations and the many ledgers of its iterations are not in it.
fn measure_memory(base_url: &str) -> ! {
    let runtime = runtime();
    let app = app(base_url, &runtime);
    sweep(&app, &runtime);
    sweep(&app, &runtime);
    println!("{}", peak_rss_kib());
    std::process::exit(0)
}

fn peak_rss_of_one_process(base_url: &str) -> u64 {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .env("SWEEP_BENCH_MEMORY", base_url)
        .output()
        .expect("the measuring process runs");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("the measuring process prints its peak RSS")
}

fn main() {
    if std::env::var_os("SWEEP_BENCH_FAKE").is_some() {
        serve_fake();
    }
    if let Some(base_url) = std::env::var_os("SWEEP_BENCH_MEMORY") {
        measure_memory(&base_url.to_string_lossy());
    }
    let (mut fake, base_url) = start_fake();
    let merge = base_url.as_str();
    let runtime = runtime();
    let mut criterion = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));
    let (mut first, mut repeat) = (Vec::new(), Vec::new());
    criterion.bench_function("sweep 10,000 employees, first (all written)", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let fresh = app(merge, &runtime);
                let took = sweep(&fresh, &runtime);
                first.push(took);
                total += took;
            }
            total
        })
    });
    let warm = app(merge, &runtime);
    sweep(&warm, &runtime);
    criterion.bench_function("sweep 10,000 employees, repeat (none written)", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let took = sweep(&warm, &runtime);
                repeat.push(took);
                total += took;
            }
            total
        })
    });
    criterion.final_summary();
    let rate = |runs: &mut Vec<Duration>| {
        runs.sort();
        let median = runs[runs.len() / 2];
        (EMPLOYEES as f64 / median.as_secs_f64(), median)
    };
    let (first_rate, first_median) = rate(&mut first);
    let (repeat_rate, repeat_median) = rate(&mut repeat);
    println!();
    println!("sweep of {EMPLOYEES} employees in 100 pages from a loopback fake, median run:");
    println!("  first sweep (all written):   {first_rate:>8.0} employees/s ({first_median:?})");
    println!("  repeat sweep (none written): {repeat_rate:>8.0} employees/s ({repeat_median:?})");
    println!(
        "  peak RSS (VmHWM) of a process sweeping twice, the in-memory ledger of {EMPLOYEES} \
         entries included: {:.1} MiB",
        peak_rss_of_one_process(merge) as f64 / 1024.0
    );
    println!(
        "  peak RSS of this bench process, criterion and its iterations' ledgers included: \
         {:.1} MiB",
        peak_rss_kib() as f64 / 1024.0
    );
    let _ = fake.kill();
    let _ = fake.wait();
}
