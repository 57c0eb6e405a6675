//! What one profile keeps in the keychain: the tokens (secret types, written only here), when
//! they expire, whose they are, and a generation that tells another process a refresh happened.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::secret::{keychain_serde, RefreshToken, SecretToken};

/// The stored form of a session. Never logged: `Debug` shows the generation and issuer only.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredSession {
    /// The format of this stored form; 1 is the only one written so far.
    pub version: u32,
    /// Incremented on every write; lets another process see that a refresh happened.
    pub generation: u64,
    /// The refresh token, as a plain JSON string; `None` (`null`) when the provider issued none.
    #[serde(with = "keychain_serde::option")]
    pub refresh_token: Option<RefreshToken>,
    /// When the refresh token held now was stored (Unix seconds): at sign-in, or when a refresh
    /// rotated it.
    pub refresh_stored_since: i64,
    /// The ID token (a JWT), as a plain JSON string.
    #[serde(with = "keychain_serde")]
    pub id_token: SecretToken,
    /// The access token as the provider sent it (a JWT or an opaque string), as a plain JSON
    /// string.
    #[serde(with = "keychain_serde")]
    pub access_token: SecretToken,
    /// When the ID token expires (Unix seconds): its verified `exp`.
    pub id_expires_at: i64,
    /// When the access token expires (Unix seconds): its `exp` claim, or the response's
    /// `expires_in` counted from receipt (an hour when neither says).
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
    /// The issuer URL of the profile that signed in; a refreshed ID token must name the same `iss`.
    pub issuer: String,
    /// The OAuth client id the tokens were issued to (the profile's when the session was stored).
    pub client_id: String,
    /// Where the refresh token is revoked (what sign-in and refresh knew), so that a session no
    /// profile reaches any more can still be revoked; absent in items written before.
    #[serde(default)]
    pub revocation_endpoint: Option<Url>,
    /// The user's `sub` from the verified ID token; a refreshed ID token must name the same.
    pub sub: String,
    /// The verified ID token's `aud`, as a list; a refreshed ID token must name the same.
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
