//! The keychain for real: latchkey-core's `Vault` against the gnome-keyring Secret Service that
//! `cargo xtask test` starts. The locked-collection and no-Secret-Service cases run in child
//! processes (their own D-Bus session and keyring, or no bus at all) so nothing here disturbs
//! the keyring other tests use.

use crate::support;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use latchkey_core::SignOutScope;
use latchkey_core::{ErrorKind, Session, SessionOptions, SessionState, SignInOptions, Vault};
use latchkey_devidp::{DEMO_PASSWORD, DEMO_USERNAME, VIEWER_PASSWORD, VIEWER_USERNAME};
use latchkey_testkit::{unique_service, HttpBrowser};
use support::{child_test_command, describe_output, start_devidp, ProfileSpec};

const CHILD_MODE: &str = "LATCHKEY_E2E_CHILD";
const CHILD_HELPER: &str = "keychain_secret_service::child_keychain_helper";

/// `secret-tool search --all service <service>`: how many items the keyring holds for it.
fn items_for(service: &str) -> usize {
    let out = Command::new("secret-tool")
        .args(["search", "--all", "service", service])
        .output()
        .expect("secret-tool (Debian package libsecret-tools)");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    text.lines().filter(|l| l.starts_with('[')).count()
}

fn session_with(spec: &ProfileSpec, vault: Vault, user: &str, password: &str) -> Session {
    let options = SessionOptions {
        vault,
        browser: Some(std::sync::Arc::new(HttpBrowser::as_user(user, password))),
        ..SessionOptions::default()
    };
    Session::new(spec.profile(), options).expect("Session::new")
}

fn sign_in_timeout() -> SignInOptions {
    SignInOptions {
        timeout: Some(Duration::from_secs(30)),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_kb_round_trip_through_the_vault() {
    let service = unique_service("16k");
    let vault = Vault::system_with_service(&service);
    let health = vault.probe();
    assert!(
        health.ok && health.persistent,
        "the Secret Service is not usable: {health:?}"
    );

    let big: Vec<u8> = (0..16 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
    latchkey_core::internals::set_bytes(&vault, "bytes", &big).expect("write 16 KB");
    assert_eq!(
        latchkey_core::internals::get_bytes(&vault, "bytes").expect("read back"),
        Some(big.clone())
    );
    // Chunked: the index plus ceil(16384 / CHUNK_SIZE) items, all under this service.
    let chunks = big.len().div_ceil(latchkey_core::internals::CHUNK_SIZE);
    assert_eq!(
        items_for(&service),
        1 + chunks,
        "items in the keyring for {service}"
    );

    // A whole session with a 16 KB refresh token, as a provider with huge tokens would issue.
    let token: String = (0..16 * 1024)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let stored = latchkey_core::internals::StoredSession {
        version: 1,
        generation: 7,
        refresh_token: Some(latchkey_core::RefreshToken::new(token.clone())),
        refresh_stored_since: 1_700_000_000,
        id_token: latchkey_core::SecretToken::new("header.payload.signature"),
        access_token: latchkey_core::SecretToken::new("access"),
        id_expires_at: 1_700_003_600,
        access_expires_at: 1_700_003_600,
        access_issued_at: None,
        id_issued_at: None,
        id_renewable: true,
        issuer: "http://127.0.0.1:1/pool".into(),
        client_id: "client".into(),
        revocation_endpoint: None,
        sub: "sub".into(),
        aud: vec!["client".into()],
    };
    latchkey_core::internals::store_session(&vault, "session", &stored)
        .expect("store a 16 KB session");
    let back = latchkey_core::internals::load_session(&vault, "session")
        .expect("load")
        .expect("stored");
    assert!(back == stored, "the session read back differs");
    assert_eq!(
        back.refresh_token.as_ref().map(|t| t.len()),
        Some(16 * 1024)
    );

    // Shrinking and deleting leave nothing behind.
    latchkey_core::internals::set_bytes(&vault, "bytes", b"small")
        .expect("overwrite with a small value");
    assert_eq!(
        latchkey_core::internals::get_bytes(&vault, "bytes")
            .unwrap()
            .as_deref(),
        Some(&b"small"[..])
    );
    latchkey_core::internals::delete(&vault, "bytes").expect("delete");
    latchkey_core::internals::delete(&vault, "session").expect("delete");
    assert_eq!(
        latchkey_core::internals::get_bytes(&vault, "bytes").unwrap(),
        None
    );
    assert_eq!(
        items_for(&service),
        0,
        "items left in the keyring for {service}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_of_two_profiles_never_collide() {
    let service = unique_service("collide");
    let vault = Vault::system_with_service(&service);
    let signed_out = latchkey_testkit::free_port();
    let (idp, work) = start_devidp("work", signed_out, |_| {});
    let personal = ProfileSpec {
        name: "personal".into(),
        ..work.clone()
    };
    // Same profile name, another provider (issuer): a third, separate entry.
    let (idp2, other) = start_devidp("work", signed_out, |_| {});

    let a = session_with(&work, vault.clone(), DEMO_USERNAME, DEMO_PASSWORD);
    a.sign_in(sign_in_timeout())
        .await
        .expect("sign in profile `work`");
    let b = session_with(&personal, vault.clone(), VIEWER_USERNAME, VIEWER_PASSWORD);
    b.sign_in(sign_in_timeout())
        .await
        .expect("sign in profile `personal`");
    let c = session_with(&other, vault.clone(), VIEWER_USERNAME, VIEWER_PASSWORD);
    c.sign_in(sign_in_timeout())
        .await
        .expect("sign in profile `work` at the other provider");
    for s in [&a, &b, &c] {
        let SessionState::SignedIn { storage, .. } = s.state() else {
            panic!("{:?}", s.state())
        };
        assert!(storage.persistent, "{storage:?}");
    }

    let accounts = [
        work.profile().keychain_account(),
        personal.profile().keychain_account(),
        other.profile().keychain_account(),
    ];
    assert!(
        accounts[0] != accounts[1] && accounts[0] != accounts[2] && accounts[1] != accounts[2],
        "keychain accounts collide: {accounts:?}"
    );
    let subs: Vec<String> = accounts
        .iter()
        .map(|acc| {
            latchkey_core::internals::load_session(&vault, acc)
                .expect("load")
                .expect("stored")
                .sub
        })
        .collect();
    assert_ne!(
        subs[0], subs[1],
        "profiles `work` and `personal` hold the same user"
    );

    // Each profile restores its own user in a fresh session.
    let restored_user = |spec: &ProfileSpec| {
        let spec = spec.clone();
        let vault = vault.clone();
        async move {
            let s = session_with(&spec, vault, "-", "-");
            match s.restore().await.expect("restore") {
                // The e-mail: the pool's usernames are generated UUIDs, as in Cognito.
                SessionState::SignedIn { user, .. } => Some(user.email.unwrap_or_default()),
                _ => None,
            }
        }
    };
    assert_eq!(restored_user(&work).await.as_deref(), Some(DEMO_USERNAME));
    assert_eq!(
        restored_user(&personal).await.as_deref(),
        Some(VIEWER_USERNAME)
    );
    assert_eq!(
        restored_user(&other).await.as_deref(),
        Some(VIEWER_USERNAME)
    );

    // Signing one out leaves the others alone.
    a.sign_out(SignOutScope::ThisDevice)
        .await
        .expect("sign out `work`");
    assert!(
        latchkey_core::internals::load_session(&vault, &accounts[0])
            .unwrap()
            .is_none(),
        "`work` entry survived sign-out"
    );
    assert!(
        latchkey_core::internals::load_session(&vault, &accounts[1])
            .unwrap()
            .is_some(),
        "`personal` entry was removed"
    );
    assert!(
        latchkey_core::internals::load_session(&vault, &accounts[2])
            .unwrap()
            .is_some(),
        "the other provider's entry was removed"
    );
    assert_eq!(restored_user(&work).await, None);
    assert_eq!(
        restored_user(&personal).await.as_deref(),
        Some(VIEWER_USERNAME)
    );
    b.sign_out(SignOutScope::ThisDevice)
        .await
        .expect("sign out `personal`");
    c.sign_out(SignOutScope::ThisDevice)
        .await
        .expect("sign out other");
    assert_eq!(
        items_for(&service),
        0,
        "items left in the keyring for {service}"
    );
    drop((idp, idp2));
}

/// Runs the helper in a child process and waits at most 120 s for it.
fn run_child(mut cmd: Command, what: &str) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("start {what}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().expect("child status").is_some() {
            return child.wait_with_output().expect("child output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("child output");
            panic!(
                "{}",
                describe_output(&format!("{what} hung for 120 s and was killed"), &out)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn assert_child_ok(out: &Output, what: &str, expected: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.lines().any(|l| l.ends_with(expected)),
        "expected `{expected}`\n{}",
        describe_output(what, out)
    );
}

#[test]
fn locked_collection_gives_keychain_error_and_memory_only_session() {
    let home = tempfile::tempdir().expect("temp dir");
    let (data, config) = (home.path().join("data"), home.path().join("config"));
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&config).unwrap();
    let inner = child_test_command(CHILD_HELPER);
    let mut cmd = Command::new("dbus-run-session");
    cmd.args([
        "--",
        "bash",
        "-c",
        latchkey_testkit::ISOLATED_KEYRING_SCRIPT,
        "bash",
    ])
    .arg(inner.get_program())
    .args(inner.get_args())
    .env(CHILD_MODE, "locked")
    .env("KEYRING_PW", "locked-test")
    .env("XDG_DATA_HOME", &data)
    .env("XDG_CONFIG_HOME", &config)
    .env("LATCHKEY_RUNTIME_DIR", home.path())
    .env_remove("DISPLAY")
    .env_remove("DBUS_SESSION_BUS_ADDRESS")
    .env_remove("GNOME_KEYRING_CONTROL");
    let out = run_child(cmd, "locked-keyring child");
    assert_child_ok(
        &out,
        "locked-keyring child",
        "E2E-CHILD-RESULT locked=keychain-error memory-only=true signed-in=true stored=0",
    );
}

#[test]
fn no_secret_service_on_the_bus_gives_keychain_error() {
    let home = tempfile::tempdir().expect("temp dir");
    let mut cmd = child_test_command(CHILD_HELPER);
    cmd.env(CHILD_MODE, "no-bus")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        // The Secret Service, unreachable: memory only (`auto` would use the kernel keyring).
        .env("LATCHKEY_KEYCHAIN", "secret-service")
        .env("LATCHKEY_RUNTIME_DIR", home.path());
    let out = run_child(cmd, "no-bus child");
    assert_child_ok(
        &out,
        "no-bus child",
        "E2E-CHILD-RESULT no-bus=keychain-error memory-only=true signed-in=true",
    );
}

fn gdbus(args: &[&str]) -> String {
    let out = Command::new("gdbus")
        .args(["call", "--session", "--dest", "org.freedesktop.secrets"])
        .args(args)
        .output()
        .expect("gdbus");
    assert!(out.status.success(), "{}", describe_output("gdbus", &out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The child side of the two tests above; does nothing unless `LATCHKEY_E2E_CHILD` is set.
#[test]
fn child_keychain_helper() {
    let mode = match std::env::var(CHILD_MODE) {
        Ok(m) if m == "locked" || m == "no-bus" => m,
        _ => return,
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let service = unique_service(&mode);
        let vault = Vault::system_with_service(&service);
        if mode == "locked" {
            let health = vault.probe();
            assert!(health.ok, "the fresh keyring should work before it is locked: {health:?}");
            let locked = gdbus(&[
                "--object-path",
                "/org/freedesktop/secrets",
                "--method",
                "org.freedesktop.Secret.Service.Lock",
                "['/org/freedesktop/secrets/collection/login']",
            ]);
            eprintln!("Lock → {locked}");
            let state = gdbus(&[
                "--object-path",
                "/org/freedesktop/secrets/collection/login",
                "--method",
                "org.freedesktop.DBus.Properties.Get",
                "org.freedesktop.Secret.Collection",
                "Locked",
            ]);
            assert!(state.contains("true"), "the login collection did not lock: {state}");
        }

        // The vault itself: a keychain error that says what happened and what to do.
        let v2 = vault.clone();
        let err = tokio::time::timeout(
            Duration::from_secs(30),
            tokio::task::spawn_blocking(move || latchkey_core::internals::set_bytes(&v2, "probe", b"value")),
        )
        .await
        .expect("the keychain write must fail, not hang")
        .unwrap()
        .expect_err("writing to the keychain must fail");
        eprintln!("set_bytes error: {err}");
        assert_eq!(err.kind(), ErrorKind::Keychain, "{err}");
        let msg = err.to_string();
        if mode == "locked" {
            assert!(msg.contains("locked"), "the message must say the keychain is locked: {msg}");
            assert!(msg.contains("unlock"), "the message must say to unlock it: {msg}");
        } else {
            assert!(msg.contains("not available"), "the message must say the service is missing: {msg}");
            assert!(msg.contains("gnome-keyring") || msg.contains("Secret Service"), "{msg}");
        }
        assert!(msg.contains("memory only"), "{msg}");
        let health = vault.probe();
        assert!(!health.ok && !health.persistent, "{health:?}");

        // A session on it: memory-only, says why, and still signs in.
        let (idp, spec) = start_devidp("memory-only", latchkey_testkit::free_port(), |_| {});
        // The keychain is first used when the session is saved: the sign-in still works, and
        // the state says the session is memory-only, and why.
        let session = session_with(&spec, vault.clone(), DEMO_USERNAME, DEMO_PASSWORD);
        session.sign_in(sign_in_timeout()).await.expect("sign-in works without a keychain");
        let SessionState::SignedIn { storage, .. } = session.state() else {
            panic!("{:?}", session.state())
        };
        assert!(!storage.persistent, "{storage:?}");
        let warning = storage.warning.clone().expect("a warning about the keychain");
        eprintln!("storage warning: {warning}");
        assert!(warning.contains(if mode == "locked" { "locked" } else { "not available" }), "{warning}");
        session.tokens().await.expect("tokens in memory");
        drop(idp);

        if mode == "locked" {
            // Nothing reached the keyring (locked or not).
            let found = gdbus(&[
                "--object-path",
                "/org/freedesktop/secrets",
                "--method",
                "org.freedesktop.Secret.Service.SearchItems",
                &format!("{{'service': '{service}'}}"),
            ]);
            eprintln!("SearchItems → {found}");
            // `(@ao [], @ao [])` when nothing matches, else item paths (unlocked, locked).
            let stored = found.matches("/org/freedesktop/secrets/collection/").count();
            println!("E2E-CHILD-RESULT locked=keychain-error memory-only=true signed-in=true stored={stored}");
        } else {
            println!("E2E-CHILD-RESULT no-bus=keychain-error memory-only=true signed-in=true");
        }
    });
}

#[test]
fn failure_reports_mask_secrets() {
    let masked = latchkey_testkit::mask_secrets(
        "http://x/cb?code=abcdef123&state=zzzzzzzz&iss=ok {\"refresh_token\": \"eyJsecretvalue\", \"token_type\":\"Bearer\"}",
    );
    assert!(
        !masked.contains("abcdef123") && !masked.contains("zzzzzzzz"),
        "{masked}"
    );
    assert!(!masked.contains("eyJsecretvalue"), "{masked}");
    assert!(
        masked.contains("iss=ok") && masked.contains("Bearer"),
        "{masked}"
    );
}
