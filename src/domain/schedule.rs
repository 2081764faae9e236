//! Timers: the one-time schedule a `scheduled` ledger entry needs, planned as a pure
//! function of the entry and now; and what a schedule's input means when it fires.
//!
//! The ledger is the state; a timer only wakes the function at the effective time. Each
//! employee has at most one, named from (linked account id, employee id), and it exists
//! only while the entry says `scheduled`. Its input holds ids, the entry's version and
//! `effective_at`, never an identity field: whoever can read schedules learns nothing
//! about the person.

use crate::domain::dates::{parse_hr_date, to_rfc3339};
use crate::domain::decision::Decision;
use crate::domain::ledger::{EmployeeKey, Entry, Identity, Legacy, Timer};
use chrono::{DateTime, Datelike, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `kind` of a timer's input.
pub const TIMER_KIND: &str = "merge-deprovision.termination-timer";
/// `kind` of a termination schedule set before the ledger existed, which carried the
/// whole decision. Still read, so an upgrade loses no pending termination.
pub const LEGACY_TERMINATION_KIND: &str = "merge-deprovision.scheduled-termination";
/// `kind` of an expiry schedule set before the ledger existed: now a no-op.
pub const LEGACY_EXPIRY_KIND: &str = "merge-deprovision.schedule-expiry";
/// The input document's format version.
pub const DOCUMENT_VERSION: u32 = 1;
/// The earliest a timer is set to fire, from now: an `at()` already in the past may
/// be refused, and the delivery itself takes time to arrive.
pub const MIN_LEAD: TimeDelta = TimeDelta::minutes(1);
/// The last minute an `at()` expression can name: its year has four digits.
pub const LAST_EXPRESSIBLE_YEAR: i32 = 9999;

/// A timer's input: the raw event the function receives when it fires.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimerDocument {
    /// [`TIMER_KIND`].
    pub kind: String,
    /// [`DOCUMENT_VERSION`].
    pub version: u32,
    /// The linked account the employee belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_account_id: Option<String>,
    /// Merge's employee id.
    pub employee_id: String,
    /// The entry's version (the Employee's `modified_at`) the timer was set for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_at: Option<String>,
    /// When the termination takes effect, RFC 3339 UTC.
    pub effective_at: String,
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

/// The schedule's name for the employee an entry or timer is about.
pub fn timer_name(key: &EmployeeKey) -> String {
    schedule_name(key.linked_account(), &key.employee_id)
}

/// A timer as it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// The schedule's name.
    pub name: String,
    /// When it fires: a whole minute.
    pub at: DateTime<Utc>,
    /// Its input.
    pub document: TimerDocument,
}

impl Desired {
    /// The `at()` expression, in UTC, as Scheduler takes it.
    pub fn expression(&self) -> String {
        format!("at({})", self.at.format("%Y-%m-%dT%H:%M:%S"))
    }
}

/// What an entry needs of its timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerPlan {
    /// A timer at this time with this input.
    Arm(Desired),
    /// No timer: the entry is not `scheduled`.
    None,
    /// The entry is `scheduled` beyond what an `at()` expression can name (after
    /// 9999-12-31T23:59): no timer can be set, and no retry can change that.
    Beyond,
}

/// The first whole minute at or after `instant`: Scheduler fires a one-time schedule
/// anywhere within its minute, so a time with seconds could fire up to 59 s early.
/// Computed in whole seconds, which cover every year Scheduler can name (chrono's
/// nanosecond rounding stops at 2262).
pub fn whole_minute_at_or_after(instant: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = instant.timestamp();
    let floor = seconds.div_euclid(60) * 60;
    let exact = floor == seconds && instant.timestamp_subsec_nanos() == 0;
    let minute = if exact { floor } else { floor + 60 };
    DateTime::from_timestamp(minute, 0).unwrap_or(instant)
}

/// When a termination effective at `effective_at` is set to fire: at that time, or
/// [`MIN_LEAD`] from now if that is later, rounded up to the whole minute; `None` when
/// that minute is past what `at()` can express.
pub fn fire_time(effective_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let at = whole_minute_at_or_after(effective_at.max(now + MIN_LEAD));
    (at.year() <= LAST_EXPRESSIBLE_YEAR).then_some(at)
}

/// The timer an entry needs at `now`.
pub fn timer_for(entry: &Entry, now: DateTime<Utc>) -> TimerPlan {
    let (Decision::Scheduled, Some(effective_at)) = (entry.decision, entry.effective_at) else {
        return TimerPlan::None;
    };
    let Some(at) = fire_time(effective_at, now) else {
        return TimerPlan::Beyond;
    };
    TimerPlan::Arm(Desired {
        name: timer_name(&entry.key),
        at,
        document: TimerDocument {
            kind: TIMER_KIND.to_owned(),
            version: DOCUMENT_VERSION,
            linked_account_id: entry.key.linked_account().map(str::to_owned),
            employee_id: entry.key.employee_id.clone(),
            modified_at: entry.version.map(to_rfc3339),
            effective_at: to_rfc3339(effective_at),
        },
    })
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
    /// A timer without a readable effective time or version.
    #[error("the timer has no readable effective_at or modified_at")]
    Unreadable,
}

/// What a fired schedule input means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fired {
    /// A timer: the ledger decides whether it terminates.
    Timer(Box<Timer>),
    /// An expiry set before the ledger existed: nothing to do.
    LegacyExpiry(EmployeeKey),
}

/// Every member either kind of input has carried; unknown members are refused, so a
/// document from elsewhere is not taken for one of ours.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnyDocument {
    kind: String,
    version: u32,
    employee_id: String,
    #[serde(default)]
    linked_account_id: Option<String>,
    #[serde(default)]
    modified_at: Option<String>,
    #[serde(default)]
    effective_at: Option<String>,
    #[serde(default)]
    termination_date: Option<String>,
    #[serde(default)]
    remote_id: Option<String>,
    #[serde(default)]
    employee_number: Option<String>,
    #[serde(default)]
    work_email: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    display_full_name: Option<String>,
    #[serde(default)]
    integration: Option<String>,
    #[serde(default)]
    end_user_organization_name: Option<String>,
}

/// Reads a fired event (the raw bytes Scheduler delivers).
pub fn read_fired(event: &[u8]) -> Result<Fired, UnknownInput> {
    let document: AnyDocument =
        serde_json::from_slice(event).map_err(|_| UnknownInput::NotADocument)?;
    if document.version != DOCUMENT_VERSION {
        return Err(UnknownInput::UnknownKind);
    }
    let key = EmployeeKey::new(document.linked_account_id.as_deref(), &document.employee_id);
    let legacy = match document.kind.as_str() {
        TIMER_KIND => false,
        LEGACY_TERMINATION_KIND => true,
        LEGACY_EXPIRY_KIND => return Ok(Fired::LegacyExpiry(key)),
        _ => return Err(UnknownInput::UnknownKind),
    };
    let effective_at = document
        .effective_at
        .as_deref()
        .and_then(parse_hr_date)
        .ok_or(UnknownInput::Unreadable)?;
    let version = match document.modified_at.as_deref() {
        None => None,
        Some(text) => Some(parse_hr_date(text).ok_or(UnknownInput::Unreadable)?),
    };
    let legacy = legacy.then(|| Legacy {
        identity: Identity {
            remote_id: document.remote_id,
            employee_number: document.employee_number,
            work_email: document.work_email,
            username: document.username,
            display_full_name: document.display_full_name,
            integration: document.integration,
            end_user_organization_name: document.end_user_organization_name,
        },
        termination_date: document.termination_date.as_deref().and_then(parse_hr_date),
    });
    Ok(Fired::Timer(Box::new(Timer {
        key,
        version: version.map(crate::domain::webhook::to_microseconds),
        effective_at,
        legacy,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ledger::{Observation, Source, transition};
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
        assert_eq!(
            timer_name(&EmployeeKey::new(None, "employee")),
            schedule_name(None, "employee"),
            "an entry without a linked account names the schedule as before the ledger"
        );
    }

    #[test]
    fn a_timer_fires_at_its_minute_or_a_minute_from_now_whichever_is_later() {
        let second = TimeDelta::seconds(1);
        assert_eq!(fire_time(now() - second, now()), Some(now() + MIN_LEAD));
        assert_eq!(fire_time(now(), now()), Some(now() + MIN_LEAD));
        assert_eq!(fire_time(now() + MIN_LEAD, now()), Some(now() + MIN_LEAD));
        let later = now() + TimeDelta::hours(3);
        assert_eq!(fire_time(later, now()), Some(later));
    }

    #[test]
    fn seconds_round_up_to_the_next_minute_so_nothing_fires_early() {
        let effective = now() + TimeDelta::hours(1) + TimeDelta::milliseconds(1);
        let at = fire_time(effective, now()).unwrap();
        assert_eq!(at, now() + TimeDelta::hours(1) + TimeDelta::minutes(1));
        assert!(at >= effective);
        let odd = now() + TimeDelta::hours(1) + TimeDelta::seconds(59);
        assert_eq!(
            fire_time(odd, now()),
            Some(now() + TimeDelta::hours(1) + TimeDelta::minutes(1))
        );
    }

    #[test]
    fn rounding_holds_past_the_year_2262() {
        let late = Utc.with_ymd_and_hms(2300, 1, 1, 0, 0, 30).unwrap();
        assert_eq!(
            fire_time(late, now()),
            Some(Utc.with_ymd_and_hms(2300, 1, 1, 0, 1, 0).unwrap())
        );
    }

    #[test]
    fn a_time_past_the_year_9999_cannot_be_expressed() {
        let last = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 0).unwrap();
        assert_eq!(fire_time(last, now()), Some(last));
        assert_eq!(fire_time(last + TimeDelta::seconds(1), now()), None);
        assert_eq!(fire_time(last + TimeDelta::days(1), now()), None);
    }

    fn scheduled_entry(effective_at: DateTime<Utc>) -> Entry {
        let observation = Observation {
            key: EmployeeKey::new(Some("a1"), "e1"),
            decision: Decision::Scheduled,
            reasons: "termination_date_in_future".into(),
            termination_date: Some(effective_at),
            effective_at: Some(effective_at),
            effective_rule: None,
            version: Some(Utc.with_ymd_and_hms(2026, 11, 20, 8, 30, 15).unwrap()),
            removal: false,
            identity: Identity {
                work_email: Some("leaver@example.com".into()),
                display_full_name: Some("Leaver Person".into()),
                ..Identity::default()
            },
            source: Source::Webhook,
            delivery_id: None,
        };
        transition(None, &observation, now()).write.unwrap()
    }

    #[test]
    fn a_scheduled_entry_needs_a_timer_with_ids_version_and_time_only() {
        let effective = Utc.with_ymd_and_hms(2099, 6, 30, 0, 0, 0).unwrap();
        let TimerPlan::Arm(desired) = timer_for(&scheduled_entry(effective), now()) else {
            panic!("a timer");
        };
        assert_eq!(desired.expression(), "at(2099-06-30T00:00:00)");
        let input = serde_json::to_string(&desired.document).unwrap();
        assert!(!input.contains("leaver"), "no identity in {input}");
        assert!(!input.contains("Person"), "no identity in {input}");
        let Ok(Fired::Timer(timer)) = read_fired(input.as_bytes()) else {
            panic!("its own input reads back");
        };
        assert_eq!(timer.key, EmployeeKey::new(Some("a1"), "e1"));
        assert_eq!(timer.effective_at, effective);
        assert_eq!(timer.version, scheduled_entry(effective).version);
        assert_eq!(timer.legacy, None);
    }

    #[test]
    fn an_entry_that_is_not_scheduled_needs_no_timer_and_one_past_9999_cannot_have_one() {
        let mut entry = scheduled_entry(now());
        entry.decision = Decision::Active;
        assert_eq!(timer_for(&entry, now()), TimerPlan::None);
        let far = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 30).unwrap();
        assert_eq!(timer_for(&scheduled_entry(far), now()), TimerPlan::Beyond);
    }

    #[test]
    fn a_termination_schedule_from_before_the_ledger_reads_as_a_timer_with_its_identity() {
        let legacy = br#"{"kind":"merge-deprovision.scheduled-termination","version":1,
            "employee_id":"e1","linked_account_id":"a1","work_email":"leaver@example.com",
            "termination_date":"2026-11-27T00:00:00Z","effective_at":"2026-11-27T11:59:30Z",
            "modified_at":"2026-11-20T00:00:00Z"}"#;
        let Ok(Fired::Timer(timer)) = read_fired(legacy) else {
            panic!("a timer");
        };
        let identity = &timer.legacy.as_ref().unwrap().identity;
        assert_eq!(identity.work_email.as_deref(), Some("leaver@example.com"));
        let expiry =
            br#"{"kind":"merge-deprovision.schedule-expiry","version":1,"employee_id":"e1"}"#;
        assert_eq!(
            read_fired(expiry),
            Ok(Fired::LegacyExpiry(EmployeeKey::new(None, "e1")))
        );
    }

    #[test]
    fn fired_inputs_of_another_kind_version_or_shape_are_unknown() {
        let cases: [(&[u8], UnknownInput); 6] = [
            (b"[1,2,3]", UnknownInput::NotADocument),
            (
                br#"{"kind":"merge-deprovision.termination-timer","version":1,"employee_id":"e","effective_at":"2026-01-01T00:00:00Z","ssn":"1"}"#,
                UnknownInput::NotADocument,
            ),
            (
                br#"{"kind":"merge-deprovision.termination-timer","version":2,"employee_id":"e","effective_at":"2026-01-01T00:00:00Z"}"#,
                UnknownInput::UnknownKind,
            ),
            (
                br#"{"kind":"other","version":1,"employee_id":"e","effective_at":"2026-01-01T00:00:00Z"}"#,
                UnknownInput::UnknownKind,
            ),
            (
                br#"{"kind":"merge-deprovision.termination-timer","version":1,"employee_id":"e"}"#,
                UnknownInput::Unreadable,
            ),
            (
                br#"{"kind":"merge-deprovision.termination-timer","version":1,"employee_id":"e","effective_at":"2026-01-01T00:00:00Z","modified_at":"soon"}"#,
                UnknownInput::Unreadable,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(read_fired(input).err(), Some(expected));
        }
    }
}
