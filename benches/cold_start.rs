//! Cold start, warm latency, peak memory and size of the release binary, each against a
//! do-nothing `lambda_http` function built with the same profile, in one run.
//!
//! The binaries are built into `target/cold-start` by the same `cargo build --release`
//! the deployment uses, then driven through a Lambda Runtime API on loopback, as in
//! `tests/binary.rs`. Run with `cargo bench --bench cold_start`.

#[path = "../tests/support/fake_aws.rs"]
mod fake_aws;
#[path = "../tests/support/runtime_api.rs"]
mod runtime_api;

use runtime_api::{Function, Reply, RuntimeApi};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const COLD_ROUNDS: usize = 30;
const WARM_INVOCATIONS: usize = 2_000;
const KEY: (&str, &str) = (
    "MERGE_WEBHOOK_SIGNATURE_KEY",
    "merge-deprovision-local-test-key",
);
const JSON_LOGS: (&str, &str) = ("AWS_LAMBDA_LOG_FORMAT", "JSON");

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Builds with `cargo build --release` into a target directory of its own, so the build
/// does not wait on the one running this bench.
fn build(args: &[&str]) -> PathBuf {
    let target = manifest_dir().join("target").join("cold-start");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(manifest_dir())
        .args(["build", "--release", "--locked", "--quiet"])
        .args(args)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build {args:?} failed");
    target.join("release")
}

fn event(name: &str) -> String {
    std::fs::read_to_string(manifest_dir().join("events").join(name)).unwrap()
}

fn large_event() -> String {
    use serde_json::{Value, json};
    let mut envelope: Value =
        serde_json::from_str(merge_deprovision_samples::TYPICAL_ENVELOPE).unwrap();
    envelope["data"]["remote_data"] = Value::Array(
        (0..1_200)
            .map(|i| json!({"path": format!("/people/1/history/{i}"), "data": {"note": "x".repeat(200)}}))
            .collect(),
    );
    let body = serde_json::to_vec(&envelope).unwrap();
    merge_deprovision_samples::function_url_event(
        "POST",
        &body,
        merge_deprovision_samples::Signing::TestKey,
        false,
        "large",
    )
    .to_string()
}

/// A signed delivery of `event` with `fields` on the typical Employee.
fn delivery(event: &str, fields: serde_json::Value) -> String {
    let envelope = merge_deprovision_samples::employee_envelope(event, |data| {
        for (name, value) in fields.as_object().unwrap() {
            data.insert(name.clone(), value.clone());
        }
    });
    merge_deprovision_samples::function_url_event(
        "POST",
        &serde_json::to_vec(&envelope).unwrap(),
        merge_deprovision_samples::Signing::TestKey,
        false,
        "bench",
    )
    .to_string()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn ok(reply: &Reply) {
    assert!(matches!(reply, Reply::Response(_)), "{reply:?}");
}

struct Binary {
    name: &'static str,
    path: PathBuf,
    env: Vec<(&'static str, &'static str)>,
}

async fn cold_start(binary: &Binary, payload: &str) -> Duration {
    let api = RuntimeApi::start().await;
    let function = Function::spawn(&binary.path, &api, &binary.env);
    let reply = api.invoke(payload).await;
    let elapsed = function.spawned_at.elapsed();
    ok(&reply);
    function.stop().await;
    elapsed
}

/// Median round trip of one invocation in a warm process, and the process's peak RSS.
async fn warm(binary: &Binary, payloads: &[&str]) -> (Duration, u64) {
    let api = RuntimeApi::start().await;
    let function = Function::spawn(&binary.path, &api, &binary.env);
    ok(&api.invoke(payloads[0]).await);
    let mut samples = Vec::with_capacity(WARM_INVOCATIONS);
    for i in 0..WARM_INVOCATIONS {
        let start = std::time::Instant::now();
        ok(&api.invoke(payloads[i % payloads.len()]).await);
        samples.push(start.elapsed());
    }
    let rss = function.peak_rss_kib().expect("the process is running");
    function.stop().await;
    (median(samples), rss)
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not, and gets a smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let release = build(&["--bin", "merge-deprovision"]);
    build(&[
        "--example",
        "bare-function",
        "--example",
        "bare-function-multi-thread",
    ]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let aws = runtime.block_on(fake_aws::FakeAws::start());
    let endpoint: &'static str = Box::leak(aws.url().into_boxed_str());
    let ours = Binary {
        name: "merge-deprovision",
        path: release.join("merge-deprovision"),
        env: vec![KEY, JSON_LOGS],
    };
    let scheduling = Binary {
        name: "merge-deprovision, ledger and timers on",
        path: release.join("merge-deprovision"),
        env: vec![
            KEY,
            JSON_LOGS,
            ("TERMINATION_SCHEDULE_GROUP", "merge-deprovision"),
            (
                "TERMINATION_SCHEDULE_ROLE_ARN",
                "arn:aws:iam::123456789012:role/scheduler",
            ),
            ("EMPLOYEE_LEDGER_TABLE", "merge-deprovision-ledger"),
            ("AWS_ENDPOINT_URL", endpoint),
            ("AWS_ACCESS_KEY_ID", "bench"),
            ("AWS_SECRET_ACCESS_KEY", "bench"),
        ],
    };
    let bare = Binary {
        name: "bare lambda_http (current_thread)",
        path: release.join("examples/bare-function"),
        env: vec![JSON_LOGS],
    };
    let bare_mt = Binary {
        name: "bare lambda_http (multi_thread)",
        path: release.join("examples/bare-function-multi-thread"),
        env: vec![JSON_LOGS],
    };
    let binaries = [&ours, &bare, &bare_mt, &scheduling];
    let typical = event("employee-terminated.json");
    let minimal = event("employee-removed.json");
    let large = large_event();
    // With the ledger on, a delivery that makes no AWS call: one that decides nothing.
    let added = event("linked-account-synced.json");
    let scheduled = delivery(
        "Employee.changed",
        serde_json::json!({"employment_status": "ACTIVE", "termination_date": "2099-06-30"}),
    );
    let rounds = if full { COLD_ROUNDS } else { 3 };

    runtime.block_on(async {
        let mut cold: Vec<Vec<Duration>> = vec![Vec::new(); binaries.len()];
        for round in 0..rounds {
            // Rotate the order so no binary always runs first after the others.
            for k in 0..binaries.len() {
                let i = (round + k) % binaries.len();
                let payload = if binaries[i].name == scheduling.name { &added } else { &typical };
                cold[i].push(cold_start(binaries[i], payload).await);
            }
        }
        let cold: Vec<Duration> = cold.into_iter().map(median).collect();

        println!("\ncold start: spawn to first response, median of {rounds} (this machine, release profile);");
        println!("the ledger and timers on answers a LinkedAccount.synced, which makes no AWS call");
        for (binary, time) in binaries.iter().zip(&cold) {
            println!("  {:<36} {:>10}  {:.2}x the bare current_thread function", binary.name, ms(*time), time.as_secs_f64() / cold[1].as_secs_f64());
        }

        if full {
            println!("\nwarm: median round trip of {WARM_INVOCATIONS} invocations in one process, and peak RSS");
            println!("(ledger and timers on: every invocation writes the ledger and sets a timer, through a loopback stand-in for DynamoDB and Scheduler)");
            let mixed = [typical.as_str(), large.as_str(), minimal.as_str()];
            for binary in binaries {
                let payloads: &[&str] = if binary.name == ours.name {
                    &mixed
                } else if binary.name == scheduling.name {
                    &[scheduled.as_str()]
                } else {
                    &[typical.as_str()]
                };
                let (latency, rss) = warm(binary, payloads).await;
                println!("  {:<36} {:>10}  peak RSS {:.1} MiB", binary.name, ms(latency), rss as f64 / 1024.0);
            }
        }
    });

    println!("\nAWS calls answered by the stand-in: {}", aws.calls());
    println!("\nsize (x86-64, release profile)");
    for binary in [&ours, &bare, &bare_mt] {
        println!(
            "  {:<36} {:>8.2} MB ({} bytes)",
            binary.name,
            size(&binary.path) as f64 / 1e6,
            size(&binary.path)
        );
    }
}
