//! Property tests: the signature check, the decision rules and the date parser hold
//! their invariants over generated inputs, not just the examples in the unit tests.

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, TimeZone, Timelike, Utc};
use merge_deprovision::domain::dates::parse_hr_date;
use merge_deprovision::domain::decision::{Decision, Policy, decide};
use merge_deprovision::domain::employee::{Employee, EmploymentStatus, RawDate};
use merge_deprovision::domain::envelope::Action;
use merge_deprovision::domain::signature::{KeyUsed, SignatureFailure, Verifier, sign};
use proptest::prelude::*;
use serde_json::{Value, json};

const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..64)
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..2048)
}

proptest! {
    #[test]
    fn the_correct_signature_is_accepted_with_or_without_padding(key in key(), body in body()) {
        let verifier = Verifier::new(&key, None);
        let signature = sign(&key, &body);
        prop_assert_eq!(verifier.verify(&body, Some(signature.as_bytes())), Ok(KeyUsed::Current));
        let padded = format!("{signature}=");
        prop_assert_eq!(verifier.verify(&body, Some(padded.as_bytes())), Ok(KeyUsed::Current));
    }

    #[test]
    fn either_configured_key_is_accepted(current in key(), previous in key(), body in body()) {
        prop_assume!(current != previous);
        let verifier = Verifier::new(&current, Some(&previous));
        let by_previous = sign(&previous, &body);
        prop_assert_eq!(verifier.verify(&body, Some(by_previous.as_bytes())), Ok(KeyUsed::Previous));
        let by_current = sign(&current, &body);
        prop_assert_eq!(verifier.verify(&body, Some(by_current.as_bytes())), Ok(KeyUsed::Current));
    }

    #[test]
    fn changing_any_byte_of_the_body_is_rejected(
        key in key(), body in prop::collection::vec(any::<u8>(), 1..2048), index in any::<prop::sample::Index>(), flip in 1u8..=255,
    ) {
        let signature = sign(&key, &body);
        let mut tampered = body.clone();
        tampered[index.index(body.len())] ^= flip;
        prop_assert_eq!(
            Verifier::new(&key, None).verify(&tampered, Some(signature.as_bytes())),
            Err(SignatureFailure::Mismatch)
        );
    }

    #[test]
    fn any_truncation_of_the_signature_is_rejected(key in key(), body in body(), keep in 1usize..43) {
        let signature = sign(&key, &body);
        prop_assert_eq!(
            Verifier::new(&key, None).verify(&body, Some(&signature.as_bytes()[..keep])),
            Err(SignatureFailure::Mismatch)
        );
    }

    #[test]
    fn any_extension_of_the_signature_is_rejected(
        key in key(), body in body(), extra in prop::collection::vec(prop::sample::select(BASE64URL), 1..8),
    ) {
        let mut signature = sign(&key, &body).into_bytes();
        signature.extend(extra);
        prop_assert_eq!(
            Verifier::new(&key, None).verify(&body, Some(&signature)),
            Err(SignatureFailure::Mismatch)
        );
    }

    #[test]
    fn any_one_character_change_of_the_signature_is_rejected(
        key in key(), body in body(), index in 0usize..43, replacement in any::<u8>(),
    ) {
        let mut signature = sign(&key, &body).into_bytes();
        prop_assume!(signature[index] != replacement);
        signature[index] = replacement;
        prop_assert_eq!(
            Verifier::new(&key, None).verify(&body, Some(&signature)),
            Err(SignatureFailure::Mismatch)
        );
    }

    #[test]
    fn a_signature_made_with_another_key_is_rejected(key in key(), other in key(), body in body()) {
        prop_assume!(key != other);
        let signature = sign(&other, &body);
        prop_assert_eq!(
            Verifier::new(&key, None).verify(&body, Some(signature.as_bytes())),
            Err(SignatureFailure::Mismatch)
        );
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

/// A date field as generated: absent, unreadable, or an offset in seconds from now.
#[derive(Debug, Clone)]
enum DateSpec {
    Absent,
    NotText,
    Garbage(String),
    At(i64),
}

impl DateSpec {
    fn raw(&self) -> Option<RawDate> {
        match self {
            DateSpec::Absent => None,
            DateSpec::NotText => Some(RawDate::NotText),
            DateSpec::Garbage(text) => Some(RawDate::text(text.clone())),
            DateSpec::At(offset) => Some(RawDate::text(
                (now() + Duration::seconds(*offset)).to_rfc3339(),
            )),
        }
    }
    fn instant(&self) -> Option<DateTime<Utc>> {
        match self {
            DateSpec::At(offset) => Some(now() + Duration::seconds(*offset)),
            _ => None,
        }
    }
}

fn date_spec() -> impl Strategy<Value = DateSpec> {
    prop_oneof![
        2 => Just(DateSpec::Absent),
        1 => Just(DateSpec::NotText),
        1 => "[a-z /]{1,12}".prop_map(DateSpec::Garbage),
        // Offsets cluster around now so the boundary is exercised.
        3 => prop_oneof![-3i64..=3, -400_000_000i64..400_000_000].prop_map(DateSpec::At),
    ]
}

fn status() -> impl Strategy<Value = Option<EmploymentStatus>> {
    prop_oneof![
        Just(None),
        Just(Some(EmploymentStatus::Active)),
        Just(Some(EmploymentStatus::Pending)),
        Just(Some(EmploymentStatus::Inactive)),
        "[A-Z_]{1,10}".prop_map(|s| Some(EmploymentStatus::from_text(&s))),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Added),
        Just(Action::Changed),
        Just(Action::Removed)
    ]
}

#[derive(Debug, Clone)]
struct Case {
    action: Action,
    status: Option<EmploymentStatus>,
    deleted: Option<bool>,
    termination: DateSpec,
    hire: DateSpec,
    start: DateSpec,
}

impl Case {
    fn employee(&self) -> Employee {
        Employee {
            employment_status: self.status.clone(),
            remote_was_deleted: self.deleted,
            termination_date: self.termination.raw(),
            hire_date: self.hire.raw(),
            start_date: self.start.raw(),
            ..Employee::default()
        }
    }
    fn rehired(&self) -> bool {
        let Some(termination) = self.termination.instant() else {
            return false;
        };
        [&self.hire, &self.start]
            .iter()
            .filter_map(|d| d.instant())
            .any(|hired| hired > termination)
    }
    fn non_date_signal(&self) -> bool {
        self.action == Action::Removed
            || self.deleted == Some(true)
            || self.status == Some(EmploymentStatus::Inactive)
    }
}

fn case() -> impl Strategy<Value = Case> {
    (
        action(),
        status(),
        prop::option::of(any::<bool>()),
        date_spec(),
        date_spec(),
        date_spec(),
    )
        .prop_map(|(action, status, deleted, termination, hire, start)| Case {
            action,
            status,
            deleted,
            termination,
            hire,
            start,
        })
}

proptest! {
    #[test]
    fn terminated_exactly_when_a_termination_signal_holds(case in case()) {
        let passed = case.termination.instant().is_some_and(|t| t <= now()) && !case.rehired();
        let verdict = decide(case.action, &case.employee(), now(), &Policy::default());
        prop_assert_eq!(verdict.decision == Decision::Terminated, case.non_date_signal() || passed);
    }

    #[test]
    fn scheduled_only_for_a_future_date_with_no_other_signal(case in case()) {
        let verdict = decide(case.action, &case.employee(), now(), &Policy::default());
        if verdict.decision == Decision::Scheduled {
            let date = case.termination.instant();
            prop_assert!(date.is_some_and(|t| t > now()));
            prop_assert!(!case.non_date_signal());
            prop_assert!(!case.rehired());
            prop_assert_eq!(verdict.effective_at, date);
        }
    }

    #[test]
    fn the_effective_instant_is_the_readable_date_unless_a_rehire_superseded_it(case in case()) {
        let verdict = decide(case.action, &case.employee(), now(), &Policy::default());
        let expected = if case.rehired() { None } else { case.termination.instant() };
        prop_assert_eq!(verdict.effective_at, expected);
    }

    #[test]
    fn undetermined_exactly_when_an_unreadable_date_is_the_only_signal(case in case()) {
        let unreadable = matches!(case.termination, DateSpec::NotText | DateSpec::Garbage(_));
        let verdict = decide(case.action, &case.employee(), now(), &Policy::default());
        prop_assert_eq!(verdict.decision == Decision::Undetermined, unreadable && !case.non_date_signal());
    }

    #[test]
    fn a_later_start_date_always_overrides_an_older_termination_date(
        mut case in case(), termination in -400_000_000i64..400_000_000, later in 1i64..400_000_000,
    ) {
        case.termination = DateSpec::At(termination);
        case.start = DateSpec::At(termination + later);
        let verdict = decide(case.action, &case.employee(), now(), &Policy::default());
        let expected = if case.non_date_signal() { Decision::Terminated } else { Decision::Active };
        prop_assert_eq!(verdict.decision, expected);
    }

    #[test]
    fn every_decision_gives_at_least_one_reason(case in case()) {
        prop_assert!(!decide(case.action, &case.employee(), now(), &Policy::default()).reasons.is_empty());
    }

    #[test]
    fn the_decision_never_depends_on_the_sensitive_fields(
        case in case(),
        values in prop::collection::vec(prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,24}".prop_map(Value::from),
            ".{0,12}".prop_map(|s| json!({"nested": s, "list": [s]})),
        ], 12),
    ) {
        let mut plain = serde_json::Map::new();
        if let Some(status) = &case.status {
            plain.insert("employment_status".into(), json!(status.as_str()));
        }
        if let Some(deleted) = case.deleted {
            plain.insert("remote_was_deleted".into(), json!(deleted));
        }
        for (field, spec) in [("termination_date", &case.termination), ("hire_date", &case.hire), ("start_date", &case.start)] {
            match spec.raw() {
                Some(RawDate::Text(text)) => { plain.insert(field.into(), json!(text)); }
                Some(RawDate::NotText) => { plain.insert(field.into(), json!(20261127)); }
                None => {}
            }
        }
        let mut sensitive = plain.clone();
        let fields = ["ssn", "date_of_birth", "personal_email", "mobile_phone_number", "home_location", "gender",
                      "ethnicity", "marital_status", "avatar", "custom_fields", "field_mappings", "remote_data"];
        for (field, value) in fields.iter().zip(values) {
            sensitive.insert((*field).into(), value);
        }
        let parse = |map: serde_json::Map<String, Value>| -> Employee { serde_json::from_value(Value::Object(map)).unwrap() };
        prop_assert_eq!(
            decide(case.action, &parse(plain), now(), &Policy::default()),
            decide(case.action, &parse(sensitive), now(), &Policy::default())
        );
    }
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    // Every instant RFC 3339 can write: years 0000 to 9999.
    let min = Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap().timestamp();
    let max = Utc
        .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
        .unwrap()
        .timestamp();
    (min..=max, 0u32..1_000_000_000)
        .prop_map(|(secs, nanos)| DateTime::from_timestamp(secs, nanos).unwrap())
}

proptest! {
    #[test]
    fn any_rfc3339_instant_chrono_formats_parses_back_to_the_same_instant(
        instant in instant(),
        offset_minutes in -(23 * 60 + 59)..=(23 * 60 + 59),
        format in prop::sample::select(vec![SecondsFormat::Secs, SecondsFormat::Millis, SecondsFormat::Micros, SecondsFormat::Nanos, SecondsFormat::AutoSi]),
        use_z in any::<bool>(),
    ) {
        let offset = FixedOffset::east_opt(offset_minutes * 60).unwrap();
        let local = instant.with_timezone(&offset);
        prop_assume!(local.format("%Y").to_string().len() == 4);
        let text = if use_z { instant.to_rfc3339_opts(format, true) } else { local.to_rfc3339_opts(format, false) };
        // The formats that drop digits truncate; the instant is otherwise exact.
        let kept = match format {
            SecondsFormat::Secs => 1_000_000_000,
            SecondsFormat::Millis => 1_000_000,
            SecondsFormat::Micros => 1_000,
            _ => 1,
        };
        let expected = instant.with_nanosecond(instant.nanosecond() / kept * kept).unwrap();
        prop_assert_eq!(parse_hr_date(&text), Some(expected), "{}", text);
    }

    #[test]
    fn arbitrary_strings_never_panic(text in ".{0,80}") {
        let _ = parse_hr_date(&text);
    }

    #[test]
    fn date_like_strings_never_panic(text in "[0-9+\\-:TZ .]{0,40}") {
        let _ = parse_hr_date(&text);
    }
}
