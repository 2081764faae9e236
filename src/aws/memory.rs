//! In-memory twins of the AWS services, for unit and property tests.
//!
//! [`MemorySchedules`] behaves like EventBridge Scheduler where this function relies on
//! it: a create of an existing name is a conflict, an update or read of a missing one is
//! not found, and an update replaces the whole schedule; it never fires anything by
//! itself. [`MemorySecrets`] reads like Secrets Manager and counts its reads. Faults can
//! be injected into both.

use crate::aws::scheduler::{BoxFuture, ScheduleTarget, SchedulerError, Schedules};
use crate::domain::schedule::{Desired, ScheduleDocument};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// One stored schedule, as Scheduler would hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchedule {
    /// When it fires.
    pub at: DateTime<Utc>,
    /// `at(...)`.
    pub expression: String,
    /// Its input.
    pub document: ScheduleDocument,
    /// Where it delivers.
    pub target: ScheduleTarget,
}

#[derive(Debug, Default)]
struct State {
    schedules: BTreeMap<String, StoredSchedule>,
    calls: usize,
    failures: Vec<Option<SchedulerError>>,
}

/// The in-memory twin of a schedule group.
#[derive(Debug, Default)]
pub struct MemorySchedules {
    state: Mutex<State>,
}

impl MemorySchedules {
    /// An empty group.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every schedule, by name.
    pub fn schedules(&self) -> BTreeMap<String, StoredSchedule> {
        self.lock().schedules.clone()
    }

    /// How many calls were made.
    pub fn calls(&self) -> usize {
        self.lock().calls
    }

    /// Makes the next calls fail with `errors`, one each, in order.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = SchedulerError>) {
        self.script(errors.into_iter().map(Some));
    }

    /// Scripts the next calls: `None` lets a call through, `Some` fails it.
    pub fn script(&self, outcomes: impl IntoIterator<Item = Option<SchedulerError>>) {
        self.lock().failures.extend(outcomes);
    }

    /// Fires `name` as Scheduler does at its time: returns its input and deletes it
    /// (`ActionAfterCompletion: DELETE`).
    pub fn fire(&self, name: &str) -> Option<ScheduleDocument> {
        self.lock().schedules.remove(name).map(|s| s.document)
    }

    /// Stores `schedule` directly, as if made earlier.
    pub fn insert(&self, name: &str, schedule: StoredSchedule) {
        self.lock().schedules.insert(name.to_owned(), schedule);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts a call and takes an injected failure, if any.
    fn call(&self) -> Result<std::sync::MutexGuard<'_, State>, SchedulerError> {
        let mut state = self.lock();
        state.calls += 1;
        if state.failures.is_empty() {
            return Ok(state);
        }
        match state.failures.remove(0) {
            None => Ok(state),
            Some(error) => Err(error),
        }
    }

    fn stored(schedule: &Desired, target: &ScheduleTarget) -> StoredSchedule {
        StoredSchedule {
            at: schedule.at,
            expression: schedule.expression(),
            document: schedule.document.clone(),
            target: target.clone(),
        }
    }
}

impl Schedules for MemorySchedules {
    fn get<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<ScheduleDocument>, SchedulerError>> {
        let result = self
            .call()
            .map(|state| state.schedules.get(name).map(|s| s.document.clone()));
        Box::pin(std::future::ready(result))
    }

    fn create<'a>(
        &'a self,
        schedule: &'a Desired,
        target: &'a ScheduleTarget,
    ) -> BoxFuture<'a, Result<(), SchedulerError>> {
        let result = self.call().and_then(|mut state| {
            if state.schedules.contains_key(&schedule.name) {
                return Err(SchedulerError::Conflict);
            }
            state
                .schedules
                .insert(schedule.name.clone(), Self::stored(schedule, target));
            Ok(())
        });
        Box::pin(std::future::ready(result))
    }

    fn update<'a>(
        &'a self,
        schedule: &'a Desired,
        target: &'a ScheduleTarget,
    ) -> BoxFuture<'a, Result<(), SchedulerError>> {
        let result =
            self.call()
                .and_then(|mut state| match state.schedules.get_mut(&schedule.name) {
                    Some(stored) => {
                        *stored = Self::stored(schedule, target);
                        Ok(())
                    }
                    None => Err(SchedulerError::NotFound),
                });
        Box::pin(std::future::ready(result))
    }
}

/// An in-memory secret store that counts its reads, with faults that can be injected.
#[derive(Debug, Default)]
pub struct MemorySecrets {
    values: Mutex<BTreeMap<String, String>>,
    reads: std::sync::atomic::AtomicUsize,
    failing: Mutex<Option<crate::aws::secrets::SecretError>>,
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
        Box::pin(std::future::ready(result))
    }
}
