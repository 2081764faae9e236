//! Helpers shared by the integration tests: building function URL requests, running
//! them through the real handler, and capturing what it logs.

#![allow(dead_code)]

pub mod aws_proxy;
pub mod fake_merge;
pub mod hostile;
pub mod ledger_table;
pub mod runtime_api;

use chrono::{DateTime, TimeZone, Utc};
use lambda_http::tracing::subscriber::filter::LevelFilter;
use lambda_http::{Body, Request, Response};
use merge_deprovision::lambda::config::{
    Config, MAX_BODY_BYTES_VAR, PREVIOUS_SIGNATURE_KEY_VAR, SIGNATURE_KEY_VAR,
};
use merge_deprovision::lambda::handler::answer_event;
use merge_deprovision::lambda::logging::{LogBuffer, LogSettings, subscriber};
use merge_deprovision::lambda::state::App;
use merge_deprovision_samples::{LOCAL_TEST_KEY, Signing, function_url_event, ready};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The fixed "now" the tests decide at: after the sample terminated date (2026-11-20),
/// before the sample scheduled one (2099-06-30).
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

/// The function's state, configured with the local test key and the given extra
/// variables.
pub fn receiver_with(vars: &[(&str, &str)]) -> App {
    let config = Config::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .or_else(|| (name == SIGNATURE_KEY_VAR).then(|| LOCAL_TEST_KEY.to_owned()))
    })
    .expect("test configuration is valid");
    App::new(&config)
}

/// A receiver with only the local test key.
pub fn receiver() -> App {
    receiver_with(&[])
}

/// A receiver whose current key is new and whose previous key is the local test key.
pub fn rotating_receiver() -> App {
    receiver_with(&[
        (SIGNATURE_KEY_VAR, "the-new-key"),
        (PREVIOUS_SIGNATURE_KEY_VAR, LOCAL_TEST_KEY),
    ])
}

/// A receiver with a small body limit.
pub fn limited_receiver(limit: usize) -> App {
    let limit = limit.to_string();
    receiver_with(&[(MAX_BODY_BYTES_VAR, &limit)])
}

/// Parses a function URL event the way `lambda_http` does for the runtime.
pub fn request(event: &Value) -> Request {
    lambda_http::request::from_str(&event.to_string()).expect("a valid function URL event")
}

/// A POST of `body`, signed as `signing` says.
pub fn post(body: &[u8], signing: Signing) -> Request {
    request(&function_url_event(
        "POST",
        body,
        signing,
        false,
        "test-request",
    ))
}

/// What the handler answered, with what it logged meanwhile.
pub struct Answer {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub body: String,
    pub logs: String,
    /// The EMF line the invocation contributed.
    pub metrics: Value,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("responses are JSON")
    }

    /// The log lines as JSON objects (for answers captured with JSON logs).
    pub fn records(&self) -> Vec<Value> {
        self.logs
            .lines()
            .map(|l| serde_json::from_str(l).expect("each log line is JSON"))
            .collect()
    }
}

/// Runs `request` through the real handler at [`now`], capturing logs in JSON or text.
pub fn answer_with(receiver: &App, request: &Request, json_logs: bool) -> Answer {
    let (response, logs) =
        capture_logs(json_logs, || ready(answer_event(receiver, request, now())));
    let answered = response.expect("the handler answers");
    let response: Response<Body> = answered.response;
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: String::from_utf8(response.body().as_ref().to_vec()).expect("responses are UTF-8"),
        logs,
        metrics: serde_json::from_str(&answered.metrics.expect("a metrics line"))
            .expect("the metrics line is JSON"),
    }
}

/// Runs `request` through the real handler with JSON logs.
pub fn answer(receiver: &App, request: &Request) -> Answer {
    answer_with(receiver, request, true)
}

/// Runs `f` with the function's own subscriber writing into a buffer, at TRACE so that
/// nothing any level could emit escapes the check.
pub fn capture_logs<T>(json: bool, f: impl FnOnce() -> T) -> (T, String) {
    let buffer = LogBuffer::default();
    let settings = LogSettings {
        json,
        level: LevelFilter::TRACE,
    };
    let dispatch = lambda_http::tracing::Dispatch::new(subscriber(settings, buffer.clone()));
    let result = lambda_http::tracing::dispatcher::with_default(&dispatch, f);
    let logs = buffer.contents();
    (result, logs)
}

/// One CloudWatch metric series: namespace, metric name, and dimension names with values.
pub type Series = (String, String, BTreeMap<String, String>);

/// The series one Embedded Metric Format line publishes a value to.
pub fn emf_series(line: &Value) -> Vec<Series> {
    let mut series = Vec::new();
    for directive in line["_aws"]["CloudWatchMetrics"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let namespace = directive["Namespace"].as_str().unwrap_or_default();
        for metric in directive["Metrics"].as_array().into_iter().flatten() {
            let name = metric["Name"].as_str().unwrap_or_default();
            for set in directive["Dimensions"].as_array().into_iter().flatten() {
                let dimensions = set
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|key| {
                        (
                            key.to_owned(),
                            line[key].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect();
                series.push((namespace.to_owned(), name.to_owned(), dimensions));
            }
        }
    }
    series
}

/// The metrics lines of every sample event in `events/` but the timers, answered by the
/// real handler.
pub fn sample_metrics_lines(app: &App) -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let manifest = merge_deprovision_samples::read_manifest(
        &std::fs::read_to_string(dir.join(merge_deprovision_samples::MANIFEST_FILE)).unwrap(),
    )
    .unwrap();
    manifest
        .iter()
        // Timers are answered only with the ledger on: see `series_of_a_realistic_mix`.
        .filter(|entry| !entry.needs_ledger)
        .map(|entry| {
            let event: Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join(&entry.file)).unwrap())
                    .unwrap();
            answer(app, &request(&event)).metrics
        })
        .collect()
}

/// One delivery of each decision, `rejected` included, from a linked account of
/// `integration`.
pub fn deliveries_from(integration: &str) -> Vec<Request> {
    use merge_deprovision_samples::employee_envelope;
    let employee = |fields: Value| {
        employee_envelope("Employee.changed", |data| {
            for (name, value) in fields.as_object().unwrap() {
                data.insert(name.clone(), value.clone());
            }
        })
    };
    let mut envelopes = vec![
        employee(json!({"employment_status": "INACTIVE", "termination_date": "2026-11-20"})),
        employee(json!({"employment_status": "ACTIVE", "termination_date": "2099-06-30"})),
        employee(json!({"employment_status": "ACTIVE", "termination_date": null})),
        employee(json!({"employment_status": "ACTIVE", "termination_date": "end of Q4"})),
        employee_envelope("LinkedAccount.synced", |_| {}),
    ];
    for envelope in &mut envelopes {
        envelope["linked_account"]["integration_slug"] = json!(integration);
    }
    let signed = envelopes
        .iter()
        .map(|e| post(&serde_json::to_vec(e).unwrap(), Signing::TestKey));
    let forged = post(
        &serde_json::to_vec(&envelopes[0]).unwrap(),
        Signing::WrongKey,
    );
    signed.chain(std::iter::once(forged)).collect()
}

/// Runs `request` through the real handler as Lambda would: with an invocation context
/// and inside the runtime's request span, so the record carries every key it carries
/// in CloudWatch. Returns the JSON log output and the metrics line, if any.
pub fn answer_in_lambda(app: &App, request: Request) -> (String, Option<String>) {
    use lambda_http::RequestExt;
    let context = merge_deprovision_samples::lambda_context(
        "8f5e4f1a-2b3c-4d5e-8f90-123456789abc",
        "merge-deprovision-DeprovisionFunction-AbCdEf123456",
    );
    let request = request.with_lambda_context(context.clone());
    let (answered, logs) = capture_logs(true, || {
        lambda_http::lambda_runtime::layers::trace::request_span(&context)
            .in_scope(|| ready(answer_event(app, &request, now())))
    });
    (logs, answered.expect("the handler answers").metrics)
}

/// The function's ARN the scheduling tests invoke as.
pub const FUNCTION_ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:merge-deprovision";
/// The role Scheduler assumes, in the scheduling tests.
pub const SCHEDULER_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/merge-deprovision-scheduler";
/// The dead-letter queue, in the scheduling tests.
pub const DEAD_LETTER_ARN: &str = "arn:aws:sqs:eu-west-1:123456789012:merge-deprovision-dlq";

/// The ledger's table, in the tests.
pub const LEDGER_TABLE: &str = "merge-deprovision-ledger";

/// The function with the ledger and timers on, over in-memory twins it shares with the
/// caller.
pub struct LedgerApp {
    pub app: App,
    pub ledger: std::sync::Arc<merge_deprovision::aws::memory::MemoryLedger>,
    pub schedules: std::sync::Arc<merge_deprovision::aws::memory::MemorySchedules>,
}

/// See [`LedgerApp`].
pub fn ledger_app() -> LedgerApp {
    let config = Config::from_lookup(|name| match name {
        SIGNATURE_KEY_VAR => Some(LOCAL_TEST_KEY.to_owned()),
        "TERMINATION_SCHEDULE_GROUP" => Some("merge-deprovision".to_owned()),
        "TERMINATION_SCHEDULE_ROLE_ARN" => Some(SCHEDULER_ROLE_ARN.to_owned()),
        "TERMINATION_SCHEDULE_DLQ_ARN" => Some(DEAD_LETTER_ARN.to_owned()),
        "EMPLOYEE_LEDGER_TABLE" => Some(LEDGER_TABLE.to_owned()),
        _ => None,
    })
    .expect("test configuration is valid");
    let ledger = std::sync::Arc::new(merge_deprovision::aws::memory::MemoryLedger::new());
    let schedules = std::sync::Arc::new(merge_deprovision::aws::memory::MemorySchedules::new());
    let effects =
        merge_deprovision::lambda::state::effects_over(&config, ledger.clone(), schedules.clone());
    LedgerApp {
        app: App::with_effects(&config, effects),
        ledger,
        schedules,
    }
}

/// The function with the ledger and timers on; the schedule group it shares with the
/// caller.
pub fn scheduling_app() -> (
    App,
    std::sync::Arc<merge_deprovision::aws::memory::MemorySchedules>,
) {
    let LedgerApp { app, schedules, .. } = ledger_app();
    (app, schedules)
}

/// `request` as Lambda hands it over: with an invocation context naming the function.
pub fn in_lambda(request: Request) -> Request {
    use lambda_http::RequestExt;
    let mut context = merge_deprovision_samples::lambda_context("request-1", "merge-deprovision");
    context.invoked_function_arn = FUNCTION_ARN.to_owned();
    request.with_lambda_context(context)
}

/// A signed `Employee.<action>` delivery with `fields` set on the typical Employee.
pub fn employee_delivery(event: &str, fields: Value) -> Request {
    let envelope = merge_deprovision_samples::employee_envelope(event, |data| {
        for (name, value) in fields.as_object().expect("fields are an object") {
            data.insert(name.clone(), value.clone());
        }
    });
    in_lambda(post(
        &serde_json::to_vec(&envelope).unwrap(),
        Signing::TestKey,
    ))
}

/// The event Scheduler delivers when a schedule fires: its input, as the raw event.
pub fn fired_event(input: &str) -> Request {
    in_lambda(lambda_http::request::from_str(input).expect("any JSON passes through"))
}

/// Runs an event Scheduler fired through the handler's path for such events.
pub fn answer_fired(
    app: &App,
    request: &Request,
) -> (
    Result<
        merge_deprovision::lambda::handler::Answered,
        merge_deprovision::lambda::handler::FiredError,
    >,
    String,
) {
    capture_logs(true, || {
        ready(merge_deprovision::lambda::timer::respond_to_fired(
            app,
            request,
            now(),
        ))
    })
}

/// The integrations the realistic mix of deliveries comes from.
pub const INTEGRATIONS: [&str; 3] = ["humaans", "bamboohr", "workday"];

/// Every sample event, then every decision from each of three integrations, then a
/// termination scheduled, moved, cancelled, scheduled again and fired, one scheduling
/// failure and one ledger failure.
pub fn series_of_a_realistic_mix() -> std::collections::BTreeSet<Series> {
    let app = receiver();
    let mut lines = sample_metrics_lines(&app);
    for integration in INTEGRATIONS {
        for request in deliveries_from(integration) {
            lines.push(answer(&app, &request).metrics);
        }
    }
    let LedgerApp {
        app,
        ledger,
        schedules,
    } = ledger_app();
    let employee = |mut fields: serde_json::Value| {
        fields["employment_status"] = json!("ACTIVE");
        employee_delivery("Employee.changed", fields)
    };
    for (date, modified_at) in [
        ("2099-06-30", "2026-11-26T01:00:00Z"),
        ("2099-07-31", "2026-11-26T02:00:00Z"),
    ] {
        let fields = json!({"termination_date": date, "modified_at": modified_at});
        lines.push(answer(&app, &employee(fields)).metrics);
    }
    let cancel = json!({"termination_date": null, "modified_at": "2026-11-26T03:00:00Z"});
    lines.push(answer(&app, &employee(cancel)).metrics);
    let again = json!({"termination_date": "2099-08-31", "modified_at": "2026-11-26T04:00:00Z"});
    lines.push(answer(&app, &employee(again.clone())).metrics);
    let name = schedules.schedules().into_keys().next().unwrap();
    let input = serde_json::to_string(&schedules.fire(&name).unwrap()).unwrap();
    let (fired, _) = answer_fired(&app, &fired_event(&input));
    let fired = fired.unwrap().metrics.unwrap();
    lines.push(serde_json::from_str(&fired).unwrap());
    schedules.fail_next([merge_deprovision::aws::scheduler::SchedulerError::Throttled]);
    let later = json!({"termination_date": "2099-09-30", "modified_at": "2026-11-26T05:00:00Z"});
    lines.push(answer(&app, &employee(later)).metrics);
    ledger.fail_next([merge_deprovision::aws::ledger::LedgerError::Unreachable]);
    lines.push(answer(&app, &employee(again)).metrics);
    // A signature that fails while the key's secret cannot be read again.
    let store = std::sync::Arc::new(merge_deprovision::aws::memory::MemorySecrets::with(
        "merge/webhook-key",
        LOCAL_TEST_KEY,
    ));
    let app = secret_app(store.clone(), chrono::TimeDelta::minutes(2));
    store.fail_with(Some(merge_deprovision::aws::secrets::SecretError::new(
        "ThrottlingException",
    )));
    lines.push(answer(&app, &post(b"{}", Signing::WrongKey)).metrics);
    lines.iter().flat_map(emf_series).collect()
}

/// The function with its keys in a secret of `store`, read `loaded_ago` before [`now`].
pub fn secret_app(
    store: std::sync::Arc<merge_deprovision::aws::memory::MemorySecrets>,
    loaded_ago: chrono::TimeDelta,
) -> App {
    let config = Config::from_lookup(|name| {
        (name == "MERGE_WEBHOOK_SIGNATURE_SECRET_ID").then(|| "merge/webhook-key".to_owned())
    })
    .expect("test configuration is valid");
    ready(App::load(&config, store, now() - loaded_ago)).expect("the secret is readable")
}

/// Polls every future to its end, together, on the current task.
pub async fn join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (i, future) in pending.iter_mut().enumerate() {
            if done[i].is_none()
                && let std::task::Poll::Ready(output) = future.as_mut().poll(cx)
            {
                done[i] = Some(output);
            }
        }
        if done.iter().all(Option::is_some) {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    done.into_iter()
        .map(|d| d.expect("every future ended"))
        .collect()
}

/// The targets secret's id, in the deprovisioning tests.
pub const TARGETS_SECRET: &str = "merge-deprovision/scim-targets";

/// The function with the ledger, timers and SCIM deprovisioning on, over in-memory
/// twins it shares with the caller.
pub struct DeprovisionApp {
    pub app: App,
    pub ledger: std::sync::Arc<merge_deprovision::aws::memory::MemoryLedger>,
    pub schedules: std::sync::Arc<merge_deprovision::aws::memory::MemorySchedules>,
    pub scim: merge_deprovision::scim::memory::MemoryScim,
    pub store: std::sync::Arc<merge_deprovision::aws::memory::MemoryDeprovisionStore>,
    pub secrets: std::sync::Arc<merge_deprovision::aws::memory::MemorySecrets>,
}

/// See [`DeprovisionApp`]: `targets` is the secret's JSON, `vars` more settings
/// (`DEPROVISION_MODE` defaults to `enforce` here).
pub fn deprovision_app(
    targets: &Value,
    scim: merge_deprovision::scim::memory::MemoryScim,
    vars: &[(&str, &str)],
) -> DeprovisionApp {
    let ledger = std::sync::Arc::new(merge_deprovision::aws::memory::MemoryLedger::new());
    let schedules = std::sync::Arc::new(merge_deprovision::aws::memory::MemorySchedules::new());
    // In the ledger's table, as deployed: a move into `terminated` notes the leaver there.
    let store = std::sync::Arc::new(
        merge_deprovision::aws::memory::MemoryDeprovisionStore::in_table_of(&ledger),
    );
    let secrets = std::sync::Arc::new(merge_deprovision::aws::memory::MemorySecrets::with(
        TARGETS_SECRET,
        &targets.to_string(),
    ));
    assemble(ledger, schedules, store, secrets, scim, vars)
}

/// See [`deprovision_app`], over a ledger that already holds entries (deprovisioning
/// turned on for an existing ledger).
#[allow(dead_code)]
pub fn deprovision_app_over(
    ledger: std::sync::Arc<merge_deprovision::aws::memory::MemoryLedger>,
    targets: &Value,
    scim: merge_deprovision::scim::memory::MemoryScim,
    vars: &[(&str, &str)],
) -> DeprovisionApp {
    let schedules = std::sync::Arc::new(merge_deprovision::aws::memory::MemorySchedules::new());
    let store = std::sync::Arc::new(
        merge_deprovision::aws::memory::MemoryDeprovisionStore::in_table_of(&ledger),
    );
    let secrets = std::sync::Arc::new(merge_deprovision::aws::memory::MemorySecrets::with(
        TARGETS_SECRET,
        &targets.to_string(),
    ));
    assemble(ledger, schedules, store, secrets, scim, vars)
}

/// `d`'s ledger, bookkeeping, secret and directories under a function started again
/// with other settings (`vars`), as a deploy switching `DEPROVISION_MODE` does.
#[allow(dead_code)]
pub fn restarted(d: &DeprovisionApp, vars: &[(&str, &str)]) -> DeprovisionApp {
    assemble(
        d.ledger.clone(),
        d.schedules.clone(),
        d.store.clone(),
        d.secrets.clone(),
        d.scim.clone(),
        vars,
    )
}

fn assemble(
    ledger: std::sync::Arc<merge_deprovision::aws::memory::MemoryLedger>,
    schedules: std::sync::Arc<merge_deprovision::aws::memory::MemorySchedules>,
    store: std::sync::Arc<merge_deprovision::aws::memory::MemoryDeprovisionStore>,
    secrets: std::sync::Arc<merge_deprovision::aws::memory::MemorySecrets>,
    scim: merge_deprovision::scim::memory::MemoryScim,
    vars: &[(&str, &str)],
) -> DeprovisionApp {
    let config = Config::from_lookup(|name| {
        if let Some((_, v)) = vars.iter().find(|(k, _)| *k == name) {
            return Some((*v).to_owned());
        }
        match name {
            SIGNATURE_KEY_VAR => Some(LOCAL_TEST_KEY.to_owned()),
            "TERMINATION_SCHEDULE_GROUP" => Some("merge-deprovision".to_owned()),
            "TERMINATION_SCHEDULE_ROLE_ARN" => Some(SCHEDULER_ROLE_ARN.to_owned()),
            "EMPLOYEE_LEDGER_TABLE" => Some(LEDGER_TABLE.to_owned()),
            "SCIM_TARGETS_SECRET_ID" => Some(TARGETS_SECRET.to_owned()),
            "DEPROVISION_MODE" => Some("enforce".to_owned()),
            _ => None,
        }
    })
    .expect("test configuration is valid");
    let effects =
        merge_deprovision::lambda::state::effects_over(&config, ledger.clone(), schedules.clone());
    let deprovisioner = ready(merge_deprovision::app::deprovision::Deprovisioner::load(
        config
            .deprovisioning
            .as_ref()
            .expect("deprovisioning is on"),
        secrets.clone(),
        std::sync::Arc::new(scim.clone()),
        store.clone(),
        now(),
    ))
    .expect("the targets secret reads");
    DeprovisionApp {
        app: App::with_effects(&config, effects).with_deprovisioner(deprovisioner),
        ledger,
        schedules,
        scim,
        store,
        secrets,
    }
}

/// The ledger's stream since the last call, as the event source mapping delivers it:
/// only moves into `terminated` (and out of a historical termination) pass its filters. `None` when nothing passes.
pub fn stream_batch(ledger: &merge_deprovision::aws::memory::MemoryLedger) -> Option<Request> {
    use merge_deprovision::domain::decision::Decision;
    static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let records: Vec<Value> = ledger
        .drain_stream()
        .iter()
        // The template's three filters: into `terminated` from nothing or anything
        // else, or from a historical termination to a current one.
        .filter(|(old, new)| {
            new.decision == Decision::Terminated
                && old.as_ref().is_none_or(|o| {
                    o.decision != Decision::Terminated || (o.historical && !new.historical)
                })
        })
        .map(|(old, new)| {
            let n = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            merge_deprovision::aws::stream::record_of(old.as_ref(), new, &format!("{n:021}"))
        })
        .collect();
    (!records.is_empty()).then(|| {
        in_lambda(
            lambda_http::request::from_str(&json!({ "Records": records }).to_string())
                .expect("any JSON passes through"),
        )
    })
}

/// A direct invocation of `document`, as the Lambda API passes it through.
pub fn direct(document: &Value) -> Request {
    in_lambda(
        lambda_http::request::from_str(&document.to_string()).expect("any JSON passes through"),
    )
}

/// What a direct invocation answered: the body, the records and the metrics lines.
pub struct Direct {
    pub body: Value,
    pub logs: String,
    pub metrics: Vec<Value>,
}

impl Direct {
    /// The records as JSON objects.
    pub fn records(&self) -> Vec<Value> {
        self.logs
            .lines()
            .map(|l| serde_json::from_str(l).expect("each log line is JSON"))
            .collect()
    }
}

/// Runs a direct invocation (a stream batch, a release) through the handler.
pub fn answer_direct(app: &App, request: &Request) -> Direct {
    let (answered, logs) = capture_logs(true, || ready(answer_event(app, request, now())));
    let answered = answered.expect("the handler answers");
    Direct {
        body: serde_json::from_slice(answered.response.body().as_ref()).expect("a JSON answer"),
        logs,
        metrics: answered
            .metrics
            .iter()
            .flat_map(|m| {
                m.lines()
                    .map(|l| serde_json::from_str(l).expect("EMF is JSON"))
                    .collect::<Vec<Value>>()
            })
            .collect(),
    }
}

/// The series the deprovisioning lines write: one line per outcome, as the stream and
/// the release write them.
pub fn deprovision_series() -> std::collections::BTreeSet<Series> {
    use merge_deprovision::domain::deprovision::Outcome;
    use merge_deprovision::telemetry::metrics::{Properties, deprovision_line};
    Outcome::ALL
        .into_iter()
        .flat_map(|outcome| {
            let line = deprovision_line(
                "MergeDeprovision",
                outcome.as_str(),
                outcome == Outcome::Failed,
                Properties::default(),
                now(),
            );
            emf_series(&serde_json::from_str(&line).unwrap())
        })
        .collect()
}

/// The series a sweep invocation can write: every count at once.
pub fn series_of_sweeps() -> std::collections::BTreeSet<Series> {
    use merge_deprovision::telemetry::metrics::{Properties, SweepMetrics, sweep_emf_line};
    let metrics = SweepMetrics {
        sweeps: 1,
        found: 2,
        terminations: 1,
        failures: 1,
        cold_start: true,
    };
    let line =
        sweep_emf_line("MergeDeprovision", &metrics, Properties::default(), now()).expect("a line");
    emf_series(&serde_json::from_str(&line).unwrap())
        .into_iter()
        .collect()
}

/// The Merge API secret's id in the tests.
pub const MERGE_SECRET_ID: &str = "merge/api";

/// The Merge API secret `value`, cached as the function caches it (read at [`now`], read
/// again after five minutes), over a store the caller can change.
pub fn merge_secret(
    value: &serde_json::Value,
) -> (
    merge_deprovision::app::cached_secret::CachedSecret<
        merge_deprovision::domain::reconcile::MergeApiSecret,
    >,
    std::sync::Arc<merge_deprovision::aws::memory::MemorySecrets>,
) {
    let store = std::sync::Arc::new(merge_deprovision::aws::memory::MemorySecrets::with(
        MERGE_SECRET_ID,
        &value.to_string(),
    ));
    let cached = ready(merge_deprovision::app::cached_secret::CachedSecret::load(
        store.clone(),
        MERGE_SECRET_ID,
        Some(chrono::TimeDelta::minutes(5)),
        now(),
        merge_deprovision::domain::reconcile::parse_merge_secret,
    ))
    .expect("the Merge API secret is readable");
    (cached, store)
}

/// The function with SCIM deprovisioning as [`deprovision_app`] builds it, and sweeps of
/// `account` (read with `token`) from `merge`: both ways a leaver arrives, a webhook and
/// a sweep, over the same ledger, timers and directories.
#[allow(dead_code)]
pub fn sweeping_deprovision_app(
    targets: &Value,
    scim: merge_deprovision::scim::memory::MemoryScim,
    merge: &fake_merge::FakeMerge,
    account: &str,
    token: &str,
) -> DeprovisionApp {
    let mut d = deprovision_app(targets, scim, &[]);
    let base = merge_deprovision::net::base_url(&merge.base_url()).expect("the fake's URL");
    let (secret, _) =
        merge_secret(&json!({"api_key": fake_merge::API_KEY, "account_tokens": {account: token}}));
    d.app = d
        .app
        .with_reconciliation(merge_deprovision::app::sweep::Reconciliation {
            secret: secret.into(),
            pages: std::sync::Arc::new(merge_deprovision::merge::client::MergeClient::new(
                merge_deprovision::net::client().expect("an HTTP client"),
                &base,
            )),
            policy: merge_deprovision::domain::decision::Policy::default(),
            page_limit: usize::MAX,
        });
    d
}
