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
    // A client's submodules (`src/aws/ledger/*.rs` beside `src/aws/ledger.rs`) are part
    // of it: their calls need the same grants.
    let mut code = source(path);
    let folder =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path.trim_end_matches(".rs"));
    if let Ok(entries) = std::fs::read_dir(&folder) {
        for entry in entries {
            let file = entry.unwrap().path();
            if file.extension().is_some_and(|e| e == "rs") {
                code.push_str(&std::fs::read_to_string(file).unwrap());
            }
        }
    }
    operations
        .iter()
        .filter(|(call, _)| code.contains(&format!(".{call}()")))
        .map(|(_, action)| format!("{prefix}{action}"))
        .collect()
}

/// The actions Lambda's event source mapping takes with the function's role to read the
/// ledger's stream: no code of the function calls them.
const STREAM_READ: [&str; 4] = [
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
];

const DYNAMODB_OPERATIONS: [(&str, &str); 6] = [
    ("get_item", "GetItem"),
    ("put_item", "PutItem"),
    ("update_item", "UpdateItem"),
    ("delete_item", "DeleteItem"),
    ("query", "Query"),
    ("scan", "Scan"),
];

#[test]
fn the_function_may_call_exactly_the_dynamodb_actions_its_ledger_client_calls() {
    let calls = called("src/aws/ledger.rs", "dynamodb:", &DYNAMODB_OPERATIONS);
    assert_eq!(
        calls,
        BTreeSet::from([
            "dynamodb:GetItem".to_owned(),
            "dynamodb:PutItem".to_owned(),
            "dynamodb:Query".to_owned()
        ])
    );
    let bookkeeping = called(
        "src/aws/deprovisioning.rs",
        "dynamodb:",
        &DYNAMODB_OPERATIONS,
    );
    assert_eq!(
        bookkeeping,
        BTreeSet::from([
            "dynamodb:DeleteItem".to_owned(),
            "dynamodb:Query".to_owned(),
            "dynamodb:UpdateItem".to_owned(),
        ]),
        "no Scan: the release reads one partition"
    );
    let mut expected: BTreeSet<String> = calls.union(&bookkeeping).cloned().collect();
    expected.extend(STREAM_READ.map(str::to_owned));
    // The condition key that confines the bookkeeping to its partitions.
    expected.insert("dynamodb:LeadingKeys:".to_owned());
    assert_eq!(granted(&template(), "dynamodb:"), expected);
}

#[test]
fn deprovisioning_may_touch_only_its_own_partitions_and_read_only_the_stream() {
    let template = template();
    let policy = &template["Resources"]["DeprovisionPolicy"];
    assert_eq!(policy["Condition"], "HasScimTargets");
    let statements = policy["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    let bookkeeping = serde_yaml_ng::to_string(&statements[0]).unwrap();
    for partition in [
        "#deprovision-brake",
        "#deprovision-waiting",
        "#deprovision-control",
    ] {
        assert!(bookkeeping.contains(partition), "{bookkeeping}");
        assert!(
            source("src/aws/deprovisioning.rs").contains(&format!("\"{partition}\"")),
            "{partition} is the code's partition"
        );
    }
    assert!(bookkeeping.contains("ForAllValues:StringEquals"));
    let stream = serde_yaml_ng::to_string(&statements[1]).unwrap();
    assert!(stream.contains("EmployeeLedgerTable.StreamArn"), "{stream}");
    let text = serde_yaml_ng::to_string(policy).unwrap();
    assert!(!text.contains('*'), "no wildcard resource: {text}");
}

#[test]
fn the_stream_mapping_fires_only_for_moves_into_terminated_and_dead_letters_failures() {
    let template = template();
    let mapping = &template["Resources"]["DeprovisionStreamMapping"]["Properties"];
    // `DeprovisionFailures` counts a transient failure on the last of these deliveries.
    assert_eq!(
        mapping["MaximumRetryAttempts"].as_u64(),
        Some(u64::from(
            merge_deprovision::app::deprovision::STREAM_ATTEMPTS - 1
        ))
    );
    let filters: Vec<serde_json::Value> = mapping["FilterCriteria"]["Filters"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|f| serde_json::from_str(f["Pattern"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(filters.len(), 3);
    // What `to_item` writes: the decision as a string attribute named `decision`.
    assert_eq!(
        filters[0]["dynamodb"]["NewImage"]["decision"]["S"],
        serde_json::json!(["terminated"])
    );
    assert_eq!(
        filters[1]["dynamodb"]["OldImage"]["decision"]["S"][0]["anything-but"],
        serde_json::json!(["terminated"])
    );
    // What `to_item` writes for a historical termination: `historical` as a boolean,
    // only when true; the third filter passes the write that clears it.
    assert_eq!(
        filters[2]["dynamodb"]["OldImage"]["historical"]["BOOL"],
        serde_json::json!([true])
    );
    assert_eq!(
        filters[2]["dynamodb"]["NewImage"]["historical"]["BOOL"][0]["exists"],
        serde_json::json!(false)
    );
    assert_eq!(
        filters[2]["dynamodb"]["NewImage"]["decision"]["S"],
        serde_json::json!(["terminated"])
    );
    assert_eq!(
        mapping["FunctionResponseTypes"][0],
        "ReportBatchItemFailures"
    );
    assert_eq!(mapping["BisectBatchOnFunctionError"], true);
    assert!(mapping["MaximumRetryAttempts"].as_u64().is_some());
    let destination = serde_yaml_ng::to_string(&mapping["DestinationConfig"]).unwrap();
    assert!(
        destination.contains("DeprovisionDeadLetterQueue"),
        "{destination}"
    );
    let table = &template["Resources"]["EmployeeLedgerTable"]["Properties"];
    assert_eq!(
        table["StreamSpecification"]["StreamViewType"],
        "NEW_AND_OLD_IMAGES"
    );
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

#[test]
fn every_secret_the_function_reads_may_be_decrypted_with_its_own_key_through_secrets_manager_only()
{
    let template = template();
    let parameters = template["Parameters"].as_mapping().unwrap();
    for (policy, key) in [
        ("SecretReadPolicy", "SecretKmsKeyArn"),
        ("MergeApiSecretReadPolicy", "MergeApiSecretKmsKeyArn"),
    ] {
        let parameter = parameters
            .get(Yaml::from(key))
            .unwrap_or_else(|| panic!("{key} is a parameter"));
        assert_eq!(
            parameter["Default"], "",
            "{key}: the AWS managed key by default"
        );
        let document = serde_yaml_ng::to_string(
            &template["Resources"][policy]["Properties"]["PolicyDocument"],
        )
        .unwrap();
        assert!(
            document.contains("secretsmanager:GetSecretValue"),
            "{policy}"
        );
        assert!(document.contains("kms:Decrypt"), "{policy} decrypts");
        assert!(document.contains(key), "{policy} decrypts with {key} alone");
        assert!(
            document.contains("kms:ViaService")
                && document.contains("secretsmanager.${AWS::Region}.amazonaws.com"),
            "{policy} decrypts through Secrets Manager only"
        );
        for action in ["kms:Encrypt", "kms:GenerateDataKey", "kms:*"] {
            assert!(!document.contains(action), "{policy} grants {action}");
        }
    }
}
