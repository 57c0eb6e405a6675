//! The app's state: the profiles file, the active profile's `Session`, the embedded provider.
//! Session changes are forwarded to the window as `session` events; the UI never polls.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use latchkey_core::config::{Config, Profile};
use latchkey_core::vault::Vault;
use latchkey_core::{Session, SessionOptions, SessionState, Tokens, UserSummary};
use latchkey_devidp::DevIdp;
use tauri::async_runtime::JoinHandle;
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::Mutex;

use crate::activity::ActivityLog;
use crate::demo;
use crate::error::{CommandError, CommandResult};
use crate::models::{SessionView, TokenTimeline, UserView};

/// The active profile and its session.
pub struct Active {
    pub profile: Profile,
    pub session: Arc<Session>,
    forwarder: JoinHandle<()>,
    keeper: JoinHandle<()>,
}

impl Drop for Active {
    fn drop(&mut self) {
        self.forwarder.abort();
        self.keeper.abort();
    }
}

/// Keeps a signed-in session fresh: asks for tokens shortly before the refresh margin is
/// reached, so core refreshes silently and the timelines show it.
fn keep_fresh(session: std::sync::Weak<Session>, margin: Duration) -> JoinHandle<()> {
    tauri::async_runtime::spawn(async move {
        loop {
            let Some(session) = session.upgrade() else {
                return;
            };
            let wait = match session.state() {
                SessionState::SignedIn {
                    id_expires_at,
                    access_expires_at,
                    ..
                } => {
                    let soonest = id_expires_at.min(access_expires_at).timestamp();
                    let due = soonest - margin.as_secs() as i64 - unix_now();
                    if due <= 0 {
                        if let Err(e) = session.tokens().await {
                            tracing::warn!(target: "latchkey_app", kind = ?e.kind(), "background refresh failed");
                        }
                        Duration::from_secs(30)
                    } else {
                        Duration::from_secs(due.clamp(1, 60) as u64)
                    }
                }
                _ => Duration::from_secs(5),
            };
            drop(session);
            tokio::time::sleep(wait).await;
        }
    })
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub struct AppState {
    pub app: AppHandle,
    pub config: Mutex<Config>,
    pub active: Mutex<Active>,
    pub vault: Vault,
    pub activity: ActivityLog,
    /// Kept alive for the life of the app; dropping it stops the provider.
    pub devidp: Option<DevIdp>,
    pub data_dir: PathBuf,
}

impl AppState {
    /// Loads the profiles (creating the Demo profile on first run), starts the embedded
    /// provider when the Demo profile needs it, and opens a session on the default profile.
    pub fn start(app: AppHandle, activity: ActivityLog) -> Result<AppState, String> {
        let data_dir = app
            .path()
            .app_data_dir()
            .map_err(|e| format!("no data directory for Latchkey: {e}"))?;
        let path = Config::default_path().map_err(|e| e.to_string())?;
        let mut config = if path.exists() {
            Config::load(&path).map_err(|e| e.to_string())?
        } else {
            Config {
                path: Some(path.clone()),
                ..Config::default()
            }
        };
        let devidp = demo::ensure(&mut config, &data_dir)?;
        if let Some(idp) = &devidp {
            activity.note(
                "INFO",
                format!("development provider running at {}", idp.base_url()),
            );
        }
        let vault = Vault::system();
        let health = vault.probe();
        activity.note(
            if health.ok { "INFO" } else { "WARN" },
            format!("keychain: {}", health.message),
        );
        let profile = config.default_profile().map_err(|e| e.to_string())?.clone();
        let active = open_session(&app, profile, &vault).map_err(|e| e.message)?;
        Ok(AppState {
            app,
            config: Mutex::new(config),
            active: Mutex::new(active),
            vault,
            activity,
            devidp,
            data_dir,
        })
    }

    pub async fn session(&self) -> (Arc<Session>, Profile) {
        let active = self.active.lock().await;
        (active.session.clone(), active.profile.clone())
    }

    /// Switches to another profile: a new session, restored from the keychain if it can be.
    pub async fn switch_to(&self, profile: Profile) -> CommandResult<()> {
        let next = open_session(&self.app, profile, &self.vault)?;
        let session = next.session.clone();
        *self.active.lock().await = next;
        tauri::async_runtime::spawn(async move {
            let _ = session.restore().await;
        });
        Ok(())
    }

    pub async fn view(&self) -> SessionView {
        let (session, profile) = self.session().await;
        let state = session.state();
        let mut view = view_of(&profile, &state, &self.vault);
        if let SessionState::SignedIn { .. } = state {
            if let Ok(tokens) = session.tokens().await {
                view.tokens = timelines(&tokens);
            }
        }
        view
    }
}

/// Writes the profiles file where it was read from (the OS config directory for a new one).
pub fn save_config(config: &Config) -> Result<(), latchkey_core::config::ConfigError> {
    let path = match &config.path {
        Some(path) => path.clone(),
        None => Config::default_path()?,
    };
    config.save(&path)
}

/// Browser command for tests and unusual set-ups; the profile's own setting wins otherwise.
fn browser_override(profile: &mut Profile) {
    if let Ok(command) = std::env::var("LATCHKEY_BROWSER_COMMAND") {
        let argv: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
        if !argv.is_empty() {
            profile.browser_command = Some(argv);
        }
    }
}

fn open_session(app: &AppHandle, mut profile: Profile, vault: &Vault) -> CommandResult<Active> {
    browser_override(&mut profile);
    let options = SessionOptions {
        vault: vault.clone(),
        ..SessionOptions::default()
    };
    let session = Arc::new(Session::new(profile.clone(), options).map_err(CommandError::from)?);
    let mut changes = session.subscribe();
    let weak = Arc::downgrade(&session);
    let (app, forwarded_profile, vault) = (app.clone(), profile.clone(), vault.clone());
    let forwarder = tauri::async_runtime::spawn(async move {
        let mut was_signing_in = false;
        while changes.changed().await.is_ok() {
            let state = changes.borrow_and_update().clone();
            let mut view = view_of(&forwarded_profile, &state, &vault);
            if let SessionState::SignedIn { .. } = state {
                if let Some(session) = weak.upgrade() {
                    if let Ok(tokens) = session.tokens().await {
                        view.tokens = timelines(&tokens);
                    }
                }
                let _ = app.emit("session", view);
                if was_signing_in {
                    bring_to_front(&app);
                }
            } else {
                let _ = app.emit("session", view);
            }
            was_signing_in = matches!(state, SessionState::SigningIn { .. });
        }
    });
    let keeper = keep_fresh(Arc::downgrade(&session), profile.refresh_margin);
    Ok(Active {
        profile,
        session,
        forwarder,
        keeper,
    })
}

/// After a sign-in in the browser, the app window comes back to the front.
fn bring_to_front(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

pub fn view_of(profile: &Profile, state: &SessionState, vault: &Vault) -> SessionView {
    let mut view = SessionView {
        profile: profile.name.clone(),
        issuer: profile.issuer(),
        client_id: profile.client_id.clone(),
        store: vault.store_name().to_owned(),
        refresh_margin_secs: profile.refresh_margin.as_secs(),
        state: state.name(),
        ..SessionView::default()
    };
    match state {
        SessionState::SignedOut { reason } => view.reason = reason.clone(),
        SessionState::SigningIn {
            authorize_url,
            redirect_uri,
            expires_at,
        } => {
            view.authorize_url = Some(authorize_url.to_string());
            view.redirect_uri = Some(redirect_uri.clone());
            view.started_at =
                Some(expires_at.timestamp() - profile.sign_in_timeout.as_secs() as i64);
            view.expires_at = Some(expires_at.timestamp());
        }
        SessionState::SignedIn { user, storage, .. } => {
            view.user = Some(user_view(user));
            view.store = match &storage.warning {
                Some(warning) => format!("{} (memory only: {warning})", storage.store_name),
                None => storage.store_name.clone(),
            };
        }
        SessionState::Refreshing { user } => view.user = Some(user_view(user)),
        SessionState::Error { message, .. } => view.error = Some(message.clone()),
    }
    view
}

fn user_view(user: &UserSummary) -> UserView {
    UserView {
        name: user.name.clone(),
        username: user
            .username
            .clone()
            .or_else(|| user.email.clone())
            .unwrap_or_else(|| user.sub.clone()),
        email: user.email.clone(),
        groups: user.groups.clone(),
        sub: user.sub.clone(),
    }
}

/// Issue and expiry times of the current ID and access tokens, for the timelines.
pub fn timelines(tokens: &Tokens) -> Vec<TokenTimeline> {
    let issued = |token: &latchkey_core::SecretToken, fallback: i64| {
        latchkey_core::verify::decode_jwt(token.expose())
            .ok()
            .and_then(|jwt| jwt.claim_i64("iat"))
            .unwrap_or(fallback)
    };
    let id_exp = tokens.id_expires_at.timestamp();
    let access_exp = tokens.access_expires_at.timestamp();
    vec![
        TokenTimeline {
            name: "ID token",
            issued_at: issued(&tokens.id_token, id_exp - 3600),
            expires_at: id_exp,
        },
        TokenTimeline {
            name: "Access token",
            issued_at: issued(&tokens.access_token, access_exp - 3600),
            expires_at: access_exp,
        },
    ]
}
