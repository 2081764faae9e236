//! The evidence trail: immutable facts about each termination and each target's outcome,
//! and each operator's action, as values. Each is written once, in the same step as the
//! change it describes, and never overwritten; the access-removal report reads them.
//!
//! Nothing sensitive is kept: the identity fields the ledger's entry already carries, and
//! the outcome as deprovisioning recorded it.

use crate::domain::decision::Decision;
use crate::domain::ledger::{EmployeeKey, Entry, Identity, Learned, Source};
use crate::domain::outcome::{Deprovisioning, Outcome};
use chrono::{DateTime, Utc};

pub use crate::domain::outcome::Trigger;

impl Trigger {
    /// What an entry's move was started by, from the source that wrote it.
    pub fn of_source(source: Source) -> Self {
        match source {
            Source::Webhook => Trigger::Webhook,
            Source::Schedule => Trigger::Timer,
            Source::Reconciliation => Trigger::Sweep,
            Source::ByHand => Trigger::ByHand,
        }
    }
}

/// One fact of the trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// Whose: the employee (for an operator's action on an account, the employee id is
    /// empty).
    pub key: EmployeeKey,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub fact: Fact,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    /// The termination took effect here: the entry moved into `terminated`. Its `at` is
    /// the termination's identity (the entry's `terminated_at`) for every later fact.
    Terminated {
        /// The HR system's termination date, when read.
        termination_date: Option<DateTime<Utc>>,
        /// When it took effect.
        effective_at: Option<DateTime<Utc>>,
        /// The rule that made `effective_at` from the date (a local cutoff, the date's
        /// own time), when one is known.
        rule: Option<String>,
        /// What moved it.
        by: Trigger,
        /// When the function first learned of this termination (as `scheduled` for a
        /// future date, or as it moved), and how.
        learned_at: DateTime<Utc>,
        /// How it first learned of it.
        learned_by: Trigger,
        /// Historical: before the account's baseline, never deprovisioned but by a
        /// backfill.
        historical: bool,
        /// Who the employee is.
        identity: Identity,
    },
    /// The employee is no longer terminated (a rehire, a corrected date).
    Rehired {
        /// The termination (its `terminated_at`) it ends.
        termination: DateTime<Utc>,
        /// What moved it.
        by: Trigger,
    },
    /// A target's outcome for a termination.
    Target {
        /// The target's name in the targets secret.
        target: String,
        /// The termination (its `terminated_at`).
        termination: Option<DateTime<Utc>>,
        /// What it came to.
        outcome: Outcome,
        /// The target's user id, when one was changed.
        user: Option<String>,
        /// The invocation that made it (its Lambda request id).
        run: Option<String>,
        /// What started it.
        by: Trigger,
    },
    /// An operator's document: pause, resume, release, backfill, undo, deprovision now,
    /// a baseline or a cutoff set, a report.
    Operator {
        /// The document's name (`pause`, `undo`, ...).
        action: String,
        /// A short summary of what it asked and did, without any value of a secret.
        summary: String,
        /// The invocation (its Lambda request id).
        run: Option<String>,
    },
}

/// The facts one ledger write makes, from the entry it replaces (`before`) and the one
/// written (`after`): a termination that takes effect (a new `terminated_at`), a
/// termination that ends, and each target whose outcome is new (another outcome, or
/// another time). A write that changes none of these makes none: a redelivery, a mark
/// of the `terminated` record, an identity corrected. The same write always makes the
/// same facts, so a write planned again after a lost race carries what it now changes.
pub fn of_write(before: Option<&Entry>, after: &Entry) -> Vec<Evidence> {
    let mut facts = Vec::new();
    let by = Trigger::of_source(after.changed_by);
    let was_terminated = before.filter(|b| b.decision == Decision::Terminated);
    if after.decision == Decision::Terminated
        && let Some(terminated_at) = after.terminated_at
        && was_terminated.is_none_or(|b| {
            b.terminated_at != after.terminated_at || b.historical != after.historical
        })
    {
        facts.push(terminated(after, terminated_at, by));
    }
    if after.decision != Decision::Terminated
        && let Some(termination) = was_terminated.and_then(|b| b.terminated_at)
    {
        facts.push(Evidence {
            key: after.key.clone(),
            at: after.updated_at,
            fact: Fact::Rehired { termination, by },
        });
    }
    for (target, now) in &after.deprovisioning {
        let then = before.and_then(|b| b.deprovisioning.get(target));
        if then.is_some_and(|then| same_outcome(then, now)) {
            continue;
        }
        facts.push(Evidence {
            key: after.key.clone(),
            at: now.at,
            fact: Fact::Target {
                target: target.clone(),
                termination: now.termination,
                outcome: now.outcome,
                user: now.user.clone(),
                run: now.run.clone(),
                by: now.by.unwrap_or(by),
            },
        });
    }
    facts
}

/// True when two records of one target's outcome say the same: the same outcome, at the
/// same time, for the same termination (a failure's count of attempts aside).
fn same_outcome(then: &Deprovisioning, now: &Deprovisioning) -> bool {
    (then.outcome, then.at, then.termination) == (now.outcome, now.at, now.termination)
}

/// The fact of `after`'s termination taking effect at `terminated_at`.
fn terminated(after: &Entry, terminated_at: DateTime<Utc>, by: Trigger) -> Evidence {
    let learned = after.learned.unwrap_or(Learned {
        at: terminated_at,
        by: after.changed_by,
    });
    Evidence {
        key: after.key.clone(),
        at: terminated_at,
        fact: Fact::Terminated {
            termination_date: after.termination_date,
            effective_at: after.effective_at,
            rule: after.effective_rule.clone(),
            by,
            learned_at: learned.at.min(terminated_at),
            learned_by: Trigger::of_source(learned.by),
            historical: after.historical,
            identity: after.identity.clone(),
        },
    }
}

/// The termination a fact belongs to (its `terminated_at`), which files it: the
/// termination's own instant for [`Fact::Terminated`], the one a rehire ended, the one
/// a target's outcome was for; an operator's action (or an outcome recorded without its
/// termination) by its own time.
pub fn termination_of(evidence: &Evidence) -> DateTime<Utc> {
    match &evidence.fact {
        Fact::Terminated { .. } | Fact::Operator { .. } => evidence.at,
        Fact::Rehired { termination, .. } => *termination,
        Fact::Target { termination, .. } => termination.unwrap_or(evidence.at),
    }
}

/// The month (`YYYY-MM`, UTC) a fact is filed under: its termination's.
pub fn month_of(evidence: &Evidence) -> String {
    termination_of(evidence).format("%Y-%m").to_string()
}

/// The fact's kind, as stored and reported.
pub fn kind_of(fact: &Fact) -> &'static str {
    match fact {
        Fact::Terminated { .. } => "terminated",
        Fact::Rehired { .. } => "rehired",
        Fact::Target { .. } => "target",
        Fact::Operator { .. } => "operator",
    }
}

/// An operator's action on `linked_account_id` (or on none: every account), as a fact
/// at `at`. The summary is cut to [`SUMMARY_LIMIT`] characters: it says what was asked
/// and done, never a value of a secret or an employee's field beyond the ids.
pub fn operator(
    linked_account_id: Option<&str>,
    action: &str,
    summary: &str,
    run: Option<&str>,
    at: DateTime<Utc>,
) -> Evidence {
    Evidence {
        key: EmployeeKey::new(linked_account_id, ""),
        at,
        fact: Fact::Operator {
            action: action.to_owned(),
            summary: summary.chars().take(SUMMARY_LIMIT).collect(),
            run: run.map(str::to_owned),
        },
    }
}

/// The longest summary an operator's fact keeps, in characters.
pub const SUMMARY_LIMIT: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ledger::{Identity, Observation, transition};
    use chrono::{TimeDelta, TimeZone};
    use proptest::prelude::*;

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap() + TimeDelta::minutes(minute)
    }

    /// An entry of the employee with `decision`, terminated at `terminated` (minutes),
    /// holding `outcomes` (target, outcome, minute).
    fn entry(
        decision: Decision,
        terminated: Option<i64>,
        outcomes: &[(&str, Outcome, i64)],
    ) -> Entry {
        let observation = Observation {
            key: EmployeeKey::new(Some("a"), "e"),
            decision,
            reasons: String::new(),
            termination_date: None,
            effective_at: None,
            effective_rule: None,
            version: Some(at(-60)),
            removal: false,
            identity: Identity {
                work_email: Some("leaver@example.com".into()),
                ..Identity::default()
            },
            source: Source::Webhook,
            delivery_id: None,
        };
        let mut entry = transition(None, &observation, at(0)).write.unwrap();
        entry.terminated_at = terminated.map(at);
        for (target, outcome, minute) in outcomes {
            entry.deprovisioning.insert(
                (*target).to_owned(),
                Deprovisioning {
                    outcome: *outcome,
                    at: at(*minute),
                    termination: entry.terminated_at,
                    attempts: 0,
                    user: outcome.changed().then(|| format!("user-{target}")),
                    run: Some("run-1".into()),
                    by: Some(Trigger::Webhook),
                },
            );
        }
        entry
    }

    #[test]
    fn a_move_into_terminated_is_a_termination_fact_learned_when_it_was_scheduled() {
        let mut scheduled = entry(Decision::Scheduled, None, &[]);
        scheduled.learned = Some(Learned {
            at: at(-30),
            by: Source::Webhook,
        });
        let mut fired = entry(Decision::Terminated, Some(5), &[]);
        fired.changed_by = Source::Schedule;
        fired.learned = scheduled.learned;
        let facts = of_write(Some(&scheduled), &fired);
        assert_eq!(facts.len(), 1);
        assert_eq!(facts[0].at, at(5));
        match &facts[0].fact {
            Fact::Terminated {
                by,
                learned_at,
                learned_by,
                ..
            } => assert_eq!(
                (*by, *learned_at, *learned_by),
                (Trigger::Timer, at(-30), Trigger::Webhook)
            ),
            other => panic!("a termination, not {other:?}"),
        }
    }

    #[test]
    fn a_termination_fact_names_the_rule_that_made_its_effective_time() {
        let mut scheduled = entry(Decision::Scheduled, None, &[]);
        scheduled.effective_at = Some(at(5));
        scheduled.effective_rule = Some("end of day, America/New_York".into());
        let fired = Entry {
            decision: Decision::Terminated,
            terminated_at: Some(at(5)),
            ..scheduled.clone()
        };
        match &of_write(Some(&scheduled), &fired)[0].fact {
            Fact::Terminated {
                effective_at, rule, ..
            } => assert_eq!(
                (*effective_at, rule.as_deref()),
                (Some(at(5)), Some("end of day, America/New_York"))
            ),
            other => panic!("a termination, not {other:?}"),
        }
        // A termination with no effective time (a removal, an INACTIVE status) has none.
        let removed = entry(Decision::Terminated, Some(0), &[]);
        assert!(matches!(
            &of_write(None, &removed)[0].fact,
            Fact::Terminated { rule: None, .. }
        ));
    }

    #[test]
    fn a_rehire_ends_the_termination_it_replaces_and_a_second_termination_is_another() {
        let first = entry(Decision::Terminated, Some(0), &[]);
        let mut rehired = entry(Decision::Active, None, &[]);
        rehired.updated_at = at(60);
        let ended = of_write(Some(&first), &rehired);
        assert_eq!(
            ended.iter().map(|e| &e.fact).collect::<Vec<_>>(),
            [&Fact::Rehired {
                termination: at(0),
                by: Trigger::Webhook
            }]
        );
        let second = entry(Decision::Terminated, Some(120), &[]);
        let again = of_write(Some(&rehired), &second);
        assert_eq!(again.len(), 1);
        assert!(matches!(again[0].fact, Fact::Terminated { .. }));
        assert_eq!(again[0].at, at(120));
    }

    #[test]
    fn only_a_target_whose_outcome_is_new_is_a_fact_with_its_user_run_and_trigger() {
        let before = entry(
            Decision::Terminated,
            Some(0),
            &[
                ("chat", Outcome::Deactivated, 5),
                ("wiki", Outcome::Failed, 5),
            ],
        );
        let after = entry(
            Decision::Terminated,
            Some(0),
            &[
                ("chat", Outcome::Deactivated, 5),
                ("wiki", Outcome::Deleted, 9),
            ],
        );
        let facts = of_write(Some(&before), &after);
        assert_eq!(facts.len(), 1, "{facts:?}");
        assert_eq!(
            facts[0].fact,
            Fact::Target {
                target: "wiki".into(),
                termination: Some(at(0)),
                outcome: Outcome::Deleted,
                user: Some("user-wiki".into()),
                run: Some("run-1".into()),
                by: Trigger::Webhook,
            }
        );
        assert_eq!(facts[0].at, at(9));
    }

    #[test]
    fn an_operators_summary_is_cut_short_and_its_employee_id_is_empty() {
        let long = "x".repeat(SUMMARY_LIMIT * 2);
        let fact = operator(Some("a"), "pause", &long, Some("run-9"), at(0));
        assert_eq!(fact.key.employee_id, "");
        assert_eq!(month_of(&fact), "2026-11");
        match fact.fact {
            Fact::Operator { summary, .. } => assert_eq!(summary.len(), SUMMARY_LIMIT),
            other => panic!("an operator's fact, not {other:?}"),
        }
    }

    fn decision() -> impl Strategy<Value = Decision> {
        prop_oneof![
            Just(Decision::Active),
            Just(Decision::Scheduled),
            Just(Decision::Terminated),
            Just(Decision::Undetermined),
        ]
    }

    fn outcomes() -> impl Strategy<Value = Vec<(usize, usize, i64)>> {
        prop::collection::vec((0..3usize, 0..Outcome::ALL.len(), 0..4i64), 0..4)
    }

    /// An arbitrary entry from drawn parts.
    fn drawn(decision: Decision, terminated: Option<i64>, parts: &[(usize, usize, i64)]) -> Entry {
        const TARGETS: [&str; 3] = ["chat", "crm", "wiki"];
        let outcomes: Vec<_> = parts
            .iter()
            .map(|(t, o, m)| (TARGETS[*t], Outcome::ALL[*o], *m))
            .collect();
        let terminated = terminated.filter(|_| decision == Decision::Terminated);
        entry(decision, terminated, &outcomes)
    }

    proptest! {
        #[test]
        fn the_same_write_gives_the_same_facts_and_a_write_changing_nothing_gives_none(
            before in (decision(), prop::option::of(0..3i64), outcomes()),
            after in (decision(), prop::option::of(0..3i64), outcomes()),
        ) {
            let before = drawn(before.0, before.1, &before.2);
            let after = drawn(after.0, after.1, &after.2);
            prop_assert_eq!(of_write(Some(&before), &after), of_write(Some(&before), &after));
            // The same entry written again (a mark, a new revision, a later time).
            let mut same = before.clone();
            same.revision += 1;
            same.updated_at += TimeDelta::minutes(5);
            same.announced = !same.announced;
            prop_assert!(of_write(Some(&before), &same).is_empty());
            // Each target whose outcome is new is one fact, and no other is.
            let targets: Vec<_> = of_write(Some(&before), &after)
                .into_iter()
                .filter_map(|e| match e.fact {
                    Fact::Target { target, .. } => Some(target),
                    _ => None,
                })
                .collect();
            let changed: Vec<_> = after
                .deprovisioning
                .iter()
                .filter(|(t, d)| before.deprovisioning.get(*t).is_none_or(|b| !same_outcome(b, d)))
                .map(|(t, _)| t.clone())
                .collect();
            prop_assert_eq!(targets, changed);
        }
    }
}
