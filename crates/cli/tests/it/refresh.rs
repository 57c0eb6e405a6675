#![cfg(unix)]
//! Issue 22 through the real `latchkey` binary and the real keychain: `latchkey token` after a
//! refresh without an ID token does not refresh again on every call; a refused refresh answer
//! is reported with its check after exactly one request; a failed revocation at `logout`
//! still deletes the session and says so (stderr, and `revocation_error` with `--json`).

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use latchkey_core::{NoBrowser, Session, SessionOptions, Vault};
use latchkey_testkit::devidp::{DevIdp, DevIdpConfig, Fault, Rotation};

/// An environment with a Cognito-kind profile `work` for a provider set up by `tweak`.
fn work_env(tweak: impl FnOnce(&mut DevIdpConfig)) -> (Env, DevIdp) {
    let env = Env::new();
    let (idp, mut profile) = latchkey_testkit::start_cognito(tweak);
    profile.name = "work".into();
    profile.sign_in_timeout = Duration::from_secs(60);
    env.write_profile(&profile);
    (env, idp)
}

#[test]
fn token_calls_after_a_refresh_without_an_id_token_do_not_refresh_on_every_call() {
    // Ten-minute access tokens without `iat`, from a provider whose clock is five minutes
    // behind: the ID token looks five minutes old when the session is read back.
    let (env, idp) = work_env(|c| c.client.access_token_ttl = Duration::from_secs(600));
    idp.set_fault(Fault::ClockOffset(-300));
    idp.set_fault(Fault::AccessTokenWithoutIat);
    idp.set_fault(Fault::RefreshWithoutIdToken);
    env.login();
    // The app (a session on the same keychain) refreshes once; the answer has no ID token.
    let config = latchkey_core::config::Config::load(&env.config_path()).unwrap();
    let profile = config.profile("work").unwrap().clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let app = Session::new(
            profile,
            SessionOptions {
                vault: Vault::system_with_service(&env.service),
                browser: Some(Arc::new(NoBrowser)),
                ..SessionOptions::memory()
            },
        )
        .unwrap();
        app.restore_stored().await.unwrap();
        app.force_refresh().await.unwrap();
    });
    let refreshed_by_the_app = idp.stats().token_refresh_token;
    for _ in 0..5 {
        let run = env.run(&["token", "--access"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    assert_eq!(
        idp.stats().token_refresh_token - refreshed_by_the_app,
        0,
        "the renewed access token has most of its ten minutes left: no refresh"
    );
}

#[test]
fn a_refused_refresh_answer_is_reported_with_its_check_after_one_request() {
    // The provider rotates refresh tokens (the refused request spent the old one), and its
    // clock is an hour behind, so the tokens are due as soon as they are issued.
    let (env, idp) = work_env(|c| {
        c.client.rotation = Some(Rotation {
            grace_period: Duration::ZERO,
        })
    });
    idp.set_fault(Fault::ClockOffset(-3550));
    env.login();
    idp.set_fault(Fault::IdTokenBadSignature);
    let before = idp.stats().token_refresh_token;
    let run = env.run(&["token", "--json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let error: serde_json::Value = serde_json::from_str(run.stderr.trim()).unwrap();
    assert_eq!(error["error"]["kind"], "verification", "{}", run.stderr);
    assert_eq!(error["error"]["check"], "signature", "{}", run.stderr);
    let refreshes = || idp.stats().token_refresh_token - before;
    assert_eq!(refreshes(), 1, "one refresh request");
    // The session ended: the next call asks for a sign-in and sends nothing.
    let again = env.run(&["token"]);
    assert_eq!(again.code, 12, "{}", again.stderr);
    assert_eq!(refreshes(), 1);
    assert!(
        idp.stats().revocations >= 1,
        "the refresh token was revoked"
    );
}

#[test]
fn a_failed_revocation_at_logout_still_deletes_the_session_and_says_so() {
    let (env, idp) = work_env(|_| {});
    env.login();
    idp.set_fault(Fault::RevokeServerError);
    let json = env.run(&["logout", "--json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let out = json.json();
    assert_eq!(out["signed_out"], true);
    assert_eq!(out["revoked"], false);
    assert!(out["revocation_error"].is_string(), "{out}");
    assert_eq!(env.run(&["status"]).code, 12, "the session is gone");

    env.login();
    let human = env.run(&["logout"]);
    assert_eq!(human.code, 0, "{}", human.stderr);
    let warnings: Vec<&str> = human.stderr.lines().collect();
    assert_eq!(warnings.len(), 1, "{}", human.stderr);
    assert!(
        warnings[0].starts_with("latchkey: warning: "),
        "{}",
        human.stderr
    );
    assert_eq!(env.run(&["status"]).code, 12);
    assert_eq!(idp.stats().revocations, 2);

    // With the provider revoking again, a logout has nothing to report.
    idp.clear_faults();
    env.login();
    let clean = env.run(&["logout", "--json"]).json();
    assert_eq!(clean["revoked"], true);
    assert!(clean["revocation_error"].is_null(), "{clean}");
}

#[test]
fn a_session_the_provider_ended_stays_session_expired_until_the_next_sign_in() {
    const MONTH: Duration = Duration::from_secs(31 * 24 * 3600);
    let (env, idp) = work_env(|_| {});
    // Tokens issued an hour ago (due now); then a month passes at the provider, so the
    // refresh token has expired there and the refresh earns `invalid_grant`.
    idp.set_fault(Fault::ClockOffset(-3550));
    env.login();
    idp.advance_clock(MONTH);
    let kind = |run: &Run| -> String {
        let error: serde_json::Value = serde_json::from_str(run.stderr.trim())
            .unwrap_or_else(|_| panic!("not JSON: {}", run.stderr));
        error["error"]["kind"].as_str().unwrap().to_owned()
    };
    let ended = env.run(&["token", "--json"]);
    assert_eq!((ended.code, kind(&ended)), (12, "session_expired".into()));
    let refreshes = idp.stats().token_refresh_token;

    // The next runs still know why, without asking the provider again.
    let later = env.run(&["token", "--json"]);
    assert_eq!((later.code, kind(&later)), (12, "session_expired".into()));
    let status = env.run(&["status", "--json"]);
    assert_eq!(status.code, 12, "{}", status.stderr);
    let ended_at = &status.json()["ended"];
    assert_eq!(ended_at["kind"], "session_expired", "{}", status.stdout);
    assert_eq!(ended_at["provider_error"], "invalid_grant");
    assert!(ended_at["at"].is_string());
    assert_eq!(idp.stats().token_refresh_token, refreshes);

    // A new sign-in ends the story.
    idp.set_fault(Fault::ClockOffset(-(MONTH.as_secs() as i64)));
    env.login();
    assert_eq!(env.run(&["token"]).code, 0);
    env.run(&["logout", "--no-browser"]);
    let signed_out = env.run(&["token", "--json"]);
    assert_eq!(
        (signed_out.code, kind(&signed_out)),
        (12, "not_signed_in".into())
    );
    assert!(env.run(&["status", "--json"]).json()["ended"].is_null());
}
