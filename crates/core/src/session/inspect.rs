//! What the session can tell about its tokens without changing them: the inspector's decoded
//! and verified views (current or pasted tokens), the refresh token's facts, and userinfo.

use super::{RefreshTokenInfo, Session};
use crate::clock::utc;
use crate::config::TokenChoice;
use crate::error::{CheckName, Error, Result};
use crate::http::{read_limited, USERINFO_LIMIT};
use crate::inspect::{inspect_jwt, Inspection, TokenKind};
use crate::verify::{AccessTokenVerifier, Check, IdTokenVerifier};

impl Session {
    /// Inspect any JWT the user pastes, verified against this profile's provider when it can
    /// be reached (signature via the JWKS, issuer, audience or client id, times); when it can
    /// not, the decoding stands and the signature check says why it was not verified.
    pub async fn inspect_token(&self, token: &str) -> Result<Inspection> {
        let now = self.now();
        let mut insp = inspect_jwt(token, Some(now))?;
        let provider = match self.provider().await {
            Ok(provider) => provider,
            Err(e) => {
                insp.not_verified(&e);
                return Ok(insp);
            }
        };
        let profile = &self.inner.profile;
        let checks = match insp.kind {
            TokenKind::Access if profile.is_cognito() => {
                AccessTokenVerifier::new(&provider, profile, now)
                    .checks(token)
                    .await
            }
            // A generic provider's access token is opaque to the client by contract.
            TokenKind::Access => {
                insp.opaque_access_token();
                return Ok(insp);
            }
            TokenKind::Id | TokenKind::Unknown => IdTokenVerifier::new(&provider, profile, now)
                .max_iat_age(None)
                .checks(token)
                .await
                .map(|(checks, _)| checks),
        };
        match checks {
            Ok(checks) => insp.checks = checks,
            Err(e) => insp.not_verified(&e),
        }
        Ok(insp)
    }

    /// Inspect the current ID or access token, with full verification checks.
    pub async fn inspect_current(&self, which: TokenChoice) -> Result<Inspection> {
        let (token, access_token) = {
            let guard = self.inner.current.lock().unwrap();
            let set = guard.as_ref().ok_or_else(Error::not_signed_in)?;
            let token = match which {
                TokenChoice::Id => set.id_token.clone(),
                TokenChoice::Access => set.access_token.clone(),
            };
            (token, set.access_token.clone())
        };
        let now = self.now();
        let mut insp = inspect_jwt(token.expose(), Some(now))?;
        insp.kind = match which {
            TokenChoice::Id => TokenKind::Id,
            TokenChoice::Access => TokenKind::Access,
        };
        let provider = match self.provider().await {
            Ok(p) => p,
            Err(e) => {
                insp.not_verified(&e);
                return Ok(insp);
            }
        };
        let profile = &self.inner.profile;
        let checks = match which {
            TokenChoice::Id => IdTokenVerifier::new(&provider, profile, now)
                .max_iat_age(None)
                .access_token(access_token.expose())
                .checks(token.expose())
                .await
                .map(|(mut checks, _)| {
                    // The nonce is checked when a token arrives from a sign-in; it is not kept.
                    checks.push(Check::ok(
                        CheckName::Nonce,
                        match insp.claims.iter().any(|c| c.name == "nonce") {
                            true => "matched this sign-in's request when the token was received",
                            false => "none in this token: a refreshed ID token carries no nonce (OIDC Core 12.2)",
                        },
                    ));
                    checks
                }),
            TokenChoice::Access if profile.is_cognito() => {
                AccessTokenVerifier::new(&provider, profile, now)
                    .checks(token.expose())
                    .await
            }
            TokenChoice::Access => {
                insp.opaque_access_token();
                Ok(insp.checks.clone())
            }
        };
        match checks {
            Ok(checks) => insp.checks = checks,
            Err(e) => insp.not_verified(&e),
        }
        Ok(insp)
    }

    /// Length, age and kind of the refresh token (never its value).
    pub fn refresh_token_info(&self) -> Option<RefreshTokenInfo> {
        let guard = self.inner.current.lock().unwrap();
        let set = guard.as_ref()?;
        let token = set.refresh_token.as_ref()?;
        let kind = match token.expose().split('.').count() {
            5 => "encrypted JWT (JWE), opaque to the client",
            3 => "JWT (treated as opaque)",
            _ => "opaque",
        };
        Some(RefreshTokenInfo {
            kind: kind.into(),
            length: token.len(),
            stored_since: utc(set.refresh_stored_since),
            store: self.storage().store_name,
        })
    }

    /// Call the userinfo endpoint with the access token (Bearer header) and check its `sub`.
    pub async fn userinfo(&self) -> Result<serde_json::Value> {
        let provider = self.provider().await?;
        let url = provider
            .metadata
            .userinfo_endpoint
            .clone()
            .ok_or_else(|| Error::provider("the provider has no userinfo endpoint."))?;
        let access_token = self.token(TokenChoice::Access).await?;
        let sub = self
            .inner
            .current
            .lock()
            .unwrap()
            .as_ref()
            .map(|c| c.identity.sub.clone())
            .unwrap_or_default();
        let resp = provider
            .http()
            .get(url)
            .bearer_auth(access_token.expose())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| Error::from_http("userinfo", &e))?;
        if !resp.status().is_success() {
            // RFC 6750 §3: the reason is in `WWW-Authenticate` (Cognito's `invalid_token`
            // for an expired or revoked access token).
            let reason = resp
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .and_then(bearer_error)
                .map(|e| format!(" (`{e}`)"))
                .unwrap_or_default();
            return Err(Error::provider(format!(
                "the userinfo endpoint answered HTTP {}{reason}; the access token was refused. Sign in again if it persists.",
                resp.status().as_u16()
            )));
        }
        let body = read_limited(resp, USERINFO_LIMIT, "the userinfo response").await?;
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| Error::provider("the userinfo response is not JSON."))?;
        if v.get("sub").and_then(|s| s.as_str()) != Some(sub.as_str()) {
            return Err(Error::check_failed(
                "userinfo response",
                CheckName::UserinfoSub,
                "it is about a different user (`sub` differs from the ID token's)",
            ));
        }
        Ok(v)
    }
}

/// The `error` and `error_description` of a `Bearer` challenge, printable and short.
fn bearer_error(challenge: &str) -> Option<String> {
    let param = |name: &str| {
        let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
        let end = challenge[start..].find('"')? + start;
        Some(crate::token_endpoint::sanitize(&challenge[start..end], 120))
    };
    let error = param("error")?;
    Some(match param("error_description") {
        Some(description) => format!("{error}: {description}"),
        None => error,
    })
}

#[cfg(test)]
mod tests {
    use super::bearer_error;

    #[test]
    fn the_bearer_challenges_reason_is_read() {
        assert_eq!(
            bearer_error(
                r#"Bearer error="invalid_token", error_description="Access token has been revoked""#
            )
            .as_deref(),
            Some("invalid_token: Access token has been revoked")
        );
        assert_eq!(
            bearer_error(r#"Bearer error="invalid_token""#).as_deref(),
            Some("invalid_token")
        );
        assert_eq!(bearer_error(r#"Bearer realm="x""#), None);
        assert_eq!(
            bearer_error("Bearer error=\"bad\u{1b}[2J\"").as_deref(),
            Some("bad[2J"),
            "control characters never reach the terminal"
        );
    }
}
