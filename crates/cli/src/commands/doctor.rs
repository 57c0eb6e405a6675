//! `latchkey doctor`: each check says what it found and, when something is wrong, what to do.
//! Config, discovery + issuer, JWKS, keychain round-trip, callback ports, clock skew, browser.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener};
use std::path::Path;
use std::time::Duration;

use latchkey_core::config::Profile;
use latchkey_core::provider::Provider;
use latchkey_core::session::SessionState;
use latchkey_core::vault::Vault;
use serde::Serialize;

use crate::cli::DoctorArgs;
use crate::context::Ctx;
use crate::failure::{one_line, CliResult, Exit};
use crate::output::{print_json, when};

#[derive(Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

#[derive(Serialize)]
struct Finding {
    check: &'static str,
    status: Status,
    message: String,
}

struct Report {
    findings: Vec<Finding>,
    json: bool,
}

impl Report {
    fn add(&mut self, check: &'static str, status: Status, message: impl Into<String>) {
        let f = Finding {
            check,
            status,
            message: one_line(&message.into()),
        };
        if !self.json {
            let tag = match f.status {
                Status::Ok => " ok ",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
            };
            println!("[{tag}] {:<10} {}", f.check, f.message);
        }
        self.findings.push(f);
    }
}

pub async fn run(ctx: &Ctx, a: DoctorArgs) -> CliResult<Exit> {
    let mut r = Report {
        findings: vec![],
        json: a.json,
    };
    let profile = check_config(ctx, &mut r);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(
            profile
                .as_ref()
                .map(|p| p.http_timeout)
                .unwrap_or(Duration::from_secs(30))
                .min(Duration::from_secs(15)),
        )
        .user_agent(concat!("latchkey/", env!("CARGO_PKG_VERSION")))
        .build()
        .ok();
    match (&profile, &http) {
        (Some(p), Some(http)) => check_provider(p, http, &mut r).await,
        _ => {
            for c in ["discovery", "jwks", "clock"] {
                r.add(c, Status::Skip, "no usable profile");
            }
        }
    }
    let keychain_ok = check_keychain(&mut r).await;
    match &profile {
        Some(p) => check_ports(p, &mut r),
        None => r.add("ports", Status::Skip, "no usable profile"),
    }
    check_browser(profile.as_ref(), &mut r);
    if profile.is_some() && keychain_ok {
        check_session(ctx, &mut r).await;
    } else {
        r.add(
            "session",
            Status::Skip,
            "needs a usable profile and keychain",
        );
    }
    let failed = r
        .findings
        .iter()
        .filter(|f| f.status == Status::Fail)
        .count();
    let warned = r
        .findings
        .iter()
        .filter(|f| f.status == Status::Warn)
        .count();
    if a.json {
        print_json(&serde_json::json!({ "ok": failed == 0, "checks": r.findings }))?;
    } else {
        println!();
        match (failed, warned) {
            (0, 0) => println!("Everything looks fine."),
            (0, w) => println!("No failures, {w} warning(s)."),
            (f, _) => println!("{f} check(s) failed; see the FAIL lines above for what to do."),
        }
    }
    Ok(if failed == 0 { Exit::Ok } else { Exit::Other })
}

fn check_config(ctx: &Ctx, r: &mut Report) -> Option<Profile> {
    let path = match ctx.config_path() {
        Ok(p) => p,
        Err(f) => {
            r.add("config", Status::Fail, f.message);
            return None;
        }
    };
    match ctx.profile() {
        Ok(p) => {
            r.add(
                "config",
                Status::Ok,
                format!(
                    "{} is valid; using profile `{}` ({}, client {})",
                    path.display(),
                    p.name,
                    p.issuer(),
                    p.client_id
                ),
            );
            Some(p)
        }
        Err(f) => {
            r.add("config", Status::Fail, f.message);
            None
        }
    }
}

async fn check_provider(p: &Profile, http: &reqwest::Client, r: &mut Report) {
    let issuer = p.issuer();
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let started = std::time::Instant::now();
    let mut date = None;
    match http
        .get(&url)
        .header("accept", "application/json")
        .send()
        .await
    {
        Err(e) => {
            let why = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "connection failed"
            } else {
                "request failed"
            };
            r.add("discovery", Status::Fail, format!("cannot reach {url} ({why}). Check the network and the profile's issuer/region/user pool id."));
        }
        Ok(resp) => {
            date = resp
                .headers()
                .get("date")
                .and_then(|d| d.to_str().ok())
                .map(str::to_owned);
            let status = resp.status();
            if !status.is_success() {
                r.add("discovery", Status::Fail, format!("{url} answered HTTP {}. Check the issuer (Cognito: region and user pool id).", status.as_u16()));
            } else {
                match resp.json::<serde_json::Value>().await {
                    Ok(doc) => match doc.get("issuer").and_then(|v| v.as_str()) {
                        Some(i) if i == issuer => r.add("discovery", Status::Ok, format!("{url} reachable; issuer matches ({} ms)", started.elapsed().as_millis())),
                        Some(i) => r.add("discovery", Status::Fail, format!("the discovery document's issuer is `{i}`, not the configured `{issuer}`. Set the profile's issuer to exactly what the provider publishes.")),
                        None => r.add("discovery", Status::Fail, format!("{url} has no `issuer`: this is not an OpenID Connect provider configuration.")),
                    },
                    Err(_) => r.add("discovery", Status::Fail, format!("{url} did not return JSON. Check the issuer URL.")),
                }
            }
        }
    }
    match Provider::load(p, http.clone()).await {
        Err(e) => r.add(
            "jwks",
            Status::Fail,
            format!("cannot load the provider's endpoints: {}", e.message()),
        ),
        Ok(provider) => {
            let jwks = provider.metadata.jwks_uri.clone();
            match http.get(jwks.clone()).send().await {
                Err(_) => r.add("jwks", Status::Fail, format!("cannot reach the signing keys at {jwks}. Check the network and the issuer.")),
                Ok(resp) if !resp.status().is_success() => r.add("jwks", Status::Fail, format!("{jwks} answered HTTP {}; tokens cannot be verified.", resp.status().as_u16())),
                Ok(resp) => {
                    if date.is_none() {
                        date = resp.headers().get("date").and_then(|d| d.to_str().ok()).map(str::to_owned);
                    }
                    let n = resp.json::<serde_json::Value>().await.ok().and_then(|v| v.get("keys").and_then(|k| k.as_array()).map(|a| a.len()));
                    match n {
                        Some(n) if n > 0 => r.add("jwks", Status::Ok, format!("{jwks}: {n} signing key(s)")),
                        Some(_) => r.add("jwks", Status::Fail, format!("{jwks} lists no keys; tokens cannot be verified.")),
                        None => r.add("jwks", Status::Fail, format!("{jwks} is not a JSON Web Key Set.")),
                    }
                }
            }
        }
    }
    match date
        .as_deref()
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
    {
        None => r.add(
            "clock",
            Status::Skip,
            "the provider sent no Date header to compare with",
        ),
        Some(d) => {
            let skew = chrono::Utc::now().timestamp() - d.timestamp();
            let leeway = p.clock_leeway.as_secs() as i64;
            if skew.abs() <= leeway.max(5) / 2 {
                r.add(
                    "clock",
                    Status::Ok,
                    format!(
                        "this computer's clock is within {} s of the provider's",
                        skew.abs().max(1)
                    ),
                );
            } else if skew.abs() <= leeway {
                r.add("clock", Status::Warn, format!("this computer's clock is {} s {} the provider's (leeway {leeway} s). Enable automatic time sync.", skew.abs(), if skew > 0 { "ahead of" } else { "behind" }));
            } else {
                r.add("clock", Status::Fail, format!("this computer's clock is {} s {} the provider's, more than the {leeway} s leeway: tokens will look expired or not yet valid. Enable automatic time sync (e.g. `timedatectl set-ntp true`).", skew.abs(), if skew > 0 { "ahead of" } else { "behind" }));
            }
        }
    }
}

async fn check_keychain(r: &mut Report) -> bool {
    let health = tokio::task::spawn_blocking(|| Vault::system().probe()).await;
    match health {
        Ok(h) if h.ok && h.persistent => {
            r.add(
                "keychain",
                Status::Ok,
                format!("{}: {}", h.store_name, h.message),
            );
            true
        }
        Ok(h) if h.ok => {
            r.add(
                "keychain",
                Status::Warn,
                format!("{}: {}", h.store_name, h.message),
            );
            false
        }
        Ok(h) => {
            r.add(
                "keychain",
                Status::Fail,
                format!("{}: {}", h.store_name, h.message),
            );
            false
        }
        Err(e) => {
            r.add(
                "keychain",
                Status::Fail,
                format!("the keychain probe crashed ({e})."),
            );
            false
        }
    }
}

/// Whether a saved session exists for the profile (restoring it refreshes when due).
async fn check_session(ctx: &Ctx, r: &mut Report) {
    let session = match ctx.session(None) {
        Ok(s) => s,
        Err(f) => return r.add("session", Status::Fail, f.message),
    };
    match session.restore().await {
        Ok(SessionState::SignedIn {
            user,
            id_expires_at,
            ..
        }) => {
            let who = user.email.or(user.username).unwrap_or(user.sub);
            r.add(
                "session",
                Status::Ok,
                format!(
                    "signed in as {who}; ID token expires {}",
                    when(id_expires_at)
                ),
            );
        }
        Ok(SessionState::SignedOut { reason }) => r.add(
            "session",
            Status::Ok,
            format!(
                "not signed in{} — run `latchkey login`",
                reason
                    .map(|x| format!(" ({})", x.trim_end_matches('.')))
                    .unwrap_or_default()
            ),
        ),
        Ok(other) => r.add(
            "session",
            Status::Warn,
            format!("session state: {}", other.name()),
        ),
        Err(e) => r.add(
            "session",
            Status::Fail,
            format!("the saved session cannot be used: {}", e.message()),
        ),
    }
}

fn check_ports(p: &Profile, r: &mut Report) {
    let ip: IpAddr = match p.redirect_host.as_str() {
        "[::1]" => IpAddr::V6(Ipv6Addr::LOCALHOST),
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    if p.any_port {
        match TcpListener::bind((ip, 0)) {
            Ok(_) => r.add(
                "ports",
                Status::Ok,
                format!("an ephemeral loopback port can be bound on {ip} (any-port redirect)"),
            ),
            Err(e) => r.add(
                "ports",
                Status::Fail,
                format!("cannot bind a loopback port on {ip} ({e})."),
            ),
        }
        return;
    }
    let mut free = vec![];
    let mut busy = vec![];
    for port in &p.ports {
        match TcpListener::bind((ip, *port)) {
            Ok(_) => free.push(port.to_string()),
            Err(_) => busy.push(port.to_string()),
        }
    }
    if busy.is_empty() {
        r.add(
            "ports",
            Status::Ok,
            format!("callback port(s) {} free", free.join(", ")),
        );
    } else if !free.is_empty() {
        r.add(
            "ports",
            Status::Warn,
            format!(
                "port(s) {} in use, {} free (sign-in uses the first free one)",
                busy.join(", "),
                free.join(", ")
            ),
        );
    } else {
        r.add("ports", Status::Fail, format!("every callback port ({}) is in use. Close the program holding them, or add a port to the profile and register http://{}:PORT{} at the provider.", busy.join(", "), p.redirect_host, p.redirect_path));
    }
}

fn find_program(prog: &str) -> bool {
    let path = Path::new(prog);
    if path.components().count() > 1 {
        return path.is_file();
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(prog).is_file()))
        .unwrap_or(false)
}

fn check_browser(p: Option<&Profile>, r: &mut Report) {
    let env_cmd = std::env::var("LATCHKEY_BROWSER_COMMAND")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let (argv, source): (Option<Vec<String>>, &str) =
        match (&env_cmd, p.and_then(|p| p.browser_command.clone())) {
            (Some(c), _) => (
                Some(c.split_whitespace().map(str::to_owned).collect()),
                "LATCHKEY_BROWSER_COMMAND",
            ),
            (None, Some(v)) => (Some(v), "the profile's browser_command"),
            (None, None) => (None, "system"),
        };
    match argv {
        Some(v) => {
            if find_program(&v[0]) {
                r.add("browser", Status::Ok, format!("{source}: `{}` found", v[0]));
            } else {
                r.add("browser", Status::Fail, format!("{source}: `{}` not found. Fix the command, or use `latchkey login --no-browser` and open the URL yourself.", v[0]));
            }
        }
        None => {
            let opener = if cfg!(target_os = "macos") {
                Some("open")
            } else if cfg!(windows) {
                None
            } else {
                Some("xdg-open")
            };
            match opener {
                None => r.add("browser", Status::Ok, "the system default browser is used"),
                Some(o) if find_program(o) => r.add("browser", Status::Ok, format!("the system default browser opens through `{o}`")),
                Some(o) => r.add("browser", Status::Warn, format!("`{o}` is not installed, so no browser can be opened. Use `latchkey login --no-browser` and open the URL yourself, or set `browser_command` in the profile.")),
            }
        }
    }
}
