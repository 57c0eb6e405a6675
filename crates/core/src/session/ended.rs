//! How a profile's session last ended without a sign-out (the provider refused the refresh):
//! kept beside the profile lock so the next process can say why; no secret, only what and when.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{CheckName, Error, ErrorKind};

/// What ended a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndCause {
    /// A refresh: the provider refused the refresh token, or Latchkey refused its answer.
    #[default]
    Refresh,
    /// The provider no longer accepts the session's tokens although they have not expired
    /// (Cognito's `GetUser` refused them): signed out everywhere from another device
    /// (`GlobalSignOut`), the refresh token revoked, or the user deleted.
    EndedAtProvider,
}

/// Why the saved session is gone, when the provider (or a refused refresh answer) ended it.
/// Kept until the next sign-in or sign-out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEnd {
    /// When the session ended.
    pub at: DateTime<Utc>,
    /// What ended it (a record written before this field existed is a refresh's).
    #[serde(default)]
    pub cause: EndCause,
    /// The error the refresh met: `session_expired` (the provider refused the refresh token)
    /// or `verification` (Latchkey refused the provider's answer).
    pub kind: ErrorKind,
    /// The provider's OAuth error code (`invalid_grant`), when the provider refused.
    pub provider_error: Option<String>,
    /// The check the provider's answer failed, when Latchkey refused it.
    pub check: Option<CheckName>,
}

impl SessionEnd {
    /// The provider refused the refresh token with `invalid_grant` (the only refusal
    /// `token_endpoint` classifies as `SessionExpired` for a refresh).
    pub(crate) fn refused_by_provider(at: i64) -> Self {
        SessionEnd {
            at: timestamp(at),
            cause: EndCause::Refresh,
            kind: ErrorKind::SessionExpired,
            provider_error: Some("invalid_grant".into()),
            check: None,
        }
    }

    /// The provider refused the session's unexpired tokens with `code` (a check such as
    /// `latchkey status --check` asked it).
    pub(crate) fn ended_at_provider(at: i64, code: &str) -> Self {
        SessionEnd {
            at: timestamp(at),
            cause: EndCause::EndedAtProvider,
            kind: ErrorKind::SessionExpired,
            provider_error: Some(code.to_owned()),
            check: None,
        }
    }

    /// Latchkey refused the provider's answer to a refresh with `error`.
    pub(crate) fn answer_refused(at: i64, error: &Error) -> Self {
        SessionEnd {
            at: timestamp(at),
            cause: EndCause::Refresh,
            kind: error.kind(),
            provider_error: None,
            check: error.failed_check(),
        }
    }

    /// One sentence for people: "session ended at 05:21 UTC: the provider refused the refresh
    /// (invalid_grant); sign in".
    pub fn describe(&self) -> String {
        let when = self.at.format("%Y-%m-%d %H:%M UTC");
        let what = match (&self.provider_error, self.check) {
            (Some(code), _) if self.cause == EndCause::EndedAtProvider => format!(
                "the provider no longer accepts the session ({code}): signed out everywhere from another device, or revoked"
            ),
            (Some(code), _) => format!("the provider refused the refresh ({code})"),
            (None, Some(check)) => {
                format!("Latchkey refused the provider's answer to the refresh (the `{check}` check failed)")
            }
            (None, None) => "the refresh failed".to_owned(),
        };
        format!("session ended at {when}: {what}; sign in")
    }
}

/// The session clock's seconds as a time (the clock is the session's: tests swap it).
fn timestamp(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// Where a profile's [`SessionEnd`] is kept: next to its lock file (`refresh-HASH.lock`).
pub(crate) fn record_path(lock_path: &Path) -> PathBuf {
    lock_path.with_extension("ended.json")
}

/// The recorded end, if any (an unreadable record is as good as none: it only explains).
pub(crate) fn load(path: &Path) -> Option<SessionEnd> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Record `end`; a failure only loses the explanation, so it is logged, not returned.
pub(crate) fn save(path: &Path, end: &SessionEnd) {
    let written = serde_json::to_vec(end)
        .map_err(std::io::Error::other)
        .and_then(|json| std::fs::write(path, json));
    if let Err(e) = written {
        tracing::debug!(error = %e, "could not record how the session ended");
    }
}

/// Forget the recorded end (a sign-in or sign-out starts a new story).
pub(crate) fn clear(path: &Path) {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            tracing::debug!(error = %e, "could not forget how the session ended");
        }
        _ => {}
    }
}
