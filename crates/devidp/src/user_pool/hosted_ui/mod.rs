//! Cognito's hosted UI on the pool domain: `/oauth2/authorize` validation, the `cognito`
//! session cookie, `/logout`, `/error` and `/`; each page's handlers and HTML live together in
//! the submodules. There is no "cancel" link: on AWS a user who gives up closes the tab.

mod federation;
mod forgot_password;
mod lang;
mod layout;
mod message_mfa;
mod passkeys;
mod sign_in;
mod sign_up;

pub(crate) use federation::{external_idp_page, external_idp_submit, idp_response};
pub(crate) use forgot_password::{
    confirm_forgot_password_page, confirm_forgot_password_submit, forgot_password_page,
    forgot_password_submit,
};
pub(crate) use passkeys::{is_passkey_path, passkeys_page};
pub(crate) use sign_in::{login_page, login_submit, mfa_submit, new_password_submit};
pub(crate) use sign_up::{confirm_page, confirm_submit, signup_page, signup_submit};

use crate::http::{encode_query, param, with_query, Incoming, Reply};
use crate::provider::{mask, mask_opt, Fault, Provider, CODE_TTL_SECS, SESSION_TTL_SECS};
use crate::user_pool::store::{AuthCode, BrowserSession};
use layout::{error_html, escape, layout};

/// Authorize parameters carried from `/oauth2/authorize` through the sign-in pages.
const AUTHORIZE_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "identity_provider",
    "idp_identifier",
    "lang",
];

const SESSION_COOKIE: &str = "cognito";
/// A validated authorization request.
pub(crate) struct AuthorizeRequest {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) state: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) code_challenge: Option<String>,
    pub(crate) nonce: Option<String>,
    /// The external identity provider to sign in with (`identity_provider` / `idp_identifier`).
    pub(crate) federated: Option<String>,
    /// The original authorize parameters (known names only), to pass on unchanged.
    pub(crate) params: Vec<(String, String)>,
}

/// Why an authorization request was refused, and how the refusal is delivered.
pub(crate) enum Rejection {
    /// Client or redirect URI cannot be trusted: the provider's own `/error` page, never the app.
    ErrorPage {
        error: &'static str,
        client_id: String,
    },
    /// Client and redirect URI are fine: `302 redirect_uri?error=…&state=…`.
    ToClient {
        redirect_uri: String,
        error: &'static str,
        description: String,
        state: Option<String>,
    },
}

impl Rejection {
    pub(crate) fn reply(self, p: &Provider) -> Reply {
        match self {
            Rejection::ErrorPage { error, client_id } => {
                p.log(format!(
                    "authorize rejected: {error} (client_id {client_id:?})"
                ));
                let target = format!(
                    "{}/error?{}",
                    p.settings.base_url,
                    encode_query(&[
                        ("error".to_string(), error.to_string()),
                        ("client_id".to_string(), client_id),
                    ])
                );
                Reply::redirect(&target)
            }
            Rejection::ToClient {
                redirect_uri,
                error,
                description,
                state,
            } => {
                p.log(format!("authorize error to client: {error}: {description}"));
                // UNCONFIRMED whether Cognito echoes state on error redirects; we do.
                let mut params = vec![
                    ("error", error),
                    ("error_description", description.as_str()),
                ];
                if let Some(state) = &state {
                    params.push(("state", state));
                }
                Reply::redirect(&with_query(&redirect_uri, &params))
            }
        }
    }
}

/// Validates authorize parameters in Cognito's order: client, redirect URI, then the rest.
pub(crate) fn validate_authorize(
    p: &Provider,
    params: &[(String, String)],
) -> Result<AuthorizeRequest, Rejection> {
    let client = &p.settings.client;
    let client_id = param(params, "client_id").unwrap_or("").to_string();
    if client_id != client.client_id {
        // UNCONFIRMED: Cognito's answer to an unknown/missing client_id; we use the error page.
        return Err(Rejection::ErrorPage {
            error: "invalid_request",
            client_id,
        });
    }
    let redirect_uri = param(params, "redirect_uri").unwrap_or("").to_string();
    if !p.uri_registered(&redirect_uri, &client.callback_urls) {
        return Err(Rejection::ErrorPage {
            error: "redirect_mismatch",
            client_id,
        });
    }
    let state = param(params, "state").map(str::to_string);
    let to_client = |(error, description): ToClient| Rejection::ToClient {
        redirect_uri: redirect_uri.clone(),
        error,
        description,
        state: state.clone(),
    };
    check_response_type(params).map_err(to_client)?;
    let challenge = check_pkce(params).map_err(to_client)?;
    let scopes = granted_scopes(&client.scopes, param(params, "scope")).map_err(to_client)?;
    let federated = federated_provider(p, params).map_err(to_client)?;
    // `lang` is carried in `params` and chooses the pages' language (lang.rs).
    Ok(AuthorizeRequest {
        client_id,
        redirect_uri,
        state,
        scopes,
        code_challenge: challenge.map(str::to_string),
        nonce: param(params, "nonce").map(str::to_string),
        federated,
        params: params
            .iter()
            .filter(|(k, v)| AUTHORIZE_PARAMS.contains(&k.as_str()) && !v.is_empty())
            .cloned()
            .collect(),
    })
}

/// An error for the client's redirect URI: the OAuth `error` and its description.
type ToClient = (&'static str, String);

fn to_client(error: &'static str, description: &str) -> ToClient {
    (error, description.to_string())
}

/// `response_type=code`, the only one a native client may use.
fn check_response_type(params: &[(String, String)]) -> Result<(), ToClient> {
    match param(params, "response_type") {
        None => Err(to_client("invalid_request", "response_type is missing")),
        Some("code") => Ok(()),
        Some("token") => Err(to_client(
            "unauthorized_client",
            "this native client may only use response_type=code",
        )),
        Some(_) => Err(to_client("invalid_request", "response_type must be code")),
    }
}

/// PKCE: none at all, or S256 with a well-formed challenge (returned).
fn check_pkce(params: &[(String, String)]) -> Result<Option<&str>, ToClient> {
    let challenge = param(params, "code_challenge");
    match (param(params, "code_challenge_method"), challenge) {
        (None, None) => Ok(None),
        (Some("S256"), Some(c)) if is_s256_challenge(c) => Ok(challenge),
        (Some("S256"), Some(_)) => Err(to_client(
            "invalid_request",
            "code_challenge must be 43 base64url characters (S256)",
        )),
        (Some("S256"), None) => Err(to_client("invalid_request", "code_challenge is missing")),
        (None, Some(_)) => Err(to_client(
            "invalid_request",
            "code_challenge_method is missing (only S256 is supported)",
        )),
        (Some(_), _) => Err(to_client(
            "invalid_request",
            "unsupported code_challenge_method: only S256 is supported",
        )),
    }
}

/// The requested scopes the client has (all of its scopes when none are requested).
fn granted_scopes(allowed: &[String], requested: Option<&str>) -> Result<Vec<String>, ToClient> {
    let Some(raw) = requested else {
        return Ok(allowed.to_vec());
    };
    let requested: Vec<&str> = raw.split(' ').filter(|s| !s.is_empty()).collect();
    if requested.iter().any(|s| !is_scope_token(s)) {
        return Err(to_client(
            "invalid_scope",
            "the scope parameter is malformed",
        ));
    }
    // A scope the client doesn't have is ignored (Cognito).
    let mut granted: Vec<String> = Vec::new();
    for s in requested {
        if allowed.iter().any(|c| c == s) && !granted.iter().any(|g| g == s) {
            granted.push(s.to_string());
        }
    }
    if granted.is_empty() {
        return Err(to_client(
            "invalid_scope",
            "none of the requested scopes is allowed for this client",
        ));
    }
    let needs_openid = granted
        .iter()
        .any(|s| matches!(s.as_str(), "email" | "profile" | "phone"));
    if needs_openid && !granted.iter().any(|s| s == "openid") {
        // UNCONFIRMED: Cognito says these scopes "need openid"; we refuse rather than drop.
        return Err(to_client(
            "invalid_scope",
            "email, phone and profile scopes require openid",
        ));
    }
    Ok(granted)
}

/// The external identity provider named by `identity_provider` or `idp_identifier`, if any.
fn federated_provider(
    p: &Provider,
    params: &[(String, String)],
) -> Result<Option<String>, ToClient> {
    let providers = &p.settings.identity_providers;
    match (
        param(params, "identity_provider"),
        param(params, "idp_identifier"),
    ) {
        (Some("COGNITO"), _) | (None, None) => Ok(None),
        (Some(name), _) => match providers.iter().find(|i| i.name == name) {
            Some(idp) => Ok(Some(idp.name.clone())),
            // Cognito reports IdP failures as invalid_request with a description.
            None => Err(to_client(
                "invalid_request",
                &format!("identity provider {name} is not configured for this client"),
            )),
        },
        (None, Some(identifier)) => {
            match providers
                .iter()
                .find(|i| i.identifiers.iter().any(|x| x == identifier))
            {
                Some(idp) => Ok(Some(idp.name.clone())),
                None => Err(to_client(
                    "invalid_request",
                    &format!("no identity provider has the identifier {identifier}"),
                )),
            }
        }
    }
}

fn is_s256_challenge(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// RFC 6749 scope-token: %x21 / %x23-5B / %x5D-7E.
fn is_scope_token(s: &str) -> bool {
    s.bytes()
        .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// `GET /oauth2/authorize`: silent sign-in with a valid cookie, else `302 /login?<same query>`.
pub(crate) fn authorize(p: &Provider, req: &Incoming) -> Reply {
    p.count(|s| s.authorize += 1);
    let request = match validate_authorize(p, &req.query) {
        Ok(r) => r,
        Err(rejection) => return rejection.reply(p),
    };
    p.log(format!(
        "authorize: client {} redirect {} scopes [{}] state {} pkce {}",
        request.client_id,
        request.redirect_uri,
        request.scopes.join(" "),
        mask_opt(request.state.as_deref()),
        if request.code_challenge.is_some() {
            "S256"
        } else {
            "none"
        }
    ));
    if let Some(provider) = &request.federated {
        // Straight to the external provider, skipping the login page (Cognito's behaviour).
        return federation::redirect_to_external_idp(p, provider, &request);
    }
    if let Some(session) = session_of(p, req) {
        p.count(|s| s.cookie_logins += 1);
        p.log(format!(
            "authorize: signed in silently as {} via the cognito cookie",
            session.username
        ));
        return complete_sign_in(
            p,
            &request,
            &session.username,
            session.auth_time,
            &session.amr,
            None,
        );
    }
    // Same query, byte for byte (Cognito: "redirects to /login with the same parameters").
    Reply::redirect(&format!("{}/login?{}", p.settings.base_url, req.raw_query))
}

/// The browser session behind a valid `cognito` cookie.
pub(super) fn session_of(p: &Provider, req: &Incoming) -> Option<BrowserSession> {
    let id = req.cookie(SESSION_COOKIE)?;
    let now = p.now();
    let store = p.store();
    let session = store.sessions.get(&id)?.clone();
    let user_ok = store.user(&session.username).is_some_and(|u| u.confirmed);
    (session.expires_at > now && user_ok).then_some(session)
}

/// Starts a browser session; returns the `Set-Cookie` value.
pub(super) fn new_session(p: &Provider, username: &str, auth_time: i64, amr: &[String]) -> String {
    let id = crate::user_pool::store::random_token(32);
    let expires_at = p.now() + SESSION_TTL_SECS;
    p.store().sessions.insert(
        id.clone(),
        BrowserSession {
            username: username.to_string(),
            auth_time,
            amr: amr.to_vec(),
            expires_at,
        },
    );
    format!("{SESSION_COOKIE}={id}; HttpOnly; Path=/; Max-Age={SESSION_TTL_SECS}; SameSite=Lax")
}

/// Issues a code and redirects to the client: `302 redirect_uri?code=…&state=…`.
pub(super) fn complete_sign_in(
    p: &Provider,
    request: &AuthorizeRequest,
    username: &str,
    auth_time: i64,
    amr: &[String],
    set_cookie: Option<String>,
) -> Reply {
    // Cognito's codes look like UUIDs.
    let code = uuid::Uuid::new_v4().to_string();
    p.store().codes.insert(
        code.clone(),
        AuthCode {
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            nonce: request.nonce.clone(),
            scopes: request.scopes.clone(),
            username: username.to_string(),
            auth_time,
            amr: amr.to_vec(),
            expires_at: p.now() + CODE_TTL_SECS,
            used: false,
        },
    );
    let mut params: Vec<(&str, &str)> = vec![("code", &code)];
    if let Some(state) = &request.state {
        params.push(("state", state));
    }
    let wrong_iss = format!("{}-wrong", p.settings.issuer);
    if p.has_fault(&Fault::AuthorizeResponseWrongIss) {
        params.push(("iss", &wrong_iss));
    } else if p.has_fault(&Fault::AuthorizeResponseIss) {
        params.push(("iss", &p.settings.issuer));
    }
    p.log(format!(
        "sign-in complete for {username}: code {} state {} -> {}",
        mask(&code),
        mask_opt(request.state.as_deref()),
        request.redirect_uri
    ));
    let mut reply = Reply::redirect(&with_query(&request.redirect_uri, &params));
    if let Some(cookie) = set_cookie {
        reply = reply.header("Set-Cookie", &cookie);
    }
    reply
}

/// A user authenticated (password and MFA if any, a confirmed sign-up, or a federated
/// provider): start the browser session and send the browser back to the app with a code.
pub(super) fn signed_in(
    p: &Provider,
    request: &AuthorizeRequest,
    username: &str,
    amr: &[String],
) -> Reply {
    let auth_time = p.token_now();
    let cookie = new_session(p, username, auth_time, amr);
    p.log(format!(
        "sign-in: {username} authenticated ({})",
        amr.join("+")
    ));
    complete_sign_in(p, request, username, auth_time, amr, Some(cookie))
}

/// `GET /error`: Cognito's dead-end error page (400).
pub(crate) fn error_page(req: &Incoming) -> Reply {
    let error = param(&req.query, "error").unwrap_or("unknown_error");
    Reply::html(400, error_html(error))
}

/// `GET /logout`: clears the cookie; `logout_uri` → redirect there, or
/// `redirect_uri` + `response_type` → back to `/login`. Tokens are not revoked (Cognito).
pub(crate) fn logout(p: &Provider, req: &Incoming) -> Reply {
    p.count(|s| s.logouts += 1);
    let client = &p.settings.client;
    let client_id = param(&req.query, "client_id").unwrap_or("").to_string();
    let error_page = |error: &str| {
        let q = encode_query(&[
            ("error".to_string(), error.to_string()),
            ("client_id".to_string(), client_id.clone()),
        ]);
        Reply::redirect(&format!("{}/error?{q}", p.settings.base_url))
    };
    if client_id != client.client_id {
        p.log(format!("logout rejected: unknown client_id {client_id:?}"));
        return error_page("invalid_request");
    }
    let target = if let Some(logout_uri) = param(&req.query, "logout_uri") {
        if !p.uri_registered(logout_uri, &client.sign_out_urls) {
            // UNCONFIRMED: Cognito's answer to an unregistered logout_uri; we show the error page.
            p.log(format!(
                "logout rejected: logout_uri {logout_uri} is not registered"
            ));
            return error_page("redirect_mismatch");
        }
        logout_uri.to_string()
    } else if param(&req.query, "redirect_uri").is_some()
        && param(&req.query, "response_type").is_some()
    {
        let mut params: Vec<(String, String)> = req
            .query
            .iter()
            .filter(|(k, _)| AUTHORIZE_PARAMS.contains(&k.as_str()))
            .cloned()
            .collect();
        if param(&params, "scope").is_none() {
            params.retain(|(k, _)| k != "scope");
            params.push(("scope".to_string(), client.scopes.join(" ")));
        }
        if let Err(rejection) = validate_authorize(p, &params) {
            return rejection.reply(p);
        }
        format!("{}/login?{}", p.settings.base_url, encode_query(&params))
    } else {
        p.log(
            "logout rejected: neither logout_uri nor redirect_uri + response_type given"
                .to_string(),
        );
        return error_page("invalid_request");
    };
    if let Some(id) = req.cookie(SESSION_COOKIE) {
        p.store().sessions.remove(&id);
    }
    p.log(format!(
        "logout: cookie cleared, redirecting to {}",
        target.split('?').next().unwrap_or("")
    ));
    Reply::redirect(&target).header(
        "Set-Cookie",
        &format!("{SESSION_COOKIE}=; HttpOnly; Path=/; Max-Age=0; SameSite=Lax"),
    )
}

/// `GET /`: where things are.
pub(crate) fn index(p: &Provider) -> Reply {
    let s = &p.settings;
    let discovery = format!("{}/.well-known/openid-configuration", s.issuer);
    let body = format!(
        "<h1 id=\"title\">Latchkey development provider</h1>\
         <p class=\"sub\">A local stand-in for an Amazon Cognito user pool's hosted UI.</p>\
         <p>Issuer (the <code>cognito-idp</code> origin): <code>{issuer}</code></p>\
         <p>Discovery: <a href=\"{discovery}\">{discovery}</a></p>\
         <p>Client id: <code>{client}</code></p>\
         <p>Demo API: <code>/demo-api/me</code>, <code>/demo-api/orders</code>, <code>/demo-api/admin</code> (send the ID token)</p>",
        issuer = escape(&s.issuer),
        discovery = escape(&discovery),
        client = escape(&s.client.client_id),
    );
    Reply::html(200, layout("Latchkey development provider", &body))
}
