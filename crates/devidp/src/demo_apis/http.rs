//! `/demo-http-api/*`: the demo backend as an HTTP API behind a JWT authorizer (issuer,
//! audience, scopes), answering with API Gateway's `www-authenticate` reasons.

use serde_json::{json, Map, Value};

use super::{backend, request_id, token_in, RESOURCES};
use crate::config::DemoApiConfig;
use crate::http::{Incoming, Reply};
use crate::provider::{claim_audiences, claim_scopes, Provider, Rejected};

/// `/demo-http-api/{rest}`: HTTP API, JWT authorizer (issuer, audience, scopes).
pub(crate) fn handle(p: &Provider, req: &Incoming, rest: &str) -> Reply {
    p.count(|s| s.demo_api += 1);
    if !matches!(req.method.as_str(), "GET" | "HEAD") || !RESOURCES.contains(&rest) {
        p.log(format!("demo-http-api: 404 for {} /{rest}", req.method));
        return Reply::json(404, &json!({"message": "Not Found"}))
            .header("apigw-requestid", &request_id());
    }
    let Some(token) = req
        .header("authorization")
        .map(token_in)
        .filter(|t| !t.is_empty())
    else {
        p.log(format!(
            "demo-http-api /{rest}: 401: no Authorization header"
        ));
        return Reply::json(401, &json!({"message": "Unauthorized"}))
            .header("apigw-requestid", &request_id());
    };
    match jwt_authorizer(p, rest, token) {
        Ok(claims) => backend(p, rest, &claims, token).header("apigw-requestid", &request_id()),
        Err(refusal) => refusal,
    }
}

/// The JWT authorizer: a valid token of this issuer, an accepted audience, a wanted scope.
fn jwt_authorizer(p: &Provider, rest: &str, token: &str) -> Result<Map<String, Value>, Reply> {
    let config = &p.settings.demo_api;
    let refuse = |description: &str, why: &str| invalid_token(p, rest, description, why);
    let claims = match p.verify_signed(token) {
        Ok(claims) => claims,
        Err(Rejected { expired: true, .. }) => {
            return Err(refuse("the token has expired", "the token has expired"))
        }
        Err(rejected) if rejected.reason.contains("issued by") => {
            return Err(refuse(
                "the token does not have a valid issuer",
                &rejected.reason,
            ))
        }
        Err(rejected) => return Err(refuse("the token is not valid", &rejected.reason)),
    };
    if let Some(why) = not_yet_valid(p.now(), &claims) {
        return Err(refuse("the token is not valid", &why));
    }
    let wanted = if config.http_api_audiences.is_empty() {
        vec![p.settings.client.client_id.clone()]
    } else {
        config.http_api_audiences.clone()
    };
    let presented = presented_audiences(&claims);
    if !wanted.iter().any(|w| presented.contains(w)) {
        return Err(refuse(
            "the token does not have a valid audience",
            &format!(
                "aud/client_id [{}] not in [{}]",
                presented.join(" "),
                wanted.join(" ")
            ),
        ));
    }
    if !config.http_api_scopes.is_empty() {
        let granted = claim_scopes(&claims);
        if !config.http_api_scopes.iter().any(|s| granted.contains(s)) {
            return Err(insufficient_scope(p, rest, config, &granted));
        }
    }
    Ok(claims)
}

/// Why a token is refused for its time claims besides `exp`: the JWT authorizer wants `nbf`
/// and `iat` "before the current time in UTC" (http-api-jwt-authorizer, "Validate claims").
pub(super) fn not_yet_valid(now: i64, claims: &Map<String, Value>) -> Option<String> {
    ["nbf", "iat"].into_iter().find_map(|name| {
        let at = claims.get(name).and_then(Value::as_i64)?;
        (at > now).then(|| format!("{name} {at} is after now ({now})"))
    })
}

/// The audiences a token presents: `aud`, or `client_id` only when there is no `aud`.
pub(super) fn presented_audiences(claims: &Map<String, Value>) -> Vec<String> {
    if claims.contains_key("aud") {
        claim_audiences(claims)
    } else {
        claims
            .get("client_id")
            .and_then(Value::as_str)
            .map(|c| vec![c.to_string()])
            .unwrap_or_default()
    }
}

/// 401: API Gateway names the reason in www-authenticate (http-api-troubleshooting-jwt).
fn invalid_token(p: &Provider, rest: &str, description: &str, why: &str) -> Reply {
    p.log(format!("demo-http-api /{rest}: 401: {why}"));
    Reply::json(401, &json!({"message": "Unauthorized"}))
        .header("apigw-requestid", &request_id())
        .header(
            "www-authenticate",
            &format!(
                "Bearer scope=\"\" error=\"invalid_token\" error_description=\"{description}\""
            ),
        )
}

/// 403: the token has none of the scopes the routes require.
fn insufficient_scope(
    p: &Provider,
    rest: &str,
    config: &DemoApiConfig,
    granted: &[String],
) -> Reply {
    p.log(format!(
        "demo-http-api /{rest}: 403: scopes [{}] include none of [{}]",
        granted.join(" "),
        config.http_api_scopes.join(" ")
    ));
    // UNCONFIRMED wording; the status and the error code are RFC 6750's.
    Reply::json(403, &json!({"message": "Forbidden"}))
        .header("apigw-requestid", &request_id())
        .header(
            "www-authenticate",
            &format!(
                "Bearer scope=\"{}\" error=\"insufficient_scope\" error_description=\"expected scopes: [{}]\"",
                config.http_api_scopes.join(" "),
                config.http_api_scopes.join(" ")
            ),
        )
}
