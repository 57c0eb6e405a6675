//! Forgot password: `/forgotPassword` asks who, a code is made (shown on the next page and in
//! the log, where the sign-up code is: this provider sends no e-mail), and
//! `/confirmforgotPassword` takes the code and the new password, then back to `/login`.

use super::layout::{accept_named_post, Csrf};
use super::layout::{dev_code_banner, error_box, error_html, escape, layout_in, Form};
use super::sign_up::password_policy_error;
use super::validate_authorize;
use crate::http::{encode_query, param, Incoming, Reply};
use crate::provider::Provider;

/// Cognito's reset codes work for an hour.
const RESET_CODE_TTL_SECS: i64 = 3600;
/// Wrong codes allowed before Cognito answers LimitExceededException "Attempt limit exceeded,
/// please try after some time." (five: aws-amplify/amplify-ui-android#180; the message:
/// aws-amplify/amplify-js#8013).
const FREE_CODE_ATTEMPTS: u32 = 5;
/// How long the limit holds: AWS does not publish it (amazon-cognito-identity-js#548);
/// devidp uses a quarter of an hour, like its sign-in lockout's ceiling (UNCONFIRMED).
const CODE_LIMIT_SECS: i64 = 900;
const CODE_LIMIT_MESSAGE: &str = "Attempt limit exceeded, please try after some time.";

/// `GET /forgotPassword`: whose password.
pub(crate) fn forgot_password_page(p: &Provider, req: &Incoming) -> Reply {
    let request = match validate_authorize(p, &req.query) {
        Ok(r) => r,
        Err(rejection) => return rejection.reply(p),
    };
    let csrf = Csrf::for_page(req);
    csrf.html(
        200,
        forgot_password_html(&csrf.form(&request.params), "", None),
    )
}

/// `POST /forgotPassword`: makes a code for the user (if there is one) and asks for it. The
/// answer does not say whether the account exists (Cognito's user-existence protection);
/// only the development banner does.
pub(crate) fn forgot_password_submit(p: &Provider, req: &Incoming) -> Reply {
    let (posted, typed) = match accept_named_post(p, req) {
        Ok(accepted) => accepted,
        Err(refusal) => return refusal,
    };
    let page = posted.csrf.form(&posted.request.params);
    if typed.is_empty() {
        return Reply::html(
            400,
            forgot_password_html(&page, "", Some("Username cannot be empty.")),
        );
    }
    let code = {
        use rand::Rng;
        let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
        let expires_at = p.now() + RESET_CODE_TTL_SECS;
        let mut store = p.store();
        let username = store.username_of(&typed);
        let user = username
            .and_then(|u| store.user_mut(&u))
            .filter(|u| u.confirmed);
        user.map(|user| {
            user.reset_code = Some((code.clone(), expires_at));
            code
        })
    };
    match &code {
        // Printed on purpose, like the sign-up code.
        Some(code) => p.log(format!("forgot password: reset code for {typed} is {code}")),
        None => p.log(format!(
            "forgot password: no confirmed user {typed:?}, no code"
        )),
    }
    Reply::html(
        200,
        confirm_forgot_password_html(&page, &typed, code.as_deref(), None),
    )
}

/// `GET /confirmforgotPassword?username=…`: the code form on its own (no new code).
pub(crate) fn confirm_forgot_password_page(p: &Provider, req: &Incoming) -> Reply {
    let request = match validate_authorize(p, &req.query) {
        Ok(r) => r,
        Err(rejection) => return rejection.reply(p),
    };
    let csrf = Csrf::for_page(req);
    let typed = param(&req.query, "username").unwrap_or("");
    let code = p
        .store()
        .find_sign_in(typed)
        .and_then(|u| u.reset_code.clone())
        .map(|(code, _)| code);
    csrf.html(
        200,
        confirm_forgot_password_html(&csrf.form(&request.params), typed, code.as_deref(), None),
    )
}

/// `POST /confirmforgotPassword`: checks the code, sets the password, and sends the browser
/// to the sign-in page with the same authorize parameters.
pub(crate) fn confirm_forgot_password_submit(p: &Provider, req: &Incoming) -> Reply {
    let (posted, typed) = match accept_named_post(p, req) {
        Ok(accepted) => accepted,
        Err(refusal) => return refusal,
    };
    let page = posted.csrf.form(&posted.request.params);
    let code = param(&posted.form, "code").unwrap_or("").trim().to_string();
    let password = param(&posted.form, "password").unwrap_or("");
    let again = param(&posted.form, "confirmPassword").unwrap_or("");
    let now = p.now();
    let pending = p
        .store()
        .find_sign_in(&typed)
        .and_then(|u| u.reset_code.clone().map(|c| (u.username.clone(), c)));
    let problem = match &pending {
        None => Some("Invalid code provided, please request a code again."),
        Some((username, _)) if code_attempts_exceeded(p, username) => {
            p.count(|s| s.code_attempts_exceeded += 1);
            p.log(format!(
                "forgot password: {username}: attempt limit exceeded"
            ));
            Some(CODE_LIMIT_MESSAGE)
        }
        Some((username, (expected, expires_at))) if *expires_at <= now || *expected != code => {
            record_wrong_code(p, username);
            Some("Invalid verification code provided, please try again.")
        }
        Some(_) if password != again => Some("Passwords do not match."),
        Some(_) => password_policy_error(password),
    };
    if let Some(problem) = problem {
        let shown = pending.as_ref().map(|(_, (c, _))| c.as_str());
        return Reply::html(
            400,
            confirm_forgot_password_html(&page, &typed, shown, Some(problem)),
        );
    }
    let Some((username, _)) = pending else {
        return Reply::html(400, error_html("invalid_request"));
    };
    if let Some(user) = p.store().user_mut(&username) {
        user.set_password(password);
    }
    p.store().code_attempts.remove(&username);
    // A new password also ends a lockout, as an administrator's reset would.
    p.store().lockouts.remove(&username);
    p.persist();
    p.log(format!("forgot password: {username} set a new password"));
    Reply::redirect(&format!(
        "{}/login?{}",
        p.settings.base_url,
        encode_query(&posted.request.params)
    ))
}

/// Whether the user's wrong reset codes have used up the attempts for now.
fn code_attempts_exceeded(p: &Provider, username: &str) -> bool {
    let now = p.now();
    p.store()
        .code_attempts
        .get(username)
        .is_some_and(|a| now < a.locked_until)
}

/// One more wrong reset code; the fifth starts the limit.
fn record_wrong_code(p: &Provider, username: &str) {
    let now = p.now();
    let mut store = p.store();
    let attempts = store.code_attempts.entry(username.to_string()).or_default();
    if attempts.locked_until != 0 && now >= attempts.locked_until {
        *attempts = Default::default();
    }
    attempts.failures += 1;
    attempts.last_attempt = now;
    if attempts.failures >= FREE_CODE_ATTEMPTS {
        attempts.locked_until = now + CODE_LIMIT_SECS;
    }
}

/// `/forgotPassword`: who forgot their password.
fn forgot_password_html(form: &Form<'_>, username: &str, error: Option<&str>) -> String {
    let lang = form.lang();
    let t = lang.texts();
    let body = format!(
        "<h1 id=\"title\">{title}</h1>\
         <p class=\"sub\">{sub}</p>\
         {error}\
         <form method=\"post\" action=\"{action}\" id=\"forgot-form\">{hidden}\
         <label for=\"username\">{label}</label>\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required value=\"{username}\">\
         <button id=\"reset\" type=\"submit\">{reset}</button></form>\
         <nav class=\"links\"><a id=\"signin-link\" href=\"{login}\">{back}</a></nav>",
        title = escape(t.forgot),
        sub = escape(t.forgot_sub),
        label = escape(t.email_or_username),
        reset = escape(t.reset_my_password),
        back = escape(t.back_to_sign_in),
        error = error_box(error),
        action = form.action("/forgotPassword"),
        hidden = form.hidden_inputs(&[]),
        username = escape(username),
        login = form.link("/login"),
    );
    layout_in(lang, t.forgot_page, &body)
}

/// `/confirmforgotPassword`: the code and the new password. `code` is the dev banner's.
fn confirm_forgot_password_html(
    form: &Form<'_>,
    username: &str,
    code: Option<&str>,
    error: Option<&str>,
) -> String {
    let banner = match code {
        Some(code) => dev_code_banner("e-mail", code),
        None => "<aside class=\"dev\" aria-label=\"Development provider\">Development provider: \
                 no account has this name, so no code was made (Cognito would not tell you).</aside>"
            .to_string(),
    };
    let lang = form.lang();
    let t = lang.texts();
    let body = format!(
        "<h1 id=\"title\">{title}</h1>\
         <p class=\"sub\">{sub} <strong>{username}</strong>.</p>\
         {error}\
         <form method=\"post\" action=\"{action}\" id=\"confirm-forgot-form\">{hidden}\
         <label for=\"code\">{code_label}</label>\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
         <label for=\"password\">{new_password}</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required>\
         <label for=\"confirm-password\">{again}</label>\
         <input id=\"confirm-password\" name=\"confirmPassword\" type=\"password\" autocomplete=\"new-password\" required>\
         <button id=\"change\" type=\"submit\">{change}</button></form>{banner}",
        title = escape(t.reset_title),
        sub = escape(t.reset_sub),
        code_label = escape(t.code),
        new_password = escape(t.new_password),
        again = escape(t.new_password_again),
        change = escape(t.new_password_title),
        username = escape(username),
        error = error_box(error),
        action = form.action("/confirmforgotPassword"),
        hidden = form.hidden_inputs(&[("username", username)]),
    );
    layout_in(lang, t.reset_page, &body)
}
