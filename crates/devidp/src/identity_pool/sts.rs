//! STS on the identity origin (query protocol, XML answers): `AssumeRoleWithWebIdentity` for
//! the classic flow (checks the pool's OpenID token and that the role trusts the pool) and
//! `GetCallerIdentity` (SigV4-signed with issued credentials; names the assumed role).
//!
//! Shapes from the STS API reference (API_AssumeRoleWithWebIdentity, API_GetCallerIdentity,
//! CommonErrors): `<…Response><…Result>…</…Result><ResponseMetadata>…</…Response>` and
//! `<ErrorResponse><Error><Type>Sender</Type><Code/><Message/></Error><RequestId/></ErrorResponse>`;
//! a role whose trust policy does not cover the pool answers `AccessDenied` "Not authorized to
//! perform sts:AssumeRoleWithWebIdentity" (Cognito developer guide, role-trust-and-permissions).

use super::cognito_identity::{check_open_id_token, OpenIdTokenCheck};
use super::sigv4_check::{check_signed_request, format_amz_date, SignatureProblem};
use super::state::{IdentityPoolState, IssuedCredentials};
use crate::config::IdentityPoolConfig;
use crate::http::{param, Incoming, Reply};
use crate::provider::{mask, Provider};

const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

pub(crate) fn handle(p: &Provider, pool: &IdentityPoolState, req: &Incoming) -> Reply {
    p.count(|s| s.sts_requests += 1);
    let Some(form) = req.form() else {
        return sts_error(
            400,
            "InvalidAction",
            "Could not find operation for this request.",
        );
    };
    match param(&form, "Action") {
        Some("AssumeRoleWithWebIdentity") => assume_role_with_web_identity(p, pool, &form),
        Some("GetCallerIdentity") => get_caller_identity(p, pool, req),
        Some(other) => sts_error(
            400,
            "InvalidAction",
            &format!("Could not find operation {other} for version 2011-06-15"),
        ),
        None => sts_error(400, "MissingAction", "Missing Action"),
    }
}

fn assume_role_with_web_identity(
    p: &Provider,
    pool: &IdentityPoolState,
    form: &[(String, String)],
) -> Reply {
    let (Some(role_arn), Some(session_name), Some(token)) = (
        param(form, "RoleArn"),
        param(form, "RoleSessionName"),
        param(form, "WebIdentityToken"),
    ) else {
        return sts_error(
            400,
            "ValidationError",
            "RoleArn, RoleSessionName and WebIdentityToken are required",
        );
    };
    let session_ok = (2..=64).contains(&session_name.len())
        && session_name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if !session_ok {
        return sts_error(400, "ValidationError", "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*");
    }
    let identity_id = match check_open_id_token(p, pool, token) {
        OpenIdTokenCheck::Valid { identity_id } => identity_id,
        OpenIdTokenCheck::Expired { now, exp } => {
            return sts_error(400, "ExpiredTokenException", &format!("Token expired: current date/time {now} must be before the expiration date/time {exp}"))
        }
        OpenIdTokenCheck::Invalid => {
            return sts_error(400, "InvalidIdentityToken", "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements")
        }
    };
    let config = &pool.config;
    if !role_trusts_pool(p, config, role_arn) {
        p.log(format!(
            "sts AssumeRoleWithWebIdentity: {role_arn} does not trust the identity pool"
        ));
        return sts_error(
            403,
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        );
    }
    let ttl = match requested_ttl(form, config) {
        Ok(ttl) => ttl,
        Err(refusal) => return refusal,
    };
    let (access_key_id, issued) = pool.issue(p, role_arn, session_name, &identity_id, ttl);
    p.log(format!(
        "sts AssumeRoleWithWebIdentity: {identity_id} as {role_arn}, key {access_key_id}, session token {}",
        mask(&issued.session_token)
    ));
    xml_reply(
        200,
        assume_role_xml(
            config,
            &identity_id,
            role_arn,
            session_name,
            &access_key_id,
            &issued,
        ),
    )
}

/// Whether a role's trust policy covers the pool: its authenticated role or a group's role.
fn role_trusts_pool(p: &Provider, config: &IdentityPoolConfig, role_arn: &str) -> bool {
    config.authenticated_role.as_deref() == Some(role_arn)
        || p.settings
            .group_roles
            .iter()
            .any(|r| r.role_arn == role_arn)
}

/// `DurationSeconds` (900 to 43 200), or the pool's credentials lifetime.
fn requested_ttl(form: &[(String, String)], config: &IdentityPoolConfig) -> Result<i64, Reply> {
    match param(form, "DurationSeconds").map(str::parse::<i64>) {
        None => Ok(config.credentials_ttl.as_secs() as i64),
        Some(Ok(secs)) if (900..=43_200).contains(&secs) => Ok(secs),
        Some(_) => Err(sts_error(
            400,
            "ValidationError",
            "DurationSeconds must be between 900 and 43200",
        )),
    }
}

/// The `AssumeRoleWithWebIdentityResponse` document.
fn assume_role_xml(
    config: &IdentityPoolConfig,
    identity_id: &str,
    role_arn: &str,
    session_name: &str,
    access_key_id: &str,
    issued: &IssuedCredentials,
) -> String {
    let arn = issued.assumed_role_arn(&config.account_id);
    let role_name = role_arn.rsplit('/').next().unwrap_or_default();
    format!(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"{NAMESPACE}\">\n  <AssumeRoleWithWebIdentityResult>\n    \
         <SubjectFromWebIdentityToken>{identity_id}</SubjectFromWebIdentityToken>\n    \
         <Audience>{audience}</Audience>\n    \
         <AssumedRoleUser>\n      <Arn>{arn}</Arn>\n      <AssumedRoleId>AROA{role_id}:{session_name}</AssumedRoleId>\n    </AssumedRoleUser>\n    \
         <Credentials>\n      <SessionToken>{token}</SessionToken>\n      <SecretAccessKey>{secret}</SecretAccessKey>\n      \
         <Expiration>{expiration}</Expiration>\n      <AccessKeyId>{access_key_id}</AccessKeyId>\n    </Credentials>\n    \
         <Provider>cognito-identity.amazonaws.com</Provider>\n  </AssumeRoleWithWebIdentityResult>\n  \
         <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</AssumeRoleWithWebIdentityResponse>\n",
        audience = xml_escape(&config.identity_pool_id),
        arn = xml_escape(&arn),
        role_id = role_name.len(),
        session_name = xml_escape(session_name),
        token = xml_escape(&issued.session_token),
        secret = xml_escape(&issued.secret_access_key),
        expiration = iso8601(issued.expires_at),
        request_id = uuid::Uuid::new_v4(),
    )
}

fn get_caller_identity(p: &Provider, pool: &IdentityPoolState, req: &Incoming) -> Reply {
    let issued = match check_signed_request(p, pool, req, "sts") {
        Ok(issued) => issued,
        Err(problem) => {
            p.log(format!("sts GetCallerIdentity refused: {problem:?}"));
            let (status, code, message) = match problem {
                SignatureProblem::Missing => (403, "MissingAuthenticationToken", "Request is missing Authentication Token".to_owned()),
                SignatureProblem::UnknownCredentials => (403, "InvalidClientTokenId", "The security token included in the request is invalid.".to_owned()),
                SignatureProblem::Expired => (400, "ExpiredToken", "The security token included in the request is expired".to_owned()),
                SignatureProblem::NoDate => (400, "IncompleteSignature", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.".to_owned()),
                SignatureProblem::Skewed { amz_date, now } => (403, "SignatureDoesNotMatch", format!("Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)", format_amz_date(now - 900), format_amz_date(now))),
                SignatureProblem::WrongScope { expected, found } => (403, "SignatureDoesNotMatch", format!("Credential should be scoped to {expected}, not {found}.")),
                SignatureProblem::Mismatch => (403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".to_owned()),
            };
            return sts_error(status, code, &message);
        }
    };
    let account = &pool.config.account_id;
    let arn = issued.assumed_role_arn(account);
    let body = format!(
        "<GetCallerIdentityResponse xmlns=\"{NAMESPACE}\">\n  <GetCallerIdentityResult>\n    <Arn>{arn}</Arn>\n    \
         <UserId>AROA{len}:{session}</UserId>\n    <Account>{account}</Account>\n  </GetCallerIdentityResult>\n  \
         <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n",
        arn = xml_escape(&arn),
        len = issued.role_arn.len(),
        session = xml_escape(&issued.session_name),
        request_id = uuid::Uuid::new_v4(),
    );
    xml_reply(200, body)
}

fn sts_error(status: u16, code: &str, message: &str) -> Reply {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    let body = format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{code}</Code>\n    \
         <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
        xml_escape(message),
        uuid::Uuid::new_v4()
    );
    xml_reply(status, body)
}

fn xml_reply(status: u16, body: String) -> Reply {
    Reply::new(status)
        .header("Content-Type", "text/xml")
        .header("x-amzn-RequestId", &uuid::Uuid::new_v4().to_string())
        .body(body.into_bytes())
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
fn iso8601(secs: i64) -> String {
    let compact = format_amz_date(secs);
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        &compact[0..4],
        &compact[4..6],
        &compact[6..8],
        &compact[9..11],
        &compact[11..13],
        &compact[13..15]
    )
}
