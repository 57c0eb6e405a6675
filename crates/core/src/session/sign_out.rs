//! Sign-out: after the hooks' work (an AWS credential fetch) and any refresh in flight, holding
//! both off, revoke the newest refresh token (another process may have rotated it) — or,
//! signing out everywhere from a Cognito profile, end every refresh token of the user with
//! `GlobalSignOut` — delete the saved session and tell the hooks (the AWS credentials go; also
//! when the revocation failed: the outcome says so), and hand back the provider's logout page.
//! Removing a profile signs it out first.

use std::time::Duration;

use url::Url;

use super::token_set::TokenSet;
use super::{LogoutUrl, Session, SessionState, SignOutOutcome};
use crate::aws::user_pool;
use crate::error::Result;
use crate::provider::Provider;
use crate::secret::RefreshToken;
use crate::token_endpoint::{self, Grant};
use crate::vault::StoredSession;

/// How long the loopback "signed out" page waits for the browser.
const SIGNED_OUT_PAGE_LIFETIME: Duration = Duration::from_secs(120);
/// An access token closer to expiry than this is not sent to `GlobalSignOut`; one is fetched.
const ACCESS_TOKEN_MIN_LIFE: i64 = 30;

/// How far a sign-out reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignOutScope {
    /// This device: revoke its refresh token and delete the saved session.
    #[default]
    ThisDevice,
    /// Every device and the browser: also end every refresh token of the user (Cognito's
    /// `GlobalSignOut`) and the provider's browser session (its logout page).
    Everywhere,
}

impl SignOutScope {
    /// The scope a yes/no "everywhere" choice names (the CLI's `--everywhere`, the app's
    /// "Sign out everywhere").
    pub fn everywhere_if(everywhere: bool) -> Self {
        match everywhere {
            true => SignOutScope::Everywhere,
            false => SignOutScope::ThisDevice,
        }
    }
}

impl Session {
    /// Revoke the refresh token, delete the keychain entry, and (with
    /// [`SignOutScope::Everywhere`]) sign out on every device and end the provider's browser
    /// session too: for Cognito, the user pool's `GlobalSignOut` first (it needs the
    /// `aws.cognito.signin.user.admin` scope), then the returned logout URL. Succeeds locally
    /// even offline; what could not be done is in the outcome's warnings.
    pub async fn sign_out(&self, scope: SignOutScope) -> Result<SignOutOutcome> {
        let everywhere = scope == SignOutScope::Everywhere;
        // The hooks' work (a credential fetch, which may wait for a refresh) and a refresh in
        // flight finish first; neither can store anything after.
        let mut warnings = Vec::new();
        let _holds = self.hold_off_hooks(&mut warnings).await;
        let _gate = self.inner.refresh_gate.lock().await;
        let _lock = match self.profile_lock().await {
            Ok(lock) => lock,
            Err(e) => {
                warnings.push(e.message().to_owned());
                None
            }
        };
        let current = self.inner.current.lock().unwrap().take();
        // The keychain's copy is the newest when another process refreshed since.
        let stored = match self.vault_load().await {
            Ok(Some(stored)) if stored.issuer == self.inner.profile.issuer() => Some(stored),
            _ => None,
        };
        let provider = self.provider().await;
        let mut everywhere_done = false;
        if let (true, Ok(p)) = (everywhere && self.inner.profile.is_cognito(), &provider) {
            everywhere_done = self
                .global_sign_out(p, current.as_ref(), stored.as_ref(), &mut warnings)
                .await;
        }
        let newest_refresh = stored
            .as_ref()
            .and_then(|s| s.refresh_token.clone())
            .or_else(|| current.as_ref().and_then(|c| c.refresh_token.clone()));
        let had_refresh_token = newest_refresh.is_some();
        let revocation_error = match (&provider, newest_refresh) {
            // GlobalSignOut ended this refresh token with the others.
            _ if everywhere_done => None,
            (_, None) => None,
            (Ok(p), Some(token)) => self.revoke_one(p, &token).await.err(),
            (Err(e), Some(_)) => Some(format!(
                "could not revoke the refresh token: {} It stays valid at the provider until it expires.",
                e.message()
            )),
        };
        let revoked = everywhere_done || (had_refresh_token && revocation_error.is_none());
        if let Some(why) = &revocation_error {
            warnings.push(format!("{why} You are signed out here all the same."));
        }
        self.delete_stored(&mut warnings).await;
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
        tracing::info!(revoked, everywhere = everywhere_done, "signed out");
        Ok(SignOutOutcome {
            logout_url,
            revoked,
            revocation_error,
            signed_out_everywhere: everywhere_done,
            warnings,
        })
    }

    /// Deletes the saved session and tells the hooks (the saved AWS credentials go); what
    /// failed is a warning.
    async fn delete_stored(&self, warnings: &mut Vec<String>) {
        self.forget_end();
        if let Err(e) = self.vault_delete().await {
            warnings.push(format!(
                "could not delete the saved session: {}",
                e.message()
            ));
        }
        for (what, e) in self.end_hooks().await {
            warnings.push(format!("could not delete {what}: {}", e.message()));
        }
    }

    /// Cognito's `GlobalSignOut` with a valid access token: the session's or the keychain's,
    /// or one fetched with the refresh token for this purpose (never stored). Returns whether
    /// every refresh token of the user ended.
    async fn global_sign_out(
        &self,
        provider: &Provider,
        current: Option<&TokenSet>,
        stored: Option<&StoredSession>,
        warnings: &mut Vec<String>,
    ) -> bool {
        let profile = &self.inner.profile;
        let Some(endpoint) = user_pool::endpoint(&profile.issuer()) else {
            return false;
        };
        let fresh = |exp: i64| exp > self.now() + ACCESS_TOKEN_MIN_LIFE;
        let valid = current
            .filter(|c| fresh(c.access_exp))
            .map(|c| c.access_token.clone())
            .or_else(|| {
                stored
                    .filter(|s| fresh(s.access_expires_at))
                    .map(|s| s.access_token.clone())
            });
        // With rotation on, fetching an access token also issues a new refresh token: it is
        // revoked below unless GlobalSignOut ends it with the others.
        let mut rotated = None;
        let access_token = match valid {
            Some(token) => token,
            None => {
                let refresh_token = stored
                    .and_then(|s| s.refresh_token.as_ref())
                    .or_else(|| current.and_then(|c| c.refresh_token.as_ref()));
                let Some(refresh_token) = refresh_token else {
                    warnings.push("could not sign out everywhere: there is no valid access token or refresh token to ask the user pool with; other devices stay signed in until their refresh tokens expire.".into());
                    return false;
                };
                match token_endpoint::request(
                    self.http(),
                    &provider.metadata.token_endpoint,
                    &profile.client_id,
                    Grant::Refresh(refresh_token),
                )
                .await
                {
                    Ok(response) => {
                        rotated = response.refresh_token;
                        response.access_token
                    }
                    Err(failure) => {
                        warnings.push(format!("could not sign out everywhere: {} Other devices stay signed in until their refresh tokens expire.", failure.error.message()));
                        return false;
                    }
                }
            }
        };
        let ended = if !user_pool::has_admin_scope(&access_token) {
            warnings.push(format!("could not sign out everywhere: the access token lacks the `{}` scope that GlobalSignOut needs (add it to the profile's `scopes` and allow it on the app client); other devices stay signed in until their refresh tokens expire.", user_pool::ADMIN_SCOPE));
            false
        } else {
            match user_pool::global_sign_out(self.http(), &endpoint, &access_token).await {
                Ok(()) => true,
                Err(warning) => {
                    warnings.push(warning);
                    false
                }
            }
        };
        if let (false, Some(token)) = (ended, &rotated) {
            if let Err(warning) = self.revoke_one(provider, token).await {
                warnings.push(warning);
            }
        }
        ended
    }

    /// Revoke one refresh token; `Err` says why it was not (it stays valid at the provider).
    async fn revoke_one(
        &self,
        provider: &Provider,
        token: &RefreshToken,
    ) -> std::result::Result<(), String> {
        let profile = &self.inner.profile;
        token_endpoint::revoke(
            self.http(),
            provider.metadata.revocation_endpoint.as_ref(),
            &profile.client_id,
            token,
            profile.is_cognito(),
        )
        .await
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
