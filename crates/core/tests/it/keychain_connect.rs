//! The OS keychain is connected on first use, not when a `Vault::system()` is made: a
//! `SessionOptions::default()` whose vault is replaced (`..SessionOptions::default()`, as the
//! CLI writes it) costs no D-Bus connection and no Diffie-Hellman session with the Secret
//! Service. One test in its own binary, so no other test's sockets are counted.
#![cfg(target_os = "linux")]

use latchkey_core::{SessionOptions, Vault};

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
