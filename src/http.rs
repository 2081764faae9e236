//! HTTP glue for the Lambda function URL: request in, domain call, JSON response out.

use crate::dates::to_rfc3339;
use crate::error::RequestError;
use crate::record::{RequestFacts, log_outcome, log_rejection};
use crate::webhook::{Outcome, Receiver};
use chrono::{DateTime, Utc};
use lambda_http::http::header::{ALLOW, CONTENT_TYPE};
use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response};
use serde::Serialize;

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

/// The function's handler: answers one function URL request, at the current time.
pub async fn handle(receiver: &Receiver, request: Request) -> Result<Response<Body>, Error> {
    Ok(respond(receiver, &request, Utc::now())?)
}

/// Answers one request at time `now`, and writes its log record.
///
/// Fails only if the response cannot be serialised, which is a fault of this function,
/// not the caller's.
pub fn respond(
    receiver: &Receiver,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Response<Body>, serde_json::Error> {
    let body: &[u8] = request.body().as_ref();
    let facts = RequestFacts {
        source_ip: source_ip(request),
        body_bytes: body.len(),
    };
    let result = if request.method() == Method::POST {
        let signature = request
            .headers()
            .get(SIGNATURE_HEADER)
            .map(HeaderValue::as_bytes);
        receiver.receive(body, signature, now)
    } else {
        Err(RequestError::MethodNotAllowed)
    };
    match result {
        Ok(outcome) => {
            log_outcome(&outcome, facts);
            json_response(StatusCode::OK, &outcome_body(&outcome))
        }
        Err(error) => {
            let status = status_of(&error);
            log_rejection(&error, status.as_u16(), facts);
            let mut response = json_response(
                status,
                &ErrorBody {
                    error: error.code(),
                    message: error.to_string(),
                },
            )?;
            if error == RequestError::MethodNotAllowed {
                response
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("POST"));
            }
            Ok(response)
        }
    }
}

/// The status each refusal maps to. All are the client's doing, so all are 4xx.
pub fn status_of(error: &RequestError) -> StatusCode {
    match error {
        RequestError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        RequestError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        RequestError::MissingSignature | RequestError::InvalidSignature => StatusCode::UNAUTHORIZED,
        RequestError::MalformedJson { .. }
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
