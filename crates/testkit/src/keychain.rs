//! The real keychain for tests: a vault under a unique service name (or a skip where that is
//! allowed), and what the Secret Service holds under a service, as `secret-tool` shows it.

use std::process::Command;

use latchkey_core::Vault;

use crate::names::unique;

/// A keychain vault with a unique service name, or `None` when `LATCHKEY_SKIP_KEYCHAIN_TESTS=1`
/// allows a machine without a usable keychain to skip; otherwise no keychain is a failure
/// that says how to run the tests.
pub fn keychain_vault(prefix: &str) -> Option<Vault> {
    let v = Vault::system_with_service(&unique(&format!("latchkey-test-{prefix}")));
    let h = v.probe();
    if h.ok {
        return Some(v);
    }
    if std::env::var("LATCHKEY_SKIP_KEYCHAIN_TESTS").as_deref() == Ok("1") {
        eprintln!("SKIPPED (LATCHKEY_SKIP_KEYCHAIN_TESTS=1): {}", h.message);
        return None;
    }
    panic!(
        "no usable keychain: {}\nRun the tests with `cargo xtask test`, or inside \
         `dbus-run-session -- bash -c 'eval \"$(printf pw | gnome-keyring-daemon --unlock --components=secrets)\"; cargo test -p latchkey-core'`, \
         or set LATCHKEY_SKIP_KEYCHAIN_TESTS=1.",
        h.message
    );
}

/// What the Secret Service holds under `service` (the attributes of every item, never a
/// secret), through `secret-tool` (Debian package libsecret-tools): tests look for a
/// profile's account in it.
pub fn secret_tool_items(service: &str) -> String {
    let output = Command::new("secret-tool")
        .args(["search", "--all", "service", service])
        .output()
        .expect("secret-tool (Debian package libsecret-tools)");
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}
