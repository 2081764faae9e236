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
pub use collision::{Sharer, conflict, field_value, index_key, normalised};
pub use protect::{Authority, Guard, ProtectedList, Protection};
use serde_json::Value;

/// The SCIM attribute a target's users are found by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimAttribute {
    /// `userName`, which SCIM compares case-insensitively.
    UserName,
    /// `emails[value eq ...]`, and the address found must be the user's own: the one
    /// marked `primary` when any is; when none is, one typed `work`, or the only address
    /// when it has no type. An alias on another account (typed `other` or `work` beside
    /// that account's primary) is not the leaver.
    Emails,
    /// `emails[value eq ...]`, any of the user's addresses: riskier, since an alias of
    /// the leaver's address on someone else's account (a manager's, a shared mailbox)
    /// matches too.
    EmailsAny,
    /// `externalId`, the provisioning system's id.
    ExternalId,
}

impl ScimAttribute {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "userName" => Some(ScimAttribute::UserName),
            "emails" | "emails.value" => Some(ScimAttribute::Emails),
            "emails.any" => Some(ScimAttribute::EmailsAny),
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

    /// The employee's value for the rule, when the ledger knows it: trimmed, since a
    /// space an HR system kept around an address would find nobody.
    pub fn value<'a>(&self, identity: &'a Identity) -> Option<&'a str> {
        field_value(identity, self.field)
            .map(str::trim)
            .filter(|v| !v.is_empty())
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
        ScimAttribute::Emails | ScimAttribute::EmailsAny => format!("emails[value eq {quoted}]"),
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
    /// The accounts never changed automatically in this target: the secret's `protected`
    /// list and the target's own.
    pub protected: ProtectedList,
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
/// "action", "linked_account_ids", "protected"}], "protected": [...]}`. The error names
/// the target (by position and, once read, name) and the field, never a value.
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
    let everywhere = ProtectedList::read(value.get("protected"))
        .map_err(|problem| format!("`protected` {problem}"))?;
    let mut targets = Vec::with_capacity(list.len());
    for (index, item) in list.iter().enumerate() {
        let mut target = parse_target(index, item)?;
        target.protected = everywhere.and(&target.protected);
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
                "must be <userName|emails|emails.any|externalId>=<work_email|remote_id|username|employee_number>",
            )
        })?,
    };
    let action = match text(&label, "action")? {
        None | Some("deactivate") => Action::Deactivate,
        Some("delete") => Action::Delete,
        Some(_) => return Err(named("action", "must be `deactivate` or `delete`")),
    };
    let protected = ProtectedList::read(object.get("protected"))
        .map_err(|problem| named("protected", &problem))?;
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
        protected,
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
    /// A release asked to search again where a person was needed (`not_found`,
    /// `ambiguous`, `protected`, `conflict`): after a rule, the application's users or the
    /// protected list were fixed. Only on purpose, and under the brake: an address
    /// searched again long after the termination may be someone else's by now.
    Recheck,
    /// A backfill (`merge-deprovision.backfill`): what a release would work, and also
    /// the targets never attempted for a historical termination, or for one the ledger
    /// held before deprovisioning was on. Only on purpose, and under the brake.
    Backfill,
    /// Deprovision now (`merge-deprovision.deprovision-now`): one employee a person
    /// named, worked at once in every target that is not settled (what a recheck
    /// works), past the brake, with protection lifted ([`Authority::ByHand`]); the
    /// identity-collision check still applies.
    ByHand,
}

impl Pass {
    /// Who asks for the change in this pass: a person only for [`Pass::ByHand`].
    pub fn authority(self) -> Authority {
        match self {
            Pass::ByHand => Authority::ByHand,
            _ => Authority::Automatic,
        }
    }
}

/// The targets that still owe `entry`'s termination a deprovisioning in `pass` and
/// `mode`, in the secret's order. A dry run's finding (`would_*`) is settled in a dry run
/// and owed once the mode is `enforce`: the dry run changed nothing. An outcome that
/// needs a person (`not_found`, `ambiguous`, `protected`, `conflict`) is owed again only
/// in a [`Pass::Recheck`], so that fixing the rule (or the application's users, the
/// protected list, or the HR record in a conflict) and releasing with `recheck` finishes
/// the work; a stream redelivery and a plain release leave it, listed. A final change
/// (`deactivated`, `deleted`, `already_inactive`) is never owed again. Nothing for an
/// entry that is not `terminated`: a rehire before the work ran cancels it. A historical
/// termination owes nothing until a [`Pass::Backfill`] first works a target, and then
/// only in a backfill or a recheck, both under the brake.
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
                // owed in every pass, but for a historical termination, which only a
                // backfill starts (once started, it is worked as any other).
                None => !entry.historical || pass == Pass::Backfill,
                // A historical termination's work, once a backfill started it, goes on
                // under the brake only: a backfill again, or a recheck, never the
                // release that is past the brake.
                Some(_) if entry.historical && !matches!(pass, Pass::Backfill | Pass::Recheck) => {
                    false
                }
                Some(done) => match done.outcome {
                    // A pause searched nothing: whoever comes next works it, under the
                    // brake unless it is the release.
                    Outcome::Failed | Outcome::Paused => true,
                    Outcome::Held => pass != Pass::Termination,
                    Outcome::WouldDeactivate | Outcome::WouldDelete => mode == Mode::Enforce,
                    person if person.needs_person() => {
                        matches!(pass, Pass::Recheck | Pass::ByHand)
                    }
                    // Given back by an undo: only a person naming the employee takes it
                    // again.
                    Outcome::Reactivated => pass == Pass::ByHand,
                    _ => false,
                },
            }
        })
        .collect()
}

/// True when `outcome` may be written for `target` over what `stored` holds for its
/// current termination: nothing yet, or work still owed in `mode` (`failed`, `held`, a
/// dry run's finding once enforcing, an outcome that needs a person: the newer finding
/// replaces it), or a change over an outcome that changed nothing. A final change is
/// never overwritten by a late outcome (a stream retry's `failed` after a release's
/// `deactivated`).
pub fn may_record(stored: &Entry, target: &str, outcome: Outcome, mode: Mode) -> bool {
    match stored
        .deprovisioning
        .get(target)
        .filter(|d| d.termination == stored.terminated_at)
    {
        None => true,
        Some(done) => match done.outcome {
            Outcome::Failed | Outcome::Held | Outcome::Paused => true,
            Outcome::WouldDeactivate | Outcome::WouldDelete => mode == Mode::Enforce,
            person if person.needs_person() => true,
            // An undo gave the access back on purpose: only a change made since (a
            // person's deprovision now) is written over it.
            Outcome::Reactivated => outcome.changed(),
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
            user: None,
            run: None,
            by: None,
        },
    );
    written.updated_at = now;
    written.revision = entry.revision + 1;
    written
}

/// As [`with_outcome`], and for a change (`deactivated`, `deleted`) the SCIM id of the
/// user changed and the invocation that changed it: what an undo needs to give back
/// exactly this function's change.
pub fn with_change(
    entry: &Entry,
    target: &str,
    outcome: Outcome,
    (user, run): (Option<&str>, Option<&str>),
    now: DateTime<Utc>,
) -> Entry {
    let mut written = with_outcome(entry, target, outcome, now);
    if let Some(d) = written
        .deprovisioning
        .get_mut(target)
        .filter(|_| outcome.changed())
    {
        d.user = user.map(str::to_owned);
        d.run = run.map(str::to_owned);
    }
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
    /// address of `emails`, or `externalId`): checked against the leaver's before
    /// anything changes, since a server that ignores or misreads the filter answers
    /// someone else.
    pub values: Vec<ScimValue>,
}

/// One value a returned user carries for the attribute searched on; for an address,
/// its `type` and `primary` too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimValue {
    /// The value.
    pub value: String,
    /// `primary`: true only when the server said so.
    pub primary: bool,
    /// `type` (`work`, `home`, `other`), when given.
    pub kind: Option<String>,
}

impl ScimValue {
    /// A value with neither `type` nor `primary` (`userName`, `externalId`).
    pub fn plain(value: impl Into<String>) -> Self {
        ScimValue {
            value: value.into(),
            primary: false,
            kind: None,
        }
    }

    /// An address of `type`, primary or not.
    pub fn address(value: impl Into<String>, kind: Option<&str>, primary: bool) -> Self {
        ScimValue {
            value: value.into(),
            primary,
            kind: kind.map(str::to_owned),
        }
    }

    fn is_work(&self) -> bool {
        self.kind
            .as_deref()
            .is_some_and(|k| k.trim().eq_ignore_ascii_case("work"))
    }
}

impl ScimAttribute {
    /// The attribute's name, as `attributes=` asks for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimAttribute::UserName => "userName",
            ScimAttribute::Emails | ScimAttribute::EmailsAny => "emails",
            ScimAttribute::ExternalId => "externalId",
        }
    }

    /// True when `returned` is the same value as `wanted` for this attribute, both
    /// trimmed: `userName` and e-mail addresses compare case-insensitively (as SCIM
    /// does), `externalId` exactly.
    pub fn same(self, returned: &str, wanted: &str) -> bool {
        let (returned, wanted) = (returned.trim(), wanted.trim());
        match self {
            ScimAttribute::UserName | ScimAttribute::Emails | ScimAttribute::EmailsAny => {
                returned.to_lowercase() == wanted.to_lowercase()
            }
            ScimAttribute::ExternalId => returned == wanted,
        }
    }

    /// True when `user` carries `wanted` as this attribute says: for `emails`, as its own
    /// address (the one marked primary when any is; when none is, one typed `work`, or
    /// the only address when it has no type); for `emails.any`, as any address; otherwise
    /// as its value. Identity providers type every address `work`, so a `work` alias
    /// beside another primary is someone else's address on this account, never its own.
    pub fn carries(self, user: &FoundUser, wanted: &str) -> bool {
        let values = &user.values;
        let any_primary = values.iter().any(|v| v.primary);
        values.iter().any(|v| {
            self.same(&v.value, wanted)
                && match self {
                    ScimAttribute::Emails if any_primary => v.primary,
                    ScimAttribute::Emails => v.is_work() || (values.len() == 1 && v.kind.is_none()),
                    _ => true,
                }
        })
    }
}

/// Which of the returned users is the leaver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leaver {
    /// Exactly this one, and no other could hide in a list cut short.
    One(FoundUser),
    /// Nobody (`not_found`), or no telling which (`ambiguous`).
    Done(Outcome),
    /// The server answered only users whose value is not the leaver's (it ignored or
    /// misread the filter): `not_found`, and nothing changed.
    NotMatching,
}

/// Which returned user is the leaver, when the leaver's value for `attribute` is
/// `wanted`. Only a returned user that carries the value counts
/// ([`ScimAttribute::carries`]): one such user is the leaver; more than one (or a list
/// the server cut short, where another could hide) is `ambiguous`, whatever the mode.
pub fn leaver_in(found: &[FoundUser], attribute: ScimAttribute, wanted: &str) -> Leaver {
    if found.is_empty() {
        return Leaver::Done(Outcome::NotFound);
    }
    // `read_list` stands in an id-less user for each the server said it did not send.
    let cut_short = found.iter().any(|u| u.id.is_empty());
    let matching: Vec<&FoundUser> = found
        .iter()
        .filter(|u| !u.id.is_empty() && attribute.carries(u, wanted))
        .collect();
    match matching.as_slice() {
        // Users came back, and none is the leaver: the filter was not applied (or found
        // the address only as someone else's alias).
        [] if found.iter().any(|u| !u.id.is_empty()) => Leaver::NotMatching,
        // The server said there were matches but sent none of them.
        [] => Leaver::Done(Outcome::Ambiguous),
        [user] if !cut_short => Leaver::One((*user).clone()),
        _ => Leaver::Done(Outcome::Ambiguous),
    }
}

/// What to do with the leaver's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to change: the outcome is known.
    Done(Outcome),
    /// Change this one user (under the brake).
    Change(FoundUser),
    /// The account is protected: `protected`, nothing changed, whatever the mode.
    Protected(Protection),
}

/// What the leaver's account `user` is owed for `action` in `mode`, once the guard
/// said whether it is protected. A protected account is never changed, even when
/// inactive (a `delete` would still remove it).
pub fn for_leaver(
    user: FoundUser,
    protection: Option<Protection>,
    action: Action,
    mode: Mode,
) -> Step {
    if let Some(protection) = protection {
        return Step::Protected(protection);
    }
    let inactive = user.active == Some(false);
    match (action, mode) {
        (Action::Deactivate, _) if inactive => Step::Done(Outcome::AlreadyInactive),
        (Action::Deactivate, Mode::DryRun) => Step::Done(Outcome::WouldDeactivate),
        (Action::Delete, Mode::DryRun) => Step::Done(Outcome::WouldDelete),
        _ => Step::Change(user),
    }
}

/// The brake's window: the UTC hour `now` falls in, as `2026-11-30T23`.
pub fn brake_window(now: DateTime<Utc>) -> String {
    now.format("%Y-%m-%dT%H").to_string()
}

/// The `kind` of the direct invocation that releases held deprovisionings.
pub const RELEASE_KIND: &str = "merge-deprovision.release-held";

/// True for `{"kind": "merge-deprovision.release-held", "version": 1}` (with
/// `"recheck": true` or not).
pub fn is_release(body: &[u8]) -> bool {
    release_pass(body).is_some()
}

/// The pass a release document asks for: [`Pass::Recheck`] with `"recheck": true`,
/// otherwise [`Pass::Release`]; `None` for any other document.
pub fn release_pass(body: &[u8]) -> Option<Pass> {
    let v = serde_json::from_slice::<Value>(body).ok()?;
    let is_release = v.get("kind").and_then(Value::as_str) == Some(RELEASE_KIND)
        && v.get("version").and_then(Value::as_u64) == Some(1);
    let recheck = v.get("recheck").and_then(Value::as_bool) == Some(true);
    is_release.then_some(if recheck {
        Pass::Recheck
    } else {
        Pass::Release
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

mod collision;
mod protect;

#[cfg(test)]
mod tests;
