//! The signature key as kept in a secret: either the key itself as plain text, or
//! `{"current": "...", "previous": "..."}` for a two-key rotation. Errors name the shape,
//! never the value.

use serde::Deserialize;

/// The keys a secret holds. Its `Debug` says only whether a previous key is present.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKeys {
    /// The key deliveries are signed with now.
    pub current: String,
    /// During a rotation, the key deliveries may still be signed with.
    pub previous: Option<String>,
}

impl std::fmt::Debug for SecretKeys {
    // The derived form would print both keys wherever anything formats the value: a
    // failed assertion, an `?` field in a log record, an error's context.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKeys")
            .field("previous_key", &self.previous.is_some())
            .finish_non_exhaustive()
    }
}

/// Why a secret's value is not a usable key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretValueError {
    /// Empty, or only white space.
    #[error("the secret's key is empty")]
    Empty,
    /// A JSON object without a non-empty `current`, with members of other types, or
    /// with members other than `current` and `previous`.
    #[error(
        "the secret is a JSON object but not {{\"current\": \"...\", \"previous\": \"...\"}} \
         with a non-empty current key"
    )]
    WrongShape,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rotation {
    current: String,
    #[serde(default)]
    previous: Option<String>,
}

/// Reads a secret's value. Text that starts with `{` must be the rotation object; any
/// other text is the key itself. Keys are trimmed, as the environment variables are, and
/// an empty `previous` counts as none.
pub fn read_secret(value: &str) -> Result<SecretKeys, SecretValueError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(SecretValueError::Empty);
    }
    if !value.starts_with('{') {
        return Ok(SecretKeys {
            current: value.to_owned(),
            previous: None,
        });
    }
    let rotation: Rotation =
        serde_json::from_str(value).map_err(|_| SecretValueError::WrongShape)?;
    let current = rotation.current.trim();
    if current.is_empty() {
        return Err(SecretValueError::WrongShape);
    }
    Ok(SecretKeys {
        current: current.to_owned(),
        previous: rotation
            .previous
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_the_key_itself_trimmed() {
        assert_eq!(
            read_secret("  the-key\n"),
            Ok(SecretKeys {
                current: "the-key".into(),
                previous: None
            })
        );
    }

    #[test]
    fn a_rotation_object_gives_both_keys_and_previous_is_optional() {
        assert_eq!(
            read_secret(r#"{"current": "new", "previous": "old"}"#),
            Ok(SecretKeys {
                current: "new".into(),
                previous: Some("old".into())
            })
        );
        assert_eq!(read_secret(r#"{"current": "new"}"#).unwrap().previous, None);
        assert_eq!(
            read_secret(r#"{"current": "new", "previous": " "}"#)
                .unwrap()
                .previous,
            None
        );
    }

    #[test]
    fn empty_values_and_other_shapes_are_refused_by_kind() {
        assert_eq!(read_secret(""), Err(SecretValueError::Empty));
        assert_eq!(read_secret(" \n"), Err(SecretValueError::Empty));
        for shape in [
            r#"{"previous": "old"}"#,
            r#"{"current": ""}"#,
            r#"{"current": 42}"#,
            r#"{"current": "k", "extra": "x"}"#,
            r#"{"key": "k"}"#,
            "{not json",
        ] {
            assert_eq!(
                read_secret(shape),
                Err(SecretValueError::WrongShape),
                "{shape}"
            );
        }
    }

    #[test]
    fn no_error_message_contains_the_value() {
        for value in [r#"{"current": "", "previous": "SENTINEL"}"#, "{SENTINEL"] {
            let error = read_secret(value).unwrap_err();
            assert!(!error.to_string().contains("SENTINEL"));
        }
    }
}
