use super::*;
use chrono::TimeZone;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, hour, 0, 0).unwrap()
}

fn observed(decision: Decision, version: Option<DateTime<Utc>>) -> Observation {
    Observation {
        key: EmployeeKey::new(Some("account"), "employee"),
        decision,
        reasons: String::new(),
        termination_date: None,
        effective_at: (decision == Decision::Scheduled).then(|| at(23) + TimeDelta::days(30)),
        effective_rule: (decision == Decision::Scheduled)
            .then(|| "start of day, Europe/Paris".into()),
        version,
        removal: false,
        identity: Identity {
            work_email: Some("leaver@example.com".into()),
            ..Identity::default()
        },
        source: Source::Webhook,
        delivery_id: None,
    }
}

fn stored(decision: Decision, version: Option<DateTime<Utc>>) -> Entry {
    transition(
        None,
        &observed(decision, version),
        now() - TimeDelta::days(1),
    )
    .write
    .unwrap()
}

#[test]
fn a_first_delivery_creates_the_entry_at_revision_one() {
    let planned = transition(None, &observed(Decision::Active, Some(at(1))), now());
    assert_eq!(planned.change, Change::Created);
    let entry = planned.write.unwrap();
    assert_eq!(entry.revision, 1);
    assert_eq!(entry.first_seen, now());
    assert_eq!(entry.terminated_at, None);
}

#[test]
fn only_a_newer_version_changes_the_entry() {
    let entry = stored(Decision::Active, Some(at(2)));
    let older = transition(
        Some(&entry),
        &observed(Decision::Terminated, Some(at(1))),
        now(),
    );
    assert_eq!(older.change, Change::Stale);
    assert_eq!(older.write, None);
    let same = transition(
        Some(&entry),
        &observed(Decision::Terminated, Some(at(2))),
        now(),
    );
    assert_eq!(same.change, Change::Unchanged);
    let newer = transition(
        Some(&entry),
        &observed(Decision::Terminated, Some(at(3))),
        now(),
    );
    assert_eq!(newer.change, Change::Moved(Decision::Active));
    assert!(newer.enters_terminated(Some(&entry)));
    let written = newer.write.unwrap();
    assert_eq!(written.revision, entry.revision + 1);
    assert_eq!(written.terminated_at, Some(now()));
    assert_eq!(written.first_seen, entry.first_seen);
}

#[test]
fn a_move_into_terminated_owes_its_record_until_marked_and_a_lost_one_falls_due() {
    let entry = stored(Decision::Active, Some(at(1)));
    let moved = transition(
        Some(&entry),
        &observed(Decision::Terminated, Some(at(2))),
        now(),
    )
    .write
    .unwrap();
    assert!(!moved.announced);
    let grace = TimeDelta::seconds(11);
    assert!(
        !announcement_due(&moved, now(), grace),
        "its writer may still run"
    );
    assert!(announcement_due(&moved, now() + grace, grace));
    let newer = transition(
        Some(&moved),
        &observed(Decision::Terminated, Some(at(3))),
        now(),
    )
    .write
    .unwrap();
    assert!(!newer.announced, "still owed after a newer delivery");
    let done = announced(&newer, now());
    assert!(done.announced);
    assert_eq!(done.revision, newer.revision + 1);
    assert!(!announcement_due(&done, now() + grace, grace));
    assert!(entry.announced, "nothing is owed for an active employee");
}

#[test]
fn a_newer_terminated_delivery_for_a_terminated_employee_is_no_new_termination() {
    let entry = stored(Decision::Terminated, Some(at(2)));
    let newer = transition(
        Some(&entry),
        &observed(Decision::Terminated, Some(at(3))),
        now(),
    );
    assert_eq!(newer.change, Change::Updated);
    assert!(!newer.enters_terminated(Some(&entry)));
    assert_eq!(newer.write.unwrap().terminated_at, entry.terminated_at);
}

#[test]
fn a_bare_removal_cancels_a_pending_termination_and_no_older_delivery_undoes_it() {
    let pending = stored(Decision::Scheduled, Some(at(2)));
    let removal = Observation {
        removal: true,
        ..observed(Decision::Terminated, None)
    };
    let removed = transition(Some(&pending), &removal, now());
    assert_eq!(removed.change, Change::Moved(Decision::Scheduled));
    let entry = removed.write.unwrap();
    assert_eq!(entry.version, Some(at(2) + VERSION_STEP));
    let late = transition(
        Some(&entry),
        &observed(Decision::Active, Some(at(2))),
        now(),
    );
    assert_eq!(late.change, Change::Stale, "the pending delivery, late");
    let again = transition(Some(&entry), &removal, now() + TimeDelta::hours(1));
    assert_eq!(again.change, Change::Unchanged, "a retry of the removal");
}

#[test]
fn a_removal_of_the_stored_version_terminates_and_an_older_one_is_stale() {
    let active = stored(Decision::Active, Some(at(3)));
    let removal = |version| Observation {
        removal: true,
        ..observed(Decision::Terminated, version)
    };
    let removed = transition(Some(&active), &removal(Some(at(3))), now());
    assert_eq!(removed.change, Change::Moved(Decision::Active));
    let entry = removed.write.unwrap();
    assert_eq!(entry.version, Some(at(3) + VERSION_STEP));
    let late = transition(
        Some(&entry),
        &observed(Decision::Active, Some(at(3))),
        now(),
    );
    assert_eq!(
        late.change,
        Change::Stale,
        "an older delivery cannot undo it"
    );
    let later = transition(
        Some(&entry),
        &observed(Decision::Active, Some(at(4))),
        now(),
    );
    assert_eq!(
        later.change,
        Change::Moved(Decision::Terminated),
        "a re-add can"
    );
    let older = transition(Some(&active), &removal(Some(at(1))), now());
    assert_eq!(older.change, Change::Stale, "added again since the removal");
}

#[test]
fn a_replay_deciding_terminated_after_the_date_moves_a_scheduled_entry_on_its_version() {
    let pending = stored(Decision::Scheduled, Some(at(2)));
    let replay = transition(
        Some(&pending),
        &observed(Decision::Terminated, Some(at(2))),
        now(),
    );
    assert_eq!(replay.change, Change::Moved(Decision::Scheduled));
    assert_eq!(replay.write.unwrap().version, Some(at(2)));
    let active = stored(Decision::Active, Some(at(2)));
    let other = transition(
        Some(&active),
        &observed(Decision::Terminated, Some(at(2))),
        now(),
    );
    assert_eq!(
        other.change,
        Change::Unchanged,
        "a policy change is no move"
    );
}

#[test]
fn the_same_version_decided_under_a_changed_cutoff_moves_the_scheduled_time() {
    let pending = stored(Decision::Scheduled, Some(at(2)));
    let mut later = observed(Decision::Scheduled, Some(at(2)));
    later.effective_at = pending.effective_at.map(|t| t + TimeDelta::hours(32));
    let moved = transition(Some(&pending), &later, now());
    let written = moved.write.expect("the timer follows the new cutoff");
    assert_eq!(written.effective_at, later.effective_at);
    assert_eq!(written.version, Some(at(2)));
    // The same time again is no change: a replay writes nothing.
    let replay = transition(Some(&written), &later, now());
    assert_eq!(replay.change, Change::Unchanged);
    assert!(replay.write.is_none());
}

#[test]
fn a_bare_removal_is_ordered_after_a_version_from_a_fast_clock() {
    let ahead = stored(Decision::Active, Some(now() + TimeDelta::hours(1)));
    let removal = Observation {
        removal: true,
        ..observed(Decision::Terminated, None)
    };
    let entry = transition(Some(&ahead), &removal, now()).write.unwrap();
    assert!(entry.version > ahead.version);
}

#[test]
fn a_delivery_without_a_version_is_recorded_only_for_an_unseen_employee() {
    let unseen = transition(None, &observed(Decision::Active, None), now());
    assert_eq!(unseen.change, Change::Created);
    let entry = stored(Decision::Terminated, Some(at(1)));
    let unversioned = transition(Some(&entry), &observed(Decision::Active, None), now());
    assert_eq!(unversioned.change, Change::Stale);
}

#[test]
fn an_undetermined_delivery_keeps_a_pending_or_past_termination() {
    for decision in [Decision::Scheduled, Decision::Terminated] {
        let entry = stored(decision, Some(at(1)));
        let planned = transition(
            Some(&entry),
            &observed(Decision::Undetermined, Some(at(2))),
            now(),
        );
        assert_eq!(planned.change, Change::Kept);
        let written = planned.write.unwrap();
        assert_eq!(written.decision, decision);
        assert_eq!(written.effective_at, entry.effective_at);
        assert_eq!(written.version, Some(at(2)));
    }
    let active = stored(Decision::Active, Some(at(1)));
    let planned = transition(
        Some(&active),
        &observed(Decision::Undetermined, Some(at(2))),
        now(),
    );
    assert_eq!(planned.change, Change::Moved(Decision::Active));
}

#[test]
fn a_delivery_missing_an_identity_field_keeps_the_stored_one() {
    let entry = stored(Decision::Active, Some(at(1)));
    let mut bare = observed(Decision::Scheduled, Some(at(2)));
    bare.identity = Identity::default();
    let written = transition(Some(&entry), &bare, now()).write.unwrap();
    assert_eq!(
        written.identity.work_email.as_deref(),
        Some("leaver@example.com")
    );
}

fn timer_for(entry: &Entry) -> Timer {
    Timer {
        key: entry.key.clone(),
        version: entry.version,
        effective_at: entry.effective_at.unwrap_or(now()),
        legacy: None,
    }
}

#[test]
fn a_timer_terminates_only_an_entry_still_scheduled_for_its_version() {
    let pending = stored(Decision::Scheduled, Some(at(1)));
    let fired = fire(Some(&pending), &timer_for(&pending), now());
    assert_eq!(fired.change, Change::Moved(Decision::Scheduled));
    assert!(fired.enters_terminated(Some(&pending)));
    let terminated = fired.write.unwrap();
    assert_eq!(terminated.reasons, TIMER_REASONS);
    assert_eq!(terminated.changed_by, Source::Schedule);

    let again = fire(Some(&terminated), &timer_for(&pending), now());
    assert_eq!(again.change, Change::Outdated, "a second firing");
    let moved = stored(Decision::Scheduled, Some(at(2)));
    assert_eq!(
        fire(Some(&moved), &timer_for(&pending), now()).change,
        Change::Outdated
    );
    assert_eq!(
        fire(None, &timer_for(&pending), now()).change,
        Change::Outdated
    );
}

#[test]
fn a_timer_from_before_the_ledger_outlives_an_older_retry_and_an_unreadable_date() {
    let timer = Timer {
        key: EmployeeKey::new(Some("account"), "employee"),
        version: Some(at(2)),
        effective_at: now(),
        legacy: Some(Legacy {
            identity: Identity::default(),
            termination_date: None,
        }),
    };
    let older = stored(Decision::Active, Some(at(1)));
    let fired = fire(Some(&older), &timer, now());
    assert_eq!(fired.change, Change::Moved(Decision::Active));
    let unreadable = stored(Decision::Undetermined, Some(at(3)));
    let fired = fire(Some(&unreadable), &timer, now());
    assert_eq!(fired.change, Change::Moved(Decision::Undetermined));
    assert_eq!(fired.write.unwrap().decision, Decision::Terminated);
    let rehired = stored(Decision::Active, Some(at(3)));
    assert_eq!(fire(Some(&rehired), &timer, now()).change, Change::Outdated);
}

#[test]
fn a_timer_from_before_the_ledger_terminates_an_employee_it_never_saw() {
    let pending = stored(Decision::Scheduled, Some(at(1)));
    let timer = Timer {
        legacy: Some(Legacy {
            identity: pending.identity.clone(),
            termination_date: None,
        }),
        ..timer_for(&pending)
    };
    let fired = fire(None, &timer, now());
    assert_eq!(fired.change, Change::Created);
    assert_eq!(fired.write.unwrap().decision, Decision::Terminated);
    let active = stored(Decision::Active, Some(at(2)));
    assert_eq!(fire(Some(&active), &timer, now()).change, Change::Outdated);
}

#[test]
fn the_rule_is_set_with_the_effective_time_and_kept_while_the_entry_keeps_it() {
    let pending = stored(Decision::Scheduled, Some(at(1)));
    assert_eq!(
        pending.effective_rule.as_deref(),
        Some("start of day, Europe/Paris")
    );
    // A redelivery writes nothing: the stored rule stands.
    let replay = transition(
        Some(&pending),
        &observed(Decision::Scheduled, Some(at(1))),
        now(),
    );
    assert_eq!(replay.result(Some(&pending)), Some(&pending));
    // An unreadable date keeps the termination, and with it its time and rule.
    let kept = transition(
        Some(&pending),
        &observed(Decision::Undetermined, Some(at(2))),
        now(),
    )
    .write
    .unwrap();
    assert_eq!(kept.effective_rule, pending.effective_rule);
    // The timer's move keeps what the entry knew of the time it fired for.
    let fired = fire(Some(&kept), &timer_for(&kept), now()).write.unwrap();
    assert_eq!(fired.decision, Decision::Terminated);
    assert_eq!(fired.effective_rule, pending.effective_rule);
}

#[test]
fn a_rescheduling_takes_the_new_rule_and_a_rehire_clears_it() {
    let pending = stored(Decision::Scheduled, Some(at(1)));
    let mut later = observed(Decision::Scheduled, Some(at(1)));
    later.effective_at = pending.effective_at.map(|t| t + TimeDelta::days(1));
    later.effective_rule = Some("end of day, Europe/Paris".into());
    let moved = transition(Some(&pending), &later, now()).write.unwrap();
    assert_eq!(moved.effective_at, later.effective_at);
    assert_eq!(
        moved.effective_rule.as_deref(),
        Some("end of day, Europe/Paris")
    );
    let rehired = transition(
        Some(&moved),
        &observed(Decision::Active, Some(at(2))),
        now(),
    )
    .write
    .unwrap();
    assert_eq!(rehired.effective_at, None);
    assert_eq!(rehired.effective_rule, None);
}
