//! The app's state: the profiles file, the active profile's `Session`, the embedded provider,
//! the console's request in flight. Session changes are forwarded to the window as `session`
//! events; the UI never polls.

use std::path::PathBuf;
use std::sync::Arc;

use latchkey_core::config::{Config, ConfigError, ImportReview, Profile, ProfileDraft};
use latchkey_core::SignOutScope;
use latchkey_core::{
    find_stray_sessions, remove_sessions_of, ErrorKind, Expectation, KeepFresh, ProbeStatus,
    Session, SessionOptions, SessionState, StraySession, UserSummary, Vault,
};
use latchkey_devidp::DevIdp;
use tauri::async_runtime::JoinHandle;
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::Mutex;

use crate::activity::ActivityLog;
use crate::console::ConsoleStore;
use crate::demo;
use crate::error::{CommandError, CommandResult};
use crate::models::{ProfileSaved, SessionView, TokenTimeline, UserView};
use crate::signed_out::signed_out_view;

/// The active profile, its session, and the tasks that serve it.
pub struct Active {
    pub profile: Profile,
    pub session: Arc<Session>,
    forwarder: JoinHandle<()>,
    _keeper: KeepFresh,
}

impl Drop for Active {
    fn drop(&mut self) {
        self.forwarder.abort();
    }
}

pub struct AppState {
    pub app: AppHandle,
    pub config: Mutex<Config>,
    /// Why the profiles file could not be read at all; the app then runs on the Demo profile
    /// and never writes the file (it would overwrite what the user is fixing).
    pub config_error: Option<String>,
    pub active: Mutex<Active>,
    pub vault: Vault,
    pub activity: ActivityLog,
    /// Kept alive for the life of the app; dropping it stops the provider.
    pub devidp: Option<DevIdp>,
    pub data_dir: PathBuf,
    /// Cancels the console's request in flight (one at a time).
    pub console_cancel: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    /// Bumped on every copy, so that only the last copy's timer clears the clipboard.
    pub clipboard_generation: std::sync::atomic::AtomicU64,
    /// Profiles of an imported file (or pasted text), reviewed and waiting for the user's
    /// "Save profile"/"Replace profile": what is saved is exactly what the review showed.
    pub pending_imports: Mutex<Vec<ImportReview>>,
}

impl AppState {
    /// Loads the profiles (an invalid one is set aside, never fatal), creates the Demo profile
    /// on first run, starts the embedded provider when the Demo profile needs it, and opens a
    /// session on the default profile. Needs the async runtime (call inside `block_on`).
    pub fn start(app: AppHandle, activity: ActivityLog) -> Result<AppState, String> {
        let data_dir = app
            .path()
            .app_data_dir()
            .map_err(|e| format!("no data directory for Latchkey: {e}"))?;
        let path = Config::default_path().map_err(|e| e.to_string())?;
        let (mut config, config_error) = match Config::load_lenient(&path) {
            Ok(c) => (c, None),
            Err(ConfigError::NotFound { .. }) => (Config::empty(&path), None),
            Err(e) => (Config::empty(&path), Some(e.to_string())),
        };
        if let Some(e) = &config_error {
            activity.note("WARN", format!("{e} Latchkey runs on the Demo profile and leaves the file alone until it is fixed."));
        }
        for (name, e) in &config.invalid {
            activity.note("WARN", format!("profile `{name}` is set aside: {e}"));
        }
        for m in &config.migrations {
            activity.note("INFO", m.notice());
        }
        let devidp = demo::ensure(&mut config, &data_dir)?;
        if config_error.is_none() {
            config.save().map_err(|e| e.to_string())?;
        }
        if let Some(idp) = &devidp {
            activity.note(
                "INFO",
                format!("development provider running at {}", idp.base_url()),
            );
        }
        let vault = Vault::system();
        let profile = config
            .default_profile()
            .ok()
            .or_else(|| config.profiles.values().next())
            .cloned()
            .ok_or("no usable profile (the Demo profile could not be created)")?;
        let active = open_session(&app, profile, &vault).map_err(|e| e.0.message().to_owned())?;
        Ok(AppState {
            app,
            config: Mutex::new(config),
            config_error,
            active: Mutex::new(active),
            vault,
            activity,
            devidp,
            data_dir,
            console_cancel: Mutex::new(None),
            clipboard_generation: Default::default(),
            pending_imports: Mutex::new(Vec::new()),
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

    /// The active profile's expectations, as the profiles file says them now.
    pub async fn expectations(&self) -> Vec<Expectation> {
        let name = self.active.lock().await.profile.name.clone();
        let config = self.config.lock().await;
        config
            .profiles
            .get(&name)
            .map(|p| p.expect.clone())
            .unwrap_or_default()
    }

    /// The console's file for the active profile.
    pub async fn console(&self) -> ConsoleStore {
        let name = self.active.lock().await.profile.name.clone();
        ConsoleStore::of(&self.data_dir, &name)
    }

    pub async fn view(&self) -> SessionView {
        let (session, profile) = self.session().await;
        view_of(&session, &profile).await
    }

    /// Writes the profiles file, unless it could not be read (then saying so).
    pub fn save(&self, config: &Config) -> CommandResult<()> {
        match &self.config_error {
            Some(e) => Err(CommandError::new(
                ErrorKind::Config,
                format!("{e} Fix the file in an editor and restart Latchkey; until then changes are not saved."),
            )),
            None => Ok(config.save()?),
        }
    }

    /// Validates `draft` as profile `name` with the profiles file's messages (the one
    /// pipeline), without saving it.
    pub async fn validate(&self, name: &str, draft: &ProfileDraft) -> CommandResult<Profile> {
        let name = name.trim();
        if name.is_empty() {
            return Err(CommandError::new(
                ErrorKind::Config,
                "the profile needs a name (it becomes `[profiles.NAME]` in the profiles file)",
            ));
        }
        let path = self.config.lock().await.path.clone().unwrap_or_default();
        Ok(draft.validate(name, &path)?)
    }

    /// Validates `draft` as profile `name`, asks the provider live, then saves it; the active
    /// profile's session starts over on the new settings (restored from the keychain). A new
    /// profile (`editing` false) never replaces one of the same name; an edit that sends the
    /// tokens elsewhere signs the old session out first.
    pub async fn save_profile(
        &self,
        name: &str,
        draft: ProfileDraft,
        editing: bool,
    ) -> CommandResult<ProfileSaved> {
        let profile = self.validate(name, &draft).await?;
        let existing = {
            let config = self.config.lock().await;
            let taken = config.profiles.contains_key(&profile.name)
                || config.invalid.contains_key(&profile.name);
            if taken && !editing {
                return Err(ConfigError::Exists {
                    path: config.path.clone().unwrap_or_default(),
                    name: profile.name.clone(),
                }
                .into());
            }
            config.profiles.get(&profile.name).cloned()
        };
        let probe = latchkey_core::probe(&profile).await;
        if let Some(failed) = probe
            .steps
            .iter()
            .find(|s| s.name == "discovery" && s.status == ProbeStatus::Fail)
        {
            return Err(CommandError::new(
                ErrorKind::ProviderUnreachable,
                format!(
                    "not saved: {} Check the region, pool id or issuer, and your network.",
                    failed.message
                ),
            ));
        }
        let saved = ProfileSaved {
            message: format!(
                "Saved. The provider answered and its issuer is {}.",
                profile.issuer()
            ),
            redirect_uris: profile.redirect_uris(),
            sign_out_uris: profile.sign_out_uris(),
            probe,
        };
        if let Some(old) = &existing {
            self.sign_out_if_moved(old, &profile).await?;
        }
        {
            let mut config = self.config.lock().await;
            config.insert(profile.clone());
            self.save(&config)?;
        }
        self.remove_unreachable_sessions_of(&profile.name).await;
        if self.active.lock().await.profile.name == profile.name {
            self.switch_to(profile).await?;
        }
        Ok(saved)
    }

    /// Reviews the profiles of an imported file or pasted text (`source` names it in
    /// messages) and keeps them until the user saves or replaces one: nothing is saved here.
    pub async fn review_import(
        &self,
        text: &str,
        source: &std::path::Path,
    ) -> CommandResult<Vec<ImportReview>> {
        let reviews = self.config.lock().await.review_import(text, source)?;
        *self.pending_imports.lock().await = reviews.clone();
        Ok(reviews)
    }

    /// Saves the reviewed profile `name` exactly as reviewed. A profile of that name is
    /// replaced only with `replace` (the user's "Replace profile NAME"); when the replace
    /// sends tokens elsewhere its session is signed out first.
    pub async fn confirm_import(&self, name: &str, replace: bool) -> CommandResult<()> {
        let review = self
            .pending_imports
            .lock()
            .await
            .iter()
            .find(|r| r.name == name)
            .cloned()
            .ok_or_else(|| {
                CommandError::new(
                    ErrorKind::Config,
                    format!("no reviewed import of `{name}` is waiting; import the file again"),
                )
            })?;
        let existing = self.config.lock().await.profiles.get(name).cloned();
        if let (Some(old), true) = (&existing, replace) {
            self.sign_out_if_moved(old, &review.profile).await?;
        }
        {
            let mut config = self.config.lock().await;
            config.insert_reviewed(&review, replace)?;
            self.save(&config)?;
        }
        self.pending_imports.lock().await.retain(|r| r.name != name);
        self.remove_unreachable_sessions_of(name).await;
        self.activity.note(
            "INFO",
            format!(
                "{} profile `{name}` from an imported file",
                if review.replaces { "replaced" } else { "added" }
            ),
        );
        if self.active.lock().await.profile.name == name {
            self.switch_to(review.profile).await?;
        }
        Ok(())
    }

    /// Ends `old`'s session (the active one's, or a stored one) before its profile is replaced
    /// by `next`, when `next` sends tokens elsewhere; says so in the activity log.
    async fn sign_out_if_moved(&self, old: &Profile, next: &Profile) -> CommandResult<()> {
        if old.token_destination_changes(next).is_empty() {
            return Ok(());
        }
        let (active, active_profile) = self.session().await;
        let session = match active_profile.name == old.name {
            true => active,
            false => Arc::new(Session::new(
                old.clone(),
                SessionOptions::with_vault(self.vault.clone()),
            )?),
        };
        if let Some(out) = session.sign_out_if_moved(next).await? {
            let moved = old.token_destination_changes(next).join(", ");
            self.activity.note(
                "INFO",
                format!(
                    "signed `{}` out first ({}its saved session deleted): the new {moved} send its tokens elsewhere",
                    old.name,
                    if out.revoked { "refresh token revoked, " } else { "" }
                ),
            );
            for warning in out.warnings {
                self.activity
                    .note("WARN", format!("signing `{}` out: {warning}", old.name));
            }
        }
        Ok(())
    }

    /// Replaces the active profile's expectations (through the profiles file's pipeline).
    pub async fn save_expectations(&self, expect: Vec<String>) -> CommandResult<Vec<String>> {
        let name = self.active.lock().await.profile.name.clone();
        let mut config = self.config.lock().await;
        let mut draft = config.draft(&name).ok_or_else(|| {
            CommandError::new(ErrorKind::Config, format!("profile `{name}` is gone"))
        })?;
        draft.expect = Some(expect);
        let saved = config.insert_draft(&name, &draft)?.expect.clone();
        self.save(&config)?;
        Ok(saved.iter().map(ToString::to_string).collect())
    }

    /// Removes a profile that is not in use, valid or not: signed out first (its refresh
    /// token revoked and deleted from the keychain), then whatever else is stored under its
    /// name (an invalid profile's session, one a hand edit left) revoked and deleted, so
    /// nothing is left behind.
    pub async fn remove_profile(&self, name: &str) -> CommandResult<()> {
        if self.active.lock().await.profile.name == name {
            return Err(CommandError::new(
                ErrorKind::Config,
                "this profile is in use: switch to another profile first",
            ));
        }
        let profile = self.config.lock().await.profiles.get(name).cloned();
        if let Some(profile) = profile {
            let session = Session::new(profile, SessionOptions::with_vault(self.vault.clone()))?;
            let outcome = session.sign_out(SignOutScope::ThisDevice).await?;
            for warning in outcome.warnings {
                self.activity
                    .note("WARN", format!("removing `{name}`: {warning}"));
            }
        }
        {
            let mut config = self.config.lock().await;
            config.remove(name);
            self.save(&config)?;
        }
        self.remove_unreachable_sessions_of(name).await;
        Ok(())
    }

    /// Revokes and deletes what the keychain holds under profile name `name` that no profile
    /// reaches any more (after a remove, or an edit or import that moved its issuer or client
    /// id); each outcome goes to the activity log.
    async fn remove_unreachable_sessions_of(&self, name: &str) {
        let config = self.config.lock().await.clone();
        match remove_sessions_of(&self.vault, &config, name).await {
            Ok(done) => {
                for removal in done {
                    self.activity.note(
                        "INFO",
                        format!("earlier session of `{name}`: {}", removal.describe()),
                    );
                }
            }
            Err(e) => self.activity.note(
                "WARN",
                format!("could not look for other saved sessions of `{name}`: {e}"),
            ),
        }
    }

    /// The sessions in the keychain that no profile reaches (never a secret).
    pub async fn stray_sessions(&self) -> CommandResult<Vec<StraySession>> {
        let config = self.config.lock().await.clone();
        find_stray_sessions(&self.vault, &config)
            .await
            .map_err(|e| latchkey_core::Error::from(e).into())
    }

    /// Revokes what it can of the stray sessions and deletes them; one sentence each.
    pub async fn remove_stray_sessions(&self) -> CommandResult<Vec<String>> {
        let config = self.config.lock().await.clone();
        let strays = find_stray_sessions(&self.vault, &config)
            .await
            .map_err(latchkey_core::Error::from)?;
        let done = latchkey_core::remove_stray_sessions(&self.vault, &config, strays).await;
        let said: Vec<String> = done
            .iter()
            .map(|r| {
                format!(
                    "Stray session of “{}”: {}.",
                    r.stray.profile_name,
                    r.describe()
                )
            })
            .collect();
        for line in &said {
            self.activity.note("INFO", line.clone());
        }
        Ok(said)
    }
}

/// A session for `profile`, kept fresh in the background, its changes sent to the window.
fn open_session(app: &AppHandle, profile: Profile, vault: &Vault) -> CommandResult<Active> {
    let options = SessionOptions::with_vault(vault.clone());
    let session = Arc::new(Session::new(profile.clone(), options)?);
    let mut changes = session.subscribe();
    let weak = Arc::downgrade(&session);
    let (app, forwarded_profile) = (app.clone(), profile.clone());
    let forwarder = tauri::async_runtime::spawn(async move {
        let mut was_signing_in = false;
        while changes.changed().await.is_ok() {
            let state = changes.borrow_and_update().clone();
            let Some(session) = weak.upgrade() else {
                return;
            };
            let _ = app.emit("session", view_of(&session, &forwarded_profile).await);
            if matches!(
                state,
                SessionState::SignedIn { .. } | SessionState::SignedOut { .. }
            ) {
                crate::tray::profile_changed(&app, forwarded_profile.name.clone());
            }
            if was_signing_in && matches!(state, SessionState::SignedIn { .. }) {
                bring_to_front(&app);
            }
            was_signing_in = matches!(state, SessionState::SigningIn { .. });
        }
    });
    let keeper = session.keep_fresh();
    Ok(Active {
        profile,
        session,
        forwarder,
        _keeper: keeper,
    })
}

/// After a sign-in in the browser (or a second launch), the app window comes to the front.
pub fn bring_to_front(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

async fn view_of(session: &Session, profile: &Profile) -> SessionView {
    let state = session.state();
    let storage = session.storage();
    let mut view = SessionView {
        profile: profile.name.clone(),
        issuer: profile.issuer(),
        client_id: profile.client_id.clone(),
        store: match &storage.warning {
            Some(warning) => format!("{} (memory only: {warning})", storage.store_name),
            None => storage.store_name.clone(),
        },
        refresh_margin_secs: profile.refresh_margin.as_secs(),
        state: state.name(),
        identity_pool: profile.aws.as_ref().map(|a| a.identity_pool_id.clone()),
        opens_nothing: latchkey_core::BrowserChoice::for_profile(Some(profile)).opens_nothing(),
        ..SessionView::default()
    };
    match state {
        SessionState::SignedOut { reason } => {
            let end = session.last_end();
            view.signed_out = Some(signed_out_view(
                &profile.name,
                reason.as_deref(),
                end.as_ref(),
                &storage,
            ));
        }
        SessionState::SigningIn {
            authorize_url,
            redirect_uri,
            expires_at,
        } => {
            view.authorize_url = Some(authorize_url.to_string());
            view.redirect_uri = Some(redirect_uri);
            view.started_at =
                Some(expires_at.timestamp() - profile.sign_in_timeout.as_secs() as i64);
            view.expires_at = Some(expires_at.timestamp());
        }
        SessionState::SignedIn {
            user,
            aws_expires_at,
            ..
        } => {
            view.user = Some(user_view(&user));
            view.aws_expires_at = aws_expires_at.map(|t| t.timestamp());
            if let Ok(tokens) = session.tokens().await {
                view.tokens = TokenTimeline::of(&tokens);
            }
        }
        SessionState::Refreshing { user } => view.user = Some(user_view(&user)),
        SessionState::Error { message, .. } => view.error = Some(message),
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
