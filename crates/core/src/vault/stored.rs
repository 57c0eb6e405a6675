//! What one profile keeps in the keychain: the tokens (secret types, written only here), when
//! they expire, whose they are, and a generation that tells another process a refresh happened.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::secret::{keychain_serde, RefreshToken, SecretToken};

/// The stored form of a session. Never logged: `Debug` shows the generation and issuer only.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredSession {
    pub version: u32,
    /// Incremented on every write; lets another process see that a refresh happened.
    pub generation: u64,
    #[serde(with = "keychain_serde::option")]
    pub refresh_token: Option<RefreshToken>,
    pub refresh_stored_since: i64,
    #[serde(with = "keychain_serde")]
    pub id_token: SecretToken,
    #[serde(with = "keychain_serde")]
    pub access_token: SecretToken,
    pub id_expires_at: i64,
    pub access_expires_at: i64,
    /// When the access token was issued, on the clock of `access_expires_at`: its refresh is
    /// scheduled on this span (absent before it was stored: then guessed).
    #[serde(default)]
    pub access_issued_at: Option<i64>,
    /// When the ID token was issued (schedules the refresh margin).
    #[serde(default)]
    pub id_issued_at: Option<i64>,
    /// False once a refresh came back without an ID token: the ID token cannot be renewed.
    #[serde(default = "renewable")]
    pub id_renewable: bool,
    pub issuer: String,
    pub client_id: String,
    /// Where the refresh token is revoked (what sign-in and refresh knew), so that a session no
    /// profile reaches any more can still be revoked; absent in items written before.
    #[serde(default)]
    pub revocation_endpoint: Option<Url>,
    pub sub: String,
    pub aud: Vec<String>,
}

fn renewable() -> bool {
    true
}

impl std::fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSession")
            .field("generation", &self.generation)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}
