//! Secrets Manager: reading the secret that holds the signature key. [`SecretSource`] is
//! the narrow interface; [`SdkSecrets`] is the AWS SDK behind it, sharing the
//! Scheduler client's configuration.

use crate::aws::scheduler::{BoxFuture, sdk_config};
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::error::SdkError;
use tokio::sync::OnceCell;

/// Why a secret could not be read: the AWS error code only, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}")]
pub struct SecretError {
    /// The AWS error code (`ResourceNotFoundException`, `AccessDeniedException`, ...),
    /// `Unreachable` when no answer came, or `NoSecretString` for a binary secret.
    pub code: String,
}

impl SecretError {
    /// An error of `code`.
    pub fn new(code: impl Into<String>) -> Self {
        SecretError { code: code.into() }
    }
}

/// Reads a secret's current string value.
pub trait SecretSource: Send + Sync {
    /// The `SecretString` of the secret `id` (a name or an ARN).
    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<String, SecretError>>;
}

/// The AWS SDK behind [`SecretSource`]. Its client is built on first use.
#[derive(Debug, Default)]
pub struct SdkSecrets {
    client: OnceCell<aws_sdk_secretsmanager::Client>,
}

impl SdkSecrets {
    /// A source whose client is built when it is first asked.
    pub fn new() -> Self {
        Self::default()
    }
}

impl SecretSource for SdkSecrets {
    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<String, SecretError>> {
        Box::pin(async move {
            let client = self
                .client
                .get_or_init(|| async { aws_sdk_secretsmanager::Client::new(&sdk_config().await) })
                .await;
            let answer = client.get_secret_value().secret_id(id).send().await;
            match answer {
                Ok(value) => value
                    .secret_string()
                    .map(str::to_owned)
                    .ok_or_else(|| SecretError::new("NoSecretString")),
                Err(SdkError::ServiceError(error)) => {
                    Err(SecretError::new(error.err().code().unwrap_or("Unknown")))
                }
                Err(_) => Err(SecretError::new("Unreachable")),
            }
        })
    }
}
