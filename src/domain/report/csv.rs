//! The report as CSV (RFC 4180): a header row of the columns' names, then one line per
//! row, CRLF-terminated; a cell is quoted when it holds a quote, a comma or a line break,
//! and one a spreadsheet would run as a formula gets a leading `'`.

use super::columns::{COLUMNS, cells};
use super::rows::Report;

/// `report` as CSV: the rows only (the header and summary are the JSON's and the page's).
pub fn render(report: &Report) -> String {
    let mut out = String::with_capacity(256 * (report.rows.len() + 1));
    line(&mut out, COLUMNS.iter().copied());
    for row in &report.rows {
        let cells = cells(row);
        line(&mut out, cells.iter().map(String::as_str));
    }
    out
}

fn line<'a>(out: &mut String, cells: impl Iterator<Item = &'a str>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_cell(out, cell);
    }
    out.push_str("\r\n");
}

/// One cell, guarded and quoted.
pub fn push_cell(out: &mut String, cell: &str) {
    // A spreadsheet runs a cell starting so as a formula (a display name `=HYPERLINK(…)`
    // from the HR system): the quote makes it text, as the spreadsheets document.
    let guard = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote =
        guard && cell.contains([',', '"', '\n', '\r']) || cell.contains([',', '"', '\n', '\r']);
    if quote {
        out.push('"');
    }
    if guard {
        out.push('\'');
    }
    for c in cell.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}
