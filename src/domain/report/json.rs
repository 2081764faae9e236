//! The report as one JSON object: `header`, `summary` (with the histogram) and `rows`,
//! each row's fields named as the CSV's columns. Field names are stable: docs/report.md
//! lists them.

use super::columns::{instant, readable, sla_text};
use super::rows::{Report, Row};
use serde::Serialize;

/// The `report` field's value: what the object is.
pub const JSON_REPORT: &str = "merge-deprovision.access-removal";

#[derive(Serialize)]
struct Document<'a> {
    report: &'static str,
    version: u32,
    header: Header,
    summary: Summary,
    rows: Vec<JsonRow<'a>>,
}

#[derive(Serialize)]
struct Header {
    period: String,
    period_first: String,
    period_last: String,
    linked_account_id: Option<String>,
    sla_seconds: i64,
    sla: String,
    as_of: String,
}

#[derive(Serialize)]
struct Summary {
    leavers: usize,
    targets: usize,
    rows: usize,
    met: usize,
    missed: usize,
    open: usize,
    exempt: usize,
    undone: usize,
    open_items: usize,
    median_lag_seconds: Option<i64>,
    median_lag: Option<String>,
    worst_lag_seconds: Option<i64>,
    worst_lag: Option<String>,
    histogram: Vec<Bar>,
}

#[derive(Serialize)]
struct Bar {
    bucket: &'static str,
    label: &'static str,
    rows: usize,
}

/// One row: the columns' text, but a flag as a boolean, the lag as a number and an
/// absent value as `null`.
#[derive(Serialize)]
struct JsonRow<'a> {
    linked_account_id: &'a str,
    employee_id: &'a str,
    remote_id: Option<&'a str>,
    employee_number: Option<&'a str>,
    work_email: Option<&'a str>,
    username: Option<&'a str>,
    display_name: Option<&'a str>,
    integration: Option<&'a str>,
    organization: Option<&'a str>,
    termination_date: Option<String>,
    terminated_at: String,
    effective_at: String,
    effective_rule: Option<&'a str>,
    learned_at: String,
    learned_by: &'static str,
    terminated_by: &'static str,
    historical: bool,
    target: Option<&'a str>,
    target_user_id: Option<&'a str>,
    status: &'static str,
    status_at: Option<String>,
    started_by: Option<&'static str>,
    access_ended_at: Option<String>,
    ended_by: Option<&'static str>,
    undone_at: Option<String>,
    rehired_at: Option<String>,
    lag_seconds: Option<i64>,
    lag: Option<String>,
    sla: &'static str,
    access_ended: bool,
}

fn json_row(row: &Row) -> JsonRow<'_> {
    let id = &row.identity;
    JsonRow {
        linked_account_id: &row.key.linked_account_id,
        employee_id: &row.key.employee_id,
        remote_id: id.remote_id.as_deref(),
        employee_number: id.employee_number.as_deref(),
        work_email: id.work_email.as_deref(),
        username: id.username.as_deref(),
        display_name: id.display_full_name.as_deref(),
        integration: id.integration.as_deref(),
        organization: id.end_user_organization_name.as_deref(),
        termination_date: row.termination_date.map(instant),
        terminated_at: instant(row.terminated_at),
        effective_at: instant(row.effective_at),
        effective_rule: row.rule.as_deref(),
        learned_at: instant(row.learned_at),
        learned_by: row.learned_by.as_str(),
        terminated_by: row.terminated_by.as_str(),
        historical: row.historical,
        target: row.target.as_deref(),
        target_user_id: row.target_user.as_deref(),
        status: row.status.as_str(),
        status_at: row.status_at.map(instant),
        started_by: row.started_by.map(|t| t.as_str()),
        access_ended_at: row.access_ended_at.map(instant),
        ended_by: row.ended_by.map(|t| t.as_str()),
        undone_at: row.undone_at.map(instant),
        rehired_at: row.rehired_at.map(instant),
        lag_seconds: row.lag.map(|l| l.num_seconds()),
        lag: row.lag.map(readable),
        sla: row.verdict.as_str(),
        access_ended: row.access_ended_at.is_some(),
    }
}

/// `report` as pretty-printed JSON.
pub fn render(report: &Report) -> String {
    let (h, s) = (&report.header, &report.summary);
    let document = Document {
        report: JSON_REPORT,
        version: 1,
        header: Header {
            period: h.period.label(),
            period_first: h.period.first().format("%Y-%m-%d").to_string(),
            period_last: h.period.last().format("%Y-%m-%d").to_string(),
            linked_account_id: h.linked_account_id.clone(),
            sla_seconds: h.sla.num_seconds(),
            sla: sla_text(h.sla),
            as_of: instant(h.as_of),
        },
        summary: Summary {
            leavers: s.leavers,
            targets: s.targets,
            rows: s.rows,
            met: s.met,
            missed: s.missed,
            open: s.open,
            exempt: s.exempt,
            undone: s.undone,
            open_items: s.open_items,
            median_lag_seconds: s.median_lag.map(|l| l.num_seconds()),
            median_lag: s.median_lag.map(readable),
            worst_lag_seconds: s.worst_lag.map(|l| l.num_seconds()),
            worst_lag: s.worst_lag.map(readable),
            histogram: report
                .histogram()
                .into_iter()
                .map(|(b, rows)| Bar {
                    bucket: b.as_str(),
                    label: b.label(),
                    rows,
                })
                .collect(),
        },
        rows: report.rows.iter().map(json_row).collect(),
    };
    // Plain structs of strings and numbers: serialising cannot fail.
    serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"
}
