//! Log output: one line per record, JSON when Lambda's log format asks for it.

use lambda_http::tracing::Subscriber;
use lambda_http::tracing::subscriber::filter::LevelFilter;
use lambda_http::tracing::subscriber::fmt::MakeWriter;
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

/// Builds the subscriber the function logs through, writing to `writer`.
///
/// This follows `lambda_http::tracing::init_default_subscriber` (same variables, no
/// ANSI colours), with two changes: event fields are written at the top level of each
/// JSON object, so Logs Insights queries say `decision` rather than `fields.decision`,
/// and each line carries a timestamp.
pub fn subscriber<W>(settings: LogSettings, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
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
                .finish(),
        )
    } else {
        Box::new(builder.finish())
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

    #[test]
    fn an_unknown_level_falls_back_to_info() {
        assert_eq!(
            settings(&[("AWS_LAMBDA_LOG_LEVEL", "LOUD")]).level,
            LevelFilter::INFO
        );
    }
}
