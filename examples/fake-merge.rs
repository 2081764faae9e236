//! The tests' fake of Merge's HRIS API as a process, so that tools outside Rust can be
//! pointed at it: the CI stage checks it against Merge's own Python SDK
//! (`scripts/merge-sdk-check.py`).
//!
//! `cargo run --example fake-merge -- --port N [--employees COUNT]` serves COUNT
//! employees (250 by default) for the account token `fake-account-token` and the API key
//! printed on start, until killed; `GET /__requests` returns every request it received.
//!
//! `cargo run --example fake-merge -- --probe BASE_URL [--modified-after RFC3339]` instead
//! reads every page from BASE_URL through the function's own Merge client, with the
//! query a sweep sends, and prints one line per page: what the SDK check compares with
//! what Merge's SDK sends for the same query.

#[path = "../tests/support/fake_merge.rs"]
mod fake_merge;

use merge_deprovision::merge::client::MergeClient;
use merge_deprovision::merge::pages::{Credentials, EmployeePages, EmployeeQuery};
use std::process::ExitCode;

/// The account token the fake accepts.
const ACCOUNT_TOKEN: &str = "fake-account-token";
const USAGE: &str =
    "usage: fake-merge --port N [--employees COUNT] | --probe BASE_URL [--modified-after RFC3339]";

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        arguments
            .iter()
            .position(|a| a == name)
            .and_then(|i| arguments.get(i + 1))
            .cloned()
    };
    if let Some(base) = value("--probe") {
        return probe(&base, value("--modified-after").as_deref());
    }
    let Some(port) = value("--port").and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let count = value("--employees")
        .and_then(|c| c.parse().ok())
        .unwrap_or(250);
    let merge = fake_merge::FakeMerge::start_on(port);
    let mut staff = fake_merge::employees(count, "2026-11-20T08:00:00Z");
    // A few that a sweep with a watermark reads, and one deleted in the HR system.
    for (i, employee) in staff.iter_mut().enumerate().take(count.min(5)) {
        employee["modified_at"] = serde_json::json!(format!("2026-11-27T1{i}:00:00Z"));
    }
    if let Some(deleted) = staff.get_mut(5) {
        deleted["remote_was_deleted"] = serde_json::json!(true);
        deleted["employment_status"] = serde_json::json!("INACTIVE");
    }
    merge.set_account(ACCOUNT_TOKEN, staff);
    println!(
        "fake Merge API at {} (API key {}, account token {ACCOUNT_TOKEN}), {count} employees",
        merge.base_url(),
        fake_merge::API_KEY
    );
    loop {
        std::thread::park();
    }
}

/// Reads every page through the function's client and prints each page's size.
fn probe(base: &str, modified_after: Option<&str>) -> ExitCode {
    let base = match merge_deprovision::net::base_url(base) {
        Ok(base) => base,
        Err(error) => {
            eprintln!("--probe {error}");
            return ExitCode::from(2);
        }
    };
    let modified_after = match modified_after.map(chrono::DateTime::parse_from_rfc3339) {
        None => None,
        Some(Ok(time)) => Some(time.with_timezone(&chrono::Utc)),
        Some(Err(_)) => {
            eprintln!("--modified-after is not RFC 3339");
            return ExitCode::from(2);
        }
    };
    let client = MergeClient::new(merge_deprovision::net::client().expect("a client"), &base);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let credentials = Credentials {
        api_key: fake_merge::API_KEY,
        account_token: ACCOUNT_TOKEN,
    };
    let mut query = EmployeeQuery {
        cursor: None,
        modified_after,
    };
    loop {
        match runtime.block_on(client.list_page(credentials, &query)) {
            Ok(page) => {
                println!("page of {} employees", page.results.len());
                match page.next {
                    Some(next) => query.cursor = Some(next),
                    None => return ExitCode::SUCCESS,
                }
            }
            Err(error) => {
                eprintln!("the page could not be read: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
}
