//! The in-memory twin of Secrets Manager: values by id, counted reads, and faults.

use super::{locked, pace};
use crate::aws::scheduler::BoxFuture;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

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
