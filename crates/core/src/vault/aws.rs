//! What one profile keeps in the keychain next to its session (`{account}:aws`): the identity
//! pool's temporary credentials (secrets only through the secret types), whose they are and
//! what they were asked for, so another process can adopt them without asking AWS again.

use serde::{Deserialize, Serialize};

use super::Vault;
use crate::error::{Error, Result};
use crate::secret::{keychain_serde, AwsSecretAccessKey, AwsSessionToken};

/// The stored form of a profile's AWS credentials. `Debug` shows no secret.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredAwsCredentials {
    /// The format of this stored form; 1 is the only one written so far.
    pub version: u32,
    /// What they were fetched for: the pool, the endpoint's origin, the role asked for, the
    /// user (`sub`). Another combination means they are not this profile's any more.
    pub identity_pool_id: String,
    /// The Cognito Identity endpoint they came from, as a URL string:
    /// `https://cognito-identity.{region}.amazonaws.com/` or the profile's `identity_endpoint`.
    pub identity_endpoint: String,
    /// The profile's `role_arn` when they were fetched; `None` when it names none.
    pub requested_role: Option<String>,
    /// The `sub` of the signed-in user they were fetched for.
    pub sub: String,
    /// The Cognito identity id (`region:uuid`) the pool gave this user; reused on the next fetch.
    pub identity_id: String,
    /// The AWS access key id (`ASIA…`); not a secret, shown in `Debug`.
    pub access_key_id: String,
    /// The AWS secret access key, as a plain JSON string.
    #[serde(with = "keychain_serde")]
    pub secret_access_key: AwsSecretAccessKey,
    /// The STS session token that goes with the key, as a plain JSON string.
    #[serde(with = "keychain_serde")]
    pub session_token: AwsSessionToken,
    /// Unix seconds.
    pub expires_at: i64,
    /// When they were fetched (Unix seconds): with `expires_at`, their lifetime.
    pub fetched_at: i64,
    /// The role they are for, when known (asked for, or named by STS).
    pub role_arn: Option<String>,
}

impl std::fmt::Debug for StoredAwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredAwsCredentials")
            .field("identity_pool_id", &self.identity_pool_id)
            .field("access_key_id", &self.access_key_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The keychain account of a profile's AWS credentials.
pub(crate) fn aws_account(session_account: &str) -> String {
    format!("{session_account}:aws")
}

impl Vault {
    /// The AWS credentials stored for `account` (a damaged entry reads as none: it is
    /// replaced by the next fetch).
    pub(crate) fn load_aws(&self, account: &str) -> Result<Option<StoredAwsCredentials>> {
        Ok(self
            .get_bytes(account)?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    pub(crate) fn store_aws(&self, account: &str, creds: &StoredAwsCredentials) -> Result<()> {
        self.set_bytes(
            account,
            &serde_json::to_vec(creds).map_err(Error::internal)?,
        )
    }
}
