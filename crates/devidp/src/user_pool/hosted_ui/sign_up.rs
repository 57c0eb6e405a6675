//! Sign-up on `/signup` and its confirmation code on `/confirmUser` (the code is shown on the
//! page and in the log: this provider sends no e-mail).

use super::layout as pages;
use super::{accept_post, signed_in, validate_authorize, Csrf};
use crate::http::{param, Incoming, Reply};
use crate::provider::Provider;
use crate::user_pool::store::User;

/// `GET /signup`: the sign-up form.
pub(crate) fn signup_page(p: &Provider, req: &Incoming) -> Reply {
    match validate_authorize(p, &req.query) {
        Ok(request) => {
            let csrf = Csrf::for_page(req);
            csrf.html(200, pages::signup(p, &csrf.form(&request.params), "", None))
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
    let posted = match accept_post(p, req) {
        Ok(posted) => posted,
        Err(reply) => return reply,
    };
    let (form, request) = (&posted.form, &posted.request);
    let page = posted.csrf.form(&request.params);
    let plain = p.store().username_attributes.is_empty();
    let typed = param(form, "username").unwrap_or("").trim().to_string();
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
        return Reply::html(400, pages::signup(p, &page, &typed, Some(problem)));
    }
    let user = User::signed_up(plain.then_some(typed.as_str()), &email, password);
    let username = user.username.clone();
    p.store().add_user(user);
    p.log(format!(
        "sign-up: created unconfirmed user {username} ({email})"
    ));
    let code = ensure_confirmation_code(p, &username);
    Reply::html(200, pages::confirm(&page, &typed, &code, None))
}

/// `GET /confirmUser?username=…`: the confirmation form on its own.
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
            pages::signup(
                p,
                &page,
                &typed,
                Some("There is no pending sign-up for this user."),
            ),
        );
    };
    let code = ensure_confirmation_code(p, &username);
    csrf.html(200, pages::confirm(&page, &typed, &code, None))
}

/// `POST /confirmUser`: checks the code, confirms the user and signs them in.
pub(crate) fn confirm_submit(p: &Provider, req: &Incoming) -> Reply {
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
                    &page,
                    &typed,
                    &expected,
                    Some("Invalid verification code provided, please try again."),
                ),
            ),
            None => Reply::html(
                400,
                pages::signup(
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
