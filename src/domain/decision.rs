//! The termination decision: a pure function of the event's action, the Employee and now.

use crate::domain::cutoff::{Cutoff, LocalCutoff, takes_effect};
use crate::domain::dates::{parse_bare_date, parse_hr_date};
use crate::domain::employee::{Employee, EmploymentStatus, RawDate};
use crate::domain::envelope::Action;
use chrono::{DateTime, TimeDelta, Utc};

/// What the function concluded about an employee's access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Employment has ended: revoke access now.
    Terminated,
    /// A termination date lies in the future: revoke access then.
    Scheduled,
    /// Nothing says employment ended.
    Active,
    /// A termination date is present but unreadable, and nothing else decides.
    Undetermined,
}

impl Decision {
    /// The decision as it appears in responses and log records.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Terminated => "terminated",
            Decision::Scheduled => "scheduled",
            Decision::Active => "active",
            Decision::Undetermined => "undetermined",
        }
    }

    /// The decision a stored name means.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Decision::Terminated,
            Decision::Scheduled,
            Decision::Active,
            Decision::Undetermined,
        ]
        .into_iter()
        .find(|d| d.as_str() == text)
    }
}

/// One fact that led to a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The event was `Employee.removed` (or `deleted`).
    EmployeeRemoved,
    /// `remote_was_deleted` is true.
    RemoteWasDeleted,
    /// `employment_status` is `INACTIVE`.
    StatusInactive,
    /// `termination_date` is at or before now.
    TerminationDatePassed,
    /// `termination_date` is after now.
    TerminationDateInFuture,
    /// `termination_date` is present but could not be parsed.
    TerminationDateUnreadable,
    /// A `start_date` or `hire_date` after the `termination_date` makes it stale.
    RehiredAfterTermination,
    /// `employment_status` is `PENDING` (pre-hire).
    StatusPending,
    /// `employment_status` is a value outside Merge's enum.
    UnknownStatus,
    /// No field says employment ended.
    NoTerminationSignal,
    /// A scheduled termination fired: its date has taken effect.
    TerminationDateReached,
}

impl Reason {
    /// The reason as it appears in responses and log records.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::EmployeeRemoved => "employee_removed",
            Reason::RemoteWasDeleted => "remote_was_deleted",
            Reason::StatusInactive => "status_inactive",
            Reason::TerminationDatePassed => "termination_date_passed",
            Reason::TerminationDateInFuture => "termination_date_in_future",
            Reason::TerminationDateUnreadable => "termination_date_unreadable",
            Reason::RehiredAfterTermination => "rehired_after_termination",
            Reason::StatusPending => "status_pending",
            Reason::UnknownStatus => "unknown_status",
            Reason::NoTerminationSignal => "no_termination_signal",
            Reason::TerminationDateReached => "termination_date_reached",
        }
    }
}

/// What `employment_status: INACTIVE` means for an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InactiveMeaning {
    /// Employment has ended (Merge's own guidance).
    #[default]
    Terminated,
    /// Not conclusive, for HR systems that report leave of absence as inactive: a date
    /// still decides, and without one the decision is `undetermined`.
    Undetermined,
}

impl InactiveMeaning {
    /// The meaning as `INACTIVE_WITHOUT_DATE` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            InactiveMeaning::Terminated => "terminated",
            InactiveMeaning::Undetermined => "undetermined",
        }
    }
}

/// How an organisation's HR data is read. The default is the documented behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    /// Added to a termination date to get the instant the termination takes effect; 24
    /// hours makes a last-working-day date mean the end of that day.
    pub effective_offset: TimeDelta,
    /// What `INACTIVE` means.
    pub inactive: InactiveMeaning,
    /// Where and when a date-only termination takes effect (before the offset): the
    /// configured default, or the linked account's own.
    pub local: LocalCutoff,
}

impl Policy {
    /// This policy with the linked account's own local cutoff, when it has one.
    pub fn for_account(&self, own: Option<LocalCutoff>) -> Policy {
        Policy {
            local: own.unwrap_or(self.local),
            ..*self
        }
    }
}

/// True when the employee's termination date is a date only, whose instant the local
/// cutoff decides: only then does the linked account's own cutoff need reading.
pub fn dated_locally(employee: &Employee) -> bool {
    matches!(&employee.termination_date, Some(RawDate::Text(text)) if parse_bare_date(text).is_some())
}

/// A decision with the facts behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The conclusion.
    pub decision: Decision,
    /// Every fact that supports it, in a fixed order.
    pub reasons: Vec<Reason>,
    /// The parsed `termination_date`, whenever it was readable.
    pub termination_date: Option<DateTime<Utc>>,
    /// When the termination date takes (or took) effect: the date (a date only: its
    /// local cutoff) plus the policy's offset. Absent when there is no readable date or a rehire superseded it.
    pub effective_at: Option<DateTime<Utc>>,
    /// The rule that made `effective_at` from the date (see [`effective_rule`]): present
    /// exactly when `effective_at` is.
    pub effective_rule: Option<String>,
}

/// How a date became the instant it takes effect, as the ledger, the evidence and the
/// report spell it: the local cutoff of a date only (`start of day,
/// Australia/Melbourne`), or `the date's own time` for a date with a time or an offset;
/// then the policy's offset, when there is one (`, +6 h`).
pub fn effective_rule(bare: Option<LocalCutoff>, offset: TimeDelta) -> String {
    let mut rule = match bare {
        Some(local) => {
            let day = match local.cutoff {
                Cutoff::StartOfDay => "start of day",
                Cutoff::EndOfDay => "end of day",
            };
            format!("{day}, {}", local.zone_name())
        }
        None => "the date's own time".to_owned(),
    };
    if !offset.is_zero() {
        let sign = if offset < TimeDelta::zero() { '-' } else { '+' };
        let seconds = offset.num_seconds().unsigned_abs();
        if seconds.is_multiple_of(3600) {
            rule.push_str(&format!(", {sign}{} h", seconds / 3600));
        } else {
            rule.push_str(&format!(", {sign}{} min", seconds / 60));
        }
    }
    rule
}

/// The termination date as the rules see it.
enum DateState {
    Absent,
    Unreadable,
    Superseded(DateTime<Utc>),
    Passed {
        date: DateTime<Utc>,
        effective: DateTime<Utc>,
        rule: String,
    },
    Future {
        date: DateTime<Utc>,
        effective: DateTime<Utc>,
        rule: String,
    },
}

impl DateState {
    /// What the verdict reports of the date: the date, when it takes effect, and by
    /// which rule.
    fn read(&self) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>, Option<String>) {
        match self {
            DateState::Passed {
                date,
                effective,
                rule,
            }
            | DateState::Future {
                date,
                effective,
                rule,
            } => (Some(*date), Some(*effective), Some(rule.clone())),
            DateState::Superseded(date) => (Some(*date), None, None),
            DateState::Absent | DateState::Unreadable => (None, None, None),
        }
    }
}

/// Decides whether the employee is terminated, scheduled for termination, active, or
/// cannot be determined.
///
/// `terminated` when the event is a removal, the record was deleted in the HR system,
/// the status is `INACTIVE` (unless the policy says otherwise), or the termination date
/// plus the policy's offset is at or before `now` and not superseded by a later hire or
/// start date. `scheduled` when the only signal is a termination that takes effect in
/// the future. `undetermined` when the only signal is an unreadable termination date,
/// or an `INACTIVE` the policy does not trust. `active` otherwise.
pub fn decide(action: Action, employee: &Employee, now: DateTime<Utc>, policy: &Policy) -> Verdict {
    let date = date_state(employee, now, policy);
    let (termination_date, effective_at, effective_rule) = date.read();
    let inactive = employee.employment_status == Some(EmploymentStatus::Inactive);

    let mut reasons = Vec::new();
    if action == Action::Removed {
        reasons.push(Reason::EmployeeRemoved);
    }
    if employee.remote_was_deleted == Some(true) {
        reasons.push(Reason::RemoteWasDeleted);
    }
    if inactive && policy.inactive == InactiveMeaning::Terminated {
        reasons.push(Reason::StatusInactive);
    }
    if let DateState::Passed { .. } = date {
        reasons.push(Reason::TerminationDatePassed);
    }
    if !reasons.is_empty() {
        return Verdict {
            decision: Decision::Terminated,
            reasons,
            termination_date,
            effective_at,
            effective_rule,
        };
    }

    let decision = match date {
        DateState::Future { .. } => {
            reasons.push(Reason::TerminationDateInFuture);
            Decision::Scheduled
        }
        DateState::Unreadable => {
            reasons.push(Reason::TerminationDateUnreadable);
            Decision::Undetermined
        }
        DateState::Superseded(_) => {
            reasons.push(Reason::RehiredAfterTermination);
            Decision::Active
        }
        // A passed date always terminates, so it cannot reach here.
        DateState::Absent | DateState::Passed { .. } => Decision::Active,
    };
    if decision == Decision::Active && inactive {
        // Only reached when the policy does not take INACTIVE as a termination.
        reasons.push(Reason::StatusInactive);
        return Verdict {
            decision: Decision::Undetermined,
            reasons,
            termination_date,
            effective_at,
            effective_rule,
        };
    }
    if decision == Decision::Active {
        match &employee.employment_status {
            Some(EmploymentStatus::Pending) => reasons.push(Reason::StatusPending),
            Some(EmploymentStatus::Other(_)) => reasons.push(Reason::UnknownStatus),
            _ => {}
        }
        if reasons.is_empty() {
            reasons.push(Reason::NoTerminationSignal);
        }
    }
    Verdict {
        decision,
        reasons,
        termination_date,
        effective_at,
        effective_rule,
    }
}

fn date_state(employee: &Employee, now: DateTime<Utc>, policy: &Policy) -> DateState {
    let termination = match &employee.termination_date {
        None => return DateState::Absent,
        Some(raw) => match readable(raw) {
            None => return DateState::Unreadable,
            Some(t) => t,
        },
    };
    // hire_date and start_date hold the most recent hire, so one later than the
    // termination date means the person came back and the old date is stale.
    let rehired = [&employee.start_date, &employee.hire_date]
        .into_iter()
        .flatten()
        .filter_map(readable)
        .any(|hired| hired > termination);
    // A date only is a local day: it starts at the local cutoff. A date with a time or
    // an offset keeps the instant it names.
    let bare = match &employee.termination_date {
        Some(RawDate::Text(text)) => parse_bare_date(text),
        _ => None,
    };
    let start = bare.map_or(termination, |d| takes_effect(d, policy.local));
    // An offset that would leave chrono's range cannot be meant; the date stands as is,
    // and the rule names no offset.
    let (effective, applied) = match start.checked_add_signed(policy.effective_offset) {
        Some(effective) => (effective, policy.effective_offset),
        None => (start, TimeDelta::zero()),
    };
    let rule = effective_rule(bare.map(|_| policy.local), applied);
    if rehired {
        DateState::Superseded(termination)
    } else if effective <= now {
        DateState::Passed {
            date: termination,
            effective,
            rule,
        }
    } else {
        DateState::Future {
            date: termination,
            effective,
            rule,
        }
    }
}

fn readable(raw: &RawDate) -> Option<DateTime<Utc>> {
    match raw {
        RawDate::Text(text) => parse_hr_date(text),
        RawDate::NotText => None,
    }
}

#[cfg(test)]
mod tests;
