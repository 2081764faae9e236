//! Direct-invocation documents, which only a caller allowed to invoke the function can
//! send (never the function URL): the release of held deprovisionings and the reconcile
//! document. Each is handed to its use case, and its ending mapped to an answer, a
//! record and a metrics line. A new kind of document gets its use case in `app/` and
//! its mapping here.

use crate::app::reconcile::{Reconciled, reconcile};
use crate::app::release::{Release, release};
use crate::app::sweep::{FannedOut, SweepEnd, SweepReport};
use crate::domain::dates::to_rfc3339;
use crate::domain::deprovision::Pass;
use crate::domain::reconcile::{ReconcileDocument, ReconcileInputError};
use crate::lambda::handler::{Answered, FiredError, budget_of, invocation_facts, target_of};
use crate::lambda::response::json_response;
use crate::lambda::state::App;
use crate::merge::pages::MergeError;
use crate::telemetry::metrics::{Properties, SweepMetrics, sweep_emf_line};
use crate::telemetry::record::{
    RequestFacts, SWEEP_BUSY_MESSAGE, SWEEP_COMPLETED_MESSAGE, SWEEP_FAILED_MESSAGE,
    SWEEP_FAN_OUT_MESSAGE, SWEEP_INVALID_MESSAGE, SWEEP_PAUSED_MESSAGE, SWEEP_UNAUTHORIZED_MESSAGE,
    SWEEP_UNKNOWN_ACCOUNT_MESSAGE, Severity, SweepFields, log_sweep,
};
use chrono::{DateTime, Utc};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use lambda_http::tracing;
use std::time::Instant;

/// Answers `{"kind": "merge-deprovision.release-held", "version": 1}`: every employee
/// whose deprovisioning waits is worked again, past the brake; with `"recheck": true`,
/// the targets that needed a person are searched again too, under the brake. Refused in
/// a dry run.
pub async fn respond_to_release(
    app: &App,
    request: &Request,
    pass: Pass,
    now: DateTime<Utc>,
) -> Result<Answered, serde_json::Error> {
    let budget = budget_of(request);
    let facts = invocation_facts(app, request);
    let (effects, deprovisioner) = (app.effects.as_ref(), app.deprovisioner.as_ref());
    let (status, body, lines) = match release(effects, deprovisioner, pass, &facts, &budget, now)
        .await
    {
        Release::Off => (
            StatusCode::OK,
            serde_json::json!({"error": "deprovisioning_off",
                "message": "SCIM_TARGETS_SECRET_ID is not set: nothing is held"}),
            Vec::new(),
        ),
        Release::DryRun => (
            StatusCode::CONFLICT,
            serde_json::json!({"error": "dry_run",
                "message": "DEPROVISION_MODE is dry-run: nothing is released; switch to enforce, then release"}),
            Vec::new(),
        ),
        Release::Unlisted(error) => {
            tracing::error!(
                ledger_error = error.kind(),
                "held deprovisionings could not be listed"
            );
            (
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"error": "ledger_unavailable",
                    "message": "the list of held deprovisionings could not be read; invoke again"}),
                Vec::new(),
            )
        }
        Release::Released(done) => {
            let (released, remaining) = (done.released, done.remaining);
            tracing::info!(released, remaining, "held deprovisionings released");
            let body = serde_json::json!({"released": released, "remaining": remaining,
                "outcomes": done.outcomes});
            (StatusCode::OK, body, done.lines)
        }
    };
    Ok(Answered {
        response: json_response(status, &body)?,
        metrics: (!lines.is_empty()).then(|| lines.join("\n")),
    })
}

/// Answers a reconcile document, a direct invocation (the recurring schedule, a sweep's
/// own schedule, or by hand): without an account it fans out one sweep per account in
/// the secret; with one, it sweeps that account as far as the budget allows. A document
/// of the reconcile kind that this function cannot read, or reconciliation off, fails
/// the invocation after an ERROR record.
pub async fn respond_to_reconcile(
    app: &App,
    request: &Request,
    document: Result<ReconcileDocument, ReconcileInputError>,
    now: DateTime<Utc>,
) -> Result<Answered, FiredError> {
    let budget = budget_of(request);
    let facts = invocation_facts(app, request);
    let started = Instant::now();
    let (Ok(document), Some(reconciliation), Some(effects)) =
        (document, &app.reconciliation, &app.effects)
    else {
        let fields = SweepFields {
            outcome: "invalid",
            ..SweepFields::default()
        };
        log_sweep(Severity::Error, SWEEP_INVALID_MESSAGE, &fields, &facts);
        return Err(FiredError::Reconcile);
    };
    let target = target_of(app, request);
    let reconciled = reconcile(
        reconciliation,
        effects,
        target.as_ref(),
        &document,
        &facts,
        &budget,
        now,
    )
    .await;
    let mut metrics = SweepMetrics {
        cold_start: facts.cold_start,
        ..SweepMetrics::default()
    };
    let body = match &reconciled {
        Reconciled::NoFunctionArn => {
            let fields = SweepFields {
                outcome: "failed",
                error: Some("no_function_arn"),
                ..SweepFields::default()
            };
            log_sweep(Severity::Error, SWEEP_FAILED_MESSAGE, &fields, &facts);
            metrics.failures = 1;
            serde_json::json!({"reconciliation": "failed"})
        }
        Reconciled::FannedOut(fanned) => fanned_out(fanned, &facts, &mut metrics, started),
        Reconciled::Swept(report) => {
            let account = document.linked_account_id.as_deref().unwrap_or_default();
            swept(account, report, &facts, &mut metrics, started)
        }
    };
    let properties = Properties {
        service: facts.service,
        function_request_id: facts.function_request_id,
        delivery_id: None,
    };
    Ok(Answered {
        response: json_response(StatusCode::OK, &body)?,
        metrics: sweep_emf_line(&app.metrics_namespace, &metrics, properties, now),
    })
}

/// The record and answer of a fan-out.
fn fanned_out(
    fanned: &FannedOut,
    facts: &RequestFacts<'_>,
    metrics: &mut SweepMetrics,
    started: Instant,
) -> serde_json::Value {
    let mut fields = SweepFields {
        outcome: "fanned_out",
        accounts: Some(fanned.scheduled + fanned.pending),
        duration_ms: Some(elapsed_ms(started)),
        ..SweepFields::default()
    };
    if fanned.failed > 0 {
        fields.error = Some("some_accounts_not_scheduled");
        metrics.failures = 1;
        log_sweep(Severity::Error, SWEEP_FAN_OUT_MESSAGE, &fields, facts);
    } else {
        log_sweep(Severity::Info, SWEEP_FAN_OUT_MESSAGE, &fields, facts);
    }
    serde_json::json!({"reconciliation": "fanned_out",
        "scheduled": fanned.scheduled, "pending": fanned.pending,
        "continued": fanned.continued, "failed": fanned.failed})
}

/// The record, metrics and answer of one account's sweep.
fn swept(
    account: &str,
    report: &SweepReport,
    facts: &RequestFacts<'_>,
    metrics: &mut SweepMetrics,
    started: Instant,
) -> serde_json::Value {
    let watermark = report.watermark.map(to_rfc3339);
    let totals = &report.totals;
    let mut fields = SweepFields {
        linked_account_id: Some(account),
        outcome: report.end.as_str(),
        pages: Some(totals.pages),
        employees: Some(totals.employees),
        terminated: Some(totals.terminated),
        scheduled: Some(totals.scheduled),
        active: Some(totals.active),
        undetermined: Some(totals.undetermined),
        historical: Some(totals.historical),
        requests: Some(totals.requests),
        rate_limited: Some(totals.rate_limited),
        duration_ms: Some(elapsed_ms(started)),
        watermark: watermark.as_deref(),
        ..SweepFields::default()
    };
    let (severity, message) = sweep_record(&report.end, &mut fields);
    log_sweep(severity, message, &fields, facts);
    metrics.sweeps = u64::from(report.end == SweepEnd::Completed);
    metrics.found = report.found;
    metrics.terminations = report.terminations;
    metrics.failures = u64::from(report.end.is_failure());
    serde_json::json!({"reconciliation": report.end.as_str(),
        "linked_account_id": account, "found": report.found,
        "historical": totals.historical,
        "pages": totals.pages, "employees": totals.employees})
}

/// The level and message of a sweep's record by how it ended, and what failed.
fn sweep_record(end: &SweepEnd, fields: &mut SweepFields<'_>) -> (Severity, &'static str) {
    match end {
        SweepEnd::Completed => (Severity::Info, SWEEP_COMPLETED_MESSAGE),
        SweepEnd::Paused => (Severity::Info, SWEEP_PAUSED_MESSAGE),
        SweepEnd::Busy => (Severity::Info, SWEEP_BUSY_MESSAGE),
        SweepEnd::UnknownAccount => (Severity::Warn, SWEEP_UNKNOWN_ACCOUNT_MESSAGE),
        SweepEnd::Unauthorized(status) => {
            fields.status = Some(*status);
            fields.error = Some("unauthorized");
            (Severity::Error, SWEEP_UNAUTHORIZED_MESSAGE)
        }
        SweepEnd::MergeUnavailable(error) => {
            fields.error = Some(error.kind());
            (Severity::Warn, SWEEP_PAUSED_MESSAGE)
        }
        SweepEnd::MergeDown(error, _) => {
            fields.error = Some(error.kind());
            (Severity::Error, SWEEP_FAILED_MESSAGE)
        }
        SweepEnd::MergeRejected(error) => {
            if let MergeError::Rejected(status) = error {
                fields.status = Some(*status);
            }
            fields.error = Some(error.kind());
            (Severity::Error, SWEEP_FAILED_MESSAGE)
        }
        SweepEnd::TooManyInvocations => {
            fields.error = Some("too_many_invocations");
            (Severity::Error, SWEEP_FAILED_MESSAGE)
        }
        SweepEnd::Ledger(error) => {
            fields.error = Some(error.kind());
            (Severity::Error, SWEEP_FAILED_MESSAGE)
        }
        SweepEnd::Scheduling(error) => {
            fields.error = Some(error.kind());
            (Severity::Error, SWEEP_FAILED_MESSAGE)
        }
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}
