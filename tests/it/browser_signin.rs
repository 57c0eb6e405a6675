//! Real-browser end-to-end: headless Chromium (through chromedriver) signs in to
//! latchkey-devidp's hosted UI while `Session::sign_in` waits on its loopback listener.
//! One scenario per test; each has its own provider, Chromium profile and keychain service.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use latchkey_core::SignOutScope;
use latchkey_core::{
    ApiRequest, Entry, ErrorKind, NoBrowser, OffsetClock, Session, SessionOptions, SessionState,
    SignInOptions, Vault,
};
use latchkey_devidp::{Rotation, DEMO_PASSWORD, DEMO_USERNAME};
use latchkey_testkit::mask_secrets;
use support::{
    child_test_command, describe_output, ensure, run_scenario, Context, E2e, ProfileSpec,
};
use url::Url;

/// Selects the helper mode of this binary when it runs as a child process.
const CHILD_MODE: &str = "LATCHKEY_E2E_CHILD";

fn signed_in_user(s: &Session) -> Option<latchkey_core::UserSummary> {
    match s.state() {
        SessionState::SignedIn { user, .. } => Some(user),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_password() {
    let e = E2e::start("password", |_| {}).await;
    run_scenario(e, |e| async move {
        let session = e.session();
        let user = e
            .password_sign_in(&session, DEMO_USERNAME, DEMO_PASSWORD)
            .await?;
        e.step("check the signed-in state, the stored session and the loopback page");
        ensure!(
            user.username.as_deref() == Some(DEMO_USERNAME)
                || user.email.as_deref() == Some(DEMO_USERNAME),
            "signed in as {user:?}, expected {DEMO_USERNAME}"
        );
        let SessionState::SignedIn { storage, .. } = session.state() else {
            return Err(format!("state after sign-in: {:?}", session.state()));
        };
        ensure!(
            storage.persistent && storage.warning.is_none(),
            "session not in the keychain: {storage:?}"
        );
        let stored =
            latchkey_core::internals::load_session(&e.vault(), &e.profile().keychain_account())
                .context("read the keychain")?;
        ensure!(
            stored
                .as_ref()
                .and_then(|s| s.refresh_token.as_ref())
                .is_some(),
            "no refresh token in the keychain after sign-in"
        );
        let page = e.text("body").await?;
        ensure!(page.contains("Signed in"), "the loopback page says: {page}");
        let stats = e.idp.stats();
        ensure!(
            stats.logins == 1 && stats.token_authorization_code == 1,
            "expected one password login and one code exchange: {stats:?}"
        );
        e.step("call the demo API with the ID token");
        let me = Url::parse(&format!("{}/demo-api/me", e.spec.base_url)).context("URL")?;
        let resp = session
            .call(ApiRequest::get(me))
            .await
            .context("demo API call")?;
        ensure!(
            resp.status == 200,
            "demo API answered {}: {}",
            resp.status,
            resp.text()
        );
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_with_confirmation_code_then_first_sign_in() {
    let e = E2e::start("signup", |_| {}).await;
    run_scenario(e, |e| async move {
        let email = format!("new-{}@example.test", std::process::id());
        let password = "Fresh-Passw0rd!";
        let session = e.session();
        e.step("open the sign-up page");
        let (task, url) = e
            .begin_sign_in(
                &session,
                SignInOptions {
                    entry: Entry::SignUp,
                    ..Default::default()
                },
            )
            .await?;
        e.goto(url.as_str()).await?;
        e.step("fill the sign-up form");
        e.fill("#username", &email).await?;
        e.fill("#password", password).await?;
        e.click("#signup").await?;
        e.step("read the confirmation code from the dev banner and confirm");
        let code = e.text("#dev-code").await?;
        ensure!(!code.trim().is_empty(), "empty confirmation code");
        ensure!(
            e.idp.last_confirmation_code().as_deref() == Some(code.trim()),
            "the page's code differs from the provider's"
        );
        e.fill("#code", code.trim()).await?;
        e.click("#confirm").await?;
        e.step("the confirmed sign-up signs in");
        let user = e
            .end_sign_in(task, Duration::from_secs(30))
            .await?
            .map_err(|err| format!("sign-up sign-in failed: {:?}: {err}", err.kind()))?;
        ensure!(
            user.email.as_deref() == Some(email.as_str())
                || user.username.as_deref() == Some(email.as_str()),
            "signed in as {user:?}, expected {email}"
        );
        ensure!(e.idp.stats().signups == 1, "signups: {:?}", e.idp.stats());

        e.step("sign out everywhere, then the first password sign-in of the new account");
        let out = session
            .sign_out(SignOutScope::Everywhere)
            .await
            .context("sign-out")?;
        let logout = out.logout_url.context("logout URL")?.expose().clone();
        e.goto(logout.as_str()).await?;
        let user = e.password_sign_in(&session, &email, password).await?;
        ensure!(
            user.email.as_deref() == Some(email.as_str())
                || user.username.as_deref() == Some(email.as_str()),
            "signed in as {user:?}, expected {email}"
        );
        ensure!(
            e.idp.stats().logins == 1,
            "password logins: {:?}",
            e.idp.stats()
        );
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_then_right_one() {
    let e = E2e::start("wrong-password", |_| {}).await;
    run_scenario(e, |e| async move {
        let session = e.session();
        e.step("open the login page");
        let (task, url) = e.begin_sign_in(&session, SignInOptions::default()).await?;
        e.goto(url.as_str()).await?;
        e.step("submit a wrong password");
        e.submit_login(DEMO_USERNAME, "not-the-password-1A!")
            .await?;
        let error = e.text("#error").await?;
        ensure!(
            error.contains("Incorrect username or password"),
            "error shown: {error}"
        );
        ensure!(e.idp.stats().failed_logins == 1, "{:?}", e.idp.stats());
        ensure!(
            matches!(session.state(), SessionState::SigningIn { .. }),
            "Latchkey must keep waiting after a wrong password: {:?}",
            session.state()
        );
        e.step("submit the right password on the same page");
        e.submit_login(DEMO_USERNAME, DEMO_PASSWORD).await?;
        let user = e
            .end_sign_in(task, Duration::from_secs(30))
            .await?
            .map_err(|err| format!("sign-in failed: {:?}: {err}", err.kind()))?;
        ensure!(
            signed_in_user(&session).as_ref() == Some(&user),
            "state: {:?}",
            session.state()
        );
        ensure!(e.idp.stats().logins == 1, "{:?}", e.idp.stats());
        Ok(())
    })
    .await;
}

/// Cognito's hosted UI has no Cancel link (devidp neither): a user who gives up closes the
/// tab, and the app cancels the waiting sign-in. (`access_denied` from the provider is
/// covered in crates/core/tests/it/catalogue.rs.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn giving_up_on_the_hosted_page_and_cancelling_in_the_app() {
    let e = E2e::start("cancel", |_| {}).await;
    run_scenario(e, |e| async move {
        let session = e.session();
        e.step("open the login page: like Cognito's, it has no Cancel link");
        let (task, url) = e.begin_sign_in(&session, SignInOptions::default()).await?;
        e.goto(url.as_str()).await?;
        let page = e.text("body").await?;
        ensure!(
            page.contains("Sign in") && !page.to_lowercase().contains("cancel"),
            "the hosted page: {page}"
        );
        e.step("the user closes the tab; the app cancels the sign-in");
        e.goto("about:blank").await?;
        session.cancel_sign_in();
        let err = match e.end_sign_in(task, Duration::from_secs(30)).await? {
            Ok(user) => return Err(format!("a cancelled sign-in signed in as {user:?}")),
            Err(err) => err,
        };
        ensure!(
            err.kind() == ErrorKind::Cancelled,
            "kind {:?}: {err}",
            err.kind()
        );
        ensure!(
            e.idp.stats().token_authorization_code == 0,
            "{:?}",
            e.idp.stats()
        );
        e.step("the port is free again: a new sign-in works");
        e.password_sign_in(&session, DEMO_USERNAME, DEMO_PASSWORD)
            .await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_sign_in_within_the_hour_skips_the_password() {
    let e = E2e::start("cookie", |_| {}).await;
    run_scenario(e, |e| async move {
        let first = e.session();
        e.password_sign_in(&first, DEMO_USERNAME, DEMO_PASSWORD)
            .await?;
        e.step("sign out locally only (the provider's cookie stays)");
        first
            .sign_out(SignOutScope::ThisDevice)
            .await
            .context("local sign-out")?;
        e.step("second sign-in: the provider's cookie answers at once");
        let second = e.session();
        let (task, url) = e.begin_sign_in(&second, SignInOptions::default()).await?;
        e.goto(url.as_str()).await?;
        let user = e
            .end_sign_in(task, Duration::from_secs(30))
            .await?
            .map_err(|err| format!("silent sign-in failed: {:?}: {err}", err.kind()))?;
        ensure!(user.username.is_some() || user.email.is_some(), "{user:?}");
        let stats = e.idp.stats();
        ensure!(
            stats.logins == 1 && stats.cookie_logins == 1 && stats.token_authorization_code == 2,
            "expected 1 password login + 1 cookie login: {stats:?}"
        );
        let page_url = e.page_url().await;
        ensure!(
            page_url.starts_with(&e.spec.callback_uri()),
            "the browser should have gone straight to the callback, is on {}",
            mask_secrets(&page_url)
        );
        Ok(())
    })
    .await;
}

async fn refresh_scenario(rotation: bool) {
    let name = if rotation {
        "refresh-rotation"
    } else {
        "refresh-no-rotation"
    };
    let e = E2e::start(name, |c| {
        if rotation {
            c.client.rotation = Some(Rotation {
                grace_period: Duration::ZERO,
            });
        }
    })
    .await;
    run_scenario(e, move |e| async move {
        let clock = Arc::new(OffsetClock::new(0));
        let session = Session::new(
            e.profile(),
            SessionOptions {
                clock: clock.clone(),
                ..e.options()
            },
        )
        .context("Session::new")?;
        e.password_sign_in(&session, DEMO_USERNAME, DEMO_PASSWORD)
            .await?;
        let account = e.profile().keychain_account();
        let before = latchkey_core::internals::load_session(&e.vault(), &account)
            .context("keychain read")?
            .context("stored session")?;
        let old_refresh = before.refresh_token.clone().context("refresh token")?;
        let tokens_before = session.tokens().await.context("tokens()")?;
        ensure!(
            e.idp.stats().token_refresh_token == 0,
            "refreshed too early: {:?}",
            e.idp.stats()
        );

        e.step("two minutes before expiry: tokens() refreshes once");
        clock.set_offset(3600 - 120);
        let tokens_after = session.tokens().await.context("tokens() near expiry")?;
        ensure!(
            e.idp.stats().token_refresh_token == 1,
            "{:?}",
            e.idp.stats()
        );
        ensure!(
            tokens_after.id_token.expose() != tokens_before.id_token.expose(),
            "the ID token was not renewed"
        );
        let after = latchkey_core::internals::load_session(&e.vault(), &account)
            .context("keychain read")?
            .context("stored session")?;
        let new_refresh = after
            .refresh_token
            .clone()
            .context("refresh token after refresh")?;
        ensure!(
            after.generation > before.generation,
            "generation {} → {}",
            before.generation,
            after.generation
        );
        ensure!(
            after.id_token.expose() == tokens_after.id_token.expose(),
            "the keychain does not hold the refreshed ID token"
        );
        if rotation {
            ensure!(
                new_refresh != old_refresh,
                "rotation is on but the stored refresh token did not change"
            );
        } else {
            ensure!(
                new_refresh == old_refresh,
                "rotation is off but the stored refresh token changed"
            );
        }

        e.step("another refresh with what the keychain holds now");
        session.force_refresh().await.context("second refresh")?;
        ensure!(
            e.idp.stats().token_refresh_token == 2,
            "{:?}",
            e.idp.stats()
        );

        e.step("the refresh token from before the first refresh, at the provider");
        // Past any grace period (devidp compares whole seconds: with grace 0 a rotated-out
        // token still works until the end of the second it was rotated in).
        e.idp.advance_clock(Duration::from_secs(2));
        let resp = reqwest::Client::new()
            .post(format!("{}/oauth2/token", e.spec.base_url))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", old_refresh.expose()),
                ("client_id", e.spec.client_id.as_str()),
            ])
            .send()
            .await
            .context("token request")?;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        if rotation {
            ensure!(
                status == 400 && body.contains("invalid_grant"),
                "a rotated-out refresh token must be refused: HTTP {status} {}",
                mask_secrets(&body)
            );
        } else {
            ensure!(
                status == 200,
                "without rotation the refresh token stays valid: HTTP {status}"
            );
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_with_rotation_on() {
    refresh_scenario(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_with_rotation_off() {
    refresh_scenario(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_after_restart_in_a_new_process() {
    let e = E2e::start("restore", |_| {}).await;
    run_scenario(e, |e| async move {
        let session = e.session();
        let user = e
            .password_sign_in(&session, DEMO_USERNAME, DEMO_PASSWORD)
            .await?;
        e.step("the app exits");
        drop(session);

        e.step("a new process restores from the same keychain entry, calls the API and refreshes");
        let mut cmd = child_test_command("browser_signin::child_process_restore_helper");
        cmd.env(CHILD_MODE, "restore")
            .env("LATCHKEY_KEYCHAIN_SERVICE", &e.service);
        for (k, v) in e.spec.to_env() {
            cmd.env(k, v);
        }
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .context("join")?
            .context("run the child process")?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let expected = format!(
            "E2E-CHILD-RESULT session=signed_in user={} api=200 refreshed=true",
            user.username.clone().unwrap_or_default()
        );
        ensure!(
            out.status.success() && stdout.lines().any(|l| l.ends_with(&expected)),
            "expected `{expected}` from the child\n{}",
            describe_output("child process", &out)
        );
        let stats = e.idp.stats();
        ensure!(
            stats.token_authorization_code == 1
                && stats.token_refresh_token == 1
                && stats.logins == 1,
            "the child must restore (no new sign-in) and refresh once: {stats:?}"
        );
        Ok(())
    })
    .await;
}

/// The "restarted app" of `restore_after_restart_in_a_new_process`: does nothing unless this
/// binary runs as that test's child process.
#[test]
fn child_process_restore_helper() {
    if std::env::var(CHILD_MODE).as_deref() != Ok("restore") {
        return;
    }
    let spec = ProfileSpec::from_env().expect("the profile in the environment");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        // The keychain service comes from LATCHKEY_KEYCHAIN_SERVICE, as in the app and the CLI.
        let options = SessionOptions {
            vault: Vault::system(),
            browser: Some(Arc::new(NoBrowser)),
            ..SessionOptions::default()
        };
        let session = Session::new(spec.profile(), options).expect("Session::new");
        let state = session.restore().await.expect("restore");
        let SessionState::SignedIn { user, storage, .. } = state else {
            panic!("restore did not sign in: {state:?}");
        };
        assert!(storage.persistent, "{storage:?}");
        let me = Url::parse(&format!("{}/demo-api/me", spec.base_url)).unwrap();
        let resp = session.call(ApiRequest::get(me)).await.expect("API call");
        session
            .force_refresh()
            .await
            .expect("refresh with the restored refresh token");
        println!(
            "E2E-CHILD-RESULT session=signed_in user={} api={} refreshed=true",
            user.username.unwrap_or_default(),
            resp.status
        );
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_opens_logout_page_and_next_sign_in_asks_for_password() {
    let e = E2e::start("sign-out", |_| {}).await;
    run_scenario(e, |e| async move {
        // Signing out everywhere calls GlobalSignOut, which needs the admin scope.
        let mut profile = e.profile();
        profile.scopes.push("aws.cognito.signin.user.admin".into());
        let session = Session::new(profile, e.options()).expect("Session::new");
        e.password_sign_in(&session, DEMO_USERNAME, DEMO_PASSWORD)
            .await?;
        e.step("sign out everywhere");
        let out = session
            .sign_out(SignOutScope::Everywhere)
            .await
            .context("sign-out")?;
        ensure!(out.warnings.is_empty(), "warnings: {:?}", out.warnings);
        ensure!(out.signed_out_everywhere, "not signed out everywhere");
        ensure!(e.idp.stats().global_sign_outs == 1, "{:?}", e.idp.stats());
        ensure!(
            latchkey_core::internals::load_session(&e.vault(), &e.profile().keychain_account())
                .context("keychain read")?
                .is_none(),
            "the keychain entry survived sign-out"
        );
        let logout = out.logout_url.context("logout URL")?.expose().clone();
        ensure!(
            logout
                .as_str()
                .starts_with(&format!("{}/logout?", e.spec.base_url))
                && logout
                    .query_pairs()
                    .any(|(k, v)| k == "logout_uri" && v == e.spec.sign_out_uri().as_str()),
            "unexpected logout URL {logout}"
        );
        e.step("Chromium visits the logout URL and lands on the sign-out page");
        e.goto(logout.as_str()).await?;
        let landed = e.text("#signed-out").await?;
        ensure!(landed == "Signed out", "sign-out page says {landed}");
        ensure!(e.idp.stats().logouts == 1, "{:?}", e.idp.stats());
        ensure!(
            e.signed_out.hits.load(std::sync::atomic::Ordering::SeqCst) == 1,
            "sign-out page not visited"
        );

        e.step("the next sign-in shows the login form again");
        let (task, url) = e.begin_sign_in(&session, SignInOptions::default()).await?;
        e.goto(url.as_str()).await?;
        e.element("#password", Duration::from_secs(15)).await?;
        ensure!(
            e.idp.stats().cookie_logins == 0,
            "signed in silently after logout: {:?}",
            e.idp.stats()
        );
        e.submit_login(DEMO_USERNAME, DEMO_PASSWORD).await?;
        e.end_sign_in(task, Duration::from_secs(30))
            .await?
            .map_err(|err| format!("sign-in after sign-out failed: {:?}: {err}", err.kind()))?;
        ensure!(e.idp.stats().logins == 2, "{:?}", e.idp.stats());
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_on_login_page_releases_port_and_next_sign_in_works() {
    let e = E2e::start("timeout", |_| {}).await;
    run_scenario(e, |e| async move {
        let session = e.session();
        e.step("start a sign-in with a 3 s timeout and leave the browser on the login page");
        let opts = SignInOptions {
            timeout: Some(Duration::from_secs(3)),
            ..Default::default()
        };
        let (task, url) = e.begin_sign_in(&session, opts).await?;
        e.goto(url.as_str()).await?;
        e.element("#password", Duration::from_secs(15)).await?;
        let err = match e.end_sign_in(task, Duration::from_secs(20)).await? {
            Ok(user) => return Err(format!("signed in as {user:?} without a password")),
            Err(err) => err,
        };
        ensure!(
            err.kind() == ErrorKind::Timeout,
            "kind {:?}: {err}",
            err.kind()
        );
        ensure!(err.to_string().contains("Sign in again"), "message: {err}");

        e.step("the callback port is released");
        // Not at the very instant sign_in returns: tiny_http closes its listening socket on
        // its accept thread a moment after the server is dropped (see the report).
        let took =
            latchkey_testkit::wait_port_released(e.spec.callback_port, Duration::from_secs(2))?;
        eprintln!("[e2e timeout] callback port released {took:?} after sign_in returned");

        e.step("a new sign-in binds the same port at once and completes");
        let started = std::time::Instant::now();
        let (task, url) = e.begin_sign_in(&session, SignInOptions::default()).await?;
        ensure!(
            started.elapsed() < Duration::from_secs(5),
            "the new sign-in took {:?} to open the browser",
            started.elapsed()
        );
        ensure!(
            url.query_pairs()
                .any(|(k, v)| k == "redirect_uri" && v == e.spec.callback_uri()),
            "the new sign-in uses another redirect URI: {}",
            mask_secrets(url.as_str())
        );
        e.goto(url.as_str()).await?;
        e.submit_login(DEMO_USERNAME, DEMO_PASSWORD).await?;
        e.end_sign_in(task, Duration::from_secs(30))
            .await?
            .map_err(|err| format!("sign-in after the timeout failed: {:?}: {err}", err.kind()))?;
        ensure!(
            signed_in_user(&session).is_some(),
            "state: {:?}",
            session.state()
        );
        Ok(())
    })
    .await;
}
