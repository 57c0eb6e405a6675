//! One test per applicable row of the security catalogue (sections A, B, C), against the
//! development provider's fault switches over real HTTP. The name carries the row id.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use latchkey_core::provider::{Provider, ProviderMetadata};
use latchkey_core::verify::{self, IdTokenExpectations};
use latchkey_core::{
    ApiRequest, Browser, ErrorKind, OffsetClock, Profile, Session, SessionOptions, SessionState,
    SignInOptions, Vault,
};
use latchkey_devidp::{DevIdp, Fault, DEMO_PASSWORD, DEMO_USERNAME};
use url::Url;

/// Sign in with `fault` set; returns the error (the sign-in must fail).
async fn sign_in_fails_with(fault: Fault) -> (DevIdp, latchkey_core::Error) {
    let (idp, profile) = start_cognito(|_| {});
    idp.set_fault(fault);
    let vault = Vault::memory();
    let s = Session::new(
        profile.clone(),
        options_with(vault.clone(), Arc::new(HttpBrowser::default())),
    )
    .unwrap();
    let err = s
        .sign_in(SignInOptions::default())
        .await
        .expect_err("sign-in must fail");
    assert!(
        matches!(s.state(), SessionState::Error { .. }),
        "{:?}",
        s.state()
    );
    assert_eq!(s.tokens().await.unwrap_err().kind(), ErrorKind::NotSignedIn);
    // nothing stored, no further call (userinfo) made
    let again = Session::new(
        profile,
        SessionOptions {
            vault,
            ..SessionOptions::memory()
        },
    )
    .unwrap();
    assert!(matches!(
        again.restore().await.unwrap(),
        SessionState::SignedOut { .. }
    ));
    assert_eq!(idp.stats().userinfo, 0);
    (idp, err)
}

async fn rejected(fault: Fault, needle: &str) {
    let (_idp, err) = sign_in_fails_with(fault).await;
    assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
    assert!(err.to_string().contains(needle), "`{needle}` not in: {err}");
}

async fn accepted(fault: Fault) -> (DevIdp, Session) {
    let (idp, profile) = start_cognito(|_| {});
    idp.set_fault(fault);
    let s = signed_in(profile, Vault::memory()).await;
    (idp, s)
}

// ---------------- A: OIDF conformance RP cases ----------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a1_code_flow_with_openid_scope_then_userinfo_with_bearer_header() {
    let idp = start_idp(|_| {});
    let browser = HttpBrowser::default();
    let s = Session::new(
        oidc_profile(&idp),
        memory_options(Arc::new(browser.clone())),
    )
    .unwrap();
    s.sign_in(SignInOptions::default()).await.unwrap();
    let url = browser.opened.lock().unwrap()[0].clone();
    assert_eq!(q(&url, "response_type").as_deref(), Some("code"));
    assert!(q(&url, "scope").unwrap().split(' ').any(|x| x == "openid"));
    assert_eq!(idp.stats().token_authorization_code, 1);
    let info = s.userinfo().await.unwrap();
    assert!(info["sub"].is_string());
    assert_eq!(idp.stats().userinfo, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a2_id_token_issuer_mismatch_rejected() {
    rejected(Fault::IdTokenWrongIssuer, "iss").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a3_id_token_missing_sub_rejected() {
    rejected(Fault::IdTokenMissingSub, "sub").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a4_id_token_wrong_aud_rejected() {
    rejected(Fault::IdTokenWrongAudience, "aud").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a5_id_token_missing_iat_rejected() {
    rejected(Fault::IdTokenMissingIat, "iat").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a6_kid_absent_single_key_accepted() {
    let (_idp, s) = accepted(Fault::IdTokenNoKidSingleKey).await;
    assert!(matches!(s.state(), SessionState::SignedIn { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a7_kid_absent_multiple_keys_tries_each_key() {
    let (_idp, s) = accepted(Fault::IdTokenNoKidMultiKey).await;
    assert!(matches!(s.state(), SessionState::SignedIn { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a8_rs256_id_token_accepted() {
    let (_idp, s) = accepted(Fault::ClockOffset(0)).await;
    let t = s.tokens().await.unwrap();
    let jwt = verify::decode_jwt(t.id_token.expose()).unwrap();
    assert_eq!(jwt.alg(), Some("RS256"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a9_alg_none_rejected() {
    rejected(Fault::IdTokenAlgNone, "alg").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a10_invalid_signature_rejected() {
    rejected(Fault::IdTokenBadSignature, "signature").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a11_userinfo_with_different_sub_rejected() {
    let (idp, s) = accepted(Fault::ClockOffset(0)).await;
    idp.set_fault(Fault::UserinfoDifferentSub);
    let err = s.userinfo().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification);
    assert!(err.to_string().contains("sub"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a12_wrong_nonce_rejected() {
    rejected(Fault::IdTokenWrongNonce, "nonce").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a13_profile_and_email_claims_requested_through_scopes() {
    let idp = start_idp(|_| {});
    let browser = HttpBrowser::default();
    let s = Session::new(
        oidc_profile(&idp),
        memory_options(Arc::new(browser.clone())),
    )
    .unwrap();
    s.sign_in(SignInOptions::default()).await.unwrap();
    let scope = q(&browser.opened.lock().unwrap()[0], "scope").unwrap();
    for want in ["openid", "email", "profile"] {
        assert!(scope.split(' ').any(|x| x == want), "{scope}");
    }
    let info = s.userinfo().await.unwrap();
    assert!(info["email"].is_string(), "{info}");
}

#[test]
fn a14_client_secret_is_refused_for_a_public_client() {
    let text = "[profiles.p]\nkind='oidc'\nissuer='https://id.example.com'\nclient_id='x'\nclient_secret='s'\n";
    let err = latchkey_core::Config::parse(text, std::path::Path::new("c.toml")).unwrap_err();
    assert!(err.to_string().contains("client_secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a15_discovery_document_is_used() {
    let idp = start_idp(|_| {});
    let s = signed_in(oidc_profile(&idp), Vault::memory()).await;
    assert!(idp.stats().discovery >= 1);
    let p = s.provider().await.unwrap();
    assert_eq!(p.metadata.issuer, idp.issuer());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a16_jwks_uri_comes_from_discovery() {
    let jwks_path = "/keys-moved/jwks.json";
    let (idp, _proxy, profile) = proxied_idp(Arc::new(move |path: &str, status, body: Vec<u8>| {
        if path.ends_with("openid-configuration") {
            let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            // point jwks_uri somewhere non-standard; the proxy maps it back
            let orig = v["jwks_uri"].as_str().unwrap().to_owned();
            let base = orig.split("/us-east-1").next().unwrap().to_owned();
            v["jwks_uri"] = serde_json::Value::String(format!("{base}{jwks_path}"));
            return (status, serde_json::to_vec(&v).unwrap());
        }
        (status, body)
    }));
    // The proxy forwards /keys-moved/jwks.json to the devidp, which 404s: so a client that
    // hard-codes the standard path would succeed and one that uses discovery fails the same
    // way as a broken JWKS would. Assert the client used the discovered URI.
    let s = Session::new(profile, memory_options(Arc::new(HttpBrowser::default()))).unwrap();
    let _ = s.sign_in(SignInOptions::default()).await;
    let p = s.provider().await.unwrap();
    assert!(
        p.metadata.jwks_uri.path().ends_with(jwks_path),
        "{}",
        p.metadata.jwks_uri
    );
    assert_eq!(
        idp.stats().jwks,
        0,
        "the hard-coded JWKS path was never fetched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a17_discovery_issuer_mismatch_rejected() {
    let idp = start_idp(|_| {});
    idp.set_fault(Fault::DiscoveryIssuerMismatch);
    let s = Session::new(
        oidc_profile(&idp),
        memory_options(Arc::new(HttpBrowser::default())),
    )
    .unwrap();
    let err = s.sign_in(SignInOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification);
    assert!(err.to_string().contains("issuer"));
    assert_eq!(
        idp.stats().authorize,
        0,
        "no authorization request was made"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a18_signing_key_rotation_between_logins_refetches_jwks() {
    let (idp, profile) = start_cognito(|_| {});
    let s = signed_in(profile, Vault::memory()).await;
    let jwks_before = idp.stats().jwks;
    idp.rotate_keys();
    s.sign_in(SignInOptions::default())
        .await
        .expect("second login with rotated keys");
    assert_eq!(idp.stats().jwks, jwks_before + 1, "exactly one re-fetch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a19_rotation_just_before_signing_refetches_jwks() {
    let (idp, profile) = start_cognito(|_| {});
    let s = signed_in(profile, Vault::memory()).await;
    idp.rotate_keys();
    s.force_refresh()
        .await
        .expect("refresh signed with the new key verifies");
    assert!(matches!(s.state(), SessionState::SignedIn { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a20_missing_aud_rejected() {
    rejected(Fault::IdTokenMissingAudience, "aud").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a21_hs256_rejected_outright() {
    rejected(Fault::IdTokenHs256, "HS256").await;
}

/// A provider handle whose JWKS is the devidp's (for offline verification tests).
async fn provider_for(idp: &DevIdp, profile: &Profile) -> Provider {
    let _ = idp;
    Provider::new(ProviderMetadata::cognito(profile).unwrap(), http())
}

fn expectations<'a>(profile: &'a Profile, issuer: &'a str) -> IdTokenExpectations<'a> {
    IdTokenExpectations {
        issuer,
        client_id: &profile.client_id,
        now: chrono::Utc::now().timestamp(),
        leeway: 60,
        max_iat_age: 86400,
        nonce: None,
        access_token: None,
        cognito: true,
        previous: None,
    }
}

fn forge(header: serde_json::Value, real: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = real.split('.').collect();
    format!(
        "{}.{}.{}",
        b64.encode(header.to_string()),
        parts[1],
        b64.encode([7u8; 64])
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a22_invalid_es256_signature_rejected() {
    let (idp, profile) = start_cognito(|_| {});
    let s = signed_in(profile.clone(), Vault::memory()).await;
    let real = s.tokens().await.unwrap().id_token;
    let forged = forge(
        serde_json::json!({"alg": "ES256", "kid": "x"}),
        real.expose(),
    );
    let p = provider_for(&idp, &profile).await;
    let issuer = profile.issuer();
    let err = verify::verify_id_token(&p, &forged, &expectations(&profile, &issuer))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a23_userinfo_token_sent_in_bearer_header() {
    // The devidp answers userinfo only for a Bearer header (never a query parameter).
    let (idp, s) = accepted(Fault::ClockOffset(0)).await;
    s.userinfo().await.unwrap();
    assert_eq!(idp.stats().userinfo, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a24_unparseable_jwks_key_ignored() {
    let (_idp, _proxy, profile) = proxied_idp(json_rewrite("jwks.json", |v| {
        let keys = v["keys"].as_array_mut().unwrap();
        keys.insert(
            0,
            serde_json::json!({"kty": "AKP", "alg": "ML-DSA-44", "kid": "pq", "pub": "AAAA"}),
        );
        keys.insert(
            0,
            serde_json::json!({"kty": "RSA", "kid": "broken", "n": 42}),
        );
    }));
    let s = signed_in(profile, Vault::memory()).await;
    assert!(matches!(s.state(), SessionState::SignedIn { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a25_refresh_then_userinfo_with_new_access_token() {
    let (idp, s) = accepted(Fault::ClockOffset(0)).await;
    let before = s.tokens().await.unwrap();
    let after = s.force_refresh().await.unwrap();
    assert_ne!(before.access_token.expose(), after.access_token.expose());
    s.userinfo().await.unwrap();
    assert_eq!(idp.stats().token_refresh_token, 1);
}

async fn refresh_rejected(fault: Fault) {
    let (idp, s) = accepted(Fault::ClockOffset(0)).await;
    let before = s.tokens().await.unwrap();
    idp.set_fault(fault);
    let err = s.force_refresh().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
    assert!(
        err.to_string().contains("same_identity")
            || err.to_string().contains("iss")
            || err.to_string().contains("aud"),
        "{err}"
    );
    // the old session stays
    assert!(matches!(s.state(), SessionState::SignedIn { .. }));
    assert_eq!(
        s.tokens().await.unwrap().id_token.expose(),
        before.id_token.expose()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a26_refreshed_id_token_with_other_issuer_rejected() {
    refresh_rejected(Fault::RefreshDifferentIssuer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a27_refreshed_id_token_with_other_sub_rejected() {
    refresh_rejected(Fault::RefreshDifferentSub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a28_refreshed_id_token_with_other_aud_rejected() {
    refresh_rejected(Fault::RefreshDifferentAudience).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a29_authorization_response_with_wrong_iss_rejected_before_redeeming() {
    let (idp, err) = sign_in_fails_with(Fault::AuthorizeResponseWrongIss).await;
    assert_eq!(err.kind(), ErrorKind::Verification);
    assert!(err.to_string().contains("iss"));
    assert_eq!(
        idp.stats().token_authorization_code,
        0,
        "the code was not redeemed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a30_missing_iss_rejected_when_metadata_promises_it() {
    let (idp, _proxy, profile) = proxied_idp(json_rewrite("openid-configuration", |v| {
        v["authorization_response_iss_parameter_supported"] = serde_json::Value::Bool(true);
    }));
    // The devidp sends no `iss` unless asked to: the response lacks the promised parameter.
    let s = Session::new(profile, memory_options(Arc::new(HttpBrowser::default()))).unwrap();
    let err = s.sign_in(SignInOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification);
    assert!(err.to_string().contains("iss"));
    assert_eq!(idp.stats().token_authorization_code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a30b_present_correct_iss_accepted() {
    let (idp, profile) = start_cognito(|_| {});
    idp.set_fault(Fault::AuthorizeResponseIss);
    let _s = signed_in(profile, Vault::memory()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a31_invalid_and_missing_state_rejected() {
    let idp = start_idp(|_| {});
    let (s, task, url) = manual_sign_in(oidc_profile(&idp)).await;
    let cb = login_to_callback(&url, DEMO_USERNAME, DEMO_PASSWORD).await;
    let (st, _) = visit(&with_param(&cb, "state", Some("forged"))).await;
    assert_eq!(st, 400);
    let (st, _) = visit(&with_param(&cb, "state", None)).await;
    assert_eq!(st, 400);
    assert_eq!(idp.stats().token_authorization_code, 0);
    let (st, _) = visit(&cb).await;
    assert_eq!(st, 200);
    task.await.unwrap().unwrap();
    assert!(matches!(s.state(), SessionState::SignedIn { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a32_expired_or_missing_exp_rejected() {
    rejected(Fault::IdTokenExpired, "exp").await;
    rejected(Fault::IdTokenMissingExp, "exp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a33_secondary_audience_without_azp_rejected() {
    rejected(Fault::IdTokenExtraAudience, "azp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a34_aud_as_array_accepted() {
    let (_idp, _proxy, profile) = proxied_idp(Arc::new(|_p: &str, s, b| (s, b)));
    // devidp issues aud as a string; the array form is covered offline:
    let claims = serde_json::json!({"iss": "i", "sub": "s", "aud": ["cid"], "exp": 2_000_000_000i64, "iat": 1_999_999_000i64});
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let tok = format!(
        "{}.{}.{}",
        b64.encode(r#"{"alg":"RS256"}"#),
        b64.encode(claims.to_string()),
        b64.encode("x")
    );
    let jwt = verify::decode_jwt(&tok).unwrap();
    let x = IdTokenExpectations {
        issuer: "i",
        client_id: "cid",
        now: 1_999_999_100,
        leeway: 60,
        max_iat_age: 86400,
        nonce: None,
        access_token: None,
        cognito: false,
        previous: None,
    };
    assert!(verify::id_token_claim_checks(&jwt, &x, None, None)
        .iter()
        .all(|c| c.passed));
    let _ = profile;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a35_null_and_alternate_alg_rejected() {
    let (idp, profile) = start_cognito(|_| {});
    let s = signed_in(profile.clone(), Vault::memory()).await;
    let real = s.tokens().await.unwrap().id_token;
    let p = provider_for(&idp, &profile).await;
    let issuer = profile.issuer();
    for header in [
        serde_json::json!({"alg": null}),
        serde_json::json!({"alg": "RS512"}),
        serde_json::json!({"alg": "HS512"}),
        serde_json::json!({"alg": "A128KW"}),
    ] {
        let forged = forge(header.clone(), real.expose());
        let err = verify::verify_id_token(&p, &forged, &expectations(&profile, &issuer)).await;
        assert!(err.is_err(), "{header} accepted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a36_token_type_any_case_and_missing_expires_in_accepted() {
    let (_idp, _proxy, profile) = proxied_idp(json_rewrite("/oauth2/token", |v| {
        if v.get("access_token").is_some() {
            v["token_type"] = serde_json::Value::String("bEARER".into());
            v.as_object_mut().unwrap().remove("expires_in");
            v["unexpected_extra"] = serde_json::json!({"x": 1});
        }
    }));
    let s = signed_in(profile, Vault::memory()).await;
    assert!(matches!(s.state(), SessionState::SignedIn { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a37_iat_a_week_in_the_past_rejected() {
    rejected(Fault::IdTokenIatWeekOld, "iat").await;
}

// ---------------- B: RFC checklist ----------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b1_browser_command_runs_without_shell_with_url_as_one_argument() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("args");
    let script = dir.path().join("browser.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$#\" \"$1\" > {}\n",
            out.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let b = latchkey_core::CommandBrowser {
        argv: vec![script.display().to_string()],
    };
    let url = Url::parse("https://id.example.com/authorize?a=1&b=$(touch%20pwned);x").unwrap();
    b.open(&url).unwrap();
    for _ in 0..100 {
        if out.exists() && std::fs::read_to_string(&out).unwrap().lines().count() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "1", "exactly one argument");
    assert_eq!(lines[1], url.as_str());
    assert!(!dir.path().join("pwned").exists());
    assert!(!std::path::Path::new("pwned").exists());
}

#[test]
fn b2_pkce_s256_always_and_verifier_from_csprng() {
    let p = Profile::cognito(
        "t",
        "eu-west-1",
        "eu-west-1_abc",
        Url::parse("https://x.auth.eu-west-1.amazoncognito.com").unwrap(),
        "cid",
    );
    let m = ProviderMetadata::cognito(&p).unwrap();
    let mut verifiers = std::collections::HashSet::new();
    for _ in 0..20 {
        let r = latchkey_core::authorize::build_request(
            &m,
            &p,
            "http://localhost:53682/callback",
            false,
        )
        .unwrap();
        assert_eq!(q(&r.url, "code_challenge_method").as_deref(), Some("S256"));
        assert!((43..=128).contains(&r.pkce_verifier.secret().len()));
        assert!(verifiers.insert(r.pkce_verifier.secret().clone()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b3_localhost_listener_answers_on_ipv4_and_ipv6() {
    let l =
        latchkey_core::loopback::LoopbackListener::bind("localhost", "/callback", &[0]).unwrap();
    let addrs = l.local_addrs();
    assert!(addrs.iter().any(|a| a.is_ipv4()));
    let v6_available = std::net::TcpListener::bind("[::1]:0").is_ok();
    if v6_available {
        assert!(addrs.iter().any(|a| a.is_ipv6()), "{addrs:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b4_listener_binds_loopback_only_and_closes_after_callback() {
    let idp = start_idp(|_| {});
    let (s, task, url) = manual_sign_in(oidc_profile(&idp)).await;
    let redirect = Url::parse(&q(&url, "redirect_uri").unwrap()).unwrap();
    assert_eq!(redirect.host_str(), Some("127.0.0.1"));
    let port = redirect.port().unwrap();
    let cb = login_to_callback(&url, DEMO_USERNAME, DEMO_PASSWORD).await;
    visit(&cb).await;
    task.await.unwrap().unwrap();
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port closed after the callback"
    );
    let _ = s;
}

#[test]
fn b4_listener_sockets_are_loopback_addresses() {
    for host in ["127.0.0.1", "localhost"] {
        let l = latchkey_core::loopback::LoopbackListener::bind(host, "/cb", &[]).unwrap();
        assert!(
            l.local_addrs().iter().all(|a| a.ip().is_loopback()),
            "{:?}",
            l.local_addrs()
        );
    }
}

#[test]
fn b5_state_has_high_entropy() {
    let p = Profile::cognito(
        "t",
        "eu-west-1",
        "eu-west-1_abc",
        Url::parse("https://x.auth.eu-west-1.amazoncognito.com").unwrap(),
        "cid",
    );
    let m = ProviderMetadata::cognito(&p).unwrap();
    let r =
        latchkey_core::authorize::build_request(&m, &p, "http://localhost:1/cb", false).unwrap();
    assert!(r.state.secret().len() >= 22, "at least 128 bits");
    assert!(r.nonce.secret().len() >= 22);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b6_response_for_another_provider_rejected_on_this_listener() {
    let idp_a = start_idp(|_| {});
    let idp_b = start_idp(|_| {});
    let (sa, task_a, url_a) = manual_sign_in(oidc_profile(&idp_a)).await;
    let (_sb, task_b, url_b) = manual_sign_in(oidc_profile(&idp_b)).await;
    // B's response delivered to A's redirect URI: wrong state → 400, A keeps waiting.
    let cb_b = login_to_callback(&url_b, DEMO_USERNAME, DEMO_PASSWORD).await;
    let redirect_a = Url::parse(&q(&url_a, "redirect_uri").unwrap()).unwrap();
    let mut misrouted = redirect_a.clone();
    misrouted.set_query(cb_b.query());
    assert_eq!(visit(&misrouted).await.0, 400);
    assert_eq!(idp_a.stats().token_authorization_code, 0);
    visit(&cb_b).await;
    task_b.await.unwrap().unwrap();
    let cb_a = login_to_callback(&url_a, DEMO_USERNAME, DEMO_PASSWORD).await;
    visit(&cb_a).await;
    task_a.await.unwrap().unwrap();
    assert!(matches!(sa.state(), SessionState::SignedIn { .. }));
}

#[test]
fn b7_no_client_secret_in_profiles() {
    let text = "[profiles.c]\nregion='eu-west-1'\nuser_pool_id='eu-west-1_abc'\ndomain='myapp'\nclient_id='x'\nclient_secret='s'\n";
    let err = latchkey_core::Config::parse(text, std::path::Path::new("c.toml")).unwrap_err();
    assert!(err.to_string().contains("public client"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b8_every_request_has_state_and_pkce() {
    let idp = start_idp(|_| {});
    let browser = HttpBrowser::default();
    let s = Session::new(
        oidc_profile(&idp),
        memory_options(Arc::new(browser.clone())),
    )
    .unwrap();
    s.sign_in(SignInOptions::default()).await.unwrap();
    s.sign_in(SignInOptions::default()).await.unwrap();
    let opened = browser.opened.lock().unwrap().clone();
    assert_eq!(opened.len(), 2);
    assert_ne!(q(&opened[0], "state"), q(&opened[1], "state"));
    assert_ne!(
        q(&opened[0], "code_challenge"),
        q(&opened[1], "code_challenge")
    );
    for u in &opened {
        assert!(
            q(u, "state").is_some() && q(u, "code_challenge").is_some() && q(u, "nonce").is_some()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b9_iss_compared_by_exact_string() {
    let idp = start_idp(|_| {});
    let (_s, task, url) = manual_sign_in(oidc_profile(&idp)).await;
    let cb = login_to_callback(&url, DEMO_USERNAME, DEMO_PASSWORD).await;
    // a trailing slash is a different issuer (no normalisation)
    let bad = with_param(&cb, "iss", Some(&format!("{}/", idp.issuer())));
    visit(&bad).await;
    let err = task.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification);
    assert_eq!(idp.stats().token_authorization_code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b10_only_the_code_flow_is_used() {
    let idp = start_idp(|_| {});
    let browser = HttpBrowser::default();
    let s = Session::new(
        oidc_profile(&idp),
        memory_options(Arc::new(browser.clone())),
    )
    .unwrap();
    s.sign_in(SignInOptions::default()).await.unwrap();
    assert_eq!(
        q(&browser.opened.lock().unwrap()[0], "response_type").as_deref(),
        Some("code")
    );
    s.force_refresh().await.unwrap();
    let st = idp.stats();
    assert_eq!(st.token_other, 0, "no password or other grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b11_invalid_grant_wipes_token_and_asks_to_sign_in() {
    let (idp, profile) = start_cognito(|_| {});
    let vault = Vault::memory();
    let s = signed_in(profile.clone(), vault.clone()).await;
    let other = Session::new(
        profile.clone(),
        SessionOptions {
            vault: vault.clone(),
            ..SessionOptions::memory()
        },
    )
    .unwrap();
    other.restore().await.unwrap();
    other.sign_out(false).await.unwrap(); // revokes the shared refresh token
    let err = s.force_refresh().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SessionExpired);
    assert!(matches!(s.state(), SessionState::SignedOut { .. }));
    assert!(s.refresh_token_info().is_none());
    let _ = idp;
}

async fn callback_response(cb: &Url) -> reqwest::Response {
    http().get(cb.clone()).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b12_success_page_has_no_referrer_no_external_resources_and_no_code() {
    let idp = start_idp(|_| {});
    let (_s, task, url) = manual_sign_in(oidc_profile(&idp)).await;
    let cb = login_to_callback(&url, DEMO_USERNAME, DEMO_PASSWORD).await;
    let r = callback_response(&cb).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body = r.text().await.unwrap();
    assert!(!body.contains(&q(&cb, "code").unwrap()));
    assert!(!body.contains("http://") && !body.contains("https://") && !body.contains("src="));
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b13_listener_is_never_an_open_redirector() {
    let idp = start_idp(|_| {});
    let (_s, task, url) = manual_sign_in(oidc_profile(&idp)).await;
    let cb = login_to_callback(&url, DEMO_USERNAME, DEMO_PASSWORD).await;
    for evil in [
        with_param(
            &with_param(&cb, "next", Some("https://evil.example/")),
            "state",
            Some("x"),
        ),
        with_param(&cb, "redirect_uri", Some("https://evil.example/")),
    ] {
        let r = callback_response(&evil).await;
        assert!(!r.status().is_redirection());
        assert!(r.headers().get("location").is_none());
    }
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b14_tokens_go_in_the_authorization_header_never_the_query() {
    let idp = start_idp(|_| {});
    let s = signed_in(oidc_profile(&idp), Vault::memory()).await;
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let port = server.server_addr().to_ip().unwrap().port();
    let seen = std::thread::spawn(move || {
        let req = server.recv().unwrap();
        let auth = req
            .headers()
            .iter()
            .find(|h| h.field.equiv("Authorization"))
            .map(|h| h.value.to_string());
        let url = req.url().to_owned();
        req.respond(tiny_http::Response::from_string("ok")).unwrap();
        (auth, url)
    });
    let r = s
        .call(ApiRequest {
            allow_any_origin: true,
            ..ApiRequest::get(Url::parse(&format!("http://127.0.0.1:{port}/x?y=1")).unwrap())
        })
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let (auth, url) = seen.join().unwrap();
    let token = s.tokens().await.unwrap().id_token;
    assert_eq!(
        auth.as_deref(),
        Some(format!("Bearer {}", token.expose()).as_str())
    );
    assert!(!url.contains(token.expose()));
}

// ---------------- C: loopback and flow faults ----------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c1_wrong_or_missing_state_rejected_and_flow_keeps_waiting() {
    let idp = start_idp(|_| {});
    let (s, task, url) = manual_sign_in(oidc_profile(&idp)).await;
    let cb = login_to_callback(&url, DEMO_USERNAME, DEMO_PASSWORD).await;
    assert_eq!(visit(&with_param(&cb, "state", Some("nope"))).await.0, 400);
    assert_eq!(visit(&with_param(&cb, "state", None)).await.0, 400);
    let mut doubled = cb.clone();
    doubled.query_pairs_mut().append_pair("state", "second");
    assert_eq!(visit(&doubled).await.0, 400, "duplicate state parameters");
    assert_eq!(idp.stats().token_authorization_code, 0, "no token exchange");
    assert!(matches!(s.state(), SessionState::SigningIn { .. }));
    assert_eq!(visit(&cb).await.0, 200);
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c2_error_without_state_is_ignored() {
    let idp = start_idp(|_| {});
    let (s, task, url) = manual_sign_in(oidc_profile(&idp)).await;
    let redirect = Url::parse(&q(&url, "redirect_uri").unwrap()).unwrap();
    let mut err_cb = redirect.clone();
    err_cb
        .query_pairs_mut()
        .append_pair("error", "access_denied");
    assert_eq!(visit(&err_cb).await.0, 400);
    let mut err_cb2 = redirect.clone();
    err_cb2
        .query_pairs_mut()
        .append_pair("error", "access_denied")
        .append_pair("state", "forged");
    assert_eq!(visit(&err_cb2).await.0, 400);
    assert!(matches!(s.state(), SessionState::SigningIn { .. }));
    let cb = login_to_callback(&url, DEMO_USERNAME, DEMO_PASSWORD).await;
    assert_eq!(visit(&cb).await.0, 200);
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c2b_error_with_valid_state_ends_the_flow_as_access_denied() {
    let idp = start_idp(|_| {});
    let (_s, task, url) = manual_sign_in(oidc_profile(&idp)).await;
    let redirect = Url::parse(&q(&url, "redirect_uri").unwrap()).unwrap();
    let mut err_cb = redirect.clone();
    err_cb
        .query_pairs_mut()
        .append_pair("error", "access_denied")
        .append_pair("state", &q(&url, "state").unwrap());
    visit(&err_cb).await;
    assert_eq!(
        task.await.unwrap().unwrap_err().kind(),
        ErrorKind::AccessDenied
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c3_other_path_method_or_host_rejected_and_flow_unaffected() {
    let idp = start_idp(|_| {});
    let (_s, task, url) = manual_sign_in(oidc_profile(&idp)).await;
    let cb = login_to_callback(&url, DEMO_USERNAME, DEMO_PASSWORD).await;
    let mut other_path = cb.clone();
    other_path.set_path("/favicon.ico");
    assert_eq!(visit(&other_path).await.0, 404);
    let r = http().post(cb.clone()).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let r = http()
        .get(cb.clone())
        .header("host", format!("evil.example:{}", cb.port().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "DNS-rebinding Host refused");
    // junk bytes and an idle (slowloris) connection do not end the flow
    let port = cb.port().unwrap();
    {
        use std::io::Write;
        let mut junk = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let _ = junk.write_all(b"\x00\x01\x02 garbage\r\n\r\n");
    }
    let _idle = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    assert_eq!(idp.stats().token_authorization_code, 0);
    assert_eq!(visit(&cb).await.0, 200);
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c4_second_callback_after_success_is_ignored() {
    let idp = start_idp(|_| {});
    let (s, task, url) = manual_sign_in(oidc_profile(&idp)).await;
    let cb = login_to_callback(&url, DEMO_USERNAME, DEMO_PASSWORD).await;
    let first = visit(&cb).await;
    assert_eq!(first.0, 200);
    task.await.unwrap().unwrap();
    let second = http().get(cb.clone()).send().await;
    assert!(second.is_err() || second.unwrap().status() != 200);
    assert_eq!(idp.stats().token_authorization_code, 1);
    assert!(matches!(s.state(), SessionState::SignedIn { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c5_taken_port_skipped_and_all_taken_is_a_clear_error() {
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = blocker.local_addr().unwrap().port();
    let free = free_port();
    let l =
        latchkey_core::loopback::LoopbackListener::bind("127.0.0.1", "/callback", &[taken, free])
            .unwrap();
    assert_eq!(l.port(), free);
    drop(l);
    let err = latchkey_core::loopback::LoopbackListener::bind("127.0.0.1", "/callback", &[taken])
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::PortUnavailable);
    assert!(err.to_string().contains(&taken.to_string()), "{err}");
    assert!(err.to_string().contains("in use"));
    #[cfg(target_os = "linux")]
    assert!(
        err.to_string()
            .contains(&format!("pid {}", std::process::id())),
        "names the holder: {err}"
    );
    // ephemeral mode binds once and keeps the same socket (no probe-then-rebind)
    let l = latchkey_core::loopback::LoopbackListener::bind("127.0.0.1", "/callback", &[]).unwrap();
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", l.port())).is_err(),
        "still held"
    );
}

struct FailingBrowser;
impl Browser for FailingBrowser {
    fn open(&self, _url: &Url) -> latchkey_core::Result<()> {
        Err(latchkey_core::Error::new(ErrorKind::Browser, "no browser"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c6_browser_launch_failure_leaves_url_to_open_and_timeout_releases_port() {
    let idp = start_idp(|_| {});
    let s = Session::new(oidc_profile(&idp), memory_options(Arc::new(FailingBrowser))).unwrap();
    let mut rx = s.subscribe();
    let s2 = s.clone();
    let task = tokio::spawn(async move { s2.sign_in(SignInOptions::default()).await });
    let url = loop {
        rx.changed().await.unwrap();
        if let SessionState::SigningIn { authorize_url, .. } = rx.borrow().clone() {
            break authorize_url;
        }
    };
    // the user opens the shown URL by hand
    let cb = login_to_callback(&url, DEMO_USERNAME, DEMO_PASSWORD).await;
    visit(&cb).await;
    task.await.unwrap().unwrap();
    // and with nobody opening it, the timeout releases the port
    let err = s
        .sign_in(SignInOptions {
            timeout: Duration::from_millis(200),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c7_bad_authorization_endpoint_refused() {
    for bad in [
        "javascript:alert(1)",
        "http://evil.example/authorize",
        "https://ok.example/a\n$(reboot)",
        "file:///etc/passwd",
    ] {
        let (_idp, _proxy, profile) = proxied_idp(json_rewrite("openid-configuration", move |v| {
            v["authorization_endpoint"] = serde_json::Value::String(bad.into());
        }));
        let browser = HttpBrowser::default();
        let s = Session::new(profile, memory_options(Arc::new(browser.clone()))).unwrap();
        let err = s.sign_in(SignInOptions::default()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ProviderError, "{bad}: {err}");
        assert!(
            browser.opened.lock().unwrap().is_empty(),
            "{bad} was opened"
        );
    }
}

#[test]
fn c8_state_is_never_the_pkce_verifier() {
    let p = Profile::cognito(
        "t",
        "eu-west-1",
        "eu-west-1_abc",
        Url::parse("https://x.auth.eu-west-1.amazoncognito.com").unwrap(),
        "cid",
    );
    let m = ProviderMetadata::cognito(&p).unwrap();
    for _ in 0..50 {
        let r = latchkey_core::authorize::build_request(&m, &p, "http://localhost:1/cb", false)
            .unwrap();
        assert_ne!(r.state.secret(), r.pkce_verifier.secret());
        assert_ne!(r.nonce.secret(), r.pkce_verifier.secret());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c9a_iss_of_another_issuer_rejected() {
    let idp = start_idp(|_| {});
    let other = start_idp(|_| {});
    let (_s, task, url) = manual_sign_in(oidc_profile(&idp)).await;
    let cb = login_to_callback(&url, DEMO_USERNAME, DEMO_PASSWORD).await;
    visit(&with_param(&cb, "iss", Some(&other.issuer()))).await;
    let err = task.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification);
    assert_eq!(idp.stats().token_authorization_code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c9b_code_from_another_issuer_rejected() {
    let idp = start_idp(|_| {});
    let other = start_idp(|_| {});
    let (_s, task, url) = manual_sign_in(oidc_profile(&idp)).await;
    // a code minted by the other provider for the same redirect URI
    let mut other_url = Url::parse(&format!("{}/oauth2/authorize", other.base_url())).unwrap();
    other_url.set_query(url.query());
    let other_cb = login_to_callback(&other_url, DEMO_USERNAME, DEMO_PASSWORD).await;
    let cb = login_to_callback(&url, DEMO_USERNAME, DEMO_PASSWORD).await;
    visit(&with_param(
        &cb,
        "code",
        Some(&q(&other_cb, "code").unwrap()),
    ))
    .await;
    let err = task.await.unwrap().unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::ProviderError | ErrorKind::SessionExpired
        ),
        "{err}"
    );
    assert_eq!(
        other.stats().token_authorization_code,
        0,
        "never sent to the other provider"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c10_token_endpoint_redirect_not_followed() {
    let (idp, err) = sign_in_fails_with(Fault::TokenRedirect).await;
    assert_eq!(err.kind(), ErrorKind::ProviderError);
    assert!(err.to_string().contains("redirect"), "{err}");
    assert_eq!(
        idp.stats().token_authorization_code,
        1,
        "exactly one token request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c11_clock_skew_within_leeway_accepted_beyond_rejected() {
    let (_idp, s) = accepted(Fault::ClockOffset(30)).await;
    assert!(matches!(s.state(), SessionState::SignedIn { .. }));
    let (_idp, err) = sign_in_fails_with(Fault::ClockOffset(300)).await;
    assert_eq!(err.kind(), ErrorKind::Verification);
    assert!(
        err.to_string().contains("iat") && err.to_string().contains("future"),
        "{err}"
    );
    rejected(Fault::IdTokenIatInFuture, "iat").await;
    // our clock 5 min behind a correct provider: same defined behaviour
    let (_idp2, profile) = start_cognito(|_| {});
    let s = Session::new(
        profile,
        SessionOptions {
            vault: Vault::memory(),
            browser: Some(Arc::new(HttpBrowser::default())),
            clock: Arc::new(OffsetClock::new(-300)),
            ..SessionOptions::memory()
        },
    )
    .unwrap();
    assert_eq!(
        s.sign_in(SignInOptions::default())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Verification
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c12_unknown_kid_refetches_once_rate_limited_then_fails() {
    let (idp, profile) = start_cognito(|_| {});
    idp.set_fault(Fault::IdTokenUnknownKid);
    let s = Session::new(profile, memory_options(Arc::new(HttpBrowser::default()))).unwrap();
    let err = s.sign_in(SignInOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification);
    assert_eq!(idp.stats().jwks, 2, "initial fetch + one re-fetch");
    let err = s.sign_in(SignInOptions::default()).await.unwrap_err();
    assert!(err.to_string().contains("rate-limited"), "{err}");
    assert_eq!(idp.stats().jwks, 2, "no re-fetch inside the penalty window");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c13_refresh_without_new_refresh_token_keeps_the_old_one() {
    let (idp, s) = accepted(Fault::ClockOffset(0)).await;
    let before = s.refresh_token_info().unwrap();
    s.force_refresh().await.unwrap();
    let after = s.refresh_token_info().unwrap();
    assert_eq!(before, after, "same token, same stored-since");
    s.force_refresh().await.unwrap();
    assert_eq!(idp.stats().token_refresh_token, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c13b_rotated_refresh_token_replaces_the_old_one() {
    let (idp, profile) = start_cognito(|c| {
        c.client.rotation = Some(latchkey_devidp::Rotation {
            grace_period: Duration::from_secs(0),
        })
    });
    let s = signed_in(profile, Vault::memory()).await;
    let clock_before = s.refresh_token_info().unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    s.force_refresh().await.unwrap();
    s.force_refresh()
        .await
        .expect("the new refresh token works (the old one is dead at grace 0)");
    assert_eq!(idp.stats().token_refresh_token, 2);
    assert_ne!(
        s.refresh_token_info().unwrap().stored_since,
        clock_before.stored_since
    );
}
