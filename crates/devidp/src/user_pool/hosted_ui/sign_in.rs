//! Signing in on `/login`: the password, Cognito's lockout after repeated failures, then the
//! steps a sign-in may still need (`/forceChangePassword`, `/mfa`) before the code goes back.

use super::lang::Lang;
use super::layout::{accept_named_post, accept_post, Csrf, Posted};
use super::layout::{error_box, error_html, escape, layout, layout_in, notice_box, Form};
use super::sign_up::{confirm_html, ensure_confirmation_code, password_policy_error};
use super::{message_mfa, passkeys};
use super::{signed_in, validate_authorize};
use crate::config::MfaMode;
use crate::config::{DEMO_PASSWORD, DEMO_USERNAME, VIEWER_PASSWORD, VIEWER_USERNAME};
use crate::http::encode_query;
use crate::http::{param, Incoming, Reply};
use crate::provider::Provider;
use crate::user_pool::mfa;
use crate::user_pool::store::{Challenge, ChallengeStep, Lockout, User};

/// Cognito's lockout (authentication.html, "Lockout behavior for failed sign-in attempts"):
/// five failures are free, then 2^(n-5) seconds, up to about 15 minutes.
const FREE_FAILURES: u32 = 5;
const MAX_LOCKOUT_SECS: i64 = 900;
/// A quiet quarter of an hour resets the count.
const QUIET_RESET_SECS: i64 = 900;
/// How long a half-finished sign-in (new password, MFA) waits: Cognito's session is 3 minutes.
const CHALLENGE_TTL_SECS: i64 = 180;
pub(super) const LOCKED_MESSAGE: &str = "Password attempts exceeded";

/// `GET /login`: the sign-in form.
pub(crate) fn login_page(p: &Provider, req: &Incoming) -> Reply {
    let request = match validate_authorize(p, &req.query) {
        Ok(r) => r,
        Err(rejection) => return rejection.reply(p),
    };
    let csrf = Csrf::for_page(req);
    csrf.html(
        200,
        login_html(p, &csrf.form(&request.params), "", None, None),
    )
}

/// `POST /login`: checks the password (under the lockout rules) and goes on to the next step.
pub(crate) fn login_submit(p: &Provider, req: &Incoming) -> Reply {
    let (posted, typed) = match accept_named_post(p, req) {
        Ok(accepted) => accepted,
        Err(refusal) => return refusal,
    };
    let password = param(&posted.form, "password").unwrap_or("");
    let t = Lang::of(&posted.request.params).texts();
    let again = |error: &str| {
        let form = posted.csrf.form(&posted.request.params);
        Reply::html(400, login_html(p, &form, &typed, Some(error), None))
    };
    if typed.is_empty() || password.is_empty() {
        return again(t.enter_both);
    }
    let Some(user) = p.store().find_sign_in(&typed).cloned() else {
        p.count(|s| s.failed_logins += 1);
        p.log(format!("sign-in failed for {typed:?}: no such user"));
        return again(t.incorrect);
    };
    if is_locked_out(p, &user.username) {
        p.count(|s| s.locked_out_logins += 1);
        p.log(format!("sign-in refused for {}: locked out", user.username));
        return again(LOCKED_MESSAGE);
    }
    if !user.password_matches(password) {
        p.count(|s| s.failed_logins += 1);
        record_failure(p, &user.username);
        p.log(format!(
            "sign-in failed for {}: incorrect password",
            user.username
        ));
        return again(t.incorrect);
    }
    record_success(p, &user.username);
    if !user.confirmed {
        let code = ensure_confirmation_code(p, &user.username);
        let form = posted.csrf.form(&posted.request.params);
        return Reply::html(
            200,
            confirm_html(
                &form,
                &typed,
                &code,
                Some("User is not confirmed. Enter the code we sent."),
            ),
        );
    }
    if user.force_change_password {
        return challenge(p, &posted, &user.username, ChallengeStep::NewPassword);
    }
    after_first_factor(p, &posted, &user)
}

/// The password (new or old) is done: MFA if the pool or the user has it, else signed in.
fn after_first_factor(p: &Provider, posted: &Posted, user: &User) -> Reply {
    if let Some(channel) = user.message_mfa {
        let step = message_mfa::new_step(p, user, channel);
        return challenge(p, posted, &user.username, step);
    }
    match (p.settings.mfa, &user.totp_secret) {
        (MfaMode::Off, _) | (MfaMode::Optional, None) => {
            p.count(|s| s.logins += 1);
            signed_in(p, &posted.request, &user.username, &["pwd".to_string()])
        }
        (_, Some(_)) => challenge(p, posted, &user.username, ChallengeStep::MfaCode),
        (MfaMode::Required, None) => {
            let secret = mfa::new_secret();
            challenge(
                p,
                posted,
                &user.username,
                ChallengeStep::MfaSetup { secret },
            )
        }
    }
}

/// Stores a half-finished sign-in and shows the page for its next step.
fn challenge(p: &Provider, posted: &Posted, username: &str, step: ChallengeStep) -> Reply {
    let session = crate::user_pool::store::random_token(32);
    p.store().challenges.insert(
        session.clone(),
        Challenge {
            username: username.to_string(),
            step: step.clone(),
            expires_at: p.now() + CHALLENGE_TTL_SECS,
        },
    );
    p.log(format!(
        "sign-in: {username} must pass {}",
        step_name(&step)
    ));
    challenge_page(p, posted, username, &session, &step, None, 200)
}

fn step_name(step: &ChallengeStep) -> &'static str {
    match step {
        ChallengeStep::NewPassword => "NEW_PASSWORD_REQUIRED",
        ChallengeStep::MfaSetup { .. } => "MFA_SETUP",
        ChallengeStep::MfaCode => "SOFTWARE_TOKEN_MFA",
        ChallengeStep::MessageCode { channel, .. } => message_mfa::challenge_name(*channel),
    }
}

pub(super) fn challenge_page(
    p: &Provider,
    posted: &Posted,
    username: &str,
    session: &str,
    step: &ChallengeStep,
    error: Option<&str>,
    status: u16,
) -> Reply {
    let form = posted.csrf.form(&posted.request.params);
    let page = match step {
        ChallengeStep::NewPassword => new_password_html(&form, session, error),
        ChallengeStep::MfaCode => mfa_code_html(&form, session, error),
        ChallengeStep::MessageCode { channel, code } => {
            message_mfa::code_page(p, &form, username, session, *channel, code, error)
        }
        ChallengeStep::MfaSetup { secret } => {
            let account = p
                .store()
                .user(username)
                .map(|u| {
                    if u.email.is_empty() {
                        u.username.clone()
                    } else {
                        u.email.clone()
                    }
                })
                .unwrap_or_default();
            let uri = mfa::otpauth_uri(&p.settings.user_pool_id, &account, secret);
            mfa_setup_html(
                &form,
                session,
                secret,
                &uri,
                mfa::qr_svg(&uri).as_deref(),
                error,
            )
        }
    };
    Reply::html(status, page)
}

/// The half-finished sign-in a posted `session` names, if it is still valid.
fn pending(p: &Provider, posted: &Posted) -> Result<(String, Challenge), Reply> {
    let session = param(&posted.form, "session").unwrap_or("").to_string();
    let now = p.now();
    let found = p.store().challenges.get(&session).cloned();
    match found {
        Some(challenge) if challenge.expires_at > now => Ok((session, challenge)),
        _ => {
            p.store().challenges.remove(&session);
            let form = posted.csrf.form(&posted.request.params);
            Err(Reply::html(
                400,
                login_html(
                    p,
                    &form,
                    "",
                    Some("Your session has expired. Please sign in again."),
                    None,
                ),
            ))
        }
    }
}

/// `POST /forceChangePassword`: the new password of a `FORCE_CHANGE_PASSWORD` user.
pub(crate) fn new_password_submit(p: &Provider, req: &Incoming) -> Reply {
    let posted = match accept_post(p, req) {
        Ok(posted) => posted,
        Err(reply) => return reply,
    };
    let (session, challenge) = match pending(p, &posted) {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    if !matches!(challenge.step, ChallengeStep::NewPassword) {
        return challenge_page(
            p,
            &posted,
            &challenge.username,
            &session,
            &challenge.step,
            None,
            400,
        );
    }
    let password = param(&posted.form, "password").unwrap_or("");
    let again = param(&posted.form, "confirmPassword").unwrap_or("");
    let problem = if password != again {
        Some("Passwords do not match.")
    } else {
        password_policy_error(password)
    };
    if let Some(problem) = problem {
        return challenge_page(
            p,
            &posted,
            &challenge.username,
            &session,
            &challenge.step,
            Some(problem),
            400,
        );
    }
    let user = {
        let mut store = p.store();
        store.challenges.remove(&session);
        store.user_mut(&challenge.username).map(|u| {
            u.set_password(password);
            u.clone()
        })
    };
    let Some(user) = user else {
        return Reply::html(400, error_html("invalid_request"));
    };
    p.persist();
    p.log(format!("sign-in: {} set a new password", user.username));
    after_first_factor(p, &posted, &user)
}

/// `POST /mfa`: a TOTP code, either the challenge of a user with an authenticator or the
/// first code of one being set up. Wrong codes count toward the lockout, as in Cognito.
pub(crate) fn mfa_submit(p: &Provider, req: &Incoming) -> Reply {
    let posted = match accept_post(p, req) {
        Ok(posted) => posted,
        Err(reply) => return reply,
    };
    let (session, challenge) = match pending(p, &posted) {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    let username = challenge.username.clone();
    if let ChallengeStep::MessageCode { code, .. } = &challenge.step {
        let code = code.clone();
        return message_mfa::submit(p, &posted, &session, &challenge, &code);
    }
    let secret = match &challenge.step {
        ChallengeStep::MfaSetup { secret } => Some(secret.clone()),
        ChallengeStep::MfaCode => p
            .store()
            .user(&username)
            .and_then(|u| u.totp_secret.clone()),
        ChallengeStep::NewPassword | ChallengeStep::MessageCode { .. } => None,
    };
    let Some(secret) = secret else {
        return challenge_page(p, &posted, &username, &session, &challenge.step, None, 400);
    };
    if is_locked_out(p, &username) {
        p.count(|s| s.locked_out_logins += 1);
        return challenge_page(
            p,
            &posted,
            &username,
            &session,
            &challenge.step,
            Some(LOCKED_MESSAGE),
            400,
        );
    }
    let code = param(&posted.form, "code").unwrap_or("");
    if !mfa::code_matches(&secret, code, p.now()) {
        record_failure(p, &username);
        p.log(format!("sign-in: wrong MFA code for {username}"));
        return challenge_page(
            p,
            &posted,
            &username,
            &session,
            &challenge.step,
            Some("Invalid code received for user"),
            400,
        );
    }
    record_success(p, &username);
    {
        let mut store = p.store();
        store.challenges.remove(&session);
        if let (ChallengeStep::MfaSetup { .. }, Some(user)) =
            (&challenge.step, store.user_mut(&username))
        {
            user.totp_secret = Some(secret.clone());
        }
    }
    if matches!(challenge.step, ChallengeStep::MfaSetup { .. }) {
        p.persist();
        p.log(format!("sign-in: {username} set up a TOTP authenticator"));
    }
    let amr = ["pwd", "otp", "mfa"].map(String::from);
    p.count(|s| s.logins += 1);
    signed_in(p, &posted.request, &username, &amr)
}

/// Whether the user is inside a lockout period now.
pub(super) fn is_locked_out(p: &Provider, username: &str) -> bool {
    let now = p.now();
    p.store()
        .lockouts
        .get(username)
        .is_some_and(|l| now < l.locked_until)
}

/// One more failed attempt: from the sixth on, a lockout of 2^(n-5) s (max about 15 min).
pub(super) fn record_failure(p: &Provider, username: &str) {
    let now = p.now();
    let mut store = p.store();
    let lockout = store.lockouts.entry(username.to_string()).or_default();
    if now - lockout.last_attempt >= QUIET_RESET_SECS {
        *lockout = Lockout::default();
    }
    lockout.failures += 1;
    lockout.last_attempt = now;
    if lockout.failures >= FREE_FAILURES {
        let exponent = (lockout.failures - FREE_FAILURES).min(20);
        lockout.locked_until = now + (1i64 << exponent).min(MAX_LOCKOUT_SECS);
    }
}

/// A successful sign-in after any lockout ends resets the count.
pub(super) fn record_success(p: &Provider, username: &str) {
    p.store().lockouts.remove(username);
}

/// The sign-in page, with a button per external identity provider.
pub(super) fn login_html(
    p: &Provider,
    form: &Form<'_>,
    username: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> String {
    let lang = form.lang();
    let t = lang.texts();
    let label = if p.store().username_attributes.is_empty() {
        t.username
    } else {
        t.email
    };
    let body = format!(
        "<h1 id=\"title\">{sign_in}</h1>\
         <p class=\"sub\">{to} <strong>{client}</strong> · {provider}</p>\
         {notice}{error}{federated}\
         <form name=\"cognitoSignInForm\" method=\"post\" action=\"{action}\" id=\"signin-form\">{hidden}\
         <label for=\"username\">{label}</label>\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required value=\"{username}\">\
         <label for=\"password\">{password}</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button id=\"signin\" name=\"signInSubmitButton\" type=\"submit\" value=\"{sign_in}\">{sign_in}</button></form>\
         {passkeys}\
         <nav class=\"links\" aria-label=\"{other_actions}\">\
         <a id=\"forgot-link\" href=\"{forgot}\">{forgot_text}</a>\
         <a id=\"signup-link\" href=\"{signup}\">{create_account}</a></nav>{demo_hint}",
        sign_in = escape(t.sign_in),
        to = escape(t.to),
        provider = escape(t.provider),
        client = escape(form.client_id()),
        notice = notice_box(notice),
        error = error_box(error),
        federated = federated_buttons(p, form),
        action = form.action("/login"),
        hidden = form.hidden_inputs(&[("cognitoAsfData", "")]),
        label = escape(label),
        username = escape(username),
        password = escape(t.password),
        passkeys = passkeys::login_page_note(lang),
        other_actions = escape(t.other_actions),
        forgot = form.link("/forgotPassword"),
        forgot_text = escape(t.forgot),
        signup = form.link("/signup"),
        create_account = escape(t.create_account),
        demo_hint = demo_accounts_hint(p),
    );
    layout_in(lang, t.sign_in, &body)
}

/// The demo accounts that still have their demo passwords, shown under the form.
fn demo_accounts_hint(p: &Provider) -> String {
    let store = p.store();
    let demo = store
        .find_sign_in(DEMO_USERNAME)
        .is_some_and(|u| u.password_matches(DEMO_PASSWORD));
    let viewer = store
        .find_sign_in(VIEWER_USERNAME)
        .is_some_and(|u| u.password_matches(VIEWER_PASSWORD));
    let mut lines = Vec::new();
    if demo {
        lines.push(format!(
            "<strong>{DEMO_USERNAME}</strong> / <strong>{DEMO_PASSWORD}</strong> (admin)"
        ));
    }
    if viewer {
        lines.push(format!(
            "<strong>{VIEWER_USERNAME}</strong> / <strong>{VIEWER_PASSWORD}</strong>"
        ));
    }
    if lines.is_empty() {
        String::new()
    } else {
        format!(
            "<aside id=\"dev-credentials\" class=\"dev\">Demo accounts: {}</aside>",
            lines.join("<br>")
        )
    }
}

/// "Continue with …": the same authorize request, straight to one external provider.
fn federated_buttons(p: &Provider, form: &Form<'_>) -> String {
    p.settings
        .identity_providers
        .iter()
        .map(|idp| {
            let mut params: Vec<(String, String)> = form
                .params
                .iter()
                .filter(|(k, _)| k != "identity_provider" && k != "idp_identifier")
                .cloned()
                .collect();
            params.push(("identity_provider".into(), idp.name.clone()));
            format!(
                "<a class=\"idp\" id=\"idp-{id}\" href=\"{href}\">Continue with {name}</a>",
                id = escape(&idp.name),
                href = escape(&format!("/oauth2/authorize?{}", encode_query(&params))),
                name = escape(&idp.name)
            )
        })
        .collect()
}

/// `NEW_PASSWORD_REQUIRED`: the first sign-in of a user an administrator created.
fn new_password_html(form: &Form<'_>, session: &str, error: Option<&str>) -> String {
    let lang = form.lang();
    let t = lang.texts();
    let body = format!(
        "<h1 id=\"title\">{title}</h1>\
         <p class=\"sub\">{sub}</p>\
         {error}\
         <form method=\"post\" action=\"{action}\" id=\"new-password-form\">{hidden}\
         <label for=\"password\">{new_password}</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required>\
         <label for=\"confirm-password\">{again}</label>\
         <input id=\"confirm-password\" name=\"confirmPassword\" type=\"password\" autocomplete=\"new-password\" required>\
         <button id=\"change\" type=\"submit\">{send}</button></form>",
        title = escape(t.new_password_title),
        sub = escape(t.new_password_sub),
        new_password = escape(t.new_password),
        again = escape(t.new_password_again),
        send = escape(t.send),
        error = error_box(error),
        action = form.action("/forceChangePassword"),
        hidden = form.hidden_inputs(&[("session", session)]),
    );
    layout_in(lang, t.new_password_title, &body)
}

/// `SOFTWARE_TOKEN_MFA`: the code from the user's authenticator app.
fn mfa_code_html(form: &Form<'_>, session: &str, error: Option<&str>) -> String {
    let lang = form.lang();
    let t = lang.texts();
    let body = format!(
        "<h1 id=\"title\">{title}</h1>\
         <p class=\"sub\">{sub}</p>\
         {error}\
         <form method=\"post\" action=\"{action}\" id=\"mfa-form\">{hidden}\
         <label for=\"code\">{code}</label>\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
         <button id=\"verify\" type=\"submit\">{sign_in}</button></form>",
        title = escape(t.mfa_title),
        sub = escape(t.totp_sub),
        code = escape(t.code),
        sign_in = escape(t.sign_in),
        error = error_box(error),
        action = form.action("/mfa"),
        hidden = form.hidden_inputs(&[("session", session)]),
    );
    layout_in(lang, t.mfa_title, &body)
}

/// `MFA_SETUP`: the QR code and the secret to add to an authenticator app, then its first code.
fn mfa_setup_html(
    form: &Form<'_>,
    session: &str,
    secret: &str,
    otpauth_uri: &str,
    qr_svg: Option<&str>,
    error: Option<&str>,
) -> String {
    let body = format!(
        "<h1 id=\"title\">Set up your authenticator app</h1>\
         <p class=\"sub\">This pool requires multi-factor authentication. Scan the code with an \
         authenticator app, or type in the secret key, then enter the code it shows.</p>\
         {error}<figure id=\"qr\">{qr}</figure>\
         <p>Secret key: <code id=\"totp-secret\">{secret}</code></p>\
         <p class=\"sub\"><code id=\"otpauth-uri\">{uri}</code></p>\
         <form method=\"post\" action=\"{action}\" id=\"mfa-setup-form\">{hidden}\
         <label for=\"code\">Code from the app</label>\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
         <button id=\"verify\" type=\"submit\">Verify and sign in</button></form>",
        error = error_box(error),
        qr = qr_svg.unwrap_or(""),
        secret = escape(secret),
        uri = escape(otpauth_uri),
        action = form.action("/mfa"),
        hidden = form.hidden_inputs(&[("session", session)]),
    );
    layout("Set up MFA", &body)
}
