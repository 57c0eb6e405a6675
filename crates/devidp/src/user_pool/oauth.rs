//! Cognito's OAuth/OIDC endpoints: discovery, `/oauth2/token` (authorization_code and
//! refresh_token with optional rotation), `/oauth2/userInfo` and `/oauth2/revoke`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::http::{param, Incoming, Reply};
use crate::provider::{mask, pad_object, Fault, Oversized, Provider};
use crate::user_pool::json_api;
use crate::user_pool::jwt;
use crate::user_pool::renewal;
use crate::user_pool::store::{token_digest, AuthCode, RefreshGrant};
use crate::user_pool::tokens::{self, MintRequest};
use crate::user_pool::verify;

/// `GET /{pool}/.well-known/openid-configuration` on the `cognito-idp` origin: exactly the
/// fields a Cognito pool with a domain publishes (fixtures/discovery.json), endpoints on the
/// pool domain, `jwks_uri` on `cognito-idp`. No `code_challenge_methods_supported`.
pub(crate) fn discovery(p: &Provider) -> Reply {
    p.count(|s| s.discovery += 1);
    let s = &p.settings;
    let base = &s.base_url;
    let issuer = if p.has_fault(&Fault::DiscoveryIssuerMismatch) {
        format!("{}-mismatch", s.issuer)
    } else {
        s.issuer.clone()
    };
    let mut doc = json!({
        "authorization_endpoint": format!("{base}/oauth2/authorize"),
        "end_session_endpoint": format!("{base}/logout"),
        "id_token_signing_alg_values_supported": ["RS256"],
        "issuer": issuer,
        "jwks_uri": format!("{}/.well-known/jwks.json", s.issuer),
        "response_types_supported": ["code", "token"],
        "revocation_endpoint": format!("{base}/oauth2/revoke"),
        "scopes_supported": ["openid", "email", "phone", "profile"],
        "subject_types_supported": ["public"],
        "token_endpoint": format!("{base}/oauth2/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "userinfo_endpoint": format!("{base}/oauth2/userInfo"),
    });
    pad_if_oversized(p, Oversized::Discovery, &mut doc);
    Reply::json(200, &doc)
}

/// Applies an `*_oversized` fault to a JSON answer.
fn pad_if_oversized(p: &Provider, what: Oversized, value: &mut Value) {
    let bytes = p.faults().oversized(what);
    if let (Some(bytes), Value::Object(object)) = (bytes, value) {
        p.log(format!(
            "fault {}: padding the answer to {bytes} bytes",
            Fault::Oversized(what, bytes).name()
        ));
        pad_object(object, bytes);
    }
}

/// The client id from the body or from `Authorization: Basic` (with an empty secret).
fn client_id_of(req: &Incoming, form: &[(String, String)]) -> Result<Option<String>, &'static str> {
    if let Some(basic) = req.header("authorization").and_then(|h| {
        h.strip_prefix("Basic ")
            .or_else(|| h.strip_prefix("basic "))
    }) {
        let decoded = STANDARD
            .decode(basic.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or("the Basic authorization header is malformed")?;
        let (id, secret) = decoded.split_once(':').unwrap_or((&decoded, ""));
        if !secret.is_empty() {
            return Err("this app client has no secret: send client_id without one");
        }
        return Ok(Some(id.to_string()));
    }
    Ok(param(form, "client_id").map(str::to_string))
}

/// `POST /oauth2/token`.
pub(crate) fn token(p: &Provider, req: &Incoming) -> Reply {
    let started = std::time::Instant::now();
    let reply = cognito_shaped_error(p, "token", token_reply(p, req));
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    p.count(|s| s.token_handling_micros = s.token_handling_micros.saturating_add(micros));
    reply
}

/// Cognito's token and revocation errors are `{"error": "…"}` and nothing more (token-endpoint
/// page, "Sample error response"): the reason goes to the log. The
/// `token_error_description` fault adds `error_description`, as other OAuth servers do.
fn cognito_shaped_error(p: &Provider, endpoint: &str, reply: Reply) -> Reply {
    if reply.status < 400 {
        return reply;
    }
    let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(&reply.body) else {
        return reply;
    };
    if body.contains_key("__type") {
        // An AWS JSON error (the throttling fault): already in its own shape.
        return reply;
    }
    let error = body
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let description = body
        .get("error_description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    p.log(format!(
        "{endpoint}: {} {error}: {description}",
        reply.status
    ));
    if p.has_fault(&Fault::TokenErrorDescription) {
        return reply;
    }
    body.remove("error_description");
    let mut shaped = Reply::json(reply.status, &Value::Object(body));
    for (name, value) in &reply.headers {
        if !name.eq_ignore_ascii_case("content-type") && !name.eq_ignore_ascii_case("cache-control")
        {
            shaped = shaped.header(name, value);
        }
    }
    shaped
}

/// `/oauth2/token` or `/oauth2/revoke` with a method other than POST: 405 with the same
/// `{"error": …}` body as every other answer of these endpoints, and `Allow: POST`.
pub(crate) fn method_not_allowed(p: &Provider, endpoint: &str) -> Reply {
    let reply = Reply::oauth_error(405, "invalid_request", "use POST").header("Allow", "POST");
    cognito_shaped_error(p, endpoint, reply)
}

fn token_reply(p: &Provider, req: &Incoming) -> Reply {
    let form = req.form();
    let grant_type = form
        .as_deref()
        .and_then(|f| param(f, "grant_type"))
        .map(str::to_string);
    p.count(|s| match grant_type.as_deref() {
        Some("authorization_code") => s.token_authorization_code += 1,
        Some("refresh_token") => s.token_refresh_token += 1,
        _ => s.token_other += 1,
    });
    let delay = p.faults().token_delay();
    if let Some(delay) = delay {
        p.log(format!(
            "fault token_slow: waiting {} ms",
            delay.as_millis()
        ));
        p.pause(delay);
    }
    if p.has_fault(&Fault::TokenRedirect) {
        p.log("fault token_redirect: answering 302".to_string());
        return Reply::redirect(&format!(
            "{}/error?error=token_endpoint_moved",
            p.settings.base_url
        ));
    }
    if p.has_fault(&Fault::TokenThrottled) {
        p.log("fault token_throttled: answering 400 TooManyRequestsException".to_string());
        // UNCONFIRMED at /oauth2/token: the JSON API's throttling answer (fixtures/README.md).
        return json_api::aws_error(400, "TooManyRequestsException", Some("Rate exceeded"));
    }
    if p.has_fault(&Fault::TokenServerError) {
        p.log("fault token_server_error: answering 500".to_string());
        return Reply::oauth_error(
            500,
            "server_error",
            "injected fault: token endpoint failure",
        );
    }
    let Some(form) = form else {
        return Reply::oauth_error(
            400,
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded",
        );
    };
    let client_id = match client_id_of(req, &form) {
        Ok(Some(id)) => id,
        Ok(None) => return Reply::oauth_error(400, "invalid_client", "client_id is required"),
        // UNCONFIRMED: the docs show invalid_client as 400; real Cognito may use 401.
        Err(reason) => return Reply::oauth_error(400, "invalid_client", reason),
    };
    if client_id != p.settings.client.client_id {
        return Reply::oauth_error(400, "invalid_client", "unknown client_id");
    }
    let reply = match grant_type.as_deref() {
        None => Reply::oauth_error(400, "invalid_request", "grant_type is missing"),
        Some("authorization_code") => code_grant(p, &form),
        Some("refresh_token") => refresh_grant(p, &form),
        Some("client_credentials") => Reply::oauth_error(
            400,
            "unauthorized_client",
            "client_credentials needs a confidential client (with a secret)",
        ),
        Some(_) => Reply::oauth_error(400, "unsupported_grant_type", "grant_type is not supported"),
    };
    if reply.status == 200 && p.has_fault(&Fault::TokenMalformedJson) {
        p.log("fault token_malformed_json: truncating the token response".to_string());
        let cut = reply.body.len() / 2;
        return Reply::new(200)
            .header("Content-Type", "application/json;charset=UTF-8")
            .body(reply.body[..cut].to_vec());
    }
    reply
}

fn invalid_grant(p: &Provider, why: &str) -> Reply {
    p.log(format!("token: invalid_grant: {why}"));
    Reply::oauth_error(400, "invalid_grant", why)
}

fn code_grant(p: &Provider, form: &[(String, String)]) -> Reply {
    let Some(code) = param(form, "code") else {
        return Reply::oauth_error(400, "invalid_request", "code is missing");
    };
    let Some(redirect_uri) = param(form, "redirect_uri") else {
        return Reply::oauth_error(400, "invalid_request", "redirect_uri is missing");
    };
    let now = p.now();
    let grant = match redeem_code(p, form, code, redirect_uri, now) {
        Ok(grant) => grant,
        Err(refusal) => return refusal,
    };
    let Some(user) = p.store().user(&grant.username).cloned() else {
        return invalid_grant(p, "the user no longer exists");
    };
    let family = uuid::Uuid::new_v4().to_string();
    let minted = tokens::mint(
        p,
        &MintRequest {
            user: &user,
            scopes: &grant.scopes,
            auth_time: grant.auth_time,
            amr: &grant.amr,
            nonce: grant.nonce.as_deref(),
            family: &family,
            is_refresh: false,
        },
    );
    let refresh_token = new_refresh_grant(p, &grant, &user.username, &family, now);
    p.persist();
    p.log(format!(
        "token: code {} exchanged for {}: access {}, refresh {}",
        mask(param(form, "code").unwrap_or("")),
        user.username,
        mask(&minted.access_token),
        refresh_token
            .as_deref()
            .map(mask)
            .unwrap_or_else(|| "none".into())
    ));
    token_response(p, minted, refresh_token)
}

/// Burns the code (every presentation does) and checks it was fresh, unused, and issued to
/// this client, redirect URI and PKCE verifier.
fn redeem_code(
    p: &Provider,
    form: &[(String, String)],
    code: &str,
    redirect_uri: &str,
    now: i64,
) -> Result<AuthCode, Reply> {
    let grant = {
        let mut store = p.store();
        match store.codes.get_mut(code) {
            None => None,
            Some(entry) => {
                let was_used = entry.used;
                // Every presentation burns the code, successful or not.
                entry.used = true;
                Some((entry.clone(), was_used))
            }
        }
    };
    let Some((grant, was_used)) = grant else {
        return Err(invalid_grant(p, "the authorization code is invalid"));
    };
    if was_used {
        return Err(invalid_grant(p, "the authorization code was already used"));
    }
    if now >= grant.expires_at {
        // UNCONFIRMED: expired code → invalid_grant (RFC 7636 §4.6 style).
        return Err(invalid_grant(p, "the authorization code has expired"));
    }
    if grant.client_id != p.settings.client.client_id {
        return Err(invalid_grant(
            p,
            "the authorization code was issued to another client",
        ));
    }
    if grant.redirect_uri != redirect_uri {
        // Cognito answers unauthorized_client here, not RFC 6749's invalid_grant
        // (aws-amplify/amplify-js#5284; fixtures/token_errors.json).
        let why = "redirect_uri does not match the one used at authorize";
        p.log(format!("token: unauthorized_client: {why}"));
        return Err(Reply::oauth_error(400, "unauthorized_client", why));
    }
    if let Some(challenge) = &grant.code_challenge {
        let Some(verifier) = param(form, "code_verifier") else {
            return Err(invalid_grant(
                p,
                "code_verifier is missing (the code was issued with PKCE)",
            ));
        };
        if jwt::b64url(&Sha256::digest(verifier.as_bytes())) != *challenge {
            // UNCONFIRMED: wrong verifier → invalid_grant.
            return Err(invalid_grant(
                p,
                "code_verifier does not match the code_challenge",
            ));
        }
    }
    Ok(grant)
}

/// A refresh token for the signed-in user, stored as a hash (none under the
/// `token_missing_refresh_token` fault).
fn new_refresh_grant(
    p: &Provider,
    grant: &AuthCode,
    username: &str,
    family: &str,
    now: i64,
) -> Option<String> {
    if p.has_fault(&Fault::TokenMissingRefreshToken) {
        p.log("fault token_missing_refresh_token: omitting refresh_token".to_string());
        None
    } else {
        let token = tokens::new_refresh_token();
        p.store().grants.insert(
            token_digest(&token),
            RefreshGrant {
                family: family.to_string(),
                client_id: grant.client_id.clone(),
                username: username.to_string(),
                scopes: grant.scopes.clone(),
                auth_time: grant.auth_time,
                amr: grant.amr.clone(),
                expires_at: now + p.settings.client.refresh_token_ttl.as_secs() as i64,
                retired_until: None,
            },
        );
        Some(token)
    }
}

fn token_response(p: &Provider, minted: tokens::Minted, refresh_token: Option<String>) -> Reply {
    let mut body = serde_json::Map::new();
    if let Some(id_token) = minted.id_token {
        body.insert("id_token".into(), json!(id_token));
    }
    body.insert("access_token".into(), json!(minted.access_token));
    if let Some(refresh_token) = refresh_token {
        body.insert("refresh_token".into(), json!(refresh_token));
    }
    let expires_in = p.faults().expires_in();
    if let Some(secs) = expires_in {
        p.log(format!("fault token_expires_in: expires_in {secs}"));
    }
    body.insert(
        "expires_in".into(),
        json!(expires_in.unwrap_or(p.settings.client.access_token_ttl.as_secs() as i64)),
    );
    body.insert("token_type".into(), json!("Bearer"));
    let mut body = Value::Object(body);
    pad_if_oversized(p, Oversized::TokenResponse, &mut body);
    Reply::json(200, &body)
}

fn refresh_grant(p: &Provider, form: &[(String, String)]) -> Reply {
    let Some(token) = param(form, "refresh_token") else {
        return Reply::oauth_error(400, "invalid_request", "refresh_token is missing");
    };
    match renewal::renew(p, "token", token, &p.settings.client.client_id) {
        Ok(renewed) => token_response(p, renewed.minted, renewed.rotated),
        Err(refusal) => Reply::oauth_error(400, "invalid_grant", refusal.message()),
    }
}

/// `POST /oauth2/revoke`: revokes a refresh token and everything issued from it.
pub(crate) fn revoke(p: &Provider, req: &Incoming) -> Reply {
    cognito_shaped_error(p, "revoke", revoke_reply(p, req))
}

fn revoke_reply(p: &Provider, req: &Incoming) -> Reply {
    p.count(|s| s.revocations += 1);
    if p.has_fault(&Fault::RevokeServerError) {
        p.log("fault revoke_server_error: answering 500, revoking nothing".to_string());
        return Reply::oauth_error(500, "server_error", "injected fault: revocation failure");
    }
    let Some(form) = req.form() else {
        return Reply::oauth_error(
            400,
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded",
        );
    };
    let Some(token) = param(&form, "token") else {
        return Reply::oauth_error(400, "invalid_request", "token is missing");
    };
    let client_id = match client_id_of(req, &form) {
        Ok(Some(id)) => id,
        Ok(None) => return Reply::oauth_error(400, "invalid_request", "client_id is required"),
        Err(reason) => return Reply::oauth_error(401, "invalid_client", reason),
    };
    if client_id != p.settings.client.client_id {
        return Reply::oauth_error(401, "invalid_client", "unknown client_id");
    }
    if jwt::looks_like_jws(token) {
        p.log(format!(
            "revoke: {} is a JWT, not a refresh token",
            mask(token)
        ));
        return Reply::oauth_error(
            400,
            "unsupported_token_type",
            "only refresh tokens can be revoked",
        );
    }
    renewal::revoke(p, "revoke", token, &client_id);
    Reply::new(200)
}

/// `GET|POST /oauth2/userInfo` with `Authorization: Bearer <access token>`.
pub(crate) fn userinfo(p: &Provider, req: &Incoming) -> Reply {
    p.count(|s| s.userinfo += 1);
    let bad_request = || {
        Reply::oauth_error(400, "invalid_request", "Bad OAuth2 request at UserInfo Endpoint").header(
            "WWW-Authenticate",
            "error=\"invalid_request\", error_description=\"Bad OAuth2 request at UserInfo Endpoint\"",
        )
    };
    let Some(token) = req
        .header("authorization")
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return bad_request();
    };
    const DESCRIPTION: &str =
        "Access token is expired, disabled, or deleted, or the user has globally signed out.";
    let invalid = |why: &str| {
        p.log(format!("userinfo: rejected {}: {why}", mask(token)));
        // The header and no body, as the userInfo page documents (fixtures/errors.json).
        Reply::new(401).header(
            "WWW-Authenticate",
            &format!("error=\"invalid_token\", error_description=\"{DESCRIPTION}\""),
        )
    };
    let claims = match verify::verify_access(p, token) {
        Ok(c) => c,
        Err(rejected) => return invalid(&rejected.reason),
    };
    let scope = claims.get("scope").and_then(Value::as_str).unwrap_or("");
    if !scope.split(' ').any(|s| s == "openid") {
        return invalid("the access token has no openid scope");
    }
    let family = claims
        .get("origin_jti")
        .and_then(Value::as_str)
        .unwrap_or("");
    if p.store().revoked_families.contains(family) {
        return invalid("the token's refresh token was revoked");
    }
    let username = claims.get("username").and_then(Value::as_str).unwrap_or("");
    let Some(user) = p.store().user(username).cloned() else {
        return invalid("the user no longer exists");
    };
    let mut body = serde_json::Map::new();
    let sub = if p.has_fault(&Fault::UserinfoDifferentSub) {
        uuid::Uuid::new_v4().to_string()
    } else {
        user.sub.clone()
    };
    body.insert("sub".into(), json!(sub));
    for (k, v) in &user.attributes {
        body.insert(k.clone(), json!(v));
    }
    if !user.email.is_empty() {
        // UNCONFIRMED: booleans as strings ("true"), as Cognito is widely reported to send.
        let verified = if user.contact_verified() {
            "true"
        } else {
            "false"
        };
        body.insert("email_verified".into(), json!(verified));
        body.insert("email".into(), json!(user.email));
    }
    body.insert("username".into(), json!(user.username));
    p.log(format!("userinfo: answered for {}", user.username));
    let mut body = Value::Object(body);
    pad_if_oversized(p, Oversized::Userinfo, &mut body);
    Reply::json(200, &body)
}
