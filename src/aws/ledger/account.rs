//! One linked account's items beyond its employees: the baseline item, the local cutoff
//! item, the Query a backfill reads (the account's `terminated` entries), and the one an
//! undo reads (the account's entries holding deprovisioning outcomes).

use super::{
    DEPROVISIONING, LedgerError, PARTITION_KEY, SORT_KEY, SdkLedger, classify, from_item, s,
};
use crate::domain::baseline::{Baseline, SetBy};
use crate::domain::cutoff::{Cutoff, LocalCutoff, parse_zone};
use crate::domain::dates::to_rfc3339;
use crate::domain::decision::Decision;
use crate::domain::ledger::Entry;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// The sort key of an account's baseline item, beside its entries. No Merge id starts
/// with `#`, and the item has no `decision`, so the stream's filter and every entry read
/// pass it by.
pub const BASELINE_SORT_KEY: &str = "#baseline";

/// The item a baseline is stored as.
pub fn baseline_to_item(baseline: &Baseline) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::with_capacity(4);
    item.insert(PARTITION_KEY.into(), s(&baseline.linked_account_id));
    item.insert(SORT_KEY.into(), s(BASELINE_SORT_KEY));
    item.insert("baseline_at".into(), s(to_rfc3339(baseline.at)));
    item.insert("baseline_set_by".into(), s(baseline.set_by.as_str()));
    item
}

/// The baseline an item holds; `None` for one this function did not write.
pub fn baseline_from_item(item: &HashMap<String, AttributeValue>) -> Option<Baseline> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
    Some(Baseline {
        linked_account_id: text(PARTITION_KEY)?.clone(),
        at: super::item::stored_date(text("baseline_at")?)?,
        set_by: SetBy::parse(text("baseline_set_by")?)?,
    })
}

/// The sort key of an account's local cutoff item, beside its baseline: like it, no
/// `decision`, so the stream's filter and every entry read pass it by.
pub const CUTOFF_SORT_KEY: &str = "#cutoff";

/// The item an account's local cutoff is stored as.
pub fn cutoff_to_item(
    linked_account_id: &str,
    local: LocalCutoff,
    at: DateTime<Utc>,
) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::with_capacity(5);
    item.insert(PARTITION_KEY.into(), s(linked_account_id));
    item.insert(SORT_KEY.into(), s(CUTOFF_SORT_KEY));
    item.insert("cutoff_time_zone".into(), s(local.zone_name()));
    item.insert("cutoff".into(), s(local.cutoff.as_str()));
    item.insert("cutoff_set_at".into(), s(to_rfc3339(at)));
    item
}

/// The local cutoff an item holds; `None` for one this function did not write, or a
/// zone this build's time zone data does not know.
pub fn cutoff_from_item(item: &HashMap<String, AttributeValue>) -> Option<LocalCutoff> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
    Some(LocalCutoff {
        zone: parse_zone(text("cutoff_time_zone")?)?,
        cutoff: Cutoff::parse(text("cutoff")?)?,
    })
}

impl SdkLedger {
    /// [`Ledger::get_cutoff`](super::Ledger::get_cutoff).
    pub(super) async fn read_cutoff(
        &self,
        linked_account_id: &str,
    ) -> Result<Option<LocalCutoff>, LedgerError> {
        let answer = self
            .client()
            .await
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(linked_account_id))
            .key(SORT_KEY, s(CUTOFF_SORT_KEY))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        match answer.item() {
            None => Ok(None),
            Some(item) => cutoff_from_item(item)
                .map(Some)
                .ok_or(LedgerError::Unreadable),
        }
    }

    /// [`Ledger::put_cutoff`](super::Ledger::put_cutoff).
    pub(super) async fn write_cutoff(
        &self,
        linked_account_id: &str,
        local: LocalCutoff,
        at: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.client()
            .await
            .put_item()
            .table_name(&self.table)
            .set_item(Some(cutoff_to_item(linked_account_id, local, at)))
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }

    /// [`Ledger::get_baseline`](super::Ledger::get_baseline).
    pub(super) async fn read_baseline(
        &self,
        linked_account_id: &str,
    ) -> Result<Option<Baseline>, LedgerError> {
        let answer = self
            .client()
            .await
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(linked_account_id))
            .key(SORT_KEY, s(BASELINE_SORT_KEY))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        match answer.item() {
            None => Ok(None),
            Some(item) => baseline_from_item(item)
                .map(Some)
                .ok_or(LedgerError::Unreadable),
        }
    }

    /// [`Ledger::put_baseline`](super::Ledger::put_baseline).
    pub(super) async fn write_baseline(
        &self,
        baseline: &Baseline,
        replace: bool,
    ) -> Result<(), LedgerError> {
        let mut call = self
            .client()
            .await
            .put_item()
            .table_name(&self.table)
            .set_item(Some(baseline_to_item(baseline)));
        if !replace {
            call = call.condition_expression(format!("attribute_not_exists({SORT_KEY})"));
        }
        call.send().await.map(|_| ()).map_err(classify)
    }

    /// [`Ledger::has_entries`](super::Ledger::has_entries): the partition's first items.
    /// At most three of the account's own items (`#baseline`, `#cutoff`, `#sweep`) sort
    /// before its entries, whose ids are Merge's UUIDs: four items tell.
    pub(super) async fn query_any_entry(
        &self,
        linked_account_id: &str,
    ) -> Result<bool, LedgerError> {
        let answer = self
            .client()
            .await
            .query()
            .table_name(&self.table)
            .key_condition_expression("#account = :account")
            .expression_attribute_names("#account", PARTITION_KEY)
            .expression_attribute_values(":account", s(linked_account_id))
            .limit(4)
            .send()
            .await
            .map_err(classify)?;
        Ok(answer
            .items()
            .iter()
            .any(|item| item.contains_key("decision")))
    }

    /// [`Ledger::terminated`](super::Ledger::terminated): the account's partition, page
    /// after page, `terminated` entries only. Eventually consistent, at half the cost:
    /// the backfill reads each entry again, consistently, before it works it.
    pub(super) async fn query_terminated(
        &self,
        linked_account_id: &str,
    ) -> Result<Vec<Entry>, LedgerError> {
        let client = self.client().await;
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let answer = client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#account = :account")
                .filter_expression("#decision = :terminated")
                .expression_attribute_names("#account", PARTITION_KEY)
                .expression_attribute_names("#decision", "decision")
                .expression_attribute_values(":account", s(linked_account_id))
                .expression_attribute_values(":terminated", s(Decision::Terminated.as_str()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for item in answer.items() {
                found.push(from_item(item).ok_or(LedgerError::Unreadable)?);
            }
            match answer.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(found),
            }
        }
    }

    /// [`Ledger::deprovisioned`](super::Ledger::deprovisioned): the account's
    /// partition, page after page, entries holding deprovisioning outcomes whatever
    /// their decision. Eventually consistent: an undo reads each entry again,
    /// consistently, before it changes anything.
    pub(super) async fn query_deprovisioned(
        &self,
        linked_account_id: &str,
    ) -> Result<Vec<Entry>, LedgerError> {
        let client = self.client().await;
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let answer = client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#account = :account")
                .filter_expression("attribute_exists(#deprovisioning)")
                .expression_attribute_names("#account", PARTITION_KEY)
                .expression_attribute_names("#deprovisioning", DEPROVISIONING)
                .expression_attribute_values(":account", s(linked_account_id))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for item in answer.items() {
                found.push(from_item(item).ok_or(LedgerError::Unreadable)?);
            }
            match answer.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(found),
            }
        }
    }
}
