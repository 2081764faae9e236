//! The report bucket and the monthly report, read from `template.yaml`: a bucket that is
//! versioned, encrypted, closed to the public on all four settings, reachable over TLS
//! only and made with Object Lock enabled (its default retention from a parameter, off at
//! 0); the function granted exactly the S3 calls its client makes, on the bucket's
//! objects alone; and a schedule at 00:30 UTC on the 1st whose input is the report
//! document for the previous month.

use serde_yaml_ng::Value as Yaml;
use std::collections::BTreeSet;

fn template() -> Yaml {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"))
        .expect("the template");
    serde_yaml_ng::from_str(&text).expect("the template is YAML")
}

/// The value under a CloudFormation tag (`!Ref X` is `X`), or the value itself.
fn untagged(value: &Yaml) -> &Yaml {
    match value {
        Yaml::Tagged(tagged) => &tagged.value,
        other => other,
    }
}

fn tag(value: &Yaml) -> String {
    match value {
        Yaml::Tagged(tagged) => tagged.tag.to_string().trim_start_matches('!').to_owned(),
        _ => String::new(),
    }
}

#[test]
fn the_report_bucket_is_versioned_encrypted_private_retained_and_made_with_object_lock() {
    let template = template();
    let bucket = &template["Resources"]["ReportBucket"];
    assert_eq!(bucket["Type"], Yaml::from("AWS::S3::Bucket"));
    assert_eq!(bucket["DeletionPolicy"], Yaml::from("Retain"));
    assert_eq!(bucket["UpdateReplacePolicy"], Yaml::from("Retain"));
    let properties = &bucket["Properties"];
    assert_eq!(
        properties["VersioningConfiguration"]["Status"],
        Yaml::from("Enabled")
    );
    let encryption = &properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
    assert_eq!(
        encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
        Yaml::from("AES256")
    );
    let public = &properties["PublicAccessBlockConfiguration"];
    for setting in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(public[setting], Yaml::Bool(true), "{setting}");
    }
    // Object Lock can only be enabled when a bucket is created, so it always is; the
    // retention rule alone depends on the parameter.
    assert_eq!(properties["ObjectLockEnabled"], Yaml::Bool(true));
    assert_eq!(
        properties["ObjectLockConfiguration"]["ObjectLockEnabled"],
        Yaml::from("Enabled")
    );
}

#[test]
fn the_default_retention_is_the_parameters_mode_and_days_and_off_at_zero() {
    let template = template();
    let days = &template["Parameters"]["ReportRetentionDays"];
    assert_eq!(days["Default"], Yaml::from(0));
    assert_eq!(days["MinValue"], Yaml::from(0));
    let mode = &template["Parameters"]["ReportRetentionMode"];
    let modes: BTreeSet<&str> = mode["AllowedValues"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(modes, BTreeSet::from(["COMPLIANCE", "GOVERNANCE"]));
    assert_eq!(mode["Default"], Yaml::from("GOVERNANCE"));

    // HasReportRetention: !Not [!Equals [!Ref ReportRetentionDays, 0]]
    let condition = &template["Conditions"]["HasReportRetention"];
    assert_eq!(tag(condition), "Not");
    let equals = &untagged(condition)[0];
    assert_eq!(tag(equals), "Equals");
    assert_eq!(
        untagged(&untagged(equals)[0]),
        &Yaml::from("ReportRetentionDays")
    );
    assert_eq!(untagged(equals)[1], Yaml::from(0));

    let rule =
        &template["Resources"]["ReportBucket"]["Properties"]["ObjectLockConfiguration"]["Rule"];
    assert_eq!(tag(rule), "If");
    let branches = untagged(rule).as_sequence().unwrap();
    assert_eq!(branches[0], Yaml::from("HasReportRetention"));
    let retention = &branches[1]["DefaultRetention"];
    assert_eq!(
        untagged(&retention["Mode"]),
        &Yaml::from("ReportRetentionMode")
    );
    assert_eq!(
        untagged(&retention["Days"]),
        &Yaml::from("ReportRetentionDays")
    );
    assert_eq!(
        untagged(&branches[2]),
        &Yaml::from("AWS::NoValue"),
        "no rule at all when off"
    );
}

#[test]
fn the_bucket_refuses_every_request_without_tls_on_itself_and_its_objects() {
    let template = template();
    let policy = &template["Resources"]["ReportBucketPolicy"];
    assert_eq!(
        untagged(&policy["Properties"]["Bucket"]),
        &Yaml::from("ReportBucket")
    );
    let statements = policy["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    let deny = statements
        .iter()
        .find(|s| s["Effect"] == "Deny")
        .expect("a deny statement");
    assert_eq!(deny["Principal"], Yaml::from("*"));
    assert_eq!(deny["Action"], Yaml::from("s3:*"));
    assert_eq!(
        deny["Condition"]["Bool"]["aws:SecureTransport"],
        Yaml::from("false")
    );
    let resources = serde_yaml_ng::to_string(&deny["Resource"]).unwrap();
    assert!(resources.contains("ReportBucket.Arn"), "{resources}");
    assert!(resources.contains("${ReportBucket.Arn}/*"), "{resources}");
}

#[test]
fn the_function_may_only_put_the_buckets_objects_and_its_use_case_only_puts() {
    let template = template();
    let use_case =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/app/report.rs")).unwrap();
    assert!(use_case.contains(".put(&key"), "the report is put");
    assert!(
        !use_case.contains(".get("),
        "the function never reads a report back: its role has no s3:GetObject"
    );
    let mut granted = BTreeSet::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        let text = serde_yaml_ng::to_string(&resource["Properties"]["Roles"]).unwrap();
        if resource["Type"] != "AWS::IAM::Policy" || !text.contains("DeprovisionFunctionRole") {
            continue;
        }
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
            .as_sequence()
            .unwrap()
        {
            let actions = serde_yaml_ng::to_string(&statement["Action"]).unwrap();
            if !actions.contains("s3:") {
                continue;
            }
            assert_eq!(
                untagged(&statement["Resource"]),
                &Yaml::from("${ReportBucket.Arn}/*"),
                "the bucket's objects only"
            );
            for action in actions.split_whitespace().filter(|w| w.starts_with("s3:")) {
                granted.insert(action.to_owned());
            }
        }
    }
    assert_eq!(granted, BTreeSet::from(["s3:PutObject".to_owned()]));
}

#[test]
fn the_monthly_schedule_asks_at_half_past_midnight_utc_on_the_first_for_the_previous_month() {
    let template = template();
    let schedule = &template["Resources"]["MonthlyReportSchedule"];
    assert_eq!(schedule["Type"], Yaml::from("AWS::Scheduler::Schedule"));
    let properties = &schedule["Properties"];
    assert_eq!(
        properties["ScheduleExpression"],
        Yaml::from("cron(30 0 1 * ? *)")
    );
    assert_eq!(properties["ScheduleExpressionTimezone"], Yaml::from("UTC"));
    assert_eq!(properties["FlexibleTimeWindow"]["Mode"], Yaml::from("OFF"));
    // In the group the invoke role trusts Scheduler for, through that role.
    assert_eq!(
        untagged(&properties["GroupName"]),
        &Yaml::from("TerminationScheduleGroup")
    );
    let target = &properties["Target"];
    assert_eq!(
        untagged(&target["RoleArn"]),
        &Yaml::from("SchedulerInvokeRole.Arn")
    );
    assert_eq!(
        untagged(&target["Arn"]),
        &Yaml::from("DeprovisionFunction.Arn")
    );
    assert_eq!(
        untagged(&target["DeadLetterConfig"]["Arn"]),
        &Yaml::from("SchedulerDeadLetterQueue.Arn")
    );
    let input: serde_json::Value =
        serde_json::from_str(target["Input"].as_str().unwrap()).expect("the input is JSON");
    assert_eq!(
        input,
        serde_json::json!({"kind": "merge-deprovision.report", "version": 1,
                           "period": "previous-month"})
    );
    assert!(
        properties.get("Condition").is_none() && schedule.get("Condition").is_none(),
        "every deployment writes its monthly report"
    );
}

#[test]
fn the_function_is_told_the_bucket_by_its_environment() {
    let template = template();
    let variable = &template["Resources"]["DeprovisionFunction"]["Properties"]["Environment"]["Variables"]
        ["REPORT_BUCKET"];
    assert_eq!(tag(variable), "Ref");
    assert_eq!(untagged(variable), &Yaml::from("ReportBucket"));
}
