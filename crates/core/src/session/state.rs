//! What a session shows the outside: its observable state, who is signed in, where the
//! secrets live, the current tokens (redacted in `Debug`), and what a sign-out did.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use url::Url;

use crate::clock::utc;
use crate::error::ErrorKind;
use crate::secret::SecretToken;
use crate::verify::Jwt;

/// Who is signed in (from the verified ID token).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UserSummary {
    pub sub: String,
    pub username: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub groups: Vec<String>,
    pub issuer: String,
    pub auth_time: Option<DateTime<Utc>>,
}

impl UserSummary {
    pub(crate) fn from_jwt(jwt: &Jwt) -> UserSummary {
        let s = |k: &str| jwt.claim_str(k).map(str::to_owned);
        UserSummary {
            sub: s("sub").unwrap_or_default(),
            username: s("cognito:username")
                .or_else(|| s("preferred_username"))
                .or_else(|| s("username")),
            email: s("email"),
            name: s("name"),
            groups: jwt.claim_strings("cognito:groups"),
            issuer: s("iss").unwrap_or_default(),
            auth_time: jwt.claim_time("auth_time").map(utc),
        }
    }
}

/// Where this session's secrets live.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StorageInfo {
    pub store_name: String,
    pub persistent: bool,
    /// Set when the keychain could not be used and the session is memory-only.
    pub warning: Option<String>,
}

/// The session's observable state. `Debug` never shows the authorize URL (it carries the
/// sign-in's `state` and `nonce`).
#[derive(Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SessionState {
    SignedOut {
        reason: Option<String>,
    },
    SigningIn {
        /// The URL opened in the browser (show it when the browser could not be opened).
        authorize_url: Url,
        redirect_uri: String,
        expires_at: DateTime<Utc>,
    },
    SignedIn {
        user: UserSummary,
        id_expires_at: DateTime<Utc>,
        access_expires_at: DateTime<Utc>,
        /// When the AWS credentials held for this user expire (none held: `None`).
        aws_expires_at: Option<DateTime<Utc>>,
        storage: StorageInfo,
    },
    Refreshing {
        user: UserSummary,
    },
    Error {
        kind: ErrorKind,
        message: String,
    },
}

impl fmt::Debug for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionState::SigningIn {
                redirect_uri,
                expires_at,
                ..
            } => f
                .debug_struct("SigningIn")
                .field("redirect_uri", redirect_uri)
                .field("expires_at", expires_at)
                .finish_non_exhaustive(),
            SessionState::SignedOut { reason } => {
                f.debug_struct("SignedOut").field("reason", reason).finish()
            }
            SessionState::SignedIn {
                user,
                id_expires_at,
                access_expires_at,
                aws_expires_at,
                storage,
            } => f
                .debug_struct("SignedIn")
                .field("user", user)
                .field("id_expires_at", id_expires_at)
                .field("access_expires_at", access_expires_at)
                .field("aws_expires_at", aws_expires_at)
                .field("storage", storage)
                .finish(),
            SessionState::Refreshing { user } => {
                f.debug_struct("Refreshing").field("user", user).finish()
            }
            SessionState::Error { kind, message } => f
                .debug_struct("Error")
                .field("kind", kind)
                .field("message", message)
                .finish(),
        }
    }
}

impl SessionState {
    pub fn name(&self) -> &'static str {
        match self {
            SessionState::SignedOut { .. } => "signed_out",
            SessionState::SigningIn { .. } => "signing_in",
            SessionState::SignedIn { .. } => "signed_in",
            SessionState::Refreshing { .. } => "refreshing",
            SessionState::Error { .. } => "error",
        }
    }
}

/// Current tokens for API calls. `Debug` redacts.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub id_token: SecretToken,
    pub access_token: SecretToken,
    pub id_issued_at: DateTime<Utc>,
    pub id_expires_at: DateTime<Utc>,
    pub access_issued_at: DateTime<Utc>,
    pub access_expires_at: DateTime<Utc>,
    /// Set when the tokens are handed out in spite of a problem (a failed refresh while they
    /// are still valid; an ID token the provider does not renew).
    pub warning: Option<String>,
}

/// The provider's logout page. It may carry the ID token (`id_token_hint`): `Display`,
/// `Debug` and `Serialize` show it without that parameter (still a working URL); only the
/// browser gets [`LogoutUrl::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct LogoutUrl(Url);

impl LogoutUrl {
    pub(crate) fn new(url: Url) -> Self {
        LogoutUrl(url)
    }
    /// The full URL, for the browser only.
    pub fn expose(&self) -> &Url {
        &self.0
    }
    /// The URL without `id_token_hint`: safe to print or show.
    pub fn redacted(&self) -> Url {
        let mut url = self.0.clone();
        let kept: Vec<(String, String)> = self
            .0
            .query_pairs()
            .filter(|(k, _)| k != "id_token_hint")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.set_query(None);
        if !kept.is_empty() {
            url.query_pairs_mut().extend_pairs(kept);
        }
        url
    }
}

impl fmt::Display for LogoutUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.redacted())
    }
}

impl fmt::Debug for LogoutUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LogoutUrl({})", self.redacted())
    }
}

impl Serialize for LogoutUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.redacted().as_str())
    }
}

/// What sign-out did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SignOutOutcome {
    /// Open this in the browser to end the provider's browser session too.
    pub logout_url: Option<LogoutUrl>,
    /// The refresh token no longer works at the provider (revoked, or ended by a global
    /// sign-out).
    pub revoked: bool,
    /// Why the refresh token could not be revoked (it stays valid at the provider until it
    /// expires), when that was tried and failed; the session is signed out here all the same.
    /// `None`: revoked, or there was no refresh token to revoke.
    pub revocation_error: Option<String>,
    /// Every refresh token of the user ended, on every device (Cognito's `GlobalSignOut`).
    pub signed_out_everywhere: bool,
    pub warnings: Vec<String>,
}

/// Facts about the refresh token, never its value.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RefreshTokenInfo {
    pub kind: String,
    pub length: usize,
    pub stored_since: DateTime<Utc>,
    pub store: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logout_url_shows_no_id_token_anywhere_but_expose() {
        let url = Url::parse("https://op.example/logout?client_id=c&id_token_hint=eyJsecret&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fx").unwrap();
        let l = LogoutUrl::new(url.clone());
        for shown in [
            l.to_string(),
            format!("{l:?}"),
            serde_json::to_string(&l).unwrap(),
        ] {
            assert!(!shown.contains("eyJsecret"), "{shown}");
            assert!(shown.contains("client_id=c"), "{shown}");
        }
        assert_eq!(l.expose(), &url);
    }

    #[test]
    fn signing_in_debug_hides_the_authorize_url() {
        let s = SessionState::SigningIn {
            authorize_url: Url::parse("https://op.example/a?state=S3CR3T&nonce=N0NCE").unwrap(),
            redirect_uri: "http://127.0.0.1:1/cb".into(),
            expires_at: utc(0),
        };
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("S3CR3T") && !shown.contains("N0NCE"),
            "{shown}"
        );
    }
}
