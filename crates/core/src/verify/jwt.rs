//! Decoding a JWS compact token (not yet trusted) and reading its claims strictly: a claim that
//! is missing and a claim that is there but malformed are different answers.

use std::fmt;

use base64::Engine;
use serde_json::{Map, Value};

/// The largest token Latchkey decodes. Cognito's ID tokens are a few KB even with many groups;
/// anything far larger is a provider fault or an attack on the keychain and the UI.
pub const MAX_TOKEN_BYTES: usize = 32 * 1024;

/// The latest NumericDate accepted (9999-12-31T23:59:59Z); later values are absurd.
const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

pub(crate) const B64: base64::engine::GeneralPurpose =
    base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Why a string is not a decodable JWT. Never contains the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The token (trimmed) is longer than [`MAX_TOKEN_BYTES`].
    TooLarge {
        /// The trimmed token's length in bytes.
        bytes: usize,
    },
    /// The token has five parts: it is an encrypted JWE, which Latchkey cannot read.
    Encrypted,
    /// The token does not have three dot-separated parts; carries the count found.
    Parts(usize),
    /// The first part is not a base64url-encoded JSON object (the JOSE header).
    Header,
    /// The second part is not a base64url-encoded JSON object (the claims).
    Payload,
    /// The third part is not valid base64url.
    Signature,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooLarge { bytes } => write!(
                f,
                "the token is {bytes} bytes, over Latchkey's limit of {MAX_TOKEN_BYTES} bytes"
            ),
            DecodeError::Encrypted => f.write_str(
                "this is an encrypted token (JWE); it cannot be decoded without the provider's key",
            ),
            DecodeError::Parts(n) => {
                write!(f, "not a JWT: expected 3 dot-separated parts, found {n}")
            }
            DecodeError::Header => f.write_str("the header is not base64url-encoded JSON"),
            DecodeError::Payload => {
                f.write_str("the payload is not a base64url-encoded JSON object")
            }
            DecodeError::Signature => f.write_str("the signature is not base64url"),
        }
    }
}

/// What is wrong with a claim the checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClaimProblem {
    Missing,
    Malformed(String),
}

impl ClaimProblem {
    /// A sentence about claim `name`: "no `exp` claim" or "`exp` is a string, not …".
    pub(crate) fn describe(&self, name: &str) -> String {
        match self {
            ClaimProblem::Missing => format!("no `{name}` claim"),
            ClaimProblem::Malformed(why) => format!("`{name}` is malformed: {why}"),
        }
    }
}

/// A JSON value's kind, for messages ("a string", "a number").
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A decoded (not yet trusted) JWS compact token. `Debug` shows the header and the claim
/// names only: never enough to rebuild the token.
#[derive(Clone)]
pub struct Jwt {
    pub(crate) header: Map<String, Value>,
    pub(crate) claims: Map<String, Value>,
    pub(crate) signing_input: String,
    pub(crate) signature: Vec<u8>,
}

impl fmt::Debug for Jwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwt")
            .field("alg", &self.alg())
            .field("kid", &self.kid())
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn b64_decode(part: &str) -> Option<Vec<u8>> {
    B64.decode(part).ok()
}

/// Split and decode a JWT. Says why when it is not one (never echoes the token).
pub fn decode_jwt(token: &str) -> Result<Jwt, DecodeError> {
    let token = token.trim();
    if token.len() > MAX_TOKEN_BYTES {
        return Err(DecodeError::TooLarge { bytes: token.len() });
    }
    let parts: Vec<&str> = token.split('.').collect();
    match parts.len() {
        3 => {}
        5 => return Err(DecodeError::Encrypted),
        n => return Err(DecodeError::Parts(n)),
    }
    let object = |part: &str| match b64_decode(part).map(|b| serde_json::from_slice(&b)) {
        Some(Ok(Value::Object(map))) => Some(map),
        _ => None,
    };
    let header = object(parts[0]).ok_or(DecodeError::Header)?;
    let claims = object(parts[1]).ok_or(DecodeError::Payload)?;
    let signature = b64_decode(parts[2]).ok_or(DecodeError::Signature)?;
    Ok(Jwt {
        header,
        claims,
        signing_input: format!("{}.{}", parts[0], parts[1]),
        signature,
    })
}

impl Jwt {
    /// The decoded JOSE header (first part), as sent; nothing in it is checked yet.
    pub fn header(&self) -> &Map<String, Value> {
        &self.header
    }
    /// The decoded payload (second part): every claim as sent, not yet verified.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }
    /// The header's `alg`; `None` when absent or not a string. Not checked against the
    /// allow-list here.
    pub fn alg(&self) -> Option<&str> {
        self.header.get("alg").and_then(Value::as_str)
    }
    /// The header's `kid` (which JWKS key signed); `None` when absent or not a string.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }
    /// A string claim, if it is one (for display; checks use the strict readers).
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
    /// A time claim, if it is a valid NumericDate (for display and scheduling).
    pub fn claim_time(&self, name: &str) -> Option<i64> {
        self.numeric_date(name).ok()
    }
    /// The string array claim (e.g. `cognito:groups`), empty when absent or not an array.
    pub fn claim_strings(&self, name: &str) -> Vec<String> {
        self.claims
            .get(name)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A required string claim.
    pub(crate) fn string_claim(&self, name: &str) -> Result<&str, ClaimProblem> {
        match self.claims.get(name) {
            None | Some(Value::Null) => Err(ClaimProblem::Missing),
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(ClaimProblem::Malformed(format!(
                "it is {}, not a string",
                json_kind(other)
            ))),
        }
    }

    /// A NumericDate claim (RFC 7519 §2): a JSON number of seconds, within a sane range.
    pub(crate) fn numeric_date(&self, name: &str) -> Result<i64, ClaimProblem> {
        let v = match self.claims.get(name) {
            None | Some(Value::Null) => return Err(ClaimProblem::Missing),
            Some(v) => v,
        };
        let Value::Number(n) = v else {
            return Err(ClaimProblem::Malformed(format!(
                "it is {}, not a number of seconds since 1970",
                json_kind(v)
            )));
        };
        let secs = match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Some(i),
            (None, Some(f)) if f.is_finite() && f.abs() < 1e15 => Some(f.floor() as i64),
            _ => None,
        };
        match secs {
            Some(s) if (0..=MAX_NUMERIC_DATE).contains(&s) => Ok(s),
            _ => Err(ClaimProblem::Malformed(
                "the time is out of range (before 1970 or after the year 9999)".into(),
            )),
        }
    }

    /// `aud` as a list (RFC 7519 §4.1.3: a string or an array of strings).
    pub(crate) fn audiences(&self) -> Result<Vec<String>, ClaimProblem> {
        match self.claims.get("aud") {
            None | Some(Value::Null) => Err(ClaimProblem::Missing),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(ClaimProblem::Malformed(format!(
                        "the array holds {}, not only strings",
                        json_kind(other)
                    ))),
                })
                .collect(),
            Some(other) => Err(ClaimProblem::Malformed(format!(
                "it is {}, not a string or an array of strings",
                json_kind(other)
            ))),
        }
    }

    /// `aud` for display: whatever strings it holds.
    pub fn audiences_lenient(&self) -> Vec<String> {
        self.audiences().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token(claims: Value) -> String {
        format!(
            "{}.{}.{}",
            B64.encode(json!({"alg":"RS256"}).to_string()),
            B64.encode(claims.to_string()),
            B64.encode(b"sig")
        )
    }

    #[test]
    fn missing_and_malformed_claims_are_told_apart() {
        let jwt = decode_jwt(&token(json!({"exp": "1700000000", "aud": 7, "iat": 1.5e9}))).unwrap();
        assert_eq!(jwt.numeric_date("nbf"), Err(ClaimProblem::Missing));
        assert!(matches!(
            jwt.numeric_date("exp"),
            Err(ClaimProblem::Malformed(m)) if m.contains("a string")
        ));
        assert!(
            matches!(jwt.audiences(), Err(ClaimProblem::Malformed(m)) if m.contains("a number"))
        );
        assert_eq!(jwt.numeric_date("iat"), Ok(1_500_000_000));
    }

    #[test]
    fn absurd_times_are_malformed_not_overflowing() {
        for v in [json!(i64::MAX), json!(-1), json!(1e300), json!(u64::MAX)] {
            let jwt = decode_jwt(&token(json!({ "exp": v }))).unwrap();
            assert!(matches!(
                jwt.numeric_date("exp"),
                Err(ClaimProblem::Malformed(_))
            ));
        }
    }

    #[test]
    fn oversized_encrypted_and_broken_tokens_are_explained() {
        let big = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(
            decode_jwt(&big).unwrap_err(),
            DecodeError::TooLarge {
                bytes: MAX_TOKEN_BYTES + 1
            }
        );
        assert_eq!(decode_jwt("a.b.c.d.e").unwrap_err(), DecodeError::Encrypted);
        assert_eq!(decode_jwt("a.b").unwrap_err(), DecodeError::Parts(2));
        assert_eq!(decode_jwt("!.e30.c2ln").unwrap_err(), DecodeError::Header);
    }

    #[test]
    fn debug_shows_no_token_material() {
        let t = token(json!({"sub": "user-secret-sub", "exp": 1}));
        let shown = format!("{:?}", decode_jwt(&t).unwrap());
        assert!(
            !shown.contains("user-secret-sub") && !shown.contains(&t[..20]),
            "{shown}"
        );
    }
}
