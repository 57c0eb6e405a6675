//! Sign-up on `/signup` and its confirmation code on `/confirm` (the code is shown on the
//! page and in the log: this provider sends no e-mail).

use super::layout::{accept_named_post, Csrf};
use super::layout::{dev_code_banner, error_box, escape, layout_in, Form};
use super::{signed_in, validate_authorize};
use crate::http::{param, Incoming, Reply};
use crate::provider::Provider;
use crate::user_pool::store::User;

/// `GET /signup`: the sign-up form.
pub(crate) fn signup_page(p: &Provider, req: &Incoming) -> Reply {
    match validate_authorize(p, &req.query) {
        Ok(request) => {
            let csrf = Csrf::for_page(req);
            csrf.html(200, signup_html(p, &csrf.form(&request.params), "", None))
        }
        Err(rejection) => rejection.reply(p),
    }
}

/// Cognito's default password policy: 8+ characters with lower, upper, digit and symbol.
pub(super) fn password_policy_error(password: &str) -> Option<&'static str> {
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

pub(super) fn looks_like_email(s: &str) -> bool {
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

pub(super) fn ensure_confirmation_code(p: &Provider, username: &str) -> String {
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
    let (posted, typed) = match accept_named_post(p, req) {
        Ok(accepted) => accepted,
        Err(refusal) => return refusal,
    };
    let (form, request) = (&posted.form, &posted.request);
    let page = posted.csrf.form(&request.params);
    let plain = p.store().username_attributes.is_empty();
    let email = if plain {
        param(form, "email").unwrap_or("").trim().to_string()
    } else {
        typed.clone()
    };
    let password = param(form, "password").unwrap_or("");
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
        return Reply::html(400, signup_html(p, &page, &typed, Some(problem)));
    }
    let user = User::signed_up(plain.then_some(typed.as_str()), &email, password);
    let username = user.username.clone();
    p.store().add_user(user);
    p.log(format!(
        "sign-up: created unconfirmed user {username} ({email})"
    ));
    let code = ensure_confirmation_code(p, &username);
    Reply::html(200, confirm_html(&page, &typed, &code, None))
}

/// `GET /confirm?username=…`: the confirmation form on its own.
pub(crate) fn confirm_page(p: &Provider, req: &Incoming) -> Reply {
    let request = match validate_authorize(p, &req.query) {
        Ok(r) => r,
        Err(rejection) => return rejection.reply(p),
    };
    let csrf = Csrf::for_page(req);
    let page = csrf.form(&request.params);
    let typed = param(&req.query, "username").unwrap_or("").to_string();
    let pending = p
        .store()
        .find_sign_in(&typed)
        .filter(|u| !u.confirmed)
        .map(|u| u.username.clone());
    let Some(username) = pending else {
        return csrf.html(
            400,
            signup_html(
                p,
                &page,
                &typed,
                Some("There is no pending sign-up for this user."),
            ),
        );
    };
    let code = ensure_confirmation_code(p, &username);
    csrf.html(200, confirm_html(&page, &typed, &code, None))
}

/// `POST /confirm` (AWS's code page; its `/confirmUser` is the e-mail-link page): checks the code, confirms the user and signs them in.
pub(crate) fn confirm_submit(p: &Provider, req: &Incoming) -> Reply {
    let (posted, typed) = match accept_named_post(p, req) {
        Ok(accepted) => accepted,
        Err(refusal) => return refusal,
    };
    let page = posted.csrf.form(&posted.request.params);
    let code = param(&posted.form, "code").unwrap_or("").trim().to_string();
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
                confirm_html(
                    &page,
                    &typed,
                    &expected,
                    Some("Invalid verification code provided, please try again."),
                ),
            ),
            None => Reply::html(
                400,
                signup_html(
                    p,
                    &page,
                    &typed,
                    Some("There is no pending sign-up for this user."),
                ),
            ),
        };
    };
    p.count(|s| s.signups += 1);
    p.log(format!("sign-up: {username_confirmed} confirmed"));
    p.persist();
    signed_in(
        p,
        &posted.request,
        &username_confirmed,
        &["pwd".to_string()],
    )
}

/// The sign-up page: an e-mail address (the username is generated), or, in a pool with plain
/// usernames, a username and an e-mail address.
fn signup_html(p: &Provider, form: &Form<'_>, username: &str, error: Option<&str>) -> String {
    let lang = form.lang();
    let t = lang.texts();
    let plain = p.store().username_attributes.is_empty();
    let (label, kind, autocomplete) = if plain {
        (t.username, "text", "username")
    } else {
        (t.email, "email", "email")
    };
    let email_field = if plain {
        format!(
            "<label for=\"email\">{}</label>\
             <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" required>",
            escape(t.email)
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1 id=\"title\">{title}</h1>\
         <p class=\"sub\">{sub}</p>\
         {error}\
         <form method=\"post\" action=\"{action}\" id=\"signup-form\">{hidden}\
         <label for=\"username\">{label}</label>\
         <input id=\"username\" name=\"username\" type=\"{kind}\" autocomplete=\"{autocomplete}\" autocapitalize=\"none\" spellcheck=\"false\" required value=\"{username}\">\
         {email_field}\
         <label for=\"password\">{password}</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required>\
         <button id=\"signup\" type=\"submit\">{sign_up}</button></form>\
         <nav class=\"links\" aria-label=\"{other_actions}\">\
         <a id=\"signin-link\" href=\"{login}\">{have_account}</a></nav>",
        title = escape(t.create_account),
        sub = escape(t.signup_sub),
        label = escape(label),
        password = escape(t.password),
        sign_up = escape(t.sign_up),
        other_actions = escape(t.other_actions),
        have_account = escape(t.have_account),
        error = error_box(error),
        action = form.action("/signup"),
        hidden = form.hidden_inputs(&[]),
        username = escape(username),
        login = form.link("/login"),
    );
    layout_in(lang, t.sign_up, &body)
}

/// The confirmation-code step of sign-up; `code` is shown in the dev banner.
pub(super) fn confirm_html(
    form: &Form<'_>,
    username: &str,
    code: &str,
    error: Option<&str>,
) -> String {
    let lang = form.lang();
    let t = lang.texts();
    let body = format!(
        "<h1 id=\"title\">{title}</h1>\
         <p class=\"sub\">{sub} <strong>{username}</strong>.</p>\
         {error}\
         <form method=\"post\" action=\"{action}\" id=\"confirm-form\">{hidden}\
         <label for=\"code\">{code_label}</label>\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
         <button id=\"confirm\" type=\"submit\">{confirm}</button></form>{banner}",
        title = escape(t.confirm_title),
        sub = escape(t.confirm_sub),
        code_label = escape(t.verification_code),
        confirm = escape(t.confirm_account),
        username = escape(username),
        error = error_box(error),
        action = form.action("/confirm"),
        hidden = form.hidden_inputs(&[("username", username)]),
        banner = dev_code_banner("e-mail", code),
    );
    layout_in(lang, t.confirm_account, &body)
}
