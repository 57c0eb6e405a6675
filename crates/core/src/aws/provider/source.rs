//! What the AWS credentials provider sees of a session, and nothing more: the signed-in user,
//! an ID token with enough life left for the identity pool, and a way to say what changed.

use std::future::Future;

use crate::config::{Profile, TokenChoice};
use crate::error::Result;
use crate::secret::SecretToken;
use crate::session::Session;

/// The session as the AWS credentials provider uses it. [`Session`] is one; another sign-in
/// (a test's, an embedder's) can be.
pub trait IdTokenSource: Clone + Send + Sync + 'static {
    /// The profile: its `[aws]` table (the identity pool), its API response limit.
    fn profile(&self) -> &Profile;
    /// The HTTP client calls to AWS go through (the profile's timeout).
    fn http(&self) -> &reqwest::Client;
    /// Now, in Unix seconds, by the session's clock.
    fn now(&self) -> i64;
    /// The signed-in user's `sub`, whose credentials these are (no refresh needed).
    fn subject(&self) -> impl Future<Output = Result<String>> + Send;
    /// An ID token with at least `min_life` seconds left, the session refreshed first when
    /// it has less.
    fn id_token(&self, min_life: i64) -> impl Future<Output = Result<SecretToken>> + Send;
    /// An ID token from a refresh made now (the identity pool found the last one expired).
    fn renewed_id_token(&self) -> impl Future<Output = Result<SecretToken>> + Send;
    /// The current ID token as it is, without a refresh (the roles it offers, for display).
    fn current_id_token(&self) -> Option<SecretToken>;
    /// The credentials held changed (the session's state shows when they expire).
    fn held_changed(&self);
}

impl IdTokenSource for Session {
    fn profile(&self) -> &Profile {
        Session::profile(self)
    }

    fn http(&self) -> &reqwest::Client {
        Session::http(self)
    }

    fn now(&self) -> i64 {
        Session::now(self)
    }

    fn subject(&self) -> impl Future<Output = Result<String>> + Send {
        self.signed_in_sub()
    }

    async fn id_token(&self, min_life: i64) -> Result<SecretToken> {
        let tokens = self.tokens().await?;
        if tokens.id_expires_at.timestamp() - Session::now(self) >= min_life {
            return Ok(tokens.id_token);
        }
        tracing::debug!("the ID token is too close to expiry for the identity pool; refreshing");
        self.renewed_id_token().await
    }

    async fn renewed_id_token(&self) -> Result<SecretToken> {
        self.force_refresh().await?;
        self.token(TokenChoice::Id).await
    }

    fn current_id_token(&self) -> Option<SecretToken> {
        Session::current_id_token(self)
    }

    fn held_changed(&self) {
        self.announce_held_change();
    }
}
