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
    /// The profile's `[aws]` settings cannot be used; the [`SettingsError`] names the field
    /// and what to write instead.
    #[error("{0}")]
    Settings(#[from] SettingsError),

    #[error("the identity pool refused the ID token because it has expired ({message}). Sign in again, or let Latchkey refresh the session first.")]
    /// Cognito Identity answered `NotAuthorizedException` "Token expired": the ID token is past
    /// its `exp`, so the session must be refreshed or the user must sign in again.
    IdTokenExpired {
        /// Cognito Identity's own message, quoted with long token-like runs cut.
        message: String,
    },

    #[error("the identity pool refused the ID token: {message}. Check that the profile's user pool (or OIDC issuer) is the one the identity pool lists, and sign in again.")]
    /// Cognito Identity answered `NotAuthorizedException` "Invalid login token": the pool does
    /// not accept the ID token's issuer, audience or signature.
    IdTokenRejected {
        /// Cognito Identity's own message, quoted with long token-like runs cut.
        message: String,
    },

    #[error("the identity pool does not list this user pool and app client as an authentication provider ({message}). In the Cognito console, open the identity pool → User access → Identity providers and add user pool `{login_key}` with app client `{client_id}`.")]
    /// Cognito Identity answered `NotAuthorizedException` "not from a supported provider": the
    /// pool does not list this user pool (or OIDC issuer) and app client as a provider.
    ProviderNotTrusted {
        /// The `Logins` key the token was presented under: `cognito-idp.REGION.amazonaws.com/POOL`
        /// or the OIDC issuer's host and path, as the pool must list it.
        login_key: String,
        /// The app client the ID token was issued to (its `aud`), to add with the provider.
        client_id: String,
        /// Cognito Identity's own message, quoted with long token-like runs cut.
        message: String,
    },

    #[error("the role {role_arn} is not one this user may have ({message}). `role_arn` must be one of the roles in the ID token's `cognito:roles` (the roles of the user's groups){available}; remove `role_arn` to get the pool's default role.", available = available_roles(.available))]
    /// Cognito Identity answered `NotAuthorizedException` to a request with the profile's
    /// `role_arn` as `CustomRoleArn` (enhanced flow): the user may not have that role.
    RoleNotAllowed {
        /// The profile's `role_arn`, sent as `CustomRoleArn`.
        role_arn: String,
        /// The roles the ID token's `cognito:roles` claim offers; empty when it has none.
        available: Vec<String>,
        /// Cognito Identity's own message, quoted with long token-like runs cut.
        message: String,
    },

    #[error("the role {role_arn} refused this identity ({message}). Its trust policy must allow sts:AssumeRoleWithWebIdentity for cognito-identity.amazonaws.com with `cognito-identity.amazonaws.com:aud` = {identity_pool_id} and `amr` = authenticated.")]
    /// STS answered `AccessDenied` to `AssumeRoleWithWebIdentity` (classic flow): the role's
    /// trust policy does not allow identities of this pool.
    RoleTrustRefused {
        /// The role the classic flow tried to assume (the profile's `role_arn`).
        role_arn: String,
        /// The pool id the trust policy must name as `cognito-identity.amazonaws.com:aud`.
        identity_pool_id: String,
        /// STS's own message, quoted with long token-like runs cut.
        message: String,
    },

    #[error("{service} refused the request: {message}. Check the identity pool's authentication providers and roles.")]
    /// Any other refusal: Cognito Identity's `NotAuthorizedException` without a role asked for
    /// (or for a kept identity id of another user), or STS's `InvalidIdentityToken`,
    /// `IDPRejectedClaim` or `ExpiredTokenException`.
    NotAuthorized {
        /// The service that refused.
        service: AwsService,
        /// The service's own message, quoted; from STS it starts with the error code.
        message: String,
    },

    #[error("the identity pool {identity_pool_id} was not found in {region} ({message}). Check `identity_pool_id` (copy it from the Cognito console) and that the pool was not deleted.")]
    /// Cognito Identity answered `ResourceNotFoundException` in the pool's own region: the pool
    /// id is wrong or the pool was deleted.
    PoolNotFound {
        /// The profile's `identity_pool_id`, as sent.
        identity_pool_id: String,
        /// The region the request went to (the pool's region).
        region: String,
        /// Cognito Identity's own message, quoted with long token-like runs cut.
        message: String,
    },

    #[error("the identity pool {identity_pool_id} belongs to region {pool_region}, but the request went to {endpoint} ({message}). Remove `identity_endpoint` or point it at {pool_region}.")]
    /// Cognito Identity answered `ResourceNotFoundException` from an `identity_endpoint` in an
    /// AWS region other than the pool's.
    WrongRegion {
        /// The profile's `identity_pool_id`, as sent.
        identity_pool_id: String,
        /// The region the pool belongs to (the prefix of its id).
        pool_region: String,
        /// The origin the request went to (`https://cognito-identity.REGION.amazonaws.com`).
        endpoint: String,
        /// Cognito Identity's own message, quoted with long token-like runs cut.
        message: String,
    },

    #[error("the identity pool's configuration is incomplete ({message}). Check its authenticated role: one must be set, and its trust policy must allow sts:AssumeRoleWithWebIdentity for cognito-identity.amazonaws.com with this pool's id as `aud`.")]
    /// Cognito Identity answered `InvalidIdentityPoolConfigurationException`: the pool has no
    /// authenticated role, or that role's trust policy does not name this pool.
    PoolMisconfigured {
        /// Cognito Identity's own message, quoted with long token-like runs cut.
        message: String,
    },

    #[error("the identity pool has the basic (classic) flow turned off ({message}). Use flow = \"enhanced\", or turn on \"Basic (classic) authentication\" in the identity pool's settings.")]
    /// Cognito Identity answered `InvalidParameterException` about the classic flow: the profile
    /// has `flow = "classic"` but the pool has basic authentication turned off.
    ClassicFlowDisabled {
        /// Cognito Identity's own message, quoted with long token-like runs cut.
        message: String,
    },

    #[error("{service} is throttling requests ({message}). Wait a moment and try again; if it persists, something is calling it in a loop.")]
    /// The service answered `TooManyRequestsException`, `ThrottlingException` or `Throttling`;
    /// transient, so credentials already held stay usable.
    Throttled {
        /// The service that throttled.
        service: AwsService,
        /// The service's own message, quoted with long token-like runs cut.
        message: String,
    },

    #[error("{service} answered HTTP {status} `{code}`: {message}")]
    /// An AWS error code Latchkey has no advice for, shown as the service sent it.
    Service {
        /// The service that answered.
        service: AwsService,
        /// The HTTP status of the answer (4xx or 5xx).
        status: u16,
        /// The AWS error code (`x-amzn-errortype` or `__type` from Cognito Identity, `Error/Code`
        /// from STS), without namespace or suffix.
        code: String,
        /// The service's own message, quoted with long token-like runs cut.
        message: String,
    },

    #[error("could not reach {service} at {endpoint} ({detail}). Check the network connection and the profile's region or `identity_endpoint`.")]
    /// No answer came back: the connection failed, timed out or broke off while the body was
    /// read; transient, so credentials already held stay usable.
    Unreachable {
        /// The service that was called.
        service: AwsService,
        /// The origin called (scheme, host and port; no path).
        endpoint: String,
        /// `timed out`, `connection failed` or `the request failed`.
        detail: &'static str,
    },

    #[error(
        "the request could not be signed ({detail}). This is a bug in Latchkey; please report it."
    )]
    /// The `aws-sigv4` crate would not sign a request (a bug in Latchkey, not the user's doing).
    Signing {
        /// The `aws-sigv4` crate's error text.
        detail: String,
    },

    #[error("{service} sent a response Latchkey cannot use ({detail}). If `identity_endpoint` is set, check that it is a Cognito Identity and STS endpoint.")]
    /// The answer cannot be read: an error status without an AWS error code, a body that is not
    /// the expected JSON or XML, a required field missing, or a body over the size limit.
    BadResponse {
        /// The service that answered.
        service: AwsService,
        /// What is wrong with the answer, such as which field is missing.
        detail: String,
    },
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
