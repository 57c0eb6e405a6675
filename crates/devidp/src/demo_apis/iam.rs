//! A demo API behind IAM authorization, like an API Gateway method with `AWS_IAM`: requests
//! signed with SigV4 (service `execute-api`) by credentials from the identity pool.
//! `/demo-aws-api/me` (any role) and `/demo-aws-api/admin` (role LatchkeyDemoAdmin).
//!
//! Refusals answer as API Gateway does (knowledge-center articles
//! api-gateway-troubleshoot-403-forbidden and api-gateway-iam-sigv4-mismatch): 403 with an
//! `x-amzn-ErrorType` header and a `{"message": …}` body — "Missing Authentication Token",
//! "The security token included in the request is invalid.", "The security token included in
//! the request is expired", "Signature expired: … is now earlier than … (… - 5 min.)", "The
//! request signature we calculated does not match the signature you provided. …", and "User:
//! ARN is not authorized to perform: execute-api:Invoke on resource: ARN" for the wrong role.

use serde_json::json;

use crate::config::DEMO_ADMIN_ROLE;
use crate::http::{Incoming, Reply};
use crate::provider::{format_amz_date, Provider, SignatureProblem};

/// The API's id in `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH`.
const API_ID: &str = "latchkeydemo";
const STAGE: &str = "prod";

pub(crate) fn handle(p: &Provider, req: &Incoming, rest: &str) -> Reply {
    p.count(|s| s.demo_aws_api += 1);
    if !matches!(req.method.as_str(), "GET" | "POST") {
        return Reply::json(405, &json!({"message": "Method Not Allowed"}))
            .header("Allow", "GET, POST");
    }
    if !matches!(rest, "me" | "admin") {
        return refuse(
            403,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        );
    }
    let Some(pool) = p.identity_pool.get() else {
        return Reply::json(503, &json!({"message": "no identity pool is configured"}));
    };
    let issued = match p.check_signed_request(pool, req, "execute-api") {
        Ok(issued) => issued,
        Err(problem) => {
            p.log(format!("demo-aws-api /{rest}: 403: {problem:?}"));
            let (kind, message) = match problem {
                SignatureProblem::Missing => ("MissingAuthenticationTokenException", "Missing Authentication Token".to_owned()),
                SignatureProblem::UnknownCredentials => ("UnrecognizedClientException", "The security token included in the request is invalid.".to_owned()),
                SignatureProblem::Expired => ("ExpiredTokenException", "The security token included in the request is expired".to_owned()),
                SignatureProblem::NoDate => ("IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.".to_owned()),
                SignatureProblem::Skewed { amz_date, now } => ("InvalidSignatureException", format!(
                    "Signature expired: {amz_date} is now earlier than {} ({} - 5 min.)",
                    format_amz_date(now - 300),
                    format_amz_date(now)
                )),
                SignatureProblem::WrongScope { expected, found } => ("InvalidSignatureException", format!("Credential should be scoped to {expected}, not {found}.")),
                SignatureProblem::Mismatch => ("InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".to_owned()),
            };
            return refuse(403, kind, &message);
        }
    };
    let account = &pool.config.account_id;
    let caller = issued.assumed_role_arn(account);
    if rest == "admin" && issued.role_arn != DEMO_ADMIN_ROLE {
        let resource = format!(
            "arn:aws:execute-api:{}:{account}:{API_ID}/{STAGE}/{}/admin",
            pool.config.region(),
            req.method
        );
        p.log(format!("demo-aws-api /admin: 403 for {caller}"));
        return refuse(
            403,
            "AccessDeniedException",
            &format!("User: {caller} is not authorized to perform: execute-api:Invoke on resource: {resource}"),
        );
    }
    p.log(format!("demo-aws-api /{rest}: 200 for {caller}"));
    match rest {
        "me" => Reply::json(
            200,
            &json!({
                "caller": caller,
                "role_arn": issued.role_arn,
                "cognito_identity_id": issued.identity_id,
                "cognito_identity_pool_id": pool.config.identity_pool_id,
                "account": account,
                "method": req.method,
                "body_bytes": req.body.len(),
            }),
        ),
        _ => Reply::json(
            200,
            &json!({"message": format!("Welcome, {caller}"), "role_arn": issued.role_arn}),
        ),
    }
}

fn refuse(status: u16, kind: &str, message: &str) -> Reply {
    Reply::json(status, &json!({"message": message}))
        .header("x-amzn-ErrorType", kind)
        .header("x-amzn-RequestId", &uuid::Uuid::new_v4().to_string())
}
