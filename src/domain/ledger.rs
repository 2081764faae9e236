//! The employee ledger's transitions, as pure functions of (what is stored, what came in,
//! now): which entry to write, if any, and what the change means.
//!
//! The ledger holds one entry per employee: the current decision, the Employee's
//! `modified_at` it was decided from (the version), and the identity a deprovisioner
//! needs. It is what makes order, retries and replays irrelevant:
//!
//! - a delivery is applied only if its version is newer than the stored one;
//! - the `terminated` record downstream acts on is written only when an entry *moves*
//!   into `terminated`, once per termination;
//! - a timer (a one-time schedule) exists only while an entry says `scheduled`, and a
//!   firing terminates only if the entry still says `scheduled` for the timer's version.
//!
//! Writes are compare-and-swap on the entry's `revision`, so concurrent deliveries for one
//! employee are serialised by the store and each plan is made against what it replaces.

use crate::domain::decision::{Decision, Reason};
use crate::domain::envelope::Action;
use crate::domain::outcome::DeprovisioningMap;
use crate::domain::webhook::Decided;
use chrono::{DateTime, TimeDelta, Utc};

/// The partition key value for an employee whose delivery named no linked account:
/// a key attribute cannot be empty, and Merge's ids are UUIDs, so this never collides.
pub const NO_LINKED_ACCOUNT: &str = "-";

/// Which employee an entry is about: Merge's linked account id and employee id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EmployeeKey {
    /// The linked account id, or [`NO_LINKED_ACCOUNT`].
    pub linked_account_id: String,
    /// Merge's employee id.
    pub employee_id: String,
}

impl EmployeeKey {
    /// The key for `employee_id` in `linked_account_id` (none: [`NO_LINKED_ACCOUNT`]).
    pub fn new(linked_account_id: Option<&str>, employee_id: &str) -> Self {
        EmployeeKey {
            linked_account_id: linked_account_id
                .filter(|id| !id.is_empty())
                .unwrap_or(NO_LINKED_ACCOUNT)
                .to_owned(),
            employee_id: employee_id.to_owned(),
        }
    }

    /// The linked account id, `None` for [`NO_LINKED_ACCOUNT`].
    pub fn linked_account(&self) -> Option<&str> {
        Some(self.linked_account_id.as_str()).filter(|id| *id != NO_LINKED_ACCOUNT)
    }
}

/// What last changed an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A Merge webhook delivery.
    Webhook,
    /// A timer that fired.
    Schedule,
    /// A sweep of Merge's API.
    Reconciliation,
    /// A person, by hand (`merge-deprovision.deprovision-now`), ahead of HR.
    ByHand,
}

impl Source {
    /// The name stored and logged.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Webhook => "webhook",
            Source::Schedule => "schedule",
            Source::Reconciliation => "reconciliation",
            Source::ByHand => "by_hand",
        }
    }

    /// The source a stored name means.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "webhook" => Some(Source::Webhook),
            "schedule" => Some(Source::Schedule),
            "reconciliation" => Some(Source::Reconciliation),
            "by_hand" => Some(Source::ByHand),
            _ => None,
        }
    }
}

/// The identity fields a deprovisioner needs. Never a sensitive field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The HR system's id.
    pub remote_id: Option<String>,
    /// The employee number.
    pub employee_number: Option<String>,
    /// Work e-mail.
    pub work_email: Option<String>,
    /// Username.
    pub username: Option<String>,
    /// Display name.
    pub display_full_name: Option<String>,
    /// The integration slug.
    pub integration: Option<String>,
    /// The customer organisation.
    pub end_user_organization_name: Option<String>,
}

impl Identity {
    /// This identity, with each field it lacks taken from `older`: a delivery that
    /// omits a field does not erase what the ledger knew.
    fn or(self, older: &Identity) -> Identity {
        let keep = |new: Option<String>, old: &Option<String>| new.or_else(|| old.clone());
        Identity {
            remote_id: keep(self.remote_id, &older.remote_id),
            employee_number: keep(self.employee_number, &older.employee_number),
            work_email: keep(self.work_email, &older.work_email),
            username: keep(self.username, &older.username),
            display_full_name: keep(self.display_full_name, &older.display_full_name),
            integration: keep(self.integration, &older.integration),
            end_user_organization_name: keep(
                self.end_user_organization_name,
                &older.end_user_organization_name,
            ),
        }
    }
}

/// One employee's entry, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Whose entry.
    pub key: EmployeeKey,
    /// The current decision.
    pub decision: Decision,
    /// Its reasons, comma-separated as records carry them.
    pub reasons: String,
    /// The termination date, when one was read.
    pub termination_date: Option<DateTime<Utc>>,
    /// When the termination takes or took effect.
    pub effective_at: Option<DateTime<Utc>>,
    /// The rule that made `effective_at` (a local cutoff, the date's own time), from the
    /// observation that set it; `None` when unknown (an entry written before it was kept,
    /// a timer set before the ledger existed).
    pub effective_rule: Option<String>,
    /// The Employee's `modified_at` this was decided from; `None` sorts before every
    /// instant.
    pub version: Option<DateTime<Utc>>,
    /// What last changed the entry.
    pub changed_by: Source,
    /// The delivery id of the webhook that last changed it.
    pub delivery_id: Option<String>,
    /// When the ledger first saw the employee.
    pub first_seen: DateTime<Utc>,
    /// When the entry was last written.
    pub updated_at: DateTime<Utc>,
    /// When the current termination took effect here (the move into `terminated`).
    pub terminated_at: Option<DateTime<Utc>>,
    /// Who the employee is.
    pub identity: Identity,
    /// Incremented by every write: the compare-and-swap token.
    pub revision: u64,
    /// For a `terminated` entry: whether its `terminated` record was written. The move
    /// and the record cannot be one atomic step, so the entry remembers, and a
    /// termination whose record was lost is announced later (see [`announcement_due`]).
    /// Always true for other decisions: nothing is owed.
    pub announced: bool,
    /// Which write this is: unique to the invocation that made it, so that reading an
    /// entry back tells this invocation's write from an identical one made by another
    /// (two copies of one delivery at once plan the same entry).
    pub written_by: String,
    /// Per SCIM target: what deprovisioning the current (or last) termination came to.
    /// Kept across later writes, so a retry never deprovisions twice and a rehire knows
    /// what was taken away.
    pub deprovisioning: DeprovisioningMap,
    /// The current termination is historical: it took effect before the account's
    /// baseline, for an employee the ledger never saw live
    /// ([`is_historical`](crate::domain::baseline::is_historical)). Recorded, counted,
    /// never announced for revocation nor deprovisioned but by a backfill.
    pub historical: bool,
    /// When, and from which source, the function first learned of the current (or
    /// pending) termination: set by the move into `scheduled` or `terminated` from
    /// anything else, kept while the entry stays in either, cleared when it leaves
    /// ([`learned_after`]). `None` for any other decision.
    pub learned: Option<Learned>,
}

/// When the function first learned of a termination, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Learned {
    /// When.
    pub at: DateTime<Utc>,
    /// Which source told it.
    pub by: Source,
}

/// True for the decisions that hold a termination, pending or past.
fn holds_termination(decision: Decision) -> bool {
    matches!(decision, Decision::Scheduled | Decision::Terminated)
}

/// What `written` knows of when its termination was first learned, given what it
/// replaces: kept from `stored` while the entry stays `scheduled` or `terminated`
/// (a stored entry without it, written before it was kept, counts its own move),
/// this write's own time and source when it moves into either from anything else, and
/// nothing once it leaves them.
pub fn learned_after(stored: Option<&Entry>, written: &Entry) -> Option<Learned> {
    if !holds_termination(written.decision) {
        return None;
    }
    match stored {
        Some(stored) if holds_termination(stored.decision) => {
            Some(stored.learned.unwrap_or(Learned {
                at: stored.terminated_at.unwrap_or(stored.updated_at),
                by: stored.changed_by,
            }))
        }
        _ => Some(Learned {
            at: written.updated_at,
            by: written.changed_by,
        }),
    }
}

/// What a delivery (or a sweep) says about an employee, ready to compare with the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Whose.
    pub key: EmployeeKey,
    /// The decision taken on it.
    pub decision: Decision,
    /// Its reasons, comma-separated.
    pub reasons: String,
    /// The termination date, when read.
    pub termination_date: Option<DateTime<Utc>>,
    /// When the termination takes or took effect.
    pub effective_at: Option<DateTime<Utc>>,
    /// The rule that made `effective_at`.
    pub effective_rule: Option<String>,
    /// The Employee's readable `modified_at`.
    pub version: Option<DateTime<Utc>>,
    /// True for `Employee.removed` (or `deleted`).
    pub removal: bool,
    /// Who the employee is.
    pub identity: Identity,
    /// Where it came from.
    pub source: Source,
    /// The webhook's delivery id.
    pub delivery_id: Option<String>,
}

/// Comma-separated reasons, as records and the ledger carry them.
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

impl Observation {
    /// What a decided webhook delivery says; `None` without an employee id, which no
    /// entry can be keyed by.
    pub fn from_decided(decided: &Decided, delivery_id: Option<&str>) -> Option<Self> {
        let employee = &decided.employee;
        let account = &decided.linked_account;
        let employee_id = employee.id.as_deref().filter(|id| !id.is_empty())?;
        // An empty field says nothing: it neither erases what the ledger knows nor is
        // stored (DynamoDB would keep it, but the item leaves it out).
        let field = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
        Some(Observation {
            key: EmployeeKey::new(account.id.as_deref(), employee_id),
            decision: decided.verdict.decision,
            reasons: join_reasons(&decided.verdict.reasons),
            termination_date: decided.verdict.termination_date,
            effective_at: decided.verdict.effective_at,
            effective_rule: decided.verdict.effective_rule.clone(),
            version: decided.version(),
            removal: decided.action == Action::Removed,
            identity: Identity {
                remote_id: field(&employee.remote_id),
                employee_number: field(&employee.employee_number),
                work_email: field(&employee.work_email),
                username: field(&employee.username),
                display_full_name: field(&employee.display_full_name),
                integration: field(&account.integration_slug),
                end_user_organization_name: field(&account.end_user_organization_name),
            },
            source: Source::Webhook,
            delivery_id: delivery_id.map(str::to_owned),
        })
    }
}

/// What a transition did to the employee's entry, as records name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The first entry for the employee.
    Created,
    /// The decision changed from the one given.
    Moved(Decision),
    /// A newer version with the same decision.
    Updated,
    /// The same version as stored: a retry or a replay.
    Unchanged,
    /// Older than what is stored, which stays.
    Stale,
    /// A newer `undetermined` delivery did not replace a pending or past termination:
    /// an unreadable date is no reason to keep a leaver's access.
    Kept,
    /// A timer that fired no longer matches the entry: nothing to do.
    Outdated,
}

impl Change {
    /// The name in records.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Moved(_) => "moved",
            Change::Updated => "updated",
            Change::Unchanged => "unchanged",
            Change::Stale => "stale",
            Change::Kept => "kept",
            Change::Outdated => "outdated",
        }
    }
}

/// A planned transition: the entry to write (compare-and-swap against the stored
/// revision), if any, and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The entry to write, with its revision one past the stored one.
    pub write: Option<Entry>,
    /// What it changes.
    pub change: Change,
}

impl Transition {
    /// The entry as it stands after the transition: the written one, or the stored one.
    pub fn result<'a>(&'a self, stored: Option<&'a Entry>) -> Option<&'a Entry> {
        self.write.as_ref().or(stored)
    }

    /// True when the transition moves the employee into `terminated`: the one time the
    /// `terminated` record is written for this termination.
    pub fn enters_terminated(&self, stored: Option<&Entry>) -> bool {
        self.write
            .as_ref()
            .is_some_and(|w| enters_current(stored, w))
    }

    /// True when the transition records a historical termination: the first write that
    /// holds it, the one time its `historical` record is written.
    pub fn enters_historical(&self, stored: Option<&Entry>) -> bool {
        self.write.as_ref().is_some_and(|w| w.historical) && stored.is_none_or(|s| !s.historical)
    }
}

/// True when `written` over `stored` moves the employee into a current termination: into
/// `terminated` from anything else, or from a historical termination to a current one
/// (a corrected date). The one write whose `terminated` record is owed, whose waiting
/// note is made with it, and whose stream record deprovisioning acts on.
pub fn enters_current(stored: Option<&Entry>, written: &Entry) -> bool {
    written.decision == Decision::Terminated
        && !written.historical
        && stored.is_none_or(|s| s.decision != Decision::Terminated || s.historical)
}

/// The smallest step between versions: a bare removal is ordered just after what is
/// stored when the clock says otherwise.
const VERSION_STEP: TimeDelta = TimeDelta::microseconds(1);

/// Plans what an observation does to the stored entry at `now`.
///
/// Ordering: a readable `modified_at` is the version, and only a newer one changes the
/// entry; the same one is a replay, except that a `scheduled` entry whose date has come
/// moves into `terminated` on it, as its timer would. Two exceptions:
/// - `Employee.removed` with the stored version, or with none, ends employment: unless
///   the employee is already terminated, it is ordered just after what is stored, so it
///   cancels anything pending and no older delivery undoes it; an older removal is stale
///   (the record may have been added again since);
/// - anything else without a version sorts before every version: it is recorded only
///   for an employee the ledger has never seen.
pub fn transition(
    stored: Option<&Entry>,
    incoming: &Observation,
    now: DateTime<Utc>,
) -> Transition {
    let Some(stored) = stored else {
        let version = incoming.version.or(incoming.removal.then_some(now));
        return Transition {
            write: Some(new_entry(incoming, version, now)),
            change: Change::Created,
        };
    };
    match order(stored, incoming, now) {
        Order::Write(version) => written(stored, incoming, version, now),
        Order::Unchanged => unchanged(),
        Order::Stale => stale(),
    }
}

/// Where an observation falls against the stored entry.
enum Order {
    /// It is written, at this version.
    Write(DateTime<Utc>),
    /// It says what is stored: a retry or a replay.
    Unchanged,
    /// It is older than what is stored.
    Stale,
}

/// Orders `incoming` against `stored` (see [`transition`]).
fn order(stored: &Entry, incoming: &Observation, now: DateTime<Utc>) -> Order {
    let newer = incoming.version.filter(|v| Some(*v) > stored.version);
    // A removal of the stored version, or of none, is the newest thing said: ordered just
    // after what is stored. An older one is stale, like any older delivery: the record
    // may have been added again since.
    let removal_now = incoming.removal
        && stored.decision != Decision::Terminated
        && (incoming.version.is_none() || incoming.version == stored.version);
    match (newer, incoming.version) {
        (Some(version), _) => Order::Write(version),
        _ if removal_now => Order::Write(match stored.version {
            Some(v) => v + VERSION_STEP,
            None => now,
        }),
        // The same data, decided after its date: the timer's move, made by the delivery.
        (None, Some(version))
            if Some(version) == stored.version
                && stored.decision == Decision::Scheduled
                && incoming.decision == Decision::Terminated =>
        {
            Order::Write(version)
        }
        // The same data, decided to take effect at another time: the account's local
        // cutoff (or the offset) changed since. The timer follows the current rule.
        (None, Some(version))
            if Some(version) == stored.version
                && stored.decision == Decision::Scheduled
                && incoming.decision == Decision::Scheduled
                && incoming.effective_at.is_some()
                && incoming.effective_at != stored.effective_at =>
        {
            Order::Write(version)
        }
        (None, Some(version)) if Some(version) == stored.version => Order::Unchanged,
        _ if incoming.removal && stored.decision == Decision::Terminated => Order::Unchanged,
        _ => Order::Stale,
    }
}

/// The entry `incoming` makes of `stored` at `version`, and what that changes.
fn written(
    stored: &Entry,
    incoming: &Observation,
    version: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Transition {
    let keeps_termination = incoming.decision == Decision::Undetermined
        && matches!(stored.decision, Decision::Scheduled | Decision::Terminated);
    let mut entry = if keeps_termination {
        Entry {
            version: Some(version),
            ..stored.clone()
        }
    } else {
        Entry {
            decision: incoming.decision,
            reasons: incoming.reasons.clone(),
            termination_date: incoming.termination_date,
            effective_at: incoming.effective_at,
            effective_rule: incoming.effective_rule.clone(),
            version: Some(version),
            terminated_at: match (stored.decision, incoming.decision) {
                (Decision::Terminated, Decision::Terminated) => stored.terminated_at,
                (_, Decision::Terminated) => Some(now),
                _ => None,
            },
            ..stored.clone()
        }
    };
    entry.announced = match (stored.decision, entry.decision) {
        (Decision::Terminated, Decision::Terminated) => stored.announced,
        (_, decision) => decision != Decision::Terminated,
    };
    entry.identity = incoming.identity.clone().or(&stored.identity);
    entry.changed_by = incoming.source;
    entry.delivery_id = incoming.delivery_id.clone();
    entry.updated_at = now;
    entry.revision = stored.revision + 1;
    let change = if keeps_termination {
        Change::Kept
    } else if entry.decision == stored.decision {
        Change::Updated
    } else {
        Change::Moved(stored.decision)
    };
    Transition {
        write: Some(entry),
        change,
    }
}

fn unchanged() -> Transition {
    Transition {
        write: None,
        change: Change::Unchanged,
    }
}

fn stale() -> Transition {
    Transition {
        write: None,
        change: Change::Stale,
    }
}

fn new_entry(incoming: &Observation, version: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Entry {
    Entry {
        key: incoming.key.clone(),
        decision: incoming.decision,
        reasons: incoming.reasons.clone(),
        termination_date: incoming.termination_date,
        effective_at: incoming.effective_at,
        effective_rule: incoming.effective_rule.clone(),
        version,
        changed_by: incoming.source,
        delivery_id: incoming.delivery_id.clone(),
        first_seen: now,
        updated_at: now,
        terminated_at: (incoming.decision == Decision::Terminated).then_some(now),
        identity: incoming.identity.clone(),
        revision: 1,
        announced: incoming.decision != Decision::Terminated,
        written_by: String::new(),
        deprovisioning: DeprovisioningMap::new(),
        historical: false,
        learned: holds_termination(incoming.decision).then_some(Learned {
            at: now,
            by: incoming.source,
        }),
    }
}

/// A timer that fired: whose, for which version, and when it was due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    /// Whose.
    pub key: EmployeeKey,
    /// The entry's version the timer was set for.
    pub version: Option<DateTime<Utc>>,
    /// When the termination takes effect.
    pub effective_at: DateTime<Utc>,
    /// A timer set before the ledger existed carried the whole decision: what it knew,
    /// used only when the ledger has no entry for the employee.
    pub legacy: Option<Legacy>,
}

/// What a timer set before the ledger existed carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Legacy {
    /// Who the employee is.
    pub identity: Identity,
    /// The termination date.
    pub termination_date: Option<DateTime<Utc>>,
}

/// The reasons of a termination a timer carried out.
pub const TIMER_REASONS: &str = "termination_date_reached";

/// Plans what a fired timer does at `now`: the entry moves into `terminated` if it still
/// says `scheduled` for the timer's version; otherwise nothing changes. A timer set
/// before the ledger existed terminates an employee the ledger has never seen, as it
/// would have then.
pub fn fire(stored: Option<&Entry>, timer: &Timer, now: DateTime<Utc>) -> Transition {
    let outdated = Transition {
        write: None,
        change: Change::Outdated,
    };
    if let Some(legacy) = &timer.legacy {
        return fire_legacy(stored, timer, legacy, now).unwrap_or(outdated);
    }
    let Some(stored) = stored else {
        return outdated;
    };
    if stored.decision != Decision::Scheduled || stored.version != timer.version {
        return outdated;
    }
    Transition {
        write: Some(Entry {
            decision: Decision::Terminated,
            reasons: TIMER_REASONS.to_owned(),
            changed_by: Source::Schedule,
            updated_at: now,
            terminated_at: Some(now),
            revision: stored.revision + 1,
            announced: false,
            ..stored.clone()
        }),
        change: Change::Moved(Decision::Scheduled),
    }
}

/// A termination schedule set before the ledger existed fires: it is what a delivery of
/// its version said, that the employee is terminated from now, and it is ordered like
/// one, so the first deliveries after an upgrade (an older retry, an unreadable date)
/// cannot cancel it. `None` when the ledger holds something newer.
fn fire_legacy(
    stored: Option<&Entry>,
    timer: &Timer,
    legacy: &Legacy,
    now: DateTime<Utc>,
) -> Option<Transition> {
    let observation = Observation {
        key: timer.key.clone(),
        decision: Decision::Terminated,
        reasons: TIMER_REASONS.to_owned(),
        termination_date: legacy.termination_date,
        effective_at: Some(timer.effective_at),
        // Such a timer carried no rule.
        effective_rule: None,
        version: timer.version,
        removal: false,
        identity: legacy.identity.clone(),
        source: Source::Schedule,
        delivery_id: None,
    };
    // An unreadable date never cancels a pending termination, whichever came first.
    if let Some(stored) = stored
        && stored.decision == Decision::Undetermined
        && stored.version >= timer.version
    {
        let newer = Observation {
            version: stored.version.map(|v| v + VERSION_STEP),
            ..observation
        };
        return Some(transition(Some(stored), &newer, now));
    }
    let planned = transition(stored, &observation, now);
    match planned.change {
        Change::Stale | Change::Unchanged => None,
        _ => Some(planned),
    }
}

/// True when `entry` is a termination whose `terminated` record is owed and no
/// invocation can still be writing it: the move (`terminated_at`, which later writes
/// keep) is older than `grace`, longer than any invocation of the function runs. The invocation that makes a move announces it at
/// once; this is for the one that wrote the move and died, or lost the answer, first.
pub fn announcement_due(entry: &Entry, now: DateTime<Utc>, grace: TimeDelta) -> bool {
    entry.decision == Decision::Terminated
        && !entry.announced
        && entry
            .terminated_at
            .is_some_and(|moved| now - moved >= grace)
}

/// The entry once its `terminated` record is written.
pub fn announced(entry: &Entry, now: DateTime<Utc>) -> Entry {
    Entry {
        announced: true,
        updated_at: now,
        revision: entry.revision + 1,
        ..entry.clone()
    }
}

#[cfg(test)]
mod tests;
