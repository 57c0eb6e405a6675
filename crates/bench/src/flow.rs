//! The rig every measurement runs on: a latchkey-devidp on loopback, a Cognito-kind profile for
//! it (fixed `localhost` callback port, as the app's Demo profile), a clock both sides agree on,
//! and a `Browser` that completes the hosted-UI form over plain HTTP, like a user would.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use latchkey_core::internals::{build_request, AuthorizationRequest, Provider, ProviderMetadata};
use latchkey_core::{
    Browser, Entry, OffsetClock, Profile, ProfileKind, Session, SessionOptions, Vault,
};
use latchkey_devidp::{DevIdp, DevIdpConfig, DEMO_PASSWORD, DEMO_USERNAME};
use url::Url;

use crate::junk::{JunkPlan, JunkReport};

pub type BenchResult<T> = std::result::Result<T, String>;

pub use latchkey_testkit::free_port;

/// A devidp, a profile for it, and one clock offset shared by the provider and every session.
pub struct Rig {
    pub idp: DevIdp,
    pub profile: Profile,
    pub clock: Arc<OffsetClock>,
    offset: AtomicI64,
    pub vault: Vault,
}

impl Rig {
    /// Starts a devidp with a Cognito-style app client registered for one `localhost` port.
    /// `vault`: where sessions keep their secrets (the real keychain in the benchmark).
    pub fn start(name: &str, vault: Vault) -> BenchResult<Rig> {
        let port = free_port();
        let mut cfg = DevIdpConfig::default();
        cfg.client
            .callback_urls
            .push(format!("http://localhost:{port}/callback"));
        let idp = DevIdp::start(cfg).map_err(|e| format!("devidp did not start: {e}"))?;
        let mut profile = Profile::cognito(
            name,
            "us-east-1",
            &idp.user_pool_id(),
            Url::parse(&idp.base_url()).map_err(|e| e.to_string())?,
            &idp.client_id(),
        );
        if let ProfileKind::Cognito { issuer, .. } = &mut profile.kind {
            *issuer = Some(Url::parse(&idp.issuer()).map_err(|e| e.to_string())?);
        }
        profile.ports = vec![port];
        profile.sign_in_timeout = Duration::from_secs(60);
        profile.api_base_urls = vec![Url::parse(&idp.base_url()).map_err(|e| e.to_string())?];
        Ok(Rig {
            idp,
            profile,
            clock: Arc::new(OffsetClock::new(0)),
            offset: AtomicI64::new(0),
            vault,
        })
    }

    /// Moves the provider's clock and the sessions' clock forward together (token expiry
    /// without sleeping).
    pub fn advance(&self, secs: i64) {
        self.idp.advance_clock(Duration::from_secs(secs as u64));
        let total = self.offset.fetch_add(secs, Ordering::SeqCst) + secs;
        self.clock.set_offset(total);
    }

    pub fn options(&self, browser: Arc<dyn Browser>) -> SessionOptions {
        SessionOptions {
            vault: self.vault.clone(),
            browser: Some(browser),
            clock: self.clock.clone(),
            ..SessionOptions::default()
        }
    }

    pub fn session(&self, browser: Arc<dyn Browser>) -> BenchResult<Session> {
        Session::new(self.profile.clone(), self.options(browser)).map_err(|e| e.to_string())
    }

    /// The redirect URI registered at the provider.
    pub fn redirect_uri(&self) -> String {
        format!(
            "http://{}:{}{}",
            self.profile.redirect_host, self.profile.ports[0], self.profile.redirect_path
        )
    }

    /// The provider's endpoints as core derives them for this profile, with an empty key cache.
    pub fn provider(&self) -> BenchResult<Provider> {
        let metadata = ProviderMetadata::cognito(&self.profile).map_err(|e| e.to_string())?;
        Ok(Provider::new(metadata, core_like_client()))
    }
}

/// An HTTP client set up like core's (no redirects followed, same timeouts).
pub fn core_like_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .user_agent("latchkey-bench")
        .build()
        .expect("a reqwest client builds")
}

/// The hosted-UI dance as the demo user (testkit's): the loopback callback URL, unvisited.
pub async fn login_to_callback(http: &reqwest::Client, authorize: &Url) -> BenchResult<Url> {
    latchkey_testkit::login_with(http, authorize, DEMO_USERNAME, DEMO_PASSWORD).await
}

/// What the browser saw: when the callback request left it, and how the listener answered.
#[derive(Default)]
struct BrowserLog {
    callback_sent: Option<Instant>,
    callback_status: Option<u16>,
    junk: Option<JunkReport>,
    errors: Vec<String>,
}

/// Opens the authorize URL by completing the hosted UI over HTTP in a tokio task, then visits
/// the callback. With a [`JunkPlan`] it first floods the loopback listener with junk and sends
/// the real callback when half of the junk is out.
#[derive(Clone, Default)]
pub struct HttpBrowser {
    log: Arc<Mutex<BrowserLog>>,
    junk: Option<JunkPlan>,
}

impl HttpBrowser {
    pub fn new() -> HttpBrowser {
        HttpBrowser::default()
    }

    pub fn with_junk(plan: JunkPlan) -> HttpBrowser {
        HttpBrowser {
            log: Arc::default(),
            junk: Some(plan),
        }
    }

    /// When the callback request was sent (and forgets it, ready for the next sign-in).
    pub fn take_callback_sent(&self) -> Option<Instant> {
        self.log.lock().unwrap().callback_sent.take()
    }

    pub fn take_callback_status(&self) -> Option<u16> {
        self.log.lock().unwrap().callback_status.take()
    }

    pub fn take_junk_report(&self) -> Option<JunkReport> {
        self.log.lock().unwrap().junk.take()
    }

    pub fn take_errors(&self) -> Vec<String> {
        std::mem::take(&mut self.log.lock().unwrap().errors)
    }
}

impl Browser for HttpBrowser {
    fn open(&self, url: &Url) -> latchkey_core::Result<()> {
        let url = url.clone();
        let log = self.log.clone();
        let junk = self.junk;
        tokio::runtime::Handle::current().spawn(async move {
            let http = core_like_client();
            let junk_run = junk.map(|plan| {
                let redirect = url
                    .query_pairs()
                    .find(|(k, _)| k == "redirect_uri")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                crate::junk::start(plan, &redirect)
            });
            let callback = match login_to_callback(&http, &url).await {
                Ok(c) => c,
                Err(e) => {
                    log.lock().unwrap().errors.push(e);
                    return;
                }
            };
            if let Some(run) = &junk_run {
                run.wait_until_half_sent().await;
            }
            log.lock().unwrap().callback_sent = Some(Instant::now());
            match http.get(callback).send().await {
                Ok(r) => log.lock().unwrap().callback_status = Some(r.status().as_u16()),
                Err(e) => log.lock().unwrap().errors.push(format!("callback: {e}")),
            }
            if let Some(run) = junk_run {
                let report = run.finish().await;
                log.lock().unwrap().junk = Some(report);
            }
        });
        Ok(())
    }
}

/// A token endpoint answer (the parts the benchmark needs).
#[derive(Clone)]
pub struct TokenSet {
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
}

/// A fresh authorization code for `rig`'s client, obtained through the hosted UI (not timed).
pub async fn fresh_code(
    rig: &Rig,
    provider: &Provider,
    http: &reqwest::Client,
) -> BenchResult<(String, AuthorizationRequest)> {
    let req = build_request(
        &provider.metadata,
        &rig.profile,
        &rig.redirect_uri(),
        Entry::SignIn,
        &[],
    )
    .map_err(|e| e.to_string())?;
    let callback = login_to_callback(http, &req.url).await?;
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or("the callback carries no code")?;
    Ok((code, req))
}

/// The code exchange exactly as core sends it (public client, PKCE verifier, form body).
pub async fn exchange(
    http: &reqwest::Client,
    provider: &Provider,
    client_id: &str,
    code: &str,
    req: &AuthorizationRequest,
) -> BenchResult<TokenSet> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", req.redirect_uri.as_str()),
            ("client_id", client_id),
            ("code_verifier", req.pkce_verifier.secret().as_str()),
        ])
        .finish();
    let resp = http
        .post(provider.metadata.token_endpoint.clone())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("token endpoint: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("token endpoint answered HTTP {status}"));
    }
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let s = |k: &str| json.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    Ok(TokenSet {
        id_token: s("id_token").ok_or("no id_token")?,
        access_token: s("access_token").ok_or("no access_token")?,
        refresh_token: s("refresh_token"),
    })
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
