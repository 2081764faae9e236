//! The access-removal SLA (`ACCESS_REMOVAL_SLA`): how long after a termination takes
//! effect the leaver's access must be gone, read as `24h`, `90m`, `1d`, `30s` or plain
//! seconds, and refused at init when it cannot be an SLA.

use super::{ConfigError, Vars};
use chrono::TimeDelta;

/// Environment variable holding the access-removal SLA.
pub const ACCESS_REMOVAL_SLA_VAR: &str = "ACCESS_REMOVAL_SLA";
/// The SLA when none is configured, in hours: a day, the commitment auditors most
/// often ask for.
pub const DEFAULT_ACCESS_REMOVAL_SLA_HOURS: i64 = 24;
/// The longest SLA accepted, in days: beyond a year, a month's met and missed say
/// nothing.
pub const MAX_ACCESS_REMOVAL_SLA_DAYS: i64 = 365;

/// The configured SLA, or the default when unset.
pub(super) fn access_removal_sla(vars: &Vars) -> Result<TimeDelta, ConfigError> {
    match vars.present(ACCESS_REMOVAL_SLA_VAR) {
        None => Ok(TimeDelta::hours(DEFAULT_ACCESS_REMOVAL_SLA_HOURS)),
        Some(text) => parse_sla(&text).ok_or(ConfigError::InvalidAccessRemovalSla),
    }
}

/// `text` as an SLA: a whole number of units (`s`, `m`, `h` or `d`, in any case; none
/// for seconds), from one second to [`MAX_ACCESS_REMOVAL_SLA_DAYS`]. No sign, no
/// fraction, no space and no combination (`1h30m` is `90m`): one reading only.
pub(super) fn parse_sla(text: &str) -> Option<TimeDelta> {
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let count: i64 = number.parse().ok()?;
    let unit_seconds = match unit.to_ascii_lowercase().as_str() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return None,
    };
    let seconds = count.checked_mul(unit_seconds)?;
    (1..=MAX_ACCESS_REMOVAL_SLA_DAYS * 86_400)
        .contains(&seconds)
        .then(|| TimeDelta::seconds(seconds))
}
