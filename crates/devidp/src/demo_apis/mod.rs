//! The demo APIs, answering like API Gateway in front of one small backend (here): `rest`
//! (Cognito authorizer), `rest_jwt` (REST's JWT authorizer), `http` (JWT authorizer), `iam`
//! (SigV4 with identity-pool credentials).
//! Their bodies are AWS's (`{"message":"Unauthorized"}`…); why a request was refused goes to
//! the provider's log, where a developer can read it.

pub(crate) mod http;
pub(crate) mod iam;
pub(crate) mod rest;
pub(crate) mod rest_jwt;

use serde_json::{json, Map, Value};

use crate::http::Reply;
use crate::provider::{mask, Provider};

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
