//! A webhook delivery: verified under the current keys (read again once when the
//! signature does not match), decided under its linked account's local cutoff, settled
//! through the ledger and its timer, and its decision record written before the
//! termination it announces is marked; only that announcing record carries the lag.

use crate::app::announce::{Announcement, announcement};
use crate::app::budget::Budget;
use crate::app::deprovision::warn_rehire;
use crate::app::keys::{Keys, Refresh};
use crate::app::settle::{Effects, Marked, Settled, Unsettled};
use crate::aws::ledger::LedgerError;
use crate::aws::scheduler::{ScheduleTarget, SchedulerError};
use crate::domain::decision::Decision;
use crate::domain::error::RequestError;
use crate::domain::ledger::{Change, Observation};
use crate::domain::webhook::{Decided, Outcome, Receiver};
use crate::telemetry::record::{
    ALREADY_TERMINATED_MESSAGE, HISTORICAL_MESSAGE, REPLAY_MESSAGE, RequestFacts,
    SCHEDULING_FAILED_MESSAGE, STALE_MESSAGE, Severity, TERMINATED_MESSAGE, TIMER_REFUSED_MESSAGE,
    decision_message, log_decision,
};
use chrono::{DateTime, TimeDelta, Utc};

/// A delivery as it arrived: what verification reads of the request.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// The body, as signed.
    pub body: &'a [u8],
    /// The signature header's value, when there is one.
    pub signature: Option<&'a [u8]>,
    /// False for any method but POST, which is refused.
    pub post: bool,
}

/// What verification came to, and each read of the keys' secret it made.
#[derive(Debug)]
pub struct Verified {
    /// The delivery's outcome, or why it is refused.
    pub result: Result<Outcome, RequestError>,
    /// The keys' refreshes: an aged secret read again, or a read after a mismatch.
    pub refreshes: Vec<Refresh>,
}

impl Verified {
    /// The AWS error codes of the refreshes that failed, for their records.
    pub fn failed_refreshes(&self) -> impl Iterator<Item = &str> {
        self.refreshes.iter().filter_map(|r| match r {
            Refresh::Failed(code) => Some(code.as_str()),
            _ => None,
        })
    }

    /// True when a read of the keys' secret failed.
    pub fn refresh_failed(&self) -> bool {
        self.failed_refreshes().next().is_some()
    }
}

/// Verifies `incoming` under the current keys. A read of the keys' secret is an outside
/// call like any other: bounded by the budget, and when time runs out the cached keys
/// verify. A signature that does not match reads the secret again (at most once a
/// minute: perhaps the key was rotated) and checks once more under the new keys.
pub async fn verify(
    receiver: &Receiver,
    keys: &Keys,
    incoming: Incoming<'_>,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Verified {
    let timed_out = || Refresh::Failed("TimedOut".to_owned());
    let (verifier, aged) = budget
        .run(keys.current(now))
        .await
        .unwrap_or_else(|_| (keys.cached(), Some(timed_out())));
    let mut refreshes: Vec<Refresh> = aged.into_iter().collect();
    let receive = |verifier: &_| {
        if incoming.post {
            receiver.receive(verifier, incoming.body, incoming.signature, now)
        } else {
            Err(RequestError::MethodNotAllowed)
        }
    };
    let mut result = receive(&verifier);
    if result == Err(RequestError::InvalidSignature) {
        let (changed, refresh) = budget
            .run(keys.after_mismatch(now))
            .await
            .unwrap_or_else(|_| (None, Some(timed_out())));
        if let Some(verifier) = changed {
            result = receive(&verifier);
        }
        refreshes.extend(refresh);
    }
    Verified { result, refreshes }
}

/// Decides a verified delivery again under its linked account's own local cutoff, when
/// the account has one and the termination date is a date only (the one form a cutoff
/// changes). A cutoff that cannot be read is the ledger's failure, answered 503 for
/// Merge to deliver again: a guess could end access a day early or late.
pub async fn localise(
    effects: Option<&Effects>,
    receiver: &Receiver,
    verified: &mut Verified,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let (Some(effects), Ok(Outcome::Decided(decided))) = (effects, &mut verified.result) else {
        return Ok(());
    };
    let base = receiver.policy();
    let policy = effects
        .baselines
        .cutoffs()
        .policy_for(
            effects.ledger.as_ref(),
            decided.linked_account.id.as_deref(),
            &decided.employee,
            base,
            budget,
            now,
        )
        .await?;
    if policy != *base {
        decided.decide_again(&policy, now);
    }
    Ok(())
}

/// What the ledger made of a decided delivery.
pub enum Ledgered {
    /// The delivery names no employee to key an entry by: nothing to keep.
    Unkeyed,
    /// Applied.
    Settled(Box<Settled>),
    /// Not applied: the delivery is answered 503, for Merge to deliver again.
    Unsettled(Unsettled),
}

/// Applies a decided delivery to the ledger and its timer.
pub async fn settle(
    effects: &Effects,
    target: Option<&ScheduleTarget>,
    decided: &Decided,
    delivery_id: Option<&str>,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Ledgered {
    let Some(observation) = Observation::from_decided(decided, delivery_id) else {
        return Ledgered::Unkeyed;
    };
    if effects.timers.is_some() && target.is_none() {
        // No ARN to point a timer at: only a hand-built invocation lacks one.
        return Ledgered::Unsettled(Unsettled::Timer(SchedulerError::Rejected(
            "NoFunctionArn".into(),
        )));
    }
    match effects
        .settle_observation(&observation, target, budget, now)
        .await
    {
        Ok(settled) => Ledgered::Settled(Box::new(settled)),
        Err(failure) => Ledgered::Unsettled(failure),
    }
}

/// How a settled delivery ended: whether it announced the termination, whether the
/// mark that says so was written, and the lag its record carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concluded {
    /// This invocation wrote the `terminated` record.
    pub announced: bool,
    /// What marking it announced came to.
    pub marked: Marked,
    /// How long the leaver kept access, on the delivery that announced the termination
    /// only: the record's `termination_lag_seconds` and the metric agree.
    pub termination_lag: Option<TimeDelta>,
}

/// Writes a settled delivery's decision record (and a rehire's warning), then marks the
/// termination it announced. `facts` already carry what the ledger did.
pub async fn conclude(
    effects: &Effects,
    settled: &Settled,
    decided: &Decided,
    facts: &RequestFacts<'_>,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Concluded {
    // Only a delivery that says terminated writes a record owed since.
    let eligible = decided.verdict.decision == Decision::Terminated;
    let announcement = announcement(effects, settled, eligible, budget, now).await;
    let (severity, message) = record_of(decided, settled, &announcement);
    let mut record = *facts;
    record.historical = settled.entered_historical().then_some(true);
    // The lag goes with the announcement, as `Terminations` does: the move into
    // `terminated` (or the claim of a move whose record was lost). A repeat, a replay
    // or a historical termination measured again would only inflate it.
    let unannounced;
    let shown = if announcement.announces() {
        decided
    } else {
        unannounced = decided.unannounced();
        &unannounced
    };
    log_decision(severity, message, shown, &record);
    warn_rehire(settled.stored.as_ref(), settled.own(), facts);
    let marked = announcement
        .after_record(effects, settled, budget, now)
        .await;
    Concluded {
        announced: announcement.announces(),
        marked,
        termination_lag: shown.termination_lag,
    }
}

/// The level and message of a settled delivery's record.
fn record_of(
    decided: &Decided,
    settled: &Settled,
    announcement: &Announcement,
) -> (Severity, &'static str) {
    let refused = settled
        .timer_error
        .as_ref()
        .is_some_and(SchedulerError::is_permanent);
    let scheduled = settled
        .entry
        .as_ref()
        .is_some_and(|e| e.decision == Decision::Scheduled);
    if settled.needs_retry() {
        (Severity::Error, SCHEDULING_FAILED_MESSAGE)
    } else if settled.entered_historical() {
        (Severity::Info, HISTORICAL_MESSAGE)
    } else if refused && scheduled {
        (Severity::Error, TIMER_REFUSED_MESSAGE)
    } else if announcement.announces() {
        (Severity::Warn, TERMINATED_MESSAGE)
    } else {
        ledger_message(decided, settled)
    }
}

/// The level and message of a settled delivery's record when it announces nothing: a
/// repeat of a known termination, or an older delivery, says so at INFO; anything else
/// speaks as its decision does.
fn ledger_message(decided: &Decided, settled: &Settled) -> (Severity, &'static str) {
    let holds = settled.entry.as_ref().map(|e| e.decision);
    match settled.change() {
        Change::Stale => (Severity::Info, STALE_MESSAGE),
        _ if decided.verdict.decision == Decision::Terminated
            && holds == Some(Decision::Terminated) =>
        {
            (Severity::Info, ALREADY_TERMINATED_MESSAGE)
        }
        Change::Unchanged if holds != Some(decided.verdict.decision) => {
            (Severity::Info, REPLAY_MESSAGE)
        }
        _ => decision_message(decided),
    }
}
