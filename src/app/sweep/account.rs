//! Sweeping one linked account in this invocation: a driver over small steps (the
//! account's credentials, the lease, the pages, the finish, the checkpoint and the
//! follow-up), each ending in a value the driver matches.

use super::lease::{Checkpoint, checkpoint, take_lease};
use super::overdue::Overdue;
use super::pages::read_page;
use super::report::{SweepEnd, SweepReport};
use super::request::{Requested, schedule_follow_up};
use super::secret::{Held, Reconciliation};
use super::{CHECKPOINT_RESERVE, OVERDUE_RESERVE, PAGE_RESERVE};
use crate::app::budget::Budget;
use crate::app::settle::Effects;
use crate::aws::ledger::LedgerError;
use crate::aws::scheduler::{ScheduleTarget, SchedulerError};
use crate::domain::ledger::Source;
use crate::domain::reconcile::{
    NextCursor, ReconcileDocument, Run, SeenCursors, SweepState, Totals, UNAVAILABLE_LIMIT,
    abandon, complete, next_cursor, pages_read as all_pages_read, pause, unavailable_backoff,
};
use crate::domain::schedule::{MIN_LEAD, whole_minute_at_or_after};
use crate::merge::pages::{EmployeeQuery, MergeError, Page};
use crate::telemetry::record::RequestFacts;
use chrono::{DateTime, TimeDelta, Utc};

#[cfg(test)]
mod tests;

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
    let secret = match find_account(reconciliation, account, budget, now).await {
        Account::Known(secret) => secret,
        Account::Unknown => return ended(SweepEnd::UnknownAccount),
    };
    let Some(target) = target else {
        // Without a schedule target the sweep could not schedule its follow-up: it ends
        // as for an account it cannot read.
        return ended(SweepEnd::UnknownAccount);
    };
    let mut facts = *facts;
    facts.source = Some(Source::Reconciliation.as_str());
    let run = SweepRun {
        reconciliation,
        effects,
        target,
        account,
        full,
        facts,
        budget,
        now,
    };
    run.drive(secret).await
}

/// One account's sweep in this invocation: what every step reads.
pub(super) struct SweepRun<'a> {
    pub(super) reconciliation: &'a Reconciliation,
    pub(super) effects: &'a Effects,
    pub(super) target: &'a ScheduleTarget,
    pub(super) account: &'a str,
    pub(super) full: bool,
    /// The invocation's facts, with `source: "reconciliation"`.
    pub(super) facts: RequestFacts<'a>,
    pub(super) budget: &'a Budget,
    pub(super) now: DateTime<Utc>,
}

/// What this invocation counted so far: the report's numbers.
#[derive(Debug, Default)]
pub(super) struct Progress {
    /// The whole sweep's totals (earlier invocations included).
    pub(super) totals: Totals,
    /// Changes this invocation made.
    pub(super) found: u64,
    /// Employees this invocation moved into `terminated`.
    pub(super) terminations: u64,
    /// The cursors the run followed (earlier invocations included).
    pub(super) seen: SeenCursors,
}

/// The report of a sweep that ended before it took the lease: nothing counted.
fn ended(end: SweepEnd) -> SweepReport {
    Progress::default().report(end, None)
}

impl Progress {
    fn report(self, end: SweepEnd, watermark: Option<DateTime<Utc>>) -> SweepReport {
        SweepReport {
            end,
            totals: self.totals,
            found: self.found,
            terminations: self.terminations,
            watermark,
        }
    }
}

/// Whether the secret holds the account.
enum Account {
    /// It does: the secret as read.
    Known(Held),
    /// It does not, even read again.
    Unknown,
}

/// The secret as it stands, read again once when it lacks the account: perhaps added
/// since this process read it.
async fn find_account(
    reconciliation: &Reconciliation,
    account: &str,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Account {
    let mut secret = reconciliation.current_secret(budget, now).await;
    if secret.credentials(account).is_none() {
        secret = reconciliation.reread_secret(budget, now).await;
    }
    match secret.credentials(account) {
        Some(_) => Account::Known(secret),
        None => Account::Unknown,
    }
}

/// How taking the lease went.
#[derive(Debug)]
enum Lease {
    /// Taken: the state to sweep under (boxed: it holds the run's cursors).
    Taken(Box<SweepState>),
    /// Another invocation holds it: a follow-up after it was asked for.
    Busy(FollowUp),
    /// The ledger failed.
    Failed(LedgerError),
}

/// Whether a follow-up of this sweep was scheduled.
#[derive(Debug, PartialEq, Eq)]
enum FollowUp {
    /// Created, or one for that very minute is already pending.
    Scheduled,
    /// Scheduler refused or failed.
    Failed(SchedulerError),
}

/// The account's credentials for the pages, read again at most once per sweep.
struct Secret {
    held: Held,
    reread: bool,
}

/// How reading one page went.
#[derive(Debug)]
enum PageRead {
    /// The page.
    Page(Page),
    /// Merge refused the credentials, and the secret read again holds others for the
    /// account: try the page again with them.
    Reread,
    /// Stop here: the page is not read.
    Stop(SweepEnd),
}

/// How reading the pages went.
#[derive(Debug, PartialEq, Eq)]
enum Pages {
    /// Every page read (none in this invocation when an earlier one read them all).
    AllRead { pages_read: usize },
    /// Stopped before the page at `cursor`.
    Stopped {
        cursor: Option<String>,
        end: SweepEnd,
        pages_read: usize,
    },
}

/// How one page's employees were settled.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum PageSettled {
    /// Every one of them.
    All,
    /// Time ran out after `settled` of them.
    OutOfTime { settled: u64 },
    /// The ledger or Scheduler failed at the last of `settled` of them.
    Failed { end: SweepEnd, settled: u64 },
}

/// The state to store once the pages are left, and how the sweep ends.
#[derive(Debug, PartialEq, Eq)]
enum Finished {
    /// Every page read and the overdue step done: the watermark moves.
    Completed(SweepState),
    /// Every page read, with too little time left for the overdue step: the next
    /// invocation runs it alone, never the pages again.
    AwaitingOverdue(SweepState),
    /// Every page read, and the overdue step failed: the pages stay read, and the
    /// follow-up, a minute later as after a pause, runs only that step again.
    OverdueFailed { state: SweepState, end: SweepEnd },
    /// Stopped before a page, its cursor kept for the next invocation.
    Paused { state: SweepState, end: SweepEnd },
    /// Stopped at a cursor Merge refused, or whose page is no page (its `next` loops
    /// included), or a run past its invocations: dropped, so that the next sweep starts
    /// again from the watermark.
    Abandoned { state: SweepState, end: SweepEnd },
}

/// What a finish leaves: the state to store, the end to report, the watermark as it
/// stands, and when the follow-up runs (none when there is none).
#[derive(Debug, PartialEq, Eq)]
struct Ending {
    stored: SweepState,
    end: SweepEnd,
    watermark: Option<DateTime<Utc>>,
    wait: Option<TimeDelta>,
}

impl Finished {
    /// What this finish leaves, from the state as leased.
    fn ending(self, leased: &SweepState) -> Ending {
        let (stored, end, watermark) = match self {
            Finished::Completed(done) => {
                let watermark = done.watermark;
                (done, SweepEnd::Completed, watermark)
            }
            Finished::AwaitingOverdue(paused) => (paused, SweepEnd::Paused, leased.watermark),
            Finished::OverdueFailed { state, end } => {
                // The pages stay read: the follow-up runs the overdue step alone, when a
                // paused sweep's would.
                let wait = follow_up_wait(&SweepEnd::Paused, state.unavailable);
                return Ending {
                    stored: state,
                    end,
                    watermark: leased.watermark,
                    wait,
                };
            }
            Finished::Paused { state, end } | Finished::Abandoned { state, end } => {
                (state, end, leased.watermark)
            }
        };
        let wait = follow_up_wait(&end, stored.unavailable);
        Ending {
            stored,
            end,
            watermark,
            wait,
        }
    }
}

impl SweepRun<'_> {
    /// The steps, in order, and every way out of them.
    async fn drive(&self, secret: Held) -> SweepReport {
        let state = match self.lease().await {
            Lease::Taken(state) => *state,
            Lease::Busy(FollowUp::Scheduled) => return ended(SweepEnd::Busy),
            Lease::Busy(FollowUp::Failed(error)) => return ended(SweepEnd::Scheduling(error)),
            Lease::Failed(error) => return ended(SweepEnd::Ledger(error)),
        };
        let Some(run) = state.run.as_ref() else {
            // Taking the lease always plans a run: a state without one is unreadable.
            let end = SweepEnd::Ledger(LedgerError::Unreadable);
            return Progress::default().report(end, state.watermark);
        };
        let mut progress = Progress {
            totals: run.totals.clone(),
            seen: run.seen.clone(),
            ..Progress::default()
        };
        let finished = if run.exhausted() {
            // A run that cannot end (Merge's cursors never run out, or a step keeps
            // failing) is given up; the next sweep starts again from the watermark.
            Finished::Abandoned {
                state: abandon(&state),
                end: SweepEnd::TooManyInvocations,
            }
        } else {
            let pages = self.pages(secret, run, &mut progress).await;
            self.finish(&state, pages, &mut progress).await
        };
        let Ending {
            stored,
            end,
            watermark,
            wait,
        } = finished.ending(&state);
        match checkpoint(self.effects, &stored, self.budget).await {
            Checkpoint::Stored => {}
            Checkpoint::Failed(error) => {
                return progress.report(SweepEnd::Ledger(error), watermark);
            }
        }
        let end = match wait {
            None => end,
            Some(wait) => match self.schedule_follow_up(self.now + wait).await {
                FollowUp::Scheduled => end,
                FollowUp::Failed(error) => SweepEnd::Scheduling(error),
            },
        };
        progress.report(end, watermark)
    }

    /// Takes the account's lease for the invocation's time and a minute; when another
    /// invocation holds it, schedules a follow-up after it.
    async fn lease(&self) -> Lease {
        let lease = TimeDelta::from_std(self.budget.granted()).unwrap_or(TimeDelta::MAX)
            + TimeDelta::minutes(1);
        let taken = take_lease(
            self.effects,
            self.account,
            self.full,
            lease,
            self.budget,
            self.now,
        )
        .await;
        match taken {
            Ok(Ok(state)) => Lease::Taken(Box::new(state)),
            Ok(Err(busy)) => {
                let at = busy.until.max(self.now + MIN_LEAD);
                Lease::Busy(self.schedule_follow_up(at).await)
            }
            Err(error) => Lease::Failed(error),
        }
    }

    /// Schedules this sweep's follow-up at the first whole minute from `at`.
    async fn schedule_follow_up(&self, at: DateTime<Utc>) -> FollowUp {
        let at = whole_minute_at_or_after(at);
        let document = ReconcileDocument::for_account(self.account, self.full);
        match schedule_follow_up(self.effects, self.target, &document, at, self.budget).await {
            Requested::Failed(error) => FollowUp::Failed(error),
            _ => FollowUp::Scheduled,
        }
    }

    /// Reads and settles the pages from where the run stands.
    async fn pages(&self, secret: Held, run: &Run, progress: &mut Progress) -> Pages {
        if run.pages_done {
            // An earlier invocation read every page; the overdue step is left.
            return Pages::AllRead { pages_read: 0 };
        }
        let query = EmployeeQuery {
            cursor: run.cursor.clone(),
            modified_after: run.modified_after,
        };
        self.read_pages(secret, query, progress).await
    }

    /// Reads and settles pages from `query` until the last, the page limit, the budget
    /// or a failure.
    async fn read_pages(
        &self,
        held: Held,
        mut query: EmployeeQuery,
        progress: &mut Progress,
    ) -> Pages {
        let mut secret = Secret {
            held,
            reread: false,
        };
        let mut pages_read = 0;
        let end = loop {
            if pages_read >= self.reconciliation.page_limit || self.budget.left() < PAGE_RESERVE {
                break SweepEnd::Paused;
            }
            let Page { next, results } = match self
                .read_one(&mut secret, &query, &mut progress.totals)
                .await
            {
                PageRead::Page(page) => page,
                PageRead::Reread => continue,
                PageRead::Stop(end) => break end,
            };
            // A `next` that leads back would be asked for until time runs out, and again
            // by every follow-up: the page is taken for no page, its employees unsettled.
            let next = match next_cursor(&progress.seen, query.cursor.as_deref(), next) {
                NextCursor::Loops => break SweepEnd::MergeRejected(MergeError::Malformed),
                NextCursor::Follow(next) => Some(next),
                NextCursor::Last => None,
            };
            pages_read += 1;
            progress.totals.pages += 1;
            let (end, settled) = match self.settle_page(results, progress).await {
                PageSettled::All => match next {
                    Some(next) => {
                        progress.seen.insert(&next);
                        query.cursor = Some(next);
                        continue;
                    }
                    None => return Pages::AllRead { pages_read },
                },
                PageSettled::OutOfTime { settled } => (SweepEnd::Paused, settled),
                PageSettled::Failed { end, settled } => (end, settled),
            };
            // This page is read again next time (what was settled of it is unchanged
            // then), so it is counted then, not now.
            progress.totals.pages -= 1;
            progress.totals.employees -= settled;
            break end;
        };
        Pages::Stopped {
            cursor: query.cursor,
            end,
            pages_read,
        }
    }

    /// Reads the page at `query`; when Merge refuses the credentials, reads the secret
    /// again (at most once a minute), in case the key or the token was rotated since.
    async fn read_one(
        &self,
        secret: &mut Secret,
        query: &EmployeeQuery,
        totals: &mut Totals,
    ) -> PageRead {
        let Some(credentials) = secret.held.credentials(self.account) else {
            return PageRead::Stop(SweepEnd::UnknownAccount);
        };
        let error =
            match read_page(self.reconciliation, credentials, query, totals, self.budget).await {
                Ok(page) => return PageRead::Page(page),
                Err(error) => error,
            };
        match error {
            MergeError::Unauthorized(status) => {
                let fresh = self
                    .reconciliation
                    .reread_secret(self.budget, self.now)
                    .await;
                let changed = secret.held.differs_for(&fresh, self.account);
                if !secret.reread && changed && fresh.credentials(self.account).is_some() {
                    secret.reread = true;
                    secret.held = fresh;
                    return PageRead::Reread;
                }
                PageRead::Stop(SweepEnd::Unauthorized(status))
            }
            MergeError::Rejected(_) | MergeError::Malformed => {
                PageRead::Stop(SweepEnd::MergeRejected(error))
            }
            error => PageRead::Stop(SweepEnd::MergeUnavailable(error)),
        }
    }

    /// What to store once the pages are left: after the last page, the overdue step
    /// when there is time for it; before a page, the cursor or none.
    async fn finish(&self, state: &SweepState, pages: Pages, progress: &mut Progress) -> Finished {
        match pages {
            Pages::AllRead { pages_read }
                if pages_read > 0 && self.budget.left() < CHECKPOINT_RESERVE + OVERDUE_RESERVE =>
            {
                Finished::AwaitingOverdue(all_pages_read(state, &progress.totals))
            }
            // Every page read: the timers that should have fired, then the watermark.
            Pages::AllRead { .. } => match self.terminate_overdue(progress).await {
                Overdue::Done => Finished::Completed(complete(state)),
                Overdue::Failed(end) => Finished::OverdueFailed {
                    state: all_pages_read(state, &progress.totals),
                    end,
                },
            },
            Pages::Stopped {
                cursor,
                end,
                pages_read,
            } => stopped(state, cursor, end, pages_read, progress),
        }
    }
}

/// The state after stopping before the page at `cursor`, and the end as reported: a
/// run of invocations with Merge unavailable becomes [`SweepEnd::MergeDown`].
fn stopped(
    state: &SweepState,
    cursor: Option<String>,
    end: SweepEnd,
    pages_read: usize,
    progress: &Progress,
) -> Finished {
    // A refused cursor, or one whose page is no page, would be asked for again by
    // every later sweep: it is dropped, and the next sweep starts from the watermark.
    if cursor.is_some()
        && matches!(
            end,
            SweepEnd::MergeRejected(MergeError::Rejected(_) | MergeError::Malformed)
        )
    {
        return Finished::Abandoned {
            state: abandon(state),
            end,
        };
    }
    let mut paused = pause(state, cursor, &progress.totals, &progress.seen);
    let end = match end {
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
    Finished::Paused { state: paused, end }
}

/// How long after now the sweep continues, when it does: a minute after a pause; after
/// Merge was unavailable, backing off with the invocations in a row it was (`unavailable`).
fn follow_up_wait(end: &SweepEnd, unavailable: u32) -> Option<TimeDelta> {
    match end {
        SweepEnd::Paused => Some(MIN_LEAD),
        SweepEnd::MergeUnavailable(error) | SweepEnd::MergeDown(error, _) => {
            // Never sooner than Merge asked: a wait longer than the budget is kept here.
            let asked = match error {
                MergeError::RateLimited {
                    retry_after: Some(after),
                } => TimeDelta::from_std(*after).unwrap_or(TimeDelta::MAX),
                _ => TimeDelta::zero(),
            };
            Some(unavailable_backoff(unavailable).max(MIN_LEAD).max(asked))
        }
        // Completed, or ended where a retry cannot help.
        _ => None,
    }
}
