//! The alarms as on call meets them: every alarm notifies the topic when it fires and
//! again when it clears, its description names the document and section of its runbook,
//! and that section exists; the alarm table in `docs/operations.md` lists exactly the
//! template's alarms.

use serde_yaml_ng::Value as Yaml;
use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn template() -> Yaml {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("the template");
    serde_yaml_ng::from_str(&text).expect("the template is YAML")
}

/// Every `AWS::CloudWatch::Alarm` of the template, by logical id, with its properties.
fn alarms(template: &Yaml) -> Vec<(String, Yaml)> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, resource)| resource["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(name, resource)| {
            (
                name.as_str().unwrap().to_owned(),
                resource["Properties"].clone(),
            )
        })
        .collect()
}

/// The text of every Markdown heading of `text`, outside code blocks, as shown.
fn headings(text: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut headings = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            // As the page shows it: code spans without their backticks.
            headings.insert(line.trim_start_matches('#').trim().replace('`', ""));
        }
    }
    headings
}

#[test]
fn every_alarm_notifies_when_it_fires_and_when_it_clears() {
    let template = template();
    let alarms = alarms(&template);
    assert_eq!(alarms.len(), 13, "the thirteen alarms the docs list");
    for (name, properties) in alarms {
        let fired = &properties["AlarmActions"];
        assert!(
            fired.as_sequence().is_some_and(|a| !a.is_empty()),
            "{name} notifies when it fires"
        );
        assert_eq!(
            &properties["OKActions"], fired,
            "{name}: OKActions, so that on call hears that it cleared"
        );
    }
}

#[test]
fn every_alarm_description_names_a_runbook_section_that_exists() {
    let template = template();
    for (name, properties) in alarms(&template) {
        let description = properties["AlarmDescription"].as_str().unwrap();
        assert!(
            description.len() <= 1024,
            "{name}: CloudWatch takes 1024 characters"
        );
        let (_, reference) = description
            .split_once("Runbook: ")
            .unwrap_or_else(|| panic!("{name} names its runbook: {description}"));
        let (document, section) = reference
            .split_once(", section \"")
            .unwrap_or_else(|| panic!("{name}: `docs/<file>.md, section \"<heading>\"`"));
        let section = section
            .strip_suffix("\".")
            .unwrap_or_else(|| panic!("{name}: the reference ends the description"));
        assert!(
            document.starts_with("docs/") && document.ends_with(".md"),
            "{name}: {document}"
        );
        let text = std::fs::read_to_string(root().join(document))
            .unwrap_or_else(|_| panic!("{name}: {document} exists"));
        assert!(
            headings(&text).contains(section),
            "{name}: {document} has no section \"{section}\""
        );
    }
}

#[test]
fn the_alarm_table_lists_exactly_the_templates_alarms() {
    let template = template();
    let in_template: BTreeSet<String> = alarms(&template).into_iter().map(|(n, _)| n).collect();
    let operations = std::fs::read_to_string(root().join("docs/operations.md")).unwrap();
    let listed: BTreeSet<String> = operations
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`'))
        .map(|(alarm, _)| alarm.to_owned())
        .filter(|alarm| alarm.ends_with("Alarm"))
        .collect();
    assert_eq!(listed, in_template);
}
