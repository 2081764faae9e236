//! S3: the bucket the access-removal reports are written to. [`ReportStore`] is the narrow
//! interface (put one object, get one back); [`SdkReports`] is the AWS SDK behind it,
//! sharing the other clients' configuration with timeouts of its own for a report's size.

use crate::aws::scheduler::{BoxFuture, INITIAL_BACKOFF, MAX_ATTEMPTS, MAX_BACKOFF, sdk_config};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use std::time::Duration;
use tokio::sync::OnceCell;

/// The content type of a report's CSV file.
pub const CSV: &str = "text/csv; charset=utf-8";
/// The content type of a report's JSON file.
pub const JSON: &str = "application/json";
/// The content type of a report's HTML page.
pub const HTML: &str = "text/html; charset=utf-8";

/// The longest key S3 accepts, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;

/// How long one S3 call may take, retries included, and each attempt. A report of a
/// thousand leavers is a few megabytes, not a DynamoDB item, so the attempts are longer
/// than the other clients'; the invocation's budget (`app::budget`) still bounds each
/// call to what is left of the invocation.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(20);
/// See [`OPERATION_TIMEOUT`].
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(8);

/// Why a report call failed, as records name it: the AWS error code only, never the
/// object's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// No object under that key (`NoSuchKey`).
    #[error("not_found")]
    NotFound,
    /// The bucket does not exist (`NoSuchBucket`): the configuration names another.
    #[error("no_bucket")]
    NoBucket,
    /// The function's role may not do this, or the bucket's policy refuses it.
    #[error("denied")]
    Denied,
    /// Throttled (`SlowDown`): transient.
    #[error("throttled")]
    Throttled,
    /// No answer: a connection failure or a server error.
    #[error("unreachable")]
    Unreachable,
    /// The call, or the invocation's time, ran out first.
    #[error("timed_out")]
    TimedOut,
    /// The request is invalid (a key S3 refuses, a bad argument): a retry cannot fix it.
    #[error("invalid")]
    Invalid,
    /// Any other refusal, by its AWS error code.
    #[error("rejected")]
    Rejected(String),
}

impl ReportError {
    /// The kind, as records name it.
    pub fn kind(&self) -> &'static str {
        match self {
            ReportError::NotFound => "not_found",
            ReportError::NoBucket => "no_bucket",
            ReportError::Denied => "denied",
            ReportError::Throttled => "throttled",
            ReportError::Unreachable => "unreachable",
            ReportError::TimedOut => "timed_out",
            ReportError::Invalid => "invalid",
            ReportError::Rejected(_) => "rejected",
        }
    }

    /// True when a retry of the same request cannot succeed.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            ReportError::NoBucket | ReportError::Denied | ReportError::Invalid
        )
    }
}

/// What a put stored: the object's key and, in a versioned bucket, its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReport {
    /// The object's key.
    pub key: String,
    /// The version S3 gave it (`None` in a bucket without versioning).
    pub version_id: Option<String>,
}

/// One object as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportObject {
    /// Its bytes, exactly as put.
    pub bytes: Vec<u8>,
    /// The content type it was put with.
    pub content_type: Option<String>,
    /// Its version (`None` in a bucket without versioning).
    pub version_id: Option<String>,
}

/// The calls the reports need: put one object, read one back (the newest version).
pub trait ReportStore: Send + Sync {
    /// Puts `bytes` under `key` with `content_type`, encrypted at rest. In a versioned
    /// bucket a put under an existing key keeps the old object as an older version.
    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: &'a [u8],
        content_type: &'a str,
    ) -> BoxFuture<'a, Result<StoredReport, ReportError>>;
    /// The newest version of the object `key`; [`ReportError::NotFound`] if there is none
    /// (S3 answers [`ReportError::Denied`] instead to a role without `s3:ListBucket`, as
    /// the template's is: a read-back follows a put, so it never asks for a missing key).
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ReportObject, ReportError>>;
}

/// Whether `key` is one to write: 1 to 1,024 bytes (S3's limit) and no control character
/// (which S3's XML answers cannot carry). A key that fails is [`ReportError::Invalid`]
/// without a call.
pub fn valid_key(key: &str) -> bool {
    (1..=MAX_KEY_BYTES).contains(&key.len()) && !key.chars().any(char::is_control)
}

/// The S3 client's configuration from the shared one: longer timeouts for a report's
/// size, and path-style addressing when an endpoint URL is configured (an emulator on
/// loopback has no per-bucket host names; AWS itself is addressed by the bucket's host).
pub fn s3_config(shared: &aws_config::SdkConfig) -> aws_sdk_s3::Config {
    use aws_sdk_s3::config::retry::RetryConfig;
    use aws_sdk_s3::config::timeout::TimeoutConfig;
    let builder = aws_sdk_s3::config::Builder::from(shared)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(INITIAL_BACKOFF)
                .with_max_backoff(MAX_BACKOFF),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        );
    builder.force_path_style(path_style(shared)).build()
}

/// Whether objects are addressed by path (`endpoint/bucket/key`) rather than by the
/// bucket's host name: when an endpoint URL is configured (`AWS_ENDPOINT_URL`,
/// `AWS_ENDPOINT_URL_S3`, or a test's configuration), which an emulator on loopback needs.
pub fn path_style(shared: &aws_config::SdkConfig) -> bool {
    let s3_endpoint = shared
        .service_config()
        .and_then(|config| {
            let key = aws_types::service_config::ServiceConfigKey::builder()
                .service_id("S3")
                .env("AWS_ENDPOINT_URL")
                .profile("endpoint_url")
                .build()
                .ok()?;
            config.load_config(key)
        })
        .is_some();
    shared.endpoint_url().is_some() || s3_endpoint
}

/// The AWS SDK behind [`ReportStore`], for one bucket. The client is built on first use,
/// so an invocation that writes no report never builds it.
#[derive(Debug)]
pub struct SdkReports {
    bucket: String,
    client: OnceCell<aws_sdk_s3::Client>,
}

impl SdkReports {
    /// Reports in `bucket`, through the shared configuration.
    pub fn new(bucket: impl Into<String>) -> Self {
        SdkReports {
            bucket: bucket.into(),
            client: OnceCell::new(),
        }
    }

    /// Reports in `bucket`, through a client built from `shared` as
    /// [`SdkReports::new`] builds it (an emulator's configuration, in tests).
    pub fn from_config(bucket: impl Into<String>, shared: &aws_config::SdkConfig) -> Self {
        SdkReports {
            bucket: bucket.into(),
            client: OnceCell::from(aws_sdk_s3::Client::from_conf(s3_config(shared))),
        }
    }

    /// The bucket written to.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn client(&self) -> &aws_sdk_s3::Client {
        self.client
            .get_or_init(|| async { aws_sdk_s3::Client::from_conf(s3_config(&sdk_config().await)) })
            .await
    }
}

fn classify<E: ProvideErrorMetadata, R>(error: SdkError<E, R>) -> ReportError {
    match &error {
        SdkError::ServiceError(_) => {}
        SdkError::TimeoutError(_) => return ReportError::TimedOut,
        _ => return ReportError::Unreachable,
    }
    match error.code() {
        Some("NoSuchKey" | "NotFound") => ReportError::NotFound,
        Some("NoSuchBucket") => ReportError::NoBucket,
        Some("AccessDenied" | "AllAccessDisabled" | "InvalidObjectState") => ReportError::Denied,
        Some("SlowDown" | "Throttling" | "ThrottlingException" | "RequestLimitExceeded") => {
            ReportError::Throttled
        }
        Some("InternalError" | "ServiceUnavailable") => ReportError::Unreachable,
        Some("RequestTimeout") => ReportError::TimedOut,
        Some("InvalidArgument" | "InvalidRequest" | "KeyTooLongError" | "EntityTooLarge") => {
            ReportError::Invalid
        }
        Some(code) => ReportError::Rejected(code.to_owned()),
        None => ReportError::Unreachable,
    }
}

impl ReportStore for SdkReports {
    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: &'a [u8],
        content_type: &'a str,
    ) -> BoxFuture<'a, Result<StoredReport, ReportError>> {
        Box::pin(async move {
            if !valid_key(key) {
                return Err(ReportError::Invalid);
            }
            // The bucket encrypts by default too; naming SSE-S3 on the put makes a put
            // to a bucket that lost its default encryption encrypted all the same. The
            // SDK adds a CRC32 checksum, which an Object Lock bucket requires of a put.
            let written = self
                .client()
                .await
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .content_type(content_type)
                .server_side_encryption(ServerSideEncryption::Aes256)
                .body(ByteStream::from(bytes.to_vec()))
                .send()
                .await
                .map_err(classify)?;
            Ok(StoredReport {
                key: key.to_owned(),
                version_id: written.version_id().map(str::to_owned),
            })
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ReportObject, ReportError>> {
        Box::pin(async move {
            if !valid_key(key) {
                return Err(ReportError::Invalid);
            }
            let read = self
                .client()
                .await
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(classify)?;
            let content_type = read.content_type().map(str::to_owned);
            let version_id = read.version_id().map(str::to_owned);
            let bytes = read
                .body
                .collect()
                .await
                .map_err(|_| ReportError::Unreachable)?
                .into_bytes()
                .to_vec();
            Ok(ReportObject {
                bytes,
                content_type,
                version_id,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_refused_when_empty_too_long_or_holding_a_control_character() {
        assert!(valid_key("reports/2026-11/all/access-removal.html"));
        assert!(!valid_key(""));
        assert!(!valid_key(&"k".repeat(MAX_KEY_BYTES + 1)));
        assert!(valid_key(&"k".repeat(MAX_KEY_BYTES)));
        assert!(!valid_key("reports/\n/x.csv"));
    }

    #[test]
    fn only_a_refusal_a_retry_cannot_change_is_permanent() {
        assert!(ReportError::Denied.is_permanent());
        assert!(ReportError::NoBucket.is_permanent());
        assert!(ReportError::Invalid.is_permanent());
        assert!(!ReportError::Throttled.is_permanent());
        assert!(!ReportError::Unreachable.is_permanent());
        assert!(!ReportError::TimedOut.is_permanent());
        assert_eq!(ReportError::Rejected("Odd".into()).kind(), "rejected");
    }

    #[test]
    fn path_style_addressing_follows_a_configured_endpoint_and_the_timeouts_are_the_reports() {
        let aws = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        assert!(!path_style(&aws), "AWS itself: the bucket's host name");
        let emulator = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .endpoint_url("http://127.0.0.1:5000")
            .build();
        assert!(path_style(&emulator), "an emulator on loopback: by path");
        let timeouts = s3_config(&emulator).timeout_config().cloned().unwrap();
        assert_eq!(timeouts.operation_timeout(), Some(OPERATION_TIMEOUT));
        assert_eq!(timeouts.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
    }
}
