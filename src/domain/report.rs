//! The access-removal report for auditors, as pure values: the `merge-deprovision.report`
//! document, the period, the rows and summary made from the evidence trail up to an
//! instant, and the report's three forms (CSV, JSON, one self-contained HTML page).
//!
//! Made from the same facts at the same instant, a report is the same bytes whenever it
//! is made: monthly by the schedule or on demand.

pub mod columns;
pub mod csv;
pub mod document;
pub mod html;
pub mod json;
pub mod period;
pub mod rows;

pub use document::{
    Asked, Form, PREVIOUS_MONTH, REPORT_KIND, ReportDocument, ReportDocumentError, read_report,
};
pub use period::{MAX_PERIOD_DAYS, Period};
pub use rows::{
    Bucket, DEFAULT_SLA_HOURS, Header, Report, Row, Status, Summary, Verdict, build, ends_access,
};

impl Form {
    /// `report` in this form.
    pub fn render(self, report: &Report) -> String {
        match self {
            Form::Csv => csv::render(report),
            Form::Json => json::render(report),
            Form::Html => html::render(report),
        }
    }
}

#[cfg(test)]
mod document_tests;
#[cfg(test)]
mod form_tests;
#[cfg(test)]
mod tests;
