//! DynamoDB Streams: the ledger table's change records, as Lambda's event source mapping
//! delivers them (`{"Records": [{"eventSource": "aws:dynamodb", "dynamodb": {...}}]}`).
//! Images are DynamoDB JSON, turned into the SDK's `AttributeValue` and read with the
//! ledger's own item format (`ledger::from_item`), so one format is the truth.

use crate::aws::ledger::{PARTITION_KEY, SORT_KEY, from_item};
use crate::domain::ledger::{EmployeeKey, Entry};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::collections::HashMap;

/// The `eventSource` of a DynamoDB stream record.
pub const EVENT_SOURCE: &str = "aws:dynamodb";

/// One change record: its id for a batch item failure, whose entry, and the images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// `dynamodb.SequenceNumber`: what a batch item failure names.
    pub sequence_number: String,
    /// Whose entry changed, from `dynamodb.Keys`.
    pub key: Option<EmployeeKey>,
    /// The entry before, if there was one and it is readable.
    pub old: Option<Entry>,
    /// The entry after, if it is readable.
    pub new: Option<Entry>,
}

impl Change {
    /// True when this change moved the employee into a current termination (from
    /// another decision, or from a historical termination whose date was corrected): the
    /// only changes deprovisioning acts on (the mapping's filters select the same).
    pub fn enters_terminated(&self) -> bool {
        self.new
            .as_ref()
            .is_some_and(|n| crate::domain::ledger::enters_current(self.old.as_ref(), n))
    }
}

/// True when `body` is a DynamoDB stream batch: by shape, never by a header.
pub fn is_stream_event(body: &[u8]) -> bool {
    read_stream(body).is_some()
}

/// The records of a DynamoDB stream batch, or `None` for any other document.
pub fn read_stream(body: &[u8]) -> Option<Vec<Change>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let records = value.get("Records")?.as_array()?;
    if records.is_empty()
        || !records
            .iter()
            .all(|r| r.get("eventSource").and_then(Value::as_str) == Some(EVENT_SOURCE))
    {
        return None;
    }
    Some(
        records
            .iter()
            .map(|record| {
                let dynamodb = record.get("dynamodb");
                let image = |name: &str| {
                    dynamodb
                        .and_then(|d| d.get(name))
                        .and_then(item)
                        .and_then(|i| from_item(&i))
                };
                let keys = dynamodb.and_then(|d| d.get("Keys")).and_then(item);
                Change {
                    sequence_number: dynamodb
                        .and_then(|d| d.get("SequenceNumber"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    key: keys.and_then(|k| {
                        Some(EmployeeKey {
                            linked_account_id: k.get(PARTITION_KEY)?.as_s().ok()?.clone(),
                            employee_id: k.get(SORT_KEY)?.as_s().ok()?.clone(),
                        })
                    }),
                    old: image("OldImage"),
                    new: image("NewImage"),
                }
            })
            .collect(),
    )
}

/// An item in DynamoDB JSON (`{"name": {"S": "..."}}`) as the SDK holds it.
pub fn item(value: &Value) -> Option<HashMap<String, AttributeValue>> {
    value
        .as_object()?
        .iter()
        .map(|(name, v)| Some((name.clone(), attribute(v)?)))
        .collect()
}

fn attribute(value: &Value) -> Option<AttributeValue> {
    let object = value.as_object()?;
    let (kind, inner) = object.iter().next().filter(|_| object.len() == 1)?;
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array()?
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    Some(match kind.as_str() {
        "S" => AttributeValue::S(inner.as_str()?.to_owned()),
        "N" => AttributeValue::N(inner.as_str()?.to_owned()),
        "BOOL" => AttributeValue::Bool(inner.as_bool()?),
        "NULL" => AttributeValue::Null(inner.as_bool()?),
        "SS" => AttributeValue::Ss(strings(inner)?),
        "NS" => AttributeValue::Ns(strings(inner)?),
        "M" => AttributeValue::M(item(inner)?),
        "L" => AttributeValue::L(
            inner
                .as_array()?
                .iter()
                .map(attribute)
                .collect::<Option<_>>()?,
        ),
        // Binary values are never written by this function.
        _ => return None,
    })
}

/// An item as DynamoDB JSON: what a stream record carries (for tests, the replay and
/// the bench, which build stream events from entries).
pub fn to_json(item: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        item.iter()
            .map(|(name, v)| (name.clone(), attribute_json(v)))
            .collect(),
    )
}

fn attribute_json(value: &AttributeValue) -> Value {
    use serde_json::json;
    match value {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::Null(b) => json!({"NULL": b}),
        AttributeValue::Ss(s) => json!({"SS": s}),
        AttributeValue::Ns(n) => json!({"NS": n}),
        AttributeValue::M(m) => json!({"M": to_json(m)}),
        AttributeValue::L(l) => json!({"L": l.iter().map(attribute_json).collect::<Vec<_>>()}),
        _ => Value::Null,
    }
}

/// The stream record of a write of `new` over `old`, as Lambda delivers it.
pub fn record_of(old: Option<&Entry>, new: &Entry, sequence_number: &str) -> Value {
    use crate::aws::ledger::to_item;
    let new_item = to_item(new);
    let keys: HashMap<String, AttributeValue> = [PARTITION_KEY, SORT_KEY]
        .into_iter()
        .filter_map(|k| Some((k.to_owned(), new_item.get(k)?.clone())))
        .collect();
    let mut dynamodb = serde_json::json!({
        "Keys": to_json(&keys),
        "NewImage": to_json(&new_item),
        "SequenceNumber": sequence_number,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    });
    if let Some(old) = old {
        dynamodb["OldImage"] = to_json(&to_item(old));
    }
    serde_json::json!({
        "eventID": format!("event-{sequence_number}"),
        "eventName": if old.is_some() { "MODIFY" } else { "INSERT" },
        "eventSource": EVENT_SOURCE,
        "awsRegion": "eu-west-1",
        "dynamodb": dynamodb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::decision::Decision;
    use crate::domain::deprovision::{Outcome, with_outcome};
    use crate::domain::ledger::{Identity, Observation, Source, transition};
    use chrono::{TimeZone, Utc};

    fn entry(decision: Decision) -> Entry {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        let observation = Observation {
            key: EmployeeKey::new(Some("acme"), "e1"),
            decision,
            reasons: String::new(),
            termination_date: None,
            effective_at: None,
            effective_rule: None,
            version: Some(now),
            removal: false,
            identity: Identity {
                work_email: Some("leaver@example.com".into()),
                ..Identity::default()
            },
            source: Source::Webhook,
            delivery_id: None,
        };
        transition(None, &observation, now).write.unwrap()
    }

    #[test]
    fn a_stream_record_reads_back_into_the_entries_it_was_made_of() {
        let old = entry(Decision::Active);
        let new = with_outcome(
            &entry(Decision::Terminated),
            "chat",
            Outcome::Held,
            old.updated_at,
        );
        let body = serde_json::json!({"Records": [record_of(Some(&old), &new, "42")]});
        let changes = read_stream(body.to_string().as_bytes()).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].sequence_number, "42");
        assert_eq!(changes[0].key.as_ref(), Some(&new.key));
        assert_eq!(changes[0].old.as_ref(), Some(&old));
        assert_eq!(changes[0].new.as_ref(), Some(&new));
        assert!(changes[0].enters_terminated());
    }

    #[test]
    fn only_a_move_into_terminated_is_acted_on() {
        let terminated = entry(Decision::Terminated);
        let outcome_only = with_outcome(
            &terminated,
            "chat",
            Outcome::Deactivated,
            terminated.updated_at,
        );
        let body = serde_json::json!({"Records": [
            record_of(Some(&terminated), &outcome_only, "1"),
            record_of(None, &terminated, "2"),
        ]});
        let changes = read_stream(body.to_string().as_bytes()).unwrap();
        assert!(!changes[0].enters_terminated());
        assert!(changes[1].enters_terminated());
    }

    #[test]
    fn other_documents_are_not_stream_batches() {
        for body in [
            r#"{"Records": [{"eventSource": "aws:sqs"}]}"#,
            r#"{"Records": []}"#,
            r#"{"kind": "merge-deprovision.timer"}"#,
            "not json",
        ] {
            assert!(!is_stream_event(body.as_bytes()), "{body}");
        }
    }
}
