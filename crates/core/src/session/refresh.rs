//! Tokens and refresh: valid tokens handed out, refreshed ahead of expiry; one refresh in flight
//! per session and per profile across processes (the profile lock, the keychain generation);
//! rotated refresh tokens stored before the old one goes; dead sessions wiped; a background
//! keeper (`keep_fresh`) for long-running embedders such as the app.

use std::sync::Arc;
use std::time::Duration;

use super::token_set::{access_issued_at, TokenSet};
use super::{is_transient, Session, SessionState, Tokens, UserSummary};
use crate::config::TokenChoice;
use crate::error::{Error, ErrorKind, Result};
use crate::provider::Provider;
use crate::secret::{RefreshToken, SecretToken};
use crate::token_endpoint::{self, Grant, TokenResponse};
use crate::verify::{CheckName, IdTokenVerifier};

/// Attempts of a refresh whose request never reached the provider.
const REFRESH_ATTEMPTS: u32 = 3;

impl Session {
    /// Valid tokens, refreshed first when less than the margin is left. When the refresh
    /// fails for a network reason while the tokens are still valid, they are returned with a
    /// `warning`.
    pub async fn tokens(&self) -> Result<Tokens> {
        let now = self.now();
        let seen = {
            let guard = self.inner.current.lock().unwrap();
            let set = guard.as_ref().ok_or_else(Error::not_signed_in)?;
            if !set.needs_refresh(now, self.inner.profile.refresh_margin) {
                return Ok(set.tokens(now));
            }
            set.generation
        };
        match self.refresh_after(seen, false).await {
            Err(e) if is_transient(e.kind()) => self.valid_despite(e),
            other => other,
        }
    }

    /// The token an API call should carry: refuses an ID token that expired and cannot be
    /// renewed (rather than sending it).
    pub async fn token(&self, which: TokenChoice) -> Result<SecretToken> {
        let tokens = self.tokens().await?;
        Ok(match which {
            TokenChoice::Access => tokens.access_token,
            TokenChoice::Id if self.now() >= tokens.id_expires_at.timestamp() => {
                return Err(Error::id_token_not_renewable())
            }
            TokenChoice::Id => tokens.id_token,
        })
    }

    /// The current tokens after a failed refresh, if they are still valid.
    fn valid_despite(&self, e: Error) -> Result<Tokens> {
        let now = self.now();
        let guard = self.inner.current.lock().unwrap();
        match guard.as_ref() {
            Some(set) if set.still_valid(now) => {
                tracing::warn!(kind = ?e.kind(), "refresh failed; the current tokens are still valid");
                let mut tokens = set.tokens(now);
                tokens.warning = Some(format!(
                    "could not refresh the tokens ({}); the current ones stay valid for {} s",
                    e.message().trim_end_matches('.'),
                    set.access_exp.min(set.id_exp.max(now)).saturating_sub(now)
                ));
                Ok(tokens)
            }
            _ => Err(e),
        }
    }

    /// Refresh regardless of the margin (the API layer does this after a 401).
    pub async fn force_refresh(&self) -> Result<Tokens> {
        let seen = self.current_generation().ok_or_else(Error::not_signed_in)?;
        self.refresh_after(seen, true).await
    }

    pub(crate) fn current_generation(&self) -> Option<u64> {
        self.inner
            .current
            .lock()
            .unwrap()
            .as_ref()
            .map(|c| c.generation)
    }

    /// Refresh now, unless another caller refreshed since generation `seen`.
    pub(crate) async fn refresh_after(&self, seen: u64, forced: bool) -> Result<Tokens> {
        let _gate = self.inner.refresh_gate.lock().await;
        {
            let now = self.now();
            let guard = self.inner.current.lock().unwrap();
            let set = guard.as_ref().ok_or_else(Error::not_signed_in)?;
            let margin = self.inner.profile.refresh_margin;
            if set.generation != seen || (!forced && !set.needs_refresh(now, margin)) {
                return Ok(set.tokens(now));
            }
        }
        let _lock = self.profile_lock().await?;
        if let Some(tokens) = self.adopt_stored().await? {
            return Ok(tokens);
        }
        self.refresh_now().await
    }

    /// Another process (or session on the same vault) may have refreshed while this one
    /// waited (adopt its tokens), or signed out (end this session too).
    async fn adopt_stored(&self) -> Result<Option<Tokens>> {
        let Ok(stored) = self.vault_load().await else {
            return Ok(None);
        };
        let (ours_stored, ours) = {
            let guard = self.inner.current.lock().unwrap();
            let set = guard.as_ref().ok_or_else(Error::not_signed_in)?;
            (set.stored, set.generation)
        };
        let profile = &self.inner.profile;
        match stored {
            None if ours_stored => {
                self.end_locally("signed out in another Latchkey window or terminal");
                Err(Error::new(
                    ErrorKind::NotSignedIn,
                    "this profile was signed out in another Latchkey window or terminal; sign in again.",
                ))
            }
            Some(s)
                if s.generation > ours
                    && s.issuer == profile.issuer()
                    && s.client_id == profile.client_id =>
            {
                let set = TokenSet::from_stored(s)?;
                let tokens = set.tokens(self.now());
                let state = self.signed_in_state(&set);
                *self.inner.current.lock().unwrap() = Some(set);
                self.set_state(state);
                tracing::debug!("adopted tokens refreshed by another process");
                Ok(Some(tokens))
            }
            _ => Ok(None),
        }
    }

    async fn refresh_now(&self) -> Result<Tokens> {
        let provider = self.provider().await?;
        let before = self
            .inner
            .current
            .lock()
            .unwrap()
            .clone()
            .ok_or_else(Error::not_signed_in)?;
        let Some(refresh_token) = before.refresh_token.clone() else {
            return Err(Error::new(
                ErrorKind::SessionExpired,
                "the tokens expired and the provider issued no refresh token; sign in again.",
            ));
        };
        self.set_state(SessionState::Refreshing {
            user: before.user.clone(),
        });
        let resp = match self.request_refresh(&provider, &refresh_token).await {
            Ok(r) => r,
            Err(e) if e.kind() == ErrorKind::SessionExpired => {
                // B11: dead (revoked, expired, or reuse detected): wipe it, sign out cleanly.
                self.end_session(&e).await;
                return Err(e);
            }
            Err(e) => {
                self.show_signed_in();
                return Err(e);
            }
        };
        match self.renewed(&provider, &before, &resp).await {
            Ok(next) => Ok(self.install(next).await),
            Err(e) if e.failed_check() == Some(CheckName::SameIdentity) => {
                Err(self.another_identity(&provider, &before, resp, e).await)
            }
            Err(e) => {
                self.show_signed_in();
                Err(e)
            }
        }
    }

    /// POST the refresh; repeat only a request that never reached the provider (a repeated
    /// refresh token can look like reuse to a provider with rotation and end the session).
    async fn request_refresh(
        &self,
        provider: &Provider,
        refresh_token: &RefreshToken,
    ) -> Result<TokenResponse> {
        let mut delay = Duration::from_millis(250);
        let mut attempt = 1;
        loop {
            let grant = Grant::Refresh(refresh_token);
            let endpoint = &provider.metadata.token_endpoint;
            match token_endpoint::request(
                self.http(),
                endpoint,
                &self.inner.profile.client_id,
                grant,
            )
            .await
            {
                Ok(r) => return Ok(r),
                Err(f) if !f.reached_provider && attempt < REFRESH_ATTEMPTS => {
                    tracing::debug!(
                        attempt,
                        "refresh request did not reach the provider; retrying"
                    );
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
                Err(f) => return Err(f.error),
            }
        }
    }

    /// The token set after a successful refresh response, verified against the one before.
    async fn renewed(
        &self,
        provider: &Provider,
        before: &TokenSet,
        resp: &TokenResponse,
    ) -> Result<TokenSet> {
        let profile = &self.inner.profile;
        let now = self.now();
        let mut next = before.clone();
        match &resp.id_token {
            Some(id_token) => {
                let v = IdTokenVerifier::new(provider, profile, now)
                    .max_iat_age(Some(self.inner.max_iat_age))
                    .access_token(resp.access_token.expose())
                    .same_identity_as(&before.identity)
                    .verify(id_token.expose())
                    .await?;
                next.user = UserSummary::from_jwt(&v.jwt);
                (next.id_token, next.id_exp, next.id_iat) = (id_token.clone(), v.exp, v.iat);
                next.id_renewable = true;
            }
            // OIDC Core 12.2 allows it: schedule on what was renewed, not on the old ID token.
            None => next.id_renewable = false,
        }
        next.access_exp = self.access_expiry(provider, resp, now).await?;
        next.access_iat = access_issued_at(&resp.access_token, next.access_exp, now);
        next.access_token = resp.access_token.clone();
        if let Some(rotated) = &resp.refresh_token {
            // C13: a new refresh token replaces the old one; none → keep the old one.
            next.refresh_token = Some(rotated.clone());
            next.refresh_stored_since = now;
        }
        Ok(next)
    }

    /// Store the new token set (before the old one is dropped) and make it current.
    async fn install(&self, mut next: TokenSet) -> Tokens {
        self.persist(&mut next).await;
        let tokens = next.tokens(self.now());
        let state = self.signed_in_state(&next);
        *self.inner.current.lock().unwrap() = Some(next);
        self.set_state(state);
        tracing::debug!("tokens refreshed");
        tokens
    }

    /// The provider ended the session: forget it (and its AWS credentials) here and in the
    /// keychain.
    async fn end_session(&self, why: &Error) {
        if let Err(e) = self.vault_delete().await {
            tracing::warn!(kind = ?e.kind(), "could not delete the ended session from the keychain");
        }
        if let Err(e) = self.forget_aws().await {
            tracing::warn!(kind = ?e.kind(), "could not delete the ended session's AWS credentials from the keychain");
        }
        self.end_locally(why.message());
    }

    fn end_locally(&self, reason: &str) {
        *self.inner.current.lock().unwrap() = None;
        self.forget_held_aws();
        self.set_state(SessionState::SignedOut {
            reason: Some(reason.to_owned()),
        });
    }

    /// A refreshed ID token named another identity: nothing of this session can be trusted
    /// any more. Revoke both refresh tokens, delete the saved session, sign out.
    async fn another_identity(
        &self,
        provider: &Provider,
        before: &TokenSet,
        resp: TokenResponse,
        refused: Error,
    ) -> Error {
        let profile = &self.inner.profile;
        let endpoint = provider.metadata.revocation_endpoint.as_ref();
        let mut revoked = 0;
        for token in [resp.refresh_token.as_ref(), before.refresh_token.as_ref()]
            .into_iter()
            .flatten()
        {
            let r = token_endpoint::revoke(
                self.http(),
                endpoint,
                &profile.client_id,
                token,
                profile.is_cognito(),
            )
            .await;
            revoked += usize::from(r.is_ok());
        }
        let deleted = self.vault_delete().await.is_ok() && self.forget_aws().await.is_ok();
        let ended = format!(
            "Latchkey ended this session: {} refresh token(s) revoked at the provider, the saved session {}.",
            revoked,
            if deleted { "deleted" } else { "could not be deleted from the keychain" }
        );
        let error = Error::another_identity(refused.check_reason().unwrap_or_default(), &ended);
        self.end_locally(error.message());
        error
    }

    /// Refresh in the background shortly before the tokens are due, so calls never wait for a
    /// refresh and the state (timelines) shows it. Stops when the handle is dropped. Needs a
    /// tokio runtime.
    pub fn keep_fresh(&self) -> KeepFresh {
        let weak = Arc::downgrade(&self.inner);
        let mut changes = self.subscribe();
        KeepFresh(tokio::spawn(async move {
            loop {
                let Some(inner) = weak.upgrade() else { return };
                let session = Session { inner };
                let wait = match session.refresh_due_in() {
                    Some(due) if due <= 0 => {
                        if let Err(e) = session.tokens().await {
                            tracing::warn!(kind = ?e.kind(), "background refresh failed");
                        }
                        Duration::from_secs(30)
                    }
                    Some(due) => Duration::from_secs(due.clamp(1, 60) as u64),
                    None => Duration::from_secs(60),
                };
                drop(session);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    changed = changes.changed() => if changed.is_err() { return },
                }
            }
        }))
    }

    /// Seconds until a refresh is due (`None`: not signed in).
    fn refresh_due_in(&self) -> Option<i64> {
        let guard = self.inner.current.lock().unwrap();
        let due = guard
            .as_ref()?
            .refresh_due_at(self.inner.profile.refresh_margin);
        Some(due.saturating_sub(self.now()))
    }
}

/// The background keeper started by [`Session::keep_fresh`]; dropping it stops it.
#[derive(Debug)]
pub struct KeepFresh(tokio::task::JoinHandle<()>);

impl Drop for KeepFresh {
    fn drop(&mut self) {
        self.0.abort();
    }
}
