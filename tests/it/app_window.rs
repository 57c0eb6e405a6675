//! The real app window, driven over WebDriver (tauri-driver + WebKitWebDriver under Xvfb),
//! with a real headless Chromium (chromedriver) playing the user's system browser.
//!
//! One scenario, in the order a user meets it: first run on the embedded development
//! provider, sign-in in the browser, the session view, the inspector's checklist, the API
//! console (200 and 403), the AWS credentials view and a SigV4 call, sign-out everywhere (the
//! provider's logout page, keychain emptied), a sign-in as a user whose name is HTML (shown as
//! text), a restart that restores the session without a browser, and a final sign-out.

#[allow(unused_macros, unused_imports)]
use crate::support;

use crate::app_window_checks::{
    assert_inspector_has_no_backticks, assert_profile_form_on_request,
    assert_session_buttons_explained, assert_signed_out_reason, assert_wraps_at_separators,
    cut_off_placeholders,
};

use std::path::Path;
use std::time::Duration;

use fantoccini::Client;
use latchkey_testkit::secret_tool_items;
use latchkey_testkit::webdriver::{click, fill, js_string, wait_js, AppEnv, AppUnderTest, UrlHook};

const XSS_NAME: &str = "<img src=x onerror=alert(1)>";
const MALLORY: &str = "mallory@latchkey.dev";
const MALLORY_PASSWORD: &str = "Mallory-pass-1";
const WAIT: Duration = Duration::from_secs(30);

/// Plays the user in the system browser: the hosted sign-in page, then back to Latchkey.
async fn sign_in_in_browser(browser: &Client, url: &str, username: &str, password: &str) {
    browser.goto(url).await.expect("open the sign-in page");
    fill(browser, "#username", username).await;
    fill(browser, "#password", password).await;
    click(browser, "#signin").await;
}

/// Sends one request from the API console with the ID token and returns the status the
/// window shows.
async fn api_status(app: &Client, path: &str) -> String {
    api_status_with(app, path, "raw").await
}

/// Sends one request from the API console with `scheme` (`raw`, `bearer`, `sigv4`).
async fn api_status_with(app: &Client, path: &str, scheme: &str) -> String {
    click(app, "#nav-console").await;
    fill(app, "#api-url", path).await;
    app.execute(
        "const s = document.getElementById('api-scheme'); s.value = arguments[0]; \
         s.dispatchEvent(new Event('change')); \
         document.getElementById('api-status').textContent = ''",
        vec![serde_json::json!(scheme)],
    )
    .await
    .unwrap();
    click(app, "#api-send").await;
    wait_js(
        app,
        "document.getElementById('api-status').textContent !== ''",
        &format!("response to {path}"),
    )
    .await;
    js_string(app, "document.getElementById('api-status').textContent").await
}

fn write_users(path: &Path) {
    std::fs::write(
        path,
        format!(
            r#"
[[users]]
username = "{demo}"
password = "{demo_pw}"
groups = ["users", "admins"]
attributes = {{ name = "Demo User" }}

[[users]]
username = "{mallory}"
password = "{mallory_pw}"
groups = ["users"]
attributes = {{ name = "{xss}" }}
"#,
            demo = latchkey_devidp::DEMO_USERNAME,
            demo_pw = latchkey_devidp::DEMO_PASSWORD,
            mallory = MALLORY,
            mallory_pw = MALLORY_PASSWORD,
            xss = XSS_NAME,
        ),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_window_sign_in_inspect_call_restore_sign_out() {
    let dir = tempfile::tempdir().unwrap();
    let hook = UrlHook::new(dir.path());
    let users = dir.path().join("users.toml");
    write_users(&users);
    let service = format!("latchkey-app-window-{}", std::process::id());
    // The app inherits these through tauri-driver and WebKitWebDriver.
    let mut app_env = AppEnv::default();
    app_env.set("LATCHKEY_CONFIG", dir.path().join("config.toml"));
    app_env.set("LATCHKEY_KEYCHAIN_SERVICE", &service);
    app_env.set("LATCHKEY_BROWSER_COMMAND", &hook.script);
    app_env.set("LATCHKEY_DEVIDP_USERS", &users);
    app_env.set("LATCHKEY_RUNTIME_DIR", dir.path().join("run"));
    app_env.set("XDG_DATA_HOME", dir.path().join("data"));

    let mut windows = AppUnderTest::start_with_env(
        Path::new(env!("CARGO_BIN_EXE_latchkey-app")),
        dir.path(),
        &app_env,
    )
    .await;
    let (app, browser) = (windows.app.clone(), windows.browser.clone());

    // First run: the Demo profile on the embedded provider, with its credentials shown.
    assert_eq!(
        js_string(&app, "document.getElementById('demo-username').textContent").await,
        latchkey_devidp::DEMO_USERNAME
    );
    // Nobody signed in yet: said in a sentence, with no "another user" to switch to; the
    // profile form waits for "New profile" or "Edit".
    assert_signed_out_reason(&app, "no_saved_session").await;
    assert_profile_form_on_request(&app).await;
    click(&app, "#nav-session").await;

    // Sign in: the system browser (our hook) gets the authorize URL; the app waits for it.
    click(&app, "#signin").await;
    let authorize = hook.nth_url(1, WAIT);
    assert!(
        authorize.contains("/oauth2/authorize?"),
        "unexpected URL opened"
    );
    wait_js(
        &app,
        "!document.getElementById('waiting').hidden",
        "waiting screen",
    )
    .await;
    assert_eq!(
        js_string(&app, "document.getElementById('authorize-url').value").await,
        authorize
    );
    sign_in_in_browser(
        &browser,
        &authorize,
        latchkey_devidp::DEMO_USERNAME,
        latchkey_devidp::DEMO_PASSWORD,
    )
    .await;
    wait_js(
        &app,
        "!document.getElementById('signed-in').hidden",
        "signed in",
    )
    .await;
    // The Demo pool signs in with e-mail, so Cognito (and devidp) generate the username: a
    // UUID. The e-mail is what the user typed.
    assert_eq!(
        js_string(&app, "document.getElementById('user-email').textContent").await,
        latchkey_devidp::DEMO_USERNAME
    );
    let username = js_string(&app, "document.getElementById('user-username').textContent").await;
    assert!(
        username.len() == 36 && username.matches('-').count() == 4,
        "a generated username: {username:?}"
    );
    assert!(
        js_string(&app, "document.getElementById('user-groups').textContent")
            .await
            .contains("admins")
    );
    assert!(
        secret_tool_items(&service).contains(&service),
        "the session is in the keychain"
    );
    assert_session_buttons_explained(&app).await;
    // The generated username and the subject are UUIDs: they wrap only after a `-`.
    assert_wraps_at_separators(&app, "#user-sub", "9em").await;

    // Inspector: an ID token whose every check passes.
    click(&app, "#nav-inspector").await;
    wait_js(
        &app,
        "document.querySelectorAll('#checks li').length > 5",
        "checks",
    )
    .await;
    assert_eq!(
        js_string(
            &app,
            "document.querySelector('[data-claim=\"token_use\"] td.value span').textContent"
        )
        .await,
        "id"
    );
    let failed = js_string(
        &app,
        "Array.from(document.querySelectorAll('#checks li.fail')).map(li => li.textContent).join('; ')",
    )
    .await;
    assert_eq!(failed, "", "every verification check passes");
    assert_inspector_has_no_backticks(&app).await;

    // API console: the demo API answers 200 with the ID token; the demo user is an admin.
    assert_eq!(api_status(&app, "/demo-api/me").await, "200");
    assert_eq!(api_status(&app, "/demo-api/admin").await, "200");

    // AWS credentials: the Demo profile's identity pool gives the admins group's role; the
    // secret stays masked until asked for; the config snippet runs the CLI; the console signs
    // a call to the IAM-authorized demo API with them.
    click(&app, "#nav-aws").await;
    wait_js(
        &app,
        "document.getElementById('aws-access-key').textContent.startsWith('ASIA')",
        "AWS credentials",
    )
    .await;
    assert_eq!(
        js_string(&app, "document.getElementById('aws-role').textContent").await,
        latchkey_devidp::DEMO_ADMIN_ROLE
    );
    assert!(
        js_string(
            &app,
            "document.getElementById('aws-other-roles').textContent"
        )
        .await
        .contains(latchkey_devidp::DEMO_USER_ROLE),
        "the user's other role is listed"
    );
    assert_eq!(
        js_string(
            &app,
            "document.getElementById('aws-identity-id').textContent"
        )
        .await
        .split(':')
        .next(),
        Some("us-east-1")
    );
    assert_eq!(
        js_string(&app, "document.getElementById('aws-secret').dataset.masked").await,
        "true"
    );
    // ARNs and identity ids wrap only after `:` `/` `-`.
    assert_wraps_at_separators(&app, "#aws-role", "12em").await;
    assert_wraps_at_separators(&app, "#aws-identity-id", "12em").await;
    assert!(
        js_string(
            &app,
            "document.querySelector('#aws-timeline .timeline').dataset.token"
        )
        .await
        .contains("AWS"),
        "the lifetime is drawn"
    );
    click(&app, "#aws-reveal").await;
    click(&app, "#modal-ok").await;
    wait_js(
        &app,
        "document.getElementById('aws-secret').dataset.masked === 'false'",
        "secret revealed",
    )
    .await;
    assert_eq!(
        js_string(
            &app,
            "document.getElementById('aws-secret').textContent.length"
        )
        .await,
        "40"
    );
    click(&app, "#aws-reveal").await;
    assert_eq!(
        js_string(&app, "document.getElementById('aws-secret').dataset.masked").await,
        "true",
        "hidden again"
    );
    // Copied as environment variables from Rust (never through the window), and cleared later.
    click(&app, "#aws-copy-env").await;
    click(&app, "#modal-ok").await;
    wait_js(
        &app,
        "document.getElementById('aws-copied').textContent.includes('cleared in 30 s')",
        "AWS credentials copied",
    )
    .await;
    wait_js(
        &app,
        "document.getElementById('aws-snippet').textContent.includes('credential_process = ')",
        "config snippet",
    )
    .await;
    let snippet = js_string(&app, "document.getElementById('aws-snippet').textContent").await;
    assert!(
        snippet.contains("[profile Demo]")
            && snippet.contains(" aws credentials --profile Demo\n")
            && snippet.contains("region = us-east-1"),
        "{snippet}"
    );
    assert!(
        secret_tool_items(&service).contains(":aws"),
        "the AWS credentials are in the keychain next to the session"
    );
    assert_eq!(
        api_status_with(&app, "/demo-aws-api/me", "sigv4").await,
        "200"
    );
    assert_eq!(
        cut_off_placeholders(&app).await,
        Vec::<String>::new(),
        "the console's placeholders fit (SigV4 shows the region)"
    );

    // Sign out everywhere: the provider's logout page opens, the keychain is emptied.
    click(&app, "#nav-session").await;
    click(&app, "#signout-everywhere").await;
    click(&app, "#modal-ok").await;
    let logout = hook.nth_url(2, WAIT);
    assert!(logout.contains("/logout?"), "the logout page was opened");
    // The provider clears its cookie and redirects to the sign-out URL; whatever that page
    // does (it may be unreachable once Latchkey is signed out) must not stall the test.
    let _ = browser.goto(&logout).await;
    wait_js(
        &app,
        "!document.getElementById('signed-out').hidden",
        "signed out",
    )
    .await;
    assert!(
        !secret_tool_items(&service).contains(&service),
        "the keychain entry is gone after sign-out"
    );
    assert_signed_out_reason(&app, "signed_out").await;

    // A user whose name is HTML, outside `admins`: the password is asked again (the cookie
    // went with the logout), the name shows as text, /admin answers 403.
    click(&app, "#signin").await;
    let authorize = hook.nth_url(3, WAIT);
    sign_in_in_browser(&browser, &authorize, MALLORY, MALLORY_PASSWORD).await;
    wait_js(
        &app,
        "!document.getElementById('signed-in').hidden",
        "signed in as mallory",
    )
    .await;
    assert_eq!(
        js_string(&app, "document.getElementById('user-name').textContent").await,
        XSS_NAME
    );
    assert_eq!(
        js_string(&app, "document.querySelectorAll('main img').length").await,
        "0",
        "no element was created from a claim"
    );
    assert_eq!(api_status(&app, "/demo-api/admin").await, "403");

    // Restart: the session comes back from the keychain, without a browser.
    windows.restart_app().await;
    let app = windows.app.clone();
    wait_js(
        &app,
        "!document.getElementById('signed-in').hidden",
        "restored",
    )
    .await;
    assert_eq!(
        js_string(&app, "document.getElementById('user-email').textContent").await,
        MALLORY,
        "the restored user (the username itself is generated)"
    );
    let opened = std::fs::read_to_string(&hook.urls).unwrap();
    assert_eq!(opened.lines().count(), 3, "restore opened no browser");

    // Sign out: back to the sign-in screen, nothing left in the keychain.
    click(&app, "#signout").await;
    wait_js(
        &app,
        "!document.getElementById('signed-out').hidden",
        "signed out",
    )
    .await;
    assert!(!secret_tool_items(&service).contains(&service));

    windows.close().await;
}
