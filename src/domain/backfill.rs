//! The backfill: deprovisioning, on purpose, the leavers no stream record will ever
//! bring: historical terminations, and terminations the ledger held before SCIM
//! deprovisioning was turned on. Its document, which of one account's terminated
//! entries it works in which targets, and the documents of the same upkeep: an
//! account's baseline, and the reindex of entries older than the match indexes.

use crate::domain::deprovision::{Mode, Pass, Targets, pending};
use crate::domain::ledger::{EmployeeKey, Entry};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The `kind` of the backfill document.
pub const BACKFILL_KIND: &str = "merge-deprovision.backfill";
/// The `kind` of the document that reads or sets an account's baseline.
pub const BASELINE_KIND: &str = "merge-deprovision.baseline";
/// The `kind` of the document that writes the match index keys of an account's entries
/// written before the indexes existed.
pub const REINDEX_KIND: &str = "merge-deprovision.reindex";

/// `{"kind": "merge-deprovision.backfill", "version": 1, "linked_account_id": "…",
/// "target": "…", "dry_run": false}`: `target` is optional (every covering target), and
/// `dry_run` defaults to true, so that a backfill only lists who it would change until
/// asked to act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillDocument {
    /// The linked account whose leavers are worked.
    pub linked_account_id: String,
    /// Only this target, by its name in the targets secret.
    pub target: Option<String>,
    /// List only: no SCIM call, no write.
    pub dry_run: bool,
}

/// `{"kind": "merge-deprovision.baseline", "version": 1, "linked_account_id": "…",
/// "at": "…"}`: without `at`, reads the account's baseline; with it (RFC 3339, not in
/// the future), sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineDocument {
    /// The linked account.
    pub linked_account_id: String,
    /// The baseline to set.
    pub at: Option<DateTime<Utc>>,
}

/// Why a document of one of these kinds cannot be read: named for the answer, never
/// echoing its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// Not JSON of the shape, or another version.
    #[error("the document is not of this kind's shape and version 1")]
    Shape,
    /// `linked_account_id` is missing or blank.
    #[error("`linked_account_id` is required")]
    NoAccount,
    /// `target` is blank.
    #[error("`target` must name a target of the targets secret")]
    BlankTarget,
    /// `at` is not an RFC 3339 instant from 1970 on.
    #[error("`at` must be an RFC 3339 instant from 1970 on, as 2026-01-01T00:00:00Z")]
    BadInstant,
    /// `at` is in the future: a baseline is a time the function already knew of.
    #[error("`at` must not be in the future")]
    FutureInstant,
}

#[derive(Deserialize)]
struct Kind {
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Backfill {
    #[allow(dead_code)]
    kind: String,
    version: u32,
    linked_account_id: Option<String>,
    target: Option<String>,
    dry_run: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineShape {
    #[allow(dead_code)]
    kind: String,
    version: u32,
    linked_account_id: Option<String>,
    at: Option<String>,
}

fn kind_of(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<Kind>(body).ok()?.kind
}

fn account(id: Option<String>) -> Result<String, DocumentError> {
    id.map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
        .ok_or(DocumentError::NoAccount)
}

/// The backfill document in `body`; `None` for a document of another kind.
pub fn read_backfill(body: &[u8]) -> Option<Result<BackfillDocument, DocumentError>> {
    if kind_of(body)?.as_str() != BACKFILL_KIND {
        return None;
    }
    let read = || {
        let shape: Backfill = serde_json::from_slice(body).map_err(|_| DocumentError::Shape)?;
        if shape.version != 1 {
            return Err(DocumentError::Shape);
        }
        let target = match shape.target {
            Some(t) if t.trim().is_empty() => return Err(DocumentError::BlankTarget),
            other => other.map(|t| t.trim().to_owned()),
        };
        Ok(BackfillDocument {
            linked_account_id: account(shape.linked_account_id)?,
            target,
            dry_run: shape.dry_run.unwrap_or(true),
        })
    };
    Some(read())
}

/// The baseline document in `body`, read at `now`; `None` for another kind.
pub fn read_baseline(
    body: &[u8],
    now: DateTime<Utc>,
) -> Option<Result<BaselineDocument, DocumentError>> {
    if kind_of(body)?.as_str() != BASELINE_KIND {
        return None;
    }
    let read = || {
        let shape: BaselineShape =
            serde_json::from_slice(body).map_err(|_| DocumentError::Shape)?;
        if shape.version != 1 {
            return Err(DocumentError::Shape);
        }
        let at = match shape.at {
            None => None,
            Some(text) => {
                let at = DateTime::parse_from_rfc3339(text.trim())
                    .map_err(|_| DocumentError::BadInstant)?
                    .with_timezone(&Utc);
                if at > now {
                    return Err(DocumentError::FutureInstant);
                }
                // Earlier is no baseline any termination needs, and not every such
                // instant is written back as it reads.
                if at < crate::domain::baseline::EARLIEST {
                    return Err(DocumentError::BadInstant);
                }
                Some(at)
            }
        };
        Ok(BaselineDocument {
            linked_account_id: account(shape.linked_account_id)?,
            at,
        })
    };
    Some(read())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReindexShape {
    #[allow(dead_code)]
    kind: String,
    version: u32,
    linked_account_id: Option<String>,
}

/// The linked account a reindex document names; `None` for a document of another kind.
pub fn read_reindex(body: &[u8]) -> Option<Result<String, DocumentError>> {
    if kind_of(body)?.as_str() != REINDEX_KIND {
        return None;
    }
    let read = || {
        let shape: ReindexShape = serde_json::from_slice(body).map_err(|_| DocumentError::Shape)?;
        if shape.version != 1 {
            return Err(DocumentError::Shape);
        }
        account(shape.linked_account_id)
    };
    Some(read())
}

/// One leaver a backfill works: whose, and in which targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Whose.
    pub key: EmployeeKey,
    /// The termination is historical.
    pub historical: bool,
    /// When it took effect.
    pub effective_at: Option<DateTime<Utc>>,
    /// The targets it is owed in, by name, in the secret's order.
    pub targets: Vec<String>,
}

/// `targets` narrowed to `only` (every target for `None`); `None` when no target has
/// that name.
pub fn scoped(targets: &Targets, only: Option<&str>) -> Option<Targets> {
    let Some(only) = only else {
        return Some(targets.clone());
    };
    let kept: Vec<_> = targets
        .0
        .iter()
        .filter(|t| t.name == only)
        .cloned()
        .collect();
    (!kept.is_empty()).then_some(Targets(kept))
}

/// Of one account's `terminated` entries, those a backfill works in `targets` (already
/// scoped) and `mode`, in key order: every termination whose deprovisioning some
/// covering target still owes in [`Pass::Backfill`] (never attempted, held, failed, or a
/// dry run's finding once enforcing). A settled target is never worked again, so a
/// backfill run twice changes nothing the second time.
pub fn candidates(entries: &[Entry], targets: &Targets, mode: Mode) -> Vec<Candidate> {
    let mut found: Vec<Candidate> = entries
        .iter()
        .filter_map(|entry| {
            let owed = pending(entry, targets, Pass::Backfill, mode);
            (!owed.is_empty()).then(|| Candidate {
                key: entry.key.clone(),
                historical: entry.historical,
                effective_at: entry.effective_at,
                targets: owed.iter().map(|t| t.name.clone()).collect(),
            })
        })
        .collect();
    found.sort_by(|a, b| a.key.cmp(&b.key));
    found
}

#[cfg(test)]
mod tests;
