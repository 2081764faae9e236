//! What one target's outcome tells: its log record (message and level by outcome) and
//! its `Deprovisioned` metric line, with whether the failure pages and, for a removal of
//! the leaver's access, how long after the termination it came against the SLA.

use super::STREAM_ATTEMPTS;
use super::attempt::Attempt;
use crate::aws::ledger::LedgerError;
use crate::domain::deprovision::{Action, Mode, Outcome, Pass, Target};
use crate::domain::ledger::Entry;
use crate::scim::client::ScimError;
use crate::telemetry::metrics::AccessRemoval;
use crate::telemetry::record::{
    ALREADY_INACTIVE_MESSAGE, AMBIGUOUS_MESSAGE, CONFLICT_MESSAGE, DEPROVISION_FAILED_MESSAGE,
    DEPROVISIONED_MESSAGE, DeprovisionFacts, HELD_MESSAGE, NOT_FOUND_MESSAGE, NOT_MATCHING_MESSAGE,
    PAUSED_MESSAGE, PROTECTED_MESSAGE, REACTIVATED_MESSAGE, RequestFacts, Severity,
    WOULD_DEPROVISION_MESSAGE, log_deprovision,
};
use chrono::{DateTime, TimeDelta, Utc};

/// True when a failure counts in `DeprovisionFailures` (which pages): one no retry can
/// fix (a refused token, a rejected call), or one nothing will retry (the stream's last
/// attempt, or a release's). A transient failure the stream retries only counts in
/// `Deprovisioned{Outcome=failed}`.
pub(super) fn pages(attempt: &Attempt, pass: Pass, attempts: Option<u32>) -> bool {
    if attempt.outcome != Outcome::Failed {
        return false;
    }
    let retried = attempt.error.as_ref().is_none_or(ScimError::is_transient);
    !retried || pass != Pass::Termination || attempts.unwrap_or(0) >= STREAM_ATTEMPTS
}

/// How one target's outcome stands against the access-removal SLA, when it removed the
/// leaver's access (`deactivated`, `deleted`): from when the termination took effect
/// (when the ledger learned of it, for a termination with no date) to `now`, and
/// whether that is within `sla`. A removal made before its time counts as immediate.
///
/// None for anything else. `already_inactive` included: the account was found
/// inactive, and when its access ended (a person, another tool, an earlier run whose
/// outcome was lost) is not known, so measuring when it was found would count a removal
/// this function did not make, met or missed by when it happened to look. None for a
/// historical termination too: gone before the account was first seen, worked only by a
/// backfill, it was never this function's to remove in time.
pub(super) fn access_removal(
    entry: &Entry,
    outcome: Outcome,
    sla: TimeDelta,
    now: DateTime<Utc>,
) -> Option<AccessRemoval> {
    if !matches!(outcome, Outcome::Deactivated | Outcome::Deleted) || entry.historical {
        return None;
    }
    let started = entry.effective_at.or(entry.terminated_at)?;
    let after = (now - started).max(TimeDelta::zero());
    Some(AccessRemoval {
        after,
        within_sla: after <= sla,
    })
}

/// The `Deprovisioned` metric line of one target's outcome, with the SLA view of a
/// removal (see [`access_removal`]).
pub(super) fn removal_metric_line(
    namespace: &str,
    attempt: &Attempt,
    paging: bool,
    removal: Option<AccessRemoval>,
    facts: &RequestFacts<'_>,
    now: DateTime<Utc>,
) -> String {
    crate::telemetry::metrics::deprovision_removal_line(
        namespace,
        attempt.outcome.as_str(),
        paging,
        removal,
        crate::telemetry::metrics::Properties {
            service: facts.service,
            function_request_id: facts.function_request_id,
            delivery_id: None,
        },
        now,
    )
}

/// The record's level and message for an attempt's outcome.
fn severity_and_message(attempt: &Attempt) -> (Severity, &'static str) {
    match attempt.outcome {
        Outcome::Deactivated | Outcome::Deleted => (Severity::Info, DEPROVISIONED_MESSAGE),
        Outcome::WouldDeactivate | Outcome::WouldDelete => {
            (Severity::Info, WOULD_DEPROVISION_MESSAGE)
        }
        Outcome::AlreadyInactive => (Severity::Info, ALREADY_INACTIVE_MESSAGE),
        Outcome::NotFound if attempt.not_matching => (Severity::Warn, NOT_MATCHING_MESSAGE),
        Outcome::NotFound => (Severity::Warn, NOT_FOUND_MESSAGE),
        Outcome::Held => (Severity::Warn, HELD_MESSAGE),
        Outcome::Paused => (Severity::Warn, PAUSED_MESSAGE),
        Outcome::Ambiguous => (Severity::Error, AMBIGUOUS_MESSAGE),
        Outcome::Protected => (Severity::Warn, PROTECTED_MESSAGE),
        Outcome::Conflict => (Severity::Error, CONFLICT_MESSAGE),
        Outcome::Failed => (Severity::Error, DEPROVISION_FAILED_MESSAGE),
        // Only an undo writes it, and logs its own record: no attempt ends so.
        Outcome::Reactivated => (Severity::Info, REACTIVATED_MESSAGE),
    }
}

/// The HTTP status a SCIM error carries, as records name it.
fn status_of(error: Option<&ScimError>) -> Option<u16> {
    match error {
        Some(ScimError::Unauthorized { status, .. }) => Some(*status),
        Some(ScimError::Server(status)) => Some(*status),
        Some(ScimError::Rejected { status, .. }) => Some(*status),
        Some(ScimError::RateLimited { .. }) => Some(429),
        Some(ScimError::PreconditionFailed) => Some(412),
        _ => None,
    }
}

/// Logs one target's outcome as one record.
pub(super) fn log_outcome(
    target: &Target,
    entry: &Entry,
    attempt: &Attempt,
    mode: Mode,
    attempts: Option<u32>,
    facts: &RequestFacts<'_>,
) {
    let (severity, message) = severity_and_message(attempt);
    let host = crate::net::base_url(&target.base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned));
    let d = DeprovisionFacts {
        target: &target.name,
        deprovision: attempt.outcome.as_str(),
        mode: mode.as_str(),
        action: match target.action {
            Action::Deactivate => "deactivate",
            Action::Delete => "delete",
        },
        matched_on: target.rule.field.as_str(),
        scim_host: attempt.error.as_ref().and(host.as_deref()),
        scim_error: attempt.error.as_ref().map(ScimError::kind),
        scim_status: status_of(attempt.error.as_ref()),
        attempts,
        deprovisioned_at: None,
        protected_by: attempt.protection.map(|p| p.as_str()),
        conflict_with: attempt.conflict_with.as_deref(),
    };
    let facts = RequestFacts {
        ledger_error: attempt
            .brake_error
            .as_ref()
            .or(attempt.sharing_error.as_ref())
            .or(attempt.pause_error.as_ref())
            .map(LedgerError::kind),
        ..*facts
    };
    log_deprovision(severity, message, entry, &d, &facts);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::decision::Decision;
    use crate::domain::ledger::{EmployeeKey, Identity, Observation, Source, transition};
    use chrono::TimeZone;
    use serde_json::Value;

    const SLA: TimeDelta = TimeDelta::hours(24);

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
    }

    /// A leaver whose termination took effect at `effective` (none: a termination with no
    /// date), moved into `terminated` by the ledger at `learned`.
    fn leaver(effective: Option<DateTime<Utc>>, learned: DateTime<Utc>) -> Entry {
        let observation = Observation {
            key: EmployeeKey::new(Some("acct-1"), "emp-1"),
            decision: Decision::Terminated,
            reasons: "termination_date_passed".into(),
            termination_date: effective,
            effective_at: effective,
            effective_rule: effective.map(|_| "the date's own time".into()),
            version: Some(learned),
            removal: false,
            identity: Identity::default(),
            source: Source::Webhook,
            delivery_id: None,
        };
        transition(None, &observation, learned).write.unwrap()
    }

    /// The metrics line of `outcome` for `entry`, as deprovisioning writes it at `now`.
    fn line(entry: &Entry, outcome: Outcome) -> Value {
        let attempt = Attempt::finished(outcome);
        let removal = access_removal(entry, outcome, SLA, now());
        let facts = RequestFacts::default();
        let text = removal_metric_line("MergeDeprovision", &attempt, false, removal, &facts, now());
        serde_json::from_str(&text).unwrap()
    }

    /// Each metric the line declares, with its unit and dimension sets.
    fn declared(line: &Value) -> Vec<(String, String, Value)> {
        line["_aws"]["CloudWatchMetrics"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| {
                d["Metrics"].as_array().unwrap().iter().map(|m| {
                    let name = m["Name"].as_str().unwrap().to_owned();
                    (
                        name,
                        m["Unit"].as_str().unwrap().to_owned(),
                        d["Dimensions"].clone(),
                    )
                })
            })
            .collect()
    }

    #[test]
    fn a_deactivation_within_the_sla_carries_its_removal_time_and_counts_as_met() {
        let effective = now() - TimeDelta::hours(3);
        let line = line(&leaver(Some(effective), effective), Outcome::Deactivated);
        assert_eq!(line["Deprovisioned"], 1);
        assert_eq!(line["Outcome"], "deactivated");
        assert_eq!(line["AccessRemovalSeconds"], 3.0 * 3600.0);
        assert_eq!(line["AccessRemovalWithinSla"], 1);
        assert!(line.get("AccessRemovalMissedSla").is_none());
        let none = serde_json::json!([[]]);
        assert_eq!(
            declared(&line),
            [
                (
                    "Deprovisioned".into(),
                    "Count".into(),
                    serde_json::json!([["Outcome"]])
                ),
                (
                    "AccessRemovalSeconds".into(),
                    "Seconds".into(),
                    none.clone()
                ),
                ("AccessRemovalWithinSla".into(), "Count".into(), none),
            ]
        );
    }

    #[test]
    fn a_deletion_past_the_sla_counts_as_missed() {
        let effective = now() - TimeDelta::hours(30);
        let line = line(&leaver(Some(effective), effective), Outcome::Deleted);
        assert_eq!(line["AccessRemovalSeconds"], 30.0 * 3600.0);
        assert_eq!(line["AccessRemovalMissedSla"], 1);
        assert!(line.get("AccessRemovalWithinSla").is_none());
    }

    #[test]
    fn a_removal_exactly_at_the_sla_is_within_it() {
        let effective = now() - SLA;
        let line = line(&leaver(Some(effective), effective), Outcome::Deactivated);
        assert_eq!(line["AccessRemovalWithinSla"], 1);
    }

    #[test]
    fn a_termination_with_no_date_is_measured_from_when_the_ledger_learned_of_it() {
        let learned = now() - TimeDelta::minutes(10);
        let line = line(&leaver(None, learned), Outcome::Deactivated);
        assert_eq!(line["AccessRemovalSeconds"], 600.0);
        assert_eq!(line["AccessRemovalWithinSla"], 1);
    }

    #[test]
    fn a_removal_before_the_termination_took_effect_counts_as_immediate() {
        let effective = now() + TimeDelta::seconds(5);
        let line = line(&leaver(Some(effective), now()), Outcome::Deactivated);
        assert_eq!(line["AccessRemovalSeconds"], 0.0);
        assert_eq!(line["AccessRemovalWithinSla"], 1);
    }

    #[test]
    fn outcomes_that_removed_nothing_carry_no_removal_metrics() {
        let effective = now() - TimeDelta::days(3);
        let entry = leaver(Some(effective), effective);
        for outcome in Outcome::ALL
            .into_iter()
            .filter(|o| !matches!(o, Outcome::Deactivated | Outcome::Deleted))
        {
            let line = line(&entry, outcome);
            assert_eq!(line["Outcome"], outcome.as_str());
            for metric in [
                "AccessRemovalSeconds",
                "AccessRemovalWithinSla",
                "AccessRemovalMissedSla",
            ] {
                assert!(
                    line.get(metric).is_none(),
                    "{} carries {metric}",
                    outcome.as_str()
                );
            }
            assert_eq!(declared(&line)[0].0, "Deprovisioned");
        }
    }

    #[test]
    fn a_historical_termination_worked_by_a_backfill_is_not_measured() {
        let effective = now() - TimeDelta::days(900);
        let mut entry = leaver(Some(effective), now() - TimeDelta::days(1));
        entry.historical = true;
        assert_eq!(
            access_removal(&entry, Outcome::Deactivated, SLA, now()),
            None
        );
        let line = line(&entry, Outcome::Deactivated);
        assert!(line.get("AccessRemovalSeconds").is_none());
    }

    #[test]
    fn the_line_without_the_sla_view_is_the_deprovisioned_count_alone() {
        let effective = now() - TimeDelta::hours(1);
        let attempt = Attempt::finished(Outcome::Deactivated);
        let facts = RequestFacts::default();
        let text = removal_metric_line("N", &attempt, false, None, &facts, now());
        let line: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(line["Deprovisioned"], 1);
        assert!(line.get("AccessRemovalSeconds").is_none());
        let entry = leaver(Some(effective), effective);
        assert!(access_removal(&entry, Outcome::Deactivated, SLA, now()).is_some());
    }
}
