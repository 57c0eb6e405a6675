//! Is the session still valid at the provider, not only by its tokens' `exp`? For Cognito,
//! the user pool's `GetUser` answers; a refusal ends the session here as a refused refresh does.

use serde::Serialize;

use super::ended::SessionEnd;
use super::Session;
use crate::aws::user_pool::{self, PoolVerdict};
use crate::error::{Error, ErrorKind, Result};

/// What the provider said of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderCheck {
    /// The provider accepted the session's access token.
    Live,
    /// The provider refused the session's unexpired tokens (signed out everywhere from
    /// another device, revoked, or the user deleted): the session has ended here too.
    EndedAtProvider,
    /// Not asked: an OpenID Connect profile (no standard call tells a revoked session from a
    /// live one), so only the tokens' expiry counts.
    NotSupported,
    /// Not asked: the access token lacks the `aws.cognito.signin.user.admin` scope that
    /// Cognito's `GetUser` needs.
    NoAdminScope,
}

impl Session {
    /// Asks the provider whether the session is still valid there (Cognito's `GetUser`, with
    /// tokens refreshed first when due). A refusal ends the session like a refused refresh,
    /// recorded as [`super::EndCause::EndedAtProvider`]. `Err`: no session, a refresh that
    /// failed, or a provider that could not say (unreachable, throttled).
    pub async fn check_at_provider(&self) -> Result<ProviderCheck> {
        let profile = &self.inner.profile;
        if !profile.is_cognito() {
            return Ok(ProviderCheck::NotSupported);
        }
        let tokens = self.tokens().await?;
        if !user_pool::has_admin_scope(&tokens.access_token) {
            return Ok(ProviderCheck::NoAdminScope);
        }
        let endpoint = user_pool::endpoint(&profile.issuer()).ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "the profile's issuer is not a URL, so its user pool cannot be asked",
            )
        })?;
        match user_pool::get_user(self.http(), &endpoint, &tokens.access_token).await {
            PoolVerdict::Accepted => Ok(ProviderCheck::Live),
            PoolVerdict::Refused(code) => {
                self.end_at_provider(&code).await;
                Ok(ProviderCheck::EndedAtProvider)
            }
            PoolVerdict::Unknown(why) => Err(Error::new(ErrorKind::ProviderUnreachable, why)),
        }
    }

    /// The provider refused the session's tokens: forget the session here and in the keychain,
    /// and record why.
    async fn end_at_provider(&self, code: &str) {
        if let Err(e) = self.vault_delete().await {
            tracing::warn!(kind = ?e.kind(), "could not delete the ended session from the keychain");
        }
        for (what, e) in self.end_hooks().await {
            tracing::warn!(kind = ?e.kind(), what, "could not delete what the ended session's hook saved from the keychain");
        }
        let end = SessionEnd::ended_at_provider(self.now(), code);
        self.record_end(&end);
        self.end_locally(&end.describe());
    }
}
