//! Sessions for tests: memory or given vaults, signed in through [`HttpBrowser`], or with the
//! sign-in driven by hand.

use std::sync::Arc;
use std::time::Duration;

use latchkey_core::{Browser, Profile, Session, SessionOptions, SignInOptions, UserSummary, Vault};
use url::Url;

use crate::http::{HttpBrowser, ManualBrowser};

/// A pending `Session::sign_in` running on its own task.
pub type SignInTask = tokio::task::JoinHandle<latchkey_core::Result<UserSummary>>;

/// A memory vault and `browser`.
pub fn memory_options(browser: Arc<dyn Browser>) -> SessionOptions {
    options_with(Vault::memory(), browser)
}

/// `vault` and `browser`, everything else as default.
pub fn options_with(vault: Vault, browser: Arc<dyn Browser>) -> SessionOptions {
    SessionOptions {
        vault,
        browser: Some(browser),
        ..SessionOptions::memory()
    }
}

/// A session for `profile` on `vault`, signed in as the demo user.
pub async fn signed_in(profile: Profile, vault: Vault) -> Session {
    let s = Session::new(
        profile,
        options_with(vault, Arc::new(HttpBrowser::default())),
    )
    .expect("a session");
    s.sign_in(SignInOptions::default())
        .await
        .expect("sign-in succeeds");
    s
}

/// A session whose sign-in the test drives by hand: the running sign-in and the URL it opened.
pub async fn manual_sign_in(profile: Profile) -> (Session, SignInTask, Url) {
    let (browser, mut rx) = ManualBrowser::new();
    let s = Session::new(profile, memory_options(browser)).expect("a session");
    let s2 = s.clone();
    let task = tokio::spawn(async move { s2.sign_in(SignInOptions::default()).await });
    let url = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("the browser was opened")
        .expect("a URL");
    (s, task, url)
}
