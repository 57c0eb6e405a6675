//! The real app window's profiles against a development provider the test runs (a Cognito-kind
//! app client with one registered callback URL): the app starts with an invalid profile in the
//! file and says what is wrong with it; an edit with an invalid field is refused with the
//! profiles file's message and changes nothing, an authorize parameter is saved and reaches the
//! sign-in; "Test connection" tells a registered callback URL from an unregistered one;
//! removing a signed-in profile revokes its session.

use std::path::Path;
use std::time::Duration;

use latchkey_core::config::Config;
use latchkey_testkit::webdriver::{click, fill, js_string, wait_js, AppEnv, AppUnderTest, UrlHook};
use latchkey_testkit::{cognito_profile, free_port, secret_tool_items, start_cognito};

const WAIT: Duration = Duration::from_secs(30);

/// A profile the file holds in an invalid form: a token would go to this API in cleartext.
const BROKEN: &str = r#"
[profiles.broken]
region = "eu-west-1"
user_pool_id = "eu-west-1_AbC123"
domain = "myapp"
client_id = "abc"
api_base_urls = ["http://api.example.com/"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_profiles_invalid_edit_test_connection_remove() {
    let (idp, cog) = start_cognito(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let mut config = Config::empty(&path);
    config.insert(cog.clone());
    config.insert(cognito_profile(&idp, "spare", free_port()));
    config.default = Some("cog".into());
    config.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap() + BROKEN;
    std::fs::write(&path, &text).unwrap();
    let broken_message = Config::load(&path)
        .expect_err("the file holds an invalid profile")
        .to_string();
    assert!(broken_message.contains("api_base_urls"), "{broken_message}");

    let hook = UrlHook::new(dir.path());
    let service = format!("latchkey-app-profiles-{}", std::process::id());
    let mut app_env = AppEnv::default();
    app_env.set("LATCHKEY_CONFIG", &path);
    app_env.set("LATCHKEY_KEYCHAIN_SERVICE", &service);
    app_env.set("LATCHKEY_BROWSER_COMMAND", &hook.script);
    app_env.set("LATCHKEY_RUNTIME_DIR", dir.path().join("run"));
    app_env.set("XDG_DATA_HOME", dir.path().join("data"));

    let windows = AppUnderTest::start_with_env(
        Path::new(env!("CARGO_BIN_EXE_latchkey-app")),
        dir.path(),
        &app_env,
    )
    .await;
    let (app, browser) = (windows.app.clone(), windows.browser.clone());

    // It starts on the default profile, and lists the invalid one with the file's message.
    let banner = js_string(&app, "document.getElementById('banner').textContent").await;
    assert!(
        banner.contains("“broken”") && banner.contains(&broken_message),
        "the window says what is wrong at once: {banner}"
    );
    assert_eq!(
        js_string(
            &app,
            "Array.from(document.querySelectorAll('#profile-select option')).map(o => o.value).join(',')"
        )
        .await,
        "cog,spare",
        "only usable profiles can be picked"
    );
    click(&app, "#nav-settings").await;
    wait_js(
        &app,
        "document.querySelector('#profiles li[data-profile=\"broken\"] .reason')",
        "the invalid profile listed",
    )
    .await;
    assert_eq!(
        js_string(
            &app,
            "document.querySelector('#profiles li[data-profile=\"broken\"] .reason').textContent"
        )
        .await,
        broken_message
    );

    // Edit: an http:// API URL that is not loopback is refused with the file's message.
    click(
        &app,
        "#profiles li[data-profile=\"cog\"] button[data-action=\"edit\"]",
    )
    .await;
    wait_js(
        &app,
        "document.getElementById('pf-client').value !== ''",
        "the edit form",
    )
    .await;
    fill(&app, "#pf-api", "http://api.example.com/").await;
    click(&app, "#pf-save").await;
    wait_js(
        &app,
        "!document.getElementById('pf-error').hidden",
        "the refusal",
    )
    .await;
    let mut draft = Config::load_lenient(&path).unwrap().draft("cog").unwrap();
    draft.api_base_urls = Some(vec!["http://api.example.com/".into()]);
    let expected = draft.validate("cog", &path).unwrap_err().to_string();
    assert_eq!(
        js_string(&app, "document.getElementById('pf-error').textContent").await,
        expected
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "nothing was written"
    );

    // Authorize parameters: one of Latchkey's own is refused by name, another one is saved.
    fill(&app, "#pf-api", &idp.base_url()).await;
    app.execute("document.getElementById('pf-advanced').open = true", vec![])
        .await
        .unwrap();
    fill(&app, "#pf-authorize-params", "state=mine").await;
    click(&app, "#pf-save").await;
    wait_js(
        &app,
        "!document.getElementById('pf-error').hidden",
        "the reserved parameter refused",
    )
    .await;
    let mut draft = Config::load_lenient(&path).unwrap().draft("cog").unwrap();
    draft.authorize_params = Some([("state".to_owned(), "mine".to_owned())].into());
    let expected = draft.validate("cog", &path).unwrap_err().to_string();
    assert!(expected.contains("authorize_params.state"), "{expected}");
    assert_eq!(
        js_string(&app, "document.getElementById('pf-error').textContent").await,
        expected
    );
    fill(&app, "#pf-authorize-params", "lang=fr").await;
    click(&app, "#pf-save").await;
    wait_js(
        &app,
        "!document.getElementById('pf-result').hidden",
        "saved",
    )
    .await;
    let saved = Config::load_lenient(&path).unwrap();
    assert_eq!(
        saved.profile("cog").unwrap().authorize_params,
        [("lang".to_owned(), "fr".to_owned())].into()
    );
    assert!(saved.invalid.contains_key("broken"), "the broken one kept");

    // Test connection: the registered callback URL passes, another port's is not registered.
    click(&app, "#pf-test").await;
    wait_js(
        &app,
        "document.querySelector('#pf-probe li[data-step=\"callback\"]')",
        "the probe",
    )
    .await;
    assert_eq!(
        js_string(
            &app,
            "document.querySelector('#pf-probe li[data-step=\"callback\"]').dataset.status"
        )
        .await,
        "ok"
    );
    let unregistered = free_port();
    fill(&app, "#pf-ports", &unregistered.to_string()).await;
    app.execute(
        "document.getElementById('pf-probe').replaceChildren()",
        vec![],
    )
    .await
    .unwrap();
    click(&app, "#pf-test").await;
    wait_js(
        &app,
        "document.querySelector('#pf-probe li[data-step=\"callback\"]')",
        "the probe of an unregistered callback URL",
    )
    .await;
    assert_eq!(
        js_string(
            &app,
            "document.querySelector('#pf-probe li[data-step=\"callback\"]').dataset.status"
        )
        .await,
        "fail"
    );
    assert!(
        js_string(
            &app,
            "document.querySelector('#pf-probe li[data-step=\"callback\"] .reason').textContent"
        )
        .await
        .contains(&format!("http://localhost:{unregistered}/callback")),
        "the step names the URL"
    );
    click(&app, "#pf-cancel-edit").await;

    // Sign in on `cog`, switch to `spare`, remove `cog`: its refresh token is revoked at the
    // provider and gone from the keychain.
    click(&app, "#nav-session").await;
    click(&app, "#signin").await;
    let authorize = hook.nth_url(1, WAIT);
    assert!(
        authorize.contains("&lang=fr"),
        "the saved parameter: {authorize}"
    );
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
    click(&app, "#nav-settings").await;
    click(
        &app,
        "#profiles li[data-profile=\"spare\"] button[data-action=\"use\"]",
    )
    .await;
    wait_js(
        &app,
        "document.querySelector('#profiles li[data-profile=\"cog\"] button[data-action=\"remove\"]')",
        "cog no longer active",
    )
    .await;
    let revocations = idp.stats().revocations;
    click(
        &app,
        "#profiles li[data-profile=\"cog\"] button[data-action=\"remove\"]",
    )
    .await;
    click(&app, "#modal-ok").await;
    wait_js(
        &app,
        "!document.querySelector('#profiles li[data-profile=\"cog\"]')",
        "cog removed",
    )
    .await;
    assert_eq!(
        idp.stats().revocations,
        revocations + 1,
        "its refresh token revoked"
    );
    assert!(
        !secret_tool_items(&service).contains("cog"),
        "nothing of cog left in the keychain: {}",
        secret_tool_items(&service)
    );
    let after = Config::load_lenient(&path).unwrap();
    assert!(after.profiles.contains_key("spare") && !after.profiles.contains_key("cog"));
    assert!(after.invalid.contains_key("broken"), "the broken one kept");

    windows.close().await;
}
