//! The operators' dashboard in `template.yaml`, checked against what the function
//! really writes: every metric a widget names is a series the function's metrics lines
//! create when the handler answers every sample and every scheduling path, or a real
//! AWS/Lambda or AWS/SQS metric; the Logs Insights table asks only for fields decision
//! records carry; every alarm of the template shows; and the widgets tile the grid.

mod support;

use serde_json::Value;
use serde_yaml_ng::Value as Yaml;
use std::collections::{BTreeMap, BTreeSet};
use support::{answer, request, series_of_a_realistic_mix};

fn template() -> Yaml {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"))
        .expect("the template");
    serde_yaml_ng::from_str(&text).expect("the template is YAML")
}

fn section<'a>(template: &'a Yaml, name: &str) -> &'a serde_yaml_ng::Mapping {
    template[name].as_mapping().expect("a mapping")
}

/// The dashboard body with every `${...}` of its `!Sub` replaced by a sample value, or
/// an error naming a placeholder that is no parameter, resource or attribute.
fn resolved_body(template: &Yaml) -> Result<Value, String> {
    let body = &template["Resources"]["OperatorDashboard"]["Properties"]["DashboardBody"];
    let Yaml::Tagged(tagged) = body else {
        return Err("the body is not a !Sub".into());
    };
    assert_eq!(tagged.tag, "Sub");
    let text = tagged.value.as_str().expect("the !Sub is a string");
    let parameters = section(template, "Parameters");
    let resources = section(template, "Resources");
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').ok_or("an unclosed ${")? + start;
        let name = &rest[start + 2..end];
        let value = match name.split_once('.') {
            _ if name == "AWS::Region" => "eu-west-1".to_owned(),
            _ if name == "AWS::StackName" => "merge-deprovision".to_owned(),
            Some((resource, attribute)) => {
                if !resources.contains_key(resource) {
                    return Err(format!("${{{name}}}: no resource {resource}"));
                }
                match attribute {
                    "Arn" => format!("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{resource}"),
                    "QueueName" => format!("{resource}-queue"),
                    other => return Err(format!("${{{name}}}: attribute {other} is not expected")),
                }
            }
            None if parameters.contains_key(name) => parameters[name]["Default"]
                .as_str()
                .map(str::to_owned)
                .ok_or(format!("${{{name}}}: the parameter has no default"))?,
            None if resources.contains_key(name) => format!("{name}-name"),
            None => {
                return Err(format!(
                    "${{{name}}}: no parameter or resource of that name"
                ));
            }
        };
        out.push_str(&value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    serde_json::from_str(&out).map_err(|e| format!("the body is not JSON: {e}"))
}

fn widgets(body: &Value) -> &Vec<Value> {
    body["widgets"].as_array().expect("widgets")
}

/// One metric a widget names: namespace, name and dimensions.
type Named = (String, String, BTreeMap<String, String>);

fn named_metrics(widget: &Value) -> Vec<Named> {
    let mut named = Vec::new();
    for entry in widget["properties"]["metrics"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let parts: Vec<&Value> = entry
            .as_array()
            .expect("a metric entry is a list")
            .iter()
            .filter(|p| !p.is_object())
            .collect();
        let text: Vec<&str> = parts
            .iter()
            .map(|p| p.as_str().expect("metric entry parts are strings"))
            .collect();
        assert!(text.len() >= 2 && text.len().is_multiple_of(2), "{entry}");
        let dimensions = text[2..]
            .chunks(2)
            .map(|pair| (pair[0].to_owned(), pair[1].to_owned()))
            .collect();
        named.push((text[0].to_owned(), text[1].to_owned(), dimensions));
    }
    named
}

/// The AWS metrics the dashboard may name, with the dimension each needs.
const AWS_METRICS: [(&str, &str, &str); 6] = [
    ("AWS/Lambda", "Invocations", "FunctionName"),
    ("AWS/Lambda", "Errors", "FunctionName"),
    ("AWS/Lambda", "Throttles", "FunctionName"),
    ("AWS/Lambda", "Duration", "FunctionName"),
    ("AWS/Lambda", "ConcurrentExecutions", "FunctionName"),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName"),
];

fn check_metrics(body: &Value, written: &BTreeSet<support::Series>) -> Result<(), String> {
    for widget in widgets(body).iter().filter(|w| w["type"] == "metric") {
        for (namespace, name, dimensions) in named_metrics(widget) {
            if namespace.starts_with("AWS/") {
                let known = AWS_METRICS.iter().any(|(ns, metric, dimension)| {
                    *ns == namespace && *metric == name && dimensions.keys().eq([dimension])
                });
                if !known {
                    return Err(format!(
                        "{namespace} {name} {dimensions:?} is no AWS metric used here"
                    ));
                }
            } else if !written.contains(&(namespace.clone(), name.clone(), dimensions.clone())) {
                return Err(format!(
                    "{namespace} {name} {dimensions:?} is not a series the function writes"
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn every_metric_widget_names_a_series_the_function_writes_or_an_aws_metric() {
    let body = resolved_body(&template()).unwrap();
    let mut written = series_of_a_realistic_mix();
    written.extend(support::deprovision_series());
    written.extend(removal_series());
    written.extend(support::series_of_sweeps());
    check_metrics(&body, &written).unwrap();
}

/// The series a removal's deprovisioning line writes, within the SLA and past it.
fn removal_series() -> BTreeSet<support::Series> {
    use merge_deprovision::telemetry::metrics::{
        AccessRemoval, Properties, deprovision_removal_line,
    };
    [true, false]
        .into_iter()
        .flat_map(|within_sla| {
            let removal = AccessRemoval {
                after: chrono::TimeDelta::hours(if within_sla { 2 } else { 30 }),
                within_sla,
            };
            let line = deprovision_removal_line(
                "MergeDeprovision",
                "deactivated",
                false,
                Some(removal),
                Properties::default(),
                support::now(),
            );
            support::emf_series(&serde_json::from_str(&line).unwrap())
        })
        .collect()
}

#[test]
fn the_sla_view_shows_met_and_missed_per_30_days_and_the_removal_lag() {
    let body = resolved_body(&template()).unwrap();
    let naming = |metric: &str| -> Vec<&Value> {
        widgets(&body)
            .iter()
            .filter(|w| named_metrics(w).iter().any(|(_, name, _)| name == metric))
            .collect()
    };
    let met = naming("AccessRemovalWithinSla");
    assert_eq!(met.len(), 1);
    assert_eq!(
        met,
        naming("AccessRemovalMissedSla"),
        "met and missed side by side"
    );
    let properties = &met[0]["properties"];
    assert_eq!(properties["stat"], "Sum");
    // A month is 30 days here: CloudWatch periods are fixed lengths, not calendar months.
    assert_eq!(properties["period"], 2_592_000);
    assert!(properties["title"].as_str().unwrap().contains("24h"));
    let lag_stats: BTreeSet<&str> = widgets(&body)
        .iter()
        .flat_map(|w| w["properties"]["metrics"].as_array().into_iter().flatten())
        .filter(|entry| entry[1] == "AccessRemovalSeconds")
        .filter_map(|entry| entry.as_array()?.last()?["stat"].as_str())
        .collect();
    assert_eq!(lag_stats, BTreeSet::from(["Maximum", "p50", "p90"]));
    let mut written = series_of_a_realistic_mix();
    written.extend(support::deprovision_series());
    written.extend(support::series_of_sweeps());
    let without_removals = check_metrics(&body, &written);
    assert!(
        without_removals.is_err_and(|e| e.contains("AccessRemoval")),
        "the check sees the removal metrics as the deprovisioning lines' own"
    );
}

#[test]
fn a_typo_in_a_metric_name_or_a_dimension_value_fails_the_check() {
    let written = series_of_a_realistic_mix();
    let body = resolved_body(&template()).unwrap();
    for (from, to) in [
        ("\"TerminationLagSeconds\"", "\"TerminationLagSecond\""),
        ("\"terminated\"", "\"termniated\""),
        ("\"Throttles\"", "\"Throttle\""),
    ] {
        let text = body.to_string().replacen(from, to, 1);
        let broken: Value = serde_json::from_str(&text).unwrap();
        assert!(check_metrics(&broken, &written).is_err(), "{from} -> {to}");
    }
}

#[test]
fn the_widgets_the_operators_need_are_all_there() {
    let body = resolved_body(&template()).unwrap();
    let named: BTreeSet<(String, String)> = widgets(&body)
        .iter()
        .flat_map(named_metrics)
        .map(|(_, name, dimensions)| {
            (
                name,
                dimensions.get("Decision").cloned().unwrap_or_default(),
            )
        })
        .collect();
    for decision in merge_deprovision::telemetry::metrics::DECISIONS {
        assert!(
            named.contains(&("Webhooks".into(), decision.into())),
            "{decision}"
        );
    }
    for metric in [
        "TerminationLagSeconds",
        "SchedulesCreated",
        "SchedulesUpdated",
        "SchedulesCancelled",
        "ScheduledTerminationsFired",
        "SchedulingFailures",
        "ApproximateNumberOfMessagesVisible",
        "SignatureFailures",
        "Invocations",
        "Errors",
        "Throttles",
        "Duration",
        "ConcurrentExecutions",
        "Sweeps",
        "FoundByReconciliation",
        "ReconciliationFailures",
        "AccessRemovalWithinSla",
        "AccessRemovalMissedSla",
        "AccessRemovalSeconds",
    ] {
        assert!(named.contains(&(metric.into(), String::new())), "{metric}");
    }
    let lag_stats: BTreeSet<&str> = widgets(&body)
        .iter()
        .flat_map(|w| w["properties"]["metrics"].as_array().into_iter().flatten())
        .filter(|entry| entry[1] == "TerminationLagSeconds")
        .filter_map(|entry| entry.as_array()?.last()?["stat"].as_str())
        .collect();
    assert_eq!(lag_stats, BTreeSet::from(["Maximum", "p50", "p90"]));
}

#[test]
fn the_alarm_widget_shows_every_alarm_of_the_template() {
    let template = template();
    let body = resolved_body(&template).unwrap();
    let alarms: BTreeSet<String> = section(&template, "Resources")
        .iter()
        .filter(|(_, resource)| resource["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(name, _)| {
            format!(
                "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{}",
                name.as_str().unwrap()
            )
        })
        .collect();
    let shown: BTreeSet<String> = widgets(&body)
        .iter()
        .filter(|w| w["type"] == "alarm")
        .flat_map(|w| w["properties"]["alarms"].as_array().unwrap().clone())
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(shown, alarms);
    assert_eq!(alarms.len(), 13);
}

/// Every key a decision record carries, over every sample event and a fired timer,
/// each settled through the ledger as deployed.
fn record_fields() -> BTreeSet<String> {
    let app = support::ledger_app().app;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let mut fields = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // The manifest, and the --env-vars file for sam local invoke, are not events.
        if path.extension().is_none_or(|e| e != "json")
            || path.file_name().unwrap() == "manifest.json"
            || path.file_name().unwrap() == "sam-local-env.json"
        {
            continue;
        }
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        // As Lambda hands it over, naming the function: a timer can be set for it.
        for record in answer(&app, &support::in_lambda(request(&event))).records() {
            if record.get("decision").is_some() {
                fields.extend(record.as_object().unwrap().keys().cloned());
            }
        }
    }
    fields
}

#[test]
fn the_logs_insights_table_asks_only_for_fields_decision_records_carry() {
    let body = resolved_body(&template()).unwrap();
    let logs: Vec<&Value> = widgets(&body)
        .iter()
        .filter(|w| w["type"] == "log")
        .collect();
    assert_eq!(logs.len(), 1);
    let query = logs[0]["properties"]["query"].as_str().unwrap();
    assert!(query.contains("limit 50"), "{query}");
    let carried = record_fields();
    let mut asked = Vec::new();
    for command in query.split('|').map(str::trim) {
        if let Some(list) = command.strip_prefix("fields ") {
            asked.extend(list.split(',').map(|f| f.trim().to_owned()));
        }
        if let Some(filter) = command.strip_prefix("filter ") {
            asked.push(filter.split_whitespace().next().unwrap().to_owned());
        }
    }
    for field in [
        "work_email",
        "username",
        "employee_id",
        "integration",
        "reasons",
        "termination_lag_seconds",
    ] {
        assert!(asked.iter().any(|f| f == field), "the table shows {field}");
    }
    for field in asked.iter().filter(|f| !f.starts_with('@')) {
        assert!(carried.contains(field), "records carry no {field}");
    }
}

#[test]
fn the_widgets_tile_a_24_column_grid_without_overlapping() {
    let body = resolved_body(&template()).unwrap();
    let mut cells = BTreeSet::new();
    for widget in widgets(&body) {
        let n = |key: &str| widget[key].as_u64().expect("x, y, width and height") as usize;
        assert!(n("x") + n("width") <= 24, "{widget}");
        assert!(widget["properties"]["title"].is_string());
        for x in n("x")..n("x") + n("width") {
            for y in n("y")..n("y") + n("height") {
                assert!(cells.insert((x, y)), "overlap at ({x}, {y})");
            }
        }
    }
}

#[test]
fn a_placeholder_naming_nothing_in_the_template_fails() {
    let mut template = template();
    let body = &mut template["Resources"]["OperatorDashboard"]["Properties"]["DashboardBody"];
    let Yaml::Tagged(tagged) = body else { panic!() };
    let text = tagged
        .value
        .as_str()
        .unwrap()
        .replace("${DeprovisionFunction}", "${DeprovisionFunctoin}");
    tagged.value = Yaml::String(text);
    assert!(resolved_body(&template).is_err());
}
