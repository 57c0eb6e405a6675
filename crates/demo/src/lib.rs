//! The built-in development provider as a profile: the demo profile's shape, and
//! latchkey-devidp run in-process for it (by the app on first run, by the CLI and its agent).
//!
//! One demo profile fits all of them: the app creates `Demo`, `latchkey profile add NAME --demo`
//! any name; both point at the same preferred ports and keep the provider's keys and grants in
//! the same state file, so a session signed in by one is refreshed by the other.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use latchkey_core::config::{Config, Profile, ProfileKind};
use latchkey_core::IdentityPoolSettings;
use latchkey_devidp::{ClientConfig, DevIdp, DevIdpConfig, IdentityPoolConfig};
use url::Url;

/// The profile the app creates for its embedded provider on first run.
pub const APP_PROFILE: &str = "Demo";
/// The port the provider prefers for its pool domain (hosted UI, demo API), so a demo profile
/// (and its keychain entry) stays valid across runs; another one is picked when it is taken.
/// The same as `latchkey devidp`'s, so one demo profile fits both.
pub const DEMO_PORT: u16 = latchkey_devidp::DEMO_PORT;
/// The port it prefers for its `cognito-idp` origin (discovery, JWKS, `iss`).
pub const DEMO_ISSUER_PORT: u16 = latchkey_devidp::DEMO_ISSUER_PORT;
/// The port it prefers for its identity pool's origin (Cognito Identity and STS).
pub const DEMO_IDENTITY_PORT: u16 = 47_213;
/// The state file (keys, grants, signed-up users) in the data directory.
const STATE_FILE: &str = "devidp-state.json";

/// The three loopback ports a demo profile points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoPorts {
    /// The pool domain: hosted UI, `/oauth2/*`, the demo APIs.
    pub hosted: u16,
    /// The `cognito-idp` origin: discovery, JWKS, `iss`.
    pub issuer: u16,
    /// The identity pool's origin.
    pub identity: u16,
}

impl DemoPorts {
    /// The ports every demo profile starts with.
    pub const PREFERRED: DemoPorts = DemoPorts {
        hosted: DEMO_PORT,
        issuer: DEMO_ISSUER_PORT,
        identity: DEMO_IDENTITY_PORT,
    };

    /// The ports `profile` points at (the preferred one for any it does not name). A profile
    /// from before the provider had two origins names the hosted-UI port in its issuer too: its
    /// issuer moves to the preferred `cognito-idp` port.
    pub fn of(profile: &Profile) -> DemoPorts {
        let hosted = match &profile.kind {
            ProfileKind::Cognito { domain, .. } => domain.port().unwrap_or(DEMO_PORT),
            ProfileKind::Oidc { .. } => DEMO_PORT,
        };
        let issuer = Url::parse(&profile.issuer())
            .ok()
            .and_then(|u| u.port())
            .filter(|p| *p != hosted)
            .unwrap_or(DEMO_ISSUER_PORT);
        let identity = identity_endpoint(profile)
            .and_then(Url::port)
            .unwrap_or(DEMO_IDENTITY_PORT);
        DemoPorts {
            hosted,
            issuer,
            identity,
        }
    }

    /// Each port if it is free now, else 0 (any free port).
    fn free_or_any(self) -> DemoPorts {
        let free = |port: u16| TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok();
        let pick = |port: u16| if free(port) { port } else { 0 };
        DemoPorts {
            hosted: pick(self.hosted),
            issuer: pick(self.issuer),
            identity: pick(self.identity),
        }
    }
}

/// Why the provider of a demo profile could not be started; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The data directory for the provider's state file could not be created.
    #[error("cannot create {path} for the development provider's state: {message}. Check the directory's permissions.")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
    /// The OS reports no data directory for this user (no home directory).
    #[error("cannot determine the data directory of this OS user for the development provider's state. Set HOME (or XDG_DATA_HOME).")]
    NoDataDir,
    /// `LATCHKEY_DEVIDP_USERS` names a users file that cannot be used.
    #[error(
        "LATCHKEY_DEVIDP_USERS: {0}. Fix the file or unset the variable to use the demo users."
    )]
    Users(String),
    /// The provider did not start (its state file is damaged, a port could not be bound).
    #[error("the development provider did not start: {0}. Remove the state file named here, if any, or run `latchkey devidp` to see why.")]
    Start(String),
}

/// Whether `profile` points at the built-in development provider: what [`demo_profile`] makes
/// (on whichever loopback ports: provider, client, scopes, callback ports and identity pool
/// all the demo's), or the app's `Demo` profile from before the demo had an identity pool. A
/// profile merely aimed at some devidp (tests, `latchkey devidp` by hand) is not one.
pub fn is_demo(profile: &Profile) -> bool {
    let ProfileKind::Cognito { domain, .. } = &profile.kind else {
        return false;
    };
    if domain.host_str() != Some("127.0.0.1") {
        return false;
    }
    let made = demo_profile(&profile.name, DemoPorts::of(profile));
    let as_made = profile.kind == made.kind
        && profile.client_id == made.client_id
        && profile.scopes == made.scopes
        && profile.ports == made.ports
        && profile.aws == made.aws;
    as_made || profile.name == APP_PROFILE
}

/// The demo profile `name` for a provider on `ports`, with its identity pool (so AWS
/// credentials and SigV4 calls work too).
pub fn demo_profile(name: &str, ports: DemoPorts) -> Profile {
    let domain = loopback_url(ports.hosted, "");
    let pool = latchkey_devidp::DEFAULT_USER_POOL_ID;
    let mut profile = Profile::cognito(
        name,
        "us-east-1",
        pool,
        domain.clone(),
        latchkey_devidp::DEFAULT_CLIENT_ID,
    );
    if let ProfileKind::Cognito { issuer, .. } = &mut profile.kind {
        *issuer = Some(loopback_url(ports.issuer, pool));
    }
    profile.scopes = vec![
        "openid".into(),
        "email".into(),
        "profile".into(),
        "aws.cognito.signin.user.admin".into(),
    ];
    profile.sign_out_uri = Url::parse("http://localhost:53682/signed-out").ok();
    profile.api_base_urls = vec![domain];
    profile.aws = Some(IdentityPoolSettings {
        identity_pool_id: latchkey_devidp::DEMO_IDENTITY_POOL_ID.into(),
        identity_endpoint: Some(loopback_url(ports.identity, "")),
        ..IdentityPoolSettings::default()
    });
    profile
}

/// Whether `profile`'s domain, issuer and identity endpoint are those of a provider on `ports`.
fn points_at(profile: &Profile, ports: DemoPorts) -> bool {
    let there = demo_profile(&profile.name, ports);
    profile.kind == there.kind
        && profile.issuer() == there.issuer()
        && identity_endpoint(profile) == identity_endpoint(&there)
}

/// `http://127.0.0.1:PORT/PATH`.
fn loopback_url(port: u16, path: &str) -> Url {
    Url::parse(&format!("http://127.0.0.1:{port}/{path}")).expect("a loopback URL is valid")
}

/// The profile's identity endpoint, if it has one.
fn identity_endpoint(profile: &Profile) -> Option<&Url> {
    profile.aws.as_ref()?.identity_endpoint.as_ref()
}

/// Where the provider keeps its state: the app's data directory (`dev.latchkey.desktop` in
/// the OS data directory, as Tauri's `app_data_dir`), so the app and the CLI share it.
pub fn default_data_dir() -> Result<PathBuf, DemoError> {
    directories::BaseDirs::new()
        .map(|d| d.data_dir().join("dev.latchkey.desktop"))
        .ok_or(DemoError::NoDataDir)
}

/// A provider started for a demo profile, and the profile as it must be saved when a
/// preferred port was taken and the provider listens elsewhere.
#[derive(Debug)]
pub struct Started {
    /// The running provider: dropping it stops it.
    pub idp: DevIdp,
    /// `Some`: the profile pointing at where the provider is now (save it in place of the old).
    pub moved: Option<Profile>,
}

/// The app's first run: makes sure the `Demo` profile exists when there is no other, and starts
/// the provider the `Demo` profile (else the first demo profile, e.g. one the CLI added) points at (the caller saves the profiles).
/// Returns the running provider, or `None` when the config has no demo profile.
pub fn ensure(config: &mut Config, data_dir: &Path) -> Result<Option<DevIdp>, DemoError> {
    if config.profiles.is_empty() {
        config.insert(demo_profile(APP_PROFILE, DemoPorts::PREFERRED));
        config.default = Some(APP_PROFILE.into());
    }
    let demo = (config.profiles.get(APP_PROFILE).filter(|p| is_demo(p)))
        .or_else(|| config.profiles.values().find(|p| is_demo(p)));
    let Some(profile) = demo.cloned() else {
        return Ok(None);
    };
    let started = start(&profile, data_dir)?;
    if let Some(moved) = started.moved {
        config.insert(moved);
    }
    Ok(Some(started.idp))
}

/// The CLI's way: `None` when the provider `profile` points at already answers (the app's, an
/// agent's, `latchkey devidp`'s, or another command's), else [`start`].
pub fn serve(profile: &Profile, data_dir: &Path) -> Result<Option<Started>, DemoError> {
    if answers_as_issuer(&profile.issuer()) {
        return Ok(None);
    }
    start(profile, data_dir).map(Some)
}

/// Starts the provider for `profile` on its ports, or on free ones where those are taken (then
/// [`Started::moved`] is the profile to save), with its state in `data_dir`.
pub fn start(profile: &Profile, data_dir: &Path) -> Result<Started, DemoError> {
    let ports = DemoPorts::of(profile).free_or_any();
    std::fs::create_dir_all(data_dir).map_err(|e| DemoError::DataDir {
        path: data_dir.to_owned(),
        message: e.to_string(),
    })?;
    let idp = DevIdp::start(provider_config(profile, ports, data_dir)?)
        .map_err(|e| DemoError::Start(e.to_string()))?;
    let now = DemoPorts {
        hosted: idp.port(),
        issuer: idp.issuer_port(),
        identity: idp
            .identity_endpoint()
            .and_then(|u| Url::parse(&u).ok())
            .and_then(|u| u.port())
            .unwrap_or(DEMO_IDENTITY_PORT),
    };
    let moved = (!points_at(profile, now)).then(|| {
        // A preferred port was taken (or the profile predates the two origins, or the
        // identity pool): the profile points at where the provider is now.
        tracing::warn!(
            "the development provider moved to {} (cognito-idp {}, identity pool {})",
            idp.base_url(),
            idp.cognito_idp_url(),
            idp.identity_endpoint().unwrap_or_default()
        );
        let mut moved = demo_profile(&profile.name, now);
        moved.browser = profile.browser.clone();
        moved
    });
    Ok(Started { idp, moved })
}

/// The provider's configuration for `profile` on `ports`: the demo users (or
/// `LATCHKEY_DEVIDP_USERS`'s), the profile's callback and sign-out URLs, the identity pool.
fn provider_config(
    profile: &Profile,
    ports: DemoPorts,
    data_dir: &Path,
) -> Result<DevIdpConfig, DemoError> {
    // LATCHKEY_DEVIDP_USERS: a users TOML (see `latchkey-devidp --help`) instead of the demo users.
    let users = match std::env::var_os("LATCHKEY_DEVIDP_USERS") {
        Some(path) => latchkey_devidp::load_users_file(Path::new(&path))
            .map_err(|e| DemoError::Users(e.to_string()))?,
        None => DevIdpConfig::default().users,
    };
    Ok(DevIdpConfig {
        port: ports.hosted,
        issuer_port: ports.issuer,
        users,
        client: ClientConfig {
            callback_urls: profile.redirect_uris(),
            sign_out_urls: profile.sign_out_uris(),
            ..ClientConfig::default()
        },
        state_file: Some(data_dir.join(STATE_FILE)),
        // LATCHKEY_DEVIDP_CONTROL_TOKEN: the secret out-of-process tests use to drive the
        // provider's control endpoint; without it, a random one nobody outside knows.
        control_token: std::env::var(latchkey_devidp::CONTROL_TOKEN_ENV).ok(),
        identity_pool: Some(IdentityPoolConfig {
            port: ports.identity,
            ..IdentityPoolConfig::default()
        }),
        ..DevIdpConfig::default()
    })
}

/// Whether a provider on loopback serves discovery for exactly `issuer` (a plain HTTP/1.0
/// request: the demo issuer is `http://127.0.0.1:PORT/POOL`); anything else is "no".
fn answers_as_issuer(issuer: &str) -> bool {
    let Ok(url) = Url::parse(issuer) else {
        return false;
    };
    let (Some("127.0.0.1"), Some(port)) = (url.host_str(), url.port()) else {
        return false;
    };
    let path = format!(
        "{}/.well-known/openid-configuration",
        url.path().trim_end_matches('/')
    );
    discovery_issuer(port, &path).as_deref() == Some(issuer)
}

/// The `issuer` of the discovery document at `path` on 127.0.0.1:`port`, if one answers.
fn discovery_issuer(port: u16, path: &str) -> Option<String> {
    let limit = Some(Duration::from_secs(2));
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(limit).ok()?;
    stream.set_write_timeout(limit).ok()?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = Vec::new();
    stream.take(256 * 1024).read_to_end(&mut answer).ok()?;
    let answer = String::from_utf8(answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return None;
    }
    let document: serde_json::Value = serde_json::from_str(body).ok()?;
    Some(document.get("issuer")?.as_str()?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_demo_profile_of_any_name_is_recognised_and_a_copy_elsewhere_is_not() {
        assert!(is_demo(&demo_profile("demo", DemoPorts::PREFERRED)));
        let mut remote = demo_profile("demo", DemoPorts::PREFERRED);
        if let ProfileKind::Cognito { domain, .. } = &mut remote.kind {
            *domain = Url::parse("https://demo.auth.us-east-1.amazoncognito.com").unwrap();
        }
        assert!(!is_demo(&remote));
        let mut other_pool = demo_profile("demo", DemoPorts::PREFERRED);
        other_pool.aws = None;
        assert!(!is_demo(&other_pool));
        // A test's profile for some devidp: its own callback port.
        let mut test_profile = demo_profile("cog", DemoPorts::PREFERRED);
        test_profile.ports = vec![40_123];
        assert!(!is_demo(&test_profile));
    }

    #[test]
    fn the_ports_of_a_demo_profile_are_the_ones_it_was_made_with() {
        let ports = DemoPorts {
            hosted: 40_001,
            issuer: 40_002,
            identity: 40_003,
        };
        assert_eq!(DemoPorts::of(&demo_profile("d", ports)), ports);
    }

    #[test]
    fn a_taken_port_moves_the_profile_and_a_running_provider_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        // Held by something that is not the provider: the provider moves elsewhere.
        let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let ports = DemoPorts {
            hosted: taken.local_addr().unwrap().port(),
            issuer: 0,
            identity: 0,
        };
        let profile = demo_profile("demo", ports);
        let started = start(&profile, dir.path()).unwrap();
        let moved = started.moved.expect("the profile moved");
        assert_ne!(DemoPorts::of(&moved).hosted, ports.hosted);
        assert!(is_demo(&moved));
        // The moved profile's provider answers: serving it again starts nothing.
        assert!(serve(&moved, dir.path()).unwrap().is_none());
        assert!(dir.path().join(STATE_FILE).exists());
    }
}
