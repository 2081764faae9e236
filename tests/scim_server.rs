//! The built binary deprovisioning into a real SCIM 2.0 server (`scim2-server` from
//! PyPI, on loopback with a bearer token) with the real AWS SDK against an AWS emulator
//! (moto): the ledger in DynamoDB with its stream read through DynamoDB Streams'
//! `GetRecords`, the targets in Secrets Manager, timers in Scheduler. Each stream batch
//! is handed to the function as Lambda's event source mapping would, through its filter.
//!
//! These need both servers, so they are ignored by a plain `cargo test`;
//! `scripts/scim-server-check.sh` installs and starts them, and runs them with
//! `AWS_EMULATOR_ENDPOINT`, `SCIM_SERVER_URL`, `SCIM_SERVER_TOKEN` and `SCIM_SERVER_BIN`.

mod support;

use merge_deprovision_samples::{Signing, employee_envelope, function_url_event};
use serde_json::{Value, json};
use std::collections::HashSet;
use support::runtime_api::{Function, Reply, RuntimeApi};

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/merge-deprovision-scheduler";
const LINKED_ACCOUNT: &str = "a3602c03-aba7-4d9d-a349-dbc338504092";

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run scripts/scim-server-check.sh"))
}

fn emulator() -> String {
    env("AWS_EMULATOR_ENDPOINT")
}

fn scim_url() -> String {
    env("SCIM_SERVER_URL")
}

fn scim_token() -> String {
    env("SCIM_SERVER_TOKEN")
}

fn sdk_config() -> aws_config::SdkConfig {
    use aws_sdk_dynamodb::config::{
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
        .endpoint_url(emulator())
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "emulator",
        )))
        .http_client(http)
        .build()
}

/// A name of the test's own.
fn unique(name: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A termination date of last week, by the clock the binary decides with: current, well
/// inside the lookback before a first-seen account's baseline.
fn last_week() -> String {
    (chrono::Utc::now() - chrono::TimeDelta::days(7))
        .format("%Y-%m-%d")
        .to_string()
}

/// One test's world: its table (with a stream), schedule group, targets secret, and
/// the function running against them.
struct World {
    api: RuntimeApi,
    function: Option<Function>,
    dynamodb: aws_sdk_dynamodb::Client,
    streams: aws_sdk_dynamodbstreams::Client,
    table: String,
    group: String,
    seen: HashSet<String>,
    /// Everything the function answered, for the token check.
    answers: String,
}

impl World {
    async fn start(targets: Value, vars: &[(&str, &str)]) -> World {
        use aws_sdk_dynamodb::types::{
            BillingMode, KeySchemaElement, KeyType, StreamSpecification, StreamViewType,
        };
        let config = sdk_config();
        let dynamodb = aws_sdk_dynamodb::Client::new(&config);
        let table = unique("scim-ledger");
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .unwrap()
        };
        dynamodb
            .create_table()
            .table_name(&table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(support::ledger_table::attribute_definitions()))
            .key_schema(key("linked_account_id", KeyType::Hash))
            .key_schema(key("employee_id", KeyType::Range))
            // The template's match indexes, exactly: the identity check queries them.
            .set_global_secondary_indexes(Some(support::ledger_table::global_secondary_indexes()))
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("the emulator creates the table");
        let group = unique("scim-group");
        aws_sdk_scheduler::Client::new(&config)
            .create_schedule_group()
            .name(&group)
            .send()
            .await
            .expect("the emulator creates the group");
        let secret = unique("scim-targets");
        aws_sdk_secretsmanager::Client::new(&config)
            .create_secret()
            .name(&secret)
            .secret_string(targets.to_string())
            .send()
            .await
            .expect("the emulator stores the secret");
        let api = RuntimeApi::start().await;
        let endpoint = emulator();
        let mut env: Vec<(&str, &str)> = vec![
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
            ("SCIM_TARGETS_SECRET_ID", &secret),
            ("DEPROVISION_MODE", "enforce"),
        ];
        for (name, value) in vars {
            env.retain(|(n, _)| n != name);
            env.push((name, value));
        }
        let function = Function::spawn(
            &std::path::PathBuf::from(env!("CARGO_BIN_EXE_merge-deprovision")),
            &api,
            &env,
        );
        World {
            api,
            function: Some(function),
            dynamodb,
            streams: aws_sdk_dynamodbstreams::Client::new(&config),
            table,
            group,
            seen: HashSet::new(),
            answers: String::new(),
        }
    }

    async fn invoke(&mut self, payload: &str) -> Value {
        let reply = self.api.invoke(payload).await;
        let Reply::Response(text) = reply else {
            panic!("expected a response, got {reply:?}");
        };
        self.answers.push_str(&text);
        let response: Value = serde_json::from_str(&text).unwrap();
        match response["body"].as_str() {
            Some(body) => {
                let mut body: Value = serde_json::from_str(body).unwrap();
                body["statusCode"] = response["statusCode"].clone();
                body
            }
            None => response,
        }
    }

    /// A signed terminated delivery for `employee` with `fields`.
    async fn deliver(&mut self, employee: &str, fields: Value) -> Value {
        let envelope = employee_envelope("Employee.changed", |data| {
            data.insert("id".into(), json!(employee));
            data.insert("employment_status".into(), json!("INACTIVE"));
            data.insert("termination_date".into(), json!(last_week()));
            for (name, value) in fields.as_object().unwrap() {
                data.insert(name.clone(), value.clone());
            }
        });
        let body = serde_json::to_vec(&envelope).unwrap();
        let event = function_url_event("POST", &body, Signing::TestKey, false, employee);
        let answered = self.invoke(&event.to_string()).await;
        assert_eq!(answered["statusCode"], 200, "{answered}");
        answered
    }

    /// The stream's new records, through the mapping's filter (a move into
    /// `terminated`), as one batch in Lambda's event shape; `None` when none passes.
    async fn batch(&mut self) -> Option<Value> {
        let described = self
            .dynamodb
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .unwrap();
        let arn = described.table()?.latest_stream_arn()?.to_owned();
        let stream = self
            .streams
            .describe_stream()
            .stream_arn(&arn)
            .send()
            .await
            .unwrap();
        let mut records = Vec::new();
        for shard in stream.stream_description()?.shards() {
            let mut iterator = self
                .streams
                .get_shard_iterator()
                .stream_arn(&arn)
                .shard_id(shard.shard_id()?)
                .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
                .send()
                .await
                .unwrap()
                .shard_iterator
                .clone();
            while let Some(it) = iterator {
                let page = self
                    .streams
                    .get_records()
                    .shard_iterator(it)
                    .send()
                    .await
                    .unwrap();
                if page.records().is_empty() {
                    break;
                }
                for record in page.records() {
                    let Some(change) = record.dynamodb() else {
                        continue;
                    };
                    let sequence = change.sequence_number().unwrap_or_default().to_owned();
                    if !self.seen.insert(sequence.clone()) {
                        continue;
                    }
                    let decision = |image: Option<
                        &std::collections::HashMap<
                            String,
                            aws_sdk_dynamodbstreams::types::AttributeValue,
                        >,
                    >| {
                        image
                            .and_then(|i| i.get("decision"))
                            .and_then(|d| d.as_s().ok())
                            .cloned()
                    };
                    let new = decision(change.new_image.as_ref());
                    let old = decision(change.old_image.as_ref());
                    // The template's filter: a new image that is `terminated`, and an old
                    // one that is absent or is not.
                    if new.as_deref() != Some("terminated") || old.as_deref() == Some("terminated")
                    {
                        continue;
                    }
                    let mut dynamodb = json!({
                        "Keys": image_json(change.keys.as_ref()),
                        "NewImage": image_json(change.new_image.as_ref()),
                        "SequenceNumber": sequence,
                        "StreamViewType": "NEW_AND_OLD_IMAGES",
                    });
                    if change.old_image.is_some() {
                        dynamodb["OldImage"] = image_json(change.old_image.as_ref());
                    }
                    records.push(json!({
                        "eventID": record.event_id(),
                        "eventName": "MODIFY",
                        "eventSource": "aws:dynamodb",
                        "awsRegion": "eu-west-1",
                        "dynamodb": dynamodb,
                    }));
                }
                iterator = page.next_shard_iterator.clone();
            }
        }
        (!records.is_empty()).then(|| json!({ "Records": records }))
    }

    /// Hands the stream's new records to the function; returns its answer.
    async fn stream(&mut self) -> Value {
        let batch = self
            .batch()
            .await
            .expect("a move into terminated on the stream");
        self.invoke(&batch.to_string()).await
    }

    async fn release(&mut self) -> Value {
        self.invoke(&json!({"kind": "merge-deprovision.release-held", "version": 1}).to_string())
            .await
    }

    /// The outcome the ledger holds for `employee` in `target`.
    async fn outcome(&self, employee: &str, target: &str) -> Option<String> {
        use aws_sdk_dynamodb::types::AttributeValue;
        let item = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key(
                "linked_account_id",
                AttributeValue::S(LINKED_ACCOUNT.into()),
            )
            .key("employee_id", AttributeValue::S(employee.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item?;
        let targets = item.get("deprovisioning")?.as_m().ok()?;
        targets
            .get(target)?
            .as_m()
            .ok()?
            .get("outcome")?
            .as_s()
            .ok()
            .cloned()
    }

    /// Stops the function; checks no bearer token reached any output; returns the
    /// records.
    async fn stop(mut self, tokens: &[&str]) -> Vec<Value> {
        let (stdout, stderr) = self.function.take().unwrap().stop().await;
        for token in tokens {
            for (what, text) in [
                ("stdout", &stdout),
                ("stderr", &stderr),
                ("answers", &self.answers),
            ] {
                assert!(!text.contains(token), "a bearer token in {what}");
            }
        }
        stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

fn image_json(
    image: Option<
        &std::collections::HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>,
    >,
) -> Value {
    Value::Object(
        image
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), attribute_json(v)))
            .collect(),
    )
}

fn attribute_json(value: &aws_sdk_dynamodbstreams::types::AttributeValue) -> Value {
    use aws_sdk_dynamodbstreams::types::AttributeValue as A;
    match value {
        A::S(s) => json!({"S": s}),
        A::N(n) => json!({"N": n}),
        A::Bool(b) => json!({"BOOL": b}),
        A::Null(b) => json!({"NULL": b}),
        A::Ss(s) => json!({"SS": s}),
        A::Ns(n) => json!({"NS": n}),
        A::M(m) => {
            json!({"M": m.iter().map(|(k, v)| (k.clone(), attribute_json(v))).collect::<serde_json::Map<_, _>>()})
        }
        A::L(l) => json!({"L": l.iter().map(attribute_json).collect::<Vec<_>>()}),
        _ => Value::Null,
    }
}

/// A user on the SCIM server with these `emails` (each with its `type` and `primary`);
/// returns its id.
async fn seed_with_emails(user_name: &str, emails: Value) -> String {
    let client = merge_deprovision::net::client().unwrap();
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "emails": emails,
        "active": true,
    });
    let response = client
        .post(format!("{}/Users", scim_url()))
        .bearer_auth(scim_token())
        .header("content-type", "application/scim+json")
        .body(user.to_string())
        .send()
        .await
        .expect("the SCIM server answers");
    assert_eq!(response.status().as_u16(), 201, "seeding {user_name}");
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// A user on the SCIM server at `base` (with `token`); returns its id.
async fn seed(
    base: &str,
    token: &str,
    user_name: &str,
    email: &str,
    external_id: Option<&str>,
    active: bool,
) -> String {
    let client = merge_deprovision::net::client().unwrap();
    let mut user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "emails": [{"value": email, "primary": true}],
        "active": active,
    });
    if let Some(id) = external_id {
        user["externalId"] = json!(id);
    }
    let response = client
        .post(format!("{base}/Users"))
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .body(user.to_string())
        .send()
        .await
        .expect("the SCIM server answers");
    assert_eq!(response.status().as_u16(), 201, "seeding {user_name}");
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// The user `id` on the server at `base`: `None` once deleted.
async fn user(base: &str, token: &str, id: &str) -> Option<Value> {
    let client = merge_deprovision::net::client().unwrap();
    let response = client
        .get(format!("{base}/Users/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    if response.status().as_u16() == 404 {
        return None;
    }
    serde_json::from_slice(&response.bytes().await.unwrap()).ok()
}

async fn active(id: &str) -> bool {
    user(&scim_url(), &scim_token(), id).await.unwrap()["active"] == json!(true)
}

fn target(name: &str, extra: Value) -> Value {
    let mut target = json!({"name": name, "base_url": scim_url(), "token": scim_token()});
    for (k, v) in extra.as_object().unwrap() {
        target[k] = v.clone();
    }
    target
}

fn records_saying<'a>(records: &'a [Value], field: &str, value: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r[field] == value).collect()
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn a_terminated_delivery_deactivates_exactly_the_matching_user() {
    let email = format!("{}@example.com", unique("leaver"));
    let leaver = seed(&scim_url(), &scim_token(), &email, &email, None, true).await;
    let near = seed(
        &scim_url(),
        &scim_token(),
        &format!("x{email}"),
        &format!("x{email}"),
        None,
        true,
    )
    .await;
    let mut world = World::start(json!({"targets": [target("app", json!({}))]}), &[]).await;
    world.deliver("e1", json!({"work_email": email})).await;
    let answered = world.stream().await;
    assert_eq!(answered["batchItemFailures"], json!([]), "{answered}");
    assert!(!active(&leaver).await);
    assert!(active(&near).await);
    assert_eq!(
        world.outcome("e1", "app").await.as_deref(),
        Some("deactivated")
    );
    assert!(
        world.batch().await.is_none(),
        "writing the outcome is no new termination"
    );
    let records = world.stop(&[&scim_token()]).await;
    let deprovisioned = records_saying(&records, "deprovision", "deactivated");
    assert_eq!(deprovisioned.len(), 1);
    assert_eq!(deprovisioned[0]["target"], "app");
    assert_eq!(deprovisioned[0]["employee_id"], "e1");
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn a_fired_schedule_deactivates_the_user_at_its_time() {
    let email = format!("{}@example.com", unique("scheduled"));
    let leaver = seed(&scim_url(), &scim_token(), &email, &email, None, true).await;
    let mut world = World::start(json!({"targets": [target("app", json!({}))]}), &[]).await;
    world
        .deliver("e1", json!({"work_email": email, "employment_status": "ACTIVE", "termination_date": "2099-06-30"}))
        .await;
    assert!(
        world.batch().await.is_none(),
        "a scheduled termination waits for its time"
    );
    assert!(active(&leaver).await);
    // Scheduler fires the schedule: its input is the event.
    let config = sdk_config();
    let scheduler = aws_sdk_scheduler::Client::new(&config);
    let listed = scheduler
        .list_schedules()
        .group_name(&world.group)
        .send()
        .await
        .unwrap();
    let name = listed.schedules()[0].name().unwrap().to_owned();
    let stored = scheduler
        .get_schedule()
        .group_name(&world.group)
        .name(&name)
        .send()
        .await
        .unwrap();
    let input = stored.target().and_then(|t| t.input()).map(str::to_owned);
    let input = input.expect("the timer is stored");
    let fired = world.invoke(&input).await;
    assert_eq!(fired["decision"], "terminated", "{fired}");
    assert_eq!(world.stream().await["batchItemFailures"], json!([]));
    assert!(!active(&leaver).await);
    world.stop(&[&scim_token()]).await;
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn targets_match_by_email_or_external_id_and_can_delete() {
    let email = format!("{}@example.com", unique("matched"));
    let external = unique("remote");
    let by_email = seed(
        &scim_url(),
        &scim_token(),
        &unique("login"),
        &email,
        None,
        true,
    )
    .await;
    let to_delete = seed(
        &scim_url(),
        &scim_token(),
        &unique("login"),
        &unique("other"),
        Some(&external),
        true,
    )
    .await;
    let mut world = World::start(
        json!({"targets": [
            target("by-email", json!({"match": "emails=work_email"})),
            target("by-id", json!({"match": "externalId=remote_id", "action": "delete"})),
        ]}),
        &[],
    )
    .await;
    world
        .deliver("e1", json!({"work_email": email, "remote_id": external}))
        .await;
    assert_eq!(world.stream().await["batchItemFailures"], json!([]));
    assert!(!active(&by_email).await);
    assert!(user(&scim_url(), &scim_token(), &to_delete).await.is_none());
    assert_eq!(
        world.outcome("e1", "by-email").await.as_deref(),
        Some("deactivated")
    );
    assert_eq!(
        world.outcome("e1", "by-id").await.as_deref(),
        Some("deleted")
    );
    world.stop(&[&scim_token()]).await;
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn only_the_target_covering_the_linked_account_is_called() {
    let email = format!("{}@example.com", unique("covered"));
    let leaver = seed(&scim_url(), &scim_token(), &email, &email, None, true).await;
    let mut world = World::start(
        json!({"targets": [
            target("other-customer", json!({"linked_account_ids": ["another-linked-account"]})),
            target("this-customer", json!({"linked_account_ids": [LINKED_ACCOUNT]})),
        ]}),
        &[],
    )
    .await;
    world.deliver("e1", json!({"work_email": email})).await;
    world.stream().await;
    assert!(!active(&leaver).await);
    assert_eq!(world.outcome("e1", "other-customer").await, None);
    assert_eq!(
        world.outcome("e1", "this-customer").await.as_deref(),
        Some("deactivated")
    );
    let records = world.stop(&[&scim_token()]).await;
    assert!(records_saying(&records, "target", "other-customer").is_empty());
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn a_dry_run_changes_nothing_and_records_would_deactivate() {
    let email = format!("{}@example.com", unique("dry"));
    let leaver = seed(&scim_url(), &scim_token(), &email, &email, None, true).await;
    let mut world = World::start(
        json!({"targets": [target("app", json!({}))]}),
        &[("DEPROVISION_MODE", "dry-run")],
    )
    .await;
    world.deliver("e1", json!({"work_email": email})).await;
    world.stream().await;
    assert!(active(&leaver).await);
    assert_eq!(
        world.outcome("e1", "app").await.as_deref(),
        Some("would_deactivate")
    );
    world.stop(&[&scim_token()]).await;
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn inactive_missing_and_duplicated_users_change_nothing() {
    let inactive_email = format!("{}@example.com", unique("inactive"));
    let inactive = seed(
        &scim_url(),
        &scim_token(),
        &inactive_email,
        &inactive_email,
        None,
        false,
    )
    .await;
    let shared = format!("{}@example.com", unique("shared"));
    let first = seed(
        &scim_url(),
        &scim_token(),
        &unique("one"),
        &shared,
        None,
        true,
    )
    .await;
    let second = seed(
        &scim_url(),
        &scim_token(),
        &unique("two"),
        &shared,
        None,
        true,
    )
    .await;
    let mut world = World::start(
        json!({"targets": [target("app", json!({"match": "emails=work_email"}))]}),
        &[],
    )
    .await;
    world
        .deliver("inactive", json!({"work_email": inactive_email}))
        .await;
    world
        .deliver(
            "nobody",
            json!({"work_email": format!("{}@example.com", unique("nobody"))}),
        )
        .await;
    world.deliver("shared", json!({"work_email": shared})).await;
    assert_eq!(world.stream().await["batchItemFailures"], json!([]));
    assert_eq!(
        world.outcome("inactive", "app").await.as_deref(),
        Some("already_inactive")
    );
    assert_eq!(
        world.outcome("nobody", "app").await.as_deref(),
        Some("not_found")
    );
    assert_eq!(
        world.outcome("shared", "app").await.as_deref(),
        Some("ambiguous")
    );
    assert!(active(&first).await && active(&second).await);
    assert!(!active(&inactive).await);
    let records = world.stop(&[&scim_token()]).await;
    assert_eq!(
        records_saying(&records, "deprovision", "not_found")[0]["level"],
        "WARN"
    );
    assert_eq!(
        records_saying(&records, "deprovision", "ambiguous")[0]["level"],
        "ERROR"
    );
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn an_email_with_a_quote_and_or_matches_only_that_exact_user() {
    let tag = unique("q");
    let tricky = format!("{tag}\" or userName pr or \"@example.com");
    let bystander = seed(
        &scim_url(),
        &scim_token(),
        &tag,
        &format!("{tag}@example.com"),
        None,
        true,
    )
    .await;
    let leaver = seed(&scim_url(), &scim_token(), &tricky, &tricky, None, true).await;
    let mut world = World::start(json!({"targets": [target("app", json!({}))]}), &[]).await;
    world.deliver("e1", json!({"work_email": tricky})).await;
    assert_eq!(world.stream().await["batchItemFailures"], json!([]));
    assert!(!active(&leaver).await);
    assert!(active(&bystander).await);
    world.stop(&[&scim_token()]).await;
}

/// Sleeps until just past the next UTC hour when it is less than `margin` away.
async fn wait_past_the_hour_if_within(margin: std::time::Duration) {
    let left = until_the_hour(chrono::Utc::now());
    if left < margin {
        tokio::time::sleep(left + std::time::Duration::from_secs(2)).await;
    }
}

/// The time from `now` to the next UTC hour.
fn until_the_hour(now: chrono::DateTime<chrono::Utc>) -> std::time::Duration {
    use chrono::Timelike;
    let into = u64::from(now.minute()) * 60 + u64::from(now.second());
    std::time::Duration::from_secs(3600 - into)
}

#[test]
fn the_brake_test_knows_how_far_the_next_hour_is() {
    use chrono::TimeZone;
    let near = chrono::Utc
        .with_ymd_and_hms(2026, 12, 1, 0, 59, 55)
        .unwrap();
    assert_eq!(until_the_hour(near), std::time::Duration::from_secs(5));
    let start = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap();
    assert_eq!(until_the_hour(start), std::time::Duration::from_secs(3600));
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn thirty_terminations_in_an_hour_deactivate_25_hold_5_then_release_them() {
    let tag = unique("brake");
    let mut ids = Vec::new();
    for n in 0..30 {
        let email = format!("{tag}-{n}@example.com");
        ids.push(seed(&scim_url(), &scim_token(), &email, &email, None, true).await);
    }
    let mut world = World::start(json!({"targets": [target("app", json!({}))]}), &[]).await;
    for n in 0..30 {
        world
            .deliver(
                &format!("e{n:02}"),
                json!({"work_email": format!("{tag}-{n}@example.com")}),
            )
            .await;
    }
    // The brake's window is the UTC clock hour: batches that straddle its turn would
    // count in two windows, so they start after it when it is near.
    wait_past_the_hour_if_within(std::time::Duration::from_secs(90)).await;
    let mut deactivated = 0;
    let mut held = 0;
    // One record per batch, as the template's mapping delivers them (`BatchSize: 1`):
    // thirty leavers in one invocation would outrun its time, by design handing the
    // rest back to the stream.
    while let Some(batch) = world.batch().await {
        for record in batch["Records"].as_array().unwrap() {
            let one = json!({ "Records": [record] });
            let answered = world.invoke(&one.to_string()).await;
            assert_eq!(answered["batchItemFailures"], json!([]), "{answered}");
        }
    }
    for n in 0..30 {
        match world.outcome(&format!("e{n:02}"), "app").await.as_deref() {
            Some("deactivated") => deactivated += 1,
            Some("held") => held += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!((deactivated, held), (25, 5));
    let mut still_active = 0;
    for id in &ids {
        still_active += usize::from(active(id).await);
    }
    assert_eq!(still_active, 5);
    let released = world.release().await;
    assert_eq!(released["released"], 5, "{released}");
    for id in &ids {
        assert!(!active(id).await);
    }
    let records = world.stop(&[&scim_token()]).await;
    assert_eq!(records_saying(&records, "deprovision", "held").len(), 5);
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn a_wrong_token_fails_at_once_naming_the_host_only() {
    let email = format!("{}@example.com", unique("token"));
    let leaver = seed(&scim_url(), &scim_token(), &email, &email, None, true).await;
    let wrong = "wrong-token-SENTINEL-5c1e";
    let mut world = World::start(
        json!({"targets": [{"name": "app", "base_url": scim_url(), "token": wrong}]}),
        &[],
    )
    .await;
    world.deliver("e1", json!({"work_email": email})).await;
    assert_eq!(
        world.stream().await["batchItemFailures"],
        json!([]),
        "no retry fixes a token"
    );
    assert_eq!(world.outcome("e1", "app").await.as_deref(), Some("failed"));
    assert!(active(&leaver).await);
    let records = world.stop(&[&scim_token(), wrong]).await;
    let failed = records_saying(&records, "deprovision", "failed");
    assert_eq!(failed[0]["level"], "ERROR");
    assert_eq!(failed[0]["scim_status"], 401);
    assert_eq!(failed[0]["scim_host"], "127.0.0.1");
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn an_endpoint_down_is_retried_and_done_once_it_is_back() {
    let port = {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}/v2");
    let token = "second-server-token-SENTINEL-91aa";
    let mut world = World::start(
        json!({"targets": [{"name": "later", "base_url": base, "token": token}]}),
        &[],
    )
    .await;
    world
        .deliver("e1", json!({"work_email": "back@example.com"}))
        .await;
    let batch = world.batch().await.unwrap();
    let down = world.invoke(&batch.to_string()).await;
    assert_eq!(
        down["batchItemFailures"].as_array().unwrap().len(),
        1,
        "{down}"
    );
    assert_eq!(
        world.outcome("e1", "later").await.as_deref(),
        Some("failed")
    );

    // The endpoint comes back; the stream delivers the record again.
    let mut server = tokio::process::Command::new(env("SCIM_SERVER_BIN"))
        .args(["--port", &port.to_string(), "--bearer-token", token])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("scim2-server starts");
    let client = merge_deprovision::net::client().unwrap();
    for _ in 0..100 {
        if client
            .get(format!("{base}/ServiceProviderConfig"))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let id = seed(
        &base,
        token,
        "back@example.com",
        "back@example.com",
        None,
        true,
    )
    .await;
    let back = world.invoke(&batch.to_string()).await;
    assert_eq!(back["batchItemFailures"], json!([]), "{back}");
    assert_eq!(
        world.outcome("e1", "later").await.as_deref(),
        Some("deactivated")
    );
    assert_eq!(
        user(&base, token, &id).await.unwrap()["active"],
        json!(false)
    );
    let _ = server.kill().await;
    world.stop(&[&scim_token(), token]).await;
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn an_address_that_is_only_an_alias_on_another_account_never_deactivates_it() {
    // The leaver's own account is gone; a manager keeps the address as an alias.
    let leaver_email = format!("{}@example.com", unique("alias"));
    let manager_email = format!("{}@example.com", unique("manager"));
    let manager = seed_with_emails(
        &manager_email,
        json!([{"value": manager_email, "type": "work", "primary": true},
               {"value": leaver_email, "type": "other"}]),
    )
    .await;
    let mut world = World::start(
        json!({"targets": [target("app", json!({"match": "emails=work_email"}))]}),
        &[],
    )
    .await;
    world
        .deliver("e1", json!({"work_email": leaver_email}))
        .await;
    assert_eq!(world.stream().await["batchItemFailures"], json!([]));
    assert!(active(&manager).await, "the manager keeps the account");
    assert_eq!(
        world.outcome("e1", "app").await.as_deref(),
        Some("not_found")
    );
    let records = world.stop(&[&scim_token()]).await;
    let found = records_saying(&records, "deprovision", "not_found");
    assert_eq!(found[0]["level"], "WARN");
    assert_eq!(
        found[0]["message"],
        merge_deprovision::telemetry::record::NOT_MATCHING_MESSAGE
    );
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn a_work_email_with_spaces_around_it_finds_and_deactivates_the_leaver() {
    let email = format!("{}@example.com", unique("spaced"));
    let leaver = seed(&scim_url(), &scim_token(), &email, &email, None, true).await;
    let mut world = World::start(json!({"targets": [target("app", json!({}))]}), &[]).await;
    world
        .deliver(
            "e1",
            json!({"work_email": format!("  {}\t", email.to_uppercase())}),
        )
        .await;
    assert_eq!(world.stream().await["batchItemFailures"], json!([]));
    assert!(!active(&leaver).await);
    assert_eq!(
        world.outcome("e1", "app").await.as_deref(),
        Some("deactivated")
    );
    world.stop(&[&scim_token()]).await;
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn a_protected_account_is_never_changed_and_a_server_without_me_protects_nobody_else() {
    let admin_email = format!("{}@example.com", unique("breakglass"));
    let admin = seed(
        &scim_url(),
        &scim_token(),
        &admin_email,
        &admin_email,
        None,
        true,
    )
    .await;
    let leaver_email = format!("{}@example.com", unique("leaver"));
    let leaver = seed(
        &scim_url(),
        &scim_token(),
        &leaver_email,
        &leaver_email,
        None,
        true,
    )
    .await;
    let mut world = World::start(
        json!({"targets": [target("app", json!({}))],
               "protected": [format!(" {} ", admin_email.to_uppercase())]}),
        &[],
    )
    .await;
    world
        .deliver("admin", json!({"work_email": admin_email}))
        .await;
    world
        .deliver("leaver", json!({"work_email": leaver_email}))
        .await;
    assert_eq!(world.stream().await["batchItemFailures"], json!([]));
    assert!(
        active(&admin).await,
        "the protected account keeps its access"
    );
    assert_eq!(
        world.outcome("admin", "app").await.as_deref(),
        Some("protected")
    );
    // scim2-server answers `/Me` with 501: it cannot tell who owns the token, so nobody
    // else is protected and the leaver is deactivated.
    assert!(!active(&leaver).await);
    assert_eq!(
        world.outcome("leaver", "app").await.as_deref(),
        Some("deactivated")
    );
    // The release leaves the protected account as it is, and it stays listed: a plain
    // release does not even search again (only a recheck would, and find it protected).
    let released = world.release().await;
    assert_eq!(released["remaining"], 1, "{released}");
    assert!(active(&admin).await);
    let records = world.stop(&[&scim_token()]).await;
    let protected = records_saying(&records, "deprovision", "protected");
    assert_eq!(protected.len(), 1, "the stream's only");
    assert_eq!(protected[0]["level"], "WARN");
    assert_eq!(protected[0]["target"], "app");
    assert_eq!(protected[0]["protected_by"], "work_email");
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn a_leaver_whose_address_an_active_employee_now_holds_changes_nobody() {
    let email = format!("{}@example.com", unique("alex"));
    // The account in the application is the person holding the address now.
    let holder = seed(&scim_url(), &scim_token(), &email, &email, None, true).await;
    let mut world = World::start(json!({"targets": [target("app", json!({}))]}), &[]).await;
    // E2, active under the address; then E1, who left last week under it (a leaver of
    // long before the account was first seen would be historical, never worked).
    world
        .deliver(
            "e2",
            json!({"work_email": email, "employment_status": "ACTIVE", "termination_date": null}),
        )
        .await;
    world
        .deliver(
            "e1",
            json!({"work_email": format!(" {} ", email.to_uppercase())}),
        )
        .await;
    let answered = world.stream().await;
    assert_eq!(answered["batchItemFailures"], json!([]), "{answered}");
    assert!(active(&holder).await, "the holder's account is untouched");
    assert_eq!(
        world.outcome("e1", "app").await.as_deref(),
        Some("conflict")
    );
    let records = world.stop(&[&scim_token()]).await;
    let conflicts = records_saying(&records, "deprovision", "conflict");
    assert_eq!(conflicts.len(), 1, "{records:#?}");
    assert_eq!(conflicts[0]["level"], "ERROR");
    assert_eq!(conflicts[0]["employee_id"], "e1");
    assert_eq!(conflicts[0]["conflict_with"], "e2");
}

/// A backfill document for the world's linked account.
fn backfill_document(dry_run: bool) -> String {
    json!({"kind": "merge-deprovision.backfill", "version": 1,
        "linked_account_id": LINKED_ACCOUNT, "dry_run": dry_run})
    .to_string()
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn a_leaver_long_gone_is_recorded_historical_and_only_a_backfill_deactivates_them() {
    let email = format!("{}@example.com", unique("long-gone"));
    let account = seed(&scim_url(), &scim_token(), &email, &email, None, true).await;
    let mut world = World::start(json!({"targets": [target("app", json!({}))]}), &[]).await;
    // The account's first delivery: someone who left in 2023, years before it was seen.
    world
        .deliver(
            "old",
            json!({"work_email": email, "termination_date": "2023-03-31"}),
        )
        .await;
    // The move reaches the stream (the mapping's filter knows nothing of history); the
    // function does nothing with it.
    let answered = world.stream().await;
    assert_eq!(answered["batchItemFailures"], json!([]), "{answered}");
    assert!(active(&account).await, "nothing is changed by itself");
    assert_eq!(world.outcome("old", "app").await, None);
    let released = world.release().await;
    assert_eq!(released["released"], 0, "{released}");
    assert!(active(&account).await);

    let preview = world.invoke(&backfill_document(true)).await;
    assert_eq!(preview["leavers"], 1, "{preview}");
    assert_eq!(preview["historical"], 1);
    assert_eq!(preview["sweep_completed"], false);
    // The account as a completed first sweep leaves it: every live employee in the
    // ledger, which a backfill of historical leavers waits for.
    let state = merge_deprovision::domain::reconcile::SweepState {
        linked_account_id: LINKED_ACCOUNT.to_owned(),
        watermark: Some(chrono::Utc::now()),
        run: None,
        lease_until: None,
        holder: String::new(),
        unavailable: 0,
        revision: 1,
    };
    world
        .dynamodb
        .put_item()
        .table_name(&world.table)
        .set_item(Some(merge_deprovision::aws::ledger::sweep_to_item(&state)))
        .send()
        .await
        .expect("the emulator stores the sweep item");
    assert!(active(&account).await, "a dry run changes nothing");
    let acted = world.invoke(&backfill_document(false)).await;
    assert_eq!(acted["outcomes"]["deactivated"], 1, "{acted}");
    assert!(!active(&account).await);
    assert_eq!(
        world.outcome("old", "app").await.as_deref(),
        Some("deactivated")
    );
    let again = world.invoke(&backfill_document(false)).await;
    assert_eq!(again["found"], 0, "{again}");
    let records = world.stop(&[&scim_token()]).await;
    let historical: Vec<&Value> = records
        .iter()
        .filter(|r| {
            r["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("employee terminated before the account's baseline"))
        })
        .collect();
    assert_eq!(historical.len(), 1, "{records:#?}");
    assert_eq!(historical[0]["level"], "INFO");
    assert!(
        !records
            .iter()
            .any(|r| r["message"] == "employee terminated: revoke access"),
        "no revoke-access record for the downstream hook"
    );
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn leavers_recorded_before_scim_was_turned_on_are_worked_by_the_backfill_once() {
    use merge_deprovision::domain::decision::Decision;
    use merge_deprovision::domain::ledger::{
        EmployeeKey, Identity, Observation, Source, transition,
    };
    let email = format!("{}@example.com", unique("before-scim"));
    let account = seed(&scim_url(), &scim_token(), &email, &email, None, true).await;
    let world = World::start(json!({"targets": [target("app", json!({}))]}), &[]).await;
    // The ledger as an earlier deployment, without deprovisioning, left it: a leaver of
    // last week, announced, with no target outcome and no stream record to come.
    let now = chrono::Utc::now();
    let observation = Observation {
        key: EmployeeKey::new(Some(LINKED_ACCOUNT), "before"),
        decision: Decision::Terminated,
        reasons: "status_inactive,termination_date_passed".into(),
        termination_date: Some(now - chrono::TimeDelta::days(7)),
        effective_at: Some(now - chrono::TimeDelta::days(7)),
        // An earlier deployment kept no rule.
        effective_rule: None,
        version: Some(now - chrono::TimeDelta::days(6)),
        removal: false,
        identity: Identity {
            work_email: Some(email.clone()),
            ..Identity::default()
        },
        source: Source::Webhook,
        delivery_id: None,
    };
    let mut entry = transition(None, &observation, now).write.unwrap();
    entry.announced = true;
    world
        .dynamodb
        .put_item()
        .table_name(&world.table)
        .set_item(Some(merge_deprovision::aws::ledger::to_item(&entry)))
        .send()
        .await
        .expect("the emulator stores the entry");
    let mut world = world;
    let preview = world.invoke(&backfill_document(true)).await;
    assert_eq!(preview["leavers"], 1, "{preview}");
    assert_eq!(preview["historical"], 0);
    assert!(active(&account).await);
    let acted = world.invoke(&backfill_document(false)).await;
    assert_eq!(acted["worked"], 1, "{acted}");
    assert!(!active(&account).await);
    assert_eq!(
        world.outcome("before", "app").await.as_deref(),
        Some("deactivated")
    );
    let again = world.invoke(&backfill_document(false)).await;
    assert_eq!(again["found"], 0, "{again}");
    world.stop(&[&scim_token()]).await;
}

// The operator's controls: pause, resume and the release's preview.

fn control_sample(name: &str) -> String {
    let path = format!("{}/events/controls/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn a_pause_stops_a_backlog_between_two_records_and_the_resume_finishes_it() {
    let tag = unique("pause");
    let mut ids = Vec::new();
    for n in 0..6 {
        let email = format!("{tag}-{n}@example.com");
        ids.push(seed(&scim_url(), &scim_token(), &email, &email, None, true).await);
    }
    let mut world = World::start(json!({"targets": [target("app", json!({}))]}), &[]).await;
    for n in 0..6 {
        let fields = json!({"work_email": format!("{tag}-{n}@example.com")});
        world.deliver(&format!("p{n}"), fields).await;
    }
    wait_past_the_hour_if_within(std::time::Duration::from_secs(60)).await;
    let batch = world.batch().await.expect("six moves into terminated");
    let records = batch["Records"].as_array().unwrap().clone();
    assert_eq!(records.len(), 6);
    // Two records are worked, then a person pauses; the rest of the backlog arrives.
    for (worked, record) in records.iter().enumerate() {
        if worked == 2 {
            let paused = world.invoke(&control_sample("pause.json")).await;
            assert_eq!(paused["paused"]["all"], true, "{paused}");
        }
        let one = json!({ "Records": [record] });
        let answered = world.invoke(&one.to_string()).await;
        assert_eq!(answered["batchItemFailures"], json!([]), "{answered}");
    }
    let mut deactivated = Vec::new();
    for id in &ids {
        deactivated.push(!active(id).await);
    }
    assert_eq!(
        deactivated.iter().filter(|d| **d).count(),
        2,
        "{deactivated:?}"
    );
    let preview = world.invoke(&control_sample("preview-release.json")).await;
    assert_eq!(preview["by_reason"]["paused"], 4, "{preview}");
    assert_eq!(preview["paused"]["all"], true);

    let resumed = world.invoke(&control_sample("resume.json")).await;
    assert_eq!(resumed["outcomes"]["deactivated"], 4, "{resumed}");
    assert_eq!(resumed["paused"]["all"], false);
    for id in &ids {
        assert!(!active(id).await, "every leaver deactivated once resumed");
    }
    let records = world.stop(&[&scim_token()]).await;
    assert_eq!(records_saying(&records, "deprovision", "paused").len(), 4);
    assert_eq!(
        records_saying(&records, "deprovision", "deactivated").len(),
        6
    );
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn the_preview_lists_what_the_release_then_does() {
    let tag = unique("preview");
    let mut ids = Vec::new();
    for n in 0..4 {
        let email = format!("{tag}-{n}@example.com");
        ids.push(seed(&scim_url(), &scim_token(), &email, &email, None, true).await);
    }
    let vars = [("DEPROVISION_MAX_PER_HOUR", "2")];
    let mut world = World::start(json!({"targets": [target("app", json!({}))]}), &vars).await;
    for n in 0..4 {
        let fields = json!({"work_email": format!("{tag}-{n}@example.com")});
        world.deliver(&format!("v{n}"), fields).await;
    }
    wait_past_the_hour_if_within(std::time::Duration::from_secs(60)).await;
    while let Some(batch) = world.batch().await {
        for record in batch["Records"].as_array().unwrap() {
            world
                .invoke(&json!({ "Records": [record] }).to_string())
                .await;
        }
    }
    let preview = world.invoke(&control_sample("preview-release.json")).await;
    assert_eq!(preview["by_reason"]["held"], 2, "{preview}");
    assert_eq!(preview["would_work"]["targets"], 2, "{preview}");
    let still_active = |ids: Vec<String>| async move {
        let mut n = 0;
        for id in &ids {
            n += usize::from(active(id).await);
        }
        n
    };
    assert_eq!(
        still_active(ids.clone()).await,
        2,
        "the preview changed nothing"
    );
    let released = world.release().await;
    assert_eq!(released["outcomes"]["deactivated"], 2, "{released}");
    assert_eq!(released["released"], 2);
    assert_eq!(still_active(ids).await, 0);
    world.stop(&[&scim_token()]).await;
}

// The check of a target (`merge-deprovision.check-target`), read-only, against the real
// server: a refused token, a port nobody listens on, a path that answers 404, a missing
// user and a found one, which stays active.

/// A loopback port nobody listens on: bound, then let go.
fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn check_document(fields: Value) -> String {
    let mut document = json!({"kind": "merge-deprovision.check-target", "version": 1});
    for (k, v) in fields.as_object().unwrap() {
        document[k.as_str()] = v.clone();
    }
    document.to_string()
}

fn checked<'a>(answer: &'a Value, name: &str) -> &'a Value {
    answer["targets"]
        .as_array()
        .and_then(|targets| targets.iter().find(|t| t["target"] == name))
        .unwrap_or_else(|| panic!("no {name} in {answer}"))
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn a_check_reports_a_wrong_token_a_dead_port_and_a_wrong_path_per_target() {
    let wrong_token = "scim-wrong-token-for-the-check";
    let nowhere = format!("http://127.0.0.1:{}/v2", dead_port());
    let wrong_path = scim_url().replace("/v2", "/nowhere/v2");
    let targets = json!({"targets": [
        target("good", json!({})),
        target("refused", json!({"token": wrong_token})),
        target("down", json!({"base_url": nowhere})),
        target("lost", json!({"base_url": wrong_path})),
    ]});
    let mut world = World::start(targets, &[]).await;
    // A failing target is an answer, never a failed invocation.
    let answer = world.invoke(&check_document(json!({}))).await;
    assert_eq!(answer["checked"], 4, "{answer}");
    assert_eq!(answer["failing"], 3, "{answer}");
    let good = checked(&answer, "good");
    assert_eq!(good["ok"], true, "{good}");
    assert_eq!(good["token_accepted"], true);
    let refused = checked(&answer, "refused");
    assert_eq!(refused["error"], "unauthorized", "{refused}");
    assert_eq!(refused["token_accepted"], false);
    assert_eq!(refused["host"], "127.0.0.1");
    let down = checked(&answer, "down");
    assert_eq!(down["error"], "unreachable", "{down}");
    assert_eq!(down["reachable"], false);
    let lost = checked(&answer, "lost");
    assert_eq!(lost["error"], "not_found", "{lost}");
    assert_eq!(lost["reachable"], true);
    let records = world.stop(&[&scim_token(), wrong_token]).await;
    let checks = records_saying(
        &records,
        "message",
        merge_deprovision::telemetry::record::TARGET_CHECKED_MESSAGE,
    );
    assert_eq!(checks.len(), 4, "{records:#?}");
    assert!(checks.iter().all(|r| r["level"] == "INFO"));
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn a_check_finds_a_user_and_says_it_would_deactivate_it_and_it_stays_active() {
    let email = format!("{}@example.com", unique("checked"));
    let account = seed(&scim_url(), &scim_token(), &email, &email, None, true).await;
    let mut world = World::start(json!({"targets": [target("app", json!({}))]}), &[]).await;
    let found = world
        .invoke(&check_document(json!({"target": "app", "value": email})))
        .await;
    let app = checked(&found, "app");
    assert_eq!(app["ok"], true, "{found}");
    assert_eq!(app["found"], 1);
    assert_eq!(app["users"][0]["id"], account.as_str());
    assert_eq!(app["users"][0]["active"], true);
    assert_eq!(app["users"][0]["carries_value"], true);
    assert_eq!(app["would"], "deactivate");
    let missing = world
        .invoke(&check_document(
            json!({"target": "app", "value": format!("nobody-{email}")}),
        ))
        .await;
    let app = checked(&missing, "app");
    assert_eq!(app["found"], 0, "{missing}");
    assert_eq!(app["would"], "not_found");
    assert!(active(&account).await, "a check changes nobody");
    assert!(world.batch().await.is_none(), "nor the ledger");
    world.stop(&[&scim_token()]).await;
}

// ---- Undo and deprovision now (merge-deprovision.undo, merge-deprovision.deprovision-now)

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn an_undo_in_a_window_reactivates_exactly_the_users_deactivated_in_it() {
    let seeded = |tag: &str, active: bool| {
        let email = format!("{}@example.com", unique(tag));
        async move {
            let id = seed(&scim_url(), &scim_token(), &email, &email, None, active).await;
            (email, id)
        }
    };
    let (before_email, before) = seeded("undo-before", true).await;
    let (mine_email, mine) = seeded("undo-mine", true).await;
    let (theirs_email, theirs) = seeded("undo-theirs", false).await;
    let mut world = World::start(json!({"targets": [target("app", json!({}))]}), &[]).await;
    world
        .deliver("u-before", json!({"work_email": before_email}))
        .await;
    world.stream().await;
    assert!(!active(&before).await);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let from = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    world
        .deliver("u-mine", json!({"work_email": mine_email}))
        .await;
    world
        .deliver("u-theirs", json!({"work_email": theirs_email}))
        .await;
    world.stream().await;
    let to = chrono::Utc::now() + chrono::TimeDelta::seconds(1);
    assert_eq!(
        world.outcome("u-theirs", "app").await.as_deref(),
        Some("already_inactive")
    );
    let document = |dry_run: bool| {
        json!({"kind": "merge-deprovision.undo", "version": 1,
            "linked_account_id": LINKED_ACCOUNT, "from": from.to_rfc3339(),
            "to": to.to_rfc3339(), "dry_run": dry_run, "include_terminated": true})
        .to_string()
    };
    let listed = world.invoke(&document(true)).await;
    assert_eq!(
        listed["outcomes"],
        json!({"would_reactivate": 1}),
        "{listed}"
    );
    assert!(!active(&mine).await, "the dry run changes nothing");
    let undone = world.invoke(&document(false)).await;
    assert_eq!(undone["outcomes"], json!({"reactivated": 1}), "{undone}");
    assert_eq!(undone["changes"][0]["scim_user_id"], mine.as_str());
    assert!(active(&mine).await);
    assert!(!active(&before).await, "deactivated before the window");
    assert!(!active(&theirs).await, "deactivated by someone else");
    assert_eq!(
        world.outcome("u-mine", "app").await.as_deref(),
        Some("reactivated")
    );
    let again = world.invoke(&document(false)).await;
    assert_eq!(again["found"], 0, "{again}");
    let records = world.stop(&[&scim_token()]).await;
    assert_eq!(records_saying(&records, "undo", "reactivated").len(), 1);
}

#[tokio::test]
#[ignore = "needs scim2-server and the AWS emulator: scripts/scim-server-check.sh"]
async fn deprovision_now_deactivates_the_named_employee_within_one_invocation() {
    let email = format!("{}@example.com", unique("now"));
    let account = seed(&scim_url(), &scim_token(), &email, &email, None, true).await;
    let mut world = World::start(json!({"targets": [target("app", json!({}))]}), &[]).await;
    world
        .deliver(
            "n1",
            json!({"work_email": email, "employment_status": "ACTIVE", "termination_date": null}),
        )
        .await;
    assert!(active(&account).await);
    let document = json!({"kind": "merge-deprovision.deprovision-now", "version": 1,
        "linked_account_id": LINKED_ACCOUNT,
        "match": {"attribute": "work_email", "value": email}});
    let answered = world.invoke(&document.to_string()).await;
    assert_eq!(
        answered["outcomes"],
        json!({"deactivated": 1}),
        "{answered}"
    );
    assert_eq!(answered["employee_id"], "n1");
    assert!(!active(&account).await, "within the one invocation");
    assert_eq!(
        world.outcome("n1", "app").await.as_deref(),
        Some("deactivated")
    );
    let records = world.stop(&[&scim_token()]).await;
    let announced: Vec<&Value> = records
        .iter()
        .filter(|r| r["message"] == "employee terminated: revoke access")
        .collect();
    assert_eq!(announced.len(), 1, "{records:#?}");
    assert_eq!(announced[0]["source"], "by_hand");
}
