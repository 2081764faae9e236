//! Log output: one line per record, JSON when Lambda's log format asks for it, and
//! never a line of another crate's below WARN.

use lambda_http::tracing::subscriber::filter::{LevelFilter, filter_fn};
use lambda_http::tracing::subscriber::fmt::MakeWriter;
use lambda_http::tracing::subscriber::layer::SubscriberExt;
use lambda_http::tracing::{Metadata, Subscriber};
use std::cell::Cell;
use std::io::Write;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

/// How logs are written, from Lambda's advanced logging controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSettings {
    /// One JSON object per line (`AWS_LAMBDA_LOG_FORMAT=JSON`), else human-readable text.
    pub json: bool,
    /// The most verbose level written.
    pub level: LevelFilter,
}

impl LogSettings {
    /// Reads `AWS_LAMBDA_LOG_FORMAT`, then `AWS_LAMBDA_LOG_LEVEL` or, failing that,
    /// `RUST_LOG`; the level defaults to INFO.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`LogSettings::from_env`], through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let json = lookup("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
        let level = lookup("AWS_LAMBDA_LOG_LEVEL")
            .or_else(|| lookup("RUST_LOG"))
            .and_then(|l| LevelFilter::from_str(&l).ok())
            .unwrap_or(LevelFilter::INFO);
        LogSettings { json, level }
    }
}

/// The target prefix of this crate's own records, library and binary alike.
const OWN_TARGET: &str = "merge_deprovision";

/// The most verbose level at which another crate's events are written, whatever the
/// configured level. `lambda_runtime` writes the whole raw event, body included, at
/// TRACE, before any signature check; the AWS SDK and hyper write requests and responses
/// at DEBUG and TRACE, among them the secret's value. Their warnings and errors (a
/// Runtime API failure, an event the runtime could not read) are kept: without them an
/// invocation that never reached the handler would leave no trace.
pub const OTHER_CRATES_EVENT_LEVEL: LevelFilter = LevelFilter::WARN;

/// The most verbose level at which another crate's spans are kept. A span writes no
/// line of its own; the runtime's `Lambda runtime invoke` span, at INFO, gives every
/// record its request id. More verbose spans add nothing an operator needs.
pub const OTHER_CRATES_SPAN_LEVEL: LevelFilter = LevelFilter::INFO;

/// True if a record or span with `metadata` is written when `level` is configured: this
/// crate's up to `level`, other crates' only up to the ceilings above, so that no level
/// ever writes an event body.
pub fn is_written(metadata: &Metadata<'_>, level: LevelFilter) -> bool {
    let own = metadata
        .target()
        .strip_prefix(OWN_TARGET)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"));
    let ceiling = if own {
        level
    } else if metadata.is_span() {
        level.min(OTHER_CRATES_SPAN_LEVEL)
    } else {
        level.min(OTHER_CRATES_EVENT_LEVEL)
    };
    ceiling >= *metadata.level()
}

/// Builds the subscriber the function logs through, writing to `writer`.
///
/// This follows `lambda_http::tracing::init_default_subscriber` (same variables, no
/// ANSI colours), with three changes: event fields are written at the top level of each
/// JSON object, so Logs Insights queries say `decision` rather than `fields.decision`;
/// each line carries a timestamp; and the configured level governs only this crate's
/// records, never the raw events other crates log ([`is_written`]).
pub fn subscriber<W>(settings: LogSettings, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let level = settings.level;
    let filter = filter_fn(move |metadata| is_written(metadata, level));
    let builder = lambda_http::tracing::subscriber::fmt()
        .with_target(false)
        .with_ansi(false)
        .with_max_level(settings.level)
        .with_writer(writer);
    if settings.json {
        Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish()
                .with(filter),
        )
    } else {
        Box::new(builder.finish().with(filter))
    }
}

/// An in-memory log destination, for tests and for building the documented samples
/// from real records.
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    /// Everything written so far.
    pub fn contents(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// One write handle on a [`LogBuffer`].
pub struct LogBufferWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogBufferWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogBuffer {
    type Writer = LogBufferWriter;
    fn make_writer(&'a self) -> LogBufferWriter {
        LogBufferWriter(self.0.clone())
    }
}

/// Installs the function's subscriber, writing to stdout, as the global default, and
/// the panic hook that keeps panics inside the log format.
pub fn init() {
    let subscriber = subscriber(LogSettings::from_env(), std::io::stdout);
    // Only fails if a subscriber is already installed, in which case that one stays.
    let _ = lambda_http::tracing::subscriber::util::SubscriberInitExt::try_init(subscriber);
    std::panic::set_hook(Box::new(log_panic));
}

thread_local! {
    static PANICS_ANSWERED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, whose panics the caller catches and answers itself, with the panic hook
/// silent: the caller's own record is then the only line the request writes.
pub fn with_answered_panics<T>(f: impl FnOnce() -> T) -> T {
    let before = PANICS_ANSWERED.with(|flag| flag.replace(true));
    let result = f();
    PANICS_ANSWERED.with(|flag| flag.set(before));
    result
}

// Replaces the default hook, which prints unstructured text (and a backtrace under
// RUST_BACKTRACE) to stderr. The panic's message is left out: it can quote the input
// that caused it, and records never carry payload content.
fn log_panic(info: &std::panic::PanicHookInfo<'_>) {
    if PANICS_ANSWERED.with(Cell::get) {
        return;
    }
    let location = info
        .location()
        .map(|l| format!("{}:{}", l.file(), l.line()));
    lambda_http::tracing::error!(
        panic_location = location.as_deref(),
        "the function panicked: the invocation fails"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> LogSettings {
        LogSettings::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn text_at_info_by_default() {
        assert_eq!(
            settings(&[]),
            LogSettings {
                json: false,
                level: LevelFilter::INFO
            }
        );
    }

    #[test]
    fn json_when_lambda_log_format_is_json_in_any_case() {
        assert!(settings(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")]).json);
        assert!(settings(&[("AWS_LAMBDA_LOG_FORMAT", "json")]).json);
        assert!(!settings(&[("AWS_LAMBDA_LOG_FORMAT", "Text")]).json);
    }

    #[test]
    fn lambda_log_level_wins_over_rust_log() {
        let s = settings(&[("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("RUST_LOG", "debug")]);
        assert_eq!(s.level, LevelFilter::WARN);
        assert_eq!(settings(&[("RUST_LOG", "debug")]).level, LevelFilter::DEBUG);
    }

    /// What `f` logs through the function's subscriber at TRACE, in either format.
    fn logged_at_trace(json: bool, f: impl FnOnce()) -> String {
        let buffer = LogBuffer::default();
        let settings = LogSettings {
            json,
            level: LevelFilter::TRACE,
        };
        let dispatch = lambda_http::tracing::Dispatch::new(subscriber(settings, buffer.clone()));
        lambda_http::tracing::dispatcher::with_default(&dispatch, f);
        buffer.contents()
    }

    #[test]
    fn a_trace_level_writes_no_raw_event_of_the_runtime_in_either_format() {
        for json in [true, false] {
            let logs = logged_at_trace(json, || {
                // What lambda_runtime writes for each invocation, from its own target.
                lambda_http::tracing::trace!(
                    target: "lambda_runtime::layers::api_response",
                    body = "{\"ssn\":\"SENTINEL-SSN-101\"}",
                    "raw JSON event received from Lambda"
                );
                lambda_http::tracing::debug!(
                    target: "aws_smithy_runtime::client::orchestrator",
                    body = "SENTINEL-SECRET-102",
                    "read response"
                );
                lambda_http::tracing::trace!(own = "ours-at-trace", "this crate's own record");
            });
            assert!(!logs.contains("SENTINEL"), "json={json}:\n{logs}");
            assert!(logs.contains("ours-at-trace"), "json={json}:\n{logs}");
        }
    }

    #[test]
    fn other_crates_warnings_and_the_runtimes_request_span_are_kept() {
        for json in [true, false] {
            let logs = logged_at_trace(json, || {
                lambda_http::tracing::error!(
                    target: "lambda_runtime::layers::api_response",
                    "the handler will not be called"
                );
                let span = lambda_http::tracing::info_span!(
                    target: "lambda_runtime::layers::trace",
                    "Lambda runtime invoke",
                    requestId = "request-42"
                );
                let _entered = span.enter();
                lambda_http::tracing::warn!("a record of this crate");
            });
            assert!(logs.contains("the handler will not be called"), "{logs}");
            let record = logs
                .lines()
                .find(|line| line.contains("a record of this crate"))
                .expect("the record");
            assert!(record.contains("request-42"), "json={json}: {record}");
        }
    }

    #[test]
    fn the_configured_level_still_bounds_other_crates_warnings() {
        let buffer = LogBuffer::default();
        let settings = LogSettings {
            json: true,
            level: LevelFilter::ERROR,
        };
        let dispatch = lambda_http::tracing::Dispatch::new(subscriber(settings, buffer.clone()));
        lambda_http::tracing::dispatcher::with_default(&dispatch, || {
            lambda_http::tracing::warn!(target: "lambda_runtime", "retrying");
        });
        assert_eq!(buffer.contents(), "");
    }

    #[test]
    fn an_unknown_level_falls_back_to_info() {
        assert_eq!(
            settings(&[("AWS_LAMBDA_LOG_LEVEL", "LOUD")]).level,
            LevelFilter::INFO
        );
    }
}
