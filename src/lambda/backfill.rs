//! The backfill, baseline and reindex documents, direct invocations only: each handed to its use
//! case, and its ending mapped to an answer a person can read, a record and the target
//! outcomes' metrics lines.

use crate::app::backfill::{Backfilled, Reindexing, backfill, reindex};
use crate::app::baseline::{Asked, ask};
use crate::domain::backfill::{BackfillDocument, BaselineDocument, Candidate, DocumentError};
use crate::domain::baseline::cutoff;
use crate::domain::dates::to_rfc3339;
use crate::lambda::handler::{Answered, budget_of, invocation_facts};
use crate::lambda::response::json_response;
use crate::lambda::state::App;
use chrono::{DateTime, Utc};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use lambda_http::tracing;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The most leavers a dry run's answer names; the counts cover all.
pub const LISTED_AT_MOST: usize = 100;

/// The answer to a document of a known kind that cannot be read: 400, naming the
/// problem, never the content.
fn refused(kind: &str, error: DocumentError) -> (StatusCode, Value) {
    tracing::warn!(document = kind, error = %error, "direct invocation refused");
    (
        StatusCode::BAD_REQUEST,
        json!({"error": "invalid_document", "message": error.to_string()}),
    )
}

/// An answer of `status` and `body`, with its metrics lines.
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

/// Answers `merge-deprovision.backfill`.
pub async fn respond_to_backfill(
    app: &App,
    request: &Request,
    document: Result<BackfillDocument, DocumentError>,
    now: DateTime<Utc>,
) -> Result<Answered, serde_json::Error> {
    let document = match document {
        Ok(document) => document,
        Err(error) => {
            let (status, body) = refused("backfill", error);
            return answered(status, &body, Vec::new());
        }
    };
    let budget = budget_of(request);
    let facts = invocation_facts(app, request);
    let (effects, deprovisioner) = (app.effects.as_ref(), app.deprovisioner.as_ref());
    let ended = backfill(effects, deprovisioner, &document, &facts, &budget, now).await;
    let account = document.linked_account_id.as_str();
    let (status, body, lines) = match ended {
        Backfilled::Off => (
            StatusCode::OK,
            json!({"error": "deprovisioning_off",
                "message": "SCIM_TARGETS_SECRET_ID is not set: there is nothing to backfill into"}),
            Vec::new(),
        ),
        Backfilled::DryRunMode => (
            StatusCode::CONFLICT,
            json!({"error": "dry_run",
                "message": "DEPROVISION_MODE is dry-run: a backfill only lists; switch to enforce, then backfill"}),
            Vec::new(),
        ),
        Backfilled::UnknownTarget => (
            StatusCode::BAD_REQUEST,
            json!({"error": "unknown_target",
                "message": "no target of the targets secret has the name `target` gives"}),
            Vec::new(),
        ),
        Backfilled::Unread(error) => {
            tracing::error!(
                ledger_error = error.kind(),
                linked_account_id = account,
                "backfill: the account's leavers could not be read"
            );
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "ledger_unavailable",
                    "message": "the account's leavers could not be read; invoke again"}),
                Vec::new(),
            )
        }
        Backfilled::Listed { found, swept } => {
            let mut body = listed(account, &found);
            body["sweep_completed"] = json!(swept);
            (StatusCode::OK, body, Vec::new())
        }
        Backfilled::Worked(worked) => {
            tracing::info!(
                linked_account_id = account,
                found = worked.found,
                worked = worked.worked,
                remaining = worked.remaining,
                unswept = worked.unswept,
                "backfill worked"
            );
            let body = json!({"linked_account_id": account, "found": worked.found,
                "worked": worked.worked, "remaining": worked.remaining,
                "unswept": worked.unswept, "outcomes": worked.outcomes});
            (StatusCode::OK, body, worked.lines)
        }
    };
    answered(status, &body, lines)
}

/// A dry run's answer: the counts, and the first [`LISTED_AT_MOST`] leavers by the
/// identity fields records carry.
fn listed(account: &str, found: &[Candidate]) -> Value {
    let mut by_target: BTreeMap<&str, usize> = BTreeMap::new();
    for target in found.iter().flat_map(|c| &c.targets) {
        *by_target.entry(target.as_str()).or_default() += 1;
    }
    let historical = found.iter().filter(|c| c.historical).count();
    let named: Vec<Value> = found
        .iter()
        .take(LISTED_AT_MOST)
        .map(|c| {
            json!({"employee_id": c.key.employee_id, "historical": c.historical,
                "effective_at": c.effective_at.map(to_rfc3339), "targets": c.targets})
        })
        .collect();
    tracing::info!(
        linked_account_id = account,
        leavers = found.len(),
        historical,
        "backfill dry run listed"
    );
    json!({"dry_run": true, "linked_account_id": account, "leavers": found.len(),
        "historical": historical, "by_target": by_target, "listed": named,
        "truncated": found.len() > LISTED_AT_MOST,
        "message": "nothing changed: send it again with \"dry_run\": false to work them, under the brake"})
}

/// Answers `merge-deprovision.baseline`: reads the account's baseline, or sets it.
pub async fn respond_to_baseline(
    app: &App,
    request: &Request,
    document: Result<BaselineDocument, DocumentError>,
    now: DateTime<Utc>,
) -> Result<Answered, serde_json::Error> {
    let document = match document {
        Ok(document) => document,
        Err(error) => {
            let (status, body) = refused("baseline", error);
            return answered(status, &body, Vec::new());
        }
    };
    let budget = budget_of(request);
    let account = document.linked_account_id.as_str();
    let lookback = app
        .effects
        .as_ref()
        .map_or(chrono::TimeDelta::zero(), |e| e.baselines.lookback());
    let (status, body) = match ask(app.effects.as_ref(), &document, &budget, now).await {
        Asked::Off => (
            StatusCode::OK,
            json!({"error": "ledger_off",
                "message": "EMPLOYEE_LEDGER_TABLE is not set: there are no baselines"}),
        ),
        Asked::Failed(error) => {
            tracing::error!(
                ledger_error = error.kind(),
                linked_account_id = account,
                "account baseline not read or set"
            );
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "ledger_unavailable",
                "message": "the baseline could not be read or written; invoke again"}),
            )
        }
        Asked::Set { set, replaced } => {
            tracing::warn!(linked_account_id = account, baseline = %to_rfc3339(set.at),
                replaced = replaced.as_ref().map(|b| to_rfc3339(b.at)).as_deref(),
                "account baseline set by an operator");
            let mut body = baseline_answer(account, Some(&set), lookback);
            body["replaced"] = json!(replaced.map(|b| to_rfc3339(b.at)));
            (StatusCode::OK, body)
        }
        Asked::Read(stored) => (
            StatusCode::OK,
            baseline_answer(account, stored.as_ref(), lookback),
        ),
    };
    answered(status, &body, Vec::new())
}

fn baseline_answer(
    account: &str,
    baseline: Option<&crate::domain::baseline::Baseline>,
    lookback: chrono::TimeDelta,
) -> Value {
    match baseline {
        None => json!({"linked_account_id": account, "baseline": null,
            "message": "not seen yet: the account's first delivery or sweep records its baseline"}),
        Some(b) => json!({"linked_account_id": account, "baseline": to_rfc3339(b.at),
            "set_by": b.set_by.as_str(), "lookback_days": lookback.num_days(),
            "historical_before": to_rfc3339(cutoff(b, lookback))}),
    }
}

/// Answers `merge-deprovision.reindex`.
pub async fn respond_to_reindex(
    app: &App,
    request: &Request,
    document: Result<String, DocumentError>,
) -> Result<Answered, serde_json::Error> {
    let account = match document {
        Ok(account) => account,
        Err(error) => {
            let (status, body) = refused("reindex", error);
            return answered(status, &body, Vec::new());
        }
    };
    let budget = budget_of(request);
    let (status, body) = match reindex(app.effects.as_ref(), &account, &budget).await {
        Reindexing::Off => (
            StatusCode::OK,
            json!({"error": "ledger_off",
                "message": "EMPLOYEE_LEDGER_TABLE is not set: there is nothing to reindex"}),
        ),
        Reindexing::Failed(error) => {
            tracing::error!(
                ledger_error = error.kind(),
                linked_account_id = account.as_str(),
                "reindex not finished"
            );
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "ledger_unavailable",
                    "message": "the account's entries could not all be reindexed; invoke again"}),
            )
        }
        Reindexing::Done(done) => {
            tracing::info!(
                linked_account_id = account.as_str(),
                entries = done.entries,
                rewritten = done.rewritten,
                "account reindexed"
            );
            (
                StatusCode::OK,
                json!({"linked_account_id": account, "entries": done.entries,
                    "rewritten": done.rewritten}),
            )
        }
    };
    answered(status, &body, Vec::new())
}
