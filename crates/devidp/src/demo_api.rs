//! A demo protected API that behaves like API Gateway with a Cognito user-pool authorizer:
//! `/demo-api/me`, `/demo-api/orders`, `/demo-api/admin` (group `admins`), ID token required.

use serde_json::{json, Value};

use crate::http::{Incoming, Reply};
use crate::logbook::mask;
use crate::provider::Provider;
use crate::verify::{self, TokenUse};

pub(crate) fn handle(p: &Provider, req: &Incoming, rest: &str) -> Reply {
    p.count(|s| s.demo_api += 1);
    if !matches!(req.method.as_str(), "GET" | "HEAD") {
        return Reply::json(405, &json!({"message": "Method Not Allowed"})).header("Allow", "GET");
    }
    if !matches!(rest, "me" | "orders" | "admin") {
        return Reply::json(404, &json!({"message": "Not Found"}));
    }
    let unauthorized = |why: &str| {
        p.log(format!("demo-api /{rest}: 401: {why}"));
        let description = why.replace('"', "'");
        Reply::json(401, &json!({"message": format!("Unauthorized: {why}")})).header(
            "WWW-Authenticate",
            &format!("Bearer error=\"invalid_token\", error_description=\"{description}\""),
        )
    };
    // API Gateway's REST authorizer takes the raw token; a "Bearer " prefix is accepted too.
    let Some(raw) = req
        .header("authorization")
        .map(str::trim)
        .filter(|h| !h.is_empty())
    else {
        return unauthorized("the Authorization header is missing");
    };
    let token = raw
        .strip_prefix("Bearer ")
        .or_else(|| raw.strip_prefix("bearer "))
        .unwrap_or(raw)
        .trim();
    // Revoked tokens still pass here, exactly as with API Gateway (offline checks only).
    let claims = match verify::verify(p, token, TokenUse::Id) {
        Ok(c) => c,
        Err(why) => return unauthorized(&why),
    };
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let username = text("cognito:username");
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
        "demo-api /{rest}: {username} with ID token {}",
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
                    "demo-api /admin: 403 for {username} (not in admins)"
                ));
                return Reply::json(
                    403,
                    &json!({"message": "User is not authorized to access this resource: the admins group is required"}),
                );
            }
            let users = p.store().users.len();
            Reply::json(
                200,
                &json!({"message": format!("Welcome, administrator {username}"), "user_count": users}),
            )
        }
    }
}
