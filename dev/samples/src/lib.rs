//! The sample function URL events in `events/`, built here and signed with the local
//! test key, so that editing a sample can never leave a stale signature.
//!
//! `cargo run --example generate-events` writes them; a test fails when the files in
//! `events/` differ from what this module builds.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use merge_deprovision::domain::signature::sign;
use serde_json::{Map, Value, json};

/// The documented key the sample events are signed with. It is public: never configure
/// it on a deployed function.
pub const LOCAL_TEST_KEY: &str = "merge-deprovision-local-test-key";

/// A realistic `Employee.changed` envelope, shaped by Merge's own SDK model, with every
/// field present and related objects expanded.
pub const TYPICAL_ENVELOPE: &str = include_str!("../../../tests/fixtures/employee-changed.json");

/// The file, inside `events/`, that lists every sample and its expected answer.
pub const MANIFEST_FILE: &str = "manifest.json";

/// What a sample should produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// A 200 with this `decision`.
    Decision(&'static str),
    /// An error response with this `error` code.
    Error(&'static str),
}

/// One sample delivery.
#[derive(Debug, Clone)]
pub struct Sample {
    /// File stem in `events/`.
    pub name: &'static str,
    /// What the sample shows.
    pub description: &'static str,
    /// The expected HTTP status.
    pub status: u16,
    /// The expected decision or error code.
    pub expected: Expected,
    /// The function URL (payload format 2.0) event.
    pub event: Value,
}

impl Sample {
    /// The file name in `events/`.
    pub fn file_name(&self) -> String {
        format!("{}.json", self.name)
    }

    /// True for a timer: only a function with the ledger can answer it; without one,
    /// the invocation fails naming `EMPLOYEE_LEDGER_TABLE`.
    pub fn needs_ledger(&self) -> bool {
        self.name.starts_with("scheduled-termination")
    }

    /// The event file's exact contents.
    pub fn render(&self) -> String {
        pretty(&self.event)
    }
}

/// How a sample's request is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// With [`LOCAL_TEST_KEY`].
    TestKey,
    /// With a key the function does not know.
    WrongKey,
    /// No signature header.
    Unsigned,
}

/// Builds a function URL event (payload format 2.0) as Lambda delivers it.
///
/// With `base64`, the body is base64-encoded and `isBase64Encoded` is true, as function
/// URLs do for content types they do not treat as text.
pub fn function_url_event(
    method: &str,
    body: &[u8],
    signing: Signing,
    base64: bool,
    request_id: &str,
) -> Value {
    let mut headers = Map::new();
    headers.insert("content-type".into(), json!("application/json"));
    headers.insert(
        "host".into(),
        json!(format!("{URL_ID}.lambda-url.eu-west-1.on.aws")),
    );
    headers.insert("user-agent".into(), json!("Merge-Webhooks"));
    headers.insert(
        "x-amzn-trace-id".into(),
        json!("Root=1-6747a2b0-3f2d1c0b9a8e7d6c5b4a3928"),
    );
    headers.insert("x-forwarded-for".into(), json!(SOURCE_IP));
    headers.insert("x-forwarded-port".into(), json!("443"));
    headers.insert("x-forwarded-proto".into(), json!("https"));
    let signature = match signing {
        Signing::TestKey => Some(sign(LOCAL_TEST_KEY.as_bytes(), body)),
        Signing::WrongKey => Some(sign(b"not-the-configured-key", body)),
        Signing::Unsigned => None,
    };
    if let Some(signature) = signature {
        headers.insert("x-merge-webhook-signature".into(), json!(signature));
    }
    let body_text = if base64 {
        Some(STANDARD.encode(body))
    } else if body.is_empty() {
        None
    } else {
        Some(String::from_utf8_lossy(body).into_owned())
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": URL_ID,
            "domainName": format!("{URL_ID}.lambda-url.eu-west-1.on.aws"),
            "domainPrefix": URL_ID,
            "http": {
                "method": method,
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": SOURCE_IP,
                "userAgent": "Merge-Webhooks"
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": "27/Nov/2026:09:00:00 +0000",
            "timeEpoch": 1_795_770_000_000_u64
        },
        "isBase64Encoded": base64
    });
    if let Some(text) = body_text {
        event["body"] = json!(text);
    }
    event
}

const URL_ID: &str = "abcdefghijklmnopqrstuvwxyz012345";
// An address from the documentation range (RFC 5737).
const SOURCE_IP: &str = "203.0.113.10";

/// The typical envelope with `event` as its event name and `edit` applied to `data`.
pub fn employee_envelope(event: &str, edit: impl FnOnce(&mut Map<String, Value>)) -> Value {
    let mut envelope: Value =
        serde_json::from_str(TYPICAL_ENVELOPE).expect("the typical envelope is JSON");
    envelope["hook"]["event"] = json!(event);
    edit(
        envelope["data"]
            .as_object_mut()
            .expect("the typical envelope has data"),
    );
    envelope
}

fn body(envelope: &Value) -> Vec<u8> {
    serde_json::to_vec(envelope).expect("a JSON value serialises")
}

fn set(data: &mut Map<String, Value>, fields: &[(&str, Value)]) {
    for (name, value) in fields {
        data.insert((*name).to_owned(), value.clone());
    }
}

/// Every sample, in manifest order.
pub fn samples() -> Vec<Sample> {
    let employee =
        |event: &str, fields: &[(&str, Value)]| body(&employee_envelope(event, |d| set(d, fields)));
    // Each sample is about an employee of its own, so that replayed in one process
    // against one ledger, each shows its own effect; the base64 sample repeats the
    // terminated one on purpose.
    let of = |n: u32| ("id", json!(format!("0958cbc6-6040-430a-848e-{n:012}")));
    let active = json!("ACTIVE");
    let terminated_body = employee(
        "Employee.changed",
        &[
            ("employment_status", active.clone()),
            ("termination_date", json!("2026-11-20T00:00:00Z")),
        ],
    );

    let mut list = Vec::new();
    let mut add =
        |name, description, status, expected, method: &str, body: &[u8], signing, base64| {
            let request_id = format!("00000000-0000-4000-8000-{:012}", list.len() + 1);
            let event = function_url_event(method, body, signing, base64, &request_id);
            list.push(Sample {
                name,
                description,
                status,
                expected,
                event,
            });
        };

    use Expected::{Decision, Error};
    use Signing::{TestKey, Unsigned, WrongKey};
    add(
        "employee-terminated",
        "Employee.changed with a termination date in the past",
        200,
        Decision("terminated"),
        "POST",
        &terminated_body,
        TestKey,
        false,
    );
    let scheduled_body = employee(
        "Employee.changed",
        &[
            of(2),
            ("employment_status", active.clone()),
            ("termination_date", json!("2099-06-30T00:00:00Z")),
        ],
    );
    add(
        "employee-scheduled",
        "Employee.changed with a termination date in the future",
        200,
        Decision("scheduled"),
        "POST",
        &scheduled_body,
        TestKey,
        false,
    );
    add(
        "employee-active",
        "Employee.changed for an active employee with no termination date",
        200,
        Decision("active"),
        "POST",
        &employee(
            "Employee.changed",
            &[
                of(3),
                ("employment_status", active.clone()),
                ("termination_date", Value::Null),
            ],
        ),
        TestKey,
        false,
    );
    add(
        "employee-inactive-no-date",
        "Employee.changed with status INACTIVE and no termination date",
        200,
        Decision("terminated"),
        "POST",
        &employee(
            "Employee.changed",
            &[
                of(4),
                ("employment_status", json!("INACTIVE")),
                ("termination_date", Value::Null),
            ],
        ),
        TestKey,
        false,
    );
    add(
        "employee-remote-deleted",
        "Employee.changed for a record deleted in the HR system",
        200,
        Decision("terminated"),
        "POST",
        &employee(
            "Employee.changed",
            &[
                of(5),
                ("employment_status", active.clone()),
                ("termination_date", Value::Null),
                ("remote_was_deleted", json!(true)),
            ],
        ),
        TestKey,
        false,
    );
    let removed = {
        let mut envelope = employee_envelope("Employee.removed", |_| {});
        envelope["data"] =
            json!({"id": "0958cbc6-6040-430a-848e-000000000006", "remote_id": "19202938"});
        body(&envelope)
    };
    add(
        "employee-removed",
        "Employee.removed carrying only the ids",
        200,
        Decision("terminated"),
        "POST",
        &removed,
        TestKey,
        false,
    );
    add(
        "employee-rehired",
        "employee.updated (older spelling) for a rehire: the hire date supersedes an old termination date",
        200,
        Decision("active"),
        "POST",
        &employee(
            "employee.updated",
            &[
                of(7),
                ("employment_status", active.clone()),
                ("termination_date", json!("2023-03-31T00:00:00Z")),
                ("hire_date", json!("2024-01-15T00:00:00Z")),
                ("start_date", json!("2024-01-15T00:00:00Z")),
            ],
        ),
        TestKey,
        false,
    );
    add(
        "employee-undetermined",
        "Employee.changed whose termination date cannot be parsed",
        200,
        Decision("undetermined"),
        "POST",
        &employee(
            "Employee.changed",
            &[
                of(8),
                ("employment_status", active.clone()),
                ("termination_date", json!("31/12/2026")),
            ],
        ),
        TestKey,
        false,
    );
    add(
        "employee-terminated-base64",
        "the terminated delivery with a base64-encoded body, as function URLs send non-text content",
        200,
        Decision("terminated"),
        "POST",
        &terminated_body,
        TestKey,
        true,
    );
    let synced = body(&json!({
        "hook": {"id": "5d3f1c2a-9b8e-4f7a-8c6d-1e2f3a4b5c6d", "event": "LinkedAccount.synced",
                 "target": "https://example.lambda-url.eu-west-1.on.aws/"},
        "linked_account": {"id": "a3602c03-aba7-4d9d-a349-dbc338504092", "integration": "Humaans",
                           "integration_slug": "humaans", "category": "hris", "status": "COMPLETE"},
        "data": {"integration_name": "Humaans", "last_sync_result": "DONE", "is_initial_sync": false}
    }));
    add(
        "linked-account-synced",
        "LinkedAccount.synced: acknowledged and ignored",
        200,
        Decision("ignored"),
        "POST",
        &synced,
        TestKey,
        false,
    );
    add(
        "dashboard-test",
        "a delivery with no hook.event, as the dashboard's test sends: acknowledged and ignored",
        200,
        Decision("ignored"),
        "POST",
        br#"{"message":"test webhook"}"#,
        TestKey,
        false,
    );
    add(
        "bad-signature",
        "the terminated delivery signed with another key",
        401,
        Error("invalid_signature"),
        "POST",
        &terminated_body,
        WrongKey,
        false,
    );
    add(
        "missing-signature",
        "the terminated delivery without a signature header",
        401,
        Error("missing_signature"),
        "POST",
        &terminated_body,
        Unsigned,
        false,
    );
    add(
        "malformed-json",
        "a correctly signed body that is not JSON",
        400,
        Error("malformed_json"),
        "POST",
        br#"{"hook": {"event": "Employee.changed"}, "data": {"id": "#,
        TestKey,
        false,
    );
    add(
        "get-request",
        "a GET, as a browser or scanner sends",
        405,
        Error("method_not_allowed"),
        "GET",
        b"",
        Unsigned,
        false,
    );
    let timer = timer_of(&scheduled_body);
    list.push(Sample {
        name: "scheduled-termination-fired",
        description: "the timer EventBridge Scheduler delivers when the employee-scheduled \
                      sample's termination takes effect (not a function URL event): the \
                      ledger still holds it, so the employee is terminated",
        status: 200,
        expected: Decision("terminated"),
        event: timer.clone(),
    });
    let mut outdated = timer;
    outdated["modified_at"] = json!("2026-01-01T00:00:00Z");
    list.push(Sample {
        name: "scheduled-termination-outdated",
        description: "a timer for a version of the employee the ledger no longer holds \
                      (moved or cancelled since): nothing happens",
        status: 200,
        expected: Decision("outdated"),
        event: outdated,
    });
    // Last, so that the samples before keep their request ids.
    let local_date = employee(
        "Employee.changed",
        &[
            of(9),
            ("employment_status", active),
            ("work_email", json!("kendall@merge.dev")),
            ("termination_date", json!(LOCAL_DATE)),
        ],
    );
    let request_id = format!("00000000-0000-4000-8000-{:012}", list.len() + 1);
    list.push(Sample {
        name: "employee-scheduled-local-date",
        description: "Employee.changed with a date-only termination date in the future: it \
                      takes effect at its linked account's local cutoff (the replay sets the \
                      account's first, with events/cutoff/set.json: the end of the day in \
                      Melbourne)",
        status: 200,
        expected: Decision("scheduled"),
        event: function_url_event("POST", &local_date, TestKey, false, &request_id),
    });
    list
}

/// The date-only termination date of the `employee-scheduled-local-date` sample.
pub const LOCAL_DATE: &str = "2099-06-30";
/// Its Merge id.
pub const LOCAL_DATE_EMPLOYEE: &str = "0958cbc6-6040-430a-848e-000000000009";

/// The timer the function sets for a delivery, as Scheduler delivers it when the
/// termination takes effect: planned by the function's own code, so it cannot drift.
fn timer_of(body: &[u8]) -> Value {
    use merge_deprovision::domain::ledger::{Observation, transition};
    use merge_deprovision::domain::schedule::{TimerPlan, timer_for};
    use merge_deprovision::domain::webhook::Outcome;
    let config = merge_deprovision::lambda::config::Config::from_lookup(|name| {
        (name == merge_deprovision::lambda::config::SIGNATURE_KEY_VAR)
            .then(|| LOCAL_TEST_KEY.to_owned())
    })
    .expect("the sample configuration is valid");
    let signature = sign(LOCAL_TEST_KEY.as_bytes(), body);
    let verifier = config
        .environment_verifier()
        .expect("the key is in the environment");
    let outcome = config
        .receiver()
        .receive(verifier, body, Some(signature.as_bytes()), sample_now())
        .expect("the scheduled sample is accepted");
    let Outcome::Decided(decided) = outcome else {
        panic!("the scheduled sample is decided");
    };
    let observation = Observation::from_decided(&decided, None).expect("it has an id");
    let entry = transition(None, &observation, sample_now())
        .write
        .expect("a first delivery is written");
    let TimerPlan::Arm(desired) = timer_for(&entry, sample_now()) else {
        panic!("a scheduled entry has a timer");
    };
    serde_json::to_value(&desired.document).expect("the document serialises")
}

/// The manifest: each sample's file, description and expected answer.
pub fn manifest(samples: &[Sample]) -> String {
    let events: Vec<Value> = samples
        .iter()
        .map(|s| {
            let mut entry =
                json!({"file": s.file_name(), "description": s.description, "status": s.status});
            if s.needs_ledger() {
                entry["needs_ledger"] = json!(true);
            }
            match s.expected {
                Expected::Decision(d) => entry["decision"] = json!(d),
                Expected::Error(e) => entry["error"] = json!(e),
            }
            entry
        })
        .collect();
    pretty(&json!({
        "signature_key": LOCAL_TEST_KEY,
        "function": "merge-deprovision",
        "events": events
    }))
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("a JSON value serialises");
    text.push('\n');
    text
}

/// One entry of `events/manifest.json`, as read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ManifestEntry {
    /// The event file's name.
    pub file: String,
    /// What the sample shows.
    pub description: String,
    /// The expected HTTP status.
    pub status: u16,
    /// The expected `decision`, for 200 answers.
    #[serde(default)]
    pub decision: Option<String>,
    /// The expected `error` code, for refusals.
    #[serde(default)]
    pub error: Option<String>,
    /// Answered only by a function with the ledger (a timer); without one, the
    /// invocation fails naming `EMPLOYEE_LEDGER_TABLE`.
    #[serde(default)]
    pub needs_ledger: bool,
}

#[derive(serde::Deserialize)]
struct ManifestFile {
    events: Vec<ManifestEntry>,
}

/// Reads the entries of a manifest written by [`manifest`].
pub fn read_manifest(text: &str) -> Result<Vec<ManifestEntry>, serde_json::Error> {
    serde_json::from_str::<ManifestFile>(text).map(|m| m.events)
}

impl ManifestEntry {
    /// Compares an answer (status and JSON body) with this entry, describing any
    /// difference.
    pub fn check(&self, status: u16, body: &str) -> Result<(), String> {
        let body: Value = serde_json::from_str(body)
            .map_err(|_| format!("{}: the body is not JSON", self.file))?;
        let got = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
        let (got_decision, got_error) = (got("decision"), got("error"));
        if status != self.status || got_decision != self.decision || got_error != self.error {
            return Err(format!(
                "{}: expected {} {}, got {} {}",
                self.file,
                self.status,
                self.expected_answer(),
                status,
                got_decision
                    .or(got_error)
                    .as_deref()
                    .unwrap_or("(no decision or error)")
            ));
        }
        Ok(())
    }

    /// The expected `decision` or `error` code.
    pub fn expected_answer(&self) -> &str {
        self.decision
            .as_deref()
            .or(self.error.as_deref())
            .unwrap_or("(no decision or error)")
    }
}

/// Where the downstream sample lives, inside `events/`.
pub const DOWNSTREAM_SAMPLE_FILE: &str = "downstream/terminated-record.json";

/// The instant the samples are decided at, so the downstream sample is reproducible.
pub fn sample_now() -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
        .unwrap()
}

/// Polls a future that never waits, once, with no runtime: the handler with the ledger
/// off, which arms no timer and makes no call. What the request-path bench and the fuzzer
/// measure, with nothing of the harness in it (in Lambda the runtime loop is already
/// running). Panics if the future waits, which would be the caller's mistake.
pub fn finished<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the future waited: use `ready`"),
    }
}

/// Runs a future to its end on a single-threaded runtime with a clock, as the function's
/// own: every outside call is bounded by the invocation's budget, which needs timers.
/// One runtime per thread, made once, as the function makes one per process: so that
/// what the benches and the fuzzer time is the request, not the runtime's start.
pub fn ready<F: std::future::Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a single-threaded runtime starts");
    }
    RUNTIME.with(|runtime| runtime.block_on(future))
}

/// A Lambda invocation context as the runtime builds one for a 128 MB function: the
/// request id, an X-Ray trace id and the function's name, which every record carries.
pub fn lambda_context(request_id: &str, function_name: &str) -> lambda_http::Context {
    let function = lambda_http::lambda_runtime::Config {
        function_name: function_name.into(),
        memory: 128,
        version: "$LATEST".into(),
        ..Default::default()
    };
    let mut context = lambda_http::Context::default();
    context.request_id = request_id.into();
    context.invoked_function_arn =
        format!("arn:aws:lambda:eu-west-1:123456789012:function:{function_name}");
    context.xray_trace_id = Some("Root=1-6747a2b0-3f2d1c0b9a8e7d6c5b4a3928;Sampled=1".into());
    context.env_config = std::sync::Arc::new(function);
    context
}

/// What a downstream function receives through the CloudWatch Logs subscription for
/// the `employee-terminated` sample, after base64 and gzip decoding: the real record
/// the handler writes, inside a `DATA_MESSAGE`. Only the record's timestamp is fixed.
pub fn downstream_sample() -> String {
    use lambda_http::RequestExt;
    use lambda_http::tracing::subscriber::filter::LevelFilter;
    use merge_deprovision::lambda::http::respond;
    use merge_deprovision::lambda::logging::{LogBuffer, LogSettings, subscriber};
    use merge_deprovision::lambda::state::App;

    let config = merge_deprovision::lambda::config::Config::from_lookup(|name| {
        (name == merge_deprovision::lambda::config::SIGNATURE_KEY_VAR)
            .then(|| LOCAL_TEST_KEY.to_owned())
    })
    .expect("the sample configuration is valid");
    let app = App::new(&config);
    let sample = samples()
        .into_iter()
        .find(|s| s.name == "employee-terminated")
        .expect("the sample");
    let request =
        lambda_http::request::from_str(&sample.event.to_string()).expect("the sample parses");
    let context = lambda_context(
        "8f5e4f1a-2b3c-4d5e-8f90-123456789abc",
        "merge-deprovision-DeprovisionFunction-AbCdEf123456",
    );
    let request = request.with_lambda_context(context.clone());

    let buffer = LogBuffer::default();
    let settings = LogSettings {
        json: true,
        level: LevelFilter::INFO,
    };
    let dispatch = lambda_http::tracing::Dispatch::new(subscriber(settings, buffer.clone()));
    lambda_http::tracing::dispatcher::with_default(&dispatch, || {
        // The runtime's own span, so the record carries `span.requestId` as in Lambda.
        lambda_http::lambda_runtime::layers::trace::request_span(&context)
            .in_scope(|| ready(respond(&app, &request, sample_now())))
    })
    .expect("the sample is answered");
    let logged = buffer.contents();
    let mut record: Value =
        serde_json::from_str(logged.lines().next().expect("one record")).expect("JSON");
    record["timestamp"] = json!("2026-11-27T12:00:00.000000Z");

    pretty(&json!({
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/aws/lambda/merge-deprovision-DeprovisionFunction-AbCdEf123456",
        "logStream": "2026/11/27/[$LATEST]0123456789abcdef0123456789abcdef",
        "subscriptionFilters": ["merge-deprovision-DownstreamSubscription-AbCdEf123456"],
        "logEvents": [{
            "id": "38123456789012345678901234567890123456789012345678901234",
            "timestamp": sample_now().timestamp_millis(),
            "message": record.to_string()
        }]
    }))
}
