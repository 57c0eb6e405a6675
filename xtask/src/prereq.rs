//! Prerequisites: Debian packages, the project-local `tauri-driver`, npm and PyPI packages.
//! Installs what is missing when it may (root, Debian), otherwise names the exact command to run.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, project_root};

/// What the desktop app needs to build and run (WebKitGTK 4.1 brings GTK, libsoup, JSC, D-Bus;
/// Ayatana AppIndicator draws the tray icon and publishes its menu on D-Bus).
pub const APP_PACKAGES: &[&str] = &[
    "libwebkit2gtk-4.1-dev",
    "libayatana-appindicator3-dev",
    "build-essential",
    "pkg-config",
];

/// What `cargo xtask test` needs on top: a virtual display, a D-Bus session with a real Secret
/// Service, a real browser with its WebDriver, WebKit's WebDriver for the app window, and
/// xclip to read the clipboard's formats as a clipboard manager does, and the AppIndicator
/// library the tray icon loads at run time.
pub const TEST_PACKAGES: &[&str] = &[
    "xvfb",
    "xauth",
    "xclip",
    "dbus",
    "gnome-keyring",
    "libsecret-tools",
    "chromium",
    "chromium-driver",
    "webkit2gtk-driver",
    "python3-venv",
    "libayatana-appindicator3-1",
];

fn skip_install() -> bool {
    std::env::var("LATCHKEY_SKIP_INSTALL").is_ok_and(|v| v == "1")
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Whether `program` is on this machine and answers `--version` (e.g. `dpkg`: Debian and its
/// derivatives).
pub fn answers(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether dpkg lists `package` as installed.
pub fn is_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("ok installed"))
        .unwrap_or(false)
}

/// Makes sure every package in `packages` is installed, installing the missing ones with
/// apt-get when running as root on Debian. `purpose` names what they are for in messages.
pub fn ensure_debian_packages(purpose: &str, packages: &[&str]) -> Result<(), String> {
    ensure_packages(purpose, packages, &[])
}

/// Like [`ensure_debian_packages`], with `--no-install-recommends` (Wine's recommendations
/// alone are hundreds of megabytes that a console test run never uses).
pub fn ensure_debian_packages_without_recommends(
    purpose: &str,
    packages: &[&str],
) -> Result<(), String> {
    ensure_packages(purpose, packages, &["--no-install-recommends"])
}

fn ensure_packages(purpose: &str, packages: &[&str], apt_options: &[&str]) -> Result<(), String> {
    if Command::new("dpkg-query")
        .arg("--version")
        .output()
        .is_err()
    {
        println!(
            "xtask: not a Debian-family system; make sure the equivalents of these are installed \
             for {purpose}: {}",
            packages.join(" ")
        );
        return Ok(());
    }
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !is_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let line = ["apt-get install -y"]
        .iter()
        .chain(apt_options)
        .chain(&missing)
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    if !is_root() || skip_install() {
        return Err(format!(
            "missing Debian packages for {purpose}: {}\n  install them with:\n    sudo apt-get update && sudo {line}",
            missing.join(" ")
        ));
    }
    println!(
        "xtask: installing Debian packages for {purpose}: {}",
        missing.join(" ")
    );
    // A lock held by another apt run is waited for, never broken.
    let apt = |args: &[&str]| -> Result<(), String> {
        let status = Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=600", "-q"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|e| format!("could not run apt-get: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`apt-get {}` failed ({status})", args.join(" ")))
        }
    };
    apt(&["update"])?;
    let mut install = vec!["install", "-y"];
    install.extend(apt_options);
    install.extend(&missing);
    apt(&install)
}

/// The project-local `tauri-driver` (installed into `.tools/` with `cargo install --locked`).
pub fn ensure_tauri_driver() -> Result<PathBuf, String> {
    let root = project_root().join(".tools");
    let binary = root.join("bin").join("tauri-driver");
    if binary.exists() {
        return Ok(binary);
    }
    if skip_install() {
        return Err(format!(
            "tauri-driver is missing; install it with: cargo install tauri-driver --version ^2 --locked --root {}",
            root.display()
        ));
    }
    println!(
        "xtask: installing tauri-driver into {} (about a minute)",
        root.display()
    );
    let status = Command::new(cargo())
        .args([
            "install",
            "tauri-driver",
            "--version",
            "^2",
            "--locked",
            "--quiet",
            "--root",
        ])
        .arg(&root)
        .status()
        .map_err(|e| format!("could not run cargo install: {e}"))?;
    if status.success() && binary.exists() {
        Ok(binary)
    } else {
        Err(format!("`cargo install tauri-driver` failed ({status})"))
    }
}

/// Runs `npm ci` in `dir` when it has a lockfile and its `node_modules` is missing or older.
pub fn ensure_npm_packages(dir: &Path) -> Result<(), String> {
    let lock = dir.join("package-lock.json");
    if !lock.exists() {
        return Ok(());
    }
    let marker = dir.join("node_modules").join(".package-lock.json");
    let fresh = match (lock.metadata(), marker.metadata()) {
        (Ok(l), Ok(m)) => m.modified().ok() >= l.modified().ok(),
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    if Command::new("npm").arg("--version").output().is_err() {
        return Err(format!(
            "npm is missing (needed for {}); install Node.js 20 and npm",
            dir.display()
        ));
    }
    if skip_install() {
        return Err(format!(
            "npm packages missing; run `npm ci` in {}",
            dir.display()
        ));
    }
    println!("xtask: npm ci in {}", dir.display());
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .status()
        .map_err(|e| format!("could not run npm: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`npm ci` in {} failed ({status})", dir.display()))
    }
}

/// Creates `dir/.venv` and installs `dir/requirements.txt` (every version pinned) into it,
/// unless the venv already holds exactly that list. For the Python peers (moto, botocore).
pub fn ensure_python_packages(dir: &Path) -> Result<(), String> {
    let requirements = dir.join("requirements.txt");
    let Ok(wanted) = std::fs::read_to_string(&requirements) else {
        return Ok(());
    };
    let venv = dir.join(".venv");
    let marker = venv.join("latchkey-requirements.txt");
    if std::fs::read_to_string(&marker).is_ok_and(|installed| installed == wanted) {
        return Ok(());
    }
    let pip_line = format!(
        "python3 -m venv {0} && {0}/bin/pip install -r {1}",
        venv.display(),
        requirements.display()
    );
    if skip_install() {
        return Err(format!(
            "Python packages missing; install them with: {pip_line}"
        ));
    }
    println!(
        "xtask: installing the pinned Python packages of {}",
        dir.display()
    );
    let run = |command: &mut Command, what: &str| -> Result<(), String> {
        let status = command
            .status()
            .map_err(|e| format!("could not run {what}: {e} (install python3 and python3-venv)"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{what} failed ({status}); by hand: {pip_line}"))
        }
    };
    if !venv.join("bin").join("pip").exists() {
        run(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
        )?;
    }
    run(
        Command::new(venv.join("bin").join("pip"))
            .args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-input",
                "-r",
            ])
            .arg(&requirements),
        "pip install",
    )?;
    std::fs::write(&marker, wanted).map_err(|e| format!("cannot write {}: {e}", marker.display()))
}

/// Whether a graphical display is available to open windows on.
pub fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.is_empty()))
}

/// Runs inside `dbus-run-session`: isolates the keyring's data, starts gnome-keyring's Secret
/// Service unlocked (creating the `login` collection), then runs the command under Xvfb.
const KEYRING_AND_DISPLAY: &str = r#"
set -u
export XDG_DATA_HOME="$LATCHKEY_SANDBOX/data" XDG_CONFIG_HOME="$LATCHKEY_SANDBOX/config"
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"
eval "$(printf '%s' "$LATCHKEY_SANDBOX_KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL GNOME_KEYRING_PID
xvfb-run -a -n "$LATCHKEY_SANDBOX_DISPLAY_FROM" -s "-screen 0 1280x800x24" "$@"
status=$?
[ -n "${GNOME_KEYRING_PID:-}" ] && kill "$GNOME_KEYRING_PID" 2>/dev/null
exit $status
"#;

/// A private D-Bus session with a real, unlocked gnome-keyring (never the user's own) and a
/// virtual display, for tests and screenshots. Its scratch directory goes when it is dropped.
pub struct Sandbox {
    home: PathBuf,
    /// The first display number `xvfb-run -a` tries.
    display_from: u32,
}

impl Sandbox {
    pub fn new() -> Result<Sandbox, String> {
        // Several may run at once (the test lanes): each gets its own keyring directory, and
        // its own range of display numbers (`xvfb-run -a` started twice at once can race for
        // the same one).
        static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let home =
            std::env::temp_dir().join(format!("latchkey-sandbox-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&home)
            .map_err(|e| format!("cannot create {}: {e}", home.display()))?;
        Ok(Sandbox {
            home,
            display_from: 99 + 100 * n,
        })
    }

    /// `program` run inside the sandbox, from the project root.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("dbus-run-session");
        command
            .args(["--", "bash", "-c", KEYRING_AND_DISPLAY, "bash", program])
            .env("LATCHKEY_SANDBOX", &self.home)
            .env(
                "LATCHKEY_SANDBOX_DISPLAY_FROM",
                self.display_from.to_string(),
            )
            .env(
                "LATCHKEY_SANDBOX_KEYRING_PASSWORD",
                "latchkey-sandbox-keyring",
            )
            .current_dir(project_root());
        command
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}
