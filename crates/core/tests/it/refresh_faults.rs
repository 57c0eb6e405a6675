//! Issue 22: a provider that misbehaves after a good sign-in. A refresh without an ID token is
//! scheduled on the access token's own lifetime, also across restarts (the real keychain); a
//! refresh answer Latchkey refuses ends the session after exactly one request, naming the
//! check; refresh answers go through the sign-in's checks plus `auth_time` continuity;
//! `invalid_grant` deletes both keychain items; a failed revocation still signs out.
//!
//! The keychain tests need a Secret Service (`/work/bin/sandbox-run`, or `cargo xtask test`);
//! `LATCHKEY_SKIP_KEYCHAIN_TESTS=1` skips them knowingly.

use std::sync::Arc;
use std::time::Duration;

use devidp::{DevIdp, Fault, Oversized, Rotation};
use latchkey_core::internals::{load_aws_credentials, load_session};
use latchkey_core::SignOutScope;
use latchkey_core::{
    CheckName, Clock, Error, ErrorKind, NoBrowser, OffsetClock, Profile, Session, SessionOptions,
    SessionState, SignInOptions, Vault,
};
use latchkey_testkit::devidp;
use latchkey_testkit::*;

/// A session on `vault` whose clock the test moves (with the provider's), as a fresh process
/// would open it: nothing in memory yet.
fn session_on(profile: &Profile, vault: &Vault, clock: &Arc<OffsetClock>) -> Session {
    Session::new(
        profile.clone(),
        SessionOptions {
            clock: clock.clone(),
            ..options_with(vault.clone(), Arc::new(HttpBrowser::default()))
        },
    )
    .unwrap()
}

/// Both clocks, Latchkey's and the provider's, moved on from `from` to `to` seconds after the
/// start.
fn move_clocks(idp: &DevIdp, clock: &OffsetClock, from: u64, to: u64) {
    idp.advance_clock(Duration::from_secs(to - from));
    clock.set_offset(to as i64);
}

// ---------------- 1. the refresh schedule follows what was renewed ----------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_without_an_id_token_is_scheduled_on_the_access_tokens_lifetime_across_restarts()
{
    let Some(vault) = keychain_vault("storm") else {
        return;
    };
    // Five-minute access tokens without `iat` (like opaque ones), an hour-long ID token that
    // refreshes never renew.
    let (idp, profile) = start_cognito(|c| c.client.access_token_ttl = Duration::from_secs(300));
    idp.set_fault(Fault::AccessTokenWithoutIat);
    idp.set_fault(Fault::RefreshWithoutIdToken);
    let clock = Arc::new(OffsetClock::new(0));
    session_on(&profile, &vault, &clock)
        .sign_in(SignInOptions::default())
        .await
        .unwrap();
    // Ten minutes of `latchkey token` once a minute, each call a new process on the keychain.
    for minute in 1..=10 {
        move_clocks(&idp, &clock, (minute - 1) * 60, minute * 60);
        let s = session_on(&profile, &vault, &clock);
        s.restore().await.unwrap();
        let tokens = s.tokens().await.unwrap();
        assert!(
            tokens.access_expires_at.timestamp() > clock.now(),
            "minute {minute}"
        );
    }
    // Each access token is refreshed after half its five minutes: at minutes 3, 6 and 9.
    assert_eq!(idp.stats().token_refresh_token, 3, "no refresh storm");
}

// ---------------- 2. a refused refresh answer ends the attempt ----------------

/// What a refused answer is reported as: the check that failed, or (for an answer that is not
/// a token response at all) the error kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Check(CheckName),
    Kind(ErrorKind),
}

fn refusal_of(e: &Error) -> Refusal {
    match e.failed_check() {
        Some(check) => Refusal::Check(check),
        None => Refusal::Kind(e.kind()),
    }
}

/// An ID token over Latchkey's 32 KiB limit, in a response under the 128 KiB one.
const OVERSIZED_ID_TOKEN: Fault = Fault::Oversized(Oversized::IdToken, 40 * 1024);

/// A provider with rotation (the refresh token is spent by the request), a session signed in
/// on `vault`, and the provider misbehaving with `fault` from then on.
async fn signed_in_then(fault: Fault, vault: &Vault) -> (DevIdp, Profile) {
    let (idp, profile) = start_cognito(|c| {
        c.client.rotation = Some(Rotation {
            grace_period: Duration::ZERO,
        })
    });
    signed_in(profile.clone(), vault.clone()).await;
    idp.set_fault(fault);
    (idp, profile)
}

/// The refresh is refused as `expected`, with exactly one request; the session is signed out
/// and gone from the vault, the refresh token revoked; later calls send nothing.
async fn refused_once(fault: Fault, expected: Refusal) {
    let vault = Vault::memory();
    let (idp, profile) = signed_in_then(fault.clone(), &vault).await;
    // As `latchkey token` does: the stored session, then tokens() (forced due here).
    let s = Session::new(
        profile.clone(),
        options_with(vault.clone(), Arc::new(NoBrowser)),
    )
    .unwrap();
    s.restore_stored().await.unwrap();
    let err = s.force_refresh().await.unwrap_err();
    assert_eq!(refusal_of(&err), expected, "{fault}: {err}");
    assert!(
        matches!(s.state(), SessionState::SignedOut { .. }),
        "{fault}: signed out, got {:?}",
        s.state()
    );
    assert_eq!(s.tokens().await.unwrap_err().kind(), ErrorKind::NotSignedIn);
    let next = Session::new(
        profile.clone(),
        options_with(vault.clone(), Arc::new(NoBrowser)),
    )
    .unwrap();
    assert!(matches!(
        next.restore().await.unwrap(),
        SessionState::SignedOut { .. }
    ));
    assert!(load_session(&vault, &profile.keychain_account())
        .unwrap()
        .is_none());
    let stats = idp.stats();
    assert_eq!(stats.token_refresh_token, 1, "{fault}: one refresh request");
    assert!(
        stats.revocations >= 1,
        "{fault}: the refresh token was revoked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_answer_with_a_bad_signature_ends_the_session_after_one_request() {
    refused_once(
        Fault::IdTokenBadSignature,
        Refusal::Check(CheckName::Signature),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_answer_with_alg_none_ends_the_session_after_one_request() {
    refused_once(Fault::IdTokenAlgNone, Refusal::Check(CheckName::Alg)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_answer_with_an_expired_id_token_ends_the_session_after_one_request() {
    refused_once(Fault::IdTokenExpired, Refusal::Check(CheckName::Exp)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_answer_with_an_oversized_id_token_ends_the_session_after_one_request() {
    refused_once(OVERSIZED_ID_TOKEN, Refusal::Check(CheckName::Size)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_answer_with_a_negative_expires_in_ends_the_session_after_one_request() {
    refused_once(
        Fault::TokenExpiresIn(-3600),
        Refusal::Kind(ErrorKind::ProviderError),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_answer_that_is_not_json_ends_the_session_after_one_request() {
    refused_once(
        Fault::TokenMalformedJson,
        Refusal::Kind(ErrorKind::ProviderError),
    )
    .await;
}

/// `restore()` (the app's start-up, the CLI before this issue) refreshes a due session once:
/// a refused answer ends it there, and the `tokens()` that follows sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restore_then_tokens_sends_one_refresh_request_when_the_answer_is_refused() {
    let vault = Vault::memory();
    let (idp, profile) = signed_in_then(Fault::IdTokenBadSignature, &vault).await;
    let clock = Arc::new(OffsetClock::new(0));
    move_clocks(&idp, &clock, 0, 3600 - 60);
    let s = session_on(&profile, &vault, &clock);
    assert!(matches!(
        s.restore().await.unwrap(),
        SessionState::SignedOut { .. }
    ));
    assert_eq!(s.tokens().await.unwrap_err().kind(), ErrorKind::NotSignedIn);
    assert_eq!(idp.stats().token_refresh_token, 1);
}

// ---------------- 3. the same checks as a sign-in, and what refresh adds ----------------

/// Each fault of the provider's answer refused by the same check at sign-in and at refresh;
/// where the refreshed ID token names another identity (`iss`, `sub`, `aud`), the
/// continuity check answers first (OIDC Core 12.2).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_answer_goes_through_the_checks_of_a_sign_in_answer() {
    use CheckName::*;
    let (idp, profile) = start_cognito(|_| {});
    let cases = [
        (Fault::IdTokenBadSignature, Signature, Signature),
        (Fault::IdTokenAlgNone, Alg, Alg),
        (Fault::IdTokenHs256, Alg, Alg),
        (Fault::IdTokenUnadvertisedAlg, Alg, Alg),
        (Fault::IdTokenUnknownKid, Kid, Kid),
        (Fault::IdTokenTypAtJwt, Typ, Typ),
        (Fault::IdTokenWrongIssuer, Iss, SameIdentity),
        (Fault::IdTokenWrongAudience, Aud, SameIdentity),
        (Fault::IdTokenExtraAudience, Azp, SameIdentity),
        (Fault::IdTokenMissingSub, Sub, SameIdentity),
        (Fault::IdTokenExpired, Exp, Exp),
        (Fault::IdTokenMissingExp, Exp, Exp),
        (Fault::IdTokenExpString, Exp, Exp),
        (Fault::IdTokenIatInFuture, Iat, Iat),
        (Fault::IdTokenIatWeekOld, Iat, Iat),
        (Fault::IdTokenMissingIat, Iat, Iat),
        (Fault::IdTokenWrongAtHash, AtHash, AtHash),
        (Fault::IdTokenTokenUseAccess, TokenUse, TokenUse),
        (OVERSIZED_ID_TOKEN, Size, Size),
    ];
    for (fault, at_sign_in, at_refresh) in cases {
        idp.set_fault(fault.clone());
        let s = Session::new(
            profile.clone(),
            memory_options(Arc::new(HttpBrowser::default())),
        )
        .unwrap();
        let err = s.sign_in(SignInOptions::default()).await.unwrap_err();
        assert_eq!(
            err.failed_check(),
            Some(at_sign_in),
            "{fault} at sign-in: {err}"
        );
        idp.clear_faults();
        let s = signed_in(profile.clone(), Vault::memory()).await;
        idp.set_fault(fault.clone());
        let err = s.force_refresh().await.unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::Verification,
            "{fault} at refresh: {err}"
        );
        assert_eq!(
            err.failed_check(),
            Some(at_refresh),
            "{fault} at refresh: {err}"
        );
        assert!(
            matches!(s.state(), SessionState::SignedOut { .. }),
            "{fault}"
        );
        idp.clear_faults();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refreshed_id_token_with_another_auth_time_is_refused_and_ends_the_session() {
    let (idp, profile) = start_cognito(|_| {});
    let vault = Vault::memory();
    // The fault leaves the sign-in alone: only refreshed ID tokens claim a new authentication.
    idp.set_fault(Fault::RefreshDifferentAuthTime);
    let s = signed_in(profile.clone(), vault.clone()).await;
    let err = s.force_refresh().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
    assert_eq!(err.failed_check(), Some(CheckName::AuthTime), "{err}");
    assert!(matches!(s.state(), SessionState::SignedOut { .. }));
    assert!(load_session(&vault, &profile.keychain_account())
        .unwrap()
        .is_none());
    assert_eq!(idp.stats().token_refresh_token, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refreshed_id_token_with_the_original_auth_time_is_accepted_after_a_restart() {
    let Some(vault) = keychain_vault("auth-time") else {
        return;
    };
    let (idp, profile) = start_cognito(|_| {});
    signed_in(profile.clone(), vault.clone()).await;
    // A new process: the original `auth_time` comes from the keychain.
    let s = Session::new(
        profile.clone(),
        options_with(vault.clone(), Arc::new(NoBrowser)),
    )
    .unwrap();
    s.restore_stored().await.unwrap();
    s.force_refresh().await.unwrap();
    s.force_refresh().await.unwrap();
    assert_eq!(idp.stats().token_refresh_token, 2);
}

/// The provider revoked the session elsewhere: the next refresh gets `invalid_grant`, and both
/// keychain items (the session and its `:aws` credentials) are deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invalid_grant_on_refresh_deletes_the_session_and_its_aws_credentials_from_the_keychain() {
    let Some(vault) = keychain_vault("invalid-grant") else {
        return;
    };
    let (idp, profile) = start_cognito(|_| {});
    let profile = with_identity_pool(&idp, profile, None);
    let s = signed_in(profile.clone(), vault.clone()).await;
    s.aws_credentials().await.expect("AWS credentials");
    assert!(load_aws_credentials(&vault, &profile).unwrap().is_some());
    let stored = load_session(&vault, &profile.keychain_account())
        .unwrap()
        .unwrap();
    revoke_at_provider(&idp, stored.refresh_token.unwrap().expose()).await;
    let err = s.force_refresh().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SessionExpired, "{err}");
    assert!(matches!(s.state(), SessionState::SignedOut { .. }));
    assert!(load_session(&vault, &profile.keychain_account())
        .unwrap()
        .is_none());
    assert!(load_aws_credentials(&vault, &profile).unwrap().is_none());
    assert_eq!(idp.stats().token_refresh_token, 1);
}

/// Another device signing out: the provider's revocation endpoint, called directly.
async fn revoke_at_provider(idp: &DevIdp, refresh_token: &str) {
    let r = http()
        .post(format!("{}/oauth2/revoke", idp.base_url()))
        .form(&[("token", refresh_token), ("client_id", &idp.client_id())])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "revoked: {}", r.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_that_fails_at_sign_out_still_deletes_the_session_and_says_so() {
    let (idp, profile) = start_cognito(|_| {});
    let vault = Vault::memory();
    let s = signed_in(profile.clone(), vault.clone()).await;
    idp.set_fault(Fault::RevokeServerError);
    let out = s.sign_out(SignOutScope::ThisDevice).await.unwrap();
    assert!(!out.revoked);
    assert!(out.revocation_error.is_some(), "{out:?}");
    assert_eq!(idp.stats().revocations, 1);
    assert!(matches!(s.state(), SessionState::SignedOut { .. }));
    assert!(load_session(&vault, &profile.keychain_account())
        .unwrap()
        .is_none());
    // A sign-out with nothing to revoke is no revocation failure.
    let again = s.sign_out(SignOutScope::ThisDevice).await.unwrap();
    assert_eq!((again.revoked, again.revocation_error), (false, None));
}
