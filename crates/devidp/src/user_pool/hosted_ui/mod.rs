//! Cognito's hosted UI on the pool domain: `/oauth2/authorize` validation, the `cognito`
//! session cookie, the forms' CSRF token, `/logout` and `/error`; the pages themselves live in
//! the submodules. There is no "cancel" link: on AWS a user who gives up closes the tab.

mod federation;
mod forgot_password;
mod sign_in;
mod sign_up;

pub(crate) use federation::{external_idp_page, external_idp_submit, idp_response};
pub(crate) use forgot_password::{
    confirm_forgot_password_page, confirm_forgot_password_submit, forgot_password_page,
    forgot_password_submit,
};
pub(crate) use sign_in::{login_page, login_submit, mfa_submit, new_password_submit};
pub(crate) use sign_up::{confirm_page, confirm_submit, signup_page, signup_submit};

use crate::control::faults::Fault;
use crate::control::logbook::{mask, mask_opt};
use crate::http::{constant_time_eq, encode_query, param, with_query, Incoming, Reply};
pub(crate) mod layout;
use crate::provider::{Provider, CODE_TTL_SECS, SESSION_TTL_SECS};
use crate::user_pool::store::{AuthCode, BrowserSession};
use layout as pages;

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
/// The hosted UI's anti-forgery cookie; every form echoes it in `_csrf` (Cognito's names:
/// aws-amplify/amplify-js#6236 shows a scripted login sending both).
const CSRF_COOKIE: &str = "XSRF-TOKEN";
const CSRF_FIELD: &str = "_csrf";

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
    let to_client = |error: &'static str, description: &str| Rejection::ToClient {
        redirect_uri: redirect_uri.clone(),
        error,
        description: description.to_string(),
        state: state.clone(),
    };
    match param(params, "response_type") {
        None => return Err(to_client("invalid_request", "response_type is missing")),
        Some("code") => {}
        Some("token") => {
            return Err(to_client(
                "unauthorized_client",
                "this native client may only use response_type=code",
            ))
        }
        Some(_) => return Err(to_client("invalid_request", "response_type must be code")),
    }
    let challenge = param(params, "code_challenge");
    match (param(params, "code_challenge_method"), challenge) {
        (None, None) => {}
        (Some("S256"), Some(c)) if is_s256_challenge(c) => {}
        (Some("S256"), Some(_)) => {
            return Err(to_client(
                "invalid_request",
                "code_challenge must be 43 base64url characters (S256)",
            ))
        }
        (Some("S256"), None) => {
            return Err(to_client("invalid_request", "code_challenge is missing"))
        }
        (None, Some(_)) => {
            return Err(to_client(
                "invalid_request",
                "code_challenge_method is missing (only S256 is supported)",
            ))
        }
        (Some(_), _) => {
            return Err(to_client(
                "invalid_request",
                "unsupported code_challenge_method: only S256 is supported",
            ))
        }
    }
    let scopes = match param(params, "scope") {
        None => client.scopes.clone(),
        Some(raw) => {
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
                if client.scopes.iter().any(|c| c == s) && !granted.iter().any(|g| g == s) {
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
            granted
        }
    };
    let federated = match (
        param(params, "identity_provider"),
        param(params, "idp_identifier"),
    ) {
        (Some("COGNITO"), _) => None,
        (Some(name), _) => match p
            .settings
            .identity_providers
            .iter()
            .find(|i| i.name == name)
        {
            Some(idp) => Some(idp.name.clone()),
            // Cognito reports IdP failures as invalid_request with a description.
            None => {
                return Err(to_client(
                    "invalid_request",
                    &format!("identity provider {name} is not configured for this client"),
                ))
            }
        },
        (None, Some(identifier)) => match p
            .settings
            .identity_providers
            .iter()
            .find(|i| i.identifiers.iter().any(|x| x == identifier))
        {
            Some(idp) => Some(idp.name.clone()),
            None => {
                return Err(to_client(
                    "invalid_request",
                    &format!("no identity provider has the identifier {identifier}"),
                ))
            }
        },
        (None, None) => None,
    };
    // `lang` is accepted and ignored (classic hosted UI; language list UNCONFIRMED).
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

/// The CSRF token of a page with a form: the browser's `XSRF-TOKEN`, or a new one that the
/// reply then sets.
pub(super) struct Csrf {
    token: String,
    fresh: bool,
}

impl Csrf {
    pub(super) fn for_page(req: &Incoming) -> Csrf {
        match req.cookie(CSRF_COOKIE).filter(|t| is_token_shaped(t)) {
            Some(token) => Csrf {
                token,
                fresh: false,
            },
            None => Csrf {
                token: crate::user_pool::store::random_token(32),
                fresh: true,
            },
        }
    }

    /// The form context for rendering: these authorize parameters, this token.
    pub(super) fn form<'a>(&'a self, params: &'a [(String, String)]) -> pages::Form<'a> {
        pages::Form {
            params,
            csrf: &self.token,
        }
    }

    /// An HTML reply that sets the cookie when the token is new.
    pub(super) fn html(&self, status: u16, page: String) -> Reply {
        let reply = Reply::html(status, page);
        if self.fresh {
            reply.header(
                "Set-Cookie",
                &format!(
                    "{CSRF_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax",
                    self.token
                ),
            )
        } else {
            reply
        }
    }
}

fn is_token_shaped(token: &str) -> bool {
    (16..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A hosted-UI form post that passed what every post needs: form encoding, a `_csrf` equal to
/// the `XSRF-TOKEN` cookie, and a still-valid authorization request.
pub(super) struct Posted {
    pub(super) form: Vec<(String, String)>,
    pub(super) request: AuthorizeRequest,
    pub(super) csrf: Csrf,
}

pub(super) fn accept_post(p: &Provider, req: &Incoming) -> Result<Posted, Reply> {
    let form = form_or_bad_request(req)?;
    let cookie = req.cookie(CSRF_COOKIE).unwrap_or_default();
    let field = param(&form, CSRF_FIELD).unwrap_or("");
    if cookie.is_empty() || !constant_time_eq(cookie.as_bytes(), field.as_bytes()) {
        // UNCONFIRMED what Cognito answers here; its pages need both (fixtures/README.md).
        p.log(format!(
            "hosted UI: refused POST {}: _csrf does not match the XSRF-TOKEN cookie",
            req.path
        ));
        return Err(Reply::html(403, pages::error("csrf")));
    }
    let request = validate_authorize(p, &form).map_err(|r| r.reply(p))?;
    Ok(Posted {
        form,
        request,
        csrf: Csrf {
            token: cookie,
            fresh: false,
        },
    })
}

fn form_or_bad_request(req: &Incoming) -> Result<Vec<(String, String)>, Reply> {
    req.form().ok_or_else(|| {
        Reply::html(
            400,
            pages::message_page(
                "Bad request",
                "This form must be posted as application/x-www-form-urlencoded.",
            ),
        )
    })
}

/// `GET /error`: Cognito's dead-end error page (400).
pub(crate) fn error_page(req: &Incoming) -> Reply {
    let error = param(&req.query, "error").unwrap_or("unknown_error");
    Reply::html(400, pages::error(error))
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
