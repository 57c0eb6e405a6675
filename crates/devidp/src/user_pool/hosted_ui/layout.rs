//! HTML for the hosted-UI pages: self-contained (inline CSS, no scripts, no remote assets),
//! labelled inputs and stable element ids (`#username`, `#password`, `#signin`, …) for browser tests.

use crate::config::{DEMO_PASSWORD, DEMO_USERNAME, VIEWER_PASSWORD, VIEWER_USERNAME};
use crate::http::{encode_query, Reply};
use crate::provider::Provider;

const STYLE: &str = r#"
:root { color-scheme: light dark; --accent: #2f6fde; --bg: #f3f5f9; --card: #fff; --text: #1c2330; --muted: #5b6576; --border: #d5dbe5; --err-bg: #fdecec; --err: #a11d1d; }
@media (prefers-color-scheme: dark) { :root { --bg: #12161d; --card: #1b212b; --text: #e8ecf2; --muted: #9aa5b5; --border: #323b49; --err-bg: #3a1d1f; --err: #ffb4b4; } }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center; background: var(--bg); color: var(--text); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { width: 100%; max-width: 400px; margin: 24px; padding: 32px; background: var(--card); border: 1px solid var(--border); border-radius: 12px; box-shadow: 0 6px 24px rgba(0,0,0,.08); }
h1 { margin: 0 0 4px; font-size: 22px; }
.sub { margin: 0 0 20px; color: var(--muted); font-size: 13px; }
label { display: block; margin: 14px 0 6px; font-weight: 600; font-size: 13px; }
input[type=text], input[type=email], input[type=password] { width: 100%; padding: 10px 12px; border: 1px solid var(--border); border-radius: 8px; background: transparent; color: inherit; font-size: 15px; }
input:focus, button:focus, a:focus { outline: 2px solid var(--accent); outline-offset: 2px; }
button { width: 100%; margin-top: 20px; padding: 11px; border: 0; border-radius: 8px; background: var(--accent); color: #fff; font-size: 15px; font-weight: 600; cursor: pointer; }
.links { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 8px; margin-top: 18px; font-size: 13px; }
a { color: var(--accent); }
.notice { margin: 0 0 12px; padding: 10px 12px; border-radius: 8px; border: 1px solid var(--border); font-size: 14px; }
a.idp { display: block; margin: 0 0 16px; padding: 10px; border: 1px solid var(--border); border-radius: 8px; text-align: center; text-decoration: none; font-weight: 600; }
#qr svg { display: block; margin: 8px auto; background: #fff; }
.error { margin: 0 0 12px; padding: 10px 12px; border-radius: 8px; background: var(--err-bg); color: var(--err); font-size: 14px; }
.dev { margin-top: 22px; padding: 10px 12px; border: 1px dashed var(--border); border-radius: 8px; color: var(--muted); font-size: 12px; }
.dev strong, code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; color: var(--text); }
#dev-code { font-size: 20px; letter-spacing: 3px; }
"#;

/// HTML-escapes text for element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Latchkey development provider</title><style>{STYLE}</style></head>\
         <body><main>{body}</main></body></html>\n",
        escape(title)
    )
}

/// What every hosted-UI form carries: the authorize parameters (so the sign-in can finish
/// where it started) and the CSRF token (`_csrf`, equal to the `XSRF-TOKEN` cookie).
pub(crate) struct Form<'a> {
    pub(crate) params: &'a [(String, String)],
    pub(crate) csrf: &'a str,
}

impl Form<'_> {
    fn hidden_inputs(&self, extra: &[(&str, &str)]) -> String {
        self.params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain([("_csrf", self.csrf)])
            .chain(extra.iter().copied())
            .map(|(k, v)| {
                format!(
                    "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                    escape(k),
                    escape(v)
                )
            })
            .collect()
    }

    fn link(&self, path: &str) -> String {
        escape(&format!("{path}?{}", encode_query(self.params)))
    }

    fn client_id(&self) -> &str {
        self.params
            .iter()
            .find(|(k, _)| k == "client_id")
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

fn error_box(error: Option<&str>) -> String {
    error
        .map(|e| {
            format!(
                "<p id=\"error\" class=\"error\" role=\"alert\">{}</p>",
                escape(e)
            )
        })
        .unwrap_or_default()
}

fn notice_box(notice: Option<&str>) -> String {
    notice
        .map(|n| {
            format!(
                "<p id=\"notice\" class=\"notice\" role=\"status\">{}</p>",
                escape(n)
            )
        })
        .unwrap_or_default()
}

/// The sign-in page, with a button per external identity provider.
pub(crate) fn login(
    p: &Provider,
    form: &Form<'_>,
    username: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> String {
    let demo_hint = {
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
    };
    let federated: String = p
        .settings
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
        .collect();
    let label = if p.store().username_attributes.is_empty() {
        "Username"
    } else {
        "Email"
    };
    let body = format!(
        "<h1 id=\"title\">Sign in</h1>\
         <p class=\"sub\">to <strong>{client}</strong> · Latchkey development provider</p>\
         {notice}{error}{federated}\
         <form method=\"post\" action=\"/login\" id=\"signin-form\">{hidden}\
         <label for=\"username\">{label}</label>\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required value=\"{username}\">\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button id=\"signin\" type=\"submit\">Sign in</button></form>\
         <nav class=\"links\" aria-label=\"Other actions\">\
         <a id=\"forgot-link\" href=\"{forgot}\">Forgot your password?</a>\
         <a id=\"signup-link\" href=\"{signup}\">Create an account</a></nav>{demo_hint}",
        client = escape(form.client_id()),
        notice = notice_box(notice),
        error = error_box(error),
        hidden = form.hidden_inputs(&[]),
        username = escape(username),
        forgot = form.link("/forgotPassword"),
        signup = form.link("/signup"),
    );
    layout("Sign in", &body)
}

/// The sign-up page: an e-mail address (the username is generated), or, in a pool with plain
/// usernames, a username and an e-mail address.
pub(crate) fn signup(p: &Provider, form: &Form<'_>, username: &str, error: Option<&str>) -> String {
    let plain = p.store().username_attributes.is_empty();
    let (label, kind, autocomplete) = if plain {
        ("Username", "text", "username")
    } else {
        ("Email", "email", "email")
    };
    let email_field = if plain {
        "<label for=\"email\">Email</label>\
         <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" required>"
    } else {
        ""
    };
    let body = format!(
        "<h1 id=\"title\">Create an account</h1>\
         <p class=\"sub\">Latchkey development provider · password: 8+ characters with upper and lower case, a digit and a symbol</p>\
         {error}\
         <form method=\"post\" action=\"/signup\" id=\"signup-form\">{hidden}\
         <label for=\"username\">{label}</label>\
         <input id=\"username\" name=\"username\" type=\"{kind}\" autocomplete=\"{autocomplete}\" autocapitalize=\"none\" spellcheck=\"false\" required value=\"{username}\">\
         {email_field}\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required>\
         <button id=\"signup\" type=\"submit\">Sign up</button></form>\
         <nav class=\"links\" aria-label=\"Other actions\">\
         <a id=\"signin-link\" href=\"{login}\">Already have an account? Sign in</a></nav>",
        error = error_box(error),
        hidden = form.hidden_inputs(&[]),
        username = escape(username),
        login = form.link("/login"),
    );
    layout("Sign up", &body)
}

/// The development banner that stands in for the message Cognito would have sent.
fn dev_code_banner(what: &str, code: &str) -> String {
    format!(
        "<aside class=\"dev\" aria-label=\"Development provider\">Development provider: no {what} is sent. \
         Your code is <strong id=\"dev-code\">{}</strong> (also in the provider's log).</aside>",
        escape(code)
    )
}

/// The confirmation-code step of sign-up; `code` is shown in the dev banner.
pub(crate) fn confirm(form: &Form<'_>, username: &str, code: &str, error: Option<&str>) -> String {
    let body = format!(
        "<h1 id=\"title\">Confirm your account</h1>\
         <p class=\"sub\">We would have e-mailed a code to <strong>{username}</strong>.</p>\
         {error}\
         <form method=\"post\" action=\"/confirmUser\" id=\"confirm-form\">{hidden}\
         <label for=\"code\">Verification code</label>\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
         <button id=\"confirm\" type=\"submit\">Confirm account</button></form>{banner}",
        username = escape(username),
        error = error_box(error),
        hidden = form.hidden_inputs(&[("username", username)]),
        banner = dev_code_banner("e-mail", code),
    );
    layout("Confirm account", &body)
}

/// `/forgotPassword`: who forgot their password.
pub(crate) fn forgot_password(form: &Form<'_>, username: &str, error: Option<&str>) -> String {
    let body = format!(
        "<h1 id=\"title\">Forgot your password?</h1>\
         <p class=\"sub\">Enter your e-mail address (or username) and we will send you a code to reset your password.</p>\
         {error}\
         <form method=\"post\" action=\"/forgotPassword\" id=\"forgot-form\">{hidden}\
         <label for=\"username\">Email or username</label>\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required value=\"{username}\">\
         <button id=\"reset\" type=\"submit\">Reset my password</button></form>\
         <nav class=\"links\"><a id=\"signin-link\" href=\"{login}\">Back to sign in</a></nav>",
        error = error_box(error),
        hidden = form.hidden_inputs(&[]),
        username = escape(username),
        login = form.link("/login"),
    );
    layout("Forgot password", &body)
}

/// `/confirmforgotPassword`: the code and the new password. `code` is the dev banner's.
pub(crate) fn confirm_forgot_password(
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
    let body = format!(
        "<h1 id=\"title\">Reset your password</h1>\
         <p class=\"sub\">We would have sent a code to the address of <strong>{username}</strong>.</p>\
         {error}\
         <form method=\"post\" action=\"/confirmforgotPassword\" id=\"confirm-forgot-form\">{hidden}\
         <label for=\"code\">Code</label>\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
         <label for=\"password\">New password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required>\
         <label for=\"confirm-password\">Enter new password again</label>\
         <input id=\"confirm-password\" name=\"confirmPassword\" type=\"password\" autocomplete=\"new-password\" required>\
         <button id=\"change\" type=\"submit\">Change password</button></form>{banner}",
        username = escape(username),
        error = error_box(error),
        hidden = form.hidden_inputs(&[("username", username)]),
    );
    layout("Reset password", &body)
}

/// `NEW_PASSWORD_REQUIRED`: the first sign-in of a user an administrator created.
pub(crate) fn new_password(form: &Form<'_>, session: &str, error: Option<&str>) -> String {
    let body = format!(
        "<h1 id=\"title\">Change password</h1>\
         <p class=\"sub\">Please enter a new password.</p>\
         {error}\
         <form method=\"post\" action=\"/forceChangePassword\" id=\"new-password-form\">{hidden}\
         <label for=\"password\">New password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required>\
         <label for=\"confirm-password\">Enter new password again</label>\
         <input id=\"confirm-password\" name=\"confirmPassword\" type=\"password\" autocomplete=\"new-password\" required>\
         <button id=\"change\" type=\"submit\">Send</button></form>",
        error = error_box(error),
        hidden = form.hidden_inputs(&[("session", session)]),
    );
    layout("Change password", &body)
}

/// `SOFTWARE_TOKEN_MFA`: the code from the user's authenticator app.
pub(crate) fn mfa_code(form: &Form<'_>, session: &str, error: Option<&str>) -> String {
    let body = format!(
        "<h1 id=\"title\">Multi-factor authentication</h1>\
         <p class=\"sub\">Enter the code from your authenticator app.</p>\
         {error}\
         <form method=\"post\" action=\"/mfa\" id=\"mfa-form\">{hidden}\
         <label for=\"code\">Code</label>\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
         <button id=\"verify\" type=\"submit\">Sign in</button></form>",
        error = error_box(error),
        hidden = form.hidden_inputs(&[("session", session)]),
    );
    layout("Multi-factor authentication", &body)
}

/// `MFA_SETUP`: the QR code and the secret to add to an authenticator app, then its first code.
pub(crate) fn mfa_setup(
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
         <form method=\"post\" action=\"/mfa\" id=\"mfa-setup-form\">{hidden}\
         <label for=\"code\">Code from the app</label>\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
         <button id=\"verify\" type=\"submit\">Verify and sign in</button></form>",
        error = error_box(error),
        qr = qr_svg.unwrap_or(""),
        secret = escape(secret),
        uri = escape(otpauth_uri),
        hidden = form.hidden_inputs(&[("session", session)]),
    );
    layout("Set up MFA", &body)
}

/// The stand-in for an external identity provider's sign-in page (Google's, say).
pub(crate) fn external_idp(provider: &str, form: &Form<'_>, suggested_id: &str) -> String {
    let body = format!(
        "<h1 id=\"title\">Sign in with {provider}</h1>\
         <p class=\"sub\">A stand-in for {provider}'s own page: the Latchkey development provider \
         federates with no real provider. Say who you are at {provider}; you then come back \
         through <code>/oauth2/idpresponse</code> as you would from the real one.</p>\
         <form method=\"post\" action=\"/external-idp/{provider}\" id=\"external-idp-form\">{hidden}\
         <label for=\"user-id\">{provider} user id</label>\
         <input id=\"user-id\" name=\"user_id\" type=\"text\" required value=\"{id}\">\
         <label for=\"email\">Email</label>\
         <input id=\"email\" name=\"email\" type=\"email\" required>\
         <label for=\"name\">Name</label>\
         <input id=\"name\" name=\"name\" type=\"text\">\
         <button id=\"continue\" type=\"submit\">Continue</button></form>",
        provider = escape(provider),
        hidden = form.hidden_inputs(&[]),
        id = escape(suggested_id),
    );
    layout(&format!("Sign in with {provider}"), &body)
}

/// Cognito's `/error` page.
pub(crate) fn error(error: &str) -> String {
    let hint = match error {
        "redirect_mismatch" => "The redirect URI is not registered for this app client (exact match: scheme, host, port, path).",
        "csrf" => "The form's _csrf field does not match the XSRF-TOKEN cookie: open the sign-in page again (a form posted from elsewhere is refused).",
        "invalid_request" => "The request is missing a valid client_id or another required parameter.",
        _ => "",
    };
    let body = format!(
        "<h1 id=\"title\">Error</h1>\
         <p>An error was encountered with the requested page.</p>\
         <p class=\"error\" role=\"alert\" id=\"error\"><code id=\"error-code\">{}</code> {}</p>",
        escape(error),
        escape(hint)
    );
    layout("Error", &body)
}

/// A plain message page.
pub(crate) fn message_page(title: &str, message: &str) -> String {
    layout(
        title,
        &format!(
            "<h1 id=\"title\">{}</h1><p>{}</p>",
            escape(title),
            escape(message)
        ),
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
