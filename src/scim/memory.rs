//! The in-memory twin of SCIM 2.0 endpoints, for unit and property tests and the replay
//! example: users per base URL, the filters deprovisioning sends (`userName eq`,
//! case-insensitive; `emails[value eq]`; `emails.value eq`; `externalId eq`), ETags and
//! `412` on a stale `If-Match`, `404` after a delete, the bearer token checked (`401`),
//! and scripted failures (`429` with `Retry-After`, `5xx`, `401`) and slowness. A
//! directory can also ignore filters and answer its first users, as a careless server
//! does. Addresses keep their `type` and `primary`. `GET /Me` answers `404` (no telling)
//! unless a directory is told who owns its token (or how `/Me` fails); its calls are
//! counted apart, so scripts and call lists stay those of the user calls. An undo's
//! read by id and re-activation (`PATCH active: true`, `412` on a stale version) too.

use crate::domain::deprovision::{FoundUser, ScimAttribute, ScimValue};
use crate::scim::client::{BoxFuture, Endpoint, Scim, ScimError};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One user of a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUser {
    /// The server's id.
    pub id: String,
    /// `userName`.
    pub user_name: String,
    /// `emails`, with `type` and `primary`.
    pub emails: Vec<ScimValue>,
    /// `externalId`.
    pub external_id: Option<String>,
    /// `active`.
    pub active: bool,
    /// Bumped by every change: the ETag.
    pub version: u64,
}

/// A change the twin made, in order: what tests count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `active` went from true to false.
    Deactivated(String),
    /// A PATCH that left the user inactive as it was.
    Repeated(String),
    /// The user was deleted.
    Deleted(String),
    /// `active` went from false to true (an undo).
    Reactivated(String),
}

#[derive(Default)]
struct Directory {
    token: String,
    users: BTreeMap<String, ScimUser>,
    next: u64,
    script: VecDeque<Option<ScimError>>,
    slow: Option<Duration>,
    ignore_filters: bool,
    calls: Vec<String>,
    changes: Vec<Change>,
    me: Me,
    me_calls: usize,
}

/// How a directory answers `GET /Me`.
#[derive(Debug, Clone, Default)]
enum Me {
    /// `404`: the server cannot tell.
    #[default]
    Unsupported,
    /// The user that owns the token.
    Owner(String),
    /// A failure.
    Fails(ScimError),
}

/// SCIM endpoints in memory, one directory per base URL.
#[derive(Clone, Default)]
pub struct MemoryScim {
    directories: Arc<Mutex<BTreeMap<String, Directory>>>,
}

impl MemoryScim {
    /// No endpoints yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, base: &str, f: impl FnOnce(&mut Directory) -> T) -> T {
        let mut directories = self
            .directories
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(directories
            .entry(base.trim_end_matches('/').to_owned())
            .or_default())
    }

    /// An endpoint at `base` that takes `token`.
    pub fn serve(&self, base: &str, token: &str) {
        self.with(base, |d| d.token = token.to_owned());
    }

    /// Adds a user whose addresses have neither `type` nor `primary`; returns its id.
    pub fn add(
        &self,
        base: &str,
        user_name: &str,
        emails: &[&str],
        external_id: Option<&str>,
        active: bool,
    ) -> String {
        let emails: Vec<ScimValue> = emails.iter().map(|e| ScimValue::plain(*e)).collect();
        self.add_with_emails(base, user_name, &emails, external_id, active)
    }

    /// Adds a user with these addresses (`type`, `primary`); returns its id.
    pub fn add_with_emails(
        &self,
        base: &str,
        user_name: &str,
        emails: &[ScimValue],
        external_id: Option<&str>,
        active: bool,
    ) -> String {
        self.with(base, |d| {
            d.next += 1;
            let id = format!("user-{:04}", d.next);
            d.users.insert(
                id.clone(),
                ScimUser {
                    id: id.clone(),
                    user_name: user_name.to_owned(),
                    emails: emails.to_vec(),
                    external_id: external_id.map(str::to_owned),
                    active,
                    version: 1,
                },
            );
            id
        })
    }

    /// The user `id`, if not deleted.
    pub fn user(&self, base: &str, id: &str) -> Option<ScimUser> {
        self.with(base, |d| d.users.get(id).cloned())
    }

    /// Every user.
    pub fn users(&self, base: &str) -> Vec<ScimUser> {
        self.with(base, |d| d.users.values().cloned().collect())
    }

    /// Sets user `id`'s `active` as someone else would (an administrator, another
    /// tool), bumping its version; not one of the twin's changes.
    pub fn set_active(&self, base: &str, id: &str, active: bool) {
        self.with(base, |d| {
            if let Some(u) = d.users.get_mut(id) {
                u.active = active;
                u.version += 1;
            }
        });
    }

    /// Changes a user as someone else would (bumps its version).
    pub fn touch(&self, base: &str, id: &str) {
        self.with(base, |d| {
            if let Some(u) = d.users.get_mut(id) {
                u.version += 1;
            }
        });
    }

    /// Gives user `id` another `userName` and no addresses, as an administrator renaming
    /// an account does (bumps its version).
    pub fn rename(&self, base: &str, id: &str, user_name: &str) {
        self.with(base, |d| {
            if let Some(u) = d.users.get_mut(id) {
                u.user_name = user_name.to_owned();
                u.emails.clear();
                u.version += 1;
            }
        });
    }

    /// The next calls answer these errors (`None`: answered normally), in order.
    pub fn script(&self, base: &str, outcomes: impl IntoIterator<Item = Option<ScimError>>) {
        self.with(base, |d| d.script.extend(outcomes));
    }

    /// The next calls fail with these errors.
    pub fn fail_next(&self, base: &str, errors: impl IntoIterator<Item = ScimError>) {
        self.script(base, errors.into_iter().map(Some));
    }

    /// Every call waits `delay` first.
    pub fn slow(&self, base: &str, delay: Duration) {
        self.with(base, |d| d.slow = Some(delay));
    }

    /// Searches ignore their filter from now on: every user is a match (the first two
    /// are sent, with the total), as a server that does not support filtering answers.
    pub fn ignore_filters(&self, base: &str) {
        self.with(base, |d| d.ignore_filters = true);
    }

    /// `GET /Me` answers with the user `id`: it owns the token.
    pub fn own_token(&self, base: &str, id: &str) {
        self.with(base, |d| d.me = Me::Owner(id.to_owned()));
    }

    /// `GET /Me` fails with `error` from now on.
    pub fn fail_me(&self, base: &str, error: ScimError) {
        self.with(base, |d| d.me = Me::Fails(error));
    }

    /// How many `GET /Me` calls were made.
    pub fn me_calls(&self, base: &str) -> usize {
        self.with(base, |d| d.me_calls)
    }

    /// Searches apply their filter again (undoes [`MemoryScim::ignore_filters`]).
    pub fn apply_filters(&self, base: &str) {
        self.with(base, |d| d.ignore_filters = false);
    }

    /// The calls made, as `GET`, `PATCH` or `DELETE`.
    pub fn calls(&self, base: &str) -> Vec<String> {
        self.with(base, |d| d.calls.clone())
    }

    /// The changes made, in order.
    pub fn changes(&self, base: &str) -> Vec<Change> {
        self.with(base, |d| d.changes.clone())
    }

    async fn call<T>(
        &self,
        endpoint: &Endpoint,
        method: &str,
        act: impl FnOnce(&mut Directory) -> Result<T, ScimError>,
    ) -> Result<T, ScimError> {
        let base = endpoint.base.as_str().to_owned();
        let delay = self.with(&base, |d| d.slow);
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        self.with(&base, |d| {
            d.calls.push(method.to_owned());
            if let Some(Some(error)) = d.script.pop_front() {
                return Err(error);
            }
            if d.token.is_empty() || endpoint.token.expose() != d.token {
                return Err(ScimError::Unauthorized {
                    host: endpoint.host(),
                    status: 401,
                });
            }
            act(d)
        })
    }
}

/// A filter the twin understands: which attribute, and the value.
enum Filter {
    UserName(String),
    Email(String),
    ExternalId(String),
}

/// Reads `attr eq "<JSON string>"` (or `emails[value eq "..."]`) and nothing else: a
/// value that was not escaped leaves text after the string, and is refused as
/// `invalidFilter`, as a real server would refuse (or misread) it.
fn parse_filter(filter: &str) -> Result<Filter, ScimError> {
    let invalid = || ScimError::Rejected {
        status: 400,
        scim_type: Some("invalidFilter".into()),
    };
    let (kind, rest, close) = if let Some(rest) = filter.strip_prefix("userName eq ") {
        (0, rest, "")
    } else if let Some(rest) = filter.strip_prefix("emails[value eq ") {
        (1, rest, "]")
    } else if let Some(rest) = filter.strip_prefix("emails.value eq ") {
        (1, rest, "")
    } else if let Some(rest) = filter.strip_prefix("externalId eq ") {
        (2, rest, "")
    } else {
        return Err(invalid());
    };
    let mut values = serde_json::Deserializer::from_str(rest).into_iter::<String>();
    let value = values.next().and_then(Result::ok).ok_or_else(invalid)?;
    if rest[values.byte_offset()..].trim() != close {
        return Err(invalid());
    }
    Ok(match kind {
        0 => Filter::UserName(value),
        1 => Filter::Email(value),
        _ => Filter::ExternalId(value),
    })
}

fn matches(user: &ScimUser, filter: &Filter) -> bool {
    match filter {
        Filter::UserName(v) => user.user_name.eq_ignore_ascii_case(v),
        Filter::Email(v) => user.emails.iter().any(|e| e.value.eq_ignore_ascii_case(v)),
        Filter::ExternalId(v) => user.external_id.as_deref() == Some(v.as_str()),
    }
}

fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

impl Scim for MemoryScim {
    fn find<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        filter: &'a str,
        attribute: ScimAttribute,
    ) -> BoxFuture<'a, Result<Vec<FoundUser>, ScimError>> {
        Box::pin(self.call(endpoint, "GET", move |d| {
            let filter = parse_filter(filter)?;
            let hits: Vec<&ScimUser> = d
                .users
                .values()
                .filter(|u| d.ignore_filters || matches(u, &filter))
                .collect();
            // Two at most, as the real client asks with `count=2`; more reads as an
            // id-less stand-in, as `read_list` gives a total above what was sent.
            let mut found: Vec<FoundUser> = hits
                .iter()
                .take(2)
                .map(|u| FoundUser {
                    id: u.id.clone(),
                    active: Some(u.active),
                    etag: Some(etag(u.version)),
                    values: match attribute {
                        ScimAttribute::Emails | ScimAttribute::EmailsAny => u.emails.clone(),
                        ScimAttribute::UserName => vec![ScimValue::plain(&u.user_name)],
                        ScimAttribute::ExternalId => {
                            u.external_id.iter().map(ScimValue::plain).collect()
                        }
                    },
                })
                .collect();
            if hits.len() > found.len() {
                found.push(FoundUser {
                    id: String::new(),
                    active: None,
                    etag: None,
                    values: Vec::new(),
                });
            }
            Ok(found)
        }))
    }

    fn deactivate<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        found: &'a FoundUser,
    ) -> BoxFuture<'a, Result<(), ScimError>> {
        Box::pin(self.call(endpoint, "PATCH", move |d| {
            let user = d.users.get_mut(&found.id).ok_or(ScimError::NotFound)?;
            if found
                .etag
                .as_ref()
                .is_some_and(|e| *e != etag(user.version))
            {
                return Err(ScimError::PreconditionFailed);
            }
            let change = if user.active {
                Change::Deactivated(user.id.clone())
            } else {
                Change::Repeated(user.id.clone())
            };
            user.active = false;
            user.version += 1;
            d.changes.push(change);
            Ok(())
        }))
    }

    fn delete<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        id: &'a str,
    ) -> BoxFuture<'a, Result<(), ScimError>> {
        Box::pin(self.call(endpoint, "DELETE", move |d| {
            d.users.remove(id).ok_or(ScimError::NotFound)?;
            d.changes.push(Change::Deleted(id.to_owned()));
            Ok(())
        }))
    }

    fn read_user<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        id: &'a str,
    ) -> BoxFuture<'a, Result<FoundUser, ScimError>> {
        Box::pin(self.call(endpoint, "GET", move |d| {
            let user = d.users.get(id).ok_or(ScimError::NotFound)?;
            Ok(FoundUser {
                id: user.id.clone(),
                active: Some(user.active),
                etag: Some(etag(user.version)),
                values: Vec::new(),
            })
        }))
    }

    fn reactivate<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        found: &'a FoundUser,
    ) -> BoxFuture<'a, Result<(), ScimError>> {
        Box::pin(self.call(endpoint, "PATCH", move |d| {
            let user = d.users.get_mut(&found.id).ok_or(ScimError::NotFound)?;
            if found
                .etag
                .as_ref()
                .is_some_and(|e| *e != etag(user.version))
            {
                return Err(ScimError::PreconditionFailed);
            }
            if !user.active {
                d.changes.push(Change::Reactivated(user.id.clone()));
            }
            user.active = true;
            user.version += 1;
            Ok(())
        }))
    }

    fn owner<'a>(
        &'a self,
        endpoint: &'a Endpoint,
    ) -> BoxFuture<'a, Result<Option<String>, ScimError>> {
        Box::pin(async move {
            let answer = self.with(endpoint.base.as_str(), |d| {
                d.me_calls += 1;
                if d.token.is_empty() || endpoint.token.expose() != d.token {
                    return Err(ScimError::Unauthorized {
                        host: endpoint.host(),
                        status: 401,
                    });
                }
                match &d.me {
                    Me::Unsupported => Err(ScimError::NotFound),
                    Me::Fails(error) => Err(error.clone()),
                    Me::Owner(id) => Ok(serde_json::json!({"id": id})),
                }
            });
            crate::scim::client::read_owner(answer)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::deprovision::{Token, filter_for};

    const BASE: &str = "https://chat.example.com/scim/v2";

    fn endpoint(token: &str) -> Endpoint {
        Endpoint {
            base: url::Url::parse(BASE).unwrap(),
            token: Token::new(token),
        }
    }

    fn run<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn the_twin_finds_by_each_filter_and_an_escaped_quote_matches_only_its_user() {
        let scim = MemoryScim::new();
        scim.serve(BASE, "t");
        let tricky = r#"x" or "1"="1@example.com"#;
        let id = scim.add(BASE, tricky, &[tricky], Some("r-1"), true);
        scim.add(BASE, "x", &["x@example.com"], None, true);
        let find =
            |filter: String| run(scim.find(&endpoint("t"), &filter, ScimAttribute::UserName));
        for attribute in [ScimAttribute::UserName, ScimAttribute::Emails] {
            let found = find(filter_for(attribute, tricky)).unwrap();
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].id, id);
        }
        assert_eq!(
            find(filter_for(ScimAttribute::UserName, "X"))
                .unwrap()
                .len(),
            1,
            "userName is case-insensitive"
        );
        assert_eq!(
            find(filter_for(ScimAttribute::ExternalId, "r-1")).unwrap()[0].id,
            id
        );
        let unescaped = format!("userName eq \"{tricky}\"");
        assert!(matches!(
            find(unescaped),
            Err(ScimError::Rejected { status: 400, .. })
        ));
    }

    #[test]
    fn a_stale_version_is_refused_and_a_deleted_user_is_gone() {
        let scim = MemoryScim::new();
        scim.serve(BASE, "t");
        let id = scim.add(BASE, "a", &[], None, true);
        let found =
            run(scim.find(&endpoint("t"), "userName eq \"a\"", ScimAttribute::UserName)).unwrap();
        scim.touch(BASE, &id);
        assert_eq!(
            run(scim.deactivate(&endpoint("t"), &found[0])),
            Err(ScimError::PreconditionFailed)
        );
        run(scim.delete(&endpoint("t"), &id)).unwrap();
        assert_eq!(
            run(scim.delete(&endpoint("t"), &id)),
            Err(ScimError::NotFound)
        );
        assert_eq!(scim.changes(BASE), [Change::Deleted(id)]);
    }

    #[test]
    fn a_user_read_by_id_is_reactivated_at_its_version_and_a_stale_one_is_refused() {
        let scim = MemoryScim::new();
        scim.serve(BASE, "t");
        let id = scim.add(BASE, "a", &[], None, false);
        let read = run(scim.read_user(&endpoint("t"), &id)).unwrap();
        assert_eq!(read.active, Some(false));
        scim.touch(BASE, &id);
        assert_eq!(
            run(scim.reactivate(&endpoint("t"), &read)),
            Err(ScimError::PreconditionFailed)
        );
        let again = run(scim.read_user(&endpoint("t"), &id)).unwrap();
        run(scim.reactivate(&endpoint("t"), &again)).unwrap();
        assert!(scim.user(BASE, &id).unwrap().active);
        assert_eq!(scim.changes(BASE), [Change::Reactivated(id)]);
        assert_eq!(
            run(scim.read_user(&endpoint("t"), "user-9999")),
            Err(ScimError::NotFound)
        );
    }

    #[test]
    fn a_wrong_token_is_refused_naming_the_host() {
        let scim = MemoryScim::new();
        scim.serve(BASE, "t");
        assert_eq!(
            run(scim.find(
                &endpoint("wrong"),
                "userName eq \"a\"",
                ScimAttribute::UserName
            )),
            Err(ScimError::Unauthorized {
                host: "chat.example.com".into(),
                status: 401
            })
        );
    }
}
