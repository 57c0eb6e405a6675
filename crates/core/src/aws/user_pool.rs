//! The user pool's own JSON API (`POST https://cognito-idp.<region>.amazonaws.com/` with
//! `X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>`), as far as a signed-in user
//! needs it: `GlobalSignOut`, which ends every refresh token of the user on every device, and
//! `GetUser`, AWS's check that an access token is still valid at the pool.

use url::Url;

use super::protocol::{error_code_and_message, json_1_1_request, read_body, Answer};
use crate::secret::SecretToken;
use crate::verify::decode_jwt;

/// The scope an access token needs for the user's own operations on the JSON API.
pub(crate) const ADMIN_SCOPE: &str = "aws.cognito.signin.user.admin";

/// The most read of a JSON API answer (they are a few hundred bytes).
const ANSWER_LIMIT: usize = 16 * 1024;

/// The JSON API's endpoint for a user pool: the issuer's origin (`iss` is
/// `https://cognito-idp.<region>.amazonaws.com/<pool id>`; the API is `POST /` there).
pub(crate) fn endpoint(issuer: &str) -> Option<Url> {
    Url::parse(issuer).ok()?.join("/").ok()
}

/// Whether the access token was issued with [`ADMIN_SCOPE`] (read, not verified: the token
/// only goes back to the pool that issued it, which checks it).
pub(crate) fn has_admin_scope(access_token: &SecretToken) -> bool {
    decode_jwt(access_token.expose()).is_ok_and(|jwt| {
        jwt.claims
            .get("scope")
            .and_then(|s| s.as_str())
            .is_some_and(|s| s.split(' ').any(|s| s == ADMIN_SCOPE))
    })
}

/// `GlobalSignOut`: every refresh token of the user stops working, here and on every other
/// device (access and ID tokens already issued stay valid until they expire, as AWS
/// documents). `Err` is a warning for the user: other devices may stay signed in.
pub(crate) async fn global_sign_out(
    http: &reqwest::Client,
    endpoint: &Url,
    access_token: &SecretToken,
) -> Result<(), String> {
    let body = serde_json::json!({ "AccessToken": access_token.expose() }).to_string();
    let target = "AWSCognitoIdentityProviderService.GlobalSignOut";
    let sent = json_1_1_request(http, endpoint, target, body.into_bytes())
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(_) => return Err(format!("could not reach the user pool at {} to sign out everywhere; this device is signed out, but other devices stay signed in until their refresh tokens expire.", endpoint.origin().ascii_serialization())),
    };
    let mut answer = Answer::head(&response);
    let status = answer.status;
    answer.body = read_body(response, ANSWER_LIMIT).await.unwrap_or_default();
    if answer.is_success() {
        return Ok(());
    }
    let (code, message) = error_code_and_message(&answer);
    let said = if message.is_empty() {
        String::new()
    } else {
        format!(": \"{message}\"")
    };
    Err(format!("the user pool refused GlobalSignOut (HTTP {status} {code}{said}); this device is signed out, but other devices stay signed in until their refresh tokens expire."))
}

/// The pool's word on an access token (`GetUser`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PoolVerdict {
    /// The pool accepted the token: the session is live there.
    Accepted,
    /// The pool refused it with this error type (`NotAuthorizedException`: revoked, e.g. by a
    /// `GlobalSignOut` elsewhere; `UserNotFoundException`: the user is gone).
    Refused(String),
    /// No verdict: the pool could not be reached or answered something else (throttled, a
    /// server error); one sentence for the user.
    Unknown(String),
}

/// The error types that mean "this session no longer exists at the pool".
const SESSION_GONE: [&str; 2] = ["NotAuthorizedException", "UserNotFoundException"];

/// `GetUser` with `access_token` (which must carry [`ADMIN_SCOPE`]): does the pool still
/// accept it? The answer's attributes are not kept.
pub(crate) async fn get_user(
    http: &reqwest::Client,
    endpoint: &Url,
    access_token: &SecretToken,
) -> PoolVerdict {
    let body = serde_json::json!({ "AccessToken": access_token.expose() }).to_string();
    let target = "AWSCognitoIdentityProviderService.GetUser";
    let sent = json_1_1_request(http, endpoint, target, body.into_bytes())
        .send()
        .await;
    let Ok(response) = sent else {
        return PoolVerdict::Unknown(format!(
            "could not reach the user pool at {} to check the session",
            endpoint.origin().ascii_serialization()
        ));
    };
    let mut answer = Answer::head(&response);
    answer.body = read_body(response, ANSWER_LIMIT).await.unwrap_or_default();
    if answer.is_success() {
        return PoolVerdict::Accepted;
    }
    let (code, message) = error_code_and_message(&answer);
    if SESSION_GONE.contains(&code.as_str()) {
        return PoolVerdict::Refused(code);
    }
    PoolVerdict::Unknown(format!(
        "the user pool did not answer GetUser (HTTP {} {code}{}); try again later",
        answer.status,
        if message.is_empty() {
            String::new()
        } else {
            format!(": \"{message}\"")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_the_issuers_origin() {
        let e =
            endpoint("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123").unwrap();
        assert_eq!(e.as_str(), "https://cognito-idp.eu-west-1.amazonaws.com/");
        let e = endpoint("http://127.0.0.1:9232/eu-west-1_Demo").unwrap();
        assert_eq!(e.as_str(), "http://127.0.0.1:9232/");
    }

    #[test]
    fn the_admin_scope_is_read_from_the_access_token() {
        let token = |claims: serde_json::Value| {
            use base64::Engine;
            let b64 = |v: &serde_json::Value| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
            };
            SecretToken::new(format!(
                "{}.{}.c2ln",
                b64(&serde_json::json!({"alg": "RS256"})),
                b64(&claims)
            ))
        };
        assert!(has_admin_scope(&token(serde_json::json!({
            "scope": "openid aws.cognito.signin.user.admin email"
        }))));
        assert!(!has_admin_scope(&token(
            serde_json::json!({"scope": "openid email"})
        )));
        assert!(!has_admin_scope(&token(serde_json::json!({
            "scope": "aws.cognito.signin.user.admin.extra"
        }))));
        assert!(!has_admin_scope(&SecretToken::new("not a jwt")));
    }
}
