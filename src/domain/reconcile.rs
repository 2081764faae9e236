//! Reconciliation with Merge's HRIS API, as pure values: the API secret's shape, the
//! reconcile document that starts a sweep, and a sweep's state per linked account (its
//! lease, its cursor, its watermark) with the transitions between them.
//!
//! A sweep reads a linked account's employees page by page and runs each through the
//! same decision and ledger write as a webhook, so that a lost delivery is found later.
//! Its state lives in the ledger's table beside the account's entries and is written
//! compare-and-swap like them: the lease keeps two sweeps of one account apart, the
//! cursor lets one that ran out of time continue in another invocation, and the
//! watermark moves only when a sweep completed.

use crate::domain::dates::{parse_hr_date, to_rfc3339};
use crate::domain::decision::Decision;
use crate::domain::ledger::Entry;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// `kind` of the reconcile document.
pub const RECONCILE_KIND: &str = "merge-deprovision.reconcile";
/// The reconcile document's format version.
pub const RECONCILE_VERSION: u32 = 1;
/// Subtracted from the watermark for `modified_after`: Merge stamps `modified_at` when
/// its sync writes a record, by its own clock, and a sync that was writing while the
/// last sweep started can stamp records just before that start yet show them only
/// after the sweep read past them. Re-reading an hour costs a few pages that change
/// nothing; missing a record costs a leaver's access.
pub const OVERLAP: TimeDelta = TimeDelta::hours(1);
/// How long past its `effective_at` a `scheduled` entry must be before a sweep
/// terminates it itself: its timer fires within the minute, so one this late was lost
/// (to the dead-letter queue, or a failed call).
pub const OVERDUE_AFTER: TimeDelta = TimeDelta::minutes(15);
/// The sort key of an account's sweep item: employee ids are Merge UUIDs, so `#` never
/// begins one.
pub const SWEEP_SORT_KEY: &str = "#sweep";

/// The Merge API secret: the organisation's API key and one account token per linked
/// account. Its `Debug` shows how many accounts it holds, never a key or token.
#[derive(Clone, PartialEq, Eq)]
pub struct MergeApiSecret {
    /// `Authorization: Bearer` for every call.
    pub api_key: String,
    /// `X-Account-Token` per linked account id.
    pub account_tokens: BTreeMap<String, String>,
}

impl std::fmt::Debug for MergeApiSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergeApiSecret")
            .field("accounts", &self.account_tokens.len())
            .finish_non_exhaustive()
    }
}

impl MergeApiSecret {
    /// The token for `linked_account_id`, when the secret holds one.
    pub fn token(&self, linked_account_id: &str) -> Option<&str> {
        self.account_tokens
            .get(linked_account_id)
            .map(String::as_str)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretShape {
    api_key: String,
    account_tokens: BTreeMap<String, String>,
}

/// Reads the secret's JSON `{"api_key": "...", "account_tokens": {"<id>": "<token>"}}`.
/// The problem names the member at fault, never a value.
pub fn parse_merge_secret(text: &str) -> Result<MergeApiSecret, String> {
    let shape: SecretShape = serde_json::from_str(text.trim()).map_err(|_| {
        "the secret is not {\"api_key\": \"...\", \"account_tokens\": {\"<linked account id>\": \"...\"}}"
            .to_owned()
    })?;
    let api_key = shape.api_key.trim().to_owned();
    if api_key.is_empty() {
        return Err("api_key is empty".to_owned());
    }
    let mut account_tokens = BTreeMap::new();
    for (account, token) in shape.account_tokens {
        let (account, token) = (account.trim().to_owned(), token.trim().to_owned());
        if account.is_empty() || token.is_empty() {
            return Err("account_tokens holds an empty linked account id or token".to_owned());
        }
        account_tokens.insert(account, token);
    }
    Ok(MergeApiSecret {
        api_key,
        account_tokens,
    })
}

/// The direct-invocation document that starts a sweep: of one linked account, or with
/// none, of every account in the secret. `full` ignores the watermark.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileDocument {
    /// [`RECONCILE_KIND`].
    pub kind: String,
    /// [`RECONCILE_VERSION`].
    pub version: u32,
    /// The linked account to sweep; none sweeps every account in the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_account_id: Option<String>,
    /// Read everything, whatever the watermark says.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub full: bool,
    /// A fan-out's continuation: schedule only the accounts after this one, in sorted
    /// order (the accounts up to it were scheduled by an earlier invocation). Only
    /// without `linked_account_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_after: Option<String>,
}

impl ReconcileDocument {
    /// The document sweeping `linked_account_id`.
    pub fn for_account(linked_account_id: &str, full: bool) -> Self {
        ReconcileDocument {
            kind: RECONCILE_KIND.to_owned(),
            version: RECONCILE_VERSION,
            linked_account_id: Some(linked_account_id.to_owned()),
            full,
            resume_after: None,
        }
    }

    /// The fan-out continuing after `resume_after` (from the first account if none).
    pub fn continuation(resume_after: Option<&str>, full: bool) -> Self {
        ReconcileDocument {
            kind: RECONCILE_KIND.to_owned(),
            version: RECONCILE_VERSION,
            linked_account_id: None,
            full,
            resume_after: resume_after.map(str::to_owned),
        }
    }
}

/// Why a direct invocation is no reconcile document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReconcileInputError {
    /// Another kind of document (a timer, say), or not a document at all.
    #[error("not a reconcile document")]
    OtherKind,
    /// `kind` says reconcile, but the version or the members are not this function's.
    #[error("the reconcile document has an unknown version or member")]
    Invalid,
}

/// Reads a direct invocation's bytes as a reconcile document.
pub fn read_reconcile(event: &[u8]) -> Result<ReconcileDocument, ReconcileInputError> {
    #[derive(Deserialize)]
    struct Kind {
        kind: Option<String>,
    }
    let kind: Kind = serde_json::from_slice(event).map_err(|_| ReconcileInputError::OtherKind)?;
    if kind.kind.as_deref() != Some(RECONCILE_KIND) {
        return Err(ReconcileInputError::OtherKind);
    }
    let document: ReconcileDocument =
        serde_json::from_slice(event).map_err(|_| ReconcileInputError::Invalid)?;
    let empty_account = document
        .linked_account_id
        .as_deref()
        .is_some_and(|id| id.trim().is_empty());
    // A resume point belongs to a fan-out only, and names an account.
    let bad_resume = document
        .resume_after
        .as_deref()
        .is_some_and(|id| id.trim().is_empty() || document.linked_account_id.is_some());
    if document.version != RECONCILE_VERSION || empty_account || bad_resume {
        return Err(ReconcileInputError::Invalid);
    }
    Ok(document)
}

/// True for the webhook events that say a linked account finished syncing.
pub fn is_sync_completed(event: &str) -> bool {
    let event = event.trim();
    event.eq_ignore_ascii_case("LinkedAccount.sync_completed")
        || event.eq_ignore_ascii_case("LinkedAccount.synced")
}

/// The one-time schedule's name for a sweep of `linked_account_id`: a hash, so that it
/// fits Scheduler's 64 characters whatever the id, and fixed, so that several requests
/// for one account while a sweep is pending collapse into that one schedule.
pub fn sweep_schedule_name(linked_account_id: &str) -> String {
    let digest = Sha256::digest(linked_account_id.as_bytes());
    let mut name = String::with_capacity(46);
    name.push_str("sweep-");
    for byte in &digest[..20] {
        name.push_str(&format!("{byte:02x}"));
    }
    name
}

/// The one-time schedule's name for a sweep's own follow-up (it ran out of time, Merge
/// was unavailable, or another invocation held the lease) starting at `at`: the fixed
/// name's hash and the minute, so at most 59 characters. Never the fixed name: Scheduler
/// deletes a fired schedule only some time after it invoked the function (and keeps it
/// while it retries), so a follow-up under that name, created seconds after the firing,
/// would clash with the schedule that is running it and be lost.
pub fn follow_up_schedule_name(linked_account_id: &str, at: DateTime<Utc>) -> String {
    format!(
        "{}-{}",
        sweep_schedule_name(linked_account_id),
        at.format("%Y%m%d%H%M")
    )
}

/// The one-time schedule's name for a fan-out's continuation at `at` resuming after
/// `resume_after`: unique per resume point and minute, at most 59 characters.
pub fn continuation_schedule_name(resume_after: Option<&str>, at: DateTime<Utc>) -> String {
    let digest = Sha256::digest(resume_after.unwrap_or("").as_bytes());
    let mut name = String::with_capacity(59);
    name.push_str("fan-out-");
    for byte in &digest[..16] {
        name.push_str(&format!("{byte:02x}"));
    }
    name.push('-');
    name.push_str(&at.format("%Y%m%d%H%M").to_string());
    name
}

/// What a sweep counted, summed over the invocations it took.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Totals {
    /// Pages read.
    pub pages: u64,
    /// Employees read.
    pub employees: u64,
    /// Entries the sweep moved into `terminated` (overdue timers included).
    pub terminated: u64,
    /// Entries it changed to `scheduled`.
    pub scheduled: u64,
    /// Entries it changed to `active`.
    pub active: u64,
    /// Entries it changed to `undetermined`.
    pub undetermined: u64,
    /// Requests sent to Merge, retries included.
    pub requests: u64,
    /// Of those, answered 429.
    pub rate_limited: u64,
    /// Historical terminations recorded: not changes a webhook missed, and never acted
    /// on but by a backfill.
    pub historical: u64,
}

impl Totals {
    /// Counts one change the sweep made, by the decision the entry now holds.
    pub fn count_change(&mut self, decision: Decision) {
        match decision {
            Decision::Terminated => self.terminated += 1,
            Decision::Scheduled => self.scheduled += 1,
            Decision::Active => self.active += 1,
            Decision::Undetermined => self.undetermined += 1,
        }
    }

    /// Every change counted: each is a webhook that never arrived.
    pub fn changes(&self) -> u64 {
        self.terminated + self.scheduled + self.active + self.undetermined
    }

    /// These totals and `more`.
    pub fn plus(&self, more: &Totals) -> Totals {
        Totals {
            pages: self.pages + more.pages,
            employees: self.employees + more.employees,
            terminated: self.terminated + more.terminated,
            scheduled: self.scheduled + more.scheduled,
            active: self.active + more.active,
            undetermined: self.undetermined + more.undetermined,
            requests: self.requests + more.requests,
            rate_limited: self.rate_limited + more.rate_limited,
            historical: self.historical + more.historical,
        }
    }
}

/// A sweep under way: when it started (the next watermark), the filter it reads with,
/// where it stopped, and what it has counted so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// When the sweep started: the watermark once it completes.
    pub started_at: DateTime<Utc>,
    /// The `modified_after` it reads with, kept across invocations so that every page
    /// of one sweep comes from one query.
    pub modified_after: Option<DateTime<Utc>>,
    /// The cursor of the next page to read; none for the first.
    pub cursor: Option<String>,
    /// What it counted in earlier invocations.
    pub totals: Totals,
    /// Every page read: what is left is the overdue step, then the watermark.
    pub pages_done: bool,
    /// The cursors this run followed (the last [`SEEN_CURSORS`] of them): a `next`
    /// among them is a loop.
    pub seen: SeenCursors,
    /// The invocations that took the lease for this run, this one included: past
    /// [`RUN_INVOCATIONS`] it is given up.
    pub invocations: u32,
}

impl Run {
    /// True once the run has taken more than [`RUN_INVOCATIONS`] invocations: it is
    /// given up rather than continued.
    pub fn exhausted(&self) -> bool {
        self.invocations > RUN_INVOCATIONS
    }
}

/// The invocations one run may take, the first included. A first (or `full`) sweep of
/// 50,000 employees is 500 pages; at 3 to 8 pages an invocation it takes 60 to 170
/// invocations, and even at one page an invocation (Merge slow, or throttling) 500:
/// twice that leaves room for invocations that read nothing (Merge unavailable, the
/// overdue step failing) before a run that cannot end is called one. The follow-ups
/// are at least a minute apart, so a run reaching it has gone on for some 17 hours at
/// least; with Merge down and the follow-ups backing off, for days.
pub const RUN_INVOCATIONS: u32 = 1_000;

/// The cursors' fingerprints a run keeps: the last ones it followed. 1,000 hold every
/// cursor of a 100,000-employee run, in some 19 KB of the sweep item; past that the
/// oldest are forgotten, and a loop longer than that is ended by [`RUN_INVOCATIONS`].
pub const SEEN_CURSORS: usize = 1_000;

/// The cursors a run followed, as fingerprints (the first 64 bits of the cursor's
/// SHA-256, in hex), oldest first, at most [`SEEN_CURSORS`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenCursors(Vec<String>);

impl SeenCursors {
    /// True when the run followed `cursor` (among the last [`SEEN_CURSORS`]).
    pub fn contains(&self, cursor: &str) -> bool {
        let print = fingerprint(cursor);
        self.0.contains(&print)
    }

    /// Remembers that the run followed `cursor`, forgetting the oldest past the cap.
    pub fn insert(&mut self, cursor: &str) {
        let print = fingerprint(cursor);
        if !self.0.contains(&print) {
            self.0.push(print);
        }
        let over = self.0.len().saturating_sub(SEEN_CURSORS);
        self.0.drain(..over);
    }

    /// How many are kept.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True before the run followed any cursor.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fingerprints as stored, the last [`SEEN_CURSORS`] kept.
    fn from_stored(mut prints: Vec<String>) -> Self {
        let over = prints.len().saturating_sub(SEEN_CURSORS);
        prints.drain(..over);
        SeenCursors(prints)
    }
}

/// A cursor's fingerprint: 64 bits of its SHA-256, in hex. Two cursors of one run
/// share one by chance with odds of about one in 10^13 at 1,000 cursors.
fn fingerprint(cursor: &str) -> String {
    let digest = Sha256::digest(cursor.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// What a page's `next` means for the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextCursor {
    /// None: the page was the last.
    Last,
    /// A cursor the run has not followed: the next page.
    Follow(String),
    /// Empty, the cursor just read, or one the run followed already: following it
    /// would read the same pages again and again, so the page is no page.
    Loops,
}

/// Reads a page's `next` against the cursor it was read at (`current`, none for the
/// first page) and the cursors the run followed.
pub fn next_cursor(seen: &SeenCursors, current: Option<&str>, next: Option<String>) -> NextCursor {
    match next {
        None => NextCursor::Last,
        Some(next) if next.is_empty() || Some(next.as_str()) == current || seen.contains(&next) => {
            NextCursor::Loops
        }
        Some(next) => NextCursor::Follow(next),
    }
}

/// One linked account's sweep item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepState {
    /// The linked account.
    pub linked_account_id: String,
    /// When the last completed sweep started; none before the first.
    pub watermark: Option<DateTime<Utc>>,
    /// The sweep under way, if any.
    pub run: Option<Run>,
    /// Until when the holder may sweep; none when nobody holds the lease.
    pub lease_until: Option<DateTime<Utc>>,
    /// Which invocation holds the lease (a write token).
    pub holder: String,
    /// How many invocations in a row ended with Merge unavailable past the retries:
    /// after [`UNAVAILABLE_LIMIT`] it is a failure, and follow-ups back off.
    pub unavailable: u32,
    /// Incremented by every write: the compare-and-swap token.
    pub revision: u64,
}

/// The item as stored: the state's JSON beside the keys and revision.
#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    watermark: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    modified_after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    totals: Option<Totals>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pages_done: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lease_until: Option<String>,
    #[serde(default)]
    holder: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    unavailable: u32,
    /// The run's cursors' fingerprints; missing in items written before they were kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    seen_cursors: Vec<String>,
    /// The run's invocations; missing (0) in items written before they were counted.
    #[serde(default, skip_serializing_if = "is_zero")]
    invocations: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl SweepState {
    /// The state as the JSON the item's `sweep` attribute holds.
    pub fn to_json(&self) -> String {
        let run = self.run.as_ref();
        let stored = Stored {
            watermark: self.watermark.map(to_rfc3339),
            started_at: run.map(|r| to_rfc3339(r.started_at)),
            modified_after: run.and_then(|r| r.modified_after).map(to_rfc3339),
            cursor: run.and_then(|r| r.cursor.clone()),
            totals: run.map(|r| r.totals.clone()),
            pages_done: run.is_some_and(|r| r.pages_done),
            lease_until: self.lease_until.map(to_rfc3339),
            holder: self.holder.clone(),
            unavailable: self.unavailable,
            seen_cursors: run.map(|r| r.seen.0.clone()).unwrap_or_default(),
            invocations: run.map_or(0, |r| r.invocations),
        };
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// The state an item's `sweep` JSON holds; `None` for one this function did not write.
    pub fn from_json(linked_account_id: &str, revision: u64, json: &str) -> Option<Self> {
        let stored: Stored = serde_json::from_str(json).ok()?;
        let date = |text: Option<String>| -> Option<Option<DateTime<Utc>>> {
            match text {
                None => Some(None),
                Some(text) => parse_hr_date(&text).map(Some),
            }
        };
        let run = match date(stored.started_at)? {
            None => None,
            Some(started_at) => Some(Run {
                started_at,
                modified_after: date(stored.modified_after)?,
                cursor: stored.cursor,
                totals: stored.totals.unwrap_or_default(),
                pages_done: stored.pages_done,
                seen: SeenCursors::from_stored(stored.seen_cursors),
                invocations: stored.invocations,
            }),
        };
        Some(SweepState {
            linked_account_id: linked_account_id.to_owned(),
            watermark: date(stored.watermark)?,
            run,
            lease_until: date(stored.lease_until)?,
            holder: stored.holder,
            unavailable: stored.unavailable,
            revision,
        })
    }
}

/// The lease is held by another invocation until the given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    /// When the lease runs out, at the latest.
    pub until: DateTime<Utc>,
}

/// Plans the start of a sweep of `linked_account_id` by `holder` at `now`, holding the
/// lease for `lease`: [`Busy`] while another invocation holds it. A sweep that ran out
/// of time continues where it stopped (unless `full` asks for a new full read when the
/// one under way filters); otherwise a new one starts, reading from the watermark less
/// [`OVERLAP`], or everything when there is none or `full` asks.
pub fn begin(
    stored: Option<&SweepState>,
    linked_account_id: &str,
    full: bool,
    holder: &str,
    lease: TimeDelta,
    now: DateTime<Utc>,
) -> Result<SweepState, Busy> {
    if let Some(stored) = stored
        && let Some(until) = stored.lease_until
        && until > now
        && stored.holder != holder
    {
        return Err(Busy { until });
    }
    let watermark = stored.and_then(|s| s.watermark);
    let resumed = stored
        .and_then(|s| s.run.clone())
        .filter(|run| !full || run.modified_after.is_none())
        .map(|run| Run {
            invocations: run.invocations.saturating_add(1),
            ..run
        });
    let run = resumed.unwrap_or_else(|| Run {
        started_at: now,
        modified_after: if full {
            None
        } else {
            watermark.map(|w| w - OVERLAP)
        },
        cursor: None,
        totals: Totals::default(),
        pages_done: false,
        seen: SeenCursors::default(),
        invocations: 1,
    });
    Ok(SweepState {
        linked_account_id: linked_account_id.to_owned(),
        watermark,
        run: Some(run),
        lease_until: Some(now + lease),
        holder: holder.to_owned(),
        unavailable: stored.map_or(0, |s| s.unavailable),
        revision: stored.map_or(1, |s| s.revision + 1),
    })
}

/// The state after an invocation that ran out of time, or a sweep that cannot go on
/// (Merge refused the account): the cursor of the next page to read, the cursors
/// followed and the totals so far are kept, so that the next sweep continues it, and
/// the lease is released.
pub fn pause(
    state: &SweepState,
    cursor: Option<String>,
    totals: &Totals,
    seen: &SeenCursors,
) -> SweepState {
    let run = state.run.as_ref().map(|run| Run {
        cursor,
        totals: totals.clone(),
        seen: seen.clone(),
        ..run.clone()
    });
    SweepState {
        run,
        lease_until: None,
        revision: state.revision + 1,
        ..state.clone()
    }
}

/// The state after an invocation that read every page but had no time left for the
/// overdue step: the next invocation runs only that step, then moves the watermark,
/// rather than reading every page again.
pub fn pages_read(state: &SweepState, totals: &Totals) -> SweepState {
    let seen = state
        .run
        .as_ref()
        .map(|r| r.seen.clone())
        .unwrap_or_default();
    let mut paused = pause(state, None, totals, &seen);
    if let Some(run) = paused.run.as_mut() {
        run.pages_done = true;
    }
    paused
}

/// The state after Merge refused a page for good (another 4xx, or an answer that is no
/// page): the run is dropped, so that the next sweep starts again from the watermark
/// rather than sending the same request forever (an expired cursor is answered 400),
/// and the lease is released.
pub fn abandon(state: &SweepState) -> SweepState {
    SweepState {
        run: None,
        lease_until: None,
        unavailable: 0,
        revision: state.revision + 1,
        ..state.clone()
    }
}

/// Invocations in a row that may end with Merge unavailable before it is a failure.
pub const UNAVAILABLE_LIMIT: u32 = 5;

/// How long after an invocation that found Merge unavailable for the `times`-th time in
/// a row the follow-up runs: a minute at first, then doubling past
/// [`UNAVAILABLE_LIMIT`], up to an hour, so that an outage is not hammered.
pub fn unavailable_backoff(times: u32) -> TimeDelta {
    if times < UNAVAILABLE_LIMIT {
        return TimeDelta::minutes(1);
    }
    let doublings = (times - UNAVAILABLE_LIMIT + 1).min(6);
    TimeDelta::minutes((1_i64 << doublings).min(60))
}

/// The state after a sweep that read every page: the watermark moves to when it started,
/// and the lease is released.
pub fn complete(state: &SweepState) -> SweepState {
    SweepState {
        watermark: state.run.as_ref().map(|r| r.started_at).or(state.watermark),
        run: None,
        lease_until: None,
        unavailable: 0,
        revision: state.revision + 1,
        ..state.clone()
    }
}

/// True for an entry still `scheduled` whose `effective_at` passed more than
/// [`OVERDUE_AFTER`] before `now`: its timer was lost.
pub fn is_overdue(entry: &Entry, now: DateTime<Utc>) -> bool {
    entry.decision == Decision::Scheduled
        && entry
            .effective_at
            .is_some_and(|at| at < now - OVERDUE_AFTER)
}

/// When a sweep fanned out from the recurring schedule starts: `index` accounts in,
/// [`FAN_OUT_PER_MINUTE`] a minute from `first`, so that at most that many sweeps start
/// together and 1,000 accounts are all under way within the hour.
pub fn fan_out_at(first: DateTime<Utc>, index: usize) -> DateTime<Utc> {
    let minutes = i64::try_from(index / FAN_OUT_PER_MINUTE).unwrap_or(i64::MAX / 60);
    first + TimeDelta::minutes(minutes)
}

/// How many fanned-out sweeps start in the same minute.
pub const FAN_OUT_PER_MINUTE: usize = 20;

#[cfg(test)]
mod tests;
