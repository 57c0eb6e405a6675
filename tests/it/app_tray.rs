//! The tray, read where it lives: the app's AppIndicator registers with a StatusNotifierWatcher
//! (the test kit's, standing in for a panel) and publishes its menu over dbusmenu, which the
//! test reads and clicks. Closing the window keeps the app and its agent; Quit ends both.

use std::path::Path;

use latchkey_testkit::tray::{TestTray, TrayEntry};
use latchkey_testkit::webdriver::{wait_js, AppUnderTest};
use latchkey_testkit::window_manager::close_windows_titled;

use crate::app_agent::{
    holder_pid, keep_in_tray_box, program_of, sign_in_through_the_window, wait_until_gone, Scene,
};
use crate::app_console::{clipboard_targets, xclip, SECRET_HINT};

fn labels(entries: &[TrayEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.label.as_str()).collect()
}

/// The Demo profile's state as the agent holds it (`latchkey agent status`).
async fn wait_for_agent_state(scene: &Scene, wanted: &str) {
    for _ in 0..300 {
        let status = scene.agent_status().expect("the agent answers");
        let demo = status["profiles"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["profile"] == "Demo");
        if demo.is_some_and(|p| p["state"] == wanted) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the agent never held Demo as {wanted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tray_menu_follows_the_session_and_close_keeps_quit_ends_the_agent() {
    let scene = Scene::new("tray");
    // The tray comes up in this test's turn (the apps of the binary take turns), before the
    // app looks for one.
    let (windows, tray) = AppUnderTest::start_after(
        Path::new(env!("CARGO_BIN_EXE_latchkey-app")),
        scene.dir.path(),
        &scene.app_env(),
        TestTray::start,
    )
    .await;
    let (app, browser) = (windows.app.clone(), windows.browser.clone());
    let menu = tray.menu().await;

    // Signed out: the profile's state and a way in, then Open and Quit.
    menu.wait_for("Demo: signed out").await;
    let entries = menu.entries();
    let shown: Vec<&str> = labels(&entries)
        .into_iter()
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        shown,
        vec![
            "Demo: signed out",
            "Sign in to Demo…",
            "Open Latchkey",
            "Quit Latchkey"
        ],
        "{entries:?}"
    );
    assert!(!entries[0].enabled, "a state line is not clickable");

    // A sign-in in the window reaches the menu (an event, no polling in the app).
    sign_in_through_the_window(&scene, &app, &browser).await;
    let sign_out = menu.wait_for("Sign out of Demo").await;

    // Copy token: the ID token on the clipboard, marked secret for clipboard managers.
    menu.click(&menu.wait_for("Copy token of Demo").await);
    let token = scene.cli(&["token"]);
    assert_eq!(token.status.code(), Some(0), "{token:?}");
    let token = String::from_utf8(token.stdout).unwrap();
    for _ in 0..300 {
        if xclip(&[]) == token.trim() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        xclip(&[]) == token.trim(),
        "the clipboard holds the ID token"
    );
    assert!(clipboard_targets().iter().any(|t| t == SECRET_HINT));

    // Sign out from the tray: the CLI (through the agent) sees it.
    menu.click(&sign_out);
    wait_js(
        &app,
        "!document.getElementById('signed-out').hidden",
        "signed out after the tray's Sign out",
    )
    .await;
    wait_for_agent_state(&scene, "signed_out").await;
    menu.wait_for("Sign in to Demo…").await;

    // Closing the window (as a window manager does) keeps the app and its agent: the setting
    // is on by default where there is a tray.
    assert_eq!(keep_in_tray_box(&app).await, "on enabled");
    let holder = holder_pid(&scene.agent_status().unwrap());
    assert_eq!(
        close_windows_titled("Latchkey"),
        1,
        "one app window to close"
    );
    let status = scene
        .agent_status()
        .expect("the agent still answers after the close");
    assert_eq!(holder_pid(&status), holder);
    assert_eq!(program_of(holder), "latchkey-app", "the app still runs");
    assert!(scene.socket().exists());

    // Quit from the tray: the window says what stops; on "Quit" the app and its socket go.
    menu.click(&menu.wait_for("Quit Latchkey").await);
    wait_js(
        &app,
        "!document.getElementById('modal').hidden",
        "quit question",
    )
    .await;
    // Clicked a moment after this call returns: the app ends before it could answer a
    // WebDriver click. Under load even the script's answer can lose that race (WebKitWebDriver
    // then reports an unknown error): what is asserted is the outcome, the app and its socket
    // gone.
    let clicked = app
        .execute(
            "setTimeout(() => document.getElementById('modal-ok').click(), 300)",
            vec![],
        )
        .await;
    if let Err(e) = clicked {
        eprintln!("the Quit click's script got no answer ({e}); the app may have gone first");
    }
    wait_until_gone(holder).await;
    assert!(!scene.socket().exists(), "the agent's socket is gone");
    assert!(scene.agent_status().is_none(), "no agent answers");
    drop(tray);
    windows.close().await;
}
