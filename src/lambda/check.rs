//! The check of a target (`merge-deprovision.check-target`), a direct invocation only:
//! handed to its use case, and its ending mapped to an answer a person can read (per
//! target: reachable, token accepted, the filter, the users found, what would be done),
//! one INFO record per target checked and the check's metrics line. A failing target is
//! an answer (200, `ok: false`), never a 5xx; the token never appears, the host at most.

use crate::app::check::{Checked, IdentityCheck, TargetCheck, check};
use crate::domain::check::{CheckDocument, CheckError, Would, rule_text};
use crate::domain::deprovision::Action;
use crate::lambda::handler::{Answered, budget_of, invocation_facts};
use crate::lambda::response::json_response;
use crate::lambda::state::App;
use crate::scim::client::ScimError;
use crate::telemetry::metrics::{Properties, target_check_line};
use crate::telemetry::record::{RequestFacts, TargetCheckFacts, log_target_check};
use chrono::{DateTime, Utc};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use lambda_http::tracing;
use serde_json::{Value, json};

fn answered(
    status: StatusCode,
    body: &Value,
    line: Option<String>,
) -> Result<Answered, serde_json::Error> {
    Ok(Answered {
        response: json_response(status, body)?,
        metrics: line,
    })
}

/// Answers `merge-deprovision.check-target`.
pub async fn respond_to_check(
    app: &App,
    request: &Request,
    document: Result<CheckDocument, CheckError>,
    now: DateTime<Utc>,
) -> Result<Answered, serde_json::Error> {
    let document = match document {
        Ok(document) => document,
        Err(error) => {
            tracing::warn!(document = "check-target", field = error.field(), error = %error,
                "direct invocation refused");
            let body = json!({"error": "invalid_document", "field": error.field(),
                "message": error.to_string()});
            return answered(StatusCode::BAD_REQUEST, &body, None);
        }
    };
    let budget = budget_of(request);
    let facts = invocation_facts(app, request);
    let ledger = app.effects.as_ref().map(|e| e.ledger.as_ref());
    let ended = check(app.deprovisioner.as_ref(), ledger, &document, &budget, now).await;
    let (mode, targets) = match ended {
        Checked::Off => {
            tracing::info!(
                document = "check-target",
                "check refused: deprovisioning is off"
            );
            let body = json!({"error": "deprovisioning_off",
                "message": "SCIM_TARGETS_SECRET_ID is not set: deprovisioning is off and there is no target to check"});
            return answered(StatusCode::OK, &body, None);
        }
        Checked::UnknownTarget => {
            tracing::warn!(
                document = "check-target",
                field = "target",
                "direct invocation refused"
            );
            let body = json!({"error": "unknown_target", "field": "target",
                "message": "no target of the targets secret has the name `target` gives; leave it out (or give \"*\") to check every target"});
            return answered(StatusCode::BAD_REQUEST, &body, None);
        }
        Checked::Checked { mode, targets } => (mode, targets),
    };
    let answers: Vec<Value> = targets
        .iter()
        .map(|t| {
            record(t, &document, &facts);
            target_answer(t, document.value.is_some())
        })
        .collect();
    let failing = targets.iter().filter(|t| !t.ok()).count();
    let body = json!({"checked": targets.len(), "failing": failing, "mode": mode.as_str(),
        "value_checked": document.value.is_some(),
        "linked_account_id": document.linked_account_id,
        "targets": answers,
        "message": "read-only: nothing was deactivated, deleted or written, and no brake slot was taken"});
    let properties = Properties {
        service: &app.service,
        function_request_id: facts.function_request_id,
        delivery_id: None,
    };
    let namespace = app.metrics_namespace.as_str();
    let line = target_check_line(namespace, targets.len(), failing, properties, now);
    answered(StatusCode::OK, &body, Some(line))
}

/// One target's part of the answer.
fn target_answer(t: &TargetCheck, with_value: bool) -> Value {
    let error = t.error();
    let mut answer = json!({
        "target": t.name, "host": t.host, "ok": t.ok(),
        "reachable": reachable(&t.search),
        "token_accepted": token_accepted(&t.search),
        "action": action(t.action), "match": rule_text(&t.rule),
        "error": error.map(ScimError::kind),
        "message": error.map(ToString::to_string),
    });
    if let Ok(found) = &t.search {
        let users: Vec<Value> = found
            .users
            .iter()
            .map(|u| json!({"id": u.id, "active": u.active, "carries_value": u.carries}))
            .collect();
        answer["found"] = json!(users.len());
        answer["more_than_sent"] = json!(found.more);
        if with_value {
            answer["users"] = json!(users);
        }
    }
    if !with_value {
        return answer;
    }
    answer["filter"] = json!(t.filter);
    if let Some(Ok(would)) = &t.would {
        answer["would"] = json!(would.as_str());
        answer["protected_by"] = json!(match would {
            Would::Protected(p) => Some(p.as_str()),
            _ => None,
        });
        answer["conflict_with"] = json!(match would {
            Would::Conflict(other) => Some(other.as_str()),
            _ => None,
        });
    }
    answer["identity_check"] = json!(identity_check(&t.identity));
    if let IdentityCheck::Failed(error) = &t.identity {
        answer["ledger_error"] = json!(error.kind());
    }
    answer
}

/// True when the server answered: anything but no answer at all (or none in time).
fn reachable<T>(search: &Result<T, ScimError>) -> bool {
    !matches!(search, Err(ScimError::Unreachable | ScimError::TimedOut))
}

/// True when the search answered, false when the token was refused, `None` when the
/// server never got as far as saying.
fn token_accepted<T>(search: &Result<T, ScimError>) -> Option<bool> {
    match search {
        Ok(_) => Some(true),
        Err(ScimError::Unauthorized { .. }) => Some(false),
        Err(_) => None,
    }
}

fn action(action: Action) -> &'static str {
    match action {
        Action::Deactivate => "deactivate",
        Action::Delete => "delete",
    }
}

fn identity_check(identity: &IdentityCheck) -> &'static str {
    match identity {
        IdentityCheck::NotChecked => "not_checked",
        IdentityCheck::Alone => "nobody_else",
        IdentityCheck::With(_) => "conflict",
        IdentityCheck::Failed(_) => "failed",
    }
}

/// The INFO record of one target's check.
fn record(t: &TargetCheck, document: &CheckDocument, facts: &RequestFacts<'_>) {
    let would = match &t.would {
        Some(Ok(would)) => Some(would.as_str()),
        _ => None,
    };
    log_target_check(
        &TargetCheckFacts {
            target: &t.name,
            scim_host: &t.host,
            ok: t.ok(),
            scim_error: t.error().map(ScimError::kind),
            with_value: document.value.is_some(),
            found: t.search.as_ref().ok().map(|f| f.users.len()),
            would,
            identity_check: identity_check(&t.identity),
            linked_account_id: document.linked_account_id.as_deref(),
        },
        facts,
    );
}
