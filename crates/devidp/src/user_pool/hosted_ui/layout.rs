//! What every hosted-UI page and form shares: the frame (inline CSS, no scripts, no remote
//! assets), escaping, the carried authorize parameters, the CSRF token, and the accepted POST.

use super::lang::Lang;
use super::{validate_authorize, AuthorizeRequest};
use crate::http::{constant_time_eq, encode_query, param, Incoming, Reply};
use crate::provider::Provider;

/// The hosted UI's anti-forgery cookie; every form echoes it in `_csrf` (Cognito's names:
/// aws-amplify/amplify-js#6236 shows a scripted login sending both).
const CSRF_COOKIE: &str = "XSRF-TOKEN";
const CSRF_FIELD: &str = "_csrf";

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
pub(super) fn escape(text: &str) -> String {
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

pub(super) fn layout(title: &str, body: &str) -> String {
    layout_in(Lang::English, title, body)
}

/// The frame of a page written in `lang` (its `<html lang>` and title suffix).
pub(super) fn layout_in(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{code}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · {provider}</title><style>{STYLE}</style></head>\
         <body><main>{body}</main></body></html>\n",
        code = lang.code(),
        title = escape(title),
        provider = lang.texts().provider,
    )
}

/// What every hosted-UI form carries, in Cognito's form protocol: the authorize parameters in
/// the query of the form's `action` (`/login?client_id=…&state=…`, so the sign-in finishes
/// where it started) and, in the body, the CSRF token (`_csrf`, equal to the `XSRF-TOKEN`
/// cookie) beside the page's own fields (fixtures/hosted_ui_form.json).
pub(super) struct Form<'a> {
    pub(super) params: &'a [(String, String)],
    pub(super) csrf: &'a str,
}

impl Form<'_> {
    /// The body's hidden fields: `_csrf` and the page's `extra` ones, never the authorize
    /// parameters (those travel in the action's query).
    pub(super) fn hidden_inputs(&self, extra: &[(&str, &str)]) -> String {
        [(CSRF_FIELD, self.csrf)]
            .into_iter()
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

    /// The form's `action`: `path` with the authorize parameters as its query.
    pub(super) fn action(&self, path: &str) -> String {
        self.link(path)
    }

    pub(super) fn link(&self, path: &str) -> String {
        escape(&format!("{path}?{}", encode_query(self.params)))
    }

    /// The page language the carried `lang` parameter chooses.
    pub(super) fn lang(&self) -> Lang {
        Lang::of(self.params)
    }

    pub(super) fn client_id(&self) -> &str {
        self.params
            .iter()
            .find(|(k, _)| k == "client_id")
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

pub(super) fn error_box(error: Option<&str>) -> String {
    error
        .map(|e| {
            format!(
                "<p id=\"error\" class=\"error\" role=\"alert\">{}</p>",
                escape(e)
            )
        })
        .unwrap_or_default()
}

/// An error box that also names Cognito's exception (`data-exception`), for what AWS reports
/// with one (e.g. `CodeMismatchException` for a wrong MFA code).
pub(super) fn exception_box(exception: &str, message: &str) -> String {
    format!(
        "<p id=\"error\" class=\"error\" role=\"alert\" data-exception=\"{}\">{}</p>",
        escape(exception),
        escape(message)
    )
}

pub(super) fn notice_box(notice: Option<&str>) -> String {
    notice
        .map(|n| {
            format!(
                "<p id=\"notice\" class=\"notice\" role=\"status\">{}</p>",
                escape(n)
            )
        })
        .unwrap_or_default()
}

/// The development banner that stands in for the message Cognito would have sent.
pub(super) fn dev_code_banner(what: &str, code: &str) -> String {
    format!(
        "<aside class=\"dev\" aria-label=\"Development provider\">Development provider: no {what} is sent. \
         Your code is <strong id=\"dev-code\">{}</strong> (also in the provider's log).</aside>",
        escape(code)
    )
}

/// Cognito's `/error` page.
pub(super) fn error_html(error: &str) -> String {
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
pub(super) fn message_page(title: &str, message: &str) -> String {
    layout(
        title,
        &format!(
            "<h1 id=\"title\">{}</h1><p>{}</p>",
            escape(title),
            escape(message)
        ),
    )
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
    pub(super) fn form<'a>(&'a self, params: &'a [(String, String)]) -> Form<'a> {
        Form {
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
/// the `XSRF-TOKEN` cookie, and a still-valid authorization request in the URL's query (as
/// Cognito's forms post back to `/login?<the authorize query>`; the body's other fields, such
/// as `cognitoAsfData` and `signInSubmitButton`, are ignored).
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
        return Err(Reply::html(403, error_html("csrf")));
    }
    let request = validate_authorize(p, &req.query).map_err(|r| r.reply(p))?;
    Ok(Posted {
        form,
        request,
        csrf: Csrf {
            token: cookie,
            fresh: false,
        },
    })
}

/// The opening of every hosted-UI form that names a user: [`accept_post`], then the username
/// as the person typed it (trimmed; empty when the field is missing).
pub(super) fn accept_named_post(p: &Provider, req: &Incoming) -> Result<(Posted, String), Reply> {
    let posted = accept_post(p, req)?;
    let typed = param(&posted.form, "username")
        .unwrap_or("")
        .trim()
        .to_string();
    Ok((posted, typed))
}

fn form_or_bad_request(req: &Incoming) -> Result<Vec<(String, String)>, Reply> {
    req.form().ok_or_else(|| {
        Reply::html(
            400,
            message_page(
                "Bad request",
                "This form must be posted as application/x-www-form-urlencoded.",
            ),
        )
    })
}
