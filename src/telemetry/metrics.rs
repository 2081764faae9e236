//! CloudWatch Embedded Metric Format: one stdout line per invocation, which CloudWatch
//! turns into metrics without any API call.
//!
//! CloudWatch bills every distinct (metric, dimensions) series as a custom metric, so each
//! metric gets only the dimension sets a question needs:
//!
//! - `Webhooks` by `[Decision]` (alarms, dashboard) and `[Decision, Integration]` (which
//!   HR system a spike or an undetermined record comes from);
//! - `SignatureFailures`, `ColdStart`, `Terminations`, the two lags, the scheduling
//!   counts, `LedgerFailures` and `SecretRefreshFailures` with none:
//!   each answers one question about the whole function, and a refused request names no
//!   integration.
//!
//! That is at most `6 + 5 x integrations + 12` series. Ids never become dimensions.
//!
//! A series is billed for each hour it receives data, so the event counts are
//! written only when they are 1: a zero would bill an hour and tell nothing that a
//! missing datapoint does not (their alarm treats missing data as not breaching).

use crate::domain::dates::as_seconds;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

/// The metrics namespace when none is configured.
pub const DEFAULT_METRICS_NAMESPACE: &str = "MergeDeprovision";

/// Counts one webhook, by `Decision` (including `ignored` and `rejected`).
pub const WEBHOOKS: &str = "Webhooks";
/// Counts requests refused for a missing or wrong signature.
pub const SIGNATURE_FAILURES: &str = "SignatureFailures";
/// Counts invocations that were the first of their process.
pub const COLD_START: &str = "ColdStart";
/// For terminations: now minus when the termination took effect.
pub const TERMINATION_LAG_SECONDS: &str = "TerminationLagSeconds";
/// Now minus the Employee's `modified_at`.
pub const SYNC_LAG_SECONDS: &str = "SyncLagSeconds";
/// Counts termination schedules created.
pub const SCHEDULES_CREATED: &str = "SchedulesCreated";
/// Counts termination schedules moved to another time.
pub const SCHEDULES_UPDATED: &str = "SchedulesUpdated";
/// Counts pending terminations cancelled by a newer decision.
pub const SCHEDULES_CANCELLED: &str = "SchedulesCancelled";
/// Counts scheduled terminations that fired.
pub const SCHEDULED_TERMINATIONS_FIRED: &str = "ScheduledTerminationsFired";
/// Counts deliveries answered 503 because a Scheduler call failed.
pub const SCHEDULING_FAILURES: &str = "SchedulingFailures";
/// Counts failed reads of the signature key's secret after init.
pub const SECRET_REFRESH_FAILURES: &str = "SecretRefreshFailures";
/// Counts employees moved into `terminated` in the ledger: each termination once,
/// whatever repeats it. What the termination-spike alarm watches.
pub const TERMINATIONS: &str = "Terminations";
/// Counts invocations that could not read or write the ledger (a delivery answered 503,
/// or a firing that failed and is retried).
pub const LEDGER_FAILURES: &str = "LedgerFailures";

/// What one invocation contributes to the metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationMetrics<'a> {
    /// `terminated`, `scheduled`, `active`, `undetermined`, `ignored` or `rejected`.
    pub decision: &'a str,
    /// The integration slug, when the delivery was authenticated and named one.
    pub integration: Option<&'a str>,
    /// The request was refused for its signature.
    pub signature_failure: bool,
    /// The first invocation of this process.
    pub cold_start: bool,
    /// See [`TERMINATION_LAG_SECONDS`].
    pub termination_lag: Option<TimeDelta>,
    /// See [`SYNC_LAG_SECONDS`].
    pub sync_lag: Option<TimeDelta>,
    /// What the invocation did to a termination schedule, among the counted changes.
    pub schedule: Option<ScheduleEvent>,
    /// A read of the key's secret failed.
    pub secret_refresh_failure: bool,
    /// The invocation moved an employee into `terminated`.
    pub termination: bool,
    /// A ledger call failed.
    pub ledger_failure: bool,
}

/// The scheduling events that are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleEvent {
    /// See [`SCHEDULES_CREATED`].
    Created,
    /// See [`SCHEDULES_UPDATED`].
    Updated,
    /// See [`SCHEDULES_CANCELLED`].
    Cancelled,
    /// See [`SCHEDULED_TERMINATIONS_FIRED`].
    Fired,
    /// See [`SCHEDULING_FAILURES`].
    Failed,
}

/// Plain members added to the line: searchable in the logs, not metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Properties<'a> {
    /// The configured service name.
    pub service: &'a str,
    /// Lambda's request id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_request_id: Option<&'a str>,
    /// The delivery id derived from the signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<&'a str>,
}

#[derive(Serialize)]
struct Definition {
    #[serde(rename = "Name")]
    name: &'static str,
    #[serde(rename = "Unit")]
    unit: &'static str,
}

const fn count(name: &'static str) -> Definition {
    Definition {
        name,
        unit: "Count",
    }
}

const fn seconds(name: &'static str) -> Definition {
    Definition {
        name,
        unit: "Seconds",
    }
}

const WEBHOOKS_COUNT: Definition = count(WEBHOOKS);
const SIGNATURE_FAILURES_COUNT: Definition = count(SIGNATURE_FAILURES);
const COLD_START_COUNT: Definition = count(COLD_START);
const SECRET_REFRESH_FAILURES_COUNT: Definition = count(SECRET_REFRESH_FAILURES);
const TERMINATIONS_COUNT: Definition = count(TERMINATIONS);
const LEDGER_FAILURES_COUNT: Definition = count(LEDGER_FAILURES);
const SCHEDULES_CREATED_COUNT: Definition = count(SCHEDULES_CREATED);
const SCHEDULES_UPDATED_COUNT: Definition = count(SCHEDULES_UPDATED);
const SCHEDULES_CANCELLED_COUNT: Definition = count(SCHEDULES_CANCELLED);
const SCHEDULED_TERMINATIONS_FIRED_COUNT: Definition = count(SCHEDULED_TERMINATIONS_FIRED);
const SCHEDULING_FAILURES_COUNT: Definition = count(SCHEDULING_FAILURES);
const TERMINATION_LAG: Definition = seconds(TERMINATION_LAG_SECONDS);
const SYNC_LAG: Definition = seconds(SYNC_LAG_SECONDS);
const BY_DECISION: &[&[&str]] = &[&["Decision"]];
const BY_DECISION_AND_INTEGRATION: &[&[&str]] = &[&["Decision"], &["Decision", "Integration"]];
/// One empty dimension set: the metric is published once, with no dimension.
const UNDIMENSIONED: &[&[&str]] = &[&[]];

/// The decisions `Webhooks` is counted by.
pub const DECISIONS: [&str; 6] = [
    "terminated",
    "scheduled",
    "active",
    "undetermined",
    "ignored",
    "rejected",
];
/// The metrics published with no dimension.
pub const UNDIMENSIONED_METRICS: [&str; 12] = [
    SIGNATURE_FAILURES,
    COLD_START,
    TERMINATIONS,
    LEDGER_FAILURES,
    TERMINATION_LAG_SECONDS,
    SYNC_LAG_SECONDS,
    SCHEDULES_CREATED,
    SCHEDULES_UPDATED,
    SCHEDULES_CANCELLED,
    SCHEDULED_TERMINATIONS_FIRED,
    SCHEDULING_FAILURES,
    SECRET_REFRESH_FAILURES,
];

/// The most series the metrics can create when deliveries come from `integrations`
/// integrations: `Webhooks` by decision (6), by decision and integration (every
/// decision but `rejected`, which names no integration), and the undimensioned ones.
pub fn series_ceiling(integrations: usize) -> usize {
    DECISIONS.len() + (DECISIONS.len() - 1) * integrations + UNDIMENSIONED_METRICS.len()
}

#[derive(Serialize)]
struct Directive<'a> {
    #[serde(rename = "Namespace")]
    namespace: &'a str,
    #[serde(rename = "Dimensions")]
    dimensions: &'static [&'static [&'static str]],
    #[serde(rename = "Metrics")]
    metrics: Vec<&'static Definition>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    #[serde(rename = "Timestamp")]
    timestamp: i64,
    #[serde(rename = "CloudWatchMetrics")]
    directives: Vec<Directive<'a>>,
}

// Written through a struct rather than a JSON value: one line per invocation, on the
// request path, so it should cost a fraction of the log record.
#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "_aws")]
    aws: Metadata<'a>,
    #[serde(rename = "Decision")]
    decision: &'a str,
    #[serde(rename = "Integration", skip_serializing_if = "Option::is_none")]
    integration: Option<&'a str>,
    #[serde(rename = "Webhooks")]
    webhooks: u8,
    #[serde(rename = "SignatureFailures", skip_serializing_if = "Option::is_none")]
    signature_failures: Option<u8>,
    #[serde(rename = "ColdStart", skip_serializing_if = "Option::is_none")]
    cold_start: Option<u8>,
    #[serde(
        rename = "TerminationLagSeconds",
        skip_serializing_if = "Option::is_none"
    )]
    termination_lag: Option<f64>,
    #[serde(rename = "SyncLagSeconds", skip_serializing_if = "Option::is_none")]
    sync_lag: Option<f64>,
    #[serde(rename = "SchedulesCreated", skip_serializing_if = "Option::is_none")]
    schedules_created: Option<u8>,
    #[serde(rename = "SchedulesUpdated", skip_serializing_if = "Option::is_none")]
    schedules_updated: Option<u8>,
    #[serde(rename = "SchedulesCancelled", skip_serializing_if = "Option::is_none")]
    schedules_cancelled: Option<u8>,
    #[serde(
        rename = "ScheduledTerminationsFired",
        skip_serializing_if = "Option::is_none"
    )]
    scheduled_terminations_fired: Option<u8>,
    #[serde(rename = "SchedulingFailures", skip_serializing_if = "Option::is_none")]
    scheduling_failures: Option<u8>,
    #[serde(
        rename = "SecretRefreshFailures",
        skip_serializing_if = "Option::is_none"
    )]
    secret_refresh_failures: Option<u8>,
    #[serde(rename = "Terminations", skip_serializing_if = "Option::is_none")]
    terminations: Option<u8>,
    #[serde(rename = "LedgerFailures", skip_serializing_if = "Option::is_none")]
    ledger_failures: Option<u8>,
    #[serde(flatten)]
    properties: Properties<'a>,
}

/// `Webhooks` by decision, and the undimensioned metrics when any has a value: a
/// directive may not declare an empty list of metrics.
fn directives<'a>(
    namespace: &'a str,
    by_decision: &'static [&'static [&'static str]],
    undimensioned: Vec<&'static Definition>,
) -> Vec<Directive<'a>> {
    let mut directives = vec![Directive {
        namespace,
        dimensions: by_decision,
        metrics: vec![&WEBHOOKS_COUNT],
    }];
    if !undimensioned.is_empty() {
        directives.push(Directive {
            namespace,
            dimensions: UNDIMENSIONED,
            metrics: undimensioned,
        });
    }
    directives
}

/// Renders one EMF object, with `now` as its timestamp.
pub fn emf_line(
    namespace: &str,
    metrics: &InvocationMetrics<'_>,
    properties: Properties<'_>,
    now: DateTime<Utc>,
) -> String {
    let mut undimensioned: Vec<&'static Definition> = Vec::with_capacity(5);
    if metrics.signature_failure {
        undimensioned.push(&SIGNATURE_FAILURES_COUNT);
    }
    if metrics.cold_start {
        undimensioned.push(&COLD_START_COUNT);
    }
    if metrics.termination {
        undimensioned.push(&TERMINATIONS_COUNT);
    }
    if metrics.ledger_failure {
        undimensioned.push(&LEDGER_FAILURES_COUNT);
    }
    if metrics.termination_lag.is_some() {
        undimensioned.push(&TERMINATION_LAG);
    }
    if metrics.sync_lag.is_some() {
        undimensioned.push(&SYNC_LAG);
    }
    let event = |wanted: ScheduleEvent| (metrics.schedule == Some(wanted)).then_some(1u8);
    if let Some(schedule) = metrics.schedule {
        undimensioned.push(match schedule {
            ScheduleEvent::Created => &SCHEDULES_CREATED_COUNT,
            ScheduleEvent::Updated => &SCHEDULES_UPDATED_COUNT,
            ScheduleEvent::Cancelled => &SCHEDULES_CANCELLED_COUNT,
            ScheduleEvent::Fired => &SCHEDULED_TERMINATIONS_FIRED_COUNT,
            ScheduleEvent::Failed => &SCHEDULING_FAILURES_COUNT,
        });
    }
    if metrics.secret_refresh_failure {
        undimensioned.push(&SECRET_REFRESH_FAILURES_COUNT);
    }
    let by_decision = match metrics.integration {
        Some(_) => BY_DECISION_AND_INTEGRATION,
        None => BY_DECISION,
    };
    let line = Line {
        aws: Metadata {
            timestamp: now.timestamp_millis(),
            directives: directives(namespace, by_decision, undimensioned),
        },
        decision: metrics.decision,
        integration: metrics.integration,
        webhooks: 1,
        signature_failures: metrics.signature_failure.then_some(1),
        cold_start: metrics.cold_start.then_some(1),
        termination_lag: metrics.termination_lag.map(as_seconds),
        sync_lag: metrics.sync_lag.map(as_seconds),
        schedules_created: event(ScheduleEvent::Created),
        schedules_updated: event(ScheduleEvent::Updated),
        schedules_cancelled: event(ScheduleEvent::Cancelled),
        scheduled_terminations_fired: event(ScheduleEvent::Fired),
        scheduling_failures: event(ScheduleEvent::Failed),
        secret_refresh_failures: metrics.secret_refresh_failure.then_some(1),
        terminations: metrics.termination.then_some(1),
        ledger_failures: metrics.ledger_failure.then_some(1),
        properties,
    };
    // Serialising borrowed strings and numbers into a String cannot fail.
    serde_json::to_string(&line).unwrap_or_default()
}

/// Counts each target's deprovisioning of a termination, by `Outcome` (`deactivated`,
/// `held`, `failed`, ...): what the dashboard shows and the held alarm watches.
pub const DEPROVISIONED: &str = "Deprovisioned";
/// Counts deprovisionings that failed (a refused token, an endpoint down past its
/// retries): what the failure alarm watches. No dimension: the record names the target.
pub const DEPROVISION_FAILURES: &str = "DeprovisionFailures";
/// The dimension `Deprovisioned` is counted by.
pub const OUTCOME_DIMENSION: &str = "Outcome";

/// For an account a target deactivated or deleted: from the termination taking effect
/// to the removal, in seconds. What the dashboard's removal lag shows.
pub const ACCESS_REMOVAL_SECONDS: &str = "AccessRemovalSeconds";
/// Counts removals made within the access-removal SLA (`ACCESS_REMOVAL_SLA`).
pub const ACCESS_REMOVAL_WITHIN_SLA: &str = "AccessRemovalWithinSla";
/// Counts removals made past it.
pub const ACCESS_REMOVAL_MISSED_SLA: &str = "AccessRemovalMissedSla";

/// One removal of a leaver's access in a target, measured against the SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessRemoval {
    /// From the termination taking effect to the removal.
    pub after: TimeDelta,
    /// `after` is no longer than the SLA.
    pub within_sla: bool,
}

/// One EMF object for one target's deprovisioning: `Deprovisioned` by `Outcome`, and
/// `DeprovisionFailures` with no dimension when `failed`: a failure no retry fixes, or
/// the last attempt (the caller decides). At most
/// `Outcome::ALL.len() + 1` series, whatever the number of targets.
pub fn deprovision_line(
    namespace: &str,
    outcome: &str,
    failed: bool,
    properties: Properties<'_>,
    now: DateTime<Utc>,
) -> String {
    deprovision_removal_line(namespace, outcome, failed, None, properties, now)
}

/// [`deprovision_line`], and for an outcome that removed the leaver's access,
/// `AccessRemovalSeconds` with `AccessRemovalWithinSla` or `AccessRemovalMissedSla` (1),
/// none with a dimension: three series more, whatever the targets.
pub fn deprovision_removal_line(
    namespace: &str,
    outcome: &str,
    failed: bool,
    removal: Option<AccessRemoval>,
    properties: Properties<'_>,
    now: DateTime<Utc>,
) -> String {
    let mut directives = vec![serde_json::json!({
        "Namespace": namespace,
        "Dimensions": [[OUTCOME_DIMENSION]],
        "Metrics": [{"Name": DEPROVISIONED, "Unit": "Count"}],
    })];
    let mut line = serde_json::json!({
        OUTCOME_DIMENSION: outcome,
        DEPROVISIONED: 1,
    });
    if failed {
        directives.push(serde_json::json!({
            "Namespace": namespace,
            "Dimensions": [[]],
            "Metrics": [{"Name": DEPROVISION_FAILURES, "Unit": "Count"}],
        }));
        line[DEPROVISION_FAILURES] = serde_json::json!(1);
    }
    if let Some(removal) = removal {
        let against = if removal.within_sla {
            ACCESS_REMOVAL_WITHIN_SLA
        } else {
            ACCESS_REMOVAL_MISSED_SLA
        };
        directives.push(serde_json::json!({
            "Namespace": namespace,
            "Dimensions": [[]],
            "Metrics": [
                {"Name": ACCESS_REMOVAL_SECONDS, "Unit": "Seconds"},
                {"Name": against, "Unit": "Count"},
            ],
        }));
        line[ACCESS_REMOVAL_SECONDS] = serde_json::json!(as_seconds(removal.after));
        line[against] = serde_json::json!(1);
    }
    line["_aws"] = serde_json::json!({
        "Timestamp": now.timestamp_millis(),
        "CloudWatchMetrics": directives,
    });
    if let (Some(object), Ok(serde_json::Value::Object(extra))) =
        (line.as_object_mut(), serde_json::to_value(properties))
    {
        object.extend(extra);
    }
    line.to_string()
}

/// 1 while an operator has paused deprovisioning (every target or some), 0 once
/// everything is resumed: written by each pause and resume, so the alarm on it, which
/// keeps its state while no data comes, says it is paused until it is not.
pub const DEPROVISIONING_PAUSED: &str = "DeprovisioningPaused";

/// One EMF object for the pause as a pause or resume leaves it.
pub fn paused_line(
    namespace: &str,
    paused: bool,
    properties: Properties<'_>,
    now: DateTime<Utc>,
) -> String {
    let mut line = serde_json::json!({
        DEPROVISIONING_PAUSED: u8::from(paused),
        "_aws": {
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [[]],
                "Metrics": [{"Name": DEPROVISIONING_PAUSED, "Unit": "Count"}],
            }],
        },
    });
    if let (Some(object), Ok(serde_json::Value::Object(extra))) =
        (line.as_object_mut(), serde_json::to_value(properties))
    {
        object.extend(extra);
    }
    line.to_string()
}

/// Counts linked accounts whose sweep completed.
pub const SWEEPS: &str = "Sweeps";
/// Counts the changes sweeps made: each is a webhook that never arrived.
pub const FOUND_BY_RECONCILIATION: &str = "FoundByReconciliation";
/// Counts sweeps that could not go on: Merge refused the account (401, 403), or the
/// ledger or Scheduler failed.
pub const RECONCILIATION_FAILURES: &str = "ReconciliationFailures";
/// The metrics a sweep invocation writes, all without dimension (with `Terminations`
/// and `ColdStart`, which webhooks write too).
pub const RECONCILIATION_METRICS: [&str; 3] =
    [SWEEPS, FOUND_BY_RECONCILIATION, RECONCILIATION_FAILURES];

/// What one sweep invocation contributes to the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepMetrics {
    /// Accounts whose sweep completed.
    pub sweeps: u64,
    /// Changes made.
    pub found: u64,
    /// Employees moved into `terminated`.
    pub terminations: u64,
    /// Sweeps that failed.
    pub failures: u64,
    /// The first invocation of this process.
    pub cold_start: bool,
}

#[derive(Serialize)]
struct SweepLine<'a> {
    #[serde(rename = "_aws")]
    aws: Metadata<'a>,
    #[serde(rename = "Sweeps", skip_serializing_if = "Option::is_none")]
    sweeps: Option<u64>,
    #[serde(
        rename = "FoundByReconciliation",
        skip_serializing_if = "Option::is_none"
    )]
    found: Option<u64>,
    #[serde(
        rename = "ReconciliationFailures",
        skip_serializing_if = "Option::is_none"
    )]
    failures: Option<u64>,
    #[serde(rename = "Terminations", skip_serializing_if = "Option::is_none")]
    terminations: Option<u64>,
    #[serde(rename = "ColdStart", skip_serializing_if = "Option::is_none")]
    cold_start: Option<u8>,
    #[serde(flatten)]
    properties: Properties<'a>,
}

const SWEEPS_COUNT: Definition = count(SWEEPS);
const FOUND_COUNT: Definition = count(FOUND_BY_RECONCILIATION);
const RECONCILIATION_FAILURES_COUNT: Definition = count(RECONCILIATION_FAILURES);

/// Renders a sweep invocation's EMF object; `None` when it has nothing to count. Like
/// the webhook line, a count is written only when it is not zero.
pub fn sweep_emf_line(
    namespace: &str,
    metrics: &SweepMetrics,
    properties: Properties<'_>,
    now: DateTime<Utc>,
) -> Option<String> {
    let nonzero = |n: u64| (n > 0).then_some(n);
    let mut defined: Vec<&'static Definition> = Vec::with_capacity(5);
    for (value, definition) in [
        (metrics.sweeps, &SWEEPS_COUNT),
        (metrics.found, &FOUND_COUNT),
        (metrics.failures, &RECONCILIATION_FAILURES_COUNT),
        (metrics.terminations, &TERMINATIONS_COUNT),
        (u64::from(metrics.cold_start), &COLD_START_COUNT),
    ] {
        if value > 0 {
            defined.push(definition);
        }
    }
    if defined.is_empty() {
        return None;
    }
    let line = SweepLine {
        aws: Metadata {
            timestamp: now.timestamp_millis(),
            directives: vec![Directive {
                namespace,
                dimensions: UNDIMENSIONED,
                metrics: defined,
            }],
        },
        sweeps: nonzero(metrics.sweeps),
        found: nonzero(metrics.found),
        failures: nonzero(metrics.failures),
        terminations: nonzero(metrics.terminations),
        cold_start: metrics.cold_start.then_some(1),
        properties,
    };
    serde_json::to_string(&line).ok()
}

/// Counts targets a check (`merge-deprovision.check-target`) looked at.
pub const TARGET_CHECKS: &str = "TargetChecks";
/// Counts targets a check found failing (refused token, unreachable, a wrong path ...).
/// No dimension: the check's record names the target.
pub const TARGET_CHECK_FAILURES: &str = "TargetCheckFailures";

/// One EMF object for one check: `TargetChecks`, and `TargetCheckFailures` when any
/// target failed, neither with a dimension: two series, whatever the targets.
pub fn target_check_line(
    namespace: &str,
    checked: usize,
    failing: usize,
    properties: Properties<'_>,
    now: DateTime<Utc>,
) -> String {
    let mut metrics = vec![serde_json::json!({"Name": TARGET_CHECKS, "Unit": "Count"})];
    let mut line = serde_json::json!({ TARGET_CHECKS: checked });
    if failing > 0 {
        metrics.push(serde_json::json!({"Name": TARGET_CHECK_FAILURES, "Unit": "Count"}));
        line[TARGET_CHECK_FAILURES] = serde_json::json!(failing);
    }
    line["_aws"] = serde_json::json!({
        "Timestamp": now.timestamp_millis(),
        "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [[]], "Metrics": metrics}],
    });
    if let (Some(object), Ok(serde_json::Value::Object(extra))) =
        (line.as_object_mut(), serde_json::to_value(properties))
    {
        object.extend(extra);
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::{Value, json};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
    }

    fn parse(line: &str) -> Value {
        serde_json::from_str(line).unwrap()
    }

    fn terminated() -> InvocationMetrics<'static> {
        InvocationMetrics {
            decision: "terminated",
            integration: Some("humaans"),
            signature_failure: false,
            cold_start: true,
            termination_lag: Some(TimeDelta::seconds(90)),
            sync_lag: Some(TimeDelta::milliseconds(1500)),
            schedule: None,
            secret_refresh_failure: false,
            termination: false,
            ledger_failure: false,
        }
    }

    #[test]
    fn a_terminated_invocation_reports_every_metric_with_its_unit() {
        let line = parse(&emf_line(
            "MergeDeprovision",
            &terminated(),
            Properties::default(),
            now(),
        ));
        assert_eq!(line["_aws"]["Timestamp"], now().timestamp_millis());
        let directives = line["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        for directive in directives {
            assert_eq!(directive["Namespace"], "MergeDeprovision");
        }
        assert_eq!(line["Webhooks"], 1);
        assert_eq!(line["ColdStart"], 1);
        assert!(line.get("SignatureFailures").is_none());
        assert_eq!(line["TerminationLagSeconds"], 90.0);
        assert_eq!(line["SyncLagSeconds"], 1.5);
        let declared: Vec<(String, String, Value)> = directives
            .iter()
            .flat_map(|d| {
                d["Metrics"].as_array().unwrap().iter().map(|m| {
                    (
                        m["Name"].as_str().unwrap().into(),
                        m["Unit"].as_str().unwrap().into(),
                        d["Dimensions"].clone(),
                    )
                })
            })
            .collect();
        let by_decision = json!([["Decision"], ["Decision", "Integration"]]);
        let none = json!([[]]);
        assert_eq!(
            declared,
            vec![
                ("Webhooks".into(), "Count".into(), by_decision),
                ("ColdStart".into(), "Count".into(), none.clone()),
                (
                    "TerminationLagSeconds".into(),
                    "Seconds".into(),
                    none.clone()
                ),
                ("SyncLagSeconds".into(), "Seconds".into(), none),
            ]
        );
    }

    #[test]
    fn the_ceiling_counts_each_decision_once_and_once_per_integration_but_rejected() {
        assert_eq!(series_ceiling(0), 18);
        assert_eq!(series_ceiling(2), 28);
        assert_eq!(series_ceiling(3), 33);
    }

    #[test]
    fn absent_lags_are_neither_declared_nor_present() {
        let metrics = InvocationMetrics {
            termination_lag: None,
            sync_lag: None,
            ..terminated()
        };
        let line = parse(&emf_line("N", &metrics, Properties::default(), now()));
        let names: Vec<&str> = line["_aws"]["CloudWatchMetrics"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| d["Metrics"].as_array().unwrap())
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["Webhooks", "ColdStart"]);
        assert!(line.get("TerminationLagSeconds").is_none());
        assert!(
            line.get("SignatureFailures").is_none(),
            "a zero is not written"
        );
    }

    #[test]
    fn without_an_integration_only_the_decision_dimension_is_used() {
        let metrics = InvocationMetrics {
            decision: "rejected",
            integration: None,
            signature_failure: true,
            cold_start: false,
            termination_lag: None,
            sync_lag: None,
            schedule: None,
            secret_refresh_failure: false,
            termination: false,
            ledger_failure: false,
        };
        let line = parse(&emf_line("N", &metrics, Properties::default(), now()));
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Decision"]])
        );
        assert_eq!(line["SignatureFailures"], 1);
        assert!(line.get("Integration").is_none());
    }

    #[test]
    fn a_warm_delivery_without_lags_declares_only_webhooks() {
        let metrics = InvocationMetrics {
            decision: "ignored",
            integration: Some("humaans"),
            signature_failure: false,
            cold_start: false,
            termination_lag: None,
            sync_lag: None,
            schedule: None,
            secret_refresh_failure: false,
            termination: false,
            ledger_failure: false,
        };
        let line = parse(&emf_line("N", &metrics, Properties::default(), now()));
        let directives = line["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(
            directives.len(),
            1,
            "no directive with an empty metric list"
        );
        assert_eq!(
            directives[0]["Metrics"],
            json!([{"Name": "Webhooks", "Unit": "Count"}])
        );
    }

    #[test]
    fn properties_are_added_when_present() {
        let properties = Properties {
            service: "svc",
            function_request_id: Some("r1"),
            delivery_id: None,
        };
        let line = parse(&emf_line("N", &terminated(), properties, now()));
        assert_eq!(line["service"], "svc");
        assert_eq!(line["function_request_id"], "r1");
        assert!(line.get("delivery_id").is_none());
    }
}
