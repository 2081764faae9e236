//! The check of a target (`merge-deprovision.check-target`): its document, the leaver a
//! match value stands for (so the real path's filter, guard and identity check read it
//! as they read a leaver), what a returned user shows, and the pure verdict of what
//! deprovisioning would do. Nothing here changes anything: a check is read-only.

use crate::domain::decision::Decision;
use crate::domain::deprovision::{
    Action, EmployeeField, FoundUser, Guard, MatchRule, Outcome, Protection, ScimAttribute, Target,
};
use crate::domain::ledger::{EmployeeKey, Entry, Identity, Source};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// The `kind` of the document that checks a target.
pub const CHECK_TARGET_KIND: &str = "merge-deprovision.check-target";

/// The `target` that asks for every target at once.
pub const EVERY_TARGET: &str = "*";

/// The longest match value read: an e-mail address is at most 254 characters, and an
/// id or a username fits well inside this.
pub const MAX_VALUE: usize = 512;

/// The value a check without `value` searches for: nobody carries it, so a search that
/// answers proves the endpoint reachable and the token accepted, and finds nobody.
pub const PROBE_VALUE: &str = "merge-deprovision.check-target.nobody";

/// The fields the document may carry.
const FIELDS: [&str; 5] = ["kind", "version", "target", "value", "linked_account_id"];

/// `{"kind": "merge-deprovision.check-target", "version": 1, "target": "…", "value":
/// "…", "linked_account_id": "…"}`: without `target` (or with `"*"`), every target;
/// without `value`, reachability and the token only; with `linked_account_id`, the
/// ledger's identity check for that account too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckDocument {
    /// Only this target, by its name in the targets secret; `None`: every target.
    pub target: Option<String>,
    /// The match value a leaver would have for the target's rule (trimmed).
    pub value: Option<String>,
    /// The linked account the value's employee would be of: which targets cover it, and
    /// who else holds the value in the ledger.
    pub linked_account_id: Option<String>,
}

/// Why a check document cannot be read: names the field, never echoes a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// Not a JSON object.
    #[error("the document must be a JSON object")]
    Shape,
    /// `version` is not 1.
    #[error("`version` must be 1")]
    Version,
    /// A field the document does not take.
    #[error(
        "unknown field {0}: the document takes only `kind`, `version`, `target`, `value` and `linked_account_id`"
    )]
    UnknownField(String),
    /// A field of the wrong type.
    #[error("`{0}` must be a string")]
    NotText(&'static str),
    /// A field that is blank.
    #[error("`{0}` must not be empty")]
    Blank(&'static str),
    /// `value` is longer than [`MAX_VALUE`].
    #[error("`value` must be at most 512 characters")]
    LongValue,
}

impl CheckError {
    /// The field the problem is with, as answers name it.
    pub fn field(&self) -> &str {
        match self {
            CheckError::Shape => "document",
            CheckError::Version => "version",
            CheckError::UnknownField(_) => "unknown",
            CheckError::NotText(field) | CheckError::Blank(field) => field,
            CheckError::LongValue => "value",
        }
    }
}

/// A field's name as an answer may repeat it: a plain name only (the caller's key
/// could be anything), otherwise not named.
fn named(field: &str) -> String {
    let plain = !field.is_empty()
        && field.len() <= 40
        && field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        format!("`{field}`")
    } else {
        "(a name not repeated)".to_owned()
    }
}

fn text(object: &Map<String, Value>, field: &'static str) -> Result<Option<String>, CheckError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Err(CheckError::Blank(field)),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(CheckError::NotText(field)),
    }
}

/// The check document in `body`; `None` for a document of another kind.
pub fn read_check(body: &[u8]) -> Option<Result<CheckDocument, CheckError>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object()?;
    if object.get("kind").and_then(Value::as_str) != Some(CHECK_TARGET_KIND) {
        return None;
    }
    let read = || {
        if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(CheckError::UnknownField(named(unknown)));
        }
        if object.get("version").and_then(Value::as_u64) != Some(1) {
            return Err(CheckError::Version);
        }
        let target = text(object, "target")?.filter(|t| t != EVERY_TARGET);
        let value = text(object, "value")?;
        if value
            .as_ref()
            .is_some_and(|v| v.chars().count() > MAX_VALUE)
        {
            return Err(CheckError::LongValue);
        }
        Ok(CheckDocument {
            target,
            value,
            linked_account_id: text(object, "linked_account_id")?,
        })
    };
    Some(read())
}

/// The leaver `value` stands for in `target`: a terminated entry of nobody the ledger
/// knows (an empty employee id, never another entry's), whose value of the rule's
/// field is `value`, so that the real path's filter, protected list and identity check
/// read it as they read a leaver.
pub fn leaver_of(target: &Target, value: &str, account: Option<&str>) -> Entry {
    let mut identity = Identity::default();
    let slot = match target.rule.field {
        EmployeeField::WorkEmail => &mut identity.work_email,
        EmployeeField::RemoteId => &mut identity.remote_id,
        EmployeeField::Username => &mut identity.username,
        EmployeeField::EmployeeNumber => &mut identity.employee_number,
    };
    *slot = Some(value.to_owned());
    Entry {
        key: EmployeeKey::new(account, ""),
        decision: Decision::Terminated,
        reasons: String::new(),
        termination_date: None,
        effective_at: None,
        effective_rule: None,
        version: None,
        changed_by: Source::Webhook,
        delivery_id: None,
        first_seen: DateTime::<Utc>::UNIX_EPOCH,
        updated_at: DateTime::<Utc>::UNIX_EPOCH,
        terminated_at: None,
        identity,
        revision: 0,
        announced: true,
        written_by: String::new(),
        deprovisioning: Default::default(),
        historical: false,
        learned: None,
    }
}

/// Whether the target's protected list holds the value as the leaver's (the first
/// guard of the real path, before any search).
pub fn protected_value(target: &Target, leaver: &Entry) -> Option<Protection> {
    let guard = Guard {
        list: &target.protected,
        authority: Default::default(),
    };
    guard.leaver(&leaver.key, &leaver.identity)
}

/// One user a search returned, as a check reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The SCIM id.
    pub id: String,
    /// `active`, when the server said.
    pub active: Option<bool>,
    /// It carries the value as the identity check decides ([`ScimAttribute::carries`]):
    /// one that does not is never the leaver.
    pub carries: bool,
}

/// The users `found` for `wanted` under `attribute`, and whether the server said it
/// holds more than it sent (the id-less stand-in the client adds).
pub fn seen(found: &[FoundUser], attribute: ScimAttribute, wanted: &str) -> (Vec<Seen>, bool) {
    let more = found.iter().any(|u| u.id.is_empty());
    let users = found
        .iter()
        .filter(|u| !u.id.is_empty())
        .map(|u| Seen {
            id: u.id.clone(),
            active: u.active,
            carries: attribute.carries(u, wanted),
        })
        .collect();
    (users, more)
}

/// A target's `match` rule as the secret spells it (`userName=work_email`).
pub fn rule_text(rule: &MatchRule) -> String {
    let attribute = match rule.attribute {
        ScimAttribute::EmailsAny => "emails.any",
        other => other.as_str(),
    };
    format!("{attribute}={}", rule.field.as_str())
}

/// What deprovisioning would do to the value's account in a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Would {
    /// Set it inactive.
    Deactivate,
    /// Delete it.
    Delete,
    /// Nothing: it is inactive already.
    NothingAlreadyInactive,
    /// Nothing: the filter finds nobody.
    NotFound,
    /// Nothing: the server answered only users who do not carry the value.
    NotMatching,
    /// Nothing: more than one user carries it (or the list was cut short).
    Ambiguous,
    /// Nothing: the account (or the value) is protected.
    Protected(Protection),
    /// Nothing: another live employee of the linked account holds the value (this
    /// Merge id).
    Conflict(String),
    /// Nothing: the target does not cover the linked account.
    NotCovered,
}

impl Would {
    /// The name answers and records use.
    pub fn as_str(&self) -> &'static str {
        match self {
            Would::Deactivate => "deactivate",
            Would::Delete => "delete",
            Would::NothingAlreadyInactive => "nothing_already_inactive",
            Would::NotFound => "not_found",
            Would::NotMatching => "not_matching",
            Would::Ambiguous => "ambiguous",
            Would::Protected(_) => "protected",
            Would::Conflict(_) => "conflict",
            Would::NotCovered => "not_covered",
        }
    }

    /// What a search's known outcome (as the real path ends it without a change) means;
    /// `None` for an outcome a search never ends in.
    pub fn of_outcome(outcome: Outcome) -> Option<Would> {
        match outcome {
            Outcome::WouldDeactivate | Outcome::Deactivated => Some(Would::Deactivate),
            Outcome::WouldDelete | Outcome::Deleted => Some(Would::Delete),
            Outcome::AlreadyInactive => Some(Would::NothingAlreadyInactive),
            Outcome::NotFound => Some(Would::NotFound),
            Outcome::Ambiguous => Some(Would::Ambiguous),
            _ => None,
        }
    }

    /// The change `action` makes to the one active user found.
    pub fn of_action(action: Action) -> Would {
        match action {
            Action::Deactivate => Would::Deactivate,
            Action::Delete => Would::Delete,
        }
    }
}

/// What deprovisioning would do, in the real path's order: a target that does not cover
/// the account does nothing; the protected list holding the value comes before any
/// call; then another live employee holding it (`conflict`); then what the search and
/// the guard on the account found say (`searched`).
pub fn verdict(
    covered: bool,
    protected: Option<Protection>,
    conflict_with: Option<&str>,
    searched: Would,
) -> Would {
    if !covered {
        return Would::NotCovered;
    }
    if let Some(protection) = protected {
        return Would::Protected(protection);
    }
    if let Some(other) = conflict_with {
        return Would::Conflict(other.to_owned());
    }
    searched
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::deprovision::{ScimValue, parse_targets};

    fn target(extra: &str) -> Target {
        let secret = format!(
            r#"{{"targets": [{{"name": "chat", "base_url": "https://chat.example.com/scim/v2",
                "token": "t"{extra}}}]}}"#
        );
        parse_targets(&secret).unwrap().0.remove(0)
    }

    fn read(body: &str) -> Result<CheckDocument, CheckError> {
        read_check(body.as_bytes()).expect("a check document")
    }

    #[test]
    fn a_document_names_its_target_and_value_trimmed_and_a_star_is_every_target() {
        let one = read(
            r#"{"kind": "merge-deprovision.check-target", "version": 1,
            "target": " chat ", "value": " greg@merge.dev "}"#,
        );
        assert_eq!(
            one,
            Ok(CheckDocument {
                target: Some("chat".into()),
                value: Some("greg@merge.dev".into()),
                linked_account_id: None
            })
        );
        let every =
            read(r#"{"kind": "merge-deprovision.check-target", "version": 1, "target": "*"}"#);
        assert_eq!(every.unwrap().target, None);
        assert!(read_check(br#"{"kind": "merge-deprovision.backfill"}"#).is_none());
        assert!(read_check(b"[1]").is_none());
    }

    #[test]
    fn bad_input_is_refused_naming_the_field_and_never_a_strange_key() {
        let kind = r#""kind": "merge-deprovision.check-target""#;
        let refused = |rest: &str| read(&format!("{{{kind}, {rest}}}")).unwrap_err();
        assert_eq!(refused(r#""version": 2"#), CheckError::Version);
        assert_eq!(
            refused(r#""version": 1, "value": "" "#),
            CheckError::Blank("value")
        );
        assert_eq!(
            refused(r#""version": 1, "value": 7"#),
            CheckError::NotText("value")
        );
        assert_eq!(
            refused(r#""version": 1, "target": ["a"]"#),
            CheckError::NotText("target")
        );
        assert_eq!(
            refused(r#""version": 1, "target": " " "#),
            CheckError::Blank("target")
        );
        let long = "a".repeat(MAX_VALUE + 1);
        assert_eq!(
            refused(&format!(r#""version": 1, "value": "{long}""#)),
            CheckError::LongValue
        );
        let unknown = refused(r#""version": 1, "dry_run": true"#);
        assert!(unknown.to_string().contains("`dry_run`"), "{unknown}");
        let strange = refused(r#""version": 1, "x@secret.example": 1"#);
        assert!(!strange.to_string().contains("secret"), "{strange}");
    }

    #[test]
    fn the_leaver_of_a_value_carries_it_in_the_rules_field_and_finds_it_by_the_real_filter() {
        let by_id = target(r#", "match": "externalId=employee_number""#);
        let leaver = leaver_of(&by_id, "E-42", Some("acct"));
        assert_eq!(leaver.identity.employee_number.as_deref(), Some("E-42"));
        assert_eq!(leaver.key.linked_account_id, "acct");
        assert_eq!(
            by_id.rule.filter(&leaver.identity).as_deref(),
            Some(r#"externalId eq "E-42""#)
        );
        let quoted = leaver_of(&target(""), r#"a"b@x"#, None);
        assert_eq!(
            target("").rule.filter(&quoted.identity).as_deref(),
            Some(r#"userName eq "a\"b@x""#)
        );
    }

    #[test]
    fn a_value_on_the_protected_list_is_protected_before_any_search() {
        let t = target(r#", "protected": ["Root@Merge.dev"]"#);
        let leaver = leaver_of(&t, "root@merge.dev", None);
        assert_eq!(
            protected_value(&t, &leaver),
            Some(Protection::Field(EmployeeField::WorkEmail))
        );
        assert_eq!(
            protected_value(&t, &leaver_of(&t, "greg@merge.dev", None)),
            None
        );
    }

    #[test]
    fn each_user_seen_says_whether_it_carries_the_value_and_a_list_cut_short_is_said() {
        let user = |id: &str, value: &str| FoundUser {
            id: id.into(),
            active: Some(true),
            etag: None,
            values: vec![ScimValue::plain(value)],
        };
        let mut found = vec![user("u1", "Greg@merge.dev"), user("u2", "other@merge.dev")];
        let (users, more) = seen(&found, ScimAttribute::UserName, "greg@merge.dev");
        assert_eq!(
            users.iter().map(|u| u.carries).collect::<Vec<_>>(),
            [true, false]
        );
        assert!(!more);
        found.push(FoundUser {
            id: String::new(),
            ..user("", "")
        });
        assert!(seen(&found, ScimAttribute::UserName, "greg@merge.dev").1);
    }

    #[test]
    fn the_verdict_follows_the_real_paths_order() {
        let by_list = Some(Protection::ScimValue);
        assert_eq!(
            verdict(false, by_list, Some("e2"), Would::Deactivate),
            Would::NotCovered
        );
        assert_eq!(
            verdict(true, by_list, Some("e2"), Would::Deactivate),
            Would::Protected(Protection::ScimValue)
        );
        assert_eq!(
            verdict(true, None, Some("e2"), Would::Deactivate),
            Would::Conflict("e2".into())
        );
        assert_eq!(
            verdict(true, None, None, Would::Ambiguous),
            Would::Ambiguous
        );
        assert_eq!(Would::of_outcome(Outcome::WouldDelete), Some(Would::Delete));
        assert_eq!(Would::of_outcome(Outcome::Held), None);
        assert_eq!(Would::of_action(Action::Deactivate).as_str(), "deactivate");
    }
}
