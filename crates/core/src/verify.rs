//! Token validation: the checks openidconnect leaves to the caller (leeway, `iat` sanity,
//! `at_hash`, azp, Cognito `token_use`) plus signature and claim checks, each a named `Check`.

use base64::Engine;
use openidconnect::core::{CoreJsonWebKey, CoreJwsSigningAlgorithm};
use openidconnect::JsonWebKey;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::provider::Provider;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Signing algorithms accepted for tokens. Never `none`, never HS* (a public client has no secret).
pub const ALLOWED_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// One verification step and its outcome.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub reason: String,
}

impl Check {
    pub(crate) fn ok(name: &str, reason: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            passed: true,
            reason: reason.into(),
        }
    }
    fn fail(name: &str, reason: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            passed: false,
            reason: reason.into(),
        }
    }
}

/// A decoded (not yet trusted) JWS compact token.
#[derive(Debug, Clone)]
pub struct Jwt {
    pub header: Value,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

fn b64_decode(part: &str) -> Option<Vec<u8>> {
    B64.decode(part.trim_end_matches('=')).ok()
}

/// Split and decode a JWT. Says why when it is not one (never echoes the token).
pub fn decode_jwt(token: &str) -> std::result::Result<Jwt, String> {
    let parts: Vec<&str> = token.trim().split('.').collect();
    if parts.len() == 5 {
        return Err(
            "this is an encrypted token (JWE); it cannot be decoded without the provider's key"
                .into(),
        );
    }
    if parts.len() != 3 {
        return Err(format!(
            "not a JWT: expected 3 dot-separated parts, found {}",
            parts.len()
        ));
    }
    let header: Value = b64_decode(parts[0])
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|v: &Value| v.is_object())
        .ok_or("the header is not base64url-encoded JSON")?;
    let claims: Map<String, Value> = b64_decode(parts[1])
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("the payload is not base64url-encoded JSON")?;
    let signature = b64_decode(parts[2]).ok_or("the signature is not base64url")?;
    Ok(Jwt {
        header,
        claims,
        signing_input: format!("{}.{}", parts[0], parts[1]),
        signature,
    })
}

impl Jwt {
    pub fn alg(&self) -> Option<&str> {
        self.header.get("alg").and_then(|v| v.as_str())
    }
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(|v| v.as_str())
    }
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(|v| v.as_str())
    }
    pub fn claim_i64(&self, name: &str) -> Option<i64> {
        self.claims
            .get(name)
            .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
    }
    /// `aud` as a list (a string is a one-element list).
    pub fn audiences(&self) -> Vec<String> {
        match self.claims.get("aud") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => vec![],
        }
    }
}

/// The header checks (alg allow-list, no `crit`). Returns the parsed algorithm when acceptable.
fn check_alg(jwt: &Jwt, checks: &mut Vec<Check>) -> Option<CoreJwsSigningAlgorithm> {
    if jwt.header.get("crit").is_some() {
        checks.push(Check::fail(
            "alg",
            "the header has a `crit` parameter Latchkey does not understand",
        ));
        return None;
    }
    match jwt.alg() {
        None => {
            checks.push(Check::fail("alg", "the header has no `alg`"));
            None
        }
        Some("none") => {
            checks.push(Check::fail("alg", "`alg` is `none`: the token is unsigned"));
            None
        }
        Some(a) if a.starts_with("HS") => {
            checks.push(Check::fail("alg", format!("`{a}` is a shared-secret algorithm; a public client has no secret, so such a token proves nothing")));
            None
        }
        Some(a) if !ALLOWED_ALGS.contains(&a) => {
            checks.push(Check::fail(
                "alg",
                format!(
                    "`{a}` is not an accepted signing algorithm ({})",
                    ALLOWED_ALGS.join(", ")
                ),
            ));
            None
        }
        Some(a) => match serde_json::from_value::<CoreJwsSigningAlgorithm>(Value::String(a.into()))
        {
            Ok(alg) => {
                checks.push(Check::ok(
                    "alg",
                    format!("{a} is an accepted asymmetric algorithm"),
                ));
                Some(alg)
            }
            Err(_) => {
                checks.push(Check::fail("alg", format!("`{a}` is not supported")));
                None
            }
        },
    }
}

/// Verify the signature with the provider's keys. Returns the key used.
async fn check_signature(
    provider: &Provider,
    jwt: &Jwt,
    alg: &CoreJwsSigningAlgorithm,
    checks: &mut Vec<Check>,
) -> Option<CoreJsonWebKey> {
    let keys = match provider.candidate_keys(jwt.kid(), alg).await {
        Ok(k) => k,
        Err(e) => {
            checks.push(Check::fail("signature", e.message().to_owned()));
            return None;
        }
    };
    for key in keys {
        if key
            .verify_signature(alg, jwt.signing_input.as_bytes(), &jwt.signature)
            .is_ok()
        {
            checks.push(Check::ok(
                "signature",
                format!(
                    "valid, key {}",
                    key.key_id()
                        .map(|k| k.as_str().to_owned())
                        .unwrap_or_else(|| "(no kid)".into())
                ),
            ));
            return Some(key);
        }
    }
    checks.push(Check::fail("signature", "the signature does not match the provider's key: the token was altered or not issued by this provider"));
    None
}

/// What an ID token must match.
#[derive(Debug, Clone)]
pub struct IdTokenExpectations<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub now: i64,
    pub leeway: i64,
    /// Reject an `iat` older than this many seconds (sanity bound).
    pub max_iat_age: i64,
    pub nonce: Option<&'a str>,
    pub access_token: Option<&'a str>,
    pub cognito: bool,
    /// On refresh: the original token's (iss, sub, aud) that must not change (OIDC Core §12.2).
    pub previous: Option<(&'a str, &'a str, &'a [String])>,
}

pub const DEFAULT_MAX_IAT_AGE: i64 = 24 * 3600;

fn time_checks(
    jwt: &Jwt,
    now: i64,
    leeway: i64,
    max_iat_age: Option<i64>,
    checks: &mut Vec<Check>,
) {
    match jwt.claim_i64("exp") {
        None => checks.push(Check::fail("exp", "no `exp` claim")),
        Some(exp) if now >= exp + leeway => checks.push(Check::fail(
            "exp",
            format!("expired {} s ago (leeway {leeway} s)", now - exp),
        )),
        Some(exp) => checks.push(Check::ok("exp", format!("valid for {} s more", exp - now))),
    }
    if let Some(max_age) = max_iat_age {
        match jwt.claim_i64("iat") {
            None => checks.push(Check::fail("iat", "no `iat` claim")),
            Some(iat) if iat > now + leeway => checks.push(Check::fail(
                "iat",
                format!(
                    "issued {} s in the future (leeway {leeway} s): the clocks disagree",
                    iat - now
                ),
            )),
            Some(iat) if now - iat > max_age => checks.push(Check::fail(
                "iat",
                format!(
                    "issued {} s ago, more than the {max_age} s sanity bound",
                    now - iat
                ),
            )),
            Some(_) => checks.push(Check::ok("iat", "plausible issue time")),
        }
    }
    if let Some(nbf) = jwt.claim_i64("nbf") {
        if nbf > now + leeway {
            checks.push(Check::fail(
                "nbf",
                format!("not valid for another {} s", nbf - now),
            ));
        } else {
            checks.push(Check::ok("nbf", "already valid"));
        }
    }
}

/// Claim checks of an ID token (everything but the signature).
pub fn id_token_claim_checks(
    jwt: &Jwt,
    x: &IdTokenExpectations<'_>,
    alg: Option<&CoreJwsSigningAlgorithm>,
    key: Option<&CoreJsonWebKey>,
) -> Vec<Check> {
    let mut checks = Vec::new();
    match jwt.claim_str("iss") {
        Some(iss) if iss == x.issuer => {
            checks.push(Check::ok("iss", "matches the configured issuer"))
        }
        Some(iss) => checks.push(Check::fail(
            "iss",
            format!("issuer `{iss}` is not the configured `{}`", x.issuer),
        )),
        None => checks.push(Check::fail("iss", "no `iss` claim")),
    }
    match jwt.claim_str("sub") {
        Some(s) if !s.is_empty() => checks.push(Check::ok("sub", "present")),
        _ => checks.push(Check::fail(
            "sub",
            "no `sub` claim: the token names no user",
        )),
    }
    let auds = jwt.audiences();
    if auds.is_empty() {
        checks.push(Check::fail("aud", "no `aud` claim"));
    } else if !auds.iter().any(|a| a == x.client_id) {
        checks.push(Check::fail("aud", "the audience does not include this app's client id: the token was issued to another app"));
    } else {
        checks.push(Check::ok("aud", "includes this app's client id"));
    }
    let others = auds.iter().any(|a| a != x.client_id);
    match jwt.claim_str("azp") {
        Some(azp) if azp != x.client_id => {
            checks.push(Check::fail("azp", "`azp` names another client"))
        }
        Some(_) => checks.push(Check::ok("azp", "is this app's client id")),
        None if others => checks.push(Check::fail(
            "azp",
            "`aud` lists other clients too, but `azp` is missing",
        )),
        None => {}
    }
    time_checks(jwt, x.now, x.leeway, Some(x.max_iat_age), &mut checks);
    if let Some(expected) = x.nonce {
        match jwt.claim_str("nonce") {
            Some(n) if crate::secret::constant_time_eq(n.as_bytes(), expected.as_bytes()) => {
                checks.push(Check::ok("nonce", "matches this sign-in"))
            }
            Some(_) => checks.push(Check::fail(
                "nonce",
                "`nonce` does not match this sign-in (replayed or injected token)",
            )),
            None => checks.push(Check::fail(
                "nonce",
                "no `nonce` claim although one was sent",
            )),
        }
    }
    if let Some(at_hash) = jwt.claim_str("at_hash") {
        if let (Some(at), Some(alg), Some(key)) = (x.access_token, alg, key) {
            match key.hash_bytes(at.as_bytes(), alg) {
                Ok(h) if B64.encode(&h[..h.len() / 2]) == at_hash => {
                    checks.push(Check::ok("at_hash", "matches the access token"))
                }
                Ok(_) => checks.push(Check::fail(
                    "at_hash",
                    "`at_hash` does not match the access token that came with it",
                )),
                Err(_) => checks.push(Check::fail(
                    "at_hash",
                    "cannot compute the hash for this algorithm",
                )),
            }
        }
    }
    if x.cognito {
        match jwt.claim_str("token_use") {
            Some("id") => checks.push(Check::ok("token_use", "id")),
            other => checks.push(Check::fail(
                "token_use",
                format!("Cognito `token_use` is {other:?}, expected \"id\""),
            )),
        }
    }
    if let Some((iss, sub, aud)) = x.previous {
        let same = jwt.claim_str("iss") == Some(iss)
            && jwt.claim_str("sub") == Some(sub)
            && auds.as_slice() == aud;
        if same {
            checks.push(Check::ok(
                "same_identity",
                "iss, sub and aud match the original sign-in",
            ));
        } else {
            checks.push(Check::fail("same_identity", "the refreshed ID token's iss, sub or aud differs from the original sign-in (OIDC Core §12.2)"));
        }
    }
    checks
}

/// An ID token that passed every check.
#[derive(Debug, Clone)]
pub struct VerifiedIdToken {
    pub jwt: Jwt,
    pub checks: Vec<Check>,
}

impl VerifiedIdToken {
    pub fn sub(&self) -> &str {
        self.jwt.claim_str("sub").unwrap_or_default()
    }
    pub fn exp(&self) -> i64 {
        self.jwt.claim_i64("exp").unwrap_or_default()
    }
}

fn first_failure(checks: &[Check]) -> Option<&Check> {
    checks.iter().find(|c| !c.passed)
}

/// Run all ID-token checks; `Ok` only when every one passed.
pub async fn verify_id_token(
    provider: &Provider,
    token: &str,
    x: &IdTokenExpectations<'_>,
) -> Result<VerifiedIdToken> {
    let (checks, jwt) = id_token_checks(provider, token, x).await;
    match (first_failure(&checks), jwt) {
        (None, Some(jwt)) => Ok(VerifiedIdToken { jwt, checks }),
        (Some(c), _) => Err(Error::verification(format!(
            "ID token check `{}` failed: {}",
            c.name, c.reason
        ))),
        (None, None) => Err(Error::verification("the ID token is not a JWT")),
    }
}

/// All checks of an ID token, for verification and for the inspector.
pub async fn id_token_checks(
    provider: &Provider,
    token: &str,
    x: &IdTokenExpectations<'_>,
) -> (Vec<Check>, Option<Jwt>) {
    let jwt = match decode_jwt(token) {
        Ok(j) => j,
        Err(e) => return (vec![Check::fail("format", e)], None),
    };
    let mut checks = vec![];
    let alg = check_alg(&jwt, &mut checks);
    let key = match &alg {
        Some(a) => check_signature(provider, &jwt, a, &mut checks).await,
        None => None,
    };
    checks.extend(id_token_claim_checks(&jwt, x, alg.as_ref(), key.as_ref()));
    (checks, Some(jwt))
}

/// Cognito access tokens: signature, iss, exp, `token_use = access`, `client_id`.
pub async fn cognito_access_token_checks(
    provider: &Provider,
    token: &str,
    issuer: &str,
    client_id: &str,
    now: i64,
    leeway: i64,
) -> Vec<Check> {
    let jwt = match decode_jwt(token) {
        Ok(j) => j,
        Err(e) => return vec![Check::fail("format", e)],
    };
    let mut checks = vec![];
    if let Some(alg) = check_alg(&jwt, &mut checks) {
        check_signature(provider, &jwt, &alg, &mut checks).await;
    }
    match jwt.claim_str("iss") {
        Some(i) if i == issuer => checks.push(Check::ok("iss", "matches the configured issuer")),
        _ => checks.push(Check::fail(
            "iss",
            "the access token's issuer is not the configured one",
        )),
    }
    time_checks(&jwt, now, leeway, None, &mut checks);
    match jwt.claim_str("token_use") {
        Some("access") => checks.push(Check::ok("token_use", "access")),
        other => checks.push(Check::fail(
            "token_use",
            format!("Cognito `token_use` is {other:?}, expected \"access\""),
        )),
    }
    match jwt.claim_str("client_id") {
        Some(c) if c == client_id => checks.push(Check::ok("client_id", "this app's client id")),
        _ => checks.push(Check::fail(
            "client_id",
            "the access token was issued to another client",
        )),
    }
    checks
}

pub async fn verify_cognito_access_token(
    provider: &Provider,
    token: &str,
    issuer: &str,
    client_id: &str,
    now: i64,
    leeway: i64,
) -> Result<()> {
    let checks = cognito_access_token_checks(provider, token, issuer, client_id, now, leeway).await;
    match first_failure(&checks) {
        None => Ok(()),
        Some(c) => Err(Error::verification(format!(
            "access token check `{}` failed: {}",
            c.name, c.reason
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(header: Value, claims: Value) -> String {
        format!(
            "{}.{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string()),
            B64.encode(b"sig")
        )
    }

    fn x<'a>(now: i64) -> IdTokenExpectations<'a> {
        IdTokenExpectations {
            issuer: "https://iss",
            client_id: "cid",
            now,
            leeway: 60,
            max_iat_age: DEFAULT_MAX_IAT_AGE,
            nonce: Some("n1"),
            access_token: None,
            cognito: true,
            previous: None,
        }
    }

    fn failed(checks: &[Check]) -> Vec<String> {
        checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.clone())
            .collect()
    }

    #[test]
    fn claims_all_pass() {
        let t = fake(
            serde_json::json!({"alg":"RS256"}),
            serde_json::json!({"iss":"https://iss","sub":"u","aud":"cid","exp":1100,"iat":1000,"nonce":"n1","token_use":"id"}),
        );
        let jwt = decode_jwt(&t).unwrap();
        assert!(failed(&id_token_claim_checks(&jwt, &x(1000), None, None)).is_empty());
    }

    #[test]
    fn leeway_applies_to_exp_and_iat() {
        let t = fake(
            serde_json::json!({"alg":"RS256"}),
            serde_json::json!({"iss":"https://iss","sub":"u","aud":"cid","exp":1000,"iat":1000,"nonce":"n1","token_use":"id"}),
        );
        let jwt = decode_jwt(&t).unwrap();
        assert!(failed(&id_token_claim_checks(&jwt, &x(1059), None, None)).is_empty());
        assert_eq!(
            failed(&id_token_claim_checks(&jwt, &x(1060), None, None)),
            vec!["exp"]
        );
        assert_eq!(
            failed(&id_token_claim_checks(&jwt, &x(939), None, None)),
            vec!["iat"]
        );
    }

    #[test]
    fn secondary_audience_needs_azp() {
        let t = fake(
            serde_json::json!({"alg":"RS256"}),
            serde_json::json!({"iss":"https://iss","sub":"u","aud":["cid","other"],"exp":1100,"iat":1000,"nonce":"n1","token_use":"id"}),
        );
        let jwt = decode_jwt(&t).unwrap();
        assert_eq!(
            failed(&id_token_claim_checks(&jwt, &x(1000), None, None)),
            vec!["azp"]
        );
    }

    #[test]
    fn alg_none_and_hs256_refused() {
        for alg in ["none", "HS256"] {
            let jwt =
                decode_jwt(&fake(serde_json::json!({"alg":alg}), serde_json::json!({}))).unwrap();
            let mut c = vec![];
            assert!(check_alg(&jwt, &mut c).is_none());
            assert!(!c[0].passed);
        }
    }

    #[test]
    fn jwe_is_explained() {
        assert!(decode_jwt("a.b.c.d.e").unwrap_err().contains("encrypted"));
    }
}
