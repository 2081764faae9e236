//! Deprovisioning through SCIM 2.0, as pure rules: the targets secret and its `match`
//! rule, the RFC 7644 filter that finds a leaver, which targets cover an employee, what
//! the answers of a target mean, the mass-deprovisioning brake, and the warning a rehire
//! of a deprovisioned employee owes.
//!
//! Nothing here calls anything: `src/scim/` talks to the endpoints and
//! `src/app/deprovision.rs` carries the plan out.

use crate::domain::decision::Decision;
use crate::domain::ledger::{EmployeeKey, Entry, Identity};
pub use crate::domain::outcome::{Deprovisioning, DeprovisioningMap, Outcome};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// The SCIM attribute a target's users are found by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimAttribute {
    /// `userName`, which SCIM compares case-insensitively.
    UserName,
    /// `emails[value eq ...]`: any of the user's addresses.
    Emails,
    /// `externalId`, the provisioning system's id.
    ExternalId,
}

impl ScimAttribute {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "userName" => Some(ScimAttribute::UserName),
            "emails" | "emails.value" => Some(ScimAttribute::Emails),
            "externalId" => Some(ScimAttribute::ExternalId),
            _ => None,
        }
    }
}

/// The employee field a target's users are matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmployeeField {
    /// Work e-mail.
    WorkEmail,
    /// The HR system's id.
    RemoteId,
    /// Username.
    Username,
    /// Employee number.
    EmployeeNumber,
}

impl EmployeeField {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "work_email" => Some(EmployeeField::WorkEmail),
            "remote_id" => Some(EmployeeField::RemoteId),
            "username" => Some(EmployeeField::Username),
            "employee_number" => Some(EmployeeField::EmployeeNumber),
            _ => None,
        }
    }

    /// The field's name, as the `match` rule and records spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            EmployeeField::WorkEmail => "work_email",
            EmployeeField::RemoteId => "remote_id",
            EmployeeField::Username => "username",
            EmployeeField::EmployeeNumber => "employee_number",
        }
    }
}

/// How a target finds an employee: `<SCIM attribute>=<employee field>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchRule {
    /// The SCIM side.
    pub attribute: ScimAttribute,
    /// The employee side.
    pub field: EmployeeField,
}

impl Default for MatchRule {
    fn default() -> Self {
        MatchRule {
            attribute: ScimAttribute::UserName,
            field: EmployeeField::WorkEmail,
        }
    }
}

impl MatchRule {
    /// Reads `userName=work_email` and its kin; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let (attribute, field) = text.split_once('=')?;
        Some(MatchRule {
            attribute: ScimAttribute::parse(attribute.trim())?,
            field: EmployeeField::parse(field.trim())?,
        })
    }

    /// The employee's value for the rule, when the ledger knows it.
    pub fn value<'a>(&self, identity: &'a Identity) -> Option<&'a str> {
        let value = match self.field {
            EmployeeField::WorkEmail => &identity.work_email,
            EmployeeField::RemoteId => &identity.remote_id,
            EmployeeField::Username => &identity.username,
            EmployeeField::EmployeeNumber => &identity.employee_number,
        };
        value.as_deref().filter(|v| !v.trim().is_empty())
    }

    /// The SCIM filter that finds the employee, or `None` without a value to match.
    /// The value is a quoted JSON string (RFC 7644 3.4.2.2: a comparison value is JSON),
    /// so a `"` or `\` in it is escaped and cannot end the string or add a clause.
    pub fn filter(&self, identity: &Identity) -> Option<String> {
        let value = self.value(identity)?;
        Some(filter_for(self.attribute, value))
    }
}

/// The filter comparing `attribute` with `value`, escaped.
pub fn filter_for(attribute: ScimAttribute, value: &str) -> String {
    let quoted = quote(value);
    match attribute {
        ScimAttribute::UserName => format!("userName eq {quoted}"),
        ScimAttribute::Emails => format!("emails[value eq {quoted}]"),
        ScimAttribute::ExternalId => format!("externalId eq {quoted}"),
    }
}

/// `value` as a JSON string literal: `"` and `\` escaped, control characters as `\u`.
pub fn quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                quoted.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// What a target does to a leaver's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// PATCH `active` to false: reversible.
    Deactivate,
    /// DELETE the user: not reversible.
    Delete,
}

/// A bearer token. Never printed: no `Debug`, no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// The token, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A token of `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Token(text.into())
    }
}

/// One application (or tenant) leavers are deprovisioned from.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    /// Names the target in records, metrics and the ledger.
    pub name: String,
    /// The SCIM base URL, as the secret gives it (checked by the edge).
    pub base_url: String,
    /// The bearer token.
    pub token: Token,
    /// How an employee is found.
    pub rule: MatchRule,
    /// What is done to the account.
    pub action: Action,
    /// The linked accounts the target covers; `None`: all.
    pub linked_account_ids: Option<Vec<String>>,
}

impl Target {
    /// True when the target covers the employee's linked account.
    pub fn covers(&self, key: &EmployeeKey) -> bool {
        match &self.linked_account_ids {
            None => true,
            Some(ids) => ids.contains(&key.linked_account_id),
        }
    }
}

/// The targets secret: every target, in the order given.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Targets(pub Vec<Target>);

/// The longest target name: it is a metric dimension value and a ledger map key.
pub const MAX_TARGET_NAME: usize = 64;

/// Reads the targets secret: `{"targets": [{"name", "base_url", "token", "match",
/// "action", "linked_account_ids"}]}`. The error names the target (by position and, once
/// read, name) and the field, never a value.
pub fn parse_targets(text: &str) -> Result<Targets, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|_| "the secret is not JSON".to_owned())?;
    let list = value
        .get("targets")
        .and_then(Value::as_array)
        .ok_or_else(|| "the secret has no `targets` list".to_owned())?;
    if list.is_empty() {
        return Err("`targets` is empty".to_owned());
    }
    let mut targets = Vec::with_capacity(list.len());
    for (index, item) in list.iter().enumerate() {
        let target = parse_target(index, item)?;
        if targets.iter().any(|t: &Target| t.name == target.name) {
            return Err(format!(
                "target {} ({}): `name` is used twice",
                index + 1,
                target.name
            ));
        }
        targets.push(target);
    }
    Ok(Targets(targets))
}

fn parse_target(index: usize, item: &Value) -> Result<Target, String> {
    let object = item
        .as_object()
        .ok_or_else(|| format!("target {} is not an object", index + 1))?;
    // Once the name is read, problems name the target by it too.
    let text = |label: &str, field: &str| -> Result<Option<&str>, String> {
        match object.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim())),
            Some(_) => Err(format!("{label}: `{field}` must be a non-empty string")),
        }
    };
    let unnamed = format!("target {}", index + 1);
    let name = text(&unnamed, "name")?.ok_or_else(|| format!("{unnamed}: `name` is missing"))?;
    let valid_name = name.len() <= MAX_TARGET_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid_name {
        return Err(format!(
            "{unnamed}: `name` must be 1 to 64 letters, digits or - _ . (it names metrics)"
        ));
    }
    let label = format!("target {} ({name})", index + 1);
    let named = |field: &str, problem: &str| format!("{label}: `{field}` {problem}");
    let base_url = text(&label, "base_url")?.ok_or_else(|| named("base_url", "is missing"))?;
    let token = text(&label, "token")?.ok_or_else(|| named("token", "is missing"))?;
    let rule = match text(&label, "match")? {
        None => MatchRule::default(),
        Some(rule) => MatchRule::parse(rule).ok_or_else(|| {
            named(
                "match",
                "must be <userName|emails|externalId>=<work_email|remote_id|username|employee_number>",
            )
        })?,
    };
    let action = match text(&label, "action")? {
        None | Some("deactivate") => Action::Deactivate,
        Some("delete") => Action::Delete,
        Some(_) => return Err(named("action", "must be `deactivate` or `delete`")),
    };
    let linked_account_ids = match object.get("linked_account_ids") {
        None | Some(Value::Null) => None,
        Some(Value::Array(ids)) if !ids.is_empty() => Some(
            ids.iter()
                .map(|id| {
                    id.as_str()
                        .filter(|s| !s.trim().is_empty())
                        .map(|s| s.trim().to_owned())
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| named("linked_account_ids", "must hold non-empty strings"))?,
        ),
        Some(_) => {
            return Err(named(
                "linked_account_ids",
                "must be a non-empty list of strings, or absent for all",
            ));
        }
    };
    Ok(Target {
        name: name.to_owned(),
        base_url: base_url.to_owned(),
        token: Token::new(token),
        rule,
        action,
        linked_account_ids,
    })
}

/// Whether changes are made or only described.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Find the user and record what would be done; change nothing.
    #[default]
    DryRun,
    /// Deactivate or delete.
    Enforce,
}

impl Mode {
    /// `dry-run` or `enforce`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "dry-run" | "dry_run" | "dryrun" => Some(Mode::DryRun),
            "enforce" => Some(Mode::Enforce),
            _ => None,
        }
    }

    /// The name in records.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::DryRun => "dry-run",
            Mode::Enforce => "enforce",
        }
    }
}

/// Which work an invocation takes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// A move into `terminated` (the stream): targets not yet attempted, and failed ones
    /// (the stream's retry).
    Termination,
    /// The release of held, failed and unrecorded deprovisionings (and, once enforcing,
    /// a dry run's findings): the brake does not apply.
    Release,
}

/// The targets that still owe `entry`'s termination a deprovisioning in `pass` and
/// `mode`, in the secret's order. A dry run's finding (`would_*`) is settled in a dry run
/// and owed once the mode is `enforce`: the dry run changed nothing. Nothing for an entry
/// that is not `terminated`: a rehire before the work ran cancels it.
pub fn pending<'a>(entry: &Entry, targets: &'a Targets, pass: Pass, mode: Mode) -> Vec<&'a Target> {
    if entry.decision != Decision::Terminated {
        return Vec::new();
    }
    targets
        .0
        .iter()
        .filter(|t| t.covers(&entry.key))
        .filter(|t| {
            match entry
                .deprovisioning
                .get(&t.name)
                .filter(|d| d.termination == entry.terminated_at)
            {
                // Never attempted, or its outcome never written (the process died):
                // owed in either pass.
                None => true,
                Some(done) => match done.outcome {
                    Outcome::Failed => true,
                    Outcome::Held => pass == Pass::Release,
                    Outcome::WouldDeactivate | Outcome::WouldDelete => mode == Mode::Enforce,
                    _ => false,
                },
            }
        })
        .collect()
}

/// True when `outcome` may be written for `target` over what `stored` holds for its
/// current termination: nothing yet, or work still owed in `mode` (`failed`, `held`, a
/// dry run's finding once enforcing), or a change over an outcome that changed nothing.
/// A settled outcome is never overwritten by a late one (a stream retry's `failed`
/// after a release's `deactivated`).
pub fn may_record(stored: &Entry, target: &str, outcome: Outcome, mode: Mode) -> bool {
    match stored
        .deprovisioning
        .get(target)
        .filter(|d| d.termination == stored.terminated_at)
    {
        None => true,
        Some(done) => match done.outcome {
            Outcome::Failed | Outcome::Held => true,
            Outcome::WouldDeactivate | Outcome::WouldDelete => mode == Mode::Enforce,
            settled => outcome.changed() && !settled.changed(),
        },
    }
}

/// The entry once `target`'s outcome is recorded for its current termination.
pub fn with_outcome(entry: &Entry, target: &str, outcome: Outcome, now: DateTime<Utc>) -> Entry {
    let mut written = entry.clone();
    let attempts = match entry.deprovisioning.get(target) {
        Some(d) if d.termination == entry.terminated_at && d.outcome == Outcome::Failed => {
            d.attempts
        }
        _ => 0,
    };
    written.deprovisioning.insert(
        target.to_owned(),
        Deprovisioning {
            outcome,
            at: now,
            termination: entry.terminated_at,
            attempts: if outcome == Outcome::Failed {
                attempts + 1
            } else {
                attempts
            },
        },
    );
    written.updated_at = now;
    written.revision = entry.revision + 1;
    written
}

/// A user a target's search returned: only what the decision needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundUser {
    /// The SCIM id.
    pub id: String,
    /// `active`, when the server said; absent counts as active.
    pub active: Option<bool>,
    /// The version, when the server gives one (for `If-Match`).
    pub etag: Option<String>,
    /// The values the server gave for the attribute searched on (`userName`, every
    /// `emails[].value`, or `externalId`): checked against the leaver's before anything
    /// changes, since a server that ignores or misreads the filter answers someone else.
    pub values: Vec<String>,
}

impl ScimAttribute {
    /// The attribute's name, as `attributes=` asks for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimAttribute::UserName => "userName",
            ScimAttribute::Emails => "emails",
            ScimAttribute::ExternalId => "externalId",
        }
    }

    /// True when `returned` is the same value as `wanted` for this attribute:
    /// `userName` and e-mail addresses compare case-insensitively (as SCIM does),
    /// `externalId` exactly.
    pub fn same(self, returned: &str, wanted: &str) -> bool {
        match self {
            ScimAttribute::UserName | ScimAttribute::Emails => {
                returned.to_lowercase() == wanted.to_lowercase()
            }
            ScimAttribute::ExternalId => returned == wanted,
        }
    }
}

/// What to do after the search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to change: the outcome is known.
    Done(Outcome),
    /// Change this one user (under the brake).
    Change(FoundUser),
    /// The server answered only users whose value is not the leaver's (it ignored or
    /// misread the filter): `not_found`, and nothing changed.
    NotMatching,
}

/// What the search's answer means for `action` in `mode`, when the leaver's value for
/// `attribute` is `wanted`. Only a returned user whose value is the leaver's counts: one
/// such user is acted on, more than one (or a list the server cut short, where another
/// could hide) is `ambiguous`, whatever the mode. At most one user is ever changed.
pub fn after_search(
    found: &[FoundUser],
    attribute: ScimAttribute,
    wanted: &str,
    action: Action,
    mode: Mode,
) -> Step {
    if found.is_empty() {
        return Step::Done(Outcome::NotFound);
    }
    // `read_list` stands in an id-less user for each the server said it did not send.
    let cut_short = found.iter().any(|u| u.id.is_empty());
    let matching: Vec<&FoundUser> = found
        .iter()
        .filter(|u| !u.id.is_empty() && u.values.iter().any(|v| attribute.same(v, wanted)))
        .collect();
    let user = match matching.as_slice() {
        // Users came back, and none is the leaver: the filter was not applied.
        [] if found.iter().any(|u| !u.id.is_empty()) => return Step::NotMatching,
        // The server said there were matches but sent none of them.
        [] => return Step::Done(Outcome::Ambiguous),
        [user] if !cut_short => *user,
        _ => return Step::Done(Outcome::Ambiguous),
    };
    let inactive = user.active == Some(false);
    match (action, mode) {
        (Action::Deactivate, _) if inactive => Step::Done(Outcome::AlreadyInactive),
        (Action::Deactivate, Mode::DryRun) => Step::Done(Outcome::WouldDeactivate),
        (Action::Delete, Mode::DryRun) => Step::Done(Outcome::WouldDelete),
        _ => Step::Change(user.clone()),
    }
}

/// The brake's window: the UTC hour `now` falls in, as `2026-11-30T23`.
pub fn brake_window(now: DateTime<Utc>) -> String {
    now.format("%Y-%m-%dT%H").to_string()
}

/// The `kind` of the direct invocation that releases held deprovisionings.
pub const RELEASE_KIND: &str = "merge-deprovision.release-held";

/// True for `{"kind": "merge-deprovision.release-held", "version": 1}`.
pub fn is_release(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body).is_ok_and(|v| {
        v.get("kind").and_then(Value::as_str) == Some(RELEASE_KIND)
            && v.get("version").and_then(Value::as_u64) == Some(1)
    })
}

/// The default limit of changes per hour.
pub const DEFAULT_MAX_PER_HOUR: u32 = 25;

/// A rehire's warning: in `target`, access was removed at `at` and is not given back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// The target.
    pub target: String,
    /// `deactivated` or `deleted`.
    pub outcome: Outcome,
    /// When.
    pub at: DateTime<Utc>,
}

/// What a move out of `terminated` (a rehire) leaves to be restored by hand: every
/// target where this termination changed the user. The function never reactivates.
pub fn removed_before_rehire(stored: Option<&Entry>, after: Option<&Entry>) -> Vec<Removed> {
    let (Some(stored), Some(after)) = (stored, after) else {
        return Vec::new();
    };
    if stored.decision != Decision::Terminated || after.decision == Decision::Terminated {
        return Vec::new();
    }
    stored
        .deprovisioning
        .iter()
        .filter(|(_, d)| d.outcome.changed() && d.termination == stored.terminated_at)
        .map(|(target, d)| Removed {
            target: target.clone(),
            outcome: d.outcome,
            at: d.at,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ledger::{Observation, Source, transition};
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
    }

    const SECRET: &str = r#"{"targets": [
        {"name": "chat", "base_url": "https://chat.example.com/scim/v2", "token": "t1"},
        {"name": "crm", "base_url": "https://crm.example.com/scim/v2", "token": "t2",
         "match": "externalId=remote_id", "action": "delete",
         "linked_account_ids": ["acme"]}
    ]}"#;

    #[test]
    fn a_targets_secret_reads_with_its_defaults() {
        let targets = parse_targets(SECRET).unwrap();
        let chat = &targets.0[0];
        assert_eq!(chat.rule, MatchRule::default());
        assert_eq!(chat.action, Action::Deactivate);
        assert_eq!(chat.linked_account_ids, None);
        let crm = &targets.0[1];
        assert_eq!(crm.rule.attribute, ScimAttribute::ExternalId);
        assert_eq!(crm.rule.field, EmployeeField::RemoteId);
        assert_eq!(crm.action, Action::Delete);
        assert_eq!(crm.token.expose(), "t2");
    }

    #[test]
    fn a_wrong_shape_names_the_target_and_field_but_never_a_value() {
        let cases = [
            (
                r#"{"targets": [{"name": "chat", "base_url": "https://x", "token": "SECRET-1", "match": "SECRET-2"}]}"#,
                "target 1 (chat): `match`",
            ),
            (
                r#"{"targets": [{"name": "chat", "base_url": "https://x", "token": "SECRET-1", "action": "SECRET-2"}]}"#,
                "target 1 (chat): `action`",
            ),
            (
                r#"{"targets": [{"name": "chat", "base_url": "https://x"}]}"#,
                "target 1 (chat): `token` is missing",
            ),
            (
                r#"{"targets": [{"name": "chat", "base_url": "https://x", "token": 7}]}"#,
                "target 1 (chat): `token` must be",
            ),
            (
                r#"{"targets": [{"base_url": "https://x", "token": "SECRET-1"}]}"#,
                "target 1: `name` is missing",
            ),
            (
                r#"{"targets": [{"name": "a b", "base_url": "https://x", "token": "SECRET-1"}]}"#,
                "target 1: `name`",
            ),
            (
                r#"{"targets": [{"name": "c", "base_url": "https://x", "token": "SECRET-1", "linked_account_ids": "SECRET-2"}]}"#,
                "target 1 (c): `linked_account_ids`",
            ),
            (r#"{"targets": []}"#, "`targets` is empty"),
            (r#"{"SECRET-1": 1}"#, "no `targets` list"),
            ("SECRET-1", "not JSON"),
        ];
        for (text, expected) in cases {
            let problem = parse_targets(text).err().unwrap();
            assert!(problem.contains(expected), "{problem} / {expected}");
            assert!(!problem.contains("SECRET"), "{problem}");
        }
        let twice = r#"{"targets": [{"name": "c", "base_url": "https://x", "token": "a"},
            {"name": "c", "base_url": "https://y", "token": "b"}]}"#;
        assert!(parse_targets(twice).err().unwrap().contains("used twice"));
    }

    #[test]
    fn every_documented_match_rule_reads_and_others_do_not() {
        for rule in [
            "userName=work_email",
            "emails=work_email",
            "externalId=remote_id",
            "userName=username",
            "userName=employee_number",
        ] {
            assert!(MatchRule::parse(rule).is_some(), "{rule}");
        }
        for rule in ["userName", "name=work_email", "userName=ssn", ""] {
            assert!(MatchRule::parse(rule).is_none(), "{rule}");
        }
    }

    #[test]
    fn a_quote_or_backslash_in_a_value_cannot_change_the_filter() {
        let identity = Identity {
            work_email: Some(r#"a" or userName pr or "\@example.com"#.into()),
            ..Identity::default()
        };
        let filter = MatchRule::default().filter(&identity).unwrap();
        assert_eq!(
            filter,
            r#"userName eq "a\" or userName pr or \"\\@example.com""#
        );
        let emails = MatchRule::parse("emails=work_email").unwrap();
        assert_eq!(
            emails.filter(&identity).unwrap(),
            r#"emails[value eq "a\" or userName pr or \"\\@example.com"]"#
        );
        assert_eq!(quote("a\nb"), r#""a\u000ab""#);
        assert_eq!(MatchRule::default().filter(&Identity::default()), None);
    }

    #[test]
    fn a_target_limited_to_linked_accounts_covers_only_those() {
        let targets = parse_targets(SECRET).unwrap();
        let acme = EmployeeKey::new(Some("acme"), "e");
        let other = EmployeeKey::new(Some("globex"), "e");
        assert!(targets.0[0].covers(&acme) && targets.0[0].covers(&other));
        assert!(targets.0[1].covers(&acme) && !targets.0[1].covers(&other));
    }

    const LEAVER: &str = "Greg@Merge.dev";

    fn user(active: Option<bool>) -> FoundUser {
        named("u1", "greg@merge.dev", active)
    }

    fn named(id: &str, value: &str, active: Option<bool>) -> FoundUser {
        FoundUser {
            id: id.into(),
            active,
            etag: None,
            values: vec![value.into()],
        }
    }

    fn by_name(found: &[FoundUser], action: Action, mode: Mode) -> Step {
        after_search(found, ScimAttribute::UserName, LEAVER, action, mode)
    }

    #[test]
    fn a_returned_user_that_is_not_the_leaver_is_never_changed() {
        let admin = named("admin", "admin@merge.dev", Some(true));
        assert_eq!(
            by_name(std::slice::from_ref(&admin), Action::Delete, Mode::Enforce),
            Step::NotMatching
        );
        // Two back, one of them the leaver: only that one, and only because it is alone.
        let leaver = user(Some(true));
        assert_eq!(
            by_name(
                &[admin.clone(), leaver.clone()],
                Action::Deactivate,
                Mode::Enforce
            ),
            Step::Change(leaver.clone())
        );
        let twin = named("u2", "GREG@merge.dev", Some(true));
        assert_eq!(
            by_name(&[leaver.clone(), twin], Action::Deactivate, Mode::Enforce),
            Step::Done(Outcome::Ambiguous)
        );
        // A list cut short could hide another match.
        let unsent = named("", "", None);
        assert_eq!(
            by_name(&[leaver, unsent], Action::Deactivate, Mode::Enforce),
            Step::Done(Outcome::Ambiguous)
        );
        // externalId is compared exactly; e-mails by any of the user's addresses.
        let external = named("u3", "R-1", Some(true));
        assert_eq!(
            after_search(
                &[external],
                ScimAttribute::ExternalId,
                "r-1",
                Action::Delete,
                Mode::Enforce
            ),
            Step::NotMatching
        );
        let mut emails = named("u4", "other@merge.dev", Some(true));
        emails.values.push("greg@MERGE.dev".into());
        assert_eq!(
            after_search(
                &[emails],
                ScimAttribute::Emails,
                LEAVER,
                Action::Delete,
                Mode::DryRun
            ),
            Step::Done(Outcome::WouldDelete)
        );
    }

    #[test]
    fn the_search_decides_what_is_changed_and_never_more_than_one_user() {
        use Outcome::*;
        let enforce = |found: &[FoundUser], action| by_name(found, action, Mode::Enforce);
        assert_eq!(enforce(&[], Action::Deactivate), Step::Done(NotFound));
        assert_eq!(
            enforce(&[user(Some(true)), user(Some(true))], Action::Delete),
            Step::Done(Ambiguous)
        );
        assert_eq!(
            enforce(&[user(Some(false))], Action::Deactivate),
            Step::Done(AlreadyInactive)
        );
        assert_eq!(
            enforce(&[user(None)], Action::Deactivate),
            Step::Change(user(None))
        );
        assert_eq!(
            enforce(&[user(Some(false))], Action::Delete),
            Step::Change(user(Some(false)))
        );
        assert_eq!(
            by_name(&[user(Some(true))], Action::Deactivate, Mode::DryRun),
            Step::Done(WouldDeactivate)
        );
        assert_eq!(
            by_name(&[user(Some(true))], Action::Delete, Mode::DryRun),
            Step::Done(WouldDelete)
        );
    }

    fn terminated() -> Entry {
        let observation = Observation {
            key: EmployeeKey::new(Some("acme"), "e1"),
            decision: Decision::Terminated,
            reasons: String::new(),
            termination_date: None,
            effective_at: None,
            version: Some(now()),
            removal: false,
            identity: Identity::default(),
            source: Source::Webhook,
            delivery_id: None,
        };
        transition(None, &observation, now()).write.unwrap()
    }

    #[test]
    fn only_targets_without_a_settled_outcome_for_this_termination_are_pending() {
        let targets = parse_targets(SECRET).unwrap();
        let entry = terminated();
        let names = |list: Vec<&Target>| list.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(pending(&entry, &targets, Pass::Termination, Mode::Enforce)),
            ["chat", "crm"]
        );
        assert_eq!(
            names(pending(&entry, &targets, Pass::Release, Mode::Enforce)),
            ["chat", "crm"],
            "a release carries out work whose outcome was never written"
        );
        let done = with_outcome(&entry, "chat", Outcome::Deactivated, now());
        assert_eq!(done.revision, entry.revision + 1);
        let held = with_outcome(&done, "crm", Outcome::Held, now());
        assert!(pending(&held, &targets, Pass::Termination, Mode::Enforce).is_empty());
        assert_eq!(
            names(pending(&held, &targets, Pass::Release, Mode::Enforce)),
            ["crm"]
        );
        let failed = with_outcome(&held, "crm", Outcome::Failed, now());
        let again = with_outcome(&failed, "crm", Outcome::Failed, now());
        assert_eq!(again.deprovisioning["crm"].attempts, 2);
        assert_eq!(
            names(pending(&again, &targets, Pass::Termination, Mode::Enforce)),
            ["crm"]
        );
    }

    #[test]
    fn a_dry_runs_finding_is_owed_once_the_mode_is_enforce() {
        let targets = parse_targets(SECRET).unwrap();
        let names = |list: Vec<&Target>| list.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
        let entry = with_outcome(&terminated(), "chat", Outcome::WouldDeactivate, now());
        let entry = with_outcome(&entry, "crm", Outcome::WouldDelete, now());
        for pass in [Pass::Termination, Pass::Release] {
            assert!(pending(&entry, &targets, pass, Mode::DryRun).is_empty());
            assert_eq!(
                names(pending(&entry, &targets, pass, Mode::Enforce)),
                ["chat", "crm"]
            );
        }
    }

    #[test]
    fn a_late_outcome_never_overwrites_a_settled_one() {
        let entry = terminated();
        assert!(may_record(&entry, "chat", Outcome::Failed, Mode::Enforce));
        let failed = with_outcome(&entry, "chat", Outcome::Failed, now());
        assert!(may_record(
            &failed,
            "chat",
            Outcome::Deactivated,
            Mode::Enforce
        ));
        let done = with_outcome(&failed, "chat", Outcome::Deactivated, now());
        for late in [
            Outcome::Failed,
            Outcome::Held,
            Outcome::NotFound,
            Outcome::Deleted,
        ] {
            assert!(!may_record(&done, "chat", late, Mode::Enforce), "{late:?}");
        }
        let found = with_outcome(&entry, "chat", Outcome::WouldDeactivate, now());
        assert!(!may_record(&found, "chat", Outcome::Failed, Mode::DryRun));
        assert!(may_record(
            &found,
            "chat",
            Outcome::Deactivated,
            Mode::Enforce
        ));
        let nobody = with_outcome(&entry, "chat", Outcome::NotFound, now());
        assert!(!may_record(&nobody, "chat", Outcome::Failed, Mode::Enforce));
        assert!(may_record(
            &nobody,
            "chat",
            Outcome::Deactivated,
            Mode::Enforce
        ));
    }

    #[test]
    fn a_rehire_after_deprovisioning_names_what_must_be_restored_by_hand() {
        let entry = with_outcome(&terminated(), "chat", Outcome::Deactivated, now());
        let entry = with_outcome(&entry, "crm", Outcome::NotFound, now());
        let mut rehired = entry.clone();
        rehired.decision = Decision::Active;
        rehired.terminated_at = None;
        let removed = removed_before_rehire(Some(&entry), Some(&rehired));
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].target, "chat");
        assert_eq!(removed[0].at, now());
        assert!(removed_before_rehire(Some(&entry), Some(&entry)).is_empty());
        assert!(
            pending(
                &rehired,
                &parse_targets(SECRET).unwrap(),
                Pass::Release,
                Mode::Enforce
            )
            .is_empty()
        );
    }

    #[test]
    fn the_brake_window_is_the_utc_hour() {
        assert_eq!(brake_window(now()), "2026-11-27T12");
    }
}
