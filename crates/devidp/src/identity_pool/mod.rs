//! An identity pool next to the user pool, on its own loopback origin (as
//! `cognito-identity.{region}.amazonaws.com` is its own host): the Cognito Identity JSON 1.1
//! API (`GetId`, `GetCredentialsForIdentity`, `GetOpenIdToken`) that trades this pool's ID
//! tokens for temporary credentials of an IAM role, plus STS on the same origin.
//!
//! Behaviour modelled on the real service:
//! - Requests: `POST /`, `Content-Type: application/x-amz-json-1.1`,
//!   `X-Amz-Target: AWSCognitoIdentityService.{Op}`, unsigned; errors are `{"__type", "message"}`
//!   (API reference: API_GetId, API_GetCredentialsForIdentity, API_GetOpenIdToken, CommonErrors).
//!   Status codes: 400 for NotAuthorized / InvalidParameter / InvalidIdentityPoolConfiguration
//!   (NotAuthorized seen as 400 in aws-amplify/amplify-flutter#851), 404 ResourceNotFound,
//!   400 TooManyRequestsException "Rate exceeded" (what the service sends, though the API
//!   reference says 429: igvteam/igv#1311, aws/aws-sdk-java#2301).
//! - The `Logins` token is checked like the service does, with its messages as seen in the
//!   wild: "Token is not from a supported provider of this identity pool." (unknown provider
//!   or app client; amplify-js#2067), "Invalid login token. Token expired: NOW >= EXP"
//!   (qqaatw/JciHitachiHA#33), "Invalid login token. Couldn't verify signed token."
//!   (amazon-cognito-identity-js#91), "Invalid login token. Issuer doesn't match providerName"
//!   (amazon-cognito-identity-js#40), "Invalid login token. Missing a required claim: aud"
//!   (an access token; amazon-cognito-identity-js#12), "Unauthenticated access is not supported
//!   for this identity pool." (aws-sdk-android#52).
//! - Roles (Cognito developer guide, role-based-access-control): the authenticated role;
//!   with "choose role from token", `CustomRoleArn` if it is in `cognito:roles` (otherwise
//!   access is denied: NotAuthorizedException here, the exact real message is UNCONFIRMED),
//!   else `cognito:preferred_role`, else the ambiguous-role rule (authenticated role, or deny
//!   with "The ambiguous role mapping rules denied this request.", amplify-js#8644). No
//!   authenticated role: InvalidIdentityPoolConfigurationException "Invalid identity pool
//!   configuration. Check assigned IAM roles for this pool." (stackoverflow 30425942).
//! - Credentials: `ASIA` + 16 characters, a 40-character secret, a long session token,
//!   `Expiration` in epoch seconds written as Cognito writes them (`1.659377625E9`), for
//!   `credentials_ttl` (AWS: one hour).
//! - The basic (classic) flow is off unless `allow_classic_flow`, as in new pools; when off,
//!   `GetOpenIdToken` answers InvalidParameterException "Basic (classic) flow is not enabled,
//!   please use enhanced flow.". Its OpenID token (iss `https://cognito-identity.amazonaws.com`,
//!   aud = pool id, `amr` authenticated) is valid for 10 minutes, RS256-signed by a key this
//!   origin publishes at `/.well-known/jwks_uri` (as AWS's, awslabs/aws-jwt-verify#236), and
//!   is checked by this origin's STS (`sts`).

mod cognito_identity;
mod sigv4_check;
mod state;
mod sts;

use serde_json::json;

use crate::http::{Incoming, Reply};
use crate::provider::Provider;

pub(crate) use sigv4_check::{format_amz_date, SignatureProblem};
pub(crate) use state::{IdentityPoolState, IssuedCredentials};

/// The session name Cognito uses when it assumes a role for an identity.
pub(crate) const COGNITO_SESSION_NAME: &str = "CognitoIdentityCredentials";
const OPENID_TOKEN_TTL_SECS: i64 = 600;
const OPENID_ISSUER: &str = "https://cognito-identity.amazonaws.com";

/// Requests on the identity origin: the Cognito Identity API, or STS (form `Action=`).
pub(crate) fn route(p: &Provider, req: &Incoming) -> Reply {
    let Some(pool) = p.identity_pool.get() else {
        return Reply::json(404, &json!({"message": "no identity pool is configured"}));
    };
    if req.method == "OPTIONS" {
        // Browsers (Amplify) call the service cross-origin with these headers.
        return Reply::new(204)
            .header("Access-Control-Allow-Methods", "POST, OPTIONS")
            .header(
                "Access-Control-Allow-Headers",
                "Content-Type, X-Amz-Target, X-Amz-User-Agent, X-Amz-Date, X-Amz-Security-Token, Authorization",
            )
            .header("Access-Control-Max-Age", "600");
    }
    if matches!(req.method.as_str(), "GET" | "HEAD") && req.path == "/.well-known/jwks_uri" {
        return cognito_identity::openid_jwks(pool);
    }
    if req.method != "POST" || req.path != "/" {
        return Reply::json(404, &json!({"message": "Not Found"}));
    }
    if let Some(delay) = p.faults().identity_delay() {
        p.pause(delay);
    }
    match req.header("x-amz-target") {
        Some(target) => cognito_identity::handle(p, pool, req, target),
        None => sts::handle(p, pool, req),
    }
}

impl Provider {
    /// Checks a SigV4-signed request against the credentials `pool` issued (for the demo API
    /// behind IAM authorization): see [`sigv4_check::check_signed_request`].
    pub(crate) fn check_signed_request(
        &self,
        pool: &IdentityPoolState,
        req: &Incoming,
        service: &str,
    ) -> Result<IssuedCredentials, SignatureProblem> {
        sigv4_check::check_signed_request(self, pool, req, service)
    }
}
