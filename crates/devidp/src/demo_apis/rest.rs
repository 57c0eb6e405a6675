//! A demo protected API answering like API Gateway in front of a small backend:
//! `/demo-api/*` as a REST API with a Cognito user-pool authorizer, `/demo-http-api/*` as an
//! HTTP API with a JWT authorizer. Their bodies are AWS's (`{"message":"Unauthorized"}`…);
//! why a request was refused goes to the provider's log, where a developer can read it.

use serde_json::{json, Map, Value};

use crate::control::logbook::mask;
use crate::http::{Incoming, Reply};
use crate::provider::Provider;
use crate::user_pool::verify::{self, Rejected};

/// How the demo API's two authorizers are set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoApiConfig {
    /// REST API: the request header the Cognito authorizer reads the token from (its "Token
    /// Source"); `Authorization` unless set otherwise.
    pub token_header: String,
    /// REST API: the methods' OAuth scopes. Empty: the ID token is required (a method without
    /// scopes takes ID tokens only). Otherwise an access token with one of these scopes.
    pub scopes: Vec<String>,
    /// REST API: `aud` values to insist on. A real Cognito authorizer has no such check (any
    /// app client of the pool passes), so it is off (empty) unless set here.
    pub audiences: Vec<String>,
    /// HTTP API: the JWT authorizer's audience (`aud`, or `client_id` when a token has no
    /// `aud`). Empty: the app client id.
    pub http_api_audiences: Vec<String>,
    /// HTTP API: scopes the routes require (one of them); empty: none.
    pub http_api_scopes: Vec<String>,
}

impl Default for DemoApiConfig {
    fn default() -> Self {
        DemoApiConfig {
            token_header: "Authorization".to_string(),
            scopes: Vec::new(),
            audiences: Vec::new(),
            http_api_audiences: Vec::new(),
            http_api_scopes: Vec::new(),
        }
    }
}

/// The demo backend's resources (GET only).
const RESOURCES: &[&str] = &["me", "orders", "admin"];

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The token in a header value: raw, or after `Bearer ` (API Gateway takes both).
fn token_in(value: &str) -> &str {
    let value = value.trim();
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .unwrap_or(value)
        .trim()
}

/// `/demo-api/{rest}`: REST API, Cognito user-pool authorizer.
pub(crate) fn rest_api(p: &Provider, req: &Incoming, rest: &str) -> Reply {
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
    let claims = match verify::verify_signed(p, token) {
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
        let granted = verify::scopes(&claims);
        if !config.scopes.iter().any(|s| granted.contains(s)) {
            return refuse(&format!(
                "the token's scopes [{}] include none of [{}]",
                granted.join(" "),
                config.scopes.join(" ")
            ));
        }
    }
    if !config.audiences.is_empty() {
        let aud = verify::audiences(&claims);
        if !config.audiences.iter().any(|a| aud.contains(a)) {
            return refuse("the token's aud is not one this API accepts");
        }
    }
    backend(p, rest, &claims, token).header("x-amzn-RequestId", &request_id())
}

/// `/demo-http-api/{rest}`: HTTP API, JWT authorizer (issuer, audience, scopes).
pub(crate) fn http_api(p: &Provider, req: &Incoming, rest: &str) -> Reply {
    p.count(|s| s.demo_api += 1);
    let config = &p.settings.demo_api;
    if !matches!(req.method.as_str(), "GET" | "HEAD") || !RESOURCES.contains(&rest) {
        p.log(format!("demo-http-api: 404 for {} /{rest}", req.method));
        return Reply::json(404, &json!({"message": "Not Found"}))
            .header("apigw-requestid", &request_id());
    }
    // API Gateway names the reason in www-authenticate (http-api-troubleshooting-jwt).
    let refuse = |description: &str, why: &str| {
        p.log(format!("demo-http-api /{rest}: 401: {why}"));
        Reply::json(401, &json!({"message": "Unauthorized"}))
            .header("apigw-requestid", &request_id())
            .header(
                "www-authenticate",
                &format!(
                    "Bearer scope=\"\" error=\"invalid_token\" error_description=\"{description}\""
                ),
            )
    };
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
    let claims = match verify::verify_signed(p, token) {
        Ok(claims) => claims,
        Err(Rejected { expired: true, .. }) => {
            return refuse("the token has expired", "the token has expired")
        }
        Err(rejected) if rejected.reason.contains("issued by") => {
            return refuse("the token does not have a valid issuer", &rejected.reason)
        }
        Err(rejected) => return refuse("the token is not valid", &rejected.reason),
    };
    let wanted = if config.http_api_audiences.is_empty() {
        vec![p.settings.client.client_id.clone()]
    } else {
        config.http_api_audiences.clone()
    };
    // `client_id` is checked only when there is no `aud`.
    let aud = verify::audiences(&claims);
    let presented = if claims.contains_key("aud") {
        aud
    } else {
        claims
            .get("client_id")
            .and_then(Value::as_str)
            .map(|c| vec![c.to_string()])
            .unwrap_or_default()
    };
    if !wanted.iter().any(|w| presented.contains(w)) {
        return refuse(
            "the token does not have a valid audience",
            &format!(
                "aud/client_id [{}] not in [{}]",
                presented.join(" "),
                wanted.join(" ")
            ),
        );
    }
    if !config.http_api_scopes.is_empty() {
        let granted = verify::scopes(&claims);
        if !config.http_api_scopes.iter().any(|s| granted.contains(s)) {
            p.log(format!(
                "demo-http-api /{rest}: 403: scopes [{}] include none of [{}]",
                granted.join(" "),
                config.http_api_scopes.join(" ")
            ));
            // UNCONFIRMED wording; the status and the error code are RFC 6750's.
            return Reply::json(403, &json!({"message": "Forbidden"}))
                .header("apigw-requestid", &request_id())
                .header(
                    "www-authenticate",
                    &format!(
                        "Bearer scope=\"{}\" error=\"insufficient_scope\" error_description=\"expected scopes: [{}]\"",
                        config.http_api_scopes.join(" "),
                        config.http_api_scopes.join(" ")
                    ),
                );
        }
    }
    backend(p, rest, &claims, token).header("apigw-requestid", &request_id())
}

/// The demo backend behind either gateway: `/me`, `/orders`, `/admin` (group `admins`).
fn backend(p: &Provider, rest: &str, claims: &Map<String, Value>, token: &str) -> Reply {
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    // ID tokens say cognito:username, access tokens username.
    let username = Some(text("cognito:username"))
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| text("username"));
    let groups: Vec<String> = claims
        .get("cognito:groups")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    p.log(format!(
        "demo backend /{rest}: {username} with {} token {}",
        text("token_use"),
        mask(token)
    ));
    match rest {
        "me" => Reply::json(
            200,
            &json!({
                "sub": text("sub"),
                "username": username,
                "email": text("email"),
                "groups": groups,
                "tenant": text("custom:tenant"),
                "token_use": text("token_use"),
                "issued_at": claims.get("iat"),
                "expires_at": claims.get("exp"),
            }),
        ),
        "orders" => Reply::json(
            200,
            &json!({
                "owner": username,
                "orders": [
                    {"id": "ord-1001", "item": "Brass latch", "quantity": 2, "total": "24.00", "currency": "EUR", "status": "shipped"},
                    {"id": "ord-1002", "item": "Spare key blank", "quantity": 5, "total": "7.50", "currency": "EUR", "status": "processing"},
                ],
            }),
        ),
        _ => {
            if !groups.iter().any(|g| g == "admins") {
                p.log(format!(
                    "demo backend /admin: 403 for {username} (not in admins)"
                ));
                // The backend's own answer, not the gateway's.
                return Reply::json(403, &json!({"message": "the admins group is required"}));
            }
            let users = p.store().users.len();
            Reply::json(
                200,
                &json!({"message": format!("Welcome, administrator {username}"), "user_count": users}),
            )
        }
    }
}
