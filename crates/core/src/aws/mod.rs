//! Temporary AWS credentials from the sign-in: a Cognito identity pool trades the ID token for
//! an IAM role's credentials, which sign AWS calls (SigV4) and feed the AWS SDKs.
//!
//! ```no_run
//! # async fn demo(profile: latchkey_core::Profile, id_token: latchkey_core::SecretToken)
//! # -> Result<(), latchkey_core::aws::AwsError> {
//! use latchkey_core::aws::{self, IdentityPoolSettings};
//! let settings = IdentityPoolSettings {
//!     identity_pool_id: "eu-west-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d".into(),
//!     ..Default::default()
//! };
//! let pool = settings.resolve(&profile.kind)?; // field-named errors
//! let http = reqwest::Client::new();
//! let creds = aws::fetch_credentials(&http, &pool, &id_token, None, chrono::Utc::now()).await?;
//! println!("{}", aws::credential_process_json(&creds)); // for `credential_process`
//! # Ok(()) }
//! ```
//!
//! The calls are typed serde requests over the session's reqwest client rather than the AWS
//! SDK crates: BENCHMARKS.md ("AWS identity calls") has the size and build-time comparison.

mod container_endpoint;
mod credentials;
mod environment;
mod error;
pub(crate) mod identity_service;
pub(crate) mod protocol;
mod provider;
mod settings;
mod sigv4;
mod sts;
pub(crate) mod user_pool;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use crate::config::{IdentityFlow, IdentityPoolSettings, SettingsError};
pub use crate::error::AwsFailure;
pub use container_endpoint::{
    ContainerEndpoint, CredentialsFuture, CredentialsSource, CREDENTIALS_PATH,
};
pub use credentials::{
    aws_profile_name, config_snippet, credential_process_json, env_exports, AwsCredentials,
    UnwritableValue, WrittenValue,
};
pub use environment::{
    credential_variables, shell_exports, CredentialVariable, ExportShell, SDK_CONFUSING_VARIABLES,
};
pub use error::{AwsError, AwsService};
pub use provider::{AwsCredentialsProvider, AwsIdentity, IdTokenSource};
pub use settings::{login_key, IdentityPool};
pub(crate) use sigv4::is_credentials_refusal;
pub use sigv4::{refuses_credentials, sign_request, SigningScope};
pub use sts::{caller_identity, CallerIdentity};

use crate::secret::SecretToken;
use identity_service::Caller;

/// The roles an ID token offers (Cognito puts the roles of the user's groups in it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenRoles {
    /// `cognito:preferred_role`: the role of the group with the best precedence.
    pub preferred: Option<String>,
    /// `cognito:roles`: every role the user may ask for with `role_arn`.
    pub roles: Vec<String>,
}

/// Reads `cognito:preferred_role` and `cognito:roles` (a JSON array in real tokens; a
/// comma-separated string in AWS's documentation, so both are read). Unverified decoding:
/// for display and messages only.
pub fn token_roles(id_token: &SecretToken) -> TokenRoles {
    let Ok(jwt) = crate::verify::decode_jwt(id_token.expose()) else {
        return TokenRoles::default();
    };
    let roles = match jwt.claims.get("cognito:roles") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(list)) => list
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    TokenRoles {
        preferred: jwt
            .claims
            .get("cognito:preferred_role")
            .and_then(Value::as_str)
            .map(str::to_owned),
        roles,
    }
}

/// The app client an ID token was issued to (`aud`), for messages.
fn token_client_id(id_token: &SecretToken) -> String {
    let claims = crate::verify::decode_jwt(id_token.expose())
        .map(|jwt| jwt.claims)
        .unwrap_or_default();
    match claims.get("aud") {
        Some(Value::String(aud)) => aud.clone(),
        Some(Value::Array(auds)) => auds
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        _ => "(unknown)".to_owned(),
    }
}

/// Trades the ID token for credentials with the pool's flow. `known_identity_id` (kept from an
/// earlier fetch) saves the `GetId` call; if the service no longer knows it, `GetId` runs.
pub async fn fetch_credentials(
    http: &reqwest::Client,
    pool: &IdentityPool,
    id_token: &SecretToken,
    known_identity_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<AwsCredentials, AwsError> {
    match pool.flow {
        IdentityFlow::Enhanced => enhanced_flow(http, pool, id_token, known_identity_id).await,
        IdentityFlow::Classic => classic_flow(http, pool, id_token, known_identity_id, now).await,
    }
}

fn caller<'a>(pool: &'a IdentityPool, id_token: &'a SecretToken) -> Caller<'a> {
    Caller {
        pool,
        id_token,
        client_id: token_client_id(id_token),
        token_roles: token_roles(id_token).roles,
    }
}

/// `GetId` then `GetCredentialsForIdentity` (with `CustomRoleArn` when `role_arn` is set).
pub async fn enhanced_flow(
    http: &reqwest::Client,
    pool: &IdentityPool,
    id_token: &SecretToken,
    known_identity_id: Option<&str>,
) -> Result<AwsCredentials, AwsError> {
    let caller = caller(pool, id_token);
    if let Some(identity_id) = known_identity_id {
        match identity_service::get_credentials_for_identity(http, &caller, identity_id).await {
            Err(AwsError::PoolNotFound { .. } | AwsError::NotAuthorized { .. }) => {
                tracing::debug!("the kept identity id was refused; asking GetId again");
            }
            done => return done,
        }
    }
    let identity_id = identity_service::get_id(http, &caller).await?;
    identity_service::get_credentials_for_identity(http, &caller, &identity_id).await
}

/// `GetId`, `GetOpenIdToken`, then STS `AssumeRoleWithWebIdentity` with `role_arn`.
pub async fn classic_flow(
    http: &reqwest::Client,
    pool: &IdentityPool,
    id_token: &SecretToken,
    known_identity_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<AwsCredentials, AwsError> {
    let role_arn = pool.role_arn.as_deref().ok_or_else(|| {
        SettingsError::new(
            "role_arn",
            "the classic flow needs the role to assume",
            "set `role_arn`",
        )
    })?;
    let caller = caller(pool, id_token);
    let identity_id = match known_identity_id {
        Some(id) => id.to_owned(),
        None => identity_service::get_id(http, &caller).await?,
    };
    let (identity_id, open_id_token) =
        identity_service::get_open_id_token(http, &caller, &identity_id).await?;
    sts::assume_role_with_web_identity(http, pool, role_arn, &open_id_token, &identity_id, now)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn jwt(claims: &serde_json::Value) -> SecretToken {
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        SecretToken::new(format!(
            "{}.{}.{}",
            b64(br#"{"alg":"RS256","kid":"k"}"#),
            b64(claims.to_string().as_bytes()),
            b64(b"sig")
        ))
    }

    #[test]
    fn token_roles_read_arrays_and_comma_lists() {
        let a = jwt(&serde_json::json!({
            "cognito:roles": ["arn:aws:iam::1:role/A", "arn:aws:iam::1:role/B"],
            "cognito:preferred_role": "arn:aws:iam::1:role/A",
            "aud": "client-1"
        }));
        assert_eq!(token_roles(&a).roles.len(), 2);
        assert_eq!(
            token_roles(&a).preferred.as_deref(),
            Some("arn:aws:iam::1:role/A")
        );
        assert_eq!(token_client_id(&a), "client-1");
        let b = jwt(
            &serde_json::json!({"cognito:roles": "arn:aws:iam::1:role/A, arn:aws:iam::1:role/B"}),
        );
        assert_eq!(
            token_roles(&b).roles,
            ["arn:aws:iam::1:role/A", "arn:aws:iam::1:role/B"]
        );
        assert_eq!(
            token_roles(&SecretToken::new("not a jwt")),
            TokenRoles::default()
        );
    }
}
