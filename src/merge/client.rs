//! The HTTPS implementation of [`EmployeePages`]: GETs only, on the process's one client
//! (`net::client`), against a base URL checked by `net::base_url`. The key and token
//! travel only in their two headers, marked sensitive so that no debug output of the
//! request shows them; errors carry a status, never a body.

use crate::merge::pages::BoxFuture;
use crate::merge::pages::{
    Credentials, EMPLOYEES_PATH, EmployeePages, EmployeeQuery, MergeError, Page, error_of,
    parse_page,
};
use crate::net::Url;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};

/// The header that names the linked account.
pub const ACCOUNT_TOKEN_HEADER: &str = "X-Account-Token";
/// The largest page body read: a page of 100 employees without remote data is some
/// hundreds of KB. Past it the answer is no page ([`MergeError::Malformed`]), and the
/// rest is never read into the function's memory.
pub const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Merge's API in the US, the default.
pub const DEFAULT_BASE_URL: &str = "https://api.merge.dev/api";

/// Merge's API at one base URL.
#[derive(Debug, Clone)]
pub struct MergeClient {
    client: reqwest::Client,
    employees: Url,
}

impl MergeClient {
    /// The API at `base` (already checked by `net::base_url`), through `client`.
    pub fn new(client: reqwest::Client, base: &Url) -> Self {
        let employees = Url::parse(&format!(
            "{}{EMPLOYEES_PATH}",
            base.as_str().trim_end_matches('/')
        ))
        .unwrap_or_else(|_| base.clone());
        MergeClient { client, employees }
    }

    /// The URL of one page.
    pub fn page_url(&self, query: &EmployeeQuery) -> Url {
        let mut url = self.employees.clone();
        {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query.pairs() {
                pairs.append_pair(name, &value);
            }
        }
        url
    }
}

fn sensitive(value: String) -> Result<HeaderValue, MergeError> {
    let mut header = HeaderValue::try_from(value).map_err(|_| MergeError::Rejected(0))?;
    header.set_sensitive(true);
    Ok(header)
}

impl EmployeePages for MergeClient {
    fn list_page<'a>(
        &'a self,
        credentials: Credentials<'a>,
        query: &'a EmployeeQuery,
    ) -> BoxFuture<'a, Result<Page, MergeError>> {
        Box::pin(async move {
            let authorization = sensitive(format!("Bearer {}", credentials.api_key))?;
            let token = sensitive(credentials.account_token.to_owned())?;
            let mut answer = self
                .client
                .get(self.page_url(query))
                .header(AUTHORIZATION, authorization)
                .header(ACCOUNT_TOKEN_HEADER, token)
                .header(ACCEPT, "application/json")
                .send()
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        MergeError::TimedOut
                    } else {
                        MergeError::Unreachable
                    }
                })?;
            let status = answer.status().as_u16();
            if !(200..300).contains(&status) {
                let header = |name: &str| {
                    answer
                        .headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let (after, after_ms) = (header("retry-after"), header("retry-after-ms"));
                return Err(error_of(
                    status,
                    after.as_deref(),
                    after_ms.as_deref(),
                    chrono::Utc::now(),
                ));
            }
            let mut body = Vec::new();
            while let Some(chunk) = answer.chunk().await.map_err(|_| MergeError::Unreachable)? {
                if body.len() + chunk.len() > MAX_PAGE_BYTES {
                    return Err(MergeError::Malformed);
                }
                body.extend_from_slice(&chunk);
            }
            parse_page(&body)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn a_page_url_encodes_the_query_as_merges_sdk_does() {
        let base = crate::net::base_url("https://api.merge.dev/api/").unwrap();
        let client = MergeClient::new(crate::net::client().unwrap(), &base);
        let url = client.page_url(&EmployeeQuery {
            cursor: None,
            modified_after: Some(Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap()),
        });
        assert_eq!(
            url.as_str(),
            "https://api.merge.dev/api/hris/v1/employees?include_deleted_data=true&modified_after=2024-01-02T03%3A04%3A05Z&page_size=100"
        );
    }
}
