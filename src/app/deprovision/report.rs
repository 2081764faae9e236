//! What one target's outcome tells: its log record (message and level by outcome) and
//! its `Deprovisioned` metric line, with whether the failure pages.

use super::STREAM_ATTEMPTS;
use super::attempt::Attempt;
use crate::aws::ledger::LedgerError;
use crate::domain::deprovision::{Action, Mode, Outcome, Pass, Target};
use crate::domain::ledger::Entry;
use crate::scim::client::ScimError;
use crate::telemetry::record::{
    ALREADY_INACTIVE_MESSAGE, AMBIGUOUS_MESSAGE, CONFLICT_MESSAGE, DEPROVISION_FAILED_MESSAGE,
    DEPROVISIONED_MESSAGE, DeprovisionFacts, HELD_MESSAGE, NOT_FOUND_MESSAGE, NOT_MATCHING_MESSAGE,
    PAUSED_MESSAGE, PROTECTED_MESSAGE, REACTIVATED_MESSAGE, RequestFacts, Severity,
    WOULD_DEPROVISION_MESSAGE, log_deprovision,
};
use chrono::{DateTime, Utc};

/// True when a failure counts in `DeprovisionFailures` (which pages): one no retry can
/// fix (a refused token, a rejected call), or one nothing will retry (the stream's last
/// attempt, or a release's). A transient failure the stream retries only counts in
/// `Deprovisioned{Outcome=failed}`.
pub(super) fn pages(attempt: &Attempt, pass: Pass, attempts: Option<u32>) -> bool {
    if attempt.outcome != Outcome::Failed {
        return false;
    }
    let retried = attempt.error.as_ref().is_none_or(ScimError::is_transient);
    !retried || pass != Pass::Termination || attempts.unwrap_or(0) >= STREAM_ATTEMPTS
}

/// The `Deprovisioned` metric line of one target's outcome.
pub(super) fn metric_line(
    namespace: &str,
    attempt: &Attempt,
    paging: bool,
    facts: &RequestFacts<'_>,
    now: DateTime<Utc>,
) -> String {
    crate::telemetry::metrics::deprovision_line(
        namespace,
        attempt.outcome.as_str(),
        paging,
        crate::telemetry::metrics::Properties {
            service: facts.service,
            function_request_id: facts.function_request_id,
            delivery_id: None,
        },
        now,
    )
}

/// The record's level and message for an attempt's outcome.
fn severity_and_message(attempt: &Attempt) -> (Severity, &'static str) {
    match attempt.outcome {
        Outcome::Deactivated | Outcome::Deleted => (Severity::Info, DEPROVISIONED_MESSAGE),
        Outcome::WouldDeactivate | Outcome::WouldDelete => {
            (Severity::Info, WOULD_DEPROVISION_MESSAGE)
        }
        Outcome::AlreadyInactive => (Severity::Info, ALREADY_INACTIVE_MESSAGE),
        Outcome::NotFound if attempt.not_matching => (Severity::Warn, NOT_MATCHING_MESSAGE),
        Outcome::NotFound => (Severity::Warn, NOT_FOUND_MESSAGE),
        Outcome::Held => (Severity::Warn, HELD_MESSAGE),
        Outcome::Paused => (Severity::Warn, PAUSED_MESSAGE),
        Outcome::Ambiguous => (Severity::Error, AMBIGUOUS_MESSAGE),
        Outcome::Protected => (Severity::Warn, PROTECTED_MESSAGE),
        Outcome::Conflict => (Severity::Error, CONFLICT_MESSAGE),
        Outcome::Failed => (Severity::Error, DEPROVISION_FAILED_MESSAGE),
        // Only an undo writes it, and logs its own record: no attempt ends so.
        Outcome::Reactivated => (Severity::Info, REACTIVATED_MESSAGE),
    }
}

/// The HTTP status a SCIM error carries, as records name it.
fn status_of(error: Option<&ScimError>) -> Option<u16> {
    match error {
        Some(ScimError::Unauthorized { status, .. }) => Some(*status),
        Some(ScimError::Server(status)) => Some(*status),
        Some(ScimError::Rejected { status, .. }) => Some(*status),
        Some(ScimError::RateLimited { .. }) => Some(429),
        Some(ScimError::PreconditionFailed) => Some(412),
        _ => None,
    }
}

/// Logs one target's outcome as one record.
pub(super) fn log_outcome(
    target: &Target,
    entry: &Entry,
    attempt: &Attempt,
    mode: Mode,
    attempts: Option<u32>,
    facts: &RequestFacts<'_>,
) {
    let (severity, message) = severity_and_message(attempt);
    let host = crate::net::base_url(&target.base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned));
    let d = DeprovisionFacts {
        target: &target.name,
        deprovision: attempt.outcome.as_str(),
        mode: mode.as_str(),
        action: match target.action {
            Action::Deactivate => "deactivate",
            Action::Delete => "delete",
        },
        matched_on: target.rule.field.as_str(),
        scim_host: attempt.error.as_ref().and(host.as_deref()),
        scim_error: attempt.error.as_ref().map(ScimError::kind),
        scim_status: status_of(attempt.error.as_ref()),
        attempts,
        deprovisioned_at: None,
        protected_by: attempt.protection.map(|p| p.as_str()),
        conflict_with: attempt.conflict_with.as_deref(),
    };
    let facts = RequestFacts {
        ledger_error: attempt
            .brake_error
            .as_ref()
            .or(attempt.sharing_error.as_ref())
            .or(attempt.pause_error.as_ref())
            .map(LedgerError::kind),
        ..*facts
    };
    log_deprovision(severity, message, entry, &d, &facts);
}
