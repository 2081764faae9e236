//! A fake of Merge's HRIS API on loopback, behaving as Merge does where a sweep relies
//! on it: `GET /api/hris/v1/employees` with both auth headers required (401 otherwise),
//! opaque cursors, `page_size` at most 100, `modified_after` and `include_deleted_data`
//! applied, and scripted failures (429 with and without `Retry-After`, 5xx, 401). It
//! records every request (path, query, headers) so tests can assert what was sent, and
//! serves that log at `GET /__requests` for the CI stage's comparison with Merge's SDK.
//!
//! It runs on its own thread and runtime, so a test's handler can block on its own.

#![allow(dead_code)]

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The API key the fake accepts.
pub const API_KEY: &str = "SENTINEL-MERGE-API-KEY-7d1f";
/// The path of the employee list, below `/api`.
pub const EMPLOYEES: &str = "/api/hris/v1/employees";

/// A failure the next request gets instead of its page (or, for the last three, the page
/// as usual, or with a `next` that leads back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scripted {
    /// 429, with `Retry-After: seconds` when given.
    TooMany(Option<u64>),
    /// 503.
    Unavailable,
    /// 401, as for a revoked token.
    Unauthorized,
    /// 400, as for an expired cursor.
    BadRequest,
    /// 200 with an empty last page padded past 4 MiB.
    Oversized,
    /// The page as usual: lets a script reach a later request.
    AsUsual,
    /// The page as usual, but its `next` is the cursor it was asked at.
    NextRepeats,
    /// The page as usual, but its `next` is the empty string.
    NextEmpty,
}

/// One request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub path: String,
    /// The query as sent, percent-encoding and all.
    pub raw_query: String,
    pub query: Vec<(String, String)>,
    pub headers: BTreeMap<String, String>,
    pub status: u16,
}

#[derive(Default)]
struct State {
    /// Employees by account token, each a Merge Employee object.
    accounts: BTreeMap<String, Vec<Value>>,
    script: VecDeque<Scripted>,
    requests: Vec<Recorded>,
    delay: Option<Duration>,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeMerge {
    address: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl FakeMerge {
    /// Starts on a free loopback port (or `port`), on a thread of its own.
    pub fn start_on(port: u16) -> FakeMerge {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a runtime for the fake");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                    .await
                    .expect("bind loopback");
                tx.send(listener.local_addr().unwrap()).unwrap();
                while let Ok((stream, _)) = listener.accept().await {
                    let state = shared.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |request| answer(state.clone(), request));
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        let address = rx.recv().expect("the fake starts");
        FakeMerge { address, state }
    }

    /// Starts on a free loopback port.
    pub fn start() -> FakeMerge {
        Self::start_on(0)
    }

    /// The base URL to configure: `http://127.0.0.1:<port>/api`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api", self.address)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Puts `employees` under the account token `token`, replacing what was there.
    pub fn set_account(&self, token: &str, mut employees: Vec<Value>) {
        // Kept in id order, the order cursors follow, so that a page starts with a
        // binary search instead of a sort of the whole account.
        employees.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        self.state
            .lock()
            .unwrap()
            .accounts
            .insert(token.to_owned(), employees);
    }

    /// Changes one employee of `token` (by id) with `fields`, as a sync would.
    pub fn update(&self, token: &str, id: &str, fields: Value) {
        let mut state = self.state.lock().unwrap();
        let employees = state.accounts.get_mut(token).expect("a known account");
        let employee = employees
            .iter_mut()
            .find(|e| e["id"] == id)
            .expect("a known employee");
        for (name, value) in fields.as_object().unwrap() {
            employee[name] = value.clone();
        }
    }

    /// Makes the next requests fail as `script` says, one each.
    pub fn script(&self, script: impl IntoIterator<Item = Scripted>) {
        self.state.lock().unwrap().script.extend(script);
    }

    /// Makes every answer wait `delay`.
    pub fn slow(&self, delay: Duration) {
        self.state.lock().unwrap().delay = Some(delay);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Forgets the requests so far.
    pub fn clear_requests(&self) {
        self.state.lock().unwrap().requests.clear();
    }
}

/// A Merge Employee as the list returns it: identity, status, dates, and the sensitive
/// fields Merge would send with them (which the function must skip unread).
pub fn employee(index: usize, modified_at: &str) -> Value {
    json!({
        "id": format!("00000000-0000-4000-8000-{index:012}"),
        "remote_id": format!("hr-{index}"),
        "created_at": "2024-01-01T00:00:00Z",
        "modified_at": modified_at,
        "employee_number": format!("{index}"),
        "company": null,
        "first_name": "Sam",
        "last_name": format!("Person{index}"),
        "preferred_name": null,
        "display_full_name": format!("Sam Person{index}"),
        "username": format!("sam{index}"),
        "groups": [],
        "work_email": format!("sam{index}@example.com"),
        "personal_email": "SENTINEL-PERSONAL@example.com",
        "mobile_phone_number": "SENTINEL-PHONE",
        "employments": [],
        "home_location": null,
        "work_location": null,
        "manager": null,
        "team": null,
        "pay_group": null,
        "ssn": "SENTINEL-SSN",
        "gender": null,
        "ethnicity": null,
        "marital_status": null,
        "date_of_birth": null,
        "hire_date": "2020-01-01T00:00:00Z",
        "start_date": "2020-01-01T00:00:00Z",
        "remote_created_at": null,
        "employment_status": "ACTIVE",
        "termination_date": null,
        "avatar": null,
        "custom_fields": null,
        "remote_was_deleted": false,
        "field_mappings": null,
        "remote_data": null
    })
}

/// `count` active employees, all modified at `modified_at`.
pub fn employees(count: usize, modified_at: &str) -> Vec<Value> {
    (0..count).map(|i| employee(i, modified_at)).collect()
}

fn cursor_for(id: &str) -> String {
    // Opaque to the client: the last id returned, hex-encoded behind a prefix.
    let hex: String = id.bytes().map(|b| format!("{b:02x}")).collect();
    format!("cD0{hex}")
}

fn id_of(cursor: &str) -> Option<String> {
    let hex = cursor.strip_prefix("cD0")?;
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

fn reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn parse_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

async fn answer(
    state: Arc<Mutex<State>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = request.uri().path().to_owned();
    let raw_query = request.uri().query().unwrap_or("").to_owned();
    let query: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect();
    let headers: BTreeMap<String, String> = request
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    if path == "/__requests" {
        let log: Vec<Value> = state
            .lock()
            .unwrap()
            .requests
            .iter()
            .map(|r| {
                json!({"path": r.path, "raw_query": r.raw_query, "query": r.query,
                "headers": r.headers, "status": r.status})
            })
            .collect();
        return Ok(reply(StatusCode::OK, Value::Array(log)));
    }
    let delay = state.lock().unwrap().delay;
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let (response, status) = page(&state, &path, &query, &headers);
    state.lock().unwrap().requests.push(Recorded {
        path,
        raw_query,
        query,
        headers,
        status,
    });
    Ok(response)
}

fn page(
    state: &Arc<Mutex<State>>,
    path: &str,
    query: &[(String, String)],
    headers: &BTreeMap<String, String>,
) -> (Response<Full<Bytes>>, u16) {
    let mut state = state.lock().unwrap();
    let error = |status: StatusCode, detail: &str| {
        (reply(status, json!({"detail": detail})), status.as_u16())
    };
    if path != EMPLOYEES {
        return error(StatusCode::NOT_FOUND, "Not found.");
    }
    let bearer = headers.get("authorization").map(String::as_str);
    let token = headers.get("x-account-token").cloned();
    let Some(token) = token.filter(|t| state.accounts.contains_key(t)) else {
        return error(StatusCode::UNAUTHORIZED, "Invalid account token.");
    };
    if bearer != Some(format!("Bearer {API_KEY}").as_str()) {
        return error(StatusCode::UNAUTHORIZED, "Invalid API key.");
    }
    let scripted = state.script.pop_front();
    match scripted {
        Some(Scripted::TooMany(after)) => {
            let mut response = reply(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"detail": "Request was throttled."}),
            );
            if let Some(after) = after {
                response
                    .headers_mut()
                    .insert("retry-after", after.to_string().parse().unwrap());
            }
            return (response, 429);
        }
        Some(Scripted::Unavailable) => {
            return error(StatusCode::SERVICE_UNAVAILABLE, "Unavailable.");
        }
        Some(Scripted::Unauthorized) => {
            return error(StatusCode::UNAUTHORIZED, "Invalid account token.");
        }
        Some(Scripted::BadRequest) => return error(StatusCode::BAD_REQUEST, "Invalid cursor."),
        Some(Scripted::Oversized) => {
            return (
                reply(
                    StatusCode::OK,
                    json!({"next": null, "results": [], "padding": "x".repeat(5 << 20)}),
                ),
                200,
            );
        }
        Some(Scripted::AsUsual | Scripted::NextRepeats | Scripted::NextEmpty) | None => {}
    }
    let get = |name: &str| {
        query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let page_size = match get("page_size").map(|v| v.parse::<usize>()) {
        None => 100,
        Some(Ok(size)) if (1..=100).contains(&size) => size,
        Some(_) => return error(StatusCode::BAD_REQUEST, "page_size must be 1 to 100."),
    };
    let include_deleted = get("include_deleted_data").as_deref() == Some("true");
    let modified_after = match get("modified_after") {
        None => None,
        Some(text) => match parse_time(&text) {
            Some(time) => Some(time),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "modified_after is not a date-time.",
                );
            }
        },
    };
    let after_id = match get("cursor") {
        None => None,
        Some(cursor) => match id_of(&cursor) {
            Some(id) => Some(id),
            None => return error(StatusCode::BAD_REQUEST, "Invalid cursor."),
        },
    };
    let account = &state.accounts[&token];
    let start = after_id.as_deref().map_or(0, |after| {
        account.partition_point(|e| e["id"].as_str().is_some_and(|id| id <= after))
    });
    let mut matching = account[start..]
        .iter()
        .filter(|e| include_deleted || e["remote_was_deleted"] != true)
        .filter(|e| {
            match (
                modified_after,
                e["modified_at"].as_str().and_then(parse_time),
            ) {
                (None, _) => true,
                (Some(after), Some(modified)) => modified > after,
                (Some(_), None) => false,
            }
        });
    let results: Vec<&Value> = matching.by_ref().take(page_size).collect();
    let more = matching.next().is_some();
    let next = match scripted {
        Some(Scripted::NextRepeats) => get("cursor"),
        Some(Scripted::NextEmpty) => Some(String::new()),
        _ if more => results
            .last()
            .and_then(|e| e["id"].as_str())
            .map(cursor_for),
        _ => None,
    };
    let body = json!({"next": next, "previous": null, "results": results});
    (reply(StatusCode::OK, body), 200)
}
