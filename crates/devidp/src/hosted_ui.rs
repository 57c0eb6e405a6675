//! Cognito's hosted UI: `/oauth2/authorize` validation, sign-in, sign-up with confirmation,
//! the `cognito` session cookie, `/logout` and the `/error` page. There is no "cancel" link:
//! on AWS a user who gives up closes the tab.

use crate::faults::Fault;
use crate::http::{encode_query, param, with_query, Incoming, Reply};
use crate::logbook::{mask, mask_opt};
use crate::pages;
use crate::provider::{Provider, CODE_TTL_SECS, SESSION_TTL_SECS};
use crate::store::{AuthCode, BrowserSession, User};

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
    if let Some(idp) = param(params, "identity_provider") {
        if idp != "COGNITO" {
            // Cognito reports IdP failures as invalid_request with a description.
            return Err(to_client(
                "invalid_request",
                &format!("identity provider {idp} is not configured for this client (only COGNITO exists here)"),
            ));
        }
    }
    // `lang` is accepted and ignored (classic hosted UI; language list UNCONFIRMED).
    Ok(AuthorizeRequest {
        client_id,
        redirect_uri,
        state,
        scopes,
        code_challenge: challenge.map(str::to_string),
        nonce: param(params, "nonce").map(str::to_string),
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
    if let Some(session) = session_of(p, req) {
        p.count(|s| s.cookie_logins += 1);
        p.log(format!(
            "authorize: signed in silently as {} via the cognito cookie",
            session.username
        ));
        return complete_sign_in(p, &request, &session.username, session.auth_time, None);
    }
    // Same query, byte for byte (Cognito: "redirects to /login with the same parameters").
    Reply::redirect(&format!("{}/login?{}", p.settings.base_url, req.raw_query))
}

/// The browser session behind a valid `cognito` cookie.
fn session_of(p: &Provider, req: &Incoming) -> Option<BrowserSession> {
    let id = req.cookie(SESSION_COOKIE)?;
    let now = p.now();
    let store = p.store();
    let session = store.sessions.get(&id)?.clone();
    let user_ok = store.user(&session.username).is_some_and(|u| u.confirmed);
    (session.expires_at > now && user_ok).then_some(session)
}

/// Starts a browser session; returns the `Set-Cookie` value.
fn new_session(p: &Provider, username: &str, auth_time: i64) -> String {
    let id = crate::store::random_token(32);
    let expires_at = p.now() + SESSION_TTL_SECS;
    p.store().sessions.insert(
        id.clone(),
        BrowserSession {
            username: username.to_string(),
            auth_time,
            expires_at,
        },
    );
    format!("{SESSION_COOKIE}={id}; HttpOnly; Path=/; Max-Age={SESSION_TTL_SECS}; SameSite=Lax")
}

/// Issues a code and redirects to the client: `302 redirect_uri?code=…&state=…`.
fn complete_sign_in(
    p: &Provider,
    request: &AuthorizeRequest,
    username: &str,
    auth_time: i64,
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

/// `GET /login`: the sign-in form.
pub(crate) fn login_page(p: &Provider, req: &Incoming) -> Reply {
    match validate_authorize(p, &req.query) {
        Ok(request) => Reply::html(200, pages::login(p, &request.params, "", None)),
        Err(rejection) => rejection.reply(p),
    }
}

/// `POST /login`: checks the password, sets the cookie and redirects with a code.
pub(crate) fn login_submit(p: &Provider, req: &Incoming) -> Reply {
    let form = match form_or_bad_request(req) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let request = match validate_authorize(p, &form) {
        Ok(r) => r,
        Err(rejection) => return rejection.reply(p),
    };
    let username = param(&form, "username").unwrap_or("").trim().to_string();
    let password = param(&form, "password").unwrap_or("");
    if username.is_empty() || password.is_empty() {
        return Reply::html(
            400,
            pages::login(
                p,
                &request.params,
                &username,
                Some("Please enter your username and password."),
            ),
        );
    }
    let user = p.store().find_sign_in(&username).cloned();
    let Some(user) = user.filter(|u| u.password_matches(password)) else {
        p.count(|s| s.failed_logins += 1);
        p.log(format!(
            "sign-in failed for {username:?}: incorrect username or password"
        ));
        return Reply::html(
            400,
            pages::login(
                p,
                &request.params,
                &username,
                Some("Incorrect username or password."),
            ),
        );
    };
    if !user.confirmed {
        let code = ensure_confirmation_code(p, &user.username);
        return Reply::html(
            200,
            pages::confirm(
                &request.params,
                &user.username,
                &code,
                Some("User is not confirmed. Enter the code we sent."),
            ),
        );
    }
    p.count(|s| s.logins += 1);
    let auth_time = p.token_now();
    let cookie = new_session(p, &user.username, auth_time);
    p.log(format!(
        "sign-in: {} authenticated with password",
        user.username
    ));
    complete_sign_in(p, &request, &user.username, auth_time, Some(cookie))
}

/// `GET /signup`: the sign-up form.
pub(crate) fn signup_page(p: &Provider, req: &Incoming) -> Reply {
    match validate_authorize(p, &req.query) {
        Ok(request) => Reply::html(200, pages::signup(p, &request.params, "", None)),
        Err(rejection) => rejection.reply(p),
    }
}

/// Cognito's default password policy: 8+ characters with lower, upper, digit and symbol.
fn password_policy_error(password: &str) -> Option<&'static str> {
    if password.chars().count() < 8 {
        Some("Password did not conform with policy: Password not long enough (at least 8 characters).")
    } else if !password.chars().any(|c| c.is_lowercase()) {
        Some("Password did not conform with policy: Password must have lowercase characters.")
    } else if !password.chars().any(|c| c.is_uppercase()) {
        Some("Password did not conform with policy: Password must have uppercase characters.")
    } else if !password.chars().any(|c| c.is_ascii_digit()) {
        Some("Password did not conform with policy: Password must have numeric characters.")
    } else if password.chars().all(|c| c.is_alphanumeric()) {
        Some("Password did not conform with policy: Password must have symbol characters.")
    } else {
        None
    }
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.contains(char::is_whitespace)
        }
        None => false,
    }
}

fn ensure_confirmation_code(p: &Provider, username: &str) -> String {
    let mut store = p.store();
    let existing = store
        .user(username)
        .and_then(|u| u.confirmation_code.clone());
    let code = existing.unwrap_or_else(|| {
        use rand::Rng;
        format!("{:06}", rand::thread_rng().gen_range(0..1_000_000))
    });
    if let Some(user) = store.user_mut(username) {
        user.confirmation_code = Some(code.clone());
    }
    store.last_confirmation_code = Some(code.clone());
    drop(store);
    // The confirmation code is printed on purpose: this provider sends no e-mail.
    p.log(format!(
        "sign-up: confirmation code for {username} is {code}"
    ));
    code
}

/// `POST /signup`: creates an unconfirmed user and shows the confirmation step. In a pool
/// that signs in with e-mail the `username` field is the address and the username is
/// generated; in a plain-username pool the form has both `username` and `email`.
pub(crate) fn signup_submit(p: &Provider, req: &Incoming) -> Reply {
    let form = match form_or_bad_request(req) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let request = match validate_authorize(p, &form) {
        Ok(r) => r,
        Err(rejection) => return rejection.reply(p),
    };
    let plain = p.store().username_attributes.is_empty();
    let typed = param(&form, "username").unwrap_or("").trim().to_string();
    let email = if plain {
        param(&form, "email").unwrap_or("").trim().to_string()
    } else {
        typed.clone()
    };
    let password = param(&form, "password").unwrap_or("");
    let problem = if plain && typed.is_empty() {
        Some("Username cannot be empty.")
    } else if !looks_like_email(&email) {
        Some("Enter a valid email address.")
    } else if let Some(policy) = password_policy_error(password) {
        Some(policy)
    } else if p.store().find_sign_in(&typed).is_some() || p.store().find_sign_in(&email).is_some() {
        // Cognito's UsernameExistsException, confirmed or not: an unconfirmed sign-up is not
        // replaced by a second one (the user confirms it, or an administrator deletes it).
        Some("An account with the given email already exists.")
    } else {
        None
    };
    if let Some(problem) = problem {
        return Reply::html(
            400,
            pages::signup(p, &request.params, &typed, Some(problem)),
        );
    }
    let user = User::signed_up(plain.then_some(typed.as_str()), &email, password);
    let username = user.username.clone();
    p.store().add_user(user);
    p.log(format!(
        "sign-up: created unconfirmed user {username} ({email})"
    ));
    let code = ensure_confirmation_code(p, &username);
    Reply::html(200, pages::confirm(&request.params, &typed, &code, None))
}

/// `GET /confirmUser?username=…`: the confirmation form on its own.
pub(crate) fn confirm_page(p: &Provider, req: &Incoming) -> Reply {
    let request = match validate_authorize(p, &req.query) {
        Ok(r) => r,
        Err(rejection) => return rejection.reply(p),
    };
    let typed = param(&req.query, "username").unwrap_or("").to_string();
    let pending = p
        .store()
        .find_sign_in(&typed)
        .filter(|u| !u.confirmed)
        .map(|u| u.username.clone());
    let Some(username) = pending else {
        return Reply::html(
            400,
            pages::signup(
                p,
                &request.params,
                &typed,
                Some("There is no pending sign-up for this user."),
            ),
        );
    };
    let code = ensure_confirmation_code(p, &username);
    Reply::html(200, pages::confirm(&request.params, &typed, &code, None))
}

/// `POST /confirmUser`: checks the code, confirms the user and signs them in.
pub(crate) fn confirm_submit(p: &Provider, req: &Incoming) -> Reply {
    let form = match form_or_bad_request(req) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let request = match validate_authorize(p, &form) {
        Ok(r) => r,
        Err(rejection) => return rejection.reply(p),
    };
    let typed = param(&form, "username").unwrap_or("").trim().to_string();
    let code = param(&form, "code").unwrap_or("").trim().to_string();
    let username = p.store().username_of(&typed).unwrap_or_default();
    let confirmed_name = {
        let mut store = p.store();
        match store.user_mut(&username) {
            Some(user)
                if !user.confirmed && user.confirmation_code.as_deref() == Some(code.as_str()) =>
            {
                user.confirmed = true;
                user.confirmation_code = None;
                Some(user.username.clone())
            }
            _ => None,
        }
    };
    let Some(username_confirmed) = confirmed_name else {
        let expected = p
            .store()
            .user(&username)
            .and_then(|u| u.confirmation_code.clone());
        return match expected {
            Some(expected) => Reply::html(
                400,
                pages::confirm(
                    &request.params,
                    &typed,
                    &expected,
                    Some("Invalid verification code provided, please try again."),
                ),
            ),
            None => Reply::html(
                400,
                pages::signup(
                    p,
                    &request.params,
                    &typed,
                    Some("There is no pending sign-up for this user."),
                ),
            ),
        };
    };
    p.count(|s| s.signups += 1);
    p.log(format!("sign-up: {username_confirmed} confirmed"));
    p.persist();
    let auth_time = p.token_now();
    let cookie = new_session(p, &username_confirmed, auth_time);
    complete_sign_in(p, &request, &username_confirmed, auth_time, Some(cookie))
}

/// `GET /forgotPassword`: a stub, the development provider cannot reset passwords.
pub(crate) fn forgot_password(p: &Provider, req: &Incoming) -> Reply {
    let params = validate_authorize(p, &req.query)
        .map(|r| r.params)
        .unwrap_or_default();
    Reply::html(200, pages::forgot_password(&params))
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
