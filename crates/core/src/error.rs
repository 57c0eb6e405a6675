//! Errors that reach callers: a kind (for exit codes and UI decisions), the verification check
//! or AWS failure when one is the cause (their names live here, at the floor, so every layer
//! can name them), and a message that says what happened and what to do. Messages never
//! contain a token, code, verifier or state. Long messages are built here, by name.

use std::fmt::{self, Display};

use serde::{Deserialize, Serialize};

/// What went wrong, coarse enough for a CLI exit code or a UI branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// A token or a response failed verification (`Error::failed_check` says which check).
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

/// One verification step. Serialised in `snake_case` (`at_hash`, `same_identity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    /// The token is a well-formed JWS compact token.
    Format,
    /// The token is within Latchkey's size limit.
    Size,
    /// The header's `typ` is `JWT` or absent (not an access token's `at+jwt`).
    Typ,
    /// The header has no `crit` extension Latchkey would have to understand.
    Crit,
    /// The signing algorithm is on Latchkey's allow-list and advertised by the provider.
    Alg,
    /// The signing key is unambiguous (`kid` rules of OIDC Core 10.1).
    Kid,
    /// The signature verifies with the provider's key.
    Signature,
    /// The token's `iss` (or the authorization response's `iss`, or the discovery document's
    /// `issuer`) is exactly the configured issuer.
    Iss,
    /// The token has a non-empty `sub`: it names a user.
    Sub,
    /// The token's `aud` includes this app's client id.
    Aud,
    /// The token's `azp`, when present or when `aud` lists other clients too, is this app's
    /// client id.
    Azp,
    /// The token has not expired: `exp` is later than now minus the profile's clock leeway.
    Exp,
    /// The token's `iat` is not in the future (beyond the leeway) and, where required, not older
    /// than the sanity bound.
    Iat,
    /// The token's `nbf`, when present, is not in the future (beyond the leeway).
    Nbf,
    /// The ID token's `nonce` equals the one this sign-in sent (no replayed or injected token).
    Nonce,
    /// The ID token's `at_hash`, when present, matches the access token that came with it (OIDC
    /// Core 3.1.3.6).
    AtHash,
    /// Cognito: `token_use` is `id` (or `access` for access tokens).
    TokenUse,
    /// Cognito access tokens: `client_id` is this app's.
    ClientId,
    /// A refreshed ID token names the same issuer, subject and audience (OIDC Core 12.2).
    SameIdentity,
    /// A refreshed ID token's `auth_time`, when it has one, is the original sign-in's (OIDC
    /// Core 12.2): a refresh is not a new authentication.
    AuthTime,
    /// A userinfo response is about the signed-in user (`sub` equal to the ID token's).
    UserinfoSub,
    /// A pasted sign-in callback carries this sign-in's `state` (the listener refuses a
    /// browser's wrong `state` with a 400 and keeps waiting).
    State,
}

impl CheckName {
    /// The name as shown to people and serialised (`at_hash`).
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::Format => "format",
            CheckName::Size => "size",
            CheckName::Typ => "typ",
            CheckName::Crit => "crit",
            CheckName::Alg => "alg",
            CheckName::Kid => "kid",
            CheckName::Signature => "signature",
            CheckName::Iss => "iss",
            CheckName::Sub => "sub",
            CheckName::Aud => "aud",
            CheckName::Azp => "azp",
            CheckName::Exp => "exp",
            CheckName::Iat => "iat",
            CheckName::Nbf => "nbf",
            CheckName::Nonce => "nonce",
            CheckName::AtHash => "at_hash",
            CheckName::TokenUse => "token_use",
            CheckName::ClientId => "client_id",
            CheckName::SameIdentity => "same_identity",
            CheckName::AuthTime => "auth_time",
            CheckName::UserinfoSub => "userinfo_sub",
            CheckName::State => "state",
        }
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which AWS credential failure it was (an `aws::AwsError` without the details): what callers
/// branch on once the error has become an [`Error`] ([`Error::aws_failure`]), and what the app
/// receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AwsFailure {
    /// The profile's `[aws]` settings are invalid (bad `identity_pool_id`, `region`, missing
    /// `role_arn` for the classic flow…); nothing was sent to AWS.
    Settings,
    /// The identity pool refused the ID token as expired (`NotAuthorizedException`, "Token
    /// expired"): refresh the session or sign in again.
    IdTokenExpired,
    /// The identity pool refused the ID token as invalid (`NotAuthorizedException`, "Invalid
    /// login token"), typically a user pool or issuer the pool does not list.
    IdTokenRejected,
    /// The identity pool does not list this user pool and app client as an authentication
    /// provider (`NotAuthorizedException`, "not from a supported provider").
    ProviderNotTrusted,
    /// The profile's `role_arn` is not among the roles the ID token's `cognito:roles` allows this
    /// user (`NotAuthorizedException` when a custom role was asked for).
    RoleNotAllowed,
    /// STS refused to assume the role (`AccessDenied`): its trust policy does not allow this
    /// identity pool's identities.
    RoleTrustRefused,
    /// Cognito Identity or STS refused the request for another reason (`NotAuthorizedException`,
    /// or STS `InvalidIdentityToken`, `IDPRejectedClaim`, `ExpiredTokenException`).
    NotAuthorized,
    /// The identity pool does not exist in the profile's region (`ResourceNotFoundException`).
    PoolNotFound,
    /// The identity pool was not found because `identity_endpoint` points at another region than
    /// the pool's (`ResourceNotFoundException`).
    WrongRegion,
    /// The identity pool's own configuration is incomplete, e.g. no authenticated role
    /// (`InvalidIdentityPoolConfigurationException`).
    PoolMisconfigured,
    /// The profile uses the basic (classic) flow, which the identity pool has turned off
    /// (`InvalidParameterException`).
    ClassicFlowDisabled,
    /// Cognito Identity or STS is throttling requests; transient, credentials already held stay
    /// usable while valid.
    Throttled,
    /// Cognito Identity or STS answered with an error code Latchkey does not classify (the HTTP
    /// status and code are in the message).
    Service,
    /// Cognito Identity or STS could not be reached, or the connection failed or timed out
    /// mid-answer; transient, like `Throttled`.
    Unreachable,
    /// The request could not be signed with SigV4 (a bug in Latchkey).
    Signing,
    /// Cognito Identity or STS sent an answer Latchkey cannot use: an error without an AWS error
    /// code, or a success body that is not the expected document.
    BadResponse,
}

/// A Latchkey error: `kind()` for decisions, `failed_check()` for verification failures,
/// `aws_failure()` for AWS credential failures, `Display` for people.
#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    check: Option<CheckName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aws: Option<AwsFailure>,
    message: String,
    /// Why the check failed, in a few words (part of `message`).
    #[serde(skip)]
    reason: Option<String>,
}

impl Error {
    /// An error of `kind` with `message` as the text people see; no check or AWS failure attached.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            check: None,
            aws: None,
            message: message.into(),
            reason: None,
        }
    }
    /// The coarse kind, for exit codes and UI branches (serialised as `kind`, in `snake_case`).
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The verification check that refused a token or response, when that is what happened.
    pub fn failed_check(&self) -> Option<CheckName> {
        self.check
    }
    /// Which AWS credential failure this is, when getting or using AWS credentials failed.
    pub fn aws_failure(&self) -> Option<AwsFailure> {
        self.aws
    }
    /// An AWS credential failure (`aws::AwsError`) as it reaches callers.
    pub(crate) fn aws(kind: ErrorKind, failure: AwsFailure, message: String) -> Self {
        Self {
            aws: Some(failure),
            ..Self::new(kind, message)
        }
    }
    /// An error another process (the agent) returned, as it returned it.
    #[cfg(unix)] // the agent's client is Unix-only for now
    pub(crate) fn relayed(
        kind: ErrorKind,
        check: Option<CheckName>,
        aws: Option<AwsFailure>,
        message: String,
    ) -> Self {
        Self {
            check,
            aws,
            ..Self::new(kind, message)
        }
    }
    /// What happened and what to do, for people (the same text as `Display`; never a secret).
    pub fn message(&self) -> &str {
        &self.message
    }
    pub(crate) fn internal(what: impl Display) -> Self {
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
    /// AWS credentials were asked of a profile without an identity pool.
    pub(crate) fn no_identity_pool(profile: &str) -> Self {
        Self::new(
            ErrorKind::Config,
            format!(
                "profile `{profile}` names no identity pool, so it has no AWS credentials. Add a \
                 `[profiles.{profile}.aws]` table with `identity_pool_id` to the profiles file \
                 (or `latchkey profile add … --identity-pool-id`); see docs/aws.md."
            ),
        )
    }
    /// A pasted sign-in callback address that is not this sign-in's (`why` never quotes it).
    pub(crate) fn pasted_callback_refused(why: &str) -> Self {
        Self::new(
            ErrorKind::Verification,
            format!("the pasted address was refused: {why}. Paste the whole address the browser ended on after signing in (it starts with the redirect URI shown)."),
        )
    }
    /// A callback pasted when no sign-in is waiting for one.
    pub(crate) fn no_sign_in_waiting() -> Self {
        Self::new(
            ErrorKind::Cancelled,
            "no sign-in is waiting for a callback (it finished, timed out or was cancelled); sign in again.",
        )
    }
    /// The ID token ran out and the provider's refreshes come without a new one.
    pub(crate) fn id_token_not_renewable() -> Self {
        Self::new(
            ErrorKind::SessionExpired,
            "the ID token expired and the provider does not renew it (its refresh responses carry no ID token); sign in again.",
        )
    }
    /// `token` (e.g. "ID token") failed `check`.
    pub(crate) fn check_failed(token: &str, check: CheckName, reason: &str) -> Self {
        Self {
            kind: ErrorKind::Verification,
            check: Some(check),
            aws: None,
            message: format!(
                "the provider's {token} failed the `{check}` check: {reason}. Nothing was stored. \
                 Check the profile's issuer and client id; if they are right, the provider or \
                 the network path is misbehaving."
            ),
            reason: Some(reason.to_owned()),
        }
    }
    /// A response refused by `check`, with the whole message (for answers other than tokens:
    /// the authorization response's `iss`, the discovery document's issuer).
    pub(crate) fn refused(check: CheckName, message: &str) -> Self {
        Self {
            kind: ErrorKind::Verification,
            check: Some(check),
            aws: None,
            message: message.to_owned(),
            reason: None,
        }
    }
    /// A refresh answer was refused (`refused` says why: a failed check, an unusable field)
    /// and the session was ended (what `ended` says). Keeps `refused`'s kind and check.
    pub(crate) fn refresh_refused(refused: &Error, ended: &str) -> Self {
        let message = match (refused.check, &refused.reason) {
            (Some(check), Some(reason)) => format!(
                "refreshing the session failed the `{check}` check: {reason}. {ended} Sign in again."
            ),
            _ => format!(
                "refreshing the session failed: {}. {ended} Sign in again.",
                refused.message.trim_end_matches('.')
            ),
        };
        Self {
            message,
            ..refused.clone()
        }
    }
    /// A response (or token) larger than Latchkey reads.
    pub(crate) fn too_large(what: &str, limit: usize) -> Self {
        Self::new(
            ErrorKind::ProviderError,
            format!(
                "{what} is larger than Latchkey's limit of {} (a provider fault or an attack); nothing from it was used.",
                human_bytes(limit)
            ),
        )
    }
    /// The provider answered `what` with something that is not valid protocol.
    pub(crate) fn provider(what: impl Display) -> Self {
        Self::new(ErrorKind::ProviderError, what.to_string())
    }
    pub(crate) fn config(what: impl Display) -> Self {
        Self::new(ErrorKind::Config, what.to_string())
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
    /// The keychain could not be used for `op`; the session is in memory only.
    pub(crate) fn keychain(store: &str, op: &str, what: &str, fix: &str) -> Self {
        Self::new(
            ErrorKind::Keychain,
            format!("{store}: could not {op}: {what}. To fix: {fix}. Until then Latchkey keeps the session in memory only (nothing is written to disk)."),
        )
    }
    /// The stored session cannot be read back as written.
    pub(crate) fn keychain_damaged(store: &str, what: &str) -> Self {
        Self::new(
            ErrorKind::Keychain,
            format!("{store}: {what}. Sign in again to replace the stored session."),
        )
    }
}

/// `32 KiB`, `1 MiB`, `512 bytes`.
pub(crate) fn human_bytes(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// A `Result` whose error is a Latchkey [`Error`] unless another is named.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_serialises_kind_check_and_message() {
        let e = Error::not_signed_in();
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["kind"], "not_signed_in");
        assert!(v.get("check").is_none());
        let e = Error::check_failed("ID token", CheckName::AtHash, "mismatch");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            (v["kind"].as_str(), v["check"].as_str()),
            (Some("verification"), Some("at_hash"))
        );
        assert_eq!(e.failed_check(), Some(CheckName::AtHash));
    }

    #[test]
    fn limits_are_named_in_human_units() {
        assert_eq!(human_bytes(32 * 1024), "32 KiB");
        assert_eq!(human_bytes(1 << 20), "1 MiB");
        assert_eq!(human_bytes(1000), "1000 bytes");
    }
}
