//! The agent's desktop notification "Sign-in needed for PROFILE" (org.freedesktop.Notifications
//! on the session bus): one per profile while it is open; its "Sign in" action starts the sign-in.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

/// The action key of the notification's button (and `default`, a click on the notification).
pub(crate) const SIGN_IN_ACTION: &str = "sign-in";

/// The notification's title for `profile`.
pub(crate) fn summary(profile: &str) -> String {
    format!("Sign-in needed for {profile}")
}

/// Shows one notification per profile that needs a sign-in and reports the profiles whose
/// notification the user clicked.
#[derive(Clone)]
pub(crate) struct SignInNotifier {
    inner: Arc<Inner>,
}

struct Inner {
    /// Profiles with a notification shown (its id once the server gave one).
    open: Mutex<HashMap<String, Option<u32>>>,
    /// Profiles whose "Sign in" the user clicked.
    clicks: mpsc::UnboundedSender<String>,
    /// The session bus, connected on first use (`None`: none, or no notification server).
    #[cfg(all(unix, not(target_os = "macos")))]
    bus: tokio::sync::OnceCell<Option<bus::NotificationsProxy<'static>>>,
    /// Whether the "cannot notify" line was logged (once is enough).
    told_unavailable: AtomicBool,
}

impl SignInNotifier {
    /// A notifier and the receiving end of its clicks (profile names).
    pub(crate) fn new() -> (Self, mpsc::UnboundedReceiver<String>) {
        let (clicks, clicked) = mpsc::unbounded_channel();
        let inner = Inner {
            open: Mutex::new(HashMap::new()),
            clicks,
            #[cfg(all(unix, not(target_os = "macos")))]
            bus: tokio::sync::OnceCell::new(),
            told_unavailable: AtomicBool::new(false),
        };
        (
            SignInNotifier {
                inner: Arc::new(inner),
            },
            clicked,
        )
    }

    /// Tell the user `profile` needs a sign-in, unless a notification for it is already open.
    /// Returns at once; the notification is shown on its own task.
    pub(crate) fn sign_in_needed(&self, profile: &str) {
        {
            let mut open = self.inner.open.lock().unwrap();
            if open.contains_key(profile) {
                return;
            }
            open.insert(profile.to_owned(), None);
        }
        let notifier = self.clone();
        let profile = profile.to_owned();
        tokio::spawn(async move { notifier.show(profile).await });
    }

    /// Forget `profile`'s notification (clicked, closed, or never shown).
    fn close(&self, profile: &str) {
        self.inner.open.lock().unwrap().remove(profile);
    }

    /// The profile whose open notification has `id`.
    fn profile_of(&self, id: u32) -> Option<String> {
        let open = self.inner.open.lock().unwrap();
        open.iter()
            .find(|(_, shown)| **shown == Some(id))
            .map(|(profile, _)| profile.clone())
    }

    fn unavailable(&self, why: &str) {
        if !self.inner.told_unavailable.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                why,
                "no desktop notification can be shown; callers are told to run `latchkey login`"
            );
        }
    }

    /// The user clicked the notification with `id` (or its "Sign in").
    fn clicked(&self, id: u32) {
        if let Some(profile) = self.profile_of(id) {
            self.close(&profile);
            tracing::info!(profile, "sign-in notification clicked");
            let _ = self.inner.clicks.send(profile);
        }
    }

    #[cfg(not(all(unix, not(target_os = "macos"))))]
    async fn show(&self, profile: String) {
        self.close(&profile);
        self.unavailable("notifications are shown on Linux desktops only");
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    async fn show(&self, profile: String) {
        let Some(proxy) = self.bus().await else {
            self.close(&profile);
            return;
        };
        match bus::notify(&proxy, &profile).await {
            Ok(id) => {
                tracing::info!(profile, "sign-in notification shown");
                if let Some(shown) = self.inner.open.lock().unwrap().get_mut(&profile) {
                    *shown = Some(id);
                }
            }
            Err(e) => {
                self.close(&profile);
                self.unavailable(&e.to_string());
            }
        }
    }

    /// The notification server's proxy, connected (and its signals followed) on first use.
    #[cfg(all(unix, not(target_os = "macos")))]
    async fn bus(&self) -> Option<bus::NotificationsProxy<'static>> {
        let connected = self
            .inner
            .bus
            .get_or_init(|| async {
                match bus::connect().await {
                    Ok(proxy) => {
                        tokio::spawn(self.clone().follow(proxy.clone()));
                        Some(proxy)
                    }
                    Err(e) => {
                        self.unavailable(&e.to_string());
                        None
                    }
                }
            })
            .await;
        connected.clone()
    }

    /// Follow the server's signals: a click starts a sign-in, a close forgets the notification.
    /// One stream, in the order the server sent them: a click is followed at once by the
    /// notification's close (reason 2), and a close handled first would forget what the click
    /// was on (two streams polled together take ready items in no fixed order).
    #[cfg(all(unix, not(target_os = "macos")))]
    async fn follow(self, proxy: bus::NotificationsProxy<'static>) {
        use futures_util::StreamExt;
        let Ok(mut signals) = proxy.inner().receive_all_signals().await else {
            self.unavailable("cannot follow the notification server's signals");
            return;
        };
        while let Some(message) = signals.next().await {
            let header = message.header();
            let body = message.body();
            match header.member().map(|m| m.as_str()) {
                Some("ActionInvoked") => {
                    if let Ok((id, action_key)) = body.deserialize::<(u32, String)>() {
                        if action_key == SIGN_IN_ACTION || action_key == "default" {
                            self.clicked(id);
                        }
                    }
                }
                Some("NotificationClosed") => {
                    if let Ok((id, _reason)) = body.deserialize::<(u32, u32)>() {
                        if let Some(profile) = self.profile_of(id) {
                            self.close(&profile);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// org.freedesktop.Notifications as the agent uses it (the Desktop Notifications spec 1.2).
#[cfg(all(unix, not(target_os = "macos")))]
pub(super) mod bus {
    use std::collections::HashMap;

    use zbus::zvariant::Value;

    use super::{summary, SIGN_IN_ACTION};

    #[zbus::proxy(
        interface = "org.freedesktop.Notifications",
        default_service = "org.freedesktop.Notifications",
        default_path = "/org/freedesktop/Notifications",
        gen_blocking = false
    )]
    pub(crate) trait Notifications {
        #[allow(clippy::too_many_arguments)]
        fn notify(
            &self,
            app_name: &str,
            replaces_id: u32,
            app_icon: &str,
            summary: &str,
            body: &str,
            actions: &[&str],
            hints: HashMap<&str, Value<'_>>,
            expire_timeout: i32,
        ) -> zbus::Result<u32>;

        fn close_notification(&self, id: u32) -> zbus::Result<()>;

        #[zbus(signal)]
        fn action_invoked(&self, id: u32, action_key: String) -> zbus::Result<()>;

        #[zbus(signal)]
        fn notification_closed(&self, id: u32, reason: u32) -> zbus::Result<()>;
    }

    pub(crate) async fn connect() -> zbus::Result<NotificationsProxy<'static>> {
        let connection = zbus::Connection::session().await?;
        NotificationsProxy::new(&connection).await
    }

    /// Show the notification for `profile`: its id. It stays until the user acts on it
    /// (`expire_timeout` 0, urgency normal).
    pub(crate) async fn notify(proxy: &NotificationsProxy<'_>, profile: &str) -> zbus::Result<u32> {
        let body = format!(
            "A tool without a terminal asked for a token of {profile}. Sign in opens the browser; \
             or run `latchkey login --profile {profile}`."
        );
        let hints = HashMap::from([("urgency", Value::U8(1))]);
        proxy
            .notify(
                "Latchkey",
                0,
                "dialog-password",
                &summary(profile),
                &body,
                &["default", "Sign in", SIGN_IN_ACTION, "Sign in"],
                hints,
                0,
            )
            .await
    }
}
