//! Calls to protected APIs: the request and response types, the target rules (https or a
//! loopback API; an origin in the profile's `api_base_urls` unless allowed for one call) and
//! one send with a credential (a token, or a SigV4 signature made with AWS credentials).
//! Knows nothing of sessions: `Session::call` drives it.

use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use url::Url;

use crate::aws::{sign_request, AwsCredentials, SigningScope};
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
    /// `None`: the profile's `api_scheme`. [`Scheme::Sigv4`] signs the request with the
    /// profile's AWS credentials instead of sending a token.
    pub scheme: Option<Scheme>,
    /// With SigV4: the service's signing name (`None`: `execute-api`, API Gateway).
    pub aws_service: Option<String>,
    /// With SigV4: the region to sign for (`None`: the identity pool's).
    pub aws_region: Option<String>,
    /// Send the token even though the URL's origin is not in `api_base_urls` (still only over
    /// https, or to a loopback API).
    pub allow_any_origin: bool,
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
            aws_service: None,
            aws_region: None,
            allow_any_origin: false,
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
    /// True when the call was retried once with renewed credentials (the first answer was 401
    /// for a token, or a 403 refusing the AWS credentials as expired or unknown).
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

/// The HTTP method of a request, or a configuration error naming it.
pub(crate) fn method(req: &ApiRequest) -> Result<reqwest::Method> {
    reqwest::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| Error::config(format!("`{}` is not an HTTP method.", req.method)))
}

/// What authorizes one request.
pub(crate) enum Credential<'a> {
    /// A token in `Authorization`, raw or as `Bearer`.
    Token(&'a SecretToken, Scheme),
    /// A SigV4 signature for `scope`, made at the given time.
    Signed(&'a AwsCredentials, &'a SigningScope, SystemTime),
}

/// Headers a request carries on top of the caller's: the caller's own `Authorization` (and,
/// when signing, the SigV4 headers) are replaced.
const REPLACED_HEADERS: [&str; 4] = [
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

/// Send `req` once with `credential`.
pub(crate) async fn send(
    http: &reqwest::Client,
    req: &ApiRequest,
    method: &reqwest::Method,
    credential: Credential<'_>,
) -> Result<ApiResponse> {
    let headers: Vec<(String, String)> = req
        .headers
        .iter()
        .filter(|(k, _)| !REPLACED_HEADERS.iter().any(|r| k.eq_ignore_ascii_case(r)))
        .cloned()
        .collect();
    let body = req.body.as_deref().unwrap_or_default();
    let auth: Vec<(String, String)> = match credential {
        Credential::Token(token, Scheme::Bearer) => {
            vec![("authorization".into(), format!("Bearer {}", token.expose()))]
        }
        Credential::Token(token, Scheme::Raw) => {
            vec![("authorization".into(), token.expose().to_owned())]
        }
        Credential::Token(_, Scheme::Sigv4) => {
            return Err(Error::internal(
                "a token was to be sent with the SigV4 scheme",
            ))
        }
        Credential::Signed(creds, scope, at) => {
            sign_request(creds, scope, method.as_str(), &req.url, &headers, body, at)?
        }
    };
    let mut rb = http.request(method.clone(), req.url.clone());
    for (k, v) in headers.iter().chain(&auth) {
        rb = rb.header(k, v);
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
