use super::*;
use chrono::TimeZone;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

const LEASE: TimeDelta = TimeDelta::seconds(70);

#[test]
fn the_secret_reads_its_key_and_tokens_and_its_debug_shows_neither() {
    let secret = parse_merge_secret(
        r#"{"api_key": " SENTINEL-KEY ", "account_tokens": {"a1": "SENTINEL-TOKEN"}}"#,
    )
    .unwrap();
    assert_eq!(secret.api_key, "SENTINEL-KEY");
    assert_eq!(secret.token("a1"), Some("SENTINEL-TOKEN"));
    assert_eq!(secret.token("a2"), None);
    let shown = format!("{secret:?}");
    assert!(!shown.contains("SENTINEL"), "{shown}");
}

#[test]
fn a_secret_of_another_shape_names_the_problem_never_a_value() {
    for text in [
        "SENTINEL",
        r#"{"api_key": "SENTINEL"}"#,
        r#"{"api_key": "", "account_tokens": {}}"#,
        r#"{"api_key": "k", "account_tokens": {"a": ""}}"#,
        r#"{"api_key": "k", "account_tokens": {"a": "t"}, "other": "SENTINEL"}"#,
        r#"{"api_key": "k", "account_tokens": ["SENTINEL"]}"#,
    ] {
        let problem = parse_merge_secret(text).unwrap_err();
        assert!(!problem.contains("SENTINEL"), "{problem}");
        assert!(!problem.is_empty());
    }
}

#[test]
fn the_reconcile_document_is_read_with_or_without_an_account() {
    let all = read_reconcile(br#"{"kind": "merge-deprovision.reconcile", "version": 1}"#);
    assert_eq!(all.unwrap().linked_account_id, None);
    let one = read_reconcile(
            br#"{"kind": "merge-deprovision.reconcile", "version": 1, "linked_account_id": "a1", "full": true}"#,
        )
        .unwrap();
    assert_eq!(one, ReconcileDocument::for_account("a1", true));
    let resumed = read_reconcile(
        br#"{"kind": "merge-deprovision.reconcile", "version": 1, "resume_after": "a1"}"#,
    );
    assert_eq!(
        resumed,
        Ok(ReconcileDocument::continuation(Some("a1"), false))
    );
    for bad in [
            &br#"{"kind": "merge-deprovision.reconcile", "version": 1, "resume_after": " "}"#[..],
            br#"{"kind": "merge-deprovision.reconcile", "version": 1, "resume_after": 3}"#,
            br#"{"kind": "merge-deprovision.reconcile", "version": 1, "linked_account_id": "a1", "resume_after": "a0"}"#,
        ] {
            assert_eq!(read_reconcile(bad), Err(ReconcileInputError::Invalid));
        }
    let name = continuation_schedule_name(Some("a1"), now());
    assert!(name.len() <= 64);
    assert_ne!(name, continuation_schedule_name(None, now()));
    assert_eq!(
        read_reconcile(br#"{"kind": "merge-deprovision.termination-timer"}"#),
        Err(ReconcileInputError::OtherKind)
    );
    assert_eq!(
        read_reconcile(br#"{"kind": "merge-deprovision.reconcile", "version": 2}"#),
        Err(ReconcileInputError::Invalid)
    );
    assert_eq!(
        read_reconcile(br#"{"kind": "merge-deprovision.reconcile", "version": 1, "x": 1}"#),
        Err(ReconcileInputError::Invalid)
    );
}

#[test]
fn both_spellings_of_sync_completed_start_a_sweep() {
    assert!(is_sync_completed("LinkedAccount.sync_completed"));
    assert!(is_sync_completed("LinkedAccount.synced"));
    assert!(is_sync_completed("linkedaccount.SYNCED"));
    assert!(!is_sync_completed("LinkedAccount.linked"));
    assert!(!is_sync_completed("Employee.changed"));
}

#[test]
fn a_sweep_schedule_name_is_fixed_per_account_and_fits_scheduler() {
    let name = sweep_schedule_name("a1");
    assert_eq!(name, sweep_schedule_name("a1"));
    assert_ne!(name, sweep_schedule_name("a2"));
    assert!(name.len() <= 64);
    assert!(
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    );
}

#[test]
fn a_follow_up_has_its_own_name_per_minute_that_fits_scheduler() {
    let name = follow_up_schedule_name("a1", now());
    assert_ne!(name, sweep_schedule_name("a1"));
    assert!(name.starts_with(&sweep_schedule_name("a1")));
    assert_ne!(
        name,
        follow_up_schedule_name("a1", now() + TimeDelta::minutes(1))
    );
    assert_ne!(name, follow_up_schedule_name("a2", now()));
    assert!(name.len() <= 64, "{name}");
    assert!(
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    );
}

#[test]
fn a_first_sweep_reads_everything_and_a_later_one_from_the_watermark_less_the_overlap() {
    let first = begin(None, "a1", false, "me", LEASE, now()).unwrap();
    let run = first.run.clone().unwrap();
    assert_eq!(run.modified_after, None);
    assert_eq!(run.started_at, now());
    let done = complete(&first);
    assert_eq!(done.watermark, Some(now()));
    assert_eq!(done.lease_until, None);
    let later = now() + TimeDelta::days(1);
    let next = begin(Some(&done), "a1", false, "other", LEASE, later).unwrap();
    assert_eq!(next.run.unwrap().modified_after, Some(now() - OVERLAP));
    let full = begin(Some(&done), "a1", true, "other", LEASE, later).unwrap();
    assert_eq!(full.run.unwrap().modified_after, None);
}

#[test]
fn a_held_lease_refuses_another_sweep_until_it_runs_out() {
    let held = begin(None, "a1", false, "me", LEASE, now()).unwrap();
    assert_eq!(
        begin(Some(&held), "a1", false, "other", LEASE, now()),
        Err(Busy {
            until: now() + LEASE
        })
    );
    let after = now() + LEASE + TimeDelta::seconds(1);
    let taken = begin(Some(&held), "a1", false, "other", LEASE, after).unwrap();
    assert_eq!(taken.holder, "other");
    assert_eq!(taken.revision, held.revision + 1);
}

#[test]
fn a_paused_sweep_continues_from_its_cursor_with_its_filter_and_totals() {
    let done = complete(&begin(None, "a1", false, "me", LEASE, now()).unwrap());
    let later = now() + TimeDelta::days(1);
    let started = begin(Some(&done), "a1", false, "me", LEASE, later).unwrap();
    let totals = Totals {
        pages: 3,
        employees: 300,
        ..Totals::default()
    };
    let paused = pause(
        &started,
        Some("cursor-4".into()),
        &totals,
        &SeenCursors::default(),
    );
    assert_eq!(paused.lease_until, None);
    assert_eq!(paused.watermark, Some(now()), "the watermark waits");
    let resumed = begin(
        Some(&paused),
        "a1",
        false,
        "next",
        LEASE,
        later + TimeDelta::minutes(1),
    )
    .unwrap();
    let run = resumed.run.unwrap();
    assert_eq!(run.cursor.as_deref(), Some("cursor-4"));
    assert_eq!(run.started_at, later);
    assert_eq!(run.modified_after, Some(now() - OVERLAP));
    assert_eq!(run.totals, totals);
}

#[test]
fn the_state_survives_its_json() {
    let started = begin(None, "a1", false, "me", LEASE, now()).unwrap();
    let paused = pause(
        &started,
        Some("c".into()),
        &Totals {
            pages: 1,
            ..Totals::default()
        },
        &SeenCursors::default(),
    );
    for state in [started, paused.clone(), complete(&paused)] {
        let json = state.to_json();
        assert_eq!(
            SweepState::from_json("a1", state.revision, &json),
            Some(state)
        );
    }
    assert_eq!(SweepState::from_json("a1", 1, "not json"), None);
}

#[test]
fn a_sweep_whose_pages_are_read_resumes_at_the_overdue_step_not_the_first_page() {
    let started = begin(None, "a1", false, "me", LEASE, now()).unwrap();
    let totals = Totals {
        pages: 500,
        ..Totals::default()
    };
    let waiting = pages_read(&started, &totals);
    assert_eq!(waiting.lease_until, None);
    assert_eq!(
        waiting.watermark, None,
        "the watermark waits for the overdue step"
    );
    let json = waiting.to_json();
    assert_eq!(
        SweepState::from_json("a1", waiting.revision, &json),
        Some(waiting.clone())
    );
    let resumed = begin(Some(&waiting), "a1", false, "next", LEASE, now()).unwrap();
    let run = resumed.run.unwrap();
    assert!(run.pages_done);
    assert_eq!(run.totals, totals);
}

#[test]
fn an_abandoned_run_restarts_from_the_watermark_and_keeps_it() {
    let done = complete(&begin(None, "a1", false, "me", LEASE, now()).unwrap());
    let later = now() + TimeDelta::days(1);
    let started = begin(Some(&done), "a1", false, "me", LEASE, later).unwrap();
    let paused = pause(
        &started,
        Some("expired".into()),
        &Totals::default(),
        &SeenCursors::default(),
    );
    let dropped = abandon(&paused);
    assert_eq!(dropped.run, None);
    assert_eq!(dropped.watermark, Some(now()));
    assert_eq!(dropped.lease_until, None);
    let again = begin(Some(&dropped), "a1", false, "next", LEASE, later).unwrap();
    let run = again.run.unwrap();
    assert_eq!(run.cursor, None, "the first page, not the refused cursor");
    assert_eq!(run.modified_after, Some(now() - OVERLAP));
}

#[test]
fn follow_ups_back_off_once_merge_stayed_unavailable_past_the_limit() {
    assert_eq!(unavailable_backoff(1), TimeDelta::minutes(1));
    assert_eq!(
        unavailable_backoff(UNAVAILABLE_LIMIT - 1),
        TimeDelta::minutes(1)
    );
    assert_eq!(
        unavailable_backoff(UNAVAILABLE_LIMIT),
        TimeDelta::minutes(2)
    );
    assert_eq!(
        unavailable_backoff(UNAVAILABLE_LIMIT + 1),
        TimeDelta::minutes(4)
    );
    assert_eq!(unavailable_backoff(100), TimeDelta::minutes(60));
    let mut state = begin(None, "a1", false, "me", LEASE, now()).unwrap();
    state.unavailable = 3;
    let json = state.to_json();
    assert_eq!(
        SweepState::from_json("a1", 1, &json).unwrap().unavailable,
        3
    );
}

#[test]
fn a_scheduled_entry_is_overdue_only_fifteen_minutes_past_its_date() {
    use crate::domain::ledger::{EmployeeKey, Identity, Observation, Source, transition};
    let entry = |decision, effective: DateTime<Utc>| {
        let observation = Observation {
            key: EmployeeKey::new(Some("a1"), "e1"),
            decision,
            reasons: String::new(),
            termination_date: Some(effective),
            effective_at: Some(effective),
            effective_rule: None,
            version: Some(now() - TimeDelta::days(3)),
            removal: false,
            identity: Identity::default(),
            source: Source::Webhook,
            delivery_id: None,
        };
        transition(None, &observation, now() - TimeDelta::days(3))
            .write
            .unwrap()
    };
    let minute = TimeDelta::minutes(1);
    assert!(is_overdue(
        &entry(Decision::Scheduled, now() - OVERDUE_AFTER - minute),
        now()
    ));
    assert!(!is_overdue(
        &entry(Decision::Scheduled, now() - OVERDUE_AFTER + minute),
        now()
    ));
    assert!(!is_overdue(
        &entry(Decision::Terminated, now() - TimeDelta::days(1)),
        now()
    ));
}

#[test]
fn fanned_out_sweeps_start_twenty_a_minute_so_a_thousand_start_within_the_hour() {
    assert_eq!(fan_out_at(now(), 0), now());
    assert_eq!(fan_out_at(now(), 19), now());
    assert_eq!(fan_out_at(now(), 20), now() + TimeDelta::minutes(1));
    assert!(fan_out_at(now(), 999) < now() + TimeDelta::hours(1));
}

#[test]
fn a_next_that_is_empty_the_cursor_just_read_or_one_followed_before_loops() {
    let mut seen = SeenCursors::default();
    seen.insert("c2");
    seen.insert("c3");
    assert_eq!(next_cursor(&seen, Some("c3"), None), NextCursor::Last);
    assert_eq!(
        next_cursor(&seen, Some("c3"), Some("c4".into())),
        NextCursor::Follow("c4".into())
    );
    assert_eq!(
        next_cursor(&seen, Some("c3"), Some("c3".into())),
        NextCursor::Loops,
        "the cursor just read"
    );
    assert_eq!(
        next_cursor(&seen, Some("c3"), Some("c2".into())),
        NextCursor::Loops,
        "a cursor of an earlier page"
    );
    assert_eq!(
        next_cursor(&seen, Some("c3"), Some(String::new())),
        NextCursor::Loops,
        "empty"
    );
    assert_eq!(
        next_cursor(&SeenCursors::default(), None, Some(String::new())),
        NextCursor::Loops,
        "empty, on the first page"
    );
    // A run resumed from an item that kept no cursors still knows the one it reads at.
    assert_eq!(
        next_cursor(&SeenCursors::default(), Some("c7"), Some("c7".into())),
        NextCursor::Loops
    );
}

#[test]
fn the_cursors_followed_are_capped_and_the_oldest_forgotten_first() {
    let mut seen = SeenCursors::default();
    for i in 0..=SEEN_CURSORS {
        seen.insert(&format!("cursor-{i}"));
    }
    seen.insert("cursor-5");
    assert_eq!(seen.len(), SEEN_CURSORS, "at most the cap, none twice");
    assert!(!seen.contains("cursor-0"), "the oldest is forgotten");
    assert!(seen.contains("cursor-1"));
    assert!(seen.contains(&format!("cursor-{SEEN_CURSORS}")));
}

#[test]
fn a_run_counts_its_invocations_and_is_exhausted_past_the_limit() {
    let first = begin(None, "a1", false, "me", LEASE, now()).unwrap();
    assert_eq!(first.run.as_ref().unwrap().invocations, 1);
    let paused = pause(
        &first,
        Some("c2".into()),
        &Totals::default(),
        &SeenCursors::default(),
    );
    let second = begin(Some(&paused), "a1", false, "next", LEASE, now()).unwrap();
    let run = second.run.clone().unwrap();
    assert_eq!(run.invocations, 2);
    assert!(!run.exhausted());
    let mut last = second.clone();
    last.run.as_mut().unwrap().invocations = RUN_INVOCATIONS;
    assert!(
        !last.run.as_ref().unwrap().exhausted(),
        "the last one allowed"
    );
    let paused = pause(&last, Some("c9".into()), &Totals::default(), &run.seen);
    let over = begin(Some(&paused), "a1", false, "again", LEASE, now()).unwrap();
    assert!(over.run.unwrap().exhausted(), "one more is one too many");
    let fresh = begin(Some(&abandon(&paused)), "a1", false, "new", LEASE, now()).unwrap();
    assert_eq!(fresh.run.unwrap().invocations, 1, "a new run counts anew");
}

#[test]
fn the_cursors_followed_and_the_invocations_survive_the_json() {
    let started = begin(None, "a1", false, "me", LEASE, now()).unwrap();
    let mut seen = SeenCursors::default();
    seen.insert("c2");
    let paused = pause(&started, Some("c2".into()), &Totals::default(), &seen);
    let json = paused.to_json();
    let stored: serde_json::Value = serde_json::from_str(&json).unwrap();
    let prints = stored["seen_cursors"].as_array().expect("kept");
    assert_eq!(prints.len(), 1);
    assert_ne!(prints[0], "c2", "a fingerprint, not the cursor");
    let read = SweepState::from_json("a1", paused.revision, &json).unwrap();
    assert_eq!(read, paused);
    let run = read.run.unwrap();
    assert!(run.seen.contains("c2"));
    assert_eq!(run.invocations, 1);
}

#[test]
fn an_item_written_before_cursors_and_invocations_were_kept_reads_with_none_of_either() {
    let json =
        r#"{"started_at":"2026-11-27T12:00:00Z","cursor":"c4","totals":{"pages":3},"holder":"h"}"#;
    let state = SweepState::from_json("a1", 7, json).expect("readable");
    let run = state.run.clone().unwrap();
    assert_eq!(run.cursor.as_deref(), Some("c4"));
    assert!(run.seen.is_empty());
    assert_eq!(run.invocations, 0);
    let resumed = begin(Some(&state), "a1", false, "next", LEASE, now()).unwrap();
    assert_eq!(resumed.run.unwrap().invocations, 1, "counted from here on");
}

#[test]
fn a_stored_list_of_cursors_longer_than_the_cap_keeps_its_newest() {
    let prints: Vec<String> = (0..SEEN_CURSORS + 5).map(|i| format!("{i:016x}")).collect();
    let json = serde_json::json!({"started_at": "2026-11-27T12:00:00Z", "seen_cursors": prints})
        .to_string();
    let run = SweepState::from_json("a1", 1, &json).unwrap().run.unwrap();
    assert_eq!(run.seen.len(), SEEN_CURSORS);
}
