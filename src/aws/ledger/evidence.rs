//! How the evidence trail is stored in the ledger's table: each fact one item under
//! `#evidence#<YYYY-MM>` (the month of its termination), written once on the condition
//! that its key is free, in the same transaction as the entry write it describes; and
//! the paginated Query that reads one month back, for one account or all.

use super::item::stored_date;
use super::{LedgerError, PARTITION_KEY, SORT_KEY, SdkLedger, classify, n, s};
use crate::domain::dates::to_rfc3339;
use crate::domain::evidence::{Evidence, Fact, Trigger, kind_of, month_of, termination_of};
use crate::domain::ledger::{EmployeeKey, Identity};
use crate::domain::outcome::Outcome;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// What every evidence partition starts with: `#`, which no linked account id (a UUID,
/// or `-`) does, and no `decision`, so the stream's filter and every entry read pass the
/// items by.
pub const EVIDENCE_PREFIX: &str = "#evidence#";

/// DynamoDB's limit on the items of one `TransactWriteItems`.
pub const TRANSACTION_ITEMS: usize = 100;

/// The partition of `month` (`YYYY-MM`).
pub fn evidence_partition(month: &str) -> String {
    format!("{EVIDENCE_PREFIX}{month}")
}

/// An instant at a fixed width (microseconds, `Z`), so that keys sort by time.
fn fixed(instant: DateTime<Utc>) -> String {
    instant.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The sort key of a fact: `<linked account>#<employee>#<termination>#<at>#<kind>`,
/// then the target for a target's outcome, then what tells two writes apart: the
/// entry's revision for a fact written with its entry (`r` and ten digits), the
/// invocation for an operator's action. One account's month is one `begins_with`, in
/// the order things happened to each employee.
pub fn evidence_sort_key(evidence: &Evidence, revision: Option<u64>) -> String {
    let key = &evidence.key;
    let mut sort = format!(
        "{}#{}#{}#{}#{}",
        key.linked_account_id,
        key.employee_id,
        fixed(termination_of(evidence)),
        fixed(evidence.at),
        kind_of(&evidence.fact)
    );
    match &evidence.fact {
        Fact::Target { target, .. } => sort.push_str(&format!("#{target}")),
        Fact::Operator { action, .. } => sort.push_str(&format!("#{action}")),
        _ => {}
    }
    match (revision, &evidence.fact) {
        (Some(revision), _) => sort.push_str(&format!("#r{revision:010}")),
        (None, Fact::Operator { run, .. }) => {
            sort.push_str(&format!("#{}", run.as_deref().unwrap_or("-")));
        }
        (None, _) => sort.push_str("#-"),
    }
    sort
}

/// The item a fact is stored as. Absent values are absent attributes.
pub fn evidence_to_item(
    evidence: &Evidence,
    revision: Option<u64>,
) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::with_capacity(16);
    item.insert(
        PARTITION_KEY.into(),
        s(evidence_partition(&month_of(evidence))),
    );
    item.insert(SORT_KEY.into(), s(evidence_sort_key(evidence, revision)));
    item.insert("fact".into(), s(kind_of(&evidence.fact)));
    item.insert("account".into(), s(&evidence.key.linked_account_id));
    if !evidence.key.employee_id.is_empty() {
        item.insert("employee".into(), s(&evidence.key.employee_id));
    }
    item.insert("at".into(), s(to_rfc3339(evidence.at)));
    if let Some(revision) = revision {
        item.insert("revision".into(), n(revision));
    }
    fact_attributes(&evidence.fact, &mut item);
    item
}

/// The attributes of one kind of fact.
fn fact_attributes(fact: &Fact, item: &mut HashMap<String, AttributeValue>) {
    let mut text = |name: &str, value: Option<&str>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            item.insert(name.into(), s(value));
        }
    };
    let date = |d: &Option<DateTime<Utc>>| d.map(to_rfc3339);
    match fact {
        Fact::Terminated {
            termination_date,
            effective_at,
            rule,
            by,
            learned_at,
            learned_by,
            historical,
            identity,
        } => {
            text("termination_date", date(termination_date).as_deref());
            text("effective_at", date(effective_at).as_deref());
            text("rule", rule.as_deref());
            text("by", Some(by.as_str()));
            text("learned_at", Some(&to_rfc3339(*learned_at)));
            text("learned_by", Some(learned_by.as_str()));
            for (name, value) in identity_fields(identity) {
                text(name, value.as_deref());
            }
            item.insert("historical".into(), AttributeValue::Bool(*historical));
        }
        Fact::Rehired { termination, by } => {
            text("termination", Some(&to_rfc3339(*termination)));
            text("by", Some(by.as_str()));
        }
        Fact::Target {
            target,
            termination,
            outcome,
            user,
            run,
            by,
        } => {
            text("target", Some(target));
            text("termination", date(termination).as_deref());
            text("outcome", Some(outcome.as_str()));
            text("user", user.as_deref());
            text("run", run.as_deref());
            text("by", Some(by.as_str()));
        }
        Fact::Operator {
            action,
            summary,
            run,
        } => {
            text("action", Some(action));
            text("summary", Some(summary));
            text("run", run.as_deref());
        }
    }
}

/// The identity fields a termination's fact keeps, by attribute: those the entry keeps.
fn identity_fields(identity: &Identity) -> [(&'static str, &Option<String>); 7] {
    [
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
    ]
}

/// The fact an item holds; `None` for an item this function did not write as evidence.
pub fn evidence_from_item(item: &HashMap<String, AttributeValue>) -> Option<Evidence> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let date = |name: &str| text(name).map(|t| stored_date(&t));
    // A date that is there must read; one that is not is `None`.
    let optional = |name: &str| match date(name) {
        None => Some(None),
        Some(read) => read.map(Some),
    };
    let by = |name: &str| Trigger::parse(&text(name)?);
    if !text(PARTITION_KEY)?.starts_with(EVIDENCE_PREFIX) {
        return None;
    }
    let fact = match text("fact")?.as_str() {
        "terminated" => Fact::Terminated {
            termination_date: optional("termination_date")?,
            effective_at: optional("effective_at")?,
            rule: text("rule"),
            by: by("by")?,
            learned_at: date("learned_at")??,
            learned_by: by("learned_by")?,
            historical: *item.get("historical")?.as_bool().ok()?,
            identity: Identity {
                remote_id: text("remote_id"),
                employee_number: text("employee_number"),
                work_email: text("work_email"),
                username: text("username"),
                display_full_name: text("display_full_name"),
                integration: text("integration"),
                end_user_organization_name: text("end_user_organization_name"),
            },
        },
        "rehired" => Fact::Rehired {
            termination: date("termination")??,
            by: by("by")?,
        },
        "target" => Fact::Target {
            target: text("target")?,
            termination: optional("termination")?,
            outcome: Outcome::parse(&text("outcome")?)?,
            user: text("user"),
            run: text("run"),
            by: by("by")?,
        },
        "operator" => Fact::Operator {
            action: text("action")?,
            summary: text("summary").unwrap_or_default(),
            run: text("run"),
        },
        _ => return None,
    };
    Some(Evidence {
        key: EmployeeKey {
            linked_account_id: text("account")?,
            employee_id: text("employee").unwrap_or_default(),
        },
        at: date("at")??,
        fact,
    })
}

/// The condition every fact's write carries: its key is free, so a fact is never
/// overwritten, and a write that would is refused as a whole.
pub const FACT_CONDITION: &str = "attribute_not_exists(employee_id)";

/// Each fact as one item of a transaction, conditioned on its key being free.
pub fn fact_puts(
    table: &str,
    facts: &[Evidence],
    revision: Option<u64>,
) -> Result<Vec<TransactWriteItem>, LedgerError> {
    facts
        .iter()
        .map(|fact| {
            let put = Put::builder()
                .table_name(table)
                .set_item(Some(evidence_to_item(fact, revision)))
                .condition_expression(FACT_CONDITION)
                .build()
                .map_err(|_| LedgerError::Rejected("ValidationException".into()))?;
            Ok(TransactWriteItem::builder().put(put).build())
        })
        .collect()
}

/// How a write's facts are split when they do not fit one transaction beside the
/// `fixed` items (the entry, and the note): the facts written first, in transactions of
/// their own, and those that go with the entry. Facts first, so a process dying between
/// leaves evidence of a change not yet made (which its retry makes, with facts of its
/// own time), never a change without its evidence.
pub fn split_facts(facts: &[Evidence], fixed: usize) -> (Vec<&[Evidence]>, &[Evidence]) {
    let room = TRANSACTION_ITEMS.saturating_sub(fixed);
    if facts.len() <= room {
        return (Vec::new(), facts);
    }
    let (early, last) = facts.split_at(facts.len() - room);
    (early.chunks(TRANSACTION_ITEMS).collect(), last)
}

impl SdkLedger {
    /// Sends `items` as one transaction.
    pub(super) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), LedgerError> {
        self.client()
            .await
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
            .map_err(super::classify_transaction)
    }

    /// Writes the facts that do not fit beside the entry, in transactions of their own;
    /// answers those that go with it.
    pub(super) async fn write_early<'f>(
        &self,
        facts: &'f [Evidence],
        revision: Option<u64>,
        fixed: usize,
    ) -> Result<&'f [Evidence], LedgerError> {
        let (early, last) = split_facts(facts, fixed);
        for chunk in early {
            self.transact(fact_puts(&self.table, chunk, revision)?)
                .await?;
        }
        Ok(last)
    }

    /// [`Ledger::put_evidence`](super::Ledger::put_evidence).
    pub(super) async fn write_evidence(&self, facts: &[Evidence]) -> Result<(), LedgerError> {
        for chunk in facts.chunks(TRANSACTION_ITEMS) {
            self.transact(fact_puts(&self.table, chunk, None)?).await?;
        }
        Ok(())
    }

    /// [`Ledger::evidence`](super::Ledger::evidence): every page of the month's
    /// partition, or of the account's part of it.
    pub(super) async fn query_evidence(
        &self,
        month: &str,
        linked_account_id: Option<&str>,
    ) -> Result<Vec<Evidence>, LedgerError> {
        let mut query = self
            .client()
            .await
            .query()
            .table_name(&self.table)
            .expression_attribute_names("#p", PARTITION_KEY)
            .expression_attribute_values(":p", s(evidence_partition(month)))
            .consistent_read(true);
        query = match linked_account_id {
            Some(account) => query
                .key_condition_expression("#p = :p AND begins_with(#s, :account)")
                .expression_attribute_names("#s", SORT_KEY)
                .expression_attribute_values(":account", s(format!("{account}#"))),
            None => query.key_condition_expression("#p = :p"),
        };
        let mut pages = query.into_paginator().items().send();
        let mut facts = Vec::new();
        while let Some(item) = pages.next().await {
            let item = item.map_err(classify)?;
            facts.push(evidence_from_item(&item).ok_or(LedgerError::Unreadable)?);
        }
        Ok(facts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, hour, 0, 0).unwrap()
    }

    fn key() -> EmployeeKey {
        EmployeeKey::new(Some("a1"), "e1")
    }

    fn every_kind() -> Vec<Evidence> {
        let fact = |at, fact| Evidence {
            key: key(),
            at,
            fact,
        };
        vec![
            fact(
                at(1),
                Fact::Terminated {
                    termination_date: Some(at(0)),
                    effective_at: Some(at(0) + chrono::TimeDelta::hours(23)),
                    rule: Some("end of day, Europe/Paris".into()),
                    by: Trigger::Sweep,
                    learned_at: at(0),
                    learned_by: Trigger::Webhook,
                    historical: true,
                    identity: Identity {
                        work_email: Some("leaver@example.com".into()),
                        remote_id: Some("R-19".into()),
                        ..Identity::default()
                    },
                },
            ),
            fact(
                at(2),
                Fact::Target {
                    target: "chat".into(),
                    termination: Some(at(1)),
                    outcome: Outcome::Deactivated,
                    user: Some("user-1".into()),
                    run: Some("run-1".into()),
                    by: Trigger::Release,
                },
            ),
            fact(
                at(3),
                Fact::Rehired {
                    termination: at(1),
                    by: Trigger::Webhook,
                },
            ),
            crate::domain::evidence::operator(Some("a1"), "pause", "all targets", None, at(4)),
        ]
    }

    #[test]
    fn every_kind_of_fact_survives_the_round_trip_through_its_item() {
        for fact in every_kind() {
            let item = evidence_to_item(&fact, Some(7));
            assert_eq!(evidence_from_item(&item), Some(fact));
            assert_eq!(item[PARTITION_KEY], s("#evidence#2026-11"));
        }
    }

    #[test]
    fn one_employees_keys_sort_by_termination_then_time_and_begin_with_the_account() {
        let keys: Vec<_> = every_kind()[..3]
            .iter()
            .map(|e| evidence_sort_key(e, Some(7)))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert!(
            keys.iter()
                .all(|k| k.starts_with("a1#e1#2026-11-27T01:00:00.000000Z#"))
        );
        assert!(keys[1].ends_with("#target#chat#r0000000007"), "{}", keys[1]);
        let operator = evidence_sort_key(&every_kind()[3], None);
        assert!(operator.starts_with("a1##") && operator.ends_with("#operator#pause#-"));
    }

    #[test]
    fn a_fact_is_filed_under_its_terminations_month_not_its_own() {
        let mut late = every_kind()[1].clone();
        late.at = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
        assert_eq!(
            evidence_to_item(&late, None)[PARTITION_KEY],
            s("#evidence#2026-11")
        );
    }

    #[test]
    fn an_item_this_function_did_not_write_as_evidence_reads_as_none() {
        let mut item = evidence_to_item(&every_kind()[1], None);
        item.insert("outcome".into(), s("vanished"));
        assert_eq!(evidence_from_item(&item), None);
        let mut entry_partition = evidence_to_item(&every_kind()[1], None);
        entry_partition.insert(PARTITION_KEY.into(), s("a1"));
        assert_eq!(evidence_from_item(&entry_partition), None);
        assert_eq!(evidence_from_item(&HashMap::new()), None);
    }

    #[test]
    fn facts_beyond_one_transaction_are_written_first_in_transactions_of_their_own() {
        let facts = vec![every_kind()[1].clone(); 250];
        let (early, last) = split_facts(&facts, 2);
        assert_eq!(last.len(), TRANSACTION_ITEMS - 2);
        assert_eq!(early.iter().map(|c| c.len()).collect::<Vec<_>>(), [100, 52]);
        let (early, last) = split_facts(&facts[..98], 2);
        assert!(early.is_empty());
        assert_eq!(last.len(), 98);
    }
}
