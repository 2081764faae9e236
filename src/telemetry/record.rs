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
use crate::domain::ledger::EmployeeKey;
use crate::domain::schedule::UnknownInput;
use crate::domain::signature::KeyUsed;
use crate::domain::webhook::{Decided, Outcome};
use tracing::{self, Level};

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
/// Message of the ERROR record for a decided delivery the ledger could not record: it is
/// answered 503 so that Merge retries it.
pub const LEDGER_FAILED_MESSAGE: &str =
    "employee ledger not updated: delivery answered 503 for a retry";
/// Message of the INFO record for a historical termination: it took effect before the
/// account's baseline, for an employee the ledger never saw live. Recorded and counted,
/// never acted on but by a backfill.
pub const HISTORICAL_MESSAGE: &str = "employee terminated before the account's baseline: historical, access not revoked automatically";
/// Message of the INFO record for a terminated delivery of an employee the ledger
/// already holds as terminated: a retry, a replay or a later change. Nothing new to act on.
pub const ALREADY_TERMINATED_MESSAGE: &str = "employee already terminated: nothing new to revoke";
/// Message of the INFO record for a delivery of the version the ledger holds that decides
/// otherwise (a policy changed since): the ledger keeps what it has.
pub const REPLAY_MESSAGE: &str = "delivery already recorded: the ledger keeps its decision";
/// Message of the INFO record for a delivery older than what the ledger holds.
pub const STALE_MESSAGE: &str = "delivery older than the ledger: nothing changed";
/// Message of the INFO record for a timer that no longer matches the ledger.
pub const TIMER_OUTDATED_MESSAGE: &str =
    "timer outdated: the ledger no longer holds this termination";
/// Message of the ERROR record for a fired timer that could not be settled: the
/// invocation fails, so that Lambda retries it and then hands it to the on-failure
/// destination.
pub const TIMER_FAILED_MESSAGE: &str = "fired timer not settled: invocation failed for a retry";
/// Message of the ERROR record for a `scheduled` entry whose timer Scheduler refused as
/// invalid: no retry can set it, so an operator must.
pub const TIMER_REFUSED_MESSAGE: &str =
    "termination timer refused by Scheduler: the termination will not fire by itself";
/// Message of the record for an expiry schedule, set before the ledger existed, that fired.
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
    /// What the ledger did: `created`, `moved`, `updated`, `unchanged`, `stale`, `kept`
    /// or `outdated`.
    pub ledger: Option<&'a str>,
    /// The decision the ledger holds for the employee afterwards.
    pub ledger_decision: Option<&'a str>,
    /// When the employee's current termination took effect, per the ledger.
    pub terminated_at: Option<&'a str>,
    /// Why a ledger call failed.
    pub ledger_error: Option<&'a str>,
    /// Who made the change a decision record reports, when not a webhook
    /// (`reconciliation`).
    pub source: Option<&'a str>,
    /// True on the record of a historical termination (recorded, never acted on by
    /// itself), so that an alert on `decision = "terminated"` can leave it out.
    pub historical: Option<bool>,
}

pub use crate::domain::ledger::join_reasons;

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
            ledger = facts.ledger,
            ledger_decision = facts.ledger_decision,
            terminated_at = facts.terminated_at,
            ledger_error = facts.ledger_error,
            source = facts.source,
            historical = facts.historical,
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

/// How loud a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// INFO.
    Info,
    /// WARN: someone should look, or act.
    Warn,
    /// ERROR: this function failed at something.
    Error,
}

/// The level and message of a decision's record when nothing but the decision speaks:
/// with no ledger, or a ledger change that needs no other words.
pub fn decision_message(d: &Decided) -> (Severity, &'static str) {
    match d.verdict.decision {
        Decision::Terminated => (Severity::Warn, TERMINATED_MESSAGE),
        Decision::Undetermined => (Severity::Warn, undetermined_message(&d.verdict.reasons)),
        Decision::Scheduled => (Severity::Info, SCHEDULED_MESSAGE),
        Decision::Active => (Severity::Info, ACTIVE_MESSAGE),
    }
}

/// Writes the one record for a decided delivery or a fired timer, at `severity`, with
/// `message`: every decision field.
pub fn log_decision(
    severity: Severity,
    message: &'static str,
    d: &Decided,
    facts: &RequestFacts<'_>,
) {
    match severity {
        Severity::Info => decision_record!(Level::INFO, message, d, facts),
        Severity::Warn => decision_record!(Level::WARN, message, d, facts),
        Severity::Error => decision_record!(Level::ERROR, message, d, facts),
    }
}

/// Writes the one record for an authenticated delivery, as the decision alone says.
pub fn log_outcome(outcome: &Outcome, facts: &RequestFacts<'_>) {
    match outcome {
        Outcome::Decided(d) => {
            let (severity, message) = decision_message(d);
            log_decision(severity, message, d, facts);
        }
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

/// Writes the record for a fired event that changed nothing: a timer the ledger no
/// longer holds, or an expiry from before the ledger. Ids only.
pub fn log_fired_no_op(message: &'static str, key: &EmployeeKey, facts: &RequestFacts<'_>) {
    record!(
        Level::INFO,
        facts,
        message,
        employee_id = key.employee_id.as_str(),
        linked_account_id = key.linked_account(),
    );
}

/// Writes the ERROR record for a fired timer that could not be settled. Ids only: the
/// identity is in the ledger, which could not be read.
pub fn log_timer_failure(key: &EmployeeKey, facts: &RequestFacts<'_>) {
    record!(
        Level::ERROR,
        facts,
        TIMER_FAILED_MESSAGE,
        employee_id = key.employee_id.as_str(),
        linked_account_id = key.linked_account(),
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

/// Message of the record for a user deprovisioned (or that would be, in a dry run).
pub const DEPROVISIONED_MESSAGE: &str = "leaver deprovisioned in a SCIM target";
/// Message of the record for a dry run's finding.
pub const WOULD_DEPROVISION_MESSAGE: &str = "dry run: the leaver would be deprovisioned";
/// Message of the record for a leaver whose account was already inactive or gone.
pub const ALREADY_INACTIVE_MESSAGE: &str = "leaver's account already inactive: nothing changed";
/// Message of the WARN record for a leaver no user of the target matched.
pub const NOT_FOUND_MESSAGE: &str =
    "no user matched the leaver in a SCIM target: check the match rule";
/// Message of the WARN record for a search the server answered with users who are not
/// the leaver (it ignored or misread the filter): `not_found`, nothing changed.
pub const NOT_MATCHING_MESSAGE: &str =
    "the SCIM server returned a user that does not match the leaver: nothing changed";
/// Message of the ERROR record for a leaver more than one user matched.
pub const AMBIGUOUS_MESSAGE: &str =
    "more than one user matched the leaver: nothing changed, deprovision by hand";
/// Message of the WARN record for a leaver whose account is protected (the protected
/// list, or the user owning the target's token): nothing changed; `protected_by` says
/// which protection matched.
pub const PROTECTED_MESSAGE: &str =
    "leaver's account is protected: nothing changed, a person must decide";
/// Message of the ERROR record for a leaver whose match value another employee of the
/// linked account holds who is not terminated (a rehire under a new id, a new hire
/// given a freed address): nothing changed; `conflict_with` names that employee's
/// Merge id.
pub const CONFLICT_MESSAGE: &str = "another employee who is not terminated holds the leaver's match value: nothing changed, a person must decide";
/// Message of the WARN record for a deprovisioning the brake held.
pub const HELD_MESSAGE: &str =
    "deprovisioning held by the hourly brake: release it with merge-deprovision.release-held";
/// Message of the WARN record for a deprovisioning an operator's pause stopped.
pub const PAUSED_MESSAGE: &str =
    "deprovisioning paused by an operator: nothing changed, merge-deprovision.resume works it";
/// Message of the WARN record for a pause of deprovisioning: nothing changes in the
/// paused targets until a resume.
pub const PAUSE_MESSAGE: &str =
    "deprovisioning paused: nothing changes in the paused targets until merge-deprovision.resume";
/// Message of the INFO record for a resume of deprovisioning.
pub const RESUME_MESSAGE: &str = "deprovisioning resumed: paused work goes on under the brake";
/// Message of the INFO record for a preview of the release.
pub const PREVIEW_MESSAGE: &str = "release previewed: nothing changed";
/// Message of the ERROR record for a deprovisioning that failed.
pub const DEPROVISION_FAILED_MESSAGE: &str = "deprovisioning failed in a SCIM target";
/// Message of the WARN record for a rehire of a deprovisioned employee.
pub const REHIRE_MESSAGE: &str =
    "rehired employee's access was removed by deprovisioning: restore it by hand";

/// What one target's deprovisioning record says, beside the employee.
#[derive(Debug, Clone, Copy)]
pub struct DeprovisionFacts<'a> {
    /// The target's name.
    pub target: &'a str,
    /// The outcome, as the ledger names it.
    pub deprovision: &'a str,
    /// `dry-run` or `enforce`.
    pub mode: &'a str,
    /// `deactivate` or `delete`.
    pub action: &'a str,
    /// The employee field matched on.
    pub matched_on: &'a str,
    /// The endpoint's host, for a failure.
    pub scim_host: Option<&'a str>,
    /// Why it failed.
    pub scim_error: Option<&'a str>,
    /// The HTTP status of a refusal.
    pub scim_status: Option<u16>,
    /// Failed attempts so far, for this termination.
    pub attempts: Option<u32>,
    /// When the access was removed (a rehire's record).
    pub deprovisioned_at: Option<&'a str>,
    /// Which protection a `protected` account matched (`employee_id`, `work_email`,
    /// `username`, `remote_id`, `employee_number`, `scim_value`, `token_owner`), never
    /// the value.
    pub protected_by: Option<&'a str>,
    /// For `conflict`: the Merge id of the other employee holding the leaver's match
    /// value.
    pub conflict_with: Option<&'a str>,
}

macro_rules! deprovision_record {
    ($level:expr, $message:expr, $entry:expr, $d:expr, $facts:expr) => {{
        let entry: &crate::domain::ledger::Entry = $entry;
        let d: &DeprovisionFacts<'_> = $d;
        let identity = &entry.identity;
        record!(
            $level,
            $facts,
            $message,
            target = d.target,
            deprovision = d.deprovision,
            deprovision_mode = d.mode,
            deprovision_action = d.action,
            matched_on = d.matched_on,
            scim_host = d.scim_host,
            scim_error = d.scim_error,
            scim_status = d.scim_status,
            attempts = d.attempts,
            deprovisioned_at = d.deprovisioned_at,
            protected_by = d.protected_by,
            conflict_with = d.conflict_with,
            decision = entry.decision.as_str(),
            employee_id = entry.key.employee_id.as_str(),
            linked_account_id = entry.key.linked_account(),
            remote_id = identity.remote_id.as_deref(),
            employee_number = identity.employee_number.as_deref(),
            work_email = identity.work_email.as_deref(),
            username = identity.username.as_deref(),
            display_full_name = identity.display_full_name.as_deref(),
            integration = identity.integration.as_deref(),
            end_user_organization_name = identity.end_user_organization_name.as_deref(),
        )
    }};
}

/// Writes the one record of a target's deprovisioning (or a rehire's warning), at
/// `severity`: the employee's identity fields, the target and the outcome; the endpoint's
/// host on a failure, never the token.
pub fn log_deprovision(
    severity: Severity,
    message: &'static str,
    entry: &crate::domain::ledger::Entry,
    d: &DeprovisionFacts<'_>,
    facts: &RequestFacts<'_>,
) {
    match severity {
        Severity::Info => deprovision_record!(Level::INFO, message, entry, d, facts),
        Severity::Warn => deprovision_record!(Level::WARN, message, entry, d, facts),
        Severity::Error => deprovision_record!(Level::ERROR, message, entry, d, facts),
    }
}

/// Message of the INFO record of a user an undo re-activated.
pub const REACTIVATED_MESSAGE: &str =
    "undo: the user this function deactivated is active again in a SCIM target";
/// Message of the INFO record of a user an undo's dry run would re-activate.
pub const WOULD_REACTIVATE_MESSAGE: &str = "undo dry run: the user would be re-activated";
/// Message of the INFO record of an undo that found the user active already.
pub const ALREADY_ACTIVE_MESSAGE: &str = "undo: the user is active already: nothing changed";
/// Message of the WARN record of an undo that changed nothing in a target (the user is
/// gone, was deleted, was recorded without its id, the target is gone, or the brake held
/// it): the `undo` field says which.
pub const NOT_UNDONE_MESSAGE: &str =
    "undo: the user was not re-activated in a SCIM target: see `undo`";
/// Message of the ERROR record of an undo that failed in a target.
pub const UNDO_FAILED_MESSAGE: &str = "undo failed in a SCIM target";

/// What one target's undo record says, beside the employee.
#[derive(Debug, Clone, Copy)]
pub struct UndoFacts<'a> {
    /// The target's name.
    pub target: &'a str,
    /// The ending: `reactivated`, `would_reactivate`, `already_active`, `not_found`,
    /// `not_undoable`, `not_recorded`, `unknown_target`, `held` or `failed`.
    pub undo: &'a str,
    /// `employee`, `window` or `run`.
    pub scope: &'a str,
    /// The SCIM id of the user, as the ledger recorded it.
    pub scim_user_id: Option<&'a str>,
    /// When the change undone was made.
    pub deprovisioned_at: Option<&'a str>,
    /// The invocation that made it.
    pub deprovisioned_by_run: Option<&'a str>,
    /// Why it failed.
    pub scim_error: Option<&'a str>,
}

macro_rules! undo_record {
    ($level:expr, $message:expr, $key:expr, $identity:expr, $u:expr, $facts:expr) => {{
        let key: &EmployeeKey = $key;
        let identity: &crate::domain::ledger::Identity = $identity;
        let u: &UndoFacts<'_> = $u;
        record!(
            $level,
            $facts,
            $message,
            target = u.target,
            undo = u.undo,
            undo_scope = u.scope,
            scim_user_id = u.scim_user_id,
            deprovisioned_at = u.deprovisioned_at,
            deprovisioned_by_run = u.deprovisioned_by_run,
            scim_error = u.scim_error,
            employee_id = key.employee_id.as_str(),
            linked_account_id = key.linked_account(),
            remote_id = identity.remote_id.as_deref(),
            employee_number = identity.employee_number.as_deref(),
            work_email = identity.work_email.as_deref(),
            username = identity.username.as_deref(),
            display_full_name = identity.display_full_name.as_deref(),
        )
    }};
}

/// Writes the one record of a target's undo at `severity`: the employee's ids, the
/// target, the user's SCIM id and the ending; never a token.
pub fn log_undo(
    severity: Severity,
    message: &'static str,
    key: &EmployeeKey,
    identity: &crate::domain::ledger::Identity,
    u: &UndoFacts<'_>,
    facts: &RequestFacts<'_>,
) {
    match severity {
        Severity::Info => undo_record!(Level::INFO, message, key, identity, u, facts),
        Severity::Warn => undo_record!(Level::WARN, message, key, identity, u, facts),
        Severity::Error => undo_record!(Level::ERROR, message, key, identity, u, facts),
    }
}

pub use crate::domain::now::BY_HAND_REASONS;

/// Writes the `terminated` record of a termination a person made by hand (deprovision
/// now): the message and level of every termination, so whatever acts on it acts on
/// this one, with `source = "by_hand"` and the entry's identity.
pub fn log_by_hand_termination(
    entry: &crate::domain::ledger::Entry,
    event: &str,
    facts: &RequestFacts<'_>,
) {
    let identity = &entry.identity;
    let facts = RequestFacts {
        source: Some("by_hand"),
        ..*facts
    };
    record!(
        Level::WARN,
        &facts,
        TERMINATED_MESSAGE,
        decision = "terminated",
        reasons = BY_HAND_REASONS,
        event = event,
        employee_id = entry.key.employee_id.as_str(),
        linked_account_id = entry.key.linked_account(),
        remote_id = identity.remote_id.as_deref(),
        employee_number = identity.employee_number.as_deref(),
        work_email = identity.work_email.as_deref(),
        username = identity.username.as_deref(),
        display_full_name = identity.display_full_name.as_deref(),
        integration = identity.integration.as_deref(),
        end_user_organization_name = identity.end_user_organization_name.as_deref(),
        effective_at = entry.effective_at.map(to_rfc3339).as_deref(),
    );
}

/// Message of the record summing up one linked account's sweep, or its part in this
/// invocation.
pub const SWEEP_COMPLETED_MESSAGE: &str = "reconciliation sweep completed";
/// Message of the record of a sweep that ran out of time and continues in a follow-up.
pub const SWEEP_PAUSED_MESSAGE: &str =
    "reconciliation sweep paused: it continues in a follow-up invocation";
/// Message of the record of a sweep that found another one of the account under way.
pub const SWEEP_BUSY_MESSAGE: &str =
    "reconciliation sweep already running for the linked account: continued after it";
/// Message of the ERROR record of a sweep Merge refused (401 or 403): the account's token
/// or the API key must be fixed.
pub const SWEEP_UNAUTHORIZED_MESSAGE: &str = "reconciliation refused by Merge for the linked account: check its account token and the API key";
/// Message of the ERROR record of a sweep that failed otherwise.
pub const SWEEP_FAILED_MESSAGE: &str = "reconciliation sweep failed for the linked account";
/// Message of the WARN record of a linked account that the Merge API secret holds no
/// token for.
pub const SWEEP_UNKNOWN_ACCOUNT_MESSAGE: &str =
    "linked account not in the Merge API secret: nothing swept";
/// Message of the record of a sweep requested for later (a sync_completed webhook).
pub const SWEEP_REQUESTED_MESSAGE: &str = "reconciliation sweep requested for the linked account";
/// Message of the record of the recurring sweep fanning out, one schedule per account.
pub const SWEEP_FAN_OUT_MESSAGE: &str = "reconciliation fanned out: one sweep per linked account";
/// Message of the ERROR record of a reconcile document that is not this function's.
pub const SWEEP_INVALID_MESSAGE: &str = "reconcile document invalid: invocation failed";

/// What a sweep record says. Ids, counts and kinds only: never a token or an employee.
#[derive(Debug, Default, Clone, Copy)]
pub struct SweepFields<'a> {
    /// The linked account swept.
    pub linked_account_id: Option<&'a str>,
    /// `completed`, `paused`, `busy`, `unauthorized`, `failed`, `unknown_account`,
    /// `requested`, `pending` or `fanned_out`.
    pub outcome: &'a str,
    /// Pages read by the whole sweep.
    pub pages: Option<u64>,
    /// Employees read by the whole sweep.
    pub employees: Option<u64>,
    /// Changes by decision.
    pub terminated: Option<u64>,
    /// See `terminated`.
    pub scheduled: Option<u64>,
    /// See `terminated`.
    pub active: Option<u64>,
    /// See `terminated`.
    pub undetermined: Option<u64>,
    /// Historical terminations recorded (no change a webhook missed).
    pub historical: Option<u64>,
    /// Requests sent to Merge.
    pub requests: Option<u64>,
    /// Of those, answered 429.
    pub rate_limited: Option<u64>,
    /// How long this invocation swept, in milliseconds.
    pub duration_ms: Option<u64>,
    /// The watermark after the sweep.
    pub watermark: Option<&'a str>,
    /// What failed.
    pub error: Option<&'a str>,
    /// The HTTP status Merge answered.
    pub status: Option<u16>,
    /// Accounts scheduled, for a fan-out.
    pub accounts: Option<u64>,
}

macro_rules! sweep_record {
    ($level:expr, $message:expr, $f:expr, $facts:expr) => {{
        let f: &SweepFields<'_> = $f;
        record!(
            $level,
            $facts,
            $message,
            reconciliation = f.outcome,
            linked_account_id = f.linked_account_id,
            pages = f.pages,
            employees = f.employees,
            changed_terminated = f.terminated,
            changed_scheduled = f.scheduled,
            changed_active = f.active,
            changed_undetermined = f.undetermined,
            historical = f.historical,
            requests = f.requests,
            rate_limited = f.rate_limited,
            duration_ms = f.duration_ms,
            watermark = f.watermark,
            error = f.error,
            status = f.status,
            accounts = f.accounts,
        )
    }};
}

/// Writes one sweep record at `severity`.
pub fn log_sweep(
    severity: Severity,
    message: &'static str,
    fields: &SweepFields<'_>,
    facts: &RequestFacts<'_>,
) {
    match severity {
        Severity::Info => sweep_record!(Level::INFO, message, fields, facts),
        Severity::Warn => sweep_record!(Level::WARN, message, fields, facts),
        Severity::Error => sweep_record!(Level::ERROR, message, fields, facts),
    }
}

/// Message of the record of one target's check (`merge-deprovision.check-target`).
pub const TARGET_CHECKED_MESSAGE: &str = "SCIM target checked, read-only: nothing changed";

/// What one target's check record says: the host at most, never the token or the value.
#[derive(Debug, Clone, Copy)]
pub struct TargetCheckFacts<'a> {
    /// The target's name.
    pub target: &'a str,
    /// The base URL's host.
    pub scim_host: &'a str,
    /// Every step answered.
    pub ok: bool,
    /// Why a step failed (`unauthorized`, `unreachable`, `not_found` ...).
    pub scim_error: Option<&'a str>,
    /// A match value was checked (not only reachability and the token).
    pub with_value: bool,
    /// Users the search answered.
    pub found: Option<usize>,
    /// What deprovisioning would do (`deactivate`, `not_found`, `protected` ...).
    pub would: Option<&'a str>,
    /// The ledger's identity check: `not_checked`, `nobody_else`, `conflict`, `failed`.
    pub identity_check: &'a str,
    /// The linked account the document named.
    pub linked_account_id: Option<&'a str>,
}

/// Writes the INFO record of one target's check.
pub fn log_target_check(f: &TargetCheckFacts<'_>, facts: &RequestFacts<'_>) {
    record!(
        Level::INFO,
        facts,
        TARGET_CHECKED_MESSAGE,
        target = f.target,
        scim_host = f.scim_host,
        check_ok = f.ok,
        scim_error = f.scim_error,
        with_value = f.with_value,
        found = f.found,
        would = f.would,
        identity_check = f.identity_check,
        linked_account_id = f.linked_account_id,
    );
}
/// Message of the WARN record of an operator setting a linked account's local cutoff
/// (`merge-deprovision.cutoff`): from then on its date-only terminations take effect at
/// that local time.
pub const CUTOFF_SET_MESSAGE: &str = "account local cutoff set by an operator";
/// Message of the ERROR record of a cutoff document whose ledger read or write failed.
pub const CUTOFF_FAILED_MESSAGE: &str = "account local cutoff not read or set";
