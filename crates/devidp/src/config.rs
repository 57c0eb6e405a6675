//! What a development provider serves: the user pool, its one app client and its users.
//! Defaults mirror a freshly created Cognito pool; the TOML users-file loader lives here too.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::DevIdpError;
use crate::identity_pool::{GroupRole, IdentityPoolConfig};

/// Default user pool id; it matches Cognito's `^[a-z]{2}-(gov-)?[a-z]+-\d_[A-Za-z0-9]+$` pattern.
pub const DEFAULT_USER_POOL_ID: &str = "us-east-1_DevPool01";
/// Default app client id (a public client: no secret).
pub const DEFAULT_CLIENT_ID: &str = "latchkey-desktop";
/// Loopback ports registered by default, in the order a client should try them.
pub const DEFAULT_CALLBACK_PORTS: [u16; 3] = [53682, 53683, 53684];

/// The demo user created when no users are configured: groups `users` and `admins`.
pub const DEMO_USERNAME: &str = "demo@latchkey.dev";
/// Password of [`DEMO_USERNAME`].
pub const DEMO_PASSWORD: &str = "Latchkey-demo-1";
/// A second demo user in group `users` only (the demo API's `/admin` answers it 403).
pub const VIEWER_USERNAME: &str = "viewer@latchkey.dev";
/// Password of [`VIEWER_USERNAME`].
pub const VIEWER_PASSWORD: &str = "Latchkey-viewer-1";

/// Everything a [`crate::DevIdp`] needs to start.
#[derive(Clone, Debug)]
pub struct DevIdpConfig {
    /// TCP port on 127.0.0.1; 0 picks a free ephemeral port.
    pub port: u16,
    /// The pool id: part of the issuer and of the discovery/JWKS paths.
    pub user_pool_id: String,
    /// Issuer override (e.g. to mimic `https://cognito-idp.{region}.amazonaws.com/{pool}`);
    /// default `http://127.0.0.1:PORT/{user_pool_id}`.
    pub issuer: Option<String>,
    /// The one app client of the pool.
    pub client: ClientConfig,
    /// Users who can sign in (signed-up users are added at run time).
    pub users: Vec<UserRecord>,
    /// Optional JSON file that keeps signing keys, refresh-token grants (hashed) and
    /// signed-up users across restarts.
    pub state_file: Option<PathBuf>,
    /// IAM roles of user-pool groups; they appear in ID tokens as Cognito puts them there.
    pub group_roles: Vec<GroupRole>,
    /// The identity pool served on its own loopback origin (`None`: no identity pool).
    pub identity_pool: Option<IdentityPoolConfig>,
}

impl Default for DevIdpConfig {
    fn default() -> Self {
        DevIdpConfig {
            port: 0,
            user_pool_id: DEFAULT_USER_POOL_ID.to_string(),
            issuer: None,
            client: ClientConfig::default(),
            users: UserRecord::demo_users(),
            state_file: None,
            group_roles: GroupRole::demo_roles(),
            identity_pool: Some(IdentityPoolConfig::default()),
        }
    }
}

/// Refresh-token rotation (Cognito's `RefreshTokenRotation`, `Feature: ENABLED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// How long a rotated-out refresh token keeps working (0..=60 s, `RetryGracePeriodSeconds`).
    pub grace_period: Duration,
}

/// The app client: which redirect URIs, scopes and token lifetimes it has.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub client_id: String,
    /// Registered callback URLs, matched exactly (scheme, host, port, path, trailing slash).
    pub callback_urls: Vec<String>,
    /// Registered sign-out URLs for `/logout?logout_uri=…`, matched exactly.
    pub sign_out_urls: Vec<String>,
    /// RFC 8252 §7.3 mode: for `http` loopback URLs any port matches (Cognito: no such mode).
    pub any_loopback_port: bool,
    /// Scopes the client may receive; a scope it does not have is dropped from requests.
    pub scopes: Vec<String>,
    /// `None`: a refresh returns no new refresh token (Cognito's default).
    pub rotation: Option<Rotation>,
    pub id_token_ttl: Duration,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        let mut callback_urls = Vec::new();
        let mut sign_out_urls = Vec::new();
        for host in ["localhost", "127.0.0.1"] {
            for port in DEFAULT_CALLBACK_PORTS {
                callback_urls.push(format!("http://{host}:{port}/callback"));
                sign_out_urls.push(format!("http://{host}:{port}/signed-out"));
            }
        }
        ClientConfig {
            client_id: DEFAULT_CLIENT_ID.to_string(),
            callback_urls,
            sign_out_urls,
            any_loopback_port: false,
            scopes: [
                "openid",
                "email",
                "profile",
                "aws.cognito.signin.user.admin",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            rotation: None,
            id_token_ttl: Duration::from_secs(3600),
            access_token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// One user of the pool. `attributes` holds `custom:*` attributes (always strings, as in
/// Cognito) and may also hold standard ones such as `name` or `given_name`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRecord {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .field("email", &self.email)
            .field("groups", &self.groups)
            .field("attributes", &self.attributes)
            .finish()
    }
}

impl UserRecord {
    /// The two demo users: [`DEMO_USERNAME`] (users + admins) and [`VIEWER_USERNAME`] (users).
    pub fn demo_users() -> Vec<UserRecord> {
        let attrs = |tenant: &str, name: &str| {
            BTreeMap::from([
                ("custom:tenant".to_string(), tenant.to_string()),
                ("name".to_string(), name.to_string()),
            ])
        };
        vec![
            UserRecord {
                username: DEMO_USERNAME.to_string(),
                password: DEMO_PASSWORD.to_string(),
                email: DEMO_USERNAME.to_string(),
                groups: vec!["users".to_string(), "admins".to_string()],
                attributes: attrs("latchkey-demo", "Demo Admin"),
            },
            UserRecord {
                username: VIEWER_USERNAME.to_string(),
                password: VIEWER_PASSWORD.to_string(),
                email: VIEWER_USERNAME.to_string(),
                groups: vec!["users".to_string()],
                attributes: attrs("latchkey-demo", "Demo Viewer"),
            },
        ]
    }
}

/// Standard attribute names a users file may set besides `custom:*`.
const STANDARD_ATTRIBUTES: &[&str] = &[
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "address",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    users: Vec<UserRecord>,
}

/// Reads a TOML users file:
/// ```toml
/// [[users]]
/// username = "alice@example.com"
/// password = "Alice-pass-1"
/// email = "alice@example.com"      # optional; defaults to the username when it is an address
/// groups = ["users", "admins"]     # optional
/// attributes = { "custom:tenant" = "acme", name = "Alice" }   # optional, strings only
/// ```
pub fn load_users_file(path: &Path) -> Result<Vec<UserRecord>, DevIdpError> {
    let fail = |reason: String| DevIdpError::UsersFile {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    parse_users_toml(&text).map_err(fail)
}

/// Parses users-file text; the error is one line (with a line number when TOML knows it).
pub fn parse_users_toml(text: &str) -> Result<Vec<UserRecord>, String> {
    let file: UsersFile = toml::from_str(text).map_err(|e| {
        let message = e.message().replace('\n', " ");
        match e.span() {
            Some(span) => {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line}: {}", message.trim())
            }
            None => message.trim().to_string(),
        }
    })?;
    let mut users = file.users;
    if users.is_empty() {
        return Err("no users: add at least one [[users]] table".to_string());
    }
    for user in &mut users {
        if user.email.is_empty() && user.username.contains('@') {
            user.email = user.username.clone();
        }
    }
    validate_users(&users)?;
    Ok(users)
}

/// Checks usernames are present and unique (case-insensitively, as in new Cognito pools).
pub(crate) fn validate_users(users: &[UserRecord]) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, user) in users.iter().enumerate() {
        let n = i + 1;
        if user.username.trim().is_empty() {
            return Err(format!("user #{n}: username is empty"));
        }
        if user.password.is_empty() {
            return Err(format!("user {:?}: password is empty", user.username));
        }
        if !seen.insert(user.username.to_lowercase()) {
            return Err(format!("user {:?} is listed twice", user.username));
        }
        for key in user.attributes.keys() {
            let custom_ok = key
                .strip_prefix("custom:")
                .is_some_and(|rest| !rest.is_empty() && rest.len() <= 20);
            if !custom_ok && !STANDARD_ATTRIBUTES.contains(&key.as_str()) {
                return Err(format!(
                    "user {:?}: attribute {key:?} is neither custom:NAME (1-20 chars) nor a standard attribute",
                    user.username
                ));
            }
        }
    }
    Ok(())
}

/// Whether an `http` URL points at a loopback host.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1")
}

/// Checks the configuration against Cognito's own limits before anything binds.
pub(crate) fn validate_config(config: &DevIdpConfig) -> Result<(), DevIdpError> {
    let bad = |s: String| Err(DevIdpError::Config(s));
    let client = &config.client;
    if client.client_id.trim().is_empty() {
        return bad("client_id is empty".into());
    }
    if config.user_pool_id.trim().is_empty() || config.user_pool_id.contains('/') {
        return bad(format!(
            "user_pool_id {:?} must be non-empty and contain no '/'",
            config.user_pool_id
        ));
    }
    if client.callback_urls.len() > 100 || client.sign_out_urls.len() > 100 {
        return bad("Cognito allows at most 100 callback URLs and 100 sign-out URLs".into());
    }
    for (kind, urls) in [
        ("callback URL", &client.callback_urls),
        ("sign-out URL", &client.sign_out_urls),
    ] {
        for raw in urls {
            check_registered_url(kind, raw).or_else(bad)?;
        }
    }
    if let Some(rotation) = client.rotation {
        if rotation.grace_period > Duration::from_secs(60) {
            return bad(format!(
                "rotation grace period is {} s; Cognito allows 0 to 60 s",
                rotation.grace_period.as_secs()
            ));
        }
    }
    for (name, ttl) in [
        ("id_token_ttl", client.id_token_ttl),
        ("access_token_ttl", client.access_token_ttl),
        ("refresh_token_ttl", client.refresh_token_ttl),
    ] {
        if ttl.as_secs() == 0 {
            return bad(format!("{name} must be at least 1 second"));
        }
    }
    if let Some(issuer) = &config.issuer {
        match url::Url::parse(issuer) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => return bad(format!("issuer {issuer:?} is not an http(s) URL")),
        }
    }
    if let Some(pool) = &config.identity_pool {
        pool.validate().or_else(bad)?;
    }
    validate_users(&config.users).or_else(bad)
}

fn check_registered_url(kind: &str, raw: &str) -> Result<(), String> {
    if raw.is_empty() || raw.len() > 1024 {
        return Err(format!("{kind} {raw:?} must be 1 to 1024 characters"));
    }
    let url = url::Url::parse(raw).map_err(|e| format!("{kind} {raw:?} is not a URL: {e}"))?;
    if url.fragment().is_some() {
        return Err(format!("{kind} {raw:?} must not contain a fragment"));
    }
    // Cognito: HTTPS except for http://localhost (and, since 2025, 127.0.0.1); custom schemes ok.
    if url.scheme() == "http" && !url.host_str().is_some_and(is_loopback_host) {
        return Err(format!("{kind} {raw} cannot use the HTTP protocol."));
    }
    Ok(())
}

/// Settings that work here but that a real Cognito pool would refuse (logged at start-up).
pub(crate) fn cognito_range_warnings(config: &DevIdpConfig) -> Vec<String> {
    let mut warnings = Vec::new();
    let client = &config.client;
    for (name, ttl) in [
        ("ID-token", client.id_token_ttl),
        ("access-token", client.access_token_ttl),
    ] {
        if ttl < Duration::from_secs(300) || ttl > Duration::from_secs(86_400) {
            warnings.push(format!(
                "{name} lifetime {} s is outside Cognito's 5 min - 1 day range",
                ttl.as_secs()
            ));
        }
    }
    let refresh = client.refresh_token_ttl;
    if refresh < Duration::from_secs(3600) || refresh > Duration::from_secs(10 * 365 * 86_400) {
        warnings.push(format!(
            "refresh-token lifetime {} s is outside Cognito's 60 min - 10 years range",
            refresh.as_secs()
        ));
    }
    if !looks_like_pool_id(&config.user_pool_id) {
        warnings.push(format!(
            "user pool id {:?} does not match Cognito's REGION_ID pattern (aws-jwt-verify would refuse it)",
            config.user_pool_id
        ));
    }
    warnings
}

/// `^[a-z]{2}-(gov-)?[a-z]+-\d_[A-Za-z0-9]+$`, checked by hand.
fn looks_like_pool_id(id: &str) -> bool {
    let Some((region, suffix)) = id.split_once('_') else {
        return false;
    };
    let parts: Vec<&str> = region.split('-').collect();
    let lower = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    let region_ok = match parts.as_slice() {
        [cc, name, digit] => {
            lower(cc)
                && cc.len() == 2
                && lower(name)
                && digit.len() == 1
                && digit.as_bytes()[0].is_ascii_digit()
        }
        [cc, "gov", name, digit] => {
            lower(cc)
                && cc.len() == 2
                && lower(name)
                && digit.len() == 1
                && digit.as_bytes()[0].is_ascii_digit()
        }
        _ => false,
    };
    region_ok && !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_id_pattern() {
        assert!(looks_like_pool_id(DEFAULT_USER_POOL_ID));
        assert!(looks_like_pool_id("us-gov-west-1_Abc123"));
        assert!(!looks_like_pool_id("DevPool"));
        assert!(!looks_like_pool_id("us-east-1_"));
        assert!(!looks_like_pool_id("USA-east-1_x"));
    }

    #[test]
    fn users_toml_errors_are_one_line() {
        let err = parse_users_toml("[[users]\nusername = 1").unwrap_err();
        assert!(err.starts_with("line 1:") && !err.contains('\n'), "{err}");
        let users =
            parse_users_toml("[[users]]\nusername = \"a@b.c\"\npassword = \"x\"\n").unwrap();
        assert_eq!(
            users[0].email, "a@b.c",
            "email defaults to an e-mail-shaped username"
        );
    }
}
