//! The ledger table's match indexes, which the identity check queries: the template
//! declares exactly the indexes the code queries (`MATCH_INDEXES`), each keyed on its
//! own attribute and projecting the decision and the field, and the function may Query
//! those indexes and nothing else of them.

use merge_deprovision::aws::ledger::MATCH_INDEXES;
use serde_yaml_ng::Value as Yaml;
use std::collections::BTreeSet;

fn template() -> Yaml {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"))
        .expect("the template");
    serde_yaml_ng::from_str(&text).expect("the template is YAML")
}

#[test]
fn the_ledger_table_declares_one_index_per_match_field_projecting_the_decision_and_the_field() {
    let template = template();
    let table = &template["Resources"]["EmployeeLedgerTable"]["Properties"];
    let indexes = table["GlobalSecondaryIndexes"].as_sequence().unwrap();
    assert_eq!(indexes.len(), MATCH_INDEXES.len());
    let defined: BTreeSet<&str> = table["AttributeDefinitions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a["AttributeName"].as_str().unwrap())
        .collect();
    for (field, name, attribute) in MATCH_INDEXES {
        let index = indexes
            .iter()
            .find(|i| i["IndexName"] == name)
            .unwrap_or_else(|| panic!("the template declares {name}"));
        let keys = index["KeySchema"].as_sequence().unwrap();
        assert_eq!(keys.len(), 1, "{name}: a partition key only");
        assert_eq!(keys[0]["AttributeName"], attribute);
        assert_eq!(keys[0]["KeyType"], "HASH");
        assert!(defined.contains(attribute), "{attribute} is defined");
        assert_eq!(index["Projection"]["ProjectionType"], "INCLUDE");
        let projected: Vec<&str> = index["Projection"]["NonKeyAttributes"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(projected, ["decision", field.as_str()], "{name}");
    }
}

#[test]
fn the_function_may_query_the_match_indexes_only_with_deprovisioning_on() {
    let template = template();
    let policy = &template["Resources"]["DeprovisionPolicy"];
    assert_eq!(policy["Condition"], "HasScimTargets");
    let statements = policy["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    let indexes: Vec<&Yaml> = statements
        .iter()
        .filter(|s| {
            serde_yaml_ng::to_string(&s["Resource"])
                .unwrap()
                .contains("/index/")
        })
        .collect();
    assert_eq!(indexes.len(), 1, "one statement for the indexes");
    assert_eq!(indexes[0]["Action"], "dynamodb:Query");
    let resources = serde_yaml_ng::to_string(&indexes[0]["Resource"]).unwrap();
    for (_, name, _) in MATCH_INDEXES {
        assert!(
            resources.contains(&format!("${{EmployeeLedgerTable.Arn}}/index/{name}")),
            "{resources}"
        );
    }
    assert_eq!(resources.matches("/index/").count(), MATCH_INDEXES.len());
    // The ledger's own grant stays on the table alone.
    let ledger = serde_yaml_ng::to_string(&template["Resources"]["LedgerAccessPolicy"]).unwrap();
    assert!(!ledger.contains("/index/"), "{ledger}");
}
