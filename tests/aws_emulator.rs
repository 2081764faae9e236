//! The built binary against the real AWS SDK and an AWS emulator (moto in server mode)
//! on loopback, through a proxy that can throttle or drop its calls: the ledger in
//! DynamoDB, timers in EventBridge Scheduler, the key in Secrets Manager.
//!
//! These need the emulator, so they are ignored by a plain `cargo test`;
//! `scripts/aws-emulator-check.sh` installs and starts it, and runs them with
//! `AWS_EMULATOR_ENDPOINT` set.

mod support;

use aws_sdk_scheduler::Client;
use merge_deprovision::telemetry::record::{
    HISTORICAL_MESSAGE, LEDGER_FAILED_MESSAGE, TERMINATED_MESSAGE,
};
use merge_deprovision_samples::{Signing, employee_envelope, function_url_event};
use serde_json::{Value, json};
use std::net::SocketAddr;
use support::aws_proxy::{AwsProxy, Mode};
use support::runtime_api::{Function, Reply, RuntimeApi};

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/merge-deprovision-scheduler";
const DLQ_ARN: &str = "arn:aws:sqs:eu-west-1:123456789012:merge-deprovision-dlq";
/// What the loopback Runtime API names the function as.
const FUNCTION_ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:merge-deprovision";
const SENTINEL: &str = "SENTINEL-PII-4f1c";

fn emulator() -> SocketAddr {
    let url = std::env::var("AWS_EMULATOR_ENDPOINT")
        .expect("AWS_EMULATOR_ENDPOINT names the emulator: run scripts/aws-emulator-check.sh");
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("the endpoint is http://host:port")
}

/// A Scheduler client straight to the emulator, to read what the function stored.
fn scheduler() -> Client {
    Client::new(&emulator_config())
}

/// The SDK configuration of the clients that read the emulator directly: the same TLS as
/// the function's, any credentials, a fixed Region.
fn emulator_config() -> aws_config::SdkConfig {
    use aws_sdk_scheduler::config::{
        BehaviorVersion, Credentials, Region, SharedCredentialsProvider,
    };
    use aws_smithy_http_client::tls;
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url(format!("http://{}", emulator()))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "emulator",
        )))
        .http_client(http)
        .build()
}

/// A DynamoDB client straight to the emulator, to read the ledger.
fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&emulator_config())
}

/// A ledger table of the test's own, keyed as the template keys it.
async fn table(client: &aws_sdk_dynamodb::Client, name: &str) -> String {
    use aws_sdk_dynamodb::types::{BillingMode, KeySchemaElement, KeyType};
    let table = format!("{name}-{}", std::process::id());
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(support::ledger_table::attribute_definitions()))
        .key_schema(key("linked_account_id", KeyType::Hash))
        .key_schema(key("employee_id", KeyType::Range))
        // The template's match indexes, exactly.
        .set_global_secondary_indexes(Some(support::ledger_table::global_secondary_indexes()))
        .send()
        .await
        .expect("the emulator creates the table");
    table
}

/// The ledger's entry for employee `id` of the sample linked account, as stored.
async fn entry(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    id: &str,
) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    use aws_sdk_dynamodb::types::AttributeValue;
    client
        .get_item()
        .table_name(table)
        .key(
            "linked_account_id",
            AttributeValue::S(LINKED_ACCOUNT.to_owned()),
        )
        .key("employee_id", AttributeValue::S(id.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("the emulator reads the table")
        .item
}

fn text(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    name: &str,
) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// The linked account of the sample envelope.
const LINKED_ACCOUNT: &str = "a3602c03-aba7-4d9d-a349-dbc338504092";

/// A schedule group of the test's own, made as the template makes it.
async fn group(client: &Client, name: &str) -> String {
    let group = format!("{name}-{}", std::process::id());
    client
        .create_schedule_group()
        .name(&group)
        .send()
        .await
        .expect("the emulator creates the group");
    group
}

fn spawn(api: &RuntimeApi, proxy: &AwsProxy, group: &str, table: &str) -> Function {
    let endpoint = proxy.url();
    Function::spawn(
        &std::path::PathBuf::from(env!("CARGO_BIN_EXE_merge-deprovision")),
        api,
        &[
            (
                "MERGE_WEBHOOK_SIGNATURE_KEY",
                merge_deprovision_samples::LOCAL_TEST_KEY,
            ),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("TERMINATION_SCHEDULE_GROUP", group),
            ("TERMINATION_SCHEDULE_ROLE_ARN", ROLE_ARN),
            ("TERMINATION_SCHEDULE_DLQ_ARN", DLQ_ARN),
            ("EMPLOYEE_LEDGER_TABLE", table),
        ],
    )
}

/// A signed delivery for employee `id`, with `fields` and sentinels in the sensitive
/// fields.
fn delivery(id: &str, fields: Value) -> String {
    let envelope = employee_envelope("Employee.changed", |data| {
        data.insert("id".into(), json!(id));
        for sensitive in [
            "ssn",
            "personal_email",
            "date_of_birth",
            "mobile_phone_number",
        ] {
            data.insert(sensitive.into(), json!(SENTINEL));
        }
        for (name, value) in fields.as_object().unwrap() {
            data.insert(name.clone(), value.clone());
        }
    });
    let body = serde_json::to_vec(&envelope).unwrap();
    function_url_event("POST", &body, Signing::TestKey, false, id).to_string()
}

/// A termination date of last week, by the clock the binary decides with: current, well
/// inside the lookback before a first-seen account's baseline.
fn last_week() -> String {
    (chrono::Utc::now() - chrono::TimeDelta::days(7))
        .format("%Y-%m-%d")
        .to_string()
}

fn terminated(id: &str, modified_at: &str) -> String {
    delivery(
        id,
        json!({"employment_status": "INACTIVE", "termination_date": last_week(), "modified_at": modified_at}),
    )
}

fn scheduled(id: &str, date: &str, modified_at: &str) -> String {
    delivery(
        id,
        json!({"employment_status": "ACTIVE", "termination_date": date, "modified_at": modified_at}),
    )
}

/// Status and body of a function URL answer, or the result of a fired event.
fn answer(reply: &Reply) -> (u16, Value) {
    let Reply::Response(text) = reply else {
        panic!("expected a response, got {reply:?}");
    };
    let response: Value = serde_json::from_str(text).unwrap();
    match response["statusCode"].as_u64() {
        Some(status) => (
            status as u16,
            serde_json::from_str(response["body"].as_str().unwrap()).unwrap(),
        ),
        None => (200, response),
    }
}

async fn stored_input(client: &Client, group: &str, name: &str) -> Option<Value> {
    let schedule = client
        .get_schedule()
        .group_name(group)
        .name(name)
        .send()
        .await
        .ok()?;
    let input = schedule.target()?.input()?;
    serde_json::from_str(input).ok()
}

async fn names(client: &Client, group: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_schedules()
            .group_name(group)
            .set_next_token(token)
            .max_results(100)
            .send()
            .await
            .expect("the emulator lists schedules");
        names.extend(
            page.schedules()
                .iter()
                .filter_map(|s| s.name().map(str::to_owned)),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return names;
        }
    }
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect()
}

#[tokio::test]
#[ignore = "needs the AWS emulator: scripts/aws-emulator-check.sh"]
async fn the_binary_records_sets_moves_fires_and_cancels_through_the_sdk() {
    let client = scheduler();
    let ledger = dynamodb();
    let group = group(&client, "lifecycle").await;
    let table = table(&ledger, "ledger-lifecycle").await;
    let proxy = AwsProxy::start(emulator()).await;
    let api = RuntimeApi::start().await;
    let function = spawn(&api, &proxy, &group, &table);

    let (status, body) = answer(
        &api.invoke(&scheduled("e1", "2099-06-30", "2026-11-26T01:00:00Z"))
            .await,
    );
    assert_eq!(
        (status, body["decision"].as_str(), body["ledger"].as_str()),
        (200, Some("scheduled"), Some("created")),
        "{body}"
    );
    let item = entry(&ledger, &table, "e1")
        .await
        .expect("the entry is stored");
    assert_eq!(text(&item, "decision"), "scheduled");
    assert_eq!(text(&item, "work_email"), "greg@merge.dev");
    assert_eq!(text(&item, "modified_at"), "2026-11-26T01:00:00Z");
    assert!(
        !format!("{item:?}").contains(SENTINEL),
        "no sensitive field is stored in the ledger"
    );
    let stored = names(&client, &group).await;
    assert_eq!(stored.len(), 1);
    let name = &stored[0];
    let schedule = client
        .get_schedule()
        .group_name(&group)
        .name(name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        schedule.schedule_expression(),
        Some("at(2099-06-30T00:00:00)")
    );
    assert_eq!(schedule.schedule_expression_timezone(), Some("UTC"));
    assert_eq!(
        schedule.flexible_time_window().map(|w| w.mode().as_str()),
        Some("OFF")
    );
    assert_eq!(
        schedule.action_after_completion().map(|a| a.as_str()),
        Some("DELETE")
    );
    let target = schedule.target().unwrap();
    assert_eq!(target.arn(), FUNCTION_ARN);
    assert_eq!(target.role_arn(), ROLE_ARN);
    assert_eq!(
        target.dead_letter_config().and_then(|d| d.arn()),
        Some(DLQ_ARN)
    );
    assert!(target.retry_policy().is_some());
    let input: Value = serde_json::from_str(target.input().unwrap()).unwrap();
    assert_eq!(input["kind"], "merge-deprovision.termination-timer");
    assert_eq!(input["employee_id"], "e1");
    let whole = format!("{schedule:?}");
    assert!(!whole.contains(SENTINEL), "no sensitive field in the timer");
    assert!(!whole.contains("greg"), "no identity in the timer");

    // A later date moves the same timer, every field sent again.
    let (status, _) = answer(
        &api.invoke(&scheduled("e1", "2099-07-31", "2026-11-26T02:00:00Z"))
            .await,
    );
    assert_eq!(status, 200);
    let schedule = client
        .get_schedule()
        .group_name(&group)
        .name(name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        schedule.schedule_expression(),
        Some("at(2099-07-31T00:00:00)")
    );
    assert_eq!(schedule.target().unwrap().arn(), FUNCTION_ARN);

    // Fired as Scheduler fires it: its input, then the schedule is deleted (which the
    // emulator does not do by itself).
    let fired = schedule.target().unwrap().input().unwrap().to_owned();
    client
        .delete_schedule()
        .group_name(&group)
        .name(name)
        .send()
        .await
        .unwrap();
    let (status, body) = answer(&api.invoke(&fired).await);
    assert_eq!(
        (status, body["decision"].as_str()),
        (200, Some("terminated"))
    );
    let item = entry(&ledger, &table, "e1").await.unwrap();
    assert_eq!(text(&item, "decision"), "terminated");
    assert_eq!(text(&item, "changed_by"), "schedule");
    // The same firing again (Lambda's retry of an event already handled) changes nothing.
    let (_, body) = answer(&api.invoke(&fired).await);
    assert_eq!(body["decision"], "outdated");

    // A rehire, then a stale retry of the first scheduled delivery: no timer comes back.
    let active = delivery(
        "e1",
        json!({"employment_status": "ACTIVE", "termination_date": null, "modified_at": "2026-11-26T03:00:00Z"}),
    );
    assert_eq!(answer(&api.invoke(&active).await).0, 200);
    let stale = scheduled("e1", "2099-06-30", "2026-11-26T01:00:00Z");
    let (_, body) = answer(&api.invoke(&stale).await);
    assert_eq!(body["ledger"], "stale");
    assert!(names(&client, &group).await.is_empty(), "no timer");
    assert_eq!(
        text(&entry(&ledger, &table, "e1").await.unwrap(), "decision"),
        "active"
    );

    // A terminated delivery, replayed: one WARN terminated record, then INFO.
    for _ in 0..3 {
        let (status, body) = answer(&api.invoke(&terminated("e2", "2026-11-26T05:00:00Z")).await);
        assert_eq!(
            (status, body["decision"].as_str()),
            (200, Some("terminated"))
        );
    }

    let (stdout, stderr) = function.stop().await;
    assert_eq!(stderr, "");
    assert!(!stdout.contains(SENTINEL));
    let records: Vec<Value> = json_lines(&stdout)
        .into_iter()
        .filter(|r| r.get("ledger").is_some())
        .collect();
    let ledger_field: Vec<&str> = records
        .iter()
        .map(|r| r["ledger"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(
        ledger_field,
        vec![
            "created",
            "updated",
            "moved",
            "outdated",
            "moved",
            "stale",
            "created",
            "unchanged",
            "unchanged"
        ]
    );
    let announced: Vec<&Value> = records
        .iter()
        .filter(|r| r["level"] == "WARN" && r["message"] == TERMINATED_MESSAGE)
        .collect();
    assert_eq!(announced.len(), 2, "the firing and the first e2 delivery");
    assert_eq!(announced[0]["reasons"], "termination_date_reached");
    assert_eq!(
        announced[0]["work_email"], "greg@merge.dev",
        "from the ledger"
    );
    assert_eq!(announced[1]["employee_id"], "e2");
}

#[tokio::test]
#[ignore = "needs the AWS emulator: scripts/aws-emulator-check.sh"]
async fn twenty_concurrent_deliveries_for_one_employee_leave_the_newest_and_one_timer() {
    let client = scheduler();
    let ledger = dynamodb();
    let group = group(&client, "concurrent").await;
    let table = table(&ledger, "ledger-concurrent").await;
    let proxy = AwsProxy::start(emulator()).await;
    // Ten processes, as Lambda would run ten at once, two deliveries each.
    let mut processes = Vec::new();
    for _ in 0..10 {
        let api = RuntimeApi::start().await;
        let function = spawn(&api, &proxy, &group, &table);
        processes.push((api, function));
    }
    let deliveries: Vec<String> = (0..20)
        .map(|i| {
            let modified_at = format!("2026-11-26T{i:02}:00:00Z");
            if i == 19 {
                scheduled("e-busy", "2099-12-31", &modified_at)
            } else if i % 2 == 0 {
                scheduled(
                    "e-busy",
                    &format!("2099-{:02}-01", 1 + i % 12),
                    &modified_at,
                )
            } else {
                terminated("e-busy", &modified_at)
            }
        })
        .rev()
        .collect();
    let results = support::join_all(processes.iter().enumerate().map(|(n, (api, _))| {
        let pair = [deliveries[2 * n].clone(), deliveries[2 * n + 1].clone()];
        async move {
            let mut statuses = Vec::new();
            for delivery in pair {
                statuses.push(answer(&api.invoke(&delivery).await).0);
            }
            statuses
        }
    }))
    .await;
    assert!(results.iter().flatten().all(|s| *s == 200), "{results:?}");
    let item = entry(&ledger, &table, "e-busy").await.unwrap();
    assert_eq!(
        text(&item, "modified_at"),
        "2026-11-26T19:00:00Z",
        "the newest wins"
    );
    assert_eq!(text(&item, "decision"), "scheduled");
    let timers = names(&client, &group).await;
    assert_eq!(timers.len(), 1, "one timer");
    let input = stored_input(&client, &group, &timers[0]).await.unwrap();
    assert_eq!(input["modified_at"], "2026-11-26T19:00:00Z");
    assert_eq!(input["effective_at"], "2099-12-31T00:00:00Z");
    let mut terminated_records = 0;
    for (_, function) in processes {
        let (stdout, _) = function.stop().await;
        terminated_records += json_lines(&stdout)
            .iter()
            .filter(|r| r["message"] == TERMINATED_MESSAGE)
            .count();
    }
    println!("20 concurrent deliveries: {terminated_records} terminated records");
}

#[tokio::test]
#[ignore = "needs the AWS emulator: scripts/aws-emulator-check.sh"]
async fn an_unreachable_ledger_is_a_503_with_an_error_record_and_the_process_serves_on() {
    let client = scheduler();
    let ledger = dynamodb();
    let group = group(&client, "down").await;
    let table = table(&ledger, "ledger-down").await;
    let proxy = AwsProxy::start(emulator()).await;
    let api = RuntimeApi::start().await;
    let mut function = spawn(&api, &proxy, &group, &table);

    proxy.set_mode(Mode::Down);
    let delivery = scheduled("e-down", "2099-06-30", "2026-11-26T01:00:00Z");
    let (status, body) = answer(&api.invoke(&delivery).await);
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("ledger_unavailable"))
    );
    assert!(function.is_running());

    proxy.set_mode(Mode::Forward);
    let (status, _) = answer(&api.invoke(&delivery).await);
    assert_eq!(status, 200, "the retry is served");
    assert_eq!(names(&client, &group).await.len(), 1);

    let (stdout, _) = function.stop().await;
    let lines = json_lines(&stdout);
    let error = lines
        .iter()
        .find(|r| r["level"] == "ERROR")
        .expect("one ERROR record");
    assert_eq!(error["decision"], "scheduled");
    assert_eq!(error["employee_id"], "e-down");
    assert_eq!(error["message"], LEDGER_FAILED_MESSAGE);
    assert!(
        matches!(
            error["ledger_error"].as_str(),
            Some("unreachable" | "timed_out")
        ),
        "{error}"
    );
    assert!(
        lines.iter().any(|l| l["LedgerFailures"] == 1),
        "the failure is counted"
    );
}

#[tokio::test]
#[ignore = "needs the AWS emulator: scripts/aws-emulator-check.sh"]
async fn with_a_third_of_the_calls_throttled_300_deliveries_end_as_exactly_300_schedules() {
    let client = scheduler();
    let ledger = dynamodb();
    let group = group(&client, "throttled").await;
    let table = table(&ledger, "ledger-throttled").await;
    let proxy = AwsProxy::start(emulator()).await;
    let api = RuntimeApi::start().await;
    let function = spawn(&api, &proxy, &group, &table);
    proxy.set_mode(Mode::ThrottleAThird);

    let deliveries: Vec<String> = (0..300)
        .map(|i| scheduled(&format!("e-{i:03}"), "2099-06-30", "2026-11-26T01:00:00Z"))
        .collect();
    let mut pending: Vec<&String> = deliveries.iter().collect();
    let mut first_round_refused = None;
    for round in 0..20 {
        let mut refused = Vec::new();
        for delivery in pending {
            let (status, body) = answer(&api.invoke(delivery).await);
            match status {
                200 => assert_eq!(body["decision"], "scheduled"),
                503 => refused.push(delivery),
                other => panic!("round {round}: status {other}: {body}"),
            }
        }
        first_round_refused.get_or_insert(refused.len());
        pending = refused;
        if pending.is_empty() {
            break;
        }
    }
    assert!(
        pending.is_empty(),
        "{} deliveries never succeeded",
        pending.len()
    );
    assert_eq!(names(&client, &group).await.len(), 300);
    let scanned = ledger
        .scan()
        .table_name(&table)
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .unwrap();
    assert_eq!(
        scanned.count(),
        301,
        "one entry per employee, and the account's baseline item"
    );
    println!(
        "300 deliveries: {} answered 503 at first and succeeded when resent; {} of {} calls throttled",
        first_round_refused.unwrap_or(0),
        proxy.throttled(),
        proxy.requests()
    );
    function.stop().await;
}

/// A Secrets Manager client straight to the emulator.
fn secrets() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&emulator_config())
}

/// A secret of the test's own holding `value`; returns its name.
async fn secret(client: &aws_sdk_secretsmanager::Client, name: &str, value: &str) -> String {
    let name = format!("{name}-{}", std::process::id());
    client
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .expect("the emulator creates the secret");
    name
}

fn spawn_with_secret(api: &RuntimeApi, proxy: &AwsProxy, secret: &str) -> Function {
    let endpoint = proxy.url();
    Function::spawn(
        &std::path::PathBuf::from(env!("CARGO_BIN_EXE_merge-deprovision")),
        api,
        &[
            ("MERGE_WEBHOOK_SIGNATURE_SECRET_ID", secret),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ],
    )
}

/// A delivery signed with `key`.
fn signed_with(key: &str) -> String {
    let body = br#"{"hook":{"event":"Employee.changed"},"data":{"id":"e1","employment_status":"INACTIVE"}}"#;
    let mut event = function_url_event("POST", body, Signing::Unsigned, false, "secret");
    event["headers"]["x-merge-webhook-signature"] =
        merge_deprovision::domain::signature::sign(key.as_bytes(), body).into();
    event.to_string()
}

#[tokio::test]
#[ignore = "needs the AWS emulator: scripts/aws-emulator-check.sh"]
async fn the_binary_starts_from_a_plain_or_json_secret_and_follows_a_rotation() {
    const OLD: &str = "SENTINEL-KEY-old-5e1a";
    const NEW: &str = "SENTINEL-KEY-new-77b2";
    let client = secrets();
    let mut running = Vec::new();
    for (label, value) in [
        ("plain", OLD.to_owned()),
        ("json", format!(r#"{{"current": "{OLD}"}}"#)),
    ] {
        let name = secret(&client, &format!("merge-key-{label}"), &value).await;
        let proxy = AwsProxy::start(emulator()).await;
        let api = RuntimeApi::start().await;
        let function = spawn_with_secret(&api, &proxy, &name);
        let (status, _) = answer(&api.invoke(&signed_with(OLD)).await);
        assert_eq!(
            status, 200,
            "{label}: verified with the key from the secret"
        );
        running.push((label, name, proxy, api, function));
    }
    // A process reads the secret at most once a minute, the read at init included: a
    // rotation is followed from the first delivery after its first minute.
    tokio::time::sleep(std::time::Duration::from_secs(61)).await;
    for (label, name, _proxy, api, function) in running {
        client
            .put_secret_value()
            .secret_id(&name)
            .secret_string(format!(r#"{{"current": "{NEW}", "previous": "{OLD}"}}"#))
            .send()
            .await
            .unwrap();
        let (status, body) = answer(&api.invoke(&signed_with(NEW)).await);
        assert_eq!(status, 200, "{label}: the new key verifies at once: {body}");
        let (status, _) = answer(&api.invoke(&signed_with(OLD)).await);
        assert_eq!(status, 200, "{label}: the previous key too");
        let (status, body) = answer(&api.invoke(&signed_with("neither-key")).await);
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_signature"))
        );

        let (stdout, stderr) = function.stop().await;
        for key in [OLD, NEW] {
            assert!(
                !stdout.contains(key) && !stderr.contains(key),
                "{label}: a key leaked"
            );
        }
    }
}

#[tokio::test]
#[ignore = "needs the AWS emulator: scripts/aws-emulator-check.sh"]
async fn a_secret_that_does_not_exist_fails_init_naming_the_variable() {
    let proxy = AwsProxy::start(emulator()).await;
    let api = RuntimeApi::start().await;
    let mut function = spawn_with_secret(&api, &proxy, "no-such-secret");
    let error = api
        .init_error(std::time::Duration::from_secs(20))
        .await
        .expect("an init error");
    assert_eq!(error.error_type, "Runtime.InitError");
    assert!(
        error.body.contains("MERGE_WEBHOOK_SIGNATURE_SECRET_ID"),
        "{}",
        error.body
    );
    assert!(
        error.body.contains("ResourceNotFoundException"),
        "{}",
        error.body
    );
    assert!(
        function
            .exit_status(std::time::Duration::from_secs(20))
            .await
            .is_some_and(|s| !s.success())
    );
}

#[tokio::test]
#[ignore = "needs the AWS emulator: scripts/aws-emulator-check.sh"]
async fn a_thousand_bad_signatures_cause_at_most_a_few_secret_reads() {
    const KEY: &str = "SENTINEL-KEY-flood-0c3d";
    let client = secrets();
    let name = secret(&client, "merge-key-flood", KEY).await;
    let proxy = AwsProxy::start(emulator()).await;
    let api = RuntimeApi::start().await;
    let function = spawn_with_secret(&api, &proxy, &name);
    let bad = signed_with("not-the-key");
    for _ in 0..1000 {
        assert_eq!(answer(&api.invoke(&bad).await).0, 401);
    }
    let reads = proxy.requests();
    println!("1000 bad signatures: {reads} Secrets Manager requests, the read at init included");
    assert!(reads <= 3, "{reads} reads");
    let (stdout, _) = function.stop().await;
    assert!(!stdout.contains(KEY));
}

#[tokio::test]
#[ignore = "needs the AWS emulator: scripts/aws-emulator-check.sh"]
async fn cold_start_with_the_key_in_a_secret_against_the_emulator() {
    let client = secrets();
    let name = secret(&client, "merge-key-cold", "cold-start-key").await;
    let proxy = AwsProxy::start(emulator()).await;
    let event = signed_with("cold-start-key");
    let mut with_secret = Vec::new();
    let mut with_variable = Vec::new();
    for _ in 0..5 {
        let api = RuntimeApi::start().await;
        let function = spawn_with_secret(&api, &proxy, &name);
        assert_eq!(answer(&api.invoke(&event).await).0, 200);
        with_secret.push(function.spawned_at.elapsed());
        function.stop().await;
        let api = RuntimeApi::start().await;
        let function = Function::spawn(
            &std::path::PathBuf::from(env!("CARGO_BIN_EXE_merge-deprovision")),
            &api,
            &[("MERGE_WEBHOOK_SIGNATURE_KEY", "cold-start-key")],
        );
        assert_eq!(answer(&api.invoke(&event).await).0, 200);
        with_variable.push(function.spawned_at.elapsed());
        function.stop().await;
    }
    with_secret.sort();
    with_variable.sort();
    println!(
        "cold start, spawn to first response, median of 5 (this build): key in a secret on \
         the emulator {:?}, key in the environment {:?}",
        with_secret[2], with_variable[2]
    );
}

#[tokio::test]
#[ignore = "needs the AWS emulator: scripts/aws-emulator-check.sh"]
async fn a_sweep_runs_against_the_emulators_dynamodb_scheduler_and_secrets_manager() {
    use support::fake_merge::{API_KEY, FakeMerge, employees};
    const TOKEN: &str = "SENTINEL-ACCOUNT-TOKEN-9c2e";
    let merge = FakeMerge::start();
    let mut staff = employees(150, "2026-11-20T08:00:00Z");
    // A leaver of last week (current), and one who left in 2020, long before this first
    // sweep saw the account (historical: recorded, not announced).
    staff[3]["employment_status"] = json!("INACTIVE");
    staff[3]["termination_date"] = json!(last_week());
    staff[4]["termination_date"] = json!("2099-06-30T00:00:00Z");
    staff[5]["employment_status"] = json!("INACTIVE");
    staff[5]["termination_date"] = json!("2020-01-01T00:00:00Z");
    merge.set_account(TOKEN, staff);
    let (scheduler, ledger) = (scheduler(), dynamodb());
    let group = group(&scheduler, "sweeps").await;
    let table = table(&ledger, "sweeps").await;
    let secret = secret(
        &secrets(),
        "merge-api",
        &json!({"api_key": API_KEY, "account_tokens": {LINKED_ACCOUNT: TOKEN}}).to_string(),
    )
    .await;
    let proxy = AwsProxy::start(emulator()).await;
    let api = RuntimeApi::start().await;
    let endpoint = proxy.url();
    let base_url = merge.base_url();
    let function = Function::spawn(
        &std::path::PathBuf::from(env!("CARGO_BIN_EXE_merge-deprovision")),
        &api,
        &[
            (
                "MERGE_WEBHOOK_SIGNATURE_KEY",
                merge_deprovision_samples::LOCAL_TEST_KEY,
            ),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("TERMINATION_SCHEDULE_GROUP", &group),
            ("TERMINATION_SCHEDULE_ROLE_ARN", ROLE_ARN),
            ("EMPLOYEE_LEDGER_TABLE", &table),
            ("MERGE_API_SECRET_ID", &secret),
            ("MERGE_API_BASE_URL", &base_url),
        ],
    );

    let document = json!({"kind": "merge-deprovision.reconcile", "version": 1,
        "linked_account_id": LINKED_ACCOUNT});
    let sweep_name = merge_deprovision::domain::reconcile::sweep_schedule_name(LINKED_ACCOUNT);
    // The loopback Runtime API gives each invocation 3 s, and every ledger call goes to
    // the emulator: the sweep takes several invocations, each continuing where the last
    // stopped, through the follow-up schedule it leaves (fired here, as Scheduler would).
    let mut input = document.to_string();
    let mut found = 0;
    let mut invocations = 0;
    let body = loop {
        invocations += 1;
        assert!(invocations <= 30, "the sweep ends");
        let (status, body) = answer(&api.invoke(&input).await);
        assert_eq!(status, 200);
        found += body["found"].as_u64().unwrap();
        if body["reconciliation"] != "paused" {
            break body;
        }
        // Each follow-up has a name of its own: the fixed name's hash and its minute.
        let follow_up_name = names(&scheduler, &group)
            .await
            .into_iter()
            .find(|n| n.starts_with(&format!("{sweep_name}-")))
            .expect("a paused sweep leaves its follow-up");
        let follow_up = stored_input(&scheduler, &group, &follow_up_name)
            .await
            .expect("the follow-up's input");
        scheduler
            .delete_schedule()
            .group_name(&group)
            .name(&follow_up_name)
            .send()
            .await
            .unwrap();
        input = follow_up.to_string();
    };

    assert_eq!(body["reconciliation"], "completed", "{body}");
    assert_eq!(
        body["employees"], 150,
        "the whole sweep, over {invocations} invocations"
    );
    assert_eq!(found, 2, "the leaver and the future date");
    let cursors: Vec<Option<String>> = merge
        .requests()
        .iter()
        .map(|r| {
            r.query
                .iter()
                .find(|(n, _)| n == "cursor")
                .map(|(_, v)| v.clone())
        })
        .collect();
    let distinct: std::collections::BTreeSet<_> = cursors.iter().collect();
    assert!(
        distinct.len() == 2,
        "both pages, and only they: {cursors:?}"
    );
    let leaver = entry(&ledger, &table, "00000000-0000-4000-8000-000000000003")
        .await
        .expect("the leaver's entry");
    assert_eq!(text(&leaver, "decision"), "terminated");
    assert_eq!(text(&leaver, "changed_by"), "reconciliation");
    let sweep = entry(&ledger, &table, "#sweep")
        .await
        .expect("the sweep item");
    let state: Value = serde_json::from_str(&text(&sweep, "sweep")).unwrap();
    assert!(state["watermark"].is_string(), "{state}");
    assert!(state["lease_until"].is_null(), "the lease is released");
    let timers = names(&scheduler, &group).await;
    assert_eq!(timers.len(), 1, "the future date's timer: {timers:?}");

    // After a sync, a webhook requests the next sweep: one schedule, however many come.
    let synced = json!({"hook": {"event": "LinkedAccount.sync_completed"},
        "linked_account": {"id": LINKED_ACCOUNT, "category": "hris"},
        "data": {"is_initial_sync": false}});
    let body_bytes = serde_json::to_vec(&synced).unwrap();
    for expected in ["requested", "pending"] {
        let event = function_url_event("POST", &body_bytes, Signing::TestKey, false, "sync");
        let (status, body) = answer(&api.invoke(&event.to_string()).await);
        assert_eq!((status, body["sweep"].as_str()), (200, Some(expected)));
    }
    let schedules = names(&scheduler, &group).await;
    assert!(schedules.contains(&sweep_name), "{schedules:?}");
    let input = stored_input(&scheduler, &group, &sweep_name).await.unwrap();
    assert_eq!(input["linked_account_id"], LINKED_ACCOUNT);

    let (stdout, stderr) = function.stop().await;
    for secret in [API_KEY, TOKEN] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "a credential leaked"
        );
    }
    let records = json_lines(&stdout);
    let terminated: Vec<&Value> = records
        .iter()
        .filter(|r| r["message"] == TERMINATED_MESSAGE)
        .collect();
    assert_eq!(terminated.len(), 1);
    assert_eq!(terminated[0]["source"], "reconciliation");
    let historical: Vec<&Value> = records
        .iter()
        .filter(|r| r["message"] == HISTORICAL_MESSAGE)
        .collect();
    assert_eq!(historical.len(), 1, "the leaver of 2020");
    let old = entry(&ledger, &table, "00000000-0000-4000-8000-000000000005")
        .await
        .expect("the old leaver's entry");
    assert_eq!(text(&old, "decision"), "terminated");
    assert_eq!(
        old.get("historical").and_then(|v| v.as_bool().ok()),
        Some(&true)
    );
    let baseline = entry(&ledger, &table, "#baseline")
        .await
        .expect("the account's baseline, recorded by the first sweep");
    assert_eq!(text(&baseline, "baseline_set_by"), "first_seen");
}

#[tokio::test]
#[ignore = "needs the AWS emulator: scripts/aws-emulator-check.sh"]
async fn a_move_into_terminated_and_its_waiting_note_are_one_transaction_through_the_sdk() {
    use merge_deprovision::aws::deprovisioning::{DeprovisionStore, SdkDeprovisionStore};
    use merge_deprovision::aws::ledger::{Ledger, LedgerError, SdkLedger};
    use merge_deprovision::domain::decision::Decision;
    use merge_deprovision::domain::ledger::{
        EmployeeKey, Identity, Observation, Source, transition,
    };
    let client = dynamodb();
    let table = table(&client, "noting").await;
    let ledger = SdkLedger::with_client(&table, client.clone());
    let store = SdkDeprovisionStore::with_client(&table, client.clone());
    let key = EmployeeKey::new(Some(LINKED_ACCOUNT), "0958cbc6-6040-430a-848e-aafacbadf4ae");
    let now: chrono::DateTime<chrono::Utc> = "2026-11-26T05:00:00Z".parse().unwrap();
    let observation = Observation {
        key: key.clone(),
        decision: Decision::Terminated,
        reasons: String::new(),
        termination_date: Some(now),
        effective_at: Some(now),
        effective_rule: None,
        version: None,
        removal: false,
        identity: Identity::default(),
        source: Source::Webhook,
        delivery_id: None,
    };
    let entry = transition(None, &observation, now).write.unwrap();
    // A lost race (the entry exists already) cancels the whole transaction: no note.
    ledger.put(&entry, None, &[]).await.unwrap();
    let lost = ledger.put_noting(&entry, None, &[]).await;
    assert_eq!(lost, Err(LedgerError::ConditionFailed));
    assert!(store.waiting().await.unwrap().is_empty());
    // One whose condition holds writes the entry and the note together.
    let mut again = entry.clone();
    again.revision = entry.revision + 1;
    ledger
        .put_noting(&again, Some(entry.revision), &[])
        .await
        .unwrap();
    assert_eq!(store.waiting().await.unwrap(), [(key.clone(), 1)]);
    let stored = ledger.get(&key).await.unwrap().unwrap();
    assert_eq!(stored.revision, again.revision);
    // The count a later note raises, and a removal that finds it.
    assert_eq!(store.wait(&key).await.unwrap(), 2);
    store.done(&key, 2).await.unwrap();
    assert!(store.waiting().await.unwrap().is_empty());
}

#[tokio::test]
#[ignore = "needs the AWS emulator: scripts/aws-emulator-check.sh"]
async fn who_shares_a_match_value_is_one_query_of_the_templates_index_through_the_sdk() {
    use merge_deprovision::aws::ledger::{Ledger, SdkLedger};
    use merge_deprovision::domain::decision::Decision;
    use merge_deprovision::domain::deprovision::EmployeeField;
    use merge_deprovision::domain::ledger::{
        EmployeeKey, Identity, Observation, Source, transition,
    };
    let client = dynamodb();
    let table = table(&client, "sharing").await;
    let ledger = SdkLedger::with_client(&table, client.clone());
    let now: chrono::DateTime<chrono::Utc> = "2026-11-26T05:00:00Z".parse().unwrap();
    let put = |account: &str, id: &str, decision: Decision, email: &str| {
        let observation = Observation {
            key: EmployeeKey::new(Some(account), id),
            decision,
            reasons: String::new(),
            termination_date: None,
            effective_at: None,
            effective_rule: None,
            version: None,
            removal: false,
            identity: Identity {
                work_email: Some(email.to_owned()),
                username: Some(format!("{id}-name")),
                ..Identity::default()
            },
            source: Source::Webhook,
            delivery_id: None,
        };
        transition(None, &observation, now).write.unwrap()
    };
    let entries = [
        put(LINKED_ACCOUNT, "e1", Decision::Terminated, "alex@merge.dev"),
        put(LINKED_ACCOUNT, "e2", Decision::Active, " Alex@Merge.DEV "),
        put("another-customer", "e3", Decision::Active, "alex@merge.dev"),
        put(LINKED_ACCOUNT, "e4", Decision::Active, "sam@merge.dev"),
    ];
    for entry in &entries {
        ledger.put(entry, None, &[]).await.unwrap();
    }
    let mut found = ledger
        .sharing(LINKED_ACCOUNT, EmployeeField::WorkEmail, "alex@merge.dev")
        .await
        .expect("the index answers");
    found.sort_by(|a, b| a.key.cmp(&b.key));
    let seen: Vec<(&str, Decision, Option<&str>)> = found
        .iter()
        .map(|s| (s.key.employee_id.as_str(), s.decision, s.value.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("e1", Decision::Terminated, Some("alex@merge.dev")),
            ("e2", Decision::Active, Some(" Alex@Merge.DEV ")),
        ],
        "the account's entries only, each with its decision and stored value"
    );
    let by_name = ledger
        .sharing(LINKED_ACCOUNT, EmployeeField::Username, "e4-name")
        .await
        .unwrap();
    assert_eq!(by_name.len(), 1);
    assert_eq!(by_name[0].key.employee_id, "e4");
    let nobody = ledger
        .sharing(LINKED_ACCOUNT, EmployeeField::RemoteId, "r-1")
        .await
        .unwrap();
    assert!(
        nobody.is_empty(),
        "an entry without the field is in no index"
    );
}

#[tokio::test]
#[ignore = "needs the AWS emulator: scripts/aws-emulator-check.sh"]
async fn a_baseline_is_written_once_and_an_accounts_leavers_are_one_query_through_the_sdk() {
    use merge_deprovision::aws::ledger::{Ledger, LedgerError, SdkLedger};
    use merge_deprovision::domain::baseline::{Baseline, SetBy};
    use merge_deprovision::domain::decision::Decision;
    use merge_deprovision::domain::ledger::{
        EmployeeKey, Identity, Observation, Source, transition,
    };
    let client = dynamodb();
    let table = table(&client, "baseline").await;
    let ledger = SdkLedger::with_client(&table, client.clone());
    let now: chrono::DateTime<chrono::Utc> = "2026-11-26T05:00:00Z".parse().unwrap();
    assert_eq!(ledger.get_baseline(LINKED_ACCOUNT).await, Ok(None));
    let first = Baseline {
        linked_account_id: LINKED_ACCOUNT.to_owned(),
        at: now,
        set_by: SetBy::FirstSeen,
    };
    ledger.put_baseline(&first, false).await.unwrap();
    let later = Baseline {
        at: now + chrono::TimeDelta::hours(1),
        ..first.clone()
    };
    assert_eq!(
        ledger.put_baseline(&later, false).await,
        Err(LedgerError::ConditionFailed),
        "of two first sightings, the first written stands"
    );
    assert_eq!(
        ledger.get_baseline(LINKED_ACCOUNT).await,
        Ok(Some(first.clone()))
    );
    let chosen = Baseline {
        at: "2020-01-01T00:00:00Z".parse().unwrap(),
        set_by: SetBy::Operator,
        ..first
    };
    ledger.put_baseline(&chosen, true).await.unwrap();
    assert_eq!(ledger.get_baseline(LINKED_ACCOUNT).await, Ok(Some(chosen)));

    let put = |account: &str, id: &str, decision: Decision| {
        let observation = Observation {
            key: EmployeeKey::new(Some(account), id),
            decision,
            reasons: String::new(),
            termination_date: None,
            effective_at: None,
            effective_rule: None,
            version: None,
            removal: false,
            identity: Identity::default(),
            source: Source::Webhook,
            delivery_id: None,
        };
        let mut entry = transition(None, &observation, now).write.unwrap();
        entry.historical = id == "e1";
        entry
    };
    for entry in [
        put(LINKED_ACCOUNT, "e1", Decision::Terminated),
        put(LINKED_ACCOUNT, "e2", Decision::Active),
        put(LINKED_ACCOUNT, "e3", Decision::Terminated),
        put("another-customer", "e4", Decision::Terminated),
    ] {
        ledger.put(&entry, None, &[]).await.unwrap();
    }
    let mut leavers = ledger
        .terminated(LINKED_ACCOUNT)
        .await
        .expect("the query answers");
    leavers.sort_by(|a, b| a.key.cmp(&b.key));
    let seen: Vec<(&str, bool)> = leavers
        .iter()
        .map(|e| (e.key.employee_id.as_str(), e.historical))
        .collect();
    assert_eq!(
        seen,
        [("e1", true), ("e3", false)],
        "the account's terminated entries, past its baseline item"
    );
}

#[tokio::test]
#[ignore = "needs the AWS emulator: scripts/aws-emulator-check.sh"]
async fn an_entry_written_before_the_match_indexes_is_reindexed_once_through_the_sdk() {
    use merge_deprovision::aws::ledger::{Ledger, SdkLedger};
    use merge_deprovision::domain::decision::Decision;
    use merge_deprovision::domain::deprovision::EmployeeField;
    use merge_deprovision::domain::ledger::{
        EmployeeKey, Identity, Observation, Source, transition,
    };
    let client = dynamodb();
    let table = table(&client, "reindex").await;
    let ledger = SdkLedger::with_client(&table, client.clone());
    let now: chrono::DateTime<chrono::Utc> = "2026-11-26T05:00:00Z".parse().unwrap();
    let observation = Observation {
        key: EmployeeKey::new(Some(LINKED_ACCOUNT), "holder"),
        decision: Decision::Active,
        reasons: String::new(),
        termination_date: None,
        effective_at: None,
        effective_rule: None,
        version: None,
        removal: false,
        identity: Identity {
            work_email: Some("alex@merge.dev".into()),
            ..Identity::default()
        },
        source: Source::Webhook,
        delivery_id: None,
    };
    let entry = transition(None, &observation, now).write.unwrap();
    // The item as a version before the indexes wrote it: no match_* attribute.
    let mut item = merge_deprovision::aws::ledger::to_item(&entry);
    item.retain(|name, _| !name.starts_with("match_"));
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    let sharing = || ledger.sharing(LINKED_ACCOUNT, EmployeeField::WorkEmail, "alex@merge.dev");
    assert!(sharing().await.unwrap().is_empty(), "in no index yet");
    let done = ledger
        .reindex(LINKED_ACCOUNT)
        .await
        .expect("the reindex answers");
    assert_eq!((done.entries, done.rewritten), (1, 1));
    let found = sharing().await.unwrap();
    assert_eq!(found.len(), 1, "the index holds it now");
    assert_eq!(found[0].decision, Decision::Active);
    let again = ledger.reindex(LINKED_ACCOUNT).await.unwrap();
    assert_eq!(
        (again.entries, again.rewritten),
        (1, 0),
        "nothing left to write"
    );
    let stored = ledger.get(&entry.key).await.unwrap().unwrap();
    assert_eq!(
        stored.revision, entry.revision,
        "nothing else about the entry changed"
    );
}

// The operator's controls: the pause item through the SDK.

#[tokio::test]
#[ignore = "needs the AWS emulator: scripts/aws-emulator-check.sh"]
async fn a_pause_is_written_and_read_back_in_its_own_partition_through_the_sdk() {
    use merge_deprovision::aws::deprovisioning::{DeprovisionStore, SdkDeprovisionStore};
    use merge_deprovision::domain::control::Pause;
    let client = dynamodb();
    let table = table(&client, "pause").await;
    let store = SdkDeprovisionStore::with_client(&table, client.clone());
    assert_eq!(
        store.pause().await.unwrap(),
        Pause::default(),
        "nothing paused yet"
    );
    let paused = Pause {
        all: false,
        targets: ["chat".to_owned(), "crm".to_owned()].into(),
        reason: Some("bad HR sync".to_owned()),
        changed_at: Some("2026-12-02T10:00:00Z".parse().unwrap()),
    };
    store.set_pause(&paused, None).await.unwrap();
    assert_eq!(store.pause().await.unwrap(), paused);
    // A resume of everything clears the targets and removes the reason.
    let resumed = Pause {
        changed_at: Some("2026-12-02T11:00:00Z".parse().unwrap()),
        ..Pause::default()
    };
    store.set_pause(&resumed, paused.changed_at).await.unwrap();
    assert_eq!(store.pause().await.unwrap(), resumed);
    let item = client
        .get_item()
        .table_name(&table)
        .key(
            "linked_account_id",
            aws_sdk_dynamodb::types::AttributeValue::S("#deprovision-control".into()),
        )
        .key(
            "employee_id",
            aws_sdk_dynamodb::types::AttributeValue::S("pause".into()),
        )
        .send()
        .await
        .unwrap();
    let item = item.item().expect("one item under the control partition");
    assert!(!item.contains_key("reason"), "{item:?}");
    assert!(
        !item.contains_key("decision"),
        "never an entry the stream filter passes"
    );
}

// ---------------------------------------------------------------------------------------
// Local cutoffs: an account's item beside its baseline, through the SDK.

#[tokio::test]
#[ignore = "needs the AWS emulator: scripts/aws-emulator-check.sh"]
async fn an_accounts_local_cutoff_is_an_item_through_the_sdk_and_a_delivery_is_decided_with_it() {
    use merge_deprovision::aws::ledger::{CUTOFF_SORT_KEY, Ledger, SdkLedger};
    use merge_deprovision::domain::baseline::{Baseline, SetBy};
    use merge_deprovision::domain::ledger::EmployeeKey;
    use merge_deprovision::lambda::config::{Config, SIGNATURE_KEY_VAR};
    use merge_deprovision::lambda::handler::answer_event;
    use merge_deprovision::lambda::state::{App, effects_over};
    use std::sync::Arc;
    let client = dynamodb();
    let table = table(&client, "cutoff").await;
    let ledger = Arc::new(SdkLedger::with_client(&table, client.clone()));
    let config = Config::from_lookup(|name| match name {
        SIGNATURE_KEY_VAR => Some(merge_deprovision_samples::LOCAL_TEST_KEY.to_owned()),
        "EMPLOYEE_LEDGER_TABLE" => Some(table.clone()),
        _ => None,
    })
    .expect("a valid configuration");
    let schedules = Arc::new(merge_deprovision::aws::memory::MemorySchedules::new());
    let app = App::with_effects(&config, effects_over(&config, ledger.clone(), schedules));
    let now = support::now();
    // The account's other own items, which sort before its entries like the cutoff.
    let baseline = Baseline {
        linked_account_id: LINKED_ACCOUNT.to_owned(),
        at: "2021-09-15T00:00:00Z".parse().unwrap(),
        set_by: SetBy::Operator,
    };
    ledger.put_baseline(&baseline, true).await.unwrap();
    let sweep = merge_deprovision::domain::reconcile::SweepState {
        linked_account_id: LINKED_ACCOUNT.to_owned(),
        watermark: Some(now),
        run: None,
        lease_until: None,
        holder: String::new(),
        unavailable: 0,
        revision: 1,
    };
    ledger.put_sweep(&sweep, None).await.unwrap();
    assert_eq!(ledger.get_cutoff(LINKED_ACCOUNT).await, Ok(None));

    let document = json!({"kind": "merge-deprovision.cutoff", "version": 1,
        "linked_account_id": LINKED_ACCOUNT, "time_zone": "America/New_York",
        "cutoff": "start_of_day"});
    let set = answer_event(&app, &support::direct(&document), now)
        .await
        .expect("the handler answers");
    assert_eq!(set.response.status().as_u16(), 200);
    let item = client
        .get_item()
        .table_name(&table)
        .key("linked_account_id", attribute(LINKED_ACCOUNT))
        .key("employee_id", attribute(CUTOFF_SORT_KEY))
        .send()
        .await
        .unwrap();
    let item = item.item().expect("the item is written");
    assert_eq!(item["cutoff_time_zone"].as_s().unwrap(), "America/New_York");
    assert_eq!(item["cutoff"].as_s().unwrap(), "start_of_day");
    assert!(
        !item.contains_key("decision"),
        "no entry for the stream or a query"
    );
    let read = ledger.get_cutoff(LINKED_ACCOUNT).await.unwrap().unwrap();
    assert_eq!(read.zone_name(), "America/New_York");

    // A date-only termination of the account takes effect at New York's midnight.
    let delivery = support::employee_delivery(
        "Employee.changed",
        json!({"id": "e-local", "work_email": "local@example.com", "employment_status": "ACTIVE",
               "termination_date": "2026-11-27", "modified_at": "2026-11-26T04:12:09Z"}),
    );
    let answered = answer_event(&app, &delivery, now)
        .await
        .expect("the handler answers");
    let body: Value = serde_json::from_slice(answered.response.body().as_ref()).unwrap();
    assert_eq!(body["decision"], "terminated", "{body}");
    assert_eq!(body["effective_at"], "2026-11-27T05:00:00Z", "{body}");
    let stored = ledger
        .get(&EmployeeKey::new(Some(LINKED_ACCOUNT), "e-local"))
        .await
        .unwrap()
        .expect("the entry is written");
    assert_eq!(
        stored.effective_at,
        Some("2026-11-27T05:00:00Z".parse().unwrap())
    );
    assert_eq!(
        ledger.has_entries(LINKED_ACCOUNT).await,
        Ok(true),
        "the entry is seen past the baseline, cutoff and sweep items"
    );
}

fn attribute(value: &str) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::S(value.to_owned())
}

// ---------------------------------------------------------------------------------------
// The report bucket: the access-removal reports written and read back through the SDK.

/// A bucket of the test's own, made as the template makes it (versioned, Object Lock
/// enabled, SSE-S3 by default), and an S3 client straight to the emulator configured as
/// the function's is.
async fn report_bucket(name: &str) -> (aws_sdk_s3::Client, String) {
    use aws_sdk_s3::types::{
        BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
        ServerSideEncryptionRule, VersioningConfiguration,
    };
    let client = aws_sdk_s3::Client::from_conf(merge_deprovision::aws::reports::s3_config(
        &emulator_config(),
    ));
    let bucket = format!("{name}-{}", std::process::id());
    client
        .create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest1)
                .build(),
        )
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("the emulator creates the bucket");
    client
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("the emulator versions the bucket");
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()
        .unwrap();
    client
        .put_bucket_encryption()
        .bucket(&bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(by_default)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("the emulator sets the bucket's encryption");
    (client, bucket)
}

/// A report's bytes: a megabyte of every byte value, so that nothing is read as text.
fn report_bytes(seed: u8) -> Vec<u8> {
    (0..1_048_576u32).map(|i| (i % 251) as u8 ^ seed).collect()
}

#[tokio::test]
#[ignore = "needs the AWS emulator: scripts/aws-emulator-check.sh"]
async fn a_report_is_written_encrypted_and_read_back_byte_for_byte_and_a_rewrite_keeps_both_versions()
 {
    use merge_deprovision::aws::reports::{CSV, ReportError, ReportStore, SdkReports};
    let (client, bucket) = report_bucket("reports").await;
    let reports = SdkReports::from_config(&bucket, &emulator_config());
    let key = "reports/2026-11/all/access-removal.csv";

    let first = report_bytes(0);
    let written = reports
        .put(key, &first, CSV)
        .await
        .expect("the put succeeds");
    assert_eq!(written.key, key);
    let first_version = written
        .version_id
        .expect("a versioned bucket names the version");
    let read = reports.get(key).await.expect("the object reads back");
    assert!(
        read.bytes == first,
        "byte for byte ({} bytes read)",
        read.bytes.len()
    );
    assert_eq!(read.content_type.as_deref(), Some(CSV));
    assert_eq!(read.version_id.as_deref(), Some(first_version.as_str()));
    let head = client
        .head_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&aws_sdk_s3::types::ServerSideEncryption::Aes256),
        "encrypted at rest with S3's keys"
    );

    // Written again (a report asked for twice): the newest reads back, the first stays.
    let second = report_bytes(0x5a);
    let rewritten = reports.put(key, &second, CSV).await.unwrap();
    let second_version = rewritten.version_id.unwrap();
    assert_ne!(second_version, first_version);
    let read = reports.get(key).await.unwrap();
    assert!(read.bytes == second, "the newest version is read");
    assert_eq!(read.version_id.as_deref(), Some(second_version.as_str()));
    let kept = client
        .get_object()
        .bucket(&bucket)
        .key(key)
        .version_id(&first_version)
        .send()
        .await
        .expect("the first version is kept");
    let kept = kept.body.collect().await.unwrap().into_bytes();
    assert!(
        kept.as_ref() == first.as_slice(),
        "the first version is unchanged"
    );
    let versions = client
        .list_object_versions()
        .bucket(&bucket)
        .prefix(key)
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 2, "{versions:?}");

    assert_eq!(
        reports.get("reports/1999-01/all/access-removal.csv").await,
        Err(ReportError::NotFound)
    );
    let elsewhere = SdkReports::from_config(format!("{bucket}-missing"), &emulator_config());
    assert_eq!(
        elsewhere.put(key, b"x", CSV).await,
        Err(ReportError::NoBucket),
        "a bucket that does not exist is the configuration's fault, said as such"
    );
}

#[tokio::test]
#[ignore = "needs the AWS emulator: scripts/aws-emulator-check.sh"]
async fn an_entry_and_its_facts_are_one_transaction_read_back_by_month_through_the_sdk() {
    use merge_deprovision::aws::ledger::{Ledger, LedgerError, SdkLedger};
    use merge_deprovision::domain::decision::Decision;
    use merge_deprovision::domain::evidence::{Fact, Trigger, of_write, operator};
    use merge_deprovision::domain::ledger::{
        EmployeeKey, Identity, Observation, Source, transition,
    };
    use merge_deprovision::domain::outcome::{Deprovisioning, Outcome};
    let client = dynamodb();
    let table = table(&client, "evidence").await;
    let ledger = SdkLedger::with_client(&table, client.clone());
    let key = EmployeeKey::new(Some(LINKED_ACCOUNT), "0958cbc6-6040-430a-848e-aafacbadf4af");
    let now: chrono::DateTime<chrono::Utc> = "2026-11-26T05:00:00Z".parse().unwrap();
    let observation = Observation {
        key: key.clone(),
        decision: Decision::Terminated,
        reasons: String::new(),
        termination_date: Some(now),
        effective_at: Some(now),
        effective_rule: Some("the date's own time".into()),
        version: None,
        removal: false,
        identity: Identity {
            work_email: Some("leaver@merge.dev".into()),
            ..Identity::default()
        },
        source: Source::Webhook,
        delivery_id: None,
    };
    let entry = transition(None, &observation, now).write.unwrap();
    let moved = of_write(None, &entry);
    ledger.put_noting(&entry, None, &moved).await.unwrap();
    // A target's outcome, a write of its own, and another account's termination.
    let mut deactivated = entry.clone();
    deactivated.revision += 1;
    deactivated.deprovisioning.insert(
        "chat".into(),
        Deprovisioning {
            outcome: Outcome::Deactivated,
            at: now + chrono::TimeDelta::minutes(5),
            termination: entry.terminated_at,
            attempts: 0,
            user: Some("user-1".into()),
            run: Some("run-1".into()),
            by: Some(Trigger::Webhook),
        },
    );
    let outcome = of_write(Some(&entry), &deactivated);
    ledger
        .put(&deactivated, Some(entry.revision), &outcome)
        .await
        .unwrap();
    let mut other = entry.clone();
    other.key = EmployeeKey::new(Some("another-customer"), "e9");
    ledger
        .put(&other, None, &of_write(None, &other))
        .await
        .unwrap();
    let paused = operator(None, "pause", "paused: every target", Some("run-2"), now);
    ledger
        .put_evidence(std::slice::from_ref(&paused))
        .await
        .unwrap();

    let mine = ledger
        .evidence("2026-11", Some(LINKED_ACCOUNT))
        .await
        .unwrap();
    assert_eq!(mine.len(), 2, "{mine:#?}");
    assert_eq!(mine[0], moved[0]);
    assert!(matches!(
        &mine[0].fact,
        Fact::Terminated {
            by: Trigger::Webhook,
            rule: Some(rule),
            ..
        } if rule == "the date's own time"
    ));
    assert_eq!(mine[1], outcome[0]);
    let month = ledger.evidence("2026-11", None).await.unwrap();
    assert_eq!(month.len(), 4, "both accounts, and the pause: {month:#?}");
    assert!(month.contains(&paused));
    assert!(ledger.evidence("2026-10", None).await.unwrap().is_empty());

    // The same write made again over the entry it replaced: its fact's key is taken, so
    // the whole transaction is refused and the entry stays as it was.
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(merge_deprovision::aws::ledger::to_item(&entry)))
        .send()
        .await
        .expect("the entry put back as it was before the outcome");
    let again = ledger
        .put(&deactivated, Some(entry.revision), &outcome)
        .await;
    assert_eq!(again, Err(LedgerError::ConditionFailed));
    let stored = ledger.get(&key).await.unwrap().unwrap();
    assert!(
        stored.deprovisioning.is_empty(),
        "the entry write was refused with its fact"
    );
    assert_eq!(
        ledger
            .evidence("2026-11", Some(LINKED_ACCOUNT))
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
#[ignore = "needs the AWS emulator: scripts/aws-emulator-check.sh"]
async fn the_binary_writes_a_leavers_report_to_the_emulators_bucket_from_the_trail_in_its_table() {
    let client = dynamodb();
    let table = table(&client, "report-trail").await;
    let (s3, bucket) = report_bucket("access-removal").await;
    let proxy = AwsProxy::start(emulator()).await;
    let api = RuntimeApi::start().await;
    let endpoint = proxy.url();
    let function = Function::spawn(
        &std::path::PathBuf::from(env!("CARGO_BIN_EXE_merge-deprovision")),
        &api,
        &[
            (
                "MERGE_WEBHOOK_SIGNATURE_KEY",
                merge_deprovision_samples::LOCAL_TEST_KEY,
            ),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("EMPLOYEE_LEDGER_TABLE", &table),
            ("REPORT_BUCKET", &bucket),
        ],
    );
    let (status, _) = answer(
        &api.invoke(&terminated("e-report", "2026-11-26T05:00:00Z"))
            .await,
    );
    assert_eq!(status, 200, "the termination is recorded, with its fact");
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let document = json!({"kind": "merge-deprovision.report", "version": 1, "period": month});
    let (status, body) = answer(&api.invoke(&document.to_string()).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["summary"]["leavers"], 1, "{body}");
    let objects = body["objects"]
        .as_array()
        .expect("the answer gives the objects");
    assert_eq!(objects.len(), 3, "csv, json and html: {body}");
    let mut forms = std::collections::BTreeMap::new();
    for object in objects {
        let key = object["key"].as_str().unwrap();
        let read = s3
            .get_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .expect("the report is in the bucket");
        assert_eq!(
            read.server_side_encryption(),
            Some(&aws_sdk_s3::types::ServerSideEncryption::Aes256),
            "{key} is encrypted at rest"
        );
        let bytes = read.body.collect().await.unwrap().into_bytes();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(!text.contains(SENTINEL), "{key} carries no sensitive field");
        forms.insert(object["form"].as_str().unwrap().to_owned(), text);
    }
    let report: Value = serde_json::from_str(&forms["json"]).unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "one leaver, no target: one row");
    assert_eq!(rows[0]["employee_id"], "e-report");
    assert_eq!(rows[0]["learned_by"], "webhook", "{report}");
    assert_eq!(
        rows[0]["status"], "not_worked",
        "no target covers it: {report}"
    );
    assert_eq!(forms["csv"].lines().count(), 2, "a header and the leaver");
    assert!(forms["html"].contains("id=\"rows\""));
    function.stop().await;
}
