//! `/demo-rest-jwt-api/*`: the demo backend as a REST API behind API Gateway's JWT authorizer
//! type for REST APIs (issuer, audience, time claims, the method's scopes: 403 without one).

use serde_json::{json, Map, Value};

use super::http::{not_yet_valid, presented_audiences};
use super::{backend, request_id, token_in, RESOURCES};
use crate::http::{Incoming, Reply};
use crate::provider::{claim_scopes, Provider};

/// `/demo-rest-jwt-api/{rest}`: REST API, JWT authorizer.
pub(crate) fn handle(p: &Provider, req: &Incoming, rest: &str) -> Reply {
    p.count(|s| s.demo_api += 1);
    if !matches!(req.method.as_str(), "GET" | "HEAD") || !RESOURCES.contains(&rest) {
        p.log(format!(
            "demo-rest-jwt-api: 403 Missing Authentication Token for {} /{rest}",
            req.method
        ));
        return gateway(
            403,
            "Missing Authentication Token",
            "MissingAuthenticationTokenException",
        );
    }
    let token = req
        .header("authorization")
        .map(token_in)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        p.log(format!(
            "demo-rest-jwt-api /{rest}: 401: no Authorization header"
        ));
        return gateway(401, "Unauthorized", "UnauthorizedException");
    };
    match authorize(p, rest, token) {
        Ok(claims) => backend(p, rest, &claims, token).header("x-amzn-RequestId", &request_id()),
        Err(refusal) => refusal,
    }
}

/// A REST API gateway response: `{"message"}`, `x-amzn-ErrorType` (the gateway response
/// types' error names, as `/demo-api` sends them).
fn gateway(status: u16, message: &str, error_type: &str) -> Reply {
    Reply::json(status, &json!({ "message": message }))
        .header("x-amzn-RequestId", &request_id())
        .header("x-amzn-ErrorType", error_type)
}

/// The JWT authorizer's steps (rest-api-jwt-authorizer, "How a JWT authorizer validates a
/// request"): signature, issuer, `exp`, `nbf`/`iat` not in the future, the audience (`aud`, or
/// `client_id` without one), then the method's scopes from `scope` or `scp`
/// (rest-api-jwt-authorizer-methods: "A valid token that carries none of the method's scopes
/// receives a 403 Forbidden response").
fn authorize(p: &Provider, rest: &str, token: &str) -> Result<Map<String, Value>, Reply> {
    let unauthorized = |why: &str| {
        p.log(format!("demo-rest-jwt-api /{rest}: 401: {why}"));
        gateway(401, "Unauthorized", "UnauthorizedException")
    };
    let claims = p
        .verify_signed(token)
        .map_err(|rejected| unauthorized(&rejected.reason))?;
    if let Some(why) = not_yet_valid(p.now(), &claims) {
        return Err(unauthorized(&why));
    }
    let client_id = &p.settings.client.client_id;
    if !presented_audiences(&claims).contains(client_id) {
        return Err(unauthorized("neither aud nor client_id is the app client"));
    }
    let wanted = &p.settings.demo_api.rest_jwt_scopes;
    let granted = granted_scopes(&claims);
    if !wanted.is_empty() && !wanted.iter().any(|s| granted.contains(s)) {
        p.log(format!(
            "demo-rest-jwt-api /{rest}: 403: scopes [{}] include none of [{}]",
            granted.join(" "),
            wanted.join(" ")
        ));
        // The status is documented; the body's wording is UNCONFIRMED (fixtures/README.md).
        return Err(gateway(403, "Forbidden", "AccessDeniedException"));
    }
    Ok(claims)
}

/// The scopes from `scope` (a space-separated string) or `scp` (a list or a string).
fn granted_scopes(claims: &Map<String, Value>) -> Vec<String> {
    let mut scopes = claim_scopes(claims);
    match claims.get("scp") {
        Some(Value::Array(list)) => {
            scopes.extend(list.iter().filter_map(Value::as_str).map(str::to_string))
        }
        Some(Value::String(s)) => scopes.extend(s.split(' ').map(str::to_string)),
        _ => {}
    }
    scopes
}
