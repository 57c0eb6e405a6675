//! The `cognito-idp` JSON API (`POST /` with `X-Amz-Target`), as far as a desktop client needs
//! it: `GlobalSignOut`. Errors have AWS's JSON form `{"__type", "message"}`.

use serde_json::{json, Value};

use crate::http::{Incoming, Reply};
use crate::provider::{mask, Fault, Provider};
use crate::user_pool::verify;

const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";
/// The scope an access token needs for the user's own operations (GlobalSignOut, GetUser…).
const ADMIN_SCOPE: &str = "aws.cognito.signin.user.admin";

/// `POST /` on the `cognito-idp` origin.
pub(crate) fn handle(p: &Provider, req: &Incoming) -> Reply {
    let operation = req
        .header("x-amz-target")
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .unwrap_or("")
        .to_string();
    if p.has_fault(&Fault::UserPoolThrottled) {
        p.log(format!("cognito-idp {operation}: throttled (fault)"));
        // HTTP 400, as at Cognito Identity (aws-amplify/amplify-js#6767; fixtures/error_codes.json).
        return aws_error(400, "TooManyRequestsException", Some("Rate exceeded"));
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return aws_error(400, "SerializationException", None);
    };
    match operation.as_str() {
        "GlobalSignOut" => global_sign_out(p, &body),
        _ => {
            p.log(format!("cognito-idp: unknown operation {operation:?}"));
            aws_error(400, "UnknownOperationException", None)
        }
    }
}

/// `GlobalSignOut`: every refresh token of the user stops working (and so do the access tokens
/// issued from them, at `/oauth2/userInfo` and here). The hosted UI's `cognito` cookie is
/// untouched: AWS documents that it keeps working for its hour (API_GlobalSignOut).
fn global_sign_out(p: &Provider, body: &serde_json::Map<String, Value>) -> Reply {
    p.count(|s| s.global_sign_outs += 1);
    let Some(token) = body.get("AccessToken").and_then(Value::as_str) else {
        return aws_error(
            400,
            "InvalidParameterException",
            Some("1 validation error detected: Value null at 'accessToken' failed to satisfy constraint: Member must not be null"),
        );
    };
    let claims = match verify::verify_access(p, token) {
        Ok(claims) => claims,
        Err(rejected) => {
            p.log(format!(
                "GlobalSignOut: refused {}: {}",
                mask(token),
                rejected.reason
            ));
            let message = if rejected.expired {
                "Access Token has expired"
            } else {
                "Invalid Access Token"
            };
            return aws_error(400, "NotAuthorizedException", Some(message));
        }
    };
    let family = claims
        .get("origin_jti")
        .and_then(Value::as_str)
        .unwrap_or("");
    if p.store().revoked_families.contains(family) {
        return aws_error(
            400,
            "NotAuthorizedException",
            Some("Access Token has been revoked"),
        );
    }
    let scope = claims.get("scope").and_then(Value::as_str).unwrap_or("");
    if !scope.split(' ').any(|s| s == ADMIN_SCOPE) {
        p.log(format!(
            "GlobalSignOut: refused {}: no {ADMIN_SCOPE} scope",
            mask(token)
        ));
        return aws_error(
            400,
            "NotAuthorizedException",
            Some("Access Token does not have required scopes"),
        );
    }
    let username = claims.get("username").and_then(Value::as_str).unwrap_or("");
    let revoked = {
        let mut store = p.store();
        let families: Vec<String> = store
            .grants
            .values()
            .filter(|g| g.username.eq_ignore_ascii_case(username))
            .map(|g| g.family.clone())
            .collect();
        let before = store.revoked_families.len();
        store.revoked_families.extend(families);
        store.revoked_families.len() - before
    };
    p.persist();
    p.log(format!(
        "GlobalSignOut: {username} signed out everywhere ({revoked} refresh-token families revoked)"
    ));
    aws_reply(json!({}))
}

/// A successful JSON API answer.
fn aws_reply(body: Value) -> Reply {
    Reply::json(200, &body)
        .replace_header("Content-Type", "application/x-amz-json-1.1")
        .header("x-amzn-RequestId", &uuid::Uuid::new_v4().to_string())
}

/// AWS's JSON error shape, with the `x-amzn-ErrorType` header the SDKs read.
pub(crate) fn aws_error(status: u16, kind: &str, message: Option<&str>) -> Reply {
    let body = match message {
        Some(m) => json!({"__type": kind, "message": m}),
        None => json!({"__type": kind}),
    };
    Reply::json(status, &body)
        .replace_header("Content-Type", "application/x-amz-json-1.1")
        .header("x-amzn-ErrorType", kind)
        .header("x-amzn-RequestId", &uuid::Uuid::new_v4().to_string())
}
