//! One delivery from raw body to outcome: size, signature, envelope, route, decision.
//!
//! This is the domain entry point. It takes plain bytes and a time, so it knows nothing
//! of HTTP or Lambda.

use crate::domain::dates::parse_hr_date;
use crate::domain::decision::{Decision, Policy, Verdict, decide};
use crate::domain::employee::{Employee, RawDate};
use crate::domain::envelope::{
    Action, Data, EnvelopeError, LinkedAccount, Route, parse_envelope, route,
};
use crate::domain::error::RequestError;
use crate::domain::signature::{KeyUsed, SignatureFailure, Verifier};
use chrono::{DateTime, TimeDelta, Utc};

/// Why an authenticated delivery was acknowledged without a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoreReason {
    /// No `hook.event`, as in the dashboard's test delivery.
    NoEvent,
    /// An event for another model or category.
    NotAnEmployeeEvent,
    /// An Employee event whose action this function does not decide (`Employee.synced`).
    EmployeeActionNotDecided,
}

impl IgnoreReason {
    /// The reason as it appears in responses and log records.
    pub fn as_str(self) -> &'static str {
        match self {
            IgnoreReason::NoEvent => "no_event",
            IgnoreReason::NotAnEmployeeEvent => "not_an_employee_event",
            IgnoreReason::EmployeeActionNotDecided => "employee_action_not_decided",
        }
    }
}

/// An Employee delivery and the decision taken on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    /// `hook.event` as received.
    pub event: String,
    /// The action it names.
    pub action: Action,
    /// The Employee, reduced to what the log needs.
    pub employee: Employee,
    /// Which linked account it came from.
    pub linked_account: LinkedAccount,
    /// The decision and its reasons.
    pub verdict: Verdict,
    /// Which key verified the delivery; none for a scheduled termination firing, which
    /// comes from this function's own schedule, not from Merge.
    pub key: Option<KeyUsed>,
    /// See [`termination_lag`]: reported in the record and the metrics of the delivery
    /// that announces the termination, and only there (see [`Decided::unannounced`]).
    pub termination_lag: Option<TimeDelta>,
    /// See [`sync_lag`]: reported in the record and the metrics.
    pub sync_lag: Option<TimeDelta>,
}

impl Decided {
    /// Decides the same delivery again under `policy` (its linked account's own local
    /// cutoff), as [`Receiver::receive`] would have.
    pub fn decide_again(&mut self, policy: &Policy, now: DateTime<Utc>) {
        self.verdict = decide(self.action, &self.employee, now, policy);
        self.termination_lag = termination_lag(&self.verdict, now);
    }

    /// This delivery as the record of one that announces nothing (a repeat, a replay, an
    /// older delivery, one answered 503): without its lag. The lag says how long the
    /// leaver kept access until the function said so; measured again on each repeat it
    /// would only grow, and inflate every figure made of it.
    pub fn unannounced(&self) -> Decided {
        Decided {
            termination_lag: None,
            ..self.clone()
        }
    }

    /// The Employee's readable `modified_at`, to the microsecond: the version the ledger
    /// orders deliveries by. Microseconds are what the ledger stores, so a timer and its
    /// entry always compare equal.
    pub fn version(&self) -> Option<DateTime<Utc>> {
        match &self.employee.modified_at {
            Some(RawDate::Text(text)) => parse_hr_date(text).map(to_microseconds),
            _ => None,
        }
    }
}

/// `instant` without its sub-microsecond part.
pub fn to_microseconds(instant: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(instant.timestamp_micros()).unwrap_or(instant)
}

/// For a termination whose date has taken effect: how long ago it did, which is how long
/// a leaver kept access if nothing else revoked it. Worth reporting only at the
/// announcement of the termination, the one moment it measures.
pub fn termination_lag(verdict: &Verdict, now: DateTime<Utc>) -> Option<TimeDelta> {
    let effective = verdict.effective_at?;
    (verdict.decision == Decision::Terminated && effective <= now).then(|| now - effective)
}

/// How long ago Merge saw the record change (`modified_at`), when readable: the delay
/// Merge's sync and delivery added.
fn sync_lag(employee: &Employee, now: DateTime<Utc>) -> Option<TimeDelta> {
    match &employee.modified_at {
        Some(RawDate::Text(text)) => parse_hr_date(text).map(|modified| now - modified),
        _ => None,
    }
}

/// What became of an authenticated delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// An Employee event was decided.
    Decided(Box<Decided>),
    /// Acknowledged and ignored.
    Ignored {
        /// Why.
        reason: IgnoreReason,
        /// `hook.event`, when present.
        event: Option<String>,
        /// Which linked account it came from.
        linked_account: LinkedAccount,
        /// Which key verified the delivery.
        key: KeyUsed,
    },
}

/// Accepts deliveries: holds the verifier and the body limit, built once at init.
#[derive(Debug, Clone)]
pub struct Receiver {
    max_body_bytes: usize,
    policy: Policy,
}

impl Receiver {
    /// Builds a receiver that refuses bodies over `max_body_bytes` and decides under
    /// `policy`.
    pub fn new(max_body_bytes: usize, policy: Policy) -> Self {
        Receiver {
            max_body_bytes,
            policy,
        }
    }

    /// The policy deliveries are decided under before any account's own local cutoff.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Processes one delivery's raw body and signature header at time `now`, verified
    /// with `verifier` (the keys can change while the function runs).
    ///
    /// The order matters: the size is checked before any hashing, and nothing is parsed
    /// before the signature verifies.
    pub fn receive(
        &self,
        verifier: &Verifier,
        body: &[u8],
        signature: Option<&[u8]>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, RequestError> {
        if body.len() > self.max_body_bytes {
            return Err(RequestError::PayloadTooLarge {
                limit: self.max_body_bytes,
            });
        }
        let key = verifier
            .verify(body, signature)
            .map_err(|failure| match failure {
                SignatureFailure::Missing => RequestError::MissingSignature,
                SignatureFailure::Mismatch => RequestError::InvalidSignature,
            })?;
        let envelope = parse_envelope(body).map_err(|e| match e {
            EnvelopeError::Malformed { line, column } => {
                RequestError::MalformedJson { line, column }
            }
            EnvelopeError::NotAnObject => RequestError::NotAnObject,
            EnvelopeError::Invalid { detail } => RequestError::InvalidEnvelope { detail },
            EnvelopeError::UnreadableEmployee { line, column } => {
                RequestError::UnreadableEmployee { line, column }
            }
        })?;
        let linked_account = envelope.linked_account;
        let Some(event) = envelope.event else {
            return Ok(Outcome::Ignored {
                reason: IgnoreReason::NoEvent,
                event: None,
                linked_account,
                key,
            });
        };
        let reason = match route(&event) {
            Route::Employee(action) => Ok(action),
            Route::UndecidedEmployeeAction => Err(IgnoreReason::EmployeeActionNotDecided),
            Route::Ignore => Err(IgnoreReason::NotAnEmployeeEvent),
        };
        let action = match reason {
            Ok(action) => action,
            Err(reason) => {
                return Ok(Outcome::Ignored {
                    reason,
                    event: Some(event),
                    linked_account,
                    key,
                });
            }
        };
        let Data::Employee(employee) = envelope.data else {
            return Err(RequestError::InvalidEmployee);
        };
        let employee = *employee;
        let verdict = decide(action, &employee, now, &self.policy);
        Ok(Outcome::Decided(Box::new(Decided {
            termination_lag: termination_lag(&verdict, now),
            sync_lag: sync_lag(&employee, now),
            event,
            action,
            employee,
            linked_account,
            verdict,
            key: Some(key),
        })))
    }
}
