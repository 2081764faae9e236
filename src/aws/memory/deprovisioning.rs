//! The in-memory twin of deprovisioning's DynamoDB bookkeeping: the brake's counters
//! and the waiting list.

use super::locked;
use crate::aws::ledger::LedgerError;
use crate::aws::scheduler::BoxFuture;
use crate::domain::control::Pause;
use crate::domain::ledger::EmployeeKey;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The in-memory twin of deprovisioning's bookkeeping: the brake's counters by window,
/// conditional as DynamoDB's increment is, and the waiting list; with scripted faults.
#[derive(Debug, Default)]
pub struct MemoryDeprovisionStore {
    counters: Mutex<BTreeMap<String, u32>>,
    waiting: WaitingList,
    failing: Mutex<Vec<Option<LedgerError>>>,
    pause: Mutex<Pause>,
    /// How often the pause was read: the cache's tests count them.
    pause_reads: std::sync::atomic::AtomicUsize,
}

/// The waiting list's items, shared by the twins of one table: the ledger's twin notes
/// an employee in the same write that moves it into `terminated`.
pub type WaitingList = Arc<Mutex<BTreeMap<EmployeeKey, u64>>>;

impl MemoryDeprovisionStore {
    /// Empty, in a table of its own.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empty, in the table of `ledger`: the notes `ledger` writes with a move into
    /// `terminated` are on this store's waiting list.
    pub fn in_table_of(ledger: &super::MemoryLedger) -> Self {
        MemoryDeprovisionStore {
            waiting: ledger.waiting_list(),
            ..Self::default()
        }
    }

    /// The changes taken in `window`.
    pub fn taken(&self, window: &str) -> u32 {
        locked(&self.counters).get(window).copied().unwrap_or(0)
    }

    /// The employees noted as waiting.
    pub fn waiting_keys(&self) -> Vec<EmployeeKey> {
        locked(&self.waiting).keys().cloned().collect()
    }

    /// The pause as stored.
    pub fn stored_pause(&self) -> Pause {
        locked(&self.pause).clone()
    }

    /// How often the pause was read.
    pub fn pause_reads(&self) -> usize {
        self.pause_reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The next calls fail with these errors, in order.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = LedgerError>) {
        self.script(errors.into_iter().map(Some));
    }

    /// The next calls answer these errors (`None`: answered normally), in order.
    pub fn script(&self, outcomes: impl IntoIterator<Item = Option<LedgerError>>) {
        locked(&self.failing).extend(outcomes);
    }

    fn fault(&self) -> Result<(), LedgerError> {
        let mut failing = locked(&self.failing);
        if failing.is_empty() {
            return Ok(());
        }
        failing.remove(0).map_or(Ok(()), Err)
    }
}

impl crate::aws::deprovisioning::DeprovisionStore for MemoryDeprovisionStore {
    fn take<'a>(
        &'a self,
        window: &'a str,
        limit: u32,
        _expires: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<bool, LedgerError>> {
        Box::pin(async move {
            self.fault()?;
            let mut counters = locked(&self.counters);
            let count = counters.entry(window.to_owned()).or_insert(0);
            if *count >= limit {
                return Ok(false);
            }
            *count += 1;
            Ok(true)
        })
    }

    fn give_back<'a>(&'a self, window: &'a str) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(async move {
            self.fault()?;
            if let Some(count) = locked(&self.counters).get_mut(window) {
                *count = count.saturating_sub(1);
            }
            Ok(())
        })
    }

    fn wait<'a>(&'a self, key: &'a EmployeeKey) -> BoxFuture<'a, Result<u64, LedgerError>> {
        Box::pin(async move {
            self.fault()?;
            let mut waiting = locked(&self.waiting);
            let notes = waiting.entry(key.clone()).or_insert(0);
            *notes += 1;
            Ok(*notes)
        })
    }

    fn waiting(&self) -> BoxFuture<'_, Result<Vec<(EmployeeKey, u64)>, LedgerError>> {
        Box::pin(async move {
            self.fault()?;
            Ok(locked(&self.waiting)
                .iter()
                .map(|(k, n)| (k.clone(), *n))
                .collect())
        })
    }

    fn done<'a>(
        &'a self,
        key: &'a EmployeeKey,
        seen: u64,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(async move {
            self.fault()?;
            let mut waiting = locked(&self.waiting);
            // Noted again since `seen`: the note stays, as DynamoDB's condition keeps it.
            if waiting.get(key) == Some(&seen) {
                waiting.remove(key);
            }
            Ok(())
        })
    }

    fn pause(&self) -> BoxFuture<'_, Result<Pause, LedgerError>> {
        Box::pin(async move {
            self.fault()?;
            self.pause_reads
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(locked(&self.pause).clone())
        })
    }

    fn set_pause<'a>(
        &'a self,
        pause: &'a Pause,
        read_at: Option<DateTime<Utc>>,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(async move {
            self.fault()?;
            let mut stored = locked(&self.pause);
            // As DynamoDB's condition on `changed_at`: another write came first.
            if stored.changed_at != read_at {
                return Err(LedgerError::ConditionFailed);
            }
            *stored = pause.clone();
            Ok(())
        })
    }
}
