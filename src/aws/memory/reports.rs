//! The in-memory twin of the reports' bucket: objects by key, every version kept as a
//! versioned bucket keeps them, keys refused as S3 refuses them, and scripted failures.

use super::{Calls, locked, pace};
use crate::aws::reports::{ReportError, ReportObject, ReportStore, StoredReport, valid_key};
use crate::aws::scheduler::BoxFuture;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// One version of an object, as the bucket holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// The content type it was put with.
    pub content_type: String,
    /// The version the bucket gave it, unique across the bucket as S3's are.
    pub version_id: String,
}

#[derive(Debug, Default)]
struct Bucket {
    /// Every key's versions, oldest first.
    objects: BTreeMap<String, Vec<StoredObject>>,
    /// Versions given so far, for the next one's id.
    versions: u64,
}

/// The in-memory twin of a versioned S3 bucket.
#[derive(Debug, Default)]
pub struct MemoryReports {
    bucket: Mutex<Bucket>,
    calls: Mutex<Calls<ReportError>>,
    /// A missing key reads as `denied`, as S3 answers a role without `s3:ListBucket`.
    unlisted: std::sync::atomic::AtomicBool,
}

impl MemoryReports {
    /// An empty bucket.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers a read of a missing key [`ReportError::Denied`], as S3 does for the
    /// template's role, which may not list the bucket.
    pub fn without_list_permission(&self) {
        self.unlisted
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Every key that holds an object.
    pub fn keys(&self) -> Vec<String> {
        locked(&self.bucket).objects.keys().cloned().collect()
    }

    /// Every version of `key`, oldest first (none if it was never put).
    pub fn versions(&self, key: &str) -> Vec<StoredObject> {
        locked(&self.bucket)
            .objects
            .get(key)
            .cloned()
            .unwrap_or_default()
    }

    /// The newest version of `key`, as a read gets it.
    pub fn latest(&self, key: &str) -> Option<StoredObject> {
        self.versions(key).pop()
    }

    /// How many calls were made.
    pub fn calls(&self) -> usize {
        locked(&self.calls).count
    }

    /// Makes the next calls fail with `errors`, one each, in order.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = ReportError>) {
        self.script(errors.into_iter().map(Some));
    }

    /// Scripts the next calls: `None` lets a call through, `Some` fails it.
    pub fn script(&self, outcomes: impl IntoIterator<Item = Option<ReportError>>) {
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

    /// Runs one call: its pace, its scripted failure, then `act` on the bucket.
    fn call<'a, T: Send + 'a>(
        &'a self,
        act: impl FnOnce(&mut Bucket) -> Result<T, ReportError> + Send + 'a,
    ) -> BoxFuture<'a, Result<T, ReportError>> {
        let (failure, delay, yields) = locked(&self.calls).next();
        Box::pin(async move {
            pace(delay, yields).await;
            if let Some(error) = failure {
                return Err(error);
            }
            act(&mut locked(&self.bucket))
        })
    }
}

impl ReportStore for MemoryReports {
    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: &'a [u8],
        content_type: &'a str,
    ) -> BoxFuture<'a, Result<StoredReport, ReportError>> {
        self.call(move |bucket| {
            if !valid_key(key) {
                return Err(ReportError::Invalid);
            }
            bucket.versions += 1;
            // Opaque to the caller, as S3's are; numbered here so tests read in order.
            let version_id = format!("v{:08}", bucket.versions);
            bucket
                .objects
                .entry(key.to_owned())
                .or_default()
                .push(StoredObject {
                    bytes: bytes.to_vec(),
                    content_type: content_type.to_owned(),
                    version_id: version_id.clone(),
                });
            Ok(StoredReport {
                key: key.to_owned(),
                version_id: Some(version_id),
            })
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ReportObject, ReportError>> {
        let missing = if self.unlisted.load(std::sync::atomic::Ordering::Relaxed) {
            ReportError::Denied
        } else {
            ReportError::NotFound
        };
        self.call(move |bucket| {
            if !valid_key(key) {
                return Err(ReportError::Invalid);
            }
            let newest = bucket
                .objects
                .get(key)
                .and_then(|versions| versions.last())
                .ok_or(missing)?;
            Ok(ReportObject {
                bytes: newest.bytes.clone(),
                content_type: Some(newest.content_type.clone()),
                version_id: Some(newest.version_id.clone()),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::reports::{CSV, HTML};

    fn run<T>(call: BoxFuture<'_, T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(call)
    }

    const KEY: &str = "reports/2026-11/all/access-removal.csv";

    #[test]
    fn an_object_put_is_read_back_byte_for_byte_with_its_content_type_and_version() {
        let reports = MemoryReports::new();
        let bytes = b"leaver,target\r\ne-1,chat\r\n\xff\x00".to_vec();
        let stored = run(reports.put(KEY, &bytes, CSV)).unwrap();
        assert_eq!(stored.key, KEY);
        let read = run(reports.get(KEY)).unwrap();
        assert_eq!(read.bytes, bytes);
        assert_eq!(read.content_type.as_deref(), Some(CSV));
        assert_eq!(read.version_id, stored.version_id);
        assert!(
            read.version_id.is_some(),
            "a versioned bucket names each version"
        );
    }

    #[test]
    fn a_second_put_under_a_key_is_the_newest_version_and_keeps_the_first() {
        let reports = MemoryReports::new();
        let first = run(reports.put(KEY, b"first", CSV)).unwrap();
        let second = run(reports.put(KEY, b"second", CSV)).unwrap();
        assert_ne!(first.version_id, second.version_id);
        assert_eq!(run(reports.get(KEY)).unwrap().bytes, b"second");
        let versions = reports.versions(KEY);
        assert_eq!(versions.len(), 2);
        assert_eq!(versions[0].bytes, b"first");
        assert_eq!(Some(versions[0].version_id.clone()), first.version_id);
        assert_eq!(reports.latest(KEY).unwrap().bytes, b"second");
        assert_eq!(reports.keys(), vec![KEY.to_owned()]);
    }

    #[test]
    fn a_key_never_put_is_not_found_and_a_key_s3_refuses_is_invalid_without_storing() {
        let reports = MemoryReports::new();
        assert_eq!(run(reports.get(KEY)), Err(ReportError::NotFound));
        assert_eq!(run(reports.put("", b"x", HTML)), Err(ReportError::Invalid));
        let long = "k".repeat(crate::aws::reports::MAX_KEY_BYTES + 1);
        assert_eq!(
            run(reports.put(&long, b"x", HTML)),
            Err(ReportError::Invalid)
        );
        assert!(reports.keys().is_empty());
    }

    #[test]
    fn without_the_list_permission_a_missing_key_reads_as_denied_and_a_present_one_reads() {
        let reports = MemoryReports::new();
        reports.without_list_permission();
        assert_eq!(run(reports.get(KEY)), Err(ReportError::Denied));
        run(reports.put(KEY, b"present", CSV)).unwrap();
        assert_eq!(run(reports.get(KEY)).unwrap().bytes, b"present");
    }

    #[test]
    fn a_scripted_failure_fails_that_call_alone_and_stores_nothing() {
        let reports = MemoryReports::new();
        reports.script([None, Some(ReportError::Throttled)]);
        reports.fail_next([ReportError::Denied]);
        assert!(run(reports.put(KEY, b"one", CSV)).is_ok());
        assert_eq!(
            run(reports.put(KEY, b"two", CSV)),
            Err(ReportError::Throttled)
        );
        assert_eq!(run(reports.get(KEY)), Err(ReportError::Denied));
        assert_eq!(run(reports.get(KEY)).unwrap().bytes, b"one");
        assert_eq!(
            reports.versions(KEY).len(),
            1,
            "a failed put stores nothing"
        );
        assert_eq!(reports.calls(), 4);
    }

    #[tokio::test]
    async fn a_slow_bucket_is_cut_off_by_a_deadline_and_stores_nothing() {
        let reports = MemoryReports::new();
        reports.slow(Duration::from_millis(200));
        let outcome =
            tokio::time::timeout(Duration::from_millis(20), reports.put(KEY, b"late", CSV)).await;
        assert!(outcome.is_err(), "the deadline came first");
        assert!(reports.keys().is_empty(), "nothing was stored");
    }
}
