//! Calls to protected APIs: the request and response types, the target rules (https or a
//! loopback API; an origin in the profile's `api_base_urls` unless allowed for one call) and
//! one send with a credential (a token, or a SigV4 signature made with AWS credentials), its
//! answer read up to the profile's size limit. Knows nothing of sessions: `Session::call`
//! drives it. [`HeldSecrets`] takes a session's credentials out of what is kept of a call.

use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use url::Url;

use crate::aws::{sign_request, AwsCredentials, SigningScope};
use crate::config::{is_header_name, Scheme, TokenChoice, RESPONSE_LIMIT_RANGE_MIB};
use crate::error::{Error, ErrorKind, Result};
use crate::secret::SecretToken;

/// One API call.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// The HTTP method, in any case (`GET`, `post`, …); one that is not a method is a
    /// configuration error.
    pub method: String,
    /// Where to send it: https, or http to a loopback API, with an origin in the profile's
    /// `api_base_urls` unless `allow_any_origin` is set.
    pub url: Url,
    /// Headers to send as given, except `Authorization`, the SigV4 `x-amz-…` headers and the
    /// token's header, which Latchkey sets itself.
    pub headers: Vec<(String, String)>,
    /// The bytes to send as the body, as is (no `content-type` is added); `None`: no body.
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
    /// `None`: the profile's `api_token_header` (`Authorization` by default).
    pub token_header: Option<String>,
    /// `None`: the profile's `http_timeout`.
    pub timeout: Option<Duration>,
}

impl ApiRequest {
    /// A `GET` of `url` without a body or extra headers, sent the profile's way (its token,
    /// scheme, header and timeout).
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
            token_header: None,
            timeout: None,
        }
    }
}

const MIB: usize = 1024 * 1024;

/// The answer.
#[derive(Debug, Clone, Serialize)]
pub struct ApiResponse {
    /// The HTTP status code the API answered (of the retried call, when `retried_after_refresh`).
    pub status: u16,
    /// The response headers in the order received, names lowercase, a repeated header once per
    /// value; a value that is not UTF-8 has its bad bytes replaced.
    pub headers: Vec<(String, String)>,
    /// The body as received: all of it, or its first `limit_mib` MiB when `truncated`.
    #[serde(serialize_with = "ser_body")]
    pub body: Vec<u8>,
    /// From sending the request to the end of reading the body (of the last attempt); in JSON
    /// `{"secs": …, "nanos": …}`.
    pub elapsed: Duration,
    /// True when the call was retried once with renewed credentials (the first answer was 401
    /// for a token, or a 403 refusing the AWS credentials as expired or unknown).
    pub retried_after_refresh: bool,
    /// The API sent more than `limit_mib` MiB: the rest was not read.
    pub truncated: bool,
    /// The size limit the body was read under (the profile's `api_response_limit_mib`).
    pub limit_mib: u32,
}

fn ser_body<S: serde::Serializer>(b: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(b))
}

impl ApiResponse {
    /// The body as text, bytes that are not UTF-8 replaced by U+FFFD.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// What to tell the user when the body was cut short (`None` when it was not).
    pub fn truncation_note(&self) -> Option<String> {
        self.truncated.then(|| {
            format!(
                "the response was truncated at {} MiB: only its first {} bytes were read. To read more, raise the profile's `api_response_limit_mib` (at most {}).",
                self.limit_mib,
                self.body.len(),
                RESPONSE_LIMIT_RANGE_MIB.end()
            )
        })
    }
}

/// The credentials a session holds at one moment (its ID, access and refresh tokens, the AWS
/// secret key and session token), to take out of anything kept of a call, such as the app's
/// console history. The values are compared, never shown: `Debug` prints how many there are.
#[derive(Clone, Default)]
pub struct HeldSecrets(Vec<String>);

/// Shorter values are not credentials worth a search (and would replace ordinary words).
const HELD_SECRET_MIN_LEN: usize = 8;

impl HeldSecrets {
    /// The values to take out; each is also searched for as it is written in a URL's query
    /// (`+`, `/` and `=` percent-encoded, as in an AWS session token).
    pub fn new(values: impl IntoIterator<Item = String>) -> HeldSecrets {
        let mut all: Vec<String> = values
            .into_iter()
            .filter(|v| v.len() >= HELD_SECRET_MIN_LEN)
            .flat_map(|v| {
                let in_query: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
                [v, in_query]
            })
            .collect();
        // The longest first, so a value that contains another is replaced whole.
        all.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        all.dedup();
        HeldSecrets(all)
    }

    /// `text` with every held value replaced by `marker`.
    pub fn redact(&self, text: &str, marker: &str) -> String {
        self.0.iter().fold(text.to_owned(), |text, value| {
            text.replace(value.as_str(), marker)
        })
    }
}

impl std::fmt::Debug for HeldSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HeldSecrets([{} values redacted])", self.0.len())
    }
}

/// Why a URL as typed in the console or on `latchkey call` names no URL to call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiUrlError {
    /// A path (`/demo-api/me`), and the profile has no `api_base_urls` entry to resolve it
    /// against: give a full URL, or add the API's base URL to the profile.
    #[error("`{typed}` is a path, and this profile has no API base URL (`api_base_urls`) to resolve it against")]
    NoApiBaseUrl {
        /// What was typed.
        typed: String,
    },
    /// Neither a URL nor a path that joins onto the first API base URL.
    #[error("`{typed}` is not a URL ({reason})")]
    Invalid {
        /// What was typed.
        typed: String,
        /// What the URL parser objected to.
        reason: url::ParseError,
    },
}

/// The URL to call for `typed`: an absolute URL as is, or a path (a URL reference such as
/// `/demo-api/me` or `orders?page=2`) resolved against the profile's first API base URL, the
/// one rule of the app's console and `latchkey call`.
pub fn resolve_api_url(
    api_base_urls: &[Url],
    typed: &str,
) -> std::result::Result<Url, ApiUrlError> {
    let typed = typed.trim();
    let invalid = |reason| ApiUrlError::Invalid {
        typed: typed.to_owned(),
        reason,
    };
    match Url::parse(typed) {
        Ok(url) => Ok(url),
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            let base = api_base_urls
                .first()
                .ok_or_else(|| ApiUrlError::NoApiBaseUrl {
                    typed: typed.to_owned(),
                })?;
            base.join(typed).map_err(invalid)
        }
        Err(reason) => Err(invalid(reason)),
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
            format!("refusing to send a token to {origin}: it is not in this profile's `api_base_urls`. Add it there, or allow it for this call (CLI: `--allow-any-origin`) if you trust it."),
        ));
    }
    Ok(())
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

/// What authorizes one request.
pub(crate) enum Credential<'a> {
    /// A token, raw or as `Bearer`, in a header: `Authorization`, or an API Gateway "Token
    /// Source" such as `X-Api-Token`.
    Token(&'a SecretToken, Scheme, &'a str),
    /// A SigV4 signature for `scope`, made at the given time.
    Signed(&'a AwsCredentials, &'a SigningScope, SystemTime),
}

/// Headers a request carries on top of the caller's: the caller's own `Authorization` (and,
/// when signing, the SigV4 headers) are replaced, as is the token's header when it is another.
const REPLACED_HEADERS: [&str; 4] = [
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

/// Send `req` once with `credential`; read at most `limit_mib` MiB of the answer.
pub(crate) async fn send(
    http: &reqwest::Client,
    req: &ApiRequest,
    method: &reqwest::Method,
    credential: Credential<'_>,
    limit_mib: u32,
) -> Result<ApiResponse> {
    let token_header = match credential {
        Credential::Token(_, _, header) => Some(header),
        Credential::Signed(..) => None,
    };
    let headers: Vec<(String, String)> = req
        .headers
        .iter()
        .filter(|(k, _)| !REPLACED_HEADERS.iter().any(|r| k.eq_ignore_ascii_case(r)))
        .filter(|(k, _)| !token_header.is_some_and(|h| k.eq_ignore_ascii_case(h)))
        .cloned()
        .collect();
    let body = req.body.as_deref().unwrap_or_default();
    let auth: Vec<(String, String)> = match credential {
        Credential::Token(token, Scheme::Bearer, header) => {
            vec![(header.to_owned(), format!("Bearer {}", token.expose()))]
        }
        Credential::Token(token, Scheme::Raw, header) => {
            vec![(header.to_owned(), token.expose().to_owned())]
        }
        Credential::Token(_, Scheme::Sigv4, _) => {
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
    let (body, truncated) = read_bounded(resp, limit_mib as usize * MIB).await?;
    Ok(ApiResponse {
        status,
        headers,
        body,
        elapsed: started.elapsed(),
        retried_after_refresh: false,
        truncated,
        limit_mib,
    })
}

/// The body chunk by chunk, up to `limit` bytes; true when there was more (which is left
/// unread: the connection is dropped), so memory stays bounded whatever the API sends.
async fn read_bounded(mut resp: reqwest::Response, limit: usize) -> Result<(Vec<u8>, bool)> {
    // What the API announces is a hint, not a promise: never more than a MiB up front.
    let announced = usize::try_from(resp.content_length().unwrap_or(0)).unwrap_or(limit);
    let mut body = Vec::with_capacity(announced.min(limit).min(MIB));
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| Error::from_http("the API response", &e))?
    {
        let room = limit - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
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
    fn held_secrets_are_replaced_as_written_and_as_in_a_query_and_never_shown() {
        let session_token = "IQoJb3JpZ2luX2VjE/a+b=";
        let held = HeldSecrets::new([
            session_token.to_owned(),
            "opaque-access-token-1234".to_owned(),
            "short".to_owned(),
        ]);
        let text = format!(
            "?X-Amz-Security-Token=IQoJb3JpZ2luX2VjE%2Fa%2Bb%3D&t={session_token} \
             Bearer opaque-access-token-1234 short"
        );
        assert_eq!(
            held.redact(&text, "<x>"),
            "?X-Amz-Security-Token=<x>&t=<x> Bearer <x> short"
        );
        let debug = format!("{held:?}");
        assert!(
            !debug.contains("opaque") && !debug.contains("IQoJ"),
            "{debug}"
        );
    }

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

    #[test]
    fn a_path_resolves_against_the_first_api_base_url_and_a_url_stays_as_is() {
        let bases = [
            Url::parse("http://127.0.0.1:47211/").unwrap(),
            Url::parse("https://api.example.com/prod/").unwrap(),
        ];
        let resolved = |typed| resolve_api_url(&bases, typed).unwrap().to_string();
        assert_eq!(
            resolved("/demo-api/me"),
            "http://127.0.0.1:47211/demo-api/me"
        );
        assert_eq!(
            resolved(" orders?page=2 "),
            "http://127.0.0.1:47211/orders?page=2"
        );
        assert_eq!(
            resolved("https://api.example.com/me"),
            "https://api.example.com/me"
        );
        let prod = [bases[1].clone()];
        assert_eq!(
            resolve_api_url(&prod, "items").unwrap().as_str(),
            "https://api.example.com/prod/items"
        );
    }

    #[test]
    fn a_path_without_an_api_base_url_and_a_broken_url_say_which() {
        assert!(matches!(
            resolve_api_url(&[], "/demo-api/me"),
            Err(ApiUrlError::NoApiBaseUrl { .. })
        ));
        assert!(matches!(
            resolve_api_url(&[], "http://[::1"),
            Err(ApiUrlError::Invalid { .. })
        ));
    }
}
