//! The report's three forms: the same documented columns in each, values quoted, guarded
//! and escaped, a page that fetches nothing, and nothing sensitive in any of them.

use super::columns::COLUMNS;
use super::tests::{ACME, as_of, month, nov, november, outcome, sla, terminated};
use super::*;
use crate::domain::evidence::{Evidence, Fact, Trigger};
use crate::domain::ledger::EmployeeKey;
use crate::domain::outcome::Outcome;
use serde_json::Value;
use std::collections::BTreeSet;

fn report() -> Report {
    build(&month(), &november(), Some(ACME), sla(), as_of())
}

/// Reads CSV as RFC 4180 writes it: quoted cells, doubled quotes, CRLF lines.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut lines, mut line, mut cell) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => line.push(std::mem::take(&mut cell)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                line.push(std::mem::take(&mut cell));
                lines.push(std::mem::take(&mut line));
            }
            (false, c) => cell.push(c),
        }
    }
    assert!(
        cell.is_empty() && line.is_empty(),
        "the last line ends in CRLF"
    );
    lines
}

/// A leaver whose display name is every kind of hostile text.
fn hostile(name: &str) -> Report {
    let mut fact = terminated(
        ACME,
        "e1",
        nov(2, 9, 0),
        Some(nov(2, 9, 0)),
        Trigger::Webhook,
    );
    if let Fact::Terminated { identity, .. } = &mut fact.fact {
        identity.display_full_name = Some(name.to_owned());
        identity.username = Some("=HYPERLINK(\"http://x\")".to_owned());
        identity.employee_number = Some("-1+2".to_owned());
    }
    build(&[fact], &november(), Some(ACME), sla(), as_of())
}

const HOSTILE: &str = "O\"Brien, Pat\n<script>alert(1)</script> & 'co'";

#[test]
fn the_csv_has_a_header_of_the_columns_and_one_line_per_row_cell_for_cell() {
    let report = report();
    let lines = parse_csv(&Form::Csv.render(&report));
    assert_eq!(lines[0], COLUMNS);
    assert_eq!(lines.len(), report.rows.len() + 1);
    for (line, row) in lines[1..].iter().zip(&report.rows) {
        assert_eq!(line, &columns::cells(row).to_vec());
    }
}

#[test]
fn a_csv_cell_with_a_quote_comma_or_line_break_is_quoted_and_reads_back_whole() {
    let lines = parse_csv(&Form::Csv.render(&hostile(HOSTILE)));
    let column = |name: &str| COLUMNS.iter().position(|c| *c == name).unwrap();
    assert_eq!(lines[1][column("display_name")], HOSTILE);
    assert!(
        Form::Csv
            .render(&hostile(HOSTILE))
            .contains("\"O\"\"Brien, Pat\n<script>")
    );
}

#[test]
fn a_csv_cell_a_spreadsheet_would_run_as_a_formula_is_made_text() {
    let csv = Form::Csv.render(&hostile("=cmd|' /C calc'!A0"));
    let lines = parse_csv(&csv);
    let column = |name: &str| COLUMNS.iter().position(|c| *c == name).unwrap();
    assert_eq!(lines[1][column("display_name")], "'=cmd|' /C calc'!A0");
    assert_eq!(lines[1][column("username")], "'=HYPERLINK(\"http://x\")");
    assert_eq!(lines[1][column("employee_number")], "'-1+2");
    for start in ["+1", "@SUM(A1)", "\tx", "\rx"] {
        let lines = parse_csv(&Form::Csv.render(&hostile(start)));
        assert_eq!(
            lines[1][column("display_name")],
            format!("'{start}"),
            "{start:?}"
        );
    }
    let plain = parse_csv(&Form::Csv.render(&hostile("Pat Doe")));
    assert_eq!(plain[1][column("display_name")], "Pat Doe");
}

#[test]
fn the_json_has_a_header_a_summary_and_rows_of_the_documented_fields() {
    let report = report();
    let json: Value = serde_json::from_str(&Form::Json.render(&report)).unwrap();
    let keys = |v: &Value| {
        v.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        keys(&json),
        set(&["report", "version", "header", "summary", "rows"])
    );
    assert_eq!(json["report"], "merge-deprovision.access-removal");
    let header = &json["header"];
    assert_eq!(header["period"], "2026-11");
    assert_eq!(header["period_first"], "2026-11-01");
    assert_eq!(header["period_last"], "2026-11-30");
    assert_eq!(header["linked_account_id"], ACME);
    assert_eq!(header["sla_seconds"], 86_400);
    assert_eq!(header["sla"], "24 h");
    assert_eq!(header["as_of"], "2026-12-01T06:00:00Z");
    let summary = &json["summary"];
    assert_eq!(summary["leavers"], report.summary.leavers);
    assert_eq!(summary["missed"], report.summary.missed);
    assert_eq!(summary["open_items"], report.summary.open_items);
    assert_eq!(summary["median_lag_seconds"], 300);
    assert_eq!(summary["worst_lag"], "2 d 12 h");
    assert_eq!(summary["histogram"][5]["bucket"], "open");
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), report.rows.len());
    for (row, cells) in rows.iter().zip(report.rows.iter().map(columns::cells)) {
        assert_eq!(keys(row), set(&COLUMNS));
        for (name, cell) in COLUMNS.iter().zip(cells) {
            let text = match &row[name] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(text, cell, "{name}");
        }
    }
    assert_eq!(rows[2]["lag_seconds"], 216_000);
    assert_eq!(rows[2]["historical"], false);
    assert_eq!(rows[4]["access_ended_at"], Value::Null);
}

#[test]
fn the_page_fetches_nothing_and_prints() {
    let page = Form::Html.render(&report());
    let lower = page.to_lowercase();
    for forbidden in [
        "<script",
        "<link",
        "<img",
        "<iframe",
        "<object",
        "<embed",
        "src=",
        "href=",
        "url(",
        "@import",
        "@font-face",
        "http://",
        "https://",
    ] {
        assert!(!lower.contains(forbidden), "{forbidden}");
    }
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("content=\"default-src 'none'; style-src 'unsafe-inline'\""));
    assert!(page.contains("@media print"));
    for id in ["id=\"summary\"", "id=\"histogram\"", "<table id=\"rows\">"] {
        assert_eq!(page.matches(id).count(), 1, "{id}");
    }
}

#[test]
fn the_page_has_one_table_row_per_row_and_the_documented_columns() {
    let report = report();
    let page = Form::Html.render(&report);
    let body = page
        .split("<tbody>")
        .nth(1)
        .unwrap()
        .split("</tbody>")
        .next()
        .unwrap();
    assert_eq!(body.matches("<tr ").count(), report.rows.len());
    let head = page
        .split("<thead>")
        .nth(1)
        .unwrap()
        .split("</thead>")
        .next()
        .unwrap();
    let named: Vec<&str> = head
        .split("data-column=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    assert_eq!(named, COLUMNS);
    assert_eq!(
        body.matches("<td ").count(),
        report.rows.len() * COLUMNS.len()
    );
    assert!(page.contains("<dd data-field=\"open_items\">6</dd>"));
    assert!(page.contains("data-bucket=\"le_1h\" data-rows=\"7\""));
}

#[test]
fn every_value_on_the_page_is_escaped() {
    let page = Form::Html.render(&hostile(HOSTILE));
    assert!(!page.contains("<script>"));
    assert!(
        page.contains(
            "O&quot;Brien, Pat\n&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#39;co&#39;"
        )
    );
    let page = Form::Html.render(&build(
        &[],
        &november(),
        Some("<b>\"a\"</b>"),
        sla(),
        as_of(),
    ));
    assert!(!page.contains("<b>"));
    assert!(page.contains("&lt;b&gt;&quot;a&quot;&lt;/b&gt;"));
}

#[test]
fn an_empty_month_renders_in_every_form() {
    let empty = build(&[], &november(), None, sla(), as_of());
    assert_eq!(empty.summary, Summary::default());
    assert_eq!(
        parse_csv(&Form::Csv.render(&empty)),
        [COLUMNS.map(str::to_owned).to_vec()]
    );
    let json: Value = serde_json::from_str(&Form::Json.render(&empty)).unwrap();
    assert_eq!(json["rows"], Value::Array(vec![]));
    assert_eq!(json["summary"]["median_lag"], Value::Null);
    assert!(Form::Html.render(&empty).contains("<tbody>\n</tbody>"));
}

const SSN: &str = "078-05-1120";
const BIRTH_DATE: &str = "1961-07-04";
const TOKEN: &str = "TOKEN-SENTINEL-scim-9f3e";

/// Free text a fact carries outside the identity columns: the operator's action and
/// summary, and the runs.
fn sentinel_facts() -> Vec<Evidence> {
    let mut facts = month();
    let sensitive = format!("ssn {SSN} born {BIRTH_DATE} token {TOKEN}");
    for fact in &mut facts {
        if let Fact::Target { run, .. } = &mut fact.fact {
            *run = Some(sensitive.clone());
        }
    }
    facts.push(Evidence {
        key: EmployeeKey::new(Some(ACME), "e01"),
        at: nov(3, 9, 0),
        fact: Fact::Operator {
            action: sensitive.clone(),
            summary: sensitive.clone(),
            run: Some(sensitive.clone()),
        },
    });
    facts.push(outcome(
        ACME,
        "e01",
        nov(2, 9, 6),
        ("okta", Some(nov(2, 9, 0))),
        Outcome::Deactivated,
        Trigger::Timer,
    ));
    facts
}

#[test]
fn no_form_carries_an_ssn_a_birth_date_or_a_token_in_any_spelling() {
    let report = build(&sentinel_facts(), &november(), None, sla(), as_of());
    assert!(report.rows.len() > 10);
    for form in Form::ALL {
        let text = form.render(&report);
        for sentinel in [
            SSN,
            BIRTH_DATE,
            TOKEN,
            "078051120",
            "19610704",
            "SENTINEL",
            "ssn",
            "born",
        ] {
            assert!(!text.contains(sentinel), "{form:?} carries {sentinel}");
        }
        let escaped_json = serde_json::to_string(TOKEN).unwrap();
        assert!(!text.contains(escaped_json.trim_matches('"')));
    }
}
