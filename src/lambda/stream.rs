//! Batches of the ledger's stream: each move into `terminated` handed to the stream use
//! case, and the answer naming the records Lambda must deliver again
//! (`batchItemFailures`).

use crate::app::stream::{Batch, work_batch};
use crate::aws::stream::Change;
use crate::lambda::handler::{Answered, budget_of, invocation_facts};
use crate::lambda::response::json_response;
use crate::lambda::state::App;
use chrono::{DateTime, Utc};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use lambda_http::tracing;

/// Answers a batch of the ledger's stream: each move into `terminated` is deprovisioned
/// in its targets, in order. The answer names the records to deliver again
/// (`batchItemFailures`): one whose work failed for a reason a retry can fix, and every
/// record after one the budget left no time for.
pub async fn respond_to_stream(
    app: &App,
    request: &Request,
    changes: &[Change],
    now: DateTime<Utc>,
) -> Result<Answered, serde_json::Error> {
    let budget = budget_of(request);
    let facts = invocation_facts(app, request);
    let batch = work_batch(
        app.effects.as_ref(),
        app.deprovisioner.as_ref(),
        changes,
        &facts,
        &budget,
        now,
    )
    .await;
    let (retry, lines) = match batch {
        Batch::Off { records } => {
            tracing::warn!(
                records,
                "ledger stream batch received but deprovisioning is off: nothing done"
            );
            (Vec::new(), Vec::new())
        }
        Batch::Worked { retry, lines } => (retry, lines),
    };
    let failures: Vec<serde_json::Value> = retry
        .into_iter()
        .map(|sequence_number| serde_json::json!({"itemIdentifier": sequence_number}))
        .collect();
    let response = json_response(
        StatusCode::OK,
        &serde_json::json!({"batchItemFailures": failures}),
    )?;
    Ok(Answered {
        response,
        metrics: (!lines.is_empty()).then(|| lines.join("\n")),
    })
}
