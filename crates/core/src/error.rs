//! Errors that reach callers: a kind (for exit codes and UI decisions) plus a message that says
//! what happened and what to do. Messages never contain a token, code, verifier or state.

use serde::Serialize;

/// What went wrong, coarse enough for a CLI exit code or a UI branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// No session: sign in first.
    NotSignedIn,
    /// The session ended at the provider (refresh token expired or revoked).
    SessionExpired,
    /// The provider could not be reached (network, DNS, TLS, timeout on connect).
    ProviderUnreachable,
    /// The provider answered with an error or with something that is not valid protocol.
    ProviderError,
    /// The OS keychain is absent, locked, or refused the operation.
    Keychain,
    /// The configuration file or a profile in it is invalid.
    Config,
    /// The sign-in did not finish in time.
    Timeout,
    /// The sign-in was cancelled.
    Cancelled,
    /// The user (or the provider on their behalf) refused the sign-in.
    AccessDenied,
    /// A token or a response failed verification.
    Verification,
    /// No loopback port could be bound.
    PortUnavailable,
    /// The browser could not be opened or the URL to open was refused.
    Browser,
    /// A call would have sent a token to an origin not in the profile's allow-list.
    OriginNotAllowed,
    /// A sign-in is already running on this session.
    Busy,
    /// Anything else (a bug or an unexpected local failure).
    Internal,
}

/// A Latchkey error: `kind()` for decisions, `Display` for people.
#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn internal(what: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorKind::Internal,
            format!("internal error: {what}. This is a bug in Latchkey; please report it."),
        )
    }
    pub(crate) fn not_signed_in() -> Self {
        Self::new(
            ErrorKind::NotSignedIn,
            "not signed in. Run `latchkey login` or press Sign in.",
        )
    }
    pub(crate) fn session_expired() -> Self {
        Self::new(
            ErrorKind::SessionExpired,
            "session expired or revoked at the provider; sign in again.",
        )
    }
    pub(crate) fn verification(what: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorKind::Verification,
            format!(
                "the provider's response failed verification: {what}. Nothing was stored. \
                 Check the profile's issuer and client id; if they are right, the provider or \
                 the network path is misbehaving."
            ),
        )
    }
    /// Classify a reqwest failure without echoing URLs that might carry secrets.
    pub(crate) fn from_http(what: &str, err: &reqwest::Error) -> Self {
        let detail = if err.is_timeout() {
            "timed out"
        } else if err.is_connect() {
            "connection failed"
        } else if err.is_decode() || err.is_body() {
            "unreadable response body"
        } else {
            "request failed"
        };
        Self::new(
            ErrorKind::ProviderUnreachable,
            format!(
                "could not reach the provider for {what} ({detail}). Check the network \
                 connection and the profile's issuer/domain, then try again."
            ),
        )
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_serialises_kind_and_message() {
        let e = Error::not_signed_in();
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["kind"], "not_signed_in");
        assert!(v["message"].as_str().unwrap().contains("sign"));
    }
}
