//! The provider's own checks of tokens it issued (for `/oauth2/userInfo`, the JSON API and the
//! demo APIs): RS256 signature with its current keys, `iss`, `exp`, then `token_use` and client.

use serde_json::{Map, Value};

use crate::provider::Provider;
use crate::user_pool::jwt;

/// Why a token was refused, in plain words (for the log), and whether it had only expired.
#[derive(Debug)]
pub(crate) struct Rejected {
    pub(crate) reason: String,
    pub(crate) expired: bool,
}

impl Rejected {
    fn because(reason: impl Into<String>) -> Rejected {
        Rejected {
            reason: reason.into(),
            expired: false,
        }
    }
}

/// What every authorizer checks: an RS256 signature by a key in the JWKS, `iss`, `exp`.
pub(crate) fn verify_signed(p: &Provider, token: &str) -> Result<Map<String, Value>, Rejected> {
    let decoded = jwt::decode(token).map_err(Rejected::because)?;
    let alg = decoded
        .header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or("");
    if alg != "RS256" {
        return Err(Rejected::because(format!(
            "unsupported signing algorithm {alg:?}: only RS256 is accepted"
        )));
    }
    let kid = decoded
        .header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or_else(|| Rejected::because("the token header has no kid"))?;
    {
        let keys = p.keys();
        let key = keys.by_kid(kid).ok_or_else(|| {
            Rejected::because(format!(
                "the signing key {kid:?} is not in the provider's JWKS"
            ))
        })?;
        if !key.verify_rs256(decoded.signing_input.as_bytes(), &decoded.signature) {
            return Err(Rejected::because("the token's signature is invalid"));
        }
    }
    let Value::Object(claims) = decoded.claims else {
        return Err(Rejected::because(
            "the token's claims are not a JSON object",
        ));
    };
    let issuer = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    if issuer != p.settings.issuer {
        return Err(Rejected::because(format!(
            "the token was issued by {issuer:?}, not by this provider"
        )));
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| Rejected::because("the token has no numeric exp claim"))?;
    if exp <= p.now() {
        return Err(Rejected {
            reason: "the token has expired".to_string(),
            expired: true,
        });
    }
    Ok(claims)
}

impl Provider {
    /// [`verify_signed`], for the demo APIs' authorizers.
    pub(crate) fn verify_signed(&self, token: &str) -> Result<Map<String, Value>, Rejected> {
        verify_signed(self, token)
    }
}

/// [`verify_signed`] plus what an access token of this pool's app client must say
/// (`token_use: access`, `client_id`), for `/oauth2/userInfo` and the JSON API.
pub(crate) fn verify_access(p: &Provider, token: &str) -> Result<Map<String, Value>, Rejected> {
    let claims = verify_signed(p, token)?;
    let token_use = claims
        .get("token_use")
        .and_then(Value::as_str)
        .unwrap_or("");
    if token_use != "access" {
        return Err(Rejected::because(format!(
            "token_use is {token_use:?}: an access token is required"
        )));
    }
    if claims.get("client_id").and_then(Value::as_str) != Some(p.settings.client.client_id.as_str())
    {
        return Err(Rejected::because(
            "the token was issued to another app client",
        ));
    }
    Ok(claims)
}

/// The `aud` claim as a list (a string or an array of strings).
pub(crate) fn audiences(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.clone()],
        Some(Value::Array(auds)) => auds
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// The `scope` claim as a list.
pub(crate) fn scopes(claims: &Map<String, Value>) -> Vec<String> {
    claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
