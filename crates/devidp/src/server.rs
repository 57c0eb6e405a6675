//! The loopback HTTP server: worker threads pull requests from tiny_http and route them
//! to the hosted UI, OAuth endpoints, demo API and control endpoint.

use std::io::{Read, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::http::{Incoming, Reply};
use crate::provider::Provider;
use crate::{control, demo_api, demo_aws_api, hosted_ui, oauth, pages};

const WORKERS: usize = 8;
const MAX_BODY: u64 = 1024 * 1024;

/// Answers one request on an origin.
pub(crate) type Router = fn(&Provider, &Incoming) -> Reply;

/// `count` worker threads named `{name}-{i}` that serve `server` with `router`.
pub(crate) fn spawn_workers(
    server: Arc<tiny_http::Server>,
    provider: Arc<Provider>,
    name: &str,
    count: usize,
    router: Router,
) -> Vec<JoinHandle<()>> {
    (0..count)
        .map(|i| {
            let server = Arc::clone(&server);
            let provider = Arc::clone(&provider);
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || worker(&server, &provider, router))
                .expect("spawn devidp worker thread")
        })
        .collect()
}

/// The main origin's workers: hosted UI, OAuth endpoints, demo APIs, control endpoint.
pub(crate) fn spawn_main_workers(
    server: Arc<tiny_http::Server>,
    provider: Arc<Provider>,
) -> Vec<JoinHandle<()>> {
    spawn_workers(server, provider, "devidp-worker", WORKERS, route)
}

fn worker(server: &tiny_http::Server, provider: &Provider, router: Router) {
    while !provider.stopping.load(Ordering::SeqCst) {
        match server.recv_timeout(Duration::from_millis(50)) {
            Ok(Some(request)) => serve(provider, request, router),
            Ok(None) => {}
            Err(_) => break,
        }
    }
}

fn serve(provider: &Provider, mut request: tiny_http::Request, router: Router) {
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
        router(provider, &incoming)
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
         Date: {}\r\nAccess-Control-Allow-Origin: *\r\n",
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
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

/// Dispatches one request by method and path.
pub(crate) fn route(p: &Provider, req: &Incoming) -> Reply {
    let method = req.method.as_str();
    let path = req.path.as_str();
    if method == "OPTIONS" {
        return Reply::new(204)
            .header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
            .header(
                "Access-Control-Allow-Headers",
                "Authorization, Content-Type",
            )
            .header("Access-Control-Max-Age", "600");
    }
    if let Some(rest) = path.strip_prefix("/_devidp/") {
        return control::handle(p, req, rest);
    }
    if let Some(rest) = path.strip_prefix("/demo-api/") {
        return demo_api::handle(p, req, rest);
    }
    if let Some(rest) = path.strip_prefix("/demo-aws-api/") {
        return demo_aws_api::handle(p, req, rest);
    }
    let pool_prefix = format!("/{}/.well-known/", p.settings.user_pool_id);
    if let Some(doc) = path.strip_prefix(&pool_prefix) {
        return match (method, doc) {
            ("GET" | "HEAD", "openid-configuration") => oauth::discovery(p),
            ("GET" | "HEAD", "jwks.json") => oauth::jwks(p),
            _ => not_found(),
        };
    }
    match (method, path) {
        ("GET" | "HEAD", "/") => pages::index(p),
        ("GET" | "HEAD", "/oauth2/authorize") => hosted_ui::authorize(p, req),
        ("GET" | "HEAD", "/login") => hosted_ui::login_page(p, req),
        ("POST", "/login") => hosted_ui::login_submit(p, req),
        ("GET" | "HEAD", "/signup") => hosted_ui::signup_page(p, req),
        ("POST", "/signup") => hosted_ui::signup_submit(p, req),
        ("GET" | "HEAD", "/confirmUser") => hosted_ui::confirm_page(p, req),
        ("POST", "/confirmUser") => hosted_ui::confirm_submit(p, req),
        ("GET" | "HEAD", "/cancel") => hosted_ui::cancel(p, req),
        ("GET" | "HEAD", "/forgotPassword") => hosted_ui::forgot_password(p, req),
        ("GET" | "HEAD", "/error") => hosted_ui::error_page(req),
        ("GET" | "HEAD", "/logout") => hosted_ui::logout(p, req),
        ("POST", "/oauth2/token") => oauth::token(p, req),
        (_, "/oauth2/token") => {
            Reply::oauth_error(405, "invalid_request", "use POST").header("Allow", "POST")
        }
        ("GET" | "POST", "/oauth2/userInfo" | "/oauth2/userinfo") => oauth::userinfo(p, req),
        ("POST", "/oauth2/revoke") => oauth::revoke(p, req),
        (_, "/oauth2/revoke") => {
            Reply::oauth_error(405, "invalid_request", "use POST").header("Allow", "POST")
        }
        _ => not_found(),
    }
}

fn not_found() -> Reply {
    Reply::json(404, &serde_json::json!({"message": "Not Found"}))
}
