//! `latchkey doctor`: each check says what it found and, when something is wrong, what to do.
//! Config, discovery + issuer, JWKS, keychain round-trip and sessions no profile uses, callback
//! ports, clock skew, browser.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener};
use std::path::Path;

use latchkey_core::config::BrowserSetting;
use latchkey_core::config::{Config, Profile};
use latchkey_core::Vault;
use latchkey_core::{find_stray_sessions, StrayError, StraySession};
use latchkey_core::{locate_program, BrowserChoice, ProbeStatus, BROWSER_COMMAND_VAR};
use latchkey_core::{ProviderCheck, Session, SessionState};
use serde::Serialize;

use crate::cli::DoctorArgs;
use crate::context::Ctx;
use crate::failure::{one_line, CliResult, Exit};
use crate::output::{print_report, when};

#[derive(Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

/// One check's result: a line for people, an object in `checks` for scripts.
#[derive(Serialize)]
struct Finding {
    /// The check's name (`name`, as `inspect`'s checks call it).
    #[serde(rename = "name")]
    check: &'static str,
    status: Status,
    message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.status {
            Status::Ok => " ok ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        };
        writeln!(f, "[{tag}] {:<10} {}", self.check, self.message)
    }
}

/// The findings so far; for people each one is printed as it is made (the slow checks come
/// after the quick ones), for scripts they wait for the report.
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
            print!("{f}");
        }
        self.findings.push(f);
    }
}

/// `latchkey doctor`'s report: every finding and the stray sessions as JSON; for people (who
/// saw the findings stream) the verdict.
#[derive(Serialize)]
struct DoctorReport {
    checks: Vec<Finding>,
    ok: bool,
    #[serde(serialize_with = "super::stray_json::serialize_strays")]
    stray_sessions: Option<Vec<StraySession>>,
}

impl fmt::Display for DoctorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |s: Status| self.checks.iter().filter(|c| c.status == s).count();
        writeln!(f)?;
        match (count(Status::Fail), count(Status::Warn)) {
            (0, 0) => writeln!(f, "Everything looks fine."),
            (0, w) => writeln!(f, "No failures, {w} warning(s)."),
            (n, _) => writeln!(
                f,
                "{n} check(s) failed; see the FAIL lines above for what to do."
            ),
        }
    }
}

pub async fn run(ctx: &Ctx, a: DoctorArgs) -> CliResult<Exit> {
    let mut r = Report {
        findings: vec![],
        json: a.json,
    };
    let profile = check_config(ctx, &mut r);
    match &profile {
        Some(p) => check_provider(p, &mut r).await,
        None => {
            for c in ["discovery", "jwks", "clock"] {
                r.add(c, Status::Skip, "no usable profile");
            }
        }
    }
    let keychain_ok = check_keychain(&mut r).await;
    let strays = match keychain_ok {
        true => check_strays(ctx, &mut r).await,
        false => {
            r.add("stray", Status::Skip, "needs a usable keychain");
            None
        }
    };
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
    let report = DoctorReport {
        ok: r.findings.iter().all(|f| f.status != Status::Fail),
        checks: r.findings,
        stray_sessions: strays,
    };
    print_report(&report, a.json)?;
    Ok(if report.ok { Exit::Ok } else { Exit::Other })
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

/// Discovery and issuer, signing keys, clock skew: core's live probe (the app's "test
/// connection" asks the same questions).
async fn check_provider(p: &Profile, r: &mut Report) {
    for step in latchkey_core::probe(p).await.steps {
        let status = match step.status {
            ProbeStatus::Ok => Status::Ok,
            ProbeStatus::Warn => Status::Warn,
            ProbeStatus::Fail => Status::Fail,
            ProbeStatus::Skip => Status::Skip,
        };
        r.add(step.name, status, step.message);
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

/// Sessions (and AWS credentials) in the keychain that no profile of the file reaches: each
/// one named without a secret, and what removes them. `None` when they cannot be listed.
async fn check_strays(ctx: &Ctx, r: &mut Report) -> Option<Vec<StraySession>> {
    let config = match ctx.config_path().map(|path| Config::load_lenient(&path)) {
        Ok(Ok(config)) => config,
        Ok(Err(e)) => {
            r.add(
                "stray",
                Status::Skip,
                format!("needs a readable profiles file ({e})"),
            );
            return None;
        }
        Err(f) => {
            r.add("stray", Status::Skip, f.message);
            return None;
        }
    };
    let strays = match find_stray_sessions(&Vault::system(), &config).await {
        Ok(strays) => strays,
        Err(e @ StrayError::CannotList { .. }) => {
            r.add("stray", Status::Skip, e.to_string());
            return None;
        }
        Err(StrayError::Keychain(e)) => {
            r.add(
                "stray",
                Status::Fail,
                format!("the keychain's items could not be listed: {}", e.message()),
            );
            return None;
        }
    };
    let (held, orphaned): (Vec<&StraySession>, Vec<&StraySession>) =
        strays.iter().partition(|s| s.invalid_profile);
    if strays.is_empty() {
        r.add(
            "stray",
            Status::Ok,
            "every Latchkey item in the keychain belongs to a profile",
        );
    }
    if !orphaned.is_empty() {
        r.add(
            "stray",
            Status::Warn,
            format!(
                "{} to no profile (left by changing a profile's issuer or client id): a refresh token stays valid at the provider until it expires. Run `latchkey logout --stray` to revoke and delete {}.",
                sessions_belong(orphaned.len()),
                them(orphaned.len())
            ),
        );
        list_strays(r, &orphaned);
    }
    if !held.is_empty() {
        r.add(
            "stray",
            Status::Warn,
            format!(
                "{} to a profile that is invalid: fix the profile in the profiles file to use {} again, or remove it with `latchkey profile remove NAME`, which revokes and deletes {}.",
                sessions_belong(held.len()),
                them(held.len()),
                them(held.len())
            ),
        );
        list_strays(r, &held);
    }
    Some(strays)
}

/// One line per stray under its finding (human output only).
fn list_strays(r: &Report, strays: &[&StraySession]) {
    if r.json {
        return;
    }
    for s in strays {
        println!(
            "{:17} `{}`: issuer {}, client {}: {}",
            "",
            s.profile_name,
            s.issuer,
            s.client_id,
            s.contents()
        );
    }
}

/// "1 session in the keychain belongs" / "3 sessions in the keychain belong".
fn sessions_belong(n: usize) -> String {
    match n {
        1 => "1 session in the keychain belongs".into(),
        n => format!("{n} sessions in the keychain belong"),
    }
}

fn them(n: usize) -> &'static str {
    if n == 1 {
        "it"
    } else {
        "them"
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
            check_at_provider(&session, r).await;
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

/// Whether the provider still accepts the session (Cognito's GetUser; OIDC: not asked).
async fn check_at_provider(session: &Session, r: &mut Report) {
    let (status, message) = match session.check_at_provider().await {
        Ok(ProviderCheck::Live) => (Status::Ok, "the user pool accepts the session".to_owned()),
        Ok(ProviderCheck::EndedAtProvider) => (
            Status::Fail,
            "the user pool no longer accepts the session (signed out everywhere from another device, or revoked); it has ended here too — run `latchkey login`".to_owned(),
        ),
        Ok(ProviderCheck::NotSupported) => (
            Status::Ok,
            "not asked: an OpenID Connect provider has no standard call for it; the tokens' expiry counts".to_owned(),
        ),
        Ok(ProviderCheck::NoAdminScope) => (
            Status::Ok,
            "not asked: the access token lacks the aws.cognito.signin.user.admin scope that GetUser needs (add it to the profile's scopes to check)".to_owned(),
        ),
        Err(e) => (
            Status::Warn,
            format!("could not ask the provider: {}", e.message()),
        ),
    };
    r.add("validity", status, message);
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

fn check_browser(p: Option<&Profile>, r: &mut Report) {
    let choice = BrowserChoice::for_profile(p);
    let source = match &choice {
        BrowserChoice::Environment(_) => BROWSER_COMMAND_VAR,
        _ => "the profile's `browser`",
    };
    match &choice {
        BrowserChoice::UnusableEnvironment(reason) => r.add("browser", Status::Fail, format!("{reason}. Unset it or fix it.")),
        BrowserChoice::Environment(BrowserSetting::OpenNothing) | BrowserChoice::Profile(BrowserSetting::OpenNothing) => r.add("browser", Status::Ok, format!("{source}: none — nothing is opened; `latchkey login` prints the address to open")),
        _ => match choice.command() {
            Some(c) if locate_program(c.program()).is_some() => r.add("browser", Status::Ok, format!("{source}: {} (`{}` found)", BrowserSetting::Command(c.clone()), c.program())),
            Some(c) => r.add("browser", Status::Fail, format!("{source}: {} — `{}` not found{}. Install it, change the setting (`latchkey profile browser`), or use `latchkey login --no-browser` and open the URL yourself.", BrowserSetting::Command(c.clone()), c.program(), if Path::new(c.program()).is_absolute() { "" } else { " on PATH" })),
            None => check_system_browser(r),
        },
    }
}

/// The OS default browser: the opener it goes through is installed.
fn check_system_browser(r: &mut Report) {
    let opener = if cfg!(target_os = "macos") {
        Some("open")
    } else if cfg!(windows) {
        None
    } else {
        Some("xdg-open")
    };
    match opener {
        None => r.add("browser", Status::Ok, "the system default browser is used"),
        Some(o) if locate_program(o).is_some() => r.add("browser", Status::Ok, format!("the system default browser opens through `{o}`")),
        Some(o) => r.add("browser", Status::Warn, format!("`{o}` is not installed, so no browser can be opened. Use `latchkey login --no-browser` and open the URL yourself, or set the profile's browser (`latchkey profile browser`).")),
    }
}
