//! The OAuth endpoints that take secrets in a POST body: the token endpoint (code exchange,
//! refresh) and the revocation endpoint. Typed requests and responses, bounded and never
//! redirected (C10), and every message these endpoints can cause, in one place.

use oauth2::PkceCodeVerifier;
use serde::Deserialize;
use url::Url;

use crate::error::{Error, ErrorKind, Result};
use crate::http::{read_limited, TOKEN_RESPONSE_LIMIT};
use crate::secret::{AuthorizationCode, RefreshToken, SecretToken};

/// The longest `expires_in` taken at face value (ten years); anything larger is absurd.
const MAX_EXPIRES_IN: i64 = 10 * 365 * 24 * 3600;

/// What is asked of the token endpoint.
pub(crate) enum Grant<'a> {
    AuthorizationCode {
        code: &'a AuthorizationCode,
        redirect_uri: &'a str,
        verifier: &'a PkceCodeVerifier,
    },
    Refresh(&'a RefreshToken),
}

impl Grant<'_> {
    fn describe(&self) -> &'static str {
        match self {
            Grant::AuthorizationCode { .. } => "the code exchange",
            Grant::Refresh(_) => "the token refresh",
        }
    }

    fn body(&self, client_id: &str) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        match self {
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                verifier,
            } => form
                .append_pair("grant_type", "authorization_code")
                .append_pair("code", code.expose())
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("client_id", client_id)
                .append_pair("code_verifier", verifier.secret()),
            Grant::Refresh(token) => form
                .append_pair("grant_type", "refresh_token")
                .append_pair("refresh_token", token.expose())
                .append_pair("client_id", client_id),
        };
        form.finish()
    }
}

/// A successful token response. Every token is a secret type; `Debug` redacts.
#[derive(Debug)]
pub(crate) struct TokenResponse {
    pub id_token: Option<SecretToken>,
    pub access_token: SecretToken,
    pub refresh_token: Option<RefreshToken>,
    /// Seconds, checked: positive and at most ten years.
    pub expires_in: Option<i64>,
}

/// How far a failed token request got: what the provider may have done with the grant it
/// carried, so a caller knows whether the code or refresh token is still unspent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// No connection was made: the only request safe to repeat with the same refresh token.
    NotSent,
    /// Sent, but no complete answer came back (a timeout, a cut connection).
    Unanswered,
    /// The provider answered with an error or a redirect: it issued nothing.
    Refused,
    /// The provider is throttling (`TooManyRequestsException`, or HTTP 429): it processed
    /// nothing, so the same request may be repeated after a pause.
    Throttled,
    /// The provider answered with success and Latchkey refused the answer (not JSON, too
    /// large, a bad field): the grant is spent, and a rotated refresh token came in it.
    Unusable,
}

/// A token endpoint failure and how far the request got.
#[derive(Debug)]
pub(crate) struct Failure {
    pub error: Error,
    pub reach: Reach,
    /// The refresh token of an answer Latchkey refused, when it could be read: never used,
    /// only revoked.
    pub refused_refresh_token: Option<RefreshToken>,
}

impl Failure {
    fn new(reach: Reach, error: Error) -> Self {
        Failure {
            error,
            reach,
            refused_refresh_token: None,
        }
    }
    fn refused(error: Error) -> Self {
        Failure::new(Reach::Refused, error)
    }
    fn unusable(error: Error) -> Self {
        Failure::new(Reach::Unusable, error)
    }
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Error {
        f.error
    }
}

#[derive(Deserialize)]
struct RawResponse {
    id_token: Option<String>,
    access_token: Option<String>,
    refresh_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawError {
    error: Option<String>,
    error_description: Option<String>,
}

/// Keep provider-supplied text printable and short before it goes into a message.
pub(crate) fn sanitize(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// POST `grant` to the token endpoint. Never follows a redirect, never logs the body.
pub(crate) async fn request(
    http: &reqwest::Client,
    endpoint: &Url,
    client_id: &str,
    grant: Grant<'_>,
) -> std::result::Result<TokenResponse, Failure> {
    let what = grant.describe();
    tracing::debug!(url = %endpoint, what, "token request");
    let resp = http
        .post(endpoint.clone())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(grant.body(client_id))
        .send()
        .await
        .map_err(|e| {
            let reach = match e.is_connect() {
                true => Reach::NotSent,
                false => Reach::Unanswered,
            };
            Failure::new(reach, Error::from_http(what, &e))
        })?;
    let status = resp.status();
    tracing::debug!(status = status.as_u16(), what, "token response");
    if status.is_redirection() {
        return Err(Failure::refused(Error::provider(format!("the token endpoint answered {what} with a redirect (HTTP {}); Latchkey does not follow it, so the code/refresh token is not sent elsewhere. Check the profile's domain/issuer.", status.as_u16()))));
    }
    let body = read_limited(resp, TOKEN_RESPONSE_LIMIT, "the token endpoint's answer")
        .await
        .map_err(|e| match (status.is_success(), e.kind()) {
            (true, ErrorKind::ProviderUnreachable) => Failure::new(Reach::Unanswered, e),
            (true, _) => Failure::unusable(e),
            (false, _) => Failure::refused(e),
        })?;
    if is_throttled(status, &body) {
        return Err(Failure::new(Reach::Throttled, throttled(what)));
    }
    if !status.is_success() {
        return Err(Failure::refused(refusal(&grant, status, &body)));
    }
    let raw: RawResponse = serde_json::from_slice(&body).map_err(|_| {
        Failure::unusable(Error::provider(format!("the token endpoint's answer to {what} (HTTP {}) is not a JSON object; the provider or a proxy is misbehaving. Try again later.", status.as_u16())))
    })?;
    let refresh_token = raw.refresh_token.clone();
    parse(raw).map_err(|error| Failure {
        refused_refresh_token: refresh_token
            .filter(|t| !t.is_empty())
            .map(RefreshToken::new),
        ..Failure::unusable(error)
    })
}

fn parse(raw: RawResponse) -> Result<TokenResponse> {
    match raw.token_type.as_deref() {
        Some(t) if t.eq_ignore_ascii_case("bearer") => {}
        Some(_) => return Err(Error::provider("the token endpoint issued a token type other than Bearer; Latchkey supports Bearer tokens only.")),
        None => return Err(Error::provider("the token response has no `token_type`; the provider is not OAuth 2.0 compliant.")),
    }
    let access_token = raw
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::provider("the token response has no `access_token`."))?;
    let expires_in = match raw.expires_in {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(expires_in(&v)?),
    };
    Ok(TokenResponse {
        id_token: raw.id_token.map(SecretToken::new),
        access_token: SecretToken::new(access_token),
        refresh_token: raw
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(RefreshToken::new),
        expires_in,
    })
}

/// `expires_in`: a positive number of seconds (some providers send it as a string).
fn expires_in(v: &serde_json::Value) -> Result<i64> {
    let secs = v
        .as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
    match secs {
        Some(s) if (1..=MAX_EXPIRES_IN).contains(&s) => Ok(s),
        _ => Err(Error::provider(format!(
            "the token response's `expires_in` ({}) is not a number of seconds between 1 and {MAX_EXPIRES_IN}; the provider is misbehaving.",
            sanitize(&v.to_string(), 40)
        ))),
    }
}

/// Whether the answer is a throttling refusal: HTTP 429, or Cognito's AWS-shaped
/// `{"__type":"TooManyRequestsException"}` (HTTP 400 at its JSON APIs; devidp's
/// `token_throttled` fault answers `/oauth2/token` the same way).
fn is_throttled(status: reqwest::StatusCode, body: &[u8]) -> bool {
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return true;
    }
    #[derive(Deserialize)]
    struct AwsError {
        #[serde(rename = "__type")]
        kind: Option<String>,
    }
    !status.is_success()
        && serde_json::from_slice::<AwsError>(body)
            .ok()
            .and_then(|e| e.kind)
            .is_some_and(|k| k.rsplit('#').next() == Some("TooManyRequestsException"))
}

fn throttled(what: &str) -> Error {
    Error::new(ErrorKind::ProviderUnreachable, format!("the provider is throttling requests and did not answer {what} (TooManyRequestsException); nothing changed. Try again in a few seconds."))
}

/// The message for a refused token request (`invalid_grant` on a refresh ends the session).
fn refusal(grant: &Grant<'_>, status: reqwest::StatusCode, body: &[u8]) -> Error {
    let what = grant.describe();
    let Ok(RawError {
        error,
        error_description,
    }) = serde_json::from_slice(body)
    else {
        let kind = if status.is_server_error() {
            ErrorKind::ProviderUnreachable
        } else {
            ErrorKind::ProviderError
        };
        return Error::new(kind, format!("the token endpoint's answer to {what} (HTTP {}) is not JSON; the provider or a proxy is misbehaving. Try again later.", status.as_u16()));
    };
    let code: String = error
        .unwrap_or_else(|| "unknown_error".into())
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect();
    let detail = error_description
        .map(|d| format!(" (the provider says: \"{}\")", sanitize(&d, 200)))
        .unwrap_or_default();
    match (grant, code.as_str()) {
        (Grant::Refresh(_), "invalid_grant") => Error::new(ErrorKind::SessionExpired, format!("the provider refused {what} with invalid_grant{detail}: the session expired or was revoked. Sign in again.")),
        (Grant::AuthorizationCode { .. }, "invalid_grant") => Error::provider(format!("the provider refused the sign-in code with invalid_grant{detail}: it was used, expired, or issued to another client or provider. Sign in again.")),
        // Cognito's answer to a redirect URI that is not exactly the registered one, or to an
        // app client without this grant (aws-amplify/amplify-js#5284): the set-up is wrong,
        // not the session, which a refresh keeps.
        (_, "unauthorized_client") => Error::config(format!("the provider refused {what} with unauthorized_client{detail}: the app client does not allow it. In the provider's console, the app client must allow the authorization-code grant, have no client secret, and list the profile's redirect URI exactly (port and trailing slash included) among its callback URLs.")),
        _ => {
            let kind = if status.is_server_error() {
                ErrorKind::ProviderUnreachable
            } else {
                ErrorKind::ProviderError
            };
            Error::new(kind, format!("the token endpoint refused {what}: HTTP {} `{code}`{detail}. Check the profile's client id and that the app client allows the authorization-code grant without a secret.", status.as_u16()))
        }
    }
}

/// Revoke a refresh token (RFC 7009). `Err` is a warning for the user: the token stays valid.
pub(crate) async fn revoke(
    http: &reqwest::Client,
    endpoint: Option<&Url>,
    client_id: &str,
    token: &RefreshToken,
    cognito: bool,
) -> std::result::Result<(), String> {
    let Some(endpoint) = endpoint else {
        return Err("the provider has no revocation endpoint, so the refresh token stays valid there until it expires.".into());
    };
    let body = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("token", token.expose())
            .append_pair("client_id", client_id);
        if !cognito {
            form.append_pair("token_type_hint", "refresh_token");
        }
        form.finish()
    };
    let sent = http
        .post(endpoint.clone())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("the provider refused to revoke the refresh token (HTTP {}), so it stays valid there until it expires.", r.status().as_u16())),
        Err(_) => Err("could not reach the provider to revoke the refresh token, so it stays valid there until it expires.".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(v: serde_json::Value) -> RawResponse {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn absurd_expires_in_is_refused_and_strings_are_read() {
        for bad in [
            json!(-5),
            json!(0),
            json!(i64::MAX),
            json!("soon"),
            json!(1.5),
        ] {
            let r = raw(json!({"access_token":"a","token_type":"Bearer","expires_in": bad}));
            assert_eq!(parse(r).unwrap_err().kind(), ErrorKind::ProviderError);
        }
        let r = raw(json!({"access_token":"a","token_type":"bEARER","expires_in":"3600"}));
        assert_eq!(parse(r).unwrap().expires_in, Some(3600));
    }

    /// An entry of devidp's fixtures of what Cognito answers (crates/devidp/fixtures/).
    fn cognito_fixture(file: &str, entry: &str) -> serde_json::Value {
        let path = format!("{}/../devidp/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("the devidp fixture");
        serde_json::from_str::<serde_json::Value>(&text).expect("JSON")[entry].clone()
    }

    #[test]
    fn unauthorized_client_is_a_set_up_problem_for_both_grants() {
        let answer = cognito_fixture("error_codes.json", "token_redirect_uri_mismatch");
        let status =
            reqwest::StatusCode::from_u16(answer["status"].as_u64().unwrap() as u16).unwrap();
        let body = answer["body"].to_string();
        let (code, verifier) = (
            AuthorizationCode::new("c"),
            PkceCodeVerifier::new("v".into()),
        );
        let exchange = Grant::AuthorizationCode {
            code: &code,
            redirect_uri: "http://localhost:53682/callback",
            verifier: &verifier,
        };
        assert_eq!(
            refusal(&exchange, status, body.as_bytes()).kind(),
            ErrorKind::Config
        );
        let rt = RefreshToken::new("rt");
        let refresh = refusal(&Grant::Refresh(&rt), status, body.as_bytes());
        assert_eq!(refresh.kind(), ErrorKind::Config, "not SessionExpired");
    }

    #[test]
    fn refused_refresh_carries_the_providers_description_without_control_characters() {
        let rt = RefreshToken::new("rt");
        let e = refusal(
            &Grant::Refresh(&rt),
            reqwest::StatusCode::BAD_REQUEST,
            br#"{"error":"invalid_grant","error_description":"Refresh Token has been revoked\u001b[31m"}"#,
        );
        assert_eq!(e.kind(), ErrorKind::SessionExpired);
        assert!(e.message().contains("Refresh Token has been revoked"));
        assert!(!e.message().contains('\u{1b}'));
    }
}
