//! The session: the one entry point the app, the CLI and embedders use. A state machine
//! (observable through a `watch` channel) over sign-in, restore, refresh (single-flight, also
//! across processes), sign-out and API calls, around one [`TokenSet`]. Each use case has its
//! own file: `sign_in`, `refresh`, `sign_out`, `call`, `inspect`; `answer` checks what the token
//! endpoint answers, for sign-in and refresh alike; `hooks` are what ends with the session
//! (the AWS credentials provider, which sits above the session, attaches one).

mod answer;
mod call;
mod ended;
mod hooks;
mod inspect;
mod profile_change;
mod provider_check;
mod refresh;
mod sign_in;
mod sign_out;
mod state;
mod token_set;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use crate::browser::{Browser, BrowserChoice};
use crate::clock::{utc, Clock, SystemClock};
use crate::config::Profile;
use crate::error::{Error, ErrorKind, Result};
use crate::provider::Provider;
use crate::secret::SecretToken;
use crate::vault::{lock_path, ProfileLock, StoredSession, Vault, VaultHealth, WriteBase};
use crate::verify::DEFAULT_MAX_IAT_AGE;

pub use ended::{EndCause, SessionEnd};
pub(crate) use hooks::{Hold, HookFuture, SessionHook};
pub use provider_check::ProviderCheck;
pub use refresh::KeepFresh;
pub use sign_in::SignInOptions;
pub use sign_out::SignOutScope;
pub use state::{
    LogoutUrl, RefreshTokenInfo, SessionState, SignOutOutcome, StorageInfo, Tokens, UserSummary,
};
use token_set::TokenSet;

/// How a session is wired: where secrets go, how the browser opens, the clock.
#[derive(Clone)]
pub struct SessionOptions {
    /// Where the session's tokens are kept: the OS keychain, or memory only.
    pub vault: Vault,
    /// `None`: [`BrowserChoice::for_profile`] (`LATCHKEY_BROWSER_COMMAND`, else the profile's
    /// `browser`, else the system browser).
    pub browser: Option<Arc<dyn Browser>>,
    /// `None`: the profile's `http_timeout`.
    pub http_timeout: Option<Duration>,
    /// Where "now" comes from for expiry checks and refresh timing (a shifted clock in tests).
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
            max_iat_age: Duration::from_secs(DEFAULT_MAX_IAT_AGE as u64),
        }
    }

    /// Secrets in memory only (nothing persisted, the keychain is not touched).
    pub fn memory() -> Self {
        Self::with_vault(Vault::memory())
    }
}

struct Inner {
    profile: Profile,
    http: reqwest::Client,
    vault: Vault,
    storage: Mutex<StorageInfo>,
    clock: Arc<dyn Clock>,
    browser: Arc<dyn Browser>,
    max_iat_age: i64,
    provider: tokio::sync::OnceCell<Arc<Provider>>,
    state_tx: watch::Sender<SessionState>,
    current: Mutex<Option<TokenSet>>,
    /// Serialises refresh, sign-in's install and sign-out within this process.
    refresh_gate: tokio::sync::Mutex<()>,
    sign_in_cancel: Mutex<Option<oneshot::Sender<()>>>,
    /// Where a pasted callback address goes while a sign-in waits for one.
    sign_in_paste: Mutex<Option<crate::loopback::CallbackPaste>>,
    account: String,
    lock_path: PathBuf,
    /// Where how the session last ended is kept ([`SessionEnd`]); `None` for a vault that
    /// keeps nothing across processes (its sessions, and their ends, die with the process).
    ended_path: Option<PathBuf>,
    /// What ends with the session (see `hooks`).
    hooks: hooks::Hooks,
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

impl Session {
    /// A signed-out session with no hooks attached ([`Session::new`] attaches the AWS
    /// credentials provider's). Does no I/O.
    pub(crate) fn without_hooks(profile: Profile, options: SessionOptions) -> Result<Session> {
        let http = crate::http::client(options.http_timeout.unwrap_or(profile.http_timeout))?;
        let vault = options.vault;
        let storage = StorageInfo {
            store_name: vault.store_name().to_owned(),
            persistent: vault.is_persistent(),
            warning: vault.unavailable().map(|e| e.message().to_owned()),
        };
        let browser = options
            .browser
            .unwrap_or_else(|| BrowserChoice::for_profile(Some(&profile)).browser());
        let account = profile.keychain_account();
        let lock_path = lock_path(vault.service(), &account);
        let ended_path = vault
            .is_persistent()
            .then(|| ended::record_path(&lock_path));
        let (state_tx, _) = watch::channel(SessionState::SignedOut { reason: None });
        Ok(Session {
            inner: Arc::new(Inner {
                profile,
                http,
                vault,
                storage: Mutex::new(storage),
                clock: options.clock,
                browser,
                max_iat_age: options.max_iat_age.as_secs() as i64,
                provider: tokio::sync::OnceCell::new(),
                state_tx,
                current: Mutex::new(None),
                refresh_gate: tokio::sync::Mutex::new(()),
                sign_in_cancel: Mutex::new(None),
                sign_in_paste: Mutex::new(None),
                account,
                lock_path,
                ended_path,
                hooks: hooks::Hooks::default(),
            }),
        })
    }

    /// The profile this session signs in to.
    pub fn profile(&self) -> &Profile {
        &self.inner.profile
    }

    /// Read this session's keychain item (off the async threads), without writing: whether
    /// the keychain answers, as the app shows it at start-up. A write is checked when it
    /// happens (read back); `latchkey doctor` runs the write probe ([`Vault::probe`]).
    pub async fn check_keychain(&self) -> VaultHealth {
        let (vault, account) = (self.inner.vault.clone(), self.inner.account.clone());
        tokio::task::spawn_blocking(move || vault.health(&account))
            .await
            .unwrap_or_else(|e| VaultHealth::failed(vault_store_name(&self.inner.vault), e))
    }

    /// Where the secrets are kept now: `persistent` turns false, with a warning, once the
    /// keychain failed.
    pub fn storage(&self) -> StorageInfo {
        self.inner.storage.lock().unwrap().clone()
    }

    /// How long the store keeps this session when that is limited (the Linux kernel keyring:
    /// lost at reboot, and after days unused), as a sentence for people; `None` otherwise.
    pub fn storage_lifetime(&self) -> Option<&'static str> {
        self.inner.vault.lifetime()
    }

    /// A receiver that sees every later state change (the current state is marked seen).
    pub fn subscribe(&self) -> watch::Receiver<SessionState> {
        self.inner.state_tx.subscribe()
    }

    /// The current state, as last announced; `SignedOut` with no reason until the saved
    /// session has been looked for.
    pub fn state(&self) -> SessionState {
        self.inner.state_tx.borrow().clone()
    }

    fn set_state(&self, s: SessionState) {
        tracing::debug!(state = s.name(), "session state");
        self.inner.state_tx.send_replace(s);
    }

    pub(crate) fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    /// Where this session's secrets are kept (its hooks keep theirs next to them).
    pub(crate) fn vault(&self) -> &Vault {
        &self.inner.vault
    }

    fn signed_in_state(&self, set: &TokenSet) -> SessionState {
        SessionState::SignedIn {
            user: set.user.clone(),
            id_expires_at: utc(set.id_exp),
            access_expires_at: utc(set.access_exp),
            aws_expires_at: self.held_by_hooks_until(&set.identity.sub).map(utc),
            storage: self.storage(),
        }
    }

    /// Announce a change of what a hook holds (the state shows when it expires), when signed
    /// in.
    pub(crate) fn announce_held_change(&self) {
        if matches!(self.state(), SessionState::SignedIn { .. }) {
            self.show_signed_in();
        }
    }

    /// The current ID token as it is (no refresh): for display, e.g. the roles it offers.
    pub(crate) fn current_id_token(&self) -> Option<SecretToken> {
        let current = self.inner.current.lock().unwrap();
        current.as_ref().map(|set| set.id_token.clone())
    }

    /// The signed-in user's `sub`, reading the keychain's session (without refreshing it)
    /// when none is current yet.
    pub(crate) async fn signed_in_sub(&self) -> Result<String> {
        let current = || {
            self.inner
                .current
                .lock()
                .unwrap()
                .as_ref()
                .map(|set| set.identity.sub.clone())
        };
        if let Some(sub) = current() {
            return Ok(sub);
        }
        if self.load_stored().await? {
            if let Some(sub) = current() {
                return Ok(sub);
            }
        }
        Err(Error::not_signed_in())
    }

    /// Show the current token set as signed in again (after a failed refresh or sign-in).
    fn show_signed_in(&self) {
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

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    // ---- the keychain (blocking calls off the async threads, writes under the profile lock) ----

    /// The cross-process lock for writing this profile's session (none for memory vaults).
    async fn profile_lock(&self) -> Result<Option<ProfileLock>> {
        if !self.inner.vault.is_persistent() {
            return Ok(None);
        }
        ProfileLock::acquire(self.inner.lock_path.clone())
            .await
            .map(Some)
    }

    async fn vault_load(&self) -> Result<Option<StoredSession>> {
        let (vault, account) = (self.inner.vault.clone(), self.inner.account.clone());
        tokio::task::spawn_blocking(move || vault.load_session(&account))
            .await
            .map_err(Error::internal)?
    }

    /// How this profile's session last ended without a sign-out (the provider refused the
    /// refresh), as recorded by this or another process; `None` after a sign-in or sign-out.
    pub fn last_end(&self) -> Option<SessionEnd> {
        self.inner.ended_path.as_deref().and_then(ended::load)
    }

    /// Record how the session ended, for the next process to explain.
    fn record_end(&self, end: &SessionEnd) {
        if let Some(path) = &self.inner.ended_path {
            ended::save(path, end);
        }
    }

    fn forget_end(&self) {
        if let Some(path) = &self.inner.ended_path {
            ended::clear(path);
        }
    }

    async fn vault_delete(&self) -> Result<()> {
        let (vault, account) = (self.inner.vault.clone(), self.inner.account.clone());
        tokio::task::spawn_blocking(move || vault.delete(&account))
            .await
            .map_err(Error::internal)?
    }

    /// Store `set` (the caller holds the profile lock) with a generation above both the
    /// current set's and the stored session's (the vault reads the latter in the same pass
    /// as its write). On a keychain failure the session stays in memory only and
    /// `storage().warning` says why.
    async fn persist(&self, set: &mut TokenSet) -> Option<Error> {
        self.persist_on(set, None).await
    }

    /// The keychain item as it is, read off the async threads, for [`Session::persist_on`]:
    /// the caller holds the profile lock from now until that write.
    fn read_write_base(&self) -> tokio::task::JoinHandle<WriteBase> {
        let (vault, account) = (self.inner.vault.clone(), self.inner.account.clone());
        tokio::task::spawn_blocking(move || vault.write_base(&account))
    }

    /// [`Session::persist`] over the item `base` (from [`Session::read_write_base`]) when
    /// given, so the write needs no read of its own.
    async fn persist_on(&self, set: &mut TokenSet, base: Option<WriteBase>) -> Option<Error> {
        let in_memory = self
            .inner
            .current
            .lock()
            .unwrap()
            .as_ref()
            .map_or(0, |c| c.generation);
        set.generation = in_memory.saturating_add(1);
        let (vault, account) = (self.inner.vault.clone(), self.inner.account.clone());
        let revocation_endpoint =
            (self.inner.provider.get()).and_then(|p| p.metadata.revocation_endpoint.clone());
        let stored = set.to_stored(&self.inner.profile, revocation_endpoint);
        let result = tokio::task::spawn_blocking(move || match base {
            Some(base) => vault.store_newer_session_on(&account, &base, &stored),
            None => vault.store_newer_session(&account, &stored),
        })
        .await
        .map_err(Error::internal)
        .and_then(|r| r);
        set.stored = result.is_ok();
        let err = match result {
            Ok(generation) => {
                set.generation = generation;
                self.forget_end();
                return None;
            }
            Err(e) => e,
        };
        tracing::warn!(kind = ?err.kind(), "could not store the session in the keychain; keeping it in memory only");
        let mut storage = self.inner.storage.lock().unwrap();
        storage.warning = Some(err.message().to_owned());
        storage.persistent = false;
        Some(err)
    }

    // ---- restore ----

    /// Start-up: read the keychain, refresh if needed, end `SignedIn` or `SignedOut` (with a
    /// reason). A refresh that fails is not an error here, and never repeated by it: network
    /// trouble keeps the session (the next [`Session::tokens`] tries again), while a refused
    /// answer or `invalid_grant` has already ended it (`SignedOut`, the reason naming what
    /// failed). A caller that wants that failure as an error uses
    /// [`Session::restore_stored`], then [`Session::tokens`].
    pub async fn restore(&self) -> Result<SessionState> {
        if !self.load_stored().await? {
            return Ok(self.state());
        }
        if let Err(e) = self.tokens().await {
            tracing::debug!(kind = ?e.kind(), "refresh during restore failed");
        }
        Ok(self.state())
    }

    /// The keychain's session as it is, without a refresh or any network call (`latchkey
    /// status --all` lists every profile this way): signed in (its tokens may have expired),
    /// or signed out with the reason.
    pub async fn restore_stored(&self) -> Result<SessionState> {
        self.load_stored().await?;
        Ok(self.state())
    }

    /// The keychain's session made current as it is (no refresh, no network): true when
    /// there was one for this profile, else the state says why not.
    async fn load_stored(&self) -> Result<bool> {
        let stored = match self.vault_load().await {
            Ok(s) => s,
            Err(e) => {
                {
                    let mut storage = self.inner.storage.lock().unwrap();
                    storage.warning = Some(e.message().to_owned());
                    storage.persistent = false;
                }
                self.set_state(SessionState::SignedOut {
                    reason: Some(e.message().to_owned()),
                });
                return Err(e);
            }
        };
        let ended = self.last_end().map(|end| end.describe());
        let reason = match &stored {
            None => Some(ended.as_deref().unwrap_or("no saved session; sign in")),
            Some(s)
                if s.issuer != self.inner.profile.issuer()
                    || s.client_id != self.inner.profile.client_id =>
            {
                Some("the saved session belongs to another issuer or client; sign in again")
            }
            Some(_) => None,
        };
        let Some(stored) = stored.filter(|_| reason.is_none()) else {
            self.set_state(SessionState::SignedOut {
                reason: reason.map(str::to_owned),
            });
            return Ok(false);
        };
        let set = TokenSet::from_stored(stored)?;
        let state = self.signed_in_state(&set);
        *self.inner.current.lock().unwrap() = Some(set);
        self.set_state(state);
        Ok(true)
    }
}

fn vault_store_name(vault: &Vault) -> String {
    vault.store_name().to_owned()
}

/// `ErrorKind` of a failure that leaves the tokens usable while they are valid.
fn is_transient(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::ProviderUnreachable)
}
