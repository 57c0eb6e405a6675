//! What the AWS credentials stand for, for display (`latchkey aws whoami`, the app's AWS view):
//! the pool's identity, the role (STS is asked once per set of credentials), the user's roles.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{due_at, AwsCredentialsProvider, IdTokenSource};
use crate::aws::{self, token_roles, AwsError, CallerIdentity};
use crate::clock::utc;
use crate::config::IdentityFlow;
use crate::error::Result;

/// What the AWS credentials stand for, for display (`latchkey aws whoami`, the app's AWS
/// view). No secret: the access key id is not one (AWS logs it in CloudTrail).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AwsIdentity {
    /// The profile's identity pool, `REGION:GUID`.
    pub identity_pool_id: String,
    /// The identity pool's region, where the credentials were fetched.
    pub region: String,
    /// The flow the credentials came from (`"enhanced"` or `"classic"`).
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
    /// The 12-digit AWS account id, from STS `GetCallerIdentity`; `None` when STS could not be
    /// asked (see `warning`).
    pub account: Option<String>,
    /// Every role the ID token offers (`cognito:roles`: the roles of the user's groups).
    pub roles: Vec<String>,
    /// `cognito:preferred_role`: the role the pool picks when it takes it from the token.
    pub preferred_role: Option<String>,
    /// The access key id of the credentials (`ASIA…`), as CloudTrail logs it.
    pub access_key_id: String,
    /// When Latchkey fetched the credentials (now, when they are not in its cache).
    pub issued_at: DateTime<Utc>,
    /// When AWS stops accepting the credentials.
    pub expires_at: DateTime<Utc>,
    /// When Latchkey fetches new ones (a margin before `expires_at`).
    pub refresh_due_at: DateTime<Utc>,
    /// Why something above is missing or stale (STS unreachable; a refetch that failed).
    pub warning: Option<String>,
}

impl<S: IdTokenSource> AwsCredentialsProvider<S> {
    /// What the credentials stand for: identity, role (STS is asked once per set of
    /// credentials, and when it does not know them, new ones are fetched once), the user's
    /// roles and the times.
    pub async fn identity(&self) -> Result<AwsIdentity> {
        let pool = self.identity_pool()?;
        let mut creds = self.credentials().await?;
        let mut warning = creds.warning.clone();
        let caller = match self.cache.held_caller(&creds.access_key_id) {
            Some(caller) => Some(caller),
            None => {
                let http = self.source.http();
                let mut asked = aws::caller_identity(http, &pool, &creds).await;
                if matches!(&asked, Err(AwsError::Service { code, .. }) if aws::is_credentials_refusal(code))
                {
                    tracing::debug!("STS does not know these credentials; fetching new ones once");
                    creds = self
                        .credentials_replacing(Some(&creds.access_key_id))
                        .await?;
                    asked = aws::caller_identity(http, &pool, &creds).await;
                }
                match asked {
                    Ok(caller) => {
                        self.cache.set_caller(&creds.access_key_id, &caller);
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
        let roles = (self.source.current_id_token())
            .map(|id_token| token_roles(&id_token))
            .unwrap_or_default();
        let (issued_at, refresh_due_at) = (self.cache.held())
            .filter(|s| s.access_key_id == creds.access_key_id)
            .map_or((self.now(), creds.expiration.timestamp()), |s| {
                (s.fetched_at, due_at(&s))
            });
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
}
