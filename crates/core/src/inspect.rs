//! Decoding any JWT for display: header, claims with human times and explanations, and which
//! checks passed or failed. Nothing here is trusted for decisions.

use chrono::Utc;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::clock::utc;
use crate::error::{Error, ErrorKind, Result};
use crate::verify::{decode_jwt, Alg, Check, CheckName, ALLOWED_ALGS};

#[derive(Debug, Clone, Serialize)]
pub struct ClaimRow {
    pub name: String,
    pub value: Value,
    /// A readable form (times as UTC and relative), when different from the raw value.
    pub human: Option<String>,
    pub explanation: Option<String>,
}

/// What kind of token an inspection is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Id,
    Access,
    Unknown,
}

#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    pub kind: TokenKind,
    pub header: Map<String, Value>,
    pub claims: Vec<ClaimRow>,
    pub checks: Vec<Check>,
}

impl Inspection {
    /// The keys could not be had: the signature check says why it was not verified.
    pub(crate) fn not_verified(&mut self, why: &Error) {
        if let Some(check) = self
            .checks
            .iter_mut()
            .find(|c| c.name == CheckName::Signature)
        {
            check.reason = format!("not verified: {}", why.message());
        }
    }
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
        "amr" => "How the user authenticated (e.g. pwd, mfa)",
        "token_use" => "Cognito: which kind of token this is (id or access)",
        "client_id" => "Cognito access token: the app client it was issued to",
        "scope" => "Scopes granted to the access token",
        "cognito:username" => "Cognito user name",
        "cognito:groups" => "Cognito groups the user belongs to",
        "cognito:roles" => {
            "Cognito: IAM roles of the user's groups (an identity pool may let the user pick one)"
        }
        "cognito:preferred_role" => "Cognito: the IAM role of the user's highest-precedence group",
        "identities" => {
            "Cognito: the external identity providers (Google, SAML…) this user signed in with"
        }
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
    let claims = jwt
        .claims()
        .iter()
        .map(|(name, value)| ClaimRow {
            name: name.clone(),
            value: value.clone(),
            human: match name.as_str() {
                "exp" | "iat" | "nbf" | "auth_time" => jwt.claim_time(name).map(|t| {
                    format!(
                        "{} ({})",
                        utc(t).format("%Y-%m-%d %H:%M:%S UTC"),
                        relative(t.saturating_sub(now))
                    )
                }),
                _ => None,
            },
            explanation: explain(name).map(str::to_owned),
        })
        .collect();
    let mut checks = vec![match jwt.alg() {
        Some(a) if Alg::parse(a).is_some() => Check::ok(
            CheckName::Alg,
            format!("{a} is an accepted asymmetric algorithm"),
        ),
        Some(a) => Check::fail(
            CheckName::Alg,
            format!(
                "`{a}` is not accepted (allowed: {})",
                ALLOWED_ALGS.join(", ")
            ),
        ),
        None => Check::fail(CheckName::Alg, "no `alg` in the header"),
    }];
    checks.push(Check::fail(CheckName::Signature, "not verified (offline inspection; signed-in tokens are verified against the provider's keys)"));
    checks.push(match jwt.claim_time("exp") {
        Some(exp) if now < exp => Check::ok(
            CheckName::Exp,
            format!("valid, expires {}", relative(exp.saturating_sub(now))),
        ),
        Some(exp) => Check::fail(
            CheckName::Exp,
            format!("expired {}", relative(exp.saturating_sub(now))),
        ),
        None => Check::fail(CheckName::Exp, "no valid `exp` claim"),
    });
    if let Some(iat) = jwt.claim_time("iat") {
        checks.push(Check {
            name: CheckName::Iat,
            passed: iat <= now.saturating_add(60),
            reason: format!("issued {}", relative(iat.saturating_sub(now))),
        });
    }
    let kind = match jwt.claim_str("token_use") {
        Some("id") => TokenKind::Id,
        Some("access") => TokenKind::Access,
        _ if jwt.claims().contains_key("nonce") || jwt.claims().contains_key("at_hash") => {
            TokenKind::Id
        }
        _ => TokenKind::Unknown,
    };
    Ok(Inspection {
        kind,
        header: jwt.header().clone(),
        claims,
        checks,
    })
}
