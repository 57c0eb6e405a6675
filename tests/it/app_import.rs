//! Issue 22, in the real app window: a hostile profile pasted under the name of the signed-in
//! profile. The review shows what it sets (where tokens go first) and that its browser command
//! is not imported; nothing is saved until "Replace profile cog" is clicked; then the old
//! session is revoked (devidp counts it) and gone from the keychain, and the next "Sign in"
//! runs this machine's browser command, never the file's program.

use std::path::Path;
use std::time::Duration;

use latchkey_core::config::{BrowserCommand, BrowserSetting, Config};
use latchkey_core::Vault;
use latchkey_testkit::webdriver::{click, fill, js_string, wait_js, AppEnv, AppUnderTest, UrlHook};
use latchkey_testkit::{secret_tool_items, start_cognito};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g1_a_hostile_import_is_reviewed_replaces_only_when_asked_and_signs_the_old_session_out() {
    let (idp, mut cog) = start_cognito(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let hook = UrlHook::new(dir.path());
    // This machine's own browser command, in the profiles file (no environment override).
    let own_browser = BrowserSetting::Command(
        BrowserCommand::new(vec![hook.script.display().to_string()]).unwrap(),
    );
    cog.browser = own_browser.clone();
    let path = dir.path().join("config.toml");
    let mut config = Config::empty(&path);
    config.insert(cog.clone());
    config.default = Some("cog".into());
    config.save().unwrap();

    let marker = dir.path().join("owned");
    let mut elsewhere = cog.clone();
    elsewhere.api_base_urls = vec![url::Url::parse("https://api.elsewhere.example/").unwrap()];
    let hostile = Config::export_profile(&elsewhere).replace(
        "[profiles.cog]\n",
        &format!(
            "[profiles.cog]\nbrowser_command = [\"sh\", \"-c\", \"touch${{IFS}}{}\"]\n",
            marker.display()
        ),
    );
    assert!(
        !hostile.contains(&hook.script.display().to_string()),
        "an export keeps the machine's browser: {hostile}"
    );

    let service = format!("latchkey-app-import-{}", std::process::id());
    let mut app_env = AppEnv::default();
    app_env.set("LATCHKEY_CONFIG", &path);
    app_env.set("LATCHKEY_KEYCHAIN_SERVICE", &service);
    app_env.remove("LATCHKEY_BROWSER_COMMAND");
    app_env.set("LATCHKEY_RUNTIME_DIR", dir.path().join("run"));
    app_env.set("XDG_DATA_HOME", dir.path().join("data"));

    // A session no profile reaches: stored for a profile `gone` that the file does not have
    // (as a hand edit of the file leaves one).
    let mut gone = cog.clone();
    gone.name = "gone".into();
    gone.browser = BrowserSetting::System;
    let stray = latchkey_testkit::signed_in(gone, Vault::system_with_service(&service)).await;
    drop(stray);
    assert!(
        secret_tool_items(&service).contains("gone|"),
        "the stray is there"
    );

    let windows = AppUnderTest::start_with_env(
        Path::new(env!("CARGO_BIN_EXE_latchkey-app")),
        dir.path(),
        &app_env,
    )
    .await;
    let (app, browser) = (windows.app.clone(), windows.browser.clone());

    // Signed in on `cog`.
    click(&app, "#signin").await;
    let authorize = hook.nth_url(1, WAIT);
    browser.goto(&authorize).await.unwrap();
    fill(&browser, "#username", latchkey_devidp::DEMO_USERNAME).await;
    fill(&browser, "#password", latchkey_devidp::DEMO_PASSWORD).await;
    click(&browser, "#signin").await;
    wait_js(
        &app,
        "!document.getElementById('signed-in').hidden",
        "signed in on cog",
    )
    .await;
    assert!(secret_tool_items(&service).contains("cog"), "cog's session");
    let saved_before = std::fs::read_to_string(&path).unwrap();

    // The pasted profile is reviewed; nothing is saved yet.
    click(&app, "#nav-settings").await;
    app.execute(
        "document.getElementById('import-paste').open = true; document.getElementById('import-text').value = arguments[0];",
        vec![serde_json::Value::String(hostile.clone())],
    )
    .await
    .unwrap();
    click(&app, "#import-text-review").await;
    wait_js(
        &app,
        "!document.getElementById('import-review').hidden",
        "the review",
    )
    .await;
    let button = "[data-import=\"cog\"] button[data-action=\"confirm-import\"]";
    assert_eq!(
        js_string(
            &app,
            &format!("document.querySelector('{button}').textContent")
        )
        .await,
        "Replace profile cog",
        "replacing is asked by name"
    );
    assert_eq!(
        js_string(
            &app,
            "document.querySelector('[data-import=\"cog\"] [data-moves]').dataset.moves"
        )
        .await,
        "api_base_urls",
        "the review says the session will be signed out, and why"
    );
    assert_eq!(
        js_string(
            &app,
            "document.querySelector('tr[data-field=\"api_base_urls\"]').className"
        )
        .await,
        "security",
        "where tokens go is marked"
    );
    assert_eq!(
        js_string(
            &app,
            "Boolean(document.querySelector('[data-dropped=\"browser_command\"]'))"
        )
        .await,
        "true",
        "the dropped browser command is named"
    );
    assert_eq!(
        js_string(
            &app,
            "Boolean(document.querySelector('tr[data-field=\"browser_command\"]'))"
        )
        .await,
        "false"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        saved_before,
        "nothing saved yet"
    );
    assert_eq!(idp.stats().revocations, 0);

    // "Replace profile cog": the old session is revoked and deleted, then the profile saved.
    click(&app, button).await;
    wait_js(
        &app,
        "document.getElementById('import-review').hidden",
        "the replace",
    )
    .await;
    assert_eq!(
        idp.stats().revocations,
        1,
        "the provider counted the revocation"
    );
    assert!(
        !secret_tool_items(&service).contains("cog"),
        "nothing of the old session left: {}",
        secret_tool_items(&service)
    );
    let after = Config::load(&path).unwrap();
    let replaced = after.profile("cog").unwrap();
    assert_eq!(
        replaced.api_base_urls[0].as_str(),
        "https://api.elsewhere.example/"
    );
    assert_eq!(
        replaced.browser, own_browser,
        "this machine's browser command stays"
    );
    click(&app, "#nav-session").await;
    wait_js(
        &app,
        "!document.getElementById('signed-out').hidden",
        "signed out",
    )
    .await;

    // "Sign in" runs this machine's browser command, not the file's program.
    click(&app, "#signin").await;
    let second = hook.nth_url(2, WAIT);
    assert!(second.contains("/oauth2/authorize"), "{second}");
    assert!(!marker.exists(), "the imported program never ran");

    // "Stray sessions…": the session no profile reaches is listed, revoked and deleted.
    click(&app, "#nav-settings").await;
    let revocations = idp.stats().revocations;
    click(&app, "#pf-strays").await;
    wait_js(
        &app,
        "!document.getElementById('modal').hidden",
        "the list of strays",
    )
    .await;
    assert!(
        js_string(&app, "document.getElementById('modal-text').textContent")
            .await
            .contains("“gone”"),
        "the stray is named by its profile"
    );
    click(&app, "#modal-ok").await;
    wait_js(
        &app,
        "document.getElementById('profiles-status').textContent.includes('revoked')",
        "the strays removed",
    )
    .await;
    assert_eq!(
        idp.stats().revocations,
        revocations + 1,
        "its refresh token revoked"
    );
    assert!(
        !secret_tool_items(&service).contains("gone|"),
        "nothing of it left: {}",
        secret_tool_items(&service)
    );

    windows.close().await;
}
