//! Browsers driven over WebDriver: headless Chromium through chromedriver (Debian's
//! `chromium-driver`) and the real app window through tauri-driver + WebKitWebDriver.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Map, Value};

pub use fantoccini;

use crate::ports::{free_port, wait_for_port};
use crate::secrets::mask_secrets;

/// A child process stopped with SIGTERM (tauri-driver only stops WebKitWebDriver on a signal);
/// whatever it started and left running (an app that keeps running in the tray once its
/// window is closed, a browser) is killed after it, so no test's app outlives its test and
/// holds the single-instance name for the next.
pub struct Service {
    child: Child,
    pub port: u16,
    name: &'static str,
}

impl Drop for Service {
    fn drop(&mut self) {
        let started = processes::descendants(self.child.id());
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut stopped = false;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                stopped = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if !stopped {
            eprintln!("{} did not stop on SIGTERM; killing it", self.name);
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let left = processes::kill_survivors(&started);
        if !left.is_empty() {
            eprintln!(
                "{} left {} process(es) running ({}); killed them",
                self.name,
                left.len(),
                left.join(", ")
            );
        }
    }
}

/// The processes a service started, found through `/proc` (Linux; elsewhere none are found).
mod processes {
    /// A process, named by its pid and its start time (a pid alone may be reused).
    pub struct Started {
        pid: u32,
        start: u64,
    }

    /// The processes below `pid`: its children, theirs, and so on.
    pub fn descendants(pid: u32) -> Vec<Started> {
        let all: Vec<(u32, u32, u64)> = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|p| stat(p).map(|(parent, start)| (p, parent, start)))
            .collect();
        let mut found = Vec::new();
        let mut parents = vec![pid];
        while let Some(parent) = parents.pop() {
            for &(p, _, start) in all.iter().filter(|(_, pp, _)| *pp == parent) {
                parents.push(p);
                found.push(Started { pid: p, start });
            }
        }
        found
    }

    /// SIGKILL every process of `started` that still runs (the same process: same start
    /// time); the names of those killed.
    pub fn kill_survivors(started: &[Started]) -> Vec<String> {
        let mut killed = Vec::new();
        for process in started {
            if stat(process.pid).map(|(_, start)| start) != Some(process.start) {
                continue;
            }
            let name = std::fs::read_to_string(format!("/proc/{}/comm", process.pid))
                .map(|c| c.trim().to_string())
                .unwrap_or_default();
            let signalled = std::process::Command::new("kill")
                .args(["-KILL", &process.pid.to_string()])
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if signalled {
                killed.push(format!("{name} (pid {})", process.pid));
            }
        }
        killed
    }

    /// `/proc/PID/stat`'s parent pid and start time (fields 4 and 22; the name in field 2 may
    /// hold spaces and parentheses, so the fields are counted after its last `)`).
    fn stat(pid: u32) -> Option<(u32, u64)> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
        Some((fields.get(1)?.parse().ok()?, fields.get(19)?.parse().ok()?))
    }
}

/// tauri-driver (installed by `cargo xtask test` into `.tools/`) in front of WebKitWebDriver.
pub fn start_tauri_driver() -> Service {
    start_tauri_driver_with_env(&AppEnv::default())
}

/// The environment an app under test gets on top of the test process's: tauri-driver starts
/// WebKitWebDriver, which starts the app, each inheriting it. A test sets its app's variables
/// here, never in its own process, which it shares with the other tests of its binary.
#[derive(Default)]
pub struct AppEnv(Vec<(String, Option<OsString>)>);

impl AppEnv {
    /// Sets `name` to `value` for the app.
    pub fn set(&mut self, name: &str, value: impl Into<OsString>) {
        self.0.push((name.to_string(), Some(value.into())));
    }

    /// Leaves `name` out of the app's environment, whatever the test process has.
    pub fn remove(&mut self, name: &str) {
        self.0.push((name.to_string(), None));
    }

    fn apply(&self, command: &mut Command) {
        for (name, value) in &self.0 {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
    }
}

/// tauri-driver as [`start_tauri_driver`], with `env` for the apps it starts.
pub fn start_tauri_driver_with_env(env: &AppEnv) -> Service {
    let binary = std::env::var_os("LATCHKEY_TAURI_DRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools/bin/tauri-driver")
        });
    assert!(
        binary.exists(),
        "tauri-driver not found at {} — run the tests through `cargo xtask test`, which installs it",
        binary.display()
    );
    let (port, native_port) = (free_port(), free_port());
    let mut command = Command::new(&binary);
    env.apply(&mut command);
    let child = command
        .args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start tauri-driver");
    let service = Service {
        child,
        port,
        name: "tauri-driver",
    };
    // It listens before WebKitWebDriver does: wait for both.
    wait_for_port(port, "tauri-driver", Duration::from_secs(20));
    wait_for_port(native_port, "WebKitWebDriver", Duration::from_secs(20));
    service
}

/// chromedriver from Debian's `chromium-driver`.
pub fn start_chromedriver() -> Service {
    let port = free_port();
    let child = Command::new("chromedriver")
        .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver (Debian package chromium-driver)");
    let service = Service {
        child,
        port,
        name: "chromedriver",
    };
    wait_for_port(port, "chromedriver", Duration::from_secs(20));
    service
}

async fn connect(port: u16, capabilities: Value) -> Client {
    let Value::Object(caps) = capabilities else {
        unreachable!()
    };
    let caps: Map<String, Value> = caps;
    // The drivers listen on loopback over plain HTTP: no TLS connector.
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session")
}

/// A headless Chromium with a fresh profile (flags from platform-notes.md).
pub async fn chromium(driver: &Service, profile_dir: &Path) -> Client {
    connect(
        driver.port,
        json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1100,800",
                    format!("--user-data-dir={}", profile_dir.display()),
                ]
            }
        }),
    )
    .await
}

/// The real app window, started by tauri-driver with the given binary.
pub async fn app_window(driver: &Service, app: &Path) -> Client {
    // An app that exits before its window appears leaves WebKitWebDriver waiting for ever:
    // bounded, so such a test fails instead of holding CI until its time limit.
    let session = connect(
        driver.port,
        json!({ "browserName": "wry", "tauri:options": { "application": app } }),
    );
    tokio::time::timeout(Duration::from_secs(90), session)
        .await
        .expect("the app's window within 90 s (did the app exit at start? see its stderr above)")
}

/// The D-Bus name the running app holds on the session bus (tauri-plugin-single-instance:
/// tauri.conf.json's identifier + `.SingleInstance`); a second launch hands its arguments to
/// the owner and exits.
const SINGLE_INSTANCE_NAME: &str = "dev.latchkey.desktop.SingleInstance";

/// Waits until no app owns the single-instance name (`SINGLE_INSTANCE_NAME`). A window closed a moment ago belongs to a
/// process that may still hold the name; an app started then hands over to the dying one and
/// exits ("failed to forward arguments to the running instance: NoReply") instead of opening
/// its window. Without `gdbus` there is nothing to ask, and it returns at once. Blocking (a few
/// 50 ms pauses at most, as a rule): tests that start the app themselves call it too.
pub fn wait_until_no_app_holds_the_bus_name() {
    for _ in 0..300 {
        let asked = std::process::Command::new("gdbus")
            .args(["call", "--session", "--dest", "org.freedesktop.DBus"])
            .args(["--object-path", "/org/freedesktop/DBus"])
            .args(["--method", "org.freedesktop.DBus.NameHasOwner"])
            .arg(SINGLE_INSTANCE_NAME)
            .output();
        match asked {
            Ok(out) if out.status.success() => {
                if String::from_utf8_lossy(&out.stdout).contains("false") {
                    return;
                }
            }
            _ => return,
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "an app still owns {SINGLE_INSTANCE_NAME} 15 s after the last one was closed: {}",
        name_owner_process().unwrap_or_else(|| "(its process could not be asked)".into())
    );
}

/// The process owning the single-instance name, as `pid N: command line`, for a test's failure.
fn name_owner_process() -> Option<String> {
    let out = std::process::Command::new("gdbus")
        .args(["call", "--session", "--dest", "org.freedesktop.DBus"])
        .args(["--object-path", "/org/freedesktop/DBus"])
        .args([
            "--method",
            "org.freedesktop.DBus.GetConnectionUnixProcessID",
        ])
        .arg(SINGLE_INSTANCE_NAME)
        .output()
        .ok()?;
    // "(uint32 1234,)"
    let text = String::from_utf8_lossy(&out.stdout);
    let pid: u32 = text
        .trim()
        .trim_start_matches("(uint32 ")
        .trim_end_matches(",)")
        .parse()
        .ok()?;
    let command = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let command = String::from_utf8_lossy(&command).replace('\0', " ");
    Some(format!("pid {pid}: {}", command.trim()))
}

/// An app-window test's two browsers: headless Chromium playing the user's system browser,
/// and the real app window (tauri-driver + WebKitWebDriver) on its first screen. The drivers
/// stop when this is dropped.
pub struct AppUnderTest {
    /// Chromium, with page loads bounded at 10 s: a hosted page that never finishes loading
    /// fails its step with WebDriver's timeout instead of hanging the test.
    pub browser: Client,
    /// The app window, showing its first screen (signed out).
    pub app: Client,
    binary: PathBuf,
    tauri_driver: Service,
    _chromedriver: Service,
    _one_app_at_a_time: tokio::sync::MutexGuard<'static, ()>,
}

/// Held by every app under test of a process: the app is single-instance (a second launch
/// hands over to the first and exits), so the app-window tests of one test binary take turns.
static ONE_APP_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits until no other app under test of this process runs, for a test that starts the app
/// itself (an installed package, say); [`AppUnderTest`] takes it on its own.
pub async fn one_app_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_APP_AT_A_TIME.lock().await
}

/// [`one_app_at_a_time`] for a test that is not async.
pub fn one_app_at_a_time_blocking() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_APP_AT_A_TIME.blocking_lock()
}

impl AppUnderTest {
    /// Starts chromedriver with a fresh Chromium profile in `scratch`, then the app `binary`
    /// through tauri-driver, and waits for the app's first screen. The app inherits the test
    /// process's environment.
    pub async fn start(binary: &Path, scratch: &Path) -> AppUnderTest {
        AppUnderTest::start_with_env(binary, scratch, &AppEnv::default()).await
    }

    /// [`AppUnderTest::start`] with `env` (`LATCHKEY_CONFIG` and the like) for the app, once
    /// no other app under test of this process runs.
    pub async fn start_with_env(binary: &Path, scratch: &Path, env: &AppEnv) -> AppUnderTest {
        AppUnderTest::start_after(binary, scratch, env, || ())
            .await
            .0
    }

    /// [`AppUnderTest::start_with_env`], running `first` once this test's turn has come and
    /// before the app starts (a desktop service the app looks for at start: a tray, say).
    pub async fn start_after<T>(
        binary: &Path,
        scratch: &Path,
        env: &AppEnv,
        first: impl FnOnce() -> T,
    ) -> (AppUnderTest, T) {
        let one_app_at_a_time = one_app_at_a_time().await;
        wait_until_no_app_holds_the_bus_name();
        let before = first();
        let chromedriver = start_chromedriver();
        let browser = chromium(&chromedriver, &scratch.join("chromium")).await;
        browser
            .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                None,
                Some(Duration::from_secs(10)),
                None,
            ))
            .await
            .expect("set Chromium's page-load timeout");
        let tauri_driver = start_tauri_driver_with_env(env);
        let app = app_window(&tauri_driver, binary).await;
        wait_js(
            &app,
            "!document.getElementById('signed-out').hidden",
            "first screen",
        )
        .await;
        let windows = AppUnderTest {
            browser,
            app,
            binary: binary.to_path_buf(),
            tauri_driver,
            _chromedriver: chromedriver,
            _one_app_at_a_time: one_app_at_a_time,
        };
        (windows, before)
    }

    /// Closes the app and starts it again, as a user would (the caller waits for the screen
    /// it expects: a restored session, say).
    pub async fn restart_app(&mut self) {
        self.app.clone().close().await.expect("close the app");
        wait_until_no_app_holds_the_bus_name();
        self.app = app_window(&self.tauri_driver, &self.binary).await;
    }

    /// Closes both windows (the drivers stop on drop).
    pub async fn close(self) {
        self.app.clone().close().await.ok();
        self.browser.clone().close().await.ok();
    }
}

/// A browser command for Latchkey that appends each URL it is asked to open to a file,
/// so the test can hand it to Chromium. Run without a shell by Latchkey; it is a script itself.
pub struct UrlHook {
    pub script: PathBuf,
    pub urls: PathBuf,
}

impl UrlHook {
    pub fn new(dir: &Path) -> Self {
        let script = dir.join("open-url");
        let urls = dir.join("urls.txt");
        std::fs::write(
            &script,
            format!("#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n", urls.display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { script, urls }
    }

    /// Waits for the n-th URL (1-based) the app asked to open.
    pub fn nth_url(&self, n: usize, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(text) = std::fs::read_to_string(&self.urls) {
                if let Some(line) = text.lines().nth(n - 1) {
                    return line.to_string();
                }
            }
            assert!(
                Instant::now() < deadline,
                "the app did not open URL #{n} within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Waits for an element and returns its text, with the page text in the panic message.
pub async fn text_of(client: &Client, css: &str, timeout: Duration) -> String {
    let found = client
        .wait()
        .at_most(timeout)
        .for_element(Locator::Css(css))
        .await;
    match found {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(e) => panic!(
            "{}",
            diagnose(client, &format!("waiting for `{css}`: {e}")).await
        ),
    }
}

/// How long the page helpers below wait for an element or a condition.
pub const PAGE_WAIT: Duration = Duration::from_secs(30);

/// Waits until `script` (a JS expression) is truthy in the page, or panics with what the
/// page shows.
pub async fn wait_js(client: &Client, script: &str, step: &str) {
    let deadline = Instant::now() + PAGE_WAIT;
    loop {
        let value = client
            .execute(&format!("return Boolean({script});"), vec![])
            .await;
        if matches!(value, Ok(Value::Bool(true))) {
            return;
        }
        if Instant::now() > deadline {
            panic!("{}", diagnose(client, step).await);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The value of `script` (a JS expression) as a string.
pub async fn js_string(client: &Client, script: &str) -> String {
    match client
        .execute(&format!("return String({script});"), vec![])
        .await
    {
        Ok(Value::String(s)) => s,
        other => panic!("script `{script}` gave {other:?}"),
    }
}

async fn element(client: &Client, css: &str) -> fantoccini::elements::Element {
    match client
        .wait()
        .at_most(PAGE_WAIT)
        .for_element(Locator::Css(css))
        .await
    {
        Ok(element) => element,
        Err(e) => panic!(
            "{}",
            diagnose(client, &format!("finding `{css}`: {e}")).await
        ),
    }
}

/// Waits for the element `css` and clicks it.
pub async fn click(client: &Client, css: &str) {
    if let Err(e) = element(client, css).await.click().await {
        panic!(
            "{}",
            diagnose(client, &format!("clicking `{css}`: {e}")).await
        );
    }
}

/// Waits for the field `css`, empties it and types `text`.
pub async fn fill(client: &Client, css: &str, text: &str) {
    let field = element(client, css).await;
    field.clear().await.expect("clear the field");
    field.send_keys(text).await.expect("type into the field");
}

/// The step that failed, the page's URL and visible text: enough to diagnose without a rerun.
pub async fn diagnose(client: &Client, step: &str) -> String {
    let url = client
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    let text = match client.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    mask_secrets(&format!(
        "step failed: {step}\n  page: {url}\n  text: {}",
        text.chars().take(1500).collect::<String>()
    ))
}

static CHROMEDRIVER: Mutex<Weak<Service>> = Mutex::new(Weak::new());

/// One chromedriver shared by every test of this binary that is running at the moment: the
/// first caller starts it, the last `Arc` dropped stops it (SIGTERM via [`Service`]'s `Drop`).
pub fn shared_chromedriver() -> Arc<Service> {
    let mut slot = CHROMEDRIVER.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(driver) = slot.upgrade() {
        return driver;
    }
    let driver = Arc::new(start_chromedriver());
    *slot = Arc::downgrade(&driver);
    driver
}
