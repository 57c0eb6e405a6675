//! AWS STS over its query protocol: `AssumeRoleWithWebIdentity` (unsigned; the classic flow
//! trades the Cognito OpenID token for a role's credentials) and `GetCallerIdentity` (signed
//! with the credentials; names the assumed role exactly). Answers are XML, read with quick-xml.
//!
//! Wire format: <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html>,
//! `API_GetCallerIdentity.html`, and the query-protocol error document
//! (`<ErrorResponse><Error><Code>…</Code><Message>…</Message></Error></ErrorResponse>`).

use std::collections::HashMap;
use std::time::SystemTime;

use chrono::{DateTime, Utc};

use crate::aws::credentials::AwsCredentials;
use crate::aws::error::{quote_service_message, AwsError, AwsService};
use crate::aws::protocol::{exchange, Answer};
use crate::aws::settings::IdentityPool;
use crate::aws::sigv4::{sign_request, SigningScope};
use crate::secret::{AwsSecretAccessKey, AwsSessionToken, SecretToken};

const SERVICE: AwsService = AwsService::Sts;
const API_VERSION: &str = "2011-06-15";

/// Who the credentials belong to, as STS says (`GetCallerIdentity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The 12-digit AWS account id the credentials belong to (`Account`).
    pub account: String,
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` for identity-pool credentials.
    pub arn: String,
    /// The caller's unique id (`UserId`): `ROLE_ID:SESSION` for an assumed role.
    pub user_id: String,
}

impl CallerIdentity {
    /// The role ARN behind an `assumed-role` ARN (`arn:aws:iam::ACCOUNT:role/ROLE`).
    pub fn role_arn(&self) -> Option<String> {
        assumed_role_to_role_arn(&self.arn)
    }
}

/// `AssumeRoleWithWebIdentity` with the OpenID token from `GetOpenIdToken`.
pub(crate) async fn assume_role_with_web_identity(
    http: &reqwest::Client,
    pool: &IdentityPool,
    role_arn: &str,
    web_identity_token: &SecretToken,
    identity_id: &str,
    now: DateTime<Utc>,
) -> Result<AwsCredentials, AwsError> {
    let session_name = format!("latchkey-{}", now.timestamp());
    let form = [
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", API_VERSION),
        ("RoleArn", role_arn),
        ("RoleSessionName", session_name.as_str()),
        ("WebIdentityToken", web_identity_token.expose()),
    ];
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    tracing::debug!(endpoint = %pool.sts_endpoint.origin().ascii_serialization(), "sts AssumeRoleWithWebIdentity");
    let builder = http
        .post(pool.sts_endpoint.clone())
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(body);
    let answer = exchange(SERVICE, &pool.sts_endpoint, builder).await?;
    tracing::debug!(status = answer.status, "sts response");
    if !answer.is_success() {
        return Err(classify(&answer, role_arn, &pool.identity_pool_id));
    }
    let fields = leaf_texts(&answer.body)?;
    let field = |path: &str| {
        fields
            .get(path)
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or_else(|| missing(path))
    };
    let expiration = field("Credentials/Expiration")?;
    let expiration = DateTime::parse_from_rfc3339(&expiration)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| missing("Credentials/Expiration"))?;
    let assumed = field("AssumedRoleUser/Arn").ok();
    Ok(AwsCredentials {
        access_key_id: field("Credentials/AccessKeyId")?,
        secret_access_key: AwsSecretAccessKey::new(field("Credentials/SecretAccessKey")?),
        session_token: AwsSessionToken::new(field("Credentials/SessionToken")?),
        expiration,
        identity_id: identity_id.to_owned(),
        role_arn: assumed
            .as_deref()
            .and_then(assumed_role_to_role_arn)
            .or_else(|| Some(role_arn.to_owned())),
        warning: None,
    })
}

/// `GetCallerIdentity`, signed with `creds`: which account and assumed role they stand for.
pub async fn caller_identity(
    http: &reqwest::Client,
    pool: &IdentityPool,
    creds: &AwsCredentials,
) -> Result<CallerIdentity, AwsError> {
    let body = format!("Action=GetCallerIdentity&Version={API_VERSION}");
    let headers = vec![(
        "content-type".to_owned(),
        "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
    )];
    let scope = SigningScope {
        service: "sts".into(),
        region: pool.region.clone(),
    };
    let signed = sign_request(
        creds,
        &scope,
        "POST",
        &pool.sts_endpoint,
        &headers,
        body.as_bytes(),
        SystemTime::now(),
    )?;
    let mut builder = http.post(pool.sts_endpoint.clone()).body(body);
    for (name, value) in headers.iter().chain(&signed) {
        builder = builder.header(name, value);
    }
    let answer = exchange(SERVICE, &pool.sts_endpoint, builder).await?;
    if !answer.is_success() {
        let (code, message) = error_code_and_message(&answer);
        return Err(service_error(&answer, code, message));
    }
    let fields = leaf_texts(&answer.body)?;
    let field = |path: &str| fields.get(path).cloned().ok_or_else(|| missing(path));
    Ok(CallerIdentity {
        account: field("GetCallerIdentityResult/Account")?,
        arn: field("GetCallerIdentityResult/Arn")?,
        user_id: field("GetCallerIdentityResult/UserId")?,
    })
}

/// `arn:PART:sts::ACCOUNT:assumed-role/ROLE/SESSION` → `arn:PART:iam::ACCOUNT:role/ROLE`.
fn assumed_role_to_role_arn(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", partition, "sts", "", account, resource] = parts.as_slice() else {
        return None;
    };
    let role = resource.strip_prefix("assumed-role/")?.split('/').next()?;
    (!role.is_empty()).then(|| format!("arn:{partition}:iam::{account}:role/{role}"))
}

fn classify(answer: &Answer, role_arn: &str, identity_pool_id: &str) -> AwsError {
    let (code, message) = error_code_and_message(answer);
    match code.as_str() {
        "AccessDenied" => AwsError::RoleTrustRefused {
            role_arn: role_arn.to_owned(),
            identity_pool_id: identity_pool_id.to_owned(),
            message,
        },
        "InvalidIdentityToken" | "IDPRejectedClaim" | "ExpiredTokenException" => {
            AwsError::NotAuthorized {
                service: SERVICE,
                message: format!("{code}: {message}"),
            }
        }
        _ => service_error(answer, code, message),
    }
}

fn service_error(answer: &Answer, code: String, message: String) -> AwsError {
    match code.as_str() {
        "Throttling" | "ThrottlingException" => AwsError::Throttled {
            service: SERVICE,
            message,
        },
        "" => AwsError::BadResponse {
            service: SERVICE,
            detail: format!("HTTP {} without an STS error document", answer.status),
        },
        _ => AwsError::Service {
            service: SERVICE,
            status: answer.status,
            code,
            message,
        },
    }
}

fn error_code_and_message(answer: &Answer) -> (String, String) {
    let fields = leaf_texts(&answer.body).unwrap_or_default();
    let code = fields.get("Error/Code").cloned().unwrap_or_default();
    let message = fields.get("Error/Message").cloned().unwrap_or_default();
    (code, quote_service_message(&message))
}

/// The text of every leaf element, keyed `Parent/Child` (entity references resolved).
fn leaf_texts(xml: &[u8]) -> Result<HashMap<String, String>, AwsError> {
    use quick_xml::events::Event;
    let bad = |detail: &str| AwsError::BadResponse {
        service: SERVICE,
        detail: detail.to_owned(),
    };
    let text = std::str::from_utf8(xml).map_err(|_| bad("the answer is not UTF-8"))?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut raw = String::new();
    let mut out = HashMap::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => {
                path.push(start.local_name().as_ref().to_owned());
                raw.clear();
            }
            Ok(Event::Text(t)) => raw.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) => {
                raw.push('&');
                raw.push_str(&r.into_inner());
                raw.push(';');
            }
            Ok(Event::End(_)) => {
                if path.len() >= 2 && !raw.is_empty() {
                    let value = quick_xml::escape::unescape(raw.trim())
                        .map_err(|_| bad("the XML has an unknown entity"))?;
                    let key = format!("{}/{}", path[path.len() - 2], path[path.len() - 1]);
                    out.insert(key, value.into_owned());
                }
                raw.clear();
                path.pop();
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(_) => return Err(bad("the answer is not well-formed XML")),
        }
    }
    Ok(out)
}

fn missing(path: &str) -> AwsError {
    AwsError::BadResponse {
        service: SERVICE,
        detail: format!("`{path}` is missing from the answer"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_assume_role_answer() {
        let xml = br#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>us-east-1:abc</SubjectFromWebIdentityToken>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1</Arn>
      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:app1</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXX&amp;Y=</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <Expiration>2014-10-24T23:00:23Z</Expiration>
      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>"#;
        let fields = leaf_texts(xml).unwrap();
        assert_eq!(
            fields["Credentials/SessionToken"],
            "AQoDYXdzEE0a8ANXXXXXXXX&Y="
        );
        assert_eq!(fields["Credentials/Expiration"], "2014-10-24T23:00:23Z");
        assert_eq!(
            assumed_role_to_role_arn(&fields["AssumedRoleUser/Arn"]).as_deref(),
            Some("arn:aws:iam::123456789012:role/FederatedWebIdentityRole")
        );
    }

    #[test]
    fn reads_query_protocol_errors() {
        let answer = Answer {
            status: 403,
            error_type_header: None,
            body: br#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error><RequestId>1</RequestId></ErrorResponse>"#.to_vec(),
        };
        let err = classify(&answer, "arn:aws:iam::123456789012:role/R", "us-east-1:p");
        assert!(matches!(err, AwsError::RoleTrustRefused { .. }), "{err:?}");
        let garbage = Answer {
            status: 500,
            error_type_header: None,
            body: b"<html>oops".to_vec(),
        };
        assert!(matches!(
            classify(&garbage, "r", "p"),
            AwsError::BadResponse { .. }
        ));
    }
}
