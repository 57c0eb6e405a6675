//! A rewriting HTTP proxy in front of a devidp's origins: tests alter discovery, the JWKS or
//! token responses the way a misbehaving provider would, on real HTTP, and see what was sent.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use latchkey_core::Profile;
use latchkey_devidp::DevIdp;
use url::Url;

use crate::provider::start_idp;

/// A rewriting HTTP proxy in front of the devidp's two origins (paths under `/{pool}/` go to
/// its `cognito-idp` origin, the rest to its pool domain): lets tests alter discovery, JWKS or
/// token responses the way a misbehaving provider would. Bodies and `Location` headers have
/// the targets' base URLs replaced by the proxy's.
pub struct Proxy {
    pub base: String,
    /// (path, request body, response body) of every exchange.
    pub exchanges: Exchanges,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// (path, request body, response body) of each proxied exchange.
pub type Exchanges = Arc<Mutex<Vec<(String, Vec<u8>, Vec<u8>)>>>;

pub type Rewrite = Arc<dyn Fn(&str, u16, Vec<u8>) -> (u16, Vec<u8>) + Send + Sync>;

/// Maps a request path at the proxy to the path asked of the target.
pub type PathMap = Arc<dyn Fn(&str) -> String + Send + Sync>;

impl Proxy {
    /// Bind first (so the provider's issuer can name the proxy), then `start`.
    pub fn bind() -> (TcpListener, String) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", l.local_addr().unwrap().port());
        (l, base)
    }

    /// `targets`: (path prefix, origin) pairs, the first matching prefix wins.
    pub fn start(
        listener: TcpListener,
        base: String,
        targets: Vec<(String, String)>,
        rewrite: Rewrite,
    ) -> Proxy {
        Self::start_mapped(listener, base, targets, Arc::new(str::to_owned), rewrite)
    }

    /// Like `start`, with request paths mapped (`map`) before they are routed and forwarded.
    pub fn start_mapped(
        listener: TcpListener,
        base: String,
        targets: Vec<(String, String)>,
        map: PathMap,
        rewrite: Rewrite,
    ) -> Proxy {
        let server = tiny_http::Server::from_listener(listener, None).unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        let base2 = base.clone();
        let exchanges: Exchanges = Arc::default();
        let exchanges2 = exchanges.clone();
        let thread = std::thread::spawn(move || {
            let client = reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            while !stop2.load(std::sync::atomic::Ordering::SeqCst) {
                let Ok(Some(mut req)) = server.recv_timeout(Duration::from_millis(50)) else {
                    continue;
                };
                let mut body = Vec::new();
                let _ = std::io::Read::read_to_end(req.as_reader(), &mut body);
                let path = map(req.url());
                let Some((_, target)) = targets.iter().find(|(p, _)| path.starts_with(p)) else {
                    let _ = req.respond(tiny_http::Response::empty(502));
                    continue;
                };
                let url = format!("{target}{path}");
                let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).unwrap();
                let req_body = body.clone();
                let mut rb = client.request(method, url).body(body);
                for h in req.headers() {
                    let name = h.field.as_str().as_str().to_ascii_lowercase();
                    if matches!(
                        name.as_str(),
                        "content-type" | "authorization" | "accept" | "cookie"
                    ) {
                        rb = rb.header(name, h.value.as_str());
                    }
                }
                let Ok(resp) = rb.send() else {
                    let _ = req.respond(tiny_http::Response::empty(502));
                    continue;
                };
                let status = resp.status().as_u16();
                let ctype = resp
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                let loc = resp
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .map(|l| replace_all(l, &targets, &base2));
                let cookies: Vec<String> = resp
                    .headers()
                    .get_all("set-cookie")
                    .iter()
                    .filter_map(|v| v.to_str().ok().map(str::to_owned))
                    .collect();
                let body = resp.bytes().unwrap_or_default().to_vec();
                let body = String::from_utf8(body.clone())
                    .map(|t| replace_all(&t, &targets, &base2).into_bytes())
                    .unwrap_or(body);
                let path = req.url().split('?').next().unwrap_or("").to_owned();
                let (status, body) = rewrite(&path, status, body);
                exchanges2
                    .lock()
                    .unwrap()
                    .push((path.clone(), req_body, body.clone()));
                let mut r = tiny_http::Response::from_data(body)
                    .with_status_code(status)
                    .with_header(
                        tiny_http::Header::from_bytes("Content-Type", ctype.as_bytes()).unwrap(),
                    );
                if let Some(l) = loc {
                    r = r.with_header(
                        tiny_http::Header::from_bytes("Location", l.as_bytes()).unwrap(),
                    );
                }
                for c in cookies {
                    r = r.with_header(
                        tiny_http::Header::from_bytes("Set-Cookie", c.as_bytes()).unwrap(),
                    );
                }
                let _ = req.respond(r);
            }
        });
        Proxy {
            base,
            exchanges,
            stop,
            thread: Some(thread),
        }
    }
}

fn replace_all(text: &str, targets: &[(String, String)], base: &str) -> String {
    targets
        .iter()
        .fold(text.to_owned(), |t, (_, target)| t.replace(target, base))
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A devidp behind a rewriting proxy, and an OIDC profile pointing at the proxy.
pub fn proxied_idp(rewrite: Rewrite) -> (DevIdp, Proxy, Profile) {
    proxied_idp_mapped(Arc::new(str::to_owned), rewrite)
}

/// Like [`proxied_idp`], with request paths mapped before they reach the provider.
pub fn proxied_idp_mapped(map: PathMap, rewrite: Rewrite) -> (DevIdp, Proxy, Profile) {
    let (listener, base) = Proxy::bind();
    let pool = latchkey_devidp::DevIdpConfig::default().user_pool_id;
    let issuer = format!("{base}/{pool}");
    // The provider writes the proxy's origin into every URL and `iss`; the proxy routes
    // `/{pool}/…` to the cognito-idp origin and everything else to the pool domain.
    let idp = start_idp(|c| {
        c.public_urls = Some(latchkey_devidp::PublicUrls {
            hosted_ui: base.clone(),
            cognito_idp: base.clone(),
        })
    });
    let targets = vec![
        (format!("/{pool}/"), local_origin(idp.issuer_port())),
        ("/".to_owned(), local_origin(idp.port())),
    ];
    let proxy = Proxy::start_mapped(listener, base.clone(), targets, map, rewrite);
    let mut p = Profile::oidc("proxied", Url::parse(&issuer).unwrap(), &idp.client_id());
    p.api_base_urls = vec![Url::parse(&base).unwrap()];
    p.sign_in_timeout = Duration::from_secs(30);
    (idp, proxy, p)
}

fn local_origin(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

pub fn json_rewrite(
    path_suffix: &'static str,
    f: impl Fn(&mut serde_json::Value) + Send + Sync + 'static,
) -> Rewrite {
    Arc::new(move |path: &str, status: u16, body: Vec<u8>| {
        if path.ends_with(path_suffix) {
            if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&body) {
                f(&mut v);
                return (status, serde_json::to_vec(&v).unwrap());
            }
        }
        (status, body)
    })
}
