//! The full flow against the development provider over real HTTP (memory vault; the keychain
//! variant is in keychain/).

use std::sync::Arc;
use std::time::Duration;

use devidp::{Rotation, DEMO_USERNAME};
use latchkey_core::SignOutScope;
use latchkey_core::{
    ApiRequest, CheckName, Entry, ErrorKind, OffsetClock, Session, SessionOptions, SessionState,
    SignInOptions, TokenChoice, TokenKind, Vault,
};
use latchkey_testkit::devidp;
use latchkey_testkit::*;
use url::Url;

async fn full_flow(rotation: bool, cognito: bool) {
    let tweak = |c: &mut devidp::DevIdpConfig| {
        if rotation {
            c.client.rotation = Some(Rotation {
                grace_period: Duration::from_secs(0),
            });
        }
    };
    let (idp, profile) = if cognito {
        start_cognito(tweak)
    } else {
        let i = start_idp(tweak);
        let p = oidc_profile(&i);
        (i, p)
    };
    let vault = Vault::memory();
    let session = signed_in(profile.clone(), vault.clone()).await;
    let SessionState::SignedIn { user, .. } = session.state() else {
        panic!("not signed in: {:?}", session.state())
    };
    assert!(user.username.as_deref().or(user.email.as_deref()).is_some());
    assert_eq!(idp.stats().token_authorization_code, 1);
    let info = session.refresh_token_info().expect("refresh token kept");
    assert!(info.length > 0);

    // Restore in a new session sharing the store.
    let clock = Arc::new(OffsetClock::new(0));
    let restored = Session::new(
        profile.clone(),
        SessionOptions {
            vault: vault.clone(),
            browser: Some(Arc::new(HttpBrowser::default())),
            clock: clock.clone(),
            ..SessionOptions::memory()
        },
    )
    .unwrap();
    let st = restored.restore().await.unwrap();
    assert!(matches!(st, SessionState::SignedIn { .. }), "{st:?}");
    let before = restored.tokens().await.unwrap();
    assert_eq!(idp.stats().token_refresh_token, 0, "no refresh needed yet");

    // Near expiry → one refresh.
    clock.set_offset(3600 - 120);
    let after = restored.tokens().await.unwrap();
    assert_eq!(idp.stats().token_refresh_token, 1);
    assert_ne!(before.id_token.expose(), after.id_token.expose());
    if rotation {
        // the old refresh token is dead at the provider (grace 0), the new one works
        let old_session = session; // holds the pre-rotation refresh token in memory
        clock.set_offset(0);
        let _ = old_session;
    }
    clock.set_offset(0);

    // API call with the ID token.
    let resp = restored
        .call(ApiRequest {
            token: Some(TokenChoice::Id),
            ..ApiRequest::get(Url::parse(&format!("{}/demo-api/me", idp.base_url())).unwrap())
        })
        .await
        .unwrap();
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(resp.text().contains(DEMO_USERNAME) || resp.text().contains("demo"));

    // Sign-out revokes; the revoked refresh token then fails at the provider.
    let out = restored.sign_out(SignOutScope::Everywhere).await.unwrap();
    assert!(out.revoked, "{:?}", out.warnings);
    assert!(out.logout_url.is_some());
    assert_eq!(idp.stats().revocations, 1);
    assert!(matches!(restored.state(), SessionState::SignedOut { .. }));
    assert_eq!(
        restored.tokens().await.unwrap_err().kind(),
        ErrorKind::NotSignedIn
    );
    // the stored session is gone
    let again = Session::new(
        profile.clone(),
        SessionOptions {
            vault: vault.clone(),
            ..SessionOptions::memory()
        },
    )
    .unwrap();
    assert!(matches!(
        again.restore().await.unwrap(),
        SessionState::SignedOut { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn full_flow_cognito_without_rotation() {
    full_flow(false, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn full_flow_cognito_with_rotation() {
    full_flow(true, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn full_flow_oidc_discovery_any_port() {
    full_flow(false, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revoked_refresh_token_fails_at_provider_and_signs_out_cleanly() {
    let (idp, profile) = start_cognito(|_| {});
    let vault = Vault::memory();
    let a = signed_in(profile.clone(), vault.clone()).await;
    // A second device holds a copy of the session, then A signs out (revokes).
    let copy = Vault::memory();
    let account = profile.keychain_account();
    let stored = latchkey_core::internals::load_session(&vault, &account)
        .unwrap()
        .unwrap();
    latchkey_core::internals::store_session(&copy, &account, &stored).unwrap();
    let clock = Arc::new(OffsetClock::new(0));
    let b = Session::new(
        profile.clone(),
        SessionOptions {
            vault: copy,
            clock: clock.clone(),
            ..SessionOptions::memory()
        },
    )
    .unwrap();
    b.restore().await.unwrap();
    a.sign_out(SignOutScope::ThisDevice).await.unwrap();
    assert_eq!(idp.stats().revocations, 1);
    clock.set_offset(3600 - 60);
    let err = b.tokens().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SessionExpired, "{err}");
    assert!(matches!(
        b.state(),
        SessionState::SignedOut { reason: Some(_) }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_call_refuses_unlisted_origin_unless_allowed() {
    let idp = start_idp(|_| {});
    let mut profile = oidc_profile(&idp);
    profile.api_base_urls = vec![Url::parse("https://api.example.com").unwrap()];
    let s = signed_in(profile, Vault::memory()).await;
    let url = Url::parse(&format!("{}/demo-api/me", idp.base_url())).unwrap();
    let err = s.call(ApiRequest::get(url.clone())).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OriginNotAllowed);
    let ok = s
        .call(ApiRequest {
            allow_any_origin: true,
            ..ApiRequest::get(url)
        })
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn timeout_and_cancel_release_the_port_with_distinct_errors() {
    let idp = start_idp(|_| {});
    let profile = oidc_profile(&idp);
    let (browser, mut rx) = ManualBrowser::new();
    let s = Session::new(profile.clone(), memory_options(browser.clone())).unwrap();
    let err = s
        .sign_in(SignInOptions {
            timeout: Some(Duration::from_millis(300)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    let url = rx.recv().await.unwrap();
    let port = Url::parse(&q(&url, "redirect_uri").unwrap())
        .unwrap()
        .port()
        .unwrap();
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port closed after timeout"
    );

    let s2 = s.clone();
    let task = tokio::spawn(async move { s2.sign_in(SignInOptions::default()).await });
    let url = rx.recv().await.unwrap();
    s.cancel_sign_in();
    let err = task.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    let port = Url::parse(&q(&url, "redirect_uri").unwrap())
        .unwrap()
        .port()
        .unwrap();
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port closed after cancel"
    );
    assert!(matches!(
        s.state(),
        SessionState::Error {
            kind: ErrorKind::Cancelled,
            ..
        }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn state_channel_reports_signing_in_then_signed_in() {
    let idp = start_idp(|_| {});
    let s = Session::new(
        oidc_profile(&idp),
        memory_options(Arc::new(HttpBrowser::default())),
    )
    .unwrap();
    let mut rx = s.subscribe();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let watcher = tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let name = rx.borrow().name();
            seen2.lock().unwrap().push(name);
            if name == "signed_in" {
                break;
            }
        }
    });
    s.sign_in(SignInOptions::default()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), watcher)
        .await
        .unwrap()
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert!(seen.contains(&"signing_in"), "{seen:?}");
    assert_eq!(seen.last(), Some(&"signed_in"));
    let json = serde_json::to_value(s.state()).unwrap();
    assert_eq!(json["state"], "signed_in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn inspect_current_shows_checks_and_human_times() {
    let (idp, profile) = start_cognito(|_| {});
    let s = signed_in(profile, Vault::memory()).await;
    let i = s.inspect_current(TokenChoice::Id).await.unwrap();
    assert_eq!(i.kind, TokenKind::Id);
    assert!(i.checks.iter().all(|c| c.passed), "{:?}", i.checks);
    assert!(i.checks.iter().any(|c| c.name == CheckName::Signature));
    let exp = i.claims.iter().find(|c| c.name == "exp").unwrap();
    assert!(exp.human.as_deref().unwrap().contains("UTC"));
    let a = s.inspect_current(TokenChoice::Access).await.unwrap();
    assert!(a
        .checks
        .iter()
        .any(|c| c.name == CheckName::TokenUse && c.passed));
    let _ = idp;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_call_refreshes_once_and_retries_after_401() {
    let idp = start_idp(|_| {});
    let s = signed_in(oidc_profile(&idp), Vault::memory()).await;
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let port = server.server_addr().to_ip().unwrap().port();
    let seen = std::thread::spawn(move || {
        let mut auths = Vec::new();
        for status in [401, 200] {
            let req = server.recv().unwrap();
            auths.push(
                req.headers()
                    .iter()
                    .find(|h| h.field.equiv("Authorization"))
                    .map(|h| h.value.to_string())
                    .unwrap_or_default(),
            );
            req.respond(tiny_http::Response::from_string("x").with_status_code(status))
                .unwrap();
        }
        auths
    });
    let url = Url::parse(&format!("http://127.0.0.1:{port}/api")).unwrap();
    let r = s
        .call(ApiRequest {
            allow_any_origin: true,
            ..ApiRequest::get(url)
        })
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(r.retried_after_refresh);
    let auths = seen.join().unwrap();
    assert_ne!(auths[0], auths[1], "the retry carries the refreshed token");
    assert_eq!(idp.stats().token_refresh_token, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_error_during_refresh_keeps_the_session_and_is_not_repeated() {
    let (idp, profile) = start_cognito(|_| {});
    let s = signed_in(profile, Vault::memory()).await;
    idp.set_fault(devidp::Fault::TokenServerError);
    let err = s.force_refresh().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ProviderUnreachable, "{err}");
    // The request reached the provider: repeating the same refresh token could look like
    // reuse to a provider with rotation and revoke the whole session.
    assert_eq!(idp.stats().token_refresh_token, 1, "one attempt");
    assert!(
        matches!(s.state(), SessionState::SignedIn { .. }),
        "session kept"
    );
    idp.clear_faults();
    s.force_refresh()
        .await
        .expect("refresh works once the provider recovers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_token_response_is_a_clear_provider_error() {
    let idp = start_idp(|_| {});
    idp.set_fault(devidp::Fault::TokenMalformedJson);
    let s = Session::new(
        oidc_profile(&idp),
        memory_options(Arc::new(HttpBrowser::default())),
    )
    .unwrap();
    let err = s.sign_in(SignInOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ProviderError, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_out_succeeds_locally_when_the_provider_is_unreachable() {
    let (idp, profile) = start_cognito(|_| {});
    let vault = Vault::memory();
    let s = signed_in(profile.clone(), vault.clone()).await;
    drop(idp); // provider gone
    let out = s.sign_out(SignOutScope::Everywhere).await.unwrap();
    assert!(!out.revoked);
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("could not reach the provider")),
        "{:?}",
        out.warnings
    );
    assert!(matches!(s.state(), SessionState::SignedOut { .. }));
    assert!(
        latchkey_core::internals::load_session(&vault, &profile.keychain_account())
            .unwrap()
            .is_none(),
        "local entry deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_in_without_refresh_token_works_until_expiry_then_asks_to_sign_in() {
    let (idp, profile) = start_cognito(|_| {});
    idp.set_fault(devidp::Fault::TokenMissingRefreshToken);
    let vault = Vault::memory();
    let _first = signed_in(profile.clone(), vault.clone()).await;
    let clock = Arc::new(OffsetClock::new(0));
    let s = Session::new(
        profile,
        SessionOptions {
            vault,
            clock: clock.clone(),
            ..SessionOptions::memory()
        },
    )
    .unwrap();
    s.restore().await.unwrap();
    assert!(s.refresh_token_info().is_none());
    s.tokens().await.unwrap();
    clock.set_offset(3600 - 60);
    assert_eq!(
        s.tokens().await.unwrap_err().kind(),
        ErrorKind::SessionExpired
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cognito_sign_out_url_uses_client_id_and_logout_uri() {
    let (idp, profile) = start_cognito(|_| {});
    let s = signed_in(profile.clone(), Vault::memory()).await;
    let out = s.sign_out(SignOutScope::Everywhere).await.unwrap();
    let url = out.logout_url.unwrap().expose().clone();
    assert_eq!(url.path(), "/logout");
    assert_eq!(
        q(&url, "client_id").as_deref(),
        Some(idp.client_id().as_str())
    );
    assert_eq!(
        q(&url, "logout_uri"),
        profile.sign_out_uri.as_ref().map(|u| u.to_string())
    );
    // the provider accepts it
    let r = http().get(url).send().await.unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn oidc_sign_out_url_is_end_session_with_id_token_hint() {
    let idp = start_idp(|_| {});
    let s = signed_in(oidc_profile(&idp), Vault::memory()).await;
    let id = s.tokens().await.unwrap().id_token;
    let out = s.sign_out(SignOutScope::Everywhere).await.unwrap();
    let logout = out.logout_url.clone().unwrap();
    let url = logout.expose().clone();
    assert_eq!(q(&url, "id_token_hint").as_deref(), Some(id.expose()));
    // shown anywhere else, the URL has no ID token
    assert!(q(&logout.redacted(), "id_token_hint").is_none());
    assert!(!logout.to_string().contains(id.expose()));
    assert!(!serde_json::to_string(&out).unwrap().contains(id.expose()));
    let local_only = signed_in(oidc_profile(&idp), Vault::memory())
        .await
        .sign_out(SignOutScope::ThisDevice)
        .await
        .unwrap();
    assert!(local_only.logout_url.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn signup_opens_the_cognito_signup_page() {
    let (_idp, profile) = start_cognito(|_| {});
    let (browser, mut rx) = ManualBrowser::new();
    let s = Session::new(profile, memory_options(browser)).unwrap();
    let s2 = s.clone();
    let task = tokio::spawn(async move {
        s2.sign_in(SignInOptions {
            entry: Entry::SignUp,
            ..Default::default()
        })
        .await
    });
    let url = rx.recv().await.unwrap();
    assert_eq!(url.path(), "/signup");
    assert_eq!(q(&url, "code_challenge_method").as_deref(), Some("S256"));
    s.cancel_sign_in();
    assert_eq!(
        task.await.unwrap().unwrap_err().kind(),
        ErrorKind::Cancelled
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn second_concurrent_sign_in_is_refused_as_busy_and_port_override_is_used() {
    let idp = start_idp(|_| {});
    let (browser, mut rx) = ManualBrowser::new();
    let s = Session::new(oidc_profile(&idp), memory_options(browser)).unwrap();
    let port = free_port();
    let s2 = s.clone();
    let task = tokio::spawn(async move {
        s2.sign_in(SignInOptions {
            port: Some(port),
            ..Default::default()
        })
        .await
    });
    let url = rx.recv().await.unwrap();
    assert_eq!(
        Url::parse(&q(&url, "redirect_uri").unwrap())
            .unwrap()
            .port(),
        Some(port)
    );
    let err = s.sign_in(SignInOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    let cb = login_to_callback(&url, devidp::DEMO_USERNAME, devidp::DEMO_PASSWORD).await;
    visit(&cb).await;
    task.await.unwrap().unwrap();
}

/// A pasted callback address (`latchkey login --paste`) goes through the listener's checks:
/// a wrong `state` or another address is refused and the sign-in keeps waiting; the right one
/// is redeemed with this sign-in's verifier; nothing is accepted once it finished.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pasted_callback_is_checked_like_the_listener_then_redeemed() {
    let (idp, profile) = start_cognito(|_| {});
    let (browser, _opened) = ManualBrowser::new();
    let s = Session::new(profile, memory_options(browser)).unwrap();
    assert_eq!(
        s.submit_callback("http://localhost:1/callback?code=c&state=s")
            .unwrap_err()
            .kind(),
        ErrorKind::Cancelled,
        "no sign-in waits"
    );
    let mut states = s.subscribe();
    let signing_in = {
        let s = s.clone();
        tokio::spawn(async move {
            s.sign_in(SignInOptions {
                no_browser: true,
                ..SignInOptions::default()
            })
            .await
        })
    };
    let authorize = loop {
        states.changed().await.unwrap();
        if let SessionState::SigningIn { authorize_url, .. } = states.borrow().clone() {
            break authorize_url;
        }
    };
    let callback = login_to_callback(&authorize, DEMO_USERNAME, devidp::DEMO_PASSWORD).await;

    let forged = with_param(&callback, "state", Some("forged"));
    let e = s.submit_callback(forged.as_str()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Verification);
    assert_eq!(e.failed_check(), Some(CheckName::State));
    assert!(!e.message().contains(&q(&callback, "code").unwrap()));
    let mut elsewhere = callback.clone();
    elsewhere.set_path("/elsewhere");
    let e = s.submit_callback(elsewhere.as_str()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Verification);
    assert_eq!(e.failed_check(), None);
    let e = s.submit_callback("not a url").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Verification);
    assert_eq!(
        idp.stats().token_authorization_code,
        0,
        "nothing redeemed yet"
    );

    s.submit_callback(&format!(" {callback}\n")).unwrap();
    signing_in
        .await
        .unwrap()
        .expect("signed in with the pasted code");
    assert!(matches!(s.state(), SessionState::SignedIn { .. }));
    assert_eq!(idp.stats().token_authorization_code, 1);
    assert_eq!(
        s.submit_callback(callback.as_str()).unwrap_err().kind(),
        ErrorKind::Cancelled,
        "the finished sign-in takes no second callback"
    );
}
