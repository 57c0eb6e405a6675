//! Calls to protected APIs: the request and response types, the target rules (https or a
//! loopback API; an origin in the profile's `api_base_urls` unless allowed for one call) and
//! one send with a credential. Knows nothing of sessions: `Session::call` drives it.

use std::time::{Duration, Instant};

use serde::Serialize;
use url::Url;

use crate::config::{Scheme, TokenChoice};
use crate::error::{Error, ErrorKind, Result};
use crate::secret::SecretToken;

/// One API call.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: String,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// `None`: the profile's `api_token` (ID token by default).
    pub token: Option<TokenChoice>,
    /// `None`: the profile's `api_scheme`.
    pub scheme: Option<Scheme>,
    /// Send the token even though the URL's origin is not in `api_base_urls` (still only over
    /// https, or to a loopback API).
    pub allow_any_origin: bool,
    /// `None`: the profile's `api_token_header` (`Authorization` by default).
    pub token_header: Option<String>,
    /// `None`: the profile's `http_timeout`.
    pub timeout: Option<Duration>,
}

impl ApiRequest {
    pub fn get(url: Url) -> Self {
        Self {
            method: "GET".into(),
            url,
            headers: vec![],
            body: None,
            token: None,
            scheme: None,
            allow_any_origin: false,
            token_header: None,
            timeout: None,
        }
    }
}

/// The answer.
#[derive(Debug, Clone, Serialize)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    #[serde(serialize_with = "ser_body")]
    pub body: Vec<u8>,
    pub elapsed: Duration,
    /// True when the call was retried once after a refresh (first answer was 401).
    pub retried_after_refresh: bool,
}

fn ser_body<S: serde::Serializer>(b: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(b))
}

impl ApiResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

/// May a token be sent to `req.url`? https (or a loopback API), and an allowed origin.
pub(crate) fn check_target(req: &ApiRequest, bases: &[Url]) -> Result<()> {
    let origin = req.url.origin().ascii_serialization();
    match req.url.scheme() {
        "https" => {}
        "http" if is_loopback(&req.url) => {}
        "http" => {
            return Err(Error::new(
                ErrorKind::OriginNotAllowed,
                format!("refusing to send a token to {origin} over plain http: tokens go only over https (or to a loopback API). Use the https URL."),
            ))
        }
        _ => {
            return Err(Error::new(
                ErrorKind::OriginNotAllowed,
                "only http(s) URLs can be called.",
            ))
        }
    }
    if !req.allow_any_origin && !bases.iter().any(|b| b.origin() == req.url.origin()) {
        return Err(Error::new(
            ErrorKind::OriginNotAllowed,
            format!("refusing to send a token to {origin}: it is not in this profile's `api_base_urls`. Add it there, or allow it for this call (`--allow-origin`) if you trust it."),
        ));
    }
    Ok(())
}

/// Is `name` an HTTP header name (RFC 9110 `token`) the token may travel in?
pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The token header of a request, or a configuration error naming it.
pub(crate) fn check_header_name(name: &str) -> Result<()> {
    match is_header_name(name) {
        true => Ok(()),
        false => Err(Error::config(format!(
            "`{}` is not an HTTP header name; use e.g. `Authorization` or `X-Api-Token`.",
            name.escape_debug()
        ))),
    }
}

/// The HTTP method of a request, or a configuration error naming it.
pub(crate) fn method(req: &ApiRequest) -> Result<reqwest::Method> {
    reqwest::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| Error::config(format!("`{}` is not an HTTP method.", req.method)))
}

/// How the token goes into a request: which header, which scheme.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Credential<'a> {
    pub token: &'a SecretToken,
    pub scheme: Scheme,
    /// `Authorization`, or an API Gateway "Token Source" such as `X-Api-Token`.
    pub header: &'a str,
}

/// Send `req` once with the token in its header (the request's own header of that name, if
/// any, is dropped).
pub(crate) async fn send(
    http: &reqwest::Client,
    req: &ApiRequest,
    method: &reqwest::Method,
    credential: Credential<'_>,
) -> Result<ApiResponse> {
    let auth = match credential.scheme {
        Scheme::Bearer => format!("Bearer {}", credential.token.expose()),
        Scheme::Raw => credential.token.expose().to_owned(),
    };
    let mut rb = http.request(method.clone(), req.url.clone());
    for (k, v) in req
        .headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case(credential.header))
    {
        rb = rb.header(k, v);
    }
    rb = rb.header(credential.header, auth);
    if let Some(timeout) = req.timeout {
        rb = rb.timeout(timeout);
    }
    if let Some(b) = &req.body {
        rb = rb.body(b.clone());
    }
    let started = Instant::now();
    let resp = rb.send().await.map_err(|e| unreachable(req, &e))?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = resp
        .bytes()
        .await
        .map_err(|e| Error::from_http("the API response", &e))?
        .to_vec();
    Ok(ApiResponse {
        status,
        headers,
        body,
        elapsed: started.elapsed(),
        retried_after_refresh: false,
    })
}

fn unreachable(req: &ApiRequest, e: &reqwest::Error) -> Error {
    if !(e.is_connect() || e.is_timeout()) {
        return Error::from_http("the API call", e);
    }
    Error::new(
        ErrorKind::ProviderUnreachable,
        format!(
            "could not reach {} ({}). Check the URL and the network.",
            req.url.origin().ascii_serialization(),
            if e.is_timeout() {
                "timed out"
            } else {
                "connection failed"
            }
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_any_origin_still_requires_https_or_loopback() {
        let mut req = ApiRequest::get(Url::parse("http://api.example.com/me").unwrap());
        req.allow_any_origin = true;
        assert_eq!(
            check_target(&req, &[]).unwrap_err().kind(),
            ErrorKind::OriginNotAllowed
        );
        req.url = Url::parse("https://api.example.com/me").unwrap();
        assert!(check_target(&req, &[]).is_ok());
        req.url = Url::parse("http://127.0.0.1:9/me").unwrap();
        assert!(check_target(&req, &[]).is_ok());
        req.allow_any_origin = false;
        assert!(check_target(&req, &[]).is_err());
    }
}
