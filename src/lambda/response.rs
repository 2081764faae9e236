//! What every answer is made of: JSON bodies, the status each refusal maps to, and the
//! invocation's metrics line.

use crate::app::settle::{Settled, TimerOutcome};
use crate::domain::dates::to_rfc3339;
use crate::domain::error::RequestError;
use crate::domain::webhook::{Decided, Outcome};
use crate::lambda::handler::Answered;
use crate::lambda::state::App;
use crate::telemetry::metrics::{InvocationMetrics, Properties, ScheduleEvent, emf_line};
use crate::telemetry::record::RequestFacts;
use chrono::{DateTime, Utc};
use lambda_http::http::header::{ALLOW, CONTENT_TYPE};
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct DecisionBody<'a> {
    decision: &'static str,
    reasons: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    employee_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    termination_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    effective_at: Option<String>,
    /// What the ledger did, when it is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ledger: Option<&'static str>,
}

#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
    message: String,
}

/// The JSON `{"error", "message"}` answer to a failure, with `Allow` for a 405.
pub(crate) fn error_response(error: &RequestError) -> Result<Response<Body>, serde_json::Error> {
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
pub(crate) fn finish(
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

pub(crate) fn outcome_metrics<'a>(
    result: &Result<&'a Outcome, RequestError>,
    facts: &RequestFacts<'_>,
) -> InvocationMetrics<'a> {
    match result {
        Ok(Outcome::Decided(d)) => decided_metrics(d, facts),
        Ok(Outcome::Ignored { linked_account, .. }) => InvocationMetrics {
            decision: "ignored",
            integration: linked_account.integration_slug.as_deref(),
            ..base_metrics(facts)
        },
        Err(error) => InvocationMetrics {
            signature_failure: matches!(
                error,
                RequestError::MissingSignature | RequestError::InvalidSignature
            ),
            ..base_metrics(facts)
        },
    }
}

/// The metrics of a decided delivery or a fired timer: by decision and integration,
/// with its lags.
pub(crate) fn decided_metrics<'a>(
    d: &'a Decided,
    facts: &RequestFacts<'_>,
) -> InvocationMetrics<'a> {
    InvocationMetrics {
        decision: d.verdict.decision.as_str(),
        integration: d.linked_account.integration_slug.as_deref(),
        termination_lag: d.termination_lag,
        sync_lag: d.sync_lag,
        ..base_metrics(facts)
    }
}

/// What every invocation counts: a rejection unless said otherwise, and the cold start.
pub(crate) fn base_metrics(facts: &RequestFacts<'_>) -> InvocationMetrics<'static> {
    InvocationMetrics {
        decision: "rejected",
        integration: None,
        signature_failure: false,
        cold_start: facts.cold_start,
        termination_lag: None,
        sync_lag: None,
        schedule: None,
        secret_refresh_failure: false,
        termination: false,
        ledger_failure: false,
    }
}

/// The `schedule` field of a record.
pub(crate) fn timer_field(outcome: TimerOutcome) -> Option<&'static str> {
    (outcome != TimerOutcome::Untouched).then(|| outcome.as_str())
}

/// The timer change a settled invocation counts.
pub(crate) fn schedule_event(settled: &Settled) -> Option<ScheduleEvent> {
    if settled.timer_error.is_some() {
        return Some(ScheduleEvent::Failed);
    }
    match settled.timer {
        TimerOutcome::Created => Some(ScheduleEvent::Created),
        // Setting the same timer again on a repeat is not a move.
        TimerOutcome::Updated if settled.transition.write.is_some() => Some(ScheduleEvent::Updated),
        TimerOutcome::Cancelled => Some(ScheduleEvent::Cancelled),
        _ => None,
    }
}

/// The status each failure maps to. All but two are the client's doing, so 4xx; a
/// ledger or schedule that could not be changed is ours, and a retry can fix it, so 503.
pub fn status_of(error: &RequestError) -> StatusCode {
    match error {
        RequestError::SchedulingUnavailable | RequestError::LedgerUnavailable => {
            StatusCode::SERVICE_UNAVAILABLE
        }
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

pub(crate) fn outcome_body(outcome: &Outcome) -> DecisionBody<'_> {
    match outcome {
        Outcome::Decided(d) => DecisionBody {
            decision: d.verdict.decision.as_str(),
            reasons: d.verdict.reasons.iter().map(|r| r.as_str()).collect(),
            employee_id: d.employee.id.as_deref(),
            termination_date: d.verdict.termination_date.map(to_rfc3339),
            effective_at: d.verdict.effective_at.map(to_rfc3339),
            ledger: None,
        },
        Outcome::Ignored { reason, .. } => DecisionBody {
            decision: "ignored",
            reasons: vec![reason.as_str()],
            employee_id: None,
            termination_date: None,
            effective_at: None,
            ledger: None,
        },
    }
}

/// A JSON response with `status`.
pub(crate) fn json_response(
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
