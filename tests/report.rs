//! The access-removal report (`merge-deprovision.report`), through the real handler
//! against the in-memory twins: a month of leavers in two targets (met in both, held by
//! the brake then released, rehired then terminated again, undone, historical, failed),
//! with an October leaver and another account's beside them, gives a report whose every
//! row is right in each form; a leaver of the month's last evening is that month's, held
//! work is open then exempt once rehired; the schedule's `previous-month` and the month
//! asked for by name give the same bytes; no sensitive field nor token reaches any form;
//! and a bad document, reports turned off or a failing bucket are refused or fail,
//! naming a kind.

mod support;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use lambda_http::RequestExt;
use merge_deprovision::aws::memory::MemoryReports;
use merge_deprovision::aws::reports::ReportError;
use merge_deprovision::lambda::handler::answer_event;
use merge_deprovision::scim::client::ScimError;
use merge_deprovision::scim::memory::MemoryScim;
use merge_deprovision_samples::{Signing, employee_envelope, ready};
use serde_json::{Value, json};
use std::sync::Arc;
use support::{DeprovisionApp, capture_logs, deprovision_app, direct, stream_batch};

const CHAT: &str = "https://chat.example.com/scim/v2";
const WIKI: &str = "https://wiki.example.com/scim/v2";
const CHAT_TOKEN: &str = "TOKEN-SENTINEL-chat-report-6c1a";
const WIKI_TOKEN: &str = "TOKEN-SENTINEL-wiki-report-d07f";
const ACCOUNT: &str = "a3602c03-aba7-4d9d-a349-dbc338504092";
const OTHER_ACCOUNT: &str = "b7d1e4f0-2c3a-4b5d-8e6f-000000000b0b";

/// The leavers, by number: each one's story is told by [`november`].
const OCTOBER: u32 = 1;
const MET: u32 = 2;
const HELD: u32 = 3;
const REHIRED: u32 = 4;
const UNDONE: u32 = 5;
const HISTORICAL: u32 = 6;
const FAILED: u32 = 7;
const ELSEWHERE: u32 = 8;

fn employee(n: u32) -> String {
    format!("0958cbc6-6040-430a-848e-{n:012}")
}

fn email(n: u32) -> String {
    format!("leaver{n}@merge.dev")
}

/// An instant of November 2026, UTC.
fn nov(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, minute, 0)
        .unwrap()
}

fn rfc(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The monthly schedule's moment after November: `cron(30 0 1 * ? *)`.
fn first_of_december() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 30, 0).unwrap()
}

/// Every sensitive field Merge sends, with a value found nowhere else, for employee `n`.
fn sentinels(n: u32) -> Vec<(&'static str, String)> {
    [
        "ssn",
        "date_of_birth",
        "personal_email",
        "mobile_phone_number",
        "first_name",
        "last_name",
        "preferred_name",
        "gender",
        "ethnicity",
        "marital_status",
        "avatar",
        "street_1",
        "t_shirt_size",
        "remote_data",
    ]
    .into_iter()
    .map(|field| (field, format!("SENTINEL-{field}-{n}")))
    .collect()
}

/// Every sentinel the scene's deliveries and targets carry.
fn every_sentinel() -> Vec<String> {
    let mut all: Vec<String> = (OCTOBER..=ELSEWHERE)
        .flat_map(|n| sentinels(n).into_iter().map(|(_, v)| v))
        .collect();
    all.extend([CHAT_TOKEN.to_owned(), WIKI_TOKEN.to_owned()]);
    all
}

/// A signed `Employee.changed` of employee `n` in `account`, at `at`: `status` with
/// `termination_date`, every sensitive field a sentinel.
fn delivery(
    account: &str,
    n: u32,
    status: &str,
    termination_date: Option<&str>,
    at: DateTime<Utc>,
) -> lambda_http::Request {
    let mut envelope = employee_envelope("Employee.changed", |data| {
        let fields = json!({"id": employee(n), "work_email": email(n),
            "employment_status": status, "termination_date": termination_date,
            "modified_at": rfc(at)});
        for (name, value) in fields.as_object().unwrap() {
            data.insert(name.clone(), value.clone());
        }
        for (field, sentinel) in sentinels(n) {
            let value = match field {
                "street_1" => json!({"street_1": sentinel, "city": "San Francisco"}),
                "t_shirt_size" => json!({"t_shirt_size": sentinel}),
                "remote_data" => json!([{"path": "/people/1", "data": {"ssn": sentinel}}]),
                _ => json!(sentinel),
            };
            let name = match field {
                "street_1" => "home_location",
                "t_shirt_size" => "custom_fields",
                other => other,
            };
            data.insert(name.to_owned(), value);
        }
    });
    envelope["linked_account"]["id"] = json!(account);
    let body = serde_json::to_vec(&envelope).unwrap();
    support::in_lambda(support::post(&body, Signing::TestKey))
}

/// What one invocation answered.
struct Invoked {
    status: u16,
    body: Value,
    logs: String,
}

/// Runs `request` through the handler at `now`, as the invocation `run`.
fn invoke(
    d: &DeprovisionApp,
    request: lambda_http::Request,
    run: &str,
    now: DateTime<Utc>,
) -> Invoked {
    let context = merge_deprovision_samples::lambda_context(run, "merge-deprovision");
    let request = request.with_lambda_context(context);
    let (answered, logs) = capture_logs(true, || ready(answer_event(&d.app, &request, now)));
    let response = answered.expect("the handler answers").response;
    Invoked {
        status: response.status().as_u16(),
        body: serde_json::from_slice(response.body().as_ref()).expect("a JSON answer"),
        logs,
    }
}

/// The stream's batch of the moves into `terminated` so far, worked at `now`.
fn stream(d: &DeprovisionApp, run: &str, now: DateTime<Utc>) -> Invoked {
    let batch = stream_batch(&d.ledger).expect("a move into terminated");
    invoke(d, batch, run, now)
}

/// Employee `n` of `account` leaves on `date`, told at `at`: a webhook, 200.
fn leaves(d: &DeprovisionApp, account: &str, n: u32, date: &str, at: DateTime<Utc>) {
    let run = format!("webhook-{n}-{}", at.timestamp());
    let told = invoke(
        d,
        delivery(account, n, "INACTIVE", Some(date), at),
        &run,
        at,
    );
    assert_eq!(told.status, 200, "{}", told.body);
}

/// Employee `n`'s users in both targets, active; their ids.
fn users(d: &DeprovisionApp, n: u32) -> (String, String) {
    let address = email(n);
    (
        d.scim.add(CHAT, &address, &[&address], None, true),
        d.scim.add(WIKI, &address, &[&address], None, true),
    )
}

/// The targets secret: chat and wiki.
fn targets() -> Value {
    json!({"targets": [
        {"name": "chat", "base_url": CHAT, "token": CHAT_TOKEN},
        {"name": "wiki", "base_url": WIKI, "token": WIKI_TOKEN},
    ]})
}

/// Two targets, a brake of two changes an hour, and the report bucket's twin.
fn app() -> (DeprovisionApp, Arc<MemoryReports>) {
    let scim = MemoryScim::new();
    scim.serve(CHAT, CHAT_TOKEN);
    scim.serve(WIKI, WIKI_TOKEN);
    let mut d = deprovision_app(&targets(), scim, &[("DEPROVISION_MAX_PER_HOUR", "2")]);
    let reports = Arc::new(MemoryReports::new());
    d.app = d.app.with_reports(reports.clone(), TimeDelta::hours(24));
    (d, reports)
}

/// The month, told as it happened.
fn november() -> (DeprovisionApp, Arc<MemoryReports>) {
    let (d, reports) = app();
    let ids: Vec<(String, String)> = (OCTOBER..=ELSEWHERE).map(|n| users(&d, n)).collect();
    // October's last leaver: terminated on the 31st, worked on 1 November.
    let october = Utc.with_ymd_and_hms(2026, 10, 31, 22, 0, 0).unwrap();
    leaves(&d, ACCOUNT, OCTOBER, "2026-10-31", october);
    stream(&d, "stream-october", nov(1, 0, 30));
    // Two leavers in one batch: the brake's two changes go to the first, the second's
    // are held until the release, the next hour.
    leaves(&d, ACCOUNT, MET, "2026-11-03", nov(3, 9, 0));
    leaves(&d, ACCOUNT, HELD, "2026-11-03", nov(3, 9, 1));
    stream(&d, "stream-met", nov(3, 9, 5));
    let release = json!({"kind": "merge-deprovision.release-held", "version": 1});
    let released = invoke(&d, direct(&release), "release", nov(3, 10, 30));
    assert_eq!(released.body["released"], 1, "{}", released.body);
    // Another account's leaver.
    leaves(&d, OTHER_ACCOUNT, ELSEWHERE, "2026-11-08", nov(8, 9, 0));
    stream(&d, "stream-elsewhere", nov(8, 9, 5));
    // Deprovisioned, rehired (IT gives the access back by hand), terminated again.
    leaves(&d, ACCOUNT, REHIRED, "2026-11-12", nov(12, 9, 0));
    stream(&d, "stream-rehired-1", nov(12, 9, 5));
    let rehire = delivery(ACCOUNT, REHIRED, "ACTIVE", None, nov(14, 9, 0));
    assert_eq!(invoke(&d, rehire, "rehire", nov(14, 9, 0)).status, 200);
    let (chat, wiki) = &ids[(REHIRED - OCTOBER) as usize];
    d.scim.set_active(CHAT, chat, true);
    d.scim.set_active(WIKI, wiki, true);
    leaves(&d, ACCOUNT, REHIRED, "2026-11-20", nov(20, 9, 0));
    stream(&d, "stream-rehired-2", nov(20, 9, 5));
    // Deprovisioned, then undone two hours later.
    leaves(&d, ACCOUNT, UNDONE, "2026-11-16", nov(16, 9, 0));
    stream(&d, "stream-undone", nov(16, 9, 5));
    let undo = json!({"kind": "merge-deprovision.undo", "version": 1,
        "linked_account_id": ACCOUNT, "employee_id": employee(UNDONE), "dry_run": false});
    let undone = invoke(&d, direct(&undo), "undo", nov(16, 11, 0));
    assert_eq!(undone.status, 200, "{}", undone.body);
    // First seen in November, long after leaving in 2023: recorded, never worked.
    leaves(&d, ACCOUNT, HISTORICAL, "2023-03-31", nov(18, 9, 0));
    if let Some(batch) = stream_batch(&d.ledger) {
        invoke(&d, batch, "stream-historical", nov(18, 9, 5));
    }
    // Chat is down for every attempt, and the stream's retry never comes.
    leaves(&d, ACCOUNT, FAILED, "2026-11-25", nov(25, 9, 0));
    d.scim
        .fail_next(CHAT, std::iter::repeat_n(ScimError::Server(503), 3));
    let failed = stream(&d, "stream-failed", nov(25, 9, 5));
    let failures = failed.body["batchItemFailures"].as_array().unwrap().len();
    assert_eq!(failures, 1, "{}", failed.body);
    (d, reports)
}

/// Sends the report `document` at `now`: the answer and each form's bytes, by form.
fn report(
    d: &DeprovisionApp,
    reports: &MemoryReports,
    document: Value,
    now: DateTime<Utc>,
) -> (Invoked, Vec<(String, Vec<u8>)>) {
    let answered = invoke(d, direct(&document), "report-run", now);
    assert_eq!(answered.status, 200, "{}", answered.body);
    let forms = answered.body["objects"]
        .as_array()
        .expect("the objects written")
        .iter()
        .map(|o| {
            let key = o["key"].as_str().unwrap();
            let object = reports.latest(key).expect("the object is in the bucket");
            (o["form"].as_str().unwrap().to_owned(), object.bytes)
        })
        .collect();
    (answered, forms)
}

fn month_document(account: Option<&str>) -> Value {
    let mut document = json!({"kind": "merge-deprovision.report", "version": 1,
        "period": "2026-11"});
    if let Some(account) = account {
        document["linked_account_id"] = json!(account);
    }
    document
}

fn form<'a>(forms: &'a [(String, Vec<u8>)], name: &str) -> &'a str {
    let (_, bytes) = forms.iter().find(|(f, _)| f == name).expect("the form");
    std::str::from_utf8(bytes).expect("UTF-8")
}

/// One row as the assertions read it: the JSON form's fields of interest.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    linked_account_id: String,
    employee_id: String,
    target: Option<String>,
    terminated_at: String,
    status: String,
    access_ended_at: Option<String>,
    lag_seconds: Option<i64>,
    sla: String,
    learned_by: String,
    started_by: Option<String>,
    ended_by: Option<String>,
    undone_at: Option<String>,
    rehired_at: Option<String>,
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

fn read_row(row: &Value) -> Row {
    Row {
        linked_account_id: text(&row["linked_account_id"]).unwrap(),
        employee_id: text(&row["employee_id"]).unwrap(),
        target: text(&row["target"]),
        terminated_at: text(&row["terminated_at"]).unwrap(),
        status: text(&row["status"]).unwrap(),
        access_ended_at: text(&row["access_ended_at"]),
        lag_seconds: row["lag_seconds"].as_i64(),
        sla: text(&row["sla"]).unwrap(),
        learned_by: text(&row["learned_by"]).unwrap(),
        started_by: text(&row["started_by"]),
        ended_by: text(&row["ended_by"]),
        undone_at: text(&row["undone_at"]),
        rehired_at: text(&row["rehired_at"]),
    }
}

/// Employee `n`'s row in `target` for its termination at `terminated_at` (due at the
/// start of that day, UTC), access ended at `ended` by what `by` names: within the SLA.
fn ended(
    n: u32,
    target: &str,
    terminated_at: DateTime<Utc>,
    ended: DateTime<Utc>,
    by: &str,
) -> Row {
    let due = terminated_at
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    Row {
        linked_account_id: ACCOUNT.to_owned(),
        employee_id: employee(n),
        target: Some(target.to_owned()),
        terminated_at: rfc(terminated_at),
        status: "deactivated".to_owned(),
        access_ended_at: Some(rfc(ended)),
        lag_seconds: Some((ended - due).num_seconds()),
        sla: "met".to_owned(),
        learned_by: "webhook".to_owned(),
        started_by: Some(by.to_owned()),
        ended_by: Some(by.to_owned()),
        undone_at: None,
        rehired_at: None,
    }
}

/// Employee `n`'s row whose access did not end: `status`, judged `sla`.
fn not_ended(
    n: u32,
    target: Option<&str>,
    terminated_at: DateTime<Utc>,
    status: &str,
    sla: &str,
) -> Row {
    Row {
        target: target.map(str::to_owned),
        status: status.to_owned(),
        access_ended_at: None,
        lag_seconds: None,
        sla: sla.to_owned(),
        started_by: target.map(|_| "webhook".to_owned()),
        ended_by: None,
        ..ended(n, "-", terminated_at, terminated_at, "-")
    }
}

/// November's rows in the account, in the report's order (account, employee,
/// termination, target).
fn november_rows() -> Vec<Row> {
    let (first, second) = (nov(12, 9, 0), nov(20, 9, 0));
    let rehired = Some(rfc(nov(14, 9, 0)));
    let undone = |target| Row {
        status: "reactivated".to_owned(),
        started_by: Some("undo".to_owned()),
        undone_at: Some(rfc(nov(16, 11, 0))),
        ..ended(UNDONE, target, nov(16, 9, 0), nov(16, 9, 5), "webhook")
    };
    vec![
        ended(MET, "chat", nov(3, 9, 0), nov(3, 9, 5), "webhook"),
        ended(MET, "wiki", nov(3, 9, 0), nov(3, 9, 5), "webhook"),
        // Held at 09:05, done by the release at 10:30.
        ended(HELD, "chat", nov(3, 9, 1), nov(3, 10, 30), "release"),
        ended(HELD, "wiki", nov(3, 9, 1), nov(3, 10, 30), "release"),
        // Two terminations, two sets of rows; the first says when the rehire came.
        Row {
            rehired_at: rehired.clone(),
            ..ended(REHIRED, "chat", first, nov(12, 9, 5), "webhook")
        },
        Row {
            rehired_at: rehired,
            ..ended(REHIRED, "wiki", first, nov(12, 9, 5), "webhook")
        },
        ended(REHIRED, "chat", second, nov(20, 9, 5), "webhook"),
        ended(REHIRED, "wiki", second, nov(20, 9, 5), "webhook"),
        // Undone: the status says so, the verdict stays that of when access ended.
        undone("chat"),
        undone("wiki"),
        not_ended(HISTORICAL, None, nov(18, 9, 0), "historical", "exempt"),
        not_ended(FAILED, Some("chat"), nov(25, 9, 0), "failed", "missed"),
        ended(FAILED, "wiki", nov(25, 9, 0), nov(25, 9, 5), "webhook"),
    ]
}

/// The `<tr` in the page's `#rows` table body.
fn page_rows(page: &str) -> Vec<&str> {
    let table = &page[page.find(r#"id="rows""#).expect("the rows' table")..];
    let body = &table[table.find("<tbody").expect("its body")..];
    let body = &body[..body.find("</tbody>").expect("its end")];
    body.split("<tr").skip(1).collect()
}

#[test]
fn a_month_of_every_kind_of_leaver_gives_a_report_whose_every_row_is_right() {
    let (d, reports) = november();
    let document = month_document(Some(ACCOUNT));
    let (answered, forms) = report(&d, &reports, document, first_of_december());
    let json: Value = serde_json::from_str(form(&forms, "json")).unwrap();
    assert_eq!(json["report"], "merge-deprovision.access-removal");
    assert_eq!(json["header"]["period"], "2026-11");
    assert_eq!(json["header"]["linked_account_id"], ACCOUNT);
    assert_eq!(json["header"]["as_of"], "2026-12-01T00:30:00Z");
    assert_eq!(json["header"]["sla_seconds"], 86400);
    let rows: Vec<Row> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(read_row)
        .collect();
    let expected = november_rows();
    assert_eq!(rows.len(), expected.len(), "{rows:#?}");
    for (i, (row, want)) in rows.iter().zip(&expected).enumerate() {
        assert_eq!(row, want, "row {i}");
    }
    // Neither October's leaver (worked in November) nor the other account's is a row.
    assert!(rows.iter().all(|r| r.employee_id != employee(OCTOBER)));
    assert!(rows.iter().all(|r| r.employee_id != employee(ELSEWHERE)));
    let histogram = |le_24h, open| {
        json!([
            {"bucket": "le_1h", "label": "up to 1 h", "rows": 0},
            {"bucket": "le_4h", "label": "1 h to 4 h", "rows": 0},
            {"bucket": "le_24h", "label": "4 h to 24 h", "rows": le_24h},
            {"bucket": "le_3d", "label": "1 d to 3 d", "rows": 0},
            {"bucket": "gt_3d", "label": "over 3 d", "rows": 0},
            {"bucket": "open", "label": "not ended", "rows": open},
        ])
    };
    assert_eq!(
        json["summary"],
        json!({"leavers": 7, "targets": 2, "rows": 13, "met": 11, "missed": 1, "open": 0,
            "exempt": 1, "undone": 2, "open_items": 1,
            "median_lag_seconds": 32700, "median_lag": "9 h 5 min",
            "worst_lag_seconds": 37800, "worst_lag": "10 h 30 min",
            "histogram": histogram(11, 1)})
    );
    // The answer gives the same figures.
    for field in [
        "leavers",
        "rows",
        "met",
        "missed",
        "exempt",
        "undone",
        "open_items",
    ] {
        assert_eq!(
            answered.body["summary"][field], json["summary"][field],
            "{field}"
        );
    }
    // The CSV: its header, then one line per row, in the same order (the rule's cell
    // holds a comma, so it is quoted; no cell holds a line break).
    let csv = form(&forms, "csv");
    let lines: Vec<Vec<String>> = csv
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(csv_cells)
        .collect();
    let column = |name: &str| lines[0].iter().position(|c| c == name).expect(name);
    let (account, id, target) = (
        column("linked_account_id"),
        column("employee_id"),
        column("target"),
    );
    assert_eq!(lines.len() - 1, expected.len(), "{csv}");
    for (cells, want) in lines[1..].iter().zip(&expected) {
        assert_eq!(cells.len(), lines[0].len(), "{cells:?}");
        assert_eq!(
            (cells[account].as_str(), cells[id].as_str()),
            (ACCOUNT, want.employee_id.as_str())
        );
        assert_eq!(cells[target], want.target.as_deref().unwrap_or(""));
        if let Some(rule) = lines[0].iter().position(|c| c == "effective_rule") {
            assert!(!cells[rule].contains('"'), "unquoted: {cells:?}");
        }
    }
    // The page: one `tr` per row, each with its verdict and status.
    let page = page_rows(form(&forms, "html"));
    assert_eq!(page.len(), expected.len(), "{page:#?}");
    for (tr, want) in page.iter().zip(&expected) {
        assert!(tr.contains(&format!(r#"data-sla="{}""#, want.sla)), "{tr}");
        assert!(
            tr.contains(&format!(r#"data-status="{}""#, want.status)),
            "{tr}"
        );
    }
}

#[test]
fn the_monthly_schedules_report_and_the_month_asked_for_on_demand_are_the_same_bytes() {
    let (d, reports) = november();
    let now = first_of_december();
    let schedule = json!({"kind": "merge-deprovision.report", "version": 1,
        "period": "previous-month"});
    let (monthly, _) = report(&d, &reports, schedule, now);
    let (on_demand, _) = report(&d, &reports, month_document(None), now);
    assert_eq!(monthly.body["period"], "2026-11", "{}", monthly.body);
    let keys = |answer: &Invoked| -> Vec<(String, String)> {
        let objects = answer.body["objects"].as_array().unwrap();
        let pair = |o: &Value| (text(&o["form"]).unwrap(), text(&o["key"]).unwrap());
        objects.iter().map(pair).collect()
    };
    let (monthly_keys, on_demand_keys) = (keys(&monthly), keys(&on_demand));
    assert_eq!(monthly_keys.len(), 3);
    for ((form, first), (same_form, second)) in monthly_keys.iter().zip(&on_demand_keys) {
        assert_eq!(form, same_form);
        // The same period and moment name the same object: two versions of it.
        let (a, b) = if first == second {
            let versions = reports.versions(first);
            assert_eq!(versions.len(), 2, "{form}");
            (versions[0].bytes.clone(), versions[1].bytes.clone())
        } else {
            let read = |key: &str| reports.latest(key).unwrap().bytes;
            (read(first), read(second))
        };
        assert!(!a.is_empty());
        assert!(a == b, "the {form} forms differ");
    }
    // Every account's report: November's rows of both accounts.
    let (_, json) = monthly_keys.iter().find(|(f, _)| f == "json").unwrap();
    let json: Value = serde_json::from_slice(&reports.versions(json)[0].bytes).unwrap();
    let rows: Vec<Row> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(read_row)
        .collect();
    let elsewhere: Vec<&Row> = rows
        .iter()
        .filter(|r| r.linked_account_id == OTHER_ACCOUNT)
        .collect();
    assert_eq!(elsewhere.len(), 2, "{rows:#?}");
    for (row, target) in elsewhere.iter().zip(["chat", "wiki"]) {
        let want = Row {
            linked_account_id: OTHER_ACCOUNT.to_owned(),
            ..ended(ELSEWHERE, target, nov(8, 9, 0), nov(8, 9, 5), "webhook")
        };
        assert_eq!(**row, want);
    }
    let mine: Vec<Row> = rows
        .into_iter()
        .filter(|r| r.linked_account_id == ACCOUNT)
        .collect();
    assert_eq!(mine, november_rows());
    assert_eq!(json["header"]["linked_account_id"], Value::Null);
}

#[test]
fn no_ssn_birth_date_other_sensitive_field_nor_token_is_in_any_form_nor_the_answer() {
    let (d, reports) = november();
    let mut bytes = Vec::new();
    for account in [None, Some(ACCOUNT)] {
        let (answered, forms) = report(&d, &reports, month_document(account), first_of_december());
        bytes.push(("answer".to_owned(), answered.body.to_string().into_bytes()));
        bytes.push(("records".to_owned(), answered.logs.into_bytes()));
        bytes.extend(forms);
    }
    assert_eq!(bytes.len(), 10);
    let sentinels = every_sentinel();
    assert!(sentinels.len() > 100, "{}", sentinels.len());
    for (what, bytes) in &bytes {
        let text = String::from_utf8_lossy(bytes);
        // What the forms are for is there: the leavers, by work address.
        if !what.starts_with("answer") && !what.starts_with("records") {
            assert!(text.contains(&email(MET)), "{what}");
        }
        assert!(!text.contains("SENTINEL"), "{what}: {text}");
        for sentinel in &sentinels {
            assert!(!text.contains(sentinel.as_str()), "{what} holds {sentinel}");
        }
    }
}

#[test]
fn a_bad_period_is_refused_naming_the_field_and_never_what_it_held() {
    let (d, reports) = november();
    let refused = [
        (json!({"period": "2026-13"}), "`period`"),
        (json!({"period": "last-month"}), "`period`"),
        (json!({"period": 202611}), "period"),
        (json!({"period": "2026-11", "forms": ["pdf"]}), "`forms`"),
    ];
    for (fields, named) in refused {
        let mut document = json!({"kind": "merge-deprovision.report", "version": 1});
        for (k, v) in fields.as_object().unwrap() {
            document[k.as_str()] = v.clone();
        }
        let answered = invoke(&d, direct(&document), "report-run", first_of_december());
        assert_eq!(answered.status, 400, "{fields}: {}", answered.body);
        assert_eq!(answered.body["error"], "invalid_document", "{fields}");
        let message = answered.body["message"].as_str().unwrap();
        assert!(message.contains(named), "{fields}: {message}");
        for held in ["2026-13", "last-month", "202611", "pdf"] {
            assert!(!message.contains(held), "{message}");
            assert!(!answered.logs.contains(held), "{}", answered.logs);
        }
    }
    assert!(reports.keys().is_empty(), "nothing was written");
    assert_eq!(reports.calls(), 0);
}

#[test]
fn without_a_report_bucket_the_report_is_refused_as_reports_off() {
    let (d, _) = november();
    // The same month's ledger and targets, under a function with no bucket configured.
    let off = support::deprovision_app_over(d.ledger.clone(), &targets(), d.scim.clone(), &[]);
    let answered = invoke(
        &off,
        direct(&month_document(None)),
        "report-run",
        first_of_december(),
    );
    assert_eq!(answered.status, 409, "{}", answered.body);
    assert_eq!(answered.body["error"], "reports_off");
    assert!(
        answered.body["message"]
            .as_str()
            .unwrap()
            .contains("REPORT_BUCKET")
    );
}

/// Sends the month's report at the start of December, the bucket's next calls answering
/// `script`: the handler's error and the records.
fn failing_report(script: Vec<Option<ReportError>>) -> (String, Vec<Value>, Arc<MemoryReports>) {
    let (d, reports) = november();
    reports.script(script);
    let context = merge_deprovision_samples::lambda_context("report-run", "merge-deprovision");
    let request = direct(&month_document(Some(ACCOUNT))).with_lambda_context(context);
    let (answered, logs) = capture_logs(true, || {
        ready(answer_event(&d.app, &request, first_of_december()))
    });
    let error = match answered {
        Ok(answered) => panic!(
            "a failed write fails the invocation: {:?}",
            answered.response
        ),
        Err(error) => error.to_string(),
    };
    let records = logs
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON records"))
        .collect();
    (error, records, reports)
}

#[test]
fn a_bucket_that_fails_fails_the_invocation_and_the_error_record_names_the_kind_never_a_value() {
    let cases = [
        (vec![Some(ReportError::Throttled)], "throttled", "csv", 0),
        (vec![None, Some(ReportError::Denied)], "denied", "json", 1),
        (
            vec![None, None, Some(ReportError::Unreachable)],
            "unreachable",
            "html",
            2,
        ),
    ];
    for (script, kind, form, written) in cases {
        let (error, records, reports) = failing_report(script);
        assert!(error.contains(kind), "{error}");
        let errors: Vec<&Value> = records.iter().filter(|r| r["level"] == "ERROR").collect();
        assert_eq!(errors.len(), 1, "{records:#?}");
        let record = errors[0];
        assert_eq!(record["report_error"], kind, "{record}");
        assert_eq!(record["form"], form);
        assert_eq!(record["written"], written);
        assert_eq!(
            reports.keys().len(),
            written,
            "the forms before the failure"
        );
        let text = records.iter().map(Value::to_string).collect::<String>() + &error;
        for n in OCTOBER..=ELSEWHERE {
            assert!(
                !text.contains(&employee(n)) && !text.contains(&email(n)),
                "{text}"
            );
        }
        assert!(!text.contains("SENTINEL"), "{text}");
        assert!(!text.contains("access-removal/"), "no object key: {text}");
    }
}

#[test]
fn a_leaver_of_the_months_last_evening_worked_after_midnight_is_that_months_with_its_targets() {
    let (d, reports) = app();
    let (chat, wiki) = users(&d, MET);
    leaves(&d, ACCOUNT, MET, "2026-11-30", nov(30, 23, 50));
    let december = Utc.with_ymd_and_hms(2026, 12, 1, 0, 10, 0).unwrap();
    stream(&d, "stream-after-midnight", december);
    let (_, forms) = report(
        &d,
        &reports,
        month_document(Some(ACCOUNT)),
        first_of_december(),
    );
    let json: Value = serde_json::from_str(form(&forms, "json")).unwrap();
    let rows: Vec<Row> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(read_row)
        .collect();
    // Due at the start of the 30th, ended 24 h 10 min later: missed, but November's.
    let late = |target| Row {
        sla: "missed".to_owned(),
        ..ended(MET, target, nov(30, 23, 50), december, "webhook")
    };
    assert_eq!(rows, [late("chat"), late("wiki")]);
    assert_eq!(json["rows"][0]["target_user_id"], chat.as_str());
    assert_eq!(json["rows"][1]["target_user_id"], wiki.as_str());
}

#[test]
fn held_work_never_released_is_open_within_the_sla_and_exempt_once_rehired_within_it() {
    let (d, reports) = app();
    users(&d, MET);
    users(&d, HELD);
    leaves(&d, ACCOUNT, MET, "2026-11-30", nov(30, 9, 0));
    leaves(&d, ACCOUNT, HELD, "2026-11-30", nov(30, 9, 1));
    stream(&d, "stream", nov(30, 9, 5));
    let as_of = nov(30, 12, 0);
    let (_, forms) = report(&d, &reports, month_document(Some(ACCOUNT)), as_of);
    let json: Value = serde_json::from_str(form(&forms, "json")).unwrap();
    let rows: Vec<Row> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(read_row)
        .collect();
    let held = |target| Row {
        started_by: Some("webhook".to_owned()),
        ..not_ended(HELD, Some(target), nov(30, 9, 1), "held", "open")
    };
    assert_eq!(rows[2..], [held("chat"), held("wiki")]);
    assert_eq!(json["summary"]["open_items"], 2);
    // Rehired the same day: no longer owed, whenever the report is made.
    let rehire = delivery(ACCOUNT, HELD, "ACTIVE", None, nov(30, 13, 0));
    assert_eq!(invoke(&d, rehire, "rehire", nov(30, 13, 0)).status, 200);
    let (_, forms) = report(
        &d,
        &reports,
        month_document(Some(ACCOUNT)),
        first_of_december(),
    );
    let json: Value = serde_json::from_str(form(&forms, "json")).unwrap();
    let rows: Vec<Row> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(read_row)
        .collect();
    let rehired = |target| Row {
        rehired_at: Some(rfc(nov(30, 13, 0))),
        ..not_ended(HELD, Some(target), nov(30, 9, 1), "rehired", "exempt")
    };
    assert_eq!(rows[2..], [rehired("chat"), rehired("wiki")]);
    assert_eq!(json["summary"]["open_items"], 0);
}

/// One CSV line's cells, RFC 4180: a quoted cell may hold commas and doubled quotes.
fn csv_cells(line: &str) -> Vec<String> {
    let (mut cells, mut cell, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cell)),
            (c, _) => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}
