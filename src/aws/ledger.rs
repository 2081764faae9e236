//! DynamoDB: the employee ledger's table. [`Ledger`] is the narrow interface (read one
//! entry, write one entry if the stored one is still the one planned against);
//! [`SdkLedger`] is the AWS SDK behind it. Items are keyed by `linked_account_id`
//! (partition) and `employee_id` (sort), so one account's employees can be listed.

use crate::aws::scheduler::{BoxFuture, sdk_config};
use crate::domain::dates::{parse_hr_date, to_rfc3339};
use crate::domain::decision::Decision;
use crate::domain::deprovision::{
    Deprovisioning, DeprovisioningMap, EmployeeField, Outcome, Sharer, field_value, index_key,
};
use crate::domain::ledger::{EmployeeKey, Entry, Identity, Source};
use crate::domain::reconcile::{SWEEP_SORT_KEY, SweepState};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use tokio::sync::OnceCell;

/// Why a ledger call failed, as records name it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// The stored entry is no longer the one the write was planned against.
    #[error("condition_failed")]
    ConditionFailed,
    /// Throttled: transient.
    #[error("throttled")]
    Throttled,
    /// The function's role may not do this.
    #[error("denied")]
    Denied,
    /// No answer: a connection failure or a server error.
    #[error("unreachable")]
    Unreachable,
    /// The invocation's time ran out first.
    #[error("timed_out")]
    TimedOut,
    /// A stored item this function cannot read (edited by hand, or by a newer version).
    #[error("unreadable_item")]
    Unreadable,
    /// Any other refusal, by its AWS error code.
    #[error("rejected")]
    Rejected(String),
}

impl LedgerError {
    /// The kind, as records and the README name it.
    pub fn kind(&self) -> &'static str {
        match self {
            LedgerError::ConditionFailed => "condition_failed",
            LedgerError::Throttled => "throttled",
            LedgerError::Denied => "denied",
            LedgerError::Unreachable => "unreachable",
            LedgerError::TimedOut => "timed_out",
            LedgerError::Unreadable => "unreadable_item",
            LedgerError::Rejected(_) => "rejected",
        }
    }
}

/// The calls the ledger needs.
pub trait Ledger: Send + Sync {
    /// The entry for `key`, read consistently (it is what a write is planned against),
    /// or `None`.
    fn get<'a>(&'a self, key: &'a EmployeeKey)
    -> BoxFuture<'a, Result<Option<Entry>, LedgerError>>;
    /// Writes `entry` if the stored entry has revision `expected` (`None`: if there is
    /// none) and a version no newer than the entry's; otherwise
    /// [`LedgerError::ConditionFailed`] and nothing changes.
    fn put<'a>(
        &'a self,
        entry: &'a Entry,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<(), LedgerError>>;
    /// As [`Ledger::put`], and in the same transaction notes the entry's employee as
    /// waiting for deprovisioning (the note's count raised, as
    /// [`DeprovisionStore::wait`](crate::aws::deprovisioning::DeprovisionStore::wait)
    /// does): a move into `terminated` and its place on the release's list stand or fall
    /// together, so no failure after the move can leave a leaver on no list.
    fn put_noting<'a>(
        &'a self,
        entry: &'a Entry,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<(), LedgerError>>;
    /// The sweep item of `linked_account_id`, read consistently, or `None`.
    fn get_sweep<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SweepState>, LedgerError>>;
    /// Writes the sweep item if the stored one has revision `expected` (`None`: if there
    /// is none); otherwise [`LedgerError::ConditionFailed`] and nothing changes.
    fn put_sweep<'a>(
        &'a self,
        state: &'a SweepState,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<(), LedgerError>>;
    /// The entries of `linked_account_id` that say `scheduled` with an `effective_at`
    /// before `before`: timers that should have fired.
    fn scheduled_before<'a>(
        &'a self,
        linked_account_id: &'a str,
        before: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<Entry>, LedgerError>>;
    /// Every entry of `linked_account_id` whose value of `field`, normalised
    /// ([`normalised`](crate::domain::deprovision::normalised)), is `normalised`: one
    /// Query of the field's index ([`MATCH_INDEXES`]), every page of it. Eventually
    /// consistent, as a global secondary index is.
    fn sharing<'a>(
        &'a self,
        linked_account_id: &'a str,
        field: EmployeeField,
        normalised: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Sharer>, LedgerError>>;
}

mod indexes;
pub use indexes::{MATCH_INDEXES, match_index};

/// The sweep item's attribute holding the state's JSON.
pub const SWEEP_ATTRIBUTE: &str = "sweep";

/// The item a sweep state is stored as: beside the account's entries, under
/// [`SWEEP_SORT_KEY`].
pub fn sweep_to_item(state: &SweepState) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::with_capacity(4);
    item.insert(PARTITION_KEY.into(), s(&state.linked_account_id));
    item.insert(SORT_KEY.into(), s(SWEEP_SORT_KEY));
    item.insert("revision".into(), n(state.revision));
    item.insert(SWEEP_ATTRIBUTE.into(), s(state.to_json()));
    item
}

/// The sweep state an item holds; `None` for one this function did not write.
pub fn sweep_from_item(item: &HashMap<String, AttributeValue>) -> Option<SweepState> {
    let account = item.get(PARTITION_KEY)?.as_s().ok()?;
    let revision = item.get("revision")?.as_n().ok()?.parse().ok()?;
    let json = item.get(SWEEP_ATTRIBUTE)?.as_s().ok()?;
    SweepState::from_json(account, revision, json)
}

/// The condition a sweep item's write carries.
fn sweep_condition(expected: Option<u64>) -> (String, HashMap<String, AttributeValue>) {
    let mut values = HashMap::new();
    match expected {
        None => (format!("attribute_not_exists({SORT_KEY})"), values),
        Some(revision) => {
            values.insert(":revision".to_owned(), n(revision));
            ("revision = :revision".to_owned(), values)
        }
    }
}

/// The table's partition key.
pub const PARTITION_KEY: &str = "linked_account_id";
/// The table's sort key.
pub const SORT_KEY: &str = "employee_id";

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

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
    // The index keys of the identity check: only for a value that is there, so an entry
    // without one is in no index.
    for (field, _, attribute) in MATCH_INDEXES {
        let value = field_value(identity, field);
        if let Some(key) = value.and_then(|v| index_key(&entry.key.linked_account_id, v)) {
            item.insert(attribute.into(), s(key));
        }
    }
    if !entry.deprovisioning.is_empty() {
        item.insert(
            DEPROVISIONING.into(),
            deprovisioning_item(&entry.deprovisioning),
        );
    }
    item
}

/// The attribute holding each SCIM target's outcome: a map by target name, so that a
/// later write of the entry keeps it, and the stream's filter (which looks only at
/// `decision`) never fires for it.
pub const DEPROVISIONING: &str = "deprovisioning";

fn deprovisioning_item(map: &DeprovisioningMap) -> AttributeValue {
    let targets = map
        .iter()
        .map(|(target, d)| {
            let mut fields = HashMap::with_capacity(4);
            fields.insert("outcome".to_owned(), s(d.outcome.as_str()));
            fields.insert("at".to_owned(), s(to_rfc3339(d.at)));
            if let Some(termination) = d.termination {
                fields.insert("termination".to_owned(), s(to_rfc3339(termination)));
            }
            if d.attempts > 0 {
                fields.insert("attempts".to_owned(), n(d.attempts));
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
            },
        );
    }
    Some(map)
}

/// A date as [`to_item`] wrote it. RFC 3339 has four-digit years; a date past 9999 (a
/// termination on 9999-12-31 with a positive offset) is written with chrono's signed
/// five-digit year, read back here.
fn stored_date(text: &str) -> Option<DateTime<Utc>> {
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
    Some(Entry {
        key: EmployeeKey {
            linked_account_id: text(PARTITION_KEY)?,
            employee_id: text(SORT_KEY)?,
        },
        decision: Decision::parse(&text("decision")?)?,
        reasons: text("reasons").unwrap_or_default(),
        termination_date: date("termination_date")?,
        effective_at: date("effective_at")?,
        version,
        changed_by: Source::parse(&text("changed_by")?)?,
        delivery_id: text("delivery_id"),
        first_seen: date("first_seen")??,
        updated_at: date("updated_at")??,
        terminated_at: date("terminated_at")?,
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
    })
}

/// The condition a write carries: the stored revision is the one planned against (or
/// nothing is stored), and the stored version is no newer than the one written. The
/// version half is redundant with the plan, and there so that no bug in a plan can
/// ever put an older delivery over a newer one.
pub fn condition(
    entry: &Entry,
    expected: Option<u64>,
) -> (String, HashMap<String, AttributeValue>) {
    let mut values = HashMap::new();
    let Some(revision) = expected else {
        return (format!("attribute_not_exists({SORT_KEY})"), values);
    };
    values.insert(":revision".to_owned(), n(revision));
    let expression = match entry.version {
        Some(version) => {
            values.insert(":version".to_owned(), n(version.timestamp_micros()));
            "revision = :revision AND (attribute_not_exists(version_us) OR version_us <= :version)"
        }
        None => "revision = :revision AND attribute_not_exists(version_us)",
    };
    (expression.to_owned(), values)
}

/// The kind of a failed DynamoDB call, by its AWS error code.
pub fn classify<E: ProvideErrorMetadata, R>(error: SdkError<E, R>) -> LedgerError {
    if !matches!(error, SdkError::ServiceError(_)) {
        return LedgerError::Unreachable;
    }
    match error.code() {
        Some("ConditionalCheckFailedException") => LedgerError::ConditionFailed,
        Some(
            "ThrottlingException"
            | "ProvisionedThroughputExceededException"
            | "RequestLimitExceeded",
        ) => LedgerError::Throttled,
        Some("AccessDeniedException" | "UnrecognizedClientException") => LedgerError::Denied,
        Some("InternalServerError" | "ServiceUnavailable") => LedgerError::Unreachable,
        Some(code) => LedgerError::Rejected(code.to_owned()),
        None => LedgerError::Unreachable,
    }
}

/// The kind of a failed transaction: a condition that did not hold (or another
/// transaction on the same item) is a lost race, which the writer reads and plans again
/// for; anything else is classified as a single call's failure is.
fn classify_transaction<R>(
    error: SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> LedgerError {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    if let SdkError::ServiceError(service) = &error
        && let TransactWriteItemsError::TransactionCanceledException(canceled) = service.err()
        && let Some(kind) = cancelled_as(canceled.cancellation_reasons().iter().map(|r| r.code()))
    {
        return kind;
    }
    classify(error)
}

/// What a cancelled transaction's reasons mean: a lost race (a condition, or another
/// transaction on the item), throttling, or nothing this function reads (`None`).
fn cancelled_as<'a>(codes: impl Iterator<Item = Option<&'a str>> + Clone) -> Option<LedgerError> {
    let any = |wanted: &[&str]| {
        codes
            .clone()
            .any(|c| c.is_some_and(|c| wanted.contains(&c)))
    };
    if any(&["ConditionalCheckFailed", "TransactionConflict"]) {
        Some(LedgerError::ConditionFailed)
    } else if any(&[
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
    ]) {
        Some(LedgerError::Throttled)
    } else {
        None
    }
}

/// The AWS SDK behind [`Ledger`], for one table. The client is built on first use, so a
/// request that never reaches the ledger (a refused signature) starts no client.
#[derive(Debug)]
pub struct SdkLedger {
    table: String,
    client: OnceCell<aws_sdk_dynamodb::Client>,
}

impl SdkLedger {
    /// The ledger in `table`.
    pub fn new(table: impl Into<String>) -> Self {
        SdkLedger {
            table: table.into(),
            client: OnceCell::new(),
        }
    }

    /// The ledger in `table`, through `client` (one pointed at an emulator, in its CI
    /// stage).
    pub fn with_client(table: impl Into<String>, client: aws_sdk_dynamodb::Client) -> Self {
        SdkLedger {
            table: table.into(),
            client: OnceCell::from(client),
        }
    }

    async fn client(&self) -> &aws_sdk_dynamodb::Client {
        self.client
            .get_or_init(|| async { aws_sdk_dynamodb::Client::new(&sdk_config().await) })
            .await
    }
}

impl Ledger for SdkLedger {
    fn get<'a>(
        &'a self,
        key: &'a EmployeeKey,
    ) -> BoxFuture<'a, Result<Option<Entry>, LedgerError>> {
        Box::pin(async move {
            let answer = self
                .client()
                .await
                .get_item()
                .table_name(&self.table)
                .key(PARTITION_KEY, s(&key.linked_account_id))
                .key(SORT_KEY, s(&key.employee_id))
                .consistent_read(true)
                .send()
                .await
                .map_err(classify)?;
            match answer.item() {
                None => Ok(None),
                Some(item) => from_item(item).map(Some).ok_or(LedgerError::Unreadable),
            }
        })
    }

    fn put<'a>(
        &'a self,
        entry: &'a Entry,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(async move {
            let (expression, values) = condition(entry, expected);
            let mut call = self
                .client()
                .await
                .put_item()
                .table_name(&self.table)
                .set_item(Some(to_item(entry)))
                .condition_expression(expression);
            if !values.is_empty() {
                call = call.set_expression_attribute_values(Some(values));
            }
            call.send().await.map(|_| ()).map_err(classify)
        })
    }

    fn put_noting<'a>(
        &'a self,
        entry: &'a Entry,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
        Box::pin(async move {
            let (expression, values) = condition(entry, expected);
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(to_item(entry)))
                .condition_expression(expression)
                .set_expression_attribute_values((!values.is_empty()).then_some(values))
                .build()
                .map_err(|_| LedgerError::Rejected("ValidationException".into()))?;
            let note = crate::aws::deprovisioning::waiting_note(&self.table, &entry.key)?;
            self.client()
                .await
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().put(put).build())
                .transact_items(TransactWriteItem::builder().update(note).build())
                .send()
                .await
                .map(|_| ())
                .map_err(classify_transaction)
        })
    }

    fn get_sweep<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SweepState>, LedgerError>> {
        Box::pin(async move {
            let answer = self
                .client()
                .await
                .get_item()
                .table_name(&self.table)
                .key(PARTITION_KEY, s(linked_account_id))
                .key(SORT_KEY, s(SWEEP_SORT_KEY))
                .consistent_read(true)
                .send()
                .await
                .map_err(classify)?;
            match answer.item() {
                None => Ok(None),
                Some(item) => sweep_from_item(item)
                    .map(Some)
                    .ok_or(LedgerError::Unreadable),
            }
        })
    }

    fn put_sweep<'a>(
        &'a self,
        state: &'a SweepState,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(async move {
            let (expression, values) = sweep_condition(expected);
            let mut call = self
                .client()
                .await
                .put_item()
                .table_name(&self.table)
                .set_item(Some(sweep_to_item(state)))
                .condition_expression(expression);
            if !values.is_empty() {
                call = call.set_expression_attribute_values(Some(values));
            }
            call.send().await.map(|_| ()).map_err(classify)
        })
    }

    fn scheduled_before<'a>(
        &'a self,
        linked_account_id: &'a str,
        before: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<Entry>, LedgerError>> {
        Box::pin(async move {
            let client = self.client().await;
            let mut found = Vec::new();
            let mut start = None;
            loop {
                // Only the account's `scheduled` entries come back; the date is compared
                // here, on the parsed instant, not on its text.
                let answer = client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("#account = :account")
                    .filter_expression("#decision = :scheduled")
                    .expression_attribute_names("#account", PARTITION_KEY)
                    .expression_attribute_names("#decision", "decision")
                    .expression_attribute_values(":account", s(linked_account_id))
                    .expression_attribute_values(":scheduled", s(Decision::Scheduled.as_str()))
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(classify)?;
                for item in answer.items() {
                    if let Some(entry) = from_item(item)
                        && entry.effective_at.is_some_and(|at| at < before)
                    {
                        found.push(entry);
                    }
                }
                match answer.last_evaluated_key() {
                    Some(key) if !key.is_empty() => start = Some(key.clone()),
                    _ => return Ok(found),
                }
            }
        })
    }

    fn sharing<'a>(
        &'a self,
        linked_account_id: &'a str,
        field: EmployeeField,
        normalised: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Sharer>, LedgerError>> {
        Box::pin(self.query_sharing(linked_account_id, field, normalised))
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_cancelled_transaction_is_a_lost_race_throttling_or_unread() {
        let reasons =
            |codes: &'static [Option<&'static str>]| super::cancelled_as(codes.iter().copied());
        assert_eq!(
            reasons(&[None, Some("ConditionalCheckFailed")]),
            Some(LedgerError::ConditionFailed)
        );
        assert_eq!(
            reasons(&[Some("TransactionConflict"), None]),
            Some(LedgerError::ConditionFailed)
        );
        assert_eq!(
            reasons(&[Some("ThrottlingError"), None]),
            Some(LedgerError::Throttled)
        );
        assert_eq!(reasons(&[Some("ValidationError"), None]), None);
    }

    use super::indexes::sharer_from_item;
    use super::*;
    use crate::domain::ledger::{Observation, transition};
    use chrono::TimeZone;

    fn entry() -> Entry {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        let observation = Observation {
            key: EmployeeKey::new(Some("a1"), "e1"),
            decision: Decision::Scheduled,
            reasons: "termination_date_in_future".into(),
            termination_date: Some(Utc.with_ymd_and_hms(2099, 6, 30, 0, 0, 0).unwrap()),
            effective_at: Some(Utc.with_ymd_and_hms(2099, 6, 30, 0, 0, 0).unwrap()),
            version: Some(
                Utc.with_ymd_and_hms(2026, 11, 26, 4, 12, 9).unwrap()
                    + chrono::TimeDelta::microseconds(123_456),
            ),
            removal: false,
            identity: Identity {
                work_email: Some("greg@merge.dev".into()),
                username: Some(String::new()),
                ..Identity::default()
            },
            source: Source::Webhook,
            delivery_id: Some("d1".into()),
        };
        transition(None, &observation, now).write.unwrap()
    }

    #[test]
    fn an_entry_survives_the_round_trip_through_an_item_to_the_microsecond() {
        let entry = entry();
        let item = to_item(&entry);
        assert!(
            !item.contains_key("username"),
            "empty fields are not stored"
        );
        let mut expected = entry.clone();
        expected.identity.username = None;
        assert_eq!(from_item(&item), Some(expected));
    }

    #[test]
    fn deprovisioning_outcomes_survive_the_round_trip() {
        let mut entry = entry();
        entry.identity.username = None;
        let at = Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap();
        entry.deprovisioning.insert(
            "chat".into(),
            Deprovisioning {
                outcome: Outcome::Failed,
                at,
                termination: Some(at),
                attempts: 2,
            },
        );
        entry.deprovisioning.insert(
            "wiki".into(),
            Deprovisioning {
                outcome: Outcome::Deactivated,
                at,
                termination: None,
                attempts: 0,
            },
        );
        assert_eq!(from_item(&to_item(&entry)), Some(entry));
    }

    #[test]
    fn a_termination_past_the_year_9999_survives_the_round_trip() {
        let mut far = entry();
        far.effective_at = Some(Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap());
        far.termination_date = Some(Utc.with_ymd_and_hms(9_999, 12, 31, 0, 0, 0).unwrap());
        let item = to_item(&far);
        let mut expected = far.clone();
        expected.identity.username = None;
        assert_eq!(from_item(&item), Some(expected));
    }

    #[test]
    fn an_item_this_function_did_not_write_reads_as_none() {
        let mut item = to_item(&entry());
        item.insert("decision".into(), s("maybe"));
        assert_eq!(from_item(&item), None);
        let mut item = to_item(&entry());
        item.insert("version_us".into(), s("soon"));
        assert_eq!(from_item(&item), None);
    }

    #[test]
    fn an_item_carries_an_index_key_per_field_it_has_and_none_for_an_empty_one() {
        let mut entry = entry();
        entry.identity.work_email = Some(" Greg@Merge.dev ".into());
        entry.identity.remote_id = Some("R-19".into());
        let item = to_item(&entry);
        assert_eq!(item["match_work_email"], s("a1|greg@merge.dev"));
        assert_eq!(item["match_remote_id"], s("a1|r-19"));
        assert!(!item.contains_key("match_username"), "an empty username");
        assert!(!item.contains_key("match_employee_number"));
        assert_eq!(match_index(EmployeeField::Username), "match_username");
        let sharer = sharer_from_item(&item, EmployeeField::WorkEmail).unwrap();
        assert_eq!(sharer.key, entry.key);
        assert_eq!(sharer.decision, Decision::Scheduled);
        assert_eq!(sharer.value.as_deref(), Some(" Greg@Merge.dev "));
    }

    #[test]
    fn a_first_write_requires_no_item_and_a_later_one_the_revision_and_an_older_version() {
        let (first, values) = condition(&entry(), None);
        assert_eq!(first, "attribute_not_exists(employee_id)");
        assert!(values.is_empty());
        let (later, values) = condition(&entry(), Some(3));
        assert!(later.contains("revision = :revision"));
        assert!(later.contains("version_us <= :version"));
        assert_eq!(values[":revision"], n(3));
    }
}
