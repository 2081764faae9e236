//! The template's rule that exactly one of the signature key and its secret is given,
//! evaluated over every combination of the two parameters, as CloudFormation evaluates
//! it before it creates anything.

use serde_yaml_ng::Value as Yaml;
use std::collections::BTreeMap;

fn template() -> Yaml {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"))
        .expect("the template");
    serde_yaml_ng::from_str(&text).expect("the template is YAML")
}

/// Evaluates a rule's condition functions (`!Or`, `!And`, `!Not`, `!Equals`, `!Ref`)
/// against parameter values.
fn evaluate(expression: &Yaml, parameters: &BTreeMap<&str, &str>) -> Yaml {
    let Yaml::Tagged(tagged) = expression else {
        return expression.clone();
    };
    let arguments = || -> Vec<Yaml> {
        tagged
            .value
            .as_sequence()
            .expect("the function takes a list")
            .iter()
            .map(|a| evaluate(a, parameters))
            .collect()
    };
    let truth = |value: &Yaml| value.as_bool().expect("a condition is true or false");
    match tagged.tag.to_string().trim_start_matches('!') {
        "Ref" => {
            let name = tagged.value.as_str().unwrap();
            Yaml::String(parameters.get(name).copied().unwrap_or_default().to_owned())
        }
        "Equals" => {
            let arguments = arguments();
            Yaml::Bool(arguments[0] == arguments[1])
        }
        "Not" => Yaml::Bool(!truth(&arguments()[0])),
        "And" => Yaml::Bool(arguments().iter().all(truth)),
        "Or" => Yaml::Bool(arguments().iter().any(truth)),
        other => panic!("a rule function this test does not evaluate: {other}"),
    }
}

fn accepted(parameters: &BTreeMap<&str, &str>) -> bool {
    let template = template();
    let rule = &template["Rules"]["ExactlyOneSignatureKeySource"];
    rule["Assertions"]
        .as_sequence()
        .unwrap()
        .iter()
        .all(|assertion| evaluate(&assertion["Assert"], parameters) == Yaml::Bool(true))
}

#[test]
fn exactly_one_of_the_key_and_its_secret_must_be_given() {
    let secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:merge-key-AbCdEf";
    let cases = [
        (None, None, false),
        (Some("the-key"), None, true),
        (None, Some(secret), true),
        (Some("the-key"), Some(secret), false),
    ];
    for (key, arn, expected) in cases {
        let mut parameters = BTreeMap::new();
        parameters.insert("MergeWebhookSignatureKey", key.unwrap_or(""));
        parameters.insert("MergeWebhookSignatureSecretArn", arn.unwrap_or(""));
        assert_eq!(
            accepted(&parameters),
            expected,
            "key {key:?}, secret {arn:?}"
        );
    }
}

#[test]
fn with_a_secret_no_key_is_placed_in_the_environment_and_only_that_secret_is_readable() {
    let template = template();
    let variables =
        &template["Resources"]["DeprovisionFunction"]["Properties"]["Environment"]["Variables"];
    for name in [
        "MERGE_WEBHOOK_SIGNATURE_KEY",
        "MERGE_WEBHOOK_SIGNATURE_KEY_PREVIOUS",
    ] {
        let Yaml::Tagged(choice) = &variables[name] else {
            panic!("{name} depends on the secret");
        };
        assert_eq!(choice.tag.to_string().trim_start_matches('!'), "If");
        let branches = choice.value.as_sequence().unwrap();
        assert_eq!(branches[0], Yaml::String("HasSecret".into()));
        let Yaml::Tagged(with_secret) = &branches[1] else {
            panic!()
        };
        assert_eq!(
            with_secret.value,
            Yaml::String("AWS::NoValue".into()),
            "{name}"
        );
    }
    let policy = &template["Resources"]["SecretReadPolicy"];
    assert_eq!(policy["Condition"], Yaml::String("HasSecret".into()));
    let statement = &policy["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(
        statement["Action"],
        Yaml::String("secretsmanager:GetSecretValue".into())
    );
    let Yaml::Tagged(resource) = &statement["Resource"] else {
        panic!()
    };
    assert_eq!(
        resource.value,
        Yaml::String("MergeWebhookSignatureSecretArn".into())
    );
}

/// The `parameter_overrides` of each environment in `samconfig.toml.example`, by
/// environment name (`[<env>.deploy.parameters]`).
fn example_overrides() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/samconfig.toml.example"
    ))
    .expect("samconfig.toml.example");
    let mut section = String::new();
    let mut overrides = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            overrides.entry(section.clone()).or_insert_with(String::new);
        } else if let Some(value) = line.strip_prefix("parameter_overrides = ") {
            // A TOML basic string: its quotes off, and `\"` read as `"`.
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .expect("parameter_overrides is a quoted string");
            overrides.insert(section.clone(), value.replace("\\\"", "\""));
        }
    }
    overrides
        .into_iter()
        .filter_map(|(section, value)| {
            let env = section.strip_suffix(".deploy.parameters")?;
            Some((env.to_owned(), value))
        })
        .collect()
}

/// `Key=Value Key=Value`, as `sam deploy --parameter-overrides` reads it.
fn parse_overrides(text: &str) -> BTreeMap<&str, &str> {
    text.split_whitespace()
        .map(|pair| {
            let (key, value) = pair.split_once('=').expect("Key=Value");
            (key, value.trim_matches('"'))
        })
        .collect()
}

#[test]
fn each_documented_first_deploy_satisfies_the_templates_rule() {
    let template = template();
    let environments = example_overrides();
    assert_eq!(
        environments.keys().map(String::as_str).collect::<Vec<_>>(),
        ["default", "secret"],
        "one environment for each key source"
    );
    // The key path: no override in the file, the key given on the command line as the
    // file's comment and the README show.
    assert_eq!(environments["default"], "");
    let key_path = "MergeWebhookSignatureKey=\"the-key\"";
    for (name, overrides) in [
        ("default, with the key on the command line", key_path),
        ("secret", environments["secret"].as_str()),
    ] {
        let parameters = parse_overrides(overrides);
        for parameter in parameters.keys() {
            assert!(
                template["Parameters"].get(*parameter).is_some(),
                "{name}: {parameter} is no template parameter"
            );
        }
        assert!(accepted(&parameters.into_iter().collect()), "{name}");
    }
}

#[test]
fn the_example_configuration_never_holds_a_signature_key() {
    for (env, overrides) in example_overrides() {
        let parameters = parse_overrides(&overrides);
        for key in [
            "MergeWebhookSignatureKey",
            "MergeWebhookSignatureKeyPrevious",
        ] {
            assert!(
                parameters.get(key).is_none_or(|value| value.is_empty()),
                "{env} holds {key}"
            );
        }
    }
}

/// On an update `sam deploy` keeps every parameter it is not given, so the secret's
/// environment must clear both keys for a stack deployed with the key in its environment
/// to move to the secret (scripts/sam-deploy-check.py runs it through SAM CLI itself).
#[test]
fn the_secrets_environment_clears_both_keys_so_that_it_can_replace_the_key_in_the_environment() {
    let environments = example_overrides();
    let secret = &environments["secret"];
    for clear in [
        r#"MergeWebhookSignatureKey="""#,
        r#"MergeWebhookSignatureKeyPrevious="""#,
    ] {
        assert!(
            secret.split_whitespace().any(|pair| pair == clear),
            "the [secret] environment clears with {clear}: {secret}"
        );
    }
    // As a stack moving from the key in the environment ends up: the secret's ARN,
    // both keys cleared, which the rule accepts.
    let parameters = parse_overrides(secret);
    assert_eq!(parameters["MergeWebhookSignatureKey"], "");
    assert!(accepted(&parameters.into_iter().collect()));
}
