//! After "sign out everywhere" the provider sends the browser to the profile's loopback
//! sign-out URL: Latchkey answers it with a page (not a connection error), and gives the port
//! back as soon as a new sign-in needs it. One test in its own binary: the page is per process.

use std::sync::Arc;

use latchkey_core::SignOutScope;
use latchkey_core::{Session, SignInOptions, Vault};
use latchkey_testkit::{options_with, start_cognito, visit, HttpBrowser};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_everywhere_answers_the_sign_out_url_and_frees_its_port_for_the_next_sign_in() {
    let (_idp, profile) = start_cognito(|_| {});
    let sign_out_uri = profile
        .sign_out_uri
        .clone()
        .expect("the profile has a sign-out URL");
    let callback_port = profile.ports[0];
    assert_eq!(
        sign_out_uri.port(),
        Some(callback_port),
        "one port for both"
    );
    let session = Session::new(
        profile,
        options_with(Vault::memory(), Arc::new(HttpBrowser::default())),
    )
    .unwrap();

    session.sign_in(SignInOptions::default()).await.unwrap();
    let outcome = session.sign_out(SignOutScope::Everywhere).await.unwrap();
    assert!(outcome.logout_url.is_some());
    let (status, body) = visit(&sign_out_uri).await;
    assert_eq!(status, 200);
    assert!(body.contains("Signed out"), "{body}");

    // Signed out again, the page waits for a visitor that never comes; the next sign-in on
    // the same (only) port must not find it taken.
    session.sign_in(SignInOptions::default()).await.unwrap();
    session.sign_out(SignOutScope::Everywhere).await.unwrap();
    session
        .sign_in(SignInOptions::default())
        .await
        .expect("the sign-out page gave its port back");
}
