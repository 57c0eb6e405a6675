//! Decoding any JWT for display: header, claims with human times and explanations, and which
//! checks passed or failed. Nothing here is trusted for decisions.

use chrono::{TimeZone, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::verify::{decode_jwt, Check, ALLOWED_ALGS};

#[derive(Debug, Clone, Serialize)]
pub struct ClaimRow {
    pub name: String,
    pub value: Value,
    /// A readable form (times as UTC and relative), when different from the raw value.
    pub human: Option<String>,
    pub explanation: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// "id", "access" or "unknown".
    pub kind: String,
    pub header: Value,
    pub claims: Vec<ClaimRow>,
    pub checks: Vec<Check>,
}

fn explain(name: &str) -> Option<&'static str> {
    Some(match name {
        "iss" => "Issuer: who issued the token",
        "sub" => "Subject: the user's stable id at the issuer",
        "aud" => "Audience: the client(s) the token is for",
        "azp" => "Authorized party: the client the token was issued to",
        "exp" => "Expires at",
        "iat" => "Issued at",
        "nbf" => "Not valid before",
        "auth_time" => "When the user last signed in with credentials",
        "nonce" => "Value from the sign-in request, binds the token to it",
        "at_hash" => "Hash of the access token issued with this ID token",
        "token_use" => "Cognito: which kind of token this is (id or access)",
        "client_id" => "Cognito access token: the app client it was issued to",
        "scope" => "Scopes granted to the access token",
        "cognito:username" => "Cognito user name",
        "cognito:groups" => "Cognito groups the user belongs to",
        "cognito:roles" => "IAM roles of the user's groups: what an identity pool may grant",
        "cognito:preferred_role" => "The role of the user's group with the best precedence",
        "email" => "E-mail address",
        "email_verified" => "Whether the e-mail address was verified",
        "jti" => "Unique token id",
        "origin_jti" => "Cognito: id of the original authentication (kept across refreshes)",
        "event_id" => "Cognito: id of the authentication event",
        "username" => "User name",
        "kid" => "Key id: which provider key signed the token",
        "alg" => "Signature algorithm",
        "typ" => "Token type",
        _ => return None,
    })
}

/// A time difference for people: `in 5 min`, `2 h 3 min ago`, `in 30 days`.
pub fn relative(delta: i64) -> String {
    let a = delta.unsigned_abs();
    let s = if a < 60 {
        format!("{a} s")
    } else if a < 3600 {
        format!("{} min", a / 60)
    } else if a < 86400 * 2 {
        format!("{} h {} min", a / 3600, (a % 3600) / 60)
    } else {
        format!("{} days", a / 86400)
    };
    if delta >= 0 {
        format!("in {s}")
    } else {
        format!("{s} ago")
    }
}

/// Decode `token` for display. `now` (Unix seconds) adds relative times and time checks.
pub fn inspect_jwt(token: &str, now: Option<i64>) -> Result<Inspection> {
    let jwt = decode_jwt(token)
        .map_err(|e| Error::new(ErrorKind::Verification, format!("cannot inspect: {e}.")))?;
    let now = now.unwrap_or_else(|| Utc::now().timestamp());
    let mut claims = Vec::new();
    for (name, value) in &jwt.claims {
        let human = match (name.as_str(), value.as_i64()) {
            ("exp" | "iat" | "nbf" | "auth_time", Some(t)) => {
                Utc.timestamp_opt(t, 0).single().map(|d| {
                    format!(
                        "{} ({})",
                        d.format("%Y-%m-%d %H:%M:%S UTC"),
                        relative(t - now)
                    )
                })
            }
            _ => None,
        };
        claims.push(ClaimRow {
            name: name.clone(),
            value: value.clone(),
            human,
            explanation: explain(name).map(str::to_owned),
        });
    }
    let mut checks = Vec::new();
    match jwt.alg() {
        Some(a) if ALLOWED_ALGS.contains(&a) => checks.push(Check {
            name: "alg".into(),
            passed: true,
            reason: format!("{a} is an accepted asymmetric algorithm"),
        }),
        Some(a) => checks.push(Check {
            name: "alg".into(),
            passed: false,
            reason: format!(
                "`{a}` is not accepted (allowed: {})",
                ALLOWED_ALGS.join(", ")
            ),
        }),
        None => checks.push(Check {
            name: "alg".into(),
            passed: false,
            reason: "no `alg` in the header".into(),
        }),
    }
    checks.push(Check { name: "signature".into(), passed: false, reason: "not verified (offline inspection; signed-in tokens are verified against the provider's keys)".into() });
    if let Some(exp) = jwt.claim_i64("exp") {
        checks.push(Check {
            name: "exp".into(),
            passed: now < exp,
            reason: if now < exp {
                format!("valid, expires {}", relative(exp - now))
            } else {
                format!("expired {}", relative(exp - now))
            },
        });
    } else {
        checks.push(Check {
            name: "exp".into(),
            passed: false,
            reason: "no `exp` claim".into(),
        });
    }
    if let Some(iat) = jwt.claim_i64("iat") {
        checks.push(Check {
            name: "iat".into(),
            passed: iat <= now + 60,
            reason: format!("issued {}", relative(iat - now)),
        });
    }
    let kind = match jwt.claim_str("token_use") {
        Some("id") => "id",
        Some("access") => "access",
        _ if jwt.claims.contains_key("nonce") || jwt.claims.contains_key("at_hash") => "id",
        _ => "unknown",
    };
    Ok(Inspection {
        kind: kind.into(),
        header: jwt.header.clone(),
        claims,
        checks,
    })
}
