//! End-to-end harness: real Chromium through chromedriver, the real app window through
//! tauri-driver + WebKitWebDriver, and a browser-command hook that hands URLs to the test.
#![allow(dead_code)] // each test binary uses part of the harness

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Map, Value};

/// A free loopback port (closed again at once; the child process binds it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn wait_for_port(port: u16, what: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on 127.0.0.1:{port} within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process stopped with SIGTERM (tauri-driver only stops WebKitWebDriver on a signal).
pub struct Service {
    child: Child,
    pub port: u16,
    name: &'static str,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} did not stop on SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// tauri-driver (installed by `cargo xtask test` into `.tools/`) in front of WebKitWebDriver.
pub fn start_tauri_driver() -> Service {
    let binary = std::env::var_os("LATCHKEY_TAURI_DRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join(".tools/bin/tauri-driver"));
    assert!(
        binary.exists(),
        "tauri-driver not found at {} — run the tests through `cargo xtask test`, which installs it",
        binary.display()
    );
    let (port, native_port) = (free_port(), free_port());
    let child = Command::new(&binary)
        .args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start tauri-driver");
    let service = Service {
        child,
        port,
        name: "tauri-driver",
    };
    // It listens before WebKitWebDriver does: wait for both.
    wait_for_port(port, "tauri-driver", Duration::from_secs(20));
    wait_for_port(native_port, "WebKitWebDriver", Duration::from_secs(20));
    service
}

/// chromedriver from Debian's `chromium-driver`.
pub fn start_chromedriver() -> Service {
    let port = free_port();
    let child = Command::new("chromedriver")
        .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver (Debian package chromium-driver)");
    let service = Service {
        child,
        port,
        name: "chromedriver",
    };
    wait_for_port(port, "chromedriver", Duration::from_secs(20));
    service
}

async fn connect(port: u16, capabilities: Value) -> Client {
    let Value::Object(caps) = capabilities else {
        unreachable!()
    };
    let caps: Map<String, Value> = caps;
    // reqwest enables rustls' ring provider and fantoccini aws-lc-rs: with two providers
    // compiled in, rustls needs a process default (it panics otherwise).
    let _ = rustls::crypto::ring::default_provider().install_default();
    ClientBuilder::rustls()
        .expect("rustls connector")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session")
}

/// A headless Chromium with a fresh profile (flags from platform-notes.md).
pub async fn chromium(driver: &Service, profile_dir: &Path) -> Client {
    connect(
        driver.port,
        json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1100,800",
                    format!("--user-data-dir={}", profile_dir.display()),
                ]
            }
        }),
    )
    .await
}

/// The real app window, started by tauri-driver with the given binary.
pub async fn app_window(driver: &Service, app: &Path) -> Client {
    connect(
        driver.port,
        json!({ "browserName": "wry", "tauri:options": { "application": app } }),
    )
    .await
}

pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A browser command for Latchkey that appends each URL it is asked to open to a file,
/// so the test can hand it to Chromium. Run without a shell by Latchkey; it is a script itself.
pub struct UrlHook {
    pub script: PathBuf,
    pub urls: PathBuf,
}

impl UrlHook {
    pub fn new(dir: &Path) -> Self {
        let script = dir.join("open-url");
        let urls = dir.join("urls.txt");
        std::fs::write(
            &script,
            format!("#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n", urls.display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { script, urls }
    }

    /// Waits for the n-th URL (1-based) the app asked to open.
    pub fn nth_url(&self, n: usize, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(text) = std::fs::read_to_string(&self.urls) {
                if let Some(line) = text.lines().nth(n - 1) {
                    return line.to_string();
                }
            }
            assert!(
                Instant::now() < deadline,
                "the app did not open URL #{n} within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Waits for an element and returns its text, with the page text in the panic message.
pub async fn text_of(client: &Client, css: &str, timeout: Duration) -> String {
    let found = client
        .wait()
        .at_most(timeout)
        .for_element(Locator::Css(css))
        .await;
    match found {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(e) => panic!(
            "{}",
            diagnose(client, &format!("waiting for `{css}`: {e}")).await
        ),
    }
}

/// The step that failed, the page's URL and visible text: enough to diagnose without a rerun.
pub async fn diagnose(client: &Client, step: &str) -> String {
    let url = client
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    let text = match client.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    mask_secrets(&format!(
        "step failed: {step}\n  page: {url}\n  text: {}",
        text.chars().take(1500).collect::<String>()
    ))
}

// ---------------------------------------------------------------------------------------------
// Shared chromedriver, secret masking, devidp + profile set-up, browser hooks, scenario runner.
// ---------------------------------------------------------------------------------------------

use std::future::Future;
use std::sync::{Arc, Mutex, Weak};

use latchkey_core::{Browser, Profile, Session, SessionOptions, SignInOptions, UserSummary, Vault};
use latchkey_devidp::{DevIdp, DevIdpConfig};
use url::Url;

static CHROMEDRIVER: Mutex<Weak<Service>> = Mutex::new(Weak::new());

/// One chromedriver shared by every test of this binary that is running at the moment: the
/// first caller starts it, the last `Arc` dropped stops it (SIGTERM via [`Service`]'s `Drop`).
pub fn shared_chromedriver() -> Arc<Service> {
    let mut slot = CHROMEDRIVER.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(driver) = slot.upgrade() {
        return driver;
    }
    let driver = Arc::new(start_chromedriver());
    *slot = Arc::downgrade(&driver);
    driver
}

/// Query/form parameters whose values are secrets in URLs and page text.
const SECRET_PARAMS: &[&str] = &[
    "code",
    "state",
    "nonce",
    "code_challenge",
    "code_verifier",
    "token",
    "id_token",
    "access_token",
    "refresh_token",
    "id_token_hint",
    "password",
    "client_secret",
];

/// Masks the values of secret parameters (`code=…`, `state=…`, …) wherever they appear in
/// `text` (URLs, form bodies, log lines): keeps the first 4 characters, replaces the rest.
pub fn mask_secrets(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let at_boundary = i == 0
            || matches!(
                bytes[i - 1],
                b'?' | b'&' | b' ' | b'"' | b'\'' | b'\n' | b'(' | b'#'
            );
        let key = if at_boundary {
            SECRET_PARAMS
                .iter()
                .find(|k| text[i..].starts_with(*k) && text[i + k.len()..].starts_with('='))
        } else {
            None
        };
        if key.is_none() && bytes[i] == b'"' {
            if let Some(end) = json_secret_value(text, i) {
                out.push_str(&text[i..end.0]);
                out.extend(text[end.0..end.1].chars().take(4));
                out.push_str("…(masked)");
                i = end.1;
                continue;
            }
        }
        match key {
            Some(k) => {
                let start = i + k.len() + 1;
                let end = text[start..]
                    .find(|c: char| {
                        matches!(c, '&' | '#' | '"' | '\'' | '<' | ')') || c.is_whitespace()
                    })
                    .map(|n| start + n)
                    .unwrap_or(text.len());
                let value = &text[start..end];
                out.push_str(&text[i..start]);
                if !value.is_empty() {
                    out.extend(value.chars().take(4));
                    out.push_str("…(masked)");
                }
                i = end;
            }
            None => {
                let c = text[i..].chars().next().expect("in bounds");
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

/// At `"key": "value"` with a secret key: the byte range of `value`.
fn json_secret_value(text: &str, at: usize) -> Option<(usize, usize)> {
    let rest = &text[at + 1..];
    let key = SECRET_PARAMS
        .iter()
        .find(|k| rest.starts_with(*k) && rest[k.len()..].starts_with('"'))?;
    let after_key = at + 1 + key.len() + 1;
    let colon = text[after_key..].trim_start();
    let colon = colon.strip_prefix(':')?.trim_start();
    let value = colon.strip_prefix('"')?;
    let start = text.len() - value.len();
    let end = start + value.find('"').unwrap_or(value.len());
    Some((start, end))
}

/// A keychain service name no other test uses (`LATCHKEY_KEYCHAIN_SERVICE` equivalent).
pub fn unique_service(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "latchkey-e2e-{what}-{}-{}-{nanos:x}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Everything needed to rebuild the same Cognito-kind profile in another process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileSpec {
    pub name: String,
    pub base_url: String,
    pub issuer: String,
    pub user_pool_id: String,
    pub client_id: String,
    /// The one loopback callback port registered at the provider (Cognito: exact match).
    pub callback_port: u16,
    /// Where the provider's `/logout` sends the browser afterwards.
    pub sign_out_port: u16,
}

impl ProfileSpec {
    /// A Cognito-kind profile on `http://127.0.0.1:{callback_port}/callback` (loopback only).
    pub fn profile(&self) -> Profile {
        let base = Url::parse(&self.base_url).expect("devidp base URL");
        let mut p = Profile::cognito(
            &self.name,
            "us-east-1",
            &self.user_pool_id,
            base.clone(),
            &self.client_id,
        );
        if let latchkey_core::ProfileKind::Cognito { issuer, .. } = &mut p.kind {
            *issuer = Some(Url::parse(&self.issuer).expect("devidp issuer"));
        }
        p.redirect_host = "127.0.0.1".into();
        p.ports = vec![self.callback_port];
        p.sign_out_uri = Some(self.sign_out_uri());
        p.api_base_urls = vec![base];
        p.sign_in_timeout = Duration::from_secs(60);
        p
    }

    pub fn callback_uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.callback_port)
    }

    pub fn sign_out_uri(&self) -> Url {
        Url::parse(&format!(
            "http://127.0.0.1:{}/signed-out",
            self.sign_out_port
        ))
        .expect("sign-out URL")
    }

    /// As environment variables for a child process (see [`ProfileSpec::from_env`]).
    pub fn to_env(&self) -> Vec<(String, String)> {
        [
            ("LATCHKEY_E2E_NAME", self.name.clone()),
            ("LATCHKEY_E2E_BASE_URL", self.base_url.clone()),
            ("LATCHKEY_E2E_ISSUER", self.issuer.clone()),
            ("LATCHKEY_E2E_POOL", self.user_pool_id.clone()),
            ("LATCHKEY_E2E_CLIENT_ID", self.client_id.clone()),
            ("LATCHKEY_E2E_CALLBACK_PORT", self.callback_port.to_string()),
            ("LATCHKEY_E2E_SIGN_OUT_PORT", self.sign_out_port.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    pub fn from_env() -> Option<ProfileSpec> {
        let v = |k: &str| std::env::var(k).ok();
        Some(ProfileSpec {
            name: v("LATCHKEY_E2E_NAME")?,
            base_url: v("LATCHKEY_E2E_BASE_URL")?,
            issuer: v("LATCHKEY_E2E_ISSUER")?,
            user_pool_id: v("LATCHKEY_E2E_POOL")?,
            client_id: v("LATCHKEY_E2E_CLIENT_ID")?,
            callback_port: v("LATCHKEY_E2E_CALLBACK_PORT")?.parse().ok()?,
            sign_out_port: v("LATCHKEY_E2E_SIGN_OUT_PORT")?.parse().ok()?,
        })
    }
}

/// Starts a development provider whose app client has exactly one loopback callback URL
/// (a fresh port) and one sign-out URL, the way a Cognito app client is set up.
pub fn start_devidp(
    name: &str,
    sign_out_port: u16,
    tweak: impl FnOnce(&mut DevIdpConfig),
) -> (DevIdp, ProfileSpec) {
    let callback_port = free_port();
    let mut cfg = DevIdpConfig::default();
    cfg.client.callback_urls = vec![format!("http://127.0.0.1:{callback_port}/callback")];
    cfg.client.sign_out_urls = vec![format!("http://127.0.0.1:{sign_out_port}/signed-out")];
    tweak(&mut cfg);
    let idp = DevIdp::start(cfg).expect("latchkey-devidp starts on 127.0.0.1");
    let spec = ProfileSpec {
        name: name.to_string(),
        base_url: idp.base_url(),
        issuer: idp.issuer(),
        user_pool_id: idp.user_pool_id(),
        client_id: idp.client_id(),
        callback_port,
        sign_out_port,
    };
    (idp, spec)
}

/// A tiny page server for the sign-out URL (`/signed-out`), so the browser lands somewhere
/// real after the provider's `/logout`. Stops (and frees its port) when dropped.
pub struct SignedOutPage {
    pub port: u16,
    pub hits: Arc<std::sync::atomic::AtomicUsize>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SignedOutPage {
    pub fn start() -> SignedOutPage {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let port = listener.local_addr().expect("local addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(AtomicUsize::new(0));
        let (stop2, hits2) = (stop.clone(), hits.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                        let mut buf = [0u8; 4096];
                        let n = conn.read(&mut buf).unwrap_or(0);
                        let request = String::from_utf8_lossy(&buf[..n]);
                        if request.starts_with("GET /signed-out") {
                            hits2.fetch_add(1, Ordering::SeqCst);
                        }
                        let body = "<!doctype html><title>Signed out</title><h1 id=\"signed-out\">Signed out</h1>";
                        let _ = write!(
                            conn,
                            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        SignedOutPage {
            port,
            hits,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for SignedOutPage {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Waits until nothing accepts connections on 127.0.0.1:`port`; returns how long that took.
pub fn wait_port_released(port: u16, within: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_ok() {
        if started.elapsed() > within {
            return Err(format!(
                "127.0.0.1:{port} still accepts connections after {within:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(started.elapsed())
}

/// Latchkey's browser hook for the tests: hands each URL to the test over a channel; the test
/// then drives Chromium there.
pub struct ChannelBrowser {
    tx: tokio::sync::mpsc::UnboundedSender<Url>,
}

impl ChannelBrowser {
    pub fn new() -> (
        Arc<ChannelBrowser>,
        tokio::sync::mpsc::UnboundedReceiver<Url>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (Arc::new(ChannelBrowser { tx }), rx)
    }
}

impl Browser for ChannelBrowser {
    fn open(&self, url: &Url) -> latchkey_core::Result<()> {
        let _ = self.tx.send(url.clone());
        Ok(())
    }
}

/// A browser stand-in for the keychain tests (no Chromium needed there): signs in over plain
/// HTTP — authorize, post the login form, visit the callback — as the given user.
pub struct HttpSignIn {
    pub username: String,
    pub password: String,
}

impl HttpSignIn {
    pub fn new(username: &str, password: &str) -> Arc<HttpSignIn> {
        Arc::new(HttpSignIn {
            username: username.into(),
            password: password.into(),
        })
    }

    async fn run(url: Url, username: String, password: String) -> Result<(), String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let location = |r: &reqwest::Response, base: &Url| -> Result<Url, String> {
            let raw = r
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| format!("no Location header (HTTP {})", r.status()))?;
            base.join(raw).map_err(|e| e.to_string())
        };
        let r = http
            .get(url.clone())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let login = location(&r, &url)?;
        // The login page sets the XSRF-TOKEN cookie its form echoes in `_csrf` (as Cognito's).
        let page = http
            .get(login.clone())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let csrf = page
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("XSRF-TOKEN="))
            .map(|rest| rest.split(';').next().unwrap_or("").to_string())
            .ok_or("the login page set no XSRF-TOKEN cookie")?;
        let mut form: Vec<(String, String)> = login.query_pairs().into_owned().collect();
        form.push(("username".into(), username));
        form.push(("password".into(), password));
        form.push(("_csrf".into(), csrf.clone()));
        let mut post = login.clone();
        post.set_query(None);
        let r = http
            .post(post.clone())
            .header("Cookie", format!("XSRF-TOKEN={csrf}"))
            .form(&form)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let callback = location(&r, &post)?;
        http.get(callback).send().await.map_err(|e| e.to_string())?;
        Ok(())
    }
}

impl Browser for HttpSignIn {
    fn open(&self, url: &Url) -> latchkey_core::Result<()> {
        let (url, user, pass) = (url.clone(), self.username.clone(), self.password.clone());
        tokio::runtime::Handle::current().spawn(async move {
            if let Err(e) = HttpSignIn::run(url.clone(), user, pass).await {
                eprintln!("HTTP sign-in at {} failed: {e}", mask_secrets(url.as_str()));
            }
        });
        Ok(())
    }
}

/// Runs this test binary again as a child process, running only `test_name` (a helper test
/// that does nothing unless `LATCHKEY_E2E_CHILD` is set), with extra environment.
pub fn child_test_command(test_name: &str) -> Command {
    let exe = std::env::current_exe().expect("path of the test binary");
    let mut cmd = Command::new(exe);
    cmd.args([test_name, "--exact", "--nocapture", "--test-threads=1"]);
    cmd
}

/// Output of a child process, for failure messages (secrets masked).
pub fn describe_output(what: &str, out: &std::process::Output) -> String {
    format!(
        "{what}: {}\n--- child stdout ---\n{}\n--- child stderr ---\n{}",
        out.status,
        mask_secrets(&String::from_utf8_lossy(&out.stdout)),
        mask_secrets(&String::from_utf8_lossy(&out.stderr)),
    )
}

/// `Err(format!(…))` unless the condition holds (for scenario bodies that return `Result`).
#[allow(unused_macros)]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}
#[allow(unused_imports)]
pub(crate) use ensure;

/// `?` with a description: turns any displayable error (or a `None`) into a step failure.
pub trait Context<T> {
    fn context(self, what: &str) -> Result<T, String>;
}

impl<T, E: std::fmt::Display> Context<T> for Result<T, E> {
    fn context(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, what: &str) -> Result<T, String> {
        self.ok_or_else(|| format!("{what}: nothing there"))
    }
}

/// A pending `Session::sign_in` running on its own task.
pub type SignInTask = tokio::task::JoinHandle<latchkey_core::Result<UserSummary>>;

/// One browser scenario: a fresh devidp, a fresh Chromium (own profile dir) on the shared
/// chromedriver, the channel browser hook, and the step bookkeeping for failure reports.
pub struct E2e {
    pub idp: DevIdp,
    pub spec: ProfileSpec,
    pub chrome: Client,
    /// A keychain service of this scenario alone.
    pub service: String,
    pub signed_out: SignedOutPage,
    hook: Arc<ChannelBrowser>,
    urls: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Url>>,
    step: Mutex<String>,
    _slot: tokio::sync::SemaphorePermit<'static>,
    _profile_dir: tempfile::TempDir,
    _driver: Arc<Service>,
}

impl E2e {
    /// Starts the provider (after `tweak`) and a Chromium session that pools connections as
    /// it does for users.
    pub async fn start(name: &str, tweak: impl FnOnce(&mut DevIdpConfig)) -> Arc<E2e> {
        // At most 3 Chromiums at once: the machines have 2 cores.
        static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(3);
        let slot = SLOTS
            .acquire()
            .await
            .expect("the slot semaphore is never closed");
        let signed_out = SignedOutPage::start();
        let (idp, spec) = start_devidp(name, signed_out.port, tweak);
        let driver = shared_chromedriver();
        let profile_dir = tempfile::tempdir().expect("Chromium profile dir");
        let chrome = chromium(&driver, profile_dir.path()).await;
        // A hung navigation should fail the step in seconds, not after chromedriver's 300 s.
        let timeouts =
            fantoccini::wd::TimeoutConfiguration::new(None, Some(Duration::from_secs(30)), None);
        chrome
            .update_timeouts(timeouts)
            .await
            .expect("set page-load timeout");
        let (hook, rx) = ChannelBrowser::new();
        Arc::new(E2e {
            idp,
            spec,
            chrome,
            service: unique_service(name),
            signed_out,
            hook,
            urls: tokio::sync::Mutex::new(rx),
            step: Mutex::new("start".into()),
            _slot: slot,
            _profile_dir: profile_dir,
            _driver: driver,
        })
    }

    /// Records (and prints) the step now running; a failure report names it.
    pub fn step(&self, what: &str) {
        eprintln!("[e2e {}] {what}", self.spec.name);
        *self.step.lock().unwrap_or_else(|p| p.into_inner()) = what.to_string();
    }

    pub fn profile(&self) -> Profile {
        self.spec.profile()
    }

    /// This scenario's keychain (the real Secret Service, own service name).
    pub fn vault(&self) -> Vault {
        Vault::system_with_service(&self.service)
    }

    /// Session options with the real keychain and the channel browser hook.
    pub fn options(&self) -> SessionOptions {
        SessionOptions {
            vault: self.vault(),
            browser: Some(self.hook.clone()),
            ..SessionOptions::default()
        }
    }

    pub fn session(&self) -> Session {
        Session::new(self.profile(), self.options()).expect("Session::new")
    }

    /// Starts `session.sign_in(opts)` on its own task and returns it with the URL Latchkey asked
    /// the browser to open.
    pub async fn begin_sign_in(
        &self,
        session: &Session,
        opts: SignInOptions,
    ) -> Result<(SignInTask, Url), String> {
        let s = session.clone();
        let task = tokio::spawn(async move { s.sign_in(opts).await });
        let url = tokio::time::timeout(Duration::from_secs(30), self.urls.lock().await.recv())
            .await
            .context("Latchkey did not ask the browser to open a URL within 30 s")?
            .context("the browser hook channel closed")?;
        Ok((task, url))
    }

    /// Waits for a sign-in task to end.
    pub async fn end_sign_in(
        &self,
        task: SignInTask,
        within: Duration,
    ) -> Result<latchkey_core::Result<UserSummary>, String> {
        tokio::time::timeout(within, task)
            .await
            .map_err(|_| format!("Session::sign_in did not return within {within:?}"))?
            .context("the sign-in task panicked")
    }

    pub async fn goto(&self, url: &str) -> Result<(), String> {
        self.chrome
            .goto(url)
            .await
            .map_err(|e| format!("Chromium could not open {}: {e}", mask_secrets(url)))
    }

    pub async fn element(
        &self,
        css: &str,
        within: Duration,
    ) -> Result<fantoccini::elements::Element, String> {
        self.chrome
            .wait()
            .at_most(within)
            .for_element(Locator::Css(css))
            .await
            .map_err(|e| format!("no `{css}` on the page within {within:?}: {e}"))
    }

    pub async fn fill(&self, css: &str, value: &str) -> Result<(), String> {
        let el = self.element(css, Duration::from_secs(15)).await?;
        el.clear().await.context(&format!("clear `{css}`"))?;
        el.send_keys(value)
            .await
            .context(&format!("type into `{css}`"))
    }

    pub async fn click(&self, css: &str) -> Result<(), String> {
        let el = self.element(css, Duration::from_secs(15)).await?;
        el.click().await.context(&format!("click `{css}`"))
    }

    pub async fn text(&self, css: &str) -> Result<String, String> {
        let el = self.element(css, Duration::from_secs(15)).await?;
        el.text().await.context(&format!("text of `{css}`"))
    }

    pub async fn page_url(&self) -> String {
        self.chrome
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// Fills the hosted login page and presses Sign in.
    pub async fn submit_login(&self, username: &str, password: &str) -> Result<(), String> {
        self.fill("#username", username).await?;
        self.fill("#password", password).await?;
        self.click("#signin").await
    }

    /// The full browser part of a password sign-in: open the URL, log in, and wait until
    /// Latchkey's `sign_in` returns successfully.
    pub async fn password_sign_in(
        &self,
        session: &Session,
        username: &str,
        password: &str,
    ) -> Result<UserSummary, String> {
        self.step(&format!("sign in as {username} with a password"));
        let (task, url) = self
            .begin_sign_in(session, SignInOptions::default())
            .await?;
        self.goto(url.as_str()).await?;
        self.submit_login(username, password).await?;
        self.end_sign_in(task, Duration::from_secs(30))
            .await?
            .map_err(|e| format!("sign-in failed: {:?}: {e}", e.kind()))
    }

    /// The step that failed, the page's URL and text and the provider's log tail, all masked.
    pub async fn report(&self, failure: &str) -> String {
        let step = self.step.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let url = self.page_url().await;
        let text = match self.chrome.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(e) => format!("(no page body: {e})"),
        };
        let text: String = text.chars().take(2000).collect();
        let log = self.idp.log_tail(40).join("\n    ");
        mask_secrets(&format!(
            "\n==== e2e scenario `{}` failed ====\n  step: {step}\n  failure: {failure}\n  page: {url}\n  page text:\n    {}\n  devidp log tail:\n    {log}\n  devidp stats: {:?}\n",
            self.spec.name,
            text.replace('\n', "\n    "),
            self.idp.stats(),
        ))
    }

    /// Closes the Chromium session; on failure prints the report and panics.
    pub async fn finish(&self, result: Result<(), String>) {
        let report = match &result {
            Ok(()) => None,
            Err(failure) => Some(self.report(failure).await),
        };
        let _ = self.chrome.clone().close().await;
        if let Some(report) = report {
            panic!("{report}");
        }
    }
}

/// Runs a scenario body on its own task (so a panic inside still gets a report), then cleans
/// up: Chromium closed, provider stopped, the keychain entries of the scenario deleted.
pub async fn run_scenario<F, Fut>(e: Arc<E2e>, body: F)
where
    F: FnOnce(Arc<E2e>) -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let started = Instant::now();
    let result = match tokio::spawn(body(e.clone())).await {
        Ok(r) => r,
        Err(join) => Err(match join.try_into_panic() {
            Ok(payload) => payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into()),
            Err(e) => format!("the scenario task ended: {e}"),
        }),
    };
    let _ = latchkey_core::internals::delete(&e.vault(), &e.profile().keychain_account());
    eprintln!(
        "[e2e {}] finished in {:.1} s",
        e.spec.name,
        started.elapsed().as_secs_f64()
    );
    e.finish(result).await;
}
