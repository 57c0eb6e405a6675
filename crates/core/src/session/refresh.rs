//! Tokens and refresh: valid tokens handed out, refreshed ahead of expiry; one refresh in flight
//! per session and per profile across processes (the profile lock, the keychain generation);
//! rotated refresh tokens stored before the old one goes; dead sessions wiped, refused answers
//! ending the session; a background keeper (`keep_fresh`) for long-running embedders (the app).

use std::sync::Arc;
use std::time::Duration;

use super::answer::Answering;
use super::ended::SessionEnd;
use super::token_set::TokenSet;
use super::{is_transient, Session, SessionState, Tokens, UserSummary};
use crate::config::TokenChoice;
use crate::error::{Error, ErrorKind, Result};
use crate::provider::Provider;
use crate::secret::{RefreshToken, SecretToken};
use crate::token_endpoint::{self, Grant, Reach, TokenResponse};

/// Attempts of a refresh whose request never reached the provider.
const REFRESH_ATTEMPTS: u32 = 3;

/// Why a refresh renewed nothing, which decides what becomes of the session.
enum RefreshFailure {
    /// The provider refused the refresh token (`invalid_grant`: expired, revoked, reuse
    /// detected): the session is over (B11).
    Ended(Error),
    /// The provider answered and Latchkey refused the answer (a check failed, a bad field):
    /// the refresh token may be spent, so it is never sent again.
    Refused {
        error: Error,
        /// The refresh token that came in the refused answer, if one could be read.
        rotated: Option<RefreshToken>,
    },
    /// No usable answer (the provider unreachable, an error answer, keys not fetched): the
    /// session stays as it was.
    Kept(Error),
}

impl RefreshFailure {
    fn from_request(f: token_endpoint::Failure) -> Self {
        match (f.reach, f.error.kind()) {
            (_, ErrorKind::SessionExpired) => RefreshFailure::Ended(f.error),
            (Reach::Unusable, _) => RefreshFailure::Refused {
                error: f.error,
                rotated: f.refused_refresh_token,
            },
            _ => RefreshFailure::Kept(f.error),
        }
    }

    /// A checked answer's failure: a check that failed refuses it; a failure to fetch the
    /// keys to check it with does not.
    fn from_check(error: Error, resp: TokenResponse) -> Self {
        match error.kind() {
            ErrorKind::Verification => RefreshFailure::Refused {
                error,
                rotated: resp.refresh_token,
            },
            _ => RefreshFailure::Kept(error),
        }
    }
}

/// A refresh the provider did not process: never sent, or throttled (AWS SDKs retry
/// throttling with backoff too). Any other failure may have spent the refresh token.
fn is_repeatable(reach: Reach) -> bool {
    matches!(reach, Reach::NotSent | Reach::Throttled)
}

impl Session {
    /// Valid tokens, refreshed first when they are due. What it does, by the session's tokens
    /// and the refresh's outcome:
    ///
    /// | the tokens | the refresh | `tokens()` |
    /// |---|---|---|
    /// | valid, not yet due (the access token, and a renewable ID token, more than the margin — at most half their own lifetime — from expiry) | none | hands them out |
    /// | due | one in flight per session and per profile across processes (the refresh gate, then the profile lock); a caller that waited gets its result | hands out the renewed tokens |
    /// | due, and the keychain holds a newer generation (another process refreshed) | none: adopted | hands out the adopted tokens |
    /// | due | transient failure (provider unreachable, no answer, a 5xx, throttled — a throttled refresh is repeated up to three times with backoff) | the current tokens with a `warning` while they are valid, else the error; the session stays |
    /// | due | `invalid_grant` (expired, revoked, reused) | `SessionExpired`; the session and its AWS credentials are deleted from the keychain |
    /// | due | an answer Latchkey refuses (a failed check, an unusable field) | that error (its `failed_check()`); the refresh token is never sent again: both it and any rotated one are revoked, the keychain items deleted, the session signed out with the reason |
    /// | due, no refresh token | none | `SessionExpired` |
    ///
    /// The schedule follows what was renewed: a refresh without an ID token (OIDC Core 12.2)
    /// makes the ID token no reason to refresh, and the access token's own lifetime (stored
    /// with it, so a process that loads the session sees the same) sets the margin.
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
        let failure = match self.request_refresh(&provider, &refresh_token).await {
            Err(f) => RefreshFailure::from_request(f),
            Ok(resp) => match self.renewed(&provider, &before, &resp).await {
                Ok(next) => return Ok(self.install(next).await),
                Err(e) => RefreshFailure::from_check(e, resp),
            },
        };
        Err(match failure {
            RefreshFailure::Ended(e) => {
                self.end_session(&e).await;
                e
            }
            RefreshFailure::Refused { error, rotated } => {
                self.end_refused(&provider, &before, rotated, error).await
            }
            RefreshFailure::Kept(e) => {
                self.show_signed_in();
                e
            }
        })
    }

    /// POST the refresh; repeat only a request that never reached the provider or that it
    /// throttled (a repeated refresh token it processed can look like reuse to a provider with
    /// rotation and end the session).
    async fn request_refresh(
        &self,
        provider: &Provider,
        refresh_token: &RefreshToken,
    ) -> Result<TokenResponse, token_endpoint::Failure> {
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
                Err(f) if is_repeatable(f.reach) && attempt < REFRESH_ATTEMPTS => {
                    tracing::debug!(
                        attempt,
                        reach = ?f.reach,
                        "refresh request not processed by the provider; retrying"
                    );
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The token set after a refresh answer, checked as a sign-in's answer is (see
    /// [`Session::check_answer`]) and against the session before it.
    async fn renewed(
        &self,
        provider: &Provider,
        before: &TokenSet,
        resp: &TokenResponse,
    ) -> Result<TokenSet> {
        let now = self.now();
        let original = &before.identity;
        let checked = self
            .check_answer(provider, resp, Answering::Refresh { original }, now)
            .await?;
        let mut next = before.clone();
        match (checked.id_token, &resp.id_token) {
            (Some(v), Some(id_token)) => {
                next.user = UserSummary::from_jwt(&v.jwt);
                (next.id_token, next.id_exp, next.id_iat) = (id_token.clone(), v.exp, v.iat);
                next.id_renewable = true;
            }
            // OIDC Core 12.2 allows it: schedule on what was renewed, not on the old ID token.
            _ => next.id_renewable = false,
        }
        (next.access_iat, next.access_exp) = (checked.access.issued_at, checked.access.expires_at);
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

    /// The provider ended the session: forget it (and what its hooks hold: the AWS
    /// credentials) here and in the keychain.
    async fn end_session(&self, why: &Error) {
        if let Err(e) = self.vault_delete().await {
            tracing::warn!(kind = ?e.kind(), "could not delete the ended session from the keychain");
        }
        for (what, e) in self.end_hooks().await {
            tracing::warn!(kind = ?e.kind(), what, "could not delete what the ended session's hook saved from the keychain");
        }
        self.record_end(&SessionEnd::refused_by_provider(self.now()));
        self.end_locally(why.message());
    }

    pub(super) fn end_locally(&self, reason: &str) {
        *self.inner.current.lock().unwrap() = None;
        self.forget_held_by_hooks();
        self.set_state(SessionState::SignedOut {
            reason: Some(reason.to_owned()),
        });
    }

    /// The provider's answer to a refresh was refused, so nothing of it is used and the
    /// refresh token it answered may be spent: revoke it and any rotated one, delete the saved
    /// session, sign out with the reason (a second request with the spent token would only
    /// earn `invalid_grant`, or end the grant at a provider that detects reuse).
    async fn end_refused(
        &self,
        provider: &Provider,
        before: &TokenSet,
        rotated: Option<RefreshToken>,
        refused: Error,
    ) -> Error {
        let profile = &self.inner.profile;
        let endpoint = provider.metadata.revocation_endpoint.as_ref();
        let mut revoked = 0;
        for token in [rotated.as_ref(), before.refresh_token.as_ref()]
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
        let deleted = self.vault_delete().await.is_ok() && self.end_hooks().await.is_empty();
        let ended = format!(
            "Latchkey ended this session: {} refresh token(s) revoked at the provider, the saved session {}.",
            revoked,
            if deleted { "deleted" } else { "could not be deleted from the keychain" }
        );
        let error = Error::refresh_refused(&refused, &ended);
        tracing::warn!(kind = ?error.kind(), check = ?error.failed_check(), "refresh answer refused; session ended");
        self.record_end(&SessionEnd::answer_refused(self.now(), &error));
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
