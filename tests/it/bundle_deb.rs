//! The installed desktop application: installs the .deb with `dpkg -i`, checks the files, runs
//! the installed app and CLI, and uninstalls it again.
//!
//! This changes the machine (it installs a system package), so it runs only when
//! `LATCHKEY_BUNDLE_TEST=1`; otherwise it says it was skipped and passes. `cargo xtask test`
//! sets that variable in every full run as root on Debian (CI's case), after packaging the
//! debug binaries it has just built for the tests (same bundler configuration as a release:
//! xtask/src/bundle.rs, `Build::Tests`) and handing the .deb over in `LATCHKEY_DEB`; without
//! `LATCHKEY_DEB` the test builds the release package itself with `cargo xtask bundle`. It
//! needs root (for dpkg) and a display (`cargo xtask test` runs it under Xvfb); on its own:
//!
//! ```text
//! sudo cargo xtask test bundle_deb
//! ```

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The Debian package name the bundler derives from `productName`.
const PACKAGE: &str = "latchkey";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Files the package must install (and remove again).
const INSTALLED_FILES: &[&str] = &[
    "/usr/bin/latchkey-app",
    "/usr/bin/latchkey",
    "/usr/share/applications/Latchkey.desktop",
    "/usr/share/icons/hicolor/32x32/apps/latchkey-app.png",
    "/usr/share/icons/hicolor/128x128/apps/latchkey-app.png",
    "/usr/share/icons/hicolor/64x64/apps/latchkey-app.png",
    "/usr/share/icons/hicolor/256x256/apps/latchkey-app.png",
    "/usr/share/icons/hicolor/512x512/apps/latchkey-app.png",
    "/usr/share/bash-completion/completions/latchkey",
    "/usr/share/zsh/vendor-completions/_latchkey",
    "/usr/share/fish/vendor_completions.d/latchkey.fish",
    "/usr/share/man/man1/latchkey.1.gz",
];

/// Skipped (passes with a note) unless `LATCHKEY_BUNDLE_TEST=1` (`cargo xtask test` sets it
/// as root on Debian): installs the .deb into this machine, launches the installed app under
/// the display, sees its window, uninstalls.
#[test]
fn bundle_deb_installs_launches_and_uninstalls_only_with_latchkey_bundle_test_1() {
    if std::env::var("LATCHKEY_BUNDLE_TEST").as_deref() != Ok("1") {
        eprintln!(
            "bundle_deb: SKIPPED (it installs a system package); run it as root with \
             `sudo cargo xtask test bundle_deb`"
        );
        return;
    }
    assert!(
        is_root(),
        "LATCHKEY_BUNDLE_TEST=1 needs root: the test installs the package with dpkg -i"
    );
    assert!(
        std::env::var("DISPLAY").is_ok_and(|d| !d.is_empty()),
        "LATCHKEY_BUNDLE_TEST=1 needs an X display to launch the installed app: run it under \
         `xvfb-run -a` (cargo xtask test does)"
    );
    ensure_tools(&[("xwininfo", "x11-utils"), ("xprop", "x11-utils")]);
    // The installed app is single-instance too: no app-window test of this binary runs meanwhile.
    let _one_app = latchkey_testkit::webdriver::one_app_at_a_time_blocking();

    let deb = match std::env::var_os("LATCHKEY_DEB") {
        Some(deb) => PathBuf::from(deb),
        None => build_deb(&PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
    };
    let size = deb.metadata().expect("the .deb exists").len();
    eprintln!("bundle_deb: {} ({size} bytes)", deb.display());

    // xz-compressed like Debian's own packages (the bundler writes gzip; `cargo xtask bundle`
    // repacks it), so the download is less than half the size.
    let members = stdout_of(Command::new("ar").arg("t").arg(&deb));
    assert!(
        members.lines().any(|m| m == "data.tar.xz"),
        "the .deb's data is not xz-compressed; members:\n{members}"
    );

    // The control file: name, version from Cargo.toml, runtime libraries.
    let control = stdout_of(Command::new("dpkg-deb").arg("--field").arg(&deb));
    assert!(
        control.contains(&format!("Package: {PACKAGE}\n")),
        "control:\n{control}"
    );
    assert!(
        control.contains(&format!("Version: {VERSION}\n")),
        "control:\n{control}"
    );
    // The tray icon's AppIndicator is loaded at run time (tauri.conf.json's depends names it).
    for library in [
        "libwebkit2gtk-4.1-0",
        "libgtk-3-0",
        "libayatana-appindicator3-1",
    ] {
        assert!(
            control.contains(library),
            "Depends lacks {library}:\n{control}"
        );
    }

    // Never replace (and then remove) a Latchkey someone installed on this machine.
    assert!(
        !dpkg_status(PACKAGE).contains("ok installed"),
        "the {PACKAGE} package is already installed here; the test would replace and remove \
         it: `sudo dpkg -r {PACKAGE}` first"
    );
    let installed = Installed::install(&deb);

    // Every file is there, and the binaries find their libraries.
    for file in INSTALLED_FILES {
        assert!(Path::new(file).is_file(), "{file} was not installed");
    }
    let listed = stdout_of(Command::new("dpkg").args(["-L", PACKAGE]));
    for file in INSTALLED_FILES {
        assert!(listed.lines().any(|l| l == *file), "dpkg -L lacks {file}");
    }
    for binary in ["/usr/bin/latchkey-app", "/usr/bin/latchkey"] {
        let libs = stdout_of(Command::new("ldd").arg(binary));
        assert!(
            !libs.contains("not found"),
            "{binary} misses libraries:\n{libs}"
        );
    }

    // The desktop entry starts the installed app with its icon.
    let desktop = std::fs::read_to_string("/usr/share/applications/Latchkey.desktop").unwrap();
    for line in [
        "Name=Latchkey",
        "Exec=latchkey-app",
        "Icon=latchkey-app",
        "Type=Application",
        "Terminal=false",
    ] {
        assert!(
            desktop.lines().any(|l| l == line),
            "desktop entry lacks `{line}`:\n{desktop}"
        );
    }
    if which("desktop-file-validate") {
        let out = output_of(
            Command::new("desktop-file-validate").arg("/usr/share/applications/Latchkey.desktop"),
        );
        assert!(
            out.status.success(),
            "desktop-file-validate: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    // The installed CLI answers with the package's version.
    let version = stdout_of(Command::new("/usr/bin/latchkey").arg("--version"));
    assert!(
        version.starts_with("latchkey ") && version.trim().ends_with(VERSION),
        "latchkey --version said {version:?}, expected latchkey {VERSION}"
    );

    // The installed app opens its window (isolated config and data, no profile: the built-in
    // development provider).
    let home = tempfile::tempdir().unwrap();
    let log_path = home.path().join("app.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut app = Command::new("/usr/bin/latchkey-app")
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .env_remove("LATCHKEY_CONFIG")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start /usr/bin/latchkey-app");
    let window = match wait_for_window(&mut app, "Latchkey", Duration::from_secs(60)) {
        Ok(window) => window,
        Err(why) => {
            let _ = app.kill();
            let _ = app.wait();
            panic!(
                "{why}\napp output:\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
    };
    eprintln!(
        "bundle_deb: window {window} of pid {} is viewable",
        app.id()
    );
    // Still alive a moment later (no crash right after mapping the window).
    std::thread::sleep(Duration::from_secs(2));
    let exited = app.try_wait().unwrap();
    let _ = app.kill();
    let _ = app.wait();
    assert!(
        exited.is_none(),
        "the app exited right after opening its window ({exited:?}):\n{}",
        std::fs::read_to_string(&log_path).unwrap_or_default()
    );

    // Uninstalling removes every file and the package record.
    installed.remove();
    for file in INSTALLED_FILES {
        assert!(
            !Path::new(file).exists(),
            "{file} is still there after dpkg -r"
        );
    }
    assert!(
        !dpkg_status(PACKAGE).contains("ok installed"),
        "dpkg still lists {PACKAGE} as installed"
    );
}

/// Builds the packages with `cargo xtask bundle` (incremental: quick when nothing changed)
/// and returns this version's .deb.
fn build_deb(root: &Path) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["xtask", "bundle", "--bundles", "deb"])
        .current_dir(root)
        .status()
        .expect("run cargo xtask bundle");
    assert!(status.success(), "cargo xtask bundle failed ({status})");
    let arch = stdout_of(Command::new("dpkg").arg("--print-architecture"));
    let deb = root
        .join("target/release/bundle/deb")
        .join(format!("Latchkey_{VERSION}_{}.deb", arch.trim()));
    assert!(deb.is_file(), "{} was not built", deb.display());
    deb
}

/// The package while it is installed; removed on drop too, so a failed assertion does not
/// leave it behind.
struct Installed {
    removed: bool,
}

impl Installed {
    fn install(deb: &Path) -> Installed {
        let out = output_of(Command::new("dpkg").arg("-i").arg(deb));
        let installed = Installed { removed: false };
        if !out.status.success() {
            // Missing runtime libraries: let apt bring them in and finish the install.
            eprintln!(
                "bundle_deb: dpkg -i: {}; running apt-get install -f",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            let fix = output_of(
                Command::new("apt-get")
                    .args(["-o", "DPkg::Lock::Timeout=600", "-q", "-y", "install", "-f"])
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            );
            assert!(
                fix.status.success(),
                "apt-get install -f failed:\n{}",
                String::from_utf8_lossy(&fix.stderr)
            );
        }
        assert!(
            dpkg_status(PACKAGE).contains("ok installed"),
            "{PACKAGE} is not installed after dpkg -i"
        );
        installed
    }

    fn remove(mut self) {
        self.removed = true;
        let out = output_of(Command::new("dpkg").args(["-r", PACKAGE]));
        assert!(
            out.status.success(),
            "dpkg -r {PACKAGE} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if !self.removed {
            let _ = Command::new("dpkg").args(["-r", PACKAGE]).output();
        }
    }
}

/// Waits until the process `app` has a viewable top-level window titled `title`; returns
/// its X window id. Windows of other processes with the same title do not count.
fn wait_for_window(app: &mut Child, title: &str, timeout: Duration) -> Result<String, String> {
    let deadline = Instant::now() + timeout;
    let pid = app.id().to_string();
    let quoted = format!("\"{title}\"");
    loop {
        if let Some(status) = app.try_wait().unwrap() {
            return Err(format!(
                "the installed app exited ({status}) before its window appeared"
            ));
        }
        let tree = stdout_of(Command::new("xwininfo").args(["-root", "-tree"]));
        for line in tree.lines().filter(|l| l.contains(&quoted)) {
            let Some(id) = line.split_whitespace().next() else {
                continue;
            };
            let owner = stdout_of(Command::new("xprop").args(["-id", id, "_NET_WM_PID"]));
            if !owner.trim().ends_with(&format!("= {pid}")) {
                continue;
            }
            let info = stdout_of(Command::new("xwininfo").args(["-id", id]));
            if info.contains("Map State: IsViewable") {
                return Ok(id.to_string());
            }
        }
        if Instant::now() > deadline {
            return Err(format!(
                "no viewable window titled {title} of pid {pid} within {timeout:?}; windows:\n{}",
                tree.lines()
                    .filter(|l| l.contains('"'))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Installs the Debian packages that provide missing tools (only ever reached with
/// LATCHKEY_BUNDLE_TEST=1, as root).
fn ensure_tools(tools: &[(&str, &str)]) {
    let mut missing: Vec<&str> = tools
        .iter()
        .filter(|(tool, _)| !which(tool))
        .map(|(_, package)| *package)
        .collect();
    missing.dedup();
    if missing.is_empty() {
        return;
    }
    let out = output_of(
        Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=600", "-q", "-y", "install"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    );
    assert!(
        out.status.success(),
        "apt-get install {} failed:\n{}",
        missing.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn which(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn is_root() -> bool {
    stdout_of(Command::new("id").arg("-u")).trim() == "0"
}

fn dpkg_status(package: &str) -> String {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn output_of(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("could not run {:?}: {e}", command.get_program()))
}

fn stdout_of(command: &mut Command) -> String {
    String::from_utf8_lossy(&output_of(command).stdout).into_owned()
}
