//! The agent's wire protocol: one JSON object per line, one request → one response (a
//! subscription answers with a stream of lines). `docs/agent-protocol.md` is its description.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::aws::AwsCredentials;
use crate::config::TokenChoice;
use crate::error::{AwsFailure, CheckName, Error, ErrorKind};
use crate::secret::{keychain_serde, AwsSecretAccessKey, AwsSessionToken, SecretToken};

/// The protocol version this build speaks; a `hello` with another is refused.
pub const PROTOCOL_VERSION: u32 = 1;
/// The longest request line accepted, newline included; a longer one is answered with
/// [`AgentErrorKind::LineTooLong`] and the connection closed.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// How long the agent waits for each request line by default before answering
/// [`AgentErrorKind::Timeout`] and closing the connection.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more wait in the socket's backlog until one ends.
pub const MAX_CONNECTIONS: usize = 128;

/// What a client asks. The first request of every connection is [`Request::Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// The versions must match; the agent answers with the profiles file it reads (a client
    /// whose file differs does not use the agent).
    Hello {
        /// The client's [`PROTOCOL_VERSION`].
        version: u32,
    },
    /// A valid token of `profile` (`None`: the file's default profile).
    Token {
        /// The profile's name; `None`: the default profile.
        #[serde(default)]
        profile: Option<String>,
        /// `id` or `access`.
        token: TokenChoice,
        /// Refresh first when the token has fewer seconds left than this.
        #[serde(default)]
        min_seconds_left: u64,
        /// Whether the caller may interact (a terminal, no `--no-browser`).
        #[serde(default)]
        interactive: bool,
        /// How long a caller that may not interact waits for a sign-in the user starts from
        /// the agent's notification; 0: answer `sign_in_needed` at once.
        #[serde(default)]
        wait_seconds: u64,
    },
    /// The profile's temporary AWS credentials (its identity pool).
    AwsCredentials {
        /// The profile's name; `None`: the default profile.
        #[serde(default)]
        profile: Option<String>,
        /// Whether the caller may interact.
        #[serde(default)]
        interactive: bool,
        /// As in [`Request::Token`].
        #[serde(default)]
        wait_seconds: u64,
    },
    /// The agent's facts and the state of `profile` (`None`: of every profile it holds).
    Status {
        /// The profile's name; `None`: every profile the agent holds.
        #[serde(default)]
        profile: Option<String>,
    },
    /// Sign in (the agent opens the browser); one sign-in per profile at a time, and every
    /// caller asking meanwhile gets its outcome. Refused with `sign_in_needed` when the caller
    /// may not interact.
    SignIn {
        /// The profile's name; `None`: the default profile.
        #[serde(default)]
        profile: Option<String>,
        /// Whether the caller may interact.
        #[serde(default)]
        interactive: bool,
    },
    /// Sign out (revoke, delete from the keychain).
    SignOut {
        /// The profile's name; `None`: the default profile.
        #[serde(default)]
        profile: Option<String>,
        /// Cognito's global sign-out: every refresh token of the user.
        #[serde(default)]
        everywhere: bool,
    },
    /// Drop what the agent holds of `profile` (another process signed in or out): the next
    /// request reads the keychain again.
    Forget {
        /// The profile's name.
        profile: String,
    },
    /// Every later state change of every profile, one [`Response::StateChanged`] per line.
    Subscribe,
    /// End the agent (after this answer).
    Stop,
}

/// What the agent answers.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// The answer to [`Request::Hello`].
    Hello {
        /// The agent's [`PROTOCOL_VERSION`].
        version: u32,
        /// The agent's process id.
        pid: u32,
        /// The profiles file the agent reads.
        config: String,
    },
    /// A token. `Debug` redacts it.
    Token {
        /// The profile it belongs to.
        profile: String,
        /// `id` or `access`.
        kind: TokenChoice,
        /// The token itself.
        #[serde(with = "keychain_serde")]
        token: SecretToken,
        /// When it expires.
        expires_at: DateTime<Utc>,
        /// Set when handed out in spite of a problem (as [`crate::Tokens::warning`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warning: Option<String>,
    },
    /// AWS credentials. `Debug` redacts the secret key and the session token.
    AwsCredentials(WireAwsCredentials),
    /// The answer to [`Request::Status`].
    Status {
        /// The agent itself.
        agent: AgentFacts,
        /// One entry per profile asked about.
        profiles: Vec<ProfileStatus>,
    },
    /// A sign-in ended well (for this caller, or for the one it waited for).
    SignedIn {
        /// The profile.
        profile: String,
        /// Email, else username, else subject.
        user: String,
    },
    /// A sign-out is done.
    SignedOut {
        /// The profile.
        profile: String,
        /// The refresh token no longer works at the provider.
        revoked: bool,
    },
    /// The agent no longer holds the profile's session.
    Forgotten {
        /// The profile.
        profile: String,
    },
    /// The subscription started; [`Response::StateChanged`] lines follow.
    Subscribed,
    /// A profile's session changed state.
    StateChanged(ProfileStatus),
    /// The agent ends after this answer.
    Stopping,
    /// The request failed; the connection stays usable unless `kind` says otherwise.
    Error(AgentError),
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Response::Token {
                profile,
                kind,
                token,
                ..
            } => f
                .debug_struct("Token")
                .field("profile", profile)
                .field("kind", kind)
                .field("token", token)
                .finish_non_exhaustive(),
            Response::AwsCredentials(c) => f.debug_tuple("AwsCredentials").field(c).finish(),
            Response::Error(e) => f.debug_tuple("Error").field(e).finish(),
            other => f.write_str(other.name()),
        }
    }
}

impl Response {
    /// The message's `type`, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Response::Hello { .. } => "hello",
            Response::Token { .. } => "token",
            Response::AwsCredentials(_) => "aws_credentials",
            Response::Status { .. } => "status",
            Response::SignedIn { .. } => "signed_in",
            Response::SignedOut { .. } => "signed_out",
            Response::Forgotten { .. } => "forgotten",
            Response::Subscribed => "subscribed",
            Response::StateChanged(_) => "state_changed",
            Response::Stopping => "stopping",
            Response::Error(_) => "error",
        }
    }
}

/// AWS credentials on the wire (the fields of [`AwsCredentials`]); `Debug` redacts secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireAwsCredentials {
    /// The profile they belong to.
    pub profile: String,
    /// `ASIA…`.
    pub access_key_id: String,
    /// The secret key.
    #[serde(with = "keychain_serde")]
    pub secret_access_key: AwsSecretAccessKey,
    /// The session token.
    #[serde(with = "keychain_serde")]
    pub session_token: AwsSessionToken,
    /// When AWS stops accepting them.
    pub expiration: DateTime<Utc>,
    /// The user's identity in the pool.
    pub identity_id: String,
    /// The IAM role, when known.
    #[serde(default)]
    pub role_arn: Option<String>,
    /// Set when they are handed out in spite of a problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl WireAwsCredentials {
    pub(crate) fn new(profile: &str, c: AwsCredentials) -> Self {
        WireAwsCredentials {
            profile: profile.to_owned(),
            access_key_id: c.access_key_id,
            secret_access_key: c.secret_access_key,
            session_token: c.session_token,
            expiration: c.expiration,
            identity_id: c.identity_id,
            role_arn: c.role_arn,
            warning: c.warning,
        }
    }

    /// Back into the engine's type, as the AWS formats take it.
    pub fn into_credentials(self) -> AwsCredentials {
        AwsCredentials {
            access_key_id: self.access_key_id,
            secret_access_key: self.secret_access_key,
            session_token: self.session_token,
            expiration: self.expiration,
            identity_id: self.identity_id,
            role_arn: self.role_arn,
            warning: self.warning,
        }
    }
}

/// The agent itself, in a status answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentFacts {
    /// Its process id.
    pub pid: u32,
    /// Its [`PROTOCOL_VERSION`].
    pub version: u32,
    /// How many times it read a saved session from the keychain.
    pub keychain_reads: u64,
    /// Connections refused because the peer was another user.
    pub refused_peers: u64,
}

/// One profile's session, as the agent holds it. No secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileStatus {
    /// The profile.
    pub profile: String,
    /// `signed_out`, `signing_in`, `signed_in`, `refreshing`, `error`.
    pub state: String,
    /// Email, else username, else subject, when signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// When the ID token expires, when signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_expires_at: Option<DateTime<Utc>>,
    /// Why not signed in, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Callers waiting for the sign-in running in the agent (left out when none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sign_in_waiters: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A failed request: what kind of failure, and what to do, for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AgentError {
    /// What failed.
    pub kind: AgentErrorKind,
    /// What happened and what to do (never a secret).
    pub message: String,
    /// When the engine failed (`kind` is `engine`): its error kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_kind: Option<ErrorKind>,
    /// The verification check that failed, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckName>,
    /// The AWS credential failure, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsFailure>,
}

/// The kinds of [`AgentError`] (`snake_case` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentErrorKind {
    /// The peer is another user; the connection is closed.
    PeerRefused,
    /// The line was longer than [`MAX_LINE_BYTES`]; the connection is closed.
    LineTooLong,
    /// The line is not a request this version knows.
    Malformed,
    /// No complete line came in time; the connection is closed.
    Timeout,
    /// The first request was not `hello`.
    HelloFirst,
    /// The client speaks another protocol version; the connection is closed.
    UnsupportedVersion,
    /// The profile needs a sign-in and the caller may not interact.
    SignInNeeded,
    /// The profile's hand-outs need the user's "Allow" (`agent.confirm`), and it did not come:
    /// denied, dismissed, unanswered, or no notification could ask.
    HandOutRefused,
    /// The engine failed: `engine_kind`, `check`, `aws` say how.
    Engine,
}

impl AgentError {
    /// A protocol failure of `kind`.
    pub fn new(kind: AgentErrorKind, message: impl Into<String>) -> Self {
        AgentError {
            kind,
            message: message.into(),
            engine_kind: None,
            check: None,
            aws: None,
        }
    }

    /// Whether the agent closes the connection after this answer.
    pub fn closes_connection(&self) -> bool {
        matches!(
            self.kind,
            AgentErrorKind::PeerRefused
                | AgentErrorKind::LineTooLong
                | AgentErrorKind::Timeout
                | AgentErrorKind::UnsupportedVersion
        )
    }

    /// The engine error this relays, as the engine would have returned it.
    pub fn engine_error(&self) -> Option<Error> {
        let kind = self
            .engine_kind
            .filter(|_| self.kind == AgentErrorKind::Engine)?;
        Some(Error::relayed(
            kind,
            self.check,
            self.aws,
            self.message.clone(),
        ))
    }
}

impl From<Error> for AgentError {
    fn from(e: Error) -> Self {
        AgentError {
            kind: AgentErrorKind::Engine,
            message: e.message().to_owned(),
            engine_kind: Some(e.kind()),
            check: e.failed_check(),
            aws: e.aws_failure(),
        }
    }
}

/// One line: the message as JSON and a newline.
pub fn encode_line<T: Serialize>(message: &T) -> Vec<u8> {
    let mut line = serde_json::to_vec(message).unwrap_or_else(|_| b"{}".to_vec());
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_answer_round_trips_and_its_debug_redacts() {
        let answer = Response::Token {
            profile: "work".into(),
            kind: TokenChoice::Id,
            token: SecretToken::new("eyJ.secret-token.sig"),
            expires_at: DateTime::from_timestamp(2_000_000_000, 0).unwrap(),
            warning: None,
        };
        let line = encode_line(&answer);
        let back: Response = serde_json::from_slice(&line).unwrap();
        assert_eq!(back, answer);
        assert!(!format!("{answer:?}").contains("secret-token"));
    }

    #[test]
    fn the_protocol_page_names_the_limits_the_code_has() {
        let page = include_str!("../../../../docs/agent-protocol.md");
        for limit in [
            format!("**{MAX_LINE_BYTES} bytes**"),
            format!("({} s by default", DEFAULT_READ_TIMEOUT.as_secs()),
            format!("At most **{MAX_CONNECTIONS}** connections"),
            format!("version **{PROTOCOL_VERSION}**"),
        ] {
            assert!(
                page.contains(&limit),
                "docs/agent-protocol.md must say `{limit}`"
            );
        }
    }

    #[test]
    fn requests_read_as_documented() {
        let r: Request = serde_json::from_str(
            r#"{"type":"token","profile":"work","token":"access","min_seconds_left":60}"#,
        )
        .unwrap();
        assert_eq!(
            r,
            Request::Token {
                profile: Some("work".into()),
                token: TokenChoice::Access,
                min_seconds_left: 60,
                interactive: false,
                wait_seconds: 0,
            }
        );
    }
}
