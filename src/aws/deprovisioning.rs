//! DynamoDB, for deprovisioning's own bookkeeping in the ledger's table: the brake's
//! counter per hour, the list of employees whose deprovisioning is under way or waits
//! (held, failed, paused, unrecorded) for a release, and the operator's pause. [`DeprovisionStore`] is the narrow interface;
//! [`SdkDeprovisionStore`] is the AWS SDK behind it.
//!
//! All three live under partition keys that start with `#`, which no linked account id
//! (a UUID, or `-`) does, and carry no `decision`, so the ledger's stream filter never
//! selects them and no entry read ever meets them.

use crate::aws::ledger::{LedgerError, PARTITION_KEY, SORT_KEY, classify};
use crate::aws::scheduler::{BoxFuture, sdk_config};
use crate::domain::control::Pause;
use crate::domain::dates::to_rfc3339;
use crate::domain::ledger::EmployeeKey;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;

/// The partition of the brake's counters, one item per UTC hour.
pub const BRAKE_PARTITION: &str = "#deprovision-brake";
/// The partition of the employees whose deprovisioning waits for a release.
pub const WAITING_PARTITION: &str = "#deprovision-waiting";
/// The partition of the operator's controls: one item, the pause.
pub const CONTROL_PARTITION: &str = "#deprovision-control";
/// The pause item's sort key.
pub const PAUSE_SORT_KEY: &str = "pause";

/// The calls deprovisioning's bookkeeping needs.
pub trait DeprovisionStore: Send + Sync {
    /// Takes one of the `limit` changes allowed in `window`: `Ok(false)` when all are
    /// taken. The counter expires (TTL) at `expires`.
    fn take<'a>(
        &'a self,
        window: &'a str,
        limit: u32,
        expires: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<bool, LedgerError>>;
    /// Gives back one change taken in `window`: the change was not made (it failed, or
    /// there was nothing to change). Never below zero.
    fn give_back<'a>(&'a self, window: &'a str) -> BoxFuture<'a, Result<(), LedgerError>>;
    /// Notes that `key` has deprovisioning waiting for a release; answers the note's
    /// count, which every note raises.
    fn wait<'a>(&'a self, key: &'a EmployeeKey) -> BoxFuture<'a, Result<u64, LedgerError>>;
    /// Every employee noted as waiting, with its note's count.
    fn waiting(&self) -> BoxFuture<'_, Result<Vec<(EmployeeKey, u64)>, LedgerError>>;
    /// Removes the note for `key` if its count is still `seen`: a note made meanwhile
    /// (work that now waits again) stays.
    fn done<'a>(
        &'a self,
        key: &'a EmployeeKey,
        seen: u64,
    ) -> BoxFuture<'a, Result<(), LedgerError>>;
    /// The operator's pause, read consistently; nothing paused when no item was written.
    fn pause(&self) -> BoxFuture<'_, Result<Pause, LedgerError>>;
    /// Writes the operator's pause, if the stored one was last changed at `read_at`
    /// (none: never written): `ConditionFailed` when another write came first.
    fn set_pause<'a>(
        &'a self,
        pause: &'a Pause,
        read_at: Option<DateTime<Utc>>,
    ) -> BoxFuture<'a, Result<(), LedgerError>>;
}

/// The pause an item holds. An item this function did not write is unreadable: a
/// deprovisioning step that cannot tell whether it is paused changes nothing.
pub fn pause_from_item(
    item: &std::collections::HashMap<String, AttributeValue>,
) -> Result<Pause, LedgerError> {
    let all = match item.get("paused_all") {
        Some(AttributeValue::Bool(all)) => *all,
        _ => return Err(LedgerError::Unreadable),
    };
    let targets = match item.get("paused_targets") {
        None => Default::default(),
        Some(AttributeValue::L(names)) => names
            .iter()
            .map(|n| n.as_s().cloned().map_err(|_| LedgerError::Unreadable))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(LedgerError::Unreadable),
    };
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    Ok(Pause {
        all,
        targets,
        reason: text("reason"),
        changed_at: text("changed_at").and_then(|t| t.parse().ok()),
    })
}

/// The sort key of a waiting note: the two ids, which never hold a `/` (UUIDs, `-`).
pub fn waiting_sort_key(key: &EmployeeKey) -> String {
    format!("{}/{}", key.linked_account_id, key.employee_id)
}

/// The update that notes `key` as waiting: its ids, and the note's count raised by one.
const NOTE_UPDATE: &str =
    "SET waiting_linked_account_id = :l, waiting_employee_id = :e ADD notes :one";

/// The note of `key` as waiting, as one item of a transaction (see
/// [`Ledger::put_noting`](crate::aws::ledger::Ledger::put_noting)).
pub fn waiting_note(
    table: &str,
    key: &EmployeeKey,
) -> Result<aws_sdk_dynamodb::types::Update, LedgerError> {
    aws_sdk_dynamodb::types::Update::builder()
        .table_name(table)
        .key(PARTITION_KEY, s(WAITING_PARTITION))
        .key(SORT_KEY, s(waiting_sort_key(key)))
        .update_expression(NOTE_UPDATE)
        .expression_attribute_values(":l", s(&key.linked_account_id))
        .expression_attribute_values(":e", s(&key.employee_id))
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .build()
        .map_err(|_| LedgerError::Rejected("ValidationException".into()))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// The AWS SDK behind [`DeprovisionStore`], in the ledger's table.
#[derive(Debug)]
pub struct SdkDeprovisionStore {
    table: String,
    client: OnceCell<aws_sdk_dynamodb::Client>,
}

impl SdkDeprovisionStore {
    /// Bookkeeping in `table`.
    pub fn new(table: impl Into<String>) -> Self {
        SdkDeprovisionStore {
            table: table.into(),
            client: OnceCell::new(),
        }
    }

    /// Bookkeeping in `table`, through `client` (one pointed at an emulator, in its CI
    /// stage).
    pub fn with_client(table: impl Into<String>, client: aws_sdk_dynamodb::Client) -> Self {
        SdkDeprovisionStore {
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

impl DeprovisionStore for SdkDeprovisionStore {
    fn take<'a>(
        &'a self,
        window: &'a str,
        limit: u32,
        expires: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<bool, LedgerError>> {
        Box::pin(async move {
            // One conditional increment: concurrent invocations cannot both take the
            // last change.
            let taken = self
                .client()
                .await
                .update_item()
                .table_name(&self.table)
                .key(PARTITION_KEY, s(BRAKE_PARTITION))
                .key(SORT_KEY, s(window))
                .update_expression("ADD changes :one SET expires_at = :expires")
                .condition_expression("attribute_not_exists(changes) OR changes < :limit")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .expression_attribute_values(":limit", AttributeValue::N(limit.to_string()))
                .expression_attribute_values(
                    ":expires",
                    AttributeValue::N(expires.timestamp().to_string()),
                )
                .send()
                .await;
            match taken.map_err(classify) {
                Ok(_) => Ok(true),
                Err(LedgerError::ConditionFailed) => Ok(false),
                Err(error) => Err(error),
            }
        })
    }

    fn give_back<'a>(&'a self, window: &'a str) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(async move {
            let given = self
                .client()
                .await
                .update_item()
                .table_name(&self.table)
                .key(PARTITION_KEY, s(BRAKE_PARTITION))
                .key(SORT_KEY, s(window))
                .update_expression("ADD changes :less")
                .condition_expression("changes > :zero")
                .expression_attribute_values(":less", AttributeValue::N("-1".into()))
                .expression_attribute_values(":zero", AttributeValue::N("0".into()))
                .send()
                .await;
            match given.map_err(classify) {
                Ok(_) | Err(LedgerError::ConditionFailed) => Ok(()),
                Err(error) => Err(error),
            }
        })
    }

    fn wait<'a>(&'a self, key: &'a EmployeeKey) -> BoxFuture<'a, Result<u64, LedgerError>> {
        Box::pin(async move {
            let written = self
                .client()
                .await
                .update_item()
                .table_name(&self.table)
                .key(PARTITION_KEY, s(WAITING_PARTITION))
                .key(SORT_KEY, s(waiting_sort_key(key)))
                .update_expression(NOTE_UPDATE)
                .expression_attribute_values(":l", s(&key.linked_account_id))
                .expression_attribute_values(":e", s(&key.employee_id))
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
                .send()
                .await
                .map_err(classify)?;
            Ok(written
                .attributes()
                .and_then(|a| a.get("notes"))
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0))
        })
    }

    fn waiting(&self) -> BoxFuture<'_, Result<Vec<(EmployeeKey, u64)>, LedgerError>> {
        Box::pin(async move {
            let mut keys = Vec::new();
            let mut pages = self
                .client()
                .await
                .query()
                .table_name(&self.table)
                .key_condition_expression("#p = :p")
                .expression_attribute_names("#p", PARTITION_KEY)
                .expression_attribute_values(":p", s(WAITING_PARTITION))
                .consistent_read(true)
                .into_paginator()
                .items()
                .send();
            while let Some(item) = pages.next().await {
                let item = item.map_err(classify)?;
                let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
                if let (Some(linked), Some(employee)) = (
                    text("waiting_linked_account_id"),
                    text("waiting_employee_id"),
                ) {
                    // A note from before counts existed reads as 0.
                    let notes = item
                        .get("notes")
                        .and_then(|v| v.as_n().ok())
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                    keys.push((
                        EmployeeKey {
                            linked_account_id: linked,
                            employee_id: employee,
                        },
                        notes,
                    ));
                }
            }
            Ok(keys)
        })
    }

    fn done<'a>(
        &'a self,
        key: &'a EmployeeKey,
        seen: u64,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(async move {
            let removed = self
                .client()
                .await
                .delete_item()
                .table_name(&self.table)
                .key(PARTITION_KEY, s(WAITING_PARTITION))
                .key(SORT_KEY, s(waiting_sort_key(key)))
                .condition_expression(if seen == 0 {
                    "attribute_not_exists(notes) OR notes = :seen"
                } else {
                    "notes = :seen"
                })
                .expression_attribute_values(":seen", AttributeValue::N(seen.to_string()))
                .send()
                .await;
            match removed.map_err(classify) {
                // Noted again meanwhile (or already gone): the note stays as it is.
                Ok(_) | Err(LedgerError::ConditionFailed) => Ok(()),
                Err(error) => Err(error),
            }
        })
    }
    fn pause(&self) -> BoxFuture<'_, Result<Pause, LedgerError>> {
        Box::pin(async move {
            // A Query of the control partition, which the function's grant on it allows
            // (no GetItem there): one item at most.
            let read = self
                .client()
                .await
                .query()
                .table_name(&self.table)
                .key_condition_expression("#p = :p AND #s = :s")
                .expression_attribute_names("#p", PARTITION_KEY)
                .expression_attribute_names("#s", SORT_KEY)
                .expression_attribute_values(":p", s(CONTROL_PARTITION))
                .expression_attribute_values(":s", s(PAUSE_SORT_KEY))
                .consistent_read(true)
                .send()
                .await
                .map_err(classify)?;
            match read.items().first() {
                Some(item) => pause_from_item(item),
                None => Ok(Pause::default()),
            }
        })
    }

    fn set_pause<'a>(
        &'a self,
        pause: &'a Pause,
        read_at: Option<DateTime<Utc>>,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(async move {
            let names = pause.targets.iter().map(s).collect();
            let mut update = self
                .client()
                .await
                .update_item()
                .table_name(&self.table)
                .key(PARTITION_KEY, s(CONTROL_PARTITION))
                .key(SORT_KEY, s(PAUSE_SORT_KEY))
                .expression_attribute_values(":all", AttributeValue::Bool(pause.all))
                .expression_attribute_values(":targets", AttributeValue::L(names));
            let mut set = String::from("SET paused_all = :all, paused_targets = :targets");
            let mut remove = Vec::new();
            for (name, value) in [
                ("reason", pause.reason.clone()),
                ("changed_at", pause.changed_at.map(to_rfc3339)),
            ] {
                match value {
                    Some(value) => {
                        set.push_str(&format!(", {name} = :{name}"));
                        update = update.expression_attribute_values(format!(":{name}"), s(value));
                    }
                    None => remove.push(name),
                }
            }
            if !remove.is_empty() {
                set.push_str(&format!(" REMOVE {}", remove.join(", ")));
            }
            update = match read_at {
                Some(at) => update
                    .condition_expression("changed_at = :read_at")
                    .expression_attribute_values(":read_at", s(to_rfc3339(at))),
                None => update.condition_expression("attribute_not_exists(changed_at)"),
            };
            update
                .update_expression(set)
                .send()
                .await
                .map_err(classify)?;
            Ok(())
        })
    }
}
