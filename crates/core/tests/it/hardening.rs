//! Issue 12's hardening, each defect with the test that catches it: size bounds on everything
//! read from a provider, malformed and absurd claims, ambiguous keys, token types, the
//! listener's limits, refreshes that fail while the tokens are still valid, sign-out racing a
//! refresh, and `Debug` that never shows a token.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use devidp::Fault;
use latchkey_core::internals::{
    load_session, verify_sign_in_id_token, CallbackExpectations, LoopbackListener, Provider,
    DISCOVERY_LIMIT, JWKS_LIMIT, MAX_CONNECTIONS, READ_TIMEOUT, TOKEN_RESPONSE_LIMIT,
    USERINFO_LIMIT,
};
use latchkey_core::SignOutScope;
use latchkey_core::{
    ApiRequest, CheckName, ErrorKind, OffsetClock, Session, SessionOptions, SessionState,
    SignInOptions, Vault,
};
use latchkey_testkit::devidp;
use latchkey_testkit::*;
use serde_json::json;
use url::Url;

fn kib(n: usize) -> String {
    format!("{} KiB", n / 1024)
}

// ---------------- what a provider sends is bounded ----------------

/// A provider whose `path_suffix` answers carry `bytes` of padding.
fn padded(
    path_suffix: &'static str,
    bytes: usize,
) -> (devidp::DevIdp, Proxy, latchkey_core::Profile) {
    proxied_idp(json_rewrite(path_suffix, move |v| {
        v["padding"] = json!("x".repeat(bytes));
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_oversized_id_token_is_refused_by_its_size() {
    let forger = Forger::new("ec-1");
    let (_idp, _proxy, profile) = forging_idp(&[forger.jwk()], true);
    let mut claims = good_claims(&profile);
    claims["padding"] = json!("x".repeat(200 * 1024));
    let token = forger.sign(json!({"alg": "ES256", "kid": "ec-1"}), claims);
    let err = verdict(&profile, &token).await.unwrap_err();
    assert_eq!(err.failed_check(), Some(CheckName::Size), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn oversized_jwks_discovery_and_token_responses_are_refused_naming_the_limit() {
    for (suffix, limit) in [
        ("jwks.json", JWKS_LIMIT),
        ("openid-configuration", DISCOVERY_LIMIT),
        ("/oauth2/token", TOKEN_RESPONSE_LIMIT),
    ] {
        let (idp, _proxy, profile) = padded(suffix, limit + 1);
        let vault = Vault::memory();
        let s = Session::new(
            profile.clone(),
            options_with(vault.clone(), Arc::new(HttpBrowser::default())),
        )
        .unwrap();
        let err = s.sign_in(SignInOptions::default()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ProviderError, "{suffix}: {err}");
        assert!(
            err.message().contains(&kib(limit)),
            "{suffix}: the limit is named: {err}"
        );
        assert!(load_session(&vault, &profile.keychain_account())
            .unwrap()
            .is_none());
        if suffix == "openid-configuration" {
            assert_eq!(
                idp.stats().authorize,
                0,
                "no sign-in started on a refused discovery"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_oversized_userinfo_response_is_refused_naming_the_limit() {
    let (_idp, _proxy, profile) = padded("/oauth2/userInfo", USERINFO_LIMIT + 1);
    let s = signed_in(profile, Vault::memory()).await;
    let err = s.userinfo().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ProviderError, "{err}");
    assert!(err.message().contains(&kib(USERINFO_LIMIT)), "{err}");
}

// ---------------- claims: malformed is not missing; absurd numbers are refused ----------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_malformed_claim_is_reported_as_malformed_not_missing() {
    let forger = Forger::new("ec-1");
    let (_idp, _proxy, profile) = forging_idp(&[forger.jwk()], true);
    for (claim, value, check) in [
        ("exp", json!("1900000000"), CheckName::Exp),
        ("aud", json!(42), CheckName::Aud),
        ("iat", json!({"when": "now"}), CheckName::Iat),
        ("exp", json!(i64::MAX), CheckName::Exp),
    ] {
        let mut claims = good_claims(&profile);
        claims[claim] = value.clone();
        let token = forger.sign(json!({"alg": "ES256", "kid": "ec-1"}), claims);
        let err = verdict(&profile, &token).await.unwrap_err();
        assert_eq!(err.failed_check(), Some(check), "{claim} = {value}: {err}");
        assert!(
            err.message().contains("malformed"),
            "{claim} = {value}: {err}"
        );
        assert!(!err.message().contains(&format!("no `{claim}`")), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_absurd_expires_in_is_refused_not_wrapped_around() {
    for bad in [json!(-3600), json!(0), json!(i64::MAX)] {
        let (_idp, _proxy, profile) = proxied_idp(json_rewrite("/oauth2/token", move |v| {
            v["expires_in"] = bad.clone();
        }));
        let s = Session::new(profile, memory_options(Arc::new(HttpBrowser::default()))).unwrap();
        let err = s.sign_in(SignInOptions::default()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ProviderError, "{err}");
    }
}

// ---------------- keys and token types ----------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_different_keys_under_one_kid_are_refused_as_ambiguous() {
    let signer = Forger::new("shared");
    let other = Forger::new("shared");
    let (_idp, _proxy, profile) = forging_idp(&[other.jwk(), signer.jwk()], true);
    let token = signer.sign(
        json!({"alg": "ES256", "kid": "shared"}),
        good_claims(&profile),
    );
    let err = verdict(&profile, &token).await.unwrap_err();
    assert_eq!(err.failed_check(), Some(CheckName::Kid), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_access_token_type_is_not_accepted_as_an_id_token() {
    let forger = Forger::new("ec-1");
    let (_idp, _proxy, profile) = forging_idp(&[forger.jwk()], true);
    for typ in ["at+jwt", "application/at+jwt"] {
        let token = forger.sign(
            json!({"alg": "ES256", "kid": "ec-1", "typ": typ}),
            good_claims(&profile),
        );
        let err = verdict(&profile, &token).await.unwrap_err();
        assert_eq!(err.failed_check(), Some(CheckName::Typ), "{typ}: {err}");
    }
    for typ in ["JWT", "jwt"] {
        let token = forger.sign(
            json!({"alg": "ES256", "kid": "ec-1", "typ": typ}),
            good_claims(&profile),
        );
        verdict(&profile, &token)
            .await
            .unwrap_or_else(|e| panic!("{typ}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_at_hash_that_does_not_match_the_access_token_is_refused() {
    let forger = Forger::new("ec-1");
    let (_idp, _proxy, profile) = forging_idp(&[forger.jwk()], true);
    let mut claims = good_claims(&profile);
    claims["at_hash"] = json!("bm90LXRoZS1oYXNo");
    let token = forger.sign(json!({"alg": "ES256", "kid": "ec-1"}), claims);
    let provider = Provider::load(&profile, http()).await.unwrap();
    let now = chrono::Utc::now().timestamp();
    let err = verify_sign_in_id_token(
        &provider,
        &profile,
        &token,
        now,
        None,
        Some("the-access-token"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.failed_check(), Some(CheckName::AtHash), "{err}");
}

// ---------------- calls ----------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn allowing_any_origin_never_sends_a_token_over_plain_http_to_a_remote_host() {
    let idp = start_idp(|_| {});
    let s = signed_in(oidc_profile(&idp), Vault::memory()).await;
    let mut req = ApiRequest::get(Url::parse("http://api.example.invalid/me").unwrap());
    req.allow_any_origin = true;
    let err = s.call(req).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OriginNotAllowed, "{err}");
}

// ---------------- refresh ----------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_refresh_hands_out_the_still_valid_tokens_with_a_warning() {
    let (idp, profile) = start_cognito(|_| {});
    let clock = Arc::new(OffsetClock::new(0));
    let s = Session::new(
        profile,
        SessionOptions {
            browser: Some(Arc::new(HttpBrowser::default())),
            clock: clock.clone(),
            ..SessionOptions::memory()
        },
    )
    .unwrap();
    s.sign_in(SignInOptions::default()).await.unwrap();
    // Two minutes left: due for a refresh, still valid. The provider fails.
    clock.set_offset(3600 - 120);
    idp.set_fault(Fault::TokenServerError);
    let tokens = s
        .tokens()
        .await
        .expect("the valid tokens, despite the failed refresh");
    assert!(tokens.warning.is_some());
    assert_eq!(idp.stats().token_refresh_token, 1);
    // Once they have expired there is nothing to hand out.
    clock.set_offset(3600 + 120);
    assert_eq!(
        s.tokens().await.unwrap_err().kind(),
        ErrorKind::ProviderUnreachable
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_request_that_never_reached_the_provider_is_repeated() {
    // The token endpoint's port is closed for the first attempt and open for the second.
    let (idp, mut profile) = start_cognito(|_| {});
    let (listener, base) = Proxy::bind();
    let port = listener.local_addr().unwrap().port();
    if let latchkey_core::ProfileKind::Cognito { domain, .. } = &mut profile.kind {
        *domain = Url::parse(&base).unwrap();
    }
    let vault = Vault::memory();
    let direct = {
        // sign in through a proxy on that port, then close it and wait until it is closed
        let proxy = Proxy::start(
            listener,
            base.clone(),
            vec![("/".into(), idp.base_url())],
            Arc::new(|_: &str, st, b| (st, b)),
        );
        signed_in(profile.clone(), vault.clone()).await;
        drop(proxy);
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        idp.stats().token_refresh_token
    };
    // A new session (no pooled connection to the old proxy) restores the saved session.
    let s = Session::new(
        profile,
        options_with(vault, Arc::new(HttpBrowser::default())),
    )
    .unwrap();
    s.restore().await.unwrap();
    let refreshing = {
        let s = s.clone();
        tokio::spawn(async move { s.force_refresh().await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let _proxy = Proxy::start(
        listener,
        base,
        vec![("/".into(), idp.base_url())],
        Arc::new(|_: &str, st, b| (st, b)),
    );
    refreshing
        .await
        .unwrap()
        .expect("the repeated request succeeds");
    assert_eq!(
        idp.stats().token_refresh_token,
        direct + 1,
        "one request reached the provider"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn signing_out_during_a_refresh_waits_for_it_and_leaves_no_session_behind() {
    // No revocation endpoint: nothing at the provider ends the refreshed tokens, so only the
    // client's own order of events keeps a finished refresh from re-installing the session.
    let (idp, _proxy, profile) = proxied_idp(json_rewrite("openid-configuration", |v| {
        v.as_object_mut().unwrap().remove("revocation_endpoint");
    }));
    let vault = Vault::memory();
    let s = signed_in(profile.clone(), vault.clone()).await;
    idp.set_fault(Fault::TokenSlow(Duration::from_millis(1500)));
    let mut states = s.subscribe();
    let refreshing = {
        let s = s.clone();
        tokio::spawn(async move { s.force_refresh().await })
    };
    while !matches!(*states.borrow_and_update(), SessionState::Refreshing { .. }) {
        states.changed().await.unwrap();
    }
    let out = s.sign_out(SignOutScope::ThisDevice).await.unwrap();
    assert!(!out.revoked);
    let _ = refreshing.await.unwrap();
    assert!(
        matches!(s.state(), SessionState::SignedOut { .. }),
        "{:?}",
        s.state()
    );
    assert_eq!(s.tokens().await.unwrap_err().kind(), ErrorKind::NotSignedIn);
    assert!(load_session(&vault, &profile.keychain_account())
        .unwrap()
        .is_none());
    assert_eq!(idp.stats().token_refresh_token, 1);
}

// ---------------- the loopback listener's limits ----------------

async fn serving_listener() -> (latchkey_core::internals::Callbacks, u16) {
    let l = LoopbackListener::bind("127.0.0.1", "/cb", &[])
        .await
        .unwrap();
    let port = l.port();
    let callbacks = l
        .serve(CallbackExpectations {
            state: "s".repeat(32),
            issuer: "https://op.example".into(),
            iss_required: false,
            bounce: None,
        })
        .unwrap();
    (callbacks, port)
}

/// The status of the first response line, if one came before the connection closed.
fn status_of(conn: &mut TcpStream) -> Option<u16> {
    let mut text = String::new();
    let _ = conn.read_to_string(&mut text);
    text.split(' ').nth(1).and_then(|s| s.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_endless_header_flood_gets_431_and_the_connection_closed() {
    let (_callbacks, port) = serving_listener().await;
    let answered = tokio::task::spawn_blocking(move || {
        let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let _ = conn.write_all(b"GET /cb HTTP/1.1\r\n");
        for _ in 0..20_000 {
            if conn.write_all(b"X-A: b\r\n").is_err() {
                break; // closed on us, as it should be
            }
        }
        status_of(&mut conn)
    })
    .await
    .unwrap();
    assert_eq!(answered, Some(431));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_silent_connection_is_closed_after_the_read_timeout() {
    let (_callbacks, port) = serving_listener().await;
    let closed_after = tokio::task::spawn_blocking(move || {
        let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
        conn.set_read_timeout(Some(READ_TIMEOUT * 3)).unwrap();
        let started = Instant::now();
        let mut buf = [0u8; 16];
        let n = conn.read(&mut buf).unwrap_or(0);
        (n, started.elapsed())
    })
    .await
    .unwrap();
    assert_eq!(closed_after.0, 0, "closed without an answer");
    assert!(
        closed_after.1 < READ_TIMEOUT * 3,
        "closed by the listener, not by our timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_beyond_the_cap_cannot_keep_the_callback_out() {
    let (mut callbacks, port) = serving_listener().await;
    // Four times the cap of connections that never send a request, all held open: at most
    // MAX_CONNECTIONS are served at once, each newer one taking the place of the one that
    // waited longest.
    let idle: Vec<TcpStream> = (0..MAX_CONNECTIONS * 4)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let oldest_closed = tokio::task::spawn_blocking(move || {
        let mut oldest = &idle[0];
        oldest
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let mut buf = [0u8; 16];
        // End of stream or a reset: closed; a read timeout: still open.
        let closed = match oldest.read(&mut buf) {
            Ok(n) => n == 0,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        };
        (closed, idle)
    })
    .await
    .unwrap();
    assert!(oldest_closed.0, "the oldest idle connection was not closed");

    // The browser's callback arrives while the flood still holds its places, and is answered
    // at once (long before the flood's read timeout).
    let cb = Url::parse(&format!(
        "http://127.0.0.1:{port}/cb?code=c&state={}",
        "s".repeat(32)
    ))
    .unwrap();
    let started = std::time::Instant::now();
    assert_eq!(visit(&cb).await.0, 200);
    assert!(started.elapsed() < READ_TIMEOUT, "{:?}", started.elapsed());
    assert!(callbacks.next().await.is_ok());
    drop(oldest_closed.1);
}

// ---------------- Debug never shows a token ----------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn debug_of_every_type_that_holds_a_token_shows_none() {
    let idp = start_idp(|_| {});
    let vault = Vault::memory();
    let profile = oidc_profile(&idp);
    let (browser, mut opened) = ManualBrowser::new();
    let s = Session::new(profile.clone(), options_with(vault.clone(), browser)).unwrap();
    let signing_in = {
        let s = s.clone();
        tokio::spawn(async move { s.sign_in(SignInOptions::default()).await })
    };
    let url = opened.recv().await.unwrap();
    let signing_in_state = format!("{:?}", s.state());
    let cb = login_to_callback(&url, devidp::DEMO_USERNAME, devidp::DEMO_PASSWORD).await;
    visit(&cb).await;
    signing_in.await.unwrap().unwrap();
    let tokens = s.tokens().await.unwrap();
    let stored = load_session(&vault, &profile.keychain_account())
        .unwrap()
        .unwrap();
    let refresh = stored.refresh_token.clone().unwrap();
    let jwt = latchkey_core::internals::decode_jwt(tokens.id_token.expose()).unwrap();
    let out = s.sign_out(SignOutScope::Everywhere).await.unwrap();
    let shown = [
        signing_in_state,
        format!("{tokens:?}"),
        format!("{stored:?}"),
        format!("{jwt:?}"),
        format!("{out:?}"),
        format!("{s:?}"),
        format!("{refresh:?}"),
    ];
    let secrets = [
        q(&url, "state").unwrap(),
        q(&url, "nonce").unwrap(),
        tokens.id_token.expose().to_owned(),
        tokens.access_token.expose().to_owned(),
        refresh.expose().to_owned(),
    ];
    for text in &shown {
        for secret in &secrets {
            let middle = &secret[secret.len() / 2 - 6..secret.len() / 2 + 6];
            assert!(!text.contains(middle), "a secret in: {text}");
        }
    }
}

// ---------------- the black-box cases, end to end through devidp's faults ----------------

/// Sign in to a Cognito-kind devidp with `fault` on: refused by `check`, nothing stored.
async fn refused_by(fault: Fault, check: CheckName) -> latchkey_core::Error {
    let (idp, profile) = start_cognito(|_| {});
    idp.set_fault(fault);
    let vault = Vault::memory();
    let s = Session::new(
        profile.clone(),
        options_with(vault.clone(), Arc::new(HttpBrowser::default())),
    )
    .unwrap();
    let err = s.sign_in(SignInOptions::default()).await.unwrap_err();
    assert_eq!(err.failed_check(), Some(check), "{err}");
    assert!(load_session(&vault, &profile.keychain_account())
        .unwrap()
        .is_none());
    assert_eq!(idp.stats().userinfo, 0, "no further call");
    err
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn black_box_1_an_algorithm_the_provider_does_not_advertise_is_refused() {
    // RS512 with the listed ID key, keys published without `alg`; discovery says RS256.
    refused_by(Fault::IdTokenUnadvertisedAlg, CheckName::Alg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn black_box_2_and_3_a_missing_kid_among_several_keys_and_a_doubled_kid_are_refused() {
    refused_by(Fault::IdTokenNoKidMultiKey, CheckName::Kid).await;
    refused_by(Fault::JwksDuplicateKid, CheckName::Kid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn black_box_4_an_at_jwt_is_not_an_id_token_and_neither_is_token_use_access() {
    refused_by(Fault::IdTokenTypAtJwt, CheckName::Typ).await;
    refused_by(Fault::IdTokenTokenUseAccess, CheckName::TokenUse).await;
    refused_by(Fault::IdTokenWrongAtHash, CheckName::AtHash).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn black_box_5_oversized_tokens_and_answers_are_refused_naming_the_limit() {
    // An ID token over Latchkey's token limit inside a token response under its limit…
    refused_by(
        Fault::Oversized(devidp::Oversized::IdToken, 48 * 1024),
        CheckName::Size,
    )
    .await;
    // …and a 200 KB one, whose response is over the response limit.
    let (idp, profile) = start_cognito(|_| {});
    idp.set_fault(Fault::Oversized(devidp::Oversized::IdToken, 200 * 1024));
    let s = Session::new(profile, memory_options(Arc::new(HttpBrowser::default()))).unwrap();
    let err = s.sign_in(SignInOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ProviderError, "{err}");
    assert!(err.message().contains(&kib(TOKEN_RESPONSE_LIMIT)), "{err}");
    // A JWKS of over 1 MB.
    let (idp, profile) = start_cognito(|_| {});
    idp.set_fault(Fault::Oversized(devidp::Oversized::Jwks, 1024 * 1024 + 1));
    let s = Session::new(profile, memory_options(Arc::new(HttpBrowser::default()))).unwrap();
    let err = s.sign_in(SignInOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ProviderError, "{err}");
    assert!(err.message().contains(&kib(JWKS_LIMIT)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn black_box_6_a_malformed_claim_is_named_malformed() {
    for (fault, check) in [
        (Fault::IdTokenExpString, CheckName::Exp),
        (Fault::IdTokenIatString, CheckName::Iat),
        (Fault::IdTokenAudNumber, CheckName::Aud),
    ] {
        let err = refused_by(fault, check).await;
        assert!(err.message().contains("malformed"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn black_box_7_a_refresh_for_another_user_says_so_and_ends_the_session() {
    let (idp, profile) = start_cognito(|_| {});
    let vault = Vault::memory();
    let s = signed_in(profile.clone(), vault.clone()).await;
    idp.set_fault(Fault::RefreshDifferentSub);
    let err = s.force_refresh().await.unwrap_err();
    assert_eq!(err.failed_check(), Some(CheckName::SameIdentity), "{err}");
    assert_ne!(
        err.kind(),
        ErrorKind::SessionExpired,
        "not reported as an expiry: {err}"
    );
    assert!(matches!(s.state(), SessionState::SignedOut { .. }));
    assert!(load_session(&vault, &profile.keychain_account())
        .unwrap()
        .is_none());
}

// ---------------- refresh without an ID token; the JWKS cache's lifetime ----------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_without_an_id_token_is_not_repeated_and_the_expired_id_token_is_not_sent() {
    let (idp, profile) = start_cognito(|_| {});
    let clock = Arc::new(OffsetClock::new(0));
    let s = Session::new(
        profile,
        SessionOptions {
            browser: Some(Arc::new(HttpBrowser::default())),
            clock: clock.clone(),
            ..SessionOptions::memory()
        },
    )
    .unwrap();
    s.sign_in(SignInOptions::default()).await.unwrap();
    idp.set_fault(Fault::RefreshWithoutIdToken);
    // Both clocks move on to two minutes before expiry.
    clock.set_offset(3600 - 120);
    idp.advance_clock(Duration::from_secs(3600 - 120));
    s.tokens().await.unwrap();
    assert_eq!(idp.stats().token_refresh_token, 1);
    // The access token was renewed for an hour: more calls do not refresh again.
    for _ in 0..5 {
        s.tokens().await.unwrap();
    }
    assert_eq!(idp.stats().token_refresh_token, 1, "no refresh loop");
    // Once the old ID token has expired, it is refused for API calls; the access token is not.
    clock.set_offset(3600 + 60);
    idp.advance_clock(Duration::from_secs(180));
    let err = s.token(latchkey_core::TokenChoice::Id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SessionExpired, "{err}");
    s.token(latchkey_core::TokenChoice::Access).await.unwrap();
    assert_eq!(idp.stats().token_refresh_token, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_jwks_is_fetched_again_when_its_cache_control_max_age_has_passed() {
    let (idp, profile) = start_cognito(|c| c.jwks_max_age = Some(Duration::from_secs(600)));
    let clock = Arc::new(OffsetClock::new(0));
    let s = Session::new(
        profile,
        SessionOptions {
            browser: Some(Arc::new(HttpBrowser::default())),
            clock: clock.clone(),
            ..SessionOptions::memory()
        },
    )
    .unwrap();
    s.sign_in(SignInOptions::default()).await.unwrap();
    s.force_refresh().await.unwrap();
    assert_eq!(idp.stats().jwks, 1, "cached within max-age");
    clock.set_offset(601);
    idp.advance_clock(Duration::from_secs(601));
    s.force_refresh().await.unwrap();
    assert_eq!(idp.stats().jwks, 2, "fetched again after max-age");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_token_endpoints_error_description_reaches_the_message() {
    let (idp, profile) = start_cognito(|_| {});
    let s = signed_in(profile, Vault::memory()).await;
    idp.set_fault(Fault::TokenErrorDescription);
    idp.set_fault(Fault::TokenServerError);
    let err = s.force_refresh().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ProviderUnreachable, "{err}");
    assert!(err.message().contains("the provider says"), "{err}");
}
