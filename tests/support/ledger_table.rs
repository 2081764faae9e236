//! The ledger table's global secondary indexes, read from `template.yaml`, so that a
//! table an emulator stage creates has exactly the indexes the template declares.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use serde_yaml_ng::Value as Yaml;

fn table() -> Yaml {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"))
        .expect("the template");
    let template: Yaml = serde_yaml_ng::from_str(&text).expect("the template is YAML");
    template["Resources"]["EmployeeLedgerTable"]["Properties"].clone()
}

fn text(value: &Yaml) -> String {
    value.as_str().expect("a string").to_owned()
}

/// The template's attribute definitions of the table, keys and index keys alike.
pub fn attribute_definitions() -> Vec<AttributeDefinition> {
    table()["AttributeDefinitions"]
        .as_sequence()
        .expect("attribute definitions")
        .iter()
        .map(|a| {
            assert_eq!(a["AttributeType"], "S", "every key is a string");
            AttributeDefinition::builder()
                .attribute_name(text(&a["AttributeName"]))
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap()
        })
        .collect()
}

/// The template's global secondary indexes, as the SDK builds them.
pub fn global_secondary_indexes() -> Vec<GlobalSecondaryIndex> {
    table()["GlobalSecondaryIndexes"]
        .as_sequence()
        .expect("global secondary indexes")
        .iter()
        .map(|index| {
            let mut built = GlobalSecondaryIndex::builder().index_name(text(&index["IndexName"]));
            for key in index["KeySchema"].as_sequence().unwrap() {
                let kind = match key["KeyType"].as_str() {
                    Some("HASH") => KeyType::Hash,
                    Some("RANGE") => KeyType::Range,
                    other => panic!("a key type: {other:?}"),
                };
                built = built.key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(text(&key["AttributeName"]))
                        .key_type(kind)
                        .build()
                        .unwrap(),
                );
            }
            let projection = &index["Projection"];
            let mut p = Projection::builder().projection_type(ProjectionType::from(
                projection["ProjectionType"].as_str().unwrap(),
            ));
            for attribute in projection["NonKeyAttributes"]
                .as_sequence()
                .into_iter()
                .flatten()
            {
                p = p.non_key_attributes(text(attribute));
            }
            built.projection(p.build()).build().unwrap()
        })
        .collect()
}
