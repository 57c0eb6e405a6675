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

fn hidden_inputs(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(k),
                escape(v)
            )
        })
        .collect()
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

fn link(path: &str, params: &[(String, String)]) -> String {
    escape(&format!("{path}?{}", encode_query(params)))
}

/// The sign-in page.
pub(crate) fn login(
    p: &Provider,
    params: &[(String, String)],
    username: &str,
    error: Option<&str>,
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
    let client_id = params
        .iter()
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let body = format!(
        "<h1 id=\"title\">Sign in</h1>\
         <p class=\"sub\">to <strong>{client}</strong> · Latchkey development provider</p>\
         {error}\
         <form method=\"post\" action=\"/login\" id=\"signin-form\">{hidden}\
         <label for=\"username\">Email or username</label>\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required value=\"{username}\">\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button id=\"signin\" type=\"submit\">Sign in</button></form>\
         <nav class=\"links\" aria-label=\"Other actions\">\
         <a id=\"forgot-link\" href=\"{forgot}\">Forgot your password?</a>\
         <a id=\"signup-link\" href=\"{signup}\">Create an account</a></nav>{demo_hint}",
        client = escape(client_id),
        error = error_box(error),
        hidden = hidden_inputs(params),
        username = escape(username),
        forgot = link("/forgotPassword", params),
        signup = link("/signup", params),
    );
    layout("Sign in", &body)
}

/// The sign-up page: an e-mail address (the username is generated), or, in a pool with plain
/// usernames, a username and an e-mail address.
pub(crate) fn signup(
    p: &Provider,
    params: &[(String, String)],
    username: &str,
    error: Option<&str>,
) -> String {
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
        hidden = hidden_inputs(params),
        username = escape(username),
        login = link("/login", params),
    );
    layout("Sign up", &body)
}

/// The confirmation-code step of sign-up; `code` is shown in the dev banner.
pub(crate) fn confirm(
    params: &[(String, String)],
    username: &str,
    code: &str,
    error: Option<&str>,
) -> String {
    let body = format!(
        "<h1 id=\"title\">Confirm your account</h1>\
         <p class=\"sub\">We would have e-mailed a code to <strong>{username}</strong>.</p>\
         {error}\
         <form method=\"post\" action=\"/confirmUser\" id=\"confirm-form\">{hidden}\
         <input type=\"hidden\" name=\"username\" value=\"{username}\">\
         <label for=\"code\">Verification code</label>\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
         <button id=\"confirm\" type=\"submit\">Confirm account</button></form>\
         <aside class=\"dev\" aria-label=\"Development provider\">Development provider: no e-mail is sent. \
         Your code is <strong id=\"dev-code\">{code}</strong> (also in the provider's log).</aside>",
        username = escape(username),
        error = error_box(error),
        hidden = hidden_inputs(params),
        code = escape(code),
    );
    layout("Confirm account", &body)
}

/// The `/forgotPassword` stub.
pub(crate) fn forgot_password(params: &[(String, String)]) -> String {
    let back = if params.is_empty() {
        String::new()
    } else {
        format!(
            "<nav class=\"links\"><a id=\"signin-link\" href=\"{}\">Back to sign in</a></nav>",
            link("/login", params)
        )
    };
    let body = format!(
        "<h1 id=\"title\">Reset password</h1>\
         <p id=\"not-available\">Password reset is not available in the Latchkey development provider. \
         Restart it with a users file (<code>--users</code>) to change passwords.</p>{back}"
    );
    layout("Reset password", &body)
}

/// Cognito's `/error` page.
pub(crate) fn error(error: &str) -> String {
    let hint = match error {
        "redirect_mismatch" => "The redirect URI is not registered for this app client (exact match: scheme, host, port, path).",
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
