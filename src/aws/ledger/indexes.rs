//! The ledger table's match indexes: which exist, and the Query that reads one.

use super::{LedgerError, PARTITION_KEY, SORT_KEY, SdkLedger, classify, s};
use crate::domain::decision::Decision;
use crate::domain::deprovision::{EmployeeField, Sharer};
use crate::domain::ledger::EmployeeKey;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// The ledger table's global secondary indexes on the normalised match values, one per
/// employee field: (field, index name, its partition key attribute). Each index's key
/// is `<linked account id>|<normalised value>`
/// ([`index_key`](crate::domain::deprovision::index_key)); it projects `decision`
/// and the field's own attribute (`INCLUDE`), which is all the identity check reads.
/// The template declares exactly these (checked by `tests/template_ledger_indexes.rs`).
pub const MATCH_INDEXES: [(EmployeeField, &str, &str); 4] = [
    (
        EmployeeField::WorkEmail,
        "match_work_email",
        "match_work_email",
    ),
    (EmployeeField::Username, "match_username", "match_username"),
    (
        EmployeeField::RemoteId,
        "match_remote_id",
        "match_remote_id",
    ),
    (
        EmployeeField::EmployeeNumber,
        "match_employee_number",
        "match_employee_number",
    ),
];

/// The index (and its key attribute) for `field`.
pub fn match_index(field: EmployeeField) -> &'static str {
    MATCH_INDEXES
        .iter()
        .find(|(f, _, _)| *f == field)
        .map(|(_, index, _)| *index)
        .unwrap_or("match_work_email")
}

/// One item a match index returned, as a [`Sharer`]; `None` for an item this function
/// did not write.
pub(super) fn sharer_from_item(
    item: &HashMap<String, AttributeValue>,
    field: EmployeeField,
) -> Option<Sharer> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
    Some(Sharer {
        key: EmployeeKey {
            linked_account_id: text(PARTITION_KEY)?.clone(),
            employee_id: text(SORT_KEY)?.clone(),
        },
        decision: Decision::parse(text("decision")?)?,
        value: text(field.as_str()).cloned(),
    })
}

impl SdkLedger {
    /// [`Ledger::sharing`]: a Query of the field's index, page after page.
    pub(super) async fn query_sharing(
        &self,
        linked_account_id: &str,
        field: EmployeeField,
        normalised: &str,
    ) -> Result<Vec<Sharer>, LedgerError> {
        let client = self.client().await;
        let index = match_index(field);
        let key = format!("{linked_account_id}|{normalised}");
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let answer = client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("#key = :key")
                .expression_attribute_names("#key", index)
                .expression_attribute_values(":key", s(&key))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for item in answer.items() {
                found.push(sharer_from_item(item, field).ok_or(LedgerError::Unreadable)?);
            }
            match answer.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(found),
            }
        }
    }
}

impl SdkLedger {
    /// [`Ledger::reindex`](super::Ledger::reindex): the account's partition, page after
    /// page; each entry whose item lacks (or holds other) index keys than its identity
    /// gives is put again, on the condition that its revision is still the one read.
    pub(super) async fn write_index_keys(
        &self,
        linked_account_id: &str,
    ) -> Result<super::Reindexed, LedgerError> {
        let client = self.client().await;
        let mut done = super::Reindexed::default();
        let mut start = None;
        loop {
            let answer = client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#account = :account")
                .filter_expression("attribute_exists(#decision)")
                .expression_attribute_names("#account", PARTITION_KEY)
                .expression_attribute_names("#decision", "decision")
                .expression_attribute_values(":account", s(linked_account_id))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for item in answer.items() {
                let entry = super::from_item(item).ok_or(LedgerError::Unreadable)?;
                done.entries += 1;
                if self.rewrite_keys(item, &entry).await? {
                    done.rewritten += 1;
                }
            }
            match answer.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(done),
            }
        }
    }

    /// Writes `entry`'s index keys when `item` does not carry exactly them: the entry put
    /// again as this version stores it (the keys included, nothing else different), on
    /// the condition that its revision is still the one read. A `PutItem`, which the
    /// function's role may make in an account's partition, where an `UpdateItem` is only
    /// deprovisioning's bookkeeping's. `false` when the item carries them, or when
    /// another write came first (and carried its own).
    async fn rewrite_keys(
        &self,
        item: &HashMap<String, AttributeValue>,
        entry: &crate::domain::ledger::Entry,
    ) -> Result<bool, LedgerError> {
        let wanted = super::index_keys(entry);
        let carried = |attribute: &str| item.get(attribute).and_then(|v| v.as_s().ok());
        let exact = MATCH_INDEXES.iter().all(|(_, _, attribute)| {
            let want = wanted.iter().find(|(a, _)| a == attribute).map(|(_, k)| k);
            carried(attribute) == want
        });
        if exact {
            return Ok(false);
        }
        let written = self
            .client()
            .await
            .put_item()
            .table_name(&self.table)
            .set_item(Some(super::to_item(entry)))
            .condition_expression("revision = :revision")
            .expression_attribute_values(":revision", super::n(entry.revision))
            .send()
            .await
            .map_err(classify);
        match written {
            Ok(_) => Ok(true),
            Err(LedgerError::ConditionFailed) => Ok(false),
            Err(error) => Err(error),
        }
    }
}
