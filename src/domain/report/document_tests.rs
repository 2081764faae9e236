//! The report document: the samples in `events/report/` read as they say, and each
//! refusal names its field without echoing a value.

use super::*;
use crate::domain::undo::ControlError;
use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};

const ACCOUNT: &str = "a3602c03-aba7-4d9d-a349-dbc338504092";

fn sample(name: &str) -> Vec<u8> {
    let path = format!("{}/events/report/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(path).unwrap()
}

fn read(body: Value) -> Result<ReportDocument, ReportDocumentError> {
    read_report(body.to_string().as_bytes()).expect("a report document")
}

fn with(extra: Value) -> Result<ReportDocument, ReportDocumentError> {
    let mut body = json!({"kind": REPORT_KIND, "version": 1});
    for (k, v) in extra.as_object().unwrap() {
        body[k.as_str()] = v.clone();
    }
    read(body)
}

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

#[test]
fn the_schedules_sample_asks_for_the_previous_month_of_every_account_in_every_form() {
    let document = read_report(&sample("previous-month")).unwrap().unwrap();
    assert_eq!(document.period, Asked::PreviousMonth);
    assert_eq!(document.linked_account_id, None);
    assert_eq!(document.forms, Form::ALL);
    let fired = Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap();
    assert_eq!(
        document.period.period(fired),
        Period::month(2026, 11).unwrap()
    );
}

#[test]
fn the_month_sample_names_one_month_of_one_account() {
    let document = read_report(&sample("month")).unwrap().unwrap();
    assert_eq!(
        document.period,
        Asked::Given(Period::month(2026, 11).unwrap())
    );
    assert_eq!(document.linked_account_id.as_deref(), Some(ACCOUNT));
    assert_eq!(document.forms, Form::ALL);
}

#[test]
fn the_range_sample_names_its_days_and_one_form() {
    let document = read_report(&sample("range-csv")).unwrap().unwrap();
    let period = Period::between(day(11, 16), day(11, 30)).unwrap();
    assert_eq!(document.period, Asked::Given(period));
    assert_eq!(document.forms, [Form::Csv]);
}

#[test]
fn another_kind_of_document_is_not_a_report() {
    let undo = json!({"kind": "merge-deprovision.undo", "version": 1});
    assert_eq!(read_report(undo.to_string().as_bytes()), None);
    assert_eq!(read_report(b"not json"), None);
}

#[test]
fn forms_are_kept_in_one_order_whatever_order_they_are_asked_in() {
    let document = with(json!({"period": "2026-11", "forms": ["html", "csv"]})).unwrap();
    assert_eq!(document.forms, [Form::Csv, Form::Html]);
}

#[test]
fn a_period_is_a_month_or_the_previous_one_or_two_dates_and_never_both() {
    use ReportDocumentError::*;
    let refused = |extra: Value| with(extra).unwrap_err();
    assert_eq!(refused(json!({})), NoPeriod);
    assert_eq!(
        refused(json!({"period": "2026-11", "from": "2026-11-01", "to": "2026-11-02"})),
        TwoPeriods
    );
    assert_eq!(refused(json!({"from": "2026-11-01"})), HalfPeriod);
    assert_eq!(refused(json!({"to": "2026-11-01"})), HalfPeriod);
    for bad in [
        "2026-13",
        "2026-1",
        "+2026-11",
        "november",
        "2026-11-01",
        "last-month",
    ] {
        assert_eq!(refused(json!({"period": bad})), BadPeriod, "{bad}");
    }
    for bad in [
        "2026-11-31",
        "2026-11-1",
        "2026-11-01T00:00:00Z",
        "11/01/2026",
    ] {
        assert_eq!(
            refused(json!({"from": bad, "to": "2026-12-01"})),
            BadDate("from"),
            "{bad}"
        );
    }
    assert_eq!(
        refused(json!({"from": "2026-11-02", "to": "2026-11-01"})),
        Span
    );
    assert_eq!(
        refused(json!({"from": "2025-01-01", "to": "2026-01-02"})),
        Span
    );
    let leap_year = with(json!({"from": "2028-01-01", "to": "2028-12-31"})).unwrap();
    assert!(matches!(leap_year.period, Asked::Given(_)));
}

#[test]
fn forms_must_be_a_list_of_known_forms_each_once() {
    for bad in [
        json!([]),
        json!(["pdf"]),
        json!(["csv", "csv"]),
        json!("csv"),
        json!([1]),
        json!(["csv", "json", "html", "csv"]),
    ] {
        assert_eq!(
            with(json!({"period": "2026-11", "forms": bad})).unwrap_err(),
            ReportDocumentError::BadForms,
            "{bad}"
        );
    }
}

#[test]
fn the_shared_refusals_name_the_field() {
    use ReportDocumentError::Field;
    let refused = |extra: Value| with(extra).unwrap_err();
    assert!(matches!(
        refused(json!({"period": "2026-11", "employee_id": "e"})),
        Field(ControlError::UnknownField(_))
    ));
    assert_eq!(
        refused(json!({"period": 202611})),
        Field(ControlError::WrongType("period", "a string"))
    );
    assert_eq!(
        refused(json!({"period": "2026-11", "linked_account_id": " "})),
        Field(ControlError::Blank("linked_account_id"))
    );
    assert_eq!(
        refused(json!({"period": "2026-11", "linked_account_id": "a".repeat(257)})),
        Field(ControlError::TooLong("linked_account_id"))
    );
    assert_eq!(
        refused(json!({"period": "2026-11", "version": 2})),
        Field(ControlError::Version)
    );
}

#[test]
fn a_refusal_never_echoes_what_the_document_held() {
    let secret = "SECRET-SENTINEL-4c1d";
    for extra in [
        json!({"period": secret}),
        json!({"from": secret, "to": "2026-11-02"}),
        json!({"period": "2026-11", "forms": [secret]}),
        json!({"period": "2026-11", secret: 1}),
    ] {
        let message = with(extra).unwrap_err().to_string();
        assert!(!message.contains(secret), "{message}");
    }
}

#[test]
fn an_account_id_that_names_one_of_the_tables_own_partitions_or_a_path_is_refused() {
    for id in ["#evidence#2026-11", "#all", "a/b", "line\nbreak"] {
        let refused = with(json!({"period": "2026-11", "linked_account_id": id}));
        assert_eq!(
            refused,
            Err(ReportDocumentError::Field(ControlError::NotAnAccount(
                "linked_account_id"
            ))),
            "{id:?}"
        );
        let message = refused.unwrap_err().to_string();
        assert!(!message.contains(id), "{message}");
    }
    let accepted = with(json!({"period": "2026-11", "linked_account_id": ACCOUNT})).unwrap();
    assert_eq!(accepted.linked_account_id.as_deref(), Some(ACCOUNT));
}
