//! `TokenSet`: what a signed-in session holds (the three tokens, their times, whose they are),
//! how it is stored in and read back from the keychain, and when it is due for a refresh.

use std::time::Duration;

use url::Url;

use crate::clock::{utc, Lifetime, MarginCap};
use crate::config::Profile;
use crate::error::{Error, ErrorKind, Result};
use crate::secret::{RefreshToken, SecretToken};
use crate::vault::StoredSession;
use crate::verify::{decode_jwt, Identity, Jwt};

use super::state::{Tokens, UserSummary};

/// The tokens of a signed-in session and what is known about them.
#[derive(Clone)]
pub(super) struct TokenSet {
    pub id_token: SecretToken,
    pub access_token: SecretToken,
    pub refresh_token: Option<RefreshToken>,
    pub id_exp: i64,
    pub id_iat: i64,
    pub access_exp: i64,
    pub access_iat: i64,
    /// False once a refresh came back without an ID token (OIDC Core 12.2 allows it): the ID
    /// token then cannot be renewed and is not a reason to refresh.
    pub id_renewable: bool,
    pub refresh_stored_since: i64,
    /// Incremented on every write, in every process (the keychain holds the largest).
    pub generation: u64,
    /// Written to (or read from) the keychain; a vanished entry then means a sign-out elsewhere.
    pub stored: bool,
    pub identity: Identity,
    pub user: UserSummary,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("generation", &self.generation)
            .field("id_exp", &self.id_exp)
            .field("access_exp", &self.access_exp)
            .finish_non_exhaustive()
    }
}

/// When a token with this lifetime is due for a refresh: `margin` before it expires, the
/// margin capped at half its own lifetime (a larger one would refresh, and rotate the refresh
/// token, on every call).
fn due_at(exp: i64, iat: i64, margin: i64) -> i64 {
    let lifetime = Lifetime {
        issued_at: iat,
        expires_at: exp,
    };
    lifetime.due_at(margin, MarginCap::HALF)
}

impl TokenSet {
    pub fn tokens(&self, now: i64) -> Tokens {
        let warning = (!self.id_renewable && now >= self.id_exp)
            .then(|| Error::id_token_not_renewable().message().to_owned());
        Tokens {
            id_token: self.id_token.clone(),
            access_token: self.access_token.clone(),
            id_issued_at: utc(self.id_iat),
            id_expires_at: utc(self.id_exp),
            access_issued_at: utc(self.access_iat),
            access_expires_at: utc(self.access_exp),
            warning,
        }
    }

    /// When a refresh is due: a renewable ID token or the access token reaches its margin.
    pub fn refresh_due_at(&self, margin: Duration) -> i64 {
        let margin = i64::try_from(margin.as_secs()).unwrap_or(i64::MAX);
        let access = due_at(self.access_exp, self.access_iat, margin);
        match self.id_renewable {
            true => access.min(due_at(self.id_exp, self.id_iat, margin)),
            false => access,
        }
    }

    pub fn needs_refresh(&self, now: i64, margin: Duration) -> bool {
        now >= self.refresh_due_at(margin)
    }

    /// Expired, with nothing to renew it: neither the ID token nor the access token is valid.
    pub fn still_valid(&self, now: i64) -> bool {
        now < self.access_exp && (now < self.id_exp || !self.id_renewable)
    }

    pub fn to_stored(&self, profile: &Profile, revocation_endpoint: Option<Url>) -> StoredSession {
        StoredSession {
            version: 1,
            generation: self.generation,
            refresh_token: self.refresh_token.clone(),
            refresh_stored_since: self.refresh_stored_since,
            id_token: self.id_token.clone(),
            access_token: self.access_token.clone(),
            id_expires_at: self.id_exp,
            access_expires_at: self.access_exp,
            access_issued_at: Some(self.access_iat),
            id_issued_at: Some(self.id_iat),
            id_renewable: self.id_renewable,
            issuer: profile.issuer(),
            client_id: profile.client_id.clone(),
            revocation_endpoint,
            sub: self.identity.sub.clone(),
            aud: self.identity.aud.clone(),
        }
    }

    pub fn from_stored(s: StoredSession) -> Result<TokenSet> {
        let jwt = decode_jwt(s.id_token.expose()).map_err(|_| {
            Error::new(
                ErrorKind::Keychain,
                "the stored ID token is damaged; sign in again.",
            )
        })?;
        let id_iat = s
            .id_issued_at
            .or_else(|| jwt.claim_time("iat"))
            .unwrap_or(s.id_expires_at.saturating_sub(3600));
        let access_iat = s.access_issued_at.unwrap_or_else(|| {
            guessed_access_issued_at(&s.access_token, s.access_expires_at, id_iat)
        });
        Ok(TokenSet {
            user: UserSummary::from_jwt(&jwt),
            identity: Identity {
                iss: s.issuer,
                sub: s.sub,
                aud: s.aud,
                auth_time: jwt.claim_time("auth_time"),
            },
            id_token: s.id_token,
            access_token: s.access_token,
            refresh_token: s.refresh_token,
            id_exp: s.id_expires_at,
            id_iat,
            access_exp: s.access_expires_at,
            access_iat,
            id_renewable: s.id_renewable,
            refresh_stored_since: s.refresh_stored_since,
            generation: s.generation,
            stored: true,
        })
    }
}

/// When an access token stored without its issue time (by an older version) was issued: its
/// `iat` when it is a JWT, else `fallback`, never after its own expiry. The next refresh
/// stores the real one.
fn guessed_access_issued_at(token: &SecretToken, exp: i64, fallback: i64) -> i64 {
    decode_jwt(token.expose())
        .ok()
        .and_then(|jwt: Jwt| jwt.claim_time("iat"))
        .unwrap_or(fallback)
        .min(exp)
}

#[cfg(test)]
mod tests {
    use super::due_at;

    #[test]
    fn margin_is_capped_at_half_the_lifetime() {
        // one hour token, five minute margin: due in the last five minutes only
        assert_eq!(due_at(3600, 0, 300), 3300);
        // five minute token, five minute margin: due after half its life, not at once
        assert_eq!(due_at(300, 0, 300), 150);
        // absurd values do not overflow
        assert_eq!(due_at(i64::MIN, i64::MAX, i64::MAX), i64::MIN);
        assert_eq!(
            due_at(i64::MAX, i64::MIN, i64::MAX),
            i64::MAX - i64::MAX / 2
        );
    }
}
