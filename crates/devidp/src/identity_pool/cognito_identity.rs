//! The Cognito Identity JSON 1.1 API: `GetId`, `GetCredentialsForIdentity` and
//! `GetOpenIdToken`, which trade the user pool's ID tokens for an identity and credentials.

use serde_json::{json, Map, Value};

use super::state::IdentityPoolState;
use super::{COGNITO_SESSION_NAME, OPENID_ISSUER, OPENID_TOKEN_TTL_SECS};
use crate::config::AmbiguousRoleResolution;
use crate::http::{Incoming, Reply};
use crate::provider::{jwt, mask, Fault, Provider};

/// The one `Content-Type` of every Cognito Identity answer.
const AMZ_JSON: &str = "application/x-amz-json-1.1";

/// An error in the Cognito Identity JSON shape.
pub(crate) fn identity_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, &json!({"__type": code, "message": message}))
        .replace_header("Content-Type", AMZ_JSON)
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

/// `POST /` with `X-Amz-Target: AWSCognitoIdentityService.{Op}`.
pub(super) fn handle(
    p: &Provider,
    pool: &IdentityPoolState,
    req: &Incoming,
    target: &str,
) -> Reply {
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
        // HTTP 400, not 429 (igvteam/igv#1311, aws/aws-sdk-java#2301; fixtures/throttling.json).
        return identity_error(400, "TooManyRequestsException", "Rate exceeded");
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

/// Who the single `Logins` entry proves the caller to be, checked as the service checks it.
fn authenticate(p: &Provider, body: &Map<String, Value>) -> Result<Login, Reply> {
    let (login_key, token) = login_entry(p, body)?;
    let claims = verified_login_claims(p, token)?;
    check_login_audience(p, &claims)?;
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
        login_key,
        claims,
    })
}

/// The one `Logins` entry: a provider name of this pool and its token.
fn login_entry<'a>(p: &Provider, body: &'a Map<String, Value>) -> Result<(String, &'a str), Reply> {
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
    Ok((login_key.clone(), token))
}

/// The token's claims, if this user pool signed it (RS256, a key in its JWKS), for this
/// issuer, and not expired.
fn verified_login_claims(p: &Provider, token: &str) -> Result<Map<String, Value>, Reply> {
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
    if !claims.contains_key("aud") {
        return Err(invalid("Missing a required claim: aud"));
    }
    Ok(claims)
}

/// The token is for an app client the pool lists as a provider (`aud`, string or array).
fn check_login_audience(p: &Provider, claims: &Map<String, Value>) -> Result<(), Reply> {
    let client_id = &p.settings.client.client_id;
    let trusted = match claims.get("aud") {
        Some(Value::String(a)) => a == client_id,
        Some(Value::Array(items)) => items.iter().any(|a| a.as_str() == Some(client_id)),
        _ => false,
    };
    if !trusted || p.has_fault(&Fault::IdentityUntrustedClient) {
        p.log("identity: the token's app client is not a provider of this pool".to_string());
        return Err(not_authorized(
            "Token is not from a supported provider of this identity pool.",
        ));
    }
    Ok(())
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
    let body = json!({
        "IdentityId": identity_id,
        "Credentials": {
            "AccessKeyId": access_key_id,
            "SecretKey": issued.secret_access_key,
            "SessionToken": issued.session_token,
            "Expiration": "__EXPIRATION__",
        }
    });
    Ok(credentials_reply(&body, issued.expires_at))
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
    // RS256 under a key this origin publishes, as AWS's (verifiable with the JWKS at
    // https://cognito-identity.amazonaws.com/.well-known/jwks_uri: awslabs/aws-jwt-verify#236).
    let key = pool.openid_key();
    let header = json!({"kid": key.kid, "typ": "JWS", "alg": "RS256"});
    let token = jwt::sign_rs256(&header, &claims, key);
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
    let signed = decoded.header.get("alg").and_then(Value::as_str) == Some("RS256")
        && pool
            .openid_key()
            .verify_rs256(decoded.signing_input.as_bytes(), &decoded.signature);
    if !signed {
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

/// `GET /.well-known/jwks_uri`: the public key of the pool's OpenID tokens (AWS publishes its
/// at `https://cognito-identity.amazonaws.com/.well-known/jwks_uri`).
pub(super) fn openid_jwks(pool: &IdentityPoolState) -> Reply {
    Reply::json(200, &json!({"keys": [pool.openid_key().jwk()]}))
}

/// A Cognito Identity answer: `application/x-amz-json-1.1` alone, as AWS sends it.
fn json_reply(value: &Value) -> Reply {
    Reply::json(200, value)
        .replace_header("Content-Type", AMZ_JSON)
        .header("x-amzn-RequestId", &uuid::Uuid::new_v4().to_string())
}

/// Epoch seconds as Cognito Identity writes `Expiration`: a Java double in scientific
/// notation, `1.659377625E9` (aws/aws-sdk-kotlin#665, getmoto/moto#7059;
/// fixtures/identity_credentials.json).
pub(crate) fn java_double_seconds(seconds: i64) -> String {
    let digits = seconds.unsigned_abs().to_string();
    let sign = if seconds < 0 { "-" } else { "" };
    let (first, rest) = digits.split_at(1);
    let rest = rest.trim_end_matches('0');
    let rest = if rest.is_empty() { "0" } else { rest };
    format!("{sign}{first}.{rest}E{}", digits.len() - 1)
}

/// The body of a `GetCredentialsForIdentity` answer, with `Expiration` in Cognito's notation
/// (serde_json has no way to write a number like that, so it is spliced in).
fn credentials_reply(value: &Value, expires_at: i64) -> Reply {
    const PLACEHOLDER: &str = "\"__EXPIRATION__\"";
    let body = value
        .to_string()
        .replace(PLACEHOLDER, &java_double_seconds(expires_at));
    json_reply(value).body(body.into_bytes())
}
