//! The undo document (`merge-deprovision.undo`): which of this function's own
//! deactivations to give back (one employee, one linked account's changes in a window
//! of when they were made, or one run of one account), which of the ledger's recorded
//! outcomes that selects, what each comes to, and the entry once a re-activation is
//! recorded. Only a `deactivated` outcome this function recorded is ever selected: a
//! user someone else deactivated is `already_inactive` in the ledger, or not in it.

use crate::domain::deprovision::{Deprovisioning, Outcome};
use crate::domain::ledger::{EmployeeKey, Entry};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// The `kind` of the undo document.
pub const UNDO_KIND: &str = "merge-deprovision.undo";

/// Which changes an undo gives back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every change made for one employee.
    Employee(EmployeeKey),
    /// Every change made in one linked account from `from` to `to` (both included), by
    /// when the change was made.
    Window {
        /// The linked account.
        linked_account_id: String,
        /// The window's start.
        from: DateTime<Utc>,
        /// The window's end.
        to: DateTime<Utc>,
    },
    /// Every change one invocation made in one linked account, by its Lambda request
    /// id. The account is required: the lookup stays one partition's Query, where a run
    /// alone would need a scan of the whole table (or another index).
    Run {
        /// The linked account.
        linked_account_id: String,
        /// The invocation's Lambda request id.
        run: String,
    },
}

impl Scope {
    /// The linked account the scope lies in.
    pub fn linked_account_id(&self) -> &str {
        match self {
            Scope::Employee(key) => &key.linked_account_id,
            Scope::Window {
                linked_account_id, ..
            }
            | Scope::Run {
                linked_account_id, ..
            } => linked_account_id,
        }
    }

    /// `employee`, `window` or `run`, as answers and records name it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Scope::Employee(_) => "employee",
            Scope::Window { .. } => "window",
            Scope::Run { .. } => "run",
        }
    }

    /// True when `recorded`, of `key`, lies in the scope.
    fn holds(&self, key: &EmployeeKey, recorded: &Deprovisioning) -> bool {
        match self {
            Scope::Employee(wanted) => wanted == key,
            Scope::Window {
                linked_account_id,
                from,
                to,
            } => {
                *linked_account_id == key.linked_account_id
                    && *from <= recorded.at
                    && recorded.at <= *to
            }
            Scope::Run {
                linked_account_id,
                run,
            } => {
                *linked_account_id == key.linked_account_id
                    && recorded.run.as_deref() == Some(run.as_str())
            }
        }
    }
}

/// `{"kind": "merge-deprovision.undo", "version": 1, "linked_account_id": "…"}` with
/// exactly one of `"employee_id"`, `"from"` and `"to"`, or `"run"`; `"dry_run"`
/// defaults to true, so an undo only lists what it would re-activate until asked to act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndoDocument {
    /// Which changes.
    pub scope: Scope,
    /// List only: no SCIM call, no write.
    pub dry_run: bool,
    /// A window or a run also undoes changes of employees still `terminated` for the
    /// termination changed (real leavers, unless HR is yet to correct them). Off by
    /// default: an undo meant for a bad sync gives nobody whose termination still stands
    /// their access back unless asked to. An undo by employee names the person, and
    /// always undoes.
    pub include_terminated: bool,
}

/// Why an operator's document cannot be read: names the field, never echoes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// Not JSON of the shape, or another version.
    #[error("the document is not of this kind's shape and version 1")]
    Shape,
    /// `linked_account_id` is missing or blank.
    #[error("`linked_account_id` is required")]
    NoAccount,
    /// None of the ways to name what to undo.
    #[error("one of `employee_id`, `from` with `to`, or `run` is required")]
    NoScope,
    /// More than one of them.
    #[error("only one of `employee_id`, `from` with `to`, or `run` may be given")]
    TwoScopes,
    /// A field is blank.
    #[error("`{0}` must be a non-empty string")]
    Blank(&'static str),
    /// `version` is not 1.
    #[error("`version` must be 1")]
    Version,
    /// A field this kind of document does not take.
    #[error("the document has a field it does not take: only {0}")]
    UnknownField(&'static str),
    /// A field of the wrong JSON type.
    #[error("`{0}` has the wrong type: {1}")]
    WrongType(&'static str, &'static str),
    /// A field is longer than any id or value this function keeps.
    #[error("`{0}` must be at most 256 characters")]
    TooLong(&'static str),
    /// An account id the table reserves (starting with `#`: the function's own
    /// partitions) or that no id holds (`/`, a control character).
    #[error(
        "`{0}` must be a linked account's id: not starting with #, no / and no control character"
    )]
    NotAnAccount(&'static str),
    /// A field is not an RFC 3339 instant.
    #[error("`{0}` must be an RFC 3339 instant, as 2026-11-30T09:00:00Z")]
    BadInstant(&'static str),
    /// `from` without `to`, or the reverse.
    #[error("`from` and `to` go together: give both")]
    HalfWindow,
    /// `to` before `from`.
    #[error("`to` must not be before `from`")]
    Backwards,
    /// Neither `employee_id` nor `match`.
    #[error("one of `employee_id` or `match` is required")]
    NoEmployee,
    /// Both.
    #[error("only one of `employee_id` or `match` may be given")]
    EmployeeTwice,
    /// `match` is not `{"attribute": "...", "value": "..."}` with a known attribute.
    #[error(
        "`match.attribute` must be work_email, username, remote_id or employee_number, \
         and `match.value` a non-empty string"
    )]
    BadMatch,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UndoShape {
    #[allow(dead_code)]
    kind: String,
    version: u32,
    linked_account_id: Option<String>,
    employee_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    run: Option<String>,
    dry_run: Option<bool>,
    include_terminated: Option<bool>,
}

/// `body`'s `kind`, when it is a JSON object carrying one.
pub fn kind_of(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("kind")?.as_str().map(str::to_owned)
}

/// The longest id or value a document may give.
pub const MAX_FIELD: usize = 256;

/// `field`'s text, trimmed: `Ok(None)` when absent, refused when blank or too long.
pub fn text(value: Option<String>, field: &'static str) -> Result<Option<String>, ControlError> {
    match value.map(|v| v.trim().to_owned()) {
        Some(v) if v.is_empty() => Err(ControlError::Blank(field)),
        // Longer than DynamoDB takes as a key: a 400 here, not the table's refusal.
        Some(v) if v.chars().count() > MAX_FIELD => Err(ControlError::TooLong(field)),
        other => Ok(other),
    }
}

/// The linked account a document names.
pub fn account(value: Option<String>) -> Result<String, ControlError> {
    account_text(value)?.ok_or(ControlError::NoAccount)
}

/// `linked_account_id`'s text when given: an id that can be a linked account's, never
/// one of the table's own partitions (`#deprovision-brake`, `#evidence#...`), whose
/// items a document would otherwise reach.
pub fn account_text(value: Option<String>) -> Result<Option<String>, ControlError> {
    const FIELD: &str = "linked_account_id";
    let id = text(value, FIELD)?;
    match &id {
        Some(id) if id.starts_with('#') || id.contains('/') || id.chars().any(char::is_control) => {
            Err(ControlError::NotAnAccount(FIELD))
        }
        _ => Ok(id),
    }
}

fn instant(
    value: Option<String>,
    field: &'static str,
) -> Result<Option<DateTime<Utc>>, ControlError> {
    let Some(text) = text(value, field)? else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(&text)
        .map(|at| Some(at.with_timezone(&Utc)))
        .map_err(|_| ControlError::BadInstant(field))
}

/// What a field of a document must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A string.
    Text,
    /// `true` or `false`.
    Flag,
    /// An object (checked by its own reader).
    Object,
    /// Any value (`kind`, read before).
    Any,
}

/// Checks `body`'s fields against `fields` before its shape is read, so a refusal names
/// the field at fault (`version` first), never what it held. `known` lists them for the
/// message.
pub fn check_fields(
    body: &[u8],
    fields: &[(&'static str, FieldKind)],
    known: &'static str,
) -> Result<(), ControlError> {
    let Ok(Value::Object(given)) = serde_json::from_slice::<Value>(body) else {
        return Err(ControlError::Shape);
    };
    if given.get("version").and_then(Value::as_u64) != Some(1) {
        return Err(ControlError::Version);
    }
    for (name, value) in &given {
        if name == "version" {
            continue;
        }
        let Some((name, kind)) = fields.iter().find(|(n, _)| n == name) else {
            return Err(ControlError::UnknownField(known));
        };
        let fits = match kind {
            FieldKind::Text => value.is_string() || value.is_null(),
            FieldKind::Flag => value.is_boolean() || value.is_null(),
            FieldKind::Object => value.is_object() || value.is_null(),
            FieldKind::Any => true,
        };
        if !fits {
            let wanted = match kind {
                FieldKind::Text => "a string",
                FieldKind::Flag => "true or false",
                _ => "an object",
            };
            return Err(ControlError::WrongType(name, wanted));
        }
    }
    Ok(())
}

/// The undo document's fields.
const UNDO_FIELDS: [(&str, FieldKind); 8] = [
    ("kind", FieldKind::Any),
    ("linked_account_id", FieldKind::Text),
    ("employee_id", FieldKind::Text),
    ("from", FieldKind::Text),
    ("to", FieldKind::Text),
    ("run", FieldKind::Text),
    ("dry_run", FieldKind::Flag),
    ("include_terminated", FieldKind::Flag),
];

/// The undo document in `body`; `None` for a document of another kind.
pub fn read_undo(body: &[u8]) -> Option<Result<UndoDocument, ControlError>> {
    if kind_of(body)?.as_str() != UNDO_KIND {
        return None;
    }
    Some(parse_undo(body))
}

fn parse_undo(body: &[u8]) -> Result<UndoDocument, ControlError> {
    check_fields(
        body,
        &UNDO_FIELDS,
        "`kind`, `version`, `linked_account_id`, `employee_id`, `from`, `to`, `run`, `dry_run`, `include_terminated`",
    )?;
    let shape: UndoShape = serde_json::from_slice(body).map_err(|_| ControlError::Shape)?;
    if shape.version != 1 {
        return Err(ControlError::Shape);
    }
    let linked_account_id = account(shape.linked_account_id)?;
    let employee = text(shape.employee_id, "employee_id")?;
    let run = text(shape.run, "run")?;
    let from = instant(shape.from, "from")?;
    let to = instant(shape.to, "to")?;
    let window = match (from, to) {
        (None, None) => None,
        (Some(from), Some(to)) if to < from => return Err(ControlError::Backwards),
        (Some(from), Some(to)) => Some((from, to)),
        _ => return Err(ControlError::HalfWindow),
    };
    let scope = match (employee, window, run) {
        (Some(employee_id), None, None) => Scope::Employee(EmployeeKey {
            linked_account_id,
            employee_id,
        }),
        (None, Some((from, to)), None) => Scope::Window {
            linked_account_id,
            from,
            to,
        },
        (None, None, Some(run)) => Scope::Run {
            linked_account_id,
            run,
        },
        (None, None, None) => return Err(ControlError::NoScope),
        _ => return Err(ControlError::TwoScopes),
    };
    Ok(UndoDocument {
        scope,
        dry_run: shape.dry_run.unwrap_or(true),
        include_terminated: shape.include_terminated.unwrap_or(false),
    })
}

/// The changes `document` undoes: [`selected`], less, for a window or a run, those of
/// employees the ledger still holds `terminated` for the termination changed, unless the
/// document includes them.
pub fn chosen(entries: &[Entry], document: &UndoDocument) -> Vec<Undoable> {
    let all = selected(entries, &document.scope);
    if document.include_terminated || matches!(document.scope, Scope::Employee(_)) {
        return all;
    }
    all.into_iter()
        .filter(|u| {
            !entries.iter().any(|e| {
                e.key == u.key
                    && e.decision == crate::domain::decision::Decision::Terminated
                    && e.terminated_at == u.recorded.termination
            })
        })
        .collect()
}

/// One change an undo looks at: whose, in which target, and what the ledger recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undoable {
    /// Whose.
    pub key: EmployeeKey,
    /// The target's name.
    pub target: String,
    /// The change as recorded: `deactivated` or `deleted`.
    pub recorded: Deprovisioning,
}

/// Of `entries`, the changes this function made and recorded (`deactivated`, and
/// `deleted`, which is reported as not undoable) that lie in `scope`, in key and target
/// order. Whatever the entry's decision: an entry HR moved back to `active` keeps its
/// outcomes, and they are still this function's changes. Anything else (`reactivated`,
/// `already_inactive`, a dry run's finding) is no change of this function's to undo.
pub fn selected(entries: &[Entry], scope: &Scope) -> Vec<Undoable> {
    let mut found: Vec<Undoable> = entries
        .iter()
        .flat_map(|entry| {
            entry
                .deprovisioning
                .iter()
                .filter(|(_, d)| d.outcome.changed() && scope.holds(&entry.key, d))
                .map(|(target, d)| Undoable {
                    key: entry.key.clone(),
                    target: target.clone(),
                    recorded: d.clone(),
                })
        })
        .collect();
    found.sort_by(|a, b| (&a.key, &a.target).cmp(&(&b.key, &b.target)));
    found
}

/// What undoing one change came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Undone {
    /// The user is active again.
    Reactivated,
    /// Dry run: the user would be re-activated.
    WouldReactivate,
    /// The user was active already (someone re-activated it): nothing changed; the
    /// ledger marks the change undone all the same, so it is not listed again.
    AlreadyActive,
    /// The user is gone from the target: nothing to re-activate.
    NotFound,
    /// The user was deleted: a delete cannot be undone.
    NotUndoable,
    /// The change was recorded before the user's id was kept: nobody can be found for
    /// certain, so nothing changes (re-activate it by hand).
    NotRecorded,
    /// The target is no longer in the targets secret.
    UnknownTarget,
    /// The hourly brake held it: an undo sent again later continues.
    Held,
    /// The target failed, or the ledger could not record it: see the record.
    Failed,
}

impl Undone {
    /// Every ending.
    pub const ALL: [Undone; 9] = [
        Undone::Reactivated,
        Undone::WouldReactivate,
        Undone::AlreadyActive,
        Undone::NotFound,
        Undone::NotUndoable,
        Undone::NotRecorded,
        Undone::UnknownTarget,
        Undone::Held,
        Undone::Failed,
    ];

    /// The name in answers and records.
    pub fn as_str(self) -> &'static str {
        match self {
            Undone::Reactivated => "reactivated",
            Undone::WouldReactivate => "would_reactivate",
            Undone::AlreadyActive => "already_active",
            Undone::NotFound => "not_found",
            Undone::NotUndoable => "not_undoable",
            Undone::NotRecorded => "not_recorded",
            Undone::UnknownTarget => "unknown_target",
            Undone::Held => "held",
            Undone::Failed => "failed",
        }
    }
}

/// What a selected change is owed before any call: the user to re-activate, or an
/// ending already known.
pub fn plan(undoable: &Undoable) -> Result<&str, Undone> {
    if undoable.recorded.outcome == Outcome::Deleted {
        return Err(Undone::NotUndoable);
    }
    undoable
        .recorded
        .user
        .as_deref()
        .filter(|u| !u.is_empty())
        .ok_or(Undone::NotRecorded)
}

/// The entry once `undoable`'s change is given back, by the invocation `run` at `now`:
/// its outcome `reactivated`, for the same termination, so no redelivery, release,
/// recheck or backfill deactivates the user again for it. `None` when the entry no
/// longer holds that change (another write replaced it: a later termination's work).
pub fn with_reactivated(
    stored: &Entry,
    undoable: &Undoable,
    run: Option<&str>,
    now: DateTime<Utc>,
) -> Option<Entry> {
    let held = stored.deprovisioning.get(&undoable.target)?;
    let same = held.outcome == Outcome::Deactivated
        && held.user == undoable.recorded.user
        && held.at == undoable.recorded.at
        && held.termination == undoable.recorded.termination;
    if !same {
        return None;
    }
    let mut written = stored.clone();
    written.deprovisioning.insert(
        undoable.target.clone(),
        Deprovisioning {
            outcome: Outcome::Reactivated,
            at: now,
            termination: held.termination,
            attempts: 0,
            user: held.user.clone(),
            run: run.map(str::to_owned),
            by: Some(crate::domain::evidence::Trigger::Undo),
        },
    );
    written.updated_at = now;
    written.revision = stored.revision + 1;
    Some(written)
}

#[cfg(test)]
mod tests;
