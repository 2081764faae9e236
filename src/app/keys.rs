//! The signature keys the function verifies with: fixed, from the environment; or read
//! from a Secrets Manager secret at init, and read again once they are older than the
//! configured age or when a signature fails under every cached key, at most once a
//! minute, the read at init included, so that a rotation reaches the function without a
//! deploy and a flood of bad signatures cannot become a flood of Secrets Manager calls.
//!
//! The bound: a process makes at most `1 + lifetime / MIN_REFRESH_GAP` reads, whatever
//! it receives. A scale-out under forged deliveries thus costs one read per new process
//! (the one at init) in its first minute, not two. The price: a key rotated within a
//! minute of a process's init verifies in that process only once the minute is over, as
//! the first mismatch after it reads again; a process older than a minute reads at its
//! first mismatch, as before.

use crate::app::cached_secret::{CachedSecret, CachedSecretError};
pub use crate::app::cached_secret::{MIN_REFRESH_GAP, Refresh};
use crate::aws::secrets::{SecretError, SecretSource};
use crate::domain::secret::{SecretKeys, SecretValueError, read_secret};
use crate::domain::signature::Verifier;
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::Arc;

/// Why the keys could not be read at init. Names the kind and the AWS code, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Secrets Manager did not give the value.
    #[error("the secret could not be read ({0})")]
    Read(SecretError),
    /// The value is not a key.
    #[error("{0}")]
    Value(SecretValueError),
}

/// The keys as read, and the verifier built from them once per read, not per request.
struct RingKeys {
    keys: SecretKeys,
    verifier: Arc<Verifier>,
}

impl PartialEq for RingKeys {
    fn eq(&self, other: &Self) -> bool {
        self.keys == other.keys
    }
}

fn ring_keys(text: &str) -> Result<RingKeys, SecretValueError> {
    let keys = read_secret(text)?;
    let verifier = Arc::new(Verifier::new(
        keys.current.as_bytes(),
        keys.previous.as_deref().map(str::as_bytes),
    ));
    Ok(RingKeys { keys, verifier })
}

/// Keys read from a secret, and when to read them again.
pub struct KeyRing {
    secret: CachedSecret<RingKeys, SecretValueError>,
}

impl KeyRing {
    /// Reads the secret `id` at init.
    pub async fn load(
        source: Arc<dyn SecretSource>,
        id: &str,
        refresh_after: Option<TimeDelta>,
        now: DateTime<Utc>,
    ) -> Result<KeyRing, KeyError> {
        let secret = CachedSecret::load(source, id, refresh_after, now, ring_keys)
            .await
            .map_err(|error| match error {
                CachedSecretError::Read(error) => KeyError::Read(error),
                CachedSecretError::Value(error) => KeyError::Value(error),
            })?;
        Ok(KeyRing { secret })
    }

    /// The cached keys.
    pub fn verifier(&self) -> Arc<Verifier> {
        self.secret.cached().verifier.clone()
    }

    /// True when the keys are older than the configured age.
    pub fn aged(&self, now: DateTime<Utc>) -> bool {
        self.secret.aged(now)
    }

    /// Reads the secret again unless the last read, the one at init included, is less
    /// than a minute old; `None` if it is.
    pub async fn refresh_if_allowed(&self, now: DateTime<Utc>) -> Option<Refresh> {
        self.secret.refresh_if_allowed(now).await
    }
}

/// The keys the function verifies with.
pub enum Keys {
    /// From the environment, for the process's life.
    Fixed(Arc<Verifier>),
    /// From a secret.
    Secret(KeyRing),
}

impl Keys {
    /// The keys held now, without reading anything: what a request verifies with when
    /// the invocation has no time left to read the secret again.
    pub fn cached(&self) -> Arc<Verifier> {
        match self {
            Keys::Fixed(verifier) => verifier.clone(),
            Keys::Secret(ring) => ring.verifier(),
        }
    }

    /// The keys to verify with now: read again first if they have aged.
    pub async fn current(&self, now: DateTime<Utc>) -> (Arc<Verifier>, Option<Refresh>) {
        match self {
            Keys::Fixed(verifier) => (verifier.clone(), None),
            Keys::Secret(ring) => {
                let refresh = if ring.aged(now) {
                    ring.refresh_if_allowed(now).await
                } else {
                    None
                };
                (ring.verifier(), refresh)
            }
        }
    }

    /// After a signature failed under every cached key: reads the secret again, if a
    /// minute has passed since the last read (the one at init included), and returns
    /// the keys to check once more when they changed.
    pub async fn after_mismatch(
        &self,
        now: DateTime<Utc>,
    ) -> (Option<Arc<Verifier>>, Option<Refresh>) {
        match self {
            Keys::Fixed(_) => (None, None),
            Keys::Secret(ring) => {
                let refresh = ring.refresh_if_allowed(now).await;
                let changed = (refresh == Some(Refresh::Changed)).then(|| ring.verifier());
                (changed, refresh)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::cached_secret::tests::{now, ready};
    use crate::aws::memory::MemorySecrets;
    use crate::domain::signature::{KeyUsed, sign};

    fn ring(store: &Arc<MemorySecrets>, refresh_after: Option<TimeDelta>) -> KeyRing {
        ready(KeyRing::load(store.clone(), "s", refresh_after, now())).unwrap()
    }

    fn verifies(verifier: &Verifier, key: &str) -> Option<KeyUsed> {
        let signature = sign(key.as_bytes(), b"{}");
        verifier.verify(b"{}", Some(signature.as_bytes())).ok()
    }

    #[test]
    fn the_secret_is_read_once_at_init_with_both_keys() {
        let store = Arc::new(MemorySecrets::with(
            "s",
            r#"{"current":"new","previous":"old"}"#,
        ));
        let ring = ring(&store, None);
        assert_eq!(store.reads(), 1);
        assert_eq!(verifies(&ring.verifier(), "new"), Some(KeyUsed::Current));
        assert_eq!(verifies(&ring.verifier(), "old"), Some(KeyUsed::Previous));
    }

    #[test]
    fn a_secret_that_cannot_be_read_or_is_no_key_fails_init_by_kind() {
        let missing = Arc::new(MemorySecrets::default());
        let error = ready(KeyRing::load(missing, "s", None, now()))
            .err()
            .unwrap();
        assert_eq!(
            error,
            KeyError::Read(SecretError::new("ResourceNotFoundException"))
        );
        let empty = Arc::new(MemorySecrets::with("s", "  "));
        let error = ready(KeyRing::load(empty, "s", None, now())).err().unwrap();
        assert_eq!(error, KeyError::Value(SecretValueError::Empty));
    }

    #[test]
    fn aged_keys_are_read_again_on_the_next_invocation_and_zero_never_ages() {
        let store = Arc::new(MemorySecrets::with("s", "k1"));
        let keys = Keys::Secret(ring(&store, Some(TimeDelta::seconds(300))));
        let before = now() + TimeDelta::seconds(299);
        assert_eq!(ready(keys.current(before)).1, None);
        store.put("s", "k2");
        let at = now() + TimeDelta::seconds(300);
        let (verifier, refresh) = ready(keys.current(at));
        assert_eq!(refresh, Some(Refresh::Changed));
        assert_eq!(verifies(&verifier, "k2"), Some(KeyUsed::Current));
        assert_eq!(store.reads(), 2);

        let never = Keys::Secret(ring(&store, None));
        let much_later = now() + TimeDelta::days(30);
        assert_eq!(ready(never.current(much_later)).1, None);
    }

    #[test]
    fn a_mismatch_within_a_minute_of_init_reads_nothing_and_a_rotation_verifies_after_it() {
        let store = Arc::new(MemorySecrets::with("s", "k1"));
        let keys = Keys::Secret(ring(&store, None));
        // Rotated right after init: the process has just read the key, so mismatches in
        // its first minute read nothing, however many there are.
        store.put("s", "k2");
        for millis in (1_000..MIN_REFRESH_GAP.num_milliseconds()).step_by(59) {
            let at = now() + TimeDelta::milliseconds(millis);
            let (changed, refresh) = ready(keys.after_mismatch(at));
            assert_eq!((changed.is_none(), refresh), (true, None));
        }
        assert_eq!(store.reads(), 1, "only the read at init");
        // The first mismatch once the minute is over reads, and the new key verifies.
        let (changed, refresh) = ready(keys.after_mismatch(now() + MIN_REFRESH_GAP));
        assert_eq!(refresh, Some(Refresh::Changed));
        assert_eq!(verifies(&changed.unwrap(), "k2"), Some(KeyUsed::Current));
        assert_eq!(store.reads(), 2);
    }

    #[test]
    fn a_mismatch_a_minute_after_the_last_read_reads_at_once_then_at_most_once_a_minute() {
        let store = Arc::new(MemorySecrets::with("s", "k1"));
        let keys = Keys::Secret(ring(&store, None));
        store.put("s", "k2");
        let later = now() + TimeDelta::minutes(10);
        let (changed, refresh) = ready(keys.after_mismatch(later));
        assert_eq!(refresh, Some(Refresh::Changed));
        assert_eq!(verifies(&changed.unwrap(), "k2"), Some(KeyUsed::Current));
        // A thousand more mismatches in the next minute read nothing.
        for step in 1..=1000 {
            let at = later + TimeDelta::milliseconds(step * 59);
            assert_eq!(ready(keys.after_mismatch(at)).1, None);
        }
        assert_eq!(store.reads(), 2);
        let (changed, refresh) = ready(keys.after_mismatch(later + MIN_REFRESH_GAP));
        assert_eq!(
            (changed.is_none(), refresh),
            (true, Some(Refresh::Unchanged))
        );
    }

    #[test]
    fn a_failed_read_keeps_the_cached_keys_and_says_the_code() {
        let store = Arc::new(MemorySecrets::with("s", "k1"));
        let keys = Keys::Secret(ring(&store, Some(TimeDelta::seconds(300))));
        store.fail_with(Some(SecretError::new("ThrottlingException")));
        let (verifier, refresh) = ready(keys.current(now() + TimeDelta::seconds(301)));
        assert_eq!(refresh, Some(Refresh::Failed("ThrottlingException".into())));
        assert_eq!(verifies(&verifier, "k1"), Some(KeyUsed::Current));
        store.fail_with(None);
        store.put("s", "{\"current\": 1}");
        let later = now() + TimeDelta::seconds(400);
        assert_eq!(
            ready(keys.current(later)).1,
            Some(Refresh::Failed("InvalidSecretValue".into()))
        );
    }
}
