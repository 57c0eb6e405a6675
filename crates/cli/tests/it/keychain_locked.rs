#![cfg(unix)]
//! `latchkey login` when the keychain stops taking writes during the sign-in (the user locks it,
//! the keyring daemon dies): the user is told the session was not saved, with the keychain's
//! exit code (4), never "Signed in … saved". The test runs its own D-Bus session and
//! gnome-keyring (so locking it disturbs no other test) and locks the real `login` collection
//! after `latchkey login` has started and passed its keychain check, before the callback
//! arrives.

use crate::common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use latchkey_testkit::devidp::{DEMO_PASSWORD, DEMO_USERNAME};
use latchkey_testkit::ISOLATED_KEYRING_SCRIPT;

const CHILD_MODE: &str = "LATCHKEY_CLI_LOCKED_CHILD";
const CHILD_TEST: &str = "keychain_locked::child_login_with_keychain_locked_midway";
const CHILD_OK: &str = "CHILD-RESULT exit=4 saved=no";

#[test]
fn login_reports_exit_4_when_the_keychain_write_fails_after_sign_in() {
    let home = tempfile::tempdir().unwrap();
    let (data, config) = (home.path().join("data"), home.path().join("config"));
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&config).unwrap();
    let out = Command::new("dbus-run-session")
        .args(["--", "bash", "-c", ISOLATED_KEYRING_SCRIPT, "bash"])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_MODE, "1")
        .env("KEYRING_PW", "locked-midway")
        .env("XDG_DATA_HOME", &data)
        .env("XDG_CONFIG_HOME", &config)
        .env_remove("DISPLAY")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("GNOME_KEYRING_CONTROL")
        .stdin(Stdio::null())
        .output()
        .expect("dbus-run-session runs (cargo xtask test installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.lines().any(|l| l.ends_with(CHILD_OK)),
        "the child did not report `{CHILD_OK}`\nstatus: {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The child side: inside the private bus. Does nothing unless the parent started it.
#[test]
fn child_login_with_keychain_locked_midway() {
    if std::env::var_os(CHILD_MODE).is_none() {
        return;
    }
    let env = Env::new();
    let (_idp, profile) = start_cognito("locked-midway");
    env.write_profile(&profile);

    // The keychain check at start passes; the hook has the URL, so login waits for the callback.
    let (child, url) = env.start_login(&[]);
    lock_login_collection();
    complete_login(&url, DEMO_USERNAME, DEMO_PASSWORD);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(4),
        "login must exit with the keychain's code when the session could not be saved: {stderr}"
    );
    assert!(
        !stderr.contains("is saved in"),
        "login claimed the session was saved: {stderr}"
    );

    // Nothing of the session reached the keychain (locked or unlocked items alike).
    let items = gdbus(&[
        "--object-path",
        "/org/freedesktop/secrets",
        "--method",
        "org.freedesktop.Secret.Service.SearchItems",
        &format!("{{'service': '{}'}}", env.service),
    ]);
    let stored = items
        .matches("/org/freedesktop/secrets/collection/")
        .count();
    println!(
        "CHILD-RESULT exit={} saved={}",
        out.status.code().unwrap_or(-1),
        if stored == 0 { "no" } else { "yes" }
    );
}

/// `gdbus call` to the Secret Service on this session bus; its output.
fn gdbus(args: &[&str]) -> String {
    let out = Command::new("gdbus")
        .args(["call", "--session", "--dest", "org.freedesktop.secrets"])
        .args(args)
        .output()
        .expect("gdbus runs");
    assert!(out.status.success(), "gdbus {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Locks gnome-keyring's `login` collection over D-Bus and checks that it is locked.
fn lock_login_collection() {
    gdbus(&[
        "--object-path",
        "/org/freedesktop/secrets",
        "--method",
        "org.freedesktop.Secret.Service.Lock",
        "['/org/freedesktop/secrets/collection/login']",
    ]);
    let locked = gdbus(&[
        "--object-path",
        "/org/freedesktop/secrets/collection/login",
        "--method",
        "org.freedesktop.DBus.Properties.Get",
        "org.freedesktop.Secret.Collection",
        "Locked",
    ]);
    assert!(
        locked.contains("true"),
        "the collection did not lock: {locked}"
    );
    std::thread::sleep(Duration::from_millis(50));
}
