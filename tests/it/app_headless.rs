//! `latchkey-app` on a machine without a display (an SSH box, a container): it says so and
//! points at the `latchkey` CLI with exit 1, and `--help`/`--version` need no display at all.

use std::process::{Command, Output};

/// The built app binary with no display in its environment (and no Xvfb around it).
fn app_without_display(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_latchkey-app"))
        .args(args)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("latchkey-app runs")
}

#[cfg(all(unix, not(target_os = "macos")))]
#[test]
fn without_a_display_the_app_exits_1_instead_of_panicking() {
    let out = app_without_display(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "exit code; stderr: {stderr}");
    // One line that names the program, not a panic with a backtrace.
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {stderr}");
    assert!(stderr.starts_with("latchkey-app: "), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn help_and_version_need_no_display() {
    for flag in ["--help", "-h"] {
        let out = app_without_display(&[flag]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{flag}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stdout.is_empty(), "{flag} prints the usage");
    }
    for flag in ["--version", "-V"] {
        let out = app_without_display(&[flag]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("latchkey-app {}", env!("CARGO_PKG_VERSION"))
        );
    }
}
