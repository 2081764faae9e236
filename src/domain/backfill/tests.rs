use super::*;
use crate::domain::decision::Decision;
use crate::domain::deprovision::{Outcome, parse_targets, with_outcome};
use crate::domain::ledger::{Identity, Observation, Source, transition};
use chrono::TimeZone;

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

fn targets() -> Targets {
    parse_targets(
        r#"{"targets": [
            {"name": "chat", "base_url": "https://chat.example.com/scim/v2", "token": "t1"},
            {"name": "crm", "base_url": "https://crm.example.com/scim/v2", "token": "t2"}]}"#,
    )
    .unwrap()
}

fn terminated(employee: &str, historical: bool) -> Entry {
    let observation = Observation {
        key: EmployeeKey::new(Some("acct"), employee),
        decision: Decision::Terminated,
        reasons: String::new(),
        termination_date: Some(at(2023, 3, 31)),
        effective_at: Some(at(2023, 3, 31)),
        effective_rule: None,
        version: Some(at(2026, 11, 1)),
        removal: false,
        identity: Identity {
            work_email: Some(format!("{employee}@example.com")),
            ..Identity::default()
        },
        source: Source::Reconciliation,
        delivery_id: None,
    };
    let mut entry = transition(None, &observation, at(2026, 12, 1))
        .write
        .unwrap();
    entry.historical = historical;
    entry
}

#[test]
fn a_backfill_works_historical_and_never_attempted_terminations_in_every_target() {
    let entries = [terminated("b", true), terminated("a", false)];
    let found = candidates(&entries, &targets(), Mode::Enforce);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].key.employee_id, "a", "in key order");
    assert!(found[1].historical);
    assert_eq!(found[1].targets, ["chat", "crm"]);
}

#[test]
fn a_settled_target_is_never_worked_again_so_a_second_backfill_changes_nothing() {
    let done = with_outcome(
        &terminated("a", true),
        "chat",
        Outcome::Deactivated,
        at(2026, 12, 1),
    );
    let both = with_outcome(&done, "crm", Outcome::AlreadyInactive, at(2026, 12, 1));
    assert_eq!(
        candidates(&[done], &targets(), Mode::Enforce)[0].targets,
        ["crm"]
    );
    assert!(candidates(&[both], &targets(), Mode::Enforce).is_empty());
}

#[test]
fn what_needs_a_person_is_left_to_the_recheck() {
    let conflict = with_outcome(
        &terminated("a", false),
        "chat",
        Outcome::Conflict,
        at(2026, 12, 1),
    );
    let found = candidates(&[conflict], &targets(), Mode::Enforce);
    assert_eq!(found[0].targets, ["crm"]);
}

#[test]
fn a_historical_termination_owes_nothing_to_the_stream_or_a_release() {
    let entry = terminated("a", true);
    let targets = targets();
    for pass in [Pass::Termination, Pass::Release, Pass::Recheck] {
        assert!(
            pending(&entry, &targets, pass, Mode::Enforce).is_empty(),
            "{pass:?}"
        );
    }
    // Once a backfill held it (or found it in a dry run), only a backfill or a recheck
    // goes on, under the brake: never the release, which is past it.
    for outcome in [Outcome::Held, Outcome::Failed, Outcome::WouldDeactivate] {
        let started = with_outcome(&entry, "chat", outcome, at(2026, 12, 1));
        assert!(pending(&started, &targets, Pass::Release, Mode::Enforce).is_empty());
        let names = |pass| {
            pending(&started, &targets, pass, Mode::Enforce)
                .iter()
                .map(|t| t.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(Pass::Recheck), ["chat"], "{outcome:?}");
        assert_eq!(
            names(Pass::Backfill),
            ["chat", "crm"],
            "and what it never tried"
        );
    }
}

#[test]
fn a_backfill_scoped_to_one_target_lists_only_it_and_an_unknown_name_is_refused() {
    let targets = targets();
    let crm = scoped(&targets, Some("crm")).unwrap();
    let found = candidates(&[terminated("a", true)], &crm, Mode::Enforce);
    assert_eq!(found[0].targets, ["crm"]);
    assert!(scoped(&targets, Some("hr")).is_none());
}

#[test]
fn a_backfill_document_lists_only_until_asked_to_act() {
    let read = |text: &str| read_backfill(text.as_bytes());
    let preview = read(
        r#"{"kind": "merge-deprovision.backfill", "version": 1, "linked_account_id": " acct "}"#,
    );
    assert_eq!(
        preview,
        Some(Ok(BackfillDocument {
            linked_account_id: "acct".into(),
            target: None,
            dry_run: true
        }))
    );
    let act = read(
        r#"{"kind": "merge-deprovision.backfill", "version": 1, "linked_account_id": "acct",
            "target": "chat", "dry_run": false}"#,
    );
    assert!(matches!(
        act,
        Some(Ok(BackfillDocument { dry_run: false, .. }))
    ));
    assert_eq!(
        read(r#"{"kind": "merge-deprovision.backfill", "version": 1}"#),
        Some(Err(DocumentError::NoAccount))
    );
    assert_eq!(
        read(r#"{"kind": "merge-deprovision.backfill", "version": 2, "linked_account_id": "a"}"#),
        Some(Err(DocumentError::Shape))
    );
    assert_eq!(
        read(
            r#"{"kind": "merge-deprovision.backfill", "version": 1, "linked_account_id": "a", "dryrun": false}"#
        ),
        Some(Err(DocumentError::Shape)),
        "a misspelt field never acts"
    );
    assert_eq!(
        read(r#"{"kind": "merge-deprovision.release-held", "version": 1}"#),
        None
    );
}

#[test]
fn a_baseline_document_reads_or_sets_a_past_instant() {
    let now = at(2026, 12, 2);
    let read = |text: &str| read_baseline(text.as_bytes(), now);
    assert_eq!(
        read(
            r#"{"kind": "merge-deprovision.baseline", "version": 1, "linked_account_id": "acct"}"#
        ),
        Some(Ok(BaselineDocument {
            linked_account_id: "acct".into(),
            at: None
        }))
    );
    let set = read(
        r#"{"kind": "merge-deprovision.baseline", "version": 1, "linked_account_id": "acct",
            "at": "2020-01-01T00:00:00Z"}"#,
    );
    assert_eq!(set.unwrap().unwrap().at, Some(at(2020, 1, 1)));
    assert_eq!(
        read(
            r#"{"kind": "merge-deprovision.baseline", "version": 1, "linked_account_id": "a", "at": "2027-01-01T00:00:00Z"}"#
        ),
        Some(Err(DocumentError::FutureInstant))
    );
    assert_eq!(
        read(
            r#"{"kind": "merge-deprovision.baseline", "version": 1, "linked_account_id": "a", "at": "yesterday"}"#
        ),
        Some(Err(DocumentError::BadInstant))
    );
    for early in ["0000-01-01T00:00:00+23:59", "1969-12-31T23:59:59Z"] {
        let text = format!(
            r#"{{"kind": "merge-deprovision.baseline", "version": 1, "linked_account_id": "a", "at": "{early}"}}"#
        );
        assert_eq!(read(&text), Some(Err(DocumentError::BadInstant)), "{early}");
    }
}

#[test]
fn a_reindex_document_names_one_account() {
    let read = |text: &str| read_reindex(text.as_bytes());
    assert_eq!(
        read(r#"{"kind": "merge-deprovision.reindex", "version": 1, "linked_account_id": "acct"}"#),
        Some(Ok("acct".to_owned()))
    );
    assert_eq!(
        read(r#"{"kind": "merge-deprovision.reindex", "version": 1, "linked_account_id": " "}"#),
        Some(Err(DocumentError::NoAccount))
    );
    assert_eq!(
        read(r#"{"kind": "merge-deprovision.backfill", "version": 1}"#),
        None
    );
}
