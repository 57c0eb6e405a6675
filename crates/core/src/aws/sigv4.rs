//! Signing requests with temporary credentials (AWS Signature Version 4) through the `aws-sigv4`
//! crate: Latchkey computes no signature by hand. The caller adds the returned headers.

use std::time::SystemTime;

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use url::Url;

use crate::aws::credentials::AwsCredentials;
use crate::aws::error::AwsError;

/// What to sign for: the service's signing name and region (`execute-api` in `eu-west-1` for
/// an API Gateway API, `sts` for STS, `appsync`, `s3`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningScope {
    /// The service's signing name, as in the credential scope (`execute-api`, `sts`, …).
    pub service: String,
    /// The region the request is signed for, such as `eu-west-1`.
    pub region: String,
}

/// The headers that sign one request (`authorization`, `x-amz-date`, `x-amz-security-token`):
/// add them to the request as it is sent, and send exactly the `headers` and `body` signed.
pub fn sign_request(
    creds: &AwsCredentials,
    scope: &SigningScope,
    method: &str,
    url: &Url,
    headers: &[(String, String)],
    body: &[u8],
    at: SystemTime,
) -> Result<Vec<(String, String)>, AwsError> {
    let identity = aws_credential_types::Credentials::new(
        &creds.access_key_id,
        creds.secret_access_key.expose(),
        Some(creds.session_token.expose().to_owned()),
        Some(creds.expiration.into()),
        "latchkey",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&scope.region)
        .name(&scope.service)
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| AwsError::Signing {
            detail: e.to_string(),
        })?
        .into();
    let signable = SignableRequest::new(
        method,
        url.as_str(),
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| AwsError::Signing {
        detail: e.to_string(),
    })?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| AwsError::Signing {
            detail: e.to_string(),
        })?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect())
}

/// Does an answer refuse the credentials themselves, so that new ones may help? API Gateway
/// (and every AWS service) says so with a 403 whose `x-amzn-ErrorType` is
/// `ExpiredTokenException` ("The security token included in the request is expired") or
/// `UnrecognizedClientException` ("… is invalid": credentials it does not know); STS says
/// `InvalidClientTokenId`. A refused role or a bad signature is not one of these.
pub fn refuses_credentials(status: u16, headers: &[(String, String)]) -> bool {
    status == 403
        && headers.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("x-amzn-errortype")
                && is_credentials_refusal(value.split(':').next().unwrap_or_default().trim())
        })
}

/// An AWS error code that refuses the credentials themselves (expired, or unknown to AWS).
pub(crate) fn is_credentials_refusal(code: &str) -> bool {
    matches!(
        code,
        "ExpiredTokenException"
            | "ExpiredToken"
            | "UnrecognizedClientException"
            | "InvalidClientTokenId"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{AwsSecretAccessKey, AwsSessionToken};
    use chrono::TimeZone;

    #[test]
    fn signs_with_the_session_token_and_a_scoped_credential() {
        let creds = AwsCredentials {
            access_key_id: "ASIAEXAMPLE000000001".into(),
            secret_access_key: AwsSecretAccessKey::new("secret/key+value"),
            session_token: AwsSessionToken::new("session-token-value"),
            expiration: chrono::Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap(),
            identity_id: "us-east-1:x".into(),
            role_arn: None,
            warning: None,
        };
        let scope = SigningScope {
            service: "execute-api".into(),
            region: "eu-west-1".into(),
        };
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let url = Url::parse("https://api.example.com/prod/items?b=2&a=1").unwrap();
        let headers = sign_request(&creds, &scope, "GET", &url, &[], b"", at).unwrap();
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let auth = get("authorization").unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE000000001/20231114/eu-west-1/execute-api/aws4_request"),
            "{auth}"
        );
        assert_eq!(get("x-amz-date"), Some("20231114T221320Z"));
        assert_eq!(get("x-amz-security-token"), Some("session-token-value"));
        assert!(!auth.contains("secret/key"));
    }

    #[test]
    fn only_expired_or_unknown_credentials_are_worth_a_refetch() {
        let answer = |kind: &str| vec![("x-amzn-ErrorType".to_owned(), kind.to_owned())];
        assert!(refuses_credentials(403, &answer("ExpiredTokenException")));
        assert!(refuses_credentials(
            403,
            &answer("UnrecognizedClientException:http://internal.amazon.com/coral/")
        ));
        assert!(!refuses_credentials(403, &answer("AccessDeniedException")));
        assert!(!refuses_credentials(
            403,
            &answer("InvalidSignatureException")
        ));
        assert!(!refuses_credentials(401, &answer("ExpiredTokenException")));
        assert!(!refuses_credentials(403, &[]));
    }
}
