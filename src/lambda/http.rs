//! HTTP glue for the Lambda function URL: request in, domain call, effects, JSON
//! response out. Also the events Scheduler fires, which `lambda_http` passes through as
//! requests with a `PassThrough` context that no function URL request can have.

use crate::aws::scheduler::{ScheduleTarget, SchedulerError, Schedules, SdkSchedules, apply};
use crate::aws::secrets::SecretSource;
use crate::domain::dates::to_rfc3339;
use crate::domain::error::RequestError;
use crate::domain::schedule::{Change, Fired, read_fired, schedule_name};
use crate::domain::signature::delivery_id;
use crate::domain::webhook::{Decided, Outcome, Receiver};
use crate::lambda::config::{Config, KeySource, SIGNATURE_SECRET_VAR};
use crate::lambda::keys::{KeyRing, Keys, Refresh};
use crate::lambda::metrics::{InvocationMetrics, Properties, ScheduleEvent, emf_line};
use crate::lambda::record::{
    RequestFacts, log_expiry, log_outcome, log_rejection, log_scheduling_failure,
    log_secret_refresh_failure, log_unknown_event,
};
use chrono::{DateTime, Utc};
use lambda_http::http::header::{ALLOW, CONTENT_TYPE};
use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response};
use serde::Serialize;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The header Merge signs deliveries with. Function URLs lower-case header names.
pub const SIGNATURE_HEADER: &str = "x-merge-webhook-signature";

#[derive(Serialize)]
struct DecisionBody<'a> {
    decision: &'static str,
    reasons: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    employee_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    termination_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    effective_at: Option<String>,
}

#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
    message: String,
}

/// The function's state, built once at init: the receiver, the telemetry settings, and
/// whether the process has served an invocation yet.
pub struct App {
    receiver: Receiver,
    keys: Keys,
    service: String,
    metrics_namespace: String,
    first_invocation: AtomicBool,
    scheduling: Option<Scheduling>,
}

/// Scheduled terminations: the schedules and where they deliver.
struct Scheduling {
    schedules: Arc<dyn Schedules>,
    role_arn: String,
    dead_letter_arn: Option<String>,
}

impl App {
    /// Builds the function's state from validated configuration whose keys come from
    /// the environment, with the AWS SDK behind scheduling when it is configured. No AWS
    /// client is built until one is needed.
    ///
    /// # Panics
    /// If the keys come from a secret, which must be read first: see [`App::load`].
    pub fn new(config: &Config) -> Self {
        Self::with_schedules(config, sdk_schedules(config))
    }

    /// As [`App::new`], with `schedules` behind scheduling when it is configured (the
    /// in-memory twin, in tests).
    ///
    /// # Panics
    /// If the keys come from a secret: see [`App::load`].
    pub fn with_schedules(config: &Config, schedules: Option<Arc<dyn Schedules>>) -> Self {
        let verifier = config
            .environment_verifier()
            .expect("keys from a secret are read by App::load");
        Self::build(config, Keys::Fixed(Arc::new(verifier.clone())), schedules)
    }

    /// Builds the function's state, reading the keys from their secret through `source`
    /// when they come from one. Fails with a message naming the variable and the AWS
    /// error code, never the value.
    pub async fn load(
        config: &Config,
        source: Arc<dyn SecretSource>,
        now: DateTime<Utc>,
    ) -> Result<Self, String> {
        let keys = match &config.keys {
            KeySource::Environment(verifier) => Keys::Fixed(Arc::new((**verifier).clone())),
            KeySource::Secret { id, refresh_after } => Keys::Secret(
                KeyRing::load(source, id, *refresh_after, now)
                    .await
                    .map_err(|error| format!("{SIGNATURE_SECRET_VAR}: {error}"))?,
            ),
        };
        Ok(Self::build(config, keys, sdk_schedules(config)))
    }

    fn build(config: &Config, keys: Keys, schedules: Option<Arc<dyn Schedules>>) -> Self {
        let scheduling = config
            .scheduling
            .as_ref()
            .zip(schedules)
            .map(|(s, schedules)| Scheduling {
                schedules,
                role_arn: s.role_arn.clone(),
                dead_letter_arn: s.dead_letter_arn.clone(),
            });
        App {
            receiver: config.receiver(),
            keys,
            service: config.service.clone(),
            metrics_namespace: config.metrics_namespace.clone(),
            first_invocation: AtomicBool::new(true),
            scheduling,
        }
    }
}

/// The AWS SDK behind scheduling, when it is configured.
fn sdk_schedules(config: &Config) -> Option<Arc<dyn Schedules>> {
    config
        .scheduling
        .as_ref()
        .map(|s| Arc::new(SdkSchedules::new(&s.group)) as Arc<dyn Schedules>)
}

/// What scheduling made of a decided delivery.
enum Scheduled {
    /// Scheduling is off, or the outcome needs none.
    Off,
    /// The schedule is as the decision needs.
    Done {
        change: Change,
        name: Option<String>,
    },
    /// A Scheduler call failed: the delivery is answered 503.
    Failed {
        error: SchedulerError,
        name: Option<String>,
    },
}

/// The answer to one request, and the metrics line it contributes.
#[derive(Debug)]
pub struct Answered {
    /// The HTTP response.
    pub response: Response<Body>,
    /// One CloudWatch Embedded Metric Format object, for stdout; none for an expiry.
    pub metrics: Option<String>,
}

/// An event this function does not know: the invocation fails, after its ERROR record.
#[derive(Debug, thiserror::Error)]
pub enum FiredError {
    /// Neither a function URL request nor a schedule input of this function.
    #[error("{0}")]
    Unknown(crate::domain::schedule::UnknownInput),
    /// The answer could not be serialised.
    #[error("the answer could not be serialised")]
    Serialise(#[from] serde_json::Error),
}

/// The function's handler: answers one function URL request, or one event Scheduler
/// fired, at the current time, and writes its metrics line to stdout.
pub async fn handle(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let answered = answer_event(app, &request, Utc::now()).await?;
    if let Some(metrics) = &answered.metrics {
        write_metrics(metrics);
    }
    Ok(answered.response)
}

/// Answers one event at time `now`: a fired schedule through [`respond_to_fired`],
/// anything else as a function URL request through [`respond`].
pub async fn answer_event(
    app: &App,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Answered, Error> {
    if is_fired_event(request) {
        Ok(respond_to_fired(app, request, now)?)
    } else {
        Ok(respond(app, request, now).await?)
    }
}

/// True for an event that is not an HTTP request: `lambda_http` passes it through with
/// a `PassThrough` context, which a function URL request, whatever its headers or body,
/// never has.
pub fn is_fired_event(request: &Request) -> bool {
    matches!(
        request.request_context_ref(),
        Some(RequestContext::PassThrough)
    )
}

/// Writes a metrics line to stdout, where Lambda hands it to CloudWatch.
pub fn write_metrics(line: &str) {
    // A lost metrics line must not fail the webhook.
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Answers one request at time `now`: writes its log record and returns the response
/// with its metrics line.
///
/// Fails only if the response cannot be serialised, which is a fault of this function,
/// not the caller's.
pub async fn respond(
    app: &App,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Answered, serde_json::Error> {
    let body: &[u8] = request.body().as_ref();
    let signature = request
        .headers()
        .get(SIGNATURE_HEADER)
        .map(HeaderValue::as_bytes);
    let delivery_id = signature.filter(|s| !s.is_empty()).map(delivery_id);
    let context = request.lambda_context_ref();
    let mut facts = RequestFacts {
        source_ip: source_ip(request),
        delivery_id: delivery_id.as_deref(),
        ..invocation_facts(app, request)
    };
    let (verifier, aged) = app.keys.current(now).await;
    let mut refreshes: Vec<Refresh> = aged.into_iter().collect();
    let mut result = if request.method() == Method::POST {
        app.receiver.receive(&verifier, body, signature, now)
    } else {
        Err(RequestError::MethodNotAllowed)
    };
    if result == Err(RequestError::InvalidSignature) {
        // Perhaps the key was rotated: read the secret again (at most once a minute)
        // and check once more under the new keys.
        let (changed, refresh) = app.keys.after_mismatch(now).await;
        if let Some(verifier) = changed {
            result = app.receiver.receive(&verifier, body, signature, now);
        }
        refreshes.extend(refresh);
    }
    let refresh_failed = refreshes.iter().any(|r| matches!(r, Refresh::Failed(_)));
    for refresh in &refreshes {
        if let Refresh::Failed(code) = refresh {
            log_secret_refresh_failure(code, &facts);
        }
    }
    let function_arn = context.map(|c| c.invoked_function_arn.as_str());
    let scheduled = match &result {
        Ok(Outcome::Decided(d)) => schedule(app, d, function_arn, now).await,
        _ => Scheduled::Off,
    };
    let name = match &scheduled {
        Scheduled::Done { name, .. } | Scheduled::Failed { name, .. } => name.as_deref(),
        Scheduled::Off => None,
    };
    facts.schedule_name = name;
    match (&result, &scheduled) {
        (Ok(Outcome::Decided(d)), Scheduled::Failed { error, .. }) => {
            facts.schedule_error = Some(error.kind());
            log_scheduling_failure(d, &facts);
            let failure = RequestError::SchedulingUnavailable;
            let response = error_response(&failure)?;
            let metrics = InvocationMetrics {
                schedule: Some(ScheduleEvent::Failed),
                secret_refresh_failure: refresh_failed,
                ..outcome_metrics(&result.as_ref().map_err(|e| *e), &facts)
            };
            Ok(finish(app, &facts, response, &metrics, now))
        }
        (_, Scheduled::Done { change, .. }) => {
            facts.schedule = Some(change.as_str());
            answer(app, &facts, &result, counted(*change), refresh_failed, now)
        }
        _ => answer(app, &facts, &result, None, refresh_failed, now),
    }
}

/// The facts every record of an invocation carries: the Lambda context's keys, the
/// body's size, and whether this is the process's first invocation.
fn invocation_facts<'a>(app: &'a App, request: &'a Request) -> RequestFacts<'a> {
    let context = request.lambda_context_ref();
    RequestFacts {
        body_bytes: request.body().len(),
        cold_start: app.first_invocation.swap(false, Ordering::Relaxed),
        function_request_id: context.map(|c| c.request_id.as_str()),
        xray_trace_id: context.and_then(|c| c.xray_trace_id.as_deref()),
        function_name: context.map(|c| c.env_config.function_name.as_str()),
        function_memory_size: context.map(|c| c.env_config.memory),
        service: &app.service,
        ..RequestFacts::default()
    }
}

/// Brings the employee's schedule in line with the decision, when scheduling is on.
async fn schedule(
    app: &App,
    decided: &Decided,
    function_arn: Option<&str>,
    now: DateTime<Utc>,
) -> Scheduled {
    let Some(scheduling) = &app.scheduling else {
        return Scheduled::Off;
    };
    let name = decided
        .employee
        .id
        .as_deref()
        .map(|id| schedule_name(decided.linked_account.id.as_deref(), id));
    // The function's own ARN comes from the invocation: putting it in the function's
    // environment through the template would make the function depend on itself.
    let Some(function_arn) = function_arn.filter(|arn| !arn.is_empty()) else {
        return Scheduled::Failed {
            error: SchedulerError::Rejected("NoFunctionArn".into()),
            name,
        };
    };
    let target = ScheduleTarget {
        function_arn: function_arn.to_owned(),
        role_arn: scheduling.role_arn.clone(),
        dead_letter_arn: scheduling.dead_letter_arn.clone(),
    };
    match apply(scheduling.schedules.as_ref(), decided, &target, now).await {
        Ok(change) => Scheduled::Done { change, name },
        Err(error) => Scheduled::Failed { error, name },
    }
}

/// The scheduling changes that are counted.
fn counted(change: Change) -> Option<ScheduleEvent> {
    match change {
        Change::Created => Some(ScheduleEvent::Created),
        Change::Updated => Some(ScheduleEvent::Updated),
        Change::Cancelled => Some(ScheduleEvent::Cancelled),
        _ => None,
    }
}

/// Answers an event Scheduler fired: a scheduled termination is logged and counted as
/// `terminated`; an expiry is logged; anything else fails the invocation after an ERROR
/// record.
pub fn respond_to_fired(
    app: &App,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Answered, FiredError> {
    let mut facts = invocation_facts(app, request);
    match read_fired(request.body().as_ref(), now) {
        Ok(Fired::Termination(decided)) => {
            let name = decided
                .employee
                .id
                .as_deref()
                .map(|id| schedule_name(decided.linked_account.id.as_deref(), id));
            facts.schedule = Some("fired");
            facts.schedule_name = name.as_deref();
            let outcome = Outcome::Decided(decided);
            Ok(answer(
                app,
                &facts,
                &Ok(outcome),
                Some(ScheduleEvent::Fired),
                false,
                now,
            )?)
        }
        Ok(Fired::Expiry(document)) => {
            let name = schedule_name(document.linked_account_id.as_deref(), &document.employee_id);
            facts.schedule = Some("expired");
            facts.schedule_name = Some(&name);
            log_expiry(&document, &facts);
            Ok(Answered {
                response: json_response(StatusCode::OK, &serde_json::json!({"expired": true}))?,
                metrics: None,
            })
        }
        Err(error) => {
            log_unknown_event(&error, &facts);
            Err(FiredError::Unknown(error))
        }
    }
}

/// Answers an invocation whose event could not be turned into a request (the adapter
/// gave up on its headers or body encoding): a 400, logged and counted like any other
/// refusal.
pub fn refuse_unreadable(app: &App, now: DateTime<Utc>) -> Result<Answered, serde_json::Error> {
    let facts = RequestFacts {
        cold_start: app.first_invocation.swap(false, Ordering::Relaxed),
        service: &app.service,
        ..RequestFacts::default()
    };
    answer(
        app,
        &facts,
        &Err(RequestError::UnreadableRequest),
        None,
        false,
        now,
    )
}

fn answer(
    app: &App,
    facts: &RequestFacts<'_>,
    result: &Result<Outcome, RequestError>,
    schedule: Option<ScheduleEvent>,
    secret_refresh_failure: bool,
    now: DateTime<Utc>,
) -> Result<Answered, serde_json::Error> {
    let response = match result {
        Ok(outcome) => {
            log_outcome(outcome, facts);
            json_response(StatusCode::OK, &outcome_body(outcome))?
        }
        Err(error) => {
            log_rejection(error, status_of(error).as_u16(), facts);
            error_response(error)?
        }
    };
    let metrics = InvocationMetrics {
        schedule,
        secret_refresh_failure,
        ..outcome_metrics(&result.as_ref().map_err(|e| *e), facts)
    };
    Ok(finish(app, facts, response, &metrics, now))
}

/// The JSON `{"error", "message"}` answer to a failure, with `Allow` for a 405.
fn error_response(error: &RequestError) -> Result<Response<Body>, serde_json::Error> {
    let mut response = json_response(
        status_of(error),
        &ErrorBody {
            error: error.code(),
            message: error.to_string(),
        },
    )?;
    if *error == RequestError::MethodNotAllowed {
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
    }
    Ok(response)
}

/// The answer with its metrics line.
fn finish(
    app: &App,
    facts: &RequestFacts<'_>,
    response: Response<Body>,
    metrics: &InvocationMetrics<'_>,
    now: DateTime<Utc>,
) -> Answered {
    let properties = Properties {
        service: facts.service,
        function_request_id: facts.function_request_id,
        delivery_id: facts.delivery_id,
    };
    let metrics = emf_line(&app.metrics_namespace, metrics, properties, now);
    Answered {
        response,
        metrics: Some(metrics),
    }
}

fn outcome_metrics<'a>(
    result: &Result<&'a Outcome, RequestError>,
    facts: &RequestFacts<'_>,
) -> InvocationMetrics<'a> {
    let (decision, integration, lags) = match result {
        Ok(Outcome::Decided(d)) => (
            d.verdict.decision.as_str(),
            d.linked_account.integration_slug.as_deref(),
            (d.termination_lag, d.sync_lag),
        ),
        Ok(Outcome::Ignored { linked_account, .. }) => (
            "ignored",
            linked_account.integration_slug.as_deref(),
            (None, None),
        ),
        Err(_) => ("rejected", None, (None, None)),
    };
    InvocationMetrics {
        decision,
        integration,
        signature_failure: matches!(
            result,
            Err(RequestError::MissingSignature | RequestError::InvalidSignature)
        ),
        cold_start: facts.cold_start,
        termination_lag: lags.0,
        sync_lag: lags.1,
        schedule: None,
        secret_refresh_failure: false,
    }
}

/// The status each failure maps to. All but one are the client's doing, so 4xx; a
/// schedule that could not be changed is ours, and a retry can fix it, so 503.
pub fn status_of(error: &RequestError) -> StatusCode {
    match error {
        RequestError::SchedulingUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        RequestError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        RequestError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        RequestError::MissingSignature | RequestError::InvalidSignature => StatusCode::UNAUTHORIZED,
        RequestError::UnreadableRequest
        | RequestError::MalformedJson { .. }
        | RequestError::NotAnObject
        | RequestError::InvalidEnvelope { .. }
        | RequestError::InvalidEmployee
        | RequestError::UnreadableEmployee { .. } => StatusCode::BAD_REQUEST,
    }
}

fn outcome_body(outcome: &Outcome) -> DecisionBody<'_> {
    match outcome {
        Outcome::Decided(d) => DecisionBody {
            decision: d.verdict.decision.as_str(),
            reasons: d.verdict.reasons.iter().map(|r| r.as_str()).collect(),
            employee_id: d.employee.id.as_deref(),
            termination_date: d.verdict.termination_date.map(to_rfc3339),
            effective_at: d.verdict.effective_at.map(to_rfc3339),
        },
        Outcome::Ignored { reason, .. } => DecisionBody {
            decision: "ignored",
            reasons: vec![reason.as_str()],
            employee_id: None,
            termination_date: None,
            effective_at: None,
        },
    }
}

fn json_response(
    status: StatusCode,
    body: &impl Serialize,
) -> Result<Response<Body>, serde_json::Error> {
    let mut response = Response::new(Body::Text(serde_json::to_string(body)?));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

fn source_ip(request: &Request) -> Option<&str> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.as_deref(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}
