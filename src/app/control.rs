//! The operator's controls over deprovisioning that stop and look: pause and resume
//! (`merge-deprovision.pause`, `merge-deprovision.resume`), and the release's preview
//! (`merge-deprovision.release-held` with `"preview": true`). A resume works what the
//! pause left listed, under the brake; a preview reads and changes nothing.

use crate::app::budget::Budget;
use crate::app::deprovision::Deprovisioner;
use crate::app::release::{Released, work_listed};
use crate::app::settle::Effects;
use crate::app::stream::MIN_WORK;
use crate::aws::ledger::LedgerError;
use crate::domain::control::{Action, ControlDocument, Pause};
use crate::domain::deprovision::{Mode, Pass, Targets, pending};
use crate::domain::evidence::{Trigger, operator};
use crate::domain::ledger::{EmployeeKey, Entry};
use crate::telemetry::record::RequestFacts;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// How a pause or resume ended.
#[derive(Debug)]
pub enum Controlled {
    /// Deprovisioning is off: nothing to pause.
    Off,
    /// A pause names a target the targets secret does not have: nothing changed.
    UnknownTarget(String),
    /// The pause could not be read or written: nothing changed (a resume worked
    /// nothing).
    Unavailable(LedgerError),
    /// The pause now stands as given; `changed` when the document changed it.
    Paused { pause: Pause, changed: bool },
    /// The pause now stands as given (perhaps still pausing some targets), and the
    /// listed work was worked under the brake as far as the budget allowed, or the list
    /// could not be read (the pause is lifted all the same: a resume sent again works it).
    Resumed {
        pause: Pause,
        changed: bool,
        worked: Result<Released, LedgerError>,
    },
}

/// Attempts at the pause's read and conditional write when another pause or resume
/// writes between them.
const PAUSE_WRITE_ATTEMPTS: usize = 3;

/// Applies a pause or resume document at `now`; a resume then works the listed
/// employees in a termination's pass, under the brake.
pub async fn control(
    effects: Option<&Effects>,
    deprovisioner: Option<&Deprovisioner>,
    document: &ControlDocument,
    facts: &RequestFacts<'_>,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Controlled {
    let (Some(effects), Some(deprovisioner)) = (effects, deprovisioner) else {
        return Controlled::Off;
    };
    if document.action == Action::Pause
        && let Some(unknown) = unknown_target(deprovisioner, document, budget, now).await
    {
        return Controlled::UnknownTarget(unknown);
    }
    let (pause, changed) = match apply(deprovisioner, document, budget, now).await {
        Ok(applied) => applied,
        Err(error) => return Controlled::Unavailable(error),
    };
    if changed {
        let fact = operator(
            None,
            document.action.as_str(),
            &summary(&pause),
            facts.function_request_id,
            now,
        );
        effects.note_operator(fact, budget).await;
    }
    if document.action == Action::Pause {
        return Controlled::Paused { pause, changed };
    }
    // What the pause stopped is listed; a termination's pass works it (and anything
    // failed) under the brake, and leaves the brake's held work to the release.
    let worked = work_listed(
        effects,
        deprovisioner,
        (Pass::Termination, Some(Trigger::Resume)),
        facts,
        budget,
        now,
    )
    .await;
    Controlled::Resumed {
        pause,
        changed,
        worked,
    }
}

/// What the pause now holds, in a few words: every target, these targets, or none. The
/// operator's reason is free text, and stays in the pause's own item and records.
fn summary(pause: &Pause) -> String {
    match (pause.all, pause.targets.is_empty()) {
        (true, _) => "paused: every target".to_owned(),
        (false, true) => "paused: none".to_owned(),
        (false, false) => {
            let names: Vec<&str> = pause.targets.iter().map(String::as_str).collect();
            format!("paused: {}", names.join(", "))
        }
    }
}

/// Applies `document` to the pause as stored now (past the process's cache), written on
/// condition that nobody wrote it since it was read: of a pause and a resume sent at
/// once, neither is lost. The pause as it then stands, and whether this changed it.
async fn apply(
    deprovisioner: &Deprovisioner,
    document: &ControlDocument,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Result<(Pause, bool), LedgerError> {
    let mut last = LedgerError::ConditionFailed;
    for _ in 0..PAUSE_WRITE_ATTEMPTS {
        let stored = deprovisioner.stored_pause(budget).await?;
        let next = stored.after(document, now);
        let changed = (next.all, &next.targets, &next.reason)
            != (stored.all, &stored.targets, &stored.reason);
        if !changed {
            return Ok((stored, false));
        }
        match deprovisioner
            .set_pause(next.clone(), stored.changed_at, budget)
            .await
        {
            Ok(()) => return Ok((next, true)),
            Err(LedgerError::ConditionFailed) => last = LedgerError::ConditionFailed,
            Err(error) => return Err(error),
        }
    }
    Err(last)
}

/// The first target a pause names that the targets secret does not have.
async fn unknown_target(
    deprovisioner: &Deprovisioner,
    document: &ControlDocument,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Option<String> {
    let (targets, refresh) = deprovisioner.current(budget, now).await;
    // Targets the secret could not tell of are paused all the same: a pause of a name
    // nothing uses is harmless, a pause refused mid-incident is not.
    if matches!(refresh, Some(crate::app::cached_secret::Refresh::Failed(_))) {
        return None;
    }
    document
        .targets
        .iter()
        .flatten()
        .find(|name| !targets.0.iter().any(|t| &t.name == *name))
        .cloned()
}

/// How a preview of the release ended.
#[derive(Debug)]
pub enum Previewed {
    /// Deprovisioning is off: nothing is listed.
    Off,
    /// The list, the pause or an entry could not be read: nothing to show.
    Unavailable(LedgerError),
    /// What the release would find.
    Listed(Preview),
}

/// What a release in `pass` would find and work, read without changing anything.
#[derive(Debug, Default)]
pub struct Preview {
    /// The release would refuse: the mode is `dry-run`.
    pub refused_in_dry_run: bool,
    /// The pause that stands: a release works paused targets into `paused` again.
    pub pause: Pause,
    /// The employees listed.
    pub listed: usize,
    /// Listed employees the budget left unread: the counts do not cover them.
    pub unread: usize,
    /// Target outcomes by name (`held`, `paused`, `failed`, `not_found`, ...;
    /// `not_attempted` for a target never worked), over every listed employee.
    pub by_reason: BTreeMap<&'static str, usize>,
    /// The targets the release would work, and the employees they belong to.
    pub would_work: usize,
    /// Listed employees with at least one target the release would work.
    pub employees_worked: usize,
    /// Each listed employee, in the list's order.
    pub employees: Vec<Listed>,
}

/// One listed employee in a preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Whose.
    pub key: EmployeeKey,
    /// Each covering target: its outcome's name, and whether the release would work it.
    pub targets: Vec<(String, &'static str, bool)>,
}

/// The name a preview gives a target with no outcome for the current termination.
pub const NOT_ATTEMPTED: &str = "not_attempted";

/// Reads what a release in `pass` would work, without changing anything.
pub async fn preview(
    effects: Option<&Effects>,
    deprovisioner: Option<&Deprovisioner>,
    pass: Pass,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Previewed {
    let (Some(effects), Some(deprovisioner)) = (effects, deprovisioner) else {
        return Previewed::Off;
    };
    let pause = match deprovisioner.stored_pause(budget).await {
        Ok(pause) => pause,
        Err(error) => return Previewed::Unavailable(error),
    };
    let waiting = match deprovisioner.waiting(budget).await {
        Ok(waiting) => waiting,
        Err(error) => return Previewed::Unavailable(error),
    };
    let (targets, _) = deprovisioner.current(budget, now).await;
    let mut preview = Preview {
        refused_in_dry_run: deprovisioner.mode() == Mode::DryRun,
        pause,
        listed: waiting.len(),
        ..Preview::default()
    };
    for (key, _) in &waiting {
        if budget.left() < MIN_WORK {
            preview.unread += 1;
            continue;
        }
        let read = budget
            .run(effects.ledger.get(key))
            .await
            .unwrap_or(Err(LedgerError::TimedOut));
        match read {
            Ok(entry) => preview.add(key, entry.as_ref(), &targets, pass),
            Err(error) => return Previewed::Unavailable(error),
        }
    }
    Previewed::Listed(preview)
}

impl Preview {
    /// Counts one listed employee, as the release in `pass` would read its entry. An
    /// entry no longer terminated owes nothing: the release takes it off the list.
    fn add(&mut self, key: &EmployeeKey, entry: Option<&Entry>, targets: &Targets, pass: Pass) {
        // No longer terminated (HR corrected it) or gone: nothing is owed, and the
        // release takes it off the list without a call.
        let Some(entry) =
            entry.filter(|e| e.decision == crate::domain::decision::Decision::Terminated)
        else {
            self.employees.push(Listed {
                key: key.clone(),
                targets: Vec::new(),
            });
            return;
        };
        // As the release reads it: enforce's terms (a release is refused in a dry run).
        let owed = pending(entry, targets, pass, Mode::Enforce);
        let mut listed = Listed {
            key: key.clone(),
            targets: Vec::new(),
        };
        for target in targets.0.iter().filter(|t| t.covers(&entry.key)) {
            let reason = entry
                .deprovisioning
                .get(&target.name)
                .filter(|d| d.termination == entry.terminated_at)
                .map_or(NOT_ATTEMPTED, |d| d.outcome.as_str());
            let works = owed.iter().any(|t| t.name == target.name);
            *self.by_reason.entry(reason).or_default() += 1;
            self.would_work += usize::from(works);
            listed.targets.push((target.name.clone(), reason, works));
        }
        self.employees_worked += usize::from(!owed.is_empty());
        self.employees.push(listed);
    }
}
