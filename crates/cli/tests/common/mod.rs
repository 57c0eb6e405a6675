//! Test harness: a private profile file, keychain service and lock directory per test, the
//! real `latchkey` binary, a running devidp, and a browser hook that records the sign-in URL so
//! the test can play the browser over HTTP (authorize → login form → loopback callback).
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use latchkey_core::config::{Config, Profile, ProfileKind};
use latchkey_devidp::{ClientConfig, DevIdp, DevIdpConfig, DEMO_PASSWORD, DEMO_USERNAME};
use url::Url;

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// One isolated environment: temp dir with config.toml, hook script, URL file, lock dir.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub service: String,
    pub extra_env: Vec<(String, String)>,
}

impl Env {
    pub fn new() -> Env {
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
        let mut c = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        c.args(args)
            .env("LATCHKEY_CONFIG", self.config_path())
            .env("LATCHKEY_KEYCHAIN_SERVICE", &self.service)
            .env("LATCHKEY_RUNTIME_DIR", self.dir.path().join("run"))
            .env("LATCHKEY_BROWSER_COMMAND", self.hook())
            .env_remove("LATCHKEY_PROFILE")
            .env("RUST_LOG", "off")
            .stdin(Stdio::null());
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

    /// Full login as the demo user through the hook; asserts success.
    pub fn login(&self) -> Run {
        let (child, url) = self.start_login(&[]);
        complete_login(&url, DEMO_USERNAME, DEMO_PASSWORD);
        let run = Run::from(child.wait_with_output().unwrap());
        assert_eq!(run.code, 0, "login failed: {}", run.stderr);
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

/// A devidp whose app client has exactly `profile`'s callback URL, plus a Cognito-kind
/// profile for it on a free fixed port.
pub fn start_cognito(name: &str) -> (DevIdp, Profile) {
    let port = free_port();
    let redirect = format!("http://localhost:{port}/callback");
    let sign_out = format!("http://localhost:{port}/signed-out");
    let idp = DevIdp::start(DevIdpConfig {
        port: 0,
        client: ClientConfig {
            callback_urls: vec![redirect.clone()],
            sign_out_urls: vec![sign_out.clone()],
            ..Default::default()
        },
        ..Default::default()
    })
    .expect("devidp starts");
    let mut p = Profile::cognito(
        name,
        "us-east-1",
        &idp.user_pool_id(),
        Url::parse(&idp.base_url()).unwrap(),
        &idp.client_id(),
    );
    if let ProfileKind::Cognito { issuer, .. } = &mut p.kind {
        *issuer = Some(Url::parse(&idp.issuer()).unwrap());
    }
    p.ports = vec![port];
    p.sign_out_uri = Some(Url::parse(&sign_out).unwrap());
    p.api_base_urls = vec![Url::parse(&idp.base_url()).unwrap()];
    p.sign_in_timeout = Duration::from_secs(60);
    assert_eq!(p.redirect_uris(), vec![redirect]);
    (idp, p)
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(resp: &reqwest::blocking::Response, base: &Url) -> Url {
    let raw = resp
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location (HTTP {})", resp.status()))
        .to_str()
        .unwrap();
    base.join(raw).unwrap()
}

/// Play the browser: authorize → /login form → loopback callback. Returns the callback status.
pub fn complete_login(authorize: &Url, username: &str, password: &str) -> u16 {
    let c = http();
    let r = c.get(authorize.clone()).send().unwrap();
    assert!(
        r.status().is_redirection(),
        "authorize answered {}",
        r.status()
    );
    let login = location(&r, authorize);
    // The login page sets the XSRF-TOKEN cookie its form echoes in `_csrf` (as Cognito's does).
    let page = c.get(login.clone()).send().unwrap();
    let csrf = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("XSRF-TOKEN="))
        .map(|rest| rest.split(';').next().unwrap_or("").to_string())
        .expect("the login page sets XSRF-TOKEN");
    let mut form: Vec<(String, String)> = login.query_pairs().into_owned().collect();
    form.push(("username".into(), username.into()));
    form.push(("password".into(), password.into()));
    form.push(("_csrf".into(), csrf.clone()));
    let mut post = login.clone();
    post.set_query(None);
    let r = c
        .post(post.clone())
        .header("Cookie", format!("XSRF-TOKEN={csrf}"))
        .form(&form)
        .send()
        .unwrap();
    assert!(r.status().is_redirection(), "login answered {}", r.status());
    let callback = location(&r, &post);
    c.get(callback).send().unwrap().status().as_u16()
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

pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `profile` with an `[aws]` table for `idp`'s identity pool.
pub fn with_identity_pool(idp: &DevIdp, mut profile: Profile) -> Profile {
    profile.aws = Some(latchkey_core::IdentityPoolSettings {
        identity_pool_id: idp
            .identity_pool()
            .expect("an identity pool")
            .identity_pool_id,
        identity_endpoint: Some(Url::parse(&idp.identity_endpoint().unwrap()).unwrap()),
        ..Default::default()
    });
    profile
}
