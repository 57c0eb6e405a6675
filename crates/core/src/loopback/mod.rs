//! The callback listener: binds loopback only, before the browser opens; accepts only
//! `GET <path>` with the expected Host and a matching `state` (checked before `error`/`code`);
//! everything else gets a 4xx and the flow keeps waiting. The first valid callback wins.
//! Requests are bounded in size, time and number (`server`).

mod request;
mod server;
mod signed_out;

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::error::{CheckName, Error, ErrorKind, Result};
use crate::secret::{constant_time_eq, AuthorizationCode};
use crate::token_endpoint::sanitize;

pub use request::{head_end, parse_head, HeadError, RequestHead, MAX_HEAD_BYTES};
pub(crate) use server::read_head;
pub use server::{MAX_CONNECTIONS, READ_TIMEOUT};
pub use signed_out::serve_signed_out_page;

use request::Page;
use server::{Responder, Server};

/// What the listener delivers to the flow: a code (state and iss already checked) or an error
/// the provider sent back with a valid state.
#[derive(Debug)]
pub enum CallbackOutcome {
    /// A callback whose `state` (and `iss`, when sent or required) matched: its authorization
    /// code, not yet redeemed.
    Code(AuthorizationCode),
    /// A callback whose `state` matched but that cannot give a code: the provider sent `error=`
    /// (`access_denied` is [`ErrorKind::AccessDenied`], others [`ErrorKind::ProviderError`]),
    /// or its `iss` is wrong or missing (a failed `iss` check).
    Failed(Error),
}

/// What a callback must match.
#[derive(Clone)]
pub struct CallbackExpectations {
    /// The `state` this sign-in's authorize request sent; a callback must carry exactly it.
    pub state: String,
    /// The provider's issuer; a callback's `iss`, when it has one, must equal it (RFC 9207).
    pub issuer: String,
    /// RFC 9207: metadata says `authorization_response_iss_parameter_supported`.
    pub iss_required: bool,
    /// A GET on this path (not the callback's) is sent on to this URL: the sign-out URL on
    /// the same port, where Cognito's logout page lands when signing in as another user, is
    /// sent on to this sign-in's authorize URL.
    pub bounce: Option<(String, url::Url)>,
}

impl std::fmt::Debug for CallbackExpectations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackExpectations")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// Bound loopback sockets for one sign-in, not yet serving. Dropping it closes the port.
#[derive(Debug)]
pub struct LoopbackListener {
    port: u16,
    host: String,
    path: String,
    sockets: Vec<TcpListener>,
}

#[cfg(windows)]
mod exclusive;

// Windows: for exclusive use (`SO_EXCLUSIVEADDRUSE`), see `loopback/exclusive.rs`.
#[cfg(windows)]
use exclusive::bind_exclusive as bind_one;

/// Bind one loopback socket (the one place a listening socket is created). Elsewhere a
/// listening port is the process's own: no other socket can bind it too.
#[cfg(not(windows))]
fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(addr)
}

/// How often a `localhost` listener looks for an ephemeral port free on both families.
const DUAL_STACK_TRIES: usize = 16;

/// Bind `port` (0 = ephemeral) on the loopback address(es) for `host`.
fn bind_host(host: &str, port: u16) -> io::Result<Vec<TcpListener>> {
    bind_host_with(host, port, bind_one)
}

/// [`bind_host`] over a given socket binder (tests make ::1 ports busy through it).
fn bind_host_with(
    host: &str,
    port: u16,
    bind: impl Fn(SocketAddr) -> io::Result<TcpListener>,
) -> io::Result<Vec<TcpListener>> {
    let v4 = |p| bind(SocketAddr::from((Ipv4Addr::LOCALHOST, p)));
    let v6 = |p| bind(SocketAddr::from((Ipv6Addr::LOCALHOST, p)));
    match host {
        "127.0.0.1" => Ok(vec![v4(port)?]),
        "[::1]" => Ok(vec![v6(port)?]),
        // localhost: both families (RFC 8252 §8.3: don't assume v4 or v6). The browser may try
        // either, so the port must be ours on both; ::1 is skipped only when the host has no
        // IPv6 loopback at all.
        _ => {
            for _ in 0..DUAL_STACK_TRIES {
                let first = match v4(port) {
                    Ok(l) => l,
                    Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Err(e),
                    Err(_) => return Ok(vec![v6(port)?]),
                };
                let chosen = first.local_addr()?.port();
                match v6(chosen) {
                    Ok(second) => return Ok(vec![first, second]),
                    Err(e) if e.kind() == io::ErrorKind::AddrInUse && port == 0 => continue,
                    Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Err(e),
                    Err(_) => return Ok(vec![first]),
                }
            }
            Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                "no ephemeral port is free on both 127.0.0.1 and ::1",
            ))
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
                let listening_on = |c: &str| {
                    c.rsplit(':')
                        .next()
                        .and_then(|h| u16::from_str_radix(h, 16).ok())
                };
                if cols.len() > 9 && cols[3] == "0A" && listening_on(cols[1]) == Some(port) {
                    inodes.push(format!("socket:[{}]", cols[9]));
                }
            }
        }
        std::fs::read_dir("/proc")
            .ok()?
            .flatten()
            .find_map(|entry| {
                let pid = entry.file_name().to_string_lossy().to_string();
                if !pid.chars().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                let fds = std::fs::read_dir(entry.path().join("fd")).ok()?;
                let holds = fds.flatten().any(|fd| {
                    std::fs::read_link(fd.path())
                        .is_ok_and(|t| inodes.iter().any(|i| t.to_string_lossy() == *i))
                });
                holds.then(|| {
                    let comm =
                        std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
                    format!("{} (pid {pid})", comm.trim())
                })
            })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = port;
        None
    }
}

impl LoopbackListener {
    /// Bind the first free port of `ports` (or an ephemeral one when `ports` is empty). A
    /// sign-out page still waiting for its visitor gives its port back first.
    pub async fn bind(host: &str, path: &str, ports: &[u16]) -> Result<LoopbackListener> {
        signed_out::stop().await;
        let candidates = if ports.is_empty() {
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
                    });
                }
                Err(e) => {
                    let who = who_listens(port)
                        .map(|w| format!(" by {w}"))
                        .unwrap_or_default();
                    let why = match e.kind() {
                        io::ErrorKind::AddrInUse => "in use",
                        _ => "unavailable",
                    };
                    taken.push(format!("{port} ({why}{who})"));
                }
            }
        }
        Err(Error::new(
            ErrorKind::PortUnavailable,
            format!("no callback port is free on {host}: {}. Close the program holding the port, or register another port at the provider and add it to the profile's `ports`.", taken.join(", ")),
        ))
    }

    /// The port bound (the ephemeral one chosen when `ports` was empty), the same on every
    /// loopback address.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The bound socket addresses (all loopback).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.sockets
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .collect()
    }

    /// The redirect URI this listener answers.
    pub fn redirect_uri(&self) -> String {
        format!("http://{}:{}{}", self.host, self.port, self.path)
    }

    /// Start serving (needs a tokio runtime). Call once, after the request is built.
    pub fn serve(self, expect: CallbackExpectations) -> Result<Callbacks> {
        let handler = Arc::new(Handler {
            expect,
            host_header: format!("{}:{}", self.host, self.port).to_ascii_lowercase(),
            path: self.path.clone(),
            done: AtomicBool::new(false),
        });
        let (server, rx) = Server::start(self.sockets, handler.clone())
            .map_err(|e| Error::internal(format!("loopback listener: {e}")))?;
        let (pasted_tx, pasted) = mpsc::unbounded_channel();
        Ok(Callbacks {
            server,
            rx,
            pasted,
            paste: CallbackPaste {
                handler,
                outcomes: pasted_tx,
            },
        })
    }
}

/// A serving listener: the flow awaits [`Callbacks::next`], then [`Callbacks::close`]s it.
pub struct Callbacks {
    server: Server,
    rx: mpsc::UnboundedReceiver<CallbackOutcome>,
    pasted: mpsc::UnboundedReceiver<CallbackOutcome>,
    paste: CallbackPaste,
}

impl Callbacks {
    /// Wait for the first valid callback, from the browser (its page is already answered) or
    /// pasted through [`CallbackPaste::submit`].
    pub async fn next(&mut self) -> Result<CallbackOutcome> {
        tokio::select! {
            Some(outcome) = self.rx.recv() => Ok(outcome),
            Some(outcome) = self.pasted.recv() => Ok(outcome),
            else => Err(Error::internal("loopback listener stopped")),
        }
    }

    /// Where a pasted callback address goes in (for `latchkey login --paste`).
    pub fn paste(&self) -> CallbackPaste {
        self.paste.clone()
    }

    /// The addresses being served (all loopback): where the browser's callback can arrive.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.server.addrs().to_vec()
    }

    /// Stop serving; when this returns the port is released.
    pub async fn close(self) {
        self.server.stop().await;
    }
}

/// The callback address the user pasted (the browser's address bar after the redirect, when
/// the browser cannot reach this machine's loopback): checked by the listener's own rules.
#[derive(Clone)]
pub struct CallbackPaste {
    handler: Arc<Handler>,
    outcomes: mpsc::UnboundedSender<CallbackOutcome>,
}

impl std::fmt::Debug for CallbackPaste {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackPaste").finish_non_exhaustive()
    }
}

impl CallbackPaste {
    /// Check `address` as the listener checks a `GET` to it (host and port, path, `state`
    /// before anything else, then `iss`, `error`, `code`) and hand the outcome to the waiting
    /// flow. A refused address is an error here (the flow keeps waiting); the address is
    /// never part of a message or log line (it holds the code).
    pub fn submit(&self, address: &str) -> Result<()> {
        let url = url::Url::parse(address.trim())
            .map_err(|_| Error::pasted_callback_refused("it is not a URL"))?;
        let host = match (url.scheme(), url.host_str(), url.port_or_known_default()) {
            ("http", Some(host), Some(port)) => format!("{host}:{port}").to_ascii_lowercase(),
            _ => return Err(refusal_error(Refusal::Host)),
        };
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let head = RequestHead {
            method: "GET".into(),
            target,
            host: Some(host),
            authorization: None,
        };
        match self.handler.accept(&head) {
            Ok(Accepted::Callback(outcome)) => {
                tracing::debug!("loopback: pasted sign-in callback accepted");
                self.outcomes
                    .send(outcome)
                    .map_err(|_| Error::no_sign_in_waiting())
            }
            // The sign-out page's bounce is for a browser on this machine, not a paste.
            Ok(Accepted::Bounce(_)) => Err(refusal_error(Refusal::Path)),
            Err(refusal) => Err(refusal_error(refusal)),
        }
    }
}

/// Why a request to the listener (or a pasted address) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Method,
    Host,
    Path,
    DuplicateParameters,
    State,
    NeitherCodeNorError,
    AlreadyCompleted,
}

impl Refusal {
    fn status(self) -> u16 {
        match self {
            Refusal::Method => 405,
            Refusal::Path => 404,
            Refusal::AlreadyCompleted => 409,
            Refusal::Host
            | Refusal::DuplicateParameters
            | Refusal::State
            | Refusal::NeitherCodeNorError => 400,
        }
    }

    fn why(self) -> &'static str {
        match self {
            Refusal::Method => "method",
            Refusal::Host => "host",
            Refusal::Path => "path",
            Refusal::DuplicateParameters => "duplicate parameters",
            Refusal::State => "state",
            Refusal::NeitherCodeNorError => "neither code nor error",
            Refusal::AlreadyCompleted => "already completed",
        }
    }
}

/// A refused paste as the caller sees it: a wrong `state` fails the `state` check.
fn refusal_error(refusal: Refusal) -> Error {
    match refusal {
        Refusal::State => Error::refused(
            CheckName::State,
            "the pasted address's `state` is not this sign-in's (an address from an earlier or another sign-in, or a forged one). Nothing was redeemed; sign in again and paste the address this sign-in's browser tab ended on.",
        ),
        Refusal::AlreadyCompleted => Error::new(
            ErrorKind::Busy,
            "this sign-in already received its callback; the pasted address was not used.",
        ),
        Refusal::Method | Refusal::Host | Refusal::Path => {
            Error::pasted_callback_refused("it is not this sign-in's redirect URI")
        }
        Refusal::DuplicateParameters => {
            Error::pasted_callback_refused("it repeats `state`, `code`, `error` or `iss`")
        }
        Refusal::NeitherCodeNorError => Error::pasted_callback_refused(
            "it has neither `code` nor `error`; copy the whole address from the address bar",
        ),
    }
}

/// What the listener makes of a request it accepts.
enum Accepted<'a> {
    /// A valid callback (`state` matched): its outcome for the flow.
    Callback(CallbackOutcome),
    /// The sign-out page's landing: send the browser on to this URL.
    Bounce(&'a url::Url),
}

struct Handler {
    expect: CallbackExpectations,
    host_header: String,
    path: String,
    done: AtomicBool,
}

const REJECTED: Page = Page::new(
    400,
    "Latchkey",
    "This address only accepts the sign-in response. You can close this tab.",
);

impl Handler {
    fn reject(&self, status: u16, why: &str) -> (Page, Option<CallbackOutcome>) {
        tracing::debug!(
            status,
            why,
            "loopback: rejected a request; still waiting for the sign-in callback"
        );
        (Page { status, ..REJECTED }, None)
    }

    /// The provider's answer, once `state` matched: an error, a code, or nothing usable.
    fn outcome(&self, get: impl Fn(&str) -> Option<String>) -> Option<CallbackOutcome> {
        match get("iss") {
            Some(i) if i != self.expect.issuer => return Some(CallbackOutcome::Failed(Error::refused(
                CheckName::Iss,
                "the sign-in response came from a different issuer than the one this sign-in was sent to (RFC 9207 `iss` mismatch, possible mix-up attack). The code was not redeemed; sign in again.",
            ))),
            None if self.expect.iss_required => return Some(CallbackOutcome::Failed(Error::refused(
                CheckName::Iss,
                "the sign-in response has no `iss` parameter although the provider promises one (RFC 9207). The code was not redeemed; sign in again.",
            ))),
            _ => {}
        }
        if let Some(err) = get("error") {
            let desc = get("error_description")
                .map(|d| format!(": {}", sanitize(&d, 200)))
                .unwrap_or_default();
            let err = sanitize(&err, 64);
            return Some(CallbackOutcome::Failed(if err == "access_denied" {
                Error::new(ErrorKind::AccessDenied, format!("the sign-in was refused (access_denied{desc}). Sign in again, or ask the pool's administrator for access."))
            } else {
                Error::new(ErrorKind::ProviderError, format!("the provider ended the sign-in with `{err}`{desc}. Check the profile (client id, scopes, callback URL registration) and try again."))
            }));
        }
        get("code")
            .filter(|c| !c.is_empty())
            .map(|c| CallbackOutcome::Code(AuthorizationCode::new(c)))
    }
}

impl Handler {
    /// The listener's rules for one request: method, Host, path (or the bounce), no repeated
    /// parameters, `state` before anything else, then the provider's answer. The first valid
    /// callback wins; a later one is refused.
    fn accept(&self, head: &RequestHead) -> std::result::Result<Accepted<'_>, Refusal> {
        if head.method != "GET" {
            return Err(Refusal::Method);
        }
        if head.host.as_deref() != Some(self.host_header.as_str()) {
            return Err(Refusal::Host);
        }
        let (path, query) = head.target.split_once('?').unwrap_or((&head.target, ""));
        if let Some((bounce_path, to)) = &self.expect.bounce {
            if path == bounce_path && !self.done.load(Ordering::SeqCst) {
                return Ok(Accepted::Bounce(to));
            }
        }
        if path != self.path {
            return Err(Refusal::Path);
        }
        let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        if ["state", "code", "error", "iss"]
            .iter()
            .any(|k| params.iter().filter(|(n, _)| n == k).count() > 1)
        {
            return Err(Refusal::DuplicateParameters);
        }
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        // state first: nothing else in the request is looked at until it matches (C1, C2).
        match get("state") {
            Some(s) if constant_time_eq(s.as_bytes(), self.expect.state.as_bytes()) => {}
            _ => return Err(Refusal::State),
        }
        let Some(outcome) = self.outcome(get) else {
            return Err(Refusal::NeitherCodeNorError);
        };
        if self.done.swap(true, Ordering::SeqCst) {
            return Err(Refusal::AlreadyCompleted);
        }
        Ok(Accepted::Callback(outcome))
    }
}

impl Responder for Handler {
    type Event = CallbackOutcome;

    fn respond(&self, head: &RequestHead) -> (Page, Option<CallbackOutcome>) {
        let outcome = match self.accept(head) {
            Ok(Accepted::Callback(outcome)) => outcome,
            Ok(Accepted::Bounce(to)) => {
                tracing::debug!("loopback: signed out at the provider; on to the sign-in page");
                return (Page::redirect(to.as_str()), None);
            }
            Err(refusal) => return self.reject(refusal.status(), refusal.why()),
        };
        tracing::debug!("loopback: sign-in callback accepted");
        let page = match &outcome {
            CallbackOutcome::Code(_) => Page::new(
                200,
                "Signed in",
                "Latchkey received the sign-in. You can close this tab and return to Latchkey.",
            ),
            CallbackOutcome::Failed(_) => Page::new(
                400,
                "Sign-in failed",
                "The sign-in did not complete. Return to Latchkey for details.",
            ),
        };
        (page, Some(outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn localhost_ephemeral_port_is_taken_on_both_families_or_another_is_tried() {
        if bind_one(SocketAddr::from((Ipv6Addr::LOCALHOST, 0))).is_err() {
            return; // no IPv6 loopback here: nothing to pair
        }
        // The first two ports picked for 127.0.0.1 are busy on ::1 (another program).
        let busy_v6 = AtomicUsize::new(2);
        let sockets = bind_host_with("localhost", 0, |addr| {
            if addr.is_ipv6() && busy_v6.load(Ordering::SeqCst) > 0 {
                busy_v6.fetch_sub(1, Ordering::SeqCst);
                return Err(io::ErrorKind::AddrInUse.into());
            }
            bind_one(addr)
        })
        .unwrap();
        assert_eq!(
            sockets.len(),
            2,
            "a port held on both families, not v4 alone"
        );
        let ports: Vec<u16> = sockets
            .iter()
            .map(|s| s.local_addr().unwrap().port())
            .collect();
        assert_eq!(ports[0], ports[1]);
        assert_eq!(
            busy_v6.load(Ordering::SeqCst),
            0,
            "the busy picks were skipped"
        );
    }
}
