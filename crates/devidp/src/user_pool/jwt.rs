//! Hand-built compact JWS: base64url(header).base64url(claims).signature, plus decoding.
//! This is the provider's own code; it deliberately shares nothing with latchkey-core.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::user_pool::keys::SigningKey;

pub(crate) fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// `header.claims` as the signing input.
pub(crate) fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    )
}

/// An RS256-signed compact JWT.
pub(crate) fn sign_rs256(header: &Value, claims: &Value, key: &SigningKey) -> String {
    let input = signing_input(header, claims);
    let signature = key.sign_rs256(input.as_bytes());
    format!("{input}.{}", b64url(&signature))
}

/// HMAC-SHA256 (RFC 2104), for the HS256 alg-confusion fault.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block_key = [0u8; BLOCK];
    if key.len() > BLOCK {
        block_key[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block_key[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block_key.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block_key.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// OIDC `at_hash`: base64url of the left half of SHA-256 of the access token.
pub(crate) fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    b64url(&digest[..16])
}

/// A JWT split into its parts; nothing is verified yet.
pub(crate) struct DecodedJwt {
    pub(crate) header: Value,
    pub(crate) claims: Value,
    pub(crate) signing_input: String,
    pub(crate) signature: Vec<u8>,
}

/// Splits and decodes a compact JWS, or says why it is not one.
pub(crate) fn decode(token: &str) -> Result<DecodedJwt, &'static str> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the token is not a JWT (expected three dot-separated parts)");
    };
    let part = |p: &str| -> Result<Value, &'static str> {
        let bytes = URL_SAFE_NO_PAD
            .decode(p)
            .map_err(|_| "the token is not base64url-encoded")?;
        serde_json::from_slice(&bytes).map_err(|_| "the token's header or claims are not JSON")
    };
    Ok(DecodedJwt {
        header: part(h)?,
        claims: part(c)?,
        signing_input: format!("{h}.{c}"),
        signature: URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| "the token's signature is not base64url-encoded")?,
    })
}

/// Whether a string has the shape of a JWS (three parts, a JSON header with `alg`).
pub(crate) fn looks_like_jws(token: &str) -> bool {
    decode(token).is_ok_and(|jwt| jwt.header.get("alg").is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231_case_1() {
        let mac = hmac_sha256(&[0x0b; 20], b"Hi There");
        assert_eq!(
            crate::user_pool::store::hex(&mac),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn decode_rejects_non_jwts() {
        assert!(decode("a.b").is_err());
        assert!(decode("a.b.c.d").is_err());
        assert!(decode("!!.e30.").is_err());
        assert!(!looks_like_jws("eyJjdHkiOiJKV1QifQ.a.b.c.d"));
    }
}
