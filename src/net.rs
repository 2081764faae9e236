//! The one HTTPS client for calls outside AWS (Merge's API, SCIM endpoints), and the rule
//! for which base URLs it may be pointed at.
//!
//! TLS is rustls with ring and the system's root certificates, the stack the AWS SDK
//! already brings. Redirects are never followed: a redirect would carry a bearer token to
//! a host nobody configured. Each call's time bound comes from the invocation's budget,
//! not from the client.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

pub use reqwest::Url;

/// Why the HTTPS client could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// No root certificate could be loaded from the system.
    #[error("no root certificate could be loaded from the system")]
    NoRoots,
    /// The TLS configuration or the client could not be built.
    #[error("the HTTPS client could not be built ({0})")]
    Build(String),
}

/// The process's HTTPS client, built once: loading the system's roots takes milliseconds
/// that a warm invocation should not pay again. Clones share one connection pool.
pub fn client() -> Result<reqwest::Client, ClientError> {
    static CLIENT: OnceLock<Result<reqwest::Client, ClientError>> = OnceLock::new();
    CLIENT.get_or_init(build).clone()
}

fn build() -> Result<reqwest::Client, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    let loaded = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
    if added == 0 {
        return Err(ClientError::NoRoots);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Build(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("merge-deprovision/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ClientError::Build(e.to_string()))
}

/// Why a base URL is refused. Names the rule broken, never the URL, which may carry
/// credentials in its user-info part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BaseUrlError {
    /// Not a URL at all.
    #[error("is not a URL")]
    NotUrl,
    /// Neither `https://`, nor `http://` to a loopback host.
    #[error("must be https:// (http:// only for a loopback host)")]
    NotHttps,
    /// User name or password in the URL: credentials belong in the secret.
    #[error("must not carry a user name or password")]
    Credentials,
    /// A query string or fragment, which every call would then inherit.
    #[error("must not carry a query or fragment")]
    Query,
}

/// Checks a base URL: `https://`, or `http://` only for a loopback host (a local fake or
/// emulator), with no credentials, query or fragment. The returned URL ends without a
/// trailing slash, so callers append `/path`.
pub fn base_url(text: &str) -> Result<Url, BaseUrlError> {
    let url = Url::parse(text.trim()).map_err(|_| BaseUrlError::NotUrl)?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        _ => return Err(BaseUrlError::NotHttps),
    }
    if url.host().is_none() {
        return Err(BaseUrlError::NotUrl);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(BaseUrlError::Credentials);
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(BaseUrlError::Query);
    }
    let trimmed = url.as_str().trim_end_matches('/').to_owned();
    Url::parse(&trimmed).map_err(|_| BaseUrlError::NotUrl)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_https_url_is_accepted_without_its_trailing_slash() {
        let url = base_url("https://api.merge.dev/api/").unwrap();
        assert_eq!(url.as_str(), "https://api.merge.dev/api");
    }

    #[test]
    fn plain_http_is_accepted_only_for_loopback_hosts() {
        assert!(base_url("http://127.0.0.1:8765/v2").is_ok());
        assert!(base_url("http://[::1]:8765/v2").is_ok());
        assert!(base_url("http://localhost:8765/v2").is_ok());
        assert_eq!(
            base_url("http://api.merge.dev/api"),
            Err(BaseUrlError::NotHttps)
        );
        assert_eq!(base_url("http://10.0.0.1/api"), Err(BaseUrlError::NotHttps));
        assert_eq!(base_url("ftp://127.0.0.1/api"), Err(BaseUrlError::NotHttps));
    }

    #[test]
    fn credentials_queries_and_non_urls_are_refused() {
        assert_eq!(
            base_url("https://u:p@app.example.com/scim"),
            Err(BaseUrlError::Credentials)
        );
        assert_eq!(
            base_url("https://app.example.com/scim?x=1"),
            Err(BaseUrlError::Query)
        );
        assert_eq!(base_url("not a url"), Err(BaseUrlError::NotUrl));
    }

    #[test]
    fn the_client_builds_once_with_the_system_roots() {
        // Every Linux image the function runs on, and every CI image, carries roots.
        assert!(client().is_ok());
    }
}
