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
        "emails.any=work_email",
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
        values: vec![ScimValue::plain(value)],
    }
}

fn by_name(found: &[FoundUser]) -> Leaver {
    leaver_in(found, ScimAttribute::UserName, LEAVER)
}

#[test]
fn a_returned_user_that_is_not_the_leaver_is_never_changed() {
    let admin = named("admin", "admin@merge.dev", Some(true));
    assert_eq!(by_name(std::slice::from_ref(&admin)), Leaver::NotMatching);
    // Two back, one of them the leaver: only that one, and only because it is alone.
    let leaver = user(Some(true));
    assert_eq!(
        by_name(&[admin.clone(), leaver.clone()]),
        Leaver::One(leaver.clone())
    );
    let twin = named("u2", "GREG@merge.dev", Some(true));
    assert_eq!(
        by_name(&[leaver.clone(), twin]),
        Leaver::Done(Outcome::Ambiguous)
    );
    // A list cut short could hide another match.
    let unsent = named("", "", None);
    assert_eq!(by_name(&[leaver, unsent]), Leaver::Done(Outcome::Ambiguous));
    // externalId is compared exactly; `emails.any` by any of the user's addresses.
    let external = named("u3", "R-1", Some(true));
    assert_eq!(
        leaver_in(&[external], ScimAttribute::ExternalId, "r-1"),
        Leaver::NotMatching
    );
    let mut emails = named("u4", "other@merge.dev", Some(true));
    emails.values.push(ScimValue::plain("greg@MERGE.dev"));
    assert_eq!(
        leaver_in(
            std::slice::from_ref(&emails),
            ScimAttribute::EmailsAny,
            LEAVER
        ),
        Leaver::One(emails)
    );
}

fn addresses(id: &str, list: &[(&str, Option<&str>, bool)]) -> FoundUser {
    FoundUser {
        id: id.into(),
        active: Some(true),
        etag: None,
        values: list
            .iter()
            .map(|(v, kind, primary)| ScimValue::address(*v, *kind, *primary))
            .collect(),
    }
}

#[test]
fn emails_match_the_users_own_address_never_an_alias_on_another_account() {
    // The manager carries the leaver's address as an `other` alias.
    let manager = addresses(
        "manager",
        &[
            ("roman@merge.dev", Some("work"), true),
            ("greg@merge.dev", Some("other"), false),
        ],
    );
    let alone = std::slice::from_ref(&manager);
    assert_eq!(
        leaver_in(alone, ScimAttribute::Emails, LEAVER),
        Leaver::NotMatching
    );
    assert_eq!(
        leaver_in(alone, ScimAttribute::EmailsAny, LEAVER),
        Leaver::One(manager.clone()),
        "emails.any takes any address, the riskier mode"
    );
    // Beside the leaver's own account, only the leaver's counts.
    let own = addresses("leaver", &[("GREG@merge.dev", Some("work"), false)]);
    assert_eq!(
        leaver_in(
            &[manager.clone(), own.clone()],
            ScimAttribute::Emails,
            LEAVER
        ),
        Leaver::One(own)
    );
    assert_eq!(
        leaver_in(
            &[manager, named("x", "greg@merge.dev", Some(true))],
            ScimAttribute::EmailsAny,
            LEAVER
        ),
        Leaver::Done(Outcome::Ambiguous)
    );
    // Identity providers type every address `work`: a `work` alias beside another
    // primary is still someone else's address on this account.
    let work_alias = addresses(
        "manager",
        &[
            ("roman@merge.dev", Some("work"), true),
            ("greg@merge.dev", Some("work"), false),
        ],
    );
    assert!(!ScimAttribute::Emails.carries(&work_alias, LEAVER));
    assert_eq!(
        leaver_in(
            std::slice::from_ref(&work_alias),
            ScimAttribute::Emails,
            LEAVER
        ),
        Leaver::NotMatching
    );
    // Primary of any type counts; a lone address with no type is the user's own, a lone
    // `home` one or one of several unmarked is not.
    let primary = addresses("p", &[("greg@merge.dev", Some("home"), true)]);
    assert!(ScimAttribute::Emails.carries(&primary, LEAVER));
    let lone = addresses("l", &[("greg@merge.dev", None, false)]);
    assert!(ScimAttribute::Emails.carries(&lone, LEAVER));
    let home = addresses("h", &[("greg@merge.dev", Some("home"), false)]);
    assert!(!ScimAttribute::Emails.carries(&home, LEAVER));
    let several = addresses(
        "s",
        &[
            ("a@merge.dev", None, false),
            ("greg@merge.dev", None, false),
        ],
    );
    assert!(!ScimAttribute::Emails.carries(&several, LEAVER));
    assert!(ScimAttribute::EmailsAny.carries(&several, LEAVER));
}

#[test]
fn match_values_are_trimmed_and_compared_as_scim_compares_them() {
    let identity = Identity {
        work_email: Some(" greg@acme.com ".into()),
        remote_id: Some("\tR-1 ".into()),
        username: Some("   ".into()),
        ..Identity::default()
    };
    let rule = MatchRule::default();
    assert_eq!(rule.value(&identity), Some("greg@acme.com"));
    assert_eq!(
        rule.filter(&identity).unwrap(),
        r#"userName eq "greg@acme.com""#
    );
    let by_id = MatchRule::parse("externalId=remote_id").unwrap();
    assert_eq!(by_id.value(&identity), Some("R-1"));
    let by_username = MatchRule::parse("userName=username").unwrap();
    assert_eq!(by_username.value(&identity), None, "blank is no value");
    assert!(ScimAttribute::UserName.same(" GREG@acme.com", "greg@acme.com "));
    assert!(ScimAttribute::Emails.same("Greg@ACME.com", "greg@acme.com"));
    assert!(ScimAttribute::ExternalId.same(" R-1", "R-1 "));
    assert!(!ScimAttribute::ExternalId.same("r-1", "R-1"));
}

#[test]
fn the_leaver_found_is_changed_as_the_action_and_mode_say_unless_protected() {
    use Outcome::*;
    let enforce = |user: FoundUser, action| for_leaver(user, None, action, Mode::Enforce);
    assert_eq!(by_name(&[]), Leaver::Done(NotFound));
    assert_eq!(
        by_name(&[user(Some(true)), user(Some(true))]),
        Leaver::Done(Ambiguous)
    );
    assert_eq!(
        enforce(user(Some(false)), Action::Deactivate),
        Step::Done(AlreadyInactive)
    );
    assert_eq!(
        enforce(user(None), Action::Deactivate),
        Step::Change(user(None))
    );
    assert_eq!(
        enforce(user(Some(false)), Action::Delete),
        Step::Change(user(Some(false)))
    );
    assert_eq!(
        for_leaver(user(Some(true)), None, Action::Deactivate, Mode::DryRun),
        Step::Done(WouldDeactivate)
    );
    assert_eq!(
        for_leaver(user(Some(true)), None, Action::Delete, Mode::DryRun),
        Step::Done(WouldDelete)
    );
    for mode in [Mode::DryRun, Mode::Enforce] {
        for active in [Some(true), Some(false)] {
            assert_eq!(
                for_leaver(
                    user(active),
                    Some(Protection::TokenOwner),
                    Action::Delete,
                    mode
                ),
                Step::Protected(Protection::TokenOwner)
            );
        }
    }
}

fn protected_identity() -> (EmployeeKey, Identity) {
    let key = EmployeeKey::new(Some("acme"), "emp-7");
    let identity = Identity {
        work_email: Some("Admin@Acme.com".into()),
        remote_id: Some("R-9".into()),
        ..Identity::default()
    };
    (key, identity)
}

#[test]
fn the_protected_list_protects_by_employee_id_a_value_of_the_leaver_or_of_the_user_found() {
    let (key, identity) = protected_identity();
    let guard = |list: &'static [&'static str]| ProtectedList::new(list.iter().copied());
    let check = |list: &ProtectedList| {
        Guard {
            list,
            authority: Authority::Automatic,
        }
        .leaver(&key, &identity)
    };
    assert_eq!(check(&guard(&[])), None);
    assert_eq!(check(&guard(&[" emp-7 "])), Some(Protection::EmployeeId));
    assert_eq!(check(&guard(&["EMP-7"])), None, "ids compare exactly");
    assert_eq!(
        check(&guard(&["admin@acme.com "])),
        Some(Protection::Field(EmployeeField::WorkEmail))
    );
    assert_eq!(
        check(&guard(&["R-9"])),
        Some(Protection::Field(EmployeeField::RemoteId))
    );
    assert_eq!(check(&guard(&["r-9"])), None);
    let list = guard(&["svc-ci@acme.com"]);
    let automatic = Guard {
        list: &list,
        authority: Authority::Automatic,
    };
    let service = addresses("svc", &[("SVC-CI@acme.com", Some("work"), true)]);
    assert_eq!(
        automatic.user(&service, ScimAttribute::Emails, None),
        Some(Protection::ScimValue)
    );
    let admin = named("u-admin", "x@acme.com", Some(true));
    assert_eq!(automatic.user(&admin, ScimAttribute::UserName, None), None);
    assert_eq!(
        automatic.user(&admin, ScimAttribute::UserName, Some("u-admin")),
        Some(Protection::TokenOwner)
    );
    assert_eq!(
        automatic.user(&admin, ScimAttribute::UserName, Some("u-other")),
        None
    );
    assert_eq!(Protection::TokenOwner.as_str(), "token_owner");
    assert_eq!(
        Protection::Field(EmployeeField::WorkEmail).as_str(),
        "work_email"
    );
}

#[test]
fn only_a_by_hand_authority_lifts_a_protection() {
    let (key, identity) = protected_identity();
    let list = ProtectedList::new(["emp-7", "x@acme.com"]);
    let by_hand = Guard {
        list: &list,
        authority: Authority::ByHand,
    };
    assert_eq!(by_hand.leaver(&key, &identity), None);
    let user = named("u-admin", "x@acme.com", Some(true));
    assert_eq!(
        by_hand.user(&user, ScimAttribute::UserName, Some("u-admin")),
        None
    );
    assert_eq!(Authority::default(), Authority::Automatic);
}

#[test]
fn a_protected_list_reads_from_the_secret_for_all_targets_and_one() {
    let text = r#"{"protected": [" breakglass@acme.com ", "emp-1"], "targets": [
        {"name": "chat", "base_url": "https://x", "token": "t"},
        {"name": "git", "base_url": "https://y", "token": "t", "protected": ["svc-ci"]}]}"#;
    let targets = parse_targets(text).unwrap();
    assert_eq!(
        targets.0[0].protected,
        ProtectedList::new(["breakglass@acme.com", "emp-1"])
    );
    assert_eq!(
        targets.0[1].protected,
        ProtectedList::new(["breakglass@acme.com", "emp-1", "svc-ci"])
    );
    assert!(parse_targets(SECRET).unwrap().0[0].protected.is_empty());
    for (text, expected) in [
        (
            r#"{"protected": "SECRET-1", "targets": [{"name": "c", "base_url": "https://x", "token": "t"}]}"#,
            "`protected` must be a list of non-empty strings",
        ),
        (
            r#"{"protected": ["SECRET-1", " "], "targets": [{"name": "c", "base_url": "https://x", "token": "t"}]}"#,
            "`protected` must be a list of non-empty strings",
        ),
        (
            r#"{"targets": [{"name": "c", "base_url": "https://x", "token": "t", "protected": [7, "SECRET-1"]}]}"#,
            "target 1 (c): `protected` must be a list",
        ),
    ] {
        let problem = parse_targets(text).err().unwrap();
        assert!(problem.contains(expected), "{problem} / {expected}");
        assert!(!problem.contains("SECRET"), "{problem}");
    }
}

fn terminated() -> Entry {
    let observation = Observation {
        key: EmployeeKey::new(Some("acme"), "e1"),
        decision: Decision::Terminated,
        reasons: String::new(),
        termination_date: None,
        effective_at: None,
        effective_rule: None,
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
    let inactive = with_outcome(&entry, "chat", Outcome::AlreadyInactive, now());
    assert!(!may_record(
        &inactive,
        "chat",
        Outcome::Failed,
        Mode::Enforce
    ));
    assert!(!may_record(
        &inactive,
        "chat",
        Outcome::NotFound,
        Mode::Enforce
    ));
}

#[test]
fn an_outcome_that_needs_a_person_is_worked_again_by_a_recheck_only() {
    let targets = parse_targets(SECRET).unwrap();
    let names = |list: Vec<&Target>| list.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    for person in [Outcome::NotFound, Outcome::Ambiguous, Outcome::Protected] {
        assert!(person.needs_person() && !person.is_final_change());
        let entry = with_outcome(&terminated(), "chat", person, now());
        let entry = with_outcome(&entry, "crm", Outcome::Deactivated, now());
        assert!(
            pending(&entry, &targets, Pass::Termination, Mode::Enforce).is_empty(),
            "a redelivery leaves {person:?}"
        );
        assert!(
            pending(&entry, &targets, Pass::Release, Mode::Enforce).is_empty(),
            "a plain release leaves {person:?}: the address may be someone else's by now"
        );
        assert_eq!(
            names(pending(&entry, &targets, Pass::Recheck, Mode::Enforce)),
            ["chat"],
            "a recheck works {person:?} again, never the final change"
        );
        // Whatever the release finds replaces it; a final change is never replaced.
        for newer in [Outcome::Deactivated, Outcome::NotFound, Outcome::Failed] {
            assert!(
                may_record(&entry, "chat", newer, Mode::Enforce),
                "{newer:?}"
            );
        }
        assert!(!may_record(&entry, "crm", Outcome::NotFound, Mode::Enforce));
    }
    for last in [
        Outcome::Deactivated,
        Outcome::Deleted,
        Outcome::AlreadyInactive,
    ] {
        assert!(last.is_final_change() && !last.needs_person());
        let entry = with_outcome(&terminated(), "chat", last, now());
        let owed = pending(&entry, &targets, Pass::Release, Mode::Enforce);
        assert_eq!(names(owed), ["crm"], "{last:?} stays settled");
    }
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

#[test]
fn the_index_key_is_the_account_and_the_trimmed_lower_case_value() {
    assert_eq!(
        index_key("acme", " Alex@Merge.DEV "),
        Some("acme|alex@merge.dev".to_owned())
    );
    assert_eq!(
        index_key("acme", "alex@merge.dev"),
        index_key("acme", "ALEX@merge.dev ")
    );
    assert_ne!(
        index_key("acme", "alex@merge.dev"),
        index_key("globex", "alex@merge.dev")
    );
    assert_eq!(normalised("   "), None);
    assert_eq!(index_key("acme", ""), None);
}

fn holding(id: &str, decision: Decision, value: &str) -> Sharer {
    Sharer {
        key: EmployeeKey::new(Some("acme"), id),
        decision,
        value: Some(value.to_owned()),
    }
}

fn leaving_as(email: &str, remote_id: &str) -> Entry {
    let mut entry = terminated();
    entry.identity.work_email = Some(email.to_owned());
    entry.identity.remote_id = Some(remote_id.to_owned());
    entry
}

#[test]
fn another_employee_who_is_not_terminated_holding_the_value_is_a_conflict() {
    let leaver = leaving_as("alex@merge.dev", "R-1");
    let rule = MatchRule::default();
    for decision in [
        Decision::Active,
        Decision::Scheduled,
        Decision::Undetermined,
    ] {
        let sharers = [holding("e2", decision, " ALEX@merge.dev")];
        assert_eq!(
            conflict(&leaver, &rule, &sharers).map(|s| s.key.employee_id.as_str()),
            Some("e2"),
            "{decision:?}"
        );
    }
    // A value the index did not carry counts as the same: refuse when in doubt.
    let unknown = Sharer {
        value: None,
        ..holding("e2", Decision::Active, "")
    };
    assert!(conflict(&leaver, &rule, &[unknown]).is_some());
}

#[test]
fn the_leaver_itself_a_terminated_employee_or_another_account_is_no_conflict() {
    let leaver = leaving_as("alex@merge.dev", "R-1");
    let rule = MatchRule::default();
    let elsewhere = Sharer {
        key: EmployeeKey::new(Some("globex"), "e3"),
        ..holding("e3", Decision::Active, "alex@merge.dev")
    };
    let sharers = [
        holding("e1", Decision::Active, "alex@merge.dev"),
        holding("e2", Decision::Terminated, "alex@merge.dev"),
        elsewhere,
    ];
    assert_eq!(conflict(&leaver, &rule, &sharers), None);
}

#[test]
fn an_external_id_rule_compares_exactly_and_a_username_rule_ignores_case() {
    let leaver = leaving_as("alex@merge.dev", "R-1");
    let by_id = MatchRule::parse("externalId=remote_id").unwrap();
    assert_eq!(
        conflict(&leaver, &by_id, &[holding("e2", Decision::Active, "r-1")]),
        None
    );
    assert!(conflict(&leaver, &by_id, &[holding("e2", Decision::Active, " R-1 ")]).is_some());
    let by_name = MatchRule::parse("userName=remote_id").unwrap();
    assert!(conflict(&leaver, &by_name, &[holding("e2", Decision::Active, "r-1")]).is_some());
}

#[test]
fn a_conflict_needs_a_person_and_is_worked_again_by_a_recheck_only() {
    assert!(Outcome::Conflict.needs_person());
    assert!(!Outcome::Conflict.is_final_change());
    assert_eq!(Outcome::parse("conflict"), Some(Outcome::Conflict));
    let targets = parse_targets(SECRET).unwrap();
    let mut entry = terminated();
    entry = with_outcome(&entry, "chat", Outcome::Conflict, now());
    let names = |list: Vec<&Target>| list.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(pending(&entry, &targets, Pass::Termination, Mode::Enforce)),
        ["crm"]
    );
    assert_eq!(
        names(pending(&entry, &targets, Pass::Release, Mode::Enforce)),
        ["crm"]
    );
    assert_eq!(
        names(pending(&entry, &targets, Pass::Recheck, Mode::Enforce)),
        ["chat", "crm"]
    );
}
