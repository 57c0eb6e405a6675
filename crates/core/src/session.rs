//! The session: the one entry point the app and the CLI use. A state machine (observable via a
//! `watch` channel) over sign-in, restore, refresh (single-flight, also across processes),
//! sign-out and API calls.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use tokio::sync::{oneshot, watch};
use url::Url;

use crate::authorize;
use crate::browser::{self, Browser};
use crate::config::{Profile, TokenChoice};
use crate::error::{Error, ErrorKind, Result};
use crate::loopback::{CallbackExpectations, CallbackOutcome, LoopbackListener};
use crate::provider::Provider;
use crate::secret::{AuthorizationCode, RefreshToken, SecretToken};
use crate::vault::{StoredSession, Vault, VaultHealth};
use crate::verify::{self, IdTokenExpectations};

/// Where "now" comes from (swappable in tests).
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        Utc::now().timestamp()
    }
}

/// The system clock shifted by an adjustable offset (tests: skew, expiry).
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset: AtomicI64,
}

impl OffsetClock {
    pub fn new(offset_secs: i64) -> Self {
        Self {
            offset: AtomicI64::new(offset_secs),
        }
    }
    pub fn set_offset(&self, secs: i64) {
        self.offset.store(secs, Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> i64 {
        Utc::now().timestamp() + self.offset.load(Ordering::SeqCst)
    }
}

/// How a session is wired: where secrets go, how the browser opens, the clock.
#[derive(Clone)]
pub struct SessionOptions {
    pub vault: Vault,
    /// `None`: the profile's `browser_command`, else the system browser.
    pub browser: Option<Arc<dyn Browser>>,
    /// `None`: the profile's `http_timeout`.
    pub http_timeout: Option<Duration>,
    pub clock: Arc<dyn Clock>,
    /// Sanity bound on a fresh token's `iat` age.
    pub max_iat_age: Duration,
}

impl Default for SessionOptions {
    /// The OS keychain, the profile's browser, the system clock.
    fn default() -> Self {
        Self::with_vault(Vault::system())
    }
}

impl SessionOptions {
    /// Defaults around `vault` (touches the OS keychain only if `vault` is the system one).
    pub fn with_vault(vault: Vault) -> Self {
        Self {
            vault,
            browser: None,
            http_timeout: None,
            clock: Arc::new(SystemClock),
            max_iat_age: Duration::from_secs(verify::DEFAULT_MAX_IAT_AGE as u64),
        }
    }

    /// Secrets in memory only (nothing persisted, the keychain is not touched).
    pub fn memory() -> Self {
        Self::with_vault(Vault::memory())
    }
}

/// Options for one sign-in.
#[derive(Debug, Clone)]
pub struct SignInOptions {
    /// Open the provider's sign-up page instead of sign-in.
    pub signup: bool,
    /// How long to wait for the callback (`Duration::ZERO`: the profile's `sign_in_timeout`).
    pub timeout: Duration,
    /// Use exactly this port instead of the profile's list.
    pub port: Option<u16>,
    /// Do not open a browser; the URL is in `SessionState::SigningIn` for the caller to show.
    pub no_browser: bool,
}

impl Default for SignInOptions {
    fn default() -> Self {
        Self {
            signup: false,
            timeout: Duration::ZERO,
            port: None,
            no_browser: false,
        }
    }
}

/// Who is signed in (from the verified ID token).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UserSummary {
    pub sub: String,
    pub username: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub groups: Vec<String>,
    pub issuer: String,
    pub auth_time: Option<DateTime<Utc>>,
}

/// Where this session's secrets live.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StorageInfo {
    pub store_name: String,
    pub persistent: bool,
    /// Set when the keychain could not be used and the session is memory-only.
    pub warning: Option<String>,
}

/// The session's observable state.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SessionState {
    SignedOut {
        reason: Option<String>,
    },
    SigningIn {
        /// The URL opened in the browser (show it when the browser could not be opened).
        authorize_url: Url,
        redirect_uri: String,
        expires_at: DateTime<Utc>,
    },
    SignedIn {
        user: UserSummary,
        id_expires_at: DateTime<Utc>,
        access_expires_at: DateTime<Utc>,
        storage: StorageInfo,
    },
    Refreshing {
        user: UserSummary,
    },
    Error {
        kind: ErrorKind,
        message: String,
    },
}

impl SessionState {
    pub fn name(&self) -> &'static str {
        match self {
            SessionState::SignedOut { .. } => "signed_out",
            SessionState::SigningIn { .. } => "signing_in",
            SessionState::SignedIn { .. } => "signed_in",
            SessionState::Refreshing { .. } => "refreshing",
            SessionState::Error { .. } => "error",
        }
    }
}

/// Current tokens for API calls. `Debug` redacts.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub id_token: SecretToken,
    pub access_token: SecretToken,
    pub id_expires_at: DateTime<Utc>,
    pub access_expires_at: DateTime<Utc>,
}

/// What sign-out did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SignOutOutcome {
    /// Open this in the browser to end the provider's browser session too.
    pub logout_url: Option<Url>,
    /// The refresh token was revoked at the provider.
    pub revoked: bool,
    pub warnings: Vec<String>,
}

/// Facts about the refresh token, never its value.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RefreshTokenInfo {
    pub kind: String,
    pub length: usize,
    pub stored_since: DateTime<Utc>,
    pub store: String,
}

struct Current {
    id_token: SecretToken,
    access_token: SecretToken,
    refresh_token: Option<RefreshToken>,
    id_exp: i64,
    id_iat: i64,
    access_exp: i64,
    refresh_stored_since: i64,
    generation: u64,
    iss: String,
    sub: String,
    aud: Vec<String>,
    user: UserSummary,
}

impl Current {
    fn tokens(&self) -> Tokens {
        Tokens {
            id_token: self.id_token.clone(),
            access_token: self.access_token.clone(),
            id_expires_at: ts(self.id_exp),
            access_expires_at: ts(self.access_exp),
        }
    }

    fn to_stored(&self, profile: &Profile) -> StoredSession {
        StoredSession {
            version: 1,
            generation: self.generation,
            refresh_token: self.refresh_token.as_ref().map(|r| r.expose().to_owned()),
            refresh_stored_since: self.refresh_stored_since,
            id_token: self.id_token.expose().to_owned(),
            access_token: self.access_token.expose().to_owned(),
            id_expires_at: self.id_exp,
            access_expires_at: self.access_exp,
            issuer: profile.issuer(),
            client_id: profile.client_id.clone(),
            sub: self.sub.clone(),
            aud: self.aud.clone(),
        }
    }

    fn from_stored(s: &StoredSession) -> Result<Current> {
        let jwt = verify::decode_jwt(&s.id_token).map_err(|_| {
            Error::new(
                ErrorKind::Keychain,
                "the stored ID token is damaged; sign in again.",
            )
        })?;
        Ok(Current {
            id_token: SecretToken::new(s.id_token.clone()),
            access_token: SecretToken::new(s.access_token.clone()),
            refresh_token: s.refresh_token.clone().map(RefreshToken::new),
            id_exp: s.id_expires_at,
            id_iat: jwt.claim_i64("iat").unwrap_or(s.id_expires_at - 3600),
            access_exp: s.access_expires_at,
            refresh_stored_since: s.refresh_stored_since,
            generation: s.generation,
            iss: s.issuer.clone(),
            sub: s.sub.clone(),
            aud: s.aud.clone(),
            user: user_summary(&jwt),
        })
    }
}

fn ts(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

fn user_summary(jwt: &verify::Jwt) -> UserSummary {
    let s = |k: &str| jwt.claim_str(k).map(str::to_owned);
    UserSummary {
        sub: s("sub").unwrap_or_default(),
        username: s("cognito:username")
            .or_else(|| s("preferred_username"))
            .or_else(|| s("username")),
        email: s("email"),
        name: s("name"),
        groups: jwt
            .claims
            .get("cognito:groups")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|g| g.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        issuer: s("iss").unwrap_or_default(),
        auth_time: jwt.claim_i64("auth_time").map(ts),
    }
}

/// A token endpoint answer, parsed leniently (A36: any-case token_type, optional expires_in).
struct TokenResponse {
    id_token: Option<String>,
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<i64>,
}

struct Inner {
    profile: Profile,
    http: reqwest::Client,
    vault: Vault,
    storage: Mutex<StorageInfo>,
    health: VaultHealth,
    clock: Arc<dyn Clock>,
    browser: Arc<dyn Browser>,
    max_iat_age: i64,
    provider: tokio::sync::OnceCell<Arc<Provider>>,
    state_tx: watch::Sender<SessionState>,
    current: Mutex<Option<Current>>,
    refresh_gate: tokio::sync::Mutex<()>,
    sign_in_cancel: Mutex<Option<oneshot::Sender<()>>>,
    account: String,
    lock_path: PathBuf,
}

/// The sign-in engine for one profile. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("profile", &self.inner.profile.name)
            .field("state", &self.state().name())
            .finish()
    }
}

/// The directory for the cross-process refresh lock: `$LATCHKEY_RUNTIME_DIR`, the OS runtime
/// dir (`$XDG_RUNTIME_DIR`), else the cache dir.
pub fn runtime_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("LATCHKEY_RUNTIME_DIR") {
        return PathBuf::from(p);
    }
    if let Some(d) =
        directories::BaseDirs::new().and_then(|b| b.runtime_dir().map(|r| r.join("latchkey")))
    {
        return d;
    }
    directories::ProjectDirs::from("dev", "latchkey", "Latchkey")
        .map(|d| d.cache_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("latchkey"))
}

fn short_hash(s: &str) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(s.as_bytes());
    h[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Held while refreshing: serialises refreshes of one profile across processes.
struct RefreshLock {
    _file: std::fs::File,
}

async fn acquire_refresh_lock(path: PathBuf) -> Result<RefreshLock> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::new(ErrorKind::Internal, format!("cannot create the lock directory {} ({e}); set LATCHKEY_RUNTIME_DIR to a writable directory.", dir.display())))?;
    }
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| Error::new(ErrorKind::Internal, format!("cannot open the refresh lock {} ({e}); set LATCHKEY_RUNTIME_DIR to a writable directory.", path.display())))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => return Ok(RefreshLock { _file: file }),
            Err(fs4::TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(25)).await,
            Err(e) => return Err(Error::new(ErrorKind::Internal, format!("cannot take the refresh lock {} ({e}); another Latchkey process may be stuck: end it and retry.", path.display()))),
        }
    }
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

impl Session {
    pub fn new(profile: Profile, options: SessionOptions) -> Result<Session> {
        let timeout = options.http_timeout.unwrap_or(profile.http_timeout);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("latchkey/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(Error::internal)?;
        let health = options.vault.probe();
        let (vault, storage) = if health.ok {
            (
                options.vault.clone(),
                StorageInfo {
                    store_name: health.store_name.clone(),
                    persistent: health.persistent,
                    warning: None,
                },
            )
        } else {
            tracing::warn!(store = %health.store_name, "keychain unavailable; this session is kept in memory only");
            (
                Vault::memory(),
                StorageInfo {
                    store_name: "memory only (not persisted)".into(),
                    persistent: false,
                    warning: Some(health.message.clone()),
                },
            )
        };
        let browser = options
            .browser
            .clone()
            .unwrap_or_else(|| browser::for_command(profile.browser_command.as_ref()));
        let account = profile.keychain_account();
        let lock_path = runtime_dir().join(format!(
            "refresh-{}.lock",
            short_hash(&format!("{}|{account}", options.vault.service()))
        ));
        let (state_tx, _) = watch::channel(SessionState::SignedOut { reason: None });
        Ok(Session {
            inner: Arc::new(Inner {
                profile,
                http,
                vault,
                storage: Mutex::new(storage),
                health,
                clock: options.clock,
                browser,
                max_iat_age: options.max_iat_age.as_secs() as i64,
                provider: tokio::sync::OnceCell::new(),
                state_tx,
                current: Mutex::new(None),
                refresh_gate: tokio::sync::Mutex::new(()),
                sign_in_cancel: Mutex::new(None),
                account,
                lock_path,
            }),
        })
    }

    pub fn profile(&self) -> &Profile {
        &self.inner.profile
    }

    /// The keychain probe made when the session was created.
    pub fn vault_health(&self) -> &VaultHealth {
        &self.inner.health
    }

    pub fn storage(&self) -> StorageInfo {
        self.inner.storage.lock().unwrap().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<SessionState> {
        self.inner.state_tx.subscribe()
    }

    pub fn state(&self) -> SessionState {
        self.inner.state_tx.borrow().clone()
    }

    fn set_state(&self, s: SessionState) {
        tracing::debug!(state = s.name(), "session state");
        self.inner.state_tx.send_replace(s);
    }

    fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    fn signed_in_state(&self, cur: &Current) -> SessionState {
        SessionState::SignedIn {
            user: cur.user.clone(),
            id_expires_at: ts(cur.id_exp),
            access_expires_at: ts(cur.access_exp),
            storage: self.storage(),
        }
    }

    /// Discovery / Cognito endpoints, loaded once.
    pub async fn provider(&self) -> Result<Arc<Provider>> {
        self.inner
            .provider
            .get_or_try_init(|| async {
                Provider::load(&self.inner.profile, self.inner.http.clone())
                    .await
                    .map(Arc::new)
            })
            .await
            .cloned()
    }

    // ---- keychain helpers (blocking calls off the async threads) ----

    async fn vault_load(&self) -> Result<Option<StoredSession>> {
        let vault = self.inner.vault.clone();
        let account = self.inner.account.clone();
        tokio::task::spawn_blocking(move || vault.load_session(&account))
            .await
            .map_err(Error::internal)?
    }

    async fn vault_store(&self, s: StoredSession) -> Result<()> {
        let vault = self.inner.vault.clone();
        let account = self.inner.account.clone();
        tokio::task::spawn_blocking(move || vault.store_session(&account, &s))
            .await
            .map_err(Error::internal)?
    }

    async fn vault_delete(&self) -> Result<()> {
        let vault = self.inner.vault.clone();
        let account = self.inner.account.clone();
        tokio::task::spawn_blocking(move || vault.delete(&account))
            .await
            .map_err(Error::internal)?
    }

    /// Persist `cur`; on a keychain failure keep the session in memory and say so.
    async fn persist(&self, cur: &Current) -> Option<Error> {
        match self.vault_store(cur.to_stored(&self.inner.profile)).await {
            Ok(()) => None,
            Err(e) => {
                tracing::warn!(kind = ?e.kind(), "could not store the session in the keychain; keeping it in memory only");
                let mut st = self.inner.storage.lock().unwrap();
                st.warning = Some(e.message().to_owned());
                Some(e)
            }
        }
    }

    // ---- restore ----

    /// Start-up: read the keychain, refresh if needed, end `SignedIn` or `SignedOut` (with a reason).
    pub async fn restore(&self) -> Result<SessionState> {
        let stored = match self.vault_load().await {
            Ok(s) => s,
            Err(e) => {
                self.set_state(SessionState::SignedOut {
                    reason: Some(e.message().to_owned()),
                });
                return Err(e);
            }
        };
        let Some(stored) = stored else {
            let reason = match self.storage().warning {
                Some(w) => w,
                None => "no saved session; sign in".to_owned(),
            };
            self.set_state(SessionState::SignedOut {
                reason: Some(reason),
            });
            return Ok(self.state());
        };
        if stored.issuer != self.inner.profile.issuer()
            || stored.client_id != self.inner.profile.client_id
        {
            self.set_state(SessionState::SignedOut {
                reason: Some(
                    "the saved session belongs to another issuer or client; sign in again".into(),
                ),
            });
            return Ok(self.state());
        }
        let cur = Current::from_stored(&stored)?;
        let state = self.signed_in_state(&cur);
        *self.inner.current.lock().unwrap() = Some(cur);
        self.set_state(state);
        match self.tokens().await {
            Ok(_) => {}
            Err(e)
                if e.kind() == ErrorKind::SessionExpired || e.kind() == ErrorKind::NotSignedIn => {}
            Err(e) => {
                // Network trouble: keep the session; the next tokens() call retries.
                tracing::debug!(kind = ?e.kind(), "refresh during restore failed; session kept");
            }
        }
        Ok(self.state())
    }

    // ---- sign-in ----

    /// Cancel a running sign-in (it returns `ErrorKind::Cancelled` and releases the port).
    pub fn cancel_sign_in(&self) {
        if let Some(tx) = self.inner.sign_in_cancel.lock().unwrap().take() {
            let _ = tx.send(());
        }
    }

    /// Browser sign-in: loopback listener first, then the browser, then code exchange and verification.
    pub async fn sign_in(&self, opts: SignInOptions) -> Result<UserSummary> {
        let previous = self.state();
        let (cancel_tx, cancel_rx) = oneshot::channel();
        {
            let mut slot = self.inner.sign_in_cancel.lock().unwrap();
            if slot.as_ref().map(|s| !s.is_closed()).unwrap_or(false) {
                return Err(Error::new(
                    ErrorKind::Busy,
                    "a sign-in is already running; finish or cancel it first.",
                ));
            }
            *slot = Some(cancel_tx);
        }
        let result = self.sign_in_inner(opts, cancel_rx).await;
        self.inner.sign_in_cancel.lock().unwrap().take();
        match &result {
            Ok(_) => {}
            Err(e) => {
                let has_session = self.inner.current.lock().unwrap().is_some();
                if has_session && matches!(previous, SessionState::SignedIn { .. }) {
                    self.set_state(previous);
                } else {
                    self.set_state(SessionState::Error {
                        kind: e.kind(),
                        message: e.message().to_owned(),
                    });
                }
            }
        }
        result
    }

    async fn sign_in_inner(
        &self,
        opts: SignInOptions,
        mut cancel_rx: oneshot::Receiver<()>,
    ) -> Result<UserSummary> {
        let profile = &self.inner.profile;
        let provider = self.provider().await?;
        let ports: Vec<u16> = match opts.port {
            Some(p) => vec![p],
            None => profile.ports.clone(),
        };
        let mut listener =
            LoopbackListener::bind(&profile.redirect_host, &profile.redirect_path, &ports)?;
        let redirect_uri = listener.redirect_uri();
        let req =
            authorize::build_request(&provider.metadata, profile, &redirect_uri, opts.signup)?;
        listener.serve(CallbackExpectations {
            state: req.state.secret().clone(),
            issuer: provider.metadata.issuer.clone(),
            iss_required: provider
                .metadata
                .authorization_response_iss_parameter_supported,
        })?;
        let timeout = if opts.timeout.is_zero() {
            profile.sign_in_timeout
        } else {
            opts.timeout
        };
        self.set_state(SessionState::SigningIn {
            authorize_url: req.url.clone(),
            redirect_uri: redirect_uri.clone(),
            expires_at: Utc::now() + chrono::Duration::from_std(timeout).unwrap_or_default(),
        });
        if !opts.no_browser {
            if let Err(e) = self.inner.browser.open(&req.url) {
                // C6: keep waiting; the URL is in the SigningIn state for the user to open.
                tracing::warn!(kind = ?e.kind(), "browser did not open; waiting for the user to open the URL");
            }
        }
        let outcome = tokio::select! {
            r = listener.next() => r,
            _ = tokio::time::sleep(timeout) => Err(Error::new(ErrorKind::Timeout, format!("the sign-in did not finish within {} s; the callback port is closed. Sign in again (and finish the browser step sooner).", timeout.as_secs()))),
            _ = &mut cancel_rx => Err(Error::new(ErrorKind::Cancelled, "the sign-in was cancelled; the callback port is closed.")),
        };
        listener.close();
        let code = match outcome? {
            CallbackOutcome::Code(c) => c,
            CallbackOutcome::Failed(e) => return Err(e),
        };
        self.redeem(&provider, code, &req).await
    }

    async fn redeem(
        &self,
        provider: &Provider,
        code: AuthorizationCode,
        req: &authorize::AuthorizationRequest,
    ) -> Result<UserSummary> {
        let profile = &self.inner.profile;
        let body = form_body(&[
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("redirect_uri", &req.redirect_uri),
            ("client_id", &profile.client_id),
            ("code_verifier", req.pkce_verifier.secret()),
        ]);
        let resp = self
            .token_request(provider, body, "the code exchange")
            .await?;
        let id_token = resp.id_token.clone().ok_or_else(|| {
            Error::verification("the token response has no ID token (is `openid` in the scopes?)")
        })?;
        let now = self.now();
        let x = IdTokenExpectations {
            issuer: &provider.metadata.issuer,
            client_id: &profile.client_id,
            now,
            leeway: profile.clock_leeway.as_secs() as i64,
            max_iat_age: self.inner.max_iat_age,
            nonce: Some(req.nonce.secret()),
            access_token: Some(&resp.access_token),
            cognito: profile.is_cognito(),
            previous: None,
        };
        let verified = verify::verify_id_token(provider, &id_token, &x).await?;
        let access_exp = self.access_expiry(provider, &resp, now).await?;
        let cur = Current {
            id_token: SecretToken::new(id_token),
            access_token: SecretToken::new(resp.access_token),
            refresh_token: resp.refresh_token.map(RefreshToken::new),
            id_exp: verified.exp(),
            id_iat: verified.jwt.claim_i64("iat").unwrap_or(now),
            access_exp,
            refresh_stored_since: now,
            generation: self.next_generation().await,
            iss: provider.metadata.issuer.clone(),
            sub: verified.sub().to_owned(),
            aud: verified.jwt.audiences(),
            user: user_summary(&verified.jwt),
        };
        self.persist(&cur).await;
        let user = cur.user.clone();
        let state = self.signed_in_state(&cur);
        *self.inner.current.lock().unwrap() = Some(cur);
        self.set_state(state);
        tracing::info!("signed in");
        Ok(user)
    }

    /// A generation number larger than anything stored for this profile.
    async fn next_generation(&self) -> u64 {
        let mem = self
            .inner
            .current
            .lock()
            .unwrap()
            .as_ref()
            .map(|c| c.generation)
            .unwrap_or(0);
        let stored = if self.storage().persistent {
            self.vault_load()
                .await
                .ok()
                .flatten()
                .map(|s| s.generation)
                .unwrap_or(0)
        } else {
            0
        };
        mem.max(stored) + 1
    }

    /// Cognito: verify the access token and use its `exp`; others: `expires_in` (or the JWT's exp).
    async fn access_expiry(
        &self,
        provider: &Provider,
        resp: &TokenResponse,
        now: i64,
    ) -> Result<i64> {
        let profile = &self.inner.profile;
        if profile.is_cognito() {
            verify::verify_cognito_access_token(
                provider,
                &resp.access_token,
                &provider.metadata.issuer,
                &profile.client_id,
                now,
                profile.clock_leeway.as_secs() as i64,
            )
            .await?;
        }
        let from_jwt = verify::decode_jwt(&resp.access_token)
            .ok()
            .and_then(|j| j.claim_i64("exp"));
        Ok(match (resp.expires_in, from_jwt) {
            (_, Some(exp)) if profile.is_cognito() => exp,
            (Some(e), _) => now + e,
            (None, Some(exp)) => exp,
            (None, None) => now + 3600,
        })
    }

    /// POST to the token endpoint; never follows a redirect (C10), never logs the body.
    async fn token_request(
        &self,
        provider: &Provider,
        body: String,
        what: &str,
    ) -> Result<TokenResponse> {
        let url = provider.metadata.token_endpoint.clone();
        tracing::debug!(%url, what, "token request");
        let resp = provider
            .http()
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| Error::from_http(what, &e))?;
        let status = resp.status();
        tracing::debug!(status = status.as_u16(), what, "token response");
        if status.is_redirection() {
            return Err(Error::new(ErrorKind::ProviderError, format!("the token endpoint answered {what} with a redirect (HTTP {}); Latchkey does not follow it, so the code/refresh token is not sent elsewhere. Check the profile's domain/issuer.", status.as_u16())));
        }
        let text = resp.text().await.map_err(|e| Error::from_http(what, &e))?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|_| Error::new(ErrorKind::ProviderError, format!("the token endpoint's answer to {what} (HTTP {}) is not JSON; the provider or a proxy is misbehaving. Try again later.", status.as_u16())))?;
        if !status.is_success() {
            let code = json
                .get("error")
                .and_then(|v| v.as_str())
                .unwrap_or("unknown_error");
            let code: String = code
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .take(64)
                .collect();
            if code == "invalid_grant" && what != "the code exchange" {
                return Err(Error::new(ErrorKind::SessionExpired, format!("the provider refused {what} with invalid_grant: the session expired or was revoked (or the code was already used). Sign in again.")));
            }
            if code == "invalid_grant" {
                return Err(Error::new(ErrorKind::ProviderError, "the provider refused the sign-in code (invalid_grant: used, expired, or issued to another client or provider). Sign in again."));
            }
            let kind = if status.is_server_error() {
                ErrorKind::ProviderUnreachable
            } else {
                ErrorKind::ProviderError
            };
            return Err(Error::new(kind, format!("the token endpoint refused {what}: HTTP {} `{code}`. Check the profile's client id and that the app client allows the authorization-code grant without a secret.", status.as_u16())));
        }
        let s = |k: &str| json.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        match s("token_type") {
            Some(t) if t.eq_ignore_ascii_case("bearer") => {}
            Some(_) => return Err(Error::new(ErrorKind::ProviderError, "the token endpoint issued a token type other than Bearer; Latchkey supports Bearer tokens only.")),
            None => return Err(Error::new(ErrorKind::ProviderError, "the token response has no token_type; the provider is not OAuth 2.0 compliant.")),
        }
        let access_token = s("access_token").ok_or_else(|| {
            Error::new(
                ErrorKind::ProviderError,
                "the token response has no access_token.",
            )
        })?;
        Ok(TokenResponse {
            id_token: s("id_token"),
            access_token,
            refresh_token: s("refresh_token"),
            expires_in: json.get("expires_in").and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            }),
        })
    }

    // ---- tokens / refresh ----

    fn needs_refresh(&self, cur: &Current) -> bool {
        let now = self.now();
        let configured = self.inner.profile.refresh_margin.as_secs() as i64;
        // Both tokens come from the same token response, so they were issued together. Each
        // token's margin is capped at half its own lifetime: a larger one would refresh (and
        // rotate the refresh token) on every call.
        let due = |exp: i64| exp - now <= configured.min((exp - cur.id_iat).max(0) / 2);
        due(cur.id_exp) || due(cur.access_exp)
    }

    /// Valid tokens, refreshed first when less than the margin is left. One refresh in flight
    /// per session, and per profile across processes.
    pub async fn tokens(&self) -> Result<Tokens> {
        let (gen, needs) = {
            let guard = self.inner.current.lock().unwrap();
            let cur = guard.as_ref().ok_or_else(Error::not_signed_in)?;
            if !self.needs_refresh(cur) {
                return Ok(cur.tokens());
            }
            (cur.generation, true)
        };
        debug_assert!(needs);
        self.refresh_after(gen, false).await
    }

    /// Refresh now, unless another caller refreshed since generation `seen_gen`.
    async fn refresh_after(&self, seen_gen: u64, forced: bool) -> Result<Tokens> {
        let _gate = self.inner.refresh_gate.lock().await;
        {
            let guard = self.inner.current.lock().unwrap();
            let cur = guard.as_ref().ok_or_else(Error::not_signed_in)?;
            if cur.generation != seen_gen || (!forced && !self.needs_refresh(cur)) {
                return Ok(cur.tokens());
            }
        }
        let persistent = self.storage().persistent;
        let _lock = if persistent {
            Some(acquire_refresh_lock(self.inner.lock_path.clone()).await?)
        } else {
            None
        };
        {
            // Another process (or another session on the same vault) may have refreshed (and rotated the token) while we waited.
            if let Ok(Some(stored)) = self.vault_load().await {
                let adopt = {
                    let guard = self.inner.current.lock().unwrap();
                    guard
                        .as_ref()
                        .map(|c| stored.generation > c.generation && stored.sub == c.sub)
                        .unwrap_or(false)
                };
                if adopt {
                    let cur = Current::from_stored(&stored)?;
                    let tokens = cur.tokens();
                    let state = self.signed_in_state(&cur);
                    *self.inner.current.lock().unwrap() = Some(cur);
                    self.set_state(state);
                    tracing::debug!("adopted tokens refreshed by another process");
                    return Ok(tokens);
                }
            }
        }
        self.refresh_now().await
    }

    async fn refresh_now(&self) -> Result<Tokens> {
        let provider = self.provider().await?;
        let profile = &self.inner.profile;
        let (refresh_token, user, prev_iss, prev_sub, prev_aud, old_id, old_id_exp, old_id_iat) = {
            let guard = self.inner.current.lock().unwrap();
            let cur = guard.as_ref().ok_or_else(Error::not_signed_in)?;
            (
                cur.refresh_token.clone(),
                cur.user.clone(),
                cur.iss.clone(),
                cur.sub.clone(),
                cur.aud.clone(),
                cur.id_token.clone(),
                cur.id_exp,
                cur.id_iat,
            )
        };
        let Some(refresh_token) = refresh_token else {
            return Err(Error::new(
                ErrorKind::SessionExpired,
                "the tokens expired and the provider issued no refresh token; sign in again.",
            ));
        };
        self.set_state(SessionState::Refreshing { user });
        let body = form_body(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", &profile.client_id),
        ]);
        let mut delay = Duration::from_millis(250);
        let mut attempt = 0;
        let resp = loop {
            attempt += 1;
            match self
                .token_request(&provider, body.clone(), "the token refresh")
                .await
            {
                Ok(r) => break Ok(r),
                Err(e) if e.kind() == ErrorKind::ProviderUnreachable && attempt < 3 => {
                    tracing::debug!(attempt, "refresh failed (network); retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(e) => break Err(e),
            }
        };
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                if e.kind() == ErrorKind::SessionExpired {
                    // B11: dead (revoked, expired, or reuse detected) → wipe it and sign out cleanly.
                    *self.inner.current.lock().unwrap() = None;
                    let _ = self.vault_delete().await;
                    self.set_state(SessionState::SignedOut {
                        reason: Some(Error::session_expired().message().to_owned()),
                    });
                    return Err(Error::session_expired());
                }
                self.restore_signed_in_state();
                return Err(e);
            }
        };
        let now = self.now();
        let (id_token, id_exp, id_iat, user) = match &resp.id_token {
            Some(t) => {
                let x = IdTokenExpectations {
                    issuer: &provider.metadata.issuer,
                    client_id: &profile.client_id,
                    now,
                    leeway: profile.clock_leeway.as_secs() as i64,
                    max_iat_age: self.inner.max_iat_age,
                    nonce: None,
                    access_token: Some(&resp.access_token),
                    cognito: profile.is_cognito(),
                    previous: Some((&prev_iss, &prev_sub, &prev_aud)),
                };
                match verify::verify_id_token(&provider, t, &x).await {
                    Ok(v) => (
                        SecretToken::new(t.clone()),
                        v.exp(),
                        v.jwt.claim_i64("iat").unwrap_or(now),
                        Some(user_summary(&v.jwt)),
                    ),
                    Err(e) => {
                        self.restore_signed_in_state();
                        return Err(e);
                    }
                }
            }
            None => (old_id, old_id_exp, old_id_iat, None),
        };
        let access_exp = match self.access_expiry(&provider, &resp, now).await {
            Ok(a) => a,
            Err(e) => {
                self.restore_signed_in_state();
                return Err(e);
            }
        };
        let generation = self.next_generation().await;
        let new_cur = {
            let guard = self.inner.current.lock().unwrap();
            let cur = guard.as_ref().ok_or_else(Error::not_signed_in)?;
            let rotated = resp.refresh_token.is_some();
            Current {
                id_token,
                access_token: SecretToken::new(resp.access_token.clone()),
                // C13: no new refresh token → keep the old one.
                refresh_token: resp
                    .refresh_token
                    .clone()
                    .map(RefreshToken::new)
                    .or_else(|| cur.refresh_token.clone()),
                id_exp,
                id_iat,
                access_exp,
                refresh_stored_since: if rotated {
                    now
                } else {
                    cur.refresh_stored_since
                },
                generation,
                iss: cur.iss.clone(),
                sub: cur.sub.clone(),
                aud: cur.aud.clone(),
                user: user.unwrap_or_else(|| cur.user.clone()),
            }
        };
        // Write (and read back) the new tokens before the old ones are dropped.
        self.persist(&new_cur).await;
        let tokens = new_cur.tokens();
        let state = self.signed_in_state(&new_cur);
        *self.inner.current.lock().unwrap() = Some(new_cur);
        self.set_state(state);
        tracing::debug!("tokens refreshed");
        Ok(tokens)
    }

    fn restore_signed_in_state(&self) {
        let state = self
            .inner
            .current
            .lock()
            .unwrap()
            .as_ref()
            .map(|c| self.signed_in_state(c));
        if let Some(s) = state {
            self.set_state(s);
        }
    }

    /// Refresh regardless of the margin (the API layer does this after a 401).
    pub async fn force_refresh(&self) -> Result<Tokens> {
        let gen = self
            .inner
            .current
            .lock()
            .unwrap()
            .as_ref()
            .map(|c| c.generation)
            .ok_or_else(Error::not_signed_in)?;
        self.refresh_after(gen, true).await
    }

    pub(crate) fn current_generation(&self) -> Option<u64> {
        self.inner
            .current
            .lock()
            .unwrap()
            .as_ref()
            .map(|c| c.generation)
    }

    pub(crate) async fn refresh_if_unchanged(&self, gen: u64) -> Result<Tokens> {
        self.refresh_after(gen, true).await
    }

    /// Length, age and kind of the refresh token (never its value).
    pub fn refresh_token_info(&self) -> Option<RefreshTokenInfo> {
        let guard = self.inner.current.lock().unwrap();
        let cur = guard.as_ref()?;
        let rt = cur.refresh_token.as_ref()?;
        let parts = rt.expose().split('.').count();
        let kind = match parts {
            5 => "encrypted JWT (JWE), opaque to the client",
            3 => "JWT (treated as opaque)",
            _ => "opaque",
        };
        Some(RefreshTokenInfo {
            kind: kind.into(),
            length: rt.len(),
            stored_since: ts(cur.refresh_stored_since),
            store: self.storage().store_name,
        })
    }

    /// Call the userinfo endpoint with the access token (Bearer header) and check its `sub`.
    pub async fn userinfo(&self) -> Result<serde_json::Value> {
        let provider = self.provider().await?;
        let url = provider.metadata.userinfo_endpoint.clone().ok_or_else(|| {
            Error::new(
                ErrorKind::ProviderError,
                "the provider has no userinfo endpoint.",
            )
        })?;
        let tokens = self.tokens().await?;
        let sub = self
            .inner
            .current
            .lock()
            .unwrap()
            .as_ref()
            .map(|c| c.sub.clone())
            .unwrap_or_default();
        let resp = provider
            .http()
            .get(url)
            .bearer_auth(tokens.access_token.expose())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| Error::from_http("userinfo", &e))?;
        if !resp.status().is_success() {
            return Err(Error::new(
                ErrorKind::ProviderError,
                format!(
                    "the userinfo endpoint answered HTTP {}; sign in again if it persists.",
                    resp.status().as_u16()
                ),
            ));
        }
        let v: serde_json::Value = resp.json().await.map_err(|_| {
            Error::new(
                ErrorKind::ProviderError,
                "the userinfo response is not JSON.",
            )
        })?;
        if v.get("sub").and_then(|s| s.as_str()) != Some(sub.as_str()) {
            return Err(Error::verification("the userinfo response is about a different user (`sub` differs from the ID token's)"));
        }
        Ok(v)
    }

    // ---- sign-out ----

    /// Revoke the refresh token, delete the keychain entry, and (with `everywhere`) return the
    /// provider's logout URL to end its browser session too. Succeeds locally even offline.
    pub async fn sign_out(&self, everywhere: bool) -> Result<SignOutOutcome> {
        let cur = self.inner.current.lock().unwrap().take();
        let mut warnings = Vec::new();
        let mut revoked = false;
        let provider = self.provider().await;
        // Another process (the CLI, or the app) may have rotated the refresh token since this
        // session last looked: revoke the newest one, from the keychain, when there is one.
        let newest = match self.vault_load().await {
            Ok(Some(stored)) if stored.issuer == self.inner.profile.issuer() => {
                stored.refresh_token.map(RefreshToken::new)
            }
            _ => None,
        };
        if let Some(rt) = newest.or_else(|| cur.as_ref().and_then(|c| c.refresh_token.clone())) {
            match &provider {
                Ok(p) => match &p.metadata.revocation_endpoint {
                    Some(url) => {
                        let mut pairs = vec![("token", rt.expose()), ("client_id", self.inner.profile.client_id.as_str())];
                        if !p.metadata.cognito_logout {
                            pairs.push(("token_type_hint", "refresh_token"));
                        }
                        match p.http().post(url.clone()).header("content-type", "application/x-www-form-urlencoded").body(form_body(&pairs)).send().await {
                            Ok(r) if r.status().is_success() => revoked = true,
                            Ok(r) => warnings.push(format!("the provider refused to revoke the refresh token (HTTP {}); it stays valid until it expires.", r.status().as_u16())),
                            Err(_) => warnings.push("could not reach the provider to revoke the refresh token; you are signed out here, but the token stays valid at the provider until it expires.".into()),
                        }
                    }
                    None => warnings.push("the provider has no revocation endpoint; the refresh token stays valid until it expires.".into()),
                },
                Err(e) => warnings.push(format!("could not revoke the refresh token: {}", e.message())),
            }
        }
        if let Err(e) = self.vault_delete().await {
            warnings.push(format!(
                "could not delete the saved session: {}",
                e.message()
            ));
        }
        let logout_url = match (&provider, everywhere) {
            (Ok(p), true) => self.logout_url(p, cur.as_ref()),
            _ => None,
        };
        if let (Some(_), Some(target)) = (&logout_url, &self.inner.profile.sign_out_uri) {
            crate::loopback::serve_signed_out_page(target, Duration::from_secs(120));
        }
        if everywhere && logout_url.is_none() && provider.is_ok() {
            warnings.push("no logout URL is available (set `sign_out_uri` in the profile and register it at the provider) — the browser session at the provider may stay signed in.".into());
        }
        self.set_state(SessionState::SignedOut {
            reason: Some("signed out".into()),
        });
        tracing::info!(revoked, "signed out");
        Ok(SignOutOutcome {
            logout_url,
            revoked,
            warnings,
        })
    }

    fn logout_url(&self, p: &Provider, cur: Option<&Current>) -> Option<Url> {
        let mut url = p.metadata.end_session_endpoint.clone()?;
        let profile = &self.inner.profile;
        if p.metadata.cognito_logout {
            let target = profile.sign_out_uri.as_ref()?;
            url.query_pairs_mut()
                .append_pair("client_id", &profile.client_id)
                .append_pair("logout_uri", target.as_str());
        } else {
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("client_id", &profile.client_id);
                if let Some(c) = cur {
                    q.append_pair("id_token_hint", c.id_token.expose());
                }
                if let Some(t) = &profile.sign_out_uri {
                    q.append_pair("post_logout_redirect_uri", t.as_str());
                }
            }
        }
        Some(url)
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Inspect any JWT the user pastes, verified against this profile's provider when it can
    /// be reached (signature via the JWKS, issuer, audience or client id, times); when it can
    /// not, the decoding stands and the signature check says why it was not verified.
    pub async fn inspect_token(&self, token: &str) -> Result<crate::inspect::Inspection> {
        let now = self.now();
        let mut insp = crate::inspect::inspect_jwt(token, Some(now))?;
        let provider = match self.provider().await {
            Ok(provider) => provider,
            Err(e) => {
                if let Some(check) = insp.checks.iter_mut().find(|c| c.name == "signature") {
                    check.reason = format!("not verified: {}", e.message());
                }
                return Ok(insp);
            }
        };
        let profile = &self.inner.profile;
        let leeway = profile.clock_leeway.as_secs() as i64;
        let issuer = &provider.metadata.issuer;
        insp.checks = match insp.kind.as_str() {
            "access" if profile.is_cognito() => {
                verify::cognito_access_token_checks(
                    &provider,
                    token,
                    issuer,
                    &profile.client_id,
                    now,
                    leeway,
                )
                .await
            }
            // A generic provider's access token is opaque to the client by contract.
            "access" => insp.checks,
            kind => {
                let x = IdTokenExpectations {
                    issuer,
                    client_id: &profile.client_id,
                    now,
                    leeway,
                    max_iat_age: i64::MAX / 4,
                    nonce: None,
                    access_token: None,
                    cognito: profile.is_cognito() && kind == "id",
                    previous: None,
                };
                verify::id_token_checks(&provider, token, &x).await.0
            }
        };
        Ok(insp)
    }

    /// Inspect the current ID or access token, with full verification checks.
    pub async fn inspect_current(&self, which: TokenChoice) -> Result<crate::inspect::Inspection> {
        let (token, access_token) = {
            let guard = self.inner.current.lock().unwrap();
            let cur = guard.as_ref().ok_or_else(Error::not_signed_in)?;
            let token = match which {
                TokenChoice::Id => cur.id_token.clone(),
                TokenChoice::Access => cur.access_token.clone(),
            };
            (token, cur.access_token.clone())
        };
        let now = self.now();
        let mut insp = crate::inspect::inspect_jwt(token.expose(), Some(now))?;
        if let Ok(provider) = self.provider().await {
            let profile = &self.inner.profile;
            let leeway = profile.clock_leeway.as_secs() as i64;
            let checks = match which {
                TokenChoice::Id => {
                    let x = IdTokenExpectations {
                        issuer: &provider.metadata.issuer,
                        client_id: &profile.client_id,
                        now,
                        leeway,
                        max_iat_age: i64::MAX / 4,
                        nonce: None,
                        access_token: Some(access_token.expose()),
                        cognito: profile.is_cognito(),
                        previous: None,
                    };
                    let mut checks = verify::id_token_checks(&provider, token.expose(), &x)
                        .await
                        .0;
                    // The nonce is checked when a token arrives from a sign-in; it is not kept.
                    let has_nonce = insp.claims.iter().any(|c| c.name == "nonce");
                    checks.push(verify::Check::ok(
                        "nonce",
                        if has_nonce {
                            "matched this sign-in's request when the token was received"
                        } else {
                            "none in this token: a refreshed ID token carries no nonce (OIDC Core 12.2)"
                        },
                    ));
                    checks
                }
                TokenChoice::Access if profile.is_cognito() => {
                    verify::cognito_access_token_checks(
                        &provider,
                        token.expose(),
                        &provider.metadata.issuer,
                        &profile.client_id,
                        now,
                        leeway,
                    )
                    .await
                }
                TokenChoice::Access => insp.checks.clone(),
            };
            insp.checks = checks;
        }
        insp.kind = match which {
            TokenChoice::Id => "id".into(),
            TokenChoice::Access => "access".into(),
        };
        Ok(insp)
    }
}
