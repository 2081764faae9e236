//! What the metrics cost: CloudWatch bills every distinct series (namespace, metric,
//! dimension names and values) as a custom metric. This counts the series the function
//! creates for a realistic mix of deliveries, so adding a dimension is a conscious,
//! reviewed change of the ceiling in `metrics::series_ceiling`.

mod support;

use merge_deprovision::telemetry::metrics::{
    DECISIONS, UNDIMENSIONED_METRICS, WEBHOOKS, series_ceiling,
};
use std::collections::{BTreeMap, BTreeSet};
use support::{INTEGRATIONS, series_of_a_realistic_mix};

#[test]
fn every_decision_from_three_integrations_reaches_exactly_the_derived_ceiling() {
    let series = series_of_a_realistic_mix();
    // Each decision is seen from each integration, so the ceiling is reached, and
    // nothing beyond it exists.
    assert_eq!(
        series.len(),
        series_ceiling(INTEGRATIONS.len()),
        "{series:#?}"
    );
}

#[test]
fn only_webhooks_is_split_by_decision_and_integration() {
    let mut dimension_sets: BTreeMap<String, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (_, metric, dimensions) in series_of_a_realistic_mix() {
        dimension_sets
            .entry(metric)
            .or_default()
            .insert(dimensions.into_keys().collect());
    }
    let webhooks: BTreeSet<Vec<String>> = [vec!["Decision"], vec!["Decision", "Integration"]]
        .into_iter()
        .map(|set| set.into_iter().map(String::from).collect())
        .collect();
    assert_eq!(dimension_sets.remove(WEBHOOKS), Some(webhooks));
    let undimensioned: BTreeSet<Vec<String>> = [Vec::new()].into_iter().collect();
    let names: BTreeSet<&str> = dimension_sets.keys().map(String::as_str).collect();
    assert_eq!(names, UNDIMENSIONED_METRICS.into_iter().collect());
    for (metric, sets) in dimension_sets {
        assert_eq!(sets, undimensioned, "{metric} has no dimension");
    }
}

#[test]
fn a_refused_request_names_no_integration() {
    let series = series_of_a_realistic_mix();
    let rejected_by_integration = series.iter().filter(|(_, _, dimensions)| {
        dimensions.get("Decision").map(String::as_str) == Some("rejected")
            && dimensions.contains_key("Integration")
    });
    assert_eq!(rejected_by_integration.count(), 0);
    let decisions: BTreeSet<&str> = series
        .iter()
        .filter_map(|(_, _, d)| d.get("Decision").map(String::as_str))
        .collect();
    assert_eq!(decisions, DECISIONS.into_iter().collect());
}

#[test]
fn deprovisioning_counts_by_outcome_alone_and_failures_with_no_dimension() {
    use merge_deprovision::domain::deprovision::Outcome;
    use merge_deprovision::telemetry::metrics::{DEPROVISION_FAILURES, DEPROVISIONED};
    let series = support::deprovision_series();
    // However many targets and employees: one series per outcome, and one of failures.
    assert_eq!(series.len(), Outcome::ALL.len() + 1, "{series:#?}");
    for (_, metric, dimensions) in &series {
        let names: Vec<&str> = dimensions.keys().map(String::as_str).collect();
        match metric.as_str() {
            DEPROVISIONED => assert_eq!(names, ["Outcome"]),
            DEPROVISION_FAILURES => assert!(names.is_empty()),
            other => panic!("unexpected metric {other}"),
        }
    }
}
