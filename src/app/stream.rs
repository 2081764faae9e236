//! A batch of the ledger's stream: each move into `terminated` is deprovisioned in its
//! targets, in order, and the batch says which records Lambda must deliver again.

use crate::app::budget::Budget;
use crate::app::deprovision::{Deprovisioner, stream_work};
use crate::app::settle::Effects;
use crate::aws::stream::Change;
use crate::domain::deprovision::Pass;
use crate::telemetry::record::RequestFacts;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The smallest share of the budget worth starting an employee's deprovisioning with:
/// below it, the record is handed back to the stream for a retry.
pub const MIN_WORK: Duration = Duration::from_secs(1);

/// How a batch ended.
#[derive(Debug)]
pub enum Batch {
    /// Deprovisioning is off: nothing was done with the batch's records.
    Off {
        /// How many records the batch held.
        records: usize,
    },
    /// Each record was worked, or handed back.
    Worked {
        /// The sequence numbers to deliver again: one whose work failed for a reason a
        /// retry can fix, and every record after one the budget left no time for.
        retry: Vec<String>,
        /// The metrics lines of each target's outcome.
        lines: Vec<String>,
    },
}

/// Works a batch of the ledger's stream within the budget. The work notes each leaver
/// as waiting before its SCIM calls, and keeps the note while anything is owed.
pub async fn work_batch(
    effects: Option<&Effects>,
    deprovisioner: Option<&Deprovisioner>,
    changes: &[Change],
    facts: &RequestFacts<'_>,
    budget: &Budget,
    now: DateTime<Utc>,
) -> Batch {
    let (Some(effects), Some(deprovisioner)) = (effects, deprovisioner) else {
        return Batch::Off {
            records: changes.len(),
        };
    };
    let (mut retry, mut lines) = (Vec::new(), Vec::new());
    for (sequence_number, key) in stream_work(changes) {
        if budget.left() < MIN_WORK {
            retry.push(sequence_number);
            continue;
        }
        let (worked, written) = deprovisioner
            .work(effects, &key, Pass::Termination, facts, budget, now)
            .await;
        lines.extend(written);
        if worked.retry() {
            retry.push(sequence_number);
        }
    }
    Batch::Worked { retry, lines }
}
