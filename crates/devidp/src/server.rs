//! The loopback HTTP server: worker threads pull requests from tiny_http and route them
//! to the hosted UI, OAuth endpoints, demo API and control endpoint.

use std::io::Read;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::http::{Incoming, Reply};
use crate::provider::Provider;
use crate::{control, demo_api, hosted_ui, oauth, pages};

const WORKERS: usize = 8;
const MAX_BODY: u64 = 1024 * 1024;

pub(crate) fn spawn_workers(
    server: Arc<tiny_http::Server>,
    provider: Arc<Provider>,
) -> Vec<JoinHandle<()>> {
    (0..WORKERS)
        .map(|i| {
            let server = Arc::clone(&server);
            let provider = Arc::clone(&provider);
            std::thread::Builder::new()
                .name(format!("devidp-worker-{i}"))
                .spawn(move || worker(&server, &provider))
                .expect("spawn devidp worker thread")
        })
        .collect()
}

fn worker(server: &tiny_http::Server, provider: &Provider) {
    while !provider.stopping.load(Ordering::SeqCst) {
        match server.recv_timeout(Duration::from_millis(50)) {
            Ok(Some(request)) => serve(provider, request),
            Ok(None) => {}
            Err(_) => break,
        }
    }
}

fn serve(provider: &Provider, mut request: tiny_http::Request) {
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
        route(provider, &incoming)
    };
    let mut response = tiny_http::Response::from_data(reply.body).with_status_code(reply.status);
    // Like Cognito's managed login, every response allows any origin.
    response.add_header(header("Access-Control-Allow-Origin", "*"));
    for (name, value) in &reply.headers {
        response.add_header(header(name, value));
    }
    let _ = request.respond(response);
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap_or_else(|_| {
        tiny_http::Header::from_bytes("X-Invalid-Header", "1").expect("static header")
    })
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
