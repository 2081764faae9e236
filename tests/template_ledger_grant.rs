//! What the function may do in the ledger's table: single items and queries anywhere but
//! in deprovisioning's two partitions, which only the deprovisioning policy reaches (and
//! only with a targets secret), each confined by a `dynamodb:LeadingKeys` condition on
//! the partitions the code uses.

use serde_yaml_ng::Value as Yaml;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn template() -> Yaml {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("the template");
    serde_yaml_ng::from_str(&text).expect("the template is YAML")
}

/// The partitions of a statement's `dynamodb:LeadingKeys` condition under `operator`.
fn leading_keys(statement: &Yaml, operator: &str) -> Vec<String> {
    statement["Condition"][operator]["dynamodb:LeadingKeys"]
        .as_sequence()
        .unwrap_or_else(|| panic!("a {operator} dynamodb:LeadingKeys condition: {statement:?}"))
        .iter()
        .map(|key| key.as_str().unwrap().to_owned())
        .collect()
}

fn actions(statement: &Yaml) -> Vec<String> {
    match &statement["Action"] {
        Yaml::String(action) => vec![action.clone()],
        Yaml::Sequence(actions) => actions
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect(),
        other => panic!("an action list: {other:?}"),
    }
}

/// Every string literal the source tree holds, from every `.rs` file under src/.
fn source_text() -> String {
    let mut text = String::new();
    let mut directories = vec![root().join("src")];
    while let Some(directory) = directories.pop() {
        for entry in std::fs::read_dir(directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                directories.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                text.push_str(&std::fs::read_to_string(path).unwrap());
            }
        }
    }
    text
}

#[test]
fn the_ledger_grant_reaches_every_partition_but_deprovisionings() {
    let template = template();
    let statements =
        template["Resources"]["LedgerAccessPolicy"]["Properties"]["PolicyDocument"]["Statement"]
            .as_sequence()
            .unwrap();
    let ledger: Vec<&Yaml> = statements
        .iter()
        .filter(|s| !matches!(s, Yaml::Tagged(_)))
        .filter(|s| actions(s).iter().any(|a| a.starts_with("dynamodb:")))
        .collect();
    assert_eq!(ledger.len(), 1, "one statement for the ledger's items");
    assert_eq!(
        actions(ledger[0]),
        ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
    );
    let excluded = leading_keys(ledger[0], "ForAllValues:StringNotEquals");

    let deprovisioning = &template["Resources"]["DeprovisionPolicy"];
    assert_eq!(deprovisioning["Condition"], "HasScimTargets");
    let bookkeeping = &deprovisioning["Properties"]["PolicyDocument"]["Statement"][0];
    assert!(actions(bookkeeping).contains(&"dynamodb:Query".to_owned()));
    let confined = leading_keys(bookkeeping, "ForAllValues:StringEquals");

    assert_eq!(
        excluded, confined,
        "the ledger grant keeps off exactly the partitions deprovisioning is confined to"
    );
    let source = source_text();
    for partition in &confined {
        assert!(
            partition.starts_with('#'),
            "no linked account id starts with #"
        );
        assert!(
            source.contains(&format!("\"{partition}\"")),
            "{partition} is a partition the code writes"
        );
    }
}

#[test]
fn the_ledger_doc_says_what_the_grant_is() {
    let ledger = std::fs::read_to_string(root().join("docs/ledger.md")).unwrap();
    let text = ledger.split_whitespace().collect::<Vec<_>>().join(" ");
    for claim in [
        "The function may `GetItem`, `PutItem` and `Query` on every partition of it but the two `#deprovision-*` ones",
        "That `Query` may read any linked account's partition",
        "`UpdateItem`, `DeleteItem` and `Query` on the two `#deprovision-*` partitions, and only those",
    ] {
        assert!(text.contains(claim), "docs/ledger.md: {claim}");
    }
}
