//! One test per applicable row of the security catalogue (sections A, B, C), against the
//! development provider's fault switches over real HTTP. The name carries the row id.

use std::sync::Arc;
use std::time::Duration;

use devidp::{DevIdp, Fault, DEMO_PASSWORD, DEMO_USERNAME};
use latchkey_core::internals::{
    build_request, decode_jwt, load_session, store_session, CallbackExpectations, CallbackOutcome,
    LoopbackListener, ProviderMetadata,
};
use latchkey_core::SignOutScope;
use latchkey_core::{
    ApiRequest, Browser, CheckName, Entry, ErrorKind, NoBrowser, OffsetClock, Profile, Session,
    SessionOptions, SessionState, SignInOptions, Vault,
};
use latchkey_testkit::devidp;
use latchkey_testkit::*;
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

/// Sign in with `fault` set: refused by exactly the `check` named.
async fn rejected(fault: Fault, check: CheckName) {
    let (_idp, err) = sign_in_fails_with(fault).await;
    assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
    assert_eq!(err.failed_check(), Some(check), "{err}");
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
    rejected(Fault::IdTokenWrongIssuer, CheckName::Iss).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a3_id_token_missing_sub_rejected() {
    rejected(Fault::IdTokenMissingSub, CheckName::Sub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a4_id_token_wrong_aud_rejected() {
    rejected(Fault::IdTokenWrongAudience, CheckName::Aud).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a5_id_token_missing_iat_rejected() {
    rejected(Fault::IdTokenMissingIat, CheckName::Iat).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a6_kid_absent_single_key_accepted() {
    let (_idp, s) = accepted(Fault::IdTokenNoKidSingleKey).await;
    assert!(matches!(s.state(), SessionState::SignedIn { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a7_kid_absent_with_several_keys_rejected() {
    // OIDC Core 10.1: with several keys in the JWKS the token must say which signed it.
    rejected(Fault::IdTokenNoKidMultiKey, CheckName::Kid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a8_rs256_id_token_accepted() {
    let (_idp, s) = accepted(Fault::ClockOffset(0)).await;
    let t = s.tokens().await.unwrap();
    let jwt = decode_jwt(t.id_token.expose()).unwrap();
    assert_eq!(jwt.alg(), Some("RS256"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a9_alg_none_rejected() {
    rejected(Fault::IdTokenAlgNone, CheckName::Alg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a10_invalid_signature_rejected() {
    rejected(Fault::IdTokenBadSignature, CheckName::Signature).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a11_userinfo_with_different_sub_rejected() {
    let (idp, s) = accepted(Fault::ClockOffset(0)).await;
    idp.set_fault(Fault::UserinfoDifferentSub);
    let err = s.userinfo().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification);
    assert_eq!(err.failed_check(), Some(CheckName::UserinfoSub));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a12_wrong_nonce_rejected() {
    rejected(Fault::IdTokenWrongNonce, CheckName::Nonce).await;
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
    assert!(
        matches!(&err, latchkey_core::ConfigError::Invalid { field, .. } if field == "client_secret"),
        "{err}"
    );
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
    // Discovery points the keys somewhere non-standard; only there (mapped back by the proxy)
    // are they served. A client that hard-codes `<issuer>/.well-known/jwks.json` gets a 404
    // there and cannot verify; one that follows discovery signs in.
    let moved = "/keys-moved/jwks.json";
    let map: PathMap = Arc::new(move |path: &str| {
        if path == moved {
            format!("/{}/.well-known/jwks.json", devidp::DEFAULT_USER_POOL_ID)
        } else if path.ends_with("/.well-known/jwks.json") {
            "/nowhere".into()
        } else {
            path.to_owned()
        }
    });
    let (_idp, proxy, profile) = proxied_idp_mapped(
        map,
        json_rewrite("openid-configuration", move |v| {
            let base = v["issuer"]
                .as_str()
                .unwrap()
                .rsplit_once('/')
                .unwrap()
                .0
                .to_owned();
            v["jwks_uri"] = serde_json::Value::String(format!("{base}{moved}"));
        }),
    );
    let s = Session::new(profile, memory_options(Arc::new(HttpBrowser::default()))).unwrap();
    s.sign_in(SignInOptions::default())
        .await
        .expect("signs in with the keys from the discovered jwks_uri");
    let paths: Vec<String> = proxy
        .exchanges
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.0.clone())
        .collect();
    assert!(paths.iter().any(|p| p == moved), "{paths:?}");
    assert!(
        !paths.iter().any(|p| p.ends_with("/.well-known/jwks.json")),
        "{paths:?}"
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
    assert_eq!(err.failed_check(), Some(CheckName::Iss), "{err}");
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
    rejected(Fault::IdTokenMissingAudience, CheckName::Aud).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a21_hs256_rejected_outright() {
    rejected(Fault::IdTokenHs256, CheckName::Alg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a22_invalid_es256_signature_rejected() {
    // A real EC key in the JWKS and ES256 advertised: only the signature can refuse it.
    let forger = Forger::new("ec-1");
    let (_idp, _proxy, profile) = forging_idp(&[forger.jwk()], true);
    let good = forger.sign(
        serde_json::json!({"alg": "ES256", "kid": "ec-1"}),
        good_claims(&profile),
    );
    verdict(&profile, &good)
        .await
        .expect("the unaltered token verifies");
    let (head, _) = good.rsplit_once('.').unwrap();
    let other = forger.sign(
        serde_json::json!({"alg": "ES256", "kid": "ec-1"}),
        serde_json::json!({}),
    );
    let tampered = format!("{head}.{}", other.rsplit_once('.').unwrap().1);
    let err = verdict(&profile, &tampered).await.unwrap_err();
    assert_eq!(err.failed_check(), Some(CheckName::Signature), "{err}");
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

/// A refreshed ID token for another identity ends the session: refresh tokens revoked, the
/// saved session deleted, signed out with a reason.
async fn refresh_rejected(fault: Fault) {
    let (idp, profile) = start_cognito(|_| {});
    let vault = Vault::memory();
    let s = signed_in(profile.clone(), vault.clone()).await;
    idp.set_fault(fault);
    let err = s.force_refresh().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
    assert_eq!(err.failed_check(), Some(CheckName::SameIdentity), "{err}");
    assert!(
        matches!(s.state(), SessionState::SignedOut { .. }),
        "{:?}",
        s.state()
    );
    assert_eq!(s.tokens().await.unwrap_err().kind(), ErrorKind::NotSignedIn);
    assert!(load_session(&vault, &profile.keychain_account())
        .unwrap()
        .is_none());
    assert!(
        idp.stats().revocations >= 1,
        "the refresh token was revoked"
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
    assert_eq!(err.failed_check(), Some(CheckName::Iss), "{err}");
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
    assert_eq!(err.failed_check(), Some(CheckName::Iss), "{err}");
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
    rejected(Fault::IdTokenExpired, CheckName::Exp).await;
    rejected(Fault::IdTokenMissingExp, CheckName::Exp).await;
}

/// Opens the authorize URL without its `nonce` (the provider then puts none in the token).
#[derive(Clone, Default)]
struct NonceStripper(HttpBrowser);

impl Browser for NonceStripper {
    fn open(&self, url: &Url) -> latchkey_core::Result<()> {
        self.0.open(&with_param(url, "nonce", None))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a32_missing_nonce_rejected() {
    let (idp, profile) = start_cognito(|_| {});
    let s = Session::new(profile, memory_options(Arc::new(NonceStripper::default()))).unwrap();
    let err = s.sign_in(SignInOptions::default()).await.unwrap_err();
    assert_eq!(err.failed_check(), Some(CheckName::Nonce), "{err}");
    assert_eq!(idp.stats().token_authorization_code, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a33_secondary_audience_without_azp_rejected() {
    rejected(Fault::IdTokenExtraAudience, CheckName::Azp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a34_aud_as_array_accepted() {
    let forger = Forger::new("ec-1");
    let (_idp, _proxy, profile) = forging_idp(&[forger.jwk()], true);
    let mut claims = good_claims(&profile);
    claims["aud"] = serde_json::json!([profile.client_id]);
    let token = forger.sign(serde_json::json!({"alg": "ES256", "kid": "ec-1"}), claims);
    let checks = verdict(&profile, &token)
        .await
        .expect("aud as a one-element array");
    assert!(checks.iter().any(|c| c.name == CheckName::Aud && c.passed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a35_null_and_alternate_alg_rejected() {
    // The alternate algorithm comes with a valid signature by a key in the JWKS: only the rule
    // "the provider advertises it" can refuse it (discovery says RS256 only).
    let forger = Forger::new("ec-1");
    let (_idp, _proxy, profile) = forging_idp(&[forger.jwk()], false);
    let claims = good_claims(&profile);
    let alternate = forger.sign(
        serde_json::json!({"alg": "ES256", "kid": "ec-1"}),
        claims.clone(),
    );
    let err = verdict(&profile, &alternate).await.unwrap_err();
    assert_eq!(err.failed_check(), Some(CheckName::Alg), "{err}");
    for header in [
        serde_json::json!({"alg": null, "kid": "ec-1"}),
        serde_json::json!({"alg": "none"}),
        serde_json::json!({"alg": "HS512", "kid": "ec-1"}),
        serde_json::json!({"alg": "A128KW", "kid": "ec-1"}),
    ] {
        let forged = forger.sign(header.clone(), claims.clone());
        let err = verdict(&profile, &forged).await.unwrap_err();
        assert_eq!(err.failed_check(), Some(CheckName::Alg), "{header}: {err}");
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
    rejected(Fault::IdTokenIatWeekOld, CheckName::Iat).await;
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
        command: latchkey_core::BrowserCommand::new(vec![script.display().to_string()]).unwrap(),
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
        let r = build_request(
            &m,
            &p,
            "http://localhost:53682/callback",
            Entry::SignIn,
            &[],
        )
        .unwrap();
        assert_eq!(q(&r.url, "code_challenge_method").as_deref(), Some("S256"));
        assert!((43..=128).contains(&r.pkce_verifier.secret().len()));
        assert!(verifiers.insert(r.pkce_verifier.secret().clone()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b3_localhost_listener_answers_on_ipv4_and_ipv6() {
    let l = LoopbackListener::bind("localhost", "/callback", &[0])
        .await
        .unwrap();
    let addrs = l.local_addrs();
    assert!(addrs.iter().any(|a| a.is_ipv4()));
    let v6_available = std::net::TcpListener::bind("[::1]:0").is_ok();
    if v6_available {
        assert!(addrs.iter().any(|a| a.is_ipv6()), "{addrs:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b3_sign_in_completes_over_ipv6_when_the_browser_resolves_localhost_to_it() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: this host has no IPv6 loopback");
        return;
    }
    let (idp, profile) = start_cognito(|_| {});
    let (s, task, url) = manual_sign_in(profile).await;
    let cb = login_to_callback(&url, DEMO_USERNAME, DEMO_PASSWORD).await;
    let port = cb.port().unwrap();
    // A browser that resolves `localhost` to ::1 first: same URL and Host, IPv6 connection.
    let v6 = reqwest::Client::builder()
        .resolve(
            "localhost",
            std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port)),
        )
        .build()
        .unwrap();
    assert_eq!(v6.get(cb.clone()).send().await.unwrap().status(), 200);
    task.await.unwrap().unwrap();
    assert!(matches!(s.state(), SessionState::SignedIn { .. }));
    assert_eq!(idp.stats().token_authorization_code, 1);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b4_listener_sockets_are_loopback_addresses() {
    for host in ["127.0.0.1", "localhost"] {
        let l = LoopbackListener::bind(host, "/cb", &[]).await.unwrap();
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
    let r = build_request(&m, &p, "http://localhost:1/cb", Entry::SignIn, &[]).unwrap();
    assert!(r.state.secret().len() >= 22, "at least 128 bits");
    assert!(r.nonce.expose().len() >= 22);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b6_mix_up_through_a_shared_redirect_uri_is_caught_by_iss() {
    // Two providers share one redirect URI. The user signs in with B; B (an attacker) sends
    // the browser on to honest A with B's request. A answers with its code and its RFC 9207
    // `iss`: the client must see the answer is not B's and never hand A's code to B.
    let port = free_port();
    let shared = format!("http://localhost:{port}/callback");
    let (honest, _) = start_cognito(|c| c.client.callback_urls.push(shared.clone()));
    let (attacker, mut profile) = start_cognito(|c| c.client.callback_urls.push(shared.clone()));
    profile.ports = vec![port];
    honest.set_fault(Fault::AuthorizeResponseIss);
    let (s, task, url) = manual_sign_in(profile).await;
    assert_eq!(q(&url, "redirect_uri").as_deref(), Some(shared.as_str()));
    let mut onward = Url::parse(&format!("{}/oauth2/authorize", honest.base_url())).unwrap();
    onward.set_query(url.query());
    let cb = login_to_callback(&onward, DEMO_USERNAME, DEMO_PASSWORD).await;
    assert_eq!(q(&cb, "iss"), Some(honest.issuer()));
    visit(&cb).await;
    let err = task.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
    assert_eq!(
        attacker.stats().token_authorization_code,
        0,
        "the honest provider's code never reached the other token endpoint"
    );
    assert!(!matches!(s.state(), SessionState::SignedIn { .. }));
}

#[test]
fn b7_no_client_secret_in_profiles() {
    let text = "[profiles.c]\nregion='eu-west-1'\nuser_pool_id='eu-west-1_abc'\ndomain='myapp'\nclient_id='x'\nclient_secret='s'\n";
    let err = latchkey_core::Config::parse(text, std::path::Path::new("c.toml")).unwrap_err();
    assert!(
        matches!(&err, latchkey_core::ConfigError::Invalid { field, .. } if field == "client_secret"),
        "{err}"
    );
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
    let account = profile.keychain_account();
    let s = signed_in(profile.clone(), vault.clone()).await;
    // Another device holds the same refresh token (a copy of the saved session) and signs
    // out: the token is revoked at the provider, this vault is untouched.
    let elsewhere = Vault::memory();
    let copy = load_session(&vault, &account).unwrap().unwrap();
    store_session(&elsewhere, &account, &copy).unwrap();
    let other = Session::new(
        profile.clone(),
        options_with(elsewhere, Arc::new(NoBrowser)),
    )
    .unwrap();
    other.restore().await.unwrap();
    assert!(
        other
            .sign_out(SignOutScope::ThisDevice)
            .await
            .unwrap()
            .revoked
    );
    assert!(load_session(&vault, &account).unwrap().is_some());
    let err = s.force_refresh().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SessionExpired);
    assert!(matches!(s.state(), SessionState::SignedOut { .. }));
    assert!(s.refresh_token_info().is_none());
    assert!(
        load_session(&vault, &account).unwrap().is_none(),
        "the dead session is wiped from the keychain"
    );
    assert_eq!(idp.stats().token_refresh_token, 1);
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
async fn c4_valid_callback_after_the_first_gets_409_until_the_port_closes() {
    let state = "s".repeat(32);
    let l = LoopbackListener::bind("127.0.0.1", "/cb", &[])
        .await
        .unwrap();
    let port = l.port();
    let mut callbacks = l
        .serve(CallbackExpectations {
            state: state.clone(),
            issuer: "https://op.example".into(),
            iss_required: false,
            bounce: None,
        })
        .unwrap();
    let cb = Url::parse(&format!(
        "http://127.0.0.1:{port}/cb?code=first&state={state}"
    ))
    .unwrap();
    assert_eq!(visit(&cb).await.0, 200);
    assert!(matches!(
        callbacks.next().await.unwrap(),
        CallbackOutcome::Code(_)
    ));
    let again = with_param(&cb, "code", Some("second"));
    assert_eq!(visit(&again).await.0, 409, "already completed");
    callbacks.close().await;
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "released on close"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c5_taken_port_skipped_and_all_taken_is_a_clear_error() {
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = blocker.local_addr().unwrap().port();
    let free = free_port();
    let l = LoopbackListener::bind("127.0.0.1", "/callback", &[taken, free])
        .await
        .unwrap();
    assert_eq!(l.port(), free);
    drop(l);
    let err = LoopbackListener::bind("127.0.0.1", "/callback", &[taken])
        .await
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
    let l = LoopbackListener::bind("127.0.0.1", "/callback", &[])
        .await
        .unwrap();
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
    let mut rx = s.subscribe();
    let s3 = s.clone();
    let waiting = tokio::spawn(async move {
        s3.sign_in(SignInOptions {
            timeout: Some(Duration::from_millis(500)),
            ..Default::default()
        })
        .await
    });
    let port = loop {
        rx.changed().await.unwrap();
        if let SessionState::SigningIn { redirect_uri, .. } = rx.borrow().clone() {
            break Url::parse(&redirect_uri).unwrap().port().unwrap();
        }
    };
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", port)).is_err(),
        "held while waiting"
    );
    assert_eq!(
        waiting.await.unwrap().unwrap_err().kind(),
        ErrorKind::Timeout
    );
    // Released when sign_in returns on Linux; Wine's socket close goes through wineserver
    // and can lag under load, so allow it a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the timeout did not release the port"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
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
        let r = build_request(&m, &p, "http://localhost:1/cb", Entry::SignIn, &[]).unwrap();
        assert_ne!(r.state.secret(), r.pkce_verifier.secret());
        assert_ne!(r.nonce.expose(), r.pkce_verifier.secret());
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
    assert_eq!(err.failed_check(), Some(CheckName::Iat), "{err}");
    rejected(Fault::IdTokenIatInFuture, CheckName::Iat).await;
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
    assert_eq!(err.failed_check(), Some(CheckName::Kid), "{err}");
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
        c.client.rotation = Some(devidp::Rotation {
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
