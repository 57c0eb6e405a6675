//! The callback listener: binds loopback only, before the browser opens; accepts only
//! `GET <path>` with the expected Host and a matching `state` (checked before `error`/`code`);
//! everything else gets a 4xx and the flow keeps waiting. The first valid callback wins.

use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::error::{Error, ErrorKind, Result};
use crate::secret::{constant_time_eq, AuthorizationCode};

/// What the listener delivers to the flow: a code (state and iss already checked) or an error
/// the provider sent back with a valid state.
#[derive(Debug)]
pub enum CallbackOutcome {
    Code(AuthorizationCode),
    Failed(Error),
}

/// What a callback must match.
#[derive(Clone)]
pub struct CallbackExpectations {
    pub state: String,
    pub issuer: String,
    /// RFC 9207: metadata says `authorization_response_iss_parameter_supported`.
    pub iss_required: bool,
}

/// A bound (and later serving) loopback listener. Dropping it closes the port.
pub struct LoopbackListener {
    port: u16,
    host: String,
    path: String,
    sockets: Vec<TcpListener>,
    servers: Vec<Arc<tiny_http::Server>>,
    threads: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    rx: Option<mpsc::UnboundedReceiver<CallbackOutcome>>,
}

#[cfg(windows)]
mod exclusive;

// Windows: for exclusive use (`SO_EXCLUSIVEADDRUSE`), see `loopback/exclusive.rs`.
#[cfg(windows)]
use exclusive::bind_exclusive as bind_one;

/// Elsewhere a listening port is the process's own: no other socket can bind it too.
#[cfg(not(windows))]
fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(addr)
}

/// Bind `port` (0 = ephemeral) on the loopback address(es) for `host`.
fn bind_host(host: &str, port: u16) -> io::Result<Vec<TcpListener>> {
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    match host {
        "127.0.0.1" => Ok(vec![bind_one(v4)?]),
        "[::1]" => Ok(vec![bind_one(v6)?]),
        _ => {
            // localhost: both families when available (RFC 8252 §8.3: don't assume v4 or v6).
            let mut out = Vec::new();
            let mut chosen = port;
            match bind_one(v4) {
                Ok(l) => {
                    chosen = l.local_addr()?.port();
                    out.push(l);
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Err(e),
                Err(_) => {}
            }
            match bind_one(SocketAddr::from((Ipv6Addr::LOCALHOST, chosen))) {
                Ok(l) => out.push(l),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse && port != 0 => return Err(e),
                Err(_) => {}
            }
            if out.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    "no loopback address is available",
                ));
            }
            Ok(out)
        }
    }
}

/// Linux: which process listens on a local TCP port (best effort, for the error message).
fn who_listens(port: u16) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        let mut inodes = Vec::new();
        for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let text = std::fs::read_to_string(f).ok()?;
            for line in text.lines().skip(1) {
                let cols: Vec<&str> = line.split_whitespace().collect();
                if cols.len() > 9 && cols[3] == "0A" {
                    if let Some(p) = cols[1]
                        .rsplit(':')
                        .next()
                        .and_then(|h| u16::from_str_radix(h, 16).ok())
                    {
                        if p == port {
                            inodes.push(format!("socket:[{}]", cols[9]));
                        }
                    }
                }
            }
        }
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let pid = entry.file_name().to_string_lossy().to_string();
            if !pid.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
                continue;
            };
            for fd in fds.flatten() {
                if let Ok(target) = std::fs::read_link(fd.path()) {
                    if inodes.iter().any(|i| target.to_string_lossy() == *i) {
                        let comm =
                            std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
                        return Some(format!("{} (pid {pid})", comm.trim()));
                    }
                }
            }
        }
        None
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = port;
        None
    }
}

impl LoopbackListener {
    /// Bind the first free port of `ports` (or an ephemeral one when `ports` is empty).
    pub fn bind(host: &str, path: &str, ports: &[u16]) -> Result<LoopbackListener> {
        // A sign-out page still waiting for its visitor gives its port back to the sign-in.
        stop_signed_out_page();
        let candidates: Vec<u16> = if ports.is_empty() {
            vec![0]
        } else {
            ports.to_vec()
        };
        let mut taken = Vec::new();
        for port in candidates {
            match bind_host(host, port) {
                Ok(sockets) => {
                    let actual = sockets[0].local_addr().map_err(Error::internal)?.port();
                    tracing::debug!(port = actual, "loopback listener bound");
                    return Ok(LoopbackListener {
                        port: actual,
                        host: host.to_owned(),
                        path: path.to_owned(),
                        sockets,
                        servers: vec![],
                        threads: vec![],
                        stop: Arc::new(AtomicBool::new(false)),
                        rx: None,
                    });
                }
                Err(e) => {
                    let who = who_listens(port)
                        .map(|w| format!(" by {w}"))
                        .unwrap_or_default();
                    taken.push(format!(
                        "{port} ({}{who})",
                        if e.kind() == io::ErrorKind::AddrInUse {
                            "in use"
                        } else {
                            "unavailable"
                        }
                    ));
                }
            }
        }
        Err(Error::new(
            ErrorKind::PortUnavailable,
            format!("no callback port is free on {host}: {}. Close the program holding the port, or register another port at the provider and add it to the profile's `ports`.", taken.join(", ")),
        ))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The bound socket addresses (all loopback).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        if self.sockets.is_empty() {
            self.servers
                .iter()
                .filter_map(|s| s.server_addr().to_ip())
                .collect()
        } else {
            self.sockets
                .iter()
                .filter_map(|s| s.local_addr().ok())
                .collect()
        }
    }

    /// The redirect URI this listener answers.
    pub fn redirect_uri(&self) -> String {
        format!("http://{}:{}{}", self.host, self.port, self.path)
    }

    /// Start serving. Call once, after the authorization request is built.
    pub fn serve(&mut self, expect: CallbackExpectations) -> Result<()> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.rx = Some(rx);
        let done = Arc::new(Mutex::new(false));
        let host_header = format!("{}:{}", self.host, self.port).to_ascii_lowercase();
        for socket in self.sockets.drain(..) {
            let server = Arc::new(
                tiny_http::Server::from_listener(socket, None)
                    .map_err(|e| Error::internal(format!("loopback listener: {e}")))?,
            );
            self.servers.push(server.clone());
            let ctx = Handler {
                expect: expect.clone(),
                host_header: host_header.clone(),
                path: self.path.clone(),
                done: done.clone(),
                tx: tx.clone(),
            };
            let stop = self.stop.clone();
            let t = std::thread::Builder::new()
                .name("latchkey-loopback".into())
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        match server.recv_timeout(Duration::from_millis(100)) {
                            Ok(Some(req)) => ctx.handle(req),
                            Ok(None) => {}
                            Err(_) => std::thread::sleep(Duration::from_millis(20)),
                        }
                    }
                    // Answer what is still queued instead of leaving clients hanging.
                    while let Ok(Some(req)) = server.try_recv() {
                        send_page(
                            req,
                            410,
                            "Latchkey",
                            "This sign-in is over. You can close this tab.",
                        );
                    }
                })
                .map_err(Error::internal)?;
            self.threads.push(t);
        }
        Ok(())
    }

    /// Wait for the first valid callback.
    pub async fn next(&mut self) -> Result<CallbackOutcome> {
        match self.rx.as_mut() {
            Some(rx) => rx
                .recv()
                .await
                .ok_or_else(|| Error::internal("loopback listener stopped")),
            None => Err(Error::internal("loopback listener not serving")),
        }
    }

    /// Stop serving and release the port.
    pub fn close(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for s in &self.servers {
            s.unblock();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let addrs = server_addrs(self.servers.iter().map(|s| s.as_ref()));
        self.servers.clear();
        self.sockets.clear();
        wait_released(&addrs);
    }
}

fn server_addrs<'a>(servers: impl IntoIterator<Item = &'a tiny_http::Server>) -> Vec<SocketAddr> {
    servers
        .into_iter()
        .filter_map(|s| s.server_addr().to_ip())
        .collect()
}

/// tiny_http closes its socket on its accept thread, shortly after the server is dropped:
/// wait for it, so that "closed" means the port is released.
fn wait_released(addrs: &[SocketAddr]) {
    for _ in 0..200 {
        let open = addrs
            .iter()
            .any(|a| std::net::TcpStream::connect_timeout(a, Duration::from_millis(50)).is_ok());
        if !open {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Drop for LoopbackListener {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Handler {
    expect: CallbackExpectations,
    host_header: String,
    path: String,
    done: Arc<Mutex<bool>>,
    tx: mpsc::UnboundedSender<CallbackOutcome>,
}

const PAGE_STYLE: &str = "body{font-family:system-ui,sans-serif;margin:4rem auto;max-width:32rem;color:#222}h1{font-size:1.4rem}";

/// The sign-out page being served, if any (see [`serve_signed_out_page`]).
static SIGNED_OUT_PAGE: Mutex<Option<SignedOutPage>> = Mutex::new(None);

struct SignedOutPage {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
    addrs: Vec<SocketAddr>,
}

/// Stops the sign-out page, if one is served, and waits until its port is free.
fn stop_signed_out_page() {
    let page = SIGNED_OUT_PAGE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    if let Some(page) = page {
        page.stop.store(true, Ordering::SeqCst);
        let _ = page.thread.join();
        wait_released(&page.addrs);
    }
}

/// After "sign out everywhere" the provider's logout page sends the browser on to the
/// profile's sign-out URL. When that is a loopback URL nothing listens there any more, so
/// answer it with a "signed out" page instead of a connection error: for at most `lifetime`,
/// until the first visit or the next sign-in, and only if the port is free.
pub fn serve_signed_out_page(uri: &url::Url, lifetime: Duration) {
    stop_signed_out_page();
    let (Some(host), Some(port)) = (uri.host_str(), uri.port_or_known_default()) else {
        return;
    };
    if uri.scheme() != "http" || !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
        return;
    }
    let Ok(sockets) = bind_host(host, port) else {
        tracing::debug!(port, "sign-out page: port busy; not serving it");
        return;
    };
    let servers: Vec<tiny_http::Server> = sockets
        .into_iter()
        .filter_map(|socket| tiny_http::Server::from_listener(socket, None).ok())
        .collect();
    let addrs = server_addrs(&servers);
    let path = uri.path().to_owned();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let spawned = std::thread::Builder::new()
        .name("latchkey-signed-out".into())
        .spawn(move || {
            let deadline = std::time::Instant::now() + lifetime;
            while std::time::Instant::now() < deadline && !stopped.load(Ordering::SeqCst) {
                for server in &servers {
                    let Ok(Some(req)) = server.recv_timeout(Duration::from_millis(50)) else {
                        continue;
                    };
                    let requested = req.url().split('?').next().unwrap_or_default().to_owned();
                    if requested == path {
                        send_page(
                            req,
                            200,
                            "Signed out",
                            "You are signed out of Latchkey and of the provider. You can close this tab.",
                        );
                        tracing::debug!("sign-out page served");
                        return;
                    }
                    send_page(req, 404, "Latchkey", "Nothing here. You can close this tab.");
                }
            }
        });
    match spawned {
        Ok(thread) => {
            *SIGNED_OUT_PAGE.lock().unwrap_or_else(|p| p.into_inner()) = Some(SignedOutPage {
                stop,
                thread,
                addrs,
            });
        }
        Err(_) => tracing::debug!("sign-out page: no thread for it"),
    }
}

/// Answers with a small self-contained page, written by hand so that it really says
/// `Connection: close` (tiny_http drops that header from its own responses). A browser that
/// kept the connection open would later send the next request to a listener nobody reads.
fn send_page(req: tiny_http::Request, status: u16, title: &str, text: &str) {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title><style>{PAGE_STYLE}</style></head><body><h1>{title}</h1><p>{text}</p></body></html>"
    );
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\n\
         Content-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\n\
         Referrer-Policy: no-referrer\r\n\
         Cache-Control: no-store\r\n\
         X-Content-Type-Options: nosniff\r\n\
         Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let mut writer = req.into_writer();
    let _ = writer.write_all(head.as_bytes());
    let _ = writer.write_all(body.as_bytes());
    let _ = writer.flush();
}

/// Keep provider-supplied text printable and short before it goes into an error message.
fn sanitize(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

impl Handler {
    fn reject(&self, req: tiny_http::Request, status: u16, why: &str) {
        tracing::debug!(
            status,
            why,
            "loopback: rejected a request; still waiting for the sign-in callback"
        );
        send_page(
            req,
            status,
            "Latchkey",
            "This address only accepts the sign-in response. You can close this tab.",
        );
    }

    fn handle(&self, req: tiny_http::Request) {
        if *req.method() != tiny_http::Method::Get {
            return self.reject(req, 405, "method");
        }
        let host = req
            .headers()
            .iter()
            .find(|h| h.field.equiv("Host"))
            .map(|h| h.value.as_str().to_ascii_lowercase());
        if host.as_deref() != Some(self.host_header.as_str()) {
            return self.reject(req, 400, "host");
        }
        let url = req.url().to_owned();
        let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
        if path != self.path {
            return self.reject(req, 404, "path");
        }
        let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let get = |k: &str| -> std::result::Result<Option<&str>, ()> {
            let mut it = params.iter().filter(|(n, _)| n == k);
            let first = it.next().map(|(_, v)| v.as_str());
            if it.next().is_some() {
                Err(())
            } else {
                Ok(first)
            }
        };
        // state first: nothing else in the request is looked at until it matches (C1, C2).
        match get("state") {
            Ok(Some(s)) if constant_time_eq(s.as_bytes(), self.expect.state.as_bytes()) => {}
            _ => return self.reject(req, 400, "state"),
        }
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        if *done {
            return self.reject(req, 409, "already completed");
        }
        let (Ok(iss), Ok(error), Ok(code)) = (get("iss"), get("error"), get("code")) else {
            return self.reject(req, 400, "duplicate parameters");
        };
        let outcome = match iss {
            Some(i) if i != self.expect.issuer => Some(CallbackOutcome::Failed(Error::new(
                ErrorKind::Verification,
                "the sign-in response came from a different issuer than the one this sign-in was sent to (RFC 9207 `iss` mismatch, possible mix-up attack). The code was not redeemed; sign in again.",
            ))),
            None if self.expect.iss_required => Some(CallbackOutcome::Failed(Error::new(
                ErrorKind::Verification,
                "the sign-in response has no `iss` parameter although the provider promises one (RFC 9207). The code was not redeemed; sign in again.",
            ))),
            _ => None,
        };
        let outcome = outcome.or_else(|| match (error, code) {
            (Some(err), _) => {
                let desc = get("error_description").ok().flatten().map(sanitize).unwrap_or_default();
                let err = sanitize(err);
                Some(CallbackOutcome::Failed(if err == "access_denied" {
                    Error::new(ErrorKind::AccessDenied, format!("the sign-in was refused (access_denied{}). Sign in again, or ask the pool's administrator for access.", if desc.is_empty() { String::new() } else { format!(": {desc}") }))
                } else {
                    Error::new(ErrorKind::ProviderError, format!("the provider ended the sign-in with `{err}`{}. Check the profile (client id, scopes, callback URL registration) and try again.", if desc.is_empty() { String::new() } else { format!(": {desc}") }))
                }))
            }
            (None, Some(c)) if !c.is_empty() => Some(CallbackOutcome::Code(AuthorizationCode::new(c))),
            _ => None,
        });
        let Some(outcome) = outcome else {
            drop(done);
            return self.reject(req, 400, "neither code nor error");
        };
        *done = true;
        drop(done);
        match &outcome {
            CallbackOutcome::Code(_) => send_page(
                req,
                200,
                "Signed in",
                "Latchkey received the sign-in. You can close this tab and return to Latchkey.",
            ),
            CallbackOutcome::Failed(_) => send_page(
                req,
                400,
                "Sign-in failed",
                "The sign-in did not complete. Return to Latchkey for details.",
            ),
        }
        tracing::debug!("loopback: sign-in callback accepted");
        let _ = self.tx.send(outcome);
    }
}
