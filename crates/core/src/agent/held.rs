//! The sessions the agent holds: one `Session` per profile, built as the CLI builds them and
//! read from the keychain once; state changes of all of them fan out to subscribers. A profile
//! with `agent.idle_forget_secs` is let go after that long without a request (its tokens leave
//! memory; the next request reads the keychain again).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, Mutex};

use super::protocol::ProfileStatus;
use crate::config::{Config, Profile};
use crate::error::{Error, ErrorKind, Result};
use crate::session::{Session, SessionOptions, SessionState};
use crate::vault::Vault;

/// State changes kept for a subscriber that reads slowly (older ones are dropped for it).
const CHANGES_KEPT: usize = 64;

/// One profile's session, the gate that makes its first keychain read happen once, and when
/// a request last asked for it.
pub(crate) struct Held {
    pub(crate) session: Session,
    loading: Mutex<()>,
    last_request: std::sync::Mutex<Instant>,
}

impl Held {
    fn requested(&self) {
        *self.last_request.lock().unwrap() = Instant::now();
    }

    fn last_request(&self) -> Instant {
        *self.last_request.lock().unwrap()
    }
}

type Sessions = Arc<Mutex<HashMap<String, Arc<Held>>>>;

/// Every profile's session the agent has been asked about.
pub(crate) struct HeldSessions {
    config_path: PathBuf,
    sessions: Sessions,
    keychain_reads: AtomicU64,
    changes: broadcast::Sender<ProfileStatus>,
}

impl HeldSessions {
    pub(crate) fn new(config_path: PathBuf) -> Self {
        HeldSessions {
            config_path,
            sessions: Arc::default(),
            keychain_reads: AtomicU64::new(0),
            changes: broadcast::channel(CHANGES_KEPT).0,
        }
    }

    pub(crate) fn config_path(&self) -> &PathBuf {
        &self.config_path
    }

    /// How many times a saved session was read from the keychain.
    pub(crate) fn keychain_reads(&self) -> u64 {
        self.keychain_reads.load(Ordering::Relaxed)
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<ProfileStatus> {
        self.changes.subscribe()
    }

    /// The profile `name` (`None`: the default) as the file says now.
    fn profile(&self, name: Option<&str>) -> Result<Profile> {
        let config = Config::load(&self.config_path).map_err(Error::config)?;
        let profile = match name {
            Some(name) => config.profile(name),
            None => config.default_profile(),
        };
        profile.cloned().map_err(Error::config)
    }

    /// The session of profile `name`, its saved session loaded: held from an earlier request,
    /// or built now (again when the profile changed in the file). Counts as a request for
    /// `agent.idle_forget_secs`.
    pub(crate) async fn get(&self, name: Option<&str>) -> Result<Arc<Held>> {
        let profile = self.profile(name)?;
        let held = {
            let mut sessions = self.sessions.lock().await;
            match sessions.get(&profile.name) {
                Some(held) if held.session.profile() == &profile => held.clone(),
                _ => {
                    let held = Arc::new(self.hold(profile.clone())?);
                    sessions.insert(profile.name.clone(), held.clone());
                    if let Some(idle) = profile.agent.idle_forget {
                        tokio::spawn(forget_when_idle(
                            Arc::downgrade(&self.sessions),
                            Arc::downgrade(&held),
                            idle,
                        ));
                    }
                    held
                }
            }
        };
        held.requested();
        self.load(&held).await?;
        Ok(held)
    }

    fn hold(&self, profile: Profile) -> Result<Held> {
        let session = Session::new(profile, SessionOptions::with_vault(Vault::system()))?;
        if let Some(warning) = session.storage().warning {
            return Err(Error::new(ErrorKind::Keychain, warning));
        }
        self.forward_changes(&session);
        Ok(Held {
            session,
            loading: Mutex::new(()),
            last_request: std::sync::Mutex::new(Instant::now()),
        })
    }

    /// Read the saved session unless one is in memory: once for any number of callers (they
    /// wait for the first), and again only while the profile is signed out (a sign-in by
    /// another process shows up); never while a sign-in runs.
    async fn load(&self, held: &Held) -> Result<()> {
        let _gate = held.loading.lock().await;
        let state = held.session.state();
        if !matches!(
            state,
            SessionState::SignedOut { .. } | SessionState::Error { .. }
        ) {
            return Ok(());
        }
        self.keychain_reads.fetch_add(1, Ordering::Relaxed);
        held.session.restore_stored().await.map(drop)
    }

    /// Stop holding `profile`'s session (another process signed in or out).
    pub(crate) async fn forget(&self, profile: &str) {
        if self.sessions.lock().await.remove(profile).is_some() {
            tracing::info!(profile, "forgot a held session");
        }
    }

    /// Every session held, for a status of all.
    pub(crate) async fn all(&self) -> Vec<Arc<Held>> {
        let mut held: Vec<_> = self.sessions.lock().await.values().cloned().collect();
        held.sort_by(|a, b| a.session.profile().name.cmp(&b.session.profile().name));
        held
    }

    fn forward_changes(&self, session: &Session) {
        let mut states = session.subscribe();
        let changes = self.changes.clone();
        let profile = session.profile().name.clone();
        tokio::spawn(async move {
            while states.changed().await.is_ok() {
                let state = states.borrow_and_update().clone();
                let _ = changes.send(status_of(&profile, &state));
            }
        });
    }
}

/// Let `held` go once `idle` passed without a request for it, unless it is busy (a sign-in or
/// a refresh runs: it is let go after the next `idle`). Ends early when the held session was
/// replaced or forgotten otherwise. Requests already holding it finish with it.
async fn forget_when_idle(
    sessions: Weak<Mutex<HashMap<String, Arc<Held>>>>,
    held: Weak<Held>,
    idle: Duration,
) {
    let mut due = Instant::now() + idle;
    loop {
        tokio::time::sleep_until(due.into()).await;
        let Some(this) = held.upgrade() else { return };
        let busy = matches!(
            this.session.state(),
            SessionState::SigningIn { .. } | SessionState::Refreshing { .. }
        );
        let idle_until = this.last_request() + idle;
        if busy || idle_until > Instant::now() {
            due = idle_until.max(Instant::now() + idle * u32::from(busy));
            continue;
        }
        let Some(sessions) = sessions.upgrade() else {
            return;
        };
        let mut sessions = sessions.lock().await;
        let profile = this.session.profile().name.clone();
        if sessions
            .get(&profile)
            .is_some_and(|h| Arc::ptr_eq(h, &this))
        {
            sessions.remove(&profile);
            tracing::info!(
                profile,
                idle_secs = idle.as_secs(),
                "forgot the tokens held in memory after a time without requests"
            );
        }
        return;
    }
}

pub(crate) fn is_signed_in(state: &SessionState) -> bool {
    matches!(
        state,
        SessionState::SignedIn { .. } | SessionState::Refreshing { .. }
    )
}

/// A session's state as the protocol shows it (no secret).
pub(crate) fn status_of(profile: &str, state: &SessionState) -> ProfileStatus {
    let mut status = ProfileStatus {
        profile: profile.to_owned(),
        state: state.name().to_owned(),
        user: None,
        id_expires_at: None,
        reason: None,
        sign_in_waiters: 0,
    };
    match state {
        SessionState::SignedIn {
            user,
            id_expires_at,
            ..
        } => {
            status.user = Some(shown_user(user));
            status.id_expires_at = Some(*id_expires_at);
        }
        SessionState::SignedOut { reason } => status.reason = reason.clone(),
        SessionState::Error { message, .. } => status.reason = Some(message.clone()),
        _ => {}
    }
    status
}

/// Email, else username, else subject.
pub(crate) fn shown_user(user: &crate::session::UserSummary) -> String {
    (user.email.clone().or_else(|| user.username.clone())).unwrap_or_else(|| user.sub.clone())
}
