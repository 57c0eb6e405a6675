#![cfg(target_os = "linux")]
//! Headless Linux: with no D-Bus session at all the CLI keeps the session in the kernel keyring
//! (sign-in, a token from a new process, `status` and `doctor` say so), and `LATCHKEY_KEYCHAIN`
//! chooses the store. Runs outside `sandbox-run` too: the test removes the bus itself.

use crate::common::*;
use latchkey_testkit::devidp::{DEMO_PASSWORD, DEMO_USERNAME};
use serde_json::Value;

const KERNEL: &str = "Linux kernel keyring (keyutils)";

/// An environment whose commands have no D-Bus session bus and no store chosen (`auto`).
fn headless() -> Env {
    let mut env = Env::new();
    env.unset_env = vec![
        "DBUS_SESSION_BUS_ADDRESS",
        "XDG_RUNTIME_DIR",
        "LATCHKEY_KEYCHAIN",
    ];
    env
}

/// `doctor --json`'s keychain finding.
fn keychain_check(env: &Env) -> Value {
    let doctor = env.run(&["doctor", "--json"]).json();
    let checks = doctor["checks"].as_array().unwrap();
    checks
        .iter()
        .find(|c| c["name"] == "keychain")
        .unwrap()
        .clone()
}

#[test]
fn without_a_dbus_session_the_session_is_kept_in_the_kernel_keyring() {
    let env = headless();
    let (idp, profile) = start_cognito("headless");
    env.write_profile(&profile);

    let (child, url) = env.start_login(&["--json"]);
    complete_login(&url, DEMO_USERNAME, DEMO_PASSWORD);
    let login = Run::from(child.wait_with_output().unwrap());
    assert_eq!(login.code, 0, "{}", login.stderr);
    let keychain = &login.json()["keychain"];
    assert_eq!(keychain["store_name"], KERNEL, "{keychain}");
    assert_eq!(keychain["persistent"], true);
    assert!(keychain["lifetime"].is_string(), "{keychain}");
    assert!(keychain["warning"].is_null(), "{keychain}");

    // A new process reads the session back from the kernel keyring, without the provider's
    // password: the token is the one the sign-in stored (no second sign-in at the provider).
    let token = env.run(&["token"]);
    assert_eq!(token.code, 0, "{}", token.stderr);
    assert!(is_jwt(token.stdout.trim()));
    let status = env.run(&["status", "--json"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert_eq!(status.json()["keychain"]["store_name"], KERNEL);
    assert_eq!(keychain_check(&env)["status"], "ok");
    assert_eq!(idp.stats().logins, 1, "one sign-in served every command");

    let logout = env.run(&["logout", "--json"]);
    assert_eq!(logout.code, 0, "{}", logout.stderr);
    assert_eq!(env.run(&["token"]).code, 12, "the session left the keyring");
}

#[test]
fn latchkey_keychain_secret_service_keeps_refusing_without_a_bus() {
    let mut env = headless();
    let (_idp, profile) = start_cognito("no-bus");
    env.write_profile(&profile);
    env.extra_env
        .push(("LATCHKEY_KEYCHAIN".into(), "secret-service".into()));
    let token = env.run(&["token"]);
    assert_eq!(
        token.code, 4,
        "the keychain is unavailable: {}",
        token.stderr
    );
    assert_eq!(keychain_check(&env)["status"], "fail");
}

/// The vault's configuration error reaches the CLI as its keychain being unavailable (exit 4),
/// with the message naming the three values.
#[test]
fn an_unknown_latchkey_keychain_leaves_no_keychain() {
    let mut env = headless();
    let (_idp, profile) = start_cognito("bad-choice");
    env.write_profile(&profile);
    env.extra_env
        .push(("LATCHKEY_KEYCHAIN".into(), "file".into()));
    let token = env.run(&["token"]);
    assert_eq!(token.code, 4, "no keychain: {}", token.stderr);
}

/// A session bus on which nothing owns or can start `org.freedesktop.secrets` (an SSH session
/// on a server: systemd's user bus, no keyring daemon): a D-Bus daemon of the test's own, with
/// no service directories, so no Secret Service can be activated.
struct BusWithoutSecretService {
    daemon: std::process::Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl BusWithoutSecretService {
    fn start() -> BusWithoutSecretService {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("bus");
        let config = dir.path().join("session.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .unwrap();
        let daemon = std::process::Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .arg("--nofork")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("dbus-daemon runs (Debian's dbus package)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !socket.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "the bus never came up"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        BusWithoutSecretService {
            daemon,
            address: format!("unix:path={}", socket.display()),
            _dir: dir,
        }
    }
}

impl Drop for BusWithoutSecretService {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

#[test]
fn a_session_bus_without_a_secret_service_keeps_the_session_in_the_kernel_keyring() {
    let bus = BusWithoutSecretService::start();
    let mut env = headless();
    env.extra_env
        .push(("DBUS_SESSION_BUS_ADDRESS".into(), bus.address.clone()));
    let (idp, profile) = start_cognito("server-bus");
    env.write_profile(&profile);

    let (child, url) = env.start_login(&["--json"]);
    complete_login(&url, DEMO_USERNAME, DEMO_PASSWORD);
    let login = Run::from(child.wait_with_output().unwrap());
    assert_eq!(login.code, 0, "{}", login.stderr);
    assert_eq!(login.json()["keychain"]["store_name"], KERNEL);

    let token = env.run(&["token"]);
    assert_eq!(token.code, 0, "{}", token.stderr);
    let status = env.run(&["status", "--json"]);
    assert_eq!(status.json()["keychain"]["store_name"], KERNEL);
    assert!(status.json()["keychain"]["lifetime"].is_string());
    assert_eq!(keychain_check(&env)["status"], "ok");
    assert_eq!(idp.stats().logins, 1, "one sign-in served every command");
    assert_eq!(env.run(&["logout"]).code, 0);
}
