//! One page of `GET /hris/v1/employees`: the query a sweep sends, what comes back, and
//! why a call failed. [`EmployeePages`] is the narrow interface a sweep reads through.
//!
//! The query is fixed but for the cursor and `modified_after`: 100 a page (Merge's
//! most), deleted records included (a record deleted in the HR system is a leaver), and
//! never `include_remote_data`, `include_sensitive_fields` or `expand`, so the pages
//! carry no raw HR payload and no sensitive field.

use crate::domain::dates::to_rfc3339;
use crate::domain::employee::Employee;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed future, so the trait stays object-safe. Merge's own, like each outside
/// system's, so that no effect folder depends on another.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The path below the base URL.
pub const EMPLOYEES_PATH: &str = "/hris/v1/employees";
/// Merge's largest page.
pub const PAGE_SIZE: u32 = 100;
/// The longest a sweep waits within an invocation on a `Retry-After`, as Merge's own
/// Python SDK (4.2.1) caps it. A longer one still delays the follow-up.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// The longest `Retry-After` believed: beyond an hour the value is taken for a mistake.
pub const MAX_RETRY_LATER: Duration = Duration::from_secs(3_600);

/// What to read: the cursor of the page (none for the first), and the filter every page
/// of one sweep shares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmployeeQuery {
    /// The previous page's `next`.
    pub cursor: Option<String>,
    /// Only employees Merge changed after this instant.
    pub modified_after: Option<DateTime<Utc>>,
}

impl EmployeeQuery {
    /// The query's parameters, in the order Merge's Python SDK sends them (by name).
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::with_capacity(4);
        if let Some(cursor) = &self.cursor {
            pairs.push(("cursor", cursor.clone()));
        }
        pairs.push(("include_deleted_data", "true".to_owned()));
        if let Some(after) = self.modified_after {
            pairs.push(("modified_after", to_rfc3339(after)));
        }
        pairs.push(("page_size", PAGE_SIZE.to_string()));
        pairs
    }
}

/// The two credentials every call carries. Holds a key and a token, so it has no
/// `Debug`.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    /// The organisation's API key: `Authorization: Bearer`.
    pub api_key: &'a str,
    /// The linked account's token: `X-Account-Token`.
    pub account_token: &'a str,
}

/// One page.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Page {
    /// The cursor of the next page; none on the last.
    #[serde(default)]
    pub next: Option<String>,
    /// The employees, reduced to what the decision needs: sensitive fields are skipped
    /// unread.
    #[serde(default)]
    pub results: Vec<Employee>,
}

/// Reads a page's body.
pub fn parse_page(body: &[u8]) -> Result<Page, MergeError> {
    serde_json::from_slice(body).map_err(|_| MergeError::Malformed)
}

/// Why a page could not be read. Carries statuses and waits, never a credential or a
/// body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// 401 or 403: the API key or the account token is refused; a retry cannot help.
    #[error("unauthorized ({0})")]
    Unauthorized(u16),
    /// 429: retried after `retry_after` when Merge says, otherwise with backoff.
    #[error("rate_limited")]
    RateLimited {
        /// Merge's `Retry-After` (seconds or an HTTP-date) or `retry-after-ms`, capped at
        /// [`MAX_RETRY_LATER`]; waited in the invocation up to [`MAX_RETRY_AFTER`].
        retry_after: Option<Duration>,
    },
    /// 5xx: transient.
    #[error("server_error ({0})")]
    Server(u16),
    /// Another 4xx: the request itself is refused.
    #[error("rejected ({0})")]
    Rejected(u16),
    /// No answer in time.
    #[error("timed_out")]
    TimedOut,
    /// No connection.
    #[error("unreachable")]
    Unreachable,
    /// An answer that is not a page.
    #[error("malformed_page")]
    Malformed,
}

impl MergeError {
    /// The kind, as records name it.
    pub fn kind(&self) -> &'static str {
        match self {
            MergeError::Unauthorized(_) => "unauthorized",
            MergeError::RateLimited { .. } => "rate_limited",
            MergeError::Server(_) => "server_error",
            MergeError::Rejected(_) => "rejected",
            MergeError::TimedOut => "timed_out",
            MergeError::Unreachable => "unreachable",
            MergeError::Malformed => "malformed_page",
        }
    }

    /// True when the same request may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            MergeError::RateLimited { .. }
                | MergeError::Server(_)
                | MergeError::TimedOut
                | MergeError::Unreachable
        )
    }
}

/// The error an HTTP status means, with its `Retry-After` (seconds, or an HTTP-date
/// read against `now`) and `retry-after-ms` values.
pub fn error_of(
    status: u16,
    retry_after: Option<&str>,
    retry_after_ms: Option<&str>,
    now: DateTime<Utc>,
) -> MergeError {
    match status {
        401 | 403 => MergeError::Unauthorized(status),
        408 => MergeError::TimedOut,
        429 => {
            let ms = retry_after_ms
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_millis);
            let seconds = retry_after.and_then(|v| {
                let v = v.trim();
                match v.parse::<u64>() {
                    Ok(seconds) => Some(Duration::from_secs(seconds)),
                    // `Wed, 21 Oct 2026 07:28:00 GMT`; one already past means now.
                    Err(_) => DateTime::parse_from_rfc2822(v)
                        .ok()
                        .map(|at| (at.with_timezone(&Utc) - now).to_std().unwrap_or_default()),
                }
            });
            MergeError::RateLimited {
                retry_after: ms.or(seconds).map(|d| d.min(MAX_RETRY_LATER)),
            }
        }
        500..=599 => MergeError::Server(status),
        _ => MergeError::Rejected(status),
    }
}

/// Reads employee pages of one linked account.
pub trait EmployeePages: Send + Sync {
    /// One GET of `GET /hris/v1/employees` with `query`.
    fn list_page<'a>(
        &'a self,
        credentials: Credentials<'a>,
        query: &'a EmployeeQuery,
    ) -> BoxFuture<'a, Result<Page, MergeError>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_query_always_asks_for_full_pages_with_deleted_records_and_nothing_sensitive() {
        let first = EmployeeQuery::default().pairs();
        assert_eq!(
            first,
            vec![
                ("include_deleted_data", "true".to_owned()),
                ("page_size", "100".to_owned())
            ]
        );
        let later = EmployeeQuery {
            cursor: Some("c2".into()),
            modified_after: Some(Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap()),
        }
        .pairs();
        assert_eq!(later[0], ("cursor", "c2".to_owned()));
        assert_eq!(
            later[2],
            ("modified_after", "2024-01-02T03:04:05Z".to_owned())
        );
        let names: Vec<&str> = later.iter().map(|(n, _)| *n).collect();
        for never in ["include_remote_data", "include_sensitive_fields", "expand"] {
            assert!(!names.contains(&never));
        }
    }

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 10, 21, 7, 27, 0).unwrap()
    }

    #[test]
    fn retry_after_as_an_http_date_is_the_wait_until_that_date() {
        assert_eq!(
            error_of(429, Some("Wed, 21 Oct 2026 07:28:00 GMT"), None, at()),
            MergeError::RateLimited {
                retry_after: Some(Duration::from_secs(60))
            }
        );
        assert_eq!(
            error_of(429, Some("Wed, 21 Oct 2026 07:00:00 GMT"), None, at()),
            MergeError::RateLimited {
                retry_after: Some(Duration::ZERO)
            },
            "a date already past: at once"
        );
        assert_eq!(
            error_of(429, Some("soon"), None, at()),
            MergeError::RateLimited { retry_after: None }
        );
    }

    #[test]
    fn statuses_map_to_their_errors_and_retry_after_is_capped() {
        assert_eq!(
            error_of(401, None, None, at()),
            MergeError::Unauthorized(401)
        );
        assert_eq!(
            error_of(403, None, None, at()),
            MergeError::Unauthorized(403)
        );
        assert_eq!(
            error_of(429, Some("2"), None, at()),
            MergeError::RateLimited {
                retry_after: Some(Duration::from_secs(2))
            }
        );
        assert_eq!(
            error_of(429, Some("86400"), None, at()),
            MergeError::RateLimited {
                retry_after: Some(MAX_RETRY_LATER)
            }
        );
        assert_eq!(
            error_of(429, None, Some("250"), at()),
            MergeError::RateLimited {
                retry_after: Some(Duration::from_millis(250))
            }
        );
        assert_eq!(
            error_of(429, None, None, at()),
            MergeError::RateLimited { retry_after: None }
        );
        assert_eq!(error_of(503, None, None, at()), MergeError::Server(503));
        assert!(error_of(503, None, None, at()).is_transient());
        assert!(!error_of(401, None, None, at()).is_transient());
        assert_eq!(error_of(400, None, None, at()), MergeError::Rejected(400));
    }

    #[test]
    fn a_page_skips_sensitive_fields_and_reads_next() {
        let page = parse_page(
            br#"{"next": "c2", "previous": null, "results": [{"id": "e1", "ssn": "SENTINEL", "remote_data": [{"x": 1}], "employment_status": "INACTIVE"}]}"#,
        )
        .unwrap();
        assert_eq!(page.next.as_deref(), Some("c2"));
        assert_eq!(page.results.len(), 1);
        assert!(!format!("{page:?}").contains("SENTINEL"));
        assert_eq!(parse_page(b"<html>"), Err(MergeError::Malformed));
    }
}
