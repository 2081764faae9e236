//! Scheduled terminations: which one-time schedule a decision needs, planned as a pure
//! function of the decision, what is stored for the employee, and now; and what a
//! schedule's input means when it fires.
//!
//! Each employee has one schedule, named from (linked account id, employee id). It is
//! either a **termination** (enabled, at the effective time, whose input fires the
//! `terminated` record) or an **expiry** (the memory of a newer non-scheduled decision,
//! kept for [`MEMORY`] so that a delayed retry of an older `scheduled` delivery cannot
//! bring a cancelled termination back; it fires once to a no-op and is deleted). Both
//! carry the Employee's `modified_at` they were decided from, and a delivery older than
//! what is stored never changes it.

use crate::domain::dates::{parse_hr_date, to_rfc3339};
use crate::domain::decision::{Decision, Reason, Verdict};
use crate::domain::employee::{Employee, RawDate};
use crate::domain::envelope::{Action, LinkedAccount};
use crate::domain::webhook::Decided;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `kind` of a termination schedule's input.
pub const TERMINATION_KIND: &str = "merge-deprovision.scheduled-termination";
/// `kind` of an expiry schedule's input.
pub const EXPIRY_KIND: &str = "merge-deprovision.schedule-expiry";
/// The input document's format version.
pub const DOCUMENT_VERSION: u32 = 1;
/// The earliest a schedule is set to fire, from now: an `at()` already in the past may
/// be refused, and the delivery itself takes time to arrive.
pub const MIN_LEAD: TimeDelta = TimeDelta::minutes(1);
/// How long a newer non-scheduled decision is remembered: longer than Merge keeps
/// retrying a failed delivery (about twice, within hours).
pub const MEMORY: TimeDelta = TimeDelta::hours(72);

/// A schedule's input: the raw event the function receives when it fires. It carries
/// the identity and account fields of the decision record, never a sensitive field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleDocument {
    /// [`TERMINATION_KIND`] or [`EXPIRY_KIND`].
    pub kind: String,
    /// [`DOCUMENT_VERSION`].
    pub version: u32,
    /// Merge's employee id.
    pub employee_id: String,
    /// The linked account the employee belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_account_id: Option<String>,
    /// The HR system's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    /// The employee number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    /// Work e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_email: Option<String>,
    /// Username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_full_name: Option<String>,
    /// The integration slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration: Option<String>,
    /// The customer organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_user_organization_name: Option<String>,
    /// The termination date, RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_date: Option<String>,
    /// When the termination takes effect, RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_at: Option<String>,
    /// The Employee's `modified_at` this was decided from: the version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_at: Option<String>,
}

impl ScheduleDocument {
    /// The version as an instant; absent or unreadable sorts before every instant.
    pub fn version_instant(&self) -> Option<DateTime<Utc>> {
        self.modified_at.as_deref().and_then(parse_hr_date)
    }

    /// True for a termination's input.
    pub fn is_termination(&self) -> bool {
        self.kind == TERMINATION_KIND
    }
}

/// The schedule's name for an employee: a hash of the linked account id and employee id,
/// so it holds no e-mail or name, and matches `[0-9a-zA-Z-_.]{1,64}`.
pub fn schedule_name(linked_account_id: Option<&str>, employee_id: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(linked_account_id.unwrap_or_default().as_bytes());
    // A separator that cannot occur in either id keeps ("ab", "c") apart from ("a", "bc").
    hash.update([0u8]);
    hash.update(employee_id.as_bytes());
    let digest = hash.finalize();
    let mut name = String::with_capacity(45);
    name.push_str("term-");
    for byte in &digest[..20] {
        name.push_str(&format!("{byte:02x}"));
    }
    name
}

/// A schedule as it should be after the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// The schedule's name.
    pub name: String,
    /// When it fires, in whole seconds.
    pub at: DateTime<Utc>,
    /// Its input.
    pub document: ScheduleDocument,
}

impl Desired {
    /// The `at()` expression, in UTC, as Scheduler takes it.
    pub fn expression(&self) -> String {
        format!("at({})", self.at.format("%Y-%m-%dT%H:%M:%S"))
    }
}

/// What becomes of the employee's schedule, as records and metrics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A termination schedule was created.
    Created,
    /// A termination schedule moved to another time.
    Updated,
    /// A pending termination was replaced by an expiry.
    Cancelled,
    /// An expiry was created or renewed: the newer decision is remembered.
    Remembered,
    /// What is stored already says this.
    Unchanged,
    /// The delivery is older than what is stored, which stays.
    Stale,
    /// An `Employee.added` decided active: nothing can be pending, no call is made.
    NotNeeded,
    /// No employee id to name a schedule by.
    NoEmployeeId,
}

impl Change {
    /// The name in records.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Updated => "updated",
            Change::Cancelled => "cancelled",
            Change::Remembered => "remembered",
            Change::Unchanged => "unchanged",
            Change::Stale => "stale",
            Change::NotNeeded => "not_needed",
            Change::NoEmployeeId => "no_employee_id",
        }
    }
}

/// The call a delivery needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// Create the schedule (nothing is stored).
    Create(Desired),
    /// Replace the whole stored schedule.
    Update(Desired),
    /// No call.
    None,
}

/// The planned call and what it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The call.
    pub call: Call,
    /// What it changes.
    pub change: Change,
}

impl Plan {
    fn none(change: Change) -> Plan {
        Plan {
            call: Call::None,
            change,
        }
    }
}

/// The schedule name a decided delivery would use, or why it has none; `None` also when
/// the delivery needs no look-up at all (an `Employee.added` decided active).
pub fn lookup_name(decided: &Decided) -> Result<String, Change> {
    if decided.action == Action::Added && decided.verdict.decision == Decision::Active {
        return Err(Change::NotNeeded);
    }
    let employee_id = decided.employee.id.as_deref().ok_or(Change::NoEmployeeId)?;
    Ok(schedule_name(
        decided.linked_account.id.as_deref(),
        employee_id,
    ))
}

fn modified_at(employee: &Employee) -> Option<String> {
    match &employee.modified_at {
        Some(RawDate::Text(text)) => parse_hr_date(text).map(to_rfc3339),
        _ => None,
    }
}

/// The input a decided delivery would store, of `kind`.
fn document(decided: &Decided, kind: &str, employee_id: &str) -> ScheduleDocument {
    let employee = &decided.employee;
    let account = &decided.linked_account;
    let termination = kind == TERMINATION_KIND;
    let keep = |value: &Option<String>| if termination { value.clone() } else { None };
    ScheduleDocument {
        kind: kind.to_owned(),
        version: DOCUMENT_VERSION,
        employee_id: employee_id.to_owned(),
        linked_account_id: account.id.clone(),
        remote_id: keep(&employee.remote_id),
        employee_number: keep(&employee.employee_number),
        work_email: keep(&employee.work_email),
        username: keep(&employee.username),
        display_full_name: keep(&employee.display_full_name),
        integration: keep(&account.integration_slug),
        end_user_organization_name: keep(&account.end_user_organization_name),
        termination_date: decided
            .verdict
            .termination_date
            .filter(|_| termination)
            .map(to_rfc3339),
        effective_at: decided
            .verdict
            .effective_at
            .filter(|_| termination)
            .map(to_rfc3339),
        modified_at: modified_at(employee),
    }
}

/// The first whole second at or after `instant`, so a schedule never fires early.
fn whole_second_at_or_after(instant: DateTime<Utc>) -> DateTime<Utc> {
    let floor = instant
        .duration_trunc(TimeDelta::seconds(1))
        .unwrap_or(instant);
    if floor < instant {
        floor + TimeDelta::seconds(1)
    } else {
        floor
    }
}

/// When a termination effective at `effective_at` is set to fire: at that time, or
/// [`MIN_LEAD`] from now if that is later, in whole seconds.
pub fn fire_time(effective_at: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    whole_second_at_or_after(effective_at.max(now + MIN_LEAD))
}

/// Plans the call for a decided delivery, given the input stored under its schedule
/// name (none when no schedule exists) and now.
///
/// - `scheduled`: create or update the termination, unless what is stored is newer or
///   already the same;
/// - anything else: replace a pending termination, or record the decision, by an expiry
///   [`MEMORY`] from now, unless what is stored is newer or already says so.
pub fn plan(decided: &Decided, stored: Option<&ScheduleDocument>, now: DateTime<Utc>) -> Plan {
    let name = match lookup_name(decided) {
        Ok(name) => name,
        Err(change) => return Plan::none(change),
    };
    let employee_id = decided.employee.id.as_deref().unwrap_or_default();
    let incoming = decided
        .employee
        .modified_at
        .as_ref()
        .and_then(|date| match date {
            RawDate::Text(text) => parse_hr_date(text),
            _ => None,
        });
    if let Some(stored) = stored
        && incoming < stored.version_instant()
    {
        return Plan::none(Change::Stale);
    }
    let pending = stored.is_some_and(ScheduleDocument::is_termination);
    let (desired, change) = match (decided.verdict.decision, decided.verdict.effective_at) {
        (Decision::Scheduled, Some(effective_at)) => {
            let desired = Desired {
                name,
                at: fire_time(effective_at, now),
                document: document(decided, TERMINATION_KIND, employee_id),
            };
            let change = if pending {
                Change::Updated
            } else {
                Change::Created
            };
            (desired, change)
        }
        _ => {
            let desired = Desired {
                name,
                at: whole_second_at_or_after(now + MEMORY),
                document: document(decided, EXPIRY_KIND, employee_id),
            };
            let change = if pending {
                Change::Cancelled
            } else {
                Change::Remembered
            };
            (desired, change)
        }
    };
    match stored {
        Some(stored) if *stored == desired.document => Plan::none(Change::Unchanged),
        Some(_) => Plan {
            call: Call::Update(desired),
            change,
        },
        None => Plan {
            call: Call::Create(desired),
            change,
        },
    }
}

/// Why a fired event is not a schedule input of this function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnknownInput {
    /// Not a JSON object of the document's shape.
    #[error("the event is neither a function URL request nor a schedule input of this function")]
    NotADocument,
    /// A document of another kind or version.
    #[error("the schedule input has an unknown kind or version")]
    UnknownKind,
    /// A termination without a readable effective time.
    #[error("the scheduled termination has no readable effective_at")]
    NoEffectiveTime,
}

/// What a fired schedule input means.
#[derive(Debug, Clone, PartialEq)]
pub enum Fired {
    /// A scheduled termination took effect: the decision to log.
    Termination(Box<Decided>),
    /// An expiry ran out: the decision it remembered no longer needs guarding.
    Expiry(Box<ScheduleDocument>),
}

/// Reads a fired event (the raw bytes Scheduler delivers) at time `now`.
pub fn read_fired(event: &[u8], now: DateTime<Utc>) -> Result<Fired, UnknownInput> {
    let document: ScheduleDocument =
        serde_json::from_slice(event).map_err(|_| UnknownInput::NotADocument)?;
    if document.version != DOCUMENT_VERSION {
        return Err(UnknownInput::UnknownKind);
    }
    match document.kind.as_str() {
        TERMINATION_KIND => {
            fired_termination(document, now).map(|d| Fired::Termination(Box::new(d)))
        }
        EXPIRY_KIND => Ok(Fired::Expiry(Box::new(document))),
        _ => Err(UnknownInput::UnknownKind),
    }
}

fn fired_termination(
    document: ScheduleDocument,
    now: DateTime<Utc>,
) -> Result<Decided, UnknownInput> {
    let effective_at = document
        .effective_at
        .as_deref()
        .and_then(parse_hr_date)
        .ok_or(UnknownInput::NoEffectiveTime)?;
    let termination_date = document.termination_date.as_deref().and_then(parse_hr_date);
    let employee = Employee {
        id: Some(document.employee_id),
        remote_id: document.remote_id,
        employee_number: document.employee_number,
        username: document.username,
        work_email: document.work_email,
        display_full_name: document.display_full_name,
        modified_at: document.modified_at.map(RawDate::Text),
        ..Employee::default()
    };
    Ok(Decided {
        event: TERMINATION_KIND.to_owned(),
        action: Action::Changed,
        employee,
        linked_account: LinkedAccount {
            id: document.linked_account_id,
            integration_slug: document.integration,
            end_user_organization_name: document.end_user_organization_name,
        },
        verdict: Verdict {
            decision: Decision::Terminated,
            reasons: vec![Reason::TerminationDateReached],
            termination_date,
            effective_at: Some(effective_at),
        },
        key: None,
        // A schedule fires within its minute, so this is how late access ended.
        termination_lag: Some((now - effective_at).max(TimeDelta::zero())),
        sync_lag: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
    }

    #[test]
    fn names_are_stable_distinct_and_within_schedulers_pattern() {
        let name = schedule_name(Some("account"), "employee");
        assert_eq!(name, schedule_name(Some("account"), "employee"));
        assert_ne!(name, schedule_name(Some("other"), "employee"));
        assert_ne!(
            schedule_name(Some("ab"), "c"),
            schedule_name(Some("a"), "bc"),
            "the ids are kept apart"
        );
        assert_ne!(name, schedule_name(None, "employee"));
        assert!((1..=64).contains(&name.len()));
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
    }

    #[test]
    fn a_termination_fires_at_its_time_or_a_minute_from_now_whichever_is_later() {
        let second = TimeDelta::seconds(1);
        assert_eq!(fire_time(now() - second, now()), now() + MIN_LEAD);
        assert_eq!(fire_time(now(), now()), now() + MIN_LEAD);
        assert_eq!(fire_time(now() + second, now()), now() + MIN_LEAD);
        assert_eq!(fire_time(now() + MIN_LEAD, now()), now() + MIN_LEAD);
        let later = now() + MIN_LEAD + second;
        assert_eq!(fire_time(later, now()), later);
    }

    #[test]
    fn a_fraction_of_a_second_rounds_up_so_nothing_fires_early() {
        let effective = now() + TimeDelta::hours(1) + TimeDelta::milliseconds(1);
        assert_eq!(
            fire_time(effective, now()),
            now() + TimeDelta::hours(1) + TimeDelta::seconds(1)
        );
        let desired = Desired {
            name: "n".into(),
            at: fire_time(effective, now()),
            document: document(TERMINATION_KIND),
        };
        assert_eq!(desired.expression(), "at(2026-11-27T13:00:01)");
    }

    fn document(kind: &str) -> ScheduleDocument {
        ScheduleDocument {
            kind: kind.into(),
            version: DOCUMENT_VERSION,
            employee_id: "e1".into(),
            linked_account_id: Some("a1".into()),
            remote_id: None,
            employee_number: None,
            work_email: Some("leaver@example.com".into()),
            username: None,
            display_full_name: None,
            integration: Some("humaans".into()),
            end_user_organization_name: None,
            termination_date: Some("2026-11-27T00:00:00Z".into()),
            effective_at: Some("2026-11-27T11:59:30Z".into()),
            modified_at: Some("2026-11-20T00:00:00Z".into()),
        }
    }

    #[test]
    fn a_fired_termination_is_terminated_with_its_lag() {
        let input = serde_json::to_vec(&document(TERMINATION_KIND)).unwrap();
        let Ok(Fired::Termination(decided)) = read_fired(&input, now()) else {
            panic!("a termination");
        };
        assert_eq!(decided.verdict.decision, Decision::Terminated);
        assert_eq!(
            decided.verdict.reasons,
            vec![Reason::TerminationDateReached]
        );
        assert_eq!(decided.termination_lag, Some(TimeDelta::seconds(30)));
        assert_eq!(decided.key, None);
        assert_eq!(
            decided.employee.work_email.as_deref(),
            Some("leaver@example.com")
        );
    }

    #[test]
    fn fired_inputs_of_another_kind_version_or_shape_are_unknown() {
        let mut other_version = document(TERMINATION_KIND);
        other_version.version = 2;
        let mut no_time = document(TERMINATION_KIND);
        no_time.effective_at = None;
        let cases: [(Vec<u8>, UnknownInput); 5] = [
            (b"[1,2,3]".to_vec(), UnknownInput::NotADocument),
            (
                br#"{"kind":"merge-deprovision.scheduled-termination","version":1,"employee_id":"e","ssn":"1"}"#.to_vec(),
                UnknownInput::NotADocument,
            ),
            (serde_json::to_vec(&other_version).unwrap(), UnknownInput::UnknownKind),
            (serde_json::to_vec(&document("other")).unwrap(), UnknownInput::UnknownKind),
            (serde_json::to_vec(&no_time).unwrap(), UnknownInput::NoEffectiveTime),
        ];
        for (input, expected) in cases {
            assert_eq!(read_fired(&input, now()).err(), Some(expected));
        }
    }

    #[test]
    fn an_expiry_fires_to_nothing_but_itself() {
        let input = serde_json::to_vec(&document(EXPIRY_KIND)).unwrap();
        assert!(matches!(read_fired(&input, now()), Ok(Fired::Expiry(_))));
    }
}
