//! The real app window (tauri-driver + WebKitWebDriver under Xvfb, Chromium as the system
//! browser) through a day of API work on the embedded development provider: the inspector's
//! payload, copying the token, the provider's userinfo, expectations failing then passing, a
//! pasted token verified against a PEM key and a JWKS the user gives, the API console's saved
//! requests and history (re-run, and no token in its file), copy as curl, cancel and timeout,
//! the clipboard (a copied token is marked secret for clipboard managers, a curl command not),
//! "Sign in as another user" (the hosted page asks for a password again) and "Sign out
//! everywhere" (Cognito's GlobalSignOut reaches the provider).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fantoccini::Client;
use latchkey_testkit::webdriver::{click, fill, js_string, wait_js, AppEnv, AppUnderTest, UrlHook};
use latchkey_testkit::Forger;
use serde_json::{json, Value};

const MALLORY: &str = "mallory@latchkey.dev";
const MALLORY_PASSWORD: &str = "Mallory-pass-1";
const CONTROL_TOKEN: &str = "app-console-test-control-token";
const WAIT: Duration = Duration::from_secs(30);

fn write_users(path: &Path) {
    std::fs::write(
        path,
        format!(
            r#"
[[users]]
username = "{demo}"
password = "{demo_pw}"
groups = ["users", "admins"]

[[users]]
username = "{MALLORY}"
password = "{MALLORY_PASSWORD}"
groups = ["users"]
"#,
            demo = latchkey_devidp::DEMO_USERNAME,
            demo_pw = latchkey_devidp::DEMO_PASSWORD,
        ),
    )
    .unwrap();
}

/// The embedded provider's counters, through its control endpoint (the test set its secret).
async fn stats(base: &str) -> Value {
    latchkey_testkit::http()
        .get(format!("{}/_devidp/stats", base.trim_end_matches('/')))
        .header(latchkey_devidp::CONTROL_TOKEN_HEADER, CONTROL_TOKEN)
        .send()
        .await
        .expect("the embedded provider answers")
        .json()
        .await
        .expect("stats as JSON")
}

fn count(stats: &Value, name: &str) -> u64 {
    stats[name]
        .as_u64()
        .unwrap_or_else(|| panic!("no counter {name}"))
}

/// Sets a form field's value from the test (multi-line text such as a PEM key) and tells the
/// page it changed.
async fn set_value(app: &Client, id: &str, value: &str) {
    app.execute(
        "const e = document.getElementById(arguments[0]); e.value = arguments[1]; \
         e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change'));",
        vec![json!(id), json!(value)],
    )
    .await
    .expect("set the field");
}

/// Picks where the pasted token's keys come from (`provider`, `jwks_url`, `jwks`, `pem`).
async fn verify_with(app: &Client, source: &str) {
    app.execute(
        "const r = document.querySelector(`input[name=\"verify-with\"][value=\"${arguments[0]}\"]`); \
         r.checked = true; r.dispatchEvent(new Event('change'));",
        vec![json!(source)],
    )
    .await
    .expect("choose the key source");
}

/// Inspects the pasted token and returns the signature check's class (`pass` or `fail`).
async fn pasted_signature_check(app: &Client) -> String {
    app.execute(
        "document.getElementById('jwt-view').hidden = true; \
         document.getElementById('checks').replaceChildren();",
        vec![],
    )
    .await
    .unwrap();
    click(app, "#paste-inspect").await;
    wait_js(
        app,
        "document.querySelector('#checks li[data-check=\"signature\"]')",
        "the pasted token's checks",
    )
    .await;
    js_string(
        app,
        "document.querySelector('#checks li[data-check=\"signature\"]').className",
    )
    .await
}

/// The class of the expectation's row in the checklist, once it is there.
async fn expectation_row(app: &Client, expectation: &str) -> String {
    let css = format!("#checks li[data-expectation=\"{expectation}\"]");
    wait_js(
        app,
        &format!("document.querySelector('{css}')"),
        &format!("expectation {expectation} judged"),
    )
    .await;
    js_string(app, &format!("document.querySelector('{css}').className")).await
}

async fn history_len(app: &Client) -> usize {
    js_string(app, "document.querySelectorAll('#api-history li').length")
        .await
        .parse()
        .unwrap()
}

/// A loopback "API" that accepts connections and never answers; stopped when dropped.
struct SilentApi {
    url: String,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SilentApi {
    fn start() -> SilentApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/slow", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !stopping.load(Ordering::SeqCst) {
                if let Ok((connection, _)) = listener.accept() {
                    held.push(connection);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        SilentApi {
            url,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for SilentApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `xclip -selection clipboard -o ARGS…`: what the clipboard's owner (the app) serves, asked
/// over X11 as a clipboard manager asks; an empty clipboard is "".
pub(crate) fn xclip(args: &[&str]) -> String {
    let out = std::process::Command::new("xclip")
        .args(["-selection", "clipboard", "-o"])
        .args(args)
        .output()
        .expect("xclip is installed (xtask's TEST_PACKAGES)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The formats the clipboard is offered in (X11 `TARGETS`): a clipboard manager reads them
/// before it keeps a copy.
pub(crate) fn clipboard_targets() -> Vec<String> {
    xclip(&["-t", "TARGETS"])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The hint that asks clipboard managers (KDE's Klipper and those following it) to keep the
/// content out of their history.
pub(crate) const SECRET_HINT: &str = "x-kde-passwordManagerHint";

/// Waits until the clipboard holds `text` (the app writes it after the window asked).
async fn wait_for_clipboard(text: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    while xclip(&[]) != text {
        assert!(
            std::time::Instant::now() < deadline,
            "the clipboard never held the copied text"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The console file of profile `Demo` under the app's data folder.
fn console_file(data: &Path) -> PathBuf {
    data.join("dev.latchkey.desktop/profiles/Demo/console.json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_inspector_console_and_session_actions() {
    let dir = tempfile::tempdir().unwrap();
    let hook = UrlHook::new(dir.path());
    let users = dir.path().join("users.toml");
    write_users(&users);
    let config = dir.path().join("config.toml");
    let data = dir.path().join("data");
    let service = format!("latchkey-app-console-{}", std::process::id());
    let mut app_env = AppEnv::default();
    app_env.set("LATCHKEY_CONFIG", &config);
    app_env.set("LATCHKEY_KEYCHAIN_SERVICE", &service);
    app_env.set("LATCHKEY_BROWSER_COMMAND", &hook.script);
    app_env.set("LATCHKEY_DEVIDP_USERS", &users);
    app_env.set(latchkey_devidp::CONTROL_TOKEN_ENV, CONTROL_TOKEN);
    app_env.set("LATCHKEY_RUNTIME_DIR", dir.path().join("run"));
    app_env.set("XDG_DATA_HOME", &data);

    // A token of the test's own, for the inspector and as text a user pastes in a header.
    let forger = Forger::new("pasted-key");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = forger.sign(
        json!({"alg": "ES256", "typ": "JWT", "kid": "pasted-key"}),
        json!({"iss": "https://issuer.example", "sub": "someone", "aud": "api",
               "iat": now, "exp": now + 600}),
    );
    let windows = AppUnderTest::start_with_env(
        Path::new(env!("CARGO_BIN_EXE_latchkey-app")),
        dir.path(),
        &app_env,
    )
    .await;
    let (app, browser) = (windows.app.clone(), windows.browser.clone());

    let base = js_string(&app, "document.getElementById('api-base').textContent").await;
    click(&app, "#signin").await;
    browser.goto(&hook.nth_url(1, WAIT)).await.unwrap();
    fill(&browser, "#username", latchkey_devidp::DEMO_USERNAME).await;
    fill(&browser, "#password", latchkey_devidp::DEMO_PASSWORD).await;
    click(&browser, "#signin").await;
    wait_js(
        &app,
        "!document.getElementById('signed-in').hidden",
        "signed in",
    )
    .await;

    // Inspector: the payload pane shows the ID token's claims (it was always empty).
    click(&app, "#nav-inspector").await;
    wait_js(
        &app,
        "document.getElementById('jwt-payload').textContent.length > 2",
        "the payload pane",
    )
    .await;
    let payload: Value = serde_json::from_str(
        &js_string(&app, "document.getElementById('jwt-payload').textContent").await,
    )
    .expect("the payload pane holds the claims as JSON");
    assert_eq!(payload["token_use"], "id");
    assert_eq!(payload["email"], latchkey_devidp::DEMO_USERNAME);

    // Copy token: put on the clipboard from Rust after the window asked, cleared later, and
    // offered with the hint that keeps it out of clipboard managers' history.
    click(&app, "#copy-token").await;
    click(&app, "#modal-ok").await;
    wait_js(
        &app,
        "document.getElementById('copy-warning').textContent.includes('cleared in 30 s')",
        "the token copied",
    )
    .await;
    let targets = clipboard_targets();
    assert!(
        targets.iter().any(|t| t == "UTF8_STRING") && targets.iter().any(|t| t == SECRET_HINT),
        "a copied token is marked secret: {targets:?}"
    );

    // UserInfo: what the provider's endpoint answers for this user.
    click(&app, "#tab-userinfo").await;
    wait_js(
        &app,
        "document.querySelector('#userinfo tr[data-attribute=\"email\"]')",
        "the userinfo answer",
    )
    .await;
    assert_eq!(
        js_string(
            &app,
            "document.querySelector('#userinfo tr[data-attribute=\"email\"] td.value').textContent"
        )
        .await,
        latchkey_devidp::DEMO_USERNAME
    );
    click(&app, "#tab-id").await;
    wait_js(
        &app,
        "!document.getElementById('jwt-view').hidden",
        "back on the ID token",
    )
    .await;

    // Expectations: one the token fails, shown failed next to the checks; removed; one it
    // meets, shown met and written to the profile in the profiles file.
    fill(&app, "#expect-input", "group=auditors").await;
    click(&app, "#expect-add").await;
    assert_eq!(expectation_row(&app, "group=auditors").await, "expect fail");
    click(
        &app,
        "#expect-list li[data-expectation=\"group=auditors\"] button",
    )
    .await;
    wait_js(
        &app,
        "!document.querySelector('#checks li[data-expectation=\"group=auditors\"]')",
        "the expectation removed",
    )
    .await;
    fill(&app, "#expect-input", "group=admins").await;
    click(&app, "#expect-add").await;
    assert_eq!(expectation_row(&app, "group=admins").await, "expect pass");
    let file = std::fs::read_to_string(&config).unwrap();
    assert!(file.contains("expect = [\"group=admins\"]"), "{file}");

    // A pasted token, verified against keys the user gives; nothing is fetched for them.
    click(&app, "#tab-paste").await;
    set_value(&app, "paste-input", &token).await;
    verify_with(&app, "pem").await;
    set_value(&app, "verify-pem", &forger.public_pem()).await;
    assert_eq!(pasted_signature_check(&app).await, "pass", "its own key");
    set_value(&app, "verify-pem", &Forger::new("other").public_pem()).await;
    assert_eq!(
        pasted_signature_check(&app).await,
        "fail",
        "another key does not verify it"
    );
    verify_with(&app, "jwks").await;
    set_value(
        &app,
        "verify-jwks",
        &json!({"keys": [forger.jwk()]}).to_string(),
    )
    .await;
    assert_eq!(
        pasted_signature_check(&app).await,
        "pass",
        "a JWKS document"
    );

    // API console: a request sent, saved, and re-run from the history; the file holds no token.
    // A header holding a token-like value and a query parameter, from the editors.
    click(&app, "#nav-console").await;
    fill(&app, "#api-url", "/demo-api/me").await;
    app.execute(
        "document.getElementById('api-headers-box').open = true; \
         document.getElementById('api-params-box').open = true;",
        vec![],
    )
    .await
    .unwrap();
    click(&app, "#api-add-header").await;
    fill(&app, "#api-headers .pair .pair-name", "X-Request-Note").await;
    fill(
        &app,
        "#api-headers .pair .pair-value",
        &format!("token {token}"),
    )
    .await;
    click(&app, "#api-add-param").await;
    fill(&app, "#api-params .pair .pair-name", "page").await;
    fill(&app, "#api-params .pair .pair-value", "2").await;
    click(&app, "#api-send").await;
    wait_js(
        &app,
        "document.getElementById('api-status').textContent === '200'",
        "the first call",
    )
    .await;
    fill(&app, "#api-save-name", "who am I").await;
    click(&app, "#api-save").await;
    wait_js(
        &app,
        "document.querySelector('#api-saved li[data-saved=\"who am I\"]')",
        "saved",
    )
    .await;
    wait_js(
        &app,
        "document.querySelectorAll('#api-history li').length === 1",
        "one call in the history",
    )
    .await;
    // Another URL in the form; the history's entry brings its own back and sends it.
    fill(&app, "#api-url", "/demo-api/nowhere").await;
    app.execute(
        "document.getElementById('api-status').textContent = ''",
        vec![],
    )
    .await
    .unwrap();
    click(
        &app,
        "#api-history li[data-history=\"0\"] button[data-action=\"rerun\"]",
    )
    .await;
    wait_js(
        &app,
        "document.querySelectorAll('#api-history li').length === 2",
        "the re-run in the history",
    )
    .await;
    assert_eq!(
        js_string(&app, "document.getElementById('api-url').value").await,
        "/demo-api/me"
    );
    assert_eq!(
        js_string(&app, "document.getElementById('api-status').textContent").await,
        "200"
    );
    click(
        &app,
        "#api-saved li[data-saved=\"who am I\"] button[data-action=\"run\"]",
    )
    .await;
    wait_js(
        &app,
        "document.querySelectorAll('#api-history li').length === 3",
        "the saved request run",
    )
    .await;
    assert_eq!(history_len(&app).await, 3);
    let stored = std::fs::read_to_string(console_file(&data)).expect("the console's file");
    let stored_json: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored_json["saved"][0]["name"], "who am I");
    assert_eq!(stored_json["history"].as_array().unwrap().len(), 3);
    assert!(
        !stored.contains("eyJ"),
        "no token in the console's file: {stored}"
    );
    let saved = &stored_json["saved"][0]["request"];
    assert_eq!(saved["params"], json!([["page", "2"]]));
    assert_eq!(
        saved["headers"],
        json!([["X-Request-Note", "token <token removed>"]])
    );

    // Copy as curl: the CLI is named where the token goes, the token itself is not there.
    click(&app, "#api-curl-copy").await;
    wait_js(
        &app,
        "document.getElementById('api-curl').value.startsWith('curl')",
        "the curl command",
    )
    .await;
    let curl = js_string(&app, "document.getElementById('api-curl').value").await;
    assert!(
        curl.contains(
            "-H @<(printf '%s: %s\\n' 'Authorization' \"$(latchkey token --profile 'Demo')\")"
        ),
        "{curl}"
    );
    wait_for_clipboard(&curl).await;
    let targets = clipboard_targets();
    assert!(
        targets.iter().any(|t| t == "UTF8_STRING") && !targets.iter().any(|t| t == SECRET_HINT),
        "a curl command is no secret: {targets:?}"
    );
    assert!(
        curl.ends_with(&format!("'{base}demo-api/me?page=2'")),
        "{curl}"
    );
    assert!(
        curl.contains("-H 'X-Request-Note: token <token removed>'"),
        "{curl}"
    );
    assert!(!curl.contains("eyJ"), "no token in the command: {curl}");

    // Cancel and timeout, against an API that takes the connection and never answers (sending
    // the token there is asked for once per call: it is not one of the profile's APIs).
    let silent = SilentApi::start();
    fill(&app, "#api-url", &silent.url).await;
    click(&app, "#api-send").await;
    click(&app, "#modal-ok").await;
    wait_js(
        &app,
        "!document.getElementById('api-cancel').hidden",
        "a request in flight",
    )
    .await;
    click(&app, "#api-cancel").await;
    wait_js(
        &app,
        "document.getElementById('api-cancel').hidden",
        "the request cancelled",
    )
    .await;
    assert!(
        js_string(&app, "document.getElementById('error-text').textContent")
            .await
            .contains("cancelled"),
        "the window says the request was cancelled"
    );
    wait_js(
        &app,
        "document.querySelectorAll('#api-history li').length === 4",
        "the cancelled call in the history",
    )
    .await;
    fill(&app, "#api-timeout", "1").await;
    click(&app, "#api-send").await;
    click(&app, "#modal-ok").await;
    wait_js(
        &app,
        "document.querySelectorAll('#api-history li').length === 5",
        "the timed-out call in the history",
    )
    .await;
    assert!(
        js_string(&app, "document.getElementById('error-text').textContent")
            .await
            .contains("timed out"),
        "the window says the request timed out"
    );
    let history: Value =
        serde_json::from_str(&std::fs::read_to_string(console_file(&data)).unwrap()).unwrap();
    assert_eq!(history["history"][0]["request"]["timeout_secs"], 1);
    assert_eq!(history["history"][0]["status"], Value::Null);
    assert_eq!(history["history"][1]["status"], Value::Null);
    drop(silent);

    // Sign in as another user: the provider's logout page ends the browser's session, so the
    // hosted page asks for a password (no silent sign-in with the old cookie).
    let before = stats(&base).await;
    click(&app, "#nav-session").await;
    click(&app, "#switch-user").await;
    let switch = hook.nth_url(2, WAIT);
    assert!(switch.contains("/logout?"), "{switch}");
    browser.goto(&switch).await.unwrap();
    fill(&browser, "#username", MALLORY).await;
    fill(&browser, "#password", MALLORY_PASSWORD).await;
    click(&browser, "#signin").await;
    wait_js(
        &app,
        &format!("document.getElementById('user-email').textContent === '{MALLORY}'"),
        "signed in as the other user",
    )
    .await;
    let after = stats(&base).await;
    assert_eq!(
        count(&after, "logins"),
        count(&before, "logins") + 1,
        "a password sign-in"
    );
    assert_eq!(
        count(&after, "cookie_logins"),
        count(&before, "cookie_logins"),
        "no silent sign-in with the first user's cookie"
    );

    // Sign out everywhere: Cognito's GlobalSignOut is called, then the logout page opens.
    click(&app, "#signout-everywhere").await;
    click(&app, "#modal-ok").await;
    wait_js(
        &app,
        "!document.getElementById('signed-out').hidden",
        "signed out everywhere",
    )
    .await;
    let logout = hook.nth_url(3, WAIT);
    assert!(logout.contains("/logout?"), "{logout}");
    let last = stats(&base).await;
    assert_eq!(
        count(&last, "global_sign_outs"),
        count(&after, "global_sign_outs") + 1
    );

    windows.close().await;
}
