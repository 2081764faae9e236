//! The deprovision-now document (`merge-deprovision.deprovision-now`): one employee a
//! person names (by Merge id, or by a match value the ledger's indexes resolve), and the
//! entry once moved into `terminated` by hand, effective now, ahead of HR.

use crate::domain::decision::Decision;
use crate::domain::deprovision::EmployeeField;
use crate::domain::ledger::{Entry, Source};
use crate::domain::undo::{ControlError, FieldKind, account, check_fields, kind_of, text};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The `kind` of the deprovision-now document.
pub const NOW_KIND: &str = "merge-deprovision.deprovision-now";

/// The reasons a termination made by hand carries.
pub const BY_HAND_REASONS: &str = "deprovisioned_by_hand";

/// Who is to be deprovisioned, as the document names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// By Merge employee id.
    Employee(String),
    /// By one of the employee's values the ledger indexes.
    Match {
        /// The employee field.
        field: EmployeeField,
        /// Its value, as given (the ledger's index compares it normalised).
        value: String,
    },
}

/// `{"kind": "merge-deprovision.deprovision-now", "version": 1, "linked_account_id":
/// "…", "employee_id": "…"}`, or with `"match": {"attribute": "work_email", "value":
/// "…"}` instead of `employee_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NowDocument {
    /// The linked account.
    pub linked_account_id: String,
    /// Who.
    pub named: Named,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NowShape {
    #[allow(dead_code)]
    kind: String,
    version: u32,
    linked_account_id: Option<String>,
    employee_id: Option<String>,
    #[serde(rename = "match")]
    matching: Option<MatchShape>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchShape {
    attribute: Option<String>,
    value: Option<String>,
}

/// The employee field an attribute name means, among those the ledger indexes.
fn field(name: &str) -> Option<EmployeeField> {
    match name.trim() {
        "work_email" => Some(EmployeeField::WorkEmail),
        "username" => Some(EmployeeField::Username),
        "remote_id" => Some(EmployeeField::RemoteId),
        "employee_number" => Some(EmployeeField::EmployeeNumber),
        _ => None,
    }
}

/// The deprovision-now document in `body`; `None` for a document of another kind.
pub fn read_now(body: &[u8]) -> Option<Result<NowDocument, ControlError>> {
    if kind_of(body)?.as_str() != NOW_KIND {
        return None;
    }
    let read = || {
        check_fields(
            body,
            &[
                ("kind", FieldKind::Any),
                ("linked_account_id", FieldKind::Text),
                ("employee_id", FieldKind::Text),
                ("match", FieldKind::Object),
            ],
            "`kind`, `version`, `linked_account_id`, `employee_id`, `match`",
        )?;
        let shape: NowShape = serde_json::from_slice(body).map_err(|_| ControlError::BadMatch)?;
        if shape.version != 1 {
            return Err(ControlError::Shape);
        }
        let linked_account_id = account(shape.linked_account_id)?;
        let employee = text(shape.employee_id, "employee_id")?;
        let named = match (employee, shape.matching) {
            (Some(id), None) => Named::Employee(id),
            (None, Some(m)) => {
                let field = m.attribute.as_deref().and_then(field);
                let value = m
                    .value
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty());
                match (field, value) {
                    (Some(field), Some(value)) => Named::Match { field, value },
                    _ => return Err(ControlError::BadMatch),
                }
            }
            (None, None) => return Err(ControlError::NoEmployee),
            (Some(_), Some(_)) => return Err(ControlError::EmployeeTwice),
        };
        Ok(NowDocument {
            linked_account_id,
            named,
        })
    };
    Some(read())
}

/// The entry once a person moved it into `terminated` at `now`: effective now, by hand,
/// owing its `terminated` record, a current termination (never historical). `None` when
/// it is terminated already (its termination stands, and is worked as it is). The
/// version stays HR's, so only newer HR data moves the employee again (a rehire,
/// under the usual rule).
pub fn by_hand(stored: &Entry, now: DateTime<Utc>) -> Option<Entry> {
    if stored.decision == Decision::Terminated && !stored.historical {
        return None;
    }
    Some(Entry {
        decision: Decision::Terminated,
        reasons: BY_HAND_REASONS.to_owned(),
        effective_at: Some(now),
        // Effective when a person said so: no cutoff made it, and the one a scheduled
        // date had no longer applies.
        effective_rule: None,
        changed_by: Source::ByHand,
        delivery_id: None,
        updated_at: now,
        terminated_at: Some(now),
        revision: stored.revision + 1,
        announced: false,
        historical: false,
        ..stored.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: serde_json::Value) -> Result<NowDocument, ControlError> {
        read_now(body.to_string().as_bytes()).expect("a deprovision-now document")
    }

    #[test]
    fn a_document_names_the_employee_by_id_or_by_an_indexed_value_never_both() {
        let base = |extra: serde_json::Value| {
            let mut body = serde_json::json!({"kind": NOW_KIND, "version": 1,
                "linked_account_id": "a"});
            for (k, v) in extra.as_object().unwrap() {
                body[k.as_str()] = v.clone();
            }
            read(body)
        };
        assert_eq!(
            base(serde_json::json!({"employee_id": "e"})).unwrap().named,
            Named::Employee("e".into())
        );
        let by_value = base(serde_json::json!({"match":
            {"attribute": "work_email", "value": " g@x "}}));
        assert_eq!(
            by_value.unwrap().named,
            Named::Match {
                field: EmployeeField::WorkEmail,
                value: "g@x".into()
            }
        );
        let refused = [
            (serde_json::json!({}), ControlError::NoEmployee),
            (
                serde_json::json!({"employee_id": "e", "match": {"attribute": "username", "value": "g"}}),
                ControlError::EmployeeTwice,
            ),
            (
                serde_json::json!({"match": {"attribute": "userName", "value": "g"}}),
                ControlError::BadMatch,
            ),
            (
                serde_json::json!({"match": {"attribute": "username"}}),
                ControlError::BadMatch,
            ),
            (
                serde_json::json!({"employee_id": ""}),
                ControlError::Blank("employee_id"),
            ),
        ];
        for (extra, error) in refused {
            assert_eq!(base(extra.clone()), Err(error), "{extra}");
        }
    }

    #[test]
    fn by_hand_the_termination_is_effective_now_under_no_cutoff_rule() {
        use crate::domain::ledger::{EmployeeKey, Identity, Observation, transition};
        let at = |day| DateTime::parse_from_rfc3339(day).unwrap().to_utc();
        let scheduled = Observation {
            key: EmployeeKey::new(Some("a"), "e"),
            decision: Decision::Scheduled,
            reasons: String::new(),
            termination_date: Some(at("2026-12-31T00:00:00Z")),
            effective_at: Some(at("2026-12-31T00:00:00Z")),
            effective_rule: Some("start of day, UTC".into()),
            version: Some(at("2026-11-20T08:00:00Z")),
            removal: false,
            identity: Identity::default(),
            source: Source::Webhook,
            delivery_id: None,
        };
        let now = at("2026-11-27T12:00:00Z");
        let stored = transition(None, &scheduled, now).write.unwrap();
        let moved = by_hand(&stored, now).unwrap();
        assert_eq!(moved.decision, Decision::Terminated);
        assert_eq!(moved.effective_at, Some(now));
        assert_eq!(moved.effective_rule, None);
    }
}
