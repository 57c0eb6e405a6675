//! `/demo-api/*`: the demo backend as a REST API behind a Cognito user-pool authorizer; its
//! refusals are API Gateway's bodies and headers, the reason goes to the provider's log.

use serde_json::{json, Value};

use super::{backend, request_id, token_in, RESOURCES};
use crate::http::{Incoming, Reply};
use crate::provider::{claim_audiences, claim_scopes, Provider, Rejected};

/// `/demo-api/{rest}`: REST API, Cognito user-pool authorizer.
pub(crate) fn handle(p: &Provider, req: &Incoming, rest: &str) -> Reply {
    p.count(|s| s.demo_api += 1);
    let config = &p.settings.demo_api;
    let gateway = |status: u16, message: &str, error_type: &str| {
        Reply::json(status, &json!({ "message": message }))
            .header("x-amzn-RequestId", &request_id())
            .header("x-amzn-ErrorType", error_type)
    };
    // An unknown resource or method is answered before any authorizer runs.
    if !matches!(req.method.as_str(), "GET" | "HEAD") || !RESOURCES.contains(&rest) {
        p.log(format!(
            "demo-api: 403 Missing Authentication Token for {} /{rest} (no such resource or method)",
            req.method
        ));
        return gateway(
            403,
            "Missing Authentication Token",
            "MissingAuthenticationTokenException",
        );
    }
    let refuse = |why: &str| {
        p.log(format!("demo-api /{rest}: 401: {why}"));
        gateway(401, "Unauthorized", "UnauthorizedException")
    };
    let Some(token) = req
        .header(&config.token_header)
        .map(token_in)
        .filter(|t| !t.is_empty())
    else {
        return refuse(&format!("no token in the {} header", config.token_header));
    };
    let claims = match p.verify_signed(token) {
        Ok(claims) => claims,
        Err(Rejected { expired: true, .. }) => {
            p.log(format!("demo-api /{rest}: 401: the token has expired"));
            return gateway(
                401,
                "The incoming token has expired",
                "UnauthorizedException",
            );
        }
        Err(rejected) => return refuse(&rejected.reason),
    };
    let token_use = claims
        .get("token_use")
        .and_then(Value::as_str)
        .unwrap_or("");
    if config.scopes.is_empty() {
        if token_use != "id" {
            return refuse(&format!(
                "token_use is {token_use:?}: a method without OAuth scopes takes the ID token"
            ));
        }
    } else {
        if token_use != "access" {
            return refuse(&format!(
                "token_use is {token_use:?}: a method with OAuth scopes takes an access token"
            ));
        }
        let granted = claim_scopes(&claims);
        if !config.scopes.iter().any(|s| granted.contains(s)) {
            return refuse(&format!(
                "the token's scopes [{}] include none of [{}]",
                granted.join(" "),
                config.scopes.join(" ")
            ));
        }
    }
    if !config.audiences.is_empty() {
        let aud = claim_audiences(&claims);
        if !config.audiences.iter().any(|a| aud.contains(a)) {
            return refuse("the token's aud is not one this API accepts");
        }
    }
    backend(p, rest, &claims, token).header("x-amzn-RequestId", &request_id())
}
