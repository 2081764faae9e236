//! The sample events in `events/` are current, valid function URL events, and the real
//! handler gives each the answer its manifest records.

mod support;

use merge_deprovision_samples::{
    DOWNSTREAM_SAMPLE_FILE, MANIFEST_FILE, downstream_sample, manifest, read_manifest, samples,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use support::{answer, receiver, request};

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("events")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(events_dir().join(name))
        .unwrap_or_else(|e| panic!("reading events/{name}: {e}"))
}

const REGENERATE: &str = "events/ is out of date: run `cargo run --example generate-events`";

#[test]
fn checked_in_events_match_what_the_generator_builds() {
    for sample in samples() {
        assert_eq!(
            read(&sample.file_name()),
            sample.render(),
            "{}: {REGENERATE}",
            sample.name
        );
    }
    assert_eq!(read(MANIFEST_FILE), manifest(&samples()), "{REGENERATE}");
    assert_eq!(
        read(DOWNSTREAM_SAMPLE_FILE),
        downstream_sample(),
        "{REGENERATE}"
    );
}

#[test]
fn the_downstream_sample_is_what_the_subscription_filter_selects() {
    let message: serde_json::Value = serde_json::from_str(&read(DOWNSTREAM_SAMPLE_FILE)).unwrap();
    let record: serde_json::Value =
        serde_json::from_str(message["logEvents"][0]["message"].as_str().unwrap()).unwrap();
    // The template's filter pattern is `{ $.decision = "terminated" }`.
    assert_eq!(record["decision"], "terminated");
    assert_eq!(record["level"], "WARN");
    for field in [
        "employee_id",
        "work_email",
        "username",
        "function_request_id",
        "delivery_id",
    ] {
        assert!(record[field].is_string(), "{field}");
    }
}

#[test]
fn events_holds_no_file_the_generator_does_not_build() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut generated: BTreeSet<String> = samples().iter().map(|s| s.file_name()).collect();
    generated.insert(MANIFEST_FILE.to_owned());
    generated.insert(DOWNSTREAM_SAMPLE_FILE.split('/').next().unwrap().to_owned());
    // Not an event: the --env-vars file for `sam local invoke`, written by hand and
    // checked by tests/sam_local_env.rs.
    generated.insert("sam-local-env.json".to_owned());
    // Direct invocations that start sweeps, written by hand and checked by
    // tests/reconcile.rs: they need reconciliation configured, which the samples do not.
    generated.insert("reconcile".to_owned());
    // The backfill and baseline documents, written by hand and checked by
    // tests/backfill.rs: they need deprovisioning configured.
    generated.insert("backfill".to_owned());
    // The pause, resume and release-preview documents, written by hand and checked by
    // tests/controls.rs: they need deprovisioning configured.
    generated.insert("controls".to_owned());
    // The check-target documents, written by hand and checked by tests/check_target.rs.
    generated.insert("check-target".to_owned());
    // The undo and deprovision-now documents, written by hand and checked by
    // tests/undo.rs and tests/deprovision_now.rs: they need deprovisioning configured.
    generated.insert("undo".to_owned());
    generated.insert("deprovision-now".to_owned());
    // The local cutoff documents, written by hand and checked by tests/cutoffs.rs.
    generated.insert("cutoff".to_owned());
    // The report documents, written by hand, read by the report's document tests and
    // answered by tests/report.rs.
    generated.insert("report".to_owned());
    assert_eq!(on_disk, generated, "{REGENERATE}");
}

#[test]
fn every_sample_event_gets_its_manifest_answer_from_the_real_handler() {
    // With the ledger on, in manifest order, as the replay runs them: the timer of the
    // scheduled sample then terminates its employee.
    let receiver = support::ledger_app().app;
    let entries = read_manifest(&read(MANIFEST_FILE)).unwrap();
    assert!(
        entries.len() >= 11,
        "the manifest lists every required case"
    );
    for entry in entries {
        let event: serde_json::Value = serde_json::from_str(&read(&entry.file)).unwrap();
        let answer = answer(&receiver, &support::in_lambda(request(&event)));
        entry.check(answer.status, &answer.body).unwrap();
    }
}

#[test]
fn the_manifest_covers_every_case_the_samples_promise() {
    let entries = read_manifest(&read(MANIFEST_FILE)).unwrap();
    let answers: BTreeSet<(u16, String)> = entries
        .iter()
        .map(|e| (e.status, e.decision.clone().or(e.error.clone()).unwrap()))
        .collect();
    for expected in [
        (200, "terminated"),
        (200, "scheduled"),
        (200, "active"),
        (200, "undetermined"),
        (200, "ignored"),
        (401, "invalid_signature"),
        (401, "missing_signature"),
        (400, "malformed_json"),
        (405, "method_not_allowed"),
    ] {
        assert!(
            answers.contains(&(expected.0, expected.1.to_owned())),
            "no sample answers {expected:?}"
        );
    }
}

#[test]
fn log_only_every_sample_is_answered_without_waiting_on_a_runtime() {
    // The request-path bench and the fuzzer poll the handler once, with no runtime: with
    // keys from the environment and no ledger, nothing may arm a timer, whatever the
    // signature says.
    let app = receiver();
    let entries = read_manifest(&read(MANIFEST_FILE)).unwrap();
    for entry in entries.iter().filter(|e| !e.needs_ledger) {
        let event: serde_json::Value = serde_json::from_str(&read(&entry.file)).unwrap();
        let answered = merge_deprovision_samples::finished(
            merge_deprovision::lambda::http::respond(&app, &request(&event), support::now()),
        )
        .unwrap();
        assert_eq!(
            answered.response.status().as_u16(),
            entry.status,
            "{}",
            entry.file
        );
    }
}
