//! One target's calls for one leaver, as steps: the protected list (before any call),
//! locate the leaver's filter, search, the guard on the account found (the list again,
//! and who owns the token, asked once per target and process), take the brake's slot,
//! change (deactivate, with one re-read after a 412, or delete), and give the slot back
//! when nothing changed. Each step ends in a value its caller matches; [`Attempt`] is
//! what the calls came to, before it is recorded.

use super::{BACKOFF, CALL_ATTEMPTS, Deprovisioner};
use crate::app::budget::Budget;
use crate::aws::ledger::{Ledger, LedgerError};
use crate::domain::deprovision::{
    Action, Authority, FoundUser, Guard, Leaver, Outcome, Pass, ProtectedList, Protection,
    ScimAttribute, Step, Target, Token, brake_window, conflict, for_leaver, leaver_in, normalised,
};
use crate::domain::ledger::{EmployeeKey, Entry};
use crate::scim::client::{Endpoint, ScimError};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

/// What one target's calls came to, before it is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Attempt {
    pub(super) outcome: Outcome,
    pub(super) error: Option<ScimError>,
    /// The brake's counter could not be read: nothing was changed, and a retry may pass.
    pub(super) brake_error: Option<LedgerError>,
    /// `not_found` because the server answered only users who are not the leaver.
    pub(super) not_matching: bool,
    /// `protected`: which protection the account matched.
    pub(super) protection: Option<Protection>,
    /// `conflict`: the Merge id of the other employee holding the leaver's match value.
    pub(super) conflict_with: Option<String>,
    /// The ledger's index could not say who shares the leaver's match value: nothing
    /// was searched or changed, and a retry may pass.
    pub(super) sharing_error: Option<LedgerError>,
    /// The operator's pause could not be read: nothing was searched or changed, and a
    /// retry may pass.
    pub(super) pause_error: Option<LedgerError>,
    /// `deactivated` or `deleted`: the SCIM id of the user changed, which the ledger
    /// keeps so that an undo gives back exactly this change.
    pub(super) user: Option<String>,
}

impl Attempt {
    /// Ended with `outcome`, without an error.
    pub(super) fn finished(outcome: Outcome) -> Self {
        Attempt {
            outcome,
            error: None,
            brake_error: None,
            not_matching: false,
            protection: None,
            conflict_with: None,
            sharing_error: None,
            pause_error: None,
            user: None,
        }
    }

    /// Changed the user `id` as `outcome` says.
    fn changed(outcome: Outcome, id: &str) -> Self {
        Attempt {
            user: Some(id.to_owned()),
            ..Attempt::finished(outcome)
        }
    }

    /// `protected`: nothing changed.
    pub(super) fn protected(protection: Protection) -> Self {
        Attempt {
            protection: Some(protection),
            ..Attempt::finished(Outcome::Protected)
        }
    }

    /// Failed with a SCIM error.
    pub(super) fn failed(error: ScimError) -> Self {
        Attempt {
            error: Some(error),
            ..Attempt::finished(Outcome::Failed)
        }
    }

    /// `not_found`: the server answered only users who are not the leaver.
    pub(super) fn not_matching() -> Self {
        Attempt {
            not_matching: true,
            ..Attempt::finished(Outcome::NotFound)
        }
    }

    /// `conflict`: `other` holds the leaver's match value, and nothing changed.
    pub(super) fn conflict(other: &EmployeeKey) -> Self {
        Attempt {
            conflict_with: Some(other.employee_id.clone()),
            ..Attempt::finished(Outcome::Conflict)
        }
    }

    /// `failed` without a SCIM error: the ledger's index could not be read.
    fn sharing_unreadable(error: LedgerError) -> Self {
        Attempt {
            sharing_error: Some(error),
            ..Attempt::finished(Outcome::Failed)
        }
    }

    /// `failed` without a SCIM error: the operator's pause could not be read.
    pub(super) fn pause_unreadable(error: LedgerError) -> Self {
        Attempt {
            pause_error: Some(error),
            ..Attempt::finished(Outcome::Failed)
        }
    }

    /// `failed` without a SCIM error: the brake's counter could not be read.
    fn brake_unreadable(error: LedgerError) -> Self {
        Attempt {
            brake_error: Some(error),
            ..Attempt::finished(Outcome::Failed)
        }
    }
}

/// Where and how the leaver is looked for in one target.
pub(crate) struct Search<'a> {
    /// The target's name and base URL, which its token owner is kept under.
    pub(super) name: String,
    pub(super) base_url: String,
    /// The target's protected list, which guards the account found.
    pub(super) protected: ProtectedList,
    pub(super) endpoint: Endpoint,
    pub(super) filter: String,
    pub(super) attribute: ScimAttribute,
    /// The leaver's value, which a found user must carry.
    pub(super) wanted: &'a str,
    pub(super) action: Action,
    /// Who asks: every pass of the stream and the release is automatic.
    pub(super) authority: Authority,
}

impl Search<'_> {
    fn guard(&self) -> Guard<'_> {
        Guard {
            list: &self.protected,
            authority: self.authority,
        }
    }
}

/// How locating the leaver in a target ended.
pub(crate) enum Located<'a> {
    /// The target's endpoint and the filter that finds the leaver.
    At(Box<Search<'a>>),
    /// The rule has no value for the leaver: nobody can be looked for (`not_found`).
    NoValue,
    /// The base URL does not read. Checked when the secret was read: unreachable in
    /// practice.
    BadBaseUrl,
}

/// Locates the leaver of `entry` in `target`.
pub(crate) fn locate<'a>(target: &Target, entry: &'a Entry) -> Located<'a> {
    let Ok(base) = crate::net::base_url(&target.base_url) else {
        return Located::BadBaseUrl;
    };
    let (Some(filter), Some(wanted)) = (
        target.rule.filter(&entry.identity),
        target.rule.value(&entry.identity),
    ) else {
        return Located::NoValue;
    };
    Located::At(Box::new(Search {
        name: target.name.clone(),
        base_url: target.base_url.clone(),
        protected: target.protected.clone(),
        endpoint: Endpoint {
            base,
            token: target.token.clone(),
        },
        filter,
        attribute: target.rule.attribute,
        wanted,
        action: target.action,
        authority: Authority::Automatic,
    }))
}

/// How a search ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Searched {
    /// Exactly one active user is the leaver: change it.
    Change(FoundUser),
    /// Nothing to change: the outcome is known (not found, ambiguous, already inactive,
    /// or a dry run's finding).
    Finished(Outcome),
    /// The server answered only users who are not the leaver.
    NotMatching,
    /// The leaver's account is protected.
    Protected(Protection),
    /// The search (or asking who owns the token) failed.
    Failed(ScimError),
}

/// Whether another employee holds the leaver's match value, as the ledger's index says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shared {
    /// Nobody else who is not terminated: the target may be worked.
    Alone,
    /// This employee of the same linked account, not terminated, holds it: `conflict`.
    With(EmployeeKey),
    /// The index could not be read: the attempt fails, and a retry asks again.
    Unknown(LedgerError),
}

/// How the brake answered for one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Brake {
    /// A slot was taken in this window (the hour's key): give it back if nothing changes.
    Taken(String),
    /// A release: the brake does not apply.
    NotApplied,
    /// Every change this hour allows is taken: `held` until a release.
    Held,
    /// The counter could not be read: change nothing, and let the stream retry.
    Unreadable(LedgerError),
}

impl Deprovisioner {
    /// As [`Deprovisioner::attempt`], after the identity check: when another employee of
    /// the leaver's linked account who is not terminated holds the leaver's match value
    /// for the target's rule, the outcome is `conflict` and the target is not searched
    /// or changed; when the ledger cannot say, the attempt fails (the stream retries).
    /// The protected list comes first, as in [`Deprovisioner::attempt`].
    pub(super) async fn checked_attempt(
        &self,
        ledger: &dyn Ledger,
        target: &Target,
        entry: &Entry,
        pass: Pass,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> Attempt {
        let guard = Guard {
            list: &target.protected,
            authority: pass.authority(),
        };
        if let Some(protection) = guard.leaver(&entry.key, &entry.identity) {
            return Attempt::protected(protection);
        }
        match shared(ledger, target, entry, budget).await {
            Shared::Alone => self.attempt(target, entry, pass, budget, now).await,
            Shared::With(other) => Attempt::conflict(&other),
            Shared::Unknown(error) => Attempt::sharing_unreadable(error),
        }
    }

    /// Finds the employee in `target` and, when exactly one active user matches, changes
    /// it (under the brake in a termination pass).
    pub(super) async fn attempt(
        &self,
        target: &Target,
        entry: &Entry,
        pass: Pass,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> Attempt {
        let guard = Guard {
            list: &target.protected,
            authority: pass.authority(),
        };
        if let Some(protection) = guard.leaver(&entry.key, &entry.identity) {
            return Attempt::protected(protection);
        }
        let search = match locate(target, entry) {
            Located::At(mut search) => {
                search.authority = pass.authority();
                search
            }
            Located::NoValue => return Attempt::finished(Outcome::NotFound),
            Located::BadBaseUrl => return Attempt::failed(ScimError::Malformed),
        };
        let user = match self.search(&search, budget).await {
            Searched::Change(user) => user,
            Searched::Finished(outcome) => return Attempt::finished(outcome),
            Searched::NotMatching => return Attempt::not_matching(),
            Searched::Protected(protection) => return Attempt::protected(protection),
            Searched::Failed(error) => return Attempt::failed(error),
        };
        let taken_in = match self.brake(pass, budget, now).await {
            Brake::Taken(window) => Some(window),
            Brake::NotApplied => None,
            Brake::Held => return Attempt::finished(Outcome::Held),
            Brake::Unreadable(error) => return Attempt::brake_unreadable(error),
        };
        // Every way out of the change passes the give-back below.
        let changed = self.change(&search, user, budget).await;
        if let Some(window) = taken_in.filter(|_| !changed.outcome.changed()) {
            self.give_back(&window, budget).await;
        }
        changed
    }

    /// Searches for the leaver, guards the account found (the protected list, then who
    /// owns the token), and reads the answer for the target's action and the mode.
    pub(super) async fn search(&self, search: &Search<'_>, budget: &Budget) -> Searched {
        match self.found(search, budget).await {
            Ok(found) => self.judged(search, &found, budget).await,
            Err(error) => Searched::Failed(error),
        }
    }

    /// The users the search's filter finds, retried within the budget: the first half
    /// of [`Deprovisioner::search`], which a check of a target also reports.
    pub(crate) async fn found(
        &self,
        search: &Search<'_>,
        budget: &Budget,
    ) -> Result<Vec<FoundUser>, ScimError> {
        let find = || {
            self.scim
                .find(&search.endpoint, &search.filter, search.attribute)
        };
        retrying(budget, find).await.0
    }

    /// What the users `found` mean for the leaver: the second half of
    /// [`Deprovisioner::search`] (which user is the leaver, the guard, the mode).
    pub(crate) async fn judged(
        &self,
        search: &Search<'_>,
        found: &[FoundUser],
        budget: &Budget,
    ) -> Searched {
        let user = match leaver_in(found, search.attribute, search.wanted) {
            Leaver::One(user) => user,
            Leaver::Done(outcome) => return Searched::Finished(outcome),
            Leaver::NotMatching => return Searched::NotMatching,
        };
        let guard = search.guard();
        let mut protection = guard.user(&user, search.attribute, None);
        if protection.is_none() {
            match self.owner(search, budget).await {
                Ok(owner) => protection = guard.user(&user, search.attribute, owner.as_deref()),
                Err(error) => return Searched::Failed(error),
            }
        }
        match for_leaver(user, protection, search.action, self.mode) {
            Step::Done(outcome) => Searched::Finished(outcome),
            Step::Protected(protection) => Searched::Protected(protection),
            Step::Change(user) => Searched::Change(user),
        }
    }

    /// The id of the user owning the target's token (`None`: the server cannot tell),
    /// asked once per target and process (again when its base URL or token changes). A
    /// failure is not kept: the attempt fails, and a retry asks again.
    async fn owner(
        &self,
        search: &Search<'_>,
        budget: &Budget,
    ) -> Result<Option<String>, ScimError> {
        if let Some(known) = self.owners.known(search) {
            return Ok(known);
        }
        let ask = || self.scim.owner(&search.endpoint);
        let owner = retrying(budget, ask).await.0?;
        self.owners.keep(search, owner.clone());
        Ok(owner)
    }

    /// Takes one of the hour's changes in a termination pass or a recheck; a release of
    /// held work, and one employee a person named (deprovision now), are past the brake.
    pub(super) async fn brake(&self, pass: Pass, budget: &Budget, now: DateTime<Utc>) -> Brake {
        if matches!(pass, Pass::Release | Pass::ByHand) {
            return Brake::NotApplied;
        }
        let expires = now + TimeDelta::hours(2);
        let window = brake_window(now);
        let taken = budget
            .run(self.store.take(&window, self.max_per_hour, expires))
            .await
            .unwrap_or(Err(LedgerError::TimedOut));
        match taken {
            Ok(true) => Brake::Taken(window),
            Ok(false) => Brake::Held,
            Err(error) => Brake::Unreadable(error),
        }
    }

    /// Changes `user` as the target's action says.
    async fn change(&self, search: &Search<'_>, user: FoundUser, budget: &Budget) -> Attempt {
        match search.action {
            Action::Delete => self.delete(search, &user, budget).await,
            Action::Deactivate => self.deactivate(search, user, budget).await,
        }
    }

    /// Deletes `user`.
    async fn delete(&self, search: &Search<'_>, user: &FoundUser, budget: &Budget) -> Attempt {
        let delete = || self.scim.delete(&search.endpoint, &user.id);
        match retrying(budget, delete).await.0 {
            Ok(()) => Attempt::changed(Outcome::Deleted, &user.id),
            // Gone meanwhile: the access is gone, not by this call.
            Err(ScimError::NotFound) => Attempt::finished(Outcome::AlreadyInactive),
            Err(error) => Attempt::failed(error),
        }
    }

    /// Sets `user` inactive. A 412 (the user changed since it was read) reads again and
    /// retries once, on the same account only.
    async fn deactivate(&self, search: &Search<'_>, user: FoundUser, budget: &Budget) -> Attempt {
        let mut user = user;
        for round in 0..2 {
            let patch = || self.scim.deactivate(&search.endpoint, &user);
            match retrying(budget, patch).await.0 {
                Ok(()) => return Attempt::changed(Outcome::Deactivated, &user.id),
                // Deleted meanwhile: counts as done.
                Err(ScimError::NotFound) => return Attempt::finished(Outcome::AlreadyInactive),
                Err(ScimError::PreconditionFailed) if round == 0 => {
                    match self.search(search, budget).await {
                        // The same account, at its new version.
                        Searched::Change(again) if again.id == user.id => user = again,
                        // Another account now carries the value (the address moved to a
                        // successor while the leaver's account changed): no telling
                        // which is the leaver's, so nothing is changed.
                        Searched::Change(_) => return Attempt::finished(Outcome::Ambiguous),
                        Searched::Finished(outcome) => return Attempt::finished(outcome),
                        Searched::NotMatching => return Attempt::not_matching(),
                        Searched::Protected(protection) => {
                            return Attempt::protected(protection);
                        }
                        Searched::Failed(error) => return Attempt::failed(error),
                    }
                }
                Err(error) => return Attempt::failed(error),
            }
        }
        Attempt::failed(ScimError::PreconditionFailed)
    }

    /// Gives back a slot taken in `window`: the brake counts changes, and nothing was
    /// changed (it failed, or there was nothing to change). A give-back that cannot be
    /// made leaves the count high, the safe side.
    async fn give_back(&self, window: &str, budget: &Budget) {
        let _ = budget.run(self.store.give_back(window)).await;
    }
}

/// Who else holds the leaver's value for `target`'s rule: one Query of the ledger's
/// index for the rule's field, bounded by the budget. No value: nobody can share it (the
/// attempt ends `not_found` without a search).
pub(crate) async fn shared(
    ledger: &dyn Ledger,
    target: &Target,
    entry: &Entry,
    budget: &Budget,
) -> Shared {
    let Some(value) = target.rule.value(&entry.identity).and_then(normalised) else {
        return Shared::Alone;
    };
    let account = &entry.key.linked_account_id;
    let answer = budget
        .run(ledger.sharing(account, target.rule.field, &value))
        .await
        .unwrap_or(Err(LedgerError::TimedOut));
    match answer {
        Ok(sharers) => match conflict(entry, &target.rule, &sharers) {
            Some(other) => Shared::With(other.key.clone()),
            None => Shared::Alone,
        },
        Err(error) => Shared::Unknown(error),
    }
}

/// Who owns each target's token, as `GET /Me` answered, per target name. No `Debug`:
/// it holds the tokens asked with.
#[derive(Default)]
pub(super) struct Owners(Mutex<BTreeMap<String, KnownOwner>>);

/// One target's answer, and the base URL and token it was for.
struct KnownOwner {
    base_url: String,
    token: Token,
    owner: Option<String>,
}

impl Owners {
    /// The answer kept for the search's target, while its base URL and token are those
    /// asked with.
    fn known(&self, search: &Search<'_>) -> Option<Option<String>> {
        let owners = self.0.lock().unwrap_or_else(|p| p.into_inner());
        owners
            .get(&search.name)
            .filter(|k| k.base_url == search.base_url && k.token == search.endpoint.token)
            .map(|k| k.owner.clone())
    }

    /// Keeps `owner` as the search's target's answer.
    fn keep(&self, search: &Search<'_>, owner: Option<String>) {
        let mut owners = self.0.lock().unwrap_or_else(|p| p.into_inner());
        owners.insert(
            search.name.clone(),
            KnownOwner {
                base_url: search.base_url.clone(),
                token: search.endpoint.token.clone(),
                owner,
            },
        );
    }
}

/// Runs a SCIM call, retrying 429 (after its `Retry-After`) and 5xx with backoff while
/// the budget allows.
pub(crate) async fn retrying<T, F, C>(budget: &Budget, mut call: F) -> (Result<T, ScimError>, u32)
where
    F: FnMut() -> C,
    C: Future<Output = Result<T, ScimError>>,
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
