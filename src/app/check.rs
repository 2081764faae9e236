//! The check of a target (`merge-deprovision.check-target`), read-only: for one target
//! or every target, the real path's steps as far as they only read (locate the value's
//! filter, search, which user is the leaver, the protected list and the token's owner,
//! the ledger's identity check), each target on its own share of the budget. It never
//! deactivates, deletes, takes the brake's slot or writes the ledger.

use crate::app::budget::Budget;
use crate::app::deprovision::Deprovisioner;
use crate::app::deprovision::attempt::{Located, Searched, Shared, locate, shared};
use crate::aws::ledger::{Ledger, LedgerError};
use crate::domain::backfill::scoped;
use crate::domain::check::{
    CheckDocument, PROBE_VALUE, Seen, Would, leaver_of, protected_value, seen, verdict,
};
use crate::domain::deprovision::{Action, MatchRule, Mode, Target};
use crate::domain::ledger::Entry;
use crate::scim::client::ScimError;
use chrono::{DateTime, Utc};

/// How a check ended.
#[derive(Debug)]
pub enum Checked {
    /// Deprovisioning is off: there is no target to check.
    Off,
    /// No target of the secret has the name the document gave.
    UnknownTarget,
    /// Each target's answer, in the secret's order.
    Checked {
        /// Dry run or enforce: what a leaver's deprovisioning would do now.
        mode: Mode,
        /// The targets checked.
        targets: Vec<TargetCheck>,
    },
}

/// What one target's check found.
#[derive(Debug)]
pub struct TargetCheck {
    /// The target's name.
    pub name: String,
    /// The base URL's host (never the token).
    pub host: String,
    /// What the target does to a leaver's account.
    pub action: Action,
    /// How it finds one.
    pub rule: MatchRule,
    /// The filter the rule builds for the value; `None` without a value.
    pub filter: Option<String>,
    /// What the search answered: the users (for the value, or for a value nobody has).
    pub search: Result<Found, ScimError>,
    /// What deprovisioning would do, with a value; an error when asking who owns the
    /// token failed.
    pub would: Option<Result<Would, ScimError>>,
    /// Whether the ledger shows another live employee holding the value.
    pub identity: IdentityCheck,
}

impl TargetCheck {
    /// True when every step answered.
    pub fn ok(&self) -> bool {
        self.search.is_ok()
            && !matches!(self.would, Some(Err(_)))
            && !matches!(self.identity, IdentityCheck::Failed(_))
    }

    /// The first error: the search's, or asking who owns the token.
    pub fn error(&self) -> Option<&ScimError> {
        match (&self.search, &self.would) {
            (Err(error), _) | (Ok(_), Some(Err(error))) => Some(error),
            _ => None,
        }
    }
}

/// The users a search answered.
#[derive(Debug)]
pub struct Found {
    /// Each user sent.
    pub users: Vec<Seen>,
    /// The server holds more than it sent.
    pub more: bool,
}

/// The ledger's identity check for the value.
#[derive(Debug)]
pub enum IdentityCheck {
    /// Not asked: no value, no `linked_account_id`, no ledger, or something before it
    /// decides (the account is not covered, the value is protected).
    NotChecked,
    /// Nobody else who is not terminated holds the value.
    Alone,
    /// This employee (Merge id) of the account, not terminated, holds it: `conflict`.
    With(String),
    /// The ledger's index could not be read.
    Failed(LedgerError),
}

/// Checks the targets `document` names, reading only.
pub async fn check(
    deprovisioner: Option<&Deprovisioner>,
    ledger: Option<&dyn Ledger>,
    document: &CheckDocument,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Checked {
    let Some(deprovisioner) = deprovisioner else {
        return Checked::Off;
    };
    let (targets, _) = deprovisioner.current(budget, now).await;
    let Some(scope) = scoped(&targets, document.target.as_deref()) else {
        return Checked::UnknownTarget;
    };
    let mut checked = Vec::with_capacity(scope.0.len());
    for (index, target) in scope.0.iter().enumerate() {
        // Each target gets an equal share of what is left, so a slow one cannot hold
        // up the others' answers.
        let share = budget.left() / u32::try_from(scope.0.len() - index).unwrap_or(u32::MAX);
        let own = Budget::of(share);
        checked.push(check_one(deprovisioner, ledger, target, document, &own).await);
    }
    Checked::Checked {
        mode: deprovisioner.mode(),
        targets: checked,
    }
}

/// One target's check: the search, then (with a value) the verdict.
async fn check_one(
    deprovisioner: &Deprovisioner,
    ledger: Option<&dyn Ledger>,
    target: &Target,
    document: &CheckDocument,
    budget: &Budget,
) -> TargetCheck {
    let value = document.value.as_deref();
    let leaver = leaver_of(
        target,
        value.unwrap_or(PROBE_VALUE),
        document.linked_account_id.as_deref(),
    );
    let mut check = TargetCheck {
        name: target.name.clone(),
        host: crate::net::base_url(&target.base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default(),
        action: target.action,
        rule: target.rule,
        filter: value.and_then(|_| target.rule.filter(&leaver.identity)),
        search: Err(ScimError::Malformed),
        would: None,
        identity: IdentityCheck::NotChecked,
    };
    // The value is never blank and the base URL was checked when the secret was read.
    let Located::At(search) = locate(target, &leaver) else {
        return check;
    };
    let found = match deprovisioner.found(&search, budget).await {
        Ok(found) => found,
        Err(error) => {
            check.search = Err(error);
            return check;
        }
    };
    let wanted = target.rule.value(&leaver.identity).unwrap_or_default();
    let (users, more) = seen(&found, target.rule.attribute, wanted);
    check.search = Ok(Found { users, more });
    if value.is_none() {
        return check;
    }
    let covered = document.linked_account_id.is_none() || target.covers(&leaver.key);
    let protected = protected_value(target, &leaver);
    if covered && protected.is_none() {
        check.identity = identity(ledger, target, &leaver, document, budget).await;
    }
    let conflict_with = match &check.identity {
        IdentityCheck::With(other) => Some(other.clone()),
        _ => None,
    };
    let searched = if !covered || protected.is_some() || conflict_with.is_some() {
        // Decided before the search, as on the real path: nothing more is asked.
        Ok(Would::NotFound)
    } else {
        match deprovisioner.judged(&search, &found, budget).await {
            Searched::Change(_) => Ok(Would::of_action(target.action)),
            Searched::Finished(outcome) => {
                Ok(Would::of_outcome(outcome).unwrap_or(Would::Ambiguous))
            }
            Searched::NotMatching => Ok(Would::NotMatching),
            Searched::Protected(protection) => Ok(Would::Protected(protection)),
            Searched::Failed(error) => Err(error),
        }
    };
    check.would = Some(searched.map(|w| verdict(covered, protected, conflict_with.as_deref(), w)));
    check
}

/// The ledger's identity check, when the document names the account and there is a
/// ledger: the real path's one Query of the match index.
async fn identity(
    ledger: Option<&dyn Ledger>,
    target: &Target,
    leaver: &Entry,
    document: &CheckDocument,
    budget: &Budget,
) -> IdentityCheck {
    let (Some(ledger), Some(_)) = (ledger, document.linked_account_id.as_ref()) else {
        return IdentityCheck::NotChecked;
    };
    match shared(ledger, target, leaver, budget).await {
        Shared::Alone => IdentityCheck::Alone,
        Shared::With(other) => IdentityCheck::With(other.employee_id),
        Shared::Unknown(error) => IdentityCheck::Failed(error),
    }
}
