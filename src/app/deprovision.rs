//! Carries out SCIM deprovisioning: for each employee the ledger moved into
//! `terminated` (a DynamoDB stream record), or whose deprovisioning waits for a release,
//! each covering target is handled on its own, under a share of the invocation's budget:
//! one filtered GET, then PATCH (or DELETE) by id, retried within the budget on 429
//! (honouring `Retry-After`) and 5xx. Each outcome is written into the ledger entry
//! (compare-and-swap), logged as one record and counted, and a target already settled
//! for this termination is skipped, so a retried batch never deprovisions twice.
//! One target's calls are steps in `attempt`, one employee's work a driver over steps in
//! `work`, and what each outcome tells (record, metric) is in `report`.

pub(crate) mod attempt;
mod pause;
mod report;
mod work;

pub(crate) use attempt::retrying;
pub use pause::PAUSE_FRESH;

#[cfg(test)]
mod tests;

use crate::app::budget::Budget;
use crate::app::cached_secret::{CachedSecret, Refresh};
use crate::aws::deprovisioning::DeprovisionStore;
use crate::aws::ledger::LedgerError;
use crate::aws::secrets::SecretSource;
use crate::aws::stream::Change as StreamChange;
use crate::domain::dates::to_rfc3339;
use crate::domain::deprovision::{Mode, Outcome, Targets, parse_targets};
use crate::domain::ledger::{EmployeeKey, Entry};
use crate::scim::client::{Scim, ScimError};
use crate::telemetry::record::{DeprovisionFacts, RequestFacts, Severity, log_deprovision};
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
    /// Who owns each target's token (`GET /Me`), asked once per process.
    owners: attempt::Owners,
    /// The operator's pause, as last read.
    paused: pause::PauseCache,
    /// The CloudWatch namespace of its metrics: the function's.
    pub namespace: String,
    /// `ACCESS_REMOVAL_SLA`: each removal of access is measured against it in the
    /// dashboard's SLA view.
    pub access_removal_sla: chrono::TimeDelta,
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
            owners: attempt::Owners::default(),
            paused: pause::PauseCache::default(),
            namespace: crate::telemetry::metrics::DEFAULT_METRICS_NAMESPACE.to_owned(),
            access_removal_sla: chrono::TimeDelta::hours(crate::domain::report::DEFAULT_SLA_HOURS),
        })
    }

    /// Dry run or enforce.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The SCIM client, for an undo's calls.
    pub(crate) fn scim(&self) -> &dyn Scim {
        self.scim.as_ref()
    }

    /// Takes one of the hour's changes for a change a person asked for under the brake
    /// (an undo's re-activation): the window it was taken in, `None` when the brake
    /// holds it.
    pub(crate) async fn take_slot(
        &self,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, LedgerError> {
        match self
            .brake(crate::domain::deprovision::Pass::Recheck, budget, now)
            .await
        {
            attempt::Brake::Taken(window) => Ok(Some(window)),
            attempt::Brake::Held | attempt::Brake::NotApplied => Ok(None),
            attempt::Brake::Unreadable(error) => Err(error),
        }
    }

    /// Gives back a slot [`Deprovisioner::take_slot`] took: nothing was changed.
    pub(crate) async fn return_slot(&self, window: &str, budget: &Budget) {
        let _ = budget.run(self.store.give_back(window)).await;
    }

    /// The targets, read again first when they have aged (bounded by the budget; the
    /// cached ones serve when the read fails).
    pub(crate) async fn current(
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
    /// The termination worked on stopped standing while its targets were worked (a
    /// rehire, or another termination): the targets after it were not worked.
    pub stopped: bool,
}

impl Worked {
    /// True when the stream should deliver the record again.
    pub fn retry(&self) -> bool {
        self.ledger_error.is_some() || self.done.iter().any(Done::retry)
    }
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
            protected_by: None,
            conflict_with: None,
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
        // A historical termination waits for a backfill: nothing for the stream to do.
        .filter(|c| !c.new.as_ref().is_some_and(|n| n.historical))
        .filter_map(|c| Some((c.sequence_number.clone(), c.key.clone()?)))
        .collect()
}
