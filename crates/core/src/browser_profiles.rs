//! The browsers and browser profiles installed for this user (Chromium-family `Local State`,
//! Firefox `profiles.ini`), each as a ready `browser` argument vector for a profile's form.

use std::path::Path;

use serde::Serialize;

use crate::browser::locate_program;
use crate::config::URL_PLACEHOLDER;

/// One browser profile found on this machine, with the argument vector that opens it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscoveredBrowser {
    /// The browser's name (`Google Chrome`, `Firefox`).
    pub browser: String,
    /// The browser profile's own name, as the browser shows it (`Work`).
    pub profile: String,
    /// `browser — profile`, for a choice list.
    pub label: String,
    /// The `browser` setting that opens this profile (`[program, …, "{url}"]`).
    pub argv: Vec<String>,
}

/// A Chromium-family browser: its name, its user-data directories below the home directory
/// (`~/.config/…`, a snap's), and the programs that start it, most common first.
struct ChromiumFamily {
    name: &'static str,
    data_dirs: &'static [&'static str],
    programs: &'static [&'static str],
}

/// Chromium's switch that picks a profile by its directory (`--profile-directory=Profile 1`).
const CHROMIUM_PROFILE_SWITCH: &str = "profile-directory";

const CHROMIUM_FAMILY: &[ChromiumFamily] = &[
    ChromiumFamily {
        name: "Chromium",
        data_dirs: &[".config/chromium", "snap/chromium/common/chromium"],
        programs: &["chromium", "chromium-browser"],
    },
    ChromiumFamily {
        name: "Google Chrome",
        data_dirs: &[".config/google-chrome"],
        programs: &["google-chrome", "google-chrome-stable"],
    },
    ChromiumFamily {
        name: "Brave",
        data_dirs: &[".config/BraveSoftware/Brave-Browser"],
        programs: &["brave-browser", "brave"],
    },
    ChromiumFamily {
        name: "Microsoft Edge",
        data_dirs: &[".config/microsoft-edge"],
        programs: &["microsoft-edge", "microsoft-edge-stable"],
    },
];

/// Where Firefox keeps `profiles.ini` below the home directory: a package's, a snap's, a
/// Flatpak's (the last two start through the `firefox` their package puts on `PATH`).
const FIREFOX_DIRS: &[&str] = &[
    ".mozilla/firefox",
    "snap/firefox/common/.mozilla/firefox",
    ".var/app/org.mozilla.firefox/.mozilla/firefox",
];

/// The browser profiles of this user whose browser is on `PATH` (empty without a home).
pub fn discover_browsers() -> Vec<DiscoveredBrowser> {
    match directories::BaseDirs::new() {
        Some(dirs) => discover_browsers_in(dirs.home_dir(), &|p| locate_program(p).is_some()),
        None => Vec::new(),
    }
}

/// [`discover_browsers`] below `home`, a program counting as installed when `installed` says
/// so; each argument vector appears once.
pub fn discover_browsers_in(
    home: &Path,
    installed: &dyn Fn(&str) -> bool,
) -> Vec<DiscoveredBrowser> {
    let mut found: Vec<DiscoveredBrowser> = Vec::new();
    for family in CHROMIUM_FAMILY {
        let Some(program) = family.programs.iter().find(|p| installed(p)) else {
            continue;
        };
        for dir in family.data_dirs {
            for (directory, name) in chromium_profiles(&home.join(dir).join("Local State")) {
                let argv = vec![
                    program.to_string(),
                    format!("--{CHROMIUM_PROFILE_SWITCH}={directory}"),
                    URL_PLACEHOLDER.into(),
                ];
                push_new(&mut found, family.name, name, argv);
            }
        }
    }
    if installed("firefox") {
        for dir in FIREFOX_DIRS {
            for name in firefox_profiles(&home.join(dir).join("profiles.ini")) {
                let argv = vec![
                    "firefox".into(),
                    "-P".into(),
                    name.clone(),
                    URL_PLACEHOLDER.into(),
                ];
                push_new(&mut found, "Firefox", name, argv);
            }
        }
    }
    found
}

fn push_new(found: &mut Vec<DiscoveredBrowser>, browser: &str, profile: String, argv: Vec<String>) {
    if found.iter().any(|f| f.argv == argv) {
        return;
    }
    found.push(DiscoveredBrowser {
        label: format!("{browser} — {profile}"),
        browser: browser.into(),
        profile,
        argv,
    });
}

/// `(directory, display name)` of each profile in a Chromium `Local State` file
/// (`profile.info_cache`); a missing or unreadable file has none.
fn chromium_profiles(local_state: &Path) -> Vec<(String, String)> {
    let Some(state) = std::fs::read_to_string(local_state)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
    else {
        return Vec::new();
    };
    let Some(cache) = state
        .pointer("/profile/info_cache")
        .and_then(|c| c.as_object())
    else {
        return Vec::new();
    };
    cache
        .iter()
        .map(|(directory, info)| {
            let name = info
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or(directory);
            (directory.clone(), name.to_owned())
        })
        .collect()
}

/// The `Name=` of each `[ProfileN]` section of a Firefox `profiles.ini`, in file order.
fn firefox_profiles(profiles_ini: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(profiles_ini) else {
        return Vec::new();
    };
    let mut in_profile = false;
    let mut names = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_profile = section.starts_with("Profile");
        } else if let Some(name) = line.strip_prefix("Name=").filter(|_| in_profile) {
            names.push(name.to_owned());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of a Chromium `Local State` (trimmed: the browser writes many more keys).
    const LOCAL_STATE: &str = r#"{
      "browser": {"enabled_labs_experiments": []},
      "profile": {
        "info_cache": {
          "Default": {"active_time": 1733600000.0, "is_using_default_name": true, "name": "Person 1"},
          "Profile 3": {"active_time": 1733600100.0, "gaia_name": "", "name": "Work"}
        },
        "last_used": "Profile 3",
        "profiles_order": ["Default", "Profile 3"]
      }
    }"#;

    /// The shape of a Firefox `profiles.ini` (an install section, two profiles, General).
    const PROFILES_INI: &str = "[Install4F96D1932A9F858E]\nDefault=x1y2.default-release\nLocked=1\n\n[Profile1]\nName=work\nIsRelative=1\nPath=a1b2.work\n\n[Profile0]\nName=default-release\nIsRelative=1\nPath=x1y2.default-release\nDefault=1\n\n[General]\nStartWithLastProfile=1\nVersion=2\n";

    fn home_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let home = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let file = home.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
        home
    }

    fn argvs(found: &[DiscoveredBrowser]) -> Vec<Vec<&str>> {
        found
            .iter()
            .map(|f| f.argv.iter().map(String::as_str).collect())
            .collect()
    }

    #[test]
    fn chromium_and_firefox_profiles_become_argument_vectors() {
        let home = home_with(&[
            (".config/google-chrome/Local State", LOCAL_STATE),
            (".mozilla/firefox/profiles.ini", PROFILES_INI),
        ]);
        let found = discover_browsers_in(home.path(), &|p| {
            p == "google-chrome-stable" || p == "firefox"
        });
        assert_eq!(
            argvs(&found),
            [
                vec![
                    "google-chrome-stable",
                    "--profile-directory=Default",
                    "{url}"
                ],
                vec![
                    "google-chrome-stable",
                    "--profile-directory=Profile 3",
                    "{url}"
                ],
                vec!["firefox", "-P", "work", "{url}"],
                vec!["firefox", "-P", "default-release", "{url}"],
            ]
        );
        assert_eq!(found[1].label, "Google Chrome — Work");
        assert_eq!(found[2].profile, "work");
    }

    #[test]
    fn a_browser_not_on_path_or_a_broken_file_offers_nothing() {
        let home = home_with(&[
            (".config/chromium/Local State", LOCAL_STATE),
            (
                ".config/BraveSoftware/Brave-Browser/Local State",
                "{not json",
            ),
            (
                "snap/firefox/common/.mozilla/firefox/profiles.ini",
                PROFILES_INI,
            ),
        ]);
        let found = discover_browsers_in(home.path(), &|p| p == "brave-browser");
        assert!(found.is_empty(), "{found:?}");
        let found = discover_browsers_in(home.path(), &|p| p == "firefox");
        assert_eq!(found.len(), 2, "the snap's profiles.ini is read");
    }
}
