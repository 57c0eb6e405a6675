//! Issue 22: a profile edited, imported over or added again never carries its live session to
//! a new destination. Against devidp and the real Secret Service: when the new settings send
//! tokens elsewhere the old session is revoked and its keychain items deleted first; when they
//! do not, the session stays.

use latchkey_core::internals::load_session;
use latchkey_core::{Session, SessionOptions, SessionState, Vault};
use latchkey_testkit::{signed_in, start_cognito, unique_service};
use url::Url;

#[tokio::test]
async fn g1_a_changed_destination_signs_the_old_session_out_first() {
    let (idp, profile) = start_cognito(|_| {});
    let vault = Vault::system_with_service(&unique_service("profile-change"));
    let session = signed_in(profile.clone(), vault.clone()).await;
    let account = profile.keychain_account();
    assert!(load_session(&vault, &account).unwrap().is_some());

    // Nothing moves: a longer sign-in timeout keeps the session.
    let mut calmer = profile.clone();
    calmer.sign_in_timeout *= 2;
    assert!(session.sign_out_if_moved(&calmer).await.unwrap().is_none());
    assert_eq!(idp.stats().revocations, 0);
    assert!(load_session(&vault, &account).unwrap().is_some(), "kept");

    // The same issuer and client id (the same keychain account), another API: the ID token
    // would follow to the new API on the next call, so the session ends first.
    let mut elsewhere = profile.clone();
    elsewhere.api_base_urls = vec![Url::parse("https://api.elsewhere.example/").unwrap()];
    assert_eq!(elsewhere.keychain_account(), account);
    let out = session
        .sign_out_if_moved(&elsewhere)
        .await
        .unwrap()
        .expect("signed out");
    assert!(out.revoked, "{:?}", out.warnings);
    assert_eq!(
        idp.stats().revocations,
        1,
        "the provider counted the revocation"
    );
    assert!(load_session(&vault, &account).unwrap().is_none(), "deleted");
    let next = Session::new(elsewhere, SessionOptions::with_vault(vault.clone())).unwrap();
    assert!(
        matches!(
            next.restore().await.unwrap(),
            SessionState::SignedOut { .. }
        ),
        "the new settings start signed out"
    );
}
