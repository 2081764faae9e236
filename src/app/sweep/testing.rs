//! What the sweep's unit tests share: reconciliation over the in-memory ledger,
//! schedule group and secret store, and Merge's pages as a script.

use super::secret::Reconciliation;
use crate::app::cached_secret::CachedSecret;
use crate::app::settle::{Effects, Timers};
use crate::aws::memory::{MemoryLedger, MemorySchedules, MemorySecrets};
use crate::aws::scheduler::{BoxFuture, ScheduleTarget};
use crate::domain::decision::Policy;
use crate::domain::employee::Employee;
use crate::domain::reconcile::parse_merge_secret;
use crate::merge::pages::{Credentials, EmployeePages, EmployeeQuery, MergeError, Page};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// The account every test sweeps.
pub(super) const ACCOUNT: &str = "acct-1";
/// Its token in the secret as first read.
pub(super) const TOKEN: &str = "token-1";
/// The secret's id in the store.
const SECRET_ID: &str = "merge-api";

/// The instant every test runs at.
pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

/// Runs `future` to its end on a runtime of its own.
pub(super) fn block<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}

/// The secret's text holding `accounts`, each with its token.
pub(super) fn secret_text(accounts: &[(&str, &str)]) -> String {
    let tokens: serde_json::Map<String, serde_json::Value> = accounts
        .iter()
        .map(|(account, token)| ((*account).to_owned(), (*token).into()))
        .collect();
    serde_json::json!({"api_key": "key-1", "account_tokens": tokens}).to_string()
}

/// Merge's answers, one a call, in order; an empty last page once they run out.
#[derive(Default)]
pub(super) struct ScriptedPages {
    answers: Mutex<VecDeque<Result<Page, MergeError>>>,
    /// The account token and cursor of every call.
    pub(super) asked: Mutex<Vec<(String, Option<String>)>>,
}

impl ScriptedPages {
    pub(super) fn answer(&self, answer: Result<Page, MergeError>) {
        self.answers.lock().unwrap().push_back(answer);
    }

    pub(super) fn asked(&self) -> Vec<(String, Option<String>)> {
        self.asked.lock().unwrap().clone()
    }
}

impl EmployeePages for ScriptedPages {
    fn list_page<'a>(
        &'a self,
        credentials: Credentials<'a>,
        query: &'a EmployeeQuery,
    ) -> BoxFuture<'a, Result<Page, MergeError>> {
        self.asked
            .lock()
            .unwrap()
            .push((credentials.account_token.to_owned(), query.cursor.clone()));
        let answer = self
            .answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Ok(Page::default()));
        Box::pin(async move { answer })
    }
}

/// A page of `employees`, followed by the page at `next` if any.
pub(super) fn page(employees: Vec<Employee>, next: Option<&str>) -> Page {
    Page {
        next: next.map(str::to_owned),
        results: employees,
    }
}

/// An employee Merge says has left, last week: a current termination, well within the
/// lookback before the account's baseline.
pub(super) fn leaver(index: usize) -> Employee {
    serde_json::from_value(serde_json::json!({
        "id": format!("00000000-0000-4000-8000-{index:012}"),
        "remote_id": format!("hr-{index}"),
        "work_email": format!("sam{index}@example.com"),
        "employment_status": "INACTIVE",
        "termination_date": "2026-11-20T00:00:00Z",
        "modified_at": "2026-11-01T00:00:00Z",
    }))
    .expect("an employee")
}

/// Reconciliation and its effects, all in memory.
pub(super) struct Fixture {
    pub(super) ledger: Arc<MemoryLedger>,
    pub(super) schedules: Arc<MemorySchedules>,
    pub(super) store: Arc<MemorySecrets>,
    pub(super) pages: Arc<ScriptedPages>,
    pub(super) effects: Effects,
    pub(super) reconciliation: Reconciliation,
    pub(super) target: ScheduleTarget,
}

impl Fixture {
    /// The secret holding [`ACCOUNT`] alone, read two minutes ago (so that it may be
    /// read again now), and at most `page_limit` pages an invocation.
    pub(super) async fn new(page_limit: usize) -> Self {
        Self::holding(&[(ACCOUNT, TOKEN)], page_limit).await
    }

    /// The secret holding `accounts`.
    pub(super) async fn holding(accounts: &[(&str, &str)], page_limit: usize) -> Self {
        let ledger = Arc::new(MemoryLedger::new());
        let schedules = Arc::new(MemorySchedules::new());
        let store = Arc::new(MemorySecrets::with(SECRET_ID, &secret_text(accounts)));
        let pages = Arc::new(ScriptedPages::default());
        let secret = CachedSecret::load(
            store.clone(),
            SECRET_ID,
            Some(TimeDelta::minutes(5)),
            now() - TimeDelta::minutes(2),
            parse_merge_secret,
        )
        .await
        .expect("the secret loads");
        let role_arn = "arn:aws:iam::123456789012:role/scheduler".to_owned();
        Fixture {
            effects: Effects {
                note_terminations: false,
                baselines: Default::default(),
                ledger: ledger.clone(),
                timers: Some(Timers {
                    schedules: schedules.clone(),
                    role_arn: role_arn.clone(),
                    dead_letter_arn: None,
                }),
            },
            reconciliation: Reconciliation {
                secret: secret.into(),
                pages: pages.clone(),
                policy: Policy::default(),
                page_limit,
            },
            target: ScheduleTarget {
                function_arn: "arn:aws:lambda:eu-west-1:123456789012:function:sweep".to_owned(),
                role_arn,
                dead_letter_arn: None,
            },
            ledger,
            schedules,
            store,
            pages,
        }
    }
}
