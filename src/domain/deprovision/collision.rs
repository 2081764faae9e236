//! Identity collisions: a leaver's match value that another live employee of the same
//! linked account shares. The value found in a target is the address (or name, or id)
//! the rule matches on, and the person who holds it now may not be the leaver: a rehire
//! under a new id, or a new hire given a freed address. Such a leaver is refused
//! (`conflict`), never guessed.
//!
//! The ledger keeps an index per employee field, keyed by [`index_key`]; this module
//! says what the key is and which entries the index returned are a conflict.

use super::{EmployeeField, MatchRule};
use crate::domain::decision::Decision;
use crate::domain::ledger::{EmployeeKey, Entry, Identity};

/// The form a value takes in the ledger's index: trimmed and in lower case, the loosest
/// of the comparisons a rule makes (`userName` and e-mail addresses compare
/// case-insensitively, `externalId` exactly), so the index returns every entry any rule
/// could find the same. `None` for a value that is empty once trimmed.
pub fn normalised(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_lowercase())
}

/// The index key of `value` in `linked_account_id`: `<linked account id>|<normalised
/// value>`, so that a value only meets the entries of its own account.
pub fn index_key(linked_account_id: &str, value: &str) -> Option<String> {
    Some(format!("{linked_account_id}|{}", normalised(value)?))
}

/// The employee's value of `field`, as the ledger keeps it.
pub fn field_value(identity: &Identity, field: EmployeeField) -> Option<&str> {
    match field {
        EmployeeField::WorkEmail => identity.work_email.as_deref(),
        EmployeeField::RemoteId => identity.remote_id.as_deref(),
        EmployeeField::Username => identity.username.as_deref(),
        EmployeeField::EmployeeNumber => identity.employee_number.as_deref(),
    }
}

/// An entry the ledger's index returned for a value: whose, its decision, and its value
/// of the field, when the index carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sharer {
    /// The employee.
    pub key: EmployeeKey,
    /// The entry's decision.
    pub decision: Decision,
    /// The employee's value of the field, as stored (`None`: the index did not say).
    pub value: Option<String>,
}

/// The first of `sharers` that makes deprovisioning `leaver` under `rule` a conflict:
/// another employee of the leaver's linked account, not `terminated` (active, scheduled
/// or undetermined all count: when in doubt, refuse), whose value is the leaver's as the
/// rule's SCIM attribute compares it ([`ScimAttribute::same`](super::ScimAttribute::same)).
/// An entry whose value the index did not carry counts as the same. `None`: nobody else
/// holds the value, and the target may be worked.
pub fn conflict<'a>(leaver: &Entry, rule: &MatchRule, sharers: &'a [Sharer]) -> Option<&'a Sharer> {
    let wanted = rule.value(&leaver.identity)?;
    sharers.iter().find(|other| {
        other.key != leaver.key
            && other.key.linked_account_id == leaver.key.linked_account_id
            && other.decision != Decision::Terminated
            && other
                .value
                .as_deref()
                .is_none_or(|value| rule.attribute.same(value, wanted))
    })
}
