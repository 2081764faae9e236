//! The full request path, from function URL event bytes to the serialised response, for
//! three payload sizes, against the floor of parsing the same bytes as a JSON value.
//!
//! Criterion reports each measurement; the table printed at the end gives the figures
//! the README quotes: for each, the median and range over several runs, each run taking
//! interleaved medians so that machine noise falls on all compared functions alike.

use chrono::{DateTime, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput};
use lambda_http::request::LambdaRequest;
use lambda_http::tracing::subscriber::filter::LevelFilter;
use lambda_http::{Adapter, Body, Context, LambdaEvent, Request, Response, Service, service_fn};
use merge_deprovision::domain::webhook::{Outcome, Receiver};
use merge_deprovision::lambda::config::{Config, SIGNATURE_KEY_VAR};
use merge_deprovision::lambda::http::respond;
use merge_deprovision::lambda::logging::{LogSettings, subscriber};
use merge_deprovision::lambda::state::App;
use merge_deprovision::telemetry::record::{RequestFacts, log_outcome};
use merge_deprovision_samples::{
    LOCAL_TEST_KEY, Signing, TYPICAL_ENVELOPE, finished, function_url_event,
};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

struct Payload {
    name: &'static str,
    event: Vec<u8>,
}

fn event_for(envelope: &Value) -> Vec<u8> {
    let body = serde_json::to_vec(envelope).unwrap();
    serde_json::to_vec(&function_url_event(
        "POST",
        &body,
        Signing::TestKey,
        false,
        "bench",
    ))
    .unwrap()
}

fn payloads() -> Vec<Payload> {
    let minimal = json!({
        "hook": {"id": "5d3f1c2a-9b8e-4f7a-8c6d-1e2f3a4b5c6d", "event": "Employee.changed",
                 "target": "https://example.lambda-url.eu-west-1.on.aws/"},
        "linked_account": {"id": "a3602c03-aba7-4d9d-a349-dbc338504092", "integration_slug": "humaans",
                           "end_user_organization_name": "We Are Merge"},
        "data": {"id": "0958cbc6-6040-430a-848e-aafacbadf4ae", "remote_id": "19202938",
                 "work_email": "greg@merge.dev", "employment_status": "INACTIVE",
                 "termination_date": "2026-11-20T00:00:00Z"}
    });
    let typical: Value = serde_json::from_str(TYPICAL_ENVELOPE).unwrap();
    let mut large = typical.clone();
    // About 300 KB of raw HRIS history, the part of real payloads that grows.
    let history: Vec<Value> = (0..1_200)
        .map(|i| {
            json!({
                "path": format!("/people/19202938/history/{i}"),
                "data": {"id": format!("h{i}"), "changedAt": "2025-01-01T00:00:00Z", "field": "jobTitle",
                         "from": "Software Engineer", "to": "Senior Software Engineer",
                         "note": "promotion after review cycle, approved by manager and HR business partner"}
            })
        })
        .collect();
    large["data"]["remote_data"] = Value::Array(history);
    vec![
        Payload {
            name: "minimal",
            event: event_for(&minimal),
        },
        Payload {
            name: "typical",
            event: event_for(&typical),
        },
        Payload {
            name: "large",
            event: event_for(&large),
        },
    ]
}

fn config() -> Config {
    Config::from_lookup(|name| (name == SIGNATURE_KEY_VAR).then(|| LOCAL_TEST_KEY.to_owned()))
        .unwrap()
}

/// Event bytes in, response bytes out: what the runtime does around the handler, with
/// the log record and the metrics line written to sinks.
fn full_path(app: &App, event: &[u8]) -> Vec<u8> {
    let request: LambdaRequest = serde_json::from_slice(event).unwrap();
    let handler = service_fn(|request: Request| async move {
        let answered = respond(app, &request, now()).await.unwrap();
        writeln!(std::io::sink(), "{}", answered.metrics.unwrap_or_default()).unwrap();
        Ok::<Response<Body>, Infallible>(answered.response)
    });
    let mut adapter = Adapter::from(handler);
    let response = finished(adapter.call(LambdaEvent::new(request, Context::default()))).unwrap();
    serde_json::to_vec(&response).unwrap()
}

/// lambda_http's own share: the event deserialised and converted into a request, as
/// the adapter does before the handler runs.
fn adapter_only(event: &[u8]) -> Request {
    let request: LambdaRequest = serde_json::from_slice(event).unwrap();
    Request::from(request)
}

fn floor(event: &[u8]) -> Value {
    serde_json::from_slice::<Value>(event).unwrap()
}

fn bench(c: &mut Criterion, payloads: &[Payload], app: &App, receiver: &Receiver) {
    for payload in payloads {
        let mut group = c.benchmark_group(payload.name);
        group.throughput(Throughput::Bytes(payload.event.len() as u64));
        group.bench_function(
            BenchmarkId::new("floor: serde_json Value", payload.event.len()),
            |b| b.iter(|| floor(black_box(&payload.event))),
        );
        group.bench_function(
            BenchmarkId::new("handler: full path", payload.event.len()),
            |b| b.iter(|| full_path(app, black_box(&payload.event))),
        );
        group.finish();
    }
    let outcome = typical_outcome(payloads, receiver);
    c.bench_function("log record: one terminated record, JSON", |b| {
        b.iter(|| log_outcome(black_box(&outcome), &RequestFacts::default()))
    });
}

/// The typical payload's outcome, for timing its log record alone.
fn typical_outcome(payloads: &[Payload], receiver: &Receiver) -> Outcome {
    let typical = payloads.iter().find(|p| p.name == "typical").unwrap();
    let request =
        lambda_http::request::from_str(std::str::from_utf8(&typical.event).unwrap()).unwrap();
    let signature = request.headers()["x-merge-webhook-signature"].as_bytes();
    receiver
        .receive(
            config().environment_verifier().unwrap(),
            request.body().as_ref(),
            Some(signature),
            now(),
        )
        .unwrap()
}

/// Median time per call of each function, from interleaved batches so that machine noise
/// falls on both alike.
fn interleaved_medians(functions: &mut [Box<dyn FnMut() + '_>], budget: Duration) -> Vec<Duration> {
    // Size a batch to about a millisecond for the slowest function.
    let mut batch = 1u32;
    loop {
        let slowest = functions
            .iter_mut()
            .map(|f| {
                let start = Instant::now();
                for _ in 0..batch {
                    f();
                }
                start.elapsed()
            })
            .max()
            .unwrap();
        if slowest >= Duration::from_millis(1) || batch >= 1 << 20 {
            break;
        }
        batch *= 2;
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); functions.len()];
    let started = Instant::now();
    while started.elapsed() < budget || samples[0].len() < 11 {
        for (i, f) in functions.iter_mut().enumerate() {
            let start = Instant::now();
            for _ in 0..batch {
                f();
            }
            samples[i].push(start.elapsed() / batch);
        }
    }
    samples
        .into_iter()
        .map(|mut s| {
            s.sort();
            s[s.len() / 2]
        })
        .collect()
}

fn micros(seconds: f64) -> String {
    format!("{:.2} µs", seconds * 1e6)
}

/// One run's figures: per payload, the floor, the handler and lambda_http alone (in
/// seconds), and for the typical payload the log record's time.
struct Run {
    floor: Vec<f64>,
    handler: Vec<f64>,
    adapter: Vec<f64>,
    log_record: f64,
}

impl Run {
    fn ratio(&self, i: usize) -> f64 {
        self.handler[i] / self.floor[i]
    }
    fn adapter_ratio(&self, i: usize) -> f64 {
        self.adapter[i] / self.floor[i]
    }
    /// Time growth from typical to large over byte growth: 1.0 is linear.
    fn growth(&self, bytes: &[usize]) -> f64 {
        (self.handler[2] / self.handler[1]) / (bytes[2] as f64 / bytes[1] as f64)
    }
    fn log_share(&self) -> f64 {
        self.log_record / self.handler[1]
    }
}

/// One run: every payload's functions interleaved, and the typical payload's log record
/// interleaved with its handler, so each figure printed comes from one measurement.
fn measure(payloads: &[Payload], app: &App, outcome: &Outcome) -> Run {
    let mut run = Run {
        floor: Vec::new(),
        handler: Vec::new(),
        adapter: Vec::new(),
        log_record: 0.0,
    };
    for payload in payloads {
        let event = &payload.event;
        let mut functions: Vec<Box<dyn FnMut() + '_>> = vec![
            Box::new(|| {
                black_box(floor(black_box(event)));
            }),
            Box::new(|| {
                black_box(full_path(app, black_box(event)));
            }),
            Box::new(|| {
                black_box(adapter_only(black_box(event)));
            }),
        ];
        if payload.name == "typical" {
            functions.push(Box::new(|| {
                log_outcome(black_box(outcome), &RequestFacts::default())
            }));
        }
        let medians = interleaved_medians(&mut functions, Duration::from_secs(2));
        run.floor.push(medians[0].as_secs_f64());
        run.handler.push(medians[1].as_secs_f64());
        run.adapter.push(medians[2].as_secs_f64());
        if let Some(log) = medians.get(3) {
            run.log_record = log.as_secs_f64();
        }
    }
    run
}

/// The median of `values`, and their range, as `median [min-max]`.
fn spread(values: impl Iterator<Item = f64>, show: impl Fn(f64) -> String) -> String {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    format!(
        "{} [{}-{}]",
        show(values[values.len() / 2]),
        show(values[0]),
        show(values[values.len() - 1])
    )
}

fn ratio_table(payloads: &[Payload], app: &App, receiver: &Receiver) {
    let runs: usize = std::env::var("RATIO_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(5);
    let outcome = typical_outcome(payloads, receiver);
    let results: Vec<Run> = (0..runs)
        .map(|_| measure(payloads, app, &outcome))
        .collect();
    let bytes: Vec<usize> = payloads.iter().map(|p| p.event.len()).collect();
    let x = |r: f64| format!("{r:.2}x");

    println!(
        "\nrequest path against the floor: median [min-max] over {runs} runs of interleaved \
         medians (RATIO_RUNS sets the count)"
    );
    println!(
        "{:<8} {:>8}  {:<34} {:<36} {:<22} {:<22}",
        "payload", "bytes", "floor", "handler", "handler/floor", "lambda_http/floor"
    );
    for (i, payload) in payloads.iter().enumerate() {
        println!(
            "{:<8} {:>8}  {:<34} {:<36} {:<22} {:<22}",
            payload.name,
            bytes[i],
            spread(results.iter().map(|r| r.floor[i]), micros),
            spread(results.iter().map(|r| r.handler[i]), micros),
            spread(results.iter().map(|r| r.ratio(i)), x),
            spread(results.iter().map(|r| r.adapter_ratio(i)), x),
        );
    }
    println!(
        "growth, large/typical, as a fraction of linear (time ratio / byte ratio {:.1}x): {}",
        bytes[2] as f64 / bytes[1] as f64,
        spread(results.iter().map(|r| r.growth(&bytes)), |g| format!(
            "{g:.2}"
        ))
    );
    println!(
        "one terminated JSON log record: {}, as a share of the typical handler: {}",
        spread(results.iter().map(|r| r.log_record), micros),
        spread(results.iter().map(Run::log_share), |s| format!(
            "{:.0}%",
            100.0 * s
        ))
    );
}

fn main() {
    // Records are formatted exactly as in production, then discarded.
    let sink = subscriber(
        LogSettings {
            json: true,
            level: LevelFilter::INFO,
        },
        std::io::sink,
    );
    lambda_http::tracing::dispatcher::set_global_default(lambda_http::tracing::Dispatch::new(sink))
        .unwrap();

    let payloads = payloads();
    let config = config();
    let (app, receiver) = (App::new(&config), config.receiver());
    for payload in &payloads {
        let response: Value = serde_json::from_slice(&full_path(&app, &payload.event)).unwrap();
        assert_eq!(response["statusCode"], 200, "{}: {response}", payload.name);
    }
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion, &payloads, &app, &receiver);
    criterion.final_summary();
    ratio_table(&payloads, &app, &receiver);
}
