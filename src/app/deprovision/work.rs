//! One employee's deprovisioning as a driver over steps: read the entry, read the
//! targets, find what is owed, note the employee as waiting, work each owed target under
//! its share of the budget (attempt, record, log, metric), and end settled (the note
//! taken off), still waiting, or on a ledger error. Each step ends in a value its caller
//! matches.

use super::attempt::Attempt;
use super::report::{access_removal, log_outcome, pages, removal_metric_line};
use super::{Deprovisioner, Done, LEDGER_SHARE, Worked, warn_rehire};
use crate::app::budget::Budget;
use crate::app::cached_secret::Refresh;
use crate::app::settle::{Effects, Unsettled};
use crate::aws::ledger::LedgerError;
use crate::domain::decision::Decision;
use crate::domain::deprovision::{
    Mode, Outcome, Pass, Target, Targets, may_record, pending, with_change, with_outcome,
};
use crate::domain::evidence::Trigger;
use crate::domain::ledger::{Change, EmployeeKey, Entry, Transition};
use crate::telemetry::record::RequestFacts;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// What every step of one employee's work shares.
pub(super) struct Run<'a> {
    pub(super) effects: &'a Effects,
    pub(super) key: &'a EmployeeKey,
    pub(super) pass: Pass,
    /// What started the work, when the pass does not tell it (a resume works in a
    /// termination's pass).
    pub(super) by: Option<Trigger>,
    pub(super) facts: &'a RequestFacts<'a>,
    pub(super) budget: &'a Budget,
    pub(super) now: DateTime<Utc>,
}

/// How reading the entry ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Read {
    /// The employee is terminated: the work goes on with this entry.
    Terminated(Box<Entry>),
    /// Rehired (or never terminated, or not in the ledger) before the work ran: the work
    /// is obsolete and nothing is owed.
    NoLongerTerminated,
    /// The ledger could not be read: the work must be tried again.
    LedgerFailed(LedgerError),
}

/// What the entry's termination is owed. No `Debug`: a target holds its token.
pub(super) enum Owed<'t> {
    /// Every covering target is settled for this pass and mode: the work is done.
    Nothing,
    /// These targets, in the secret's order.
    Targets(Vec<&'t Target>),
}

/// How noting the employee as waiting ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Noted {
    /// Noted; the note's count, which the end's removal checks.
    Seen(u64),
    /// The note could not be made: the work must be tried again, before any SCIM call.
    Failed(LedgerError),
}

/// How writing one target's outcome into the ledger ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Recorded {
    /// Written: the entry as it now stands.
    Written(Box<Entry>),
    /// Not written: the entry holds a settled outcome for the target.
    NotWritten,
    /// Not written: the entry no longer holds the termination worked on (a rehire, or
    /// another termination, landed meanwhile); the entry as it now stands.
    Obsolete(Option<Box<Entry>>),
    /// The ledger failed: the work must be tried again.
    Failed(LedgerError),
}

/// How the work ended once every owed target was worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// Nothing is owed any more: the note comes off.
    Settled,
    /// Work still waits for a release (held, failed, unrecorded, or a dry run's
    /// finding): the note stays.
    StillWaiting,
    /// Nothing waits, but a ledger write failed: the note stays for the retry.
    LedgerFailed,
    /// The employee is no longer terminated (a rehire): the targets after the change
    /// were not worked, nothing is owed, and the note comes off.
    Obsolete,
    /// Another termination replaced the one worked on: its own stream record works it,
    /// and its note (made by its move into `terminated`, perhaps after this work noted)
    /// stays.
    Superseded,
}

/// What replaced the termination worked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Standing {
    /// The employee is no longer terminated, or no longer in the ledger.
    NotTerminated,
    /// The employee is terminated again, by another termination.
    Terminated,
}

impl Standing {
    fn of(entry: Option<&Entry>) -> Self {
        match entry {
            Some(e) if e.decision == Decision::Terminated => Standing::Terminated,
            _ => Standing::NotTerminated,
        }
    }
}

/// Whether the termination worked on still stands, read again before the next target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Still {
    /// The entry still holds it, as it now reads: the next target is worked with it, so
    /// an identity corrected meanwhile is the one searched for.
    Due(Box<Entry>),
    /// A rehire (or another termination) landed: no further target is worked.
    Obsolete(Standing),
    /// The ledger could not be read: no further target is worked, and the work is tried
    /// again.
    Unknown(LedgerError),
}

/// What the targets worked so far came to.
#[derive(Debug)]
pub(super) struct Progress {
    pub(super) done: Vec<Done>,
    pub(super) lines: Vec<String>,
    /// The entry as last written: the attempts it counts, and what still waits.
    pub(super) latest: Entry,
    /// The last ledger failure while recording or reading again.
    pub(super) ledger_error: Option<LedgerError>,
    /// The termination worked on no longer stands, and what replaced it: the work
    /// stopped there.
    pub(super) obsolete: Option<Standing>,
}

impl Deprovisioner {
    /// Deprovisions `key`'s current termination in every covering target that still owes
    /// it (in `pass`), each under its share of the budget, and records each outcome.
    pub async fn work(
        &self,
        effects: &Effects,
        key: &EmployeeKey,
        pass: Pass,
        facts: &RequestFacts<'_>,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> (Worked, Vec<String>) {
        self.work_in(effects, key, (pass, None), facts, budget, now)
            .await
    }

    /// As [`Deprovisioner::work`], with each outcome recorded as started by `by` (a
    /// resume's work, in a termination's pass).
    pub async fn work_by(
        &self,
        effects: &Effects,
        key: &EmployeeKey,
        (pass, by): (Pass, Option<Trigger>),
        facts: &RequestFacts<'_>,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> (Worked, Vec<String>) {
        let run = Run {
            effects,
            key,
            pass,
            by,
            facts,
            budget,
            now,
        };
        self.work_run(&run, None).await
    }

    /// As [`Deprovisioner::work`], in the target named `only` when given (a backfill of
    /// one target); the employee stays listed while any target still waits.
    pub async fn work_in(
        &self,
        effects: &Effects,
        key: &EmployeeKey,
        (pass, only): (Pass, Option<&str>),
        facts: &RequestFacts<'_>,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> (Worked, Vec<String>) {
        let run = Run {
            effects,
            key,
            pass,
            by: None,
            facts,
            budget,
            now,
        };
        self.work_run(&run, only).await
    }

    /// The work of [`Deprovisioner::work_in`], for `run`.
    async fn work_run(&self, run: &Run<'_>, only: Option<&str>) -> (Worked, Vec<String>) {
        let (key, pass, budget) = (run.key, run.pass, run.budget);
        let entry = match read_entry(run).await {
            Read::Terminated(entry) => *entry,
            Read::NoLongerTerminated => return (Worked::default(), Vec::new()),
            Read::LedgerFailed(error) => return (ledger_failed(error), Vec::new()),
        };
        let targets = self.targets_for(run).await;
        let Some(scope) = crate::domain::backfill::scoped(&targets, only) else {
            return (Worked::default(), Vec::new());
        };
        let owed = match owed(&entry, &scope, pass, self.mode) {
            // Nothing for this pass; what waits for a person keeps the leaver listed.
            Owed::Nothing => {
                let waiting = listed(&entry, &targets);
                let worked = Worked {
                    waiting,
                    ..Worked::default()
                };
                return (worked, Vec::new());
            }
            Owed::Targets(owed) => owed,
        };
        // A backfill keeps off the release's list: what it leaves, the next backfill
        // finds again (it lists from the ledger), and a note of its making would hand
        // the release (past the brake) targets nobody asked for.
        let seen = match pass {
            Pass::Backfill => None,
            _ => match self.noting(run).await {
                Noted::Seen(seen) => Some(seen),
                Noted::Failed(error) => return (ledger_failed(error), Vec::new()),
            },
        };
        let progress = self.each_owed(run, &entry, &owed).await;
        let end = ending(&progress, &targets);
        // A failed removal only leaves a note the next release takes off, so it is no
        // reason to retry.
        if let (End::Settled | End::Obsolete, Some(seen)) = (end, seen) {
            let _ = self.unnote(key, seen, budget).await;
        }
        progress.into_worked(end)
    }

    /// The targets, with a WARN when they could not be read again (the cached ones
    /// serve).
    async fn targets_for(&self, run: &Run<'_>) -> Arc<Targets> {
        let (targets, refresh) = self.current(run.budget, run.now).await;
        if let Some(Refresh::Failed(code)) = &refresh {
            tracing::warn!(
                error = code.as_str(),
                function_request_id = run.facts.function_request_id,
                service = run.facts.service,
                "SCIM targets secret could not be read again: the cached targets stay"
            );
        }
        targets
    }

    /// Lists the employee for the release before any SCIM call, so a process that dies
    /// on every attempt (its record dead-lettered, no outcome written) still leaves a
    /// trace the release finds.
    pub(super) async fn noting(&self, run: &Run<'_>) -> Noted {
        match self.note(run.key, run.budget).await {
            Ok(seen) => Noted::Seen(seen),
            Err(error) => Noted::Failed(error),
        }
    }

    /// Works each owed target in turn.
    async fn each_owed(&self, run: &Run<'_>, entry: &Entry, owed: &[&Target]) -> Progress {
        let mut progress = Progress {
            done: Vec::with_capacity(owed.len()),
            lines: Vec::with_capacity(owed.len()),
            latest: entry.clone(),
            ledger_error: None,
            obsolete: None,
        };
        let mut current = entry.clone();
        for (index, target) in owed.iter().enumerate() {
            // The entry is read again before every target after the first: a rehire
            // that lands while one target is worked must not deprovision the person in
            // the next.
            if index > 0 {
                match still_due(run, entry).await {
                    Still::Due(fresh) => current = *fresh,
                    Still::Obsolete(standing) => {
                        progress.obsolete = Some(standing);
                        break;
                    }
                    Still::Unknown(error) => {
                        progress.ledger_error = Some(error);
                        break;
                    }
                }
            }
            // Each target gets an equal share of what is left, so a slow one cannot hold
            // back the next.
            let share = run.budget.left() / u32::try_from(owed.len() - index).unwrap_or(u32::MAX);
            let own = Budget::of(share.saturating_sub(LEDGER_SHARE));
            let attempt = self.paused_or_attempted(run, target, &current, &own).await;
            self.tell(run, &current, target, attempt, &mut progress)
                .await;
            if progress.obsolete.is_some() {
                break;
            }
        }
        progress
    }

    /// `paused` when the operator paused the target (read before each target, so a
    /// pause stops a backlog within seconds), otherwise the target's attempt. A person's
    /// document naming the employee (deprovision now) is not stopped by a pause: it is
    /// how a person acts while everything automatic is held.
    async fn paused_or_attempted(
        &self,
        run: &Run<'_>,
        target: &Target,
        entry: &Entry,
        own: &Budget,
    ) -> Attempt {
        let ledger = run.effects.ledger.as_ref();
        if run.pass == Pass::ByHand {
            return self
                .checked_attempt(ledger, target, entry, run.pass, own, run.now)
                .await;
        }
        match self.pause(own).await {
            Ok(pause) if pause.holds(&target.name) => Attempt::finished(Outcome::Paused),
            Ok(_) => {
                self.checked_attempt(ledger, target, entry, run.pass, own, run.now)
                    .await
            }
            Err(error) => Attempt::pause_unreadable(error),
        }
    }

    /// Records one target's attempt, then logs and counts it.
    async fn tell(
        &self,
        run: &Run<'_>,
        entry: &Entry,
        target: &Target,
        attempt: Attempt,
        progress: &mut Progress,
    ) {
        let change = (attempt.user.as_deref(), run.facts.function_request_id);
        match self
            .record(run, entry, &target.name, attempt.outcome, change)
            .await
        {
            Recorded::Written(written) => progress.latest = *written,
            Recorded::NotWritten => {}
            Recorded::Obsolete(now_stands) => {
                progress.obsolete = Some(Standing::of(now_stands.as_deref()));
                if attempt.outcome.changed() {
                    // Changed, but the rehire came first and its warning could not name
                    // this target: this is the only place left to say so.
                    let changed_here = changed_in(entry, &target.name, attempt.outcome, run.now);
                    warn_rehire(Some(&changed_here), now_stands.as_deref(), run.facts);
                }
            }
            Recorded::Failed(error) => progress.ledger_error = Some(error),
        }
        let attempts = progress
            .latest
            .deprovisioning
            .get(&target.name)
            .map(|d| d.attempts)
            .filter(|n| *n > 0);
        log_outcome(target, entry, &attempt, self.mode, attempts, run.facts);
        let paging = pages(&attempt, run.pass, attempts);
        let removal = access_removal(entry, attempt.outcome, self.access_removal_sla, run.now);
        let line = removal_metric_line(
            &self.namespace,
            &attempt,
            paging,
            removal,
            run.facts,
            run.now,
        );
        progress.lines.push(line);
        progress.done.push(Done {
            key: run.key.clone(),
            target: target.name.clone(),
            outcome: attempt.outcome,
            error: attempt.error,
        });
    }

    /// Writes `outcome` for `target` into the entry, if it still holds the termination
    /// worked on and `may_record` allows it (a settled outcome is never overwritten);
    /// reads and checks again when another write came first.
    pub(super) async fn record(
        &self,
        run: &Run<'_>,
        worked_on: &Entry,
        target: &str,
        outcome: Outcome,
        change: (Option<&str>, Option<&str>),
    ) -> Recorded {
        let termination = worked_on.terminated_at;
        let by = run.trigger(worked_on);
        let plan = |stored: Option<&Entry>| match stored {
            Some(stored)
                if stored.decision == Decision::Terminated
                    && stored.terminated_at == termination
                    && may_record(stored, target, outcome, self.mode) =>
            {
                let mut write = with_change(stored, target, outcome, change, run.now);
                if let Some(recorded) = write.deprovisioning.get_mut(target) {
                    recorded.by = Some(by);
                }
                Transition {
                    write: Some(write),
                    change: Change::Updated,
                }
            }
            _ => Transition {
                write: None,
                change: Change::Outdated,
            },
        };
        let written = run
            .effects
            .write_planned(&worked_on.key, plan, None, run.budget, run.now)
            .await;
        match written {
            Ok(settled) => match settled.transition.write {
                Some(entry) => Recorded::Written(Box::new(entry)),
                None if holds(settled.entry.as_ref(), worked_on) => Recorded::NotWritten,
                None => Recorded::Obsolete(settled.entry.map(Box::new)),
            },
            Err(Unsettled::Ledger(error)) => Recorded::Failed(error),
            Err(Unsettled::Timer(_)) => Recorded::Failed(LedgerError::Unreachable),
        }
    }
}

impl Run<'_> {
    /// What started this work: the one it was given, or what its pass says (a
    /// termination's pass: whatever moved the entry into `terminated`).
    pub(super) fn trigger(&self, worked_on: &Entry) -> Trigger {
        self.by.unwrap_or(match self.pass {
            Pass::Termination => Trigger::of_source(worked_on.changed_by),
            Pass::Release | Pass::Recheck => Trigger::Release,
            Pass::Backfill => Trigger::Backfill,
            Pass::ByHand => Trigger::ByHand,
        })
    }
}

/// Reads the entry consistently: whether the employee is still terminated.
pub(super) async fn read_entry(run: &Run<'_>) -> Read {
    let read = run
        .budget
        .run(run.effects.ledger.get(run.key))
        .await
        .unwrap_or(Err(LedgerError::TimedOut));
    match read {
        Ok(Some(entry)) if entry.decision == Decision::Terminated => {
            Read::Terminated(Box::new(entry))
        }
        Ok(_) => Read::NoLongerTerminated,
        Err(error) => Read::LedgerFailed(error),
    }
}

/// True when `stored` still holds the termination `worked_on` was read with.
fn holds(stored: Option<&Entry>, worked_on: &Entry) -> bool {
    stored.is_some_and(|stored| {
        stored.decision == Decision::Terminated && stored.terminated_at == worked_on.terminated_at
    })
}

/// Reads the entry again: whether the termination worked on still stands.
pub(super) async fn still_due(run: &Run<'_>, worked_on: &Entry) -> Still {
    match read_entry(run).await {
        Read::Terminated(stored) if holds(Some(&stored), worked_on) => Still::Due(stored),
        Read::Terminated(_) => Still::Obsolete(Standing::Terminated),
        Read::NoLongerTerminated => Still::Obsolete(Standing::NotTerminated),
        Read::LedgerFailed(error) => Still::Unknown(error),
    }
}

/// The entry worked on as it would read had only `target`'s change been recorded: what
/// a rehire's warning names for a change the rehire overtook.
fn changed_in(worked_on: &Entry, target: &str, outcome: Outcome, now: DateTime<Utc>) -> Entry {
    let mut only_this = worked_on.clone();
    only_this.deprovisioning = Default::default();
    with_outcome(&only_this, target, outcome, now)
}

/// What `entry`'s termination is owed in `pass` and `mode`.
pub(super) fn owed<'t>(entry: &Entry, targets: &'t Targets, pass: Pass, mode: Mode) -> Owed<'t> {
    let owed = pending(entry, targets, pass, mode);
    if owed.is_empty() {
        Owed::Nothing
    } else {
        Owed::Targets(owed)
    }
}

/// How the work ends, in enforce's terms, so a dry run's findings are listed for the
/// release that carries them out once the mode is `enforce`.
pub(super) fn ending(progress: &Progress, targets: &Targets) -> End {
    match (progress.obsolete, &progress.ledger_error) {
        (Some(Standing::Terminated), _) => return End::Superseded,
        (Some(Standing::NotTerminated), None) => return End::Obsolete,
        _ => {}
    }
    if listed(&progress.latest, targets) {
        End::StillWaiting
    } else if progress.ledger_error.is_some() {
        End::LedgerFailed
    } else {
        End::Settled
    }
}

/// True when `entry` stays on the release's list: work a release would do, or an
/// outcome that waits for a person and a release with `recheck` (in enforce's terms, so
/// a dry run's findings are listed for the release that carries them out).
pub(super) fn listed(entry: &Entry, targets: &Targets) -> bool {
    !pending(entry, targets, Pass::Recheck, Mode::Enforce).is_empty()
}

/// The work stopped on a ledger failure before any target was worked.
fn ledger_failed(error: LedgerError) -> Worked {
    Worked {
        ledger_error: Some(error),
        ..Worked::default()
    }
}

impl Progress {
    /// The work as the invocation reports it, with its metric lines.
    pub(super) fn into_worked(self, end: End) -> (Worked, Vec<String>) {
        let worked = Worked {
            done: self.done,
            ledger_error: self.ledger_error,
            waiting: end == End::StillWaiting,
            stopped: matches!(end, End::Obsolete | End::Superseded),
        };
        (worked, self.lines)
    }
}
