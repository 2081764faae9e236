//! The in-memory twin of the ledger's DynamoDB table: employee entries written under
//! their condition, the table's stream, and the sweep items.

use super::{Calls, locked, pace};
use crate::aws::ledger::{Ledger, LedgerError, PARTITION_KEY, Reindexed, SORT_KEY};
use crate::aws::scheduler::BoxFuture;
use crate::domain::baseline::Baseline;
use crate::domain::cutoff::LocalCutoff;
use crate::domain::decision::Decision;
use crate::domain::deprovision::{EmployeeField, Sharer, field_value, index_key};
use crate::domain::evidence::Evidence;
use crate::domain::ledger::{EmployeeKey, Entry};
use crate::domain::reconcile::SweepState;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// One write the twin accepted: the decision before (none for a new entry) and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Write {
    /// The stored decision it replaced.
    pub before: Option<Decision>,
    /// The decision written.
    pub after: Decision,
}

/// The in-memory twin of the ledger's table.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    entries: Mutex<BTreeMap<EmployeeKey, Entry>>,
    writes: Mutex<Vec<Write>>,
    calls: Mutex<Calls<LedgerError>>,
    lost_answers: Mutex<Vec<LedgerError>>,
    slow_answers: Mutex<Option<Duration>>,
    stream: Mutex<Vec<(Option<Entry>, Entry)>>,
    sweeps: Mutex<BTreeMap<String, SweepState>>,
    /// Scripted failures of the match indexes' queries, apart from the other calls' script.
    sharing_failures: Mutex<Vec<LedgerError>>,
    /// Answers the next index queries give instead of the entries' own: an index still
    /// behind a change, as a global secondary index can be.
    stale_sharing: Mutex<Vec<Vec<Sharer>>>,
    /// The table's waiting list, which a move into `terminated` may note in.
    waiting: super::deprovisioning::WaitingList,
    /// The accounts' baseline items.
    baselines: Mutex<BTreeMap<String, Baseline>>,
    /// The accounts' local cutoff items.
    cutoffs: Mutex<BTreeMap<String, LocalCutoff>>,
    /// Entries whose items carry no index keys (written before the indexes existed):
    /// in no index until rewritten or reindexed.
    unindexed: Mutex<std::collections::BTreeSet<EmployeeKey>>,
    /// The evidence trail's items, by partition and sort key, as the table holds them.
    evidence: Mutex<BTreeMap<(String, String), Item>>,
}

/// A stored item's attributes.
type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

impl MemoryLedger {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every entry.
    pub fn entries(&self) -> BTreeMap<EmployeeKey, Entry> {
        locked(&self.entries).clone()
    }

    /// The table's waiting list, for a deprovisioning store in the same table.
    pub fn waiting_list(&self) -> super::deprovisioning::WaitingList {
        self.waiting.clone()
    }

    /// Every accepted write, in order.
    pub fn writes(&self) -> Vec<Write> {
        locked(&self.writes).clone()
    }

    /// The table's stream since the last call: each accepted write's old and new
    /// entry, in order, as DynamoDB Streams (`NEW_AND_OLD_IMAGES`) carries them.
    pub fn drain_stream(&self) -> Vec<(Option<Entry>, Entry)> {
        std::mem::take(&mut *locked(&self.stream))
    }

    /// How many accepted writes moved an employee into `terminated`.
    pub fn moves_into_terminated(&self) -> usize {
        self.writes()
            .iter()
            .filter(|w| w.after == Decision::Terminated && w.before != Some(Decision::Terminated))
            .count()
    }

    /// How many calls were made.
    pub fn calls(&self) -> usize {
        locked(&self.calls).count
    }

    /// Makes the next calls fail with `errors`, one each, in order.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = LedgerError>) {
        locked(&self.calls)
            .script
            .extend(errors.into_iter().map(Some));
    }

    /// Scripts the next calls: `None` lets a call through, `Some` fails it.
    pub fn script(&self, outcomes: impl IntoIterator<Item = Option<LedgerError>>) {
        locked(&self.calls).script.extend(outcomes);
    }

    /// Makes every call take `delay` before it answers.
    pub fn slow(&self, delay: Duration) {
        locked(&self.calls).delay = Some(delay);
    }

    /// See [`MemorySchedules::interleave`](super::MemorySchedules::interleave).
    pub fn interleave(&self, seed: u64) {
        locked(&self.calls).jitter = Some(seed | 1);
    }

    /// Makes the next writes land but answer `errors`, one each, as DynamoDB does when
    /// the connection drops after it committed a write ([`LedgerError::Unreachable`]), or
    /// when the SDK's own retry of a committed write meets the condition the first
    /// attempt changed ([`LedgerError::ConditionFailed`]).
    pub fn lose_answers(&self, errors: impl IntoIterator<Item = LedgerError>) {
        locked(&self.lost_answers).extend(errors);
    }

    /// Makes every write land at once but answer only after `delay`, as a commit whose
    /// answer is slow to come back.
    pub fn slow_answers(&self, delay: Duration) {
        *locked(&self.slow_answers) = Some(delay);
    }

    /// Stores `entry` directly, as if written earlier.
    pub fn insert(&self, entry: Entry) {
        locked(&self.entries).insert(entry.key.clone(), entry);
    }

    /// Stores `entry` directly, as a version before the match indexes wrote it: without
    /// index keys, so no index query finds it until it is written again or reindexed.
    pub fn insert_unindexed(&self, entry: Entry) {
        locked(&self.unindexed).insert(entry.key.clone());
        self.insert(entry);
    }

    /// Makes the next queries of a match index fail with `errors`, one each, in order.
    pub fn fail_sharing(&self, errors: impl IntoIterator<Item = LedgerError>) {
        locked(&self.sharing_failures).extend(errors);
    }

    /// The next index query answers `sharers`, however the entries stand now.
    pub fn stale_sharing(&self, sharers: Vec<Sharer>) {
        locked(&self.stale_sharing).push(sharers);
    }

    /// Every sweep item, by linked account.
    pub fn sweeps(&self) -> BTreeMap<String, SweepState> {
        locked(&self.sweeps).clone()
    }

    /// Every local cutoff item, by linked account.
    pub fn cutoffs(&self) -> BTreeMap<String, LocalCutoff> {
        locked(&self.cutoffs).clone()
    }

    /// Every fact of the evidence trail, in key order (every month).
    pub fn all_evidence(&self) -> Vec<Evidence> {
        locked(&self.evidence)
            .values()
            .filter_map(crate::aws::ledger::evidence_from_item)
            .collect()
    }

    /// Stores an item in an evidence partition directly, as if another writer had: what
    /// a reader makes of an item it did not write.
    pub fn insert_evidence_item(&self, item: Item) {
        let key = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let at = (key(PARTITION_KEY), key(SORT_KEY));
        locked(&self.evidence).insert(at, item);
    }

    /// Every baseline item, by linked account.
    pub fn baselines(&self) -> BTreeMap<String, Baseline> {
        locked(&self.baselines).clone()
    }
}

/// The condition the SDK's write carries, evaluated on the stored entry.
fn condition_holds(stored: Option<&Entry>, entry: &Entry, expected: Option<u64>) -> bool {
    match (stored, expected) {
        (None, None) => true,
        (Some(stored), Some(revision)) => {
            stored.revision == revision
                && match entry.version {
                    Some(version) => stored.version.is_none_or(|v| v <= version),
                    None => stored.version.is_none(),
                }
        }
        _ => false,
    }
}

impl MemoryLedger {
    /// Writes `entry` if the condition holds, as DynamoDB commits a write.
    fn commit(
        &self,
        entry: &Entry,
        expected: Option<u64>,
        (noting, facts): (bool, &[Evidence]),
    ) -> Result<(), LedgerError> {
        let mut entries = locked(&self.entries);
        let mut evidence = locked(&self.evidence);
        let revision = Some(entry.revision);
        // As the real client splits a write's facts: those beyond one transaction first,
        // each transaction all or nothing.
        let (early, with_entry) = crate::aws::ledger::split_facts(facts, 1 + usize::from(noting));
        for chunk in early {
            commit_facts(&mut evidence, chunk, revision)?;
        }
        let stored = entries.get(&entry.key);
        if !condition_holds(stored, entry, expected) {
            return Err(LedgerError::ConditionFailed);
        }
        let before = stored.map(|s| s.decision);
        // Stored as DynamoDB stores it: through the item, so that what reads back is
        // what the real table would give.
        let Some(item) = crate::aws::ledger::from_item(&crate::aws::ledger::to_item(entry)) else {
            return Err(LedgerError::Rejected("ValidationException".into()));
        };
        commit_facts(&mut evidence, with_entry, revision)?;
        locked(&self.stream).push((stored.cloned(), item.clone()));
        locked(&self.unindexed).remove(&entry.key);
        entries.insert(entry.key.clone(), item);
        if noting {
            // Under the entries' lock: no reader sees the move without its note.
            *locked(&self.waiting).entry(entry.key.clone()).or_insert(0) += 1;
        }
        locked(&self.writes).push(Write {
            before,
            after: entry.decision,
        });
        Ok(())
    }
}

/// Stores `facts` if every key is free, as one transaction of conditional puts: all or
/// nothing.
fn commit_facts(
    evidence: &mut BTreeMap<(String, String), Item>,
    facts: &[Evidence],
    revision: Option<u64>,
) -> Result<(), LedgerError> {
    let items: Vec<Item> = facts
        .iter()
        .map(|f| crate::aws::ledger::evidence_to_item(f, revision))
        .collect();
    let key = |item: &Item| {
        let text = |name: &str| item[name].as_s().cloned().unwrap_or_default();
        (text(PARTITION_KEY), text(SORT_KEY))
    };
    let mut keys: Vec<_> = items.iter().map(key).collect();
    keys.sort();
    keys.dedup();
    // A key taken, or two puts of one key (which DynamoDB refuses as a validation error).
    if keys.len() < items.len() {
        return Err(LedgerError::Rejected("ValidationException".into()));
    }
    if keys.iter().any(|k| evidence.contains_key(k)) {
        return Err(LedgerError::ConditionFailed);
    }
    for item in items {
        evidence.insert(key(&item), item);
    }
    Ok(())
}

impl MemoryLedger {
    /// A write as the table takes it: scripted faults first, then the condition, then a
    /// lost or slow answer.
    fn write<'a>(
        &'a self,
        entry: &'a Entry,
        expected: Option<u64>,
        noting: (bool, &'a [Evidence]),
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        let (failure, delay, yields) = locked(&self.calls).next();
        Box::pin(async move {
            pace(delay, yields).await;
            if let Some(error) = failure {
                return Err(error);
            }
            self.commit(entry, expected, noting)?;
            let lost = {
                let mut lost = locked(&self.lost_answers);
                (!lost.is_empty()).then(|| lost.remove(0))
            };
            let slow = *locked(&self.slow_answers);
            pace(slow, 0).await;
            match lost {
                Some(error) => Err(error),
                None => Ok(()),
            }
        })
    }
}

impl MemoryLedger {
    /// A call as the table answers it: its scripted fault and pace first, then `answer`.
    fn call<'a, T: Send + 'a>(
        &'a self,
        answer: impl FnOnce() -> Result<T, LedgerError> + Send + 'a,
    ) -> BoxFuture<'a, Result<T, LedgerError>> {
        let (failure, delay, yields) = locked(&self.calls).next();
        Box::pin(async move {
            pace(delay, yields).await;
            match failure {
                Some(error) => Err(error),
                None => answer(),
            }
        })
    }
}

impl Ledger for MemoryLedger {
    fn get<'a>(
        &'a self,
        key: &'a EmployeeKey,
    ) -> BoxFuture<'a, Result<Option<Entry>, LedgerError>> {
        self.call(move || Ok(locked(&self.entries).get(key).cloned()))
    }

    fn put<'a>(
        &'a self,
        entry: &'a Entry,
        expected: Option<u64>,
        facts: &'a [Evidence],
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        self.write(entry, expected, (false, facts))
    }

    fn put_noting<'a>(
        &'a self,
        entry: &'a Entry,
        expected: Option<u64>,
        facts: &'a [Evidence],
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        self.write(entry, expected, (true, facts))
    }

    fn put_evidence<'a>(&'a self, facts: &'a [Evidence]) -> BoxFuture<'a, Result<(), LedgerError>> {
        self.call(move || {
            let mut evidence = locked(&self.evidence);
            for chunk in facts.chunks(crate::aws::ledger::TRANSACTION_ITEMS) {
                commit_facts(&mut evidence, chunk, None)?;
            }
            Ok(())
        })
    }

    fn evidence<'a>(
        &'a self,
        month: &'a str,
        linked_account_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Evidence>, LedgerError>> {
        self.call(move || {
            let partition = crate::aws::ledger::evidence_partition(month);
            let prefix = linked_account_id.map(|a| format!("{a}#"));
            locked(&self.evidence)
                .iter()
                .filter(|((p, s), _)| {
                    *p == partition && prefix.as_ref().is_none_or(|pre| s.starts_with(pre))
                })
                .map(|(_, item)| {
                    crate::aws::ledger::evidence_from_item(item).ok_or(LedgerError::Unreadable)
                })
                .collect()
        })
    }

    fn get_sweep<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SweepState>, LedgerError>> {
        self.call(move || Ok(locked(&self.sweeps).get(linked_account_id).cloned()))
    }

    fn put_sweep<'a>(
        &'a self,
        state: &'a SweepState,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        self.call(move || {
            let mut sweeps = locked(&self.sweeps);
            let stored = sweeps.get(&state.linked_account_id).map(|s| s.revision);
            if stored != expected {
                return Err(LedgerError::ConditionFailed);
            }
            // Through the item, as the table stores it.
            let item = crate::aws::ledger::sweep_to_item(state);
            let Some(read) = crate::aws::ledger::sweep_from_item(&item) else {
                return Err(LedgerError::Rejected("ValidationException".into()));
            };
            sweeps.insert(state.linked_account_id.clone(), read);
            Ok(())
        })
    }

    fn scheduled_before<'a>(
        &'a self,
        linked_account_id: &'a str,
        before: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<Entry>, LedgerError>> {
        self.call(move || {
            Ok(locked(&self.entries)
                .values()
                .filter(|e| {
                    e.key.linked_account_id == linked_account_id
                        && e.decision == Decision::Scheduled
                        && e.effective_at.is_some_and(|at| at < before)
                })
                .cloned()
                .collect())
        })
    }

    fn sharing<'a>(
        &'a self,
        linked_account_id: &'a str,
        field: EmployeeField,
        normalised: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Sharer>, LedgerError>> {
        let failure = {
            let mut failures = locked(&self.sharing_failures);
            (!failures.is_empty()).then(|| failures.remove(0))
        };
        let stale = {
            let mut answers = locked(&self.stale_sharing);
            (!answers.is_empty()).then(|| answers.remove(0))
        };
        Box::pin(async move {
            tokio::task::yield_now().await;
            if let Some(error) = failure {
                return Err(error);
            }
            if let Some(stale) = stale {
                return Ok(stale);
            }
            // The index's key, computed as the item's attribute is.
            let wanted = format!("{linked_account_id}|{normalised}");
            let unindexed = locked(&self.unindexed).clone();
            Ok(locked(&self.entries)
                .values()
                .filter(|e| !unindexed.contains(&e.key))
                .filter(|e| {
                    field_value(&e.identity, field)
                        .and_then(|v| index_key(&e.key.linked_account_id, v))
                        .is_some_and(|key| key == wanted)
                })
                .map(|e| Sharer {
                    key: e.key.clone(),
                    decision: e.decision,
                    value: field_value(&e.identity, field).map(str::to_owned),
                })
                .collect())
        })
    }

    fn get_baseline<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Baseline>, LedgerError>> {
        self.call(move || Ok(locked(&self.baselines).get(linked_account_id).cloned()))
    }

    fn put_baseline<'a>(
        &'a self,
        baseline: &'a Baseline,
        replace: bool,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        self.call(move || {
            let mut baselines = locked(&self.baselines);
            if !replace && baselines.contains_key(&baseline.linked_account_id) {
                return Err(LedgerError::ConditionFailed);
            }
            // Through the item, as the table stores it.
            let item = crate::aws::ledger::baseline_to_item(baseline);
            let Some(read) = crate::aws::ledger::baseline_from_item(&item) else {
                return Err(LedgerError::Rejected("ValidationException".into()));
            };
            baselines.insert(baseline.linked_account_id.clone(), read);
            Ok(())
        })
    }

    fn get_cutoff<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<LocalCutoff>, LedgerError>> {
        self.call(move || Ok(locked(&self.cutoffs).get(linked_account_id).copied()))
    }

    fn put_cutoff<'a>(
        &'a self,
        linked_account_id: &'a str,
        local: LocalCutoff,
        at: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        self.call(move || {
            // Through the item, as the table stores it.
            let item = crate::aws::ledger::cutoff_to_item(linked_account_id, local, at);
            let Some(read) = crate::aws::ledger::cutoff_from_item(&item) else {
                return Err(LedgerError::Rejected("ValidationException".into()));
            };
            locked(&self.cutoffs).insert(linked_account_id.to_owned(), read);
            Ok(())
        })
    }

    fn has_entries<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<bool, LedgerError>> {
        self.call(move || {
            Ok(locked(&self.entries)
                .keys()
                .any(|k| k.linked_account_id == linked_account_id))
        })
    }

    fn terminated<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Entry>, LedgerError>> {
        self.call(move || {
            Ok(locked(&self.entries)
                .values()
                .filter(|e| {
                    e.key.linked_account_id == linked_account_id
                        && e.decision == Decision::Terminated
                })
                .cloned()
                .collect())
        })
    }

    fn deprovisioned<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Entry>, LedgerError>> {
        self.call(move || {
            Ok(locked(&self.entries)
                .values()
                .filter(|e| {
                    e.key.linked_account_id == linked_account_id && !e.deprovisioning.is_empty()
                })
                .cloned()
                .collect())
        })
    }

    fn reindex<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Reindexed, LedgerError>> {
        self.call(move || self.reindex_now(linked_account_id))
    }
}

impl MemoryLedger {
    /// [`Ledger::reindex`]: the account's unindexed entries gain their keys.
    fn reindex_now(&self, linked_account_id: &str) -> Result<Reindexed, LedgerError> {
        let entries = locked(&self.entries);
        let mut unindexed = locked(&self.unindexed);
        let mut done = Reindexed::default();
        for key in entries
            .keys()
            .filter(|k| k.linked_account_id == linked_account_id)
        {
            done.entries += 1;
            if unindexed.remove(key) {
                done.rewritten += 1;
            }
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ledger::{Identity, Observation, Source, transition};
    use chrono::TimeZone;

    fn entry(hour: u32) -> Entry {
        let at = |h| Utc.with_ymd_and_hms(2026, 11, 26, h, 0, 0).unwrap();
        let observation = Observation {
            key: EmployeeKey::new(Some("a"), "e"),
            decision: Decision::Active,
            reasons: String::new(),
            termination_date: None,
            effective_at: None,
            effective_rule: None,
            version: Some(at(hour)),
            removal: false,
            identity: Identity::default(),
            source: Source::Webhook,
            delivery_id: None,
        };
        transition(None, &observation, at(12)).write.unwrap()
    }

    #[test]
    fn the_ledger_twin_refuses_a_write_over_a_newer_version_even_at_the_right_revision() {
        let stored = entry(5);
        let older = entry(3);
        assert!(!condition_holds(
            Some(&stored),
            &older,
            Some(stored.revision)
        ));
        assert!(condition_holds(
            Some(&stored),
            &entry(6),
            Some(stored.revision)
        ));
        assert!(!condition_holds(
            Some(&stored),
            &entry(6),
            Some(stored.revision + 1)
        ));
        assert!(!condition_holds(Some(&stored), &entry(6), None));
        assert!(condition_holds(None, &entry(6), None));
    }
}
