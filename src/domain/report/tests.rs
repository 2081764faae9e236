//! The report's rows and summary, from evidence written by hand: a month of leavers with
//! every way a termination can end, asserted row by row.

use super::*;
use crate::domain::evidence::{Evidence, Fact, Trigger};
use crate::domain::ledger::{EmployeeKey, Identity};
use crate::domain::outcome::Outcome;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};

pub(super) const ACME: &str = "acme";
pub(super) const OTHER: &str = "other";

pub(super) fn at(month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, hour, minute, 0)
        .unwrap()
}

/// 2026-11-`day` `hour`:`minute` UTC.
pub(super) fn nov(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    at(11, day, hour, minute)
}

pub(super) fn november() -> Period {
    Period::month(2026, 11).unwrap()
}

/// After the month: the monthly schedule's run on the first.
pub(super) fn as_of() -> DateTime<Utc> {
    at(12, 1, 6, 0)
}

pub(super) fn sla() -> TimeDelta {
    TimeDelta::hours(DEFAULT_SLA_HOURS)
}

pub(super) fn identity(employee: &str) -> Identity {
    Identity {
        remote_id: Some(format!("hr-{employee}")),
        employee_number: Some(format!("N{employee}")),
        work_email: Some(format!("{employee}@acme.example")),
        username: Some(employee.to_owned()),
        display_full_name: Some(format!("Person {employee}")),
        integration: Some("bamboohr".to_owned()),
        end_user_organization_name: Some("Acme".to_owned()),
    }
}

/// A termination of `employee` that took effect at `when`, due at `effective`.
pub(super) fn terminated(
    account: &str,
    employee: &str,
    when: DateTime<Utc>,
    effective: Option<DateTime<Utc>>,
    by: Trigger,
) -> Evidence {
    Evidence {
        key: EmployeeKey::new(Some(account), employee),
        at: when,
        fact: Fact::Terminated {
            termination_date: effective,
            effective_at: effective,
            rule: effective.map(|_| "start of the local day, Europe/London".to_owned()),
            by,
            learned_at: when,
            learned_by: by,
            historical: false,
            identity: identity(employee),
        },
    }
}

/// `target`'s `outcome` for the termination that took effect at `termination`.
pub(super) fn outcome(
    account: &str,
    employee: &str,
    when: DateTime<Utc>,
    (target, termination): (&str, Option<DateTime<Utc>>),
    outcome: Outcome,
    by: Trigger,
) -> Evidence {
    Evidence {
        key: EmployeeKey::new(Some(account), employee),
        at: when,
        fact: Fact::Target {
            target: target.to_owned(),
            termination,
            outcome,
            user: outcome
                .is_final_change()
                .then(|| format!("{target}-user-{employee}")),
            run: Some("run-1".to_owned()),
            by,
        },
    }
}

pub(super) fn rehired(employee: &str, when: DateTime<Utc>, termination: DateTime<Utc>) -> Evidence {
    Evidence {
        key: EmployeeKey::new(Some(ACME), employee),
        at: when,
        fact: Fact::Rehired {
            termination,
            by: Trigger::Webhook,
        },
    }
}

fn historical(employee: &str, when: DateTime<Utc>, effective: DateTime<Utc>) -> Evidence {
    let mut fact = terminated(ACME, employee, when, Some(effective), Trigger::Sweep);
    if let Fact::Terminated {
        historical,
        learned_by,
        ..
    } = &mut fact.fact
    {
        *historical = true;
        *learned_by = Trigger::Sweep;
    }
    fact
}

/// A month of Acme's leavers (and one of another account's), one of each kind.
pub(super) fn month() -> Vec<Evidence> {
    use Outcome::*;
    use Trigger::*;
    let a = ACME;
    let mut facts = vec![
        // e01: deprovisioned in two targets within minutes, by its timer.
        terminated(a, "e01", nov(2, 9, 0), Some(nov(2, 9, 0)), Timer),
        outcome(
            a,
            "e01",
            nov(2, 9, 5),
            ("okta", Some(nov(2, 9, 0))),
            Deactivated,
            Timer,
        ),
        outcome(
            a,
            "e01",
            nov(2, 9, 10),
            ("github", Some(nov(2, 9, 0))),
            Deleted,
            Timer,
        ),
        // e02: failed, then deactivated by a sweep two and a half days late.
        terminated(a, "e02", nov(3, 10, 0), Some(nov(3, 0, 0)), Webhook),
        outcome(
            a,
            "e02",
            nov(3, 10, 1),
            ("okta", Some(nov(3, 10, 0))),
            Failed,
            Webhook,
        ),
        outcome(
            a,
            "e02",
            nov(5, 12, 0),
            ("okta", Some(nov(3, 10, 0))),
            Deactivated,
            Sweep,
        ),
        // e03: held by the brake, released six hours later.
        terminated(a, "e03", nov(4, 8, 0), Some(nov(4, 8, 0)), Webhook),
        outcome(
            a,
            "e03",
            nov(4, 8, 1),
            ("okta", Some(nov(4, 8, 0))),
            Held,
            Webhook,
        ),
        outcome(
            a,
            "e03",
            nov(4, 14, 0),
            ("okta", Some(nov(4, 8, 0))),
            Deactivated,
            Release,
        ),
        // e04: failing on the month's last day, still within the SLA at the report.
        terminated(a, "e04", nov(30, 12, 0), Some(nov(30, 12, 0)), Webhook),
        outcome(
            a,
            "e04",
            nov(30, 12, 1),
            ("okta", Some(nov(30, 12, 0))),
            Failed,
            Webhook,
        ),
        outcome(
            a,
            "e04",
            nov(30, 13, 0),
            ("okta", Some(nov(30, 12, 0))),
            Failed,
            Webhook,
        ),
        // e05: paused, never resumed.
        terminated(a, "e05", nov(10, 9, 0), None, Webhook),
        outcome(
            a,
            "e05",
            nov(10, 9, 1),
            ("github", Some(nov(10, 9, 0))),
            Paused,
            Webhook,
        ),
        // e06: protected.
        terminated(a, "e06", nov(12, 9, 0), Some(nov(12, 9, 0)), Webhook),
        outcome(
            a,
            "e06",
            nov(12, 9, 1),
            ("okta", Some(nov(12, 9, 0))),
            Protected,
            Webhook,
        ),
        // e07: a historical leaver found by a sweep, long gone.
        historical("e07", nov(6, 3, 0), at(1, 31, 0, 0)),
        // e08: a dry run's finding.
        terminated(a, "e08", nov(7, 9, 0), Some(nov(7, 9, 0)), Webhook),
        outcome(
            a,
            "e08",
            nov(7, 9, 1),
            ("okta", Some(nov(7, 9, 0))),
            WouldDeactivate,
            Webhook,
        ),
        // e09: held, then rehired within hours: never owed.
        terminated(a, "e09", nov(8, 10, 0), Some(nov(8, 10, 0)), Webhook),
        outcome(
            a,
            "e09",
            nov(8, 10, 1),
            ("okta", Some(nov(8, 10, 0))),
            Held,
            Webhook,
        ),
        rehired("e09", nov(8, 15, 0), nov(8, 10, 0)),
        // e10: rehired two days after access ended.
        terminated(a, "e10", nov(9, 9, 0), Some(nov(9, 9, 0)), Webhook),
        outcome(
            a,
            "e10",
            nov(9, 9, 2),
            ("okta", Some(nov(9, 9, 0))),
            Deactivated,
            Webhook,
        ),
        rehired("e10", nov(11, 9, 0), nov(9, 9, 0)),
        // e11: terminated, rehired, terminated again; the second outcome recorded
        // without its termination.
        terminated(a, "e11", nov(13, 9, 0), Some(nov(13, 9, 0)), Webhook),
        outcome(
            a,
            "e11",
            nov(13, 9, 1),
            ("okta", Some(nov(13, 9, 0))),
            Deactivated,
            Webhook,
        ),
        rehired("e11", nov(14, 9, 0), nov(13, 9, 0)),
        terminated(a, "e11", nov(20, 9, 0), Some(nov(20, 9, 0)), Webhook),
        outcome(
            a,
            "e11",
            nov(20, 9, 30),
            ("okta", None),
            Deactivated,
            Webhook,
        ),
        // e12: deactivated, then undone.
        terminated(a, "e12", nov(15, 9, 0), Some(nov(15, 9, 0)), Webhook),
        outcome(
            a,
            "e12",
            nov(15, 9, 3),
            ("okta", Some(nov(15, 9, 0))),
            Deactivated,
            Webhook,
        ),
        outcome(
            a,
            "e12",
            nov(15, 12, 0),
            ("okta", Some(nov(15, 9, 0))),
            Reactivated,
            Undo,
        ),
        // e13: took effect in October: not this month's.
        terminated(
            a,
            "e13",
            at(10, 31, 23, 59),
            Some(at(10, 31, 23, 59)),
            Webhook,
        ),
        outcome(
            a,
            "e13",
            nov(1, 0, 10),
            ("okta", Some(at(10, 31, 23, 59))),
            Deactivated,
            Webhook,
        ),
        // e14: worked only after the report's instant.
        terminated(a, "e14", nov(25, 9, 0), Some(nov(25, 9, 0)), Webhook),
        outcome(
            a,
            "e14",
            at(12, 1, 7, 0),
            ("okta", Some(nov(25, 9, 0))),
            Deactivated,
            Sweep,
        ),
        // e16: terminated by hand four days ahead of HR's date.
        terminated(a, "e16", nov(16, 9, 0), Some(nov(20, 0, 0)), ByHand),
        outcome(
            a,
            "e16",
            nov(16, 9, 1),
            ("okta", Some(nov(16, 9, 0))),
            Deactivated,
            ByHand,
        ),
        // e17: not worked yet, hours before the report.
        terminated(a, "e17", nov(30, 20, 0), Some(nov(30, 20, 0)), Webhook),
        // Another account's leaver.
        terminated(OTHER, "x01", nov(5, 9, 0), Some(nov(5, 9, 0)), Webhook),
        outcome(
            OTHER,
            "x01",
            nov(5, 9, 1),
            ("okta", Some(nov(5, 9, 0))),
            Deactivated,
            Webhook,
        ),
    ];
    facts.push(Evidence {
        key: EmployeeKey::new(Some(ACME), ""),
        at: nov(4, 13, 59),
        fact: Fact::Operator {
            action: "release".to_owned(),
            summary: "released 1 held".to_owned(),
            run: Some("run-2".to_owned()),
        },
    });
    facts
}

fn acme_report() -> Report {
    build(&month(), &november(), Some(ACME), sla(), as_of())
}

/// The named columns of `row`, as every form prints them.
fn columns(row: &Row, names: &[&str]) -> Vec<String> {
    let cells = columns::cells(row);
    names
        .iter()
        .map(|name| {
            let i = columns::COLUMNS.iter().position(|c| c == name).unwrap();
            cells[i].clone()
        })
        .collect()
}

const SHOWN: [&str; 10] = [
    "employee_id",
    "terminated_at",
    "target",
    "status",
    "started_by",
    "access_ended_at",
    "ended_by",
    "lag_seconds",
    "sla",
    "target_user_id",
];

#[test]
fn a_month_gives_one_row_per_termination_per_target_each_right() {
    let report = acme_report();
    let got: Vec<Vec<String>> = report.rows.iter().map(|r| columns(r, &SHOWN)).collect();
    // employee | terminated_at | target | status | started_by | access_ended_at |
    // ended_by | lag_seconds | sla | target_user_id; `-` for an empty cell.
    let expected = [
        "e01 | 2026-11-02T09:00:00Z | github | deleted | timer | 2026-11-02T09:10:00Z | timer | 600 | met | github-user-e01",
        "e01 | 2026-11-02T09:00:00Z | okta | deactivated | timer | 2026-11-02T09:05:00Z | timer | 300 | met | okta-user-e01",
        "e02 | 2026-11-03T10:00:00Z | okta | deactivated | sweep | 2026-11-05T12:00:00Z | sweep | 216000 | missed | okta-user-e02",
        "e03 | 2026-11-04T08:00:00Z | okta | deactivated | release | 2026-11-04T14:00:00Z | release | 21600 | met | okta-user-e03",
        "e04 | 2026-11-30T12:00:00Z | okta | failed | webhook | - | - | - | open | -",
        "e05 | 2026-11-10T09:00:00Z | github | paused | webhook | - | - | - | missed | -",
        "e06 | 2026-11-12T09:00:00Z | okta | protected | webhook | - | - | - | missed | -",
        "e07 | 2026-11-06T03:00:00Z | - | historical | - | - | - | - | exempt | -",
        "e08 | 2026-11-07T09:00:00Z | okta | would_deactivate | webhook | - | - | - | missed | -",
        "e09 | 2026-11-08T10:00:00Z | okta | rehired | webhook | - | - | - | exempt | -",
        "e10 | 2026-11-09T09:00:00Z | okta | deactivated | webhook | 2026-11-09T09:02:00Z | webhook | 120 | met | okta-user-e10",
        "e11 | 2026-11-13T09:00:00Z | okta | deactivated | webhook | 2026-11-13T09:01:00Z | webhook | 60 | met | okta-user-e11",
        "e11 | 2026-11-20T09:00:00Z | okta | deactivated | webhook | 2026-11-20T09:30:00Z | webhook | 1800 | met | okta-user-e11",
        "e12 | 2026-11-15T09:00:00Z | okta | reactivated | undo | 2026-11-15T09:03:00Z | webhook | 180 | met | okta-user-e12",
        "e14 | 2026-11-25T09:00:00Z | - | not_worked | - | - | - | - | missed | -",
        "e16 | 2026-11-16T09:00:00Z | okta | deactivated | by_hand | 2026-11-16T09:01:00Z | by_hand | 0 | met | okta-user-e16",
        "e17 | 2026-11-30T20:00:00Z | - | not_worked | - | - | - | - | open | -",
    ];
    let expected: Vec<Vec<String>> = expected
        .iter()
        .map(|line| {
            line.split(" | ")
                .map(|cell| if cell == "-" { "" } else { cell }.to_owned())
                .collect()
        })
        .collect();
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    for (i, (got, expected)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(got, expected, "row {i}: {SHOWN:?}");
    }
}

#[test]
fn a_row_carries_the_leavers_identity_and_how_the_termination_was_learned() {
    let report = acme_report();
    let row = &report.rows[2];
    assert_eq!(row.key, EmployeeKey::new(Some(ACME), "e02"));
    assert_eq!(row.identity, identity("e02"));
    let shown = columns(
        row,
        &[
            "linked_account_id",
            "remote_id",
            "employee_number",
            "work_email",
            "username",
            "display_name",
            "integration",
            "organization",
            "termination_date",
            "effective_at",
            "effective_rule",
            "learned_at",
            "learned_by",
            "terminated_by",
            "historical",
            "status_at",
            "lag",
            "access_ended",
        ],
    );
    assert_eq!(
        shown,
        [
            "acme",
            "hr-e02",
            "Ne02",
            "e02@acme.example",
            "e02",
            "Person e02",
            "bamboohr",
            "Acme",
            "2026-11-03T00:00:00Z",
            "2026-11-03T00:00:00Z",
            "start of the local day, Europe/London",
            "2026-11-03T10:00:00Z",
            "webhook",
            "webhook",
            "false",
            "2026-11-05T12:00:00Z",
            "2 d 12 h",
            "true"
        ]
    );
}

#[test]
fn the_summary_counts_leavers_targets_verdicts_and_lags() {
    let s = acme_report().summary;
    assert_eq!((s.leavers, s.targets, s.rows), (16, 2, 17));
    assert_eq!((s.met, s.missed, s.open, s.exempt), (8, 5, 2, 2));
    assert_eq!(s.undone, 1);
    // e04, e05, e06, e08, e14, e17: not ended, not exempt.
    assert_eq!(s.open_items, 6);
    // Lags 0, 60, 120, 180, 300, 600, 1800, 21600, 216000: the middle is 300.
    assert_eq!(s.median_lag, Some(TimeDelta::seconds(300)));
    assert_eq!(s.worst_lag, Some(TimeDelta::seconds(216_000)));
}

#[test]
fn the_histogram_puts_each_measured_row_in_one_fixed_bucket() {
    let bars = acme_report().histogram();
    let counts: Vec<(&str, usize)> = bars.iter().map(|(b, n)| (b.as_str(), *n)).collect();
    assert_eq!(
        counts,
        [
            ("le_1h", 7),
            ("le_4h", 0),
            ("le_24h", 1),
            ("le_3d", 1),
            ("gt_3d", 0),
            ("open", 6)
        ]
    );
}

#[test]
fn the_header_says_what_the_report_is_of() {
    let report = acme_report();
    assert_eq!(report.header.period, november());
    assert_eq!(report.header.linked_account_id.as_deref(), Some(ACME));
    assert_eq!(report.header.sla, sla());
    assert_eq!(report.header.as_of, as_of());
}

#[test]
fn an_undone_row_keeps_when_access_first_ended_and_says_it_was_undone() {
    let report = acme_report();
    let row = report
        .rows
        .iter()
        .find(|r| r.key.employee_id == "e12")
        .unwrap();
    assert_eq!(row.status, Status::Target(Outcome::Reactivated));
    assert_eq!(row.access_ended_at, Some(nov(15, 9, 3)));
    assert_eq!(row.undone_at, Some(nov(15, 12, 0)));
    assert_eq!(row.started_by, Some(Trigger::Undo));
    assert_eq!(row.verdict, Verdict::Met);
}

#[test]
fn a_rehire_before_access_ended_is_exempt_and_one_after_keeps_the_verdict() {
    let report = acme_report();
    let find = |e: &str| report.rows.iter().find(|r| r.key.employee_id == e).unwrap();
    let before = find("e09");
    assert_eq!(before.status, Status::Rehired);
    assert_eq!(before.rehired_at, Some(nov(8, 15, 0)));
    assert_eq!(before.verdict, Verdict::Exempt);
    let after = find("e10");
    assert_eq!(after.status, Status::Target(Outcome::Deactivated));
    assert_eq!(after.rehired_at, Some(nov(11, 9, 0)));
    assert_eq!(after.verdict, Verdict::Met);
}

#[test]
fn a_rehire_after_the_sla_had_passed_without_access_ending_is_missed() {
    let facts = vec![
        terminated(
            ACME,
            "e1",
            nov(2, 9, 0),
            Some(nov(2, 9, 0)),
            Trigger::Webhook,
        ),
        outcome(
            ACME,
            "e1",
            nov(2, 9, 1),
            ("okta", Some(nov(2, 9, 0))),
            Outcome::Held,
            Trigger::Webhook,
        ),
        rehired("e1", nov(5, 9, 0), nov(2, 9, 0)),
    ];
    let report = build(&facts, &november(), None, sla(), as_of());
    assert_eq!(report.rows[0].status, Status::Rehired);
    assert_eq!(report.rows[0].verdict, Verdict::Missed);
    assert_eq!(
        report.summary.open_items, 0,
        "a rehired employee is owed nothing"
    );
}

#[test]
fn a_second_termination_is_a_leaver_of_its_own_and_an_unlabelled_outcome_is_the_latest_ones() {
    let report = acme_report();
    let rows: Vec<&Row> = report
        .rows
        .iter()
        .filter(|r| r.key.employee_id == "e11")
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].terminated_at, nov(13, 9, 0));
    assert_eq!(rows[0].rehired_at, Some(nov(14, 9, 0)));
    assert_eq!(rows[1].terminated_at, nov(20, 9, 0));
    assert_eq!(rows[1].rehired_at, None);
    assert_eq!(rows[1].access_ended_at, Some(nov(20, 9, 30)));
}

#[test]
fn access_ended_before_the_effective_time_lags_zero() {
    let report = acme_report();
    let row = report
        .rows
        .iter()
        .find(|r| r.key.employee_id == "e16")
        .unwrap();
    assert_eq!(row.effective_at, nov(20, 0, 0));
    assert_eq!(row.lag, Some(TimeDelta::zero()));
    assert_eq!(row.verdict, Verdict::Met);
}

#[test]
fn without_an_effective_time_the_termination_is_due_when_it_took_effect() {
    let report = acme_report();
    let row = report
        .rows
        .iter()
        .find(|r| r.key.employee_id == "e05")
        .unwrap();
    assert_eq!(row.effective_at, nov(10, 9, 0));
    assert_eq!(row.rule, None);
}

#[test]
fn terminations_outside_the_period_and_facts_after_the_instant_are_left_out() {
    let report = acme_report();
    assert!(report.rows.iter().all(|r| r.key.employee_id != "e13"));
    let late = report
        .rows
        .iter()
        .find(|r| r.key.employee_id == "e14")
        .unwrap();
    assert_eq!(late.status, Status::NotWorked);
    let later = build(&month(), &november(), Some(ACME), sla(), at(12, 1, 8, 0));
    let worked = later
        .rows
        .iter()
        .find(|r| r.key.employee_id == "e14")
        .unwrap();
    assert_eq!(worked.status, Status::Target(Outcome::Deactivated));
    assert_eq!(worked.verdict, Verdict::Missed);
}

#[test]
fn one_account_leaves_the_others_out_and_every_account_has_them_all() {
    let acme = acme_report();
    assert!(acme.rows.iter().all(|r| r.key.linked_account_id == ACME));
    let all = build(&month(), &november(), None, sla(), as_of());
    assert_eq!(all.rows.len(), acme.rows.len() + 1);
    assert_eq!(
        all.rows[0].key.linked_account_id, ACME,
        "sorted by account first"
    );
    assert_eq!(
        all.rows.last().unwrap().key,
        EmployeeKey::new(Some(OTHER), "x01")
    );
    assert_eq!(all.header.linked_account_id, None);
}

#[test]
fn the_same_facts_in_any_order_at_the_same_instant_give_the_same_report() {
    let mut reversed = month();
    reversed.reverse();
    let forward = acme_report();
    let backward = build(&reversed, &november(), Some(ACME), sla(), as_of());
    assert_eq!(forward, backward);
    for form in Form::ALL {
        assert_eq!(form.render(&forward), form.render(&backward), "{form:?}");
    }
}

#[test]
fn a_shorter_sla_turns_a_met_row_missed() {
    let report = build(
        &month(),
        &november(),
        Some(ACME),
        TimeDelta::hours(4),
        as_of(),
    );
    let released = report
        .rows
        .iter()
        .find(|r| r.key.employee_id == "e03")
        .unwrap();
    assert_eq!(released.lag, Some(TimeDelta::hours(6)));
    assert_eq!(released.verdict, Verdict::Missed);
}

#[test]
fn a_period_holds_its_days_and_names_its_months() {
    let period = november();
    assert!(period.contains(nov(1, 0, 0)));
    assert!(period.contains(nov(30, 23, 59)));
    assert!(!period.contains(at(12, 1, 0, 0)));
    assert!(!period.contains(at(10, 31, 23, 59)));
    assert_eq!(period.months(), ["2026-11"]);
    assert_eq!(period.label(), "2026-11");
    assert_eq!(Period::previous_month(at(12, 1, 0, 5)), period);
    let january = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
    assert_eq!(
        Period::previous_month(january),
        Period::month(2026, 12).unwrap()
    );
    let day = |m, d| chrono::NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    let span = Period::between(day(10, 15), day(12, 2)).unwrap();
    assert_eq!(span.months(), ["2026-10", "2026-11", "2026-12"]);
    assert_eq!(span.label(), "2026-10-15..2026-12-02");
    assert!(!span.is_month());
    assert_eq!(Period::between(day(12, 2), day(12, 1)), None);
    assert_eq!(Period::month(2026, 13), None);
}

#[test]
fn an_outcome_of_a_termination_the_trail_does_not_hold_makes_no_row() {
    let facts = vec![
        outcome(
            ACME,
            "e1",
            nov(2, 9, 0),
            ("okta", None),
            Outcome::Deactivated,
            Trigger::Webhook,
        ),
        outcome(
            ACME,
            "e1",
            nov(2, 9, 0),
            ("okta", Some(nov(1, 1, 0))),
            Outcome::Deactivated,
            Trigger::Webhook,
        ),
        terminated(
            ACME,
            "e1",
            nov(3, 9, 0),
            Some(nov(3, 9, 0)),
            Trigger::Webhook,
        ),
    ];
    let report = build(&facts, &november(), None, sla(), as_of());
    assert_eq!(report.rows.len(), 1);
    assert_eq!(report.rows[0].status, Status::NotWorked);
    assert_eq!(report.rows[0].target, None);
}

#[test]
fn a_termination_recorded_twice_is_one_leaver_and_operator_actions_are_no_rows() {
    let once = terminated(
        ACME,
        "e1",
        nov(3, 9, 0),
        Some(nov(3, 9, 0)),
        Trigger::Webhook,
    );
    let facts = vec![once.clone(), once];
    let report = build(&facts, &november(), None, sla(), as_of());
    assert_eq!((report.summary.leavers, report.rows.len()), (1, 1));
    let operators: Vec<Evidence> = month()
        .into_iter()
        .filter(|e| matches!(e.fact, Fact::Operator { .. }))
        .collect();
    assert!(!operators.is_empty());
    assert!(
        build(&operators, &november(), None, sla(), as_of())
            .rows
            .is_empty()
    );
}

#[test]
fn a_historical_leaver_a_backfill_worked_is_exempt_with_the_backfills_outcome() {
    let facts = vec![
        historical("e1", nov(6, 3, 0), at(1, 31, 0, 0)),
        outcome(
            ACME,
            "e1",
            nov(20, 9, 0),
            ("okta", Some(nov(6, 3, 0))),
            Outcome::AlreadyInactive,
            Trigger::Backfill,
        ),
    ];
    let report = build(&facts, &november(), None, sla(), as_of());
    let row = &report.rows[0];
    assert_eq!(row.status, Status::Target(Outcome::AlreadyInactive));
    assert_eq!(row.ended_by, Some(Trigger::Backfill));
    assert!(row.lag.unwrap() > TimeDelta::days(290));
    assert_eq!(row.verdict, Verdict::Exempt);
    assert_eq!(
        report.summary.worst_lag, None,
        "an exempt row's lag is not measured"
    );
    assert_eq!(report.histogram().iter().map(|(_, n)| n).sum::<usize>(), 0);
}
