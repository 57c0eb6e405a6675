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
    /// The ID token's `sub`: the user's stable id at the issuer.
    pub sub: String,
    /// The `cognito:username` claim, else `preferred_username`, else `username`; `None` when
    /// the token has none of them.
    pub username: Option<String>,
    /// The `email` claim; `None` when the token does not carry it (no `email` scope).
    pub email: Option<String>,
    /// The `name` claim (the user's display name); `None` when the token does not carry it.
    pub name: Option<String>,
    /// The `cognito:groups` claim (the user's user-pool groups); empty when there is none.
    pub groups: Vec<String>,
    /// The token's `iss`: the provider's issuer URL.
    pub issuer: String,
    /// When the user last authenticated at the provider (`auth_time`); `None` when the token
    /// omits it.
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
    /// The store's name for display: the OS keychain's (`macOS Keychain`, `Windows Credential
    /// Manager`, …) or `memory only (not persisted)`.
    pub store_name: String,
    /// True when the session is kept across restarts (in the OS keychain); false when it is in
    /// memory only, also after a keychain read or write failed.
    pub persistent: bool,
    /// Set when the keychain could not be used and the session is memory-only.
    pub warning: Option<String>,
}

/// The session's observable state. `Debug` never shows the authorize URL (it carries the
/// sign-in's `state` and `nonce`).
#[derive(Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SessionState {
    /// No session: at start, with no usable saved session, after a sign-out, or after the
    /// provider ended the session.
    SignedOut {
        /// Why, for display (`signed out`, `no saved session; sign in`, the provider's refusal,
        /// a keychain error); `None` before the saved session was looked for.
        reason: Option<String>,
    },
    /// A browser sign-in is waiting for the provider to send the browser back.
    SigningIn {
        /// The URL opened in the browser (show it when the browser could not be opened).
        authorize_url: Url,
        /// The loopback callback address the provider redirects to (`http://127.0.0.1:PORT/…`).
        redirect_uri: String,
        /// When the sign-in gives up and closes the callback port (the profile's
        /// `sign_in_timeout`, or the timeout the caller gave).
        expires_at: DateTime<Utc>,
    },
    /// Tokens are held: just signed in, restored from the keychain, or refreshed.
    SignedIn {
        /// Who is signed in, from the verified ID token.
        user: UserSummary,
        /// When the ID token expires (its `exp`).
        id_expires_at: DateTime<Utc>,
        /// When the access token expires: its `exp`, or `expires_in` seconds after it came.
        access_expires_at: DateTime<Utc>,
        /// When the AWS credentials held for this user expire (none held: `None`).
        aws_expires_at: Option<DateTime<Utc>>,
        /// Where the session's secrets are kept, and why not in the keychain if so.
        storage: StorageInfo,
    },
    /// The tokens are being renewed with the refresh token.
    Refreshing {
        /// Who the session being refreshed belongs to.
        user: UserSummary,
    },
    /// A sign-in failed and there is no session to go back to (a signed-in session stays
    /// `SignedIn` when a new sign-in fails).
    Error {
        /// The coarse kind of the failure, as for exit codes.
        kind: ErrorKind,
        /// What went wrong and what to do, for display.
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
    /// The state's `state` tag in JSON (`signed_out`, `signing_in`, `signed_in`, `refreshing`,
    /// `error`), for logs and display.
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
    /// The verified ID token (a JWT) that says who is signed in.
    pub id_token: SecretToken,
    /// The access token to send as `Authorization: Bearer` to the APIs.
    pub access_token: SecretToken,
    /// When the ID token was issued (its `iat`).
    pub id_issued_at: DateTime<Utc>,
    /// When the ID token expires (its `exp`); may be past, with a `warning`, when the provider
    /// does not renew ID tokens.
    pub id_expires_at: DateTime<Utc>,
    /// When the access token was issued: its `iat`, or when it came if only `expires_in` is
    /// known.
    pub access_issued_at: DateTime<Utc>,
    /// When the access token expires: its `exp`, or `expires_in` seconds after it came.
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
    /// What could not be done (a keychain entry not deleted, no global sign-out, no logout
    /// URL), one sentence each for the user; empty when everything was done.
    pub warnings: Vec<String>,
}

/// Facts about the refresh token, never its value.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RefreshTokenInfo {
    /// What the token looks like: `opaque`, `JWT (treated as opaque)` or `encrypted JWT (JWE),
    /// opaque to the client`.
    pub kind: String,
    /// The token's length in bytes.
    pub length: usize,
    /// When this refresh token was received: at sign-in, or at the refresh that rotated it.
    pub stored_since: DateTime<Utc>,
    /// The name of the store that keeps it, as in [`StorageInfo::store_name`].
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
