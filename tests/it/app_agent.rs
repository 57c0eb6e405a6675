//! The app runs the session agent in-process, and there is one holder per user whichever
//! starts first: the app and a headless `latchkey agent`, in either order, the CLI asking.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fantoccini::Client;
use latchkey_core::{OffsetClock, Session, SessionOptions, SignInOptions, SignOutScope};
use latchkey_testkit::webdriver::{click, fill, js_string, wait_js, AppEnv, AppUnderTest, UrlHook};
use latchkey_testkit::window_manager::close_windows_titled;
use latchkey_testkit::{keychain_vault, options_with, start_cognito, HttpBrowser};
use serde_json::Value;

use crate::support::cli::cli_binary;

const WAIT: Duration = Duration::from_secs(30);

/// One user's world for these tests: the profiles file, the keychain service, the agent's
/// directory, the browser hook; the app and every CLI process get the same.
pub struct Scene {
    pub dir: tempfile::TempDir,
    pub hook: UrlHook,
    vars: Vec<(String, OsString)>,
}

impl Scene {
    pub fn new(name: &str) -> Scene {
        let dir = tempfile::tempdir().unwrap();
        let hook = UrlHook::new(dir.path());
        let d = dir.path();
        let vars = vec![
            ("LATCHKEY_CONFIG", d.join("config.toml").into_os_string()),
            (
                "LATCHKEY_KEYCHAIN_SERVICE",
                format!("latchkey-{name}-{}", std::process::id()).into(),
            ),
            ("LATCHKEY_BROWSER_COMMAND", hook.script.clone().into()),
            ("LATCHKEY_RUNTIME_DIR", d.join("run").into_os_string()),
            ("XDG_DATA_HOME", d.join("data").into_os_string()),
        ];
        let vars = vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        Scene { dir, hook, vars }
    }

    pub fn app_env(&self) -> AppEnv {
        let mut env = AppEnv::default();
        for (name, value) in &self.vars {
            env.set(name, value.clone());
        }
        env
    }

    pub fn socket(&self) -> PathBuf {
        self.dir
            .path()
            .join("run")
            .join(latchkey_core::agent::SOCKET_NAME)
    }

    fn cli_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(cli_binary());
        command
            .args(args)
            .envs(self.vars.iter().map(|(k, v)| (k, v)));
        command.env_remove("LATCHKEY_AGENT");
        command
    }

    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_command(args).output().expect("run latchkey")
    }

    /// `latchkey agent status --json`, or `None` while no agent answers.
    pub fn agent_status(&self) -> Option<Value> {
        let out = self.cli(&["agent", "status", "--json"]);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).expect("status JSON"))
    }

    /// The agent's status once one answers (it may still be starting).
    pub async fn wait_for_agent(&self) -> Value {
        for _ in 0..200 {
            if let Some(status) = self.agent_status() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no agent answered on {}", self.socket().display());
    }

    /// `latchkey agent` in the background, stopped (SIGTERM) when dropped.
    pub fn headless_agent(&self) -> HeadlessAgent {
        let child = self
            .cli_command(&["agent"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start latchkey agent");
        HeadlessAgent(child)
    }
}

pub struct HeadlessAgent(pub Child);

impl Drop for HeadlessAgent {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

pub fn holder_pid(status: &Value) -> u32 {
    status["agent"]["pid"].as_u64().expect("the agent's pid") as u32
}

/// The program a process runs (`/proc/PID/exe`'s file name).
pub fn program_of(pid: u32) -> String {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
}

/// Who the window says holds the sessions: `ours`, `elsewhere` or `none`.
pub async fn window_holder(app: &Client) -> String {
    wait_js(
        app,
        "document.getElementById('agent-status').dataset.holder !== undefined",
        "the agent's status line",
    )
    .await;
    js_string(
        app,
        "document.getElementById('agent-status').dataset.holder",
    )
    .await
}

/// The Demo profile signed in through the window, the hosted page played by Chromium.
pub async fn sign_in_through_the_window(scene: &Scene, app: &Client, browser: &Client) {
    click(app, "#nav-session").await;
    click(app, "#signin").await;
    let authorize = scene.hook.nth_url(1, WAIT);
    browser
        .goto(&authorize)
        .await
        .expect("open the sign-in page");
    fill(browser, "#username", latchkey_devidp::DEMO_USERNAME).await;
    fill(browser, "#password", latchkey_devidp::DEMO_PASSWORD).await;
    click(browser, "#signin").await;
    wait_js(
        app,
        "!document.getElementById('signed-in').hidden",
        "signed in",
    )
    .await;
}

fn app_binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_latchkey-app"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_started_first_holds_and_answers_the_cli() {
    let scene = Scene::new("agent-app-first");
    let windows =
        AppUnderTest::start_with_env(app_binary(), scene.dir.path(), &scene.app_env()).await;
    let (app, browser) = (windows.app.clone(), windows.browser.clone());

    let status = scene.wait_for_agent().await;
    let holder = holder_pid(&status);
    assert_eq!(
        program_of(holder),
        "latchkey-app",
        "the app holds: {status}"
    );
    assert_eq!(window_holder(&app).await, "ours");
    assert_eq!(status["agent"]["keychain_reads"], 0, "{status}");

    // A headless agent started now finds the app's and leaves: exit 0, no second holder.
    let second = scene.cli(&["agent"]);
    assert_eq!(second.status.code(), Some(0), "{second:?}");
    assert_eq!(holder_pid(&scene.agent_status().unwrap()), holder);

    // `latchkey token` while the app is open: the app's agent answers it (it read the
    // keychain once for it and now holds the signed-in profile).
    sign_in_through_the_window(&scene, &app, &browser).await;
    let token = scene.cli(&["token", "--json"]);
    assert_eq!(token.status.code(), Some(0), "{token:?}");
    let status = scene.agent_status().unwrap();
    assert_eq!(holder_pid(&status), holder);
    assert_eq!(status["agent"]["keychain_reads"], 1, "{status}");
    let held: Vec<(&str, &str)> = status["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["profile"].as_str().unwrap(), p["state"].as_str().unwrap()))
        .collect();
    assert_eq!(held, vec![("Demo", "signed_in")], "{status}");
    let said: Value = serde_json::from_slice(&scene.cli(&["status", "--json"]).stdout).unwrap();
    assert_eq!(
        said["agent"]["pid"].as_u64(),
        Some(u64::from(holder)),
        "{said}"
    );

    scene.cli(&["logout"]);

    // No tray on this desktop (no StatusNotifierWatcher): the setting is off and cannot be
    // turned on, and closing the window quits the app, its agent and socket with it.
    assert_eq!(keep_in_tray_box(&app).await, "off disabled");
    if close_until_gone(&app, holder).await == Closed::ByTheWindowManager {
        // A quit the app carries out itself stops its agent and removes the socket (WebDriver's
        // close ends the process without that; the next agent replaces a stale socket).
        assert!(!scene.socket().exists(), "the agent's socket is gone");
    }
    windows.close().await;
}

/// The "keep running in the tray" checkbox: `on`/`off`, then `enabled`/`disabled`.
pub async fn keep_in_tray_box(app: &Client) -> String {
    let b = "document.getElementById('keep-in-tray')";
    js_string(
        app,
        &format!("({b}.checked ? 'on' : 'off') + ({b}.disabled ? ' disabled' : ' enabled')"),
    )
    .await
}

/// Waits until process `pid` has ended.
pub async fn wait_until_gone(pid: u32) {
    if !gone_within(pid, Duration::from_secs(60)).await {
        panic!("process {pid} ({}) is still running", program_of(pid));
    }
}

async fn gone_within(pid: u32, wait: Duration) -> bool {
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let deadline = std::time::Instant::now() + wait;
    while std::time::Instant::now() < deadline {
        if !proc_dir.exists() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    !proc_dir.exists()
}

/// How the app's window was closed by [`close_until_gone`].
#[derive(Debug, PartialEq, Eq)]
pub enum Closed {
    /// As the title bar's × does (WM_DELETE_WINDOW): the app quit by itself.
    ByTheWindowManager,
    /// Through WebDriver, after the app did not act on WM_DELETE_WINDOW.
    ByWebDriver,
}

/// Closes the app's one window as the title bar's × does and waits until the app (`pid`) has
/// ended. Under load, with no window manager, the app does not always act on WM_DELETE_WINDOW
/// (reproduced: the app's tests beside core's suite in another sandbox; a second one is
/// ignored too, and the app sits idle in its main loop; cause not found yet). Then the window
/// is closed through WebDriver, as the other window tests close it, and the output says so;
/// the app must end either way. The tray test's WM close, which keeps the app running, has no
/// such fallback.
pub async fn close_until_gone(app: &Client, pid: u32) -> Closed {
    assert_eq!(
        close_windows_titled("Latchkey"),
        1,
        "one app window to close"
    );
    if gone_within(pid, Duration::from_secs(15)).await {
        return Closed::ByTheWindowManager;
    }
    eprintln!(
        "app_agent: the app (pid {pid}) did not act on WM_DELETE_WINDOW within 15 s; closing its window through WebDriver"
    );
    app.clone()
        .close_window()
        .await
        .expect("close the window through WebDriver");
    if !gone_within(pid, Duration::from_secs(45)).await {
        panic!(
            "process {pid} ({}) is still running after its window was closed",
            program_of(pid)
        );
    }
    Closed::ByWebDriver
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headless_agent_started_first_stays_the_one_holder() {
    let scene = Scene::new("agent-headless-first");
    let headless = scene.headless_agent();
    let status = scene.wait_for_agent().await;
    assert_eq!(holder_pid(&status), headless.0.id());

    let windows =
        AppUnderTest::start_with_env(app_binary(), scene.dir.path(), &scene.app_env()).await;
    assert_eq!(window_holder(&windows.app).await, "elsewhere");
    assert_eq!(holder_pid(&scene.agent_status().unwrap()), headless.0.id());
    windows.close().await;

    // The app's going leaves the headless agent answering.
    assert_eq!(holder_pid(&scene.agent_status().unwrap()), headless.0.id());
}

/// The app's window and its agent each hold a `Session` of the same profile in one process,
/// on one keychain entry. When both find the tokens due at once the provider sees one refresh:
/// core's profile lock is an `flock`, which excludes two open files of one process as it does
/// two processes, and the second adopts the tokens the first stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_windows_and_the_agents_session_of_one_profile_refresh_it_once() {
    let Some(vault) = keychain_vault("app-one-process") else {
        return;
    };
    let (idp, profile) = start_cognito(|_| {});
    let clock = Arc::new(OffsetClock::new(0));
    let session = || {
        let options = SessionOptions {
            clock: clock.clone(),
            ..options_with(vault.clone(), Arc::new(HttpBrowser::default()))
        };
        Session::new(profile.clone(), options).expect("a session")
    };
    let window = session();
    window.sign_in(SignInOptions::default()).await.unwrap();
    let agent = session();
    agent.restore().await.unwrap();

    // 57 minutes on, the hour-long tokens are due for both (inside the refresh margin).
    idp.advance_clock(Duration::from_secs(3420));
    clock.set_offset(3420);
    let (from_window, from_agent) = tokio::join!(window.tokens(), agent.tokens());
    let (from_window, from_agent) = (from_window.unwrap(), from_agent.unwrap());
    assert_eq!(idp.stats().token_refresh_token, 1, "one refresh");
    assert_eq!(from_window.id_expires_at, from_agent.id_expires_at);
    let _ = window.sign_out(SignOutScope::ThisDevice).await;
}
