//! Parsing the date-times HR systems send through Merge into UTC instants.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeDelta, Utc};

/// No date form accepted here is longer than this; anything longer is rejected before
/// any parser looks at it.
const MAX_DATE_LEN: usize = 64;

/// Parses an HRIS date into a UTC instant.
///
/// Accepts, in this order:
/// - RFC 3339 with `Z` or an offset (`2021-10-16T00:00:00Z`, `2021-10-16T02:00:00+02:00`);
/// - ISO 8601 with a colon-less offset (`2021-10-16T00:00:00+0000`);
/// - naive date-times, taken as UTC (`2021-10-16T00:00:00`, `2021-10-16 00:00:00.123`);
/// - bare dates, taken as midnight UTC (`2021-10-16`).
///
/// Returns `None` for anything else, including values outside chrono's range.
pub fn parse_hr_date(raw: &str) -> Option<DateTime<Utc>> {
    let text = raw.trim();
    if text.is_empty() || text.len() > MAX_DATE_LEN {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.with_timezone(&Utc));
    }
    if let Ok(dt) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(dt.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(naive.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|naive| naive.and_utc())
}

/// The date of an HRIS date sent as a date only, whose instant the local cutoff says: a
/// bare date (`2021-10-16`), or the same date at midnight UTC (`2021-10-16T00:00:00Z`,
/// `.000Z`, `+00:00`, or naive), which is how Merge renders an HR system's date field.
/// `None` for every other form (another time, another offset), which keeps the instant
/// [`parse_hr_date`] gives it.
pub fn parse_bare_date(raw: &str) -> Option<NaiveDate> {
    let text = raw.trim();
    if text.len() > MAX_DATE_LEN {
        return None;
    }
    let (day, time) = match text.find(['T', 't', ' ']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    match time {
        None => Some(date),
        Some(time) if is_utc_midnight(time) => Some(date),
        Some(_) => None,
    }
}

/// True for `00:00`, `00:00:00` or `00:00:00.000…`, with no zone or a zero one (`Z`,
/// `+00:00`, `-00:00`, `+0000`).
fn is_utc_midnight(time: &str) -> bool {
    let (clock, zone) = match time.find(['Z', 'z', '+', '-']) {
        Some(at) => time.split_at(at),
        None => (time, ""),
    };
    let zero_zone = matches!(zone, "" | "Z" | "z" | "+00:00" | "-00:00" | "+0000" | "+00");
    let (whole, fraction) = clock.split_once('.').unwrap_or((clock, "0"));
    let zero_fraction = !fraction.is_empty() && fraction.bytes().all(|b| b == b'0');
    zero_zone && zero_fraction && matches!(whole, "00:00" | "00:00:00")
}

/// Formats an instant the way responses and log records carry it: RFC 3339 in UTC,
/// with fractional seconds only when there are any.
pub fn to_rfc3339(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A duration as fractional seconds, the unit records and metrics report lags in.
pub fn as_seconds(duration: TimeDelta) -> f64 {
    duration.num_milliseconds() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn normalised_form_is_rfc3339_utc_with_z() {
        let parsed = parse_hr_date("2021-10-16T02:30:00+02:00").unwrap();
        assert_eq!(to_rfc3339(parsed), "2021-10-16T00:30:00Z");
    }

    #[test]
    fn rfc3339_with_z_is_parsed() {
        assert_eq!(
            parse_hr_date("2021-10-16T00:00:00Z"),
            Some(utc(2021, 10, 16, 0, 0, 0))
        );
    }

    #[test]
    fn rfc3339_offset_is_converted_to_utc() {
        assert_eq!(
            parse_hr_date("2021-10-16T02:30:00+02:00"),
            Some(utc(2021, 10, 16, 0, 30, 0))
        );
        assert_eq!(
            parse_hr_date("2021-10-15T19:00:00-05:00"),
            Some(utc(2021, 10, 16, 0, 0, 0))
        );
    }

    #[test]
    fn fractional_seconds_are_kept() {
        let parsed = parse_hr_date("2021-10-16T00:00:00.250Z").unwrap();
        assert_eq!(parsed.timestamp_subsec_millis(), 250);
    }

    #[test]
    fn colonless_offset_is_parsed() {
        assert_eq!(
            parse_hr_date("2021-10-16T01:00:00+0100"),
            Some(utc(2021, 10, 16, 0, 0, 0))
        );
    }

    #[test]
    fn naive_date_time_is_taken_as_utc() {
        assert_eq!(
            parse_hr_date("2021-10-16T08:15:00"),
            Some(utc(2021, 10, 16, 8, 15, 0))
        );
        assert_eq!(
            parse_hr_date("2021-10-16 08:15:00"),
            Some(utc(2021, 10, 16, 8, 15, 0))
        );
    }

    #[test]
    fn bare_date_is_midnight_utc() {
        assert_eq!(
            parse_hr_date("2021-10-16"),
            Some(utc(2021, 10, 16, 0, 0, 0))
        );
    }

    #[test]
    fn a_bare_date_or_merges_midnight_utc_is_a_date_only() {
        for date in [
            " 2021-10-16 ",
            "2021-10-16T00:00:00Z",
            "2021-10-16T00:00:00.000Z",
            "2021-10-16T00:00:00+00:00",
            "2021-10-16T00:00:00",
            "2021-10-16T00:00Z",
        ] {
            assert_eq!(
                parse_bare_date(date),
                NaiveDate::from_ymd_opt(2021, 10, 16),
                "{date:?}"
            );
        }
        for other in [
            "2021-10-16T00:00:00+11:00",
            "2021-10-16T00:00:00-05:00",
            "2021-10-16T00:00:01Z",
            "2021-10-16T00:00:00.5Z",
            "2021-10-16T10:00:00+10:00",
            "2021-10-16T00:00:00.Z",
            "2021-10-16 08:15:00",
            "2021-02-30",
            "",
        ] {
            assert_eq!(parse_bare_date(other), None, "{other:?}");
        }
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        assert_eq!(
            parse_hr_date(" 2021-10-16 \n"),
            Some(utc(2021, 10, 16, 0, 0, 0))
        );
    }

    #[test]
    fn garbage_and_impossible_dates_are_rejected() {
        for raw in [
            "",
            "   ",
            "yesterday",
            "16/10/2021",
            "2021-13-01",
            "2021-02-30",
            "2021-10-16T25:00:00Z",
            "+275760-09-13T00:00:00Z",
            "99999999-01-01",
        ] {
            assert_eq!(parse_hr_date(raw), None, "{raw:?} should not parse");
        }
    }

    #[test]
    fn oversized_input_is_rejected_without_parsing() {
        let long = format!("2021-10-16{}", " ".repeat(10)) + &"0".repeat(MAX_DATE_LEN);
        assert_eq!(parse_hr_date(&long), None);
    }
}
