//! The provider's own checks of tokens it issued (for `/oauth2/userInfo` and the demo API):
//! RS256 signature with its current keys, `iss`, `exp`, `token_use`, audience/client.

use serde_json::{Map, Value};

use crate::jwt;
use crate::provider::Provider;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenUse {
    Id,
    Access,
}

impl TokenUse {
    fn as_str(self) -> &'static str {
        match self {
            TokenUse::Id => "id",
            TokenUse::Access => "access",
        }
    }
}

/// Verifies a token this provider issued; the error says what failed, in plain words.
pub(crate) fn verify(
    p: &Provider,
    token: &str,
    expected: TokenUse,
) -> Result<Map<String, Value>, String> {
    let decoded = jwt::decode(token).map_err(str::to_string)?;
    let alg = decoded
        .header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or("");
    if alg != "RS256" {
        return Err(format!(
            "unsupported signing algorithm {alg:?}: only RS256 is accepted"
        ));
    }
    let kid = decoded
        .header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or("the token header has no kid")?;
    {
        let keys = p.keys();
        let key = keys
            .by_kid(kid)
            .ok_or_else(|| format!("the signing key {kid:?} is not in the provider's JWKS"))?;
        if !key.verify_rs256(decoded.signing_input.as_bytes(), &decoded.signature) {
            return Err("the token's signature is invalid".to_string());
        }
    }
    let Value::Object(claims) = decoded.claims else {
        return Err("the token's claims are not a JSON object".to_string());
    };
    let issuer = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    if issuer != p.settings.issuer {
        return Err(format!(
            "the token was issued by {issuer:?}, not by this provider"
        ));
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or("the token has no exp claim")?;
    if exp <= p.now() {
        return Err("the token has expired".to_string());
    }
    let token_use = claims
        .get("token_use")
        .and_then(Value::as_str)
        .unwrap_or("");
    if token_use != expected.as_str() {
        return Err(match expected {
            TokenUse::Id => format!("token_use is {token_use:?}: this API needs the ID token"),
            TokenUse::Access => format!("token_use is {token_use:?}: an access token is required"),
        });
    }
    let client_id = &p.settings.client.client_id;
    let audience_ok = match expected {
        TokenUse::Id => match claims.get("aud") {
            Some(Value::String(aud)) => aud == client_id,
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(client_id)),
            _ => false,
        },
        TokenUse::Access => {
            claims.get("client_id").and_then(Value::as_str) == Some(client_id.as_str())
        }
    };
    if !audience_ok {
        return Err("the token was issued to another app client".to_string());
    }
    Ok(claims)
}
