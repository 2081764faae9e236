//! The in-memory twin of EventBridge Scheduler's schedule group: termination timers and
//! the one-time schedules that start and continue sweeps.

use super::{Calls, locked, pace};
use crate::aws::scheduler::{
    BoxFuture, MAX_INPUT_CHARS, ScheduleTarget, SchedulerError, Schedules,
};
use crate::domain::schedule::{Desired, TimerDocument};
use chrono::{DateTime, NaiveDateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, TimeZone};

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
}
