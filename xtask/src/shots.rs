//! `cargo xtask screenshots`: PNGs of the app's main screens for the README and docs/app.md,
//! taken from the real window under Xvfb by `examples/screenshots.rs`.

use crate::prereq::{
    ensure_debian_packages, ensure_tauri_driver, Sandbox, APP_PACKAGES, TEST_PACKAGES,
};
use crate::{cargo, project_root};

pub fn screenshots() -> Result<(), String> {
    if cfg!(target_os = "linux") {
        ensure_debian_packages("building the desktop app", APP_PACKAGES)?;
        ensure_debian_packages("taking screenshots", TEST_PACKAGES)?;
    }
    let tauri_driver = ensure_tauri_driver()?;
    let build = std::process::Command::new(cargo())
        .args(["build", "--package", "latchkey", "--bin", "latchkey-app"])
        .current_dir(project_root())
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !build.success() {
        return Err("building the app failed".into());
    }
    let sandbox = Sandbox::new()?;
    let status = sandbox
        .command(&cargo())
        .args([
            "run",
            "--quiet",
            "--package",
            "latchkey",
            "--example",
            "screenshots",
        ])
        .env("LATCHKEY_TAURI_DRIVER", &tauri_driver)
        .status()
        .map_err(|e| format!("could not start dbus-run-session: {e}"))?;
    if status.success() {
        println!("screenshots are in docs/screenshots/; look at them before committing");
        Ok(())
    } else {
        Err(format!("taking screenshots failed ({status})"))
    }
}
