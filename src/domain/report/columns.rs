//! The report's columns: their stable names, in order, and each row's cells as text, so
//! the CSV, JSON and HTML forms carry the same columns and no other.

use super::rows::Row;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

/// The columns, in order: the CSV header, the JSON rows' field names, the table's
/// `data-column` names.
pub const COLUMNS: [&str; 30] = [
    "work_email",
    "display_name",
    "employee_id",
    "target",
    "status",
    "sla",
    "lag",
    "effective_at",
    "access_ended_at",
    "termination_date",
    "effective_rule",
    "learned_at",
    "learned_by",
    "terminated_at",
    "terminated_by",
    "historical",
    "target_user_id",
    "status_at",
    "started_by",
    "ended_by",
    "undone_at",
    "rehired_at",
    "lag_seconds",
    "access_ended",
    "linked_account_id",
    "remote_id",
    "employee_number",
    "username",
    "integration",
    "organization",
];

/// An instant as every form prints it: RFC 3339 in UTC, with a fraction only when it has
/// one.
pub fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A lag as people read it: `0 s`, `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`.
pub fn readable(lag: TimeDelta) -> String {
    let seconds = lag.num_seconds().max(0);
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// `row`'s cells, in [`COLUMNS`]' order; absent values are empty.
pub fn cells(row: &Row) -> [String; 30] {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let at = |v: Option<DateTime<Utc>>| v.map(instant).unwrap_or_default();
    let by = |v: Option<crate::domain::evidence::Trigger>| {
        v.map(|t| t.as_str().to_owned()).unwrap_or_default()
    };
    let id = &row.identity;
    [
        text(&id.work_email),
        text(&id.display_full_name),
        row.key.employee_id.clone(),
        text(&row.target),
        row.status.as_str().to_owned(),
        row.verdict.as_str().to_owned(),
        row.lag.map(readable).unwrap_or_default(),
        instant(row.effective_at),
        at(row.access_ended_at),
        at(row.termination_date),
        text(&row.rule),
        instant(row.learned_at),
        row.learned_by.as_str().to_owned(),
        instant(row.terminated_at),
        row.terminated_by.as_str().to_owned(),
        row.historical.to_string(),
        text(&row.target_user),
        at(row.status_at),
        by(row.started_by),
        by(row.ended_by),
        at(row.undone_at),
        at(row.rehired_at),
        row.lag
            .map(|l| l.num_seconds().to_string())
            .unwrap_or_default(),
        row.access_ended_at.is_some().to_string(),
        row.key.linked_account_id.clone(),
        text(&id.remote_id),
        text(&id.employee_number),
        text(&id.username),
        text(&id.integration),
        text(&id.end_user_organization_name),
    ]
}

/// The SLA as headers print it: whole hours as `24 h`, else as a lag.
pub fn sla_text(sla: TimeDelta) -> String {
    match sla.num_seconds() {
        s if s > 0 && s % 3_600 == 0 => format!("{} h", s / 3_600),
        _ => readable(sla),
    }
}
