use super::*;
use crate::domain::decision::Decision;
use crate::domain::deprovision::{Mode, Pass, parse_targets, pending, with_change, with_outcome};
use crate::domain::ledger::{Identity, Observation, Source, transition};
use chrono::TimeZone;

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, h, 0, 0).unwrap()
}

fn terminated(account: &str, employee: &str) -> Entry {
    let observation = Observation {
        key: EmployeeKey::new(Some(account), employee),
        decision: Decision::Terminated,
        reasons: String::new(),
        termination_date: None,
        effective_at: Some(at(1)),
        effective_rule: None,
        version: Some(at(1)),
        removal: false,
        identity: Identity::default(),
        source: Source::Webhook,
        delivery_id: None,
    };
    transition(None, &observation, at(1)).write.unwrap()
}

fn deactivated(entry: &Entry, target: &str, hour: u32, run: &str) -> Entry {
    let user = format!("user-{}", entry.key.employee_id);
    with_change(
        entry,
        target,
        Outcome::Deactivated,
        (Some(&user), Some(run)),
        at(hour),
    )
}

fn undo(body: serde_json::Value) -> Result<UndoDocument, ControlError> {
    read_undo(body.to_string().as_bytes()).expect("an undo document")
}

#[test]
fn an_undo_names_one_employee_a_window_or_a_run_and_is_a_dry_run_unless_told() {
    let base = serde_json::json!({"kind": UNDO_KIND, "version": 1, "linked_account_id": "a"});
    let with = |extra: serde_json::Value| {
        let mut body = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            body[k.as_str()] = v.clone();
        }
        undo(body)
    };
    let one = with(serde_json::json!({"employee_id": "e"})).unwrap();
    assert_eq!(one.scope, Scope::Employee(EmployeeKey::new(Some("a"), "e")));
    assert!(one.dry_run);
    let window = with(serde_json::json!({"from": "2026-11-30T01:00:00Z",
        "to": "2026-11-30T03:00:00+01:00", "dry_run": false}))
    .unwrap();
    assert_eq!(
        window.scope,
        Scope::Window {
            linked_account_id: "a".into(),
            from: at(1),
            to: at(2)
        }
    );
    assert!(!window.dry_run);
    assert!(matches!(
        with(serde_json::json!({"run": "r1"})).unwrap().scope,
        Scope::Run { .. }
    ));
    let refused = [
        (serde_json::json!({}), ControlError::NoScope),
        (
            serde_json::json!({"employee_id": "e", "run": "r"}),
            ControlError::TwoScopes,
        ),
        (
            serde_json::json!({"from": "2026-11-30T01:00:00Z"}),
            ControlError::HalfWindow,
        ),
        (
            serde_json::json!({"from": "yesterday", "to": "2026-11-30T01:00:00Z"}),
            ControlError::BadInstant("from"),
        ),
        (
            serde_json::json!({"from": "2026-11-30T02:00:00Z", "to": "2026-11-30T01:00:00Z"}),
            ControlError::Backwards,
        ),
        (serde_json::json!({"run": " "}), ControlError::Blank("run")),
        (
            serde_json::json!({"surprise": 1}),
            ControlError::UnknownField(
                "`kind`, `version`, `linked_account_id`, `employee_id`, `from`, `to`, `run`, `dry_run`, `include_terminated`",
            ),
        ),
        (
            serde_json::json!({"run": "r", "dry_run": "false"}),
            ControlError::WrongType("dry_run", "true or false"),
        ),
        (
            serde_json::json!({"employee_id": 7}),
            ControlError::WrongType("employee_id", "a string"),
        ),
        (
            serde_json::json!({"run": "r", "version": 2}),
            ControlError::Version,
        ),
    ];
    for (extra, error) in refused {
        assert_eq!(with(extra.clone()), Err(error), "{extra}");
    }
    let no_account = serde_json::json!({"kind": UNDO_KIND, "version": 1, "run": "r"});
    assert_eq!(undo(no_account), Err(ControlError::NoAccount));
    assert!(read_undo(br#"{"kind": "merge-deprovision.backfill"}"#).is_none());
}

#[test]
fn only_this_functions_changes_in_the_window_of_the_account_are_selected() {
    let mut mine = deactivated(&terminated("a", "mine"), "chat", 2, "r1");
    mine = with_outcome(&mine, "crm", Outcome::AlreadyInactive, at(2));
    let late = deactivated(&terminated("a", "late"), "chat", 5, "r2");
    let other_account = deactivated(&terminated("b", "other"), "chat", 2, "r1");
    let deleted = with_change(
        &terminated("a", "gone"),
        "chat",
        Outcome::Deleted,
        (Some("user-gone"), Some("r1")),
        at(3),
    );
    let entries = [mine, late, other_account, deleted];
    let window = Scope::Window {
        linked_account_id: "a".into(),
        from: at(2),
        to: at(3),
    };
    let found = selected(&entries, &window);
    let names: Vec<(&str, &str)> = found
        .iter()
        .map(|u| (u.key.employee_id.as_str(), u.target.as_str()))
        .collect();
    assert_eq!(names, [("gone", "chat"), ("mine", "chat")]);
    assert_eq!(plan(&found[0]), Err(Undone::NotUndoable));
    assert_eq!(plan(&found[1]), Ok("user-mine"));
    let run = Scope::Run {
        linked_account_id: "a".into(),
        run: "r2".into(),
    };
    assert_eq!(selected(&entries, &run)[0].key.employee_id, "late");
}

#[test]
fn a_deactivation_recorded_before_the_user_was_kept_is_not_recorded() {
    let old = with_outcome(&terminated("a", "old"), "chat", Outcome::Deactivated, at(2));
    let found = selected(&[old], &Scope::Employee(EmployeeKey::new(Some("a"), "old")));
    assert_eq!(plan(&found[0]), Err(Undone::NotRecorded));
}

#[test]
fn a_reactivated_target_is_never_owed_again_for_its_termination_but_a_later_one_is() {
    let targets = parse_targets(
        r#"{"targets": [{"name": "chat", "base_url": "https://chat.example.com/scim/v2", "token": "t"}]}"#,
    )
    .unwrap();
    let entry = deactivated(&terminated("a", "e"), "chat", 2, "r1");
    let found = selected(
        std::slice::from_ref(&entry),
        &Scope::Employee(entry.key.clone()),
    );
    let undone = with_reactivated(&entry, &found[0], Some("undo-run"), at(4)).unwrap();
    assert_eq!(undone.deprovisioning["chat"].outcome, Outcome::Reactivated);
    assert_eq!(
        undone.deprovisioning["chat"].run.as_deref(),
        Some("undo-run")
    );
    for pass in [
        Pass::Termination,
        Pass::Release,
        Pass::Recheck,
        Pass::Backfill,
    ] {
        assert!(
            pending(&undone, &targets, pass, Mode::Enforce).is_empty(),
            "{pass:?}"
        );
    }
    // Only a person naming the employee (deprovision now) takes the access again.
    assert_eq!(
        pending(&undone, &targets, Pass::ByHand, Mode::Enforce).len(),
        1
    );
    for late in [Outcome::Failed, Outcome::Held, Outcome::NotFound] {
        assert!(!crate::domain::deprovision::may_record(
            &undone,
            "chat",
            late,
            Mode::Enforce
        ));
    }
    assert!(
        selected(
            std::slice::from_ref(&undone),
            &Scope::Employee(entry.key.clone())
        )
        .is_empty()
    );
    assert_eq!(
        with_reactivated(&undone, &found[0], None, at(5)),
        None,
        "undone once"
    );
    let mut again = undone.clone();
    again.terminated_at = Some(at(9));
    assert_eq!(
        pending(&again, &targets, Pass::Termination, Mode::Enforce).len(),
        1
    );
}

#[test]
fn an_operators_document_cannot_name_one_of_the_tables_own_partitions_as_its_account() {
    use crate::domain::undo::account;
    for id in ["#evidence#2026-11", "#deprovision-control", "a/b"] {
        assert_eq!(
            account(Some(id.to_owned())),
            Err(ControlError::NotAnAccount("linked_account_id")),
            "{id}"
        );
    }
    assert_eq!(
        account(Some(" acct-1 ".to_owned())),
        Ok("acct-1".to_owned())
    );
}
