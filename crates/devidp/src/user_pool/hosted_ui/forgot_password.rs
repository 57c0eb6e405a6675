//! Forgot password: `/forgotPassword` asks who, a code is made (shown on the next page and in
//! the log, where the sign-up code is: this provider sends no e-mail), and
//! `/confirmforgotPassword` takes the code and the new password, then back to `/login`.

use super::layout as pages;
use super::sign_up::password_policy_error;
use super::{accept_post, validate_authorize, Csrf};
use crate::http::{encode_query, param, Incoming, Reply};
use crate::provider::Provider;

/// Cognito's reset codes work for an hour.
const RESET_CODE_TTL_SECS: i64 = 3600;

/// `GET /forgotPassword`: whose password.
pub(crate) fn forgot_password_page(p: &Provider, req: &Incoming) -> Reply {
    let request = match validate_authorize(p, &req.query) {
        Ok(r) => r,
        Err(rejection) => return rejection.reply(p),
    };
    let csrf = Csrf::for_page(req);
    csrf.html(
        200,
        pages::forgot_password(&csrf.form(&request.params), "", None),
    )
}

/// `POST /forgotPassword`: makes a code for the user (if there is one) and asks for it. The
/// answer does not say whether the account exists (Cognito's user-existence protection);
/// only the development banner does.
pub(crate) fn forgot_password_submit(p: &Provider, req: &Incoming) -> Reply {
    let posted = match accept_post(p, req) {
        Ok(posted) => posted,
        Err(reply) => return reply,
    };
    let page = posted.csrf.form(&posted.request.params);
    let typed = param(&posted.form, "username")
        .unwrap_or("")
        .trim()
        .to_string();
    if typed.is_empty() {
        return Reply::html(
            400,
            pages::forgot_password(&page, "", Some("Username cannot be empty.")),
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
        pages::confirm_forgot_password(&page, &typed, code.as_deref(), None),
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
        pages::confirm_forgot_password(&csrf.form(&request.params), typed, code.as_deref(), None),
    )
}

/// `POST /confirmforgotPassword`: checks the code, sets the password, and sends the browser
/// to the sign-in page with the same authorize parameters.
pub(crate) fn confirm_forgot_password_submit(p: &Provider, req: &Incoming) -> Reply {
    let posted = match accept_post(p, req) {
        Ok(posted) => posted,
        Err(reply) => return reply,
    };
    let page = posted.csrf.form(&posted.request.params);
    let typed = param(&posted.form, "username")
        .unwrap_or("")
        .trim()
        .to_string();
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
        Some((_, (expected, expires_at))) if *expires_at <= now || *expected != code => {
            Some("Invalid verification code provided, please try again.")
        }
        Some(_) if password != again => Some("Passwords do not match."),
        Some(_) => password_policy_error(password),
    };
    if let Some(problem) = problem {
        let shown = pending.as_ref().map(|(_, (c, _))| c.as_str());
        return Reply::html(
            400,
            pages::confirm_forgot_password(&page, &typed, shown, Some(problem)),
        );
    }
    let Some((username, _)) = pending else {
        return Reply::html(400, pages::error("invalid_request"));
    };
    if let Some(user) = p.store().user_mut(&username) {
        user.set_password(password);
    }
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
