//! A desktop notification server for tests: it owns org.freedesktop.Notifications on the
//! session bus (the sandbox's), records every `Notify` call and plays the user clicking.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use zbus::blocking::connection::Builder;
use zbus::blocking::Connection;
use zbus::zvariant::OwnedValue;

const BUS_NAME: &str = "org.freedesktop.Notifications";
const OBJECT_PATH: &str = "/org/freedesktop/Notifications";
/// A safety net against a hung test, not a measured time.
const WAIT_LIMIT: Duration = Duration::from_secs(120);

/// One `Notify` call as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedNotification {
    /// The id the server answered.
    pub id: u32,
    /// The sender's `app_name`.
    pub app_name: String,
    /// The title.
    pub summary: String,
    /// The text.
    pub body: String,
    /// Action keys and their labels, in pairs as sent.
    pub actions: Vec<String>,
}

impl RecordedNotification {
    /// The action keys (every other entry of `actions`).
    pub fn action_keys(&self) -> Vec<&str> {
        self.actions.iter().step_by(2).map(String::as_str).collect()
    }
}

type Recorded = Arc<Mutex<Vec<RecordedNotification>>>;

struct Recorder {
    recorded: Recorded,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Recorder {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &mut self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        _hints: HashMap<String, OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut recorded = self.recorded.lock().unwrap();
        let id = recorded.len() as u32 + 1;
        recorded.push(RecordedNotification {
            id,
            app_name,
            summary,
            body,
            actions,
        });
        id
    }

    fn close_notification(&mut self, _id: u32) {}

    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".into(), "body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "latchkey-testkit".into(),
            "Latchkey".into(),
            "1".into(),
            "1.2".into(),
        )
    }
}

/// One server at a time in a test process (the bus name is one); also held by a test that
/// needs no server on the bus.
static THE_BUS_NAME: Mutex<()> = Mutex::new(());

fn take_the_bus_name() -> MutexGuard<'static, ()> {
    THE_BUS_NAME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The running server; it gives up the name when dropped.
pub struct NotificationServer {
    connection: Connection,
    recorded: Recorded,
    _one_at_a_time: MutexGuard<'static, ()>,
}

impl Drop for NotificationServer {
    fn drop(&mut self) {
        let _ = self.connection.release_name(BUS_NAME);
    }
}

/// No notification server on the bus for as long as it lives (other tests of the process
/// wait to start theirs).
pub struct NoNotificationServer {
    _one_at_a_time: MutexGuard<'static, ()>,
}

impl NoNotificationServer {
    /// Wait until no test of this process runs a server.
    pub fn hold() -> NoNotificationServer {
        NoNotificationServer {
            _one_at_a_time: take_the_bus_name(),
        }
    }
}

impl NotificationServer {
    /// Own org.freedesktop.Notifications on the session bus. Panics (saying how to run the
    /// test) without a session bus, or when another server holds the name.
    pub fn start() -> NotificationServer {
        let one_at_a_time = take_the_bus_name();
        let recorded = Recorded::default();
        let recorder = Recorder {
            recorded: recorded.clone(),
        };
        let connection = Builder::session()
            .and_then(|b| b.name(BUS_NAME))
            .and_then(|b| b.serve_at(OBJECT_PATH, recorder))
            .and_then(|b| b.build())
            .unwrap_or_else(|e| {
                panic!("cannot own {BUS_NAME} on the session bus ({e}); run the test in `/work/bin/sandbox-run` or `cargo xtask test`")
            });
        NotificationServer {
            connection,
            recorded,
            _one_at_a_time: one_at_a_time,
        }
    }

    /// Every notification received so far.
    pub fn recorded(&self) -> Vec<RecordedNotification> {
        self.recorded.lock().unwrap().clone()
    }

    /// The notifications whose title is `summary`.
    pub fn titled(&self, summary: &str) -> Vec<RecordedNotification> {
        let mut recorded = self.recorded();
        recorded.retain(|n| n.summary == summary);
        recorded
    }

    /// Wait until a notification titled `summary` came, and return it.
    pub fn wait_for(&self, summary: &str) -> RecordedNotification {
        let start = Instant::now();
        loop {
            if let Some(first) = self.titled(summary).into_iter().next() {
                return first;
            }
            assert!(
                start.elapsed() < WAIT_LIMIT,
                "no notification titled {summary:?} came; received: {:?}",
                self.recorded()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Play the user clicking `action_key` of notification `id`: `ActionInvoked`, then
    /// `NotificationClosed` (reason 2, dismissed by the user), as desktop servers do.
    pub fn invoke_action(&self, id: u32, action_key: &str) {
        let emit = |signal: &str, result: zbus::Result<()>| {
            result.unwrap_or_else(|e| panic!("cannot emit {signal}: {e}"))
        };
        let c = &self.connection;
        let invoked = (id, action_key);
        emit(
            "ActionInvoked",
            c.emit_signal(
                None::<&str>,
                OBJECT_PATH,
                BUS_NAME,
                "ActionInvoked",
                &invoked,
            ),
        );
        let closed = (id, 2u32);
        emit(
            "NotificationClosed",
            c.emit_signal(
                None::<&str>,
                OBJECT_PATH,
                BUS_NAME,
                "NotificationClosed",
                &closed,
            ),
        );
    }
}
