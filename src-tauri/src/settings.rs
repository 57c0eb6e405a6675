//! The app's own settings (not the profiles): `settings.json` in the app's data directory,
//! today whether closing the window keeps Latchkey running in the tray.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const FILE_NAME: &str = "settings.json";

/// What the user chose; a setting never chosen is `None` and takes its default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSettings {
    /// Closing the window hides it and the app (and its agent) keeps running in the tray.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_in_tray: Option<bool>,
}

impl AppSettings {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(FILE_NAME)
    }

    /// The saved settings; a missing or unreadable file gives the defaults (said in the log).
    pub fn load(data_dir: &Path) -> AppSettings {
        let path = Self::path(data_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "settings unreadable; using the defaults");
                AppSettings::default()
            }),
            Err(_) => AppSettings::default(),
        }
    }

    pub fn save(&self, data_dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(data_dir)?;
        let text = serde_json::to_vec_pretty(self).expect("settings serialise");
        std::fs::write(Self::path(data_dir), text)
    }

    /// Whether closing the window keeps the app in the tray: never without a tray, else the
    /// user's choice, on by default.
    pub fn keeps_in_tray(&self, tray: &TrayPresence) -> bool {
        tray.available() && self.keep_in_tray.unwrap_or(true)
    }
}

/// What closing the window does: the saved choice and whether there is a tray at all.
pub struct CloseToTray {
    pub presence: TrayPresence,
    data_dir: PathBuf,
    settings: std::sync::Mutex<AppSettings>,
}

impl CloseToTray {
    pub fn new(presence: TrayPresence, data_dir: PathBuf) -> Self {
        let settings = std::sync::Mutex::new(AppSettings::load(&data_dir));
        CloseToTray {
            presence,
            data_dir,
            settings,
        }
    }

    fn settings(&self) -> std::sync::MutexGuard<'_, AppSettings> {
        self.settings.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether closing the window now keeps the app running in the tray.
    pub fn keeps_in_tray(&self) -> bool {
        self.settings().keeps_in_tray(&self.presence)
    }

    /// Save the user's choice (where there is no tray the choice is kept for a desktop that has
    /// one, and closing still quits).
    pub fn choose(&self, keep: bool) -> std::io::Result<()> {
        let mut settings = self.settings();
        settings.keep_in_tray = Some(keep);
        settings.save(&self.data_dir)
    }
}

/// Whether this desktop shows tray icons, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrayPresence {
    Available,
    Missing { why: String },
}

impl TrayPresence {
    pub fn available(&self) -> bool {
        matches!(self, TrayPresence::Available)
    }

    /// Linux: a StatusNotifierWatcher owns its name on the session bus (KDE, GNOME with the
    /// AppIndicator extension, XFCE's and most panels); elsewhere the OS always has one.
    pub fn detect() -> TrayPresence {
        #[cfg(target_os = "linux")]
        {
            linux_tray_presence()
        }
        #[cfg(not(target_os = "linux"))]
        {
            TrayPresence::Available
        }
    }
}

#[cfg(target_os = "linux")]
const WATCHER: &str = "org.kde.StatusNotifierWatcher";

#[cfg(target_os = "linux")]
fn linux_tray_presence() -> TrayPresence {
    let missing = |why: String| TrayPresence::Missing { why };
    let Ok(bus) = zbus::blocking::Connection::session() else {
        return missing(
            "there is no D-Bus session bus, so no tray can show Latchkey's icon".into(),
        );
    };
    let owned = zbus::blocking::fdo::DBusProxy::new(&bus)
        .and_then(|dbus| {
            let name = zbus::names::BusName::try_from(WATCHER).map_err(zbus::Error::from)?;
            dbus.name_has_owner(name).map_err(zbus::fdo::Error::into)
        })
        .unwrap_or(false);
    match owned {
        true => TrayPresence::Available,
        false => missing(format!(
            "this desktop has no tray ({WATCHER} is not on the session bus; on GNOME, the AppIndicator extension adds one)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_in_tray_is_on_by_default_only_where_a_tray_exists() {
        let tray = TrayPresence::Available;
        let none = TrayPresence::Missing { why: "no".into() };
        assert!(AppSettings::default().keeps_in_tray(&tray));
        assert!(!AppSettings::default().keeps_in_tray(&none));
        let off = AppSettings {
            keep_in_tray: Some(false),
        };
        assert!(!off.keeps_in_tray(&tray));
    }

    #[test]
    fn settings_survive_a_save_and_a_broken_file_gives_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let off = AppSettings {
            keep_in_tray: Some(false),
        };
        off.save(dir.path()).unwrap();
        assert_eq!(AppSettings::load(dir.path()), off);
        std::fs::write(AppSettings::path(dir.path()), b"{not json").unwrap();
        assert_eq!(AppSettings::load(dir.path()), AppSettings::default());
    }
}
