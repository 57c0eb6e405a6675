//! AWS credentials from the sign-in, handed out with the same rules as tokens: held in memory
//! and in the keychain (`{account}:aws`), fetched again ahead of expiry, one fetch in flight per
//! profile (also across processes: the `…:aws` lock, taken before the refresh lock and never
//! after it), the ID token renewed first when it is too close to expiry for the identity pool.
//! Also what they stand for (`aws_identity`) and API calls signed with them (SigV4).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Session, SessionState};
use crate::api::{self, ApiRequest, ApiResponse, Credential};
use crate::aws::{
    self, token_roles, AwsCredentials, AwsError, CallerIdentity, IdentityPool, SigningScope,
};
use crate::clock::utc;
use crate::config::{IdentityFlow, TokenChoice};
use crate::error::{Error, Result};
use crate::secret::SecretToken;
use crate::vault::{ProfileLock, StoredAwsCredentials};

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
/// The SigV4 service of API Gateway, the default signing name for `call`.
const DEFAULT_SIGNING_SERVICE: &str = "execute-api";

/// AWS credentials held in memory: their stored form, and what STS said about them.
pub(super) struct HeldAws {
    creds: StoredAwsCredentials,
    caller: Option<CallerIdentity>,
}

/// What the AWS credentials stand for, for display (`latchkey aws whoami`, the app's AWS
/// view). No secret: the access key id is not one (AWS logs it in CloudTrail).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AwsIdentity {
    pub identity_pool_id: String,
    pub region: String,
    pub flow: IdentityFlow,
    /// The user's identity in the pool (`REGION:GUID`).
    pub identity_id: String,
    /// The IAM role the credentials are for: the one asked for (`role_arn`), else the one STS
    /// names; `None` when neither is known.
    pub role_arn: Option<String>,
    /// `role_arn` of the profile, when it asks for a role.
    pub requested_role: Option<String>,
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`, as STS `GetCallerIdentity` says.
    pub assumed_role_arn: Option<String>,
    pub account: Option<String>,
    /// Every role the ID token offers (`cognito:roles`: the roles of the user's groups).
    pub roles: Vec<String>,
    /// `cognito:preferred_role`: the role the pool picks when it takes it from the token.
    pub preferred_role: Option<String>,
    pub access_key_id: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When Latchkey fetches new ones (a margin before `expires_at`).
    pub refresh_due_at: DateTime<Utc>,
    /// Why something above is missing or stale (STS unreachable; a refetch that failed).
    pub warning: Option<String>,
}

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
    let lifetime = stored.expires_at.saturating_sub(stored.fetched_at).max(0);
    stored
        .expires_at
        .saturating_sub(AWS_MARGIN_SECS.min(lifetime / 4 * 3))
}

fn to_credentials(stored: &StoredAwsCredentials, warning: Option<String>) -> AwsCredentials {
    AwsCredentials {
        access_key_id: stored.access_key_id.clone(),
        secret_access_key: stored.secret_access_key.clone(),
        session_token: stored.session_token.clone(),
        expiration: utc(stored.expires_at),
        identity_id: stored.identity_id.clone(),
        role_arn: stored.role_arn.clone(),
        warning,
    }
}

impl Session {
    /// Temporary AWS credentials from the profile's identity pool (its `[aws]` table), with
    /// more than 16 minutes left when their lifetime allows it (the rule: `due_at`): the ones
    /// held in memory or in the keychain while they are, else fetched with the session's ID
    /// token (renewed first when needed). When a
    /// fetch fails because the service throttles or cannot be reached while the credentials
    /// held are still valid, those come back with a `warning`. A failed fetch writes nothing.
    pub async fn aws_credentials(&self) -> Result<AwsCredentials> {
        self.aws_credentials_replacing(None).await
    }

    /// [`Session::aws_credentials`], never handing out the credentials with access key id
    /// `refused` (an API said they are expired or unknown).
    async fn aws_credentials_replacing(&self, refused: Option<&str>) -> Result<AwsCredentials> {
        let pool = self.identity_pool()?;
        let sub = self.signed_in_sub().await?;
        let usable = |s: &StoredAwsCredentials, now: i64| {
            fits(s, &pool, &sub) && now < due_at(s) && Some(s.access_key_id.as_str()) != refused
        };
        if let Some(creds) = self.held_aws_if(|s| usable(s, self.now())) {
            return Ok(creds);
        }
        let _gate = self.inner.aws_gate.lock().await;
        if let Some(creds) = self.held_aws_if(|s| usable(s, self.now())) {
            return Ok(creds);
        }
        // Another process (or an earlier run) may have fetched them: adopt those.
        if let Some(stored) = self.aws_load().await.filter(|s| usable(s, self.now())) {
            return Ok(self.hold_aws(stored, false));
        }
        let _lock = self.aws_lock().await?;
        let stored = self.aws_load().await;
        if let Some(stored) = stored.clone().filter(|s| usable(s, self.now())) {
            return Ok(self.hold_aws(stored, false));
        }
        // What is held (here or in the keychain) for this profile and user, even if due.
        let held = self
            .inner
            .aws
            .lock()
            .unwrap()
            .as_ref()
            .map(|h| h.creds.clone());
        let previous = stored
            .into_iter()
            .chain(held)
            .filter(|s| fits(s, &pool, &sub))
            .max_by_key(|s| s.expires_at);
        let kept_identity_id = previous.as_ref().map(|s| s.identity_id.clone());
        match self.fetch_aws(&pool, kept_identity_id.as_deref()).await {
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
                self.aws_store(&stored).await;
                tracing::debug!("AWS credentials fetched");
                Ok(self.hold_aws(stored, true))
            }
            Err(e) if is_transient_aws(&e) => self.aws_valid_despite(previous, refused, e),
            Err(e) => Err(e),
        }
    }

    /// After a fetch that failed for a transient reason: the `previous` credentials if they
    /// are still valid (and not the refused ones), with a warning; else the error.
    fn aws_valid_despite(
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
                let mut creds = self.hold_aws(s, false);
                creds.warning = Some(warning);
                Ok(creds)
            }
            _ => Err(e),
        }
    }

    /// What the credentials stand for: identity, role (STS is asked once per set of
    /// credentials, and when it does not know them, new ones are fetched once), the user's
    /// roles and the times.
    pub async fn aws_identity(&self) -> Result<AwsIdentity> {
        let pool = self.identity_pool()?;
        let mut creds = self.aws_credentials().await?;
        let mut warning = creds.warning.clone();
        let caller = match self.held_caller(&creds.access_key_id) {
            Some(caller) => Some(caller),
            None => {
                let mut asked = aws::caller_identity(self.http(), &pool, &creds).await;
                if matches!(&asked, Err(AwsError::Service { code, .. }) if aws::is_credentials_refusal(code))
                {
                    tracing::debug!("STS does not know these credentials; fetching new ones once");
                    creds = self
                        .aws_credentials_replacing(Some(&creds.access_key_id))
                        .await?;
                    asked = aws::caller_identity(self.http(), &pool, &creds).await;
                }
                match asked {
                    Ok(caller) => {
                        if let Some(h) = self.inner.aws.lock().unwrap().as_mut() {
                            if h.creds.access_key_id == creds.access_key_id {
                                h.caller = Some(caller.clone());
                            }
                        }
                        Some(caller)
                    }
                    Err(e) => {
                        warning.get_or_insert_with(|| {
                            format!("STS could not say which role these credentials are for: {e}")
                        });
                        None
                    }
                }
            }
        };
        let roles = {
            let current = self.inner.current.lock().unwrap();
            current
                .as_ref()
                .map(|set| token_roles(&set.id_token))
                .unwrap_or_default()
        };
        let (issued_at, refresh_due_at) = {
            let held = self.inner.aws.lock().unwrap();
            held.as_ref()
                .map(|h| &h.creds)
                .filter(|s| s.access_key_id == creds.access_key_id)
                .map_or((self.now(), creds.expiration.timestamp()), |s| {
                    (s.fetched_at, due_at(s))
                })
        };
        Ok(AwsIdentity {
            identity_pool_id: pool.identity_pool_id.clone(),
            region: pool.region.clone(),
            flow: pool.flow,
            identity_id: creds.identity_id.clone(),
            role_arn: creds
                .role_arn
                .clone()
                .or_else(|| caller.as_ref().and_then(CallerIdentity::role_arn)),
            requested_role: pool.role_arn.clone(),
            assumed_role_arn: caller.as_ref().map(|c| c.arn.clone()),
            account: caller.map(|c| c.account),
            roles: roles.roles,
            preferred_role: roles.preferred,
            access_key_id: creds.access_key_id,
            issued_at: utc(issued_at),
            expires_at: creds.expiration,
            refresh_due_at: utc(refresh_due_at),
            warning,
        })
    }

    /// What STS said about the held credentials with this access key id, if it was asked.
    fn held_caller(&self, access_key_id: &str) -> Option<CallerIdentity> {
        let held = self.inner.aws.lock().unwrap();
        held.as_ref()
            .filter(|h| h.creds.access_key_id == access_key_id)
            .and_then(|h| h.caller.clone())
    }

    /// `req` signed with the AWS credentials (SigV4); when the API says they are expired or
    /// unknown, new ones are fetched once and the call is repeated.
    pub(super) async fn call_signed(
        &self,
        req: &ApiRequest,
        method: &reqwest::Method,
    ) -> Result<ApiResponse> {
        let pool = self.identity_pool()?;
        let scope = SigningScope {
            service: req
                .aws_service
                .clone()
                .unwrap_or_else(|| DEFAULT_SIGNING_SERVICE.to_owned()),
            region: req.aws_region.clone().unwrap_or(pool.region),
        };
        let creds = self.aws_credentials().await?;
        let at = self.signing_time();
        let first = api::send(
            self.http(),
            req,
            method,
            Credential::Signed(&creds, &scope, at),
            self.inner.profile.api_response_limit_mib,
        )
        .await?;
        if !aws::refuses_credentials(first.status, &first.headers) {
            return Ok(first);
        }
        tracing::debug!(
            status = first.status,
            "the API refused the AWS credentials; fetching new ones once and retrying"
        );
        let creds = self
            .aws_credentials_replacing(Some(&creds.access_key_id))
            .await?;
        let at = self.signing_time();
        let mut second = api::send(
            self.http(),
            req,
            method,
            Credential::Signed(&creds, &scope, at),
            self.inner.profile.api_response_limit_mib,
        )
        .await?;
        second.retried_after_refresh = true;
        Ok(second)
    }

    fn signing_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(u64::try_from(self.now()).unwrap_or(0))
    }

    fn identity_pool(&self) -> Result<IdentityPool> {
        self.inner.profile.identity_pool()
    }

    /// The signed-in user's `sub`, reading the keychain's session (without refreshing it)
    /// when none is current yet.
    async fn signed_in_sub(&self) -> Result<String> {
        let current = || {
            self.inner
                .current
                .lock()
                .unwrap()
                .as_ref()
                .map(|set| set.identity.sub.clone())
        };
        if let Some(sub) = current() {
            return Ok(sub);
        }
        if self.load_stored().await? {
            if let Some(sub) = current() {
                return Ok(sub);
            }
        }
        Err(Error::not_signed_in())
    }

    /// An ID token with at least [`ID_TOKEN_MIN_LIFE_SECS`] left, refreshed first if needed.
    async fn id_token_for_identity_pool(&self) -> Result<SecretToken> {
        let tokens = self.tokens().await?;
        if tokens.id_expires_at.timestamp() - self.now() >= ID_TOKEN_MIN_LIFE_SECS {
            return Ok(tokens.id_token);
        }
        tracing::debug!("the ID token is too close to expiry for the identity pool; refreshing");
        self.force_refresh().await?;
        self.token(TokenChoice::Id).await
    }

    /// Trade the ID token for credentials; when the identity pool finds it expired (its clock
    /// is ahead of ours), refresh the session once and try again.
    async fn fetch_aws(&self, pool: &IdentityPool, kept: Option<&str>) -> Result<AwsCredentials> {
        let id_token = self.id_token_for_identity_pool().await?;
        let now = utc(self.now());
        match aws::fetch_credentials(self.http(), pool, &id_token, kept, now).await {
            Err(AwsError::IdTokenExpired { .. }) => {
                tracing::debug!("the identity pool found the ID token expired; refreshing once");
                self.force_refresh().await?;
                let id_token = self.token(TokenChoice::Id).await?;
                let now = utc(self.now());
                Ok(aws::fetch_credentials(self.http(), pool, &id_token, kept, now).await?)
            }
            other => Ok(other?),
        }
    }

    /// The held credentials, when `accept` takes them.
    fn held_aws_if(
        &self,
        accept: impl Fn(&StoredAwsCredentials) -> bool,
    ) -> Option<AwsCredentials> {
        let held = self.inner.aws.lock().unwrap();
        held.as_ref()
            .map(|h| &h.creds)
            .filter(|s| accept(s))
            .map(|s| to_credentials(s, None))
    }

    /// Make `stored` the held credentials; `fetched` ones are announced (a state event).
    fn hold_aws(&self, stored: StoredAwsCredentials, fetched: bool) -> AwsCredentials {
        let creds = to_credentials(&stored, None);
        *self.inner.aws.lock().unwrap() = Some(HeldAws {
            creds: stored,
            caller: None,
        });
        if fetched && matches!(self.state(), SessionState::SignedIn { .. }) {
            self.show_signed_in();
        }
        creds
    }

    /// When the held credentials of user `sub` expire (for the state).
    pub(super) fn aws_held_expiry(&self, sub: &str) -> Option<DateTime<Utc>> {
        let held = self.inner.aws.lock().unwrap();
        held.as_ref()
            .filter(|h| h.creds.sub == sub)
            .map(|h| utc(h.creds.expires_at))
    }

    /// Forget the AWS credentials here and in the keychain. Sign-out holds the AWS lock while
    /// it does this; a session that ends during a refresh cannot take it (the refresh lock is
    /// held), and needs not: a fetch racing it fails with the session.
    pub(super) async fn forget_aws(&self) -> Result<()> {
        self.forget_held_aws();
        let (vault, account) = (self.inner.vault.clone(), self.inner.aws_account.clone());
        tokio::task::spawn_blocking(move || vault.delete(&account))
            .await
            .map_err(Error::internal)?
    }

    /// The secret key and session token of the AWS credentials held, if any (for
    /// [`Session::held_secrets`]).
    pub(super) fn held_aws_secrets(&self) -> Vec<String> {
        let held = self.inner.aws.lock().unwrap();
        held.iter()
            .flat_map(|h| {
                [
                    h.creds.secret_access_key.expose(),
                    h.creds.session_token.expose(),
                ]
            })
            .map(str::to_owned)
            .collect()
    }

    pub(super) fn forget_held_aws(&self) {
        *self.inner.aws.lock().unwrap() = None;
    }

    /// The cross-process lock of this profile's AWS credentials (none for memory vaults).
    pub(super) async fn aws_lock(&self) -> Result<Option<ProfileLock>> {
        if !self.inner.vault.is_persistent() {
            return Ok(None);
        }
        ProfileLock::acquire(self.inner.aws_lock_path.clone())
            .await
            .map(Some)
    }

    /// The stored credentials; a keychain that cannot be read counts as none (a fetch
    /// follows, and its store says what is wrong).
    async fn aws_load(&self) -> Option<StoredAwsCredentials> {
        let (vault, account) = (self.inner.vault.clone(), self.inner.aws_account.clone());
        match tokio::task::spawn_blocking(move || vault.load_aws(&account)).await {
            Ok(Ok(stored)) => stored,
            Ok(Err(e)) => {
                tracing::debug!(kind = ?e.kind(), "could not read the stored AWS credentials");
                None
            }
            Err(_) => None,
        }
    }

    /// Store fetched credentials (before they are handed out); on a keychain failure they are
    /// kept in memory only, as the session is.
    async fn aws_store(&self, stored: &StoredAwsCredentials) {
        let (vault, account) = (self.inner.vault.clone(), self.inner.aws_account.clone());
        let stored = stored.clone();
        let result = tokio::task::spawn_blocking(move || vault.store_aws(&account, &stored))
            .await
            .map_err(Error::internal)
            .and_then(|r| r);
        if let Err(e) = result {
            tracing::warn!(kind = ?e.kind(), "could not store the AWS credentials in the keychain; keeping them in memory only");
        }
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
