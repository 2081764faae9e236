//! An undo (`merge-deprovision.undo`): the users this function deactivated, as the
//! ledger recorded them (one employee, one account's changes in a window, or one run's),
//! listed in a dry run, or re-activated one after another under the hourly brake. Each
//! user is read by its recorded SCIM id first (already active, or gone, changes
//! nothing), then set active with `If-Match` (one re-read after a `412`); a
//! re-activation is kept in the entry as `reactivated`, final for that termination.
//! A person's act naming what to change: it does not wait for anything automatic.

use crate::app::budget::Budget;
use crate::app::deprovision::{Deprovisioner, retrying};
use crate::app::settle::{Effects, Unsettled};
use crate::app::stream::MIN_WORK;
use crate::aws::ledger::LedgerError;
use crate::domain::deprovision::{Mode, Targets};
use crate::domain::evidence::operator;
use crate::domain::ledger::{Change, Entry, Identity, Transition};
use crate::domain::undo::{Scope, UndoDocument, Undoable, Undone, chosen, plan, with_reactivated};
use crate::scim::client::{Endpoint, ScimError};
use crate::telemetry::record::RequestFacts;
use chrono::{DateTime, Utc};

/// How an undo ended.
#[derive(Debug)]
pub enum Undid {
    /// The ledger or deprovisioning is off: there is nothing recorded to undo.
    Off,
    /// Asked to act while `DEPROVISION_MODE` is `dry-run`: refused; the document's own
    /// dry run lists.
    DryRunMode,
    /// The ledger could not be read: nothing was done.
    Unread(LedgerError),
    /// The dry run: what would be re-activated (and what cannot be), nothing changed.
    Listed(Vec<TargetUndo>),
    /// Worked as far as the budget allowed.
    Worked {
        /// Each change looked at, with what it came to.
        done: Vec<TargetUndo>,
        /// Changes the budget did not reach: an undo sent again takes them.
        remaining: usize,
    },
}

/// One change an undo looked at, and what it came to.
#[derive(Debug, Clone)]
pub struct TargetUndo {
    /// The change, as the ledger recorded it.
    pub undoable: Undoable,
    /// Who the employee is, for the record.
    pub identity: Identity,
    /// What it came to.
    pub undone: Undone,
    /// Why the target failed.
    pub error: Option<ScimError>,
    /// Why the ledger (or the brake's counter) failed.
    pub ledger_error: Option<LedgerError>,
}

/// Undoes what `document` names: lists it in a dry run, otherwise re-activates it.
pub async fn undo(
    effects: Option<&Effects>,
    deprovisioner: Option<&Deprovisioner>,
    document: &UndoDocument,
    facts: &RequestFacts<'_>,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Undid {
    let (Some(effects), Some(deprovisioner)) = (effects, deprovisioner) else {
        return Undid::Off;
    };
    if !document.dry_run && deprovisioner.mode() == Mode::DryRun {
        return Undid::DryRunMode;
    }
    let entries = match read(effects, &document.scope, budget).await {
        Ok(entries) => entries,
        Err(error) => return Undid::Unread(error),
    };
    let identity = |u: &Undoable| {
        entries
            .iter()
            .find(|e| e.key == u.key)
            .map(|e| e.identity.clone())
            .unwrap_or_default()
    };
    let found = chosen(&entries, document);
    let (targets, _) = deprovisioner.current(budget, now).await;
    let ended = |u: &Undoable, undone: Undone| TargetUndo {
        undoable: u.clone(),
        identity: identity(u),
        undone,
        error: None,
        ledger_error: None,
    };
    if document.dry_run {
        let listed = found
            .iter()
            .map(|u| ended(u, listed(u, &targets)))
            .collect();
        return Undid::Listed(listed);
    }
    let mut done = Vec::with_capacity(found.len());
    let mut remaining = 0;
    for u in &found {
        if budget.left() < MIN_WORK {
            remaining += 1;
            continue;
        }
        let mut worked = ended(u, Undone::Failed);
        let step = Step {
            deprovisioner,
            effects,
            targets: &targets,
            facts,
            budget,
            now,
        };
        step.work(u, &mut worked).await;
        done.push(worked);
    }
    let summary = format!("{} changes worked, {remaining} left", done.len());
    let account = Some(document.scope.linked_account_id());
    let fact = operator(account, "undo", &summary, facts.function_request_id, now);
    effects.note_operator(fact, budget).await;
    Undid::Worked { done, remaining }
}

/// The entries the scope looks through: the employee's entry (read consistently), or
/// the account's entries holding outcomes (one partition's Query).
async fn read(
    effects: &Effects,
    scope: &Scope,
    budget: &Budget,
) -> Result<Vec<Entry>, LedgerError> {
    let read = match scope {
        Scope::Employee(key) => budget
            .run(effects.ledger.get(key))
            .await
            .map(|answer| answer.map(|entry| entry.into_iter().collect())),
        _ => {
            let account = scope.linked_account_id();
            budget.run(effects.ledger.deprovisioned(account)).await
        }
    };
    read.unwrap_or(Err(LedgerError::TimedOut))
}

/// What a dry run says of a change: what acting would try.
fn listed(u: &Undoable, targets: &Targets) -> Undone {
    match plan(u) {
        Err(ending) => ending,
        Ok(_) if !targets.0.iter().any(|t| t.name == u.target) => Undone::UnknownTarget,
        Ok(_) => Undone::WouldReactivate,
    }
}

/// What every change's work shares.
struct Step<'a> {
    deprovisioner: &'a Deprovisioner,
    effects: &'a Effects,
    targets: &'a Targets,
    facts: &'a RequestFacts<'a>,
    budget: &'a Budget,
    now: DateTime<Utc>,
}

/// How reading the user before the change ended.
enum Read {
    /// Inactive, at this version: re-activate it.
    Inactive(crate::domain::deprovision::FoundUser),
    /// Nothing to change: the ending is known.
    Ended(Undone, Option<ScimError>),
}

impl Step<'_> {
    /// Works one change: the plan, the target, the read, the brake, the change, the
    /// ledger.
    async fn work(&self, u: &Undoable, worked: &mut TargetUndo) {
        let id = match plan(u) {
            Ok(id) => id,
            Err(ending) => {
                worked.undone = ending;
                return;
            }
        };
        let Some(endpoint) = self.endpoint(&u.target) else {
            worked.undone = Undone::UnknownTarget;
            return;
        };
        let user = match self.read(&endpoint, id).await {
            Read::Inactive(user) => user,
            Read::Ended(ending, error) => {
                worked.undone = ending;
                worked.error = error;
                if ending == Undone::AlreadyActive {
                    worked.ledger_error = self.record(u).await;
                }
                return;
            }
        };
        let window = match self.deprovisioner.take_slot(self.budget, self.now).await {
            Ok(Some(window)) => window,
            Ok(None) => {
                worked.undone = Undone::Held;
                return;
            }
            Err(error) => {
                worked.ledger_error = Some(error);
                return;
            }
        };
        let (ending, error) = self.reactivate(&endpoint, user).await;
        if ending != Undone::Reactivated {
            self.deprovisioner.return_slot(&window, self.budget).await;
        }
        worked.undone = ending;
        worked.error = error;
        if matches!(ending, Undone::Reactivated | Undone::AlreadyActive) {
            worked.ledger_error = self.record(u).await;
        }
    }

    /// The target's endpoint, while the targets secret still holds it.
    fn endpoint(&self, name: &str) -> Option<Endpoint> {
        let target = self.targets.0.iter().find(|t| t.name == name)?;
        Some(Endpoint {
            base: crate::net::base_url(&target.base_url).ok()?,
            token: target.token.clone(),
        })
    }

    /// Reads the user by its recorded id.
    async fn read(&self, endpoint: &Endpoint, id: &str) -> Read {
        let scim = self.deprovisioner.scim();
        match retrying(self.budget, || scim.read_user(endpoint, id))
            .await
            .0
        {
            Ok(user) if user.active == Some(false) => Read::Inactive(user),
            Ok(user) if user.active == Some(true) => Read::Ended(Undone::AlreadyActive, None),
            // A server that leaves `active` out says nothing of it: the ledger must not
            // record access given back that may not have been.
            Ok(_) => Read::Ended(Undone::Failed, Some(ScimError::Malformed)),
            Err(ScimError::NotFound) => Read::Ended(Undone::NotFound, None),
            Err(error) => Read::Ended(Undone::Failed, Some(error)),
        }
    }

    /// Sets the user active. A `412` (changed since it was read) reads again and
    /// retries once.
    async fn reactivate(
        &self,
        endpoint: &Endpoint,
        user: crate::domain::deprovision::FoundUser,
    ) -> (Undone, Option<ScimError>) {
        let scim = self.deprovisioner.scim();
        let mut user = user;
        for round in 0..2 {
            match retrying(self.budget, || scim.reactivate(endpoint, &user))
                .await
                .0
            {
                Ok(()) => return (Undone::Reactivated, None),
                Err(ScimError::NotFound) => return (Undone::NotFound, None),
                Err(ScimError::PreconditionFailed) if round == 0 => {
                    match self.read(endpoint, &user.id).await {
                        Read::Inactive(again) => user = again,
                        Read::Ended(ending, error) => return (ending, error),
                    }
                }
                Err(error) => return (Undone::Failed, Some(error)),
            }
        }
        (Undone::Failed, Some(ScimError::PreconditionFailed))
    }

    /// Keeps the change's undoing in the entry (`reactivated`), unless the entry no
    /// longer holds the change; the ledger's failure, if any.
    async fn record(&self, u: &Undoable) -> Option<LedgerError> {
        let run = self.facts.function_request_id;
        let now = self.now;
        let plan =
            |stored: Option<&Entry>| match stored.and_then(|s| with_reactivated(s, u, run, now)) {
                Some(write) => Transition {
                    write: Some(write),
                    change: Change::Updated,
                },
                None => Transition {
                    write: None,
                    change: Change::Outdated,
                },
            };
        match self
            .effects
            .write_planned(&u.key, plan, None, self.budget, now)
            .await
        {
            Ok(_) => None,
            Err(Unsettled::Ledger(error)) => Some(error),
            Err(Unsettled::Timer(_)) => Some(LedgerError::Unreachable),
        }
    }
}
