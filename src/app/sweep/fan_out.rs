//! Fanning the recurring sweep out: one sweep schedule per account in the secret, in
//! paced batches, and a continuation of the fan-out for the accounts left when time runs
//! out or Scheduler keeps failing.

use super::CHECKPOINT_RESERVE;
use super::request::{Requested, schedule_sweep};
use super::secret::{Held, Reconciliation};
use crate::app::budget::Budget;
use crate::app::settle::Effects;
use crate::aws::scheduler::{ScheduleTarget, SchedulerError};
use crate::domain::reconcile::{ReconcileDocument, continuation_schedule_name, fan_out_at};
use crate::domain::schedule::{MIN_LEAD, whole_minute_at_or_after};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How many `CreateSchedule` calls a fan-out makes at once.
pub const FAN_OUT_CALLS_AT_ONCE: usize = 10;

/// The least time a batch of [`FAN_OUT_CALLS_AT_ONCE`] calls takes: 40 calls a second,
/// under Scheduler's default `CreateSchedule` rate (50 a second at the least, in any
/// Region). A 10-second invocation schedules some 350 accounts; its continuations the rest.
pub const FAN_OUT_BATCH_PERIOD: Duration = Duration::from_millis(250);

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
    let fan = FanOut {
        effects,
        target,
        full,
        budget,
        first: whole_minute_at_or_after(now + MIN_LEAD),
    };
    let secret = reconciliation.current_secret(budget, now).await;
    let accounts = accounts_after(&secret, resume_after);
    let mut result = FannedOut::default();
    match fan.batches(&accounts, resume_after, &mut result).await {
        Batches::AllThrough => {}
        Batches::Left { from, resume } => {
            let remaining = (accounts.len() - from) as u64;
            match fan.continuation(resume).await {
                Continuation::Scheduled => result.continued += remaining,
                Continuation::Failed(_) => result.failed += remaining,
            }
        }
    }
    result
}

/// One fan-out: what each of its calls shares.
struct FanOut<'a> {
    effects: &'a Effects,
    target: &'a ScheduleTarget,
    full: bool,
    budget: &'a Budget,
    /// The first account's minute: the others follow from their index.
    first: DateTime<Utc>,
}

/// How the batches went.
#[derive(Debug, PartialEq, Eq)]
enum Batches<'a> {
    /// Every account's call went through (scheduled, pending or refused for good).
    AllThrough,
    /// The accounts from index `from` on (in this fan-out's list) are the
    /// continuation's, which resumes after `resume`.
    Left {
        from: usize,
        resume: Option<&'a str>,
    },
}

/// How one batch went.
#[derive(Debug, PartialEq, Eq)]
enum Batch {
    /// Every call went through.
    Through,
    /// The call at this index in the batch failed for a while (throttled, unreachable,
    /// timed out): it and the ones after it are left to the continuation.
    Transient(usize),
}

/// Whether the continuation was scheduled.
#[derive(Debug, PartialEq, Eq)]
enum Continuation {
    /// Created, or that very continuation is already pending.
    Scheduled,
    /// Scheduler refused or failed: the accounts left count as failed.
    Failed(SchedulerError),
}

/// The secret's accounts after `resume_after`, each with its index among all accounts,
/// so that a continuation's accounts start later than any account scheduled before it,
/// and no minute gets more than its share.
fn accounts_after<'a>(secret: &'a Held, resume_after: Option<&str>) -> Vec<(usize, &'a str)> {
    secret
        .accounts()
        .into_iter()
        .enumerate()
        .filter(|(_, account)| resume_after.is_none_or(|after| *account > after))
        .collect()
}

impl FanOut<'_> {
    /// Schedules `accounts` batch by batch, paced, while time allows and Scheduler keeps
    /// up, counting the outcomes into `result`.
    async fn batches<'a>(
        &self,
        accounts: &[(usize, &'a str)],
        resume_after: Option<&'a str>,
        result: &mut FannedOut,
    ) -> Batches<'a> {
        // Where a continuation resumes: after the last account of the batches that went
        // through.
        let mut resume = resume_after;
        for (position, batch) in accounts.chunks(FAN_OUT_CALLS_AT_ONCE).enumerate() {
            let done = position * FAN_OUT_CALLS_AT_ONCE;
            // Room for the continuation's own call and the answer.
            if self.budget.left() < CHECKPOINT_RESERVE * 2 {
                return Batches::Left { from: done, resume };
            }
            let started = tokio::time::Instant::now();
            match self.batch(batch, result).await {
                Batch::Through => resume = batch.last().map(|(_, account)| *account),
                Batch::Transient(i) => {
                    if i > 0 {
                        resume = Some(batch[i - 1].1);
                    }
                    return Batches::Left {
                        from: done + i,
                        resume,
                    };
                }
            }
            if (position + 1) * FAN_OUT_CALLS_AT_ONCE >= accounts.len() {
                break;
            }
            // Paced: Scheduler's CreateSchedule quota is a rate, and a throttled fan-out
            // only hands more accounts to its continuation.
            let _ = self
                .budget
                .run(tokio::time::sleep_until(started + FAN_OUT_BATCH_PERIOD))
                .await;
        }
        Batches::AllThrough
    }

    /// Schedules one batch's accounts at once and counts what went through.
    async fn batch(&self, batch: &[(usize, &str)], result: &mut FannedOut) -> Batch {
        let calls = batch.iter().map(|(index, account)| async move {
            let document = ReconcileDocument::for_account(account, self.full);
            let at = fan_out_at(self.first, *index);
            schedule_sweep(self.effects, self.target, &document, at, self.budget).await
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
        match first_transient {
            Some(i) => Batch::Transient(i),
            None => Batch::Through,
        }
    }

    /// Hands the accounts after `resume` to a continuation of this fan-out, starting at
    /// the same minute as this one's first account.
    async fn continuation(&self, resume: Option<&str>) -> Continuation {
        let document = ReconcileDocument::continuation(resume, self.full);
        match schedule_continuation(
            self.effects,
            self.target,
            &document,
            self.first,
            self.budget,
        )
        .await
        {
            Ok(()) => Continuation::Scheduled,
            Err(error) => Continuation::Failed(error),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::sweep::testing::{Fixture, block, now};

    const ACCOUNTS: [(&str, &str); 3] = [("a", "ta"), ("b", "tb"), ("c", "tc")];

    fn fan<'a>(fixture: &'a Fixture, budget: &'a Budget) -> FanOut<'a> {
        FanOut {
            effects: &fixture.effects,
            target: &fixture.target,
            full: false,
            budget,
            first: whole_minute_at_or_after(now() + MIN_LEAD),
        }
    }

    #[test]
    fn a_continuation_resumes_after_the_account_it_was_handed() {
        block(async {
            let fixture = Fixture::holding(&ACCOUNTS, 10).await;
            let budget = Budget::of(Duration::from_secs(9));
            let secret = fixture.reconciliation.current_secret(&budget, now()).await;
            assert_eq!(accounts_after(&secret, Some("a")), [(1, "b"), (2, "c")]);
            assert_eq!(accounts_after(&secret, None).len(), 3);
        });
    }

    #[test]
    fn every_call_through_needs_no_continuation() {
        block(async {
            let fixture = Fixture::holding(&ACCOUNTS, 10).await;
            let budget = Budget::of(Duration::from_secs(9));
            let accounts = [(0, "a"), (1, "b"), (2, "c")];
            let mut result = FannedOut::default();
            let batches = fan(&fixture, &budget)
                .batches(&accounts, None, &mut result)
                .await;
            assert_eq!(batches, Batches::AllThrough);
            assert_eq!(result.scheduled, 3);
        });
    }

    #[test]
    fn a_throttled_call_leaves_its_account_and_the_rest_to_the_continuation() {
        block(async {
            let fixture = Fixture::holding(&ACCOUNTS, 10).await;
            let budget = Budget::of(Duration::from_secs(9));
            fixture
                .schedules
                .script([None, Some(SchedulerError::Throttled), None]);
            let accounts = [(0, "a"), (1, "b"), (2, "c")];
            let mut result = FannedOut::default();
            let fan = fan(&fixture, &budget);
            assert_eq!(fan.batch(&accounts, &mut result).await, Batch::Transient(1));
            assert_eq!(
                result.scheduled, 1,
                "the calls after it are the continuation's"
            );
            fixture
                .schedules
                .script([Some(SchedulerError::Unreachable)]);
            let mut result = FannedOut::default();
            let before = fixture.schedules.schedules().len();
            let batches = fan.batches(&accounts, Some("0"), &mut result).await;
            assert_eq!(
                batches,
                Batches::Left {
                    from: 0,
                    resume: Some("0")
                }
            );
            assert_eq!(result, FannedOut::default(), "nothing counted yet");
            assert_eq!(
                fixture.schedules.schedules().len(),
                before,
                "and nothing created: the continuation takes them all"
            );
        });
    }

    #[test]
    fn a_call_refused_for_good_counts_as_failed_and_the_fan_out_goes_on() {
        block(async {
            let fixture = Fixture::holding(&ACCOUNTS, 10).await;
            let budget = Budget::of(Duration::from_secs(9));
            fixture.schedules.script([Some(SchedulerError::Denied)]);
            let accounts = [(0, "a"), (1, "b")];
            let mut result = FannedOut::default();
            let batch = fan(&fixture, &budget).batch(&accounts, &mut result).await;
            assert_eq!(batch, Batch::Through);
            assert_eq!((result.scheduled, result.failed), (1, 1));
        });
    }

    #[test]
    fn a_fan_out_short_of_time_hands_every_account_to_its_continuation() {
        block(async {
            let fixture = Fixture::holding(&ACCOUNTS, 10).await;
            let budget = Budget::of(CHECKPOINT_RESERVE * 2 - Duration::from_millis(1));
            let accounts = [(0, "a"), (1, "b"), (2, "c")];
            let mut result = FannedOut::default();
            let batches = fan(&fixture, &budget)
                .batches(&accounts, None, &mut result)
                .await;
            assert_eq!(
                batches,
                Batches::Left {
                    from: 0,
                    resume: None
                }
            );
            let fanned = fan_out(
                &fixture.reconciliation,
                &fixture.effects,
                &fixture.target,
                false,
                None,
                &budget,
                now(),
            )
            .await;
            assert_eq!(
                fanned,
                FannedOut {
                    continued: 3,
                    ..FannedOut::default()
                }
            );
            assert_eq!(
                fixture.schedules.once_schedules().len(),
                1,
                "the continuation"
            );
        });
    }

    #[test]
    fn a_continuation_scheduler_refuses_leaves_its_accounts_failed() {
        block(async {
            let fixture = Fixture::holding(&ACCOUNTS, 10).await;
            let budget = Budget::of(Duration::from_secs(9));
            fixture.schedules.fail_next([SchedulerError::Denied]);
            let continuation = fan(&fixture, &budget).continuation(Some("b")).await;
            assert_eq!(continuation, Continuation::Failed(SchedulerError::Denied));
            let continuation = fan(&fixture, &budget).continuation(Some("b")).await;
            assert_eq!(continuation, Continuation::Scheduled);
            let again = fan(&fixture, &budget).continuation(Some("b")).await;
            assert_eq!(again, Continuation::Scheduled, "already pending");
        });
    }
}
