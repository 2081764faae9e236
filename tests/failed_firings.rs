//! Where a scheduled termination ends up when it fails, read from `template.yaml`: a
//! firing the function could not handle, after Lambda's retries, goes to an SQS queue
//! that an alarm watches, and the function's role may send to it; Lambda refuses the
//! destination otherwise.

use serde_yaml_ng::Value as Yaml;

fn template() -> Yaml {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"))
        .expect("the template");
    serde_yaml_ng::from_str(&text).expect("the template is YAML")
}

/// The resources of type `kind`, by logical id.
fn resources_of<'a>(template: &'a Yaml, kind: &str) -> Vec<(&'a str, &'a Yaml)> {
    template["Resources"]
        .as_mapping()
        .expect("Resources is a mapping")
        .iter()
        .filter(|(_, resource)| resource["Type"] == kind)
        .map(|(id, resource)| (id.as_str().expect("a logical id"), resource))
        .collect()
}

/// The argument of a short-form intrinsic `!tag argument`, if `value` is one.
fn intrinsic<'a>(value: &'a Yaml, tag: &str) -> Option<&'a Yaml> {
    match value {
        Yaml::Tagged(tagged) if tagged.tag == tag => Some(&tagged.value),
        _ => None,
    }
}

/// `resource.attribute` for `!GetAtt resource.attribute` or `!GetAtt [resource, attribute]`.
fn get_att(value: &Yaml) -> Option<String> {
    let argument = intrinsic(value, "GetAtt")?;
    match argument {
        Yaml::String(text) => Some(text.clone()),
        Yaml::Sequence(parts) => Some(format!(
            "{}.{}",
            parts.first()?.as_str()?,
            parts.get(1)?.as_str()?
        )),
        _ => None,
    }
}

/// A value that may be one item or a list of them, as a list.
fn one_or_many(value: &Yaml) -> Vec<&Yaml> {
    match value {
        Yaml::Sequence(items) => items.iter().collect(),
        Yaml::Null => Vec::new(),
        single => vec![single],
    }
}

/// The queue a failed asynchronous invocation of the function goes to.
fn on_failure_queue(template: &Yaml) -> Result<String, String> {
    let configs: Vec<_> = resources_of(template, "AWS::Lambda::EventInvokeConfig")
        .into_iter()
        .filter(|(_, config)| {
            intrinsic(&config["Properties"]["FunctionName"], "Ref")
                .is_some_and(|name| name == "DeprovisionFunction")
        })
        .collect();
    let [(id, config)] = configs.as_slice() else {
        return Err(format!(
            "expected one EventInvokeConfig for the function, found {}",
            configs.len()
        ));
    };
    let properties = &config["Properties"];
    if properties["Qualifier"] != "$LATEST" {
        return Err(format!(
            "{id}: Scheduler invokes the unqualified function, $LATEST"
        ));
    }
    let destination = &properties["DestinationConfig"]["OnFailure"]["Destination"];
    let target = get_att(destination).ok_or(format!("{id}: no !GetAtt destination"))?;
    let queue = target
        .strip_suffix(".Arn")
        .ok_or(format!("{id}: the destination is {target}, not an ARN"))?;
    if template["Resources"][queue]["Type"] != "AWS::SQS::Queue" {
        return Err(format!("{id}: {queue} is not an SQS queue"));
    }
    Ok(queue.to_owned())
}

/// The alarms on the number of messages waiting in `queue`, with an action.
fn alarms_on(template: &Yaml, queue: &str) -> Vec<String> {
    let name = format!("{queue}.QueueName");
    resources_of(template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .filter(|(_, alarm)| {
            let properties = &alarm["Properties"];
            properties["Namespace"] == "AWS/SQS"
                && properties["MetricName"] == "ApproximateNumberOfMessagesVisible"
                && !one_or_many(&properties["AlarmActions"]).is_empty()
                && one_or_many(&properties["Dimensions"])
                    .iter()
                    .any(|d| d["Name"] == "QueueName" && get_att(&d["Value"]) == Some(name.clone()))
        })
        .map(|(id, _)| id.to_owned())
        .collect()
}

/// The policies on the function's role that allow `sqs:SendMessage` to `queue`.
fn policies_sending_to(template: &Yaml, queue: &str) -> Vec<String> {
    let arn = format!("{queue}.Arn");
    resources_of(template, "AWS::IAM::Policy")
        .into_iter()
        .filter(|(_, policy)| {
            let properties = &policy["Properties"];
            let on_function_role = one_or_many(&properties["Roles"]).iter().any(|role| {
                intrinsic(role, "Ref").is_some_and(|name| name == "DeprovisionFunctionRole")
            });
            on_function_role
                && one_or_many(&properties["PolicyDocument"]["Statement"])
                    .iter()
                    .any(|statement| {
                        statement["Effect"] == "Allow"
                            && statement.get("Condition").is_none()
                            && one_or_many(&statement["Action"])
                                .iter()
                                .any(|a| *a == "sqs:SendMessage")
                            && one_or_many(&statement["Resource"])
                                .iter()
                                .any(|r| get_att(r) == Some(arn.clone()))
                    })
        })
        .map(|(id, _)| id.to_owned())
        .collect()
}

#[test]
fn a_firing_that_fails_in_the_function_goes_to_an_sqs_queue() {
    let queue = on_failure_queue(&template()).unwrap();
    assert_eq!(queue, "SchedulerDeadLetterQueue");
}

#[test]
fn that_queue_has_an_alarm_that_notifies() {
    let template = template();
    let queue = on_failure_queue(&template).unwrap();
    let alarms = alarms_on(&template, &queue);
    assert!(!alarms.is_empty(), "no alarm watches {queue}");
}

#[test]
fn the_function_role_may_send_to_it_before_the_destination_is_made() {
    let template = template();
    let queue = on_failure_queue(&template).unwrap();
    let policies = policies_sending_to(&template, &queue);
    assert!(
        !policies.is_empty(),
        "the function's role may not send to {queue}"
    );
    let (_, config) = resources_of(&template, "AWS::Lambda::EventInvokeConfig")[0];
    let depends_on: Vec<&str> = one_or_many(&config["DependsOn"])
        .iter()
        .filter_map(|d| d.as_str())
        .collect();
    assert!(
        policies.iter().any(|p| depends_on.contains(&p.as_str())),
        "the destination must wait for the policy {policies:?}: it depends on {depends_on:?}"
    );
}

#[test]
fn a_destination_that_is_no_queue_or_has_no_permission_fails_the_checks() {
    // Guards the checks above against passing whatever the template says.
    let mut broken = template();
    let resources = broken["Resources"].as_mapping_mut().unwrap();
    let queue = resources
        .get_mut("SchedulerDeadLetterQueue")
        .expect("the queue");
    queue["Type"] = Yaml::from("AWS::SNS::Topic");
    assert!(on_failure_queue(&broken).is_err());

    let mut unpermitted = template();
    unpermitted["Resources"]["FunctionSchedulingPolicy"]["Properties"]["Roles"] =
        Yaml::Sequence(Vec::new());
    assert_eq!(
        policies_sending_to(&unpermitted, "SchedulerDeadLetterQueue"),
        Vec::<String>::new()
    );
    assert!(alarms_on(&template(), "SomeOtherQueue").is_empty());
}
