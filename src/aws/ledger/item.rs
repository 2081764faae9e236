//! How a ledger entry is stored: the item's attributes, written and read back. Absent
//! values are absent attributes; an item this function did not write reads as `None`.

use super::{MATCH_INDEXES, PARTITION_KEY, SORT_KEY, n, s};
use crate::domain::dates::{parse_hr_date, to_rfc3339};
use crate::domain::decision::Decision;
use crate::domain::deprovision::{
    Deprovisioning, DeprovisioningMap, Outcome, field_value, index_key,
};
use crate::domain::evidence::Trigger;
use crate::domain::ledger::{EmployeeKey, Entry, Identity, Learned, Source};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// The item an entry is stored as. Absent values are absent attributes.
pub fn to_item(entry: &Entry) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::with_capacity(24);
    item.insert(PARTITION_KEY.into(), s(&entry.key.linked_account_id));
    item.insert(SORT_KEY.into(), s(&entry.key.employee_id));
    item.insert("decision".into(), s(entry.decision.as_str()));
    item.insert("reasons".into(), s(&entry.reasons));
    item.insert("changed_by".into(), s(entry.changed_by.as_str()));
    item.insert("first_seen".into(), s(to_rfc3339(entry.first_seen)));
    item.insert("updated_at".into(), s(to_rfc3339(entry.updated_at)));
    item.insert("revision".into(), n(entry.revision));
    item.insert("announced".into(), AttributeValue::Bool(entry.announced));
    if !entry.written_by.is_empty() {
        item.insert("written_by".into(), s(&entry.written_by));
    }
    // Only when set: every entry written before the baseline existed reads as current.
    if entry.historical {
        item.insert(HISTORICAL.into(), AttributeValue::Bool(true));
    }
    let dates = [
        ("termination_date", entry.termination_date),
        ("effective_at", entry.effective_at),
        ("modified_at", entry.version),
        ("terminated_at", entry.terminated_at),
    ];
    for (name, date) in dates {
        if let Some(date) = date {
            item.insert(name.into(), s(to_rfc3339(date)));
        }
    }
    if let Some(version) = entry.version {
        item.insert("version_us".into(), n(version.timestamp_micros()));
    }
    if let Some(rule) = entry.effective_rule.as_deref().filter(|r| !r.is_empty()) {
        item.insert(EFFECTIVE_RULE.into(), s(rule));
    }
    if let Some(learned) = entry.learned {
        item.insert(LEARNED_AT.into(), s(to_rfc3339(learned.at)));
        item.insert(LEARNED_BY.into(), s(learned.by.as_str()));
    }
    let identity = &entry.identity;
    let texts = [
        ("delivery_id", &entry.delivery_id),
        ("remote_id", &identity.remote_id),
        ("employee_number", &identity.employee_number),
        ("work_email", &identity.work_email),
        ("username", &identity.username),
        ("display_full_name", &identity.display_full_name),
        ("integration", &identity.integration),
        (
            "end_user_organization_name",
            &identity.end_user_organization_name,
        ),
    ];
    for (name, text) in texts {
        // DynamoDB takes empty strings, but an empty identity field says nothing.
        if let Some(text) = text.as_deref().filter(|t| !t.is_empty()) {
            item.insert(name.into(), s(text));
        }
    }
    for (attribute, key) in index_keys(entry) {
        item.insert(attribute.into(), s(key));
    }
    if !entry.deprovisioning.is_empty() {
        item.insert(
            DEPROVISIONING.into(),
            deprovisioning_item(&entry.deprovisioning),
        );
    }
    item
}

/// The index keys of the identity check an entry's item carries, by attribute: only for
/// a value that is there, so an entry without one is in no index.
pub fn index_keys(entry: &Entry) -> Vec<(&'static str, String)> {
    MATCH_INDEXES
        .iter()
        .filter_map(|(field, _, attribute)| {
            let value = field_value(&entry.identity, *field)?;
            Some((*attribute, index_key(&entry.key.linked_account_id, value)?))
        })
        .collect()
}

/// The attribute holding the rule that made `effective_at`: absent in an item written
/// before it was kept, which reads as `None`.
pub const EFFECTIVE_RULE: &str = "effective_rule";

/// The attribute holding when the current termination was first learned.
pub const LEARNED_AT: &str = "learned_at";
/// The attribute holding which source first told of it.
pub const LEARNED_BY: &str = "learned_by";

/// When the entry's termination was first learned, as the item holds it. An item
/// written before it was kept, holding a termination, reads as learned by its own move:
/// `terminated_at` (or, still `scheduled`, its last write) and the source that wrote it.
fn read_learned(
    item: &HashMap<String, AttributeValue>,
    decision: Decision,
    (terminated_at, updated_at, changed_by): (Option<DateTime<Utc>>, DateTime<Utc>, Source),
) -> Option<Option<Learned>> {
    if !matches!(decision, Decision::Scheduled | Decision::Terminated) {
        return Some(None);
    }
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
    match (text(LEARNED_AT), text(LEARNED_BY)) {
        (Some(at), Some(by)) => Some(Some(Learned {
            at: stored_date(at)?,
            by: Source::parse(by)?,
        })),
        _ => Some(Some(Learned {
            at: terminated_at.unwrap_or(updated_at),
            by: changed_by,
        })),
    }
}

/// The attribute marking a historical termination
/// ([`Entry::historical`]): present only when true.
pub const HISTORICAL: &str = "historical";

/// The attribute holding each SCIM target's outcome: a map by target name, so that a
/// later write of the entry keeps it, and the stream's filter (which looks only at
/// `decision`) never fires for it.
pub const DEPROVISIONING: &str = "deprovisioning";

fn deprovisioning_item(map: &DeprovisioningMap) -> AttributeValue {
    let targets = map
        .iter()
        .map(|(target, d)| {
            let mut fields = HashMap::with_capacity(6);
            fields.insert("outcome".to_owned(), s(d.outcome.as_str()));
            fields.insert("at".to_owned(), s(to_rfc3339(d.at)));
            if let Some(termination) = d.termination {
                fields.insert("termination".to_owned(), s(to_rfc3339(termination)));
            }
            if d.attempts > 0 {
                fields.insert("attempts".to_owned(), n(d.attempts));
            }
            // Only when known: an item written before they were kept reads as before.
            if let Some(user) = d.user.as_deref().filter(|u| !u.is_empty()) {
                fields.insert("user".to_owned(), s(user));
            }
            if let Some(run) = d.run.as_deref().filter(|r| !r.is_empty()) {
                fields.insert("run".to_owned(), s(run));
            }
            if let Some(by) = d.by {
                fields.insert("by".to_owned(), s(by.as_str()));
            }
            (target.clone(), AttributeValue::M(fields))
        })
        .collect();
    AttributeValue::M(targets)
}

fn read_deprovisioning(value: Option<&AttributeValue>) -> Option<DeprovisioningMap> {
    let Some(value) = value else {
        return Some(DeprovisioningMap::new());
    };
    let mut map = DeprovisioningMap::new();
    for (target, fields) in value.as_m().ok()? {
        let fields = fields.as_m().ok()?;
        let text = |name: &str| fields.get(name).and_then(|v| v.as_s().ok());
        map.insert(
            target.clone(),
            Deprovisioning {
                outcome: Outcome::parse(text("outcome")?)?,
                at: stored_date(text("at")?)?,
                termination: match text("termination") {
                    None => None,
                    Some(t) => Some(stored_date(t)?),
                },
                attempts: match fields.get("attempts") {
                    None => 0,
                    Some(v) => v.as_n().ok()?.parse().ok()?,
                },
                user: text("user").cloned(),
                run: text("run").cloned(),
                // Absent in an item written before it was kept.
                by: match text("by") {
                    None => None,
                    Some(by) => Some(Trigger::parse(by)?),
                },
            },
        );
    }
    Some(map)
}

/// A date as [`to_item`] wrote it. RFC 3339 has four-digit years; a date past 9999 (a
/// termination on 9999-12-31 with a positive offset) is written with chrono's signed
/// five-digit year, read back here.
pub(super) fn stored_date(text: &str) -> Option<DateTime<Utc>> {
    parse_hr_date(text).or_else(|| {
        chrono::NaiveDateTime::parse_from_str(text.strip_suffix('Z')?, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|naive| naive.and_utc())
    })
}

/// The entry a stored item holds; `None` for an item this function did not write.
pub fn from_item(item: &HashMap<String, AttributeValue>) -> Option<Entry> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let date = |name: &str| -> Option<Option<DateTime<Utc>>> {
        match item.get(name) {
            None => Some(None),
            Some(value) => value.as_s().ok().and_then(|t| stored_date(t)).map(Some),
        }
    };
    let version = match item.get("version_us") {
        None => None,
        Some(value) => Some(
            value
                .as_n()
                .ok()
                .and_then(|n| n.parse::<i64>().ok())
                .and_then(DateTime::from_timestamp_micros)?,
        ),
    };
    let decision = Decision::parse(&text("decision")?)?;
    let changed_by = Source::parse(&text("changed_by")?)?;
    let (terminated_at, updated_at) = (date("terminated_at")?, date("updated_at")??);
    let learned = read_learned(item, decision, (terminated_at, updated_at, changed_by))?;
    Some(Entry {
        key: EmployeeKey {
            linked_account_id: text(PARTITION_KEY)?,
            employee_id: text(SORT_KEY)?,
        },
        decision,
        reasons: text("reasons").unwrap_or_default(),
        termination_date: date("termination_date")?,
        effective_at: date("effective_at")?,
        effective_rule: text(EFFECTIVE_RULE),
        version,
        changed_by,
        delivery_id: text("delivery_id"),
        first_seen: date("first_seen")??,
        updated_at,
        terminated_at,
        identity: Identity {
            remote_id: text("remote_id"),
            employee_number: text("employee_number"),
            work_email: text("work_email"),
            username: text("username"),
            display_full_name: text("display_full_name"),
            integration: text("integration"),
            end_user_organization_name: text("end_user_organization_name"),
        },
        revision: item
            .get("revision")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())?,
        // An item without the attribute owes nothing: never announce twice on a guess.
        announced: match item.get("announced") {
            None => true,
            Some(value) => *value.as_bool().ok()?,
        },
        written_by: text("written_by").unwrap_or_default(),
        deprovisioning: read_deprovisioning(item.get(DEPROVISIONING))?,
        historical: match item.get(HISTORICAL) {
            None => false,
            Some(value) => *value.as_bool().ok()?,
        },
        learned,
    })
}
