//! Writes the access-removal report's HTML page for a sample month to the path given:
//! a dozen leavers of one linked account in two targets, with every status a row can
//! have, so a browser test can open the page as an auditor would.
//!
//! `cargo run --example report_page -- out.html`

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use merge_deprovision::domain::evidence::{Evidence, Fact, Trigger};
use merge_deprovision::domain::ledger::{EmployeeKey, Identity};
use merge_deprovision::domain::outcome::Outcome;
use merge_deprovision::domain::report::{DEFAULT_SLA_HOURS, Form, Period, build};

const ACCOUNT: &str = "a3602c03-aba7-4d9d-a349-dbc338504092";

fn nov(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, minute, 0)
        .unwrap()
}

fn key(n: u32) -> EmployeeKey {
    EmployeeKey::new(Some(ACCOUNT), &format!("0958cbc6-6040-430a-848e-{n:012}"))
}

fn identity(n: u32, name: &str) -> Identity {
    let login = name.to_lowercase().replace(' ', ".");
    Identity {
        remote_id: Some(format!("{}", 4100 + n)),
        employee_number: Some(format!("E-{n:04}")),
        work_email: Some(format!("{login}@merge.dev")),
        username: Some(login),
        display_full_name: Some(name.to_owned()),
        integration: Some("bamboohr".to_owned()),
        end_user_organization_name: Some("Merge Sample Co".to_owned()),
    }
}

/// Employee `n`, terminated at `at` (due then), learned as `by` says.
fn terminated(n: u32, name: &str, at: DateTime<Utc>, by: Trigger, historical: bool) -> Evidence {
    Evidence {
        key: key(n),
        at,
        fact: Fact::Terminated {
            termination_date: Some(at),
            effective_at: Some(at),
            rule: Some("start of the local day (America/New_York)".to_owned()),
            by,
            learned_at: at - TimeDelta::days(3),
            learned_by: Trigger::Webhook,
            historical,
            identity: identity(n, name),
        },
    }
}

fn step(
    n: u32,
    termination: DateTime<Utc>,
    minutes: i64,
    target: &str,
    outcome: Outcome,
    by: Trigger,
) -> Evidence {
    Evidence {
        key: key(n),
        at: termination + TimeDelta::minutes(minutes),
        fact: Fact::Target {
            target: target.to_owned(),
            termination: Some(termination),
            outcome,
            user: outcome
                .is_final_change()
                .then(|| format!("{target}-{n:04}")),
            run: None,
            by,
        },
    }
}

type Step<'a> = (i64, &'a str, Outcome, Trigger);

/// Employee `n`'s termination at `at` and its targets' outcomes, `minutes` after it.
fn leaver(facts: &mut Vec<Evidence>, n: u32, name: &str, at: DateTime<Utc>, steps: &[Step]) {
    let by = if n == 1 {
        Trigger::Timer
    } else {
        Trigger::Webhook
    };
    facts.push(terminated(n, name, at, by, false));
    for (minutes, target, outcome, by) in steps {
        facts.push(step(n, at, *minutes, target, *outcome, *by));
    }
}

fn month() -> Vec<Evidence> {
    use Outcome::*;
    use Trigger::*;
    let mut f = Vec::new();
    leaver(
        &mut f,
        1,
        "Ada Lovelace",
        nov(2, 5, 0),
        &[
            (4, "okta", Deactivated, Timer),
            (5, "github", Deleted, Timer),
        ],
    );
    leaver(
        &mut f,
        2,
        "Alan Turing",
        nov(3, 5, 0),
        &[
            (1, "okta", Failed, Webhook),
            (3_000, "okta", Deactivated, Sweep),
            (2, "github", AlreadyInactive, Webhook),
        ],
    );
    leaver(
        &mut f,
        3,
        "Grace Hopper",
        nov(4, 5, 0),
        &[
            (1, "okta", Held, Webhook),
            (150, "okta", Deactivated, Release),
            (1, "github", NotFound, Webhook),
        ],
    );
    leaver(
        &mut f,
        4,
        "Edsger Dijkstra",
        nov(5, 5, 0),
        &[
            (1, "okta", Ambiguous, Webhook),
            (1, "github", Conflict, Webhook),
        ],
    );
    leaver(
        &mut f,
        5,
        "Barbara Liskov",
        nov(6, 5, 0),
        &[
            (1, "okta", Protected, Webhook),
            (1, "github", Paused, Webhook),
        ],
    );
    leaver(
        &mut f,
        6,
        "Donald Knuth",
        nov(9, 5, 0),
        &[
            (1, "okta", WouldDeactivate, Webhook),
            (1, "github", WouldDelete, Webhook),
        ],
    );
    leaver(
        &mut f,
        7,
        "Frances Allen",
        nov(10, 5, 0),
        &[
            (2, "okta", Deactivated, Webhook),
            (300, "okta", Reactivated, Undo),
        ],
    );
    leaver(
        &mut f,
        8,
        "Ken Thompson",
        nov(12, 5, 0),
        &[(1, "okta", Held, Webhook)],
    );
    f.push(Evidence {
        key: key(8),
        at: nov(12, 9, 0),
        fact: Fact::Rehired {
            termination: nov(12, 5, 0),
            by: Webhook,
        },
    });
    leaver(
        &mut f,
        9,
        "Radia Perlman",
        nov(16, 5, 0),
        &[
            (1, "okta", Deactivated, ByHand),
            (7_000, "github", Deactivated, Backfill),
        ],
    );
    leaver(
        &mut f,
        10,
        "John Backus",
        nov(30, 5, 0),
        &[(1, "okta", Failed, Webhook)],
    );
    leaver(&mut f, 11, "Margaret Hamilton", nov(30, 20, 0), &[]);
    f.push(terminated(12, "Dennis Ritchie", nov(18, 5, 0), Sweep, true));
    f
}

fn main() -> std::io::Result<()> {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: cargo run --example report_page -- out.html");
        std::process::exit(2);
    };
    let period = Period::month(2026, 11).expect("a month");
    let as_of = Utc.with_ymd_and_hms(2026, 12, 1, 6, 0, 0).unwrap();
    let sla = TimeDelta::hours(DEFAULT_SLA_HOURS);
    let report = build(&month(), &period, Some(ACCOUNT), sla, as_of);
    std::fs::write(&path, Form::Html.render(&report))?;
    let s = &report.summary;
    println!(
        "wrote {path}: {} leavers, {} rows, {} met, {} missed, {} open items",
        s.leavers, s.rows, s.met, s.missed, s.open_items
    );
    Ok(())
}
