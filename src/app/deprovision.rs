//! Carries out SCIM deprovisioning: for each employee the ledger moved into
//! `terminated` (a DynamoDB stream record), or whose deprovisioning waits for a release,
//! each covering target is handled on its own, under a share of the invocation's budget:
//! one filtered GET, then PATCH (or DELETE) by id, retried within the budget on 429
//! (honouring `Retry-After`) and 5xx. Each outcome is written into the ledger entry
//! (compare-and-swap), logged as one record and counted, and a target already settled
//! for this termination is skipped, so a retried batch never deprovisions twice.

use crate::app::budget::Budget;
use crate::app::cached_secret::{CachedSecret, Refresh};
use crate::app::settle::Effects;
use crate::aws::deprovisioning::DeprovisionStore;
use crate::aws::ledger::LedgerError;
use crate::aws::secrets::SecretSource;
use crate::aws::stream::Change as StreamChange;
use crate::domain::dates::to_rfc3339;
use crate::domain::decision::Decision;
use crate::domain::deprovision::{
    Action, Mode, Outcome, Pass, Step, Target, Targets, after_search, brake_window, may_record,
    parse_targets, pending, with_outcome,
};
use crate::domain::ledger::{Change, EmployeeKey, Entry, Transition};
use crate::scim::client::{Endpoint, Scim, ScimError};
use crate::telemetry::record::{
    ALREADY_INACTIVE_MESSAGE, AMBIGUOUS_MESSAGE, DEPROVISION_FAILED_MESSAGE, DEPROVISIONED_MESSAGE,
    DeprovisionFacts, HELD_MESSAGE, NOT_FOUND_MESSAGE, NOT_MATCHING_MESSAGE, RequestFacts,
    Severity, WOULD_DEPROVISION_MESSAGE, log_deprovision,
};
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::Arc;
use std::time::Duration;

/// The environment variable naming the targets secret, which a load error names.
pub const SCIM_TARGETS_SECRET_VAR: &str = "SCIM_TARGETS_SECRET_ID";

/// Attempts at one SCIM call when it answers 429 or 5xx (or not at all).
pub const CALL_ATTEMPTS: u32 = 3;
/// The first wait between attempts; doubled each time.
pub const BACKOFF: Duration = Duration::from_millis(200);
/// The stream's deliveries of one record: the first and the mapping's
/// `MaximumRetryAttempts` (5) retries. The attempt a target's `failed` count reaches
/// this with is the last the stream makes.
pub const STREAM_ATTEMPTS: u32 = 6;
/// Kept back from each target's share for writing its outcome into the ledger.
pub const LEDGER_SHARE: Duration = Duration::from_millis(600);

/// The targets secret as the edge reads it: the domain's shape, and each `base_url`
/// checked by the rule every outside call follows (`net::base_url`).
pub fn read_targets(text: &str) -> Result<Targets, String> {
    let targets = parse_targets(text)?;
    for (index, target) in targets.0.iter().enumerate() {
        crate::net::base_url(&target.base_url)
            .map_err(|e| format!("target {} ({}): `base_url` {e}", index + 1, target.name))?;
    }
    Ok(targets)
}

/// SCIM deprovisioning's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeprovisionConfig {
    /// The targets secret's name or ARN.
    pub secret_id: String,
    /// How old the targets may get before they are read again (the key's setting).
    pub refresh_after: Option<TimeDelta>,
    /// Dry run or enforce.
    pub mode: Mode,
    /// Changes allowed per UTC hour before the brake holds the rest.
    pub max_per_hour: u32,
}

/// What deprovisioning needs: the targets (from their secret, refreshed like the key),
/// the SCIM client, its bookkeeping, the mode and the brake's limit.
pub struct Deprovisioner {
    targets: CachedSecret<Targets>,
    scim: Arc<dyn Scim>,
    store: Arc<dyn DeprovisionStore>,
    mode: Mode,
    max_per_hour: u32,
    /// The CloudWatch namespace of its metrics: the function's.
    pub namespace: String,
}

impl Deprovisioner {
    /// Reads the targets secret at init. The error names the variable and the problem
    /// (the AWS code, or which target and field), never a value.
    pub async fn load(
        config: &DeprovisionConfig,
        source: Arc<dyn SecretSource>,
        scim: Arc<dyn Scim>,
        store: Arc<dyn DeprovisionStore>,
        now: DateTime<Utc>,
    ) -> Result<Self, String> {
        let targets = CachedSecret::load(
            source,
            &config.secret_id,
            config.refresh_after,
            now,
            read_targets,
        )
        .await
        .map_err(|error| format!("{SCIM_TARGETS_SECRET_VAR}: {error}"))?;
        Ok(Deprovisioner {
            targets,
            scim,
            store,
            mode: config.mode,
            max_per_hour: config.max_per_hour,
            namespace: crate::telemetry::metrics::DEFAULT_METRICS_NAMESPACE.to_owned(),
        })
    }

    /// Dry run or enforce.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The targets, read again first when they have aged (bounded by the budget; the
    /// cached ones serve when the read fails).
    async fn current(
        &self,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> (Arc<Targets>, Option<Refresh>) {
        budget
            .run(self.targets.current(now))
            .await
            .unwrap_or_else(|_| {
                (
                    self.targets.cached(),
                    Some(Refresh::Failed("TimedOut".into())),
                )
            })
    }
}

/// One target's outcome, as the invocation reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// Whose.
    pub key: EmployeeKey,
    /// The target's name.
    pub target: String,
    /// What it came to.
    pub outcome: Outcome,
    /// Why it failed.
    pub error: Option<ScimError>,
}

impl Done {
    /// True when a later attempt may succeed, so the stream should retry the record: a
    /// transient SCIM failure, or none (the brake's counter could not be read).
    pub fn retry(&self) -> bool {
        self.outcome == Outcome::Failed && self.error.as_ref().is_none_or(ScimError::is_transient)
    }
}

/// What one employee's deprovisioning came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Worked {
    /// Each target handled.
    pub done: Vec<Done>,
    /// The ledger or the bookkeeping failed: the work must be tried again.
    pub ledger_error: Option<LedgerError>,
    /// Work still waits for a release (held, or failed).
    pub waiting: bool,
}

impl Worked {
    /// True when the stream should deliver the record again.
    pub fn retry(&self) -> bool {
        self.ledger_error.is_some() || self.done.iter().any(Done::retry)
    }
}

/// True when a failure counts in `DeprovisionFailures` (which pages): one no retry can
/// fix (a refused token, a rejected call), or one nothing will retry (the stream's last
/// attempt, or a release's). A transient failure the stream retries only counts in
/// `Deprovisioned{Outcome=failed}`.
fn pages(attempt: &Attempt, pass: Pass, attempts: Option<u32>) -> bool {
    if attempt.outcome != Outcome::Failed {
        return false;
    }
    let retried = attempt.error.as_ref().is_none_or(ScimError::is_transient);
    !retried || pass == Pass::Release || attempts.unwrap_or(0) >= STREAM_ATTEMPTS
}

/// Runs a SCIM call, retrying 429 (after its `Retry-After`) and 5xx with backoff while
/// the budget allows.
async fn retrying<T, F>(budget: &Budget, mut call: F) -> (Result<T, ScimError>, u32)
where
    F: FnMut() -> crate::scim::client::BoxFuture<'static, Result<T, ScimError>>,
{
    let mut wait = BACKOFF;
    for attempt in 1..=CALL_ATTEMPTS {
        let answer = budget.run(call()).await.unwrap_or(Err(ScimError::TimedOut));
        match answer {
            Err(error) if error.is_transient() && attempt < CALL_ATTEMPTS => {
                let pause = match &error {
                    ScimError::RateLimited {
                        retry_after: Some(asked),
                    } => *asked,
                    _ => wait,
                };
                // A wait the budget cannot afford ends here: the stream retries later.
                if pause + BACKOFF >= budget.left() {
                    return (Err(error), attempt);
                }
                tokio::time::sleep(pause).await;
                wait *= 2;
            }
            other => return (other, attempt),
        }
    }
    (Err(ScimError::TimedOut), CALL_ATTEMPTS)
}

/// What one target's calls came to, before it is recorded.
struct Attempt {
    outcome: Outcome,
    error: Option<ScimError>,
    /// The brake's counter could not be read: nothing was changed, and a retry may pass.
    brake_error: Option<LedgerError>,
    /// `not_found` because the server answered only users who are not the leaver.
    not_matching: bool,
}

fn finished(outcome: Outcome) -> Attempt {
    Attempt {
        outcome,
        error: None,
        brake_error: None,
        not_matching: false,
    }
}

fn failed(error: ScimError) -> Attempt {
    Attempt {
        outcome: Outcome::Failed,
        error: Some(error),
        brake_error: None,
        not_matching: false,
    }
}

fn not_matching() -> Attempt {
    Attempt {
        not_matching: true,
        ..finished(Outcome::NotFound)
    }
}

impl Deprovisioner {
    /// Finds the employee in `target` and, when exactly one active user matches, changes
    /// it (under the brake in a termination pass).
    async fn attempt(
        &self,
        target: &Target,
        entry: &Entry,
        pass: Pass,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> Attempt {
        let Ok(base) = crate::net::base_url(&target.base_url) else {
            // Checked when the secret was read: unreachable in practice.
            return failed(ScimError::Malformed);
        };
        let endpoint = Arc::new(Endpoint {
            base,
            token: target.token.clone(),
        });
        let (Some(filter), Some(wanted)) = (
            target.rule.filter(&entry.identity),
            target.rule.value(&entry.identity),
        ) else {
            return finished(Outcome::NotFound);
        };
        let attribute = target.rule.attribute;
        let filter = Arc::new(filter);
        let find = || {
            let (scim, endpoint, filter) = (self.scim.clone(), endpoint.clone(), filter.clone());
            let call: crate::scim::client::BoxFuture<'static, _> =
                Box::pin(async move { scim.find(&endpoint, &filter, attribute).await });
            call
        };
        let found = match retrying(budget, find).await.0 {
            Ok(found) => found,
            Err(error) => return failed(error),
        };
        let user = match after_search(&found, attribute, wanted, target.action, self.mode) {
            Step::Done(outcome) => return finished(outcome),
            Step::NotMatching => return not_matching(),
            Step::Change(user) => user,
        };
        let mut taken_in = None;
        if pass == Pass::Termination {
            let expires = now + TimeDelta::hours(2);
            let window = brake_window(now);
            let taken = budget
                .run(self.store.take(&window, self.max_per_hour, expires))
                .await
                .unwrap_or(Err(LedgerError::TimedOut));
            match taken {
                Ok(true) => taken_in = Some(window),
                Ok(false) => return finished(Outcome::Held),
                // The brake cannot be read: change nothing, and let the stream retry.
                Err(error) => {
                    return Attempt {
                        brake_error: Some(error),
                        ..finished(Outcome::Failed)
                    };
                }
            }
        }
        // In a block of its own, so every way out passes the brake's give-back below.
        let changed = async {
            match target.action {
                Action::Delete => {
                    let id = Arc::new(user.id.clone());
                    let delete = || {
                        let (scim, endpoint, id) =
                            (self.scim.clone(), endpoint.clone(), id.clone());
                        let call: crate::scim::client::BoxFuture<'static, _> =
                            Box::pin(async move { scim.delete(&endpoint, &id).await });
                        call
                    };
                    match retrying(budget, delete).await.0 {
                        Ok(()) => finished(Outcome::Deleted),
                        // Gone meanwhile: the access is gone, not by this call.
                        Err(ScimError::NotFound) => finished(Outcome::AlreadyInactive),
                        Err(error) => failed(error),
                    }
                }
                Action::Deactivate => {
                    let mut user = user;
                    // A 412 (the user changed since it was read) reads again and retries once.
                    for round in 0..2 {
                        let patched = Arc::new(user.clone());
                        let patch = || {
                            let (scim, endpoint, user) =
                                (self.scim.clone(), endpoint.clone(), patched.clone());
                            let call: crate::scim::client::BoxFuture<'static, _> =
                                Box::pin(async move { scim.deactivate(&endpoint, &user).await });
                            call
                        };
                        match retrying(budget, patch).await.0 {
                            Ok(()) => return finished(Outcome::Deactivated),
                            // Deleted meanwhile: counts as done.
                            Err(ScimError::NotFound) => return finished(Outcome::AlreadyInactive),
                            Err(ScimError::PreconditionFailed) if round == 0 => {
                                let again = match retrying(budget, find).await.0 {
                                    Ok(found) => found,
                                    Err(error) => return failed(error),
                                };
                                match after_search(
                                    &again,
                                    attribute,
                                    wanted,
                                    target.action,
                                    self.mode,
                                ) {
                                    Step::Done(outcome) => return finished(outcome),
                                    Step::NotMatching => return not_matching(),
                                    Step::Change(changed) => user = changed,
                                }
                            }
                            Err(error) => return failed(error),
                        }
                    }
                    failed(ScimError::PreconditionFailed)
                }
            }
        }
        .await;
        if let Some(window) = taken_in.filter(|_| !changed.outcome.changed()) {
            // Nothing was changed (it failed, or there was nothing to change): the
            // brake counts changes, so the slot goes back. A give-back that cannot be
            // made leaves the count high, the safe side.
            let _ = budget.run(self.store.give_back(&window)).await;
        }
        changed
    }

    /// Deprovisions `key`'s current termination in every covering target that still owes
    /// it (in `pass`), each under its share of the budget, and records each outcome.
    pub async fn work(
        &self,
        effects: &Effects,
        key: &EmployeeKey,
        pass: Pass,
        facts: &RequestFacts<'_>,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> (Worked, Vec<String>) {
        let mut worked = Worked::default();
        let mut lines = Vec::new();
        let entry = match budget
            .run(effects.ledger.get(key))
            .await
            .unwrap_or(Err(LedgerError::TimedOut))
        {
            Ok(Some(entry)) if entry.decision == Decision::Terminated => entry,
            // Rehired (or never terminated) before the work ran: nothing is owed.
            Ok(_) => return (worked, lines),
            Err(error) => {
                worked.ledger_error = Some(error);
                return (worked, lines);
            }
        };
        let (targets, refresh) = self.current(budget, now).await;
        if let Some(Refresh::Failed(code)) = &refresh {
            tracing::warn!(
                error = code.as_str(),
                function_request_id = facts.function_request_id,
                service = facts.service,
                "SCIM targets secret could not be read again: the cached targets stay"
            );
        }
        let owed = pending(&entry, &targets, pass, self.mode);
        if owed.is_empty() {
            return (worked, lines);
        }
        // Listed for the release before any SCIM call, so a process that dies on every
        // attempt (its record dead-lettered, no outcome written) still leaves a trace the
        // release finds.
        let seen = match self.note(key, budget).await {
            Ok(seen) => seen,
            Err(error) => {
                worked.ledger_error = Some(error);
                return (worked, lines);
            }
        };
        let mut latest = entry.clone();
        for (index, target) in owed.iter().enumerate() {
            // Each target gets an equal share of what is left, so a slow one cannot hold
            // back the next.
            let share = budget.left() / u32::try_from(owed.len() - index).unwrap_or(u32::MAX);
            let own = Budget::of(share.saturating_sub(LEDGER_SHARE));
            let attempt = self.attempt(target, &entry, pass, &own, now).await;
            match self
                .record(effects, &entry, &target.name, attempt.outcome, budget, now)
                .await
            {
                Ok(Some(written)) => latest = written,
                Ok(None) => {}
                Err(error) => worked.ledger_error = Some(error),
            }
            let attempts = latest
                .deprovisioning
                .get(&target.name)
                .map(|d| d.attempts)
                .filter(|n| *n > 0);
            log_outcome(target, &entry, &attempt, self.mode, attempts, facts);
            lines.push(crate::telemetry::metrics::deprovision_line(
                &self.namespace,
                attempt.outcome.as_str(),
                pages(&attempt, pass, attempts),
                crate::telemetry::metrics::Properties {
                    service: facts.service,
                    function_request_id: facts.function_request_id,
                    delivery_id: None,
                },
                now,
            ));
            worked.done.push(Done {
                key: key.clone(),
                target: target.name.clone(),
                outcome: attempt.outcome,
                error: attempt.error,
            });
        }
        // In enforce's terms, so a dry run's findings are listed for the release that
        // carries them out once the mode is `enforce`.
        worked.waiting = !pending(&latest, &targets, Pass::Release, Mode::Enforce).is_empty();
        if !worked.waiting && worked.ledger_error.is_none() {
            // Nothing owed any more. A failed removal only leaves a note the next
            // release takes off, so it is no reason to retry.
            let _ = self.unnote(key, seen, budget).await;
        }
        (worked, lines)
    }

    /// Writes `outcome` for `target` into the entry, if it still holds the termination
    /// worked on and `may_record` allows it (a settled outcome is never overwritten);
    /// reads and checks again when another write came first.
    async fn record(
        &self,
        effects: &Effects,
        worked_on: &Entry,
        target: &str,
        outcome: Outcome,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> Result<Option<Entry>, LedgerError> {
        let termination = worked_on.terminated_at;
        let plan = |stored: Option<&Entry>| match stored {
            Some(stored)
                if stored.decision == Decision::Terminated
                    && stored.terminated_at == termination
                    && may_record(stored, target, outcome, self.mode) =>
            {
                Transition {
                    write: Some(with_outcome(stored, target, outcome, now)),
                    change: Change::Updated,
                }
            }
            _ => Transition {
                write: None,
                change: Change::Outdated,
            },
        };
        match effects
            .write_planned(&worked_on.key, plan, None, budget, now)
            .await
        {
            Ok(settled) => Ok(settled.transition.write),
            Err(crate::app::settle::Unsettled::Ledger(error)) => Err(error),
            Err(crate::app::settle::Unsettled::Timer(_)) => Err(LedgerError::Unreachable),
        }
    }

    /// Notes `key` as waiting for a release; answers the note's count.
    pub async fn note(&self, key: &EmployeeKey, budget: &Budget) -> Result<u64, LedgerError> {
        budget
            .run(self.store.wait(key))
            .await
            .unwrap_or(Err(LedgerError::TimedOut))
    }

    /// Takes `key` off the waiting list, unless it was noted again since the count
    /// `seen` (work that waits again meanwhile keeps its note).
    pub async fn unnote(
        &self,
        key: &EmployeeKey,
        seen: u64,
        budget: &Budget,
    ) -> Result<(), LedgerError> {
        budget
            .run(self.store.done(key, seen))
            .await
            .unwrap_or(Err(LedgerError::TimedOut))
    }

    /// Every employee noted as waiting, with its note's count.
    pub async fn waiting(&self, budget: &Budget) -> Result<Vec<(EmployeeKey, u64)>, LedgerError> {
        budget
            .run(self.store.waiting())
            .await
            .unwrap_or(Err(LedgerError::TimedOut))
    }
}

fn log_outcome(
    target: &Target,
    entry: &Entry,
    attempt: &Attempt,
    mode: Mode,
    attempts: Option<u32>,
    facts: &RequestFacts<'_>,
) {
    let (severity, message) = match attempt.outcome {
        Outcome::Deactivated | Outcome::Deleted => (Severity::Info, DEPROVISIONED_MESSAGE),
        Outcome::WouldDeactivate | Outcome::WouldDelete => {
            (Severity::Info, WOULD_DEPROVISION_MESSAGE)
        }
        Outcome::AlreadyInactive => (Severity::Info, ALREADY_INACTIVE_MESSAGE),
        Outcome::NotFound if attempt.not_matching => (Severity::Warn, NOT_MATCHING_MESSAGE),
        Outcome::NotFound => (Severity::Warn, NOT_FOUND_MESSAGE),
        Outcome::Held => (Severity::Warn, HELD_MESSAGE),
        Outcome::Ambiguous => (Severity::Error, AMBIGUOUS_MESSAGE),
        Outcome::Failed => (Severity::Error, DEPROVISION_FAILED_MESSAGE),
    };
    let host = crate::net::base_url(&target.base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned));
    let status = match &attempt.error {
        Some(ScimError::Unauthorized { status, .. }) => Some(*status),
        Some(ScimError::Server(status)) => Some(*status),
        Some(ScimError::Rejected { status, .. }) => Some(*status),
        Some(ScimError::RateLimited { .. }) => Some(429),
        Some(ScimError::PreconditionFailed) => Some(412),
        _ => None,
    };
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
        scim_status: status,
        attempts,
        deprovisioned_at: None,
    };
    let facts = RequestFacts {
        ledger_error: attempt.brake_error.as_ref().map(LedgerError::kind),
        ..*facts
    };
    log_deprovision(severity, message, entry, &d, &facts);
}

/// The record a rehire of a deprovisioned employee owes: one WARN per target whose
/// access this function removed, with the date. Nothing is reactivated.
pub fn warn_rehire(stored: Option<&Entry>, after: Option<&Entry>, facts: &RequestFacts<'_>) {
    let Some(after) = after else {
        return;
    };
    for removed in crate::domain::deprovision::removed_before_rehire(stored, Some(after)) {
        let at = to_rfc3339(removed.at);
        let d = DeprovisionFacts {
            target: &removed.target,
            deprovision: removed.outcome.as_str(),
            mode: Mode::Enforce.as_str(),
            action: if removed.outcome == Outcome::Deleted {
                "delete"
            } else {
                "deactivate"
            },
            matched_on: "",
            scim_host: None,
            scim_error: None,
            scim_status: None,
            attempts: None,
            deprovisioned_at: Some(&at),
        };
        log_deprovision(
            Severity::Warn,
            crate::telemetry::record::REHIRE_MESSAGE,
            after,
            &d,
            facts,
        );
    }
}

/// The keys a stream batch's records ask to deprovision, with their sequence numbers;
/// records that are no move into `terminated` (the mapping's filter should have dropped
/// them) are skipped.
pub fn stream_work(changes: &[StreamChange]) -> Vec<(String, EmployeeKey)> {
    changes
        .iter()
        // An image this version cannot read is worked all the same: the entry, read
        // consistently, decides whether anything is owed.
        .filter(|c| c.enters_terminated() || c.new.is_none())
        .filter_map(|c| Some((c.sequence_number.clone(), c.key.clone()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(sequence: &str, new: Option<Decision>, old: Option<Decision>) -> StreamChange {
        use crate::domain::ledger::{Identity, Observation, Source, transition};
        let entry = |decision| {
            let observation = Observation {
                key: EmployeeKey::new(Some("acme"), sequence),
                decision,
                reasons: String::new(),
                termination_date: None,
                effective_at: None,
                version: None,
                removal: false,
                identity: Identity::default(),
                source: Source::Webhook,
                delivery_id: None,
            };
            transition(None, &observation, chrono::Utc::now())
                .write
                .unwrap()
        };
        StreamChange {
            sequence_number: sequence.to_owned(),
            key: Some(EmployeeKey::new(Some("acme"), sequence)),
            old: old.map(entry),
            new: new.map(entry),
        }
    }

    #[test]
    fn a_batch_works_moves_into_terminated_and_images_it_cannot_read() {
        let changes = [
            change("1", Some(Decision::Terminated), None),
            change("2", Some(Decision::Terminated), Some(Decision::Terminated)),
            change("3", Some(Decision::Active), Some(Decision::Terminated)),
            change("4", None, Some(Decision::Active)),
        ];
        let keys: Vec<String> = stream_work(&changes).into_iter().map(|(s, _)| s).collect();
        assert_eq!(keys, ["1", "4"]);
    }

    #[test]
    fn a_targets_secret_with_plain_http_to_a_remote_host_is_refused_naming_the_target() {
        let text = r#"{"targets": [{"name": "wiki", "base_url": "http://wiki.example.com/scim", "token": "t"}]}"#;
        let problem = read_targets(text).err().unwrap();
        assert!(
            problem.starts_with("target 1 (wiki): `base_url` must be https://"),
            "{problem}"
        );
        let loopback = r#"{"targets": [{"name": "wiki", "base_url": "http://127.0.0.1:8765/v2", "token": "t"}]}"#;
        assert!(read_targets(loopback).is_ok());
    }
}
