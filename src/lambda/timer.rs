//! Timers Scheduler fired: the firing read, settled through the ledger by the fired-timer
//! use case, and answered. An outdated firing is an INFO record and a 200; one that
//! cannot be settled, or an unknown event, fails the invocation after an ERROR record,
//! so that Lambda retries it and then hands it to the dead-letter queue.

use crate::app::fire::{self, Concluded};
use crate::app::settle::{Marked, Settled, Unsettled};
use crate::domain::dates::to_rfc3339;
use crate::domain::decision::{Decision, Reason};
use crate::domain::ledger::Timer;
use crate::domain::schedule::{Fired, read_fired, timer_name};
use crate::lambda::handler::{Answered, FiredError, budget_of, invocation_facts, target_of};
use crate::lambda::response::{base_metrics, decided_metrics, finish, json_response, timer_field};
use crate::lambda::state::App;
use crate::telemetry::metrics::{InvocationMetrics, ScheduleEvent};
use crate::telemetry::record::{
    EXPIRY_MESSAGE, RequestFacts, TIMER_OUTDATED_MESSAGE, log_fired_no_op, log_timer_failure,
    log_unknown_event,
};
use chrono::{DateTime, Utc};
use lambda_http::Request;
use lambda_http::http::StatusCode;

/// Answers an event Scheduler fired. A timer the ledger still holds moves the employee
/// into `terminated` and writes the `terminated` record; an outdated one writes an INFO
/// record; one that cannot be settled, or an unknown event, fails the invocation after
/// an ERROR record.
pub async fn respond_to_fired(
    app: &App,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Answered, FiredError> {
    let budget = budget_of(request);
    let mut facts = invocation_facts(app, request);
    let timer = match read_fired(request.body().as_ref()) {
        Ok(Fired::Timer(timer)) => timer,
        Ok(Fired::LegacyExpiry(key)) => {
            facts.schedule = Some("expired");
            log_fired_no_op(EXPIRY_MESSAGE, &key, &facts);
            return Ok(Answered {
                response: json_response(StatusCode::OK, &serde_json::json!({"expired": true}))?,
                metrics: None,
            });
        }
        Err(error) => {
            log_unknown_event(&error, &facts);
            return Err(FiredError::Unknown(error));
        }
    };
    let name = timer_name(&timer.key);
    facts.schedule = Some("fired");
    facts.schedule_name = Some(&name);
    let Some(effects) = &app.effects else {
        log_timer_failure(&timer.key, &facts);
        return Err(FiredError::NoLedger);
    };
    let target = target_of(app, request);
    let settled = match effects
        .settle_timer(&timer, target.as_ref(), &budget, now)
        .await
    {
        Ok(settled) => settled,
        Err(failure) => return Err(unsettled(app, &timer, facts, &failure, now)),
    };
    let terminated_at = settled
        .entry
        .as_ref()
        .and_then(|e| e.terminated_at)
        .map(to_rfc3339);
    facts.ledger = Some(settled.change().as_str());
    facts.ledger_decision = settled.entry.as_ref().map(|e| e.decision.as_str());
    facts.terminated_at = terminated_at.as_deref();
    let concluded = fire::conclude(effects, &settled, &facts, &budget, now).await;
    answer_settled(app, &timer, facts, &settled, &concluded, now)
}

/// A firing the ledger or Scheduler could not take: its ERROR record, and the failure
/// that fails the invocation with its metrics line.
fn unsettled(
    app: &App,
    timer: &Timer,
    mut facts: RequestFacts<'_>,
    failure: &Unsettled,
    now: DateTime<Utc>,
) -> FiredError {
    match failure {
        Unsettled::Ledger(e) => facts.ledger_error = Some(e.kind()),
        Unsettled::Timer(e) => facts.schedule_error = Some(e.kind()),
    }
    log_timer_failure(&timer.key, &facts);
    let metrics = InvocationMetrics {
        decision: "ignored",
        schedule: matches!(failure, Unsettled::Timer(_)).then_some(ScheduleEvent::Failed),
        ledger_failure: matches!(failure, Unsettled::Ledger(_)),
        ..base_metrics(&facts)
    };
    let metrics = json_response(StatusCode::SERVICE_UNAVAILABLE, &())
        .ok()
        .and_then(|response| finish(app, &facts, response, &metrics, now).metrics);
    FiredError::Unsettled {
        kind: failure.kind(),
        metrics,
    }
}

/// Answers a settled firing: announced (its record already written) or outdated.
fn answer_settled(
    app: &App,
    timer: &Timer,
    mut facts: RequestFacts<'_>,
    settled: &Settled,
    concluded: &Concluded,
    now: DateTime<Utc>,
) -> Result<Answered, FiredError> {
    let ledger = settled.change().as_str();
    match concluded {
        Concluded::Announced { decided, marked } => {
            let body = serde_json::json!({"decision": Decision::Terminated.as_str(),
                "reasons": [Reason::TerminationDateReached.as_str()],
                "ledger": ledger});
            let response = json_response(StatusCode::OK, &body)?;
            let metrics = InvocationMetrics {
                schedule: Some(ScheduleEvent::Fired),
                termination: true,
                ledger_failure: *marked == Marked::Failed,
                ..decided_metrics(decided, &facts)
            };
            Ok(finish(app, &facts, response, &metrics, now))
        }
        Concluded::Outdated => {
            let body = serde_json::json!({"decision": "outdated", "reasons": [], "ledger": ledger});
            let response = json_response(StatusCode::OK, &body)?;
            facts.schedule = timer_field(settled.timer).or(Some("fired"));
            log_fired_no_op(TIMER_OUTDATED_MESSAGE, &timer.key, &facts);
            let metrics = InvocationMetrics {
                decision: "ignored",
                ..base_metrics(&facts)
            };
            Ok(finish(app, &facts, response, &metrics, now))
        }
    }
}
