//! Sessions no profile reaches any more, against the real Secret Service (`cargo xtask test`
//! and `/work/bin/sandbox-run` start one) and devidp: sign-in and refresh store the revocation
//! endpoint; an older session is revoked at a twin profile's endpoint, else discovery's, else
//! deleted unrevoked; a large session's chunks and its AWS credentials go with it.

use std::collections::HashMap;
use std::sync::Arc;

use latchkey_core::internals::{
    chunk_item, keychain_items, load_session, plant_raw_item, set_bytes, store_session,
    StoredSession,
};
use latchkey_core::{
    find_stray_sessions, remove_stray_sessions, Config, EndpointSource, NotRevokedBecause, Profile,
    RefreshToken, Revocation, SecretToken, StrayError, StrayOutcome, Vault,
};
use latchkey_testkit::*;
use url::Url;

/// The real keychain under a service of this test alone.
fn keychain(what: &str) -> Vault {
    let vault = Vault::system_with_service(&unique_service(what));
    let health = vault.probe();
    assert!(
        health.ok && health.persistent,
        "no usable Secret Service ({}): run inside /work/bin/sandbox-run or `cargo xtask test`",
        health.message
    );
    vault
}

fn config_of(profiles: &[&Profile]) -> Config {
    let mut config = Config::default();
    for p in profiles {
        config.insert((*p).clone());
    }
    config
}

fn items(vault: &Vault) -> Vec<String> {
    let mut items = keychain_items(vault)
        .unwrap()
        .expect("the Secret Service lists");
    items.sort();
    items
}

/// Make `account`'s session look as a version before the revocation endpoint was stored
/// wrote it.
fn as_written_before(vault: &Vault, account: &str) {
    let mut stored = load_session(vault, account).unwrap().expect("a session");
    stored.revocation_endpoint = None;
    store_session(vault, account, &stored).unwrap();
}

/// Remove everything `config` does not reach; the one outcome.
async fn remove_the_one_stray(vault: &Vault, config: &Config) -> StrayOutcome {
    let strays = find_stray_sessions(vault, config).await.unwrap();
    assert_eq!(strays.len(), 1, "{strays:?}");
    let mut done = remove_stray_sessions(vault, config, strays).await;
    done.pop().unwrap().outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_and_refresh_store_the_revocation_endpoint_with_the_session() {
    let vault = keychain("stray-endpoint");
    let (idp, profile) = start_cognito(|_| {});
    let account = profile.keychain_account();
    let revoke = Url::parse(&format!("{}/oauth2/revoke", idp.base_url())).unwrap();
    let session = signed_in(profile, vault.clone()).await;
    let stored = load_session(&vault, &account).unwrap().unwrap();
    assert_eq!(stored.revocation_endpoint.as_ref(), Some(&revoke));

    as_written_before(&vault, &account);
    session.force_refresh().await.unwrap();
    let stored = load_session(&vault, &account).unwrap().unwrap();
    assert_eq!(
        stored.revocation_endpoint,
        Some(revoke),
        "a refresh writes it too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_session_is_revoked_at_the_endpoint_of_a_profile_with_its_issuer_and_client() {
    let vault = keychain("stray-twin");
    let (idp, profile) = start_cognito(|_| {});
    let account = profile.keychain_account();
    signed_in(profile.clone(), vault.clone()).await;
    as_written_before(&vault, &account);
    let twin = Profile {
        name: "twin".into(),
        ..profile
    };

    let outcome = remove_the_one_stray(&vault, &config_of(&[&twin])).await;
    let twin_endpoint = EndpointSource::Profile {
        name: "twin".into(),
    };
    assert_eq!(
        outcome,
        StrayOutcome::Removed {
            revocation: Revocation::Revoked {
                endpoint: twin_endpoint
            }
        }
    );
    assert_eq!(idp.stats().revocations, 1);
    assert_eq!(items(&vault), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_session_is_revoked_at_the_endpoint_discovery_names() {
    let vault = keychain("stray-discovery");
    let idp = start_idp(|_| {});
    let profile = oidc_profile(&idp);
    let account = profile.keychain_account();
    signed_in(profile, vault.clone()).await;
    as_written_before(&vault, &account);

    let outcome = remove_the_one_stray(&vault, &Config::default()).await;
    let revocation = Revocation::Revoked {
        endpoint: EndpointSource::Discovery,
    };
    assert_eq!(outcome, StrayOutcome::Removed { revocation });
    assert_eq!(idp.stats().revocations, 1);
    assert_eq!(items(&vault), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_session_whose_endpoint_is_unknown_is_deleted_and_said_not_revoked() {
    let vault = keychain("stray-unknown");
    let idp = start_idp(|_| {});
    let profile = oidc_profile(&idp);
    let account = profile.keychain_account();
    signed_in(profile, vault.clone()).await;
    as_written_before(&vault, &account);
    drop(idp); // the provider is gone: discovery cannot name the endpoint

    let outcome = remove_the_one_stray(&vault, &Config::default()).await;
    let StrayOutcome::Removed {
        revocation: Revocation::NotRevoked { because, .. },
    } = outcome
    else {
        panic!("deleted, not revoked: {outcome:?}");
    };
    assert_eq!(because, NotRevokedBecause::UnknownEndpoint);
    assert_eq!(items(&vault), Vec::<String>::new());
}

/// A 16 KB session (the largest Cognito ones): stored in chunks.
fn large_session(idp_base: &str, issuer: &str, client_id: &str) -> StoredSession {
    let filler = |len: usize, salt: usize| -> String {
        (0..len)
            .map(|i| (b'A' + ((i * 7 + salt) % 26) as u8) as char)
            .collect()
    };
    StoredSession {
        version: 1,
        generation: 1,
        refresh_token: Some(RefreshToken::new(filler(1800, 1))),
        refresh_stored_since: 1_700_000_000,
        id_token: SecretToken::new(filler(7000, 2)),
        access_token: SecretToken::new(filler(7500, 3)),
        id_expires_at: 1_700_003_600,
        access_expires_at: 1_700_003_600,
        id_issued_at: None,
        access_issued_at: None,
        id_renewable: true,
        issuer: issuer.into(),
        client_id: client_id.into(),
        revocation_endpoint: Some(Url::parse(&format!("{idp_base}/oauth2/revoke")).unwrap()),
        sub: "someone".into(),
        aud: vec![client_id.into()],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_session_its_chunks_its_leftovers_and_its_aws_credentials_are_one_stray() {
    let vault = keychain("stray-chunks");
    let idp = start_idp(|_| {});
    let account = format!("gone|{}|{}", idp.issuer(), idp.client_id());
    let session = large_session(&idp.base_url(), &idp.issuer(), &idp.client_id());
    store_session(&vault, &account, &session).unwrap();
    set_bytes(&vault, &format!("{account}:aws"), b"{}").unwrap();
    // A chunk a crashed write left, which no header names.
    plant_raw_item(&vault, &chunk_item(&account, 7, 0), b"left over").unwrap();
    let chunks = items(&vault).len() - 3;
    assert!(chunks >= 2, "the session is chunked: {:?}", items(&vault));

    let strays = find_stray_sessions(&vault, &Config::default())
        .await
        .unwrap();
    assert_eq!(strays.len(), 1, "one account: {strays:?}");
    let stray = &strays[0];
    assert_eq!(stray.account, account);
    assert_eq!((stray.session, stray.aws_credentials), (true, true));
    assert_eq!(stray.items, 1 + chunks + 1 + 1);
    assert_eq!(
        (
            stray.profile_name.as_str(),
            stray.issuer.clone(),
            stray.client_id.clone()
        ),
        ("gone", idp.issuer(), idp.client_id())
    );
    let shown = format!("{stray:?} {}", serde_json::to_string(stray).unwrap());
    assert!(!shown.contains(session.refresh_token.as_ref().unwrap().expose()));

    let done = remove_stray_sessions(&vault, &Config::default(), strays).await;
    let revocation = Revocation::Revoked {
        endpoint: EndpointSource::StoredWithSession,
    };
    assert_eq!(done[0].outcome, StrayOutcome::Removed { revocation });
    assert_eq!(idp.stats().revocations, 1);
    assert_eq!(items(&vault), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stray_a_profile_reaches_again_is_kept() {
    let vault = keychain("stray-kept");
    let (idp, profile) = start_cognito(|_| {});
    signed_in(profile.clone(), vault.clone()).await;
    let strays = find_stray_sessions(&vault, &Config::default())
        .await
        .unwrap();
    assert_eq!(strays.len(), 1);
    assert!(find_stray_sessions(&vault, &config_of(&[&profile]))
        .await
        .unwrap()
        .is_empty());

    // Listed while the profile was away; it is back before the removal.
    let done = remove_stray_sessions(&vault, &config_of(&[&profile]), strays).await;
    assert!(matches!(done[0].outcome, StrayOutcome::Kept { .. }));
    assert_eq!(idp.stats().revocations, 0);
    assert_eq!(items(&vault), [profile.keychain_account()]);
}

/// A store without search, as some platform stores may be (keyring-core's default for a
/// store that does not implement `search`). No real store on Linux lacks it, so this wrapper
/// around keyring-core's mock store stands in.
struct NoSearch(Arc<keyring_core::CredentialStore>);

impl keyring_core::api::CredentialStoreApi for NoSearch {
    fn vendor(&self) -> String {
        "a store without search".into()
    }
    fn id(&self) -> String {
        "no-search".into()
    }
    fn build(
        &self,
        service: &str,
        user: &str,
        modifiers: Option<&HashMap<&str, &str>>,
    ) -> keyring_core::Result<keyring_core::Entry> {
        self.0.build(service, user, modifiers)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[tokio::test]
async fn a_keychain_that_cannot_list_its_items_says_so() {
    let store = Arc::new(NoSearch(keyring_core::mock::Store::new().unwrap()));
    let vault = Vault::with_store(store, "a store without search");
    let err = find_stray_sessions(&vault, &Config::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StrayError::CannotList { .. }), "{err:?}");
    assert_eq!(
        latchkey_core::Error::from(err).kind(),
        latchkey_core::ErrorKind::Keychain
    );
}
