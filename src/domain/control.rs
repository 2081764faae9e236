//! The operator's pause of deprovisioning: what is paused (every target, or some by
//! name), the pause and resume documents that change it, and the release document's
//! preview flag. A pause is read by every deprovisioning step, so a bad HR sync can be
//! stopped without a deploy; what it stops is listed as `paused` and worked on resume,
//! under the brake.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The `kind` of the document that pauses deprovisioning.
pub const PAUSE_KIND: &str = "merge-deprovision.pause";
/// The `kind` of the document that resumes it.
pub const RESUME_KIND: &str = "merge-deprovision.resume";
/// The longest reason kept: a note for the next person, not a report.
pub const MAX_REASON: usize = 200;
/// The most targets one document names.
pub const MAX_TARGETS: usize = 100;

/// What is paused. The default pauses nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pause {
    /// Every target.
    pub all: bool,
    /// These targets, by name in the targets secret.
    pub targets: BTreeSet<String>,
    /// Why, as the person who paused wrote it.
    pub reason: Option<String>,
    /// When it last changed.
    pub changed_at: Option<DateTime<Utc>>,
}

impl Pause {
    /// True when `target`'s changes must wait.
    pub fn holds(&self, target: &str) -> bool {
        self.all || self.targets.contains(target)
    }

    /// True when anything is paused.
    pub fn any(&self) -> bool {
        self.all || !self.targets.is_empty()
    }

    /// The pause once `document` is applied at `now`.
    pub fn after(&self, document: &ControlDocument, now: DateTime<Utc>) -> Pause {
        let mut next = self.clone();
        match (document.action, &document.targets) {
            (Action::Pause, None) => next.all = true,
            (Action::Pause, Some(names)) => next.targets.extend(names.iter().cloned()),
            // Resuming everything clears every pause, each target's too.
            (Action::Resume, None) => {
                next.all = false;
                next.targets.clear();
            }
            (Action::Resume, Some(names)) => next.targets.retain(|t| !names.contains(t)),
        }
        if document.action == Action::Pause {
            next.reason = document.reason.clone().or(next.reason);
        } else if !next.any() {
            next.reason = None;
        }
        next.changed_at = Some(now);
        next
    }
}

/// Pause or resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Stop changes.
    Pause,
    /// Let them go on.
    Resume,
}

impl Action {
    /// The name in answers and records.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pause => "pause",
            Action::Resume => "resume",
        }
    }
}

/// `{"kind": "merge-deprovision.pause", "version": 1, "targets": ["…"], "reason": "…"}`
/// or `{"kind": "merge-deprovision.resume", "version": 1, "targets": ["…"]}`: without
/// `targets`, every target; `reason` only with a pause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlDocument {
    /// Pause or resume.
    pub action: Action,
    /// Only these targets.
    pub targets: Option<BTreeSet<String>>,
    /// Why.
    pub reason: Option<String>,
}

/// Why a pause or resume document cannot be read: named for the answer, by field, never
/// echoing what it held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// Not a JSON object.
    #[error("the document must be a JSON object")]
    NotObject,
    /// `version` is not 1.
    #[error("`version` must be 1")]
    Version,
    /// A field this document does not have.
    #[error(
        "the document has a field it does not take: only `kind`, `version`, `targets` and `reason` (a pause's)"
    )]
    UnknownField,
    /// `targets` is not a non-empty list of non-blank names.
    #[error("`targets` must be a non-empty list of at most 100 target names")]
    Targets,
    /// `reason` is not a string of at most 200 characters, or comes with a resume.
    #[error("`reason` must be a string of at most 200 characters, and only a pause takes one")]
    Reason,
}

/// The pause or resume document in `body`; `None` for a document of another kind.
pub fn read_control(body: &[u8]) -> Option<Result<ControlDocument, ControlError>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let action = match value.get("kind").and_then(Value::as_str)? {
        PAUSE_KIND => Action::Pause,
        RESUME_KIND => Action::Resume,
        _ => return None,
    };
    Some(match value.as_object() {
        Some(fields) => control_fields(action, fields),
        None => Err(ControlError::NotObject),
    })
}

fn control_fields(
    action: Action,
    fields: &Map<String, Value>,
) -> Result<ControlDocument, ControlError> {
    if fields.get("version").and_then(Value::as_u64) != Some(1) {
        return Err(ControlError::Version);
    }
    let known = ["kind", "version", "targets", "reason"];
    if fields.keys().any(|k| !known.contains(&k.as_str())) {
        return Err(ControlError::UnknownField);
    }
    let targets = fields.get("targets").map(target_names).transpose()?;
    let reason = match fields.get("reason") {
        None | Some(Value::Null) => None,
        Some(_) if action == Action::Resume => return Err(ControlError::Reason),
        Some(Value::String(text)) if text.chars().count() <= MAX_REASON => {
            Some(text.trim().to_owned()).filter(|t| !t.is_empty())
        }
        Some(_) => return Err(ControlError::Reason),
    };
    Ok(ControlDocument {
        action,
        targets,
        reason,
    })
}

/// Target names for a document: strings, none blank, at least one, at most
/// [`MAX_TARGETS`].
pub fn target_names(value: &Value) -> Result<BTreeSet<String>, ControlError> {
    let list = value.as_array().ok_or(ControlError::Targets)?;
    if list.is_empty() || list.len() > MAX_TARGETS {
        return Err(ControlError::Targets);
    }
    list.iter()
        .map(|name| {
            name.as_str()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .ok_or(ControlError::Targets)
        })
        .collect()
}

/// True when a release document holds only the fields it takes, each of its type:
/// `kind`, `version`, and booleans `recheck` and `preview`. Anything else is refused, so
/// a mistyped `"preview": "true"` never runs the release itself, past the brake.
pub fn release_fields_ok(body: &[u8]) -> bool {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    fields.iter().all(|(name, value)| match name.as_str() {
        "kind" | "version" => true,
        "recheck" | "preview" => value.is_boolean(),
        _ => false,
    })
}

/// True for a release document asking only for a preview: `"preview": true` beside the
/// release's `kind` and `version`. Nothing is changed; the answer lists what the same
/// document without it would work.
pub fn release_preview(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("preview").and_then(Value::as_bool))
        == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Option<Result<ControlDocument, ControlError>> {
        read_control(text.as_bytes())
    }

    fn at() -> DateTime<Utc> {
        "2026-12-02T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_pause_without_targets_pauses_every_target() {
        let doc = read(r#"{"kind":"merge-deprovision.pause","version":1,"reason":"bad sync"}"#)
            .unwrap()
            .unwrap();
        let paused = Pause::default().after(&doc, at());
        assert!(paused.all && paused.holds("anything"));
        assert_eq!(paused.reason.as_deref(), Some("bad sync"));
        assert_eq!(paused.changed_at, Some(at()));
    }

    #[test]
    fn a_pause_of_one_target_holds_only_that_target() {
        let doc = read(r#"{"kind":"merge-deprovision.pause","version":1,"targets":["slack"]}"#)
            .unwrap()
            .unwrap();
        let paused = Pause::default().after(&doc, at());
        assert!(paused.holds("slack"));
        assert!(!paused.holds("github"));
    }

    #[test]
    fn resuming_everything_clears_each_targets_pause_and_the_reason() {
        let pause = read(
            r#"{"kind":"merge-deprovision.pause","version":1,"targets":["a","b"],"reason":"x"}"#,
        )
        .unwrap()
        .unwrap();
        let resume = read(r#"{"kind":"merge-deprovision.resume","version":1}"#)
            .unwrap()
            .unwrap();
        let resumed = Pause::default().after(&pause, at()).after(&resume, at());
        assert!(!resumed.any());
        assert_eq!(resumed.reason, None);
    }

    #[test]
    fn resuming_one_target_leaves_a_pause_of_everything_in_place() {
        let all = read(r#"{"kind":"merge-deprovision.pause","version":1}"#)
            .unwrap()
            .unwrap();
        let one = read(r#"{"kind":"merge-deprovision.resume","version":1,"targets":["a"]}"#)
            .unwrap()
            .unwrap();
        assert!(
            Pause::default()
                .after(&all, at())
                .after(&one, at())
                .holds("a")
        );
    }

    #[test]
    fn bad_documents_are_refused_by_the_field_at_fault() {
        let cases = [
            (
                r#"{"kind":"merge-deprovision.pause"}"#,
                ControlError::Version,
            ),
            (
                r#"{"kind":"merge-deprovision.pause","version":2}"#,
                ControlError::Version,
            ),
            (
                r#"{"kind":"merge-deprovision.pause","version":1,"target":"a"}"#,
                ControlError::UnknownField,
            ),
            (
                r#"{"kind":"merge-deprovision.pause","version":1,"targets":[]}"#,
                ControlError::Targets,
            ),
            (
                r#"{"kind":"merge-deprovision.pause","version":1,"targets":"a"}"#,
                ControlError::Targets,
            ),
            (
                r#"{"kind":"merge-deprovision.pause","version":1,"targets":[" "]}"#,
                ControlError::Targets,
            ),
            (
                r#"{"kind":"merge-deprovision.pause","version":1,"reason":5}"#,
                ControlError::Reason,
            ),
            (
                r#"{"kind":"merge-deprovision.resume","version":1,"reason":"x"}"#,
                ControlError::Reason,
            ),
        ];
        for (text, error) in cases {
            assert_eq!(read(text), Some(Err(error)), "{text}");
        }
        let long = format!(
            r#"{{"kind":"merge-deprovision.pause","version":1,"reason":"{}"}}"#,
            "x".repeat(MAX_REASON + 1)
        );
        assert_eq!(read(&long), Some(Err(ControlError::Reason)));
    }

    #[test]
    fn other_documents_are_not_control_documents() {
        assert_eq!(
            read(r#"{"kind":"merge-deprovision.release-held","version":1}"#),
            None
        );
        assert_eq!(read("not json"), None);
    }

    #[test]
    fn only_a_true_preview_flag_asks_for_a_preview() {
        let release = |extra: &str| {
            format!(r#"{{"kind":"merge-deprovision.release-held","version":1{extra}}}"#)
        };
        assert!(release_preview(release(r#","preview":true"#).as_bytes()));
        assert!(!release_preview(release(r#","preview":false"#).as_bytes()));
        assert!(!release_preview(release("").as_bytes()));
    }
}
