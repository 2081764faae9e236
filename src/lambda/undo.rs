//! The undo and deprovision-now documents, direct invocations only: each handed to its
//! use case, and its ending mapped to an answer a person can read (counts, and each
//! target outcome by name), one record per target outcome and the metrics lines.

use crate::app::deprovision::Worked;
use crate::app::now::{Deprovisioned, deprovision_now};
use crate::app::undo::{TargetUndo, Undid, undo};
use crate::domain::dates::to_rfc3339;
use crate::domain::ledger::Entry;
use crate::domain::now::NowDocument;
use crate::domain::undo::{ControlError, UndoDocument, Undone};
use crate::lambda::handler::{Answered, budget_of, invocation_facts};
use crate::lambda::response::json_response;
use crate::lambda::state::App;
use crate::telemetry::metrics::{Properties, deprovision_line};
use crate::telemetry::record::{
    ALREADY_ACTIVE_MESSAGE, NOT_UNDONE_MESSAGE, REACTIVATED_MESSAGE, RequestFacts, Severity,
    UNDO_FAILED_MESSAGE, UndoFacts, WOULD_REACTIVATE_MESSAGE, log_undo,
};
use chrono::{DateTime, Utc};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use lambda_http::tracing;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The most changes an answer names; the counts cover all.
pub const LISTED_AT_MOST: usize = 100;

/// The answer to a document of a known kind that cannot be read: 400, naming the field,
/// never the content.
pub(crate) fn refused(kind: &str, error: ControlError) -> Result<Answered, serde_json::Error> {
    tracing::warn!(document = kind, error = %error, "direct invocation refused");
    let body = json!({"error": "invalid_document", "message": error.to_string()});
    answered(StatusCode::BAD_REQUEST, &body, Vec::new())
}

pub(crate) fn answered(
    status: StatusCode,
    body: &Value,
    lines: Vec<String>,
) -> Result<Answered, serde_json::Error> {
    Ok(Answered {
        response: json_response(status, body)?,
        metrics: (!lines.is_empty()).then(|| lines.join("\n")),
    })
}

/// Answers `merge-deprovision.undo`.
pub async fn respond_to_undo(
    app: &App,
    request: &Request,
    document: Result<UndoDocument, ControlError>,
    now: DateTime<Utc>,
) -> Result<Answered, serde_json::Error> {
    let document = match document {
        Ok(document) => document,
        Err(error) => return refused("undo", error),
    };
    let budget = budget_of(request);
    let facts = invocation_facts(app, request);
    let (effects, deprovisioner) = (app.effects.as_ref(), app.deprovisioner.as_ref());
    let ended = undo(effects, deprovisioner, &document, &facts, &budget, now).await;
    let scope = document.scope.as_str();
    let account = document.scope.linked_account_id();
    let (status, body, lines) = match ended {
        Undid::Off => (
            StatusCode::OK,
            json!({"error": "deprovisioning_off",
                "message": "EMPLOYEE_LEDGER_TABLE or SCIM_TARGETS_SECRET_ID is not set: nothing was recorded to undo"}),
            Vec::new(),
        ),
        Undid::DryRunMode => (
            StatusCode::CONFLICT,
            json!({"error": "dry_run",
                "message": "DEPROVISION_MODE is dry-run: an undo only lists; send it without \"dry_run\": false, or switch to enforce"}),
            Vec::new(),
        ),
        Undid::Unread(error) => {
            tracing::error!(
                ledger_error = error.kind(),
                linked_account_id = account,
                "undo: the ledger could not be read"
            );
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "ledger_unavailable",
                    "message": "the ledger could not be read; invoke again"}),
                Vec::new(),
            )
        }
        Undid::Listed(listed) => {
            for one in &listed {
                log_one(one, scope, &facts);
            }
            let mut body = summary(account, scope, &listed);
            body["dry_run"] = json!(true);
            body["message"] = json!(
                "nothing changed: send it again with \"dry_run\": false to re-activate them, under the brake"
            );
            (StatusCode::OK, body, Vec::new())
        }
        Undid::Worked { done, remaining } => {
            let mut lines = Vec::new();
            for one in &done {
                log_one(one, scope, &facts);
                if one.undone == Undone::Reactivated {
                    lines.push(reactivated_line(app, &facts, now));
                }
            }
            let mut body = summary(account, scope, &done);
            body["dry_run"] = json!(false);
            body["remaining"] = json!(remaining);
            let waits = remaining > 0
                || done
                    .iter()
                    .any(|d| matches!(d.undone, Undone::Held | Undone::Failed));
            body["message"] = json!(if waits {
                "some changes wait (held by the brake, failed, or not reached): send the same undo again later"
            } else {
                "done: a second undo finds nothing more to change"
            });
            (StatusCode::OK, body, lines)
        }
    };
    answered(status, &body, lines)
}

/// The `Deprovisioned{Outcome=reactivated}` line of one re-activation.
fn reactivated_line(app: &App, facts: &RequestFacts<'_>, now: DateTime<Utc>) -> String {
    let namespace = app
        .deprovisioner
        .as_ref()
        .map_or(crate::telemetry::metrics::DEFAULT_METRICS_NAMESPACE, |d| {
            d.namespace.as_str()
        });
    deprovision_line(
        namespace,
        crate::domain::deprovision::Outcome::Reactivated.as_str(),
        false,
        Properties {
            service: facts.service,
            function_request_id: facts.function_request_id,
            delivery_id: None,
        },
        now,
    )
}

/// An answer's counts, and the first [`LISTED_AT_MOST`] changes by name.
fn summary(account: &str, scope: &str, all: &[TargetUndo]) -> Value {
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for one in all {
        *outcomes.entry(one.undone.as_str()).or_default() += 1;
    }
    let changes: Vec<Value> = all
        .iter()
        .take(LISTED_AT_MOST)
        .map(|one| {
            let recorded = &one.undoable.recorded;
            json!({"employee_id": one.undoable.key.employee_id, "target": one.undoable.target,
                "scim_user_id": recorded.user, "deprovisioned_at": to_rfc3339(recorded.at),
                "deprovisioned_by_run": recorded.run, "undo": one.undone.as_str(),
                "scim_error": one.error.as_ref().map(|e| e.kind()),
                "ledger_error": one.ledger_error.as_ref().map(|e| e.kind())})
        })
        .collect();
    json!({"linked_account_id": account, "scope": scope, "found": all.len(),
        "outcomes": outcomes, "changes": changes, "truncated": all.len() > LISTED_AT_MOST})
}

/// The record of one change's undo.
fn log_one(one: &TargetUndo, scope: &str, facts: &RequestFacts<'_>) {
    let (severity, message) = match one.undone {
        Undone::Reactivated => (Severity::Info, REACTIVATED_MESSAGE),
        Undone::WouldReactivate => (Severity::Info, WOULD_REACTIVATE_MESSAGE),
        Undone::AlreadyActive => (Severity::Info, ALREADY_ACTIVE_MESSAGE),
        Undone::Failed => (Severity::Error, UNDO_FAILED_MESSAGE),
        Undone::NotFound
        | Undone::NotUndoable
        | Undone::NotRecorded
        | Undone::UnknownTarget
        | Undone::Held => (Severity::Warn, NOT_UNDONE_MESSAGE),
    };
    let recorded = &one.undoable.recorded;
    let at = to_rfc3339(recorded.at);
    let u = UndoFacts {
        target: &one.undoable.target,
        undo: one.undone.as_str(),
        scope,
        scim_user_id: recorded.user.as_deref(),
        deprovisioned_at: Some(&at),
        deprovisioned_by_run: recorded.run.as_deref(),
        scim_error: one.error.as_ref().map(|e| e.kind()),
    };
    let facts = RequestFacts {
        ledger_error: one.ledger_error.as_ref().map(|e| e.kind()),
        ..*facts
    };
    log_undo(
        severity,
        message,
        &one.undoable.key,
        &one.identity,
        &u,
        &facts,
    );
}

/// Answers `merge-deprovision.deprovision-now`.
pub async fn respond_to_now(
    app: &App,
    request: &Request,
    document: Result<NowDocument, ControlError>,
    now: DateTime<Utc>,
) -> Result<Answered, serde_json::Error> {
    let document = match document {
        Ok(document) => document,
        Err(error) => return refused("deprovision-now", error),
    };
    let budget = budget_of(request);
    let facts = invocation_facts(app, request);
    let (effects, deprovisioner) = (app.effects.as_ref(), app.deprovisioner.as_ref());
    let ended = deprovision_now(effects, deprovisioner, &document, &facts, &budget, now).await;
    let account = document.linked_account_id.as_str();
    let (status, body, lines) = match ended {
        Deprovisioned::Off => (
            StatusCode::OK,
            json!({"error": "deprovisioning_off",
                "message": "EMPLOYEE_LEDGER_TABLE or SCIM_TARGETS_SECRET_ID is not set: there is nothing to deprovision in"}),
            Vec::new(),
        ),
        Deprovisioned::NotHeld(field) => (
            StatusCode::NOT_FOUND,
            json!({"error": "not_found",
                "message": format!("the ledger holds no employee of the linked account by `{field}`: only an employee the ledger holds is deprovisioned")}),
            Vec::new(),
        ),
        Deprovisioned::Shared(ids) => (
            StatusCode::CONFLICT,
            json!({"error": "ambiguous",
                "message": "more than one employee of the linked account holds `match.value`: name one by `employee_id`",
                "employee_ids": ids}),
            Vec::new(),
        ),
        Deprovisioned::Unavailable(error) => {
            tracing::error!(
                ledger_error = error.kind(),
                linked_account_id = account,
                "deprovision now: the ledger failed"
            );
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "ledger_unavailable",
                    "message": "the ledger could not be read or written; invoke again"}),
                Vec::new(),
            )
        }
        Deprovisioned::Worked {
            entry,
            moved,
            worked,
            lines,
        } => (
            StatusCode::OK,
            worked_now(app, &entry, moved, &worked),
            lines,
        ),
    };
    answered(status, &body, lines)
}

/// Deprovision now's answer: the employee, the move, and each target's outcome.
fn worked_now(app: &App, entry: &Entry, moved: bool, worked: &Worked) -> Value {
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for done in &worked.done {
        *outcomes.entry(done.outcome.as_str()).or_default() += 1;
    }
    let targets: Vec<Value> = worked
        .done
        .iter()
        .map(|d| {
            json!({"target": d.target, "outcome": d.outcome.as_str(),
            "scim_error": d.error.as_ref().map(|e| e.kind())})
        })
        .collect();
    let mode = app.deprovisioner.as_ref().map(|d| d.mode().as_str());
    let waits = worked.waiting || worked.ledger_error.is_some();
    tracing::warn!(
        linked_account_id = entry.key.linked_account(),
        employee_id = entry.key.employee_id.as_str(),
        moved,
        targets = worked.done.len(),
        "employee deprovisioned by hand"
    );
    json!({"linked_account_id": entry.key.linked_account_id,
    "employee_id": entry.key.employee_id, "moved": moved,
    "terminated_at": entry.terminated_at.map(to_rfc3339),
    "changed_by": entry.changed_by.as_str(), "mode": mode,
    "outcomes": outcomes, "targets": targets, "waiting": waits,
    "ledger_error": worked.ledger_error.as_ref().map(|e| e.kind()),
    "stopped": worked.stopped,
    "message": if worked.stopped {
        "stopped: the employee's record changed in the ledger while the targets were worked (HR moved it out of terminated, or terminated it again); the targets after it were not worked: send deprovision now again if the person must still lose access"
    } else if waits {
        "some targets wait (failed, or a person must look): see each target's record; the release or a recheck works them"
    } else if worked.done.is_empty() {
        "nothing was owed: every covering target was already settled for this termination"
    } else {
        "done: every covering target was worked"
    }})
}
