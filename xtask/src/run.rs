//! `cargo xtask run`: build and start the desktop app.
//! With no profile configured, the app starts its embedded development provider.

use std::process::Command;

use crate::prereq::{ensure_debian_packages, has_display, APP_PACKAGES};
use crate::{cargo, project_root};

pub fn run(args: &[String]) -> Result<(), String> {
    if cfg!(target_os = "linux") {
        ensure_debian_packages("building the desktop app", APP_PACKAGES)?;
        if !has_display() {
            return Err(
                "no display: DISPLAY and WAYLAND_DISPLAY are unset, so the app has \
                        nowhere to open its window.\n  On a headless machine run it under a \
                        virtual display:\n    xvfb-run -a cargo xtask run"
                    .into(),
            );
        }
    }
    let status = Command::new(cargo())
        .args([
            "run",
            "--package",
            "latchkey",
            "--bin",
            "latchkey-app",
            "--",
        ])
        .args(args)
        .current_dir(project_root())
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the app exited with {status}"))
    }
}
