//! Runs every sample event in `events/` through the function's real handler, in one
//! process, and checks each answer against `events/manifest.json`.
//!
//! `cargo run --example replay-events`. Set `AWS_LAMBDA_LOG_FORMAT=JSON` to see the log
//! records as CloudWatch receives them. Exits non-zero if any answer differs.

use merge_deprovision::config::{Config, SIGNATURE_KEY_VAR};
use merge_deprovision::samples::{LOCAL_TEST_KEY, MANIFEST_FILE, read_manifest};
use merge_deprovision::{http, logging};
use std::path::Path;
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<ExitCode, lambda_http::Error> {
    logging::init();
    let config = Config::from_lookup(|name| {
        if name == SIGNATURE_KEY_VAR {
            Some(LOCAL_TEST_KEY.to_owned())
        } else {
            std::env::var(name).ok()
        }
    })?;
    let app = http::App::new(&config);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let entries = read_manifest(&std::fs::read_to_string(dir.join(MANIFEST_FILE))?)?;

    let mut failures = 0;
    for entry in &entries {
        let event = std::fs::read_to_string(dir.join(&entry.file))?;
        let request = lambda_http::request::from_str(&event)?;
        let response = http::handle(&app, request).await?;
        let status = response.status().as_u16();
        let body = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        match entry.check(status, &body) {
            Ok(()) => println!("ok    {:<32} {status} {body}", entry.file),
            Err(difference) => {
                failures += 1;
                println!("FAIL  {difference}");
            }
        }
    }
    println!("{} passed, {failures} failed", entries.len() - failures);
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
