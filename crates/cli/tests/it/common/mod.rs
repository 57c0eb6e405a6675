//! Test harness: a private profile file, keychain service and lock directory per test, the
//! real `latchkey` binary, a running devidp, and a browser hook that records the sign-in URL so
//! the test can play the browser over HTTP (authorize → login form → loopback callback).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use latchkey_core::config::{Config, Profile};
use latchkey_testkit::devidp::{DevIdp, DEMO_PASSWORD, DEMO_USERNAME};
use latchkey_testkit::unique;
use url::Url;

/// One isolated environment: temp dir with config.toml, hook script, URL file, lock dir (and
/// the agent's socket: no test meets an agent a developer runs, or another test's).
pub struct Env {
    pub dir: tempfile::TempDir,
    pub service: String,
    pub extra_env: Vec<(String, String)>,
    /// Variables of the test's environment the command does not get (`DBUS_SESSION_BUS_ADDRESS`:
    /// a process with no D-Bus session); `extra_env` may set them again.
    pub unset_env: Vec<&'static str>,
    /// With `LATCHKEY_TEST_AGENT=1`: this environment's `latchkey agent`, started by the first
    /// command (so it has the test's `extra_env`, as a user's agent has the user's).
    agent: Option<std::sync::Mutex<Option<Child>>>,
}

impl Drop for Env {
    fn drop(&mut self) {
        let agent = self
            .agent
            .as_mut()
            .and_then(|a| a.get_mut().unwrap().take());
        if let Some(mut agent) = agent {
            let _ = agent.kill();
            let _ = agent.wait();
        }
    }
}

impl Env {
    /// A new environment; with `LATCHKEY_TEST_AGENT=1` in the test's environment, an agent runs
    /// in it (so every CLI test also runs through the agent).
    pub fn new() -> Env {
        let mut env = Env::without_agent();
        if std::env::var_os("LATCHKEY_TEST_AGENT").is_some_and(|v| v == "1") {
            env.agent = Some(std::sync::Mutex::new(None));
        }
        env
    }

    /// Start this environment's agent if it should run and does not yet.
    fn ensure_agent(&self) {
        let Some(agent) = &self.agent else { return };
        let mut agent = agent.lock().unwrap();
        if agent.is_none() {
            *agent = Some(self.spawn_agent());
        }
    }

    /// `latchkey agent` in this environment, once its socket is there.
    fn spawn_agent(&self) -> Child {
        let latchkey = Path::new(env!("CARGO_BIN_EXE_latchkey"));
        let mut agent = self
            .command(latchkey, &["agent"])
            .stderr(Stdio::null())
            .spawn()
            .expect("latchkey agent starts");
        let socket = self.dir.path().join("run").join("agent.sock");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !socket.exists() {
            assert!(
                agent.try_wait().unwrap().is_none(),
                "the agent exited early"
            );
            assert!(
                Instant::now() < deadline,
                "the agent never bound its socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        agent
    }

    /// A new environment in which no agent runs unless the test starts one.
    pub fn without_agent() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let hook = dir.path().join("browser-hook.sh");
        std::fs::write(&hook, "#!/bin/sh\n# Latchkey test browser: record the URL; the test plays the browser.\nd=$(dirname \"$0\")\nprintf '%s' \"$1\" > \"$d/url.tmp\" && mv \"$d/url.tmp\" \"$d/url\"\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Env {
            dir,
            service: unique("latchkey-cli-test"),
            extra_env: vec![],
            unset_env: vec![],
            agent: None,
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    pub fn hook(&self) -> PathBuf {
        self.dir.path().join("browser-hook.sh")
    }

    pub fn url_file(&self) -> PathBuf {
        self.dir.path().join("url")
    }

    /// The real binary with this environment's variables (and nothing from the developer's).
    pub fn cmd(&self, args: &[&str]) -> Command {
        self.program(Path::new(env!("CARGO_BIN_EXE_latchkey")), args)
    }

    /// Another program (one that runs `latchkey` itself, e.g. kubectl) with this environment.
    pub fn program(&self, program: &Path, args: &[&str]) -> Command {
        self.ensure_agent();
        self.command(program, args)
    }

    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(program);
        c.args(args)
            .env("LATCHKEY_CONFIG", self.config_path())
            .env("LATCHKEY_KEYCHAIN_SERVICE", &self.service)
            .env("LATCHKEY_RUNTIME_DIR", self.dir.path().join("run"))
            .env("LATCHKEY_BROWSER_COMMAND", self.hook())
            .env_remove("LATCHKEY_PROFILE")
            .env("RUST_LOG", "off")
            .stdin(Stdio::null());
        for k in &self.unset_env {
            c.env_remove(k);
        }
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.cmd(args).output().expect("latchkey runs");
        Run::from(out)
    }

    pub fn write_profile(&self, profile: &Profile) {
        let mut config = Config::load(&self.config_path()).unwrap_or_default();
        config.insert(profile.clone());
        if config.default.is_none() {
            config.default = Some(profile.name.clone());
        }
        config.save_to(&self.config_path()).unwrap();
    }

    /// `latchkey login` in the background; returns once the browser hook got the URL.
    pub fn start_login(&self, extra: &[&str]) -> (Child, Url) {
        let _ = std::fs::remove_file(self.url_file());
        let mut args = vec!["login"];
        args.extend_from_slice(extra);
        let child = self
            .cmd(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("latchkey login starts");
        self.wait_for_url(child)
    }

    fn wait_for_url(&self, mut child: Child) -> (Child, Url) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(s) = std::fs::read_to_string(self.url_file()) {
                return (child, Url::parse(&s).expect("the hook got a URL"));
            }
            if let Some(status) = child.try_wait().unwrap() {
                let out = child.wait_with_output().unwrap();
                panic!(
                    "login exited ({status}) before opening the browser: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            assert!(
                Instant::now() < deadline,
                "the browser hook was never called"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `latchkey login --paste EXTRA…` in the background (stdin piped): returns it with the
    /// authorize URL it printed and its stderr lines so far (the rest stays on `child`).
    pub fn start_paste_login(&self, extra: &[&str]) -> (Child, Url, PasteLog) {
        let mut args = vec!["login", "--paste"];
        args.extend_from_slice(extra);
        let mut child = self
            .cmd(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("latchkey login --paste starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        let mut log = PasteLog { lines: vec![], rx };
        loop {
            let Ok(line) = log.rx.recv_timeout(Duration::from_secs(60)) else {
                let _ = child.kill();
                let status = child.wait().unwrap();
                panic!(
                    "login --paste ({status}) printed no authorize URL: {:?}",
                    log.lines
                );
            };
            log.lines.push(line.clone());
            if let Some(url) = line.trim().strip_prefix("http") {
                return (child, Url::parse(&format!("http{url}")).unwrap(), log);
            }
        }
    }

    /// Full login as the demo user through the hook; asserts success.
    pub fn login(&self) -> Run {
        let (child, url) = self.start_login(&[]);
        complete_login(&url, DEMO_USERNAME, DEMO_PASSWORD);
        let run = Run::from(child.wait_with_output().unwrap());
        assert_eq!(run.code, 0, "login failed: {}", run.stderr);
        run
    }
}

/// The stderr of a `login --paste` run, line by line.
pub struct PasteLog {
    pub lines: Vec<String>,
    rx: std::sync::mpsc::Receiver<String>,
}

impl PasteLog {
    /// Paste `address` (and a newline), wait for the exit; returns the run with all of stderr.
    pub fn paste(mut self, mut child: Child, address: &str) -> Run {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{address}").unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        self.lines.extend(self.rx.iter());
        let mut run = Run::from(out);
        run.stderr = self.lines.join("\n");
        run
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// The error contract: exit `code`, stderr exactly one `latchkey: …` line.
    pub fn assert_error(&self, code: i32, contains: &str) {
        assert_eq!(
            self.code, code,
            "exit code; stderr: {} stdout: {}",
            self.stderr, self.stdout
        );
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr, got: {:?}", self.stderr);
        assert!(
            lines[0].starts_with("latchkey: "),
            "stderr starts with `latchkey: `: {}",
            lines[0]
        );
        assert!(
            lines[0].to_lowercase().contains(&contains.to_lowercase()),
            "stderr mentions `{contains}`: {}",
            lines[0]
        );
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is JSON ({e}): {}", self.stdout))
    }
}

/// A devidp whose app client has exactly the profile's callback URL, and a Cognito-kind
/// profile `name` for it on a free fixed port.
pub fn start_cognito(name: &str) -> (DevIdp, Profile) {
    let (idp, mut p) = latchkey_testkit::start_cognito(|_| {});
    p.name = name.to_owned();
    p.sign_in_timeout = Duration::from_secs(60);
    (idp, p)
}

/// Play the browser: authorize → /login form → loopback callback. Returns the callback status.
pub fn complete_login(authorize: &Url, username: &str, password: &str) -> u16 {
    latchkey_testkit::login_to_callback_blocking(authorize, username, password)
}

pub fn is_jwt(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}
