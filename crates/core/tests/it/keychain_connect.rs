//! The OS keychain is connected on first use, not when a `Vault::system()` is made: a
//! `SessionOptions::default()` whose vault is replaced (`..SessionOptions::default()`, as the
//! CLI writes it) costs no D-Bus connection and no Diffie-Hellman session with the Secret
//! Service. The sockets are counted in a child process that runs only this test, so no other
//! test's sockets (they share the one test binary) are counted.
#![cfg(target_os = "linux")]

use std::process::Command;

use latchkey_core::{SessionOptions, Vault};

/// Set in the child process that does the counting.
const CHILD: &str = "LATCHKEY_CONNECT_COUNTING_CHILD";

/// The Unix and network sockets this process holds open.
fn open_sockets() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}

#[test]
fn a_system_vault_connects_on_first_use_and_once() {
    if std::env::var_os(CHILD).is_none() {
        // Its output is kept (not passed through) so no runner counts its results twice.
        let child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "keychain_connect::a_system_vault_connects_on_first_use_and_once",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        assert!(
            child.status.success(),
            "counting in a process of its own failed:\n{}{}",
            String::from_utf8_lossy(&child.stdout),
            String::from_utf8_lossy(&child.stderr)
        );
        return;
    }
    let before = open_sockets();
    let unused: Vec<SessionOptions> = (0..3)
        .map(|_| SessionOptions {
            vault: Vault::memory(),
            ..SessionOptions::default()
        })
        .collect();
    let system = Vault::system_with_service(&latchkey_testkit::unique("latchkey-connect"));
    assert_eq!(
        open_sockets(),
        before,
        "making system vaults (used or not) opened a connection"
    );

    // The first use connects; clones share the connection.
    let health = system.health("nobody");
    assert!(health.ok, "the keychain answers: {}", health.message);
    let connected = open_sockets();
    assert!(connected > before, "the first use opened no connection");
    let clone = system.clone();
    assert!(clone.health("nobody").ok);
    assert!(system.health("somebody-else").ok);
    assert_eq!(
        open_sockets(),
        connected,
        "a second use or a clone opened another connection"
    );
    drop(unused);
}
