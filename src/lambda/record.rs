//! The structured log records operators and downstream automation act on.
//!
//! One record per request. Only the fields listed here are ever logged: the Employee
//! model does not even hold the sensitive ones, and rejected requests log no payload.
//! Every record carries the keys AWS Powertools uses (`cold_start`,
//! `function_request_id`, `xray_trace_id`, `function_name`, `function_memory_size`,
//! `service`), so Logs Insights queries written for Powertools work unchanged.

use crate::domain::dates::{as_seconds, to_rfc3339};
use crate::domain::decision::{Decision, Reason};
use crate::domain::error::RequestError;
use crate::domain::schedule::{ScheduleDocument, UnknownInput};
use crate::domain::signature::KeyUsed;
use crate::domain::webhook::{Decided, Outcome};
use lambda_http::tracing::{self, Level};

/// Message of the record for a `terminated` decision: the line to alert on.
pub const TERMINATED_MESSAGE: &str = "employee terminated: revoke access";
/// Message of the record for a `scheduled` decision.
pub const SCHEDULED_MESSAGE: &str = "employee termination scheduled";
/// Message of the record for an `active` decision.
pub const ACTIVE_MESSAGE: &str = "employee active";
/// Message of the record for an `undetermined` decision taken because the termination
/// date could not be read.
pub const UNDETERMINED_UNREADABLE_DATE_MESSAGE: &str =
    "employee termination date unreadable: decision undetermined";
/// Message of the record for an `undetermined` decision taken because the status is
/// `INACTIVE`, no current termination date decides, and the policy does not take
/// `INACTIVE` alone as a termination.
pub const UNDETERMINED_INACTIVE_MESSAGE: &str =
    "employee inactive without a current termination date: decision undetermined";

/// The message of an `undetermined` record: it says which of the two rules applied.
pub fn undetermined_message(reasons: &[Reason]) -> &'static str {
    if reasons.contains(&Reason::TerminationDateUnreadable) {
        UNDETERMINED_UNREADABLE_DATE_MESSAGE
    } else {
        UNDETERMINED_INACTIVE_MESSAGE
    }
}
/// Message of the ERROR record for a decided delivery whose schedule could not be
/// changed: it is answered 503 so that Merge retries it.
pub const SCHEDULING_FAILED_MESSAGE: &str =
    "termination schedule not updated: delivery answered 503 for a retry";
/// Message of the record for an expiry schedule that fired.
pub const EXPIRY_MESSAGE: &str = "schedule memory expired: nothing pending for the employee";
/// Message of the ERROR record for an event that is neither a function URL request nor
/// a schedule input of this function.
pub const UNKNOWN_EVENT_MESSAGE: &str = "event not recognised: invocation failed";
/// Message of the WARN record for a failed read of the key's secret.
pub const SECRET_REFRESH_FAILED_MESSAGE: &str =
    "signature key secret could not be read again: the cached keys stay";
/// Message of the record for an ignored delivery.
pub const IGNORED_MESSAGE: &str = "webhook ignored";
/// Message of the record for a rejected request.
pub const REJECTED_MESSAGE: &str = "webhook rejected";

/// Facts about the invocation and the HTTP request that are safe to log: no header or
/// body content.
#[derive(Debug, Default, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// The caller's address, as the function URL saw it.
    pub source_ip: Option<&'a str>,
    /// The body's length in bytes.
    pub body_bytes: usize,
    /// The first invocation of this process.
    pub cold_start: bool,
    /// Lambda's request id.
    pub function_request_id: Option<&'a str>,
    /// The X-Ray trace id.
    pub xray_trace_id: Option<&'a str>,
    /// The function's name.
    pub function_name: Option<&'a str>,
    /// The function's memory size in MB.
    pub function_memory_size: Option<i32>,
    /// The configured service name.
    pub service: &'a str,
    /// Derived from the signature header: shared by retries and replays of one delivery.
    pub delivery_id: Option<&'a str>,
    /// What the invocation did to the employee's termination schedule.
    pub schedule: Option<&'a str>,
    /// The schedule's name.
    pub schedule_name: Option<&'a str>,
    /// Why a Scheduler call failed.
    pub schedule_error: Option<&'a str>,
}

/// Comma-separated reasons, e.g. `status_inactive,termination_date_passed`.
pub fn join_reasons(reasons: &[Reason]) -> String {
    let mut joined = String::with_capacity(reasons.len() * 24);
    for (i, reason) in reasons.iter().enumerate() {
        if i > 0 {
            joined.push(',');
        }
        joined.push_str(reason.as_str());
    }
    joined
}

// Each level needs its own call site; the fields every record carries are written once.
macro_rules! record {
    ($level:expr, $facts:expr, $message:expr, $($field:tt)*) => {{
        let facts: &RequestFacts<'_> = $facts;
        tracing::event!(
            $level,
            $($field)*
            source_ip = facts.source_ip,
            delivery_id = facts.delivery_id,
            cold_start = facts.cold_start,
            function_request_id = facts.function_request_id,
            xray_trace_id = facts.xray_trace_id,
            function_name = facts.function_name,
            function_memory_size = facts.function_memory_size,
            service = facts.service,
            schedule = facts.schedule,
            schedule_name = facts.schedule_name,
            schedule_error = facts.schedule_error,
            "{}",
            $message
        )
    }};
}

macro_rules! decision_record {
    ($level:expr, $message:expr, $d:expr, $facts:expr) => {{
        let d: &Decided = $d;
        let employee = &d.employee;
        let account = &d.linked_account;
        record!(
            $level,
            $facts,
            $message,
            decision = d.verdict.decision.as_str(),
            reasons = join_reasons(&d.verdict.reasons).as_str(),
            event = d.event.as_str(),
            employee_id = employee.id.as_deref(),
            remote_id = employee.remote_id.as_deref(),
            employee_number = employee.employee_number.as_deref(),
            work_email = employee.work_email.as_deref(),
            username = employee.username.as_deref(),
            display_full_name = employee.display_full_name.as_deref(),
            employment_status = employee.employment_status.as_ref().map(|s| s.as_str()),
            termination_date = d.verdict.termination_date.map(to_rfc3339).as_deref(),
            effective_at = d.verdict.effective_at.map(to_rfc3339).as_deref(),
            termination_lag_seconds = d.termination_lag.map(as_seconds),
            sync_lag_seconds = d.sync_lag.map(as_seconds),
            linked_account_id = account.id.as_deref(),
            integration = account.integration_slug.as_deref(),
            end_user_organization_name = account.end_user_organization_name.as_deref(),
            signature_key = d.key.map(KeyUsed::as_str),
        )
    }};
}

/// Writes the one record for an authenticated delivery.
pub fn log_outcome(outcome: &Outcome, facts: &RequestFacts<'_>) {
    match outcome {
        Outcome::Decided(d) => match d.verdict.decision {
            Decision::Terminated => {
                decision_record!(Level::WARN, TERMINATED_MESSAGE, d, facts)
            }
            Decision::Undetermined => {
                let message = undetermined_message(&d.verdict.reasons);
                decision_record!(Level::WARN, message, d, facts)
            }
            Decision::Scheduled => decision_record!(Level::INFO, SCHEDULED_MESSAGE, d, facts),
            Decision::Active => decision_record!(Level::INFO, ACTIVE_MESSAGE, d, facts),
        },
        Outcome::Ignored {
            reason,
            event,
            linked_account,
            key,
        } => record!(
            Level::INFO,
            facts,
            IGNORED_MESSAGE,
            decision = "ignored",
            reasons = reason.as_str(),
            event = event.as_deref(),
            linked_account_id = linked_account.id.as_deref(),
            integration = linked_account.integration_slug.as_deref(),
            signature_key = key.as_str(),
        ),
    }
}

/// Writes the one record for a rejected request: the error code and request facts,
/// never payload content.
pub fn log_rejection(error: &RequestError, status: u16, facts: &RequestFacts<'_>) {
    record!(
        Level::WARN,
        facts,
        REJECTED_MESSAGE,
        decision = "rejected",
        error = error.code(),
        status = status,
        body_bytes = facts.body_bytes,
    );
}

/// Writes the one ERROR record for a decided delivery whose schedule could not be
/// changed: every decision field, so an operator can redo it by hand, and the error kind.
pub fn log_scheduling_failure(d: &Decided, facts: &RequestFacts<'_>) {
    decision_record!(Level::ERROR, SCHEDULING_FAILED_MESSAGE, d, facts)
}

/// Writes the record for an expiry schedule that fired.
pub fn log_expiry(document: &ScheduleDocument, facts: &RequestFacts<'_>) {
    record!(
        Level::INFO,
        facts,
        EXPIRY_MESSAGE,
        event = document.kind.as_str(),
        employee_id = document.employee_id.as_str(),
        linked_account_id = document.linked_account_id.as_deref(),
    );
}

/// Writes the ERROR record for an event that is not this function's.
pub fn log_unknown_event(error: &UnknownInput, facts: &RequestFacts<'_>) {
    record!(Level::ERROR, facts, UNKNOWN_EVENT_MESSAGE, error = %error,);
}

/// Writes the WARN record for a failed read of the key's secret: the AWS error code only.
pub fn log_secret_refresh_failure(code: &str, facts: &RequestFacts<'_>) {
    record!(
        Level::WARN,
        facts,
        SECRET_REFRESH_FAILED_MESSAGE,
        error = code,
    );
}
