//! The HTTP client every provider call goes through (no redirects, timeouts, a user agent) and
//! bounded reading: every response Latchkey reads from a provider has a size limit.

use std::time::Duration;

use reqwest::header::HeaderMap;
use url::Url;

use crate::error::{Error, Result};

/// Discovery documents are a few KB (Cognito's ≈ 1 KB).
pub const DISCOVERY_LIMIT: usize = 64 * 1024;
/// A JWKS with a few dozen keys fits many times over.
pub const JWKS_LIMIT: usize = 256 * 1024;
/// A token response: three tokens, each at most [`crate::verify::MAX_TOKEN_BYTES`] for the
/// ID token, and some room.
pub const TOKEN_RESPONSE_LIMIT: usize = 128 * 1024;
/// A userinfo response.
pub const USERINFO_LIMIT: usize = 64 * 1024;

/// The client for provider calls: never follows a redirect (C10), bounded in time.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("latchkey/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(Error::internal)
}

/// Read a response body, refusing one larger than `limit` bytes (by its `Content-Length`
/// before reading, and while reading). `what` names the response in messages.
pub(crate) async fn read_limited(
    mut resp: reqwest::Response,
    limit: usize,
    what: &str,
) -> Result<Vec<u8>> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(Error::too_large(what, limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| Error::from_http(what, &e))? {
        if body.len() + chunk.len() > limit {
            return Err(Error::too_large(what, limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// GET a JSON document from the provider: 2xx, at most `limit` bytes, valid JSON.
pub(crate) async fn get_json(
    http: &reqwest::Client,
    url: &Url,
    what: &str,
    limit: usize,
) -> Result<(serde_json::Value, HeaderMap)> {
    let resp = http
        .get(url.clone())
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| Error::from_http(what, &e))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(Error::provider(format!(
            "the provider answered HTTP {} for {what}; check the profile's issuer/domain.",
            status.as_u16()
        )));
    }
    let headers = resp.headers().clone();
    let body = read_limited(resp, limit, what).await?;
    let json = serde_json::from_slice(&body).map_err(|_| {
        Error::provider(format!(
            "{what} is not valid JSON; check the profile's issuer/domain."
        ))
    })?;
    Ok((json, headers))
}

/// `max-age` of a `Cache-Control` header (`no-store`/`no-cache` mean 0).
pub(crate) fn cache_max_age(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::CACHE_CONTROL)?.to_str().ok()?;
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(secs) = lower.strip_prefix("max-age=") {
            max_age = secs
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    max_age
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::CACHE_CONTROL, v.parse().unwrap());
        h
    }

    #[test]
    fn cache_control_max_age_is_read() {
        assert_eq!(
            cache_max_age(&headers("public, max-age=3600")),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(cache_max_age(&headers("no-cache")), Some(Duration::ZERO));
        assert_eq!(cache_max_age(&headers("public")), None);
        assert_eq!(cache_max_age(&HeaderMap::new()), None);
    }
}
