//! The `cognito-idp` JSON API (`POST /` with `X-Amz-Target`), as far as a desktop client needs
//! it: the signed-in user's operations (`user`) and the refresh-token ones (`refresh`).

mod refresh;
mod user;

use serde_json::{json, Map, Value};

use crate::http::{Incoming, Reply};
use crate::provider::{Fault, Provider};

const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";
/// The one request body type the API reads (AWS JSON 1.1, as every SDK sends).
const AMZ_JSON: &str = "application/x-amz-json-1.1";

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
    if !is_amz_json(req) {
        // A request without AWS JSON's Content-Type is not read (li-xl/nuscenes-download#10:
        // SerializationException until the headers were corrected; fixtures/README.md).
        p.log(format!(
            "cognito-idp {operation}: refused: Content-Type is not {AMZ_JSON}"
        ));
        return aws_error(400, "SerializationException", None);
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return aws_error(400, "SerializationException", None);
    };
    match operation.as_str() {
        "GlobalSignOut" => user::global_sign_out(p, &body),
        "GetUser" => user::get_user(p, &body),
        "InitiateAuth" => refresh::initiate_auth(p, &body),
        "GetTokensFromRefreshToken" => refresh::get_tokens_from_refresh_token(p, &body),
        "RevokeToken" => refresh::revoke_token(p, &body),
        _ => {
            p.log(format!("cognito-idp: unknown operation {operation:?}"));
            aws_error(400, "UnknownOperationException", None)
        }
    }
}

/// `Content-Type: application/x-amz-json-1.1`, parameters such as `charset` allowed.
fn is_amz_json(req: &Incoming) -> bool {
    req.header("content-type")
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(AMZ_JSON))
}

/// A string member of the request, or the `InvalidParameterException` AWS answers for a
/// missing required one.
fn required<'a>(body: &'a Map<String, Value>, member: &str) -> Result<&'a str, Reply> {
    body.get(member).and_then(Value::as_str).ok_or_else(|| {
        let mut field = member.to_string();
        field[..1].make_ascii_lowercase();
        aws_error(
            400,
            "InvalidParameterException",
            Some(&format!("1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null")),
        )
    })
}

/// A successful JSON API answer.
fn aws_reply(body: Value) -> Reply {
    Reply::json(200, &body)
        .replace_header("Content-Type", AMZ_JSON)
        .header("x-amzn-RequestId", &uuid::Uuid::new_v4().to_string())
}

/// AWS's JSON error shape, with the `x-amzn-ErrorType` header the SDKs read.
pub(crate) fn aws_error(status: u16, kind: &str, message: Option<&str>) -> Reply {
    let body = match message {
        Some(m) => json!({"__type": kind, "message": m}),
        None => json!({"__type": kind}),
    };
    Reply::json(status, &body)
        .replace_header("Content-Type", AMZ_JSON)
        .header("x-amzn-ErrorType", kind)
        .header("x-amzn-RequestId", &uuid::Uuid::new_v4().to_string())
}

/// `NotAuthorizedException` (HTTP 400) with `message`.
fn not_authorized(message: &str) -> Reply {
    aws_error(400, "NotAuthorizedException", Some(message))
}
