//! One account's sweep step by step: each way a step ends, asserted by its variant,
//! over the in-memory twins.

use super::*;
use crate::app::sweep::testing::{ACCOUNT, Fixture, TOKEN, block, leaver, now, page, secret_text};
use std::time::Duration;

const TIME: Duration = Duration::from_secs(9);

fn run<'a>(fixture: &'a Fixture, budget: &'a Budget) -> SweepRun<'a> {
    SweepRun {
        reconciliation: &fixture.reconciliation,
        effects: &fixture.effects,
        target: &fixture.target,
        account: ACCOUNT,
        full: false,
        facts: RequestFacts::default(),
        budget,
        now: now(),
    }
}

async fn sweep(fixture: &Fixture, budget: &Budget) -> SweepReport {
    let facts = RequestFacts::default();
    sweep_account(
        &fixture.reconciliation,
        &fixture.effects,
        Some(&fixture.target),
        ACCOUNT,
        false,
        &facts,
        budget,
        now(),
    )
    .await
}

/// The state a first lease plans, as stored.
async fn leased(run: &SweepRun<'_>) -> SweepState {
    match run.lease().await {
        Lease::Taken(state) => *state,
        other => panic!("the lease is free: {other:?}"),
    }
}

fn follow_ups(fixture: &Fixture) -> usize {
    fixture.schedules.once_schedules().len()
}

#[test]
fn an_account_the_secret_does_not_hold_is_unknown_even_read_again() {
    block(async {
        let fixture = Fixture::new(10).await;
        let budget = Budget::of(TIME);
        let found = find_account(&fixture.reconciliation, "acct-9", &budget, now()).await;
        assert!(matches!(found, Account::Unknown));
        assert_eq!(
            fixture.store.reads(),
            2,
            "read at init, and again for the account"
        );
        let facts = RequestFacts::default();
        let report = sweep_account(
            &fixture.reconciliation,
            &fixture.effects,
            Some(&fixture.target),
            "acct-9",
            false,
            &facts,
            &budget,
            now(),
        )
        .await;
        assert_eq!(report.end, SweepEnd::UnknownAccount);
        assert_eq!(fixture.ledger.calls(), 0, "no lease taken");
    });
}

#[test]
fn an_account_added_to_the_secret_since_it_was_read_is_known() {
    block(async {
        let fixture = Fixture::new(10).await;
        fixture.store.put(
            "merge-api",
            &secret_text(&[(ACCOUNT, TOKEN), ("acct-2", "t2")]),
        );
        let budget = Budget::of(TIME);
        let found = find_account(&fixture.reconciliation, "acct-2", &budget, now()).await;
        assert!(matches!(found, Account::Known(_)));
    });
}

#[test]
fn a_sweep_without_a_schedule_target_ends_as_for_an_unknown_account() {
    block(async {
        let fixture = Fixture::new(10).await;
        let budget = Budget::of(TIME);
        let facts = RequestFacts::default();
        let report = sweep_account(
            &fixture.reconciliation,
            &fixture.effects,
            None,
            ACCOUNT,
            false,
            &facts,
            &budget,
            now(),
        )
        .await;
        assert_eq!(report.end, SweepEnd::UnknownAccount);
        assert_eq!(fixture.ledger.calls(), 0);
    });
}

#[test]
fn a_held_lease_makes_the_sweep_busy_and_schedules_its_follow_up() {
    block(async {
        let fixture = Fixture::new(10).await;
        let budget = Budget::of(TIME);
        let first = run(&fixture, &budget);
        leased(&first).await;
        let second = run(&fixture, &budget);
        assert_eq!(
            match second.lease().await {
                Lease::Busy(follow_up) => follow_up,
                other => panic!("busy: {other:?}"),
            },
            FollowUp::Scheduled
        );
        assert_eq!(follow_ups(&fixture), 1);
        let report = sweep(&fixture, &budget).await;
        assert_eq!(report.end, SweepEnd::Busy);
        assert_eq!(
            follow_ups(&fixture),
            1,
            "the same minute's follow-up is pending"
        );
    });
}

#[test]
fn a_busy_sweep_whose_follow_up_fails_ends_in_scheduling() {
    block(async {
        let fixture = Fixture::new(10).await;
        let budget = Budget::of(TIME);
        leased(&run(&fixture, &budget)).await;
        fixture.schedules.fail_next([SchedulerError::Denied]);
        let report = sweep(&fixture, &budget).await;
        assert_eq!(report.end, SweepEnd::Scheduling(SchedulerError::Denied));
        assert_eq!(follow_ups(&fixture), 0);
    });
}

#[test]
fn a_ledger_failing_at_the_lease_fails_the_sweep() {
    block(async {
        let fixture = Fixture::new(10).await;
        let budget = Budget::of(TIME);
        fixture.ledger.fail_next([LedgerError::Unreachable]);
        assert!(matches!(
            run(&fixture, &budget).lease().await,
            Lease::Failed(LedgerError::Unreachable)
        ));
        fixture.ledger.fail_next([LedgerError::Throttled]);
        let report = sweep(&fixture, &budget).await;
        assert_eq!(report.end, SweepEnd::Ledger(LedgerError::Throttled));
        assert_eq!(follow_ups(&fixture), 0);
    });
}

#[test]
fn the_page_limit_pauses_the_sweep_at_its_cursor_and_schedules_the_follow_up() {
    block(async {
        let fixture = Fixture::new(1).await;
        fixture
            .pages
            .answer(Ok(page(vec![leaver(1)], Some("cursor-2"))));
        let budget = Budget::of(TIME);
        let report = sweep(&fixture, &budget).await;
        assert_eq!(report.end, SweepEnd::Paused);
        assert_eq!(
            (report.totals.pages, report.found, report.terminations),
            (1, 1, 1)
        );
        let stored = &fixture.ledger.sweeps()[ACCOUNT];
        let run = stored.run.as_ref().expect("the run continues");
        assert_eq!(run.cursor.as_deref(), Some("cursor-2"));
        assert_eq!(stored.lease_until, None, "the lease is released");
        assert_eq!(follow_ups(&fixture), 1);
    });
}

#[test]
fn reading_stops_before_the_page_the_limit_leaves_unread() {
    block(async {
        let fixture = Fixture::new(1).await;
        fixture.pages.answer(Ok(page(vec![], Some("cursor-2"))));
        let budget = Budget::of(TIME);
        let run = run(&fixture, &budget);
        let held = fixture.reconciliation.current_secret(&budget, now()).await;
        let mut progress = Progress::default();
        let pages = run
            .read_pages(held, EmployeeQuery::default(), &mut progress)
            .await;
        assert_eq!(
            pages,
            Pages::Stopped {
                cursor: Some("cursor-2".into()),
                end: SweepEnd::Paused,
                pages_read: 1,
            }
        );
    });
}

#[test]
fn the_last_page_completes_the_sweep_and_moves_the_watermark() {
    block(async {
        let fixture = Fixture::new(10).await;
        fixture
            .pages
            .answer(Ok(page(vec![leaver(1)], Some("cursor-2"))));
        fixture.pages.answer(Ok(page(vec![leaver(2)], None)));
        let budget = Budget::of(TIME);
        let report = sweep(&fixture, &budget).await;
        assert_eq!(report.end, SweepEnd::Completed);
        assert_eq!(report.watermark, Some(now()));
        assert_eq!(
            (report.totals.pages, report.found, report.terminations),
            (2, 2, 2)
        );
        assert_eq!(fixture.ledger.sweeps()[ACCOUNT].run, None);
        assert_eq!(follow_ups(&fixture), 0, "nothing to follow up");
    });
}

#[test]
fn every_page_read_with_too_little_time_left_pauses_for_the_overdue_step() {
    block(async {
        let fixture = Fixture::new(10).await;
        let budget = Budget::of(CHECKPOINT_RESERVE + OVERDUE_RESERVE - Duration::from_millis(1));
        let run = run(&fixture, &budget);
        let state = leased(&run).await;
        let mut progress = Progress::default();
        let pages = Pages::AllRead { pages_read: 1 };
        match run.finish(&state, pages, &mut progress).await {
            Finished::AwaitingOverdue(paused) => {
                assert!(paused.run.expect("the run is kept").pages_done);
            }
            other => panic!("awaiting the overdue step: {other:?}"),
        }
    });
}

#[test]
fn a_failed_overdue_step_schedules_a_follow_up_a_minute_later_as_a_pause_does() {
    // The pages stay read, and the follow-up runs the overdue step alone.
    block(async {
        let fixture = Fixture::new(10).await;
        fixture.pages.answer(Ok(page(vec![], None)));
        // The lease's read and write go through; the overdue query fails.
        fixture
            .ledger
            .script([None, None, Some(LedgerError::Unreachable)]);
        let budget = Budget::of(TIME);
        let report = sweep(&fixture, &budget).await;
        assert_eq!(report.end, SweepEnd::Ledger(LedgerError::Unreachable));
        assert_eq!(report.totals.pages, 1);
        let stored = &fixture.ledger.sweeps()[ACCOUNT];
        assert!(stored.run.as_ref().expect("the run is kept").pages_done);
        assert_eq!(stored.lease_until, None, "the checkpoint was written");
        let pending = fixture.schedules.once_schedules();
        assert_eq!(pending.len(), 1, "a follow-up: {pending:?}");
        let (at, _) = pending.values().next().unwrap();
        assert_eq!(*at, whole_minute_at_or_after(now() + MIN_LEAD));
    });
}

#[test]
fn a_failed_overdue_step_whose_checkpoint_fails_too_reports_the_checkpoint() {
    block(async {
        let fixture = Fixture::new(10).await;
        fixture.pages.answer(Ok(page(vec![], None)));
        // The lease's read and write; the overdue query, then the checkpoint, fail.
        fixture.ledger.script([
            None,
            None,
            Some(LedgerError::Unreachable),
            Some(LedgerError::Throttled),
        ]);
        let budget = Budget::of(TIME);
        let report = sweep(&fixture, &budget).await;
        assert_eq!(report.end, SweepEnd::Ledger(LedgerError::Throttled));
        assert_eq!(follow_ups(&fixture), 0, "the lease runs out by itself");
    });
}

#[test]
fn an_overdue_step_failing_ends_with_the_follow_up_of_a_pause() {
    block(async {
        let fixture = Fixture::new(10).await;
        let budget = Budget::of(TIME);
        let state = leased(&run(&fixture, &budget)).await;
        let end = SweepEnd::Scheduling(SchedulerError::Throttled);
        let ending = Finished::OverdueFailed {
            state: all_pages_read(&state, &Totals::default()),
            end: end.clone(),
        }
        .ending(&state);
        assert_eq!(ending.end, end, "reported as it failed");
        assert_eq!(ending.wait, follow_up_wait(&SweepEnd::Paused, 0));
        assert_eq!(ending.wait, Some(MIN_LEAD));
        assert!(ending.stored.run.expect("kept").pages_done);
    });
}

#[test]
fn the_overdue_step_failing_is_its_own_finish() {
    block(async {
        let fixture = Fixture::new(10).await;
        let budget = Budget::of(TIME);
        let run = run(&fixture, &budget);
        let state = leased(&run).await;
        fixture.ledger.fail_next([LedgerError::TimedOut]);
        let mut progress = Progress::default();
        let pages = Pages::AllRead { pages_read: 0 };
        match run.finish(&state, pages, &mut progress).await {
            Finished::OverdueFailed { state, end } => {
                assert_eq!(end, SweepEnd::Ledger(LedgerError::TimedOut));
                assert!(state.run.expect("the run is kept").pages_done);
            }
            other => panic!("the overdue step failed: {other:?}"),
        }
    });
}

#[test]
fn a_checkpoint_the_ledger_refuses_fails_the_sweep_and_schedules_nothing() {
    block(async {
        let fixture = Fixture::new(1).await;
        fixture.pages.answer(Ok(page(vec![], Some("cursor-2"))));
        // The lease's read and write, then the checkpoint.
        fixture
            .ledger
            .script([None, None, Some(LedgerError::Unreachable)]);
        let budget = Budget::of(TIME);
        let report = sweep(&fixture, &budget).await;
        assert_eq!(report.end, SweepEnd::Ledger(LedgerError::Unreachable));
        assert_eq!(follow_ups(&fixture), 0);
    });
}

#[test]
fn a_cursor_merge_refuses_is_abandoned() {
    block(async {
        let fixture = Fixture::new(10).await;
        let budget = Budget::of(TIME);
        let state = leased(&run(&fixture, &budget)).await;
        let end = SweepEnd::MergeRejected(MergeError::Rejected(400));
        match stopped(
            &state,
            Some("expired".into()),
            end.clone(),
            0,
            &Progress::default(),
        ) {
            Finished::Abandoned { state, end: ended } => {
                assert_eq!(state.run, None, "the next sweep starts from the watermark");
                assert_eq!(ended, end);
            }
            other => panic!("abandoned: {other:?}"),
        }
        // The first page has no cursor to drop: the run is kept as it is.
        let kept = stopped(&state, None, end.clone(), 0, &Progress::default());
        assert!(matches!(kept, Finished::Paused { end: ended, .. } if ended == end));
    });
}

#[test]
fn merge_unavailable_invocation_after_invocation_is_merge_down() {
    block(async {
        let fixture = Fixture::new(10).await;
        let budget = Budget::of(TIME);
        let mut state = leased(&run(&fixture, &budget)).await;
        let error = MergeError::Server(503);
        let unavailable = SweepEnd::MergeUnavailable(error.clone());
        state.unavailable = UNAVAILABLE_LIMIT - 2;
        let cursor = Some("c".to_owned());
        match stopped(
            &state,
            cursor.clone(),
            unavailable.clone(),
            0,
            &Progress::default(),
        ) {
            Finished::Paused { state, end } => {
                assert_eq!(end, unavailable);
                assert_eq!(state.unavailable, UNAVAILABLE_LIMIT - 1);
            }
            other => panic!("paused: {other:?}"),
        }
        state.unavailable = UNAVAILABLE_LIMIT - 1;
        match stopped(&state, cursor, unavailable, 0, &Progress::default()) {
            Finished::Paused { end, .. } => {
                assert_eq!(end, SweepEnd::MergeDown(error, UNAVAILABLE_LIMIT));
            }
            other => panic!("paused: {other:?}"),
        }
    });
}

#[test]
fn a_page_read_after_merge_was_unavailable_clears_the_count() {
    block(async {
        let fixture = Fixture::new(10).await;
        let budget = Budget::of(TIME);
        let mut state = leased(&run(&fixture, &budget)).await;
        state.unavailable = 3;
        let paused = |pages_read| match stopped(
            &state,
            Some("c".into()),
            SweepEnd::Paused,
            pages_read,
            &Progress::default(),
        ) {
            Finished::Paused { state, .. } => state.unavailable,
            other => panic!("paused: {other:?}"),
        };
        assert_eq!(paused(0), 3);
        assert_eq!(paused(1), 0);
    });
}

#[test]
fn merge_unavailable_pauses_the_sweep_and_backs_off() {
    block(async {
        let fixture = Fixture::new(10).await;
        // Throttled with no wait asked: the retries take no time.
        let error = MergeError::RateLimited {
            retry_after: Some(Duration::ZERO),
        };
        for _ in 0..crate::app::sweep::PAGE_ATTEMPTS {
            fixture.pages.answer(Err(error.clone()));
        }
        let budget = Budget::of(TIME);
        let report = sweep(&fixture, &budget).await;
        assert_eq!(report.end, SweepEnd::MergeUnavailable(error));
        assert_eq!((report.totals.requests, report.totals.rate_limited), (4, 4));
        assert_eq!(follow_ups(&fixture), 1);
    });
}

#[test]
fn settling_stops_at_the_checkpoint_reserve() {
    block(async {
        let fixture = Fixture::new(10).await;
        let budget = Budget::of(CHECKPOINT_RESERVE - Duration::from_millis(1));
        let mut progress = Progress::default();
        let settled = run(&fixture, &budget)
            .settle_page(vec![leaver(1), leaver(2)], &mut progress)
            .await;
        assert_eq!(settled, PageSettled::OutOfTime { settled: 0 });
        assert_eq!(fixture.ledger.calls(), 0);
    });
}

#[test]
fn a_ledger_failure_cuts_the_page_and_leaves_it_to_be_read_again() {
    block(async {
        let fixture = Fixture::new(10).await;
        let budget = Budget::of(TIME);
        let run = run(&fixture, &budget);
        let mut progress = Progress::default();
        fixture.ledger.fail_next([LedgerError::Denied]);
        let settled = run
            .settle_page(vec![leaver(1), leaver(2)], &mut progress)
            .await;
        assert_eq!(
            settled,
            PageSettled::Failed {
                end: SweepEnd::Ledger(LedgerError::Denied),
                settled: 1,
            }
        );
        // Through the driver: the page is not counted, and its cursor is kept.
        fixture
            .pages
            .answer(Ok(page(vec![leaver(3)], Some("cursor-2"))));
        fixture.ledger.fail_next([LedgerError::Denied]);
        let query = EmployeeQuery {
            cursor: Some("cursor-1".into()),
            ..EmployeeQuery::default()
        };
        let held = fixture.reconciliation.current_secret(&budget, now()).await;
        let mut progress = Progress::default();
        let pages = run.read_pages(held, query, &mut progress).await;
        assert_eq!(
            pages,
            Pages::Stopped {
                cursor: Some("cursor-1".into()),
                end: SweepEnd::Ledger(LedgerError::Denied),
                pages_read: 1,
            }
        );
        assert_eq!((progress.totals.pages, progress.totals.employees), (0, 0));
    });
}

#[test]
fn refused_credentials_are_read_again_once_then_the_sweep_stops_unauthorized() {
    block(async {
        let fixture = Fixture::new(10).await;
        fixture.pages.answer(Err(MergeError::Unauthorized(401)));
        fixture.pages.answer(Err(MergeError::Unauthorized(401)));
        fixture
            .store
            .put("merge-api", &secret_text(&[(ACCOUNT, "token-2")]));
        let budget = Budget::of(TIME);
        let run = run(&fixture, &budget);
        let mut secret = Secret {
            held: fixture.reconciliation.current_secret(&budget, now()).await,
            reread: false,
        };
        let query = EmployeeQuery::default();
        let mut totals = Totals::default();
        let first = run.read_one(&mut secret, &query, &mut totals).await;
        assert!(matches!(first, PageRead::Reread));
        let second = run.read_one(&mut secret, &query, &mut totals).await;
        assert!(matches!(
            second,
            PageRead::Stop(SweepEnd::Unauthorized(401))
        ));
        let tokens: Vec<String> = fixture.pages.asked().into_iter().map(|(t, _)| t).collect();
        assert_eq!(tokens, [TOKEN, "token-2"]);
    });
}

#[test]
fn a_page_merge_refuses_stops_the_sweep_with_no_follow_up() {
    block(async {
        let fixture = Fixture::new(10).await;
        fixture.pages.answer(Err(MergeError::Malformed));
        let budget = Budget::of(TIME);
        let report = sweep(&fixture, &budget).await;
        assert_eq!(report.end, SweepEnd::MergeRejected(MergeError::Malformed));
        assert_eq!(
            follow_ups(&fixture),
            0,
            "a retry would send the same request"
        );
    });
}

#[test]
fn a_pause_follows_up_a_minute_later_and_an_end_for_good_not_at_all() {
    assert_eq!(follow_up_wait(&SweepEnd::Paused, 0), Some(MIN_LEAD));
    for end in [
        SweepEnd::Completed,
        SweepEnd::Unauthorized(401),
        SweepEnd::MergeRejected(MergeError::Rejected(400)),
        SweepEnd::Ledger(LedgerError::Unreachable),
    ] {
        assert_eq!(follow_up_wait(&end, 0), None, "{end:?}");
    }
}

#[test]
fn merge_unavailable_follows_up_no_sooner_than_it_asked() {
    let later = Duration::from_secs(2 * 3_600);
    let asked = SweepEnd::MergeUnavailable(MergeError::RateLimited {
        retry_after: Some(later),
    });
    assert_eq!(
        follow_up_wait(&asked, 1),
        Some(TimeDelta::from_std(later).unwrap())
    );
    let down = SweepEnd::MergeDown(MergeError::Server(500), UNAVAILABLE_LIMIT);
    assert_eq!(
        follow_up_wait(&down, UNAVAILABLE_LIMIT),
        Some(unavailable_backoff(UNAVAILABLE_LIMIT).max(MIN_LEAD))
    );
}

#[test]
fn a_next_equal_to_the_cursor_just_read_stops_the_pages_as_malformed_unsettled() {
    block(async {
        let fixture = Fixture::new(10).await;
        fixture
            .pages
            .answer(Ok(page(vec![leaver(1)], Some("cursor-2"))));
        fixture
            .pages
            .answer(Ok(page(vec![leaver(2)], Some("cursor-2"))));
        let budget = Budget::of(TIME);
        let run = run(&fixture, &budget);
        let held = fixture.reconciliation.current_secret(&budget, now()).await;
        let mut progress = Progress::default();
        let pages = run
            .read_pages(held, EmployeeQuery::default(), &mut progress)
            .await;
        assert_eq!(
            pages,
            Pages::Stopped {
                cursor: Some("cursor-2".into()),
                end: SweepEnd::MergeRejected(MergeError::Malformed),
                pages_read: 1,
            }
        );
        assert_eq!(fixture.pages.asked().len(), 2, "never a third time");
        assert_eq!(
            progress.found, 1,
            "the looping page's leaver is not settled"
        );
        assert!(progress.seen.contains("cursor-2"));
    });
}

#[test]
fn a_next_back_to_an_earlier_cursor_abandons_the_run_with_no_follow_up() {
    block(async {
        let fixture = Fixture::new(10).await;
        fixture.pages.answer(Ok(page(vec![], Some("cursor-2"))));
        fixture.pages.answer(Ok(page(vec![], Some("cursor-3"))));
        fixture.pages.answer(Ok(page(vec![], Some("cursor-2"))));
        let budget = Budget::of(TIME);
        let report = sweep(&fixture, &budget).await;
        assert_eq!(report.end, SweepEnd::MergeRejected(MergeError::Malformed));
        assert!(report.end.is_failure());
        assert_eq!(fixture.ledger.sweeps()[ACCOUNT].run, None, "abandoned");
        assert_eq!(follow_ups(&fixture), 0);
    });
}

#[test]
fn a_next_seen_by_an_earlier_invocation_of_the_run_is_a_loop_too() {
    block(async {
        let fixture = Fixture::new(1).await;
        fixture.pages.answer(Ok(page(vec![], Some("cursor-2"))));
        let budget = Budget::of(TIME);
        assert_eq!(sweep(&fixture, &budget).await.end, SweepEnd::Paused);
        fixture.pages.answer(Ok(page(vec![], Some("cursor-3"))));
        assert_eq!(sweep(&fixture, &budget).await.end, SweepEnd::Paused);
        // The third invocation reads cursor-3, and Merge points back at cursor-2.
        fixture.pages.answer(Ok(page(vec![], Some("cursor-2"))));
        let report = sweep(&fixture, &budget).await;
        assert_eq!(report.end, SweepEnd::MergeRejected(MergeError::Malformed));
        assert_eq!(fixture.ledger.sweeps()[ACCOUNT].run, None);
    });
}

#[test]
fn an_empty_next_is_no_page() {
    block(async {
        let fixture = Fixture::new(10).await;
        fixture.pages.answer(Ok(page(vec![], Some("cursor-2"))));
        fixture.pages.answer(Ok(page(vec![], Some(""))));
        let budget = Budget::of(TIME);
        let report = sweep(&fixture, &budget).await;
        assert_eq!(report.end, SweepEnd::MergeRejected(MergeError::Malformed));
        assert_eq!(fixture.ledger.sweeps()[ACCOUNT].run, None);
        assert_eq!(follow_ups(&fixture), 0);
    });
}

#[test]
fn a_run_past_its_invocations_is_abandoned_unread_as_a_failure() {
    use crate::aws::ledger::Ledger;
    use crate::domain::reconcile::RUN_INVOCATIONS;
    block(async {
        let fixture = Fixture::new(1).await;
        fixture.pages.answer(Ok(page(vec![], Some("cursor-2"))));
        let budget = Budget::of(TIME);
        assert_eq!(sweep(&fixture, &budget).await.end, SweepEnd::Paused);
        let mut stored = fixture.ledger.sweeps()[ACCOUNT].clone();
        stored.run.as_mut().unwrap().invocations = RUN_INVOCATIONS;
        stored.revision += 1;
        let expected = Some(stored.revision - 1);
        fixture.ledger.put_sweep(&stored, expected).await.unwrap();
        let before = fixture.schedules.once_schedules().len();
        let asked = fixture.pages.asked().len();

        let report = sweep(&fixture, &budget).await;

        assert_eq!(report.end, SweepEnd::TooManyInvocations);
        assert!(report.end.is_failure());
        assert_eq!(report.end.as_str(), "too_many_invocations");
        assert_eq!(fixture.pages.asked().len(), asked, "no page read");
        let stored = &fixture.ledger.sweeps()[ACCOUNT];
        assert_eq!(stored.run, None, "the next sweep starts from the watermark");
        assert_eq!(stored.lease_until, None);
        assert_eq!(
            fixture.schedules.once_schedules().len(),
            before,
            "no follow-up"
        );
    });
}

#[test]
fn a_first_sweep_records_leavers_long_gone_as_historical_not_as_missed_terminations() {
    block(async {
        let fixture = Fixture::new(10).await;
        let mut long_gone = leaver(2);
        long_gone.termination_date = Some(crate::domain::employee::RawDate::Text(
            "2023-03-31T00:00:00Z".to_owned(),
        ));
        fixture
            .pages
            .answer(Ok(page(vec![leaver(1), long_gone], None)));
        let report = sweep(&fixture, &Budget::of(TIME)).await;
        assert_eq!(report.end, SweepEnd::Completed);
        assert_eq!(report.totals.terminated, 1, "the recent leaver only");
        assert_eq!(report.totals.historical, 1);
        assert_eq!(report.terminations, 1);
        let entries = fixture.ledger.entries();
        let historical: Vec<_> = entries.values().filter(|e| e.historical).collect();
        assert_eq!(historical.len(), 1);
        assert!(historical[0].announced, "no record is owed for it");
        let baseline = &fixture.ledger.baselines()[ACCOUNT];
        assert_eq!(baseline.at, now(), "the first sweep's sighting");
    });
}
