//! DynamoDB: the employee ledger's table. [`Ledger`] is the narrow interface (read one
//! entry, write one entry if the stored one is still the one planned against);
//! [`SdkLedger`] is the AWS SDK behind it. Items are keyed by `linked_account_id`
//! (partition) and `employee_id` (sort), so one account's employees can be listed.

use crate::aws::scheduler::{BoxFuture, sdk_config};
use crate::domain::baseline::Baseline;
use crate::domain::cutoff::LocalCutoff;
use crate::domain::decision::Decision;
use crate::domain::deprovision::{EmployeeField, Sharer};
use crate::domain::evidence::Evidence;
use crate::domain::ledger::{EmployeeKey, Entry};
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
    ///
    /// `facts` (the evidence the write makes, [`of_write`](crate::domain::evidence::of_write))
    /// are written in the same transaction, each on the condition that its key is free:
    /// the change and its evidence stand or fall together. Without facts it is one
    /// `PutItem`, as the common write costs nothing more.
    fn put<'a>(
        &'a self,
        entry: &'a Entry,
        expected: Option<u64>,
        facts: &'a [Evidence],
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
        facts: &'a [Evidence],
    ) -> BoxFuture<'a, Result<(), LedgerError>>;
    /// Writes facts that no entry write carries (an operator's action), each on the
    /// condition that its key is free.
    fn put_evidence<'a>(&'a self, facts: &'a [Evidence]) -> BoxFuture<'a, Result<(), LedgerError>>;
    /// Every fact filed under `month` (`YYYY-MM`, the month of its termination; an
    /// operator's action, of its own time), of `linked_account_id` or of every account:
    /// every page, in key order (by account, employee, termination, then time). An item
    /// there that is not a fact this function wrote is [`LedgerError::Unreadable`].
    fn evidence<'a>(
        &'a self,
        month: &'a str,
        linked_account_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Evidence>, LedgerError>>;
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
    /// The baseline of `linked_account_id`, read consistently, or `None`.
    fn get_baseline<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Baseline>, LedgerError>>;
    /// Writes `baseline`. Without `replace`, only if the account has none (the first
    /// sighting: of two at once, the first written stands and the other meets
    /// [`LedgerError::ConditionFailed`]); with it, over any (an operator's choice).
    fn put_baseline<'a>(
        &'a self,
        baseline: &'a Baseline,
        replace: bool,
    ) -> BoxFuture<'a, Result<(), LedgerError>>;
    /// The local cutoff `linked_account_id` has of its own, read consistently, or
    /// `None` (the configured default applies).
    fn get_cutoff<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<LocalCutoff>, LedgerError>>;
    /// Writes `linked_account_id`'s local cutoff over any (an operator's choice), noting
    /// when it was set.
    fn put_cutoff<'a>(
        &'a self,
        linked_account_id: &'a str,
        local: LocalCutoff,
        at: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), LedgerError>>;
    /// True when the ledger holds any entry of `linked_account_id`.
    fn has_entries<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<bool, LedgerError>>;
    /// Every entry of `linked_account_id` that says `terminated`, eventually consistent:
    /// what a backfill looks through (it reads each again before working it).
    fn terminated<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Entry>, LedgerError>>;
    /// Every entry of `linked_account_id` holding a deprovisioning outcome, whatever its
    /// decision (an entry HR moved back to `active` keeps its outcomes), eventually
    /// consistent: what an undo of a window or a run looks through, one partition's
    /// Query (it reads each entry again before changing anything).
    fn deprovisioned<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Entry>, LedgerError>>;
    /// Writes the match index keys of every entry of `linked_account_id` whose item does
    /// not carry the ones its identity gives (an entry written before the indexes
    /// existed), changing nothing else; an entry written meanwhile is left to that
    /// write, which carries its own keys.
    fn reindex<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Reindexed, LedgerError>>;
}

/// What a reindex of one account did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reindexed {
    /// Entries read.
    pub entries: usize,
    /// Of those, entries whose index keys were written.
    pub rewritten: usize,
}

mod account;
mod evidence;
mod indexes;
mod item;
pub use account::{BASELINE_SORT_KEY, baseline_from_item, baseline_to_item};
pub use account::{CUTOFF_SORT_KEY, cutoff_from_item, cutoff_to_item};
pub use evidence::{
    EVIDENCE_PREFIX, TRANSACTION_ITEMS, evidence_from_item, evidence_partition, evidence_sort_key,
    evidence_to_item, split_facts,
};
pub use indexes::{MATCH_INDEXES, match_index};
pub use item::{DEPROVISIONING, HISTORICAL, from_item, index_keys, to_item};

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

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
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
        // An SDK retry of a transaction whose first attempt is still being applied, with
        // the same idempotency token: it may yet commit, so the writer reads it back, as
        // for a lost answer.
        Some("TransactionInProgressException") => LedgerError::TimedOut,
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

    /// The entry's write as one transaction with its facts and, `noting`, the waiting
    /// note (see [`Ledger::put_noting`]); facts beyond what one transaction holds are
    /// written first ([`split_facts`]).
    async fn put_with_facts(
        &self,
        entry: &Entry,
        expected: Option<u64>,
        facts: &[Evidence],
        noting: bool,
    ) -> Result<(), LedgerError> {
        use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
        let revision = Some(entry.revision);
        let with_entry = self
            .write_early(facts, revision, 1 + usize::from(noting))
            .await?;
        let (expression, values) = condition(entry, expected);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(entry)))
            .condition_expression(expression)
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build()
            .map_err(|_| LedgerError::Rejected("ValidationException".into()))?;
        // The entry first: a cancelled transaction's first reason is its condition.
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        if noting {
            let note = crate::aws::deprovisioning::waiting_note(&self.table, &entry.key)?;
            items.push(TransactWriteItem::builder().update(note).build());
        }
        items.extend(evidence::fact_puts(&self.table, with_entry, revision)?);
        self.transact(items).await
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
        facts: &'a [Evidence],
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        if !facts.is_empty() {
            return Box::pin(self.put_with_facts(entry, expected, facts, false));
        }
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
        facts: &'a [Evidence],
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(self.put_with_facts(entry, expected, facts, true))
    }

    fn put_evidence<'a>(&'a self, facts: &'a [Evidence]) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(self.write_evidence(facts))
    }

    fn evidence<'a>(
        &'a self,
        month: &'a str,
        linked_account_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Evidence>, LedgerError>> {
        Box::pin(self.query_evidence(month, linked_account_id))
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

    fn get_baseline<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Baseline>, LedgerError>> {
        Box::pin(self.read_baseline(linked_account_id))
    }

    fn put_baseline<'a>(
        &'a self,
        baseline: &'a Baseline,
        replace: bool,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(self.write_baseline(baseline, replace))
    }

    fn get_cutoff<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<LocalCutoff>, LedgerError>> {
        Box::pin(self.read_cutoff(linked_account_id))
    }

    fn put_cutoff<'a>(
        &'a self,
        linked_account_id: &'a str,
        local: LocalCutoff,
        at: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(self.write_cutoff(linked_account_id, local, at))
    }

    fn has_entries<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<bool, LedgerError>> {
        Box::pin(self.query_any_entry(linked_account_id))
    }

    fn terminated<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Entry>, LedgerError>> {
        Box::pin(self.query_terminated(linked_account_id))
    }

    fn deprovisioned<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Entry>, LedgerError>> {
        Box::pin(self.query_deprovisioned(linked_account_id))
    }

    fn reindex<'a>(
        &'a self,
        linked_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Reindexed, LedgerError>> {
        Box::pin(self.write_index_keys(linked_account_id))
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
    use crate::domain::deprovision::{Deprovisioning, Outcome};
    use crate::domain::ledger::{Identity, Observation, Source, transition};
    use chrono::TimeZone;

    fn entry() -> Entry {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        let observation = Observation {
            key: EmployeeKey::new(Some("a1"), "e1"),
            decision: Decision::Scheduled,
            reasons: "termination_date_in_future".into(),
            termination_date: Some(Utc.with_ymd_and_hms(2099, 6, 30, 0, 0, 0).unwrap()),
            effective_at: Some(Utc.with_ymd_and_hms(2099, 6, 30, 0, 0, 0).unwrap()),
            effective_rule: Some("start of day, UTC".into()),
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
                user: None,
                run: None,
                by: Some(crate::domain::evidence::Trigger::Webhook),
            },
        );
        entry.deprovisioning.insert(
            "wiki".into(),
            Deprovisioning {
                outcome: Outcome::Deactivated,
                at,
                termination: None,
                attempts: 0,
                user: Some("user-0001".into()),
                run: Some("2c3b3a8e-run".into()),
                by: None,
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
    fn an_item_written_before_the_rule_was_kept_reads_without_one() {
        let mut item = to_item(&entry());
        assert_eq!(item[item::EFFECTIVE_RULE], s("start of day, UTC"));
        item.remove(item::EFFECTIVE_RULE);
        let read = from_item(&item).unwrap();
        assert_eq!(
            (read.effective_rule, read.effective_at),
            (None, entry().effective_at)
        );
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
