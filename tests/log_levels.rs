//! Every log level the template allows keeps every decision record: the records are
//! written at INFO, WARN and ERROR, the downstream subscription and the alarms read
//! them, and Lambda filters by `ApplicationLogLevel` before any of them sees a line.

mod support;

use lambda_http::tracing::Level;
use merge_deprovision::lambda::config::{Config, LOG_LEVEL_VAR, SIGNATURE_KEY_VAR};
use merge_deprovision::lambda::handler::answer_event;
use merge_deprovision::lambda::logging::{LogBuffer, LogSettings, subscriber};
use merge_deprovision_samples::{MANIFEST_FILE, read_manifest, ready};
use serde_json::Value;
use serde_yaml_ng::Value as Yaml;
use std::path::Path;
use support::{now, receiver, request};

fn allowed_levels() -> Vec<String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"))
        .expect("the template");
    let template: Yaml = serde_yaml_ng::from_str(&text).expect("the template is YAML");
    let function = &template["Resources"]["DeprovisionFunction"]["Properties"];
    let Yaml::Tagged(level) = &function["LoggingConfig"]["ApplicationLogLevel"] else {
        panic!("the application log level is a parameter");
    };
    let parameter = level.value.as_str().unwrap();
    template["Parameters"][parameter]["AllowedValues"]
        .as_sequence()
        .expect("the parameter lists its levels")
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// The settings the function's logger takes when Lambda sets `level`.
fn settings_at(level: &str) -> LogSettings {
    LogSettings::from_lookup(|name| match name {
        "AWS_LAMBDA_LOG_FORMAT" => Some("JSON".to_owned()),
        _ if name == LOG_LEVEL_VAR => Some(level.to_owned()),
        _ => None,
    })
}

#[test]
fn every_allowed_level_is_one_the_function_starts_with() {
    for level in allowed_levels() {
        let config = Config::from_lookup(|name| match name {
            _ if name == LOG_LEVEL_VAR => Some(level.clone()),
            _ if name == SIGNATURE_KEY_VAR => Some("k".to_owned()),
            _ => None,
        });
        assert!(config.is_ok(), "{level}: {:?}", config.err());
    }
}

#[test]
fn every_allowed_level_lets_through_each_level_a_decision_record_is_written_at() {
    for level in allowed_levels() {
        let filter = settings_at(&level).level;
        for record in [Level::INFO, Level::WARN, Level::ERROR] {
            assert!(record <= filter, "{level} drops {record} records");
        }
    }
}

#[test]
fn at_every_allowed_level_each_sample_delivery_still_writes_its_one_decision_record() {
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let manifest =
        read_manifest(&std::fs::read_to_string(events.join(MANIFEST_FILE)).unwrap()).unwrap();
    let app = receiver();
    for level in allowed_levels() {
        for entry in &manifest {
            let event: Value =
                serde_json::from_str(&std::fs::read_to_string(events.join(&entry.file)).unwrap())
                    .unwrap();
            // A fired schedule is no function URL request; the scheduling tests cover it.
            if event.get("requestContext").is_none() {
                continue;
            }
            let buffer = LogBuffer::default();
            let dispatch = lambda_http::tracing::Dispatch::new(subscriber(
                settings_at(&level),
                buffer.clone(),
            ));
            lambda_http::tracing::dispatcher::with_default(&dispatch, || {
                ready(answer_event(&app, &request(&event), now())).expect("an answer")
            });
            let records: Vec<Value> = buffer
                .contents()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .filter(|r: &Value| r.get("decision").is_some())
                .collect();
            assert_eq!(records.len(), 1, "{level}, {}", entry.file);
        }
    }
}
