//! Writes PNGs of the app's main screens to docs/screenshots/ (run by `cargo xtask screenshots`,
//! which provides Xvfb, a D-Bus session with gnome-keyring, chromedriver and tauri-driver).
//!
//! It drives the real app on its embedded development provider exactly like the end-to-end
//! test does, and takes a WebDriver screenshot at each screen.

#[path = "../tests/support/mod.rs"]
#[allow(unused_macros, unused_imports)]
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, Locator};
use latchkey_testkit::webdriver::{
    app_window, chromium, start_chromedriver, start_tauri_driver, UrlHook,
};

const WAIT: Duration = Duration::from_secs(30);

async fn wait_js(client: &Client, script: &str) {
    let deadline = Instant::now() + WAIT;
    while !matches!(
        client
            .execute(&format!("return Boolean({script});"), vec![])
            .await,
        Ok(serde_json::Value::Bool(true))
    ) {
        assert!(Instant::now() < deadline, "timed out waiting for {script}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn click(client: &Client, css: &str) {
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn fill(client: &Client, css: &str, text: &str) {
    let element = client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    element.clear().await.unwrap();
    element.send_keys(text).await.unwrap();
}

async fn shot(client: &Client, dir: &Path, name: &str) {
    // Let transitions and fonts settle; the first screenshot of a session can be stale.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let png = client.screenshot().await.expect("screenshot");
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).expect("write screenshot");
    println!("wrote {}", path.display());
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let out: PathBuf = support::project_root().join("docs/screenshots");
    std::fs::create_dir_all(&out).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let hook = UrlHook::new(dir.path());
    std::env::set_var("LATCHKEY_CONFIG", dir.path().join("config.toml"));
    std::env::set_var(
        "LATCHKEY_KEYCHAIN_SERVICE",
        format!("latchkey-screenshots-{}", std::process::id()),
    );
    std::env::set_var("LATCHKEY_BROWSER_COMMAND", &hook.script);
    std::env::set_var("LATCHKEY_RUNTIME_DIR", dir.path().join("run"));
    std::env::set_var("XDG_DATA_HOME", dir.path().join("data"));

    let chromedriver = start_chromedriver();
    let browser = chromium(&chromedriver, &dir.path().join("chromium")).await;
    browser
        .update_timeouts(TimeoutConfiguration::new(
            None,
            Some(Duration::from_secs(10)),
            None,
        ))
        .await
        .unwrap();
    let tauri_driver = start_tauri_driver();
    let app_binary = support::project_root().join("target/debug/latchkey-app");
    let app = app_window(&tauri_driver, &app_binary).await;

    wait_js(&app, "!document.getElementById('signed-out').hidden").await;
    let _ = app.screenshot().await; // throwaway: the first one can show the initial page
    shot(&app, &out, "sign-in").await;

    click(&app, "#signin").await;
    let authorize = hook.nth_url(1, WAIT);
    wait_js(&app, "!document.getElementById('waiting').hidden").await;
    shot(&app, &out, "waiting").await;

    browser.goto(&authorize).await.unwrap();
    fill(&browser, "#username", latchkey_devidp::DEMO_USERNAME).await;
    fill(&browser, "#password", latchkey_devidp::DEMO_PASSWORD).await;
    shot(&browser, &out, "hosted-ui").await;
    click(&browser, "#signin").await;
    wait_js(&app, "!document.getElementById('signed-in').hidden").await;
    shot(&app, &out, "session").await;

    click(&app, "#nav-inspector").await;
    wait_js(&app, "document.querySelectorAll('#checks li').length > 5").await;
    shot(&app, &out, "inspector").await;

    click(&app, "#nav-aws").await;
    wait_js(
        &app,
        "document.getElementById('aws-snippet').textContent.includes('credential_process')",
    )
    .await;
    shot(&app, &out, "aws-credentials").await;

    click(&app, "#nav-console").await;
    click(&app, "[data-path=\"/demo-aws-api/me\"]").await;
    click(&app, "#api-send").await;
    wait_js(
        &app,
        "document.getElementById('api-status').textContent !== ''",
    )
    .await;
    shot(&app, &out, "api-console").await;

    click(&app, "#nav-activity").await;
    wait_js(&app, "document.querySelectorAll('#activity li').length > 0").await;
    shot(&app, &out, "activity").await;

    click(&app, "#nav-settings").await;
    shot(&app, &out, "settings").await;

    click(&app, "#nav-session").await;
    click(&app, "#signout").await;
    wait_js(&app, "!document.getElementById('signed-out').hidden").await;
    app.close().await.ok();
    browser.close().await.ok();
}
