//! The built `merge-deprovision` binary, driven through a Lambda Runtime API on loopback:
//! it starts, reads its configuration, serves many invocations in one warm process, and
//! logs one JSON record per webhook, as CloudWatch will see it.

mod support;

use merge_deprovision::telemetry::record::TERMINATED_MESSAGE;
use merge_deprovision_samples::{LOCAL_TEST_KEY, MANIFEST_FILE, read_manifest};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::runtime_api::{Function, InitError, Reply, RuntimeApi, cold_start};

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_merge-deprovision"))
}

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("events")
}

const JSON_LOGS: (&str, &str) = ("AWS_LAMBDA_LOG_FORMAT", "JSON");
const TEST_KEY: (&str, &str) = ("MERGE_WEBHOOK_SIGNATURE_KEY", LOCAL_TEST_KEY);

/// The function URL response the runtime posted, with its body parsed.
fn http_answer(reply: &Reply) -> (u16, Value) {
    let Reply::Response(text) = reply else {
        panic!("expected a response, got {reply:?}");
    };
    let response: Value = serde_json::from_str(text).expect("the runtime posts JSON");
    // A fired schedule is no function URL request: its result is the answer itself.
    let Some(status) = response["statusCode"].as_u64() else {
        return (200, response);
    };
    let status = status as u16;
    let body =
        serde_json::from_str(response["body"].as_str().expect("a text body")).expect("a JSON body");
    (status, body)
}

/// Asserts the process wrote nothing but JSON lines to stdout and nothing to stderr,
/// and exactly one record (a line that is not a metrics line) per invocation.
fn assert_one_json_record_per_invocation(stdout: &str, stderr: &str, invocations: usize) {
    assert_eq!(stderr, "", "nothing goes to stderr");
    let (records, startup): (Vec<Value>, Vec<Value>) = json_lines(stdout)
        .into_iter()
        .filter(|line| line.get("_aws").is_none())
        .partition(|line| line.get("span").is_some());
    assert_eq!(
        records.len(),
        invocations,
        "one record per invocation:\n{stdout}"
    );
    assert_eq!(startup.len(), 1, "one startup record:\n{stdout}");
    assert!(
        startup[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("log-only")
    );
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON log line: {line}"))
        })
        .collect()
}

#[tokio::test]
async fn one_warm_process_answers_every_sample_event_and_logs_one_record_each() {
    let api = RuntimeApi::start().await;
    let function = Function::spawn(&binary(), &api, &[TEST_KEY, JSON_LOGS]);
    let manifest =
        read_manifest(&std::fs::read_to_string(events_dir().join(MANIFEST_FILE)).unwrap()).unwrap();

    // Twice through, so the second round runs warm. Log-only, as `cargo lambda watch`
    // runs it: a timer cannot be checked without the ledger, so its invocation fails,
    // naming the variable, for Lambda to retry and then hand to the on-failure queue.
    for _ in 0..2 {
        for entry in &manifest {
            let event = std::fs::read_to_string(events_dir().join(&entry.file)).unwrap();
            let reply = api.invoke(&event).await;
            if entry.needs_ledger {
                let Reply::Error(error) = reply else {
                    panic!(
                        "{}: a timer without the ledger must fail, got {reply:?}",
                        entry.file
                    );
                };
                assert!(error.contains("EMPLOYEE_LEDGER_TABLE"), "{error}");
                continue;
            }
            let (status, body) = http_answer(&reply);
            entry.check(status, &body.to_string()).unwrap();
        }
    }
    let manifest: Vec<_> = manifest.into_iter().filter(|e| !e.needs_ledger).collect();
    let (stdout, stderr) = function.stop().await;
    assert_eq!(stderr, "", "nothing goes to stderr");

    let records: Vec<Value> = json_lines(&stdout)
        .into_iter()
        .filter(|r| r.get("decision").is_some())
        .collect();
    assert_eq!(
        records.len(),
        2 * manifest.len(),
        "one record per webhook:\n{stdout}"
    );
    for (record, entry) in records.iter().zip(manifest.iter().chain(manifest.iter())) {
        let expected = entry.decision.as_deref().unwrap_or("rejected");
        assert_eq!(record["decision"], expected, "{}", entry.file);
        let level = match expected {
            "terminated" | "undetermined" | "rejected" => "WARN",
            _ => "INFO",
        };
        assert_eq!(record["level"], level, "{}", entry.file);
        assert!(
            record["span"]["requestId"]
                .as_str()
                .is_some_and(|id| id.starts_with("request-")),
            "every record carries the Lambda request id: {record}"
        );
    }
    let terminated = records
        .iter()
        .find(|r| r["decision"] == "terminated")
        .unwrap();
    assert_eq!(terminated["message"], TERMINATED_MESSAGE);
    for field in [
        "reasons",
        "event",
        "employee_id",
        "remote_id",
        "employee_number",
        "work_email",
        "username",
        "display_full_name",
        "linked_account_id",
        "integration",
        "end_user_organization_name",
        "termination_date",
    ] {
        assert!(
            terminated[field].is_string(),
            "the terminated record lacks {field}: {terminated}"
        );
    }
}

#[tokio::test]
async fn without_a_signature_key_the_binary_reports_an_init_error_and_exits() {
    let (init_error, stdout) = refused_start(&[JSON_LOGS]).await;
    // Shown with --nocapture: the README points here to see the sentence.
    println!("init error posted to the Runtime API: {}", init_error.body);
    println!("what the function logged:\n{stdout}");
    assert_eq!(init_error.error_type, "Runtime.InitError");
    let body: Value = serde_json::from_str(&init_error.body).unwrap();
    assert_eq!(body["errorType"], "Runtime.InitError");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("MERGE_WEBHOOK_SIGNATURE_KEY")
    );
    let error = json_lines(&stdout)
        .into_iter()
        .find(|r| r["level"] == "ERROR")
        .expect("an ERROR record");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("refuses to start")
    );
}

/// Spawns the binary with `env`, expecting it to refuse to start: returns the init error
/// it posted and what it printed, once it has exited with a failure.
async fn refused_start(env: &[(&str, &str)]) -> (InitError, String) {
    let api = RuntimeApi::start().await;
    let mut function = Function::spawn(&binary(), &api, env);
    let error = api
        .init_error(Duration::from_secs(20))
        .await
        .expect("an init error is posted");
    let status = function
        .exit_status(Duration::from_secs(20))
        .await
        .expect("the process exits");
    assert!(!status.success());
    (error, function.stop().await.0)
}

#[tokio::test]
async fn an_invalid_body_limit_also_fails_init() {
    let (init_error, _) = refused_start(&[TEST_KEY, ("MAX_BODY_BYTES", "lots")]).await;
    assert!(init_error.body.contains("MAX_BODY_BYTES"));
}

#[tokio::test]
async fn a_log_level_the_logger_cannot_read_fails_init_naming_the_variable() {
    let (init_error, _) = refused_start(&[TEST_KEY, ("AWS_LAMBDA_LOG_LEVEL", "LOUD")]).await;
    assert!(init_error.body.contains("AWS_LAMBDA_LOG_LEVEL"));
}

#[tokio::test]
async fn a_variable_without_effect_is_named_in_a_warn_record_at_init() {
    let api = RuntimeApi::start().await;
    let function = Function::spawn(
        &binary(),
        &api,
        &[TEST_KEY, JSON_LOGS, ("SIGNATURE_KEY_REFRESH_SECONDS", "60")],
    );
    let event = std::fs::read_to_string(events_dir().join("employee-active.json")).unwrap();
    assert_eq!(http_answer(&api.invoke(&event).await).0, 200);
    let (stdout, _) = function.stop().await;
    let warning = json_lines(&stdout)
        .into_iter()
        .find(|r| r["level"] == "WARN" && r.get("span").is_none())
        .expect("a WARN record at init");
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .starts_with("SIGNATURE_KEY_REFRESH_SECONDS is ignored"),
        "{warning}"
    );
}

#[tokio::test]
async fn an_event_that_is_not_a_function_url_request_is_an_invocation_error_and_the_process_lives_on()
 {
    let api = RuntimeApi::start().await;
    let mut function = Function::spawn(&binary(), &api, &[TEST_KEY, JSON_LOGS]);
    let reply = api.invoke("[1, 2, 3]").await;
    assert!(matches!(reply, Reply::Error(_)), "{reply:?}");
    assert!(function.is_running());
    let event = std::fs::read_to_string(events_dir().join("employee-terminated.json")).unwrap();
    assert_eq!(http_answer(&api.invoke(&event).await).0, 200);
    function.stop().await;
}

#[tokio::test]
async fn text_logs_are_the_default_outside_lambdas_json_setting() {
    let api = RuntimeApi::start().await;
    let function = Function::spawn(&binary(), &api, &[TEST_KEY]);
    let event = std::fs::read_to_string(events_dir().join("employee-terminated.json")).unwrap();
    http_answer(&api.invoke(&event).await);
    let (stdout, _) = function.stop().await;
    let line = stdout
        .lines()
        .find(|l| l.contains(TERMINATED_MESSAGE))
        .expect("the record");
    assert!(
        line.contains("WARN") && line.contains("decision=\"terminated\""),
        "{line}"
    );
}

#[tokio::test]
async fn the_log_level_setting_is_honoured() {
    let api = RuntimeApi::start().await;
    let function = Function::spawn(
        &binary(),
        &api,
        &[TEST_KEY, JSON_LOGS, ("AWS_LAMBDA_LOG_LEVEL", "WARN")],
    );
    for file in ["employee-active.json", "employee-terminated.json"] {
        let event = std::fs::read_to_string(events_dir().join(file)).unwrap();
        http_answer(&api.invoke(&event).await);
    }
    let (stdout, _) = function.stop().await;
    let decisions: Vec<Value> = json_lines(&stdout)
        .into_iter()
        .filter_map(|r| r.get("decision").cloned())
        .collect();
    assert_eq!(
        decisions,
        vec![Value::from("terminated")],
        "INFO records are filtered at WARN"
    );
}

#[tokio::test]
async fn cold_start_is_measured_from_spawn_to_first_response() {
    let event = std::fs::read_to_string(events_dir().join("employee-terminated.json")).unwrap();
    let (elapsed, reply) = cold_start(&binary(), &[TEST_KEY, JSON_LOGS], &event).await;
    assert_eq!(http_answer(&reply).0, 200);
    // Reported, not asserted: timings belong to the benchmarks.
    println!("cold start (debug build, spawn to first response): {elapsed:?}");
}

#[tokio::test]
async fn hostile_bodies_never_take_down_the_warm_process() {
    use merge_deprovision_samples::{Signing, function_url_event};
    let api = RuntimeApi::start().await;
    let mut function = Function::spawn(
        &binary(),
        &api,
        &[
            TEST_KEY,
            JSON_LOGS,
            ("MAX_BODY_BYTES", "6291456"),
            ("RUST_BACKTRACE", "1"),
        ],
    );
    let valid = std::fs::read_to_string(events_dir().join("employee-terminated.json")).unwrap();
    let bodies = support::hostile::hostile_bodies();
    let invocations = 2 * bodies.len();
    for (name, expected, body) in bodies {
        let event =
            function_url_event("POST", &body, Signing::TestKey, true, "hostile").to_string();
        let (status, answer) = http_answer(&api.invoke(&event).await);
        assert!(status == 200 || status == 400, "{name}: {status}");
        let got = answer.get("decision").or(answer.get("error")).cloned();
        assert_eq!(got, Some(Value::from(expected)), "{name}");
        assert!(function.is_running(), "{name} stopped the process");
        let (status, answer) = http_answer(&api.invoke(&valid).await);
        assert_eq!(
            (status, &answer["decision"]),
            (200, &Value::from("terminated")),
            "after {name}"
        );
    }
    let (stdout, stderr) = function.stop().await;
    assert_one_json_record_per_invocation(&stdout, &stderr, invocations);
}

#[tokio::test]
async fn each_invocation_writes_one_emf_line_and_only_the_first_is_a_cold_start() {
    let api = RuntimeApi::start().await;
    let function = Function::spawn(&binary(), &api, &[TEST_KEY, JSON_LOGS]);
    let files = [
        "employee-terminated.json",
        "bad-signature.json",
        "linked-account-synced.json",
    ];
    for file in files {
        let event = std::fs::read_to_string(events_dir().join(file)).unwrap();
        http_answer(&api.invoke(&event).await);
    }
    let (stdout, _) = function.stop().await;
    let lines = json_lines(&stdout);
    let metrics: Vec<&Value> = lines.iter().filter(|l| l.get("_aws").is_some()).collect();
    let decisions: Vec<&Value> = lines
        .iter()
        .filter(|l| l.get("decision").is_some())
        .collect();
    assert_eq!(metrics.len(), files.len(), "{stdout}");
    let cold: Vec<u64> = metrics
        .iter()
        .map(|m| m["ColdStart"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(cold, vec![1, 0, 0]);
    let cold: Vec<bool> = decisions
        .iter()
        .map(|r| r["cold_start"].as_bool().unwrap())
        .collect();
    assert_eq!(cold, vec![true, false, false]);
    let kinds: Vec<&str> = metrics
        .iter()
        .map(|m| m["Decision"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["terminated", "rejected", "ignored"]);
    assert_eq!(metrics[1]["SignatureFailures"], 1);
    for (metric, record) in metrics.iter().zip(&decisions) {
        assert_eq!(metric["function_request_id"], record["function_request_id"]);
        assert!(
            record["function_request_id"]
                .as_str()
                .unwrap()
                .starts_with("request-")
        );
        assert_eq!(record["function_name"], "merge-deprovision");
        assert_eq!(record["function_memory_size"], 128);
    }
}

#[tokio::test]
async fn policy_knobs_are_read_from_the_environment_and_bad_values_fail_init() {
    let api = RuntimeApi::start().await;
    let function = Function::spawn(
        &binary(),
        &api,
        &[
            TEST_KEY,
            JSON_LOGS,
            ("INACTIVE_WITHOUT_DATE", "undetermined"),
        ],
    );
    let event =
        std::fs::read_to_string(events_dir().join("employee-inactive-no-date.json")).unwrap();
    let (status, body) = http_answer(&api.invoke(&event).await);
    assert_eq!(
        (status, body["decision"].as_str()),
        (200, Some("undetermined"))
    );
    function.stop().await;

    for (name, value) in [
        ("TERMINATION_OFFSET_HOURS", "1000"),
        ("INACTIVE_WITHOUT_DATE", "maybe"),
    ] {
        let (error, _) = refused_start(&[TEST_KEY, (name, value)]).await;
        assert!(error.body.contains(name), "{}", error.body);
    }
}

/// Found by the fuzzer: `lambda_http` panics converting an event whose base64 body does
/// not decode, or whose `x-forwarded-proto` makes the URI unparseable. The guard around
/// the adapter answers those 400 like any unreadable request, and the process keeps
/// serving.
#[tokio::test]
async fn events_the_adapter_cannot_read_get_a_400_and_the_process_lives_on() {
    use merge_deprovision_samples::{Signing, function_url_event};
    let api = RuntimeApi::start().await;
    let mut function = Function::spawn(
        &binary(),
        &api,
        &[TEST_KEY, JSON_LOGS, ("RUST_BACKTRACE", "full")],
    );
    let mut bad_base64 = function_url_event("POST", b"{}", Signing::TestKey, true, "bad-base64");
    bad_base64["body"] = Value::from("not base64 at all!");
    let mut bad_proto = function_url_event("POST", b"{}", Signing::TestKey, false, "bad-proto");
    bad_proto["headers"]["x-forwarded-proto"] = Value::from("h ttps");
    let valid = std::fs::read_to_string(events_dir().join("employee-terminated.json")).unwrap();
    for event in [bad_base64, bad_proto] {
        let (status, body) = http_answer(&api.invoke(&event.to_string()).await);
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("unreadable_request")),
            "{body}"
        );
        assert!(function.is_running());
        assert_eq!(http_answer(&api.invoke(&valid).await).0, 200);
    }
    let (stdout, stderr) = function.stop().await;
    // No panic message, backtrace or second warning: the refusal's record is the line.
    assert_one_json_record_per_invocation(&stdout, &stderr, 4);
    let rejected: Vec<Value> = json_lines(&stdout)
        .into_iter()
        .filter(|r| r["error"] == "unreadable_request")
        .collect();
    assert_eq!(rejected.len(), 2, "each refusal is logged: {stdout}");
    let metrics = json_lines(&stdout)
        .into_iter()
        .filter(|l| l["Decision"] == "rejected")
        .count();
    assert_eq!(metrics, 2, "and counted");
}

/// `cargo lambda watch` names the Runtime API by a full URL with a path, where Lambda
/// gives `host:port`: the function serves, and reports init errors, under either.
#[tokio::test]
async fn the_runtime_api_may_be_named_by_a_full_url_as_cargo_lambda_does() {
    let api = RuntimeApi::start_under("/.rt/merge-deprovision").await;
    assert!(api.address().starts_with("http://"));
    let function = Function::spawn(&binary(), &api, &[TEST_KEY, JSON_LOGS]);
    let event = std::fs::read_to_string(events_dir().join("employee-terminated.json")).unwrap();
    assert_eq!(http_answer(&api.invoke(&event).await).0, 200);
    function.stop().await;

    let api = RuntimeApi::start_under("/.rt/merge-deprovision").await;
    let mut function = Function::spawn(
        &binary(),
        &api,
        &[TEST_KEY, ("TERMINATION_OFFSET_HOURS", "500")],
    );
    let error = api
        .init_error(Duration::from_secs(20))
        .await
        .expect("the init error reaches a Runtime API named by a URL");
    assert_eq!(error.error_type, "Runtime.InitError");
    assert!(
        error.body.contains("TERMINATION_OFFSET_HOURS"),
        "{}",
        error.body
    );
    assert!(
        function
            .exit_status(Duration::from_secs(20))
            .await
            .is_some()
    );
    let (stdout, _) = function.stop().await;
    assert!(!stdout.contains("did not acknowledge"), "{stdout}");
}

#[tokio::test]
async fn a_configuration_error_is_one_sentence_naming_the_variable_and_no_debug_output() {
    let (init_error, stdout) =
        refused_start(&[TEST_KEY, ("TERMINATION_OFFSET_HOURS", "500")]).await;
    let body: Value = serde_json::from_str(&init_error.body).unwrap();
    let sentence = body["errorMessage"].as_str().unwrap();
    assert!(
        sentence.starts_with("TERMINATION_OFFSET_HOURS must be"),
        "{sentence}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(lines[0].contains(sentence), "{stdout}");
    assert!(!stdout.contains("InvalidTerminationOffset"), "{stdout}");
}

#[test]
fn run_by_hand_outside_lambda_it_says_what_it_is_in_one_line_and_exits_non_zero() {
    let output = std::process::Command::new(binary())
        .env_clear()
        .env("MERGE_WEBHOOK_SIGNATURE_KEY", LOCAL_TEST_KEY)
        .env("RUST_BACKTRACE", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(output.stdout, b"");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("AWS_LAMBDA_RUNTIME_API"), "{stderr}");
    assert!(stderr.contains("cargo lambda watch"), "{stderr}");
    assert!(
        stderr.contains("cargo run --example replay-events"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `cargo lambda watch` can take an init error without ever answering it, and without
/// failing the invocation that waits. The function then answers each invocation with
/// the reason, so that `cargo lambda invoke` shows it instead of hanging.
#[tokio::test]
async fn an_init_error_nobody_acknowledges_is_the_answer_to_every_invocation() {
    let api = RuntimeApi::start_without_init_error_answers().await;
    let function = Function::spawn(
        &binary(),
        &api,
        &[TEST_KEY, JSON_LOGS, ("TERMINATION_OFFSET_HOURS", "500")],
    );
    let event = std::fs::read_to_string(events_dir().join("employee-active.json")).unwrap();
    for _ in 0..2 {
        let Reply::Error(body) = api.invoke(&event).await else {
            panic!("the invocation fails");
        };
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["errorType"], "Runtime.InitError");
        assert!(
            error["errorMessage"]
                .as_str()
                .unwrap()
                .starts_with("TERMINATION_OFFSET_HOURS must be"),
            "{error}"
        );
    }
    let (stdout, stderr) = function.stop().await;
    assert_eq!(stderr, "");
    let lines = json_lines(&stdout);
    assert!(
        lines.iter().all(|line| line.get("decision").is_none()),
        "no delivery is decided: {stdout}"
    );
    // The reason comes first and is the only ERROR; the report that was not taken
    // follows at WARN, so the output does not read as two failures.
    let init: Vec<&Value> = lines.iter().filter(|l| l.get("span").is_none()).collect();
    let levels: Vec<&str> = init.iter().map(|l| l["level"].as_str().unwrap()).collect();
    assert_eq!(levels, ["ERROR", "WARN"], "{stdout}");
    assert!(
        lines[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("TERMINATION_OFFSET_HOURS must be")
    );
}
