//! Windows only: Credential Manager (its 2,560-byte items, 16 KB sessions, credentials kept on
//! this computer), the browser hand-over through ShellExecute, where profiles and the refresh
//! lock live, and a sign-in through the loopback listener into Credential Manager.
//!
//! `cargo xtask cross` runs these under Wine, signing in against a devidp running natively on
//! the Linux host; on Windows itself a devidp in this process stands in for it.
#![cfg(windows)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use keyring_core::api::CredentialStoreApi;
use latchkey_core::internals::{self, StoredSession};
use latchkey_core::SignOutScope;
use latchkey_core::{
    Browser, Config, ErrorKind, Profile, RefreshToken, SecretToken, Session, SessionOptions,
    SessionState, SystemBrowser, Vault,
};
use latchkey_testkit::devidp::{DevIdp, Rotation};
use latchkey_testkit::*;
use url::Url;

/// Credential Manager's limit for one credential's blob (`CRED_MAX_CREDENTIAL_BLOB_SIZE`).
const CREDENTIAL_BLOB_LIMIT: usize = 2560;

fn credential_manager(prefix: &str) -> Vault {
    let vault = Vault::system_with_service(&unique(&format!("latchkey-windows-{prefix}")));
    let health = vault.probe();
    assert!(health.ok && health.persistent, "{}", health.message);
    assert_eq!(health.store_name, "Windows Credential Manager");
    vault
}

/// The credential Credential Manager holds for `account` (the session's index item).
fn credential(vault: &Vault, account: &str) -> keyring_core::Entry {
    windows_native_keyring_store::Store::new()
        .unwrap()
        .build(vault.service(), account, None)
        .unwrap()
}

/// A session of about `total` bytes (16 KB: the largest Cognito ones, with many groups and
/// custom attributes); at least the 1,800-byte refresh token.
fn session_of(total: usize) -> StoredSession {
    let token = |len: usize, salt: usize| -> String {
        (0..len)
            .map(|i| (b'A' + ((i * 7 + salt) % 26) as u8) as char)
            .collect()
    };
    let refresh = 1800;
    let id = (total - refresh) / 2;
    StoredSession {
        version: 1,
        generation: 1,
        refresh_token: Some(RefreshToken::new(token(refresh, 1))),
        refresh_stored_since: 1_700_000_000,
        id_token: SecretToken::new(token(id, 2)),
        access_token: SecretToken::new(token(total - refresh - id, 3)),
        id_expires_at: 1_700_003_600,
        access_expires_at: 1_700_003_600,
        access_issued_at: None,
        id_issued_at: None,
        id_renewable: true,
        issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123".into(),
        client_id: "1example23456789".into(),
        revocation_endpoint: None,
        sub: "0f3c2a5e-1b2c-4d5e-8f90-123456789abc".into(),
        aud: vec!["1example23456789".into()],
    }
}

#[test]
fn a_16_kb_session_round_trips_through_credential_manager() {
    let vault = credential_manager("16k");
    let big = session_of(16 * 1024);
    assert!(serde_json::to_vec(&big).unwrap().len() > 16 * 1024);
    internals::store_session(&vault, "work", &big).unwrap();
    assert_eq!(
        internals::load_session(&vault, "work").unwrap().as_ref(),
        Some(&big)
    );

    // A new vault (as in the next process) reads it back, and a smaller session replaces it.
    let again = Vault::system_with_service(vault.service());
    assert_eq!(
        internals::load_session(&again, "work").unwrap().as_ref(),
        Some(&big)
    );
    let small = session_of(4 * 1024);
    internals::store_session(&again, "work", &small).unwrap();
    assert_eq!(
        internals::load_session(&vault, "work").unwrap().as_ref(),
        Some(&small)
    );
    internals::delete(&vault, "work").unwrap();
    assert!(internals::load_session(&vault, "work").unwrap().is_none());
}

#[test]
fn values_on_both_sides_of_the_item_limit_round_trip() {
    let vault = credential_manager("limit");
    for size in [
        CREDENTIAL_BLOB_LIMIT - 1,
        CREDENTIAL_BLOB_LIMIT,
        CREDENTIAL_BLOB_LIMIT + 1,
        2 * CREDENTIAL_BLOB_LIMIT,
        2 * CREDENTIAL_BLOB_LIMIT + 1,
    ] {
        let value: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        internals::set_bytes(&vault, "edge", &value).unwrap();
        assert_eq!(
            internals::get_bytes(&vault, "edge").unwrap().unwrap(),
            value,
            "{size} bytes"
        );
    }
    internals::delete(&vault, "edge").unwrap();
}

#[test]
fn credential_manager_takes_2560_bytes_in_one_item_and_no_more() {
    // The limit the vault chunks for, checked against the store itself.
    let vault = credential_manager("blob");
    let entry = credential(&vault, "blob");
    entry.set_secret(&[7u8; CREDENTIAL_BLOB_LIMIT]).unwrap();
    assert_eq!(entry.get_secret().unwrap().len(), CREDENTIAL_BLOB_LIMIT);
    let refused = entry.set_secret(&[7u8; CREDENTIAL_BLOB_LIMIT + 1]);
    assert!(
        matches!(refused, Err(keyring_core::Error::TooLong(..))),
        "{refused:?}"
    );
    entry.delete_credential().unwrap();
}

#[test]
fn sessions_are_kept_on_this_computer_not_roamed() {
    // Enterprise persistence (the store's default) would copy the refresh token to every
    // computer of a roaming profile, outside this computer's refresh lock.
    let vault = credential_manager("persist");
    internals::store_session(&vault, "work", &session_of(3 * 1024)).unwrap();
    let attributes = credential(&vault, "work").get_attributes().unwrap();
    assert_eq!(
        attributes.get("persistence").map(String::as_str),
        Some("Local"),
        "{attributes:?}"
    );
    internals::delete(&vault, "work").unwrap();
}

/// The provider: under `cargo xtask cross` a devidp on the Linux host (reached through Wine's
/// Winsock), else one in this process.
fn provider() -> (Option<DevIdp>, Profile) {
    let host = (
        std::env::var("LATCHKEY_TEST_HOST_ISSUER"),
        std::env::var("LATCHKEY_TEST_HOST_CLIENT_ID"),
    );
    let (idp, mut profile) = match host {
        (Ok(issuer), Ok(client_id)) => (
            None,
            Profile::oidc("host", Url::parse(&issuer).unwrap(), &client_id),
        ),
        _ => {
            let idp = start_idp(|c| {
                c.client.rotation = Some(Rotation {
                    grace_period: Duration::ZERO,
                })
            });
            let profile = oidc_profile(&idp);
            (Some(idp), profile)
        }
    };
    profile.sign_in_timeout = Duration::from_secs(60);
    (idp, profile)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_in_through_the_loopback_listener_into_credential_manager_then_refresh_and_sign_out() {
    let (_idp, profile) = provider();
    let vault = credential_manager("flow");
    let browser = HttpBrowser::default();
    let first = Session::new(
        profile.clone(),
        options_with(vault.clone(), std::sync::Arc::new(browser.clone())),
    )
    .unwrap();
    first
        .sign_in(latchkey_core::SignInOptions::default())
        .await
        .expect("sign-in through the loopback listener");
    assert_eq!(
        browser.callback_status.lock().unwrap()[0].0,
        200,
        "the listener's answer to the browser"
    );
    assert!(first.storage().persistent, "{:?}", first.storage());
    drop(first);

    // The next process restores from Credential Manager and refreshes under the refresh lock.
    let second = Session::new(
        profile.clone(),
        SessionOptions {
            vault: Vault::system_with_service(vault.service()),
            ..SessionOptions::memory()
        },
    )
    .unwrap();
    assert!(matches!(
        second.restore().await.unwrap(),
        SessionState::SignedIn { .. }
    ));
    second.force_refresh().await.expect("refresh");
    let lock_dir = local_app_data().join(r"latchkey\Latchkey\cache");
    let has_lock = std::fs::read_dir(&lock_dir)
        .map(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with("refresh-") && name.ends_with(".lock")
            })
        })
        .unwrap_or(false);
    assert!(has_lock, "no refresh lock in {}", lock_dir.display());

    let out = second.sign_out(SignOutScope::Everywhere).await.unwrap();
    assert!(out.revoked);
    assert!(internals::get_bytes(&vault, &profile.keychain_account())
        .unwrap()
        .is_none());
}

fn local_app_data() -> PathBuf {
    PathBuf::from(std::env::var_os("LOCALAPPDATA").expect("LOCALAPPDATA is set on Windows"))
}

#[test]
fn profiles_live_in_the_roaming_app_data_folder() {
    // Profiles hold no secret: they may roam with the user (tokens do not, see above).
    let _env = latchkey_testkit::ProcessEnv::lock();
    assert!(
        std::env::var_os("LATCHKEY_CONFIG").is_none(),
        "run without LATCHKEY_CONFIG"
    );
    let path = Config::default_path().unwrap();
    let roaming = PathBuf::from(std::env::var_os("APPDATA").expect("APPDATA is set on Windows"));
    assert_eq!(path, roaming.join(r"latchkey\Latchkey\config\config.toml"));
}

#[test]
fn the_system_browser_refuses_a_url_that_names_an_environment_variable() {
    // ShellExecute expands %NAME% in what it is handed (measured under Wine: `%PATH%` reached
    // the browser as the PATH's value). Latchkey's own URLs encode every `%` as `%25`.
    let url =
        Url::parse("https://idp.example/oauth2/authorize?client_id=abc&login_hint=%USERNAME%")
            .unwrap();
    let refused = SystemBrowser.open(&url).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Browser, "{refused}");
}

#[test]
#[ignore = "needs the recording browser on the Wine host that `cargo xtask cross` sets up"]
fn the_system_browser_hands_the_authorize_url_over_unchanged() {
    // Through ShellExecuteExW, Wine's URL handler and winebrowser to the host's `xdg-open`,
    // which `cargo xtask cross` replaces with a script that writes its argument to this file.
    let log = PathBuf::from(std::env::var_os("LATCHKEY_TEST_BROWSER_LOG").expect(
        "LATCHKEY_TEST_BROWSER_LOG names the file the recording browser writes (cargo xtask cross)",
    ));
    let _ = std::fs::remove_file(&log);
    let url = Url::parse(
        "http://127.0.0.1:9/oauth2/authorize?response_type=code&client_id=1example23456789\
         &redirect_uri=http%3A%2F%2Flocalhost%3A53682%2Fcallback&scope=openid+email+profile\
         &state=Zx-9_aQ&nonce=n-0S6_WzA2Mj&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
         &code_challenge_method=S256&identity_provider=COGNITO&login_hint=%C3%A9l%C3%A8ve%40example.com",
    )
    .unwrap();
    SystemBrowser
        .open(&url)
        .expect("ShellExecute accepts the URL");
    let deadline = Instant::now() + Duration::from_secs(30);
    let received = loop {
        if let Ok(text) = std::fs::read_to_string(&log) {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "the browser was never started ({} not written)",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(received, url.as_str());
}
