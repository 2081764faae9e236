//! Function URL requests: a webhook delivery in, through the delivery use case (or, for
//! `sync_completed`, a request for the account's sweep), and the JSON response, its
//! record and its metrics line out.

use crate::app::budget::Budget;
use crate::app::deliver::{self, Incoming, Ledgered};
use crate::app::reconcile::after_sync;
use crate::app::settle::{Effects, Marked, Settled, TimerOutcome, Unsettled};
use crate::app::sweep::Requested;
use crate::aws::scheduler::SchedulerError;
use crate::domain::dates::to_rfc3339;
use crate::domain::error::RequestError;
use crate::domain::reconcile::is_sync_completed;
use crate::domain::schedule::timer_name;
use crate::domain::signature::delivery_id;
use crate::domain::webhook::{Decided, Outcome};
use crate::lambda::handler::{Answered, budget_of, invocation_facts, target_of};
use crate::lambda::response::{
    base_metrics, decided_metrics, error_response, finish, json_response, outcome_body,
    outcome_metrics, schedule_event, status_of, timer_field,
};
use crate::lambda::state::App;
use crate::telemetry::metrics::{InvocationMetrics, ScheduleEvent};
use crate::telemetry::record::{
    LEDGER_FAILED_MESSAGE, RequestFacts, SCHEDULING_FAILED_MESSAGE, SWEEP_FAILED_MESSAGE,
    SWEEP_REQUESTED_MESSAGE, SWEEP_UNKNOWN_ACCOUNT_MESSAGE, Severity, SweepFields, log_decision,
    log_outcome, log_rejection, log_secret_refresh_failure, log_sweep,
};
use chrono::{DateTime, Utc};
use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use std::sync::atomic::Ordering;

/// The header Merge signs deliveries with. Function URLs lower-case header names.
pub const SIGNATURE_HEADER: &str = "x-merge-webhook-signature";

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
    let budget = budget_of(request);
    let signature = request
        .headers()
        .get(SIGNATURE_HEADER)
        .map(HeaderValue::as_bytes);
    let delivery_id = signature.filter(|s| !s.is_empty()).map(delivery_id);
    let facts = RequestFacts {
        source_ip: source_ip(request),
        delivery_id: delivery_id.as_deref(),
        ..invocation_facts(app, request)
    };
    let incoming = Incoming {
        body: request.body().as_ref(),
        signature,
        post: request.method() == Method::POST,
    };
    let mut verified = deliver::verify(&app.receiver, &app.keys, incoming, &budget, now).await;
    let localised = deliver::localise(
        app.effects.as_ref(),
        &app.receiver,
        &mut verified,
        &budget,
        now,
    )
    .await;
    for code in verified.failed_refreshes() {
        log_secret_refresh_failure(code, &facts);
    }
    let delivery = Delivery {
        app,
        request,
        refresh_failed: verified.refresh_failed(),
        budget: &budget,
        now,
    };
    let result = &verified.result;
    if let Some((effects, account)) = sync_to_sweep(app, result) {
        return delivery
            .sync_completed(effects, account, facts, result)
            .await;
    }
    let (Some(effects), Ok(outcome @ Outcome::Decided(decided))) = (&app.effects, result) else {
        return delivery.answer(&facts, result);
    };
    if let Err(error) = localised {
        return delivery.unsettled(facts, decided, &Unsettled::Ledger(error));
    }
    let target = target_of(app, request);
    let delivery_id = facts.delivery_id;
    match deliver::settle(effects, target.as_ref(), decided, delivery_id, &budget, now).await {
        Ledgered::Unkeyed => delivery.answer(&facts, result),
        Ledgered::Unsettled(failure) => delivery.unsettled(facts, decided, &failure),
        Ledgered::Settled(settled) => {
            delivery
                .settled(effects, facts, outcome, decided, &settled)
                .await
        }
    }
}

/// A `sync_completed` (or `synced`) webhook that starts a sweep: reconciliation is on,
/// and the delivery names its linked account.
fn sync_to_sweep<'a>(
    app: &'a App,
    result: &'a Result<Outcome, RequestError>,
) -> Option<(&'a Effects, &'a str)> {
    let Ok(Outcome::Ignored {
        event: Some(event),
        linked_account,
        ..
    }) = result
    else {
        return None;
    };
    app.reconciliation.as_ref()?;
    let effects = app.effects.as_ref()?;
    let account = linked_account.id.as_deref()?;
    is_sync_completed(event).then_some((effects, account))
}

/// One delivery being answered: what every answer to it needs.
struct Delivery<'a> {
    app: &'a App,
    request: &'a Request,
    /// A read of the keys' secret failed on the way.
    refresh_failed: bool,
    budget: &'a Budget,
    now: DateTime<Utc>,
}

impl Delivery<'_> {
    /// Answers a refused delivery, or one the ledger does not keep, as its outcome says.
    fn answer(
        &self,
        facts: &RequestFacts<'_>,
        result: &Result<Outcome, RequestError>,
    ) -> Result<Answered, serde_json::Error> {
        answer(self.app, facts, result, self.refresh_failed, self.now)
    }

    /// Answers a delivery the ledger or its timer could not take: an ERROR record and a
    /// 503, for Merge to deliver again.
    fn unsettled(
        &self,
        mut facts: RequestFacts<'_>,
        decided: &Decided,
        failure: &Unsettled,
    ) -> Result<Answered, serde_json::Error> {
        let (message, error, event) = match failure {
            Unsettled::Ledger(e) => {
                facts.ledger_error = Some(e.kind());
                (LEDGER_FAILED_MESSAGE, RequestError::LedgerUnavailable, None)
            }
            Unsettled::Timer(e) => {
                facts.schedule_error = Some(e.kind());
                (
                    SCHEDULING_FAILED_MESSAGE,
                    RequestError::SchedulingUnavailable,
                    Some(ScheduleEvent::Failed),
                )
            }
        };
        // Nothing is announced: the delivery Merge sends again is, and carries the lag.
        let decided = decided.unannounced();
        log_decision(Severity::Error, message, &decided, &facts);
        let metrics = InvocationMetrics {
            schedule: event,
            ledger_failure: matches!(failure, Unsettled::Ledger(_)),
            secret_refresh_failure: self.refresh_failed,
            ..decided_metrics(&decided, &facts)
        };
        let response = error_response(&error)?;
        Ok(finish(self.app, &facts, response, &metrics, self.now))
    }

    /// Answers a settled delivery: its record (written by the use case, before the mark
    /// of a termination it announces), its metrics, and a 200, or a 503 when its timer
    /// must be set again.
    async fn settled(
        &self,
        effects: &Effects,
        mut facts: RequestFacts<'_>,
        outcome: &Outcome,
        decided: &Decided,
        settled: &Settled,
    ) -> Result<Answered, serde_json::Error> {
        let terminated_at = settled
            .entry
            .as_ref()
            .and_then(|e| e.terminated_at)
            .map(to_rfc3339);
        let name = (settled.timer != TimerOutcome::Untouched || settled.timer_error.is_some())
            .then(|| settled.entry.as_ref().map(|e| timer_name(&e.key)))
            .flatten();
        facts.ledger = Some(settled.change().as_str());
        facts.ledger_decision = settled.entry.as_ref().map(|e| e.decision.as_str());
        facts.terminated_at = terminated_at.as_deref();
        facts.schedule = timer_field(settled.timer);
        facts.schedule_name = name.as_deref();
        facts.schedule_error = settled.timer_error.as_ref().map(SchedulerError::kind);
        let concluded =
            deliver::conclude(effects, settled, decided, &facts, self.budget, self.now).await;
        let metrics = InvocationMetrics {
            schedule: schedule_event(settled),
            termination: concluded.announced,
            termination_lag: concluded.termination_lag,
            ledger_failure: concluded.marked == Marked::Failed,
            secret_refresh_failure: self.refresh_failed,
            ..decided_metrics(decided, &facts)
        };
        let response = if settled.needs_retry() {
            error_response(&RequestError::SchedulingUnavailable)?
        } else {
            let mut body = outcome_body(outcome);
            body.ledger = Some(settled.change().as_str());
            json_response(StatusCode::OK, &body)?
        };
        Ok(finish(self.app, &facts, response, &metrics, self.now))
    }

    /// Answers a signed `LinkedAccount.sync_completed` (or `synced`) webhook when
    /// reconciliation is on: a one-time schedule starts the account's sweep in its own
    /// invocation. A schedule already pending takes this request; an account the secret
    /// does not hold is a WARN and a 200, with no call; a Scheduler failure is a 503, for
    /// Merge to retry.
    async fn sync_completed(
        &self,
        effects: &Effects,
        account: &str,
        mut facts: RequestFacts<'_>,
        result: &Result<Outcome, RequestError>,
    ) -> Result<Answered, serde_json::Error> {
        let Some(reconciliation) = &self.app.reconciliation else {
            return self.answer(&facts, result);
        };
        let target = target_of(self.app, self.request);
        let requested = after_sync(
            reconciliation,
            effects,
            target.as_ref(),
            account,
            self.budget,
            self.now,
        )
        .await;
        let mut fields = SweepFields {
            linked_account_id: Some(account),
            ..SweepFields::default()
        };
        let name;
        match &requested {
            Requested::UnknownAccount => {
                fields.outcome = "unknown_account";
                log_sweep(
                    Severity::Warn,
                    SWEEP_UNKNOWN_ACCOUNT_MESSAGE,
                    &fields,
                    &facts,
                );
            }
            Requested::Scheduled(scheduled) | Requested::Pending(scheduled) => {
                name = scheduled.clone();
                fields.outcome = if matches!(requested, Requested::Scheduled(_)) {
                    "requested"
                } else {
                    "pending"
                };
                facts.schedule_name = Some(&name);
                log_sweep(Severity::Info, SWEEP_REQUESTED_MESSAGE, &fields, &facts);
            }
            Requested::Failed(error) => {
                fields.outcome = "failed";
                fields.error = Some(error.kind());
                facts.schedule_error = Some(error.kind());
                log_sweep(Severity::Error, SWEEP_FAILED_MESSAGE, &fields, &facts);
                let metrics = InvocationMetrics {
                    decision: "ignored",
                    schedule: Some(ScheduleEvent::Failed),
                    secret_refresh_failure: self.refresh_failed,
                    ..base_metrics(&facts)
                };
                let response = error_response(&RequestError::SchedulingUnavailable)?;
                return Ok(finish(self.app, &facts, response, &metrics, self.now));
            }
        }
        let metrics = InvocationMetrics {
            secret_refresh_failure: self.refresh_failed,
            ..outcome_metrics(&result.as_ref().map_err(|e| *e), &facts)
        };
        let body = serde_json::json!({"decision": "ignored", "sweep": fields.outcome});
        let response = json_response(StatusCode::OK, &body)?;
        Ok(finish(self.app, &facts, response, &metrics, self.now))
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
        false,
        now,
    )
}

/// Answers a delivery by its outcome alone: its record, its response and its metrics.
fn answer(
    app: &App,
    facts: &RequestFacts<'_>,
    result: &Result<Outcome, RequestError>,
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
        secret_refresh_failure,
        ..outcome_metrics(&result.as_ref().map_err(|e| *e), facts)
    };
    Ok(finish(app, facts, response, &metrics, now))
}

fn source_ip(request: &Request) -> Option<&str> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.as_deref(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}
