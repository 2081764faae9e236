//! The whole request path under arbitrary input: event bytes as the runtime would hand
//! them over, and arbitrary bodies correctly signed, in text and base64 events. Every
//! input must produce a response below 500, without panicking.

#![no_main]

use chrono::{DateTime, TimeZone, Utc};
use std::cell::Cell;
use std::panic::catch_unwind;
use lambda_http::tracing::subscriber::filter::LevelFilter;
use libfuzzer_sys::fuzz_target;
use merge_deprovision::lambda::config::{Config, SIGNATURE_KEY_VAR};
use merge_deprovision::lambda::http::{refuse_unreadable, respond};
use merge_deprovision::lambda::logging::{LogSettings, subscriber};
use merge_deprovision_samples::{LOCAL_TEST_KEY, Signing, function_url_event, finished};
use merge_deprovision::lambda::state::App;
use std::sync::OnceLock;

fn app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| {
        // Panics the adapter's conversion raises are caught below, as in the function,
        // so libFuzzer's aborting hook must not see them. Any other panic is still
        // printed, reaches libFuzzer's own catch and is reported as a crash.
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CONVERTING.with(Cell::get) {
                report(info);
            }
        }));
        // Records are formatted as in production, then discarded.
        let sink = subscriber(LogSettings { json: true, level: LevelFilter::TRACE }, std::io::sink);
        let _ = lambda_http::tracing::dispatcher::set_global_default(lambda_http::tracing::Dispatch::new(sink));
        let config = Config::from_lookup(|name| (name == SIGNATURE_KEY_VAR).then(|| LOCAL_TEST_KEY.to_owned()))
            .expect("the test configuration is valid");
        App::new(&config)
    })
}

thread_local! {
    static CONVERTING: Cell<bool> = const { Cell::new(false) };
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

fn check(request: &lambda_http::Request) {
    let answered = finished(respond(app(), request, now())).expect("responses serialise");
    let status = answered.response.status().as_u16();
    assert!(status < 500, "status {status}");
    let metrics: serde_json::Value = serde_json::from_str(answered.metrics.as_deref().expect("a metrics line")).expect("the metrics line is JSON");
    assert!(metrics["_aws"]["CloudWatchMetrics"].is_array());
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        // An arbitrary event, as the runtime hands it to lambda_http.
        0 => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            // lambda_http panics converting some malformed events; in the function,
            // runtime_guard catches that and refuses the event, as done here.
            CONVERTING.with(|c| c.set(true));
            let converted = catch_unwind(|| lambda_http::request::from_str(text));
            CONVERTING.with(|c| c.set(false));
            match converted {
                Ok(Ok(request)) => check(&request),
                Ok(Err(_)) => {}
                Err(_) => {
                    let answered = refuse_unreadable(app(), now()).expect("responses serialise");
                    assert_eq!(answered.response.status().as_u16(), 400);
                }
            }
        }
        // An arbitrary body with a valid signature, as a text or a base64 event.
        base64 => {
            let event = function_url_event("POST", rest, Signing::TestKey, base64 == 2, "fuzz");
            let request = lambda_http::request::from_str(&event.to_string()).expect("built events parse");
            check(&request);
        }
    }
});
