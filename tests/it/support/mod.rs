//! End-to-end harness on top of latchkey-testkit: a devidp with a Cognito-kind profile that a
//! child process can rebuild, a sign-out page, child test processes, and the browser scenario
//! runner ([`E2e`]) with its step bookkeeping for failure reports.
#![allow(dead_code)] // each test binary uses part of the harness

pub mod cli;

use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use latchkey_core::{Profile, Session, SessionOptions, SignInOptions, UserSummary, Vault};
use latchkey_testkit::devidp::{DevIdp, DevIdpConfig};
use latchkey_testkit::webdriver::{chromium, shared_chromedriver, Service};
use latchkey_testkit::{free_port, mask_secrets, unique_service, ManualBrowser};
use url::Url;

pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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

/// Runs this test binary again as a child process, running only `test_name` (its path in the
/// binary, `module::name`: a helper test that does nothing unless `LATCHKEY_E2E_CHILD` is
/// set), with extra environment.
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
    hook: Arc<ManualBrowser>,
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
        let (hook, rx) = ManualBrowser::new();
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
