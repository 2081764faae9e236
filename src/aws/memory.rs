//! In-memory twins of the AWS services, for unit and property tests.
//!
//! [`MemoryLedger`] behaves like the DynamoDB table where this function relies on it: a
//! write whose condition fails changes nothing and says so. [`MemorySchedules`] behaves
//! like EventBridge Scheduler: a create of an existing name is a conflict, an update or a
//! delete of a missing one is not found, an update replaces the whole schedule, and
//! names, `at()` expressions, targets and inputs are validated as the service does; a
//! schedule fires only when a test says so, and is then deleted. [`MemorySecrets`] reads
//! like Secrets Manager and counts its reads.
//!
//! Faults can be scripted into each, calls can be slowed (to test deadlines), and calls
//! can be made to yield a random number of times first, so that concurrent invocations
//! interleave at every await point as they would against the real service.

use crate::aws::ledger::{Ledger, LedgerError};
use crate::aws::scheduler::{
    BoxFuture, MAX_INPUT_CHARS, ScheduleTarget, SchedulerError, Schedules,
};
use crate::domain::decision::Decision;
use crate::domain::ledger::{EmployeeKey, Entry};
use crate::domain::reconcile::SweepState;
use crate::domain::schedule::{Desired, TimerDocument};
use chrono::{DateTime, NaiveDateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// What every twin's calls share: scripted outcomes, a call count, a delay and the
/// interleaving.
#[derive(Debug)]
struct Calls<E> {
    count: usize,
    script: Vec<Option<E>>,
    delay: Option<Duration>,
    jitter: Option<u64>,
}

impl<E> Default for Calls<E> {
    fn default() -> Self {
        Calls {
            count: 0,
            script: Vec::new(),
            delay: None,
            jitter: None,
        }
    }
}

impl<E> Calls<E> {
    /// Counts a call, and returns its scripted failure, its delay and how many times it
    /// yields first.
    fn next(&mut self) -> (Option<E>, Option<Duration>, u64) {
        self.count += 1;
        let failure = if self.script.is_empty() {
            None
        } else {
            self.script.remove(0)
        };
        let yields = match &mut self.jitter {
            Some(state) => {
                // xorshift64: reproducible from the seed, no dependency.
                *state ^= *state << 13;
                *state ^= *state >> 7;
                *state ^= *state << 17;
                *state % 4
            }
            None => 0,
        };
        (failure, self.delay, yields)
    }
}

/// Waits as a slow or busy service would before answering.
async fn pace(delay: Option<Duration>, yields: u64) {
    for _ in 0..yields {
        tokio::task::yield_now().await;
    }
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One stored schedule, as Scheduler would hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchedule {
    /// When it fires.
    pub at: DateTime<Utc>,
    /// `at(...)`.
    pub expression: String,
    /// Its input.
    pub document: TimerDocument,
    /// Where it delivers.
    pub target: ScheduleTarget,
}

/// The in-memory twin of a schedule group.
#[derive(Debug, Default)]
pub struct MemorySchedules {
    schedules: Mutex<BTreeMap<String, StoredSchedule>>,
    once: Mutex<BTreeMap<String, (DateTime<Utc>, String)>>,
    /// Sweep schedules fired but not yet deleted, when [`MemorySchedules::keep_fired`].
    fired: Mutex<std::collections::BTreeSet<String>>,
    keep_fired: std::sync::atomic::AtomicBool,
    calls: Mutex<Calls<SchedulerError>>,
}

impl MemorySchedules {
    /// An empty group.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every schedule, by name.
    pub fn schedules(&self) -> BTreeMap<String, StoredSchedule> {
        locked(&self.schedules).clone()
    }

    /// How many calls were made.
    pub fn calls(&self) -> usize {
        locked(&self.calls).count
    }

    /// Makes the next calls fail with `errors`, one each, in order.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = SchedulerError>) {
        self.script(errors.into_iter().map(Some));
    }

    /// Scripts the next calls: `None` lets a call through, `Some` fails it.
    pub fn script(&self, outcomes: impl IntoIterator<Item = Option<SchedulerError>>) {
        locked(&self.calls).script.extend(outcomes);
    }

    /// Makes every call take `delay` before it answers.
    pub fn slow(&self, delay: Duration) {
        locked(&self.calls).delay = Some(delay);
    }

    /// Makes every call yield to other tasks a pseudo-random number of times, from
    /// `seed`, before it acts: concurrent invocations then interleave.
    pub fn interleave(&self, seed: u64) {
        locked(&self.calls).jitter = Some(seed | 1);
    }

    /// Fires `name` as Scheduler does at its time: returns its input and deletes it
    /// (`ActionAfterCompletion: DELETE`).
    pub fn fire(&self, name: &str) -> Option<TimerDocument> {
        locked(&self.schedules).remove(name).map(|s| s.document)
    }

    /// Every sweep schedule, by name: when it fires and its input.
    pub fn once_schedules(&self) -> BTreeMap<String, (DateTime<Utc>, String)> {
        locked(&self.once).clone()
    }

    /// Fires the sweep schedule `name`: returns its input and deletes it, or with
    /// [`MemorySchedules::keep_fired`] keeps its name taken until
    /// [`MemorySchedules::delete_fired`], as Scheduler does for a while after it invoked
    /// the target (and while it retries).
    pub fn fire_once(&self, name: &str) -> Option<String> {
        let fired = locked(&self.once).remove(name).map(|(_, input)| input);
        if fired.is_some() && self.keep_fired.load(std::sync::atomic::Ordering::Relaxed) {
            locked(&self.fired).insert(name.to_owned());
        }
        fired
    }

    /// Fires the sweep schedule due first, whatever its name: its name and input.
    pub fn fire_next_once(&self) -> Option<(String, String)> {
        let name = locked(&self.once)
            .iter()
            .min_by_key(|(_, (at, _))| *at)
            .map(|(name, _)| name.clone())?;
        self.fire_once(&name).map(|input| (name, input))
    }

    /// Keeps fired sweep schedules' names taken until [`MemorySchedules::delete_fired`].
    pub fn keep_fired(&self) {
        self.keep_fired
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Deletes the fired sweep schedules still kept, as Scheduler does at last.
    pub fn delete_fired(&self) {
        locked(&self.fired).clear();
    }

    /// Stores `schedule` directly, as if made earlier.
    pub fn insert(&self, name: &str, schedule: StoredSchedule) {
        locked(&self.schedules).insert(name.to_owned(), schedule);
    }

    fn stored(schedule: &Desired, target: &ScheduleTarget) -> StoredSchedule {
        StoredSchedule {
            at: schedule.at,
            expression: schedule.expression(),
            document: schedule.document.clone(),
            target: target.clone(),
        }
    }

    /// Runs one call: its pace, its scripted failure, then `act` on the schedules.
    fn call<'a, T: Send + 'a>(
        &'a self,
        act: impl FnOnce(&mut BTreeMap<String, StoredSchedule>) -> Result<T, SchedulerError> + Send + 'a,
    ) -> BoxFuture<'a, Result<T, SchedulerError>> {
        let (failure, delay, yields) = locked(&self.calls).next();
        Box::pin(async move {
            pace(delay, yields).await;
            if let Some(error) = failure {
                return Err(error);
            }
            act(&mut locked(&self.schedules))
        })
    }
}

/// What Scheduler's validation refuses, as a `ValidationException`.
fn validate(schedule: &Desired, target: &ScheduleTarget) -> Result<(), SchedulerError> {
    let name_ok = (1..=64).contains(&schedule.name.len())
        && schedule
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    let expression = schedule.expression();
    let at_ok = expression
        .strip_prefix("at(")
        .and_then(|rest| rest.strip_suffix(')'))
        .is_some_and(|time| {
            time.len() == 19 && NaiveDateTime::parse_from_str(time, "%Y-%m-%dT%H:%M:%S").is_ok()
        });
    let input_ok = serde_json::to_string(&schedule.document)
        .is_ok_and(|input| input.chars().count() <= MAX_INPUT_CHARS);
    let arns_ok = target.function_arn.starts_with("arn:")
        && target.role_arn.starts_with("arn:")
        && target
            .dead_letter_arn
            .as_deref()
            .is_none_or(|arn| arn.starts_with("arn:"));
    if name_ok && at_ok && input_ok && arns_ok {
        Ok(())
    } else {
        Err(SchedulerError::Invalid)
    }
}

impl Schedules for MemorySchedules {
    fn create<'a>(
        &'a self,
        schedule: &'a Desired,
        target: &'a ScheduleTarget,
    ) -> BoxFuture<'a, Result<(), SchedulerError>> {
        self.call(move |schedules| {
            validate(schedule, target)?;
            if schedules.contains_key(&schedule.name) {
                return Err(SchedulerError::Conflict);
            }
            schedules.insert(schedule.name.clone(), Self::stored(schedule, target));
            Ok(())
        })
    }

    fn update<'a>(
        &'a self,
        schedule: &'a Desired,
        target: &'a ScheduleTarget,
    ) -> BoxFuture<'a, Result<(), SchedulerError>> {
        self.call(move |schedules| {
            validate(schedule, target)?;
            match schedules.get_mut(&schedule.name) {
                Some(stored) => {
                    *stored = Self::stored(schedule, target);
                    Ok(())
                }
                None => Err(SchedulerError::NotFound),
            }
        })
    }

    fn create_once<'a>(
        &'a self,
        name: &'a str,
        at: DateTime<Utc>,
        input: &'a str,
        target: &'a ScheduleTarget,
    ) -> BoxFuture<'a, Result<(), SchedulerError>> {
        self.call(move |schedules| {
            let valid = (1..=64).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                && input.chars().count() <= MAX_INPUT_CHARS
                && target.function_arn.starts_with("arn:")
                && target.role_arn.starts_with("arn:");
            if !valid {
                return Err(SchedulerError::Invalid);
            }
            let mut once = locked(&self.once);
            if schedules.contains_key(name)
                || once.contains_key(name)
                || locked(&self.fired).contains(name)
            {
                return Err(SchedulerError::Conflict);
            }
            once.insert(name.to_owned(), (at, input.to_owned()));
            Ok(())
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), SchedulerError>> {
        self.call(move |schedules| {
            schedules
                .remove(name)
                .map(|_| ())
                .ok_or(SchedulerError::NotFound)
        })
    }
}

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
}

impl MemoryLedger {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every entry.
    pub fn entries(&self) -> BTreeMap<EmployeeKey, Entry> {
        locked(&self.entries).clone()
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

    /// See [`MemorySchedules::interleave`].
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

    /// Every sweep item, by linked account.
    pub fn sweeps(&self) -> BTreeMap<String, SweepState> {
        locked(&self.sweeps).clone()
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
    fn commit(&self, entry: &Entry, expected: Option<u64>) -> Result<(), LedgerError> {
        let mut entries = locked(&self.entries);
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
        locked(&self.stream).push((stored.cloned(), item.clone()));
        entries.insert(entry.key.clone(), item);
        locked(&self.writes).push(Write {
            before,
            after: entry.decision,
        });
        Ok(())
    }
}

impl Ledger for MemoryLedger {
    fn get<'a>(
        &'a self,
        key: &'a EmployeeKey,
    ) -> BoxFuture<'a, Result<Option<Entry>, LedgerError>> {
        let (failure, delay, yields) = locked(&self.calls).next();
        Box::pin(async move {
            pace(delay, yields).await;
            match failure {
                Some(error) => Err(error),
                None => Ok(locked(&self.entries).get(key).cloned()),
            }
        })
    }

    fn put<'a>(
        &'a self,
        entry: &'a Entry,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        let (failure, delay, yields) = locked(&self.calls).next();
        Box::pin(async move {
            pace(delay, yields).await;
            if let Some(error) = failure {
                return Err(error);
            }
            self.commit(entry, expected)?;
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

    fn get_sweep<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SweepState>, LedgerError>> {
        let (failure, delay, yields) = locked(&self.calls).next();
        Box::pin(async move {
            pace(delay, yields).await;
            match failure {
                Some(error) => Err(error),
                None => Ok(locked(&self.sweeps).get(linked_account_id).cloned()),
            }
        })
    }

    fn put_sweep<'a>(
        &'a self,
        state: &'a SweepState,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        let (failure, delay, yields) = locked(&self.calls).next();
        Box::pin(async move {
            pace(delay, yields).await;
            if let Some(error) = failure {
                return Err(error);
            }
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
        let (failure, delay, yields) = locked(&self.calls).next();
        Box::pin(async move {
            pace(delay, yields).await;
            if let Some(error) = failure {
                return Err(error);
            }
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
}

/// An in-memory secret store that counts its reads, with faults that can be injected.
/// It holds keys, so its `Debug` names the secrets, never their values.
#[derive(Default)]
pub struct MemorySecrets {
    values: Mutex<BTreeMap<String, String>>,
    reads: std::sync::atomic::AtomicUsize,
    failing: Mutex<Option<crate::aws::secrets::SecretError>>,
    delay: Mutex<Option<Duration>>,
}

impl std::fmt::Debug for MemorySecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = locked(&self.values).keys().cloned().collect();
        f.debug_struct("MemorySecrets")
            .field("ids", &ids)
            .field("reads", &self.reads())
            .finish_non_exhaustive()
    }
}

impl MemorySecrets {
    /// A store holding `value` under `id`.
    pub fn with(id: &str, value: &str) -> Self {
        let store = Self::default();
        store.put(id, value);
        store
    }

    /// Puts a new value, as `PutSecretValue` does.
    pub fn put(&self, id: &str, value: &str) {
        if let Ok(mut values) = self.values.lock() {
            values.insert(id.to_owned(), value.to_owned());
        }
    }

    /// Makes every read fail with `error` until it is cleared with `None`.
    pub fn fail_with(&self, error: Option<crate::aws::secrets::SecretError>) {
        if let Ok(mut failing) = self.failing.lock() {
            *failing = error;
        }
    }

    /// Makes every read take `delay` before it answers.
    pub fn slow(&self, delay: Duration) {
        *locked(&self.delay) = Some(delay);
    }

    /// How many reads were made.
    pub fn reads(&self) -> usize {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl crate::aws::secrets::SecretSource for MemorySecrets {
    fn get<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<String, crate::aws::secrets::SecretError>> {
        use crate::aws::secrets::SecretError;
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let failing = self.failing.lock().ok().and_then(|f| f.clone());
        let result = match failing {
            Some(error) => Err(error),
            None => self
                .values
                .lock()
                .ok()
                .and_then(|values| values.get(id).cloned())
                .ok_or_else(|| SecretError::new("ResourceNotFoundException")),
        };
        let delay = *locked(&self.delay);
        Box::pin(async move {
            pace(delay, 0).await;
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ledger::{Identity, Observation, Source, transition};
    use chrono::{Datelike, TimeZone};

    fn entry(hour: u32) -> Entry {
        let at = |h| Utc.with_ymd_and_hms(2026, 11, 26, h, 0, 0).unwrap();
        let observation = Observation {
            key: EmployeeKey::new(Some("a"), "e"),
            decision: Decision::Active,
            reasons: String::new(),
            termination_date: None,
            effective_at: None,
            version: Some(at(hour)),
            removal: false,
            identity: Identity::default(),
            source: Source::Webhook,
            delivery_id: None,
        };
        transition(None, &observation, at(12)).write.unwrap()
    }

    fn timer(name: &str, at: DateTime<Utc>, effective_at: &str) -> Desired {
        Desired {
            name: name.to_owned(),
            at,
            document: TimerDocument {
                kind: crate::domain::schedule::TIMER_KIND.to_owned(),
                version: 1,
                linked_account_id: None,
                employee_id: "e".to_owned(),
                modified_at: None,
                effective_at: effective_at.to_owned(),
            },
        }
    }

    fn target() -> ScheduleTarget {
        ScheduleTarget {
            function_arn: "arn:aws:lambda:eu-west-1:123456789012:function:f".into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            dead_letter_arn: None,
        }
    }

    #[test]
    fn the_scheduler_twin_validates_as_the_service_and_updates_or_deletes_only_what_exists() {
        let schedules = MemorySchedules::new();
        let at = Utc.with_ymd_and_hms(2099, 6, 30, 0, 0, 0).unwrap();
        let ok = timer("term-1", at, "2099-06-30T00:00:00Z");
        let run = |f: BoxFuture<'_, Result<(), SchedulerError>>| {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap()
                .block_on(f)
        };
        assert_eq!(
            run(schedules.update(&ok, &target())),
            Err(SchedulerError::NotFound)
        );
        assert_eq!(
            run(schedules.delete("term-1")),
            Err(SchedulerError::NotFound)
        );
        assert_eq!(run(schedules.create(&ok, &target())), Ok(()));
        assert_eq!(
            run(schedules.create(&ok, &target())),
            Err(SchedulerError::Conflict)
        );
        let bad_name = timer("has space", at, "2099-06-30T00:00:00Z");
        assert_eq!(
            run(schedules.create(&bad_name, &target())),
            Err(SchedulerError::Invalid)
        );
        let past_9999 = timer("term-2", at.with_year(10_000).unwrap(), "x");
        assert_eq!(
            run(schedules.create(&past_9999, &target())),
            Err(SchedulerError::Invalid),
            "a five-digit year is no at() expression"
        );
        let too_long = timer("term-3", at, &"x".repeat(MAX_INPUT_CHARS));
        assert_eq!(
            run(schedules.create(&too_long, &target())),
            Err(SchedulerError::Invalid)
        );
        let mut no_arn = target();
        no_arn.role_arn = "notanarn".into();
        assert_eq!(
            run(schedules.update(&ok, &no_arn)),
            Err(SchedulerError::Invalid)
        );
        assert_eq!(run(schedules.delete("term-1")), Ok(()));
        assert!(schedules.schedules().is_empty());
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

/// The in-memory twin of deprovisioning's bookkeeping: the brake's counters by window,
/// conditional as DynamoDB's increment is, and the waiting list; with scripted faults.
#[derive(Debug, Default)]
pub struct MemoryDeprovisionStore {
    counters: Mutex<BTreeMap<String, u32>>,
    waiting: Mutex<BTreeMap<EmployeeKey, u64>>,
    failing: Mutex<Vec<Option<LedgerError>>>,
}

impl MemoryDeprovisionStore {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// The changes taken in `window`.
    pub fn taken(&self, window: &str) -> u32 {
        locked(&self.counters).get(window).copied().unwrap_or(0)
    }

    /// The employees noted as waiting.
    pub fn waiting_keys(&self) -> Vec<EmployeeKey> {
        locked(&self.waiting).keys().cloned().collect()
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
}
