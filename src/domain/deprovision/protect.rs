//! The accounts never deprovisioned automatically: the targets secret's `protected`
//! list (break-glass admins, service accounts, legal hold), and the user that owns a
//! target's token where the server can tell (`GET /Me`). Values compare as the leaver's
//! do: trimmed, addresses and usernames case-insensitively, ids exactly.

use super::{EmployeeField, FoundUser, ScimAttribute};
use crate::domain::ledger::{EmployeeKey, Identity};
use serde_json::Value;

/// Values whose accounts are never changed automatically: Merge employee ids, and
/// values of an employee (work e-mail, username, HR id, employee number) or of a SCIM
/// user (the compared attribute's values). Trimmed, none empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProtectedList(Vec<String>);

impl ProtectedList {
    /// A list of `values`, trimmed; empty ones are left out.
    pub fn new<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Self {
        ProtectedList(
            values
                .into_iter()
                .map(|v| v.as_ref().trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect(),
        )
    }

    /// Reads a `protected` field: absent, or a list of non-empty strings. The problem
    /// never names a value.
    pub(super) fn read(field: Option<&Value>) -> Result<Self, String> {
        let problem = || "must be a list of non-empty strings".to_owned();
        match field {
            None | Some(Value::Null) => Ok(ProtectedList::default()),
            Some(Value::Array(values)) => values
                .iter()
                .map(|v| v.as_str().filter(|s| !s.trim().is_empty()))
                .collect::<Option<Vec<_>>>()
                .map(ProtectedList::new)
                .ok_or_else(problem),
            Some(_) => Err(problem()),
        }
    }

    /// This list and `more`.
    pub(super) fn and(&self, more: &ProtectedList) -> ProtectedList {
        ProtectedList(self.0.iter().chain(&more.0).cloned().collect())
    }

    /// How many values.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True without any value.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `value` is on the list, compared as `attribute` compares.
    fn holds(&self, attribute: ScimAttribute, value: &str) -> bool {
        self.0.iter().any(|p| attribute.same(p, value))
    }
}

/// Which protection an account matched, as records name it (never the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// The employee's Merge id is on the list.
    EmployeeId,
    /// One of the employee's values (this field's) is on the list.
    Field(EmployeeField),
    /// One of the found SCIM user's values is on the list.
    ScimValue,
    /// The found SCIM user owns the target's token (`GET /Me`).
    TokenOwner,
}

impl Protection {
    /// `employee_id`, `work_email`, `username`, `remote_id`, `employee_number`,
    /// `scim_value` or `token_owner`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protection::EmployeeId => "employee_id",
            Protection::Field(field) => field.as_str(),
            Protection::ScimValue => "scim_value",
            Protection::TokenOwner => "token_owner",
        }
    }
}

/// Who asks for the change. Only a person's by-hand document for one employee may act
/// on a protected account; every automatic pass (stream, release) is `Automatic`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Authority {
    /// The stream or the release: protection holds.
    #[default]
    Automatic,
    /// A person's document naming the employee: protection is lifted for it.
    ByHand,
}

/// The check made before any change: the protected list, and who owns the token.
#[derive(Debug, Clone, Copy)]
pub struct Guard<'a> {
    /// The target's protected list.
    pub list: &'a ProtectedList,
    /// Who asks.
    pub authority: Authority,
}

impl Guard<'_> {
    /// Whether the leaver is protected by the list, before anything is searched: by
    /// Merge employee id (exactly), or by one of the employee's values (work e-mail
    /// and username case-insensitively, HR id and employee number exactly).
    pub fn leaver(&self, key: &EmployeeKey, identity: &Identity) -> Option<Protection> {
        if self.authority == Authority::ByHand {
            return None;
        }
        if self.list.holds(ScimAttribute::ExternalId, &key.employee_id) {
            return Some(Protection::EmployeeId);
        }
        let fields = [
            (EmployeeField::WorkEmail, &identity.work_email, true),
            (EmployeeField::Username, &identity.username, true),
            (EmployeeField::RemoteId, &identity.remote_id, false),
            (
                EmployeeField::EmployeeNumber,
                &identity.employee_number,
                false,
            ),
        ];
        fields.into_iter().find_map(|(field, value, caseless)| {
            let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
            let compare = if caseless {
                ScimAttribute::UserName
            } else {
                ScimAttribute::ExternalId
            };
            self.list
                .holds(compare, value)
                .then_some(Protection::Field(field))
        })
    }

    /// Whether the found account is protected: one of its values of `attribute` is on
    /// the list, or it owns the target's token (`owner`: the id `GET /Me` answered;
    /// `None` when the server cannot tell).
    pub fn user(
        &self,
        user: &FoundUser,
        attribute: ScimAttribute,
        owner: Option<&str>,
    ) -> Option<Protection> {
        if self.authority == Authority::ByHand {
            return None;
        }
        if user
            .values
            .iter()
            .any(|v| self.list.holds(attribute, &v.value))
        {
            return Some(Protection::ScimValue);
        }
        owner
            .filter(|owner| *owner == user.id)
            .map(|_| Protection::TokenOwner)
    }
}
