//! Sign-out: after any AWS credential fetch and any refresh in flight, under both their locks,
//! revoke the newest refresh token (another process may have rotated it), delete the saved
//! session and AWS credentials, and hand back the provider's logout page. Removing a profile
//! signs it out (without the page) first.

use std::time::Duration;

use url::Url;

use super::token_set::TokenSet;
use super::{LogoutUrl, Session, SessionState, SignOutOutcome};
use crate::error::Result;
use crate::provider::Provider;
use crate::secret::RefreshToken;
use crate::token_endpoint;

/// How long the loopback "signed out" page waits for the browser.
const SIGNED_OUT_PAGE_LIFETIME: Duration = Duration::from_secs(120);

impl Session {
    /// Revoke the refresh token, delete the keychain entry, and (with `everywhere`) return the
    /// provider's logout URL to end its browser session too. Succeeds locally even offline.
    pub async fn sign_out(&self, everywhere: bool) -> Result<SignOutOutcome> {
        // A credential fetch and a refresh in flight finish first (the AWS gate and lock
        // before the refresh ones, as a fetch takes them); neither can store anything after.
        let _aws_gate = self.inner.aws_gate.lock().await;
        let mut warnings = Vec::new();
        let _aws_lock = match self.aws_lock().await {
            Ok(lock) => lock,
            Err(e) => {
                warnings.push(e.message().to_owned());
                None
            }
        };
        let _gate = self.inner.refresh_gate.lock().await;
        let _lock = match self.profile_lock().await {
            Ok(lock) => lock,
            Err(e) => {
                warnings.push(e.message().to_owned());
                None
            }
        };
        let current = self.inner.current.lock().unwrap().take();
        let provider = self.provider().await;
        let revoked = match &provider {
            Ok(p) => self.revoke_newest(p, current.as_ref(), &mut warnings).await,
            Err(e) => {
                warnings.push(format!(
                    "could not revoke the refresh token: {}",
                    e.message()
                ));
                false
            }
        };
        if let Err(e) = self.vault_delete().await {
            warnings.push(format!(
                "could not delete the saved session: {}",
                e.message()
            ));
        }
        if let Err(e) = self.forget_aws().await {
            warnings.push(format!(
                "could not delete the saved AWS credentials: {}",
                e.message()
            ));
        }
        let logout_url = match (&provider, everywhere) {
            (Ok(p), true) => self.logout_url(p, current.as_ref()),
            _ => None,
        };
        if let (Some(_), Some(target)) = (&logout_url, &self.inner.profile.sign_out_uri) {
            crate::loopback::serve_signed_out_page(target, SIGNED_OUT_PAGE_LIFETIME).await;
        }
        if everywhere && logout_url.is_none() && provider.is_ok() {
            warnings.push("no logout URL is available (set `sign_out_uri` in the profile and register it at the provider) — the browser session at the provider may stay signed in.".into());
        }
        self.set_state(SessionState::SignedOut {
            reason: Some("signed out".into()),
        });
        tracing::info!(revoked, "signed out");
        Ok(SignOutOutcome {
            logout_url,
            revoked,
            warnings,
        })
    }

    /// Revoke the newest refresh token: the keychain's (another process may have rotated it)
    /// or this session's. Returns whether one was revoked.
    async fn revoke_newest(
        &self,
        provider: &Provider,
        current: Option<&TokenSet>,
        warnings: &mut Vec<String>,
    ) -> bool {
        let newest: Option<RefreshToken> = match self.vault_load().await {
            Ok(Some(stored)) if stored.issuer == self.inner.profile.issuer() => {
                stored.refresh_token
            }
            _ => None,
        };
        let Some(token) = newest.or_else(|| current.and_then(|c| c.refresh_token.clone())) else {
            return false;
        };
        let profile = &self.inner.profile;
        let endpoint = provider.metadata.revocation_endpoint.as_ref();
        match token_endpoint::revoke(
            self.http(),
            endpoint,
            &profile.client_id,
            &token,
            profile.is_cognito(),
        )
        .await
        {
            Ok(()) => true,
            Err(warning) => {
                warnings.push(warning);
                false
            }
        }
    }

    fn logout_url(&self, p: &Provider, current: Option<&TokenSet>) -> Option<LogoutUrl> {
        let mut url: Url = p.metadata.end_session_endpoint.clone()?;
        let profile = &self.inner.profile;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &profile.client_id);
            if p.metadata.cognito_logout {
                q.append_pair("logout_uri", profile.sign_out_uri.as_ref()?.as_str());
            } else {
                if let Some(c) = current {
                    q.append_pair("id_token_hint", c.id_token.expose());
                }
                if let Some(t) = &profile.sign_out_uri {
                    q.append_pair("post_logout_redirect_uri", t.as_str());
                }
            }
        }
        Some(LogoutUrl::new(url))
    }
}
