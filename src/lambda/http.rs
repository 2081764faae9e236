//! HTTP glue for the Lambda function URL: request in, domain call, JSON response out.

use crate::domain::dates::to_rfc3339;
use crate::domain::error::RequestError;
use crate::domain::signature::delivery_id;
use crate::domain::webhook::{Outcome, Receiver};
use crate::lambda::config::Config;
use crate::lambda::metrics::{InvocationMetrics, Properties, emf_line};
use crate::lambda::record::{RequestFacts, log_outcome, log_rejection};
use chrono::{DateTime, Utc};
use lambda_http::http::header::{ALLOW, CONTENT_TYPE};
use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response};
use serde::Serialize;
use std::io::Write;
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
#[derive(Debug)]
pub struct App {
    receiver: Receiver,
    service: String,
    metrics_namespace: String,
    first_invocation: AtomicBool,
}

impl App {
    /// Builds the function's state from validated configuration.
    pub fn new(config: &Config) -> Self {
        App {
            receiver: config.receiver(),
            service: config.service.clone(),
            metrics_namespace: config.metrics_namespace.clone(),
            first_invocation: AtomicBool::new(true),
        }
    }
}

/// The answer to one request, and the metrics line it contributes.
#[derive(Debug)]
pub struct Answered {
    /// The HTTP response.
    pub response: Response<Body>,
    /// One CloudWatch Embedded Metric Format object, for stdout.
    pub metrics: String,
}

/// The function's handler: answers one function URL request at the current time, and
/// writes its metrics line to stdout.
pub async fn handle(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let answered = respond(app, &request, Utc::now())?;
    write_metrics(&answered.metrics);
    Ok(answered.response)
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
pub fn respond(
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
    let facts = RequestFacts {
        source_ip: source_ip(request),
        body_bytes: body.len(),
        cold_start: app.first_invocation.swap(false, Ordering::Relaxed),
        function_request_id: context.map(|c| c.request_id.as_str()),
        xray_trace_id: context.and_then(|c| c.xray_trace_id.as_deref()),
        function_name: context.map(|c| c.env_config.function_name.as_str()),
        function_memory_size: context.map(|c| c.env_config.memory),
        service: &app.service,
        delivery_id: delivery_id.as_deref(),
    };
    let result = if request.method() == Method::POST {
        app.receiver.receive(body, signature, now)
    } else {
        Err(RequestError::MethodNotAllowed)
    };
    answer(app, &facts, &result, now)
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
    answer(app, &facts, &Err(RequestError::UnreadableRequest), now)
}

fn answer(
    app: &App,
    facts: &RequestFacts<'_>,
    result: &Result<Outcome, RequestError>,
    now: DateTime<Utc>,
) -> Result<Answered, serde_json::Error> {
    let (response, metrics) = match result {
        Ok(outcome) => {
            log_outcome(outcome, facts);
            (
                json_response(StatusCode::OK, &outcome_body(outcome))?,
                outcome_metrics(outcome, facts),
            )
        }
        Err(error) => {
            let status = status_of(error);
            log_rejection(error, status.as_u16(), facts);
            let mut response = json_response(
                status,
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
            let metrics = InvocationMetrics {
                decision: "rejected",
                integration: None,
                signature_failure: matches!(
                    error,
                    RequestError::MissingSignature | RequestError::InvalidSignature
                ),
                cold_start: facts.cold_start,
                termination_lag: None,
                sync_lag: None,
            };
            (response, metrics)
        }
    };
    let properties = Properties {
        service: facts.service,
        function_request_id: facts.function_request_id,
        delivery_id: facts.delivery_id,
    };
    let metrics = emf_line(&app.metrics_namespace, &metrics, properties, now);
    Ok(Answered { response, metrics })
}

fn outcome_metrics<'a>(outcome: &'a Outcome, facts: &RequestFacts<'_>) -> InvocationMetrics<'a> {
    let (decision, account, lags) = match outcome {
        Outcome::Decided(d) => (
            d.verdict.decision.as_str(),
            &d.linked_account,
            (d.termination_lag, d.sync_lag),
        ),
        Outcome::Ignored { linked_account, .. } => ("ignored", linked_account, (None, None)),
    };
    InvocationMetrics {
        decision,
        integration: account.integration_slug.as_deref(),
        signature_failure: false,
        cold_start: facts.cold_start,
        termination_lag: lags.0,
        sync_lag: lags.1,
    }
}

/// The status each refusal maps to. All are the client's doing, so all are 4xx.
pub fn status_of(error: &RequestError) -> StatusCode {
    match error {
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
