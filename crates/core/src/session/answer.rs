//! A token endpoint's answer, checked one way for a sign-in's code exchange and for a refresh:
//! the same ID-token and access-token checks (OIDC Core 12.2), plus what each adds.

use super::Session;
use crate::error::{Error, Result};
use crate::provider::Provider;
use crate::token_endpoint::TokenResponse;
use crate::verify::{decode_jwt, AccessTokenVerifier, IdTokenVerifier, Identity, VerifiedIdToken};

/// What an answer must match besides the provider's rules.
#[derive(Clone, Copy)]
pub(super) enum Answering<'a> {
    /// A sign-in's code exchange: an ID token is required and carries this sign-in's nonce.
    SignIn { nonce: &'a str },
    /// A refresh: the ID token may be left out (OIDC Core 12.2); one that comes names the
    /// original identity, authenticated at the original time.
    Refresh { original: &'a Identity },
}

/// When an access token was issued and when it expires, both on one clock: the provider's
/// (its JWT's `iat` and `exp`) or Latchkey's (received now, valid `expires_in` seconds). The
/// refresh margin is measured on this span, whatever happened to the ID token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AccessLifetime {
    pub issued_at: i64,
    pub expires_at: i64,
}

/// An answer that passed every check.
pub(super) struct CheckedAnswer {
    /// `None` only for a refresh whose answer carried no ID token.
    pub id_token: Option<VerifiedIdToken>,
    pub access: AccessLifetime,
}

/// The lifetime an access token is assumed to have when nothing says otherwise.
const DEFAULT_ACCESS_LIFETIME: i64 = 3600;

impl Session {
    /// Every check of `resp`: the ID token's (signature, `alg`, `kid`, `typ`, `iss`,
    /// `aud`/`azp`, `exp`/`iat`/`nbf` within the leeway and the `iat` age bound, size,
    /// `at_hash` against this access token, Cognito's `token_use`, and what `answering`
    /// adds), then the access token's (verified on Cognito) and its lifetime.
    pub(super) async fn check_answer(
        &self,
        provider: &Provider,
        resp: &TokenResponse,
        answering: Answering<'_>,
        now: i64,
    ) -> Result<CheckedAnswer> {
        let profile = &self.inner.profile;
        let id_token = match (&resp.id_token, answering) {
            (None, Answering::SignIn { .. }) => return Err(Error::provider(
                "the token response has no ID token; is `openid` in the profile's scopes? Nothing was stored.",
            )),
            (None, Answering::Refresh { .. }) => None,
            (Some(token), _) => {
                let verifier = IdTokenVerifier::new(provider, profile, now)
                    .max_iat_age(Some(self.inner.max_iat_age))
                    .access_token(resp.access_token.expose());
                let verifier = match answering {
                    Answering::SignIn { nonce } => verifier.nonce(nonce),
                    Answering::Refresh { original } => verifier.same_identity_as(original),
                };
                Some(verifier.verify(token.expose()).await?)
            }
        };
        let access = self.access_lifetime(provider, resp, now).await?;
        Ok(CheckedAnswer { id_token, access })
    }

    /// Cognito: verify the access token and take its `exp`; others: `expires_in` from now
    /// (else the JWT's `exp`, else an hour). The issue time is on the same clock as the expiry.
    async fn access_lifetime(
        &self,
        provider: &Provider,
        resp: &TokenResponse,
        now: i64,
    ) -> Result<AccessLifetime> {
        let profile = &self.inner.profile;
        if profile.is_cognito() {
            AccessTokenVerifier::new(provider, profile, now)
                .verify(resp.access_token.expose())
                .await?;
        }
        let jwt = decode_jwt(resp.access_token.expose()).ok();
        let claim = |name: &str| jwt.as_ref().and_then(|j| j.claim_time(name));
        let by_provider = |exp: i64| AccessLifetime {
            issued_at: claim("iat").unwrap_or(now).min(exp),
            expires_at: exp,
        };
        let received_now = |secs: i64| AccessLifetime {
            issued_at: now,
            expires_at: now.saturating_add(secs),
        };
        Ok(match (resp.expires_in, claim("exp")) {
            (_, Some(exp)) if profile.is_cognito() => by_provider(exp),
            (Some(secs), _) => received_now(secs),
            (None, Some(exp)) => by_provider(exp),
            (None, None) => received_now(DEFAULT_ACCESS_LIFETIME),
        })
    }
}
