//! The function's configuration, read once from the environment and validated at init.

use crate::signature::Verifier;

/// Environment variable holding the current webhook signature key.
pub const SIGNATURE_KEY_VAR: &str = "MERGE_WEBHOOK_SIGNATURE_KEY";
/// Environment variable holding the previous key, accepted during a rotation.
pub const PREVIOUS_SIGNATURE_KEY_VAR: &str = "MERGE_WEBHOOK_SIGNATURE_KEY_PREVIOUS";
/// Environment variable holding the largest accepted body, in bytes.
pub const MAX_BODY_BYTES_VAR: &str = "MAX_BODY_BYTES";

/// Default body limit: 1 MiB, several times a typical Employee with `remote_data`.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// A function URL cannot carry more than 6 MB, so a larger limit is a mistake.
pub const MAX_BODY_BYTES_CEILING: usize = 6 * 1024 * 1024;

/// Validated configuration.
pub struct Config {
    /// Verifies delivery signatures with the configured keys.
    pub verifier: Verifier,
    /// Bodies larger than this are rejected before hashing or parsing.
    pub max_body_bytes: usize,
    /// True while a previous key is still accepted.
    pub rotation_in_progress: bool,
}

/// Why the function cannot start. Messages name variables, never their values.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// No signature key: every request would be unauthenticated.
    #[error(
        "{SIGNATURE_KEY_VAR} is not set. The function URL has no other authentication, so \
         the function refuses to start without the Merge webhook signature key \
         (Merge dashboard: Webhooks, Security)"
    )]
    MissingSignatureKey,
    /// `MAX_BODY_BYTES` is not a whole number in range.
    #[error(
        "{MAX_BODY_BYTES_VAR} must be a whole number of bytes from 1 to {MAX_BODY_BYTES_CEILING}"
    )]
    InvalidMaxBodyBytes,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests need not touch the process
    /// environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let present = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let current = present(SIGNATURE_KEY_VAR).ok_or(ConfigError::MissingSignatureKey)?;
        let previous = present(PREVIOUS_SIGNATURE_KEY_VAR);
        let max_body_bytes = match present(MAX_BODY_BYTES_VAR) {
            None => DEFAULT_MAX_BODY_BYTES,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_BODY_BYTES_CEILING).contains(n))
                .ok_or(ConfigError::InvalidMaxBodyBytes)?,
        };
        Ok(Config {
            verifier: Verifier::new(current.as_bytes(), previous.as_deref().map(str::as_bytes)),
            max_body_bytes,
            rotation_in_progress: previous.is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::{KeyUsed, sign};

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn refuses_to_start_without_a_signature_key() {
        assert_eq!(
            Config::from_lookup(lookup(&[])).err(),
            Some(ConfigError::MissingSignatureKey)
        );
    }

    #[test]
    fn a_blank_signature_key_counts_as_missing() {
        let result = Config::from_lookup(lookup(&[(SIGNATURE_KEY_VAR, "  \n")]));
        assert_eq!(result.err(), Some(ConfigError::MissingSignatureKey));
    }

    #[test]
    fn the_missing_key_message_names_the_variable_and_why() {
        let message = ConfigError::MissingSignatureKey.to_string();
        assert!(message.contains(SIGNATURE_KEY_VAR));
        assert!(message.contains("refuses to start"));
    }

    #[test]
    fn defaults_apply_with_only_a_key() {
        let config = Config::from_lookup(lookup(&[(SIGNATURE_KEY_VAR, "k")])).unwrap();
        assert_eq!(config.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert!(!config.rotation_in_progress);
    }

    #[test]
    fn surrounding_whitespace_in_keys_is_trimmed() {
        let config = Config::from_lookup(lookup(&[(SIGNATURE_KEY_VAR, " k\n")])).unwrap();
        let signature = sign(b"k", b"{}");
        assert_eq!(
            config.verifier.verify(b"{}", Some(signature.as_bytes())),
            Ok(KeyUsed::Current)
        );
    }

    #[test]
    fn the_previous_key_is_accepted_when_configured() {
        let config = Config::from_lookup(lookup(&[
            (SIGNATURE_KEY_VAR, "new"),
            (PREVIOUS_SIGNATURE_KEY_VAR, "old"),
        ]))
        .unwrap();
        assert!(config.rotation_in_progress);
        let signature = sign(b"old", b"{}");
        assert_eq!(
            config.verifier.verify(b"{}", Some(signature.as_bytes())),
            Ok(KeyUsed::Previous)
        );
    }

    #[test]
    fn max_body_bytes_accepts_its_bounds() {
        for value in ["1", "6291456"] {
            let config = Config::from_lookup(lookup(&[
                (SIGNATURE_KEY_VAR, "k"),
                (MAX_BODY_BYTES_VAR, value),
            ]))
            .unwrap();
            assert_eq!(config.max_body_bytes.to_string(), value);
        }
    }

    #[test]
    fn max_body_bytes_rejects_values_outside_its_bounds() {
        for value in ["0", "6291457", "-1", "1MB", "1.5"] {
            let result = Config::from_lookup(lookup(&[
                (SIGNATURE_KEY_VAR, "k"),
                (MAX_BODY_BYTES_VAR, value),
            ]));
            assert_eq!(
                result.err(),
                Some(ConfigError::InvalidMaxBodyBytes),
                "{value}"
            );
        }
    }
}
