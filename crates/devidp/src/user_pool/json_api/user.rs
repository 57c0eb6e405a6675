//! The signed-in user's own operations, authorised by an access token with
//! `aws.cognito.signin.user.admin`: `GetUser` (is the session still valid?) and `GlobalSignOut`.

use serde_json::{json, Map, Value};

use super::{aws_error, aws_reply, not_authorized, required};
use crate::config::MessageMfa;
use crate::http::Reply;
use crate::provider::{mask, Provider};
use crate::user_pool::store::User;
use crate::user_pool::verify;

/// The scope an access token needs for the user's own operations (GlobalSignOut, GetUser…).
const ADMIN_SCOPE: &str = "aws.cognito.signin.user.admin";

/// The user an access token speaks for, or the refusal AWS answers: a bad or expired token,
/// one revoked (by `GlobalSignOut` or `RevokeToken`), one without [`ADMIN_SCOPE`], or a user
/// who no longer exists.
fn signed_in_user(p: &Provider, op: &str, body: &Map<String, Value>) -> Result<User, Reply> {
    let token = required(body, "AccessToken")?;
    let refuse = |why: &str, message: &str| {
        p.log(format!("{op}: refused {}: {why}", mask(token)));
        not_authorized(message)
    };
    let claims = match verify::verify_access(p, token) {
        Ok(claims) => claims,
        Err(rejected) if rejected.expired => {
            return Err(refuse(&rejected.reason, "Access Token has expired"))
        }
        Err(rejected) => return Err(refuse(&rejected.reason, "Invalid Access Token")),
    };
    let family = claims
        .get("origin_jti")
        .and_then(Value::as_str)
        .unwrap_or("");
    if p.store().revoked_families.contains(family) {
        return Err(refuse(
            "its refresh token was revoked",
            "Access Token has been revoked",
        ));
    }
    if !verify::scopes(&claims).iter().any(|s| s == ADMIN_SCOPE) {
        return Err(refuse(
            &format!("no {ADMIN_SCOPE} scope"),
            "Access Token does not have required scopes",
        ));
    }
    let username = claims.get("username").and_then(Value::as_str).unwrap_or("");
    p.store().user(username).cloned().ok_or_else(|| {
        p.log(format!("{op}: {username} no longer exists"));
        aws_error(400, "UserNotFoundException", Some("User does not exist."))
    })
}

/// `GetUser`: the user's attributes, the check AWS suggests for "is this token still valid"
/// (API_GetUser; botocore's `get_user`: `Username`, `UserAttributes` as `Name`/`Value` pairs,
/// `UserMFASettingList` and `PreferredMfaSetting` when MFA is set up).
pub(crate) fn get_user(p: &Provider, body: &Map<String, Value>) -> Reply {
    p.count(|s| s.get_user += 1);
    let user = match signed_in_user(p, "GetUser", body) {
        Ok(user) => user,
        Err(refusal) => return refusal,
    };
    let mut answer = json!({
        "Username": user.username,
        "UserAttributes": user_attributes(&user),
    });
    if let Some(mfa) = mfa_setting(&user) {
        answer["UserMFASettingList"] = json!([mfa]);
        answer["PreferredMfaSetting"] = json!(mfa);
    }
    p.log(format!("GetUser: answered for {}", user.username));
    aws_reply(answer)
}

/// The user's second factor as `GetUser` names it (botocore's `UserMFASettingList` values).
fn mfa_setting(user: &User) -> Option<&'static str> {
    match (&user.totp_secret, user.message_mfa) {
        (Some(_), _) => Some("SOFTWARE_TOKEN_MFA"),
        (None, Some(MessageMfa::Sms)) => Some("SMS_MFA"),
        (None, Some(MessageMfa::Email)) => Some("EMAIL_OTP"),
        (None, None) => None,
    }
}

/// The user's attributes as the API lists them: `sub` first, values as strings.
fn user_attributes(user: &User) -> Vec<Value> {
    let mut pairs = vec![("sub".to_string(), user.sub.clone())];
    pairs.extend(user.attributes.clone());
    if !user.email.is_empty() {
        let verified = if user.contact_verified() {
            "true"
        } else {
            "false"
        };
        pairs.push(("email_verified".into(), verified.into()));
        pairs.push(("email".into(), user.email.clone()));
    }
    pairs
        .into_iter()
        .map(|(name, value)| json!({"Name": name, "Value": value}))
        .collect()
}

/// `GlobalSignOut`: every refresh token of the user stops working (and so do the access tokens
/// issued from them, at `/oauth2/userInfo` and here). The hosted UI's `cognito` cookie is
/// untouched: AWS documents that it keeps working for its hour (API_GlobalSignOut).
pub(crate) fn global_sign_out(p: &Provider, body: &Map<String, Value>) -> Reply {
    p.count(|s| s.global_sign_outs += 1);
    let user = match signed_in_user(p, "GlobalSignOut", body) {
        Ok(user) => user,
        Err(refusal) => return refusal,
    };
    let revoked = {
        let mut store = p.store();
        let families: Vec<String> = store
            .grants
            .values()
            .filter(|g| g.username.eq_ignore_ascii_case(&user.username))
            .map(|g| g.family.clone())
            .collect();
        let before = store.revoked_families.len();
        store.revoked_families.extend(families);
        store.revoked_families.len() - before
    };
    p.persist();
    p.log(format!(
        "GlobalSignOut: {} signed out everywhere ({revoked} refresh-token families revoked)",
        user.username
    ));
    aws_reply(json!({}))
}
