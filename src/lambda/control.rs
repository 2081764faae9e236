//! The pause, resume and release-preview documents, direct invocations only: each handed
//! to its use case, and its ending mapped to an answer a person can read, a record and
//! a metrics line (`DeprovisioningPaused`, and each worked target's `Deprovisioned`).

use crate::app::control::{Controlled, Preview, Previewed, control, preview};
use crate::app::release::Released;
use crate::domain::control::{Action, ControlDocument, ControlError, Pause};
use crate::domain::dates::to_rfc3339;
use crate::domain::deprovision::Pass;
use crate::lambda::backfill::{LISTED_AT_MOST, answered};
use crate::lambda::handler::{Answered, budget_of, invocation_facts};
use crate::lambda::state::App;
use crate::telemetry::metrics::{Properties, paused_line};
use crate::telemetry::record::{PAUSE_MESSAGE, PREVIEW_MESSAGE, RESUME_MESSAGE};
use chrono::{DateTime, Utc};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use lambda_http::tracing;
use serde_json::{Value, json};

/// The pause as answers show it.
fn pause_body(pause: &Pause) -> Value {
    json!({"all": pause.all, "targets": pause.targets, "reason": pause.reason,
        "changed_at": pause.changed_at.map(to_rfc3339)})
}

fn off() -> (StatusCode, Value) {
    (
        StatusCode::OK,
        json!({"error": "deprovisioning_off",
            "message": "SCIM_TARGETS_SECRET_ID is not set: there is no deprovisioning to pause"}),
    )
}

fn unavailable(error: &crate::aws::ledger::LedgerError, what: &str) -> (StatusCode, Value) {
    tracing::error!(
        ledger_error = error.kind(),
        "{what} could not be read or written"
    );
    (
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"error": "ledger_unavailable",
            "message": format!("{what} could not be read or written; invoke again")}),
    )
}

/// Answers `merge-deprovision.pause` and `merge-deprovision.resume`.
pub async fn respond_to_control(
    app: &App,
    request: &Request,
    document: Result<ControlDocument, ControlError>,
    now: DateTime<Utc>,
) -> Result<Answered, serde_json::Error> {
    let document = match document {
        Ok(document) => document,
        Err(error) => {
            tracing::warn!(document = "pause", error = %error, "direct invocation refused");
            let body = json!({"error": "invalid_document", "message": error.to_string()});
            return answered(StatusCode::BAD_REQUEST, &body, Vec::new());
        }
    };
    let budget = budget_of(request);
    let facts = invocation_facts(app, request);
    let (effects, deprovisioner) = (app.effects.as_ref(), app.deprovisioner.as_ref());
    let ended = control(effects, deprovisioner, &document, &facts, &budget, now).await;
    let properties = Properties {
        service: facts.service,
        function_request_id: facts.function_request_id,
        delivery_id: None,
    };
    let namespace = deprovisioner.map_or("", |d| d.namespace.as_str());
    let (status, body, lines) = match ended {
        Controlled::Off => {
            let (status, body) = off();
            (status, body, Vec::new())
        }
        Controlled::UnknownTarget(_) => (
            StatusCode::BAD_REQUEST,
            json!({"error": "unknown_target",
                "message": "`targets` names a target the targets secret does not have"}),
            Vec::new(),
        ),
        Controlled::Unavailable(error) => {
            let (status, body) = unavailable(&error, "the pause");
            (status, body, Vec::new())
        }
        Controlled::Paused { pause, changed } => {
            tracing::warn!(
                all = pause.all,
                targets = ?pause.targets,
                changed,
                function_request_id = facts.function_request_id,
                "{PAUSE_MESSAGE}"
            );
            let line = paused_line(namespace, pause.any(), properties, now);
            let body = json!({"action": Action::Pause.as_str(), "changed": changed,
                "paused": pause_body(&pause)});
            (StatusCode::OK, body, vec![line])
        }
        Controlled::Resumed {
            pause,
            changed,
            worked,
        } => resumed(&pause, changed, worked, namespace, properties, &facts, now),
    };
    answered(status, &body, lines)
}

/// The answer, record and lines of a resume: the pause is lifted whether or not the list
/// could be worked, and the alarm's metric says so either way.
fn resumed(
    pause: &Pause,
    changed: bool,
    worked: Result<Released, crate::aws::ledger::LedgerError>,
    namespace: &str,
    properties: Properties<'_>,
    facts: &crate::telemetry::record::RequestFacts<'_>,
    now: DateTime<Utc>,
) -> (StatusCode, Value, Vec<String>) {
    tracing::info!(
        all = pause.all,
        targets = ?pause.targets,
        changed,
        released = worked.as_ref().map_or(0, |w| w.released),
        remaining = worked.as_ref().map_or(0, |w| w.remaining),
        ledger_error = worked.as_ref().err().map(|e| e.kind()),
        function_request_id = facts.function_request_id,
        "{RESUME_MESSAGE}"
    );
    // The pause is lifted whether or not the list could be worked: the alarm's
    // metric says so either way.
    let mut lines = vec![paused_line(namespace, pause.any(), properties, now)];
    let body = match worked {
        Ok(worked) => {
            let body = resumed_body(pause, changed, &worked);
            lines.extend(worked.lines);
            body
        }
        Err(error) => json!({"action": Action::Resume.as_str(), "changed": changed,
            "paused": pause_body(pause), "error": "ledger_unavailable",
            "ledger_error": error.kind(),
            "message": "resumed, but the waiting work could not be listed: send the resume again to work it"}),
    };
    (StatusCode::OK, body, lines)
}

fn resumed_body(pause: &Pause, changed: bool, worked: &Released) -> Value {
    json!({"action": Action::Resume.as_str(), "changed": changed,
        "paused": pause_body(pause), "settled": worked.released,
        "remaining": worked.remaining, "outcomes": worked.outcomes})
}

/// Refuses a release document with a field it does not take, or `recheck` or
/// `preview` not a boolean: nothing is released.
pub fn refuse_release() -> Result<Answered, serde_json::Error> {
    tracing::warn!(document = "release-held", "direct invocation refused");
    let body = json!({"error": "invalid_document",
        "message": "a release takes only `kind`, `version`, and booleans `recheck` and `preview`"});
    answered(StatusCode::BAD_REQUEST, &body, Vec::new())
}

/// Answers `merge-deprovision.release-held` with `"preview": true`: what the release
/// would find and work, by reason, without changing anything.
pub async fn respond_to_preview(
    app: &App,
    request: &Request,
    pass: Pass,
    now: DateTime<Utc>,
) -> Result<Answered, serde_json::Error> {
    let budget = budget_of(request);
    let (effects, deprovisioner) = (app.effects.as_ref(), app.deprovisioner.as_ref());
    let (status, body) = match preview(effects, deprovisioner, pass, &budget, now).await {
        Previewed::Off => off(),
        Previewed::Unavailable(error) => unavailable(&error, "the waiting work"),
        Previewed::Listed(preview) => {
            tracing::info!(
                listed = preview.listed,
                would_work = preview.would_work,
                unread = preview.unread,
                "{PREVIEW_MESSAGE}"
            );
            (StatusCode::OK, preview_body(&preview, pass))
        }
    };
    answered(status, &body, Vec::new())
}

fn preview_body(preview: &Preview, pass: Pass) -> Value {
    let employees: Vec<Value> = preview
        .employees
        .iter()
        .take(LISTED_AT_MOST)
        .map(|listed| {
            let targets: Vec<Value> = listed
                .targets
                .iter()
                .map(|(name, reason, works)| {
                    json!({"target": name, "outcome": reason, "would_work": works})
                })
                .collect();
            json!({"linked_account_id": listed.key.linked_account_id,
                "employee_id": listed.key.employee_id, "targets": targets})
        })
        .collect();
    json!({
        "preview": true,
        "recheck": pass == Pass::Recheck,
        "refused_in_dry_run": preview.refused_in_dry_run,
        "paused": pause_body(&preview.pause),
        "listed": preview.listed,
        "unread": preview.unread,
        "by_reason": preview.by_reason,
        "would_work": {"targets": preview.would_work, "employees": preview.employees_worked},
        "employees": employees,
        "truncated": preview.employees.len() > LISTED_AT_MOST,
    })
}
