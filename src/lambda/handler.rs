//! The handler: which kind of event an invocation carries and which use case answers
//! it. A function URL request is a webhook delivery; anything else reaches the handler
//! through `lambda_http` as a request with a `PassThrough` context, which no function
//! URL request can have: a ledger stream batch, a pause or resume, the release (or its
//! preview), a backfill, baseline or reindex document, a reconcile document, or a timer Scheduler fired.

use crate::app::budget::Budget;
use crate::aws::scheduler::ScheduleTarget;
use crate::aws::stream::read_stream;
use crate::domain::backfill::{read_backfill, read_baseline, read_reindex};
use crate::domain::check::read_check;
use crate::domain::control::{read_control, release_fields_ok, release_preview};
use crate::domain::deprovision::release_pass;
use crate::domain::reconcile::{ReconcileInputError, read_reconcile};
use crate::lambda::state::App;
use crate::lambda::{backfill, check, control, documents, http, stream, timer, undo};
use crate::telemetry::record::RequestFacts;
use chrono::{DateTime, Utc};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response};
use std::io::Write;
use std::sync::atomic::Ordering;

/// The answer to one request, and the metrics line it contributes.
#[derive(Debug)]
pub struct Answered {
    /// The HTTP response.
    pub response: Response<Body>,
    /// One CloudWatch Embedded Metric Format object, for stdout; none for an expiry.
    pub metrics: Option<String>,
}

/// A fired event that fails the invocation, after its ERROR record: Lambda retries it,
/// then hands it to the on-failure destination.
#[derive(Debug, thiserror::Error)]
pub enum FiredError {
    /// Neither a function URL request nor a schedule input of this function.
    #[error("{0}")]
    Unknown(crate::domain::schedule::UnknownInput),
    /// A timer fired, but the ledger is not configured, so it cannot be checked.
    #[error("a timer fired but EMPLOYEE_LEDGER_TABLE is not set")]
    NoLedger,
    /// The ledger or Scheduler could not be reached in time.
    #[error("the timer could not be settled: {kind}")]
    Unsettled {
        /// The failure's kind, as records name it.
        kind: &'static str,
        /// The invocation's metrics line: no answer carries it.
        metrics: Option<String>,
    },
    /// A reconcile document this function cannot read, or reconciliation is off.
    #[error(
        "a reconcile document arrived that is invalid, or reconciliation is off: it needs \
         MERGE_API_SECRET_ID, EMPLOYEE_LEDGER_TABLE and the schedule group"
    )]
    Reconcile,
    /// A report could not be made: its evidence unread, or a form unwritten.
    #[error("the access-removal report could not be made: {kind}")]
    Report {
        /// The failure's kind, as records name it.
        kind: &'static str,
    },
    /// The answer could not be serialised.
    #[error("the answer could not be serialised")]
    Serialise(#[from] serde_json::Error),
}

/// The function's handler: answers one function URL request, or one event Scheduler
/// fired, at the current time, and writes its metrics line to stdout.
pub async fn handle(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let answered = match answer_event(app, &request, Utc::now()).await {
        Ok(answered) => answered,
        Err(error) => {
            // A failed firing still counts its failure.
            if let Some(FiredError::Unsettled {
                metrics: Some(line),
                ..
            }) = error.downcast_ref::<FiredError>()
            {
                write_metrics(line);
            }
            return Err(error);
        }
    };
    if let Some(metrics) = &answered.metrics {
        write_metrics(metrics);
    }
    Ok(answered.response)
}

/// Answers one event at time `now`, through the use case its kind is for.
pub async fn answer_event(
    app: &App,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Answered, Error> {
    if !is_fired_event(request) {
        return Ok(http::respond(app, request, now).await?);
    }
    let body: &[u8] = request.body().as_ref();
    if let Some(changes) = read_stream(body) {
        return Ok(stream::respond_to_stream(app, request, &changes, now).await?);
    }
    if let Some(document) = read_control(body) {
        return Ok(control::respond_to_control(app, request, document, now).await?);
    }
    if let Some(pass) = release_pass(body) {
        if !release_fields_ok(body) {
            return Ok(control::refuse_release()?);
        }
        if release_preview(body) {
            return Ok(control::respond_to_preview(app, request, pass, now).await?);
        }
        return Ok(documents::respond_to_release(app, request, pass, now).await?);
    }
    if let Some(document) = read_backfill(body) {
        return Ok(backfill::respond_to_backfill(app, request, document, now).await?);
    }
    if let Some(document) = read_baseline(body, now) {
        return Ok(backfill::respond_to_baseline(app, request, document, now).await?);
    }
    if let Some(document) = read_reindex(body) {
        return Ok(backfill::respond_to_reindex(app, request, document).await?);
    }
    if let Some(document) = read_check(body) {
        return Ok(check::respond_to_check(app, request, document, now).await?);
    }
    if let Some(document) = crate::domain::undo::read_undo(body) {
        return Ok(undo::respond_to_undo(app, request, document, now).await?);
    }
    if let Some(document) = crate::domain::now::read_now(body) {
        return Ok(undo::respond_to_now(app, request, document, now).await?);
    }
    if let Some(document) = crate::domain::report::read_report(body) {
        return Ok(super::report::respond_to_report(app, request, document, now).await?);
    }
    if let Some(document) = crate::domain::cutoff::read_cutoff(body) {
        return Ok(super::cutoff::respond_to_cutoff(app, request, document, now).await?);
    }
    match read_reconcile(body) {
        Err(ReconcileInputError::OtherKind) => {
            Ok(timer::respond_to_fired(app, request, now).await?)
        }
        document => Ok(documents::respond_to_reconcile(app, request, document, now).await?),
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

/// The invocation's budget, from the deadline in its Lambda context.
pub(crate) fn budget_of(request: &Request) -> Budget {
    Budget::until_deadline(request.lambda_context_ref().map_or(0, |c| c.deadline))
}

/// Where timers deliver: this function, whose ARN comes from the invocation (putting it
/// in the function's environment through the template would make the function depend
/// on itself).
pub(crate) fn target_of(app: &App, request: &Request) -> Option<ScheduleTarget> {
    let timers = app.effects.as_ref()?.timers.as_ref()?;
    let function_arn = request
        .lambda_context_ref()
        .map(|c| c.invoked_function_arn.as_str())
        .filter(|arn| !arn.is_empty())?;
    Some(ScheduleTarget {
        function_arn: function_arn.to_owned(),
        role_arn: timers.role_arn.clone(),
        dead_letter_arn: timers.dead_letter_arn.clone(),
    })
}

/// The facts every record of an invocation carries: the Lambda context's keys, the
/// body's size, and whether this is the process's first invocation.
pub(crate) fn invocation_facts<'a>(app: &'a App, request: &'a Request) -> RequestFacts<'a> {
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
