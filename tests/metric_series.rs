//! What the metrics cost: CloudWatch bills every distinct series (namespace, metric,
//! dimension names and values) as a custom metric. This counts the series the function
//! creates for a realistic mix of deliveries, so adding a dimension is a conscious,
//! reviewed change of the ceiling in `metrics::series_ceiling`.

mod support;

use merge_deprovision::aws::scheduler::SchedulerError;
use merge_deprovision::lambda::metrics::{
    DECISIONS, UNDIMENSIONED_METRICS, WEBHOOKS, series_ceiling,
};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use support::{
    Series, answer, answer_fired, deliveries_from, emf_series, employee_delivery, fired_event,
    receiver, sample_metrics_lines, scheduling_app,
};

const INTEGRATIONS: [&str; 3] = ["humaans", "bamboohr", "workday"];

/// Every sample event, then every decision from each of three integrations, then a
/// termination scheduled, moved, cancelled, scheduled again and fired, and one
/// scheduling failure.
fn series_of_a_realistic_mix() -> BTreeSet<Series> {
    let app = receiver();
    let mut lines = sample_metrics_lines(&app);
    for integration in INTEGRATIONS {
        for request in deliveries_from(integration) {
            lines.push(answer(&app, &request).metrics);
        }
    }
    let (app, schedules) = scheduling_app();
    let employee = |mut fields: serde_json::Value| {
        fields["employment_status"] = json!("ACTIVE");
        employee_delivery("Employee.changed", fields)
    };
    for (date, modified_at) in [
        ("2099-06-30", "2026-11-26T01:00:00Z"),
        ("2099-07-31", "2026-11-26T02:00:00Z"),
    ] {
        let fields = json!({"termination_date": date, "modified_at": modified_at});
        lines.push(answer(&app, &employee(fields)).metrics);
    }
    let cancel = json!({"termination_date": null, "modified_at": "2026-11-26T03:00:00Z"});
    lines.push(answer(&app, &employee(cancel)).metrics);
    let again = json!({"termination_date": "2099-08-31", "modified_at": "2026-11-26T04:00:00Z"});
    lines.push(answer(&app, &employee(again.clone())).metrics);
    let name = schedules.schedules().into_keys().next().unwrap();
    let input = serde_json::to_string(&schedules.fire(&name).unwrap()).unwrap();
    let (fired, _) = answer_fired(&app, &fired_event(&input));
    let fired = fired.unwrap().metrics.unwrap();
    lines.push(serde_json::from_str(&fired).unwrap());
    schedules.fail_next([SchedulerError::Throttled]);
    lines.push(answer(&app, &employee(again)).metrics);
    lines.iter().flat_map(emf_series).collect()
}

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
