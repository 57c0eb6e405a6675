//! Why no credentials came back, one variant per thing the user can check or fix, each message
//! saying what to look at. Service messages are quoted only after long token-like runs are cut.

use std::fmt;

use crate::config::SettingsError;
use crate::error::{AwsFailure, Error, ErrorKind};

/// Which AWS service a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsService {
    /// Cognito Identity (`cognito-identity`): `GetId`, `GetCredentialsForIdentity`, `GetOpenIdToken`.
    CognitoIdentity,
    /// AWS STS: `AssumeRoleWithWebIdentity`, `GetCallerIdentity`.
    Sts,
}

impl fmt::Display for AwsService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AwsService::CognitoIdentity => "the Cognito identity service",
            AwsService::Sts => "AWS STS",
        })
    }
}

/// A failed credential fetch. `kind()` gives the coarse [`ErrorKind`] for exit codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    #[error("{0}")]
    Settings(#[from] SettingsError),

    #[error("the identity pool refused the ID token because it has expired ({message}). Sign in again, or let Latchkey refresh the session first.")]
    IdTokenExpired { message: String },

    #[error("the identity pool refused the ID token: {message}. Check that the profile's user pool (or OIDC issuer) is the one the identity pool lists, and sign in again.")]
    IdTokenRejected { message: String },

    #[error("the identity pool does not list this user pool and app client as an authentication provider ({message}). In the Cognito console, open the identity pool → User access → Identity providers and add user pool `{login_key}` with app client `{client_id}`.")]
    ProviderNotTrusted {
        login_key: String,
        client_id: String,
        message: String,
    },

    #[error("the role {role_arn} is not one this user may have ({message}). `role_arn` must be one of the roles in the ID token's `cognito:roles` (the roles of the user's groups){available}; remove `role_arn` to get the pool's default role.", available = available_roles(.available))]
    RoleNotAllowed {
        role_arn: String,
        available: Vec<String>,
        message: String,
    },

    #[error("the role {role_arn} refused this identity ({message}). Its trust policy must allow sts:AssumeRoleWithWebIdentity for cognito-identity.amazonaws.com with `cognito-identity.amazonaws.com:aud` = {identity_pool_id} and `amr` = authenticated.")]
    RoleTrustRefused {
        role_arn: String,
        identity_pool_id: String,
        message: String,
    },

    #[error("{service} refused the request: {message}. Check the identity pool's authentication providers and roles.")]
    NotAuthorized {
        service: AwsService,
        message: String,
    },

    #[error("the identity pool {identity_pool_id} was not found in {region} ({message}). Check `identity_pool_id` (copy it from the Cognito console) and that the pool was not deleted.")]
    PoolNotFound {
        identity_pool_id: String,
        region: String,
        message: String,
    },

    #[error("the identity pool {identity_pool_id} belongs to region {pool_region}, but the request went to {endpoint} ({message}). Remove `identity_endpoint` or point it at {pool_region}.")]
    WrongRegion {
        identity_pool_id: String,
        pool_region: String,
        endpoint: String,
        message: String,
    },

    #[error("the identity pool's configuration is incomplete ({message}). Check its authenticated role: one must be set, and its trust policy must allow sts:AssumeRoleWithWebIdentity for cognito-identity.amazonaws.com with this pool's id as `aud`.")]
    PoolMisconfigured { message: String },

    #[error("the identity pool has the basic (classic) flow turned off ({message}). Use flow = \"enhanced\", or turn on \"Basic (classic) authentication\" in the identity pool's settings.")]
    ClassicFlowDisabled { message: String },

    #[error("{service} is throttling requests ({message}). Wait a moment and try again; if it persists, something is calling it in a loop.")]
    Throttled {
        service: AwsService,
        message: String,
    },

    #[error("{service} answered HTTP {status} `{code}`: {message}")]
    Service {
        service: AwsService,
        status: u16,
        code: String,
        message: String,
    },

    #[error("could not reach {service} at {endpoint} ({detail}). Check the network connection and the profile's region or `identity_endpoint`.")]
    Unreachable {
        service: AwsService,
        endpoint: String,
        detail: &'static str,
    },

    #[error(
        "the request could not be signed ({detail}). This is a bug in Latchkey; please report it."
    )]
    Signing { detail: String },

    #[error("{service} sent a response Latchkey cannot use ({detail}). If `identity_endpoint` is set, check that it is a Cognito Identity and STS endpoint.")]
    BadResponse { service: AwsService, detail: String },
}

fn available_roles(roles: &[String]) -> String {
    if roles.is_empty() {
        " — this user's token carries none".to_owned()
    } else {
        format!(": {}", roles.join(", "))
    }
}

impl AwsError {
    /// Which failure this is.
    pub fn failure(&self) -> AwsFailure {
        match self {
            AwsError::Settings(_) => AwsFailure::Settings,
            AwsError::IdTokenExpired { .. } => AwsFailure::IdTokenExpired,
            AwsError::IdTokenRejected { .. } => AwsFailure::IdTokenRejected,
            AwsError::ProviderNotTrusted { .. } => AwsFailure::ProviderNotTrusted,
            AwsError::RoleNotAllowed { .. } => AwsFailure::RoleNotAllowed,
            AwsError::RoleTrustRefused { .. } => AwsFailure::RoleTrustRefused,
            AwsError::NotAuthorized { .. } => AwsFailure::NotAuthorized,
            AwsError::PoolNotFound { .. } => AwsFailure::PoolNotFound,
            AwsError::WrongRegion { .. } => AwsFailure::WrongRegion,
            AwsError::PoolMisconfigured { .. } => AwsFailure::PoolMisconfigured,
            AwsError::ClassicFlowDisabled { .. } => AwsFailure::ClassicFlowDisabled,
            AwsError::Throttled { .. } => AwsFailure::Throttled,
            AwsError::Service { .. } => AwsFailure::Service,
            AwsError::Unreachable { .. } => AwsFailure::Unreachable,
            AwsError::Signing { .. } => AwsFailure::Signing,
            AwsError::BadResponse { .. } => AwsFailure::BadResponse,
        }
    }

    /// A failure that says nothing about the credentials already held (the service is busy or
    /// out of reach): those stay usable while they are valid.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            AwsError::Throttled { .. } | AwsError::Unreachable { .. }
        )
    }

    /// The coarse kind, for exit codes and UI branches.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AwsError::Settings(_)
            | AwsError::PoolNotFound { .. }
            | AwsError::WrongRegion { .. } => ErrorKind::Config,
            AwsError::IdTokenExpired { .. } => ErrorKind::SessionExpired,
            AwsError::IdTokenRejected { .. }
            | AwsError::ProviderNotTrusted { .. }
            | AwsError::RoleNotAllowed { .. }
            | AwsError::RoleTrustRefused { .. }
            | AwsError::NotAuthorized { .. } => ErrorKind::AccessDenied,
            AwsError::PoolMisconfigured { .. }
            | AwsError::ClassicFlowDisabled { .. }
            | AwsError::Throttled { .. }
            | AwsError::Service { .. }
            | AwsError::BadResponse { .. } => ErrorKind::ProviderError,
            AwsError::Unreachable { .. } => ErrorKind::ProviderUnreachable,
            AwsError::Signing { .. } => ErrorKind::Internal,
        }
    }
}

impl From<AwsError> for Error {
    fn from(err: AwsError) -> Self {
        Error::aws(err.kind(), err.failure(), err.to_string())
    }
}

/// A service's own message, made safe to show: one line, at most 300 characters, and any run
/// of 40 or more token characters (a JWT or key a server might echo) replaced by its length.
pub(crate) fn quote_service_message(message: &str) -> String {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || "-_.+/=".contains(c);
    let mut out = String::new();
    let mut rest = message.trim();
    while let Some(first) = rest.chars().next() {
        if is_token_char(first) {
            let end = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
            let run = &rest[..end];
            if run.len() >= 40 {
                out.push_str(&format!("[{} characters removed]", run.len()));
            } else {
                out.push_str(run);
            }
            rest = &rest[end..];
        } else {
            out.push(if first.is_control() { ' ' } else { first });
            rest = &rest[first.len_utf8()..];
        }
    }
    let out = out.trim_end_matches('.').to_owned();
    match out.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &out[..cut]),
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_messages_lose_token_like_runs_and_control_characters() {
        let jwt = format!(
            "eyJ{}.eyJ{}.{}",
            "a".repeat(30),
            "b".repeat(60),
            "c".repeat(40)
        );
        let quoted = quote_service_message(&format!("Invalid login token {jwt}\r\nsecond line."));
        assert!(
            !quoted.contains("aaaaaaaaaa") && !quoted.contains('\n'),
            "{quoted}"
        );
        assert!(quoted.starts_with("Invalid login token ["), "{quoted}");
        assert_eq!(
            quote_service_message("Token expired: 1667365798 >= 1667235770"),
            "Token expired: 1667365798 >= 1667235770"
        );
        assert!(quote_service_message(&"x y ".repeat(200)).ends_with('…'));
    }

    #[test]
    fn kinds_follow_what_the_user_must_do() {
        let msg = String::from("m");
        assert_eq!(
            AwsError::IdTokenExpired {
                message: msg.clone()
            }
            .kind(),
            ErrorKind::SessionExpired
        );
        assert_eq!(
            AwsError::PoolNotFound {
                identity_pool_id: "p".into(),
                region: "r".into(),
                message: msg.clone()
            }
            .kind(),
            ErrorKind::Config
        );
        let e: Error = AwsError::Throttled {
            service: AwsService::CognitoIdentity,
            message: msg,
        }
        .into();
        assert_eq!(e.kind(), ErrorKind::ProviderError);
        assert_eq!(e.aws_failure(), Some(AwsFailure::Throttled));
        assert!(e.message().contains("throttling"));
        let shown = serde_json::to_value(&e).unwrap();
        assert_eq!(shown["aws"], "throttled");
    }
}
