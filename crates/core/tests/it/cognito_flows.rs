//! The Cognito-only flows against devidp's user pool: sign out everywhere (`GlobalSignOut` on
//! the pool's JSON API, then the logout page), sign in as another user (the `/logout` form
//! that lands on the login page), and extra authorize parameters.

use std::sync::Arc;
use std::time::Duration;

use devidp::{DEMO_USERNAME, VIEWER_PASSWORD, VIEWER_USERNAME};
use latchkey_core::SignOutScope;
use latchkey_core::{
    Entry, ErrorKind, OffsetClock, Profile, Session, SessionOptions, SessionState, SignInOptions,
    Vault,
};
use latchkey_testkit::devidp;
use latchkey_testkit::*;

const ADMIN_SCOPE: &str = "aws.cognito.signin.user.admin";

fn with_admin_scope(mut profile: Profile) -> Profile {
    profile.scopes.push(ADMIN_SCOPE.into());
    profile
}

/// Two devices of one user: two sessions with their own keychains, both signed in.
async fn two_devices(profile: &Profile) -> (Session, Session) {
    let laptop = signed_in(profile.clone(), Vault::memory()).await;
    let desktop = signed_in(profile.clone(), Vault::memory()).await;
    (laptop, desktop)
}

#[tokio::test]
async fn sign_out_everywhere_ends_the_other_devices_sessions() {
    let (idp, profile) = start_cognito(|_| {});
    let profile = with_admin_scope(profile);
    let (laptop, desktop) = two_devices(&profile).await;

    let outcome = laptop.sign_out(SignOutScope::Everywhere).await.unwrap();
    assert!(outcome.signed_out_everywhere, "{:?}", outcome.warnings);
    assert!(outcome.revoked);
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
    assert_eq!(idp.stats().global_sign_outs, 1);
    // The browser session ends too: the logout page is the second step.
    let logout = outcome.logout_url.expect("a logout URL").expose().clone();
    assert_eq!(logout.path(), "/logout");

    // The other device's refresh token no longer works: its next refresh ends the session.
    let e = desktop.force_refresh().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SessionExpired, "{e}");
    assert!(matches!(laptop.state(), SessionState::SignedOut { .. }));
}

#[tokio::test]
async fn without_the_admin_scope_only_this_device_signs_out_and_the_user_is_told() {
    let (idp, profile) = start_cognito(|_| {});
    let (laptop, desktop) = two_devices(&profile).await;

    let outcome = laptop.sign_out(SignOutScope::Everywhere).await.unwrap();
    assert!(!outcome.signed_out_everywhere);
    assert!(
        outcome.revoked,
        "this device's refresh token is still revoked"
    );
    assert_eq!(outcome.warnings.len(), 1, "{:?}", outcome.warnings);
    assert!(
        outcome.warnings[0].contains(ADMIN_SCOPE),
        "{:?}",
        outcome.warnings
    );
    assert_eq!(idp.stats().global_sign_outs, 0, "no call that must fail");
    assert!(
        outcome.logout_url.is_some(),
        "the browser session still ends"
    );

    desktop
        .force_refresh()
        .await
        .expect("the other device stays signed in");
}

#[tokio::test]
async fn an_expired_access_token_is_replaced_before_the_global_sign_out() {
    let (idp, profile) = start_cognito(|_| {});
    let profile = with_admin_scope(profile);
    let laptop_keychain = Vault::memory();
    signed_in(profile.clone(), laptop_keychain.clone()).await;
    let desktop = signed_in(profile.clone(), Vault::memory()).await;
    // Both the provider and the laptop are two hours on: every access token has expired.
    idp.advance_clock(Duration::from_secs(7200));
    let later = Session::new(
        profile.clone(),
        SessionOptions {
            clock: Arc::new(OffsetClock::new(7200)),
            ..options_with(laptop_keychain, Arc::new(HttpBrowser::default()))
        },
    )
    .unwrap();

    let refreshes_before = idp.stats().token_refresh_token;
    let outcome = later.sign_out(SignOutScope::Everywhere).await.unwrap();
    assert!(outcome.signed_out_everywhere, "{:?}", outcome.warnings);
    assert_eq!(idp.stats().token_refresh_token, refreshes_before + 1);
    assert_eq!(idp.stats().global_sign_outs, 1);
    let e = desktop.force_refresh().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SessionExpired, "{e}");
}

#[tokio::test]
async fn a_refused_global_sign_out_still_signs_this_device_out() {
    let (idp, profile) = start_cognito(|_| {});
    let profile = with_admin_scope(profile);
    let (laptop, desktop) = two_devices(&profile).await;
    // The other device signs out everywhere first: the laptop's tokens are dead at the pool.
    desktop.sign_out(SignOutScope::Everywhere).await.unwrap();

    let outcome = laptop.sign_out(SignOutScope::Everywhere).await.unwrap();
    assert!(!outcome.signed_out_everywhere);
    assert!(
        outcome.warnings[0].contains("NotAuthorizedException"),
        "the pool's answer is shown: {:?}",
        outcome.warnings
    );
    assert_eq!(idp.stats().global_sign_outs, 2);
    assert!(matches!(laptop.state(), SessionState::SignedOut { .. }));
    assert!(
        matches!(laptop.restore().await, Ok(SessionState::SignedOut { .. })),
        "nothing is left in the keychain"
    );
}

#[tokio::test]
async fn switch_user_ends_the_browser_session_and_signs_in_the_other_user() {
    let (idp, profile) = start_cognito(|_| {});
    let session = signed_in(profile.clone(), Vault::memory()).await;
    assert_eq!(email_of(&session).as_deref(), Some(DEMO_USERNAME));

    let viewer = HttpBrowser::as_user(VIEWER_USERNAME, VIEWER_PASSWORD);
    let other = Session::new(
        profile.clone(),
        options_with(Vault::memory(), Arc::new(viewer.clone())),
    )
    .unwrap();
    other
        .sign_in(SignInOptions {
            entry: Entry::AnotherUser,
            ..Default::default()
        })
        .await
        .expect("the other user signs in");
    // Cognito's logout page first, back to the sign-in's own listener on the registered
    // sign-out URL, which sends the browser on to the complete authorize request: no reliance
    // on what `/logout`'s re-authentication form carries (PKCE's challenge and the nonce).
    let opened = viewer.opened.lock().unwrap()[0].clone();
    assert_eq!(opened.path(), "/logout");
    assert_eq!(
        q(&opened, "logout_uri"),
        profile.sign_out_uri.as_ref().map(|u| u.to_string())
    );
    assert_eq!(q(&opened, "redirect_uri"), None);
    assert_eq!(idp.stats().logouts, 1);
    assert_eq!(email_of(&other).as_deref(), Some(VIEWER_USERNAME));
}

#[tokio::test]
async fn switch_user_with_a_sign_out_url_elsewhere_uses_the_logout_forms_redirect() {
    let (idp, mut profile) = start_cognito(|c| {
        c.client
            .sign_out_urls
            .push("https://app.example.com/bye".into())
    });
    profile.sign_out_uri = Some("https://app.example.com/bye".parse().unwrap());
    let viewer = HttpBrowser::as_user(VIEWER_USERNAME, VIEWER_PASSWORD);
    let session = Session::new(
        profile,
        options_with(Vault::memory(), Arc::new(viewer.clone())),
    )
    .unwrap();
    session
        .sign_in(SignInOptions {
            entry: Entry::AnotherUser,
            ..Default::default()
        })
        .await
        .expect("the other user signs in");
    let opened = viewer.opened.lock().unwrap()[0].clone();
    assert_eq!(opened.path(), "/logout", "Cognito's re-authentication form");
    for name in [
        "client_id",
        "redirect_uri",
        "state",
        "code_challenge",
        "scope",
    ] {
        assert!(q(&opened, name).is_some(), "{name} missing from {opened}");
    }
    assert_eq!(q(&opened, "response_type").as_deref(), Some("code"));
    assert_eq!(idp.stats().logouts, 1);
    assert_eq!(email_of(&session).as_deref(), Some(VIEWER_USERNAME));
}

#[tokio::test]
async fn switch_user_on_an_oidc_provider_asks_for_a_new_login() {
    let idp = start_idp(|_| {});
    let (browser, mut rx) = ManualBrowser::new();
    let session = Session::new(oidc_profile(&idp), memory_options(browser)).unwrap();
    let s = session.clone();
    let task = tokio::spawn(async move {
        s.sign_in(SignInOptions {
            entry: Entry::AnotherUser,
            ..Default::default()
        })
        .await
    });
    let url = rx.recv().await.unwrap();
    assert_eq!(url.path(), "/oauth2/authorize");
    assert_eq!(q(&url, "prompt").as_deref(), Some("login"));
    session.cancel_sign_in();
    assert_eq!(
        task.await.unwrap().unwrap_err().kind(),
        ErrorKind::Cancelled
    );
}

#[tokio::test]
async fn profile_and_sign_in_authorize_parameters_reach_the_authorize_url_and_reserved_ones_are_refused(
) {
    let (_idp, mut profile) = start_cognito(|_| {});
    profile.identity_provider = Some("COGNITO".into());
    // the profile's own parameters (`[profiles.NAME.authorize_params]`); this sign-in's
    // `lang` replaces the profile's
    profile.authorize_params = [("lang", "de"), ("ui_locales", "de-CH")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
    let (browser, mut rx) = ManualBrowser::new();
    let session = Session::new(profile, memory_options(browser)).unwrap();
    let s = session.clone();
    let task = tokio::spawn(async move {
        s.sign_in(SignInOptions {
            extra_params: vec![
                ("lang".into(), "fr".into()),
                ("idp_identifier".into(), "example.com".into()),
            ],
            ..Default::default()
        })
        .await
    });
    let url = rx.recv().await.unwrap();
    assert_eq!(q(&url, "identity_provider").as_deref(), Some("COGNITO"));
    assert_eq!(q(&url, "lang").as_deref(), Some("fr"));
    assert_eq!(
        url.query_pairs().filter(|(k, _)| k == "lang").count(),
        1,
        "one `lang`: {url}"
    );
    assert_eq!(q(&url, "ui_locales").as_deref(), Some("de-CH"));
    assert_eq!(q(&url, "idp_identifier").as_deref(), Some("example.com"));
    session.cancel_sign_in();
    task.await.unwrap().unwrap_err();

    for reserved in ["state", "redirect_uri", "code_challenge", "nonce"] {
        let e = session
            .sign_in(SignInOptions {
                extra_params: vec![(reserved.into(), "attacker".into())],
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{reserved}: {e}");
    }
}

fn email_of(session: &Session) -> Option<String> {
    match session.state() {
        SessionState::SignedIn { user, .. } => user.email,
        other => panic!("not signed in: {other:?}"),
    }
}
