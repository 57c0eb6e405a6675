//! Shared helpers: start the development provider, build profiles for it, and a test browser
//! that follows the hosted-UI dance over real HTTP (no redirects followed automatically).
#![allow(dead_code)]

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use latchkey_core::{Browser, Profile, Session, SessionOptions, SignInOptions, Vault};
use latchkey_devidp::{ClientConfig, DevIdp, DevIdpConfig, DEMO_PASSWORD, DEMO_USERNAME};
use url::Url;

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A provider that accepts any loopback port (for OIDC-kind profiles on 127.0.0.1).
pub fn start_idp(tweak: impl FnOnce(&mut DevIdpConfig)) -> DevIdp {
    let mut cfg = DevIdpConfig {
        client: ClientConfig {
            any_loopback_port: true,
            ..Default::default()
        },
        ..Default::default()
    };
    tweak(&mut cfg);
    DevIdp::start(cfg).expect("devidp starts")
}

/// Generic OIDC profile against the devidp (discovery, ephemeral port on 127.0.0.1).
pub fn oidc_profile(idp: &DevIdp) -> Profile {
    let mut p = Profile::oidc("test", Url::parse(&idp.issuer()).unwrap(), &idp.client_id());
    p.api_base_urls = vec![Url::parse(&idp.base_url()).unwrap()];
    p.sign_in_timeout = Duration::from_secs(30);
    p
}

/// A provider plus a Cognito-kind profile on a fixed port registered exactly (localhost).
pub fn start_cognito(tweak: impl FnOnce(&mut DevIdpConfig)) -> (DevIdp, Profile) {
    let port = free_port();
    let mut cfg = DevIdpConfig::default();
    cfg.client
        .callback_urls
        .push(format!("http://localhost:{port}/callback"));
    cfg.client
        .sign_out_urls
        .push(format!("http://localhost:{port}/signed-out"));
    tweak(&mut cfg);
    let idp = DevIdp::start(cfg).expect("devidp starts");
    let mut p = Profile::cognito(
        "cog",
        "us-east-1",
        &idp.user_pool_id(),
        Url::parse(&idp.base_url()).unwrap(),
        &idp.client_id(),
    );
    if let latchkey_core::ProfileKind::Cognito { issuer, .. } = &mut p.kind {
        *issuer = Some(Url::parse(&idp.issuer()).unwrap());
    }
    p.ports = vec![port];
    p.sign_out_uri = Some(Url::parse(&format!("http://localhost:{port}/signed-out")).unwrap());
    p.api_base_urls = vec![Url::parse(&idp.base_url()).unwrap()];
    p.sign_in_timeout = Duration::from_secs(30);
    (idp, p)
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

fn location(resp: &reqwest::Response, base: &Url) -> Url {
    let raw = resp
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location (HTTP {})", resp.status()))
        .to_str()
        .unwrap();
    base.join(raw).unwrap()
}

/// GET the authorize URL, post the login form, and return the callback URL (not yet visited).
pub async fn login_to_callback(authorize: &Url, username: &str, password: &str) -> Url {
    let c = http();
    let r = c.get(authorize.clone()).send().await.unwrap();
    assert!(
        r.status().is_redirection(),
        "authorize answered {}",
        r.status()
    );
    let login = location(&r, authorize);
    // The login page sets the XSRF-TOKEN cookie its form echoes in `_csrf` (as Cognito's does).
    let page = c.get(login.clone()).send().await.unwrap();
    let csrf = xsrf_cookie(page.headers()).expect("the login page sets XSRF-TOKEN");
    let mut form: Vec<(String, String)> = login.query_pairs().into_owned().collect();
    form.push(("username".into(), username.into()));
    form.push(("password".into(), password.into()));
    form.push(("_csrf".into(), csrf.clone()));
    let mut post = login.clone();
    post.set_query(None);
    let r = c
        .post(post.clone())
        .header("Cookie", format!("XSRF-TOKEN={csrf}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_redirection(),
        "login answered {}: {}",
        r.status(),
        r.text().await.unwrap_or_default()
    );
    location(&r, &post)
}

/// The value of the `XSRF-TOKEN` cookie a response sets.
pub fn xsrf_cookie(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("XSRF-TOKEN="))
        .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
}

/// Visit a callback URL; returns (status, body).
pub async fn visit(url: &Url) -> (u16, String) {
    let r = http().get(url.clone()).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.text().await.unwrap_or_default())
}

/// Signs in as the demo user over real HTTP when the session opens the URL.
#[derive(Clone, Default)]
pub struct HttpBrowser {
    pub opened: Arc<Mutex<Vec<Url>>>,
    pub callback_status: Arc<Mutex<Vec<(u16, String)>>>,
}

impl Browser for HttpBrowser {
    fn open(&self, url: &Url) -> latchkey_core::Result<()> {
        self.opened.lock().unwrap().push(url.clone());
        let url = url.clone();
        let statuses = self.callback_status.clone();
        tokio::runtime::Handle::current().spawn(async move {
            let cb = login_to_callback(&url, DEMO_USERNAME, DEMO_PASSWORD).await;
            let r = visit(&cb).await;
            statuses.lock().unwrap().push(r);
        });
        Ok(())
    }
}

/// Hands the authorize URL to the test instead of a browser.
#[derive(Clone)]
pub struct ManualBrowser {
    tx: tokio::sync::mpsc::UnboundedSender<Url>,
}

impl ManualBrowser {
    pub fn new() -> (
        Arc<ManualBrowser>,
        tokio::sync::mpsc::UnboundedReceiver<Url>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (Arc::new(ManualBrowser { tx }), rx)
    }
}

impl Browser for ManualBrowser {
    fn open(&self, url: &Url) -> latchkey_core::Result<()> {
        let _ = self.tx.send(url.clone());
        Ok(())
    }
}

pub fn memory_options(browser: Arc<dyn Browser>) -> SessionOptions {
    SessionOptions {
        vault: Vault::memory(),
        browser: Some(browser),
        ..SessionOptions::memory()
    }
}

pub fn options_with(vault: Vault, browser: Arc<dyn Browser>) -> SessionOptions {
    SessionOptions {
        vault,
        browser: Some(browser),
        ..SessionOptions::memory()
    }
}

/// A signed-in session (memory vault) against `idp` with `profile`.
pub async fn signed_in(profile: Profile, vault: Vault) -> Session {
    let s = Session::new(
        profile,
        options_with(vault, Arc::new(HttpBrowser::default())),
    )
    .unwrap();
    s.sign_in(SignInOptions::default())
        .await
        .expect("sign-in succeeds");
    s
}

/// A session whose sign-in the test drives by hand; returns the running sign-in task.
pub async fn manual_sign_in(
    profile: Profile,
) -> (
    Session,
    tokio::task::JoinHandle<latchkey_core::Result<latchkey_core::UserSummary>>,
    Url,
) {
    let (browser, mut rx) = ManualBrowser::new();
    let s = Session::new(profile, memory_options(browser)).unwrap();
    let s2 = s.clone();
    let task = tokio::spawn(async move { s2.sign_in(SignInOptions::default()).await });
    let url = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("browser opened")
        .unwrap();
    (s, task, url)
}

pub fn q(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Replace (or add/remove) a query parameter.
pub fn with_param(url: &Url, name: &str, value: Option<&str>) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != name)
        .collect();
    let mut u = url.clone();
    {
        let mut qp = u.query_pairs_mut();
        qp.clear();
        for (k, v) in &pairs {
            qp.append_pair(k, v);
        }
        if let Some(v) = value {
            qp.append_pair(name, v);
        }
    }
    u
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", std::process::id(), rand_suffix())
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        % 1_000_000_007
}

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

/// Signs tokens with its own P-256 key (ring), for the checks a provider cannot be asked to
/// fail: its public key goes into a proxied JWKS, and the verifier must then judge the token.
pub struct Forger {
    key: ring::signature::EcdsaKeyPair,
    pub kid: String,
}

impl Forger {
    pub fn new(kid: &str) -> Forger {
        use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        Forger {
            key,
            kid: kid.into(),
        }
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> serde_json::Value {
        use base64::Engine;
        use ring::signature::KeyPair;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let point = self.key.public_key().as_ref();
        serde_json::json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": b64.encode(&point[1..33]), "y": b64.encode(&point[33..65]),
        })
    }

    /// A compact JWS of `claims` under `header`, signed ES256 with this key.
    pub fn sign(&self, header: serde_json::Value, claims: serde_json::Value) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let input = format!(
            "{}.{}",
            b64.encode(header.to_string()),
            b64.encode(claims.to_string())
        );
        let rng = ring::rand::SystemRandom::new();
        let sig = self.key.sign(&rng, input.as_bytes()).unwrap();
        format!("{input}.{}", b64.encode(sig.as_ref()))
    }
}

/// A proxied devidp whose JWKS also holds `keys` (forgers' public keys); with `advertise`,
/// discovery lists ES256 among the ID-token algorithms too.
pub fn forging_idp(keys: &[serde_json::Value], advertise: bool) -> (DevIdp, Proxy, Profile) {
    let keys = keys.to_vec();
    proxied_idp(Arc::new(move |path: &str, status, body: Vec<u8>| {
        let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&body) else {
            return (status, body);
        };
        if path.ends_with("jwks.json") {
            v["keys"]
                .as_array_mut()
                .unwrap()
                .extend(keys.iter().cloned());
        } else if path.ends_with("openid-configuration") && advertise {
            v["id_token_signing_alg_values_supported"] = serde_json::json!(["RS256", "ES256"]);
        } else {
            return (status, body);
        }
        (status, serde_json::to_vec(&v).unwrap())
    }))
}

/// Claims a verifier for `profile` accepts (an hour's validity from now).
pub fn good_claims(profile: &Profile) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    serde_json::json!({
        "iss": profile.issuer(), "sub": "forged-user", "aud": profile.client_id,
        "iat": now, "exp": now + 3600,
    })
}

/// The verdict on `token` of a provider as a session for `profile` sees it (now).
pub async fn verdict(
    profile: &Profile,
    token: &str,
) -> latchkey_core::Result<Vec<latchkey_core::Check>> {
    let provider = latchkey_core::internals::Provider::load(profile, http())
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    latchkey_core::internals::verify_id_token(&provider, profile, token, now).await
}

/// `profile` with an `[aws]` table for `idp`'s identity pool (its own origin), asking for
/// `role` when given.
pub fn with_identity_pool(idp: &DevIdp, mut profile: Profile, role: Option<&str>) -> Profile {
    profile.aws = Some(latchkey_core::IdentityPoolSettings {
        identity_pool_id: idp
            .identity_pool()
            .expect("an identity pool")
            .identity_pool_id,
        identity_endpoint: Some(Url::parse(&idp.identity_endpoint().unwrap()).unwrap()),
        role_arn: role.map(str::to_owned),
        ..Default::default()
    });
    profile
}
