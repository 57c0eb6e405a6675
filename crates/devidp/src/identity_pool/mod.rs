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
//!   429 TooManyRequests, as the API reference lists them.
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
//!   `Expiration` in epoch seconds (a JSON number), for `credentials_ttl` (AWS: one hour).
//! - The basic (classic) flow is off unless `allow_classic_flow`, as in new pools; when off,
//!   `GetOpenIdToken` answers InvalidParameterException "Basic (classic) flow is not enabled,
//!   please use enhanced flow.". Its OpenID token (iss `https://cognito-identity.amazonaws.com`,
//!   aud = pool id, `amr` authenticated) is valid for 10 minutes and is checked by this
//!   origin's STS (`identity_sts`).

pub(crate) mod sigv4_check;
pub(crate) mod sts;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::control::faults::Fault;
use crate::control::logbook::mask;
use crate::http::{Incoming, Reply};
use crate::provider::Provider;
use crate::user_pool::jwt;
use crate::user_pool::store::random_token;

/// Account id in the demo role ARNs and assumed-role ARNs.
pub const DEMO_ACCOUNT_ID: &str = "123456789012";
/// The demo identity pool's id.
pub const DEMO_IDENTITY_POOL_ID: &str = "us-east-1:5e1f0c0a-6b5d-4c3e-9f1a-1a7c2e3d4b5f";
/// The pool's authenticated role (users whose token names no role).
pub const DEMO_AUTHENTICATED_ROLE: &str =
    "arn:aws:iam::123456789012:role/LatchkeyDemoAuthenticated";
/// The role of group `admins` (precedence 1): the demo IAM API's `/admin` wants it.
pub const DEMO_ADMIN_ROLE: &str = "arn:aws:iam::123456789012:role/LatchkeyDemoAdmin";
/// The role of group `users` (precedence 10).
pub const DEMO_USER_ROLE: &str = "arn:aws:iam::123456789012:role/LatchkeyDemoUser";

/// The session name Cognito uses when it assumes a role for an identity.
pub(crate) const COGNITO_SESSION_NAME: &str = "CognitoIdentityCredentials";
const OPENID_TOKEN_TTL_SECS: i64 = 600;
const OPENID_ISSUER: &str = "https://cognito-identity.amazonaws.com";

/// An IAM role attached to a user-pool group (Cognito puts the roles of a user's groups in the
/// ID token: `cognito:roles`, and `cognito:preferred_role` for the best precedence).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRole {
    pub group: String,
    pub role_arn: String,
    /// Lower wins, as Cognito's group `Precedence`.
    pub precedence: u32,
}

impl GroupRole {
    /// `admins` → [`DEMO_ADMIN_ROLE`] (1), `users` → [`DEMO_USER_ROLE`] (10).
    pub fn demo_roles() -> Vec<GroupRole> {
        vec![
            GroupRole {
                group: "admins".into(),
                role_arn: DEMO_ADMIN_ROLE.into(),
                precedence: 1,
            },
            GroupRole {
                group: "users".into(),
                role_arn: DEMO_USER_ROLE.into(),
                precedence: 10,
            },
        ]
    }
}

/// What the pool does when the token names several roles and none is preferred (or none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AmbiguousRoleResolution {
    #[default]
    AuthenticatedRole,
    Deny,
}

/// The identity pool a [`crate::DevIdp`] serves next to its user pool.
#[derive(Clone, Debug)]
pub struct IdentityPoolConfig {
    /// TCP port of the identity origin on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// `REGION:GUID`.
    pub identity_pool_id: String,
    pub account_id: String,
    /// `None`: the pool has no authenticated role (InvalidIdentityPoolConfigurationException).
    pub authenticated_role: Option<String>,
    /// "Choose role from token": use `cognito:roles` / `cognito:preferred_role`.
    pub role_from_token: bool,
    pub ambiguous_role_resolution: AmbiguousRoleResolution,
    /// The basic (classic) flow: `GetOpenIdToken` + STS `AssumeRoleWithWebIdentity`.
    pub allow_classic_flow: bool,
    /// How long issued credentials are valid (AWS: 1 hour).
    pub credentials_ttl: Duration,
}

impl Default for IdentityPoolConfig {
    fn default() -> Self {
        IdentityPoolConfig {
            port: 0,
            identity_pool_id: DEMO_IDENTITY_POOL_ID.into(),
            account_id: DEMO_ACCOUNT_ID.into(),
            authenticated_role: Some(DEMO_AUTHENTICATED_ROLE.into()),
            role_from_token: true,
            ambiguous_role_resolution: AmbiguousRoleResolution::AuthenticatedRole,
            allow_classic_flow: false,
            credentials_ttl: Duration::from_secs(3600),
        }
    }
}

impl IdentityPoolConfig {
    /// The pool's region: the `REGION:` prefix of its id.
    pub fn region(&self) -> &str {
        self.identity_pool_id
            .split_once(':')
            .map(|(r, _)| r)
            .unwrap_or("us-east-1")
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        let valid_id = self.identity_pool_id.split_once(':').is_some_and(|(r, g)| {
            !r.is_empty() && !g.is_empty() && g.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        }) && self.identity_pool_id.len() <= 55;
        if !valid_id {
            return Err(format!(
                "identity_pool_id {:?} is not REGION:GUID",
                self.identity_pool_id
            ));
        }
        if self.account_id.len() != 12 || !self.account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("account_id {:?} is not 12 digits", self.account_id));
        }
        if self.credentials_ttl.as_secs() == 0 {
            return Err("credentials_ttl must be at least 1 second".into());
        }
        Ok(())
    }
}

/// Credentials this pool (or its STS) handed out, by access key id.
#[derive(Clone, Debug)]
pub(crate) struct IssuedCredentials {
    pub(crate) secret_access_key: String,
    pub(crate) session_token: String,
    pub(crate) expires_at: i64,
    pub(crate) role_arn: String,
    pub(crate) session_name: String,
    pub(crate) identity_id: String,
}

impl IssuedCredentials {
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub(crate) fn assumed_role_arn(&self, account_id: &str) -> String {
        let role = self.role_arn.rsplit('/').next().unwrap_or_default();
        format!(
            "arn:aws:sts::{account_id}:assumed-role/{role}/{}",
            self.session_name
        )
    }
}

/// The running pool: its settings, its origin, identities and issued credentials.
pub(crate) struct IdentityPoolState {
    pub(crate) config: IdentityPoolConfig,
    pub(crate) base_url: String,
    /// Identity id → the `sub` it belongs to.
    identities: Mutex<HashMap<String, String>>,
    issued: Mutex<HashMap<String, IssuedCredentials>>,
    /// Signs the OpenID tokens of the classic flow (only this origin's STS reads them).
    openid_key: Vec<u8>,
}

impl IdentityPoolState {
    pub(crate) fn new(config: IdentityPoolConfig, base_url: String) -> Self {
        IdentityPoolState {
            config,
            base_url,
            identities: Mutex::new(HashMap::new()),
            issued: Mutex::new(HashMap::new()),
            openid_key: random_token(32).into_bytes(),
        }
    }

    pub(crate) fn issued(&self, access_key_id: &str) -> Option<IssuedCredentials> {
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(access_key_id)
            .cloned()
    }

    /// New credentials for `role_arn`, remembered so the demo IAM API and STS can check them.
    pub(crate) fn issue(
        &self,
        p: &Provider,
        role_arn: &str,
        session_name: &str,
        identity_id: &str,
        ttl_secs: i64,
    ) -> (String, IssuedCredentials) {
        let access_key_id = format!("ASIA{}", random_upper(16));
        let issued = IssuedCredentials {
            secret_access_key: random_token(30),
            // Real session tokens are long base64 blobs that start like this one.
            session_token: format!("IQoJb3JpZ2luX2VjE{}", random_token(600)),
            expires_at: p.now() + ttl_secs,
            role_arn: role_arn.to_owned(),
            session_name: session_name.to_owned(),
            identity_id: identity_id.to_owned(),
        };
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(access_key_id.clone(), issued.clone());
        (access_key_id, issued)
    }

    /// The stable identity id of a user (`REGION:` + a UUID derived from pool and `sub`).
    fn identity_for(&self, sub: &str) -> String {
        let guid = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!(
                "latchkey-devidp-identity:{}:{sub}",
                self.config.identity_pool_id
            )
            .as_bytes(),
        );
        let id = format!("{}:{guid}", self.config.region());
        self.identities
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), sub.to_owned());
        id
    }

    fn owner_of(&self, identity_id: &str) -> Option<String> {
        self.identities
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(identity_id)
            .cloned()
    }
}

/// `ASIA…`-style characters: upper-case letters and digits.
fn random_upper(n: usize) -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

/// Adds `cognito:roles` and `cognito:preferred_role` to an ID token's claims for a user in
/// `groups`, as Cognito does when the user's groups carry roles.
pub(crate) fn add_role_claims(
    group_roles: &[GroupRole],
    groups: &[String],
    claims: &mut Map<String, Value>,
) {
    let mut mine: Vec<&GroupRole> = group_roles
        .iter()
        .filter(|r| groups.contains(&r.group))
        .collect();
    if mine.is_empty() {
        return;
    }
    mine.sort_by_key(|r| r.precedence);
    let mut roles: Vec<&str> = mine.iter().map(|r| r.role_arn.as_str()).collect();
    roles.dedup();
    let best = mine[0].precedence;
    let tied = mine.iter().filter(|r| r.precedence == best).count() > 1;
    if roles.len() == 1 || !tied {
        claims.insert("cognito:preferred_role".into(), json!(mine[0].role_arn));
    }
    claims.insert("cognito:roles".into(), json!(roles));
}

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
    if req.method != "POST" || req.path != "/" {
        return Reply::json(404, &json!({"message": "Not Found"}));
    }
    if let Some(delay) = p.faults().identity_delay() {
        p.pause(delay);
    }
    match req.header("x-amz-target") {
        Some(target) => identity_api(p, pool, req, target),
        None => crate::identity_pool::sts::handle(p, pool, req),
    }
}

/// An error in the Cognito Identity JSON shape.
pub(crate) fn identity_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, &json!({"__type": code, "message": message}))
        .header("Content-Type", "application/x-amz-json-1.1")
        .header(
            "x-amzn-ErrorType",
            &format!(
                "{code}:http://internal.amazon.com/coral/com.amazonaws.cognito.identity.model/"
            ),
        )
        .header("x-amzn-RequestId", &uuid::Uuid::new_v4().to_string())
}

fn not_authorized(message: &str) -> Reply {
    identity_error(400, "NotAuthorizedException", message)
}

fn identity_api(p: &Provider, pool: &IdentityPoolState, req: &Incoming, target: &str) -> Reply {
    let Some(operation) = target.strip_prefix("AWSCognitoIdentityService.") else {
        return identity_error(400, "UnknownOperationException", "");
    };
    p.count(|s| match operation {
        "GetId" => s.identity_get_id += 1,
        "GetCredentialsForIdentity" => s.identity_get_credentials += 1,
        "GetOpenIdToken" => s.identity_get_open_id_token += 1,
        _ => {}
    });
    let json_type = req
        .header("content-type")
        .is_some_and(|t| t.trim().starts_with("application/x-amz-json-1.1"));
    if !json_type {
        return identity_error(
            400,
            "SerializationException",
            "Start of structure or map found where not expected.",
        );
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return identity_error(
            400,
            "SerializationException",
            "The request body is not a JSON object.",
        );
    };
    if p.has_fault(&Fault::IdentityThrottled) {
        p.log(format!("identity {operation}: throttled (fault)"));
        return identity_error(429, "TooManyRequestsException", "Rate exceeded");
    }
    let reply = match operation {
        "GetId" => get_id(p, pool, &body),
        "GetCredentialsForIdentity" => get_credentials(p, pool, &body),
        "GetOpenIdToken" => get_open_id_token(p, pool, &body),
        _ => Err(identity_error(400, "UnknownOperationException", "")),
    };
    reply.unwrap_or_else(|error| error)
}

/// Who the `Logins` map proves the caller to be.
struct Login {
    sub: String,
    username: String,
    login_key: String,
    claims: Map<String, Value>,
}

/// The provider names this pool accepts for its own user pool: the Cognito form
/// (`cognito-idp.{region}.amazonaws.com/{pool}`) and the issuer's host and path (an OIDC
/// provider entry for the same issuer).
fn provider_names(p: &Provider) -> Vec<String> {
    let pool_id = &p.settings.user_pool_id;
    let region = pool_id.split('_').next().unwrap_or("us-east-1");
    let issuer_name = p
        .settings
        .issuer
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/').to_owned())
        .unwrap_or_default();
    vec![
        format!("cognito-idp.{region}.amazonaws.com/{pool_id}"),
        issuer_name,
    ]
}

fn authenticate(p: &Provider, body: &Map<String, Value>) -> Result<Login, Reply> {
    let logins = match body.get("Logins") {
        Some(Value::Object(logins)) if !logins.is_empty() => logins,
        // No logins at all: an unauthenticated identity, which this pool does not allow.
        None | Some(Value::Null) | Some(Value::Object(_)) => {
            return Err(not_authorized(
                "Unauthenticated access is not supported for this identity pool.",
            ))
        }
        Some(_) => {
            return Err(identity_error(
                400,
                "InvalidParameterException",
                "Logins must be a map of provider names to tokens.",
            ))
        }
    };
    if logins.len() > 1 {
        return Err(not_authorized(
            "Token is not from a supported provider of this identity pool.",
        ));
    }
    let (login_key, token) = logins.iter().next().expect("one login");
    let Some(token) = token.as_str() else {
        return Err(identity_error(
            400,
            "InvalidParameterException",
            "Logins values must be strings.",
        ));
    };
    if !provider_names(p).iter().any(|name| name == login_key) {
        p.log(format!(
            "identity: login key {login_key} is not a provider of this pool"
        ));
        return Err(not_authorized(
            "Token is not from a supported provider of this identity pool.",
        ));
    }
    let invalid = |why: &str| not_authorized(&format!("Invalid login token. {why}"));
    let Ok(decoded) = jwt::decode(token) else {
        return Err(invalid("Not a valid OpenId Connect identity token."));
    };
    let alg = decoded
        .header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kid = decoded
        .header
        .get("kid")
        .and_then(Value::as_str)
        .unwrap_or("");
    let signed = alg == "RS256"
        && p.keys().by_kid(kid).is_some_and(|key| {
            key.verify_rs256(decoded.signing_input.as_bytes(), &decoded.signature)
        });
    if !signed {
        return Err(invalid("Couldn't verify signed token."));
    }
    let Value::Object(claims) = decoded.claims else {
        return Err(invalid("Couldn't verify signed token."));
    };
    let issuer = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    if issuer != p.settings.issuer {
        return Err(invalid("Issuer doesn't match providerName"));
    }
    let now = p.now();
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    if exp <= now {
        return Err(invalid(&format!("Token expired: {now} >= {exp}")));
    }
    let Some(aud) = claims.get("aud") else {
        return Err(invalid("Missing a required claim: aud"));
    };
    let client_id = &p.settings.client.client_id;
    let trusted = match aud {
        Value::String(a) => a == client_id,
        Value::Array(items) => items.iter().any(|a| a.as_str() == Some(client_id)),
        _ => false,
    };
    if !trusted || p.has_fault(&Fault::IdentityUntrustedClient) {
        p.log("identity: the token's app client is not a provider of this pool".to_string());
        return Err(not_authorized(
            "Token is not from a supported provider of this identity pool.",
        ));
    }
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    Ok(Login {
        sub: text("sub"),
        username: text("cognito:username"),
        login_key: login_key.clone(),
        claims,
    })
}

fn check_pool_id(pool: &IdentityPoolState, body: &Map<String, Value>) -> Result<(), Reply> {
    match body.get("IdentityPoolId").and_then(Value::as_str) {
        None => Err(identity_error(
            400,
            "InvalidParameterException",
            "1 validation error detected: Value null at 'identityPoolId' failed to satisfy constraint: Member must not be null",
        )),
        Some(id) if id == pool.config.identity_pool_id => Ok(()),
        Some(id) => Err(identity_error(404, "ResourceNotFoundException", &format!("IdentityPool '{id}' not found."))),
    }
}

/// The identity id in the request, which must belong to the caller.
fn check_identity(
    pool: &IdentityPoolState,
    body: &Map<String, Value>,
    login: &Login,
) -> Result<String, Reply> {
    let Some(identity_id) = body.get("IdentityId").and_then(Value::as_str) else {
        return Err(identity_error(
            400,
            "InvalidParameterException",
            "1 validation error detected: Value null at 'identityId' failed to satisfy constraint: Member must not be null",
        ));
    };
    match pool.owner_of(identity_id) {
        Some(owner) if owner == login.sub => Ok(identity_id.to_owned()),
        Some(_) => Err(not_authorized(&format!(
            "Access to Identity '{identity_id}' is forbidden."
        ))),
        None => Err(identity_error(
            404,
            "ResourceNotFoundException",
            &format!("Identity '{identity_id}' not found."),
        )),
    }
}

fn get_id(
    p: &Provider,
    pool: &IdentityPoolState,
    body: &Map<String, Value>,
) -> Result<Reply, Reply> {
    check_pool_id(pool, body)?;
    let login = authenticate(p, body)?;
    let identity_id = pool.identity_for(&login.sub);
    p.log(format!(
        "identity GetId: {} → {identity_id}",
        login.username
    ));
    Ok(json_reply(&json!({"IdentityId": identity_id})))
}

fn get_credentials(
    p: &Provider,
    pool: &IdentityPoolState,
    body: &Map<String, Value>,
) -> Result<Reply, Reply> {
    let login = authenticate(p, body)?;
    let identity_id = check_identity(pool, body, &login)?;
    let custom = body.get("CustomRoleArn").and_then(Value::as_str);
    let role = resolve_role(p, pool, &login, custom)?;
    let ttl = pool.config.credentials_ttl.as_secs() as i64;
    let (access_key_id, issued) = pool.issue(p, &role, COGNITO_SESSION_NAME, &identity_id, ttl);
    p.count(|s| s.identity_credentials_issued += 1);
    p.log(format!(
        "identity GetCredentialsForIdentity: {} as {role}, key {access_key_id}, session token {}",
        login.username,
        mask(&issued.session_token)
    ));
    Ok(json_reply(&json!({
        "IdentityId": identity_id,
        "Credentials": {
            "AccessKeyId": access_key_id,
            "SecretKey": issued.secret_access_key,
            "SessionToken": issued.session_token,
            "Expiration": issued.expires_at,
        }
    })))
}

/// Which role an authenticated identity gets (see the module docs for the rules).
fn resolve_role(
    p: &Provider,
    pool: &IdentityPoolState,
    login: &Login,
    custom: Option<&str>,
) -> Result<String, Reply> {
    let misconfigured = || {
        identity_error(
            400,
            "InvalidIdentityPoolConfigurationException",
            "Invalid identity pool configuration. Check assigned IAM roles for this pool.",
        )
    };
    let config = &pool.config;
    let Some(authenticated) = config.authenticated_role.clone() else {
        return Err(misconfigured());
    };
    if p.has_fault(&Fault::IdentityRoleUntrusted) {
        return Err(misconfigured());
    }
    let token_roles: Vec<String> = match login.claims.get("cognito:roles") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(list)) => list.split(',').map(|r| r.trim().to_owned()).collect(),
        _ => Vec::new(),
    };
    if let Some(custom) = custom {
        return if config.role_from_token && token_roles.iter().any(|r| r == custom) {
            Ok(custom.to_owned())
        } else {
            p.log(format!(
                "identity: CustomRoleArn {custom} is not one of {}'s roles",
                login.username
            ));
            Err(not_authorized(&format!(
                "Invalid CustomRoleArn: {custom} is not one of the roles in the token's cognito:roles."
            )))
        };
    }
    if !config.role_from_token {
        return Ok(authenticated);
    }
    if let Some(preferred) = login
        .claims
        .get("cognito:preferred_role")
        .and_then(Value::as_str)
    {
        return Ok(preferred.to_owned());
    }
    match config.ambiguous_role_resolution {
        AmbiguousRoleResolution::AuthenticatedRole => Ok(authenticated),
        AmbiguousRoleResolution::Deny => Err(not_authorized(
            "The ambiguous role mapping rules denied this request.",
        )),
    }
}

fn get_open_id_token(
    p: &Provider,
    pool: &IdentityPoolState,
    body: &Map<String, Value>,
) -> Result<Reply, Reply> {
    if !pool.config.allow_classic_flow {
        return Err(identity_error(
            400,
            "InvalidParameterException",
            "Basic (classic) flow is not enabled, please use enhanced flow.",
        ));
    }
    let login = authenticate(p, body)?;
    let identity_id = check_identity(pool, body, &login)?;
    let now = p.now();
    let claims = json!({
        "sub": identity_id,
        "aud": pool.config.identity_pool_id,
        "amr": ["authenticated", login.login_key, format!("{}:CognitoSignIn:{}", login.login_key, login.sub)],
        "iss": OPENID_ISSUER,
        "exp": now + OPENID_TOKEN_TTL_SECS,
        "iat": now,
        "https://aws.amazon.com/tags": {"principal_tags": {}},
    });
    let header = json!({"kid": "devidp-identity-1", "typ": "JWS", "alg": "HS256"});
    let input = jwt::signing_input(&header, &claims);
    let token = format!(
        "{input}.{}",
        jwt::b64url(&jwt::hmac_sha256(&pool.openid_key, input.as_bytes()))
    );
    p.log(format!(
        "identity GetOpenIdToken: {} → token {}",
        login.username,
        mask(&token)
    ));
    Ok(json_reply(
        &json!({"IdentityId": identity_id, "Token": token}),
    ))
}

/// Claims of an OpenID token this pool issued, if its signature, issuer and audience are right.
pub(crate) enum OpenIdTokenCheck {
    Valid { identity_id: String },
    Expired { now: i64, exp: i64 },
    Invalid,
}

pub(crate) fn check_open_id_token(
    p: &Provider,
    pool: &IdentityPoolState,
    token: &str,
) -> OpenIdTokenCheck {
    let Ok(decoded) = jwt::decode(token) else {
        return OpenIdTokenCheck::Invalid;
    };
    let mac = jwt::hmac_sha256(&pool.openid_key, decoded.signing_input.as_bytes());
    if !crate::identity_pool::sigv4_check::signatures_match(
        &jwt::b64url(&mac),
        &jwt::b64url(&decoded.signature),
    ) {
        return OpenIdTokenCheck::Invalid;
    }
    let claim = |name: &str| decoded.claims.get(name).cloned().unwrap_or(Value::Null);
    if claim("iss").as_str() != Some(OPENID_ISSUER)
        || claim("aud").as_str() != Some(pool.config.identity_pool_id.as_str())
    {
        return OpenIdTokenCheck::Invalid;
    }
    let (now, exp) = (p.now(), claim("exp").as_i64().unwrap_or(0));
    if exp <= now {
        return OpenIdTokenCheck::Expired { now, exp };
    }
    OpenIdTokenCheck::Valid {
        identity_id: claim("sub").as_str().unwrap_or_default().to_owned(),
    }
}

fn json_reply(value: &Value) -> Reply {
    Reply::json(200, value)
        .header("Content-Type", "application/x-amz-json-1.1")
        .header("x-amzn-RequestId", &uuid::Uuid::new_v4().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_claims_follow_group_precedence() {
        let mut claims = Map::new();
        add_role_claims(
            &GroupRole::demo_roles(),
            &["users".into(), "admins".into()],
            &mut claims,
        );
        assert_eq!(claims["cognito:preferred_role"], DEMO_ADMIN_ROLE);
        assert_eq!(
            claims["cognito:roles"],
            json!([DEMO_ADMIN_ROLE, DEMO_USER_ROLE])
        );

        let tie = vec![
            GroupRole {
                group: "a".into(),
                role_arn: "arn:aws:iam::1:role/A".into(),
                precedence: 1,
            },
            GroupRole {
                group: "b".into(),
                role_arn: "arn:aws:iam::1:role/B".into(),
                precedence: 1,
            },
        ];
        let mut claims = Map::new();
        add_role_claims(&tie, &["a".into(), "b".into()], &mut claims);
        assert!(
            claims.get("cognito:preferred_role").is_none(),
            "no single best precedence"
        );

        let mut claims = Map::new();
        add_role_claims(&GroupRole::demo_roles(), &["others".into()], &mut claims);
        assert!(claims.is_empty());
    }

    #[test]
    fn config_checks() {
        assert!(IdentityPoolConfig::default().validate().is_ok());
        assert_eq!(IdentityPoolConfig::default().region(), "us-east-1");
        let bad = IdentityPoolConfig {
            identity_pool_id: "nope".into(),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }
}
