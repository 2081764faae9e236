//! The access-removal report (`merge-deprovision.report`, which the monthly schedule
//! also sends): the evidence of the period's months read from the ledger, the report
//! built as of the moment it is made, and each form written to the report bucket.

use crate::app::budget::Budget;
use crate::app::settle::Effects;
use crate::aws::ledger::{Ledger, LedgerError};
use crate::aws::reports::{ReportError, ReportStore};
use crate::domain::evidence::{Evidence, operator};
use crate::domain::report::{Form, Period, Report, ReportDocument, build};
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::Arc;

/// The time kept back from reading the evidence for writing the forms, at most.
pub const WRITE_TIME: std::time::Duration = std::time::Duration::from_secs(3);

/// Where reports go and what they are measured against.
#[derive(Clone)]
pub struct Reports {
    /// The report bucket.
    pub store: Arc<dyn ReportStore>,
    /// `ACCESS_REMOVAL_SLA`.
    pub sla: TimeDelta,
}

/// How a report ended.
#[derive(Debug)]
pub enum Reported {
    /// No ledger, or no report bucket (`REPORT_BUCKET`): there is nothing to report from
    /// or to.
    Off,
    /// The evidence could not be read within the budget: nothing was written.
    Unread(LedgerError),
    /// A form could not be written; the forms before it were.
    Unwritten {
        /// What was made, and the forms written before the failure.
        made: Made,
        /// The form that failed.
        form: Form,
        /// Why.
        error: ReportError,
    },
    /// Every form asked for was written.
    Written(Made),
}

/// A report made, and the objects written.
#[derive(Debug)]
pub struct Made {
    /// The report (its header and summary give the answer's figures).
    pub report: Report,
    /// Each written form and its object key.
    pub keys: Vec<(Form, String)>,
    /// Facts read.
    pub facts: usize,
}

/// Makes the report `document` asks for, as of `now`, and writes its forms; a written
/// report leaves an operator's fact in the trail (which run made which report).
pub async fn report(
    effects: Option<&Effects>,
    reports: Option<&Reports>,
    document: &ReportDocument,
    run: Option<&str>,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Reported {
    let (Some(effects), Some(reports)) = (effects, reports) else {
        return Reported::Off;
    };
    let ledger = effects.ledger.as_ref();
    let period = document.period.period(now);
    let account = document.linked_account_id.as_deref();
    let facts = match read_facts(ledger, &period, account, budget).await {
        Ok(facts) => facts,
        Err(error) => return Reported::Unread(error),
    };
    let mut made = Made {
        report: build(&facts, &period, account, reports.sla, now),
        keys: Vec::with_capacity(document.forms.len()),
        facts: facts.len(),
    };
    for &form in &document.forms {
        let key = object_key(&period, account, now, form);
        let body = form.render(&made.report);
        let put = budget.run(
            reports
                .store
                .put(&key, body.as_bytes(), form.content_type()),
        );
        match put.await.unwrap_or(Err(ReportError::TimedOut)) {
            Ok(_) => made.keys.push((form, key)),
            Err(error) => return Reported::Unwritten { made, form, error },
        }
    }
    let summary = format!(
        "report {} of {} rows, {} forms",
        made.report.header.period.label(),
        made.report.summary.rows,
        made.keys.len()
    );
    let fact = operator(account, "report", &summary, run, now);
    effects.note_operator(fact, budget).await;
    Reported::Written(made)
}

/// Every fact filed under the period's months: a termination's facts are filed under
/// its own month, however late they come, so these are all a period's rows need.
async fn read_facts(
    ledger: &dyn Ledger,
    period: &Period,
    account: Option<&str>,
    budget: &Budget,
) -> Result<Vec<Evidence>, LedgerError> {
    let mut facts = Vec::new();
    // Reading gives up early enough to leave the puts their time (a report read in full
    // but never written is the invocation lost): WRITE_TIME, or a third of what is left
    // when the invocation has less.
    let kept = WRITE_TIME.min(budget.left() / 3);
    for month in period.months() {
        let read = budget
            .run_leaving(kept, ledger.evidence(&month, account))
            .await;
        facts.extend(read.unwrap_or(Err(LedgerError::TimedOut))?);
    }
    Ok(facts)
}

/// `access-removal/<account, or #all>/<period>/<as of>.<form>`: a report made again for
/// the same period is a new object beside the earlier one, and the keys sort by period
/// and then by when each was made.
pub fn object_key(
    period: &Period,
    account: Option<&str>,
    as_of: DateTime<Utc>,
    form: Form,
) -> String {
    // `#all` is no account's id: documents refuse an id starting with `#`.
    let scope = account.unwrap_or("#all");
    let made = as_of.format("%Y-%m-%dT%H%M%SZ");
    format!(
        "access-removal/{scope}/{}/{made}.{}",
        period.label(),
        form.as_str()
    )
}
