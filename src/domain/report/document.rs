//! The report document (`merge-deprovision.report`): which period, which linked account
//! (or all) and which forms, read as the other operators' documents are: every field
//! checked by name before its value is read, and a refusal names the field, never what
//! it held.

use super::period::Period;
use crate::domain::undo::{
    ControlError, FieldKind, MAX_FIELD, account_text, check_fields, kind_of, text,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;

/// The `kind` of the report document.
pub const REPORT_KIND: &str = "merge-deprovision.report";

/// The `period` the monthly schedule sends: the month before the one it fires in.
pub const PREVIOUS_MONTH: &str = "previous-month";

/// A form the report is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Form {
    /// Comma-separated values, RFC 4180, one row per leaver per target.
    Csv,
    /// The header, summary and rows as one JSON object.
    Json,
    /// One self-contained HTML page: summary, lag histogram and table.
    Html,
}

impl Form {
    /// Every form, in the order a document's default lists them.
    pub const ALL: [Form; 3] = [Form::Csv, Form::Json, Form::Html];

    /// The name a document gives, and the object's extension.
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Csv => "csv",
            Form::Json => "json",
            Form::Html => "html",
        }
    }

    /// The form a document's name means.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == text)
    }

    /// The object's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Form::Csv => "text/csv; charset=utf-8; header=present",
            Form::Json => "application/json",
            Form::Html => "text/html; charset=utf-8",
        }
    }
}

/// The period a document asks for, before the time it is made at is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// The month before the one the report is made in (`"previous-month"`).
    PreviousMonth,
    /// A given period: a month (`"2026-11"`) or `from` and `to` dates.
    Given(Period),
}

impl Asked {
    /// The period, for a report made at `now`.
    pub fn period(self, now: DateTime<Utc>) -> Period {
        match self {
            Asked::PreviousMonth => Period::previous_month(now),
            Asked::Given(period) => period,
        }
    }
}

/// `{"kind": "merge-deprovision.report", "version": 1, "period": "2026-11"}` (or
/// `"previous-month"`, or `"from"` and `"to"` dates instead of `"period"`), with an
/// optional `"linked_account_id"` (every account when absent) and `"forms"` (all three
/// when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportDocument {
    /// Which period.
    pub period: Asked,
    /// One linked account, or every account.
    pub linked_account_id: Option<String>,
    /// The forms to write, each once, in [`Form::ALL`]'s order.
    pub forms: Vec<Form>,
}

/// Why a report document cannot be read: names the field, never echoes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReportDocumentError {
    /// A refusal every operator's document shares: the shape, the version, an unknown
    /// field, a wrong type, a blank or over-long value.
    #[error(transparent)]
    Field(#[from] ControlError),
    /// Neither `period` nor `from` with `to`.
    #[error("one of `period`, or `from` with `to`, is required")]
    NoPeriod,
    /// Both.
    #[error("only one of `period`, or `from` with `to`, may be given")]
    TwoPeriods,
    /// `period` is neither a month nor `previous-month`.
    #[error("`period` must be a month, as 2026-11, or previous-month")]
    BadPeriod,
    /// `from` or `to` is not a date.
    #[error("`{0}` must be a date, as 2026-11-01")]
    BadDate(&'static str),
    /// `from` without `to`, or the reverse.
    #[error("`from` and `to` go together: give both")]
    HalfPeriod,
    /// `to` before `from`, or a span longer than a report covers.
    #[error("`to` must not be before `from`, and a period spans at most 366 days")]
    Span,
    /// `forms` is not a list of known forms, each given once.
    #[error("`forms` must be a non-empty list of csv, json and html, each at most once")]
    BadForms,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportShape {
    #[allow(dead_code)]
    kind: String,
    #[allow(dead_code)]
    version: u32,
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    linked_account_id: Option<String>,
    forms: Option<Value>,
}

/// The report document's fields (`forms` is a list, checked by its own reader).
const REPORT_FIELDS: [(&str, FieldKind); 6] = [
    ("kind", FieldKind::Any),
    ("period", FieldKind::Text),
    ("from", FieldKind::Text),
    ("to", FieldKind::Text),
    ("linked_account_id", FieldKind::Text),
    ("forms", FieldKind::Any),
];

/// The report document in `body`; `None` for a document of another kind.
pub fn read_report(body: &[u8]) -> Option<Result<ReportDocument, ReportDocumentError>> {
    if kind_of(body)?.as_str() != REPORT_KIND {
        return None;
    }
    Some(parse_report(body))
}

fn parse_report(body: &[u8]) -> Result<ReportDocument, ReportDocumentError> {
    check_fields(
        body,
        &REPORT_FIELDS,
        "`kind`, `version`, `period`, `from`, `to`, `linked_account_id`, `forms`",
    )?;
    let shape: ReportShape = serde_json::from_slice(body).map_err(|_| ControlError::Shape)?;
    let linked_account_id = account_text(shape.linked_account_id)?;
    let period = match (
        text(shape.period, "period")?,
        date(shape.from, "from")?,
        date(shape.to, "to")?,
    ) {
        (Some(period), None, None) => month(&period)?,
        (None, Some(first), Some(last)) => {
            Asked::Given(Period::between(first, last).ok_or(ReportDocumentError::Span)?)
        }
        (None, None, None) => return Err(ReportDocumentError::NoPeriod),
        (None, _, _) => return Err(ReportDocumentError::HalfPeriod),
        (Some(_), _, _) => return Err(ReportDocumentError::TwoPeriods),
    };
    Ok(ReportDocument {
        period,
        linked_account_id,
        forms: forms(shape.forms)?,
    })
}

fn month(text: &str) -> Result<Asked, ReportDocumentError> {
    if text == PREVIOUS_MONTH {
        return Ok(Asked::PreviousMonth);
    }
    // Exactly `YYYY-MM`: the parser alone would take `2026-1` or a sign.
    let (year, month) = text.split_once('-').ok_or(ReportDocumentError::BadPeriod)?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(year, 4) || !digits(month, 2) {
        return Err(ReportDocumentError::BadPeriod);
    }
    let (year, month) = (year.parse(), month.parse());
    match (year, month) {
        (Ok(year), Ok(month)) => Period::month(year, month)
            .map(Asked::Given)
            .ok_or(ReportDocumentError::BadPeriod),
        _ => Err(ReportDocumentError::BadPeriod),
    }
}

fn date(
    value: Option<String>,
    field: &'static str,
) -> Result<Option<NaiveDate>, ReportDocumentError> {
    let Some(text) = text(value, field)? else {
        return Ok(None);
    };
    let exact = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .ok()
        .filter(|_| exact)
        .map(Some)
        .ok_or(ReportDocumentError::BadDate(field))
}

fn forms(value: Option<Value>) -> Result<Vec<Form>, ReportDocumentError> {
    let list = match value {
        None | Some(Value::Null) => return Ok(Form::ALL.to_vec()),
        Some(Value::Array(list)) if !list.is_empty() && list.len() <= Form::ALL.len() => list,
        Some(_) => return Err(ReportDocumentError::BadForms),
    };
    let mut forms = Vec::new();
    for item in &list {
        let form = item
            .as_str()
            .filter(|name| name.len() <= MAX_FIELD)
            .and_then(Form::parse)
            .ok_or(ReportDocumentError::BadForms)?;
        if forms.contains(&form) {
            return Err(ReportDocumentError::BadForms);
        }
        forms.push(form);
    }
    forms.sort();
    Ok(forms)
}
