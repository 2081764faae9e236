//! CloudWatch Embedded Metric Format: one stdout line per invocation, which CloudWatch
//! turns into metrics without any API call.
//!
//! Dimensions are the decision and the integration slug only, so the number of metric
//! series stays small; ids never become dimensions.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

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
}

/// Renders one EMF object, with `now` as its timestamp. `properties` are added as plain
/// members (searchable in the logs, not metrics).
pub fn emf_line(
    namespace: &str,
    metrics: &InvocationMetrics<'_>,
    properties: &[(&str, Option<&str>)],
    now: DateTime<Utc>,
) -> String {
    let mut root = Map::new();
    let mut definitions = vec![
        json!({"Name": WEBHOOKS, "Unit": "Count"}),
        json!({"Name": SIGNATURE_FAILURES, "Unit": "Count"}),
        json!({"Name": COLD_START, "Unit": "Count"}),
    ];
    root.insert(WEBHOOKS.into(), json!(1));
    root.insert(
        SIGNATURE_FAILURES.into(),
        json!(u8::from(metrics.signature_failure)),
    );
    root.insert(COLD_START.into(), json!(u8::from(metrics.cold_start)));
    for (name, lag) in [
        (TERMINATION_LAG_SECONDS, metrics.termination_lag),
        (SYNC_LAG_SECONDS, metrics.sync_lag),
    ] {
        if let Some(lag) = lag {
            definitions.push(json!({"Name": name, "Unit": "Seconds"}));
            root.insert(name.into(), json!(lag.num_milliseconds() as f64 / 1000.0));
        }
    }
    root.insert("Decision".into(), json!(metrics.decision));
    let mut dimensions = vec![json!(["Decision"])];
    if let Some(integration) = metrics.integration {
        root.insert("Integration".into(), json!(integration));
        dimensions.push(json!(["Decision", "Integration"]));
    }
    for (name, value) in properties {
        if let Some(value) = value {
            root.insert((*name).into(), json!(value));
        }
    }
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": dimensions,
                "Metrics": definitions,
            }]
        }),
    );
    Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

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
        }
    }

    #[test]
    fn a_terminated_invocation_reports_every_metric_with_its_unit() {
        let line = parse(&emf_line("MergeDeprovision", &terminated(), &[], now()));
        assert_eq!(line["_aws"]["Timestamp"], now().timestamp_millis());
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "MergeDeprovision");
        assert_eq!(
            directive["Dimensions"],
            json!([["Decision"], ["Decision", "Integration"]])
        );
        assert_eq!(line["Webhooks"], 1);
        assert_eq!(line["ColdStart"], 1);
        assert_eq!(line["SignatureFailures"], 0);
        assert_eq!(line["TerminationLagSeconds"], 90.0);
        assert_eq!(line["SyncLagSeconds"], 1.5);
        let units: Vec<(String, String)> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["Name"].as_str().unwrap().into(),
                    m["Unit"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert!(units.contains(&("TerminationLagSeconds".into(), "Seconds".into())));
        assert!(units.contains(&("Webhooks".into(), "Count".into())));
    }

    #[test]
    fn absent_lags_are_neither_declared_nor_present() {
        let metrics = InvocationMetrics {
            termination_lag: None,
            sync_lag: None,
            ..terminated()
        };
        let line = parse(&emf_line("N", &metrics, &[], now()));
        let names: Vec<&str> = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["Webhooks", "SignatureFailures", "ColdStart"]);
        assert!(line.get("TerminationLagSeconds").is_none());
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
        };
        let line = parse(&emf_line("N", &metrics, &[], now()));
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Decision"]])
        );
        assert_eq!(line["SignatureFailures"], 1);
        assert!(line.get("Integration").is_none());
    }

    #[test]
    fn properties_are_added_when_present() {
        let line = parse(&emf_line(
            "N",
            &terminated(),
            &[("function_request_id", Some("r1")), ("delivery_id", None)],
            now(),
        ));
        assert_eq!(line["function_request_id"], "r1");
        assert!(line.get("delivery_id").is_none());
    }
}
