//! The report document (`merge-deprovision.report`), a direct invocation by an operator
//! or the monthly schedule: handed to its use case, and its ending mapped to an answer
//! giving the period, the summary and each object's key, and a record. A report that
//! could not be made fails the invocation, so the schedule's invocation is retried.

use crate::app::report::{Made, Reported, report};
use crate::domain::dates::to_rfc3339;
use crate::domain::report::{ReportDocument, ReportDocumentError};
use crate::lambda::handler::{Answered, FiredError, budget_of, invocation_facts};
use crate::lambda::response::json_response;
use crate::lambda::state::App;
use chrono::{DateTime, TimeDelta, Utc};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use lambda_http::tracing;
use serde_json::{Value, json};

/// Answers `merge-deprovision.report`.
pub async fn respond_to_report(
    app: &App,
    request: &Request,
    document: Result<ReportDocument, ReportDocumentError>,
    now: DateTime<Utc>,
) -> Result<Answered, FiredError> {
    let document = match document {
        Ok(document) => document,
        Err(error) => {
            tracing::warn!(document = "report", error = %error, "direct invocation refused");
            let body = json!({"error": "invalid_document", "message": error.to_string()});
            return answer(StatusCode::BAD_REQUEST, &body);
        }
    };
    let budget = budget_of(request);
    let facts = invocation_facts(app, request);
    let account = document.linked_account_id.as_deref();
    let (effects, reports, run) = (
        app.effects.as_ref(),
        app.reports.as_ref(),
        facts.function_request_id,
    );
    match report(effects, reports, &document, run, &budget, now).await {
        Reported::Off => answer(
            StatusCode::CONFLICT,
            &json!({"error": "reports_off",
                "message": "a report needs both EMPLOYEE_LEDGER_TABLE and REPORT_BUCKET"}),
        ),
        Reported::Unread(error) => {
            tracing::error!(
                ledger_error = error.kind(),
                linked_account_id = account,
                "report: the evidence could not be read"
            );
            Err(FiredError::Report { kind: error.kind() })
        }
        Reported::Unwritten { made, form, error } => {
            tracing::error!(
                report_error = error.kind(),
                form = form.as_str(),
                written = made.keys.len(),
                linked_account_id = account,
                "report: a form could not be written to the report bucket"
            );
            Err(FiredError::Report { kind: error.kind() })
        }
        Reported::Written(made) => {
            let body = written(&made);
            let summary = &made.report.summary;
            tracing::info!(
                period = made.report.header.period.label(),
                linked_account_id = account,
                facts = made.facts,
                leavers = summary.leavers,
                rows = summary.rows,
                met = summary.met,
                missed = summary.missed,
                open_items = summary.open_items,
                objects = made.keys.len(),
                "access-removal report written"
            );
            answer(StatusCode::OK, &body)
        }
    }
}

/// The answer to a written report: what it covers, its summary and its objects.
fn written(made: &Made) -> Value {
    let (header, summary) = (&made.report.header, &made.report.summary);
    let seconds = |lag: Option<TimeDelta>| lag.map(|lag| lag.num_seconds());
    let objects: Vec<Value> = made
        .keys
        .iter()
        .map(|(form, key)| json!({"form": form.as_str(), "key": key}))
        .collect();
    json!({
        "period": header.period.label(),
        "linked_account_id": header.linked_account_id,
        "as_of": to_rfc3339(header.as_of),
        "sla_seconds": header.sla.num_seconds(),
        "facts": made.facts,
        "summary": {
            "leavers": summary.leavers,
            "targets": summary.targets,
            "rows": summary.rows,
            "met": summary.met,
            "missed": summary.missed,
            "open": summary.open,
            "exempt": summary.exempt,
            "undone": summary.undone,
            "open_items": summary.open_items,
            "median_lag_seconds": seconds(summary.median_lag),
            "worst_lag_seconds": seconds(summary.worst_lag),
        },
        "objects": objects,
    })
}

fn answer(status: StatusCode, body: &Value) -> Result<Answered, FiredError> {
    Ok(Answered {
        response: json_response(status, body)?,
        metrics: None,
    })
}
