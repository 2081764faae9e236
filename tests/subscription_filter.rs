//! The downstream subscription's filter pattern, read from `template.yaml` and evaluated
//! as CloudWatch Logs evaluates JSON filter patterns, against every kind of record the
//! function writes: it must select each termination once (the move into `terminated`,
//! from a webhook or a timer), and nothing else: no repeat, no stale delivery, no failure,
//! no metrics line.

mod support;

use merge_deprovision::aws::ledger::LedgerError;
use merge_deprovision::aws::scheduler::SchedulerError;
use merge_deprovision_samples::Signing;
use serde_json::{Value, json};
use support::{answer, answer_fired, employee_delivery, fired_event, ledger_app, post, receiver};

/// A CloudWatch Logs JSON filter pattern: `{ $.a = "x" && ($.b != "y" || $.c = "z") }`,
/// with `&&` binding tighter than `||`, as the service documents.
#[derive(Debug)]
enum Pattern {
    Equals(String, String, bool),
    And(Box<Pattern>, Box<Pattern>),
    Or(Box<Pattern>, Box<Pattern>),
}

impl Pattern {
    fn parse(text: &str) -> Pattern {
        let inner = text
            .trim()
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .expect("a JSON filter pattern is braced");
        let tokens = tokenize(inner);
        let mut position = 0;
        let pattern = or(&tokens, &mut position);
        assert_eq!(position, tokens.len(), "the whole pattern is read: {text}");
        pattern
    }

    fn matches(&self, record: &Value) -> bool {
        match self {
            Pattern::Equals(field, value, equal) => {
                let got = field
                    .split('.')
                    .try_fold(record, |v, key| v.get(key))
                    .and_then(|v| match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        Value::Bool(b) => Some(b.to_string()),
                        _ => None,
                    });
                match got {
                    Some(got) => (got == *value) == *equal,
                    // A field that is absent matches neither `=` nor `!=`.
                    None => false,
                }
            }
            Pattern::And(a, b) => a.matches(record) && b.matches(record),
            Pattern::Or(a, b) => a.matches(record) || b.matches(record),
        }
    }
}

fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' => {
                chars.next();
            }
            '(' | ')' => {
                tokens.push(c.to_string());
                chars.next();
            }
            '"' => {
                chars.next();
                let mut value = String::from("\"");
                for c in chars.by_ref() {
                    if c == '"' {
                        break;
                    }
                    value.push(c);
                }
                tokens.push(value);
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c == ' ' || c == '(' || c == ')' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(word);
            }
        }
    }
    tokens
}

fn or(tokens: &[String], position: &mut usize) -> Pattern {
    let mut left = and(tokens, position);
    while tokens.get(*position).map(String::as_str) == Some("||") {
        *position += 1;
        left = Pattern::Or(Box::new(left), Box::new(and(tokens, position)));
    }
    left
}

fn and(tokens: &[String], position: &mut usize) -> Pattern {
    let mut left = term(tokens, position);
    while tokens.get(*position).map(String::as_str) == Some("&&") {
        *position += 1;
        left = Pattern::And(Box::new(left), Box::new(term(tokens, position)));
    }
    left
}

fn term(tokens: &[String], position: &mut usize) -> Pattern {
    if tokens[*position] == "(" {
        *position += 1;
        let inner = or(tokens, position);
        assert_eq!(tokens[*position], ")");
        *position += 1;
        return inner;
    }
    let field = tokens[*position]
        .strip_prefix("$.")
        .expect("a selector")
        .to_owned();
    let equal = match tokens[*position + 1].as_str() {
        "=" => true,
        "!=" => false,
        other => panic!("an operator this check does not know: {other}"),
    };
    let value = tokens[*position + 2]
        .strip_prefix('"')
        .expect("a quoted value")
        .to_owned();
    *position += 3;
    Pattern::Equals(field, value, equal)
}

/// The two filter patterns of the downstream subscription: without and with the
/// scheduled records.
fn filters() -> (Pattern, Pattern) {
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml")).unwrap();
    let section = template
        .split("DownstreamSubscription:")
        .nth(1)
        .expect("the subscription");
    let patterns: Vec<&str> = section
        .lines()
        .skip_while(|l| !l.contains("FilterPattern:"))
        .skip(1)
        .take(3)
        .filter_map(|l| l.trim().strip_prefix("- '"))
        .map(|l| l.strip_suffix('\'').expect("single-quoted"))
        .collect();
    assert_eq!(patterns.len(), 2, "{patterns:?}");
    (Pattern::parse(patterns[1]), Pattern::parse(patterns[0]))
}

fn lines(logs: &str) -> Vec<Value> {
    logs.lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect()
}

type Kinds = Vec<(&'static str, Value, bool)>;

/// Adds the one record of `answered`, and its metrics line.
fn add(kinds: &mut Kinds, name: &'static str, answered: &support::Answer, moves: bool) {
    let records = answered.records();
    assert_eq!(records.len(), 1, "{name}");
    kinds.push((name, records[0].clone(), moves));
    kinds.push(("a metrics line", answered.metrics.clone(), false));
}

/// Every kind of record the function writes, each with a name, and whether it is a
/// termination the downstream function must act on, once.
fn every_kind_of_record() -> Kinds {
    let mut kinds = Vec::new();
    let change = |status: &str, date: Value, modified_at: &str| {
        employee_delivery(
            "Employee.changed",
            json!({"employment_status": status, "termination_date": date, "modified_at": modified_at}),
        )
    };
    let l = ledger_app();
    let terminated = change("INACTIVE", json!("2026-11-20"), "2026-11-26T05:00:00Z");
    add(
        &mut kinds,
        "a move into terminated",
        &answer(&l.app, &terminated),
        true,
    );
    add(
        &mut kinds,
        "a repeat of a known termination",
        &answer(&l.app, &terminated),
        false,
    );
    let rehire = change("ACTIVE", Value::Null, "2026-11-26T06:00:00Z");
    add(
        &mut kinds,
        "an active decision",
        &answer(&l.app, &rehire),
        false,
    );
    add(
        &mut kinds,
        "a stale terminated delivery",
        &answer(&l.app, &terminated),
        false,
    );
    let scheduled = change("ACTIVE", json!("2099-06-30"), "2026-11-26T07:00:00Z");
    add(
        &mut kinds,
        "a scheduled decision",
        &answer(&l.app, &scheduled),
        false,
    );
    add(
        &mut kinds,
        "a replay of a scheduled decision",
        &answer(&l.app, &scheduled),
        false,
    );
    let unreadable = change("ACTIVE", json!("soon"), "2026-11-26T08:00:00Z");
    add(
        &mut kinds,
        "an undetermined delivery keeping a termination",
        &answer(&l.app, &unreadable),
        false,
    );
    let name = l.schedules.schedules().into_keys().next().unwrap();
    let input = serde_json::to_string(&l.schedules.fire(&name).unwrap()).unwrap();
    let (fired, logs) = answer_fired(&l.app, &fired_event(&input));
    assert!(fired.is_ok());
    kinds.push((
        "a timer's move into terminated",
        lines(&logs)[0].clone(),
        true,
    ));
    let (fired, logs) = answer_fired(&l.app, &fired_event(&input));
    assert!(fired.is_ok());
    kinds.push(("an outdated timer", lines(&logs)[0].clone(), false));
    l.ledger.fail_next([LedgerError::Throttled]);
    let failed = change("INACTIVE", json!("2026-11-20"), "2026-11-26T09:00:00Z");
    add(
        &mut kinds,
        "a ledger failure (503)",
        &answer(&l.app, &failed),
        false,
    );
    l.ledger.fail_next([LedgerError::Unreachable]);
    let (fired, logs) = answer_fired(&l.app, &fired_event(&input));
    assert!(fired.is_err());
    kinds.push(("a timer that failed", lines(&logs)[0].clone(), false));
    l.schedules.fail_next([SchedulerError::Throttled]);
    let moved = change("ACTIVE", json!("2099-07-31"), "2026-11-26T10:00:00Z");
    add(
        &mut kinds,
        "a scheduling failure (503)",
        &answer(&l.app, &moved),
        false,
    );
    l.schedules
        .fail_next([SchedulerError::Invalid, SchedulerError::Invalid]);
    add(
        &mut kinds,
        "a timer Scheduler refused",
        &answer(&l.app, &moved),
        false,
    );
    let (unknown, logs) = answer_fired(&l.app, &fired_event(r#"{"detail-type":"x"}"#));
    assert!(unknown.is_err());
    kinds.push(("an unknown event", lines(&logs)[0].clone(), false));
    add(
        &mut kinds,
        "a rejected request",
        &answer(&l.app, &post(b"{}", Signing::WrongKey)),
        false,
    );
    let synced = br#"{"hook":{"event":"LinkedAccount.synced"},"data":{}}"#;
    add(
        &mut kinds,
        "an ignored event",
        &answer(&l.app, &post(synced, Signing::TestKey)),
        false,
    );
    // Log-only, with no ledger, every terminated delivery is announced.
    add(
        &mut kinds,
        "a terminated delivery with no ledger",
        &answer(&receiver(), &terminated),
        true,
    );
    kinds
}

#[test]
fn the_subscription_selects_each_termination_once_and_nothing_else() {
    let (terminations, _) = filters();
    for (name, record, moves) in every_kind_of_record() {
        assert_eq!(terminations.matches(&record), moves, "{name}: {record}");
    }
}

#[test]
fn with_scheduled_records_the_subscription_adds_the_scheduled_decisions_only() {
    let (terminations, with_scheduled) = filters();
    for (name, record, moves) in every_kind_of_record() {
        // Every scheduled notice, replays included: a delivery answered 503 whose write
        // landed is only ever sent again as a replay.
        let scheduled = record["decision"] == "scheduled"
            && record["message"] == "employee termination scheduled";
        assert_eq!(
            with_scheduled.matches(&record),
            moves || scheduled,
            "{name}: {record}"
        );
        assert!(!terminations.matches(&record) || moves, "{name}");
        if name == "a replay of a scheduled decision" {
            assert!(with_scheduled.matches(&record), "a replay is sent again");
        }
    }
}

#[test]
fn the_evaluator_reads_and_and_or_and_absent_fields_as_cloudwatch_does() {
    let pattern = Pattern::parse(r#"{ ($.a = "x") && ($.b != "y") || $.c = "z" }"#);
    assert!(pattern.matches(&json!({"a": "x", "b": "w"})));
    assert!(!pattern.matches(&json!({"a": "x", "b": "y"})));
    assert!(
        !pattern.matches(&json!({"a": "x"})),
        "absent is not unequal"
    );
    assert!(pattern.matches(&json!({"c": "z"})));
}
