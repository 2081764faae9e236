//! The parts of Merge's HRIS Employee that the decision and the log record need.
//!
//! Every other field, including the sensitive ones and `remote_data`, is skipped by the
//! parser without being allocated, so it can neither be logged nor cost memory.

use crate::domain::lenient::{Scalar, text};
use serde::{Deserialize, Deserializer};

/// A Merge Employee, reduced to identity and employment-state fields.
///
/// Every field is optional. A field of an unexpected JSON type is treated as absent
/// (identity fields) or unreadable (dates) instead of failing the delivery: Merge
/// normalises many HR systems and a retry cannot change what it sent.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct Employee {
    /// Merge's id for the employee.
    #[serde(deserialize_with = "text")]
    pub id: Option<String>,
    /// The HR system's own id.
    #[serde(deserialize_with = "text")]
    pub remote_id: Option<String>,
    /// The employee number in the HR system.
    #[serde(deserialize_with = "text")]
    pub employee_number: Option<String>,
    /// Username in the HR system, often the directory login.
    #[serde(deserialize_with = "text")]
    pub username: Option<String>,
    /// Work e-mail address: the usual key for finding accounts to revoke.
    #[serde(deserialize_with = "text")]
    pub work_email: Option<String>,
    /// Full display name.
    #[serde(deserialize_with = "text")]
    pub display_full_name: Option<String>,
    /// `ACTIVE`, `PENDING`, `INACTIVE`, or a value Merge did not normalise.
    #[serde(deserialize_with = "status")]
    pub employment_status: Option<EmploymentStatus>,
    /// When employment ends or ended.
    #[serde(deserialize_with = "date")]
    pub termination_date: Option<RawDate>,
    /// The most recent hire date.
    #[serde(deserialize_with = "date")]
    pub hire_date: Option<RawDate>,
    /// The most recent start date.
    #[serde(deserialize_with = "date")]
    pub start_date: Option<RawDate>,
    /// When Merge last saw the record change.
    #[serde(deserialize_with = "date")]
    pub modified_at: Option<RawDate>,
    /// True when the record was deleted in the HR system.
    #[serde(deserialize_with = "flag")]
    pub remote_was_deleted: Option<bool>,
}

/// Merge's `employment_status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmploymentStatus {
    /// Currently employed.
    Active,
    /// Pre-hire: accepted an offer, not started.
    Pending,
    /// No longer employed.
    Inactive,
    /// A value outside Merge's enum, kept for the log.
    Other(String),
}

impl EmploymentStatus {
    /// Reads a status case-insensitively, keeping unknown values.
    pub fn from_text(text: &str) -> Self {
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("ACTIVE") {
            EmploymentStatus::Active
        } else if trimmed.eq_ignore_ascii_case("PENDING") {
            EmploymentStatus::Pending
        } else if trimmed.eq_ignore_ascii_case("INACTIVE") {
            EmploymentStatus::Inactive
        } else {
            EmploymentStatus::Other(trimmed.to_owned())
        }
    }

    /// The status as it appears in log records.
    pub fn as_str(&self) -> &str {
        match self {
            EmploymentStatus::Active => "ACTIVE",
            EmploymentStatus::Pending => "PENDING",
            EmploymentStatus::Inactive => "INACTIVE",
            EmploymentStatus::Other(other) => other,
        }
    }
}

/// A date field as it arrived, before parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawDate {
    /// A string, parsed later by [`crate::domain::dates::parse_hr_date`].
    Text(String),
    /// A number, object or list where a date string belongs.
    NotText,
}

impl RawDate {
    /// Shorthand for a textual date.
    pub fn text(value: impl Into<String>) -> Self {
        RawDate::Text(value.into())
    }
}

fn status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<EmploymentStatus>, D::Error> {
    Ok(text(d)?.map(|s| EmploymentStatus::from_text(&s)))
}

fn date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<RawDate>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::Null => None,
        Scalar::Text(s) => Some(RawDate::Text(s)),
        Scalar::Number(_) | Scalar::Bool(_) | Scalar::Container => Some(RawDate::NotText),
    })
}

fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::Bool(b) => Some(b),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Employee {
        serde_json::from_str(json).expect("employee parses")
    }

    #[test]
    fn empty_object_is_an_employee_with_nothing_known() {
        assert_eq!(parse("{}"), Employee::default());
    }

    #[test]
    fn nulls_are_absent_values() {
        let employee = parse(
            r#"{"id":null,"work_email":null,"termination_date":null,
                "employment_status":null,"remote_was_deleted":null}"#,
        );
        assert_eq!(employee, Employee::default());
    }

    #[test]
    fn identity_and_state_fields_are_read() {
        let employee = parse(
            r#"{"id":"e1","remote_id":"19202938","employee_number":"2","username":"cg",
                "work_email":"greg@example.com","display_full_name":"Greg H",
                "employment_status":"INACTIVE","termination_date":"2026-11-20T00:00:00Z",
                "hire_date":"2020-10-10","start_date":"2020-10-11",
                "modified_at":"2026-11-26T04:12:09Z","remote_was_deleted":false}"#,
        );
        assert_eq!(employee.id.as_deref(), Some("e1"));
        assert_eq!(employee.work_email.as_deref(), Some("greg@example.com"));
        assert_eq!(employee.employment_status, Some(EmploymentStatus::Inactive));
        assert_eq!(
            employee.termination_date,
            Some(RawDate::text("2026-11-20T00:00:00Z"))
        );
        assert_eq!(employee.hire_date, Some(RawDate::text("2020-10-10")));
        assert_eq!(employee.remote_was_deleted, Some(false));
    }

    #[test]
    fn numeric_identifiers_are_kept_as_text() {
        let employee = parse(r#"{"employee_number":2,"remote_id":19202938}"#);
        assert_eq!(employee.employee_number.as_deref(), Some("2"));
        assert_eq!(employee.remote_id.as_deref(), Some("19202938"));
    }

    #[test]
    fn status_is_case_insensitive_and_keeps_unknown_values() {
        assert_eq!(
            EmploymentStatus::from_text(" inactive "),
            EmploymentStatus::Inactive
        );
        assert_eq!(
            EmploymentStatus::from_text("Active"),
            EmploymentStatus::Active
        );
        assert_eq!(
            EmploymentStatus::from_text("ON_LEAVE"),
            EmploymentStatus::Other("ON_LEAVE".into())
        );
    }

    #[test]
    fn a_non_string_date_is_unreadable_not_an_error() {
        let employee = parse(r#"{"termination_date":20261120,"hire_date":{"y":2020}}"#);
        assert_eq!(employee.termination_date, Some(RawDate::NotText));
        assert_eq!(employee.hire_date, Some(RawDate::NotText));
    }

    #[test]
    fn unexpected_types_in_identity_fields_are_dropped() {
        let employee =
            parse(r#"{"work_email":["a","b"],"id":{"nested":true},"remote_was_deleted":"yes"}"#);
        assert_eq!(employee.work_email, None);
        assert_eq!(employee.id, None);
        assert_eq!(employee.remote_was_deleted, None);
    }

    #[test]
    fn related_objects_and_sensitive_fields_are_skipped() {
        let employee = parse(
            r#"{"id":"e1","company":{"id":"c"},"manager":"m","team":"t",
                "groups":[{"id":"g"}],"employments":["x"],"ssn":"123",
                "remote_data":[{"path":"/p","data":{"deep":[1,2,3]}}]}"#,
        );
        assert_eq!(employee.id.as_deref(), Some("e1"));
    }
}
