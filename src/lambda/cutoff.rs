//! The local cutoff document (`merge-deprovision.cutoff`), direct invocations only:
//! handed to its use case, and its ending mapped to an answer a person can read (the
//! account's zone and cutoff, where they come from, and what a termination dated today
//! would mean) and its record.

use crate::app::cutoff::{CutoffAsked, ask};
use crate::domain::cutoff::{
    CutoffDocument, CutoffDocumentError, LocalCutoff, local_date, takes_effect,
};
use crate::domain::dates::to_rfc3339;
use crate::domain::decision::Policy;
use crate::lambda::handler::{Answered, budget_of};
use crate::lambda::response::json_response;
use crate::lambda::state::App;
use crate::telemetry::record::{CUTOFF_FAILED_MESSAGE, CUTOFF_SET_MESSAGE};
use chrono::{DateTime, Utc};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use lambda_http::tracing;
use serde_json::{Value, json};

/// Answers `merge-deprovision.cutoff`.
pub async fn respond_to_cutoff(
    app: &App,
    request: &Request,
    document: Result<CutoffDocument, CutoffDocumentError>,
    now: DateTime<Utc>,
) -> Result<Answered, serde_json::Error> {
    let document = match document {
        Ok(document) => document,
        Err(error) => {
            tracing::warn!(document = "cutoff", error = %error, "direct invocation refused");
            let body = json!({"error": "invalid_document", "message": error.to_string()});
            return answered(StatusCode::BAD_REQUEST, &body);
        }
    };
    let budget = budget_of(request);
    let account = document.linked_account_id.as_str();
    let policy = app.receiver.policy();
    let (status, body) = match ask(app.effects.as_ref(), &document, &budget, now).await {
        CutoffAsked::Off => (
            StatusCode::OK,
            json!({"error": "ledger_off", "message": "EMPLOYEE_LEDGER_TABLE is not set: \
                every account has the configured default", "default": setting(policy.local)}),
        ),
        CutoffAsked::Failed(error) => {
            tracing::error!(
                ledger_error = error.kind(),
                linked_account_id = account,
                "{CUTOFF_FAILED_MESSAGE}"
            );
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "ledger_unavailable",
                    "message": "the local cutoff could not be read or written; invoke again"}),
            )
        }
        CutoffAsked::Set { set, replaced } => {
            tracing::warn!(
                linked_account_id = account,
                time_zone = set.zone_name(),
                cutoff = set.cutoff.as_str(),
                replaced_time_zone = replaced.map(|r| r.zone_name()),
                replaced_cutoff = replaced.map(|r| r.cutoff.as_str()),
                "{CUTOFF_SET_MESSAGE}"
            );
            let mut body = answer(account, Some(set), policy, now);
            body["replaced"] = replaced.map_or(Value::Null, setting);
            (StatusCode::OK, body)
        }
        CutoffAsked::Read(own) => (StatusCode::OK, answer(account, own, policy, now)),
    };
    answered(status, &body)
}

fn answered(status: StatusCode, body: &Value) -> Result<Answered, serde_json::Error> {
    Ok(Answered {
        response: json_response(status, body)?,
        metrics: None,
    })
}

fn setting(local: LocalCutoff) -> Value {
    json!({"time_zone": local.zone_name(), "cutoff": local.cutoff.as_str()})
}

/// The account's setting, where it comes from, and what a date-only termination dated
/// today (in the account's zone) means, offset included.
fn answer(account: &str, own: Option<LocalCutoff>, policy: &Policy, now: DateTime<Utc>) -> Value {
    let applied = policy.for_account(own);
    let today = local_date(now, applied.local.zone);
    let start = takes_effect(today, applied.local);
    let effective = start
        .checked_add_signed(applied.effective_offset)
        .unwrap_or(start);
    json!({
        "linked_account_id": account,
        "time_zone": applied.local.zone_name(),
        "cutoff": applied.local.cutoff.as_str(),
        "source": if own.is_some() { "account" } else { "default" },
        "default": setting(policy.local),
        "offset_hours": applied.effective_offset.num_hours(),
        "example": {
            "termination_date": today.format("%Y-%m-%d").to_string(),
            "effective_at": to_rfc3339(effective),
        },
    })
}
