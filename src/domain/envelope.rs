//! Merge's webhook envelope (`hook`, `linked_account`, `data`) and its event names.
//!
//! The body is read in one pass. Merge sends `hook` first, so by the time `data` arrives
//! the event is known: an Employee is read straight from the body, anything else is
//! skipped. Only when `data` comes before `hook` is the body read a second time.

use crate::domain::employee::Employee;
use crate::domain::lenient::text;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::cell::Cell;
use std::fmt;

/// The longest event name kept for logging. Real names are short (`LinkedAccount.fully_synced_initial`).
const MAX_EVENT_NAME_LEN: usize = 64;

const HOOK_EVENT_NOT_TEXT: &str = "`hook.event` is not a string, or `hook` repeats a member";

/// A parsed envelope.
#[derive(Debug)]
pub struct Envelope {
    /// `hook.event`, when present.
    pub event: Option<String>,
    /// Which linked HR account the delivery is about.
    pub linked_account: LinkedAccount,
    /// What `data` held, read as far as the event calls for.
    pub data: Data,
}

/// The envelope's `data`, as far as it was read.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// An Employee event's object, read as an Employee.
    Employee(Box<Employee>),
    /// An Employee event whose `data` is missing, `null`, or not an object.
    NotAnObject,
    /// Not an Employee event: `data` was skipped unread.
    Skipped,
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
    /// An Employee whose fields cannot be read: a member repeated, a number out of
    /// range, an unpaired surrogate. The position is in the body.
    UnreadableEmployee { line: usize, column: usize },
}

const REPEATED_MEMBER: &str = "a top-level member appears more than once";
const HOOK_NOT_OBJECT: &str = "`hook` is not an object";

#[derive(Deserialize)]
struct Hook {
    #[serde(default)]
    event: Option<String>,
}

/// Parses the envelope of a verified delivery, reading `data` as an Employee when the
/// event is an Employee event.
pub fn parse_envelope(body: &[u8]) -> Result<Envelope, EnvelopeError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        let valid = &body[..e.valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = valid.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        EnvelopeError::Malformed { line, column }
    })?;
    if !starts_object(text) {
        // serde would accept an array as a struct's fields in order, so the shape is
        // checked first; parsing the rest only tells broken JSON from a non-object.
        return Err(match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => EnvelopeError::NotAnObject,
            Err(e) => malformed(&e),
        });
    }
    let first = pass(text, None)?;
    match first.deferred_event {
        // `data` came before `hook`: read again, now that the event is known.
        Some(Route::Employee(_)) => Ok(pass(text, Some(true))?.envelope),
        _ => Ok(first.envelope),
    }
}

struct Pass {
    envelope: Envelope,
    /// Set when `data` was skipped because the event was not yet known.
    deferred_event: Option<Route>,
}

/// Where in the body a pass was when it failed.
#[derive(Clone, Copy)]
enum Stage {
    Top,
    Hook,
    Data,
}

fn pass(text: &str, employee_expected: Option<bool>) -> Result<Pass, EnvelopeError> {
    let stage = Cell::new(Stage::Top);
    let detail = Cell::new(None);
    let visitor = EnvelopeVisitor {
        employee_expected,
        stage: &stage,
        detail: &detail,
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = deserializer
        .deserialize_map(visitor)
        .and_then(|p| deserializer.end().map(|()| p));
    parsed.map_err(|error| {
        if let Some(detail) = detail.get() {
            return EnvelopeError::Invalid { detail };
        }
        // A typed read stops at the first thing it cannot represent; whether the body
        // is broken JSON is decided by a plain syntax pass, as before any reading.
        if let Err(syntax) = serde_json::from_str::<IgnoredAny>(text) {
            return malformed(&syntax);
        }
        match stage.get() {
            Stage::Data => EnvelopeError::UnreadableEmployee {
                line: error.line(),
                column: error.column(),
            },
            Stage::Hook => EnvelopeError::Invalid {
                detail: HOOK_EVENT_NOT_TEXT,
            },
            Stage::Top => EnvelopeError::Invalid {
                detail: REPEATED_MEMBER,
            },
        }
    })
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Member {
    Hook,
    LinkedAccount,
    Data,
    #[serde(other)]
    Other,
}

struct EnvelopeVisitor<'s> {
    employee_expected: Option<bool>,
    stage: &'s Cell<Stage>,
    detail: &'s Cell<Option<&'static str>>,
}

impl EnvelopeVisitor<'_> {
    fn fail<E: de::Error>(&self, detail: &'static str) -> E {
        self.detail.set(Some(detail));
        E::custom(detail)
    }
}

impl<'de> Visitor<'de> for EnvelopeVisitor<'_> {
    type Value = Pass;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a webhook envelope")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pass, A::Error> {
        let (mut hook, mut linked_account, mut data) = (None, None, None);
        let mut deferred_event = None;
        while let Some(member) = map.next_key::<Member>()? {
            match member {
                Member::Hook => {
                    if hook.is_some() {
                        return Err(self.fail(REPEATED_MEMBER));
                    }
                    self.stage.set(Stage::Hook);
                    let raw: Option<&RawValue> = map.next_value()?;
                    hook = Some(read_hook(raw).map_err(|detail| self.fail(detail))?);
                    self.stage.set(Stage::Top);
                }
                Member::LinkedAccount => {
                    if linked_account.is_some() {
                        return Err(self.fail(REPEATED_MEMBER));
                    }
                    let raw: Option<&RawValue> = map.next_value()?;
                    linked_account = Some(read_linked_account(raw));
                }
                Member::Data => {
                    if data.is_some() {
                        return Err(self.fail(REPEATED_MEMBER));
                    }
                    let employee = match &hook {
                        Some(event) => event
                            .as_deref()
                            .map(route)
                            .is_some_and(|r| matches!(r, Route::Employee(_))),
                        None => self.employee_expected == Some(true),
                    };
                    data = Some(if employee {
                        self.stage.set(Stage::Data);
                        let read = map.next_value_seed(EmployeeData)?;
                        self.stage.set(Stage::Top);
                        read
                    } else {
                        map.next_value::<IgnoredAny>()?;
                        if hook.is_none() && self.employee_expected.is_none() {
                            deferred_event = Some(Route::Ignore);
                        }
                        Data::Skipped
                    });
                }
                Member::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let event = hook.flatten();
        if deferred_event.is_some() {
            deferred_event = Some(event.as_deref().map_or(Route::Ignore, route));
        }
        let data = match (data, event.as_deref().map(route)) {
            (Some(data), _) => data,
            (None, Some(Route::Employee(_))) => Data::NotAnObject,
            (None, _) => Data::Skipped,
        };
        Ok(Pass {
            envelope: Envelope {
                event,
                linked_account: linked_account.unwrap_or_default(),
                data,
            },
            deferred_event,
        })
    }
}

fn read_hook(raw: Option<&RawValue>) -> Result<Option<String>, &'static str> {
    match raw {
        None => Ok(None),
        Some(raw) if is_object(raw) => serde_json::from_str::<Hook>(raw.get())
            .map(|hook| hook.event.map(|name| truncate(name, MAX_EVENT_NAME_LEN)))
            .map_err(|_| HOOK_EVENT_NOT_TEXT),
        Some(_) => Err(HOOK_NOT_OBJECT),
    }
}

fn read_linked_account(raw: Option<&RawValue>) -> LinkedAccount {
    raw.filter(|raw| is_object(raw))
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or_default()
}

/// Reads an Employee event's `data` in place: an object becomes an Employee, anything
/// else is drained and reported as not an object.
struct EmployeeData;

impl<'de> DeserializeSeed<'de> for EmployeeData {
    type Value = Data;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Data, D::Error> {
        deserializer.deserialize_any(EmployeeData)
    }
}

impl<'de> Visitor<'de> for EmployeeData {
    type Value = Data;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an Employee object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Data, A::Error> {
        let employee = Employee::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Data::Employee(Box::new(employee)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Data, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Data::NotAnObject)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Data, E> {
        Ok(Data::NotAnObject)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Data, E> {
        Ok(Data::NotAnObject)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Data, E> {
        Ok(Data::NotAnObject)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Data, E> {
        Ok(Data::NotAnObject)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Data, E> {
        Ok(Data::NotAnObject)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Data, E> {
        Ok(Data::NotAnObject)
    }
}

fn malformed(error: &serde_json::Error) -> EnvelopeError {
    EnvelopeError::Malformed {
        line: error.line(),
        column: error.column(),
    }
}

/// True when the raw JSON value is an object. `RawValue` text starts at the value.
fn is_object(raw: &RawValue) -> bool {
    raw.get().starts_with('{')
}

fn starts_object(text: &str) -> bool {
    text.trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
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
    /// An Employee event whose action this function does not decide, such as
    /// `Employee.synced`: acknowledged and ignored.
    UndecidedEmployeeAction,
    /// Another model or category, or a name that is not `<Model>.<action>`:
    /// acknowledged and ignored.
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
        _ => return Route::UndecidedEmployeeAction,
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
            "Employee",
            ".",
            "",
        ] {
            assert_eq!(route(event), Route::Ignore, "{event:?}");
        }
    }

    #[test]
    fn employee_events_with_other_actions_are_told_apart_from_other_models() {
        for event in [
            "Employee.synced",
            "employee.archived",
            "Employee.changed.extra",
        ] {
            assert_eq!(route(event), Route::UndecidedEmployeeAction, "{event:?}");
        }
    }

    fn employee_with_id(id: &str) -> Data {
        Data::Employee(Box::new(Employee {
            id: Some(id.into()),
            ..Employee::default()
        }))
    }

    #[test]
    fn envelope_fields_are_read_and_employee_data_is_read_in_place() {
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
        assert_eq!(envelope.data, employee_with_id("e1"));
    }

    #[test]
    fn data_before_hook_is_still_read_as_an_employee() {
        let body = br#"{"data":{"id":"e2"},"hook":{"event":"employee.updated"}}"#;
        assert_eq!(parse_envelope(body).unwrap().data, employee_with_id("e2"));
    }

    #[test]
    fn data_of_other_events_is_skipped_unread_in_either_order() {
        for body in [
            &br#"{"hook":{"event":"LinkedAccount.synced"},"data":{"id":"x","id":"y"}}"#[..],
            br#"{"data":[1,{"a":2}],"hook":{"event":"Issue.created"}}"#,
            br#"{"data":{"id":"x"}}"#,
        ] {
            assert_eq!(parse_envelope(body).unwrap().data, Data::Skipped);
        }
    }

    #[test]
    fn employee_data_that_is_not_an_object_is_reported() {
        for data in ["[]", "null", "\"e1\"", "7", "true"] {
            let body = format!(r#"{{"hook":{{"event":"Employee.changed"}},"data":{data}}}"#);
            assert_eq!(
                parse_envelope(body.as_bytes()).unwrap().data,
                Data::NotAnObject,
                "{data}"
            );
            let reversed = format!(r#"{{"data":{data},"hook":{{"event":"Employee.changed"}}}}"#);
            assert_eq!(
                parse_envelope(reversed.as_bytes()).unwrap().data,
                Data::NotAnObject,
                "{data}"
            );
        }
        let missing = br#"{"hook":{"event":"Employee.removed"}}"#;
        assert_eq!(parse_envelope(missing).unwrap().data, Data::NotAnObject);
    }

    #[test]
    fn an_unreadable_employee_field_reports_its_position_in_the_body() {
        let body =
            b"{\"hook\":{\"event\":\"Employee.changed\"},\n\"data\":{\"id\":\"a\",\"id\":\"b\"}}";
        assert!(matches!(
            parse_envelope(body).unwrap_err(),
            EnvelopeError::UnreadableEmployee { line: 2, .. }
        ));
    }

    #[test]
    fn broken_json_inside_employee_data_is_malformed_not_unreadable() {
        let body = br#"{"hook":{"event":"Employee.changed"},"data":{"id": }}"#;
        assert!(matches!(
            parse_envelope(body).unwrap_err(),
            EnvelopeError::Malformed { .. }
        ));
    }

    #[test]
    fn invalid_utf8_reports_where_it_starts() {
        let body = b"{\"hook\":\n{\"event\":\"\xff\"}}";
        assert_eq!(
            parse_envelope(body).unwrap_err(),
            EnvelopeError::Malformed {
                line: 2,
                column: 11
            }
        );
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
