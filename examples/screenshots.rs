//! Writes PNGs of the app's main screens to docs/screenshots/ (run by `cargo xtask screenshots`,
//! which provides Xvfb, a D-Bus session with gnome-keyring, chromedriver and tauri-driver).
//!
//! It drives the real app on its embedded development provider exactly like the end-to-end
//! test does, and takes a WebDriver screenshot at each screen.

#[path = "../tests/it/support/mod.rs"]
#[allow(unused_macros, unused_imports)]
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::Client;
use latchkey_testkit::webdriver::{click, fill, wait_js, AppUnderTest, UrlHook};

const WAIT: Duration = Duration::from_secs(30);

async fn shot(client: &Client, dir: &Path, name: &str) {
    // A notice from an earlier step would cover part of the screen (hidden before the pause,
    // so the webview has repainted without it).
    let _ = client
        .execute(
            "const t = document.getElementById('toast'); if (t) t.hidden = true;",
            vec![],
        )
        .await;
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

    let app_binary = support::project_root().join("target/debug/latchkey-app");
    let windows = AppUnderTest::start(&app_binary, dir.path()).await;
    let (app, browser) = (windows.app.clone(), windows.browser.clone());

    let _ = app.screenshot().await; // throwaway: the first one can show the initial page
    shot(&app, &out, "sign-in").await;

    click(&app, "#signin").await;
    let authorize = hook.nth_url(1, WAIT);
    wait_js(
        &app,
        "!document.getElementById('waiting').hidden",
        "a screen to shoot",
    )
    .await;
    shot(&app, &out, "waiting").await;

    browser.goto(&authorize).await.unwrap();
    fill(&browser, "#username", latchkey_devidp::DEMO_USERNAME).await;
    fill(&browser, "#password", latchkey_devidp::DEMO_PASSWORD).await;
    shot(&browser, &out, "hosted-ui").await;
    click(&browser, "#signin").await;
    wait_js(
        &app,
        "!document.getElementById('signed-in').hidden",
        "a screen to shoot",
    )
    .await;
    shot(&app, &out, "session").await;

    click(&app, "#nav-inspector").await;
    wait_js(
        &app,
        "document.querySelectorAll('#checks li').length > 5",
        "a screen to shoot",
    )
    .await;
    shot(&app, &out, "inspector").await;

    click(&app, "#nav-aws").await;
    wait_js(
        &app,
        "document.getElementById('aws-snippet').textContent.includes('credential_process')",
        "a screen to shoot",
    )
    .await;
    shot(&app, &out, "aws-credentials").await;

    click(&app, "#nav-console").await;
    click(&app, "[data-path=\"/demo-api/me\"]").await;
    click(&app, "#api-send").await;
    wait_js(
        &app,
        "document.getElementById('api-status').textContent !== ''",
        "a response",
    )
    .await;
    fill(&app, "#api-save-name", "Who am I").await;
    click(&app, "#api-save").await;
    app.execute(
        "document.getElementById('api-status').textContent = ''",
        vec![],
    )
    .await
    .unwrap();
    click(&app, "[data-path=\"/demo-aws-api/me\"]").await;
    click(&app, "#api-send").await;
    wait_js(
        &app,
        "document.getElementById('api-status').textContent !== ''",
        "a screen to shoot",
    )
    .await;
    shot(&app, &out, "api-console").await;

    click(&app, "#nav-activity").await;
    wait_js(
        &app,
        "document.querySelectorAll('#activity li').length > 0",
        "a screen to shoot",
    )
    .await;
    shot(&app, &out, "activity").await;

    click(&app, "#nav-settings").await;
    // The form shows only for "New profile" or "Edit": shoot the new one's.
    click(&app, "#pf-new").await;
    app.execute(
        "document.querySelector('main').scrollTop = 0; document.getElementById('pf-name').blur()",
        vec![],
    )
    .await
    .unwrap();
    shot(&app, &out, "settings").await;

    click(&app, "#nav-session").await;
    click(&app, "#signout").await;
    wait_js(
        &app,
        "!document.getElementById('signed-out').hidden",
        "a screen to shoot",
    )
    .await;
    windows.close().await;
}
