//! Carrying out reconciliation within the invocation's budget: requesting a sweep (a
//! one-time schedule per account, so that several requests while one is pending make
//! one sweep), fanning the recurring sweep out to every account in the secret, and
//! sweeping one account: lease, pages, the same decision and ledger write as a webhook
//! for each employee, overdue timers, then the watermark, or a cursor and a follow-up
//! when time runs out.

use crate::app::budget::Budget;
use crate::app::cached_secret::{CachedSecret, Refresh};
use crate::app::settle::{Effects, Marked, Settled};
use crate::aws::ledger::LedgerError;
use crate::aws::scheduler::{ScheduleTarget, SchedulerError};
use crate::domain::dates::to_rfc3339;
use crate::domain::decision::{Decision, Policy, decide};
use crate::domain::envelope::{Action, LinkedAccount};
use crate::domain::ledger::{Change, Observation, Source};
use crate::domain::reconcile::{
    Busy, MergeApiSecret, OVERDUE_AFTER, ReconcileDocument, SweepState, Totals, UNAVAILABLE_LIMIT,
    abandon, begin, complete, continuation_schedule_name, fan_out_at, follow_up_schedule_name,
    is_overdue, pages_read as all_pages_read, pause, sweep_schedule_name, unavailable_backoff,
};
use crate::domain::schedule::{MIN_LEAD, whole_minute_at_or_after};
use crate::domain::webhook::Decided;
use crate::merge::pages::{
    Credentials, EmployeePages, EmployeeQuery, MAX_RETRY_AFTER, MergeError, Page,
};
use crate::telemetry::record::{RequestFacts, Severity, TERMINATED_MESSAGE, log_decision};
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::Arc;
use std::time::Duration;

/// Attempts at one page, the first included: 429, 5xx and timeouts are retried.
pub const PAGE_ATTEMPTS: u32 = 4;
/// The first backoff without `Retry-After`; doubled each time up to [`MAX_BACKOFF`], as
/// Merge's own SDK does.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(500);
/// See [`INITIAL_BACKOFF`].
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Kept back before another page is started: the checkpoint's reserve and half a second
/// for the page (its request gives up in time for the checkpoint whatever happens, and
/// its employees stop being settled at the checkpoint's reserve).
pub const PAGE_RESERVE: Duration = Duration::from_millis(1_500);
/// Kept back for the checkpoint and the follow-up schedule, whatever else runs out.
pub const CHECKPOINT_RESERVE: Duration = Duration::from_millis(1_000);
/// Left at least, beside [`CHECKPOINT_RESERVE`], to start the overdue step after the
/// last page in the same invocation: otherwise the next invocation runs it alone.
pub const OVERDUE_RESERVE: Duration = Duration::from_millis(2_000);
/// Attempts at taking the lease when another write lands in between.
const LEASE_ATTEMPTS: usize = 3;

/// The Merge API secrets, each read at init and again as it ages, with the signature
/// key's rules: one, or several when the account tokens outgrow one secret's 64 KB.
pub struct MergeSecrets {
    parts: Vec<CachedSecret<MergeApiSecret>>,
}

impl MergeSecrets {
    /// The secrets, in the order configured: an account in two takes the first's token.
    pub fn new(parts: Vec<CachedSecret<MergeApiSecret>>) -> Self {
        MergeSecrets { parts }
    }
}

impl From<CachedSecret<MergeApiSecret>> for MergeSecrets {
    fn from(secret: CachedSecret<MergeApiSecret>) -> Self {
        MergeSecrets::new(vec![secret])
    }
}

/// What the secrets hold at one moment. No `Debug`: it holds the key and tokens.
#[derive(Clone)]
pub struct Held {
    parts: Vec<Arc<MergeApiSecret>>,
}

impl Held {
    /// The API key and token to read `linked_account_id` with, from the first secret
    /// that holds the account (each secret carries the key its tokens go with).
    pub fn credentials(&self, linked_account_id: &str) -> Option<Credentials<'_>> {
        self.parts.iter().find_map(|part| {
            part.token(linked_account_id).map(|token| Credentials {
                api_key: &part.api_key,
                account_token: token,
            })
        })
    }

    /// Every linked account, once, in order.
    pub fn accounts(&self) -> Vec<&str> {
        let all: std::collections::BTreeSet<&str> = self
            .parts
            .iter()
            .flat_map(|part| part.account_tokens.keys().map(String::as_str))
            .collect();
        all.into_iter().collect()
    }

    /// True when `other` reads `linked_account_id` with other credentials.
    fn differs_for(&self, other: &Held, linked_account_id: &str) -> bool {
        let pair = |held: &Held| {
            held.credentials(linked_account_id)
                .map(|c| (c.api_key.to_owned(), c.account_token.to_owned()))
        };
        pair(self) != pair(other)
    }
}

/// What reconciliation needs: the secret, Merge's API and the decision policy.
pub struct Reconciliation {
    /// The API key and account tokens.
    pub secret: MergeSecrets,
    /// Merge's API.
    pub pages: Arc<dyn EmployeePages>,
    /// How HR data is read, as for webhooks.
    pub policy: Policy,
    /// The most pages one invocation reads: the budget is the real bound; this one keeps
    /// an invocation's work, and its tests, predictable.
    pub page_limit: usize,
}

impl Reconciliation {
    /// The secret as it stands: read again first when it has aged, within the budget.
    /// A failed read keeps the cached value.
    pub async fn current_secret(&self, budget: &Budget, now: DateTime<Utc>) -> Held {
        let mut parts = Vec::with_capacity(self.secret.parts.len());
        for part in &self.secret.parts {
            parts.push(match budget.run(part.current(now)).await {
                Ok((secret, _)) => secret,
                Err(_) => part.cached(),
            });
        }
        Held { parts }
    }

    /// The secret read again now, if the last read is a minute old: an account missing
    /// from it, or a token Merge refused, may have been changed since.
    pub async fn reread_secret(&self, budget: &Budget, now: DateTime<Utc>) -> Held {
        for part in &self.secret.parts {
            let _: Option<Option<Refresh>> = budget.run(part.refresh_if_allowed(now)).await.ok();
        }
        Held {
            parts: self.secret.parts.iter().map(CachedSecret::cached).collect(),
        }
    }
}

/// What became of a request for a sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// A one-time schedule now starts it.
    Scheduled(String),
    /// One was already pending: this request joins it.
    Pending(String),
    /// The secret holds no token for the account.
    UnknownAccount,
    /// Scheduler refused or failed.
    Failed(SchedulerError),
}

/// Creates the account's sweep schedule at `at` (a whole minute), unless one is pending.
pub async fn schedule_sweep(
    effects: &Effects,
    target: &ScheduleTarget,
    document: &ReconcileDocument,
    at: DateTime<Utc>,
    budget: &Budget,
) -> Requested {
    schedule_named(effects, target, document, at, budget, false).await
}

/// Creates a sweep's own follow-up at `at`, under a name of its own
/// ([`follow_up_schedule_name`]): a name clash then means a follow-up for that very
/// minute is already pending, never the schedule that is running this sweep.
async fn schedule_follow_up(
    effects: &Effects,
    target: &ScheduleTarget,
    document: &ReconcileDocument,
    at: DateTime<Utc>,
    budget: &Budget,
) -> Requested {
    schedule_named(effects, target, document, at, budget, true).await
}

async fn schedule_named(
    effects: &Effects,
    target: &ScheduleTarget,
    document: &ReconcileDocument,
    at: DateTime<Utc>,
    budget: &Budget,
    follow_up: bool,
) -> Requested {
    let Some(account) = document.linked_account_id.as_deref() else {
        return Requested::Failed(SchedulerError::Invalid);
    };
    let Some(timers) = &effects.timers else {
        return Requested::Failed(SchedulerError::Rejected("NoScheduling".into()));
    };
    let name = if follow_up {
        follow_up_schedule_name(account, at)
    } else {
        sweep_schedule_name(account)
    };
    let Ok(input) = serde_json::to_string(document) else {
        return Requested::Failed(SchedulerError::Invalid);
    };
    let created = budget
        .run(timers.schedules.create_once(&name, at, &input, target))
        .await
        .unwrap_or(Err(SchedulerError::TimedOut));
    match created {
        Ok(()) => Requested::Scheduled(name),
        Err(SchedulerError::Conflict) => Requested::Pending(name),
        Err(error) => Requested::Failed(error),
    }
}

/// Requests a sweep of `linked_account_id` a minute from `now` (a sync_completed
/// webhook): the webhook is answered at once, the sweep runs in its own invocation.
pub async fn request_sweep(
    reconciliation: &Reconciliation,
    effects: &Effects,
    target: &ScheduleTarget,
    linked_account_id: &str,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Requested {
    let secret = reconciliation.current_secret(budget, now).await;
    if secret.credentials(linked_account_id).is_none() {
        return Requested::UnknownAccount;
    }
    let document = ReconcileDocument::for_account(linked_account_id, false);
    let at = whole_minute_at_or_after(now + MIN_LEAD);
    schedule_sweep(effects, target, &document, at, budget).await
}

/// What fanning out came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FannedOut {
    /// Accounts whose sweep was scheduled.
    pub scheduled: u64,
    /// Accounts whose sweep was already pending.
    pub pending: u64,
    /// Accounts left to the continuation (time ran out, or Scheduler throttled or failed
    /// for a while): it schedules them a minute or so later.
    pub continued: u64,
    /// Accounts that could not be scheduled and that no continuation will take: Scheduler
    /// refused them for good, or refused the continuation itself.
    pub failed: u64,
}

/// Schedules one sweep per account in the secret (after `resume_after`, in sorted
/// order), [`crate::domain::reconcile::FAN_OUT_PER_MINUTE`] a minute, so that concurrency
/// stays bounded and no slow account holds back another. When time runs out, or
/// Scheduler throttles or fails for a while, the accounts not yet scheduled are handed
/// to a continuation of this fan-out, a one-time schedule resuming where this one stopped:
/// every account is scheduled in the end, not only the next day.
pub async fn fan_out(
    reconciliation: &Reconciliation,
    effects: &Effects,
    target: &ScheduleTarget,
    full: bool,
    resume_after: Option<&str>,
    budget: &Budget,
    now: DateTime<Utc>,
) -> FannedOut {
    let first = whole_minute_at_or_after(now + MIN_LEAD);
    let mut result = FannedOut::default();
    let secret = reconciliation.current_secret(budget, now).await;
    // The index among all accounts, so that a continuation's accounts start later than
    // any account scheduled before it, and no minute gets more than its share.
    let accounts: Vec<(usize, &str)> = secret
        .accounts()
        .into_iter()
        .enumerate()
        .filter(|(_, account)| resume_after.is_none_or(|after| *account > after))
        .collect();
    // Where a continuation resumes: after the last account of the batches that went through.
    let mut resume: Option<&str> = resume_after;
    let mut left: Option<usize> = None;
    for (position, batch) in accounts.chunks(FAN_OUT_CALLS_AT_ONCE).enumerate() {
        // Room for the continuation's own call and the answer.
        if budget.left() < CHECKPOINT_RESERVE * 2 {
            left = Some(position * FAN_OUT_CALLS_AT_ONCE);
            break;
        }
        let started = tokio::time::Instant::now();
        let calls = batch.iter().map(|(index, account)| async move {
            let document = ReconcileDocument::for_account(account, full);
            schedule_sweep(
                effects,
                target,
                &document,
                fan_out_at(first, *index),
                budget,
            )
            .await
        });
        let outcomes = join_all(calls).await;
        // The first transient failure: the continuation starts again there, and the
        // accounts after it are its own (found pending then if they went through now).
        let first_transient = outcomes.iter().position(|requested| {
            matches!(
                requested,
                Requested::Failed(
                    SchedulerError::Throttled
                        | SchedulerError::Unreachable
                        | SchedulerError::TimedOut
                )
            )
        });
        let settled = first_transient.unwrap_or(outcomes.len());
        for requested in &outcomes[..settled] {
            match requested {
                Requested::Scheduled(_) => result.scheduled += 1,
                Requested::Pending(_) => result.pending += 1,
                _ => result.failed += 1,
            }
        }
        if let Some(i) = first_transient {
            if i > 0 {
                resume = Some(batch[i - 1].1);
            }
            left = Some(position * FAN_OUT_CALLS_AT_ONCE + i);
            break;
        }
        resume = batch.last().map(|(_, account)| *account);
        if (position + 1) * FAN_OUT_CALLS_AT_ONCE >= accounts.len() {
            break;
        }
        // Paced: Scheduler's CreateSchedule quota is a rate, and a throttled fan-out
        // only hands more accounts to its continuation.
        let _ = budget
            .run(tokio::time::sleep_until(started + FAN_OUT_BATCH_PERIOD))
            .await;
    }
    let Some(from) = left else {
        return result;
    };
    let remaining = (accounts.len() - from) as u64;
    let document = ReconcileDocument::continuation(resume, full);
    let at = whole_minute_at_or_after(now + MIN_LEAD);
    match schedule_continuation(effects, target, &document, at, budget).await {
        Ok(()) => result.continued += remaining,
        Err(_) => result.failed += remaining,
    }
    result
}

/// Creates a fan-out's continuation at `at`: a name clash means that very continuation
/// is already pending.
async fn schedule_continuation(
    effects: &Effects,
    target: &ScheduleTarget,
    document: &ReconcileDocument,
    at: DateTime<Utc>,
    budget: &Budget,
) -> Result<(), SchedulerError> {
    let Some(timers) = &effects.timers else {
        return Err(SchedulerError::Rejected("NoScheduling".into()));
    };
    let name = continuation_schedule_name(document.resume_after.as_deref(), at);
    let input = serde_json::to_string(document).map_err(|_| SchedulerError::Invalid)?;
    let created = budget
        .run(timers.schedules.create_once(&name, at, &input, target))
        .await
        .unwrap_or(Err(SchedulerError::TimedOut));
    match created {
        Ok(()) | Err(SchedulerError::Conflict) => Ok(()),
        Err(error) => Err(error),
    }
}

/// How many `CreateSchedule` calls a fan-out makes at once.
pub const FAN_OUT_CALLS_AT_ONCE: usize = 10;

/// The least time a batch of [`FAN_OUT_CALLS_AT_ONCE`] calls takes: 40 calls a second,
/// under Scheduler's default `CreateSchedule` rate (50 a second at the least, in any
/// Region). A 10-second invocation schedules some 350 accounts; its continuations the rest.
pub const FAN_OUT_BATCH_PERIOD: Duration = Duration::from_millis(250);

/// Polls every future to its end, together, on the current task.
async fn join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (i, future) in pending.iter_mut().enumerate() {
            if done[i].is_none()
                && let std::task::Poll::Ready(output) = future.as_mut().poll(cx)
            {
                done[i] = Some(output);
            }
        }
        if done.iter().all(Option::is_some) {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    done.into_iter().flatten().collect()
}

/// How one account's sweep, or this invocation's part of it, ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepEnd {
    /// Every page read; the watermark moved.
    Completed,
    /// Time ran out (or the page limit): the cursor is stored and a follow-up scheduled.
    Paused,
    /// Another invocation holds the lease: a follow-up is scheduled after it.
    Busy,
    /// The secret holds no token for the account.
    UnknownAccount,
    /// Merge refused the key or the token (401, 403).
    Unauthorized(u16),
    /// Merge kept failing past the retries: the cursor is stored and a follow-up
    /// scheduled.
    MergeUnavailable(MergeError),
    /// Merge stayed unavailable for [`UNAVAILABLE_LIMIT`] invocations in a row or more
    /// (the count): operators should know; follow-ups back off.
    MergeDown(MergeError, u32),
    /// Merge refused the request itself (another 4xx) or answered with no page: a retry
    /// sends the same request, so none is scheduled. A refused cursor (an expired one is
    /// answered 400), or one answered with no page, is dropped, and the next sweep starts
    /// again from the watermark.
    MergeRejected(MergeError),
    /// The ledger failed: the lease runs out by itself and the next sweep continues.
    Ledger(LedgerError),
    /// The follow-up could not be scheduled.
    Scheduling(SchedulerError),
}

impl SweepEnd {
    /// The name in records.
    pub fn as_str(&self) -> &'static str {
        match self {
            SweepEnd::Completed => "completed",
            SweepEnd::Paused => "paused",
            SweepEnd::Busy => "busy",
            SweepEnd::UnknownAccount => "unknown_account",
            SweepEnd::Unauthorized(_) => "unauthorized",
            SweepEnd::MergeUnavailable(_) => "merge_unavailable",
            SweepEnd::MergeDown(..) => "merge_down",
            SweepEnd::MergeRejected(_) => "merge_rejected",
            SweepEnd::Ledger(_) => "ledger_failed",
            SweepEnd::Scheduling(_) => "scheduling_failed",
        }
    }

    /// True when operators must act: counted as `ReconciliationFailures`.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            SweepEnd::Unauthorized(_)
                | SweepEnd::MergeDown(..)
                | SweepEnd::MergeRejected(_)
                | SweepEnd::Ledger(_)
                | SweepEnd::Scheduling(_)
        )
    }
}

/// One account's sweep as this invocation left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// How it ended.
    pub end: SweepEnd,
    /// The whole sweep's totals so far (earlier invocations included).
    pub totals: Totals,
    /// Changes this invocation made.
    pub found: u64,
    /// Employees this invocation moved into `terminated`.
    pub terminations: u64,
    /// The watermark as it stands.
    pub watermark: Option<DateTime<Utc>>,
}

/// A write token for the lease: 128 random bits, unique to this invocation. Not the
/// process id and a counter: fresh Lambda environments can share a pid, and two sweeps
/// with one holder would each take the other's lease as their own. Not the request id
/// either: a retried asynchronous invocation keeps it.
fn holder() -> String {
    use ring::rand::SecureRandom;
    let mut bits = [0_u8; 16];
    if ring::rand::SystemRandom::new().fill(&mut bits).is_err() {
        // No randomness from the system: a holder nobody else has, from the clock and a
        // counter (never the pid alone).
        use std::sync::atomic::{AtomicU64, Ordering};
        static SWEEPS: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let count = SWEEPS.fetch_add(1, Ordering::Relaxed);
        bits = (nanos ^ (u128::from(count) << 64) ^ u128::from(std::process::id())).to_be_bytes();
    }
    bits.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads one page, retrying 429, 5xx and timeouts with backoff (or after `Retry-After`),
/// as long as the wait fits the budget.
async fn read_page(
    reconciliation: &Reconciliation,
    credentials: Credentials<'_>,
    query: &EmployeeQuery,
    totals: &mut Totals,
    budget: &Budget,
) -> Result<Page, MergeError> {
    let mut backoff = INITIAL_BACKOFF;
    let mut attempt = 0;
    loop {
        attempt += 1;
        totals.requests += 1;
        let answer = budget
            .run_leaving(
                CHECKPOINT_RESERVE,
                reconciliation.pages.list_page(credentials, query),
            )
            .await
            .unwrap_or(Err(MergeError::TimedOut));
        let error = match answer {
            Ok(page) => return Ok(page),
            Err(error) => error,
        };
        if let MergeError::RateLimited { .. } = error {
            totals.rate_limited += 1;
        }
        if !error.is_transient() || attempt >= PAGE_ATTEMPTS {
            return Err(error);
        }
        let wait = match &error {
            MergeError::RateLimited {
                retry_after: Some(after),
            } => (*after).min(MAX_RETRY_AFTER),
            _ => jittered(backoff),
        };
        backoff = (backoff * 2).min(MAX_BACKOFF);
        if budget.left() < wait + CHECKPOINT_RESERVE {
            return Err(error);
        }
        tokio::time::sleep(wait).await;
    }
}

/// `wait` less up to a quarter, so that sweeps throttled together do not retry together.
fn jittered(wait: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    wait - wait / 4 * (nanos % 1000) / 1000
}

/// Takes the account's lease: the state to sweep under, or who holds it.
async fn take_lease(
    effects: &Effects,
    account: &str,
    full: bool,
    lease: TimeDelta,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Result<Result<SweepState, Busy>, LedgerError> {
    let me = holder();
    for _ in 0..LEASE_ATTEMPTS {
        let stored = budget
            .run(effects.ledger.get_sweep(account))
            .await
            .unwrap_or(Err(LedgerError::TimedOut))?;
        let planned = match begin(stored.as_ref(), account, full, &me, lease, now) {
            Ok(planned) => planned,
            Err(busy) => return Ok(Err(busy)),
        };
        let written = budget
            .run(
                effects
                    .ledger
                    .put_sweep(&planned, stored.as_ref().map(|s| s.revision)),
            )
            .await
            .unwrap_or(Err(LedgerError::TimedOut));
        match written {
            Ok(()) => return Ok(Ok(planned)),
            Err(LedgerError::ConditionFailed) => {}
            Err(error) => return Err(error),
        }
    }
    Err(LedgerError::ConditionFailed)
}

/// Writes the sweep state against the one this invocation wrote last.
async fn checkpoint(
    effects: &Effects,
    state: &SweepState,
    budget: &Budget,
) -> Result<(), LedgerError> {
    budget
        .run(effects.ledger.put_sweep(state, Some(state.revision - 1)))
        .await
        .unwrap_or(Err(LedgerError::TimedOut))
}

/// The decision record's view of one swept employee.
fn swept_decided(
    reconciliation: &Reconciliation,
    account: &str,
    employee: crate::domain::employee::Employee,
    now: DateTime<Utc>,
) -> Decided {
    let verdict = decide(Action::Changed, &employee, now, &reconciliation.policy);
    let termination_lag = verdict
        .effective_at
        .filter(|at| verdict.decision == Decision::Terminated && *at <= now)
        .map(|at| now - at);
    Decided {
        event: crate::domain::reconcile::RECONCILE_KIND.to_owned(),
        action: Action::Changed,
        employee,
        linked_account: LinkedAccount {
            id: Some(account.to_owned()),
            ..LinkedAccount::default()
        },
        verdict,
        key: None,
        termination_lag,
        sync_lag: None,
    }
}

/// True when a settled sweep observation is a change worth counting: the decision moved,
/// or the ledger learned of an employee who is not simply active. An active employee
/// seen for the first time, or a newer version deciding the same, is no missed webhook
/// about access.
fn is_found(settled: &Settled) -> bool {
    match settled.change() {
        Change::Moved(_) => true,
        Change::Created => settled
            .entry
            .as_ref()
            .is_some_and(|e| e.decision != Decision::Active),
        _ => false,
    }
}

/// Sweeps one linked account as far as the budget allows. Each change writes its
/// record (a termination at WARN, `source: "reconciliation"`); the caller writes the
/// summary.
#[allow(clippy::too_many_arguments)]
pub async fn sweep_account(
    reconciliation: &Reconciliation,
    effects: &Effects,
    target: Option<&ScheduleTarget>,
    account: &str,
    full: bool,
    facts: &RequestFacts<'_>,
    budget: &Budget,
    now: DateTime<Utc>,
) -> SweepReport {
    let mut report = SweepReport {
        end: SweepEnd::Completed,
        totals: Totals::default(),
        found: 0,
        terminations: 0,
        watermark: None,
    };
    let mut secret = reconciliation.current_secret(budget, now).await;
    if secret.credentials(account).is_none() {
        // Perhaps added since this process read the secret.
        secret = reconciliation.reread_secret(budget, now).await;
    }
    let (true, Some(target)) = (secret.credentials(account).is_some(), target) else {
        report.end = SweepEnd::UnknownAccount;
        return report;
    };
    let mut reread = false;
    let lease =
        TimeDelta::from_std(budget.granted()).unwrap_or(TimeDelta::MAX) + TimeDelta::minutes(1);
    let state = match take_lease(effects, account, full, lease, budget, now).await {
        Err(error) => {
            report.end = SweepEnd::Ledger(error);
            return report;
        }
        Ok(Err(busy)) => {
            let at = whole_minute_at_or_after(busy.until.max(now + MIN_LEAD));
            let document = ReconcileDocument::for_account(account, full);
            report.end = match schedule_follow_up(effects, target, &document, at, budget).await {
                Requested::Failed(error) => SweepEnd::Scheduling(error),
                _ => SweepEnd::Busy,
            };
            return report;
        }
        Ok(Ok(state)) => state,
    };
    report.watermark = state.watermark;
    let Some(run) = state.run.clone() else {
        report.end = SweepEnd::Ledger(LedgerError::Unreadable);
        return report;
    };
    let mut totals = run.totals.clone();
    let mut query = EmployeeQuery {
        cursor: run.cursor.clone(),
        modified_after: run.modified_after,
    };
    let mut facts = *facts;
    facts.source = Some(Source::Reconciliation.as_str());
    let mut pages_read = 0;
    // `None`: every page read. `Some(cursor)`: stop, continue from `cursor`.
    let stopped: Option<(Option<String>, SweepEnd)> = loop {
        if run.pages_done {
            // An earlier invocation read every page; the overdue step is left.
            break None;
        }
        if pages_read >= reconciliation.page_limit || budget.left() < PAGE_RESERVE {
            break Some((query.cursor.clone(), SweepEnd::Paused));
        }
        let Some(credentials) = secret.credentials(account) else {
            break Some((query.cursor.clone(), SweepEnd::UnknownAccount));
        };
        let page = match read_page(reconciliation, credentials, &query, &mut totals, budget).await {
            Ok(page) => page,
            Err(MergeError::Unauthorized(status)) => {
                // The key or the token may have been rotated since this process read the
                // secret: read it again (at most once a minute) and try once more.
                let fresh = reconciliation.reread_secret(budget, now).await;
                let changed = secret.differs_for(&fresh, account);
                if !reread && changed && fresh.credentials(account).is_some() {
                    reread = true;
                    secret = fresh;
                    continue;
                }
                break Some((query.cursor.clone(), SweepEnd::Unauthorized(status)));
            }
            Err(error @ (MergeError::Rejected(_) | MergeError::Malformed)) => {
                break Some((query.cursor.clone(), SweepEnd::MergeRejected(error)));
            }
            Err(error) => {
                break Some((query.cursor.clone(), SweepEnd::MergeUnavailable(error)));
            }
        };
        pages_read += 1;
        totals.pages += 1;
        let mut cut = None;
        let mut settled_here = 0;
        for employee in page.results {
            if budget.left() < CHECKPOINT_RESERVE {
                cut = Some(SweepEnd::Paused);
                break;
            }
            totals.employees += 1;
            settled_here += 1;
            let decided = swept_decided(reconciliation, account, employee, now);
            let Some(mut observation) = Observation::from_decided(&decided, None) else {
                continue;
            };
            observation.source = Source::Reconciliation;
            let settled = match effects
                .settle_observation(&observation, Some(target), budget, now)
                .await
            {
                Ok(settled) => settled,
                Err(failure) => {
                    let error = match failure {
                        crate::app::settle::Unsettled::Ledger(e) => SweepEnd::Ledger(e),
                        crate::app::settle::Unsettled::Timer(e) => SweepEnd::Scheduling(e),
                    };
                    cut = Some(error);
                    break;
                }
            };
            if !is_found(&settled) {
                continue;
            }
            let held = settled
                .entry
                .as_ref()
                .map_or(decided.verdict.decision, |e| e.decision);
            totals.count_change(held);
            report.found += 1;
            let mut record = facts;
            let changed = settled.change();
            record.ledger = Some(changed.as_str());
            record.ledger_decision = Some(held.as_str());
            if settled.entered_terminated() {
                report.terminations += 1;
                log_decision(Severity::Warn, TERMINATED_MESSAGE, &decided, &record);
                if let Some(entry) = settled.own()
                    && effects.mark_announced(entry, budget, now).await == Marked::Failed
                {
                    // The record stays owed; the next delivery or firing writes it.
                }
            } else {
                let (severity, message) = crate::telemetry::record::decision_message(&decided);
                log_decision(severity, message, &decided, &record);
            }
        }
        if let Some(end) = cut {
            // This page is read again next time (what was settled of it is unchanged
            // then), so it is counted then, not now.
            totals.pages -= 1;
            totals.employees -= settled_here;
            break Some((query.cursor.clone(), end));
        }
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => break None,
        }
    };
    let stored_state = match stopped {
        None if pages_read > 0 && budget.left() < CHECKPOINT_RESERVE + OVERDUE_RESERVE => {
            // Every page read, but too little time for the overdue step: the next
            // invocation runs it alone, never the pages again.
            report.end = SweepEnd::Paused;
            all_pages_read(&state, &totals)
        }
        None => {
            // Every page read: the timers that should have fired, then the watermark.
            if let Err(end) = terminate_overdue(
                effects,
                target,
                account,
                &facts,
                &mut report,
                &mut totals,
                budget,
                now,
            )
            .await
            {
                // The pages stay read: the next sweep runs only this step again.
                report.end = end;
                report.totals = totals.clone();
                let paused = all_pages_read(&state, &totals);
                let _ = checkpoint(effects, &paused, budget).await;
                return report;
            }
            let done = complete(&state);
            report.watermark = done.watermark;
            done
        }
        Some((cursor, end)) => {
            // A refused cursor, or one whose page is no page, would be asked for again by
            // every later sweep: it is dropped, and the next sweep starts from the watermark.
            let refused_cursor = cursor.is_some()
                && matches!(
                    end,
                    SweepEnd::MergeRejected(MergeError::Rejected(_) | MergeError::Malformed)
                );
            let mut paused = if refused_cursor {
                abandon(&state)
            } else {
                pause(&state, cursor, &totals)
            };
            report.end = match end {
                SweepEnd::MergeUnavailable(error) => {
                    paused.unavailable = state.unavailable.saturating_add(1);
                    if paused.unavailable >= UNAVAILABLE_LIMIT {
                        SweepEnd::MergeDown(error, paused.unavailable)
                    } else {
                        SweepEnd::MergeUnavailable(error)
                    }
                }
                other => {
                    if pages_read > 0 {
                        paused.unavailable = 0;
                    }
                    other
                }
            };
            paused
        }
    };
    report.totals = totals;
    if let Err(error) = checkpoint(effects, &stored_state, budget).await {
        report.end = SweepEnd::Ledger(error);
        return report;
    }
    let wait = match report.end {
        SweepEnd::Paused => Some(MIN_LEAD),
        SweepEnd::MergeUnavailable(ref error) | SweepEnd::MergeDown(ref error, _) => {
            // Never sooner than Merge asked: a wait longer than the budget is kept here.
            let asked = match error {
                MergeError::RateLimited {
                    retry_after: Some(after),
                } => TimeDelta::from_std(*after).unwrap_or(TimeDelta::MAX),
                _ => TimeDelta::zero(),
            };
            Some(
                unavailable_backoff(stored_state.unavailable)
                    .max(MIN_LEAD)
                    .max(asked),
            )
        }
        _ => None,
    };
    if let Some(wait) = wait {
        let at = whole_minute_at_or_after(now + wait);
        let document = ReconcileDocument::for_account(account, full);
        if let Requested::Failed(error) =
            schedule_follow_up(effects, target, &document, at, budget).await
        {
            report.end = SweepEnd::Scheduling(error);
        }
    }
    report
}

/// Terminates the account's entries still `scheduled` more than
/// [`OVERDUE_AFTER`] past their date: their timers were lost.
#[allow(clippy::too_many_arguments)]
async fn terminate_overdue(
    effects: &Effects,
    target: &ScheduleTarget,
    account: &str,
    facts: &RequestFacts<'_>,
    report: &mut SweepReport,
    totals: &mut Totals,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Result<(), SweepEnd> {
    let overdue = budget
        .run(
            effects
                .ledger
                .scheduled_before(account, now - OVERDUE_AFTER),
        )
        .await
        .unwrap_or(Err(LedgerError::TimedOut))
        .map_err(SweepEnd::Ledger)?;
    // The query already selects them; the rule is checked here too, on the parsed instant.
    for found in overdue.into_iter().filter(|e| is_overdue(e, now)) {
        let settled = effects
            .settle_overdue(&found, Some(target), budget, now)
            .await
            .map_err(|failure| match failure {
                crate::app::settle::Unsettled::Ledger(e) => SweepEnd::Ledger(e),
                crate::app::settle::Unsettled::Timer(e) => SweepEnd::Scheduling(e),
            })?;
        if !settled.entered_terminated() {
            continue;
        }
        totals.count_change(Decision::Terminated);
        report.found += 1;
        report.terminations += 1;
        if let Some(entry) = settled.own() {
            let decided = overdue_decided(entry, now);
            let mut record = *facts;
            record.ledger = Some(settled.change().as_str());
            record.ledger_decision = Some(Decision::Terminated.as_str());
            log_decision(Severity::Warn, TERMINATED_MESSAGE, &decided, &record);
            let _ = effects.mark_announced(entry, budget, now).await;
        }
    }
    Ok(())
}

/// The record's view of an overdue entry the sweep terminated: from the ledger.
fn overdue_decided(entry: &crate::domain::ledger::Entry, now: DateTime<Utc>) -> Decided {
    use crate::domain::decision::{Reason, Verdict};
    use crate::domain::employee::{Employee, RawDate};
    let identity = entry.identity.clone();
    Decided {
        event: crate::domain::reconcile::RECONCILE_KIND.to_owned(),
        action: Action::Changed,
        employee: Employee {
            id: Some(entry.key.employee_id.clone()),
            remote_id: identity.remote_id,
            employee_number: identity.employee_number,
            username: identity.username,
            work_email: identity.work_email,
            display_full_name: identity.display_full_name,
            modified_at: entry.version.map(|v| RawDate::Text(to_rfc3339(v))),
            ..Employee::default()
        },
        linked_account: LinkedAccount {
            id: entry.key.linked_account().map(str::to_owned),
            integration_slug: identity.integration,
            end_user_organization_name: identity.end_user_organization_name,
        },
        verdict: Verdict {
            decision: Decision::Terminated,
            reasons: vec![Reason::TerminationDateReached],
            termination_date: entry.termination_date,
            effective_at: entry.effective_at,
        },
        key: None,
        termination_lag: entry.effective_at.map(|effective| now - effective),
        sync_lag: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_holder_is_128_random_bits_never_the_process_id() {
        let holders: std::collections::BTreeSet<String> = (0..64).map(|_| holder()).collect();
        assert_eq!(holders.len(), 64, "each invocation its own");
        let pid = format!("{:08x}", std::process::id());
        for held in &holders {
            assert_eq!(held.len(), 32, "{held}");
            assert!(held.chars().all(|c| c.is_ascii_hexdigit()), "{held}");
            assert!(!held.starts_with(&pid), "{held}");
        }
    }
}
