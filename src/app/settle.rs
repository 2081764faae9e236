//! Carries out what the ledger's pure transitions plan, through the effect traits and
//! within the invocation's budget: for a decided delivery and for a fired timer alike,
//! so that both change the ledger the same way.
//!
//! Order of effects, chosen so that a process dying between any two calls leaves
//! nothing worse than a timer that fires to a no-op:
//! 1. read the entry (consistently) and plan against it;
//! 2. when the result is `scheduled`, set its timer *before* writing the entry, so no
//!    `scheduled` entry is ever stored without a timer;
//! 3. write the entry, compare-and-swap on its revision; on a conflict, read and plan
//!    again;
//! 4. bring the timer in line with the entry as it now stands (set it again, or delete
//!    it), then read the entry once more: if another invocation wrote meanwhile, align
//!    the timer with that, since its own timer call may have landed before ours.

use crate::app::baseline::Baselines;
use crate::app::budget::Budget;
use crate::aws::ledger::{Ledger, LedgerError};
use crate::aws::scheduler::{
    ScheduleTarget, SchedulerError, Schedules, TimerChange, cancel_timer, put_timer,
};
use crate::domain::baseline::classify;
use crate::domain::decision::Decision;
use crate::domain::evidence::{Evidence, Fact, of_write};
use crate::domain::ledger::{
    Change, EmployeeKey, Entry, Observation, Timer, Transition, announced, enters_current, fire,
    learned_after, transition,
};
use crate::domain::schedule::{TimerPlan, timer_for, timer_name};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// A token no other write carries: this process, and a count of its writes. Lambda runs
/// one invocation at a time per process, and a process id is not reused while its
/// process lives.
fn write_token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let count = WRITES.fetch_add(1, Ordering::Relaxed);
    // Fixed width, so that an item's size (and its cost) does not depend on it.
    format!(
        "{:08x}-{:016x}-{count:016x}",
        std::process::id(),
        started().timestamp_micros()
    )
}

/// When this process first wrote, so that a process id reused by another process, later,
/// gives other tokens.
fn started() -> DateTime<Utc> {
    static STARTED: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();
    *STARTED.get_or_init(Utc::now)
}

/// Kept back from a write's time for reading it back when its answer is lost.
pub const READ_BACK_TIME: std::time::Duration = std::time::Duration::from_millis(400);

/// Attempts at a compare-and-swap write before the delivery is answered 503. Each lost
/// race means another invocation's write landed, so with N deliveries for one employee
/// at once every one lands within N attempts; the invocation's budget bounds the time.
pub const WRITE_ATTEMPTS: usize = 25;
/// Rounds of aligning the timer with writes made meanwhile.
pub const ALIGN_ROUNDS: usize = 3;

/// The ledger and, when scheduling is on, the timers.
pub struct Effects {
    /// The ledger's table.
    pub ledger: Arc<dyn Ledger>,
    /// Timers, when scheduling is on.
    pub timers: Option<Timers>,
    /// Deprovisioning is on: each move into `terminated` notes the employee as waiting
    /// for deprovisioning in the same write, so the release finds every leaver whose
    /// deprovisioning is not settled, whatever fails after the move.
    pub note_terminations: bool,
    /// Each linked account's baseline, which tells a historical termination.
    pub baselines: Baselines,
}

/// Where timers are kept and where they deliver.
pub struct Timers {
    /// The schedule group.
    pub schedules: Arc<dyn Schedules>,
    /// The role Scheduler assumes.
    pub role_arn: String,
    /// The queue for firings Scheduler cannot deliver.
    pub dead_letter_arn: Option<String>,
}

/// What the invocation did to the employee's timer, as records name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerOutcome {
    /// No timer call was needed.
    Untouched,
    /// A timer was created.
    Created,
    /// The timer was set again (moved, or rewritten whole).
    Updated,
    /// A pending timer was deleted.
    Cancelled,
    /// The entry is `scheduled` past what Scheduler can express: no timer.
    Beyond,
}

impl TimerOutcome {
    /// The name in records.
    pub fn as_str(self) -> &'static str {
        match self {
            TimerOutcome::Untouched => "untouched",
            TimerOutcome::Created => "created",
            TimerOutcome::Updated => "updated",
            TimerOutcome::Cancelled => "cancelled",
            TimerOutcome::Beyond => "beyond_range",
        }
    }

    /// The outcome of several calls: the one that says most.
    fn and(self, change: TimerChange) -> Self {
        match (self, change) {
            (TimerOutcome::Created, _) | (_, TimerChange::Created) => TimerOutcome::Created,
            (TimerOutcome::Cancelled, _) | (_, TimerChange::Cancelled) => TimerOutcome::Cancelled,
            (_, TimerChange::Updated) => TimerOutcome::Updated,
            (outcome, TimerChange::Absent) => outcome,
        }
    }
}

/// A settled invocation: what was planned and applied, and where the timer stands.
#[derive(Debug, Clone)]
pub struct Settled {
    /// The entry the applied plan was made against.
    pub stored: Option<Entry>,
    /// The applied plan.
    pub transition: Transition,
    /// The entry as it stands afterwards, as far as this invocation knows.
    pub entry: Option<Entry>,
    /// What happened to the timer.
    pub timer: TimerOutcome,
    /// A timer call that failed after the entry was written: the entry stands.
    pub timer_error: Option<SchedulerError>,
    /// A timer call was made (so a timer may exist that the entry no longer wants).
    pub timer_touched: bool,
}

fn settled(
    stored: Option<Entry>,
    transition: Transition,
    timer: TimerOutcome,
    timer_touched: bool,
) -> Settled {
    let entry = transition.result(stored.as_ref()).cloned();
    Settled {
        stored,
        transition,
        entry,
        timer,
        timer_error: None,
        timer_touched,
    }
}

impl Settled {
    /// True when this invocation moved the employee into a current termination: the
    /// move whose `terminated` record is owed and whose access is revoked.
    pub fn entered_terminated(&self) -> bool {
        self.transition.enters_terminated(self.stored.as_ref())
    }

    /// True when this invocation recorded a historical termination: counted and
    /// recorded, never announced for revocation nor deprovisioned but by a backfill.
    pub fn entered_historical(&self) -> bool {
        self.transition.enters_historical(self.stored.as_ref())
    }

    /// The entry as this invocation wrote or found it, before any other invocation's
    /// write that aligning the timer may have seen since.
    pub fn own(&self) -> Option<&Entry> {
        self.transition.result(self.stored.as_ref())
    }

    /// What the ledger did, as records name it.
    pub fn change(&self) -> Change {
        self.transition.change
    }

    /// True when the entry stands `scheduled` without a timer this invocation could
    /// confirm: a retry (which sets the timer again) is worth asking for.
    /// Only an invocation that wrote the entry asks: a replay that found the timer call
    /// failing changed nothing, and its record says so.
    pub fn needs_retry(&self) -> bool {
        self.timer_error.as_ref().is_some_and(|e| !e.is_permanent())
            && self.transition.write.is_some()
            && self
                .entry
                .as_ref()
                .is_some_and(|e| e.decision == Decision::Scheduled)
    }
}

/// What marking a termination announced came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marked {
    /// This invocation's write marked it.
    Claimed,
    /// Another invocation marked it first, or the entry moved on.
    Elsewhere,
    /// The ledger could not be written: the record stays owed.
    Failed,
}

/// Why an invocation could not be settled. Nothing it needs to announce was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsettled {
    /// A ledger call failed, or writes kept conflicting.
    Ledger(LedgerError),
    /// A timer call failed before the entry was written.
    Timer(SchedulerError),
}

impl Unsettled {
    /// The kind, as records name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Unsettled::Ledger(error) => error.kind(),
            Unsettled::Timer(error) => error.kind(),
        }
    }
}

impl Effects {
    /// Writes an operator's action as its fact, right after the action succeeded (its
    /// writes are many, and span the ledger and deprovisioning's bookkeeping, so the
    /// fact cannot share their transaction). A fact that cannot be written is a WARN:
    /// the action stands, and its own records and answer still tell of it.
    pub async fn note_operator(&self, fact: Evidence, budget: &Budget) {
        let facts = [fact];
        let written = budget
            .run(self.ledger.put_evidence(&facts))
            .await
            .unwrap_or(Err(LedgerError::TimedOut));
        if let (Err(error), Fact::Operator { action, .. }) = (written, &facts[0].fact) {
            tracing::warn!(
                action = action.as_str(),
                error = error.kind(),
                "operator action's evidence could not be written"
            );
        }
    }

    async fn get(&self, key: &EmployeeKey, budget: &Budget) -> Result<Option<Entry>, LedgerError> {
        budget
            .run(self.ledger.get(key))
            .await
            .unwrap_or(Err(LedgerError::TimedOut))
    }

    /// Writes `entry` against `expected`. When the answer is lost (a timeout, no
    /// connection), the write may still have landed; and when the SDK retried a write
    /// whose first attempt landed, the retry meets the condition that attempt changed.
    /// Either way, read it back before calling it a failure or a lost race, so that a
    /// committed termination is announced by the invocation that made it.
    async fn put(
        &self,
        entry: &Entry,
        stored: Option<&Entry>,
        budget: &Budget,
    ) -> Result<(), LedgerError> {
        let expected = stored.map(|s| s.revision);
        // The evidence this write makes goes in the same transaction: a change is never
        // stored without its fact, nor a fact without its change.
        let facts = of_write(stored, entry);
        // A historical termination owes no deprovisioning until a backfill asks: it is
        // on no list.
        let write = if enters_current(stored, entry) && self.note_terminations {
            self.ledger.put_noting(entry, expected, &facts)
        } else {
            self.ledger.put(entry, expected, &facts)
        };
        // The write is given up early enough to leave time to read it back.
        let written = budget
            .run_leaving(READ_BACK_TIME, write)
            .await
            .unwrap_or(Err(LedgerError::TimedOut));
        match written {
            Err(
                LedgerError::TimedOut | LedgerError::Unreachable | LedgerError::ConditionFailed,
            ) => match self.get(&entry.key, budget).await {
                // This write, by its revision and its token: an identical entry written
                // by another invocation has another token.
                Ok(Some(stored))
                    if stored.revision == entry.revision
                        && stored.written_by == entry.written_by =>
                {
                    Ok(())
                }
                _ => written,
            },
            other => other,
        }
    }

    async fn arm(
        &self,
        timers: &Timers,
        plan: &TimerPlan,
        target: &ScheduleTarget,
        budget: &Budget,
    ) -> Option<Result<TimerChange, SchedulerError>> {
        let TimerPlan::Arm(desired) = plan else {
            return None;
        };
        Some(
            budget
                .run(put_timer(timers.schedules.as_ref(), desired, target))
                .await
                .unwrap_or(Err(SchedulerError::TimedOut)),
        )
    }

    async fn cancel(
        &self,
        timers: &Timers,
        key: &EmployeeKey,
        budget: &Budget,
    ) -> Result<TimerChange, SchedulerError> {
        budget
            .run(cancel_timer(timers.schedules.as_ref(), &timer_name(key)))
            .await
            .unwrap_or(Err(SchedulerError::TimedOut))
    }

    /// Reads the entry, plans with `plan`, and writes what it plans compare-and-swap,
    /// reading and planning again when another invocation wrote first. With `timers`,
    /// a planned `scheduled` entry gets its timer before it is written.
    pub async fn write_planned(
        &self,
        key: &EmployeeKey,
        plan: impl Fn(Option<&Entry>) -> Transition,
        timers: Option<(&Timers, &ScheduleTarget)>,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> Result<Settled, Unsettled> {
        let mut timer = TimerOutcome::Untouched;
        let mut touched = false;
        for attempt in 1..=WRITE_ATTEMPTS {
            let stored = self.get(key, budget).await.map_err(Unsettled::Ledger)?;
            let mut planned = plan(stored.as_ref());
            if let Some(write) = planned.write.as_mut() {
                write.written_by = write_token();
                write.learned = learned_after(stored.as_ref(), write);
            }
            let Some(write) = &planned.write else {
                return Ok(settled(stored, planned, timer, touched));
            };
            if let Some((timers, target)) = timers {
                let armed = self
                    .arm(timers, &timer_for(write, now), target, budget)
                    .await;
                touched |= armed.is_some();
                match armed {
                    Some(Ok(change)) => timer = timer.and(change),
                    // No retry can make Scheduler take it: record the entry all the
                    // same, and let the record say the timer is missing.
                    Some(Err(error)) if error.is_permanent() => {}
                    Some(Err(error)) => return Err(Unsettled::Timer(error)),
                    None => {}
                }
            }
            match self.put(write, stored.as_ref(), budget).await {
                Ok(()) => return Ok(settled(stored, planned, timer, touched)),
                Err(LedgerError::ConditionFailed) if attempt < WRITE_ATTEMPTS => {}
                Err(error) => return Err(Unsettled::Ledger(error)),
            }
        }
        Err(Unsettled::Ledger(LedgerError::ConditionFailed))
    }

    /// Applies a decided delivery (or a sweep's observation) to the ledger and the timer.
    pub async fn settle_observation(
        &self,
        incoming: &Observation,
        target: Option<&ScheduleTarget>,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> Result<Settled, Unsettled> {
        let timers = self.timers.as_ref().zip(target);
        let cutoff = self
            .baselines
            .cutoff(
                self.ledger.as_ref(),
                &incoming.key.linked_account_id,
                budget,
                now,
            )
            .await
            .map_err(Unsettled::Ledger)?;
        let plan =
            |stored: Option<&Entry>| classify(stored, transition(stored, incoming, now), cutoff);
        let mut settled = self
            .write_planned(&incoming.key, plan, timers, budget, now)
            .await?;
        let was_scheduled = settled
            .stored
            .as_ref()
            .is_some_and(|s| s.decision == Decision::Scheduled);
        let may_exist = was_scheduled || settled.timer_touched;
        if let Some((timers, target)) = timers {
            self.align(timers, target, &mut settled, may_exist, budget, now)
                .await;
        }
        Ok(settled)
    }

    /// Marks the termination of `entry` (as this invocation left it) as announced.
    /// [`Marked::Claimed`] when this write made the mark; [`Marked::Elsewhere`] when
    /// another invocation marked it first or the entry moved on; [`Marked::Failed`] when
    /// the ledger could not be written, so the record stays owed.
    pub async fn mark_announced(
        &self,
        entry: &Entry,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> Marked {
        // The entry as this invocation left it is almost always still the stored one:
        // one write; only if another invocation wrote meanwhile, read and plan.
        let mut marked = announced(entry, now);
        marked.written_by = write_token();
        match self.put(&marked, Some(entry), budget).await {
            Ok(()) => return Marked::Claimed,
            Err(LedgerError::ConditionFailed) => {}
            Err(_) => return Marked::Failed,
        }
        let (key, terminated_at) = (&entry.key, entry.terminated_at);
        let owed = |stored: Option<&Entry>| match stored {
            Some(entry)
                if entry.decision == Decision::Terminated
                    && !entry.announced
                    && entry.terminated_at == terminated_at =>
            {
                Transition {
                    write: Some(announced(entry, now)),
                    change: Change::Updated,
                }
            }
            _ => Transition {
                write: None,
                change: Change::Unchanged,
            },
        };
        match self.write_planned(key, owed, None, budget, now).await {
            Ok(settled) if settled.transition.write.is_some() => Marked::Claimed,
            Ok(_) => Marked::Elsewhere,
            Err(_) => Marked::Failed,
        }
    }

    /// Brings the timer in line with the entry as it stands, then checks that no other
    /// invocation wrote meanwhile; if one did, aligns with that instead.
    async fn align(
        &self,
        timers: &Timers,
        target: &ScheduleTarget,
        settled: &mut Settled,
        mut may_exist: bool,
        budget: &Budget,
        now: DateTime<Utc>,
    ) {
        for _ in 0..ALIGN_ROUNDS {
            let Some(entry) = settled.entry.clone() else {
                return;
            };
            let plan = timer_for(&entry, now);
            let result = match &plan {
                TimerPlan::Arm(_) => self.arm(timers, &plan, target, budget).await,
                TimerPlan::Beyond | TimerPlan::None if may_exist => {
                    Some(self.cancel(timers, &entry.key, budget).await)
                }
                TimerPlan::Beyond | TimerPlan::None => None,
            };
            if plan == TimerPlan::Beyond {
                settled.timer = TimerOutcome::Beyond;
            }
            let Some(result) = result else {
                return;
            };
            match result {
                Ok(change) => settled.timer = settled.timer.and(change),
                Err(error) => {
                    settled.timer_error = Some(error);
                    return;
                }
            }
            may_exist = true;
            match self.get(&entry.key, budget).await {
                Ok(Some(now_stored)) if now_stored.revision != entry.revision => {
                    settled.entry = Some(now_stored);
                }
                // Unchanged, or unreadable now: what this invocation did stands.
                _ => return,
            }
        }
    }

    /// Terminates an entry a sweep found still `scheduled` long after its date (its timer
    /// was lost): the move a firing would have made, by the reconciliation. The entry is
    /// read again first, so one that changed meanwhile is left as it stands; a timer
    /// left behind is deleted.
    pub async fn settle_overdue(
        &self,
        found: &Entry,
        target: Option<&ScheduleTarget>,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> Result<Settled, Unsettled> {
        let Some(effective_at) = found.effective_at else {
            return Err(Unsettled::Ledger(LedgerError::Unreadable));
        };
        let timer = Timer {
            key: found.key.clone(),
            version: found.version,
            effective_at,
            legacy: None,
        };
        let plan = |stored: Option<&Entry>| {
            let mut planned = fire(stored, &timer, now);
            if let Some(write) = planned.write.as_mut() {
                write.changed_by = crate::domain::ledger::Source::Reconciliation;
            }
            planned
        };
        let mut settled = self
            .write_planned(&timer.key, plan, None, budget, now)
            .await?;
        if let Some((timers, target)) = self.timers.as_ref().zip(target)
            && settled.transition.write.is_some()
        {
            self.align(timers, target, &mut settled, true, budget, now)
                .await;
        }
        Ok(settled)
    }

    /// Applies a fired timer: the entry moves into `terminated` if it still says
    /// `scheduled` for the timer's version. An outdated firing of an employee who is
    /// still `scheduled` sets the current timer again, since Scheduler deletes a schedule
    /// once it has fired.
    pub async fn settle_timer(
        &self,
        timer: &Timer,
        target: Option<&ScheduleTarget>,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> Result<Settled, Unsettled> {
        let plan = |stored: Option<&Entry>| fire(stored, timer, now);
        let mut settled = self
            .write_planned(&timer.key, plan, None, budget, now)
            .await?;
        let Some((timers, target)) = self.timers.as_ref().zip(target) else {
            return Ok(settled);
        };
        let rearm = settled.change() == Change::Outdated
            && settled
                .entry
                .as_ref()
                .is_some_and(|e| e.decision == Decision::Scheduled);
        if rearm {
            // Set it as the entry stands, then read the entry again: a delivery writing
            // meanwhile may have set or deleted the timer before this call landed.
            self.align(timers, target, &mut settled, true, budget, now)
                .await;
            if let Some(error) = settled.timer_error.clone() {
                return Err(Unsettled::Timer(error));
            }
        } else if settled.transition.write.is_some() {
            // Scheduler deleted the schedule as it fired, but a delivery racing this
            // firing may have set it again: delete what the terminated entry no longer
            // needs. The move stands whatever this call answers.
            self.align(timers, target, &mut settled, true, budget, now)
                .await;
        }
        Ok(settled)
    }
}
