//! AWS credentials as a provider beside the session, in the shape of aws-config's: this
//! provider fetches from the profile's identity pool with the session's ID token (seen through
//! [`IdTokenSource`]), and its caching layer (`cache`) holds them in memory and in the keychain
//! (`{account}:aws`), one fetch in flight per profile (also across processes: the item's lock).
//! Also what they stand for (`identity`), the `Session` methods that forward here
//! (`session_api`: `aws_credentials`, `aws_identity`, SigV4 calls), and the AWS SDK's
//! `ProvideCredentials` (`sdk`).

mod cache;
mod identity;
mod sdk;
mod session_api;
mod source;

use std::sync::Arc;

use crate::aws::{self, AwsCredentials, AwsError, IdentityPool};
use crate::clock::{utc, Lifetime, MarginCap};
use crate::error::{Error, Result};
use crate::session::Session;
use crate::vault::StoredAwsCredentials;

pub use identity::AwsIdentity;
pub use source::IdTokenSource;

use cache::CredentialsCache;

/// How long before expiry botocore (every Python AWS tool, the AWS CLI) runs
/// `credential_process` again: botocore/credentials.py (1.44.8) gives the `RefreshableCredentials`
/// that `ProcessProvider` returns `_advisory_refresh_timeout = 15 * 60` (it runs the process
/// again before each call once less is left) and `_mandatory_refresh_timeout = 10 * 60` (it
/// blocks every call on that run). The other SDKs refresh closer to expiry (the JavaScript
/// SDK v3 5 minutes ahead: `EXPIRATION_MS` in @smithy/core), so what satisfies botocore
/// satisfies them.
const SDK_REFRESH_AHEAD_SECS: i64 = 15 * 60;
/// Credentials are fetched again when this much or less is left (capped by their lifetime,
/// see [`due_at`]): the SDKs' 15 minutes and one more, so the credentials a run of
/// `latchkey aws credentials` hands out still have more than 15 minutes left when the SDK
/// reads them, and keep the SDK quiet for a minute at least.
const AWS_MARGIN_SECS: i64 = SDK_REFRESH_AHEAD_SECS + 60;
/// An ID token with less life than this is renewed before the identity pool sees it (the
/// service refuses expired ones, and its clock may be ahead of ours).
const ID_TOKEN_MIN_LIFE_SECS: i64 = 60;

/// Were `stored` fetched for this pool, endpoint, role and user?
fn fits(stored: &StoredAwsCredentials, pool: &IdentityPool, sub: &str) -> bool {
    stored.identity_pool_id == pool.identity_pool_id
        && stored.identity_endpoint == pool.identity_endpoint.as_str()
        && stored.requested_role == pool.role_arn
        && stored.sub == sub
}

/// When credentials are due to be fetched again: [`AWS_MARGIN_SECS`] before they expire, so
/// an SDK never receives credentials it would refresh at once (it would run `latchkey aws
/// credentials` before every call and get the same keys each time). Identity pools issue
/// credentials for an hour: they are due 16 minutes before expiry.
///
/// The margin is capped at three quarters of their lifetime, so credentials serve at least the
/// first quarter of it, and a busy SDK costs the identity pool one fetch per quarter lifetime,
/// never one per call. Credentials that live less than 21 min 20 s (4/3 of the margin) are
/// therefore handed out with less than 16 minutes left, and below 20 minutes possibly with
/// less than 15: botocore then runs `latchkey aws credentials` before each call (a keychain
/// read, no request) and gets the same ones until they are due.
fn due_at(stored: &StoredAwsCredentials) -> i64 {
    let lifetime = Lifetime {
        issued_at: stored.fetched_at,
        expires_at: stored.expires_at,
    };
    lifetime.due_at(AWS_MARGIN_SECS, MarginCap::THREE_QUARTERS)
}

/// Temporary AWS credentials for one session, from its profile's identity pool: what
/// [`Session::aws_credentials`] hands out, and what an AWS SDK client takes as its credentials
/// provider ([`aws_credential_types::provider::ProvideCredentials`]). Cheap to clone; the
/// clones, and every provider of the same session, share what is held.
///
/// What [`AwsCredentialsProvider::credentials`] does, by the credentials held and the fetch's
/// outcome (a credential "fits" when it was fetched for this pool, endpoint, role and user):
///
/// | the credentials | the fetch | `credentials()` |
/// |---|---|---|
/// | held in memory, fitting, not yet due (16 minutes before expiry, at most three quarters of their lifetime: `due_at`) | none | hands them out |
/// | in the keychain, fitting, not yet due (another process, or an earlier run, fetched them) | none: adopted | hands them out |
/// | due, or none | one in flight per session (the gate) and per profile across processes (the item's lock); a caller that waited adopts what it fetched | trades an ID token with at least 60 s left (the session refreshed first when needed) for new ones, stores them, hands them out |
/// | due, or none | the identity pool finds the ID token expired (its clock is ahead) | the session refreshed once, the fetch tried once more |
/// | fitting and still valid, though due | transient failure (throttled, unreachable) | the held ones with a `warning` |
/// | expired, none, or not fitting | transient failure | the error |
/// | any | any other failure (refused, misconfigured, signed out) | the error; nothing written |
/// | refused by an API (STS, a SigV4 call) | fetched once, never handing out the refused ones again | the new ones |
///
/// When the session signs out, or the provider ends it, the held credentials are forgotten and
/// the keychain item deleted (a session hook); sign-out waits for a fetch in flight first.
pub struct AwsCredentialsProvider<S: IdTokenSource = Session> {
    source: S,
    cache: Arc<CredentialsCache>,
}

impl<S: IdTokenSource> Clone for AwsCredentialsProvider<S> {
    fn clone(&self) -> Self {
        Self {
            source: self.source.clone(),
            cache: self.cache.clone(),
        }
    }
}

impl<S: IdTokenSource> std::fmt::Debug for AwsCredentialsProvider<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentialsProvider")
            .field("profile", &self.source.profile().name)
            .finish_non_exhaustive()
    }
}

impl AwsCredentialsProvider<Session> {
    /// The provider of `session`'s AWS credentials: the one [`Session::new`] attached (its
    /// caching layer is a session hook, so the credentials end with the session).
    pub fn for_session(session: &Session) -> Self {
        let cache = session
            .attached::<CredentialsCache>()
            .unwrap_or_else(|| Self::attach(session));
        Self {
            source: session.clone(),
            cache,
        }
    }

    /// A new caching layer, attached to `session` as a hook.
    fn attach(session: &Session) -> Arc<CredentialsCache> {
        let cache = Arc::new(CredentialsCache::for_session(session));
        session.attach(cache.clone());
        cache
    }
}

impl<S: IdTokenSource> AwsCredentialsProvider<S> {
    /// Temporary AWS credentials from the profile's identity pool (its `[aws]` table), with
    /// more than 16 minutes left when their lifetime allows it (the rule: `due_at`), as the
    /// table above decides. A failed fetch writes nothing.
    pub async fn credentials(&self) -> Result<AwsCredentials> {
        self.credentials_replacing(None).await
    }

    /// [`AwsCredentialsProvider::credentials`], never handing out the credentials with access
    /// key id `refused` (an API said they are expired or unknown).
    pub(crate) async fn credentials_replacing(
        &self,
        refused: Option<&str>,
    ) -> Result<AwsCredentials> {
        let pool = self.identity_pool()?;
        let sub = self.source.subject().await?;
        let usable = |s: &StoredAwsCredentials, now: i64| {
            fits(s, &pool, &sub) && now < due_at(s) && Some(s.access_key_id.as_str()) != refused
        };
        if let Some(creds) = self.cache.held_if(|s| usable(s, self.now())) {
            return Ok(creds);
        }
        let _gate = self.cache.gate().await;
        if let Some(creds) = self.cache.held_if(|s| usable(s, self.now())) {
            return Ok(creds);
        }
        // Another process (or an earlier run) may have fetched them: adopt those.
        if let Some(stored) = self.cache.load().await.filter(|s| usable(s, self.now())) {
            return Ok(self.cache.hold(stored));
        }
        let _lock = self.cache.lock().await?;
        let stored = self.cache.load().await;
        if let Some(stored) = stored.clone().filter(|s| usable(s, self.now())) {
            return Ok(self.cache.hold(stored));
        }
        // What is held (here or in the keychain) for this profile and user, even if due.
        let held = self.cache.held();
        let previous = stored
            .into_iter()
            .chain(held)
            .filter(|s| fits(s, &pool, &sub))
            .max_by_key(|s| s.expires_at);
        let kept_identity_id = previous.as_ref().map(|s| s.identity_id.clone());
        match self.fetch(&pool, kept_identity_id.as_deref()).await {
            Ok(creds) => {
                let stored = StoredAwsCredentials {
                    version: 1,
                    identity_pool_id: pool.identity_pool_id.clone(),
                    identity_endpoint: pool.identity_endpoint.to_string(),
                    requested_role: pool.role_arn.clone(),
                    sub,
                    identity_id: creds.identity_id.clone(),
                    access_key_id: creds.access_key_id.clone(),
                    secret_access_key: creds.secret_access_key.clone(),
                    session_token: creds.session_token.clone(),
                    expires_at: creds.expiration.timestamp(),
                    fetched_at: self.now(),
                    role_arn: creds.role_arn.clone(),
                };
                self.cache.store(&stored).await;
                tracing::debug!("AWS credentials fetched");
                let creds = self.cache.hold(stored);
                self.source.held_changed();
                Ok(creds)
            }
            Err(e) if is_transient_aws(&e) => self.valid_despite(previous, refused, e),
            Err(e) => Err(e),
        }
    }

    /// After a fetch that failed for a transient reason: the `previous` credentials if they
    /// are still valid (and not the refused ones), with a warning; else the error.
    fn valid_despite(
        &self,
        previous: Option<StoredAwsCredentials>,
        refused: Option<&str>,
        e: Error,
    ) -> Result<AwsCredentials> {
        let now = self.now();
        match previous {
            Some(s) if now < s.expires_at && Some(s.access_key_id.as_str()) != refused => {
                tracing::warn!(kind = ?e.kind(), "AWS credential fetch failed; the current ones are still valid");
                let warning = format!(
                    "could not fetch new AWS credentials ({}); the current ones stay valid for {} s",
                    e.message().trim_end_matches('.'),
                    s.expires_at - now
                );
                let mut creds = self.cache.hold(s);
                creds.warning = Some(warning);
                Ok(creds)
            }
            _ => Err(e),
        }
    }

    /// Trade the ID token for credentials; when the identity pool finds it expired (its clock
    /// is ahead of ours), refresh the session once and try again.
    async fn fetch(&self, pool: &IdentityPool, kept: Option<&str>) -> Result<AwsCredentials> {
        let id_token = self.source.id_token(ID_TOKEN_MIN_LIFE_SECS).await?;
        let now = utc(self.now());
        let http = self.source.http();
        match aws::fetch_credentials(http, pool, &id_token, kept, now).await {
            Err(AwsError::IdTokenExpired { .. }) => {
                tracing::debug!("the identity pool found the ID token expired; refreshing once");
                let id_token = self.source.renewed_id_token().await?;
                let now = utc(self.now());
                Ok(aws::fetch_credentials(http, pool, &id_token, kept, now).await?)
            }
            other => Ok(other?),
        }
    }

    fn now(&self) -> i64 {
        self.source.now()
    }

    fn identity_pool(&self) -> Result<IdentityPool> {
        self.source.profile().identity_pool()
    }
}

/// Throttling or an unreachable service: says nothing about the credentials held.
fn is_transient_aws(e: &Error) -> bool {
    matches!(
        e.aws_failure(),
        Some(aws::AwsFailure::Throttled | aws::AwsFailure::Unreachable)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{AwsSecretAccessKey, AwsSessionToken};

    fn stored(fetched_at: i64, expires_at: i64) -> StoredAwsCredentials {
        StoredAwsCredentials {
            version: 1,
            identity_pool_id: "us-east-1:0a1b".into(),
            identity_endpoint: "http://127.0.0.1:1/".into(),
            requested_role: None,
            sub: "u".into(),
            identity_id: "us-east-1:x".into(),
            access_key_id: "ASIA0000000000000001".into(),
            secret_access_key: AwsSecretAccessKey::new("s"),
            session_token: AwsSessionToken::new("t"),
            expires_at,
            fetched_at,
            role_arn: None,
        }
    }

    #[test]
    fn the_margin_is_sixteen_minutes_capped_at_three_quarters_of_the_lifetime() {
        let due = due_at(&stored(0, 3600));
        assert_eq!(due, 3600 - 16 * 60, "an hour: sixteen minutes ahead");
        assert!(
            3600 - (due - 1) > SDK_REFRESH_AHEAD_SECS,
            "the last second they are handed out, more than botocore's 15 minutes are left"
        );
        assert_eq!(
            due_at(&stored(0, 1280)),
            320,
            "21 min 20 s: still sixteen minutes ahead"
        );
        assert_eq!(
            due_at(&stored(0, 900)),
            225,
            "fifteen minutes (STS's shortest): used for a quarter of their lifetime"
        );
        assert_eq!(due_at(&stored(0, 120)), 30, "two minutes: a quarter too");
        assert_eq!(due_at(&stored(100, 50)), 50, "absurd: due at expiry");
    }
}
