//! The loopback HTTP servers: worker threads pull requests from tiny_http and route them by
//! origin: the pool domain (hosted UI, OAuth, demo API, control) or `cognito-idp` (keys, JSON API).

use std::io::{Read, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::demo_apis::{
    http as demo_http_api, iam as demo_iam_api, rest as demo_rest_api,
    rest_jwt as demo_rest_jwt_api,
};
use crate::http::{Incoming, Reply};
use crate::provider::Provider;
use crate::user_pool::{hosted_ui, json_api, keys, oauth};
use crate::{control, identity_pool};

const MAX_BODY: u64 = 1024 * 1024;

/// Which of the two origins a listener serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The user pool's domain: hosted UI, `/oauth2/*`, `/logout`, demo API, control endpoint.
    HostedUi,
    /// `cognito-idp.{region}.amazonaws.com`: discovery, JWKS, the JSON API.
    CognitoIdp,
    /// `cognito-identity.{region}.amazonaws.com` (and STS): the identity pool.
    CognitoIdentity,
}

impl Origin {
    fn workers(self) -> usize {
        match self {
            Origin::HostedUi => 6,
            Origin::CognitoIdp => 3,
            Origin::CognitoIdentity => 2,
        }
    }
}

pub(crate) fn spawn_workers(
    server: Arc<tiny_http::Server>,
    provider: Arc<Provider>,
    origin: Origin,
) -> Vec<JoinHandle<()>> {
    (0..origin.workers())
        .map(|i| {
            let server = Arc::clone(&server);
            let provider = Arc::clone(&provider);
            std::thread::Builder::new()
                .name(format!("devidp-{origin:?}-{i}"))
                .spawn(move || worker(&server, &provider, origin))
                .expect("spawn devidp worker thread")
        })
        .collect()
}

fn worker(server: &tiny_http::Server, provider: &Provider, origin: Origin) {
    while !provider.stopping.load(Ordering::SeqCst) {
        match server.recv_timeout(Duration::from_millis(50)) {
            Ok(Some(request)) => serve(provider, request, origin),
            Ok(None) => {}
            Err(_) => break,
        }
    }
}

fn serve(provider: &Provider, mut request: tiny_http::Request, origin: Origin) {
    let headers = request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_string(),
                h.value.as_str().to_string(),
            )
        })
        .collect();
    let mut body = Vec::new();
    let read = request.as_reader().take(MAX_BODY).read_to_end(&mut body);
    let incoming = Incoming::new(request.method().as_str(), request.url(), headers, body);
    let reply = if read.is_err() {
        Reply::oauth_error(400, "invalid_request", "could not read the request body")
    } else {
        route(provider, &incoming, origin)
    };
    let head = *request.method() == tiny_http::Method::Head;
    write_reply(request.into_writer(), &reply, head);
}

/// Answers requests still queued when the provider stops (503), so none is left hanging.
pub(crate) fn refuse_pending(server: &tiny_http::Server) {
    while let Ok(Some(request)) = server.try_recv() {
        let reply = Reply::json(
            503,
            &serde_json::json!({"message": "the provider is stopping"}),
        );
        write_reply(request.into_writer(), &reply, false);
    }
}

/// Writes the response by hand so it can say `Connection: close`: no client keeps a pooled
/// connection that would outlive this provider (tiny_http keeps serving open connections
/// after the server is dropped, and their requests would hang).
fn write_reply(mut writer: Box<dyn Write + Send>, reply: &Reply, head: bool) {
    let clean = |text: &str| text.replace(['\r', '\n'], " ");
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nConnection: close\r\nContent-Length: {}\r\n\
         Date: {}\r\n",
        reply.status,
        reason_phrase(reply.status),
        reply.body.len(),
        httpdate::fmt_http_date(std::time::SystemTime::now())
    );
    for (name, value) in &reply.headers {
        out.push_str(&format!("{}: {}\r\n", clean(name), clean(value)));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !head {
        bytes.extend_from_slice(&reply.body);
    }
    let _ = writer.write_all(&bytes);
    let _ = writer.flush();
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

/// Dispatches one request by origin, method and path. Everything of the user pool carries
/// `Access-Control-Allow-Origin: *`, as every Cognito managed-login answer does; the demo
/// APIs only with their CORS setting, as API Gateway; the control endpoint never.
pub(crate) fn route(p: &Provider, req: &Incoming, origin: Origin) -> Reply {
    if origin == Origin::CognitoIdentity {
        return identity_pool::route(p, req);
    }
    if origin == Origin::CognitoIdp {
        return cognito_idp_route(p, req).header("Access-Control-Allow-Origin", "*");
    }
    let path = req.path.as_str();
    if let Some(rest) = path.strip_prefix("/_devidp/") {
        return control::handle(p, req, rest);
    }
    if path == "/_devidp" {
        return control::handle(p, req, "");
    }
    if DEMO_API_PREFIXES
        .iter()
        .any(|prefix| path.starts_with(prefix))
    {
        return demo_api_route(p, req);
    }
    public_route(p, req).header("Access-Control-Allow-Origin", "*")
}

const DEMO_API_PREFIXES: [&str; 4] = [
    "/demo-api/",
    "/demo-aws-api/",
    "/demo-http-api/",
    "/demo-rest-jwt-api/",
];

/// The demo APIs, with CORS only when it is configured (`DemoApiConfig::cors`): without it a
/// preflight is one more request the API refuses, as API Gateway's are.
fn demo_api_route(p: &Provider, req: &Incoming) -> Reply {
    let cors = p.settings.demo_api.cors;
    if cors && req.method == "OPTIONS" {
        return preflight().header("Access-Control-Allow-Origin", "*");
    }
    let path = req.path.as_str();
    let reply = if let Some(rest) = path.strip_prefix("/demo-api/") {
        demo_rest_api::handle(p, req, rest)
    } else if let Some(rest) = path.strip_prefix("/demo-aws-api/") {
        demo_iam_api::handle(p, req, rest)
    } else if let Some(rest) = path.strip_prefix("/demo-rest-jwt-api/") {
        demo_rest_jwt_api::handle(p, req, rest)
    } else {
        let rest = path.strip_prefix("/demo-http-api/").unwrap_or_default();
        demo_http_api::handle(p, req, rest)
    };
    if cors {
        reply.header("Access-Control-Allow-Origin", "*")
    } else {
        reply
    }
}

fn preflight() -> Reply {
    Reply::new(204)
        .header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
        .header(
            "Access-Control-Allow-Headers",
            "Authorization, Content-Type, X-Amz-Target, X-Amz-User-Agent",
        )
        .header("Access-Control-Max-Age", "600")
}

/// The `cognito-idp` origin: `/{pool}/.well-known/*` and the JSON API (`POST /`).
fn cognito_idp_route(p: &Provider, req: &Incoming) -> Reply {
    let method = req.method.as_str();
    if method == "OPTIONS" {
        return preflight();
    }
    let pool_prefix = format!("/{}/.well-known/", p.settings.user_pool_id);
    if let Some(doc) = req.path.strip_prefix(&pool_prefix) {
        return match (method, doc) {
            ("GET" | "HEAD", "openid-configuration") => oauth::discovery(p),
            ("GET" | "HEAD", "jwks.json") => keys::jwks(p),
            _ => not_found(),
        };
    }
    match (method, req.path.as_str()) {
        ("POST", "/") => json_api::handle(p, req),
        _ => not_found(),
    }
}

/// The pool domain: hosted UI, OAuth endpoints and the demo API.
fn public_route(p: &Provider, req: &Incoming) -> Reply {
    let method = req.method.as_str();
    let path = req.path.as_str();
    if method == "OPTIONS" {
        return preflight();
    }
    if let Some(provider) = path.strip_prefix("/external-idp/") {
        return match method {
            "GET" | "HEAD" => hosted_ui::external_idp_page(p, req, provider),
            "POST" => hosted_ui::external_idp_submit(p, req, provider),
            _ => not_found(),
        };
    }
    if hosted_ui::is_passkey_path(path) {
        return hosted_ui::passkeys_page(p, req);
    }
    match (method, path) {
        ("GET" | "HEAD", "/") => hosted_ui::index(p),
        ("GET" | "HEAD", "/oauth2/authorize") => hosted_ui::authorize(p, req),
        ("GET" | "HEAD", "/login") => hosted_ui::login_page(p, req),
        ("POST", "/login") => hosted_ui::login_submit(p, req),
        ("GET" | "HEAD", "/signup") => hosted_ui::signup_page(p, req),
        ("POST", "/signup") => hosted_ui::signup_submit(p, req),
        ("GET" | "HEAD", "/confirm") => hosted_ui::confirm_page(p, req),
        ("POST", "/confirm") => hosted_ui::confirm_submit(p, req),
        ("GET" | "HEAD", "/forgotPassword") => hosted_ui::forgot_password_page(p, req),
        ("POST", "/forgotPassword") => hosted_ui::forgot_password_submit(p, req),
        ("GET" | "HEAD", "/confirmforgotPassword") => {
            hosted_ui::confirm_forgot_password_page(p, req)
        }
        ("POST", "/confirmforgotPassword") => hosted_ui::confirm_forgot_password_submit(p, req),
        ("POST", "/forceChangePassword") => hosted_ui::new_password_submit(p, req),
        ("POST", "/mfa") => hosted_ui::mfa_submit(p, req),
        ("GET" | "HEAD", "/oauth2/idpresponse") => hosted_ui::idp_response(p, req),
        ("GET" | "HEAD", "/error") => hosted_ui::error_page(req),
        ("GET" | "HEAD", "/logout") => hosted_ui::logout(p, req),
        ("POST", "/oauth2/token") => oauth::token(p, req),
        (_, "/oauth2/token") => oauth::method_not_allowed(p, "token"),
        ("GET" | "POST", "/oauth2/userInfo") => oauth::userinfo(p, req),
        ("POST", "/oauth2/revoke") => oauth::revoke(p, req),
        (_, "/oauth2/revoke") => oauth::method_not_allowed(p, "revoke"),
        _ => not_found(),
    }
}

fn not_found() -> Reply {
    Reply::json(404, &serde_json::json!({"message": "Not Found"}))
}
