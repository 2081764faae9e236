//! The account's lease on its sweep state: who may sweep it now, taking it, and the
//! checkpoint that writes the state back and lets it go.

use super::LEASE_ATTEMPTS;
use crate::app::budget::Budget;
use crate::app::settle::Effects;
use crate::aws::ledger::LedgerError;
use crate::domain::reconcile::{Busy, SweepState, begin};
use chrono::{DateTime, TimeDelta, Utc};

/// A write token for the lease: 128 random bits, unique to this invocation. Not the
/// process id and a counter: fresh Lambda environments can share a pid, and two sweeps
/// with one holder would each take the other's lease as their own. Not the request id
/// either: a retried asynchronous invocation keeps it.
fn holder() -> String {
    use ring::rand::SecureRandom;
    let mut bits = [0_u8; 16];
    if ring::rand::SystemRandom::new().fill(&mut bits).is_err() {
        // No randomness from the system: a holder nobody else has, from the clock and a
        // counter (never the pid alone).
        use std::sync::atomic::{AtomicU64, Ordering};
        static SWEEPS: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let count = SWEEPS.fetch_add(1, Ordering::Relaxed);
        bits = (nanos ^ (u128::from(count) << 64) ^ u128::from(std::process::id())).to_be_bytes();
    }
    bits.iter().map(|b| format!("{b:02x}")).collect()
}

/// Takes the account's lease: the state to sweep under, or who holds it.
pub(super) async fn take_lease(
    effects: &Effects,
    account: &str,
    full: bool,
    lease: TimeDelta,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Result<Result<SweepState, Busy>, LedgerError> {
    let me = holder();
    for _ in 0..LEASE_ATTEMPTS {
        let stored = budget
            .run(effects.ledger.get_sweep(account))
            .await
            .unwrap_or(Err(LedgerError::TimedOut))?;
        let planned = match begin(stored.as_ref(), account, full, &me, lease, now) {
            Ok(planned) => planned,
            Err(busy) => return Ok(Err(busy)),
        };
        let written = budget
            .run(
                effects
                    .ledger
                    .put_sweep(&planned, stored.as_ref().map(|s| s.revision)),
            )
            .await
            .unwrap_or(Err(LedgerError::TimedOut));
        match written {
            Ok(()) => return Ok(Ok(planned)),
            Err(LedgerError::ConditionFailed) => {}
            Err(error) => return Err(error),
        }
    }
    Err(LedgerError::ConditionFailed)
}

/// Whether the checkpoint was written.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Checkpoint {
    /// The state is stored and the lease released.
    Stored,
    /// The ledger failed: the lease runs out by itself and the next sweep continues from
    /// the last checkpoint.
    Failed(LedgerError),
}

/// Writes the sweep state against the one this invocation wrote last.
pub(super) async fn checkpoint(
    effects: &Effects,
    state: &SweepState,
    budget: &Budget,
) -> Checkpoint {
    let written = budget
        .run(effects.ledger.put_sweep(state, Some(state.revision - 1)))
        .await
        .unwrap_or(Err(LedgerError::TimedOut));
    match written {
        Ok(()) => Checkpoint::Stored,
        Err(error) => Checkpoint::Failed(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_holder_is_128_random_bits_never_the_process_id() {
        let holders: std::collections::BTreeSet<String> = (0..64).map(|_| holder()).collect();
        assert_eq!(holders.len(), 64, "each invocation its own");
        let pid = format!("{:08x}", std::process::id());
        for held in &holders {
            assert_eq!(held.len(), 32, "{held}");
            assert!(held.chars().all(|c| c.is_ascii_hexdigit()), "{held}");
            assert!(!held.starts_with(&pid), "{held}");
        }
    }
}
