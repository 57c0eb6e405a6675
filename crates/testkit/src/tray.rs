//! A desktop tray for tests: a minimal StatusNotifierWatcher on the session bus (what a panel
//! runs, so that the app's AppIndicator registers), and the registered menu read and clicked
//! over com.canonical.dbusmenu (through `busctl`, whose JSON output needs no type plumbing).

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use zbus::object_server::SignalEmitter;

const WATCHER_NAME: &str = "org.kde.StatusNotifierWatcher";
const WATCHER_PATH: &str = "/StatusNotifierWatcher";

/// The tray items registered so far, as `(bus name, object path)`.
type Items = Arc<Mutex<Vec<(String, String)>>>;

struct Watcher {
    items: Items,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    /// An item registers with its object path (AppIndicator) or its bus name.
    async fn register_status_notifier_item(
        &self,
        service: &str,
        #[zbus(header)] header: zbus::message::Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) {
        let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
        let item = match service.starts_with('/') {
            true => (sender, service.to_owned()),
            false => (service.to_owned(), "/StatusNotifierItem".to_owned()),
        };
        let shown = format!("{}{}", item.0, item.1);
        self.items.lock().unwrap().push(item);
        let _ = Self::status_notifier_item_registered(&emitter, &shown).await;
    }

    async fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        let items = self.items.lock().unwrap();
        items.iter().map(|(n, p)| format!("{n}{p}")).collect()
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }

    #[zbus(signal)]
    async fn status_notifier_item_registered(
        emitter: &SignalEmitter<'_>,
        service: &str,
    ) -> zbus::Result<()>;
}

/// A tray on the test's session bus, gone when dropped. Start it before the app: the app
/// looks for a tray when it starts.
pub struct TestTray {
    items: Items,
    _connection: zbus::blocking::Connection,
}

/// One entry of a tray menu as dbusmenu publishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayEntry {
    pub id: i64,
    pub label: String,
    pub enabled: bool,
}

impl TestTray {
    pub fn start() -> TestTray {
        let items = Items::default();
        let watcher = Watcher {
            items: items.clone(),
        };
        let connection = zbus::blocking::connection::Builder::session()
            .and_then(|b| b.name(WATCHER_NAME))
            .and_then(|b| b.serve_at(WATCHER_PATH, watcher))
            .and_then(|b| b.build())
            .expect("a StatusNotifierWatcher on the session bus (is another tray running?)");
        TestTray {
            items,
            _connection: connection,
        }
    }

    /// The first item that registers, once it has.
    pub async fn item(&self) -> (String, String) {
        for _ in 0..300 {
            if let Some(item) = self.items.lock().unwrap().first().cloned() {
                return item;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no tray item registered with the test's StatusNotifierWatcher in 30 s");
    }

    /// The item's menu: its bus name and the object path of its dbusmenu.
    pub async fn menu(&self) -> TrayMenu {
        let (name, path) = self.item().await;
        let menu = busctl(&[
            "get-property",
            &name,
            &path,
            "org.kde.StatusNotifierItem",
            "Menu",
        ]);
        let menu_path = menu["data"]
            .as_str()
            .expect("Menu is an object path")
            .to_owned();
        TrayMenu {
            name,
            path: menu_path,
        }
    }
}

/// A tray item's dbusmenu.
pub struct TrayMenu {
    name: String,
    path: String,
}

impl TrayMenu {
    /// Every entry of the menu, in order (separators have an empty label).
    pub fn entries(&self) -> Vec<TrayEntry> {
        let layout = busctl(&[
            "call",
            &self.name,
            &self.path,
            "com.canonical.dbusmenu",
            "GetLayout",
            "iias",
            "0",
            "-1",
            "0",
        ]);
        let root = &layout["data"][1];
        let mut entries = Vec::new();
        for child in root[2].as_array().into_iter().flatten() {
            entries.extend(entry_of(&child["data"]));
        }
        entries
    }

    /// The entry whose label is `label`, waiting until the menu shows it.
    pub async fn wait_for(&self, label: &str) -> TrayEntry {
        for _ in 0..300 {
            if let Some(entry) = self.entries().into_iter().find(|e| e.label == label) {
                return entry;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the tray menu never showed “{label}”: {:?}", self.entries());
    }

    /// Click `entry`, as a panel does.
    pub fn click(&self, entry: &TrayEntry) {
        busctl(&[
            "call",
            &self.name,
            &self.path,
            "com.canonical.dbusmenu",
            "Event",
            "isvu",
            &entry.id.to_string(),
            "clicked",
            "s",
            "",
            "0",
        ]);
    }
}

/// One `(ia{sv}av)` entry: its id, label (mnemonic underscores removed) and enabled flag.
fn entry_of(layout: &Value) -> Option<TrayEntry> {
    let id = layout[0].as_i64()?;
    let props = &layout[1];
    let label = props["label"]["data"]
        .as_str()
        .unwrap_or_default()
        .replace('_', "");
    let enabled = props["enabled"]["data"].as_bool().unwrap_or(true);
    Some(TrayEntry { id, label, enabled })
}

/// `busctl --user … --json=short` on the test's session bus.
fn busctl(args: &[&str]) -> Value {
    let out = Command::new("busctl")
        .arg("--user")
        .arg("--json=short")
        // The end of busctl's options: an argument such as dbusmenu's depth `-1` is not one.
        .arg("--")
        .args(args)
        .output()
        .expect("busctl (systemd) runs");
    assert!(
        out.status.success(),
        "busctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if out.stdout.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(&out.stdout).expect("busctl's JSON")
}
