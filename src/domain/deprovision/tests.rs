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
