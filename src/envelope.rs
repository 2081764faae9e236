//! Merge's webhook envelope (`hook`, `linked_account`, `data`) and its event names.

use crate::lenient::text;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

/// The longest event name kept for logging. Real names are short (`LinkedAccount.fully_synced_initial`).
const MAX_EVENT_NAME_LEN: usize = 64;

const HOOK_EVENT_NOT_TEXT: &str = "`hook.event` is not a string, or `hook` repeats a member";

/// A parsed envelope. `data` is left unparsed until routing shows it is an Employee.
#[derive(Debug)]
pub struct Envelope<'a> {
    /// `hook.event`, when present.
    pub event: Option<String>,
    /// Which linked HR account the delivery is about.
    pub linked_account: LinkedAccount,
    /// The affected object, as raw JSON text.
    pub data: Option<&'a RawValue>,
}

/// The linked account fields the log record carries. All optional: they describe the
/// delivery but never change the decision, so a malformed `linked_account` is tolerated.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct LinkedAccount {
    /// Merge's id for the linked account.
    #[serde(deserialize_with = "text")]
    pub id: Option<String>,
    /// The integration, such as `humaans` or `bamboohr`.
    #[serde(deserialize_with = "text")]
    pub integration_slug: Option<String>,
    /// The customer organisation that linked the account.
    #[serde(deserialize_with = "text")]
    pub end_user_organization_name: Option<String>,
}

/// Why a body is not a usable envelope. Carries positions and member names, never values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Not JSON at all, or truncated.
    Malformed { line: usize, column: usize },
    /// JSON, but not an object.
    NotAnObject,
    /// An object of the wrong shape; the detail names the member.
    Invalid { detail: &'static str },
}

#[derive(Deserialize)]
struct Outer<'a> {
    #[serde(borrow, default)]
    hook: Option<&'a RawValue>,
    #[serde(borrow, default)]
    linked_account: Option<&'a RawValue>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Hook {
    #[serde(default)]
    event: Option<String>,
}

/// Parses the envelope of a verified delivery.
pub fn parse_envelope(body: &[u8]) -> Result<Envelope<'_>, EnvelopeError> {
    if !starts_object(body) {
        // serde would accept an array as a struct's fields in order, so the shape is
        // checked first; parsing the rest only tells broken JSON from a non-object.
        return Err(match serde_json::from_slice::<IgnoredAny>(body) {
            Ok(_) => EnvelopeError::NotAnObject,
            Err(e) => malformed(&e),
        });
    }
    let outer: Outer<'_> = serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            // Every member is taken raw, so the only data error is a repeated one.
            EnvelopeError::Invalid {
                detail: "a top-level member appears more than once",
            }
        } else {
            malformed(&e)
        }
    })?;
    let event = match outer.hook.filter(|raw| !is_null(raw)) {
        None => None,
        Some(raw) if is_object(raw) => serde_json::from_str::<Hook>(raw.get())
            .map_err(|_| EnvelopeError::Invalid {
                detail: HOOK_EVENT_NOT_TEXT,
            })?
            .event
            .map(|name| truncate(name, MAX_EVENT_NAME_LEN)),
        Some(_) => {
            return Err(EnvelopeError::Invalid {
                detail: "`hook` is not an object",
            });
        }
    };
    let linked_account = outer
        .linked_account
        .filter(|raw| is_object(raw))
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or_default();
    Ok(Envelope {
        event,
        linked_account,
        data: outer.data,
    })
}

fn malformed(error: &serde_json::Error) -> EnvelopeError {
    EnvelopeError::Malformed {
        line: error.line(),
        column: error.column(),
    }
}

/// True when the raw JSON value is an object. `RawValue` text starts at the value.
pub fn is_object(raw: &RawValue) -> bool {
    raw.get().starts_with('{')
}

fn is_null(raw: &RawValue) -> bool {
    raw.get() == "null"
}

fn starts_object(body: &[u8]) -> bool {
    body.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .is_some_and(|&b| b == b'{')
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// What happened to the object, from the event name's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `added`, or the older `created`.
    Added,
    /// `changed`, or the older `updated`.
    Changed,
    /// `removed`, or the older `deleted`.
    Removed,
}

impl Action {
    /// The current spelling of the action.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Added => "added",
            Action::Changed => "changed",
            Action::Removed => "removed",
        }
    }
}

/// Where a delivery goes, from `hook.event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// An Employee event this function decides.
    Employee(Action),
    /// Anything else: acknowledged and ignored.
    Ignore,
}

/// Routes an event name of the form `<Model>.<action>`, case-insensitively, accepting
/// both the current and the older action names.
pub fn route(event: &str) -> Route {
    let Some((model, action)) = event.trim().split_once('.') else {
        return Route::Ignore;
    };
    if !model.eq_ignore_ascii_case("employee") {
        return Route::Ignore;
    }
    let action = match action.to_ascii_lowercase().as_str() {
        "added" | "created" => Action::Added,
        "changed" | "updated" => Action::Changed,
        "removed" | "deleted" => Action::Removed,
        _ => return Route::Ignore,
    };
    Route::Employee(action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_employee_spelling_is_routed() {
        let cases = [
            ("Employee.added", Action::Added),
            ("employee.created", Action::Added),
            ("Employee.changed", Action::Changed),
            ("employee.updated", Action::Changed),
            ("EMPLOYEE.UPDATED", Action::Changed),
            ("Employee.removed", Action::Removed),
            ("employee.deleted", Action::Removed),
        ];
        for (event, action) in cases {
            assert_eq!(route(event), Route::Employee(action), "{event}");
        }
    }

    #[test]
    fn other_models_categories_and_odd_names_are_ignored() {
        for event in [
            "LinkedAccount.synced",
            "LinkedAccount.fully_synced_initial",
            "Issue.created",
            "Employment.changed",
            "Candidate.changed",
            "Employee.synced",
            "Employee",
            ".",
            "",
            "Employee.changed.extra",
        ] {
            assert_eq!(route(event), Route::Ignore, "{event:?}");
        }
    }

    #[test]
    fn envelope_fields_are_read_and_data_left_raw() {
        let body = br#"{"hook":{"id":"h","event":"Employee.changed","target":"t"},
            "linked_account":{"id":"la","integration_slug":"humaans",
                              "end_user_organization_name":"Acme","status":"COMPLETE"},
            "data":{"id":"e1"}}"#;
        let envelope = parse_envelope(body).unwrap();
        assert_eq!(envelope.event.as_deref(), Some("Employee.changed"));
        assert_eq!(
            envelope.linked_account.integration_slug.as_deref(),
            Some("humaans")
        );
        assert_eq!(envelope.data.unwrap().get(), r#"{"id":"e1"}"#);
    }

    #[test]
    fn object_without_hook_event_has_no_event() {
        for body in [
            &b"{}"[..],
            br#"{"hook":null}"#,
            br#"{"hook":{}}"#,
            br#"{"hook":{"event":null}}"#,
        ] {
            assert_eq!(parse_envelope(body).unwrap().event, None);
        }
    }

    #[test]
    fn non_object_bodies_are_rejected_as_not_an_object() {
        for body in [
            &b"[]"[..],
            b"null",
            b"\"text\"",
            b"42",
            br#"[{"hook":{}}, null, null]"#,
        ] {
            assert_eq!(
                parse_envelope(body).unwrap_err(),
                EnvelopeError::NotAnObject,
                "{body:?}"
            );
        }
    }

    #[test]
    fn broken_json_reports_its_position() {
        assert_eq!(
            parse_envelope(b"{\n  \"hook\": ").unwrap_err(),
            EnvelopeError::Malformed {
                line: 2,
                column: 10
            }
        );
        for body in [&b""[..], b"{} x", b"\xef\xbb\xbf{}"] {
            assert!(matches!(
                parse_envelope(body).unwrap_err(),
                EnvelopeError::Malformed { .. }
            ));
        }
    }

    #[test]
    fn a_hook_of_the_wrong_shape_names_the_member() {
        assert_eq!(
            parse_envelope(br#"{"hook":"Employee.changed"}"#).unwrap_err(),
            EnvelopeError::Invalid {
                detail: "`hook` is not an object"
            }
        );
        assert_eq!(
            parse_envelope(br#"{"hook":{"event":7}}"#).unwrap_err(),
            EnvelopeError::Invalid {
                detail: HOOK_EVENT_NOT_TEXT
            }
        );
    }

    #[test]
    fn duplicate_top_level_members_are_rejected() {
        let body = br#"{"data":{"id":"a"},"data":{"id":"b"}}"#;
        assert_eq!(
            parse_envelope(body).unwrap_err(),
            EnvelopeError::Invalid {
                detail: "a top-level member appears more than once"
            }
        );
    }

    #[test]
    fn a_malformed_linked_account_does_not_block_the_delivery() {
        let envelope =
            parse_envelope(br#"{"hook":{"event":"Employee.changed"},"linked_account":[1]}"#)
                .unwrap();
        assert_eq!(envelope.linked_account, LinkedAccount::default());
    }

    #[test]
    fn long_event_names_are_truncated_on_a_character_boundary() {
        let name = "É".repeat(40);
        let body = format!(r#"{{"hook":{{"event":"{name}"}}}}"#);
        let event = parse_envelope(body.as_bytes()).unwrap().event.unwrap();
        assert!(event.len() <= MAX_EVENT_NAME_LEN);
        assert!(name.starts_with(&event));
    }
}
