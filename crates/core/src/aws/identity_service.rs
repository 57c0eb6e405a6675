//! The Cognito Identity calls (AWS JSON 1.1, unsigned): `GetId`, `GetCredentialsForIdentity`,
//! `GetOpenIdToken`, as typed serde requests over the session's reqwest client, and the
//! service's errors (`{"__type", "message"}`) turned into [`AwsError`]s that say what to check.
//!
//! Wire format: <https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_GetId.html>,
//! `API_GetCredentialsForIdentity.html`, `API_GetOpenIdToken.html`; error codes per smithy's
//! awsJson1_1 protocol (`X-Amzn-Errortype` header, else `__type`, namespace and suffix cut).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::aws::credentials::AwsCredentials;
use crate::aws::error::{AwsError, AwsService};
use crate::aws::protocol::{error_code_and_message, exchange, json_1_1_request, Answer};
use crate::aws::settings::IdentityPool;
use crate::secret::{AwsSecretAccessKey, AwsSessionToken, SecretToken};

const SERVICE: AwsService = AwsService::CognitoIdentity;

/// Who is asking, for the calls and for error messages that name the right setting.
pub(crate) struct Caller<'a> {
    pub(crate) pool: &'a IdentityPool,
    pub(crate) id_token: &'a SecretToken,
    /// The app client the ID token was issued to (its `aud`), for messages.
    pub(crate) client_id: String,
    /// The roles the ID token offers (`cognito:roles`), for messages.
    pub(crate) token_roles: Vec<String>,
}

impl Caller<'_> {
    fn logins(&self) -> BTreeMap<&str, &str> {
        BTreeMap::from([(self.pool.login_key.as_str(), self.id_token.expose())])
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetIdRequest<'a> {
    identity_pool_id: &'a str,
    logins: BTreeMap<&'a str, &'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct IdentityRequest<'a> {
    identity_id: &'a str,
    logins: BTreeMap<&'a str, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_role_arn: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetIdResponse {
    identity_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CredentialsResponse {
    identity_id: Option<String>,
    credentials: Option<WireCredentials>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireCredentials {
    access_key_id: Option<String>,
    secret_key: Option<String>,
    session_token: Option<String>,
    /// Epoch seconds, possibly with a fraction (smithy's JSON timestamp format).
    expiration: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct OpenIdTokenResponse {
    identity_id: Option<String>,
    token: Option<String>,
}

/// `GetId`: the user's identity id in the pool (created on first use).
pub(crate) async fn get_id(
    http: &reqwest::Client,
    caller: &Caller<'_>,
) -> Result<String, AwsError> {
    let request = GetIdRequest {
        identity_pool_id: &caller.pool.identity_pool_id,
        logins: caller.logins(),
    };
    let response: GetIdResponse = call(http, caller, "GetId", &request, None).await?;
    response
        .identity_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| missing("IdentityId"))
}

/// `GetCredentialsForIdentity`, with `CustomRoleArn` when the profile names a role.
pub(crate) async fn get_credentials_for_identity(
    http: &reqwest::Client,
    caller: &Caller<'_>,
    identity_id: &str,
) -> Result<AwsCredentials, AwsError> {
    let role = caller.pool.role_arn.as_deref();
    let request = IdentityRequest {
        identity_id,
        logins: caller.logins(),
        custom_role_arn: role,
    };
    let response: CredentialsResponse =
        call(http, caller, "GetCredentialsForIdentity", &request, role).await?;
    let wire = response.credentials.ok_or_else(|| missing("Credentials"))?;
    let access_key_id = wire
        .access_key_id
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing("Credentials.AccessKeyId"))?;
    let secret_key = wire
        .secret_key
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing("Credentials.SecretKey"))?;
    let session_token = wire
        .session_token
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing("Credentials.SessionToken"))?;
    let expiration = wire
        .expiration
        .and_then(epoch_seconds)
        .ok_or_else(|| missing("Credentials.Expiration"))?;
    Ok(AwsCredentials {
        access_key_id,
        secret_access_key: AwsSecretAccessKey::new(secret_key),
        session_token: AwsSessionToken::new(session_token),
        expiration,
        identity_id: response
            .identity_id
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| identity_id.to_owned()),
        role_arn: role.map(str::to_owned),
        warning: None,
    })
}

/// `GetOpenIdToken`: a Cognito-issued OpenID token for the identity (classic flow).
pub(crate) async fn get_open_id_token(
    http: &reqwest::Client,
    caller: &Caller<'_>,
    identity_id: &str,
) -> Result<(String, SecretToken), AwsError> {
    let request = IdentityRequest {
        identity_id,
        logins: caller.logins(),
        custom_role_arn: None,
    };
    let response: OpenIdTokenResponse =
        call(http, caller, "GetOpenIdToken", &request, None).await?;
    let token = response
        .token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| missing("Token"))?;
    let identity_id = response
        .identity_id
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| identity_id.to_owned());
    Ok((identity_id, SecretToken::new(token)))
}

async fn call<T: for<'de> Deserialize<'de>>(
    http: &reqwest::Client,
    caller: &Caller<'_>,
    operation: &str,
    request: &impl Serialize,
    custom_role_arn: Option<&str>,
) -> Result<T, AwsError> {
    let endpoint = &caller.pool.identity_endpoint;
    tracing::debug!(operation, endpoint = %endpoint.origin().ascii_serialization(), "cognito identity request");
    let body = serde_json::to_vec(request).expect("request types serialise");
    let target = format!("AWSCognitoIdentityService.{operation}");
    let builder = json_1_1_request(http, endpoint, &target, body);
    let answer = exchange(SERVICE, endpoint, builder).await?;
    tracing::debug!(
        operation,
        status = answer.status,
        "cognito identity response"
    );
    if !answer.is_success() {
        return Err(classify(caller, &answer, custom_role_arn));
    }
    serde_json::from_slice(&answer.body).map_err(|_| AwsError::BadResponse {
        service: SERVICE,
        detail: format!("the {operation} answer is not the expected JSON"),
    })
}

fn classify(caller: &Caller<'_>, answer: &Answer, custom_role_arn: Option<&str>) -> AwsError {
    let (code, message) = error_code_and_message(answer);
    let pool = caller.pool;
    let lower = message.to_ascii_lowercase();
    match code.as_str() {
        "NotAuthorizedException" if lower.contains("token expired") => {
            AwsError::IdTokenExpired { message }
        }
        "NotAuthorizedException" if lower.contains("not from a supported provider") => {
            AwsError::ProviderNotTrusted {
                login_key: pool.login_key.clone(),
                client_id: caller.client_id.clone(),
                message,
            }
        }
        "NotAuthorizedException" if lower.starts_with("invalid login token") => {
            AwsError::IdTokenRejected { message }
        }
        // A kept identity id that belongs to someone else: not about the role.
        "NotAuthorizedException" if lower.starts_with("access to identity") => {
            AwsError::NotAuthorized {
                service: SERVICE,
                message,
            }
        }
        "NotAuthorizedException" => match custom_role_arn {
            Some(role) => AwsError::RoleNotAllowed {
                role_arn: role.to_owned(),
                available: caller.token_roles.clone(),
                message,
            },
            None => AwsError::NotAuthorized {
                service: SERVICE,
                message,
            },
        },
        "ResourceNotFoundException" => match endpoint_region(&pool.identity_endpoint) {
            Some(region) if region != pool.region => AwsError::WrongRegion {
                identity_pool_id: pool.identity_pool_id.clone(),
                pool_region: pool.region.clone(),
                endpoint: pool.identity_endpoint.origin().ascii_serialization(),
                message,
            },
            _ => AwsError::PoolNotFound {
                identity_pool_id: pool.identity_pool_id.clone(),
                region: pool.region.clone(),
                message,
            },
        },
        "InvalidIdentityPoolConfigurationException" => AwsError::PoolMisconfigured { message },
        "InvalidParameterException" if lower.contains("classic") => {
            AwsError::ClassicFlowDisabled { message }
        }
        "TooManyRequestsException" | "ThrottlingException" | "Throttling" => AwsError::Throttled {
            service: SERVICE,
            message,
        },
        "" => AwsError::BadResponse {
            service: SERVICE,
            detail: format!("HTTP {} without an AWS error code", answer.status),
        },
        _ => AwsError::Service {
            service: SERVICE,
            status: answer.status,
            code,
            message,
        },
    }
}

/// The region in a `cognito-identity.REGION.amazonaws.com` host, if the endpoint is one.
fn endpoint_region(endpoint: &url::Url) -> Option<String> {
    let host = endpoint.host_str()?;
    let rest = host.strip_prefix("cognito-identity.")?;
    let (region, domain) = rest.split_once('.')?;
    domain.starts_with("amazonaws.").then(|| region.to_owned())
}

pub(crate) fn epoch_seconds(seconds: f64) -> Option<DateTime<Utc>> {
    if !seconds.is_finite() {
        return None;
    }
    Utc.timestamp_opt(seconds.trunc() as i64, 0).single()
}

fn missing(field: &str) -> AwsError {
    AwsError::BadResponse {
        service: SERVICE,
        detail: format!("`{field}` is missing or empty"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiration_is_epoch_seconds_with_or_without_a_fraction() {
        assert_eq!(
            epoch_seconds(1_700_000_000.0).unwrap().timestamp(),
            1_700_000_000
        );
        assert_eq!(
            epoch_seconds(1_700_000_000.75).unwrap().timestamp(),
            1_700_000_000
        );
        assert!(epoch_seconds(f64::NAN).is_none());
    }

    /// devidp's fixture of what Cognito Identity answers (crates/devidp/fixtures/).
    fn cognito_fixture(file: &str) -> serde_json::Value {
        let path = format!("{}/../devidp/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("the devidp fixture");
        serde_json::from_str(&text).expect("JSON")
    }

    #[test]
    fn credentials_are_read_from_cognitos_exact_bytes() {
        let fixture = cognito_fixture("identity_credentials.json");
        // The bytes as AWS sends them: `"Expiration":1.659377625E9`.
        let bytes = fixture["body"].as_str().unwrap().as_bytes();
        let response: CredentialsResponse = serde_json::from_slice(bytes).unwrap();
        let wire = response.credentials.expect("Credentials");
        let expiration = wire.expiration.and_then(epoch_seconds).expect("Expiration");
        assert_eq!(
            expiration.timestamp(),
            fixture["expiration_epoch_seconds"].as_i64().unwrap()
        );
        assert!(wire.access_key_id.is_some() && wire.session_token.is_some());
    }

    #[test]
    fn endpoint_region_reads_aws_host_names_only() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            endpoint_region(&url("https://cognito-identity.eu-west-1.amazonaws.com/")).as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(endpoint_region(&url("http://127.0.0.1:4566/")), None);
    }
}
