//! Against the real OS keychain (a gnome-keyring that `cargo xtask test` starts inside
//! `dbus-run-session`): full flow + restore, 16 KB round-trip, crash between commit and
//! cleanup, a session stored by the first format read and rewritten, no Secret Service →
//! memory-only, two processes refreshing once, and AWS credentials kept across a restart and
//! fetched again ahead of expiry.
//!
//! Without a Secret Service these tests fail with instructions; set
//! `LATCHKEY_SKIP_KEYCHAIN_TESTS=1` to skip them knowingly.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use devidp::Rotation;
use latchkey_core::internals::{
    aws_account, chunk_item, delete, get_bytes, load_aws_credentials, load_session, plant_raw_item,
    raw_item, set_bytes, CrashPoint, CrashingStore, CHUNK_SIZE,
};
use latchkey_core::SignOutScope;
use latchkey_core::{
    ErrorKind, NoBrowser, OffsetClock, Profile, ProfileKind, Session, SessionOptions, SessionState,
    SignInOptions, Vault,
};
use latchkey_testkit::devidp;
use latchkey_testkit::*;
use url::Url;

const CHILD_ENV: &str = "LATCHKEY_TEST_CHILD_MODE";

mod crash;
mod processes;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keychain_probe_names_the_active_store() {
    let Some(v) = keychain_vault("probe") else {
        return;
    };
    let h = v.probe();
    assert!(h.ok && h.persistent);
    assert!(
        h.store_name.contains("Secret Service")
            || h.store_name.contains("Keychain")
            || h.store_name.contains("Credential Manager"),
        "{}",
        h.store_name
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keychain_values_up_to_16kb_round_trip_and_shrink_cleanly() {
    let Some(v) = keychain_vault("16k") else {
        return;
    };
    for size in [1900usize, 4096, 16 * 1024] {
        let value: Vec<u8> = (0..size).map(|i| b'A' + (i % 26) as u8).collect();
        set_bytes(&v, "big", &value).unwrap();
        assert_eq!(
            get_bytes(&v, "big").unwrap().unwrap(),
            value,
            "{size} bytes"
        );
    }
    set_bytes(&v, "big", b"tiny").unwrap();
    assert_eq!(get_bytes(&v, "big").unwrap().unwrap(), b"tiny");
    delete(&v, "big").unwrap();
    assert!(get_bytes(&v, "big").unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keychain_full_flow_restore_refresh_and_sign_out() {
    let Some(vault) = keychain_vault("flow") else {
        return;
    };
    let (idp, profile) = start_cognito(|c| {
        c.client.rotation = Some(Rotation {
            grace_period: Duration::from_secs(0),
        })
    });
    let s = signed_in(profile.clone(), vault.clone()).await;
    assert!(s.storage().persistent, "{:?}", s.storage());
    let info = s.refresh_token_info().unwrap();
    assert!(
        info.store.contains("Secret Service")
            || info.store.contains("Keychain")
            || info.store.contains("Credential")
    );
    drop(s);

    // a new process would build a new vault with the same service name
    let vault2 = Vault::system_with_service(vault.service());
    let clock = Arc::new(OffsetClock::new(0));
    let s2 = Session::new(
        profile.clone(),
        SessionOptions {
            vault: vault2.clone(),
            clock: clock.clone(),
            ..SessionOptions::memory()
        },
    )
    .unwrap();
    assert!(matches!(
        s2.restore().await.unwrap(),
        SessionState::SignedIn { .. }
    ));
    clock.set_offset(3600 - 120);
    s2.tokens().await.unwrap();
    assert_eq!(idp.stats().token_refresh_token, 1);
    clock.set_offset(0);

    // the rotated token was stored: a third session restores and refreshes with it
    let s3 = Session::new(
        profile.clone(),
        SessionOptions {
            vault: Vault::system_with_service(vault.service()),
            ..SessionOptions::memory()
        },
    )
    .unwrap();
    s3.restore().await.unwrap();
    s3.force_refresh()
        .await
        .expect("the stored (rotated) refresh token works");

    let out = s3.sign_out(SignOutScope::Everywhere).await.unwrap();
    assert!(out.revoked);
    assert!(
        get_bytes(&vault, &profile.keychain_account())
            .unwrap()
            .is_none(),
        "keychain entry deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keychain_aws_credentials_survive_a_restart_and_are_fetched_again_ahead_of_expiry() {
    let Some(vault) = keychain_vault("aws") else {
        return;
    };
    // Ten-minute credentials: fetched again once the first quarter of their life (150 s) is
    // over (they are too short for the SDKs' 15 minutes).
    let (idp, profile) = start_cognito(|c| {
        c.identity_pool.as_mut().unwrap().credentials_ttl = Duration::from_secs(600);
    });
    let profile = with_identity_pool(&idp, profile, None);
    let first = signed_in(profile.clone(), vault.clone())
        .await
        .aws_credentials()
        .await
        .unwrap();
    let stored = load_aws_credentials(&vault, &profile).unwrap().unwrap();
    assert_eq!(stored.access_key_id, first.access_key_id);
    assert_eq!(stored.secret_access_key, first.secret_access_key);

    // a new process: nothing restored, nothing refreshed, nothing fetched
    let before = idp.stats();
    let clock = Arc::new(OffsetClock::new(0));
    let s2 = Session::new(
        profile.clone(),
        SessionOptions {
            vault: Vault::system_with_service(vault.service()),
            clock: clock.clone(),
            ..SessionOptions::memory()
        },
    )
    .unwrap();
    let adopted = s2.aws_credentials().await.unwrap();
    assert_eq!(adopted.access_key_id, first.access_key_id);
    assert_eq!(adopted.session_token, first.session_token);
    let stats = idp.stats();
    assert_eq!(
        stats.identity_get_credentials, 1,
        "adopted from the keychain"
    );
    assert_eq!(
        (stats.token_refresh_token, stats.discovery, stats.jwks),
        (before.token_refresh_token, before.discovery, before.jwks),
        "no other request either"
    );

    // (well before the due time: real seconds also pass while a loaded machine runs this)
    clock.set_offset(90);
    assert_eq!(
        s2.aws_credentials().await.unwrap().access_key_id,
        first.access_key_id,
        "not yet due"
    );
    // Due by the credentials' issue time, which a provider running ahead moves later.
    clock.set_offset(151 + provider_clock_ahead());
    let renewed = s2.aws_credentials().await.unwrap();
    assert_ne!(
        renewed.access_key_id, first.access_key_id,
        "fetched ahead of expiry"
    );
    assert!(
        first.seconds_left(
            chrono::Utc::now() + chrono::Duration::seconds(151 + provider_clock_ahead())
        ) > 0
    );
    assert_eq!(renewed.identity_id, first.identity_id);
    let stats = idp.stats();
    assert_eq!(
        (stats.identity_get_id, stats.identity_get_credentials),
        (1, 2)
    );
    assert_eq!(
        load_aws_credentials(&vault, &profile)
            .unwrap()
            .unwrap()
            .access_key_id,
        renewed.access_key_id,
        "the new ones replaced the old in the keychain"
    );

    s2.sign_out(SignOutScope::ThisDevice).await.unwrap();
    assert!(get_bytes(&vault, &aws_account(&profile)).unwrap().is_none());
    assert!(get_bytes(&vault, &profile.keychain_account())
        .unwrap()
        .is_none());
}

// ---------------- F3, F6, F9: writes under the lock, read-back, injected errors ----------------

/// F3: a sign-in does not write the profile's session while another process holds its lock
/// (the app refreshing while `latchkey login` runs): it waits, then writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn f3_sign_in_waits_for_another_process_writing_the_same_profile() {
    let Some(vault) = keychain_vault("f3") else {
        return;
    };
    let runtime = tempfile::tempdir().unwrap();
    let mut env = latchkey_testkit::ProcessEnv::lock();
    env.set("LATCHKEY_RUNTIME_DIR", runtime.path());
    let (_idp, profile) = start_cognito(|_| {});
    let account = profile.keychain_account();
    let path = latchkey_core::internals::lock_path(vault.service(), &account);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let held = std::fs::File::create(&path).unwrap();
    held.lock().unwrap(); // another process's write in progress
    let (browser, mut opened) = ManualBrowser::new();
    let s = Session::new(profile.clone(), options_with(vault.clone(), browser)).unwrap();
    let signing_in = {
        let s = s.clone();
        tokio::spawn(async move { s.sign_in(SignInOptions::default()).await })
    };
    let url = opened.recv().await.unwrap();
    let cb = login_to_callback(&url, devidp::DEMO_USERNAME, devidp::DEMO_PASSWORD).await;
    assert_eq!(visit(&cb).await.0, 200);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!signing_in.is_finished(), "the sign-in waits for the lock");
    assert!(
        load_session(&vault, &account).unwrap().is_none(),
        "nothing written meanwhile"
    );
    drop(held);
    signing_in
        .await
        .unwrap()
        .expect("signs in once the lock is free");
    assert!(load_session(&vault, &account).unwrap().is_some());
    let _ = delete(&vault, &account);
}

/// A store that says yes to every write and keeps nothing (some keychains did: 99designs/
/// keyring#67). A mock, because no real keychain here can be made to do that on demand.
struct Forgetful;

struct ForgetfulCred;

impl keyring_core::api::CredentialApi for ForgetfulCred {
    fn set_secret(&self, _: &[u8]) -> keyring_core::Result<()> {
        Ok(())
    }
    fn get_secret(&self) -> keyring_core::Result<Vec<u8>> {
        Err(keyring_core::Error::NoEntry)
    }
    fn delete_credential(&self) -> keyring_core::Result<()> {
        Err(keyring_core::Error::NoEntry)
    }
    fn get_credential(&self) -> keyring_core::Result<Option<Arc<keyring_core::api::Credential>>> {
        Ok(None)
    }
    fn get_specifiers(&self) -> Option<(String, String)> {
        None
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn debug_fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForgetfulCred")
    }
}

impl keyring_core::api::CredentialStoreApi for Forgetful {
    fn vendor(&self) -> String {
        "forgetful test store".into()
    }
    fn id(&self) -> String {
        "forgetful".into()
    }
    fn build(
        &self,
        _: &str,
        _: &str,
        _: Option<&std::collections::HashMap<&str, &str>>,
    ) -> keyring_core::Result<keyring_core::Entry> {
        Ok(keyring_core::Entry::new_with_credential(Arc::new(
            ForgetfulCred,
        )))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn debug_fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Forgetful")
    }
}

/// F6: a write that "succeeds" without storing is caught by the read-back: the session is
/// kept in memory and the state says so, instead of a sign-in that is gone at the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn f6_a_keychain_that_stores_nothing_is_caught_by_the_read_back() {
    let vault = Vault::with_store(Arc::new(Forgetful), "forgetful store");
    assert!(!vault.probe().ok, "the probe's read-back notices");
    let (_idp, profile) = start_cognito(|_| {});
    let s = signed_in(profile, vault).await;
    let SessionState::SignedIn { storage, .. } = s.state() else {
        panic!("{:?}", s.state())
    };
    assert!(!storage.persistent, "{storage:?}");
    assert!(storage.warning.is_some(), "the user is told: {storage:?}");
}

/// Which keychain call fails, and how.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Get,
    Set,
    Delete,
}

type Failure = (Op, fn() -> keyring_core::Error);

/// The mock store of keyring-core, with every `op` call failing while a failure is set, and
/// every call taking `delay_ms` first (a mock: no real keychain fails or stalls on demand, per
/// call). Values persist in memory.
struct Flaky {
    inner: Arc<keyring_core::mock::Store>,
    failure: Arc<std::sync::Mutex<Option<Failure>>>,
    delay_ms: Arc<AtomicU64>,
}

struct FlakyCred {
    inner: keyring_core::Entry,
    failure: Arc<std::sync::Mutex<Option<Failure>>>,
    delay_ms: Arc<AtomicU64>,
}

impl FlakyCred {
    fn fails(&self, op: Op) -> keyring_core::Result<()> {
        // Blocking, as a keychain waiting for an unlock prompt or a slow daemon blocks.
        std::thread::sleep(Duration::from_millis(self.delay_ms.load(Ordering::SeqCst)));
        match *self.failure.lock().unwrap() {
            Some((failing, error)) if failing == op => Err(error()),
            _ => Ok(()),
        }
    }
}

impl keyring_core::api::CredentialApi for FlakyCred {
    fn set_secret(&self, secret: &[u8]) -> keyring_core::Result<()> {
        self.fails(Op::Set)?;
        self.inner.set_secret(secret)
    }
    fn get_secret(&self) -> keyring_core::Result<Vec<u8>> {
        self.fails(Op::Get)?;
        self.inner.get_secret()
    }
    fn delete_credential(&self) -> keyring_core::Result<()> {
        self.fails(Op::Delete)?;
        self.inner.delete_credential()
    }
    fn get_credential(&self) -> keyring_core::Result<Option<Arc<keyring_core::api::Credential>>> {
        Ok(None)
    }
    fn get_specifiers(&self) -> Option<(String, String)> {
        None
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn debug_fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlakyCred")
    }
}

impl keyring_core::api::CredentialStoreApi for Flaky {
    fn vendor(&self) -> String {
        "flaky test store".into()
    }
    fn id(&self) -> String {
        "flaky".into()
    }
    fn build(
        &self,
        service: &str,
        user: &str,
        modifiers: Option<&std::collections::HashMap<&str, &str>>,
    ) -> keyring_core::Result<keyring_core::Entry> {
        let inner = self.inner.build(service, user, modifiers)?;
        Ok(keyring_core::Entry::new_with_credential(Arc::new(
            FlakyCred {
                inner,
                failure: self.failure.clone(),
                delay_ms: self.delay_ms.clone(),
            },
        )))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn debug_fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Flaky")
    }
}

/// F9: TooLong, NoStorageAccess, PlatformFailure and NoEntry on each of get, set and delete,
/// each through the session operation that makes the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn f9_injected_keychain_errors_each_take_their_path() {
    use keyring_core::Error as K;
    type Named = (&'static str, fn() -> K);
    let errors: [Named; 4] = [
        ("TooLong", || K::TooLong("secret".into(), 2560)),
        ("NoStorageAccess", || {
            K::NoStorageAccess(Box::new(std::io::Error::other("locked")))
        }),
        ("PlatformFailure", || {
            K::PlatformFailure(Box::new(std::io::Error::other("bus gone")))
        }),
        ("NoEntry", || K::NoEntry),
    ];
    let (idp, profile) = start_cognito(|_| {});
    for (name, error) in errors {
        for op in [Op::Get, Op::Set, Op::Delete] {
            let failure = Arc::new(std::sync::Mutex::new(None));
            let store = Flaky {
                inner: keyring_core::mock::Store::new().unwrap(),
                failure: failure.clone(),
                delay_ms: Arc::default(),
            };
            let vault = Vault::with_store(Arc::new(store), "flaky store");
            let case = format!("{name} on {op:?}");
            if op == Op::Set {
                *failure.lock().unwrap() = Some((op, error));
            }
            let s = signed_in(profile.clone(), vault.clone()).await;
            let storage = s.storage();
            match op {
                Op::Set => assert!(
                    !storage.persistent && storage.warning.is_some(),
                    "{case}: {storage:?}"
                ),
                _ => assert!(storage.warning.is_none(), "{case}: {storage:?}"),
            }
            *failure.lock().unwrap() = Some((op, error));
            match op {
                Op::Get => {
                    let other = Session::new(
                        profile.clone(),
                        options_with(vault.clone(), Arc::new(NoBrowser)),
                    )
                    .unwrap();
                    match (name, other.restore().await) {
                        ("NoEntry", Ok(state)) => {
                            assert!(matches!(state, SessionState::SignedOut { .. }), "{case}")
                        }
                        (_, Err(e)) => assert_eq!(e.kind(), ErrorKind::Keychain, "{case}: {e}"),
                        (_, Ok(state)) => panic!("{case}: {state:?}"),
                    }
                }
                Op::Delete => {
                    let out = s.sign_out(SignOutScope::ThisDevice).await.unwrap();
                    let warned = out.warnings.iter().any(|w| w.contains("could not delete"));
                    assert_eq!(warned, name != "NoEntry", "{case}: {:?}", out.warnings);
                    assert!(
                        matches!(s.state(), SessionState::SignedOut { .. }),
                        "{case}"
                    );
                }
                Op::Set => {}
            }
        }
    }
    assert!(idp.stats().revocations >= 4);
}

/// Keychain calls block for as long as the OS takes (an unlock prompt, a slow daemon): they run
/// off the async threads, so a runtime with a single thread keeps serving its other tasks (the
/// app's UI commands, the listener) meanwhile. A ticker task on that thread must keep ticking
/// while signing out reads and deletes through a keychain that takes 500 ms per call: the
/// longest pause between two ticks stays far below one keychain call.
#[test]
fn a_slow_keychain_never_stalls_a_single_threaded_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (_idp, profile) = start_cognito(|_| {});
        let delay_ms = Arc::new(AtomicU64::new(0));
        let store = Flaky {
            inner: keyring_core::mock::Store::new().unwrap(),
            failure: Arc::default(),
            delay_ms: delay_ms.clone(),
        };
        let vault = Vault::with_store(Arc::new(store), "slow store");
        let session = signed_in(profile, vault).await;

        delay_ms.store(500, Ordering::SeqCst);
        let longest_pause = Arc::new(std::sync::Mutex::new(Duration::ZERO));
        let ticker = tokio::spawn({
            let longest_pause = longest_pause.clone();
            async move {
                let mut last = std::time::Instant::now();
                loop {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    let mut longest = longest_pause.lock().unwrap();
                    *longest = (*longest).max(last.elapsed());
                    last = std::time::Instant::now();
                }
            }
        });
        // the ticker runs before sign-out starts
        tokio::time::sleep(Duration::from_millis(30)).await;
        let started = std::time::Instant::now();
        session.sign_out(SignOutScope::ThisDevice).await.unwrap();
        let took = started.elapsed();
        ticker.abort();
        let longest = *longest_pause.lock().unwrap();
        assert!(
            took >= Duration::from_millis(1000),
            "sign-out did not go through the slow keychain ({took:?})"
        );
        assert!(
            longest < Duration::from_millis(400),
            "the runtime's only thread was blocked for {longest:?} (sign-out took {took:?})"
        );
    });
}

// ---- child processes (their modes are in `processes`) ----

/// Entry point for child processes; does nothing in a normal test run.
#[test]
fn child_process_entry() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        match mode.as_str() {
            "no_secret_service" => processes::child_no_secret_service().await,
            "refresher" => processes::child_refresher().await,
            "locked_keychain" => processes::child_locked_keychain().await,
            other => panic!("unknown child mode {other}"),
        }
    });
}
