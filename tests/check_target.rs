//! The check of a target (`merge-deprovision.check-target`), through the real handler
//! against the in-memory twins: it reports a refused token, an unreachable endpoint, a
//! missing user, one user found and what would be done to it, a protected user, two
//! users, every target at once, and changes nothing anywhere.

mod support;

use merge_deprovision::domain::deprovision::brake_window;
use merge_deprovision::scim::client::ScimError;
use merge_deprovision::scim::memory::MemoryScim;
use merge_deprovision::telemetry::metrics::{TARGET_CHECK_FAILURES, TARGET_CHECKS};
use merge_deprovision::telemetry::record::TARGET_CHECKED_MESSAGE;
use serde_json::{Value, json};
use support::{DeprovisionApp, answer, deprovision_app, direct, employee_delivery};

const CHAT: &str = "https://chat.example.com/scim/v2";
const CHAT_TOKEN: &str = "TOKEN-SENTINEL-chat-8d1f";
const WIKI: &str = "https://wiki.example.com/scim/v2";
const WIKI_TOKEN: &str = "TOKEN-SENTINEL-wiki-3a7c";
const LINKED_ACCOUNT: &str = "a3602c03-aba7-4d9d-a349-dbc338504092";

fn chat(extra: Value) -> Value {
    let mut target = json!({"name": "chat", "base_url": CHAT, "token": CHAT_TOKEN});
    for (k, v) in extra.as_object().unwrap() {
        target[k.as_str()] = v.clone();
    }
    target
}

fn wiki(token: &str) -> Value {
    json!({"name": "wiki", "base_url": WIKI, "token": token})
}

fn directories() -> MemoryScim {
    let scim = MemoryScim::new();
    scim.serve(CHAT, CHAT_TOKEN);
    scim.serve(WIKI, WIKI_TOKEN);
    scim
}

fn app(targets: &[Value], scim: MemoryScim) -> DeprovisionApp {
    deprovision_app(&json!({ "targets": targets }), scim, &[])
}

/// What a check answered: status, body, records, metrics lines.
struct Checked {
    status: u16,
    body: Value,
    logs: String,
    metrics: Vec<Value>,
}

impl Checked {
    fn target(&self, name: &str) -> &Value {
        self.body["targets"]
            .as_array()
            .expect("a list of targets")
            .iter()
            .find(|t| t["target"] == name)
            .unwrap_or_else(|| panic!("no {name} in {}", self.body))
    }

    fn records(&self) -> Vec<Value> {
        self.logs
            .lines()
            .map(|l| serde_json::from_str(l).expect("each log line is JSON"))
            .collect()
    }
}

fn send(app: &merge_deprovision::lambda::state::App, document: &Value) -> Checked {
    use merge_deprovision::lambda::handler::answer_event;
    let request = direct(document);
    let (answered, logs) = support::capture_logs(true, || {
        merge_deprovision_samples::ready(answer_event(app, &request, support::now()))
    });
    let answered = answered.expect("the handler answers");
    Checked {
        status: answered.response.status().as_u16(),
        body: serde_json::from_slice(answered.response.body().as_ref()).expect("a JSON answer"),
        logs,
        metrics: answered
            .metrics
            .iter()
            .flat_map(|m| m.lines().map(|l| serde_json::from_str(l).unwrap()))
            .collect(),
    }
}

fn check(d: &DeprovisionApp, fields: Value) -> Checked {
    let mut document = json!({"kind": "merge-deprovision.check-target", "version": 1});
    for (k, v) in fields.as_object().unwrap() {
        document[k.as_str()] = v.clone();
    }
    send(&d.app, &document)
}

/// Nothing changed: no user changed in either directory, no brake slot taken, nobody
/// noted as waiting, no ledger entry written.
fn nothing_changed(d: &DeprovisionApp) {
    assert!(d.scim.changes(CHAT).is_empty());
    assert!(d.scim.changes(WIKI).is_empty());
    for call in d.scim.calls(CHAT).iter().chain(&d.scim.calls(WIKI)) {
        assert_eq!(call, "GET", "a check only reads");
    }
    assert_eq!(d.store.taken(&brake_window(support::now())), 0);
    assert!(d.store.waiting_keys().is_empty());
}

#[test]
fn a_wrong_token_is_reported_as_unauthorized_naming_the_host_only() {
    let d = app(&[wiki("TOKEN-SENTINEL-wrong-0000")], directories());
    let checked = check(&d, json!({"target": "wiki"}));
    assert_eq!(checked.status, 200, "{}", checked.body);
    let wiki = checked.target("wiki");
    assert_eq!(wiki["ok"], false);
    assert_eq!(wiki["error"], "unauthorized");
    assert_eq!(wiki["reachable"], true);
    assert_eq!(wiki["token_accepted"], false);
    assert_eq!(wiki["host"], "wiki.example.com");
    assert_eq!(wiki["message"], "wiki.example.com refused the token (401)");
    assert_eq!(checked.body["failing"], 1);
    let everything = format!("{}{}{:?}", checked.body, checked.logs, checked.metrics);
    assert!(
        !everything.contains("TOKEN-SENTINEL"),
        "a token in the output"
    );
    assert!(
        !everything.contains("/scim/v2"),
        "the host at most: {everything}"
    );
    nothing_changed(&d);
}

#[test]
fn a_wrong_url_is_reported_as_unreachable() {
    let scim = directories();
    // No answer from the host, however often asked.
    scim.fail_next(CHAT, std::iter::repeat_n(ScimError::Unreachable, 3));
    let d = app(&[chat(json!({}))], scim);
    let checked = check(&d, json!({"target": "chat", "value": "greg@merge.dev"}));
    assert_eq!(checked.status, 200, "{}", checked.body);
    let chat = checked.target("chat");
    assert_eq!(chat["ok"], false, "{chat}");
    assert_eq!(chat["error"], "unreachable");
    assert_eq!(chat["reachable"], false);
    assert_eq!(chat["token_accepted"], Value::Null);
    assert!(chat.get("would").is_none(), "{chat}");
    nothing_changed(&d);
}

#[test]
fn a_missing_user_is_reported_as_not_found() {
    let scim = directories();
    scim.add(CHAT, "alex@merge.dev", &["alex@merge.dev"], None, true);
    let d = app(&[chat(json!({}))], scim);
    let checked = check(&d, json!({"target": "chat", "value": "greg@merge.dev"}));
    let chat = checked.target("chat");
    assert_eq!(chat["ok"], true, "{chat}");
    assert_eq!(chat["reachable"], true);
    assert_eq!(chat["token_accepted"], true);
    assert_eq!(chat["filter"], r#"userName eq "greg@merge.dev""#);
    assert_eq!(chat["found"], 0);
    assert_eq!(chat["would"], "not_found");
    nothing_changed(&d);
}

#[test]
fn one_user_found_is_reported_with_its_id_and_that_it_would_be_deactivated() {
    let scim = directories();
    let greg = scim.add(CHAT, "greg@merge.dev", &["greg@merge.dev"], None, true);
    let d = app(&[chat(json!({}))], scim);
    let checked = check(&d, json!({"target": "chat", "value": " Greg@Merge.dev "}));
    assert_eq!(checked.status, 200);
    let chat = checked.target("chat");
    assert_eq!(chat["ok"], true, "{chat}");
    assert_eq!(chat["found"], 1);
    assert_eq!(
        chat["users"],
        json!([{"id": greg, "active": true, "carries_value": true}])
    );
    assert_eq!(chat["would"], "deactivate");
    assert_eq!(chat["action"], "deactivate");
    assert_eq!(chat["match"], "userName=work_email");
    assert_eq!(chat["filter"], r#"userName eq "Greg@Merge.dev""#);
    assert_eq!(chat["identity_check"], "not_checked");
    assert_eq!(checked.body["mode"], "enforce");
    let records = checked.records();
    let checks: Vec<&Value> = records
        .iter()
        .filter(|r| r["message"] == TARGET_CHECKED_MESSAGE)
        .collect();
    assert_eq!(checks.len(), 1, "{records:#?}");
    assert_eq!(checks[0]["level"], "INFO");
    assert_eq!(checks[0]["target"], "chat");
    assert_eq!(checks[0]["would"], "deactivate");
    assert_eq!(checked.metrics.len(), 1);
    assert_eq!(checked.metrics[0][TARGET_CHECKS], 1);
    assert!(checked.metrics[0].get(TARGET_CHECK_FAILURES).is_none());
    nothing_changed(&d);
    assert!(d.scim.user(CHAT, &greg).unwrap().active, "still active");
}

#[test]
fn a_filter_value_with_a_quote_is_escaped_as_the_real_path_escapes_it() {
    let scim = directories();
    let tricky = r#"x" or "1"="1@merge.dev"#;
    scim.add(CHAT, "x", &["x@merge.dev"], None, true);
    let d = app(&[chat(json!({}))], scim);
    let checked = check(&d, json!({"target": "chat", "value": tricky}));
    let chat = checked.target("chat");
    assert_eq!(
        chat["filter"],
        r#"userName eq "x\" or \"1\"=\"1@merge.dev""#
    );
    assert_eq!(chat["ok"], true, "the twin reads it as one value: {chat}");
    assert_eq!(chat["would"], "not_found");
}

#[test]
fn a_protected_user_is_reported_as_protected_by_the_list_or_as_the_tokens_owner() {
    let scim = directories();
    scim.add(CHAT, "root@merge.dev", &["root@merge.dev"], None, true);
    let bot = scim.add(CHAT, "bot@merge.dev", &["bot@merge.dev"], None, true);
    scim.own_token(CHAT, &bot);
    let d = app(&[chat(json!({"protected": ["root@merge.dev"]}))], scim);
    let listed = check(&d, json!({"target": "chat", "value": "root@merge.dev"}));
    let chat = listed.target("chat");
    assert_eq!(chat["would"], "protected", "{chat}");
    assert_eq!(chat["protected_by"], "work_email");
    assert_eq!(chat["found"], 1, "the search still reports who it finds");
    let owner = check(&d, json!({"target": "chat", "value": "bot@merge.dev"}));
    let chat = owner.target("chat");
    assert_eq!(chat["would"], "protected", "{chat}");
    assert_eq!(chat["protected_by"], "token_owner");
    nothing_changed(&d);
}

#[test]
fn two_users_carrying_the_value_are_reported_as_ambiguous() {
    let scim = directories();
    let one = scim.add(CHAT, "sam@merge.dev", &["sam@merge.dev"], None, true);
    let two = scim.add(CHAT, "SAM@merge.dev", &["sam@merge.dev"], None, true);
    let d = app(&[chat(json!({}))], scim);
    let checked = check(&d, json!({"target": "chat", "value": "sam@merge.dev"}));
    let chat = checked.target("chat");
    assert_eq!(chat["would"], "ambiguous", "{chat}");
    assert_eq!(chat["found"], 2);
    let ids: Vec<&Value> = chat["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["id"])
        .collect();
    assert_eq!(ids, [&json!(one), &json!(two)]);
    nothing_changed(&d);
}

#[test]
fn an_inactive_user_would_be_left_as_it_is() {
    let scim = directories();
    scim.add(CHAT, "gone@merge.dev", &[], None, false);
    let d = app(&[chat(json!({}))], scim);
    let checked = check(&d, json!({"target": "chat", "value": "gone@merge.dev"}));
    assert_eq!(checked.target("chat")["would"], "nothing_already_inactive");
}

#[test]
fn a_live_employee_holding_the_value_is_reported_as_a_conflict_when_the_account_is_named() {
    let scim = directories();
    scim.add(CHAT, "alex@merge.dev", &["alex@merge.dev"], None, true);
    let d = app(&[chat(json!({}))], scim);
    let hired = employee_delivery(
        "Employee.changed",
        json!({"id": "e-live", "work_email": "alex@merge.dev", "employment_status": "ACTIVE",
               "termination_date": null}),
    );
    assert_eq!(answer(&d.app, &hired).status, 200);
    let named = check(
        &d,
        json!({"target": "chat", "value": "alex@merge.dev", "linked_account_id": LINKED_ACCOUNT}),
    );
    let chat = named.target("chat");
    assert_eq!(chat["would"], "conflict", "{chat}");
    assert_eq!(chat["conflict_with"], "e-live");
    assert_eq!(chat["identity_check"], "conflict");
    let unnamed = check(&d, json!({"target": "chat", "value": "alex@merge.dev"}));
    assert_eq!(unnamed.target("chat")["identity_check"], "not_checked");
    assert_eq!(unnamed.target("chat")["would"], "deactivate");
    nothing_changed(&d);
}

#[test]
fn every_target_at_once_is_reported_per_target() {
    let scim = directories();
    scim.add(CHAT, "greg@merge.dev", &["greg@merge.dev"], None, true);
    let d = app(&[chat(json!({})), wiki("TOKEN-SENTINEL-wrong-0000")], scim);
    for document in [
        json!({"value": "greg@merge.dev"}),
        json!({"target": "*", "value": "greg@merge.dev"}),
    ] {
        let checked = check(&d, document);
        assert_eq!(checked.status, 200);
        assert_eq!(checked.body["checked"], 2, "{}", checked.body);
        assert_eq!(checked.body["failing"], 1);
        assert_eq!(checked.target("chat")["would"], "deactivate");
        assert_eq!(checked.target("wiki")["error"], "unauthorized");
        let records = checked.records();
        assert_eq!(
            records
                .iter()
                .filter(|r| r["message"] == TARGET_CHECKED_MESSAGE)
                .count(),
            2
        );
        assert_eq!(checked.metrics[0][TARGET_CHECKS], 2);
        assert_eq!(checked.metrics[0][TARGET_CHECK_FAILURES], 1);
    }
    nothing_changed(&d);
}

#[test]
fn without_a_value_only_reachability_and_the_token_are_checked() {
    let scim = directories();
    scim.add(CHAT, "greg@merge.dev", &["greg@merge.dev"], None, true);
    let d = app(&[chat(json!({})), wiki(WIKI_TOKEN)], scim);
    let checked = check(&d, json!({}));
    for name in ["chat", "wiki"] {
        let target = checked.target(name);
        assert_eq!(target["ok"], true, "{target}");
        assert_eq!(target["token_accepted"], true);
        assert_eq!(target["found"], 0, "a value nobody has finds nobody");
        assert!(target.get("would").is_none());
        assert!(target.get("filter").is_none());
    }
    assert_eq!(checked.body["value_checked"], false);
    nothing_changed(&d);
}

#[test]
fn bad_input_is_refused_with_a_400_naming_the_field() {
    let d = app(&[chat(json!({}))], directories());
    for (fields, field) in [
        (json!({"target": "nope"}), "target"),
        (json!({"value": ""}), "value"),
        (json!({"value": 42}), "value"),
        (json!({"target": false}), "target"),
        (json!({"version": 2}), "version"),
        (json!({"dry_run": true}), "unknown"),
    ] {
        let checked = check(&d, fields.clone());
        assert_eq!(checked.status, 400, "{fields}: {}", checked.body);
        assert_eq!(checked.body["field"], field, "{fields}: {}", checked.body);
        assert!(checked.body["message"].is_string());
        assert!(checked.metrics.is_empty());
    }
    let unknown = check(&d, json!({"dry_run": true}));
    assert!(
        unknown.body["message"]
            .as_str()
            .unwrap()
            .contains("`dry_run`")
    );
    nothing_changed(&d);
    assert!(d.scim.calls(CHAT).is_empty(), "bad input calls nothing");
}

#[test]
fn with_deprovisioning_off_the_answer_says_so() {
    let app = support::receiver_with(&[]);
    let checked = send(
        &app,
        &json!({"kind": "merge-deprovision.check-target", "version": 1, "value": "greg@merge.dev"}),
    );
    assert_eq!(checked.status, 200);
    assert_eq!(
        checked.body["error"], "deprovisioning_off",
        "{}",
        checked.body
    );
    assert!(
        checked.body["message"]
            .as_str()
            .unwrap()
            .contains("SCIM_TARGETS_SECRET_ID")
    );
}

#[test]
fn the_check_target_samples_in_events_are_read_and_answered_as_their_docs_say() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events/check-target");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["every-target.json", "one-target.json"]);
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
    };
    let scim = directories();
    let greg = scim.add(CHAT, "greg@merge.dev", &["greg@merge.dev"], None, true);
    let d = app(&[chat(json!({})), wiki(WIKI_TOKEN)], scim);
    let one = send(&d.app, &read("one-target.json"));
    assert_eq!(one.body["checked"], 1, "{}", one.body);
    assert_eq!(one.target("chat")["would"], "deactivate");
    assert_eq!(one.target("chat")["users"][0]["id"], greg);
    let every = send(&d.app, &read("every-target.json"));
    assert_eq!(every.body["checked"], 2, "{}", every.body);
    assert_eq!(every.body["failing"], 0);
    nothing_changed(&d);
    assert!(d.scim.user(CHAT, &greg).unwrap().active);
}
