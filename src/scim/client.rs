//! A SCIM 2.0 endpoint behind a narrow trait: find users by filter, set one user's
//! `active` to false (with `If-Match` when the server versions users), delete one user,
//! ask who owns the token (`GET /Me`, RFC 7644 3.11), and, for an undo, read one user by
//! id and set its `active` back to true.
//! [`HttpScim`] is the real client, on the process's one HTTPS client (`net::client`).

use crate::domain::deprovision::{FoundUser, ScimAttribute, ScimValue, Token};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use url::Url;

/// A boxed future, so the trait stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The media type SCIM speaks.
pub const SCIM_JSON: &str = "application/scim+json";

/// The largest answer read: a search asks for two users, so anything near this is not
/// what SCIM promises, and reading on would only spend the function's memory.
pub const MAX_BODY: usize = 1024 * 1024;

/// Where a target's calls go and how they authenticate. No `Debug`: it holds the token.
#[derive(Clone)]
pub struct Endpoint {
    /// The base URL, checked by `net::base_url` (no trailing slash).
    pub base: Url,
    /// The bearer token.
    pub token: Token,
}

impl Endpoint {
    /// The base URL's host, which records may name.
    pub fn host(&self) -> String {
        self.base.host_str().unwrap_or("").to_owned()
    }

    fn users(&self) -> String {
        format!("{}/Users", self.base.as_str().trim_end_matches('/'))
    }

    fn me(&self) -> String {
        format!("{}/Me", self.base.as_str().trim_end_matches('/'))
    }

    fn user(&self, id: &str) -> String {
        // The id is the server's; encoded so it stays one path segment.
        let encoded: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
        format!("{}/{}", self.users(), encoded.replace('+', "%20"))
    }
}

/// Why a SCIM call failed. Names the host at most, never the token or a user's data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScimError {
    /// 401 or 403: the token is wrong, expired or lacks the right.
    #[error("{host} refused the token ({status})")]
    Unauthorized {
        /// The endpoint's host.
        host: String,
        /// 401 or 403.
        status: u16,
    },
    /// 429, with how long the server asked to wait.
    #[error("rate limited")]
    RateLimited {
        /// `Retry-After`, when given and readable.
        retry_after: Option<Duration>,
    },
    /// A 5xx.
    #[error("server error ({0})")]
    Server(u16),
    /// 404: no such user (any more).
    #[error("not found")]
    NotFound,
    /// 412: the user changed since it was read.
    #[error("precondition failed")]
    PreconditionFailed,
    /// The invocation's time ran out first.
    #[error("timed out")]
    TimedOut,
    /// No answer: a connection failure.
    #[error("unreachable")]
    Unreachable,
    /// An answer that is not what SCIM promises.
    #[error("malformed answer")]
    Malformed,
    /// Any other refusal (400 `invalidFilter`, 409 ...), by status and `scimType`.
    #[error("rejected ({status}{})", scim_type.as_deref().map(|t| format!(" {t}")).unwrap_or_default())]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The SCIM error's `scimType`, when given.
        scim_type: Option<String>,
    },
}

impl ScimError {
    /// The kind, as records name it.
    pub fn kind(&self) -> &'static str {
        match self {
            ScimError::Unauthorized { .. } => "unauthorized",
            ScimError::RateLimited { .. } => "rate_limited",
            ScimError::Server(_) => "server_error",
            ScimError::NotFound => "not_found",
            ScimError::PreconditionFailed => "precondition_failed",
            ScimError::TimedOut => "timed_out",
            ScimError::Unreachable => "unreachable",
            ScimError::Malformed => "malformed",
            ScimError::Rejected { .. } => "rejected",
        }
    }

    /// True when a later attempt may succeed: 429, 5xx, no answer.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ScimError::RateLimited { .. }
                | ScimError::Server(_)
                | ScimError::TimedOut
                | ScimError::Unreachable
        )
    }
}

/// The calls deprovisioning makes.
pub trait Scim: Send + Sync {
    /// The users `filter` matches: at most two are asked for, enough to tell one from
    /// many, each with its values of `attribute` (the one the filter compares), so the
    /// caller can check the server really answered the leaver.
    fn find<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        filter: &'a str,
        attribute: ScimAttribute,
    ) -> BoxFuture<'a, Result<Vec<FoundUser>, ScimError>>;
    /// Sets `user`'s `active` to false, with `If-Match` when it has a version.
    fn deactivate<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        user: &'a FoundUser,
    ) -> BoxFuture<'a, Result<(), ScimError>>;
    /// Deletes the user `id`.
    fn delete<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        id: &'a str,
    ) -> BoxFuture<'a, Result<(), ScimError>>;
    /// The id of the user that owns the token (`GET /Me`), or `None` when the server
    /// cannot tell (it answers `404` or `501`: no `/Me`, or the token is no user's).
    fn owner<'a>(
        &'a self,
        endpoint: &'a Endpoint,
    ) -> BoxFuture<'a, Result<Option<String>, ScimError>>;
    /// The user `id` (`GET /Users/{id}`): whether it is active, and its version, read
    /// before an undo changes it; [`ScimError::NotFound`] when it is gone.
    fn read_user<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        id: &'a str,
    ) -> BoxFuture<'a, Result<FoundUser, ScimError>>;
    /// Sets `user`'s `active` back to true (an undo of this function's deactivation),
    /// with `If-Match` when it has a version: a `412` means it changed since it was read.
    fn reactivate<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        user: &'a FoundUser,
    ) -> BoxFuture<'a, Result<(), ScimError>>;
}

/// What a `GET /Me` answer means: the resource's `id`, or `None` for a server that
/// cannot tell. `/Me` is optional in RFC 7644 and servers refuse it in many ways
/// (`404`, `501`, `405`, `400`, a `403` for a token that may not read it, a resource
/// without an `id`): each means only that the owner is not known, so the protected list
/// is what protects it. A refused token (`401`), a `5xx`, throttling, no answer or an
/// answer that is not JSON (a proxy's page) stay errors, never cached: the change waits
/// rather than going ahead unchecked.
pub fn read_owner(answer: Result<Value, ScimError>) -> Result<Option<String>, ScimError> {
    match answer {
        Ok(resource) => Ok(resource
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)),
        Err(
            ScimError::NotFound
            | ScimError::Server(501)
            | ScimError::Rejected { .. }
            | ScimError::Unauthorized { status: 403, .. },
        ) => Ok(None),
        Err(error) => Err(error),
    }
}

/// The PATCH body that deactivates: `replace` of `active` with `false`.
pub fn deactivate_body() -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]
    })
}

/// The PATCH body that re-activates: `replace` of `active` with `true`, the RFC 7644
/// shape the deactivation uses.
pub fn reactivate_body() -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": true}]
    })
}

/// The user a `GET /Users/{id}` answered: its id (the one asked for, when the resource
/// gives none), `active` and version. A resource with another id is not that user.
pub fn read_resource(resource: &Value, id: &str) -> Result<FoundUser, ScimError> {
    let answered = resource.get("id").and_then(Value::as_str).unwrap_or(id);
    if answered != id {
        return Err(ScimError::Malformed);
    }
    Ok(FoundUser {
        id: id.to_owned(),
        active: resource.get("active").and_then(Value::as_bool),
        etag: resource
            .get("meta")
            .and_then(|m| m.get("version"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        values: Vec::new(),
    })
}

/// A user's values of `attribute` in a resource: `userName`, `externalId`, or every
/// address of `emails` with its `type` and `primary` (a `primary` given as the string
/// `"true"`, as some servers send booleans, counts; anything else does not).
fn values_of(resource: &Value, attribute: ScimAttribute) -> Vec<ScimValue> {
    let plain = |v: &Value| v.as_str().map(ScimValue::plain);
    match attribute {
        ScimAttribute::UserName => resource
            .get("userName")
            .and_then(plain)
            .into_iter()
            .collect(),
        ScimAttribute::ExternalId => resource
            .get("externalId")
            .and_then(plain)
            .into_iter()
            .collect(),
        ScimAttribute::Emails | ScimAttribute::EmailsAny => resource
            .get("emails")
            .and_then(Value::as_array)
            .map(|emails| emails.iter().filter_map(address).collect())
            .unwrap_or_default(),
    }
}

/// One entry of `emails`, when it has a `value`.
fn address(email: &Value) -> Option<ScimValue> {
    let value = email.get("value").and_then(Value::as_str)?;
    let primary = match email.get("primary") {
        Some(Value::Bool(primary)) => *primary,
        Some(Value::String(text)) => text.trim().eq_ignore_ascii_case("true"),
        _ => false,
    };
    let kind = email.get("type").and_then(Value::as_str);
    Some(ScimValue::address(value, kind, primary))
}

/// The users a `ListResponse` holds, with their values of `attribute`. A
/// `totalResults` above what was sent adds one id-less stand-in, so the caller sees the
/// list was cut short.
pub fn read_list(body: &Value, attribute: ScimAttribute) -> Result<Vec<FoundUser>, ScimError> {
    let total = body.get("totalResults").and_then(Value::as_u64);
    let resources = match body.get("Resources") {
        None | Some(Value::Null) => &Vec::new(),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(ScimError::Malformed),
    };
    let mut users = resources
        .iter()
        .map(|r| {
            let id = r
                .get("id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())?;
            Some(FoundUser {
                id: id.to_owned(),
                active: r.get("active").and_then(Value::as_bool),
                etag: r
                    .get("meta")
                    .and_then(|m| m.get("version"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                values: values_of(r, attribute),
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or(ScimError::Malformed)?;
    if total.is_some_and(|t| t > users.len() as u64) {
        // The server says there are more than it sent: one id-less stand-in, so the
        // caller never takes one of those it saw for the only match.
        users.push(FoundUser {
            id: String::new(),
            active: None,
            etag: None,
            values: Vec::new(),
        });
    }
    Ok(users)
}

/// The `attributes=` a search asks for: what the decision reads, and the attribute
/// compared, so its value can be checked.
pub fn attributes(attribute: ScimAttribute) -> String {
    format!("id,active,meta.version,{}", attribute.as_str())
}

/// `Retry-After`: seconds, or an HTTP date, as the wait from `now`.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&Utc) - now).to_std().ok()
}

/// The error a non-success status means.
pub fn status_error(status: u16, host: &str, retry: Option<Duration>, body: &[u8]) -> ScimError {
    match status {
        401 | 403 => ScimError::Unauthorized {
            host: host.to_owned(),
            status,
        },
        404 => ScimError::NotFound,
        412 => ScimError::PreconditionFailed,
        429 => ScimError::RateLimited { retry_after: retry },
        500..=599 => ScimError::Server(status),
        _ => ScimError::Rejected {
            status,
            scim_type: serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.get("scimType").and_then(Value::as_str).map(str::to_owned))
                // A known word only: a server could echo anything here.
                .filter(|t| t.len() <= 32 && t.chars().all(|c| c.is_ascii_alphabetic())),
        },
    }
}

/// Adds `chunk` to `body`, or `Malformed` when that would take it past `cap`.
pub fn append_capped(body: &mut Vec<u8>, chunk: &[u8], cap: usize) -> Result<(), ScimError> {
    if body.len().saturating_add(chunk.len()) > cap {
        return Err(ScimError::Malformed);
    }
    body.extend_from_slice(chunk);
    Ok(())
}

/// The answer's body, read chunk by chunk up to `cap` bytes: past it, `Malformed`
/// (and a declared length past it is refused before reading).
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, ScimError> {
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(ScimError::Malformed);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| ScimError::Unreachable)? {
        append_capped(&mut body, &chunk, cap)?;
    }
    Ok(body)
}

/// The real SCIM client, over `net::client()`, which it takes on first use: loading the
/// system's roots costs milliseconds that a webhook's cold start should not pay, and only
/// the invocations that deprovision need it.
#[derive(Clone, Default)]
pub struct HttpScim;

impl HttpScim {
    /// A client over the process's HTTPS client.
    pub fn new() -> Self {
        HttpScim
    }

    /// The process's HTTPS client; a machine without root certificates cannot call out.
    fn client(&self) -> Result<reqwest::Client, ScimError> {
        crate::net::client().map_err(|_| ScimError::Unreachable)
    }

    async fn send(
        &self,
        endpoint: &Endpoint,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, Vec<u8>), ScimError> {
        let response = request
            .bearer_auth(endpoint.token.expose())
            .header(reqwest::header::ACCEPT, SCIM_JSON)
            .send()
            .await
            .map_err(|_| ScimError::Unreachable)?;
        let status = response.status().as_u16();
        let retry = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, Utc::now()));
        let body = read_capped(response, MAX_BODY).await?;
        if (200..300).contains(&status) {
            Ok((status, body))
        } else {
            Err(status_error(status, &endpoint.host(), retry, &body))
        }
    }
}

impl Scim for HttpScim {
    fn find<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        filter: &'a str,
        attribute: ScimAttribute,
    ) -> BoxFuture<'a, Result<Vec<FoundUser>, ScimError>> {
        Box::pin(async move {
            let mut url = Url::parse(&endpoint.users()).map_err(|_| ScimError::Malformed)?;
            url.query_pairs_mut()
                .append_pair("filter", filter)
                .append_pair("count", "2")
                .append_pair("attributes", &attributes(attribute));
            let request = self.client()?.get(url);
            let (_, body) = self.send(endpoint, request).await?;
            let value: Value = serde_json::from_slice(&body).map_err(|_| ScimError::Malformed)?;
            read_list(&value, attribute)
        })
    }

    fn deactivate<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        user: &'a FoundUser,
    ) -> BoxFuture<'a, Result<(), ScimError>> {
        Box::pin(async move {
            let mut request = self
                .client()?
                .patch(endpoint.user(&user.id))
                .header(reqwest::header::CONTENT_TYPE, SCIM_JSON)
                .body(deactivate_body().to_string());
            if let Some(etag) = &user.etag {
                request = request.header(reqwest::header::IF_MATCH, etag);
            }
            // 200 with the resource, or 204 with none: both are done.
            self.send(endpoint, request).await.map(|_| ())
        })
    }

    fn delete<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        id: &'a str,
    ) -> BoxFuture<'a, Result<(), ScimError>> {
        Box::pin(async move {
            let request = self.client()?.delete(endpoint.user(id));
            self.send(endpoint, request).await.map(|_| ())
        })
    }

    fn owner<'a>(
        &'a self,
        endpoint: &'a Endpoint,
    ) -> BoxFuture<'a, Result<Option<String>, ScimError>> {
        Box::pin(async move {
            let mut url = Url::parse(&endpoint.me()).map_err(|_| ScimError::Malformed)?;
            url.query_pairs_mut().append_pair("attributes", "id");
            let request = self.client()?.get(url);
            let answer = match self.send(endpoint, request).await {
                Ok((_, body)) => serde_json::from_slice(&body).map_err(|_| ScimError::Malformed),
                Err(error) => Err(error),
            };
            read_owner(answer)
        })
    }

    fn read_user<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        id: &'a str,
    ) -> BoxFuture<'a, Result<FoundUser, ScimError>> {
        Box::pin(async move {
            let mut url = Url::parse(&endpoint.user(id)).map_err(|_| ScimError::Malformed)?;
            url.query_pairs_mut()
                .append_pair("attributes", "id,active,meta.version");
            let request = self.client()?.get(url);
            let (_, body) = self.send(endpoint, request).await?;
            let value: Value = serde_json::from_slice(&body).map_err(|_| ScimError::Malformed)?;
            read_resource(&value, id)
        })
    }

    fn reactivate<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        user: &'a FoundUser,
    ) -> BoxFuture<'a, Result<(), ScimError>> {
        Box::pin(async move {
            let mut request = self
                .client()?
                .patch(endpoint.user(&user.id))
                .header(reqwest::header::CONTENT_TYPE, SCIM_JSON)
                .body(reactivate_body().to_string());
            if let Some(etag) = &user.etag {
                request = request.header(reqwest::header::IF_MATCH, etag);
            }
            self.send(endpoint, request).await.map(|_| ())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_list_response_gives_ids_activity_and_versions() {
        let body = serde_json::json!({"totalResults": 1, "Resources": [
            {"id": "u1", "userName": "x", "active": false, "meta": {"version": "W/\"3\""}}]});
        let users = read_list(&body, ScimAttribute::UserName).unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(users[0].active, Some(false));
        assert_eq!(users[0].etag.as_deref(), Some("W/\"3\""));
        let empty = serde_json::json!({"totalResults": 0});
        assert_eq!(users[0].values, [ScimValue::plain("x")]);
        assert!(
            read_list(&empty, ScimAttribute::UserName)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_total_above_what_was_sent_reads_as_more_than_one() {
        let body = serde_json::json!({"totalResults": 3, "Resources": [{"id": "u1"}]});
        assert_eq!(read_list(&body, ScimAttribute::UserName).unwrap().len(), 2);
        let body = serde_json::json!({"totalResults": 2, "Resources": []});
        let cut = read_list(&body, ScimAttribute::UserName).unwrap();
        assert!(cut.len() == 1 && cut[0].id.is_empty());
        let bad = serde_json::json!({"Resources": [{"userName": "no id"}]});
        assert_eq!(
            read_list(&bad, ScimAttribute::UserName),
            Err(ScimError::Malformed)
        );
    }

    #[test]
    fn a_search_asks_for_the_compared_attribute_and_reads_every_address() {
        assert_eq!(
            attributes(ScimAttribute::Emails),
            "id,active,meta.version,emails"
        );
        let body = serde_json::json!({"totalResults": 1, "Resources": [{"id": "u1",
            "externalId": "r-1", "emails": [{"value": "a@x", "type": "work", "primary": true},
            {"value": "b@x", "type": "other"}, {"value": "c@x", "primary": "True"}]}]});
        let users = read_list(&body, ScimAttribute::Emails).unwrap();
        assert_eq!(
            users[0].values,
            [
                ScimValue::address("a@x", Some("work"), true),
                ScimValue::address("b@x", Some("other"), false),
                ScimValue::address("c@x", None, true),
            ]
        );
        let users = read_list(&body, ScimAttribute::ExternalId).unwrap();
        assert_eq!(users[0].values, [ScimValue::plain("r-1")]);
    }

    #[test]
    fn a_body_past_the_cap_is_malformed() {
        let mut body = Vec::new();
        assert_eq!(append_capped(&mut body, &[b'x'; 8], 10), Ok(()));
        assert_eq!(append_capped(&mut body, b"yy", 10), Ok(()));
        assert_eq!(
            append_capped(&mut body, b"z", 10),
            Err(ScimError::Malformed)
        );
        assert_eq!(body.len(), 10);
    }

    /// A loopback server answering one request with `body` and no length, then closing.
    async fn answering(body: Vec<u8>) -> Endpoint {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nConnection: close\r\n\r\n";
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&body).await;
            let _ = socket.shutdown().await;
        });
        Endpoint {
            base: crate::net::base_url(&format!("http://127.0.0.1:{port}/v2")).unwrap(),
            token: Token::new("t"),
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_endless_answer_is_cut_off_as_malformed() {
        let mut body = br#"{"totalResults": 1, "Resources": [{"id": "u1", "x": ""#.to_vec();
        body.resize(MAX_BODY + 1024, b'a');
        body.extend_from_slice(br#""}]}"#);
        let endpoint = answering(body).await;
        let found = HttpScim::new()
            .find(&endpoint, "userName eq \"a\"", ScimAttribute::UserName)
            .await;
        assert_eq!(found, Err(ScimError::Malformed));
        let small = br#"{"totalResults": 1, "Resources": [{"id": "u1", "userName": "a"}]}"#;
        let endpoint = answering(small.to_vec()).await;
        let found = HttpScim::new()
            .find(&endpoint, "userName eq \"a\"", ScimAttribute::UserName)
            .await
            .unwrap();
        assert_eq!(found[0].values, [ScimValue::plain("a")]);
    }

    #[test]
    fn statuses_map_to_their_errors_naming_only_the_host() {
        let host = "app.example.com";
        assert_eq!(
            status_error(401, host, None, b""),
            ScimError::Unauthorized {
                host: host.into(),
                status: 401
            }
        );
        assert!(status_error(503, host, None, b"").is_transient());
        assert!(!status_error(403, host, None, b"").is_transient());
        assert_eq!(
            status_error(412, host, None, b""),
            ScimError::PreconditionFailed
        );
        let rejected = status_error(400, host, None, br#"{"scimType": "invalidFilter"}"#);
        assert_eq!(rejected.to_string(), "rejected (400 invalidFilter)");
        let echoed = status_error(400, host, None, br#"{"scimType": "leak@example.com"}"#);
        assert_eq!(echoed.to_string(), "rejected (400)");
    }

    #[test]
    fn a_me_answer_names_the_owner_and_a_server_refusing_me_means_no_telling() {
        let me = serde_json::json!({"id": "u-admin", "userName": "admin"});
        assert_eq!(read_owner(Ok(me)), Ok(Some("u-admin".into())));
        let cannot_tell = [
            ScimError::NotFound,
            ScimError::Server(501),
            ScimError::Rejected {
                status: 405,
                scim_type: None,
            },
            ScimError::Unauthorized {
                host: "chat.example.com".into(),
                status: 403,
            },
        ];
        for refusal in cannot_tell {
            assert_eq!(read_owner(Err(refusal.clone())), Ok(None), "{refusal}");
        }
        assert_eq!(
            read_owner(Ok(serde_json::json!({"userName": "no id"}))),
            Ok(None)
        );
        for error in [
            ScimError::Server(503),
            ScimError::TimedOut,
            ScimError::Malformed,
            ScimError::Unauthorized {
                host: "chat.example.com".into(),
                status: 401,
            },
        ] {
            assert_eq!(read_owner(Err(error.clone())), Err(error));
        }
    }

    #[test]
    fn a_user_read_by_id_gives_its_activity_and_version_and_another_id_is_malformed() {
        let resource = serde_json::json!({"id": "u1", "active": false,
            "meta": {"version": "W/\"4\""}});
        let user = read_resource(&resource, "u1").unwrap();
        assert_eq!(user.active, Some(false));
        assert_eq!(user.etag.as_deref(), Some("W/\"4\""));
        assert_eq!(
            read_resource(&serde_json::json!({"id": "u2"}), "u1"),
            Err(ScimError::Malformed)
        );
        assert_eq!(reactivate_body()["Operations"][0]["value"], true);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        assert_eq!(retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after("Fri, 27 Nov 2026 12:00:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn a_user_id_stays_one_path_segment() {
        let endpoint = Endpoint {
            base: Url::parse("https://app.example.com/scim/v2").unwrap(),
            token: Token::new("t"),
        };
        assert_eq!(
            endpoint.user("a/b c"),
            "https://app.example.com/scim/v2/Users/a%2Fb%20c"
        );
    }
}
