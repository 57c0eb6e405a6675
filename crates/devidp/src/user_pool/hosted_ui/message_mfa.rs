//! SMS and e-mail one-time codes as the second factor (Cognito's `SMS_MFA` and `EMAIL_OTP`):
//! the code "sent" (printed in the log and on the page, as sign-up codes are), its page on `/mfa`.

use super::layout::{dev_code_banner, error_box, escape, exception_box, layout_in, Form, Posted};
use super::sign_in::LOCKED_MESSAGE;
use super::sign_in::{challenge_page, is_locked_out, record_failure, record_success};
use super::signed_in;
use crate::config::MessageMfa;
use crate::http::{constant_time_eq, param, Reply};
use crate::provider::Provider;
use crate::user_pool::store::{Challenge, ChallengeStep, OneTimeCode, User};

/// Cognito's exception for a wrong code, named on the page (`data-exception`).
const CODE_MISMATCH: &str = "CodeMismatchException";

/// A fresh code for `user`, "sent" by `channel`: printed in the log on purpose (this provider
/// sends no text message or e-mail), never anywhere else but the page.
pub(super) fn new_step(p: &Provider, user: &User, channel: MessageMfa) -> ChallengeStep {
    let code = OneTimeCode::random();
    p.log(format!(
        "sign-in: {} MFA code for {} is {}",
        channel_name(channel),
        user.username,
        code.0
    ));
    ChallengeStep::MessageCode { channel, code }
}

/// The challenge's name in Cognito's API.
pub(super) fn challenge_name(channel: MessageMfa) -> &'static str {
    match channel {
        MessageMfa::Sms => "SMS_MFA",
        MessageMfa::Email => "EMAIL_OTP",
    }
}

fn channel_name(channel: MessageMfa) -> &'static str {
    match channel {
        MessageMfa::Sms => "SMS",
        MessageMfa::Email => "e-mail",
    }
}

/// The `amr` of a sign-in finished with this code. RFC 8176 registers `sms`; it has no value
/// for e-mail and lets other values be used, so an e-mail code says `email`.
fn amr(channel: MessageMfa) -> [String; 3] {
    let second = match channel {
        MessageMfa::Sms => "sms",
        MessageMfa::Email => "email",
    };
    ["pwd", second, "mfa"].map(String::from)
}

/// `POST /mfa` for a message code: refused under a lockout, a wrong code counts toward it and
/// gets `CodeMismatchException`'s message; the right one signs the user in.
pub(super) fn submit(
    p: &Provider,
    posted: &Posted,
    session: &str,
    challenge: &Challenge,
    expected: &OneTimeCode,
) -> Reply {
    let username = challenge.username.as_str();
    if is_locked_out(p, username) {
        p.count(|s| s.locked_out_logins += 1);
        let step = &challenge.step;
        return challenge_page(
            p,
            posted,
            username,
            session,
            step,
            Some(LOCKED_MESSAGE),
            400,
        );
    }
    let ChallengeStep::MessageCode { channel, .. } = challenge.step else {
        return challenge_page(p, posted, username, session, &challenge.step, None, 400);
    };
    let typed = param(&posted.form, "code").unwrap_or("").trim();
    if !constant_time_eq(typed.as_bytes(), expected.0.as_bytes()) {
        record_failure(p, username);
        p.log(format!(
            "sign-in: wrong {} MFA code for {username}",
            channel_name(channel)
        ));
        let form = posted.csrf.form(&posted.request.params);
        let t = form.lang().texts();
        let error = exception_box(CODE_MISMATCH, t.invalid_code);
        let page = code_html(p, &form, username, session, channel, expected, &error);
        return Reply::html(400, page);
    }
    record_success(p, username);
    p.store().challenges.remove(session);
    p.count(|s| s.logins += 1);
    signed_in(p, &posted.request, username, &amr(channel))
}

/// The code page of a pending challenge, with an optional plain error.
pub(super) fn code_page(
    p: &Provider,
    form: &Form<'_>,
    username: &str,
    session: &str,
    channel: MessageMfa,
    code: &OneTimeCode,
    error: Option<&str>,
) -> String {
    code_html(p, form, username, session, channel, code, &error_box(error))
}

/// Cognito's classic `/mfa` page: where the code went (masked), the code field, and the
/// development banner with the code.
fn code_html(
    p: &Provider,
    form: &Form<'_>,
    username: &str,
    session: &str,
    channel: MessageMfa,
    code: &OneTimeCode,
    error: &str,
) -> String {
    let lang = form.lang();
    let t = lang.texts();
    let destination = destination(p, username, channel);
    let body = format!(
        "<h1 id=\"title\">{title}</h1>\
         <p class=\"sub\" id=\"code-sent\" data-channel=\"{channel}\">{sent} <span id=\"destination\">{destination}</span>. {end}</p>\
         {error}\
         <form method=\"post\" action=\"{action}\" id=\"mfa-form\">{hidden}\
         <label for=\"code\">{code_label}</label>\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
         <button id=\"verify\" type=\"submit\">{sign_in}</button></form>{banner}",
        title = escape(t.mfa_title),
        channel = challenge_name(channel),
        sent = escape(t.code_sent(channel)),
        destination = escape(&destination),
        end = escape(t.code_sent_end),
        action = form.action("/mfa"),
        hidden = form.hidden_inputs(&[("session", session)]),
        code_label = escape(t.code),
        sign_in = escape(t.sign_in),
        banner = dev_code_banner(banner_word(channel), &code.0),
    );
    layout_in(lang, t.mfa_title, &body)
}

/// What the development banner says is not sent.
fn banner_word(channel: MessageMfa) -> &'static str {
    match channel {
        MessageMfa::Sms => "text message",
        MessageMfa::Email => "e-mail",
    }
}

/// Where the code went, masked as Cognito's `CodeDeliveryDetails.Destination` is
/// (`+*******0100`, `d***@l***`).
fn destination(p: &Provider, username: &str, channel: MessageMfa) -> String {
    let store = p.store();
    let Some(user) = store.user(username) else {
        return String::new();
    };
    match channel {
        MessageMfa::Sms => {
            let phone = user
                .attributes
                .get("phone_number")
                .cloned()
                .unwrap_or_default();
            let digits = phone.chars().count();
            let shown: String = phone.chars().skip(digits.saturating_sub(4)).collect();
            format!("+{}{shown}", "*".repeat(digits.saturating_sub(5)))
        }
        MessageMfa::Email => {
            let (local, domain) = user.email.split_once('@').unwrap_or((&user.email, ""));
            let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
            format!("{}***@{}***", first(local), first(domain))
        }
    }
}
