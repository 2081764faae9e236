//! A secret's parsed value, read from Secrets Manager at init and read again once it is
//! older than the configured age, or when a caller has reason to think it changed, at most
//! once a minute per process, the read at init included: a rotation reaches the function
//! without a deploy, and no flood of invocations becomes a flood of Secrets Manager calls.
//!
//! The signature keys, Merge's API credentials and the SCIM targets are each one
//! [`CachedSecret`], parsed by their own pure reader in `domain`.

use crate::aws::secrets::{SecretError, SecretSource};
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::{Arc, Mutex, MutexGuard};

/// The shortest time between two reads of a secret, per process, the read at init
/// included.
pub const MIN_REFRESH_GAP: TimeDelta = TimeDelta::seconds(60);

/// Why a secret could not be read at init. Names the AWS code or the shape problem,
/// never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CachedSecretError<E = String> {
    /// Secrets Manager did not give the value.
    #[error("the secret could not be read ({0})")]
    Read(SecretError),
    /// The value does not have the expected shape.
    #[error("{0}")]
    Value(E),
}

/// What a read of the secret did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    /// The secret still holds the cached value.
    Unchanged,
    /// A new value was cached.
    Changed,
    /// The read failed; the cached value stays. The AWS error code, or
    /// `InvalidSecretValue` for a value of another shape.
    Failed(String),
}

struct State<T> {
    value: Arc<T>,
    fetched_at: DateTime<Utc>,
    /// The last read, the one at init included: a new process has just read the secret,
    /// so a reason to read it again within its first minute is no reason yet.
    last_read: DateTime<Utc>,
}

/// A secret's parsed value, and when to read it again.
pub struct CachedSecret<T, E = String> {
    source: Arc<dyn SecretSource>,
    id: String,
    refresh_after: Option<TimeDelta>,
    parse: fn(&str) -> Result<T, E>,
    state: Mutex<State<T>>,
}

impl<T: PartialEq, E> CachedSecret<T, E> {
    /// Reads the secret `id` at init and parses it with `parse`. `refresh_after` is the
    /// age at which [`current`](Self::current) reads it again; `None` never ages.
    pub async fn load(
        source: Arc<dyn SecretSource>,
        id: &str,
        refresh_after: Option<TimeDelta>,
        now: DateTime<Utc>,
        parse: fn(&str) -> Result<T, E>,
    ) -> Result<Self, CachedSecretError<E>> {
        let text = source.get(id).await.map_err(CachedSecretError::Read)?;
        let value = parse(&text).map_err(CachedSecretError::Value)?;
        Ok(CachedSecret {
            source,
            id: id.to_owned(),
            refresh_after,
            parse,
            state: Mutex::new(State {
                value: Arc::new(value),
                fetched_at: now,
                last_read: now,
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State<T>> {
        // The state is a value and two instants, consistent after every assignment, so
        // a panic elsewhere while holding the lock leaves nothing half-written.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cached value, without reading anything.
    pub fn cached(&self) -> Arc<T> {
        self.state().value.clone()
    }

    /// True when the value is older than the configured age.
    pub fn aged(&self, now: DateTime<Utc>) -> bool {
        let fetched_at = self.state().fetched_at;
        self.refresh_after
            .is_some_and(|age| now - fetched_at >= age)
    }

    /// The value to use now: read again first if it has aged (and a minute has passed
    /// since the last read).
    pub async fn current(&self, now: DateTime<Utc>) -> (Arc<T>, Option<Refresh>) {
        let refresh = if self.aged(now) {
            self.refresh_if_allowed(now).await
        } else {
            None
        };
        (self.cached(), refresh)
    }

    /// Reads the secret again unless the last read, the one at init included, is less
    /// than a minute old; `None` if it is.
    pub async fn refresh_if_allowed(&self, now: DateTime<Utc>) -> Option<Refresh> {
        {
            // Claimed before the call, so concurrent invocations do not all read.
            let mut state = self.state();
            if now - state.last_read < MIN_REFRESH_GAP {
                return None;
            }
            state.last_read = now;
        }
        let value = match self.source.get(&self.id).await {
            Err(error) => return Some(Refresh::Failed(error.code)),
            Ok(text) => match (self.parse)(&text) {
                Ok(value) => value,
                Err(_) => return Some(Refresh::Failed("InvalidSecretValue".into())),
            },
        };
        let mut state = self.state();
        state.fetched_at = now;
        if *state.value == value {
            return Some(Refresh::Unchanged);
        }
        state.value = Arc::new(value);
        Some(Refresh::Changed)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::aws::memory::MemorySecrets;
    use chrono::TimeZone;

    pub(crate) fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
    }

    /// Polls an in-memory call once: the twins never wait.
    pub(crate) fn ready<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut context) {
            std::task::Poll::Ready(output) => output,
            std::task::Poll::Pending => panic!("the in-memory source does not wait"),
        }
    }

    /// A reader for a secret of the shape `{"n": <number>}`, naming the field on error.
    fn number(text: &str) -> Result<u64, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|_| "is not JSON".to_owned())?;
        value["n"]
            .as_u64()
            .ok_or_else(|| "field n is not a number".to_owned())
    }

    #[test]
    fn a_value_of_another_shape_fails_init_with_the_readers_problem_and_no_value() {
        let store = Arc::new(MemorySecrets::with("s", r#"{"n": "hunter2"}"#));
        let error = ready(CachedSecret::load(store, "s", None, now(), number))
            .err()
            .unwrap();
        assert_eq!(
            error,
            CachedSecretError::Value("field n is not a number".into())
        );
        assert!(!error.to_string().contains("hunter2"));
    }

    #[test]
    fn an_aged_value_is_read_again_and_a_bad_new_value_keeps_the_old_one() {
        let store = Arc::new(MemorySecrets::with("s", r#"{"n": 1}"#));
        let age = Some(TimeDelta::seconds(300));
        let cache = ready(CachedSecret::load(store.clone(), "s", age, now(), number)).unwrap();
        store.put("s", r#"{"n": 2}"#);
        let early = now() + TimeDelta::seconds(299);
        assert_eq!(ready(cache.current(early)), (Arc::new(1), None));
        let at = now() + TimeDelta::seconds(300);
        assert_eq!(
            ready(cache.current(at)),
            (Arc::new(2), Some(Refresh::Changed))
        );
        store.put("s", r#"{"n": []}"#);
        let later = at + TimeDelta::seconds(300);
        assert_eq!(
            ready(cache.current(later)),
            (
                Arc::new(2),
                Some(Refresh::Failed("InvalidSecretValue".into()))
            )
        );
        assert_eq!(store.reads(), 3);
    }

    #[test]
    fn reads_on_demand_happen_at_most_once_a_minute_counting_the_one_at_init() {
        let store = Arc::new(MemorySecrets::with("s", r#"{"n": 1}"#));
        let cache = ready(CachedSecret::load(store.clone(), "s", None, now(), number)).unwrap();
        for seconds in 0..60 {
            let at = now() + TimeDelta::seconds(seconds);
            assert_eq!(ready(cache.refresh_if_allowed(at)), None);
        }
        let minute = now() + MIN_REFRESH_GAP;
        assert_eq!(
            ready(cache.refresh_if_allowed(minute)),
            Some(Refresh::Unchanged)
        );
        assert_eq!(store.reads(), 2);
    }
}
