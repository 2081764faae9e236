//! `sam local invoke --env-vars events/sam-local-env.json` starts the function: SAM CLI
//! leaves the template's `!If`, `!Ref` and `!GetAtt` values blank or as placeholders, and
//! the file gives the local test key and runs it log-only (no ledger, no timers), since
//! nothing under `sam local` can reach the stack's table. The file is checked here on
//! its own; `scripts/sam-check.sh` resolves the environment with the installed SAM
//! CLI's code and hands it to the ignored test below, which starts the built binary
//! with it and sends every sample event.

mod support;

use merge_deprovision_samples::{LOCAL_TEST_KEY, MANIFEST_FILE, read_manifest};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use support::runtime_api::{Function, Reply, RuntimeApi};

/// The variable naming the JSON file of the environment SAM CLI resolved.
const RESOLVED_ENV_VAR: &str = "SAM_LOCAL_RESOLVED_ENV";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn env_vars_file() -> Value {
    let text = std::fs::read_to_string(root().join("events/sam-local-env.json"))
        .expect("events/sam-local-env.json");
    serde_json::from_str(&text).expect("the env-vars file is JSON")
}

#[test]
fn the_env_vars_file_gives_the_local_test_key_that_cargo_lambda_watch_uses() {
    let cargo_toml = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let watch_key = cargo_toml
        .split("[package.metadata.lambda.watch.env]")
        .nth(1)
        .and_then(|section| {
            section
                .lines()
                .find(|l| l.starts_with("MERGE_WEBHOOK_SIGNATURE_KEY"))
        })
        .and_then(|line| line.split('"').nth(1))
        .expect("Cargo.toml sets the key for watch");
    assert_eq!(watch_key, LOCAL_TEST_KEY);
    let function = &env_vars_file()["DeprovisionFunction"];
    assert_eq!(function["MERGE_WEBHOOK_SIGNATURE_KEY"], LOCAL_TEST_KEY);
}

#[test]
fn the_env_vars_file_blanks_the_ledger_and_every_scheduling_variable_so_it_runs_log_only() {
    let function = &env_vars_file()["DeprovisionFunction"];
    for name in [
        "EMPLOYEE_LEDGER_TABLE",
        "TERMINATION_SCHEDULE_GROUP",
        "TERMINATION_SCHEDULE_ROLE_ARN",
        "TERMINATION_SCHEDULE_DLQ_ARN",
    ] {
        assert_eq!(function[name], "", "{name}");
    }
}

#[tokio::test]
#[ignore = "needs the environment resolved by SAM CLI: run by scripts/sam-check.sh"]
async fn the_environment_sam_local_invoke_resolves_starts_the_function_and_answers_every_sample() {
    let path = std::env::var_os(RESOLVED_ENV_VAR).unwrap_or_else(|| {
        panic!("{RESOLVED_ENV_VAR} names no file: scripts/sam-check.sh sets it")
    });
    let resolved: BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(PathBuf::from(path)).unwrap())
            .expect("the resolved environment is a JSON object of strings");
    assert_eq!(
        resolved
            .get("MERGE_WEBHOOK_SIGNATURE_KEY")
            .map(String::as_str),
        Some(LOCAL_TEST_KEY),
        "SAM CLI gives the function the local test key"
    );
    let env: Vec<(&str, &str)> = resolved
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let api = RuntimeApi::start().await;
    let function = Function::spawn(
        Path::new(env!("CARGO_BIN_EXE_merge-deprovision")),
        &api,
        &env,
    );
    let events = root().join("events");
    let manifest =
        read_manifest(&std::fs::read_to_string(events.join(MANIFEST_FILE)).unwrap()).unwrap();
    for entry in &manifest {
        let event = std::fs::read_to_string(events.join(&entry.file)).unwrap();
        let reply = api.invoke(&event).await;
        if entry.needs_ledger {
            // Log-only, a timer cannot be checked: the invocation fails, naming why.
            let Reply::Error(error) = reply else {
                panic!(
                    "{}: a timer without the ledger must fail: {reply:?}",
                    entry.file
                );
            };
            assert!(error.contains("EMPLOYEE_LEDGER_TABLE"), "{error}");
            continue;
        }
        let Reply::Response(text) = reply else {
            let (stdout, stderr) = function.stop().await;
            panic!("{}: no response\n{stdout}\n{stderr}", entry.file);
        };
        let response: Value = serde_json::from_str(&text).unwrap();
        // A fired schedule is no function URL request: its result is the answer itself.
        let (status, body) = match response["statusCode"].as_u64() {
            Some(status) => (status as u16, response["body"].as_str().unwrap().to_owned()),
            None => (200, text.clone()),
        };
        entry.check(status, &body).unwrap();
    }
    let (stdout, _) = function.stop().await;
    assert!(
        stdout.contains("log-only"),
        "the function runs log-only under sam local:\n{stdout}"
    );
}
