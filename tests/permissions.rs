//! What the function may do, read from `template.yaml`, against what its code calls: the
//! DynamoDB and Scheduler actions granted to its role are exactly the ones the effect
//! clients use, each on the stack's own table or schedule group; and the role Scheduler
//! assumes trusts Scheduler only for this account and this schedule group.

use serde_yaml_ng::Value as Yaml;
use std::collections::BTreeSet;

fn template() -> Yaml {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"))
        .expect("the template");
    serde_yaml_ng::from_str(&text).expect("the template is YAML")
}

fn source(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Every action with `prefix` that a policy on the function's role allows.
fn granted(template: &Yaml, prefix: &str) -> BTreeSet<String> {
    let mut actions = BTreeSet::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::IAM::Policy" {
            continue;
        }
        let text = serde_yaml_ng::to_string(&resource["Properties"]["Roles"]).unwrap();
        if !text.contains("DeprovisionFunctionRole") {
            continue;
        }
        let statements =
            serde_yaml_ng::to_string(&resource["Properties"]["PolicyDocument"]).unwrap();
        for word in statements.split(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
            if word.starts_with(prefix) {
                actions.insert(word.trim_end_matches(',').to_owned());
            }
        }
    }
    actions
}

/// The SDK operations a client source calls, as IAM actions: `.put_item()` is
/// `dynamodb:PutItem`.
fn called(path: &str, prefix: &str, operations: &[(&str, &str)]) -> BTreeSet<String> {
    let code = source(path);
    operations
        .iter()
        .filter(|(call, _)| code.contains(&format!(".{call}()")))
        .map(|(_, action)| format!("{prefix}{action}"))
        .collect()
}

#[test]
fn the_function_may_call_exactly_the_dynamodb_actions_its_ledger_client_calls() {
    let operations = [
        ("get_item", "GetItem"),
        ("put_item", "PutItem"),
        ("update_item", "UpdateItem"),
        ("delete_item", "DeleteItem"),
        ("query", "Query"),
        ("scan", "Scan"),
    ];
    let calls = called("src/aws/ledger.rs", "dynamodb:", &operations);
    assert_eq!(
        calls,
        BTreeSet::from([
            "dynamodb:GetItem".to_owned(),
            "dynamodb:PutItem".to_owned(),
            "dynamodb:Query".to_owned()
        ])
    );
    assert_eq!(granted(&template(), "dynamodb:"), calls);
}

#[test]
fn the_function_may_call_exactly_the_scheduler_actions_its_timers_call() {
    let operations = [
        ("get_schedule", "GetSchedule"),
        ("create_schedule", "CreateSchedule"),
        ("update_schedule", "UpdateSchedule"),
        ("delete_schedule", "DeleteSchedule"),
        ("list_schedules", "ListSchedules"),
    ];
    let calls = called("src/aws/scheduler.rs", "scheduler:", &operations);
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert!(
        !calls.contains("scheduler:GetSchedule"),
        "the ledger is the state"
    );
    assert_eq!(granted(&template(), "scheduler:"), calls);
}

#[test]
fn the_ledger_policy_names_the_stacks_table_alone() {
    let template = template();
    let policy = &template["Resources"]["LedgerAccessPolicy"]["Properties"]["PolicyDocument"];
    let text = serde_yaml_ng::to_string(policy).unwrap();
    assert!(text.contains("EmployeeLedgerTable.Arn"), "{text}");
    assert!(!text.contains('*'), "no wildcard resource: {text}");
}

#[test]
fn the_role_scheduler_assumes_trusts_it_for_this_account_and_schedule_group_only() {
    let template = template();
    let trust = &template["Resources"]["SchedulerInvokeRole"]["Properties"]["AssumeRolePolicyDocument"]
        ["Statement"][0];
    assert_eq!(trust["Principal"]["Service"], "scheduler.amazonaws.com");
    let conditions = &trust["Condition"]["StringEquals"];
    assert!(conditions.get("aws:SourceAccount").is_some());
    let source_arn = serde_yaml_ng::to_string(&conditions["aws:SourceArn"]).unwrap();
    assert!(
        source_arn.contains("schedule-group/${TerminationScheduleGroup}"),
        "{source_arn}"
    );
}
