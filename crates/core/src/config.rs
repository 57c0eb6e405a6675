//! Profiles: the TOML file that says which provider, client and loopback ports to use.
//! Every invalid field becomes an error naming the file, the profile, the field and the fix.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

/// Which token a protected API receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TokenChoice {
    #[default]
    Id,
    Access,
}

/// How the token goes into the `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// `Authorization: Bearer <token>`
    Bearer,
    /// `Authorization: <token>` (API Gateway REST Cognito authorizers)
    Raw,
}

/// Where the provider's endpoints come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ProfileKind {
    /// An Amazon Cognito user pool: issuer and endpoints are derived the Cognito way.
    Cognito {
        region: String,
        user_pool_id: String,
        /// Hosted-UI base URL (`https://prefix.auth.region.amazoncognito.com` or a custom domain).
        domain: Url,
        /// Issuer override (for local emulators); normally derived from region and pool id.
        issuer: Option<Url>,
    },
    /// Any OpenID Connect provider: everything comes from discovery.
    Oidc { issuer: Url },
}

/// One validated profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    pub name: String,
    pub kind: ProfileKind,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub redirect_host: String,
    pub redirect_path: String,
    /// Ports to try in order (Cognito matches the redirect URI exactly, port included).
    pub ports: Vec<u16>,
    /// Bind an ephemeral port (RFC 8252 §7.3 any-port matching at the provider).
    pub any_port: bool,
    pub sign_out_uri: Option<Url>,
    pub identity_provider: Option<String>,
    pub api_token: TokenChoice,
    pub api_scheme: Scheme,
    pub api_base_urls: Vec<Url>,
    /// Program (and leading arguments) that opens a URL; run without a shell.
    pub browser_command: Option<Vec<String>>,
    pub sign_in_timeout: Duration,
    pub http_timeout: Duration,
    pub refresh_margin: Duration,
    pub clock_leeway: Duration,
}

/// The configuration file: several profiles, one default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub default: Option<String>,
    pub profiles: BTreeMap<String, Profile>,
    /// Where this configuration was loaded from (for messages).
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ConfigError {
    #[error("no configuration file at {path}. Add a profile with `latchkey profile add …` (or start the app, which creates a Demo profile), or set LATCHKEY_CONFIG to the file to use.")]
    NotFound { path: PathBuf },
    #[error("cannot read {path}: {message}. Check the file's permissions.")]
    Io { path: PathBuf, message: String },
    #[error("{path} is not valid TOML: {message}. Fix the syntax at the position shown.")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: profile `{profile}`, field `{field}`: {problem}. Fix: {fix}")]
    Invalid {
        path: PathBuf,
        profile: String,
        field: String,
        problem: String,
        fix: String,
    },
    #[error("{path}: no profile named `{name}`. Known profiles: {known}. Use one of them or add `[profiles.{name}]`.")]
    NoSuchProfile {
        path: PathBuf,
        name: String,
        known: String,
    },
    #[error("{path}: no default profile. Set `default = \"<name>\"` at the top of the file, or pass a profile name.")]
    NoDefault { path: PathBuf },
    #[error("cannot determine the configuration directory of this OS user. Set LATCHKEY_CONFIG to the file to use.")]
    NoConfigDir,
}

impl From<ConfigError> for crate::Error {
    fn from(e: ConfigError) -> Self {
        crate::Error::new(crate::ErrorKind::Config, e.to_string())
    }
}

// ---- raw (as written) form ----

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, RawProfile>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_pool_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ports: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    any_port: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sign_out_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity_provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_scheme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_base_urls: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    browser_command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sign_in_timeout_secs: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_timeout_secs: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_margin_secs: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    clock_leeway_secs: Option<i64>,
}

const DEFAULT_PORTS: [u16; 3] = [53682, 53683, 53684];

impl Config {
    /// `$LATCHKEY_CONFIG`, or `config.toml` in the OS config directory.
    pub fn default_path() -> Result<PathBuf, ConfigError> {
        if let Some(p) = std::env::var_os("LATCHKEY_CONFIG") {
            return Ok(PathBuf::from(p));
        }
        directories::ProjectDirs::from("dev", "latchkey", "Latchkey")
            .map(|d| d.config_dir().join("config.toml"))
            .ok_or(ConfigError::NoConfigDir)
    }

    pub fn load_default() -> Result<Config, ConfigError> {
        Self::load(&Self::default_path()?)
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ConfigError::NotFound {
                    path: path.to_owned(),
                })
            }
            Err(e) => {
                return Err(ConfigError::Io {
                    path: path.to_owned(),
                    message: e.to_string(),
                })
            }
        };
        Self::parse(&text, path)
    }

    /// Parse and validate TOML text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        let mut profiles = BTreeMap::new();
        for (name, rp) in raw.profiles {
            let p = validate_profile(&name, rp, path)?;
            profiles.insert(name, p);
        }
        if let Some(d) = &raw.default {
            if !profiles.contains_key(d) {
                return Err(ConfigError::Invalid {
                    path: path.to_owned(),
                    profile: d.clone(),
                    field: "default".into(),
                    problem: format!("`default` names profile `{d}`, which is not defined"),
                    fix: format!(
                        "add a `[profiles.{d}]` table or set `default` to one of: {}",
                        known(&profiles)
                    ),
                });
            }
        }
        Ok(Config {
            default: raw.default,
            profiles,
            path: Some(path.to_owned()),
        })
    }

    /// Write the file (creating its directory). Values are validated already.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let raw = RawConfig {
            default: self.default.clone(),
            profiles: self
                .profiles
                .iter()
                .map(|(k, p)| (k.clone(), p.to_raw()))
                .collect(),
        };
        let text = toml::to_string_pretty(&raw).map_err(|e| ConfigError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| ConfigError::Io {
                path: dir.to_owned(),
                message: e.to_string(),
            })?;
        }
        std::fs::write(path, text).map_err(|e| ConfigError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    fn path_for_messages(&self) -> PathBuf {
        self.path
            .clone()
            .unwrap_or_else(|| PathBuf::from("<configuration>"))
    }

    pub fn profile(&self, name: &str) -> Result<&Profile, ConfigError> {
        self.profiles
            .get(name)
            .ok_or_else(|| ConfigError::NoSuchProfile {
                path: self.path_for_messages(),
                name: name.to_owned(),
                known: known(&self.profiles),
            })
    }

    /// The `default` profile, or the only profile when there is exactly one.
    pub fn default_profile(&self) -> Result<&Profile, ConfigError> {
        match &self.default {
            Some(d) => self.profile(d),
            None if self.profiles.len() == 1 => Ok(self.profiles.values().next().unwrap()),
            None => Err(ConfigError::NoDefault {
                path: self.path_for_messages(),
            }),
        }
    }

    /// Add or replace a profile.
    pub fn insert(&mut self, profile: Profile) {
        self.profiles.insert(profile.name.clone(), profile);
    }
}

fn known(profiles: &BTreeMap<String, Profile>) -> String {
    if profiles.is_empty() {
        "(none)".into()
    } else {
        profiles.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

fn is_loopback_host(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1")
}

/// https, or http only for a loopback host; no credentials, query or fragment tricks.
fn check_provider_url(u: &Url) -> Result<(), String> {
    match u.scheme() {
        "https" => {}
        "http" if u.host_str().map(is_loopback_host).unwrap_or(false) => {}
        "http" => {
            return Err(
                "plain http is allowed only for a loopback development provider".to_string(),
            )
        }
        other => return Err(format!("scheme `{other}` is not https")),
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("the URL must not contain a user name or password".into());
    }
    if u.fragment().is_some() {
        return Err("the URL must not contain a fragment".into());
    }
    Ok(())
}

fn validate_profile(name: &str, rp: RawProfile, path: &Path) -> Result<Profile, ConfigError> {
    let err = |field: &str, problem: String, fix: &str| ConfigError::Invalid {
        path: path.to_owned(),
        profile: name.to_owned(),
        field: field.to_owned(),
        problem,
        fix: fix.to_owned(),
    };

    if rp.client_secret.is_some() {
        return Err(err(
            "client_secret",
            "a client secret cannot be kept secret in a desktop app (RFC 8252 §8.5): anyone with the app can read it".into(),
            "remove `client_secret` and create an app client without a secret (a public client; Latchkey always uses PKCE)",
        ));
    }
    let client_id = match rp.client_id.as_deref().map(str::trim) {
        None | Some("") => {
            return Err(err(
                "client_id",
                "missing".into(),
                "set `client_id` to the app client id shown by the provider (Cognito: User pool → App clients)",
            ))
        }
        Some(c) if c.chars().any(|ch| ch.is_control() || ch.is_whitespace()) => {
            return Err(err(
                "client_id",
                "contains spaces or control characters".into(),
                "copy the client id again without surrounding text",
            ))
        }
        Some(c) => c.to_owned(),
    };

    let kind_name = rp.kind.as_deref().unwrap_or(if rp.user_pool_id.is_some() {
        "cognito"
    } else {
        "oidc"
    });
    let kind = match kind_name {
        "cognito" => {
            let region = rp.region.clone().unwrap_or_default();
            let region_ok = {
                let parts: Vec<&str> = region.split('-').collect();
                parts.len() >= 3
                    && parts[0].len() == 2
                    && parts.iter().all(|p| {
                        !p.is_empty()
                            && p.chars()
                                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                    })
                    && parts.last().unwrap().chars().all(|c| c.is_ascii_digit())
            };
            if !region_ok {
                return Err(err(
                    "region",
                    if region.is_empty() {
                        "missing".into()
                    } else {
                        format!("`{region}` is not an AWS region")
                    },
                    "set `region` to the user pool's region, e.g. \"eu-west-1\"",
                ));
            }
            let pool = rp.user_pool_id.clone().unwrap_or_default();
            let pool_ok = match pool.split_once('_') {
                Some((prefix, id)) => {
                    !id.is_empty()
                        && id.chars().all(|c| c.is_ascii_alphanumeric())
                        && (prefix == region || rp.issuer.is_some())
                }
                None => false,
            };
            if !pool_ok {
                return Err(err(
                    "user_pool_id",
                    if pool.is_empty() { "missing".into() } else { format!("`{pool}` is not a user pool id of region {region}") },
                    "set `user_pool_id` to the pool id shown in the Cognito console, e.g. \"eu-west-1_AbCdEf123\" (it starts with the region)",
                ));
            }
            let domain_text = rp.domain.clone().unwrap_or_default();
            if domain_text.is_empty() {
                return Err(err(
                    "domain",
                    "missing".into(),
                    "set `domain` to the hosted-UI domain: a prefix (\"myapp\"), the full URL (\"https://myapp.auth.eu-west-1.amazoncognito.com\") or your custom domain",
                ));
            }
            let domain_url = if domain_text.contains("://") {
                domain_text.clone()
            } else if domain_text.contains('.') {
                format!("https://{domain_text}")
            } else {
                format!("https://{domain_text}.auth.{region}.amazoncognito.com")
            };
            let domain = Url::parse(&domain_url)
                .map_err(|e| err("domain", format!("`{domain_text}` is not a URL ({e})"), "use a prefix like \"myapp\" or a URL like \"https://myapp.auth.eu-west-1.amazoncognito.com\""))?;
            check_provider_url(&domain)
                .map_err(|p| err("domain", p, "use the https hosted-UI domain"))?;
            if domain.path() != "/" || domain.query().is_some() {
                return Err(err("domain", "the domain must not have a path or query".into(), "give only the scheme and host, e.g. \"https://myapp.auth.eu-west-1.amazoncognito.com\""));
            }
            let issuer = match &rp.issuer {
                None => None,
                Some(s) => {
                    let u = Url::parse(s).map_err(|e| err("issuer", format!("`{s}` is not a URL ({e})"), "remove `issuer` (it is derived from region and pool id) or give the emulator's issuer URL"))?;
                    check_provider_url(&u).map_err(|p| err("issuer", p, "use an https issuer"))?;
                    Some(u)
                }
            };
            ProfileKind::Cognito {
                region,
                user_pool_id: pool,
                domain,
                issuer,
            }
        }
        "oidc" => {
            for f in ["region", "user_pool_id", "domain"] {
                let present = match f {
                    "region" => rp.region.is_some(),
                    "user_pool_id" => rp.user_pool_id.is_some(),
                    _ => rp.domain.is_some(),
                };
                if present {
                    return Err(err(f, format!("`{f}` belongs to Cognito profiles, but this profile has kind = \"oidc\""), "remove it, or set `kind = \"cognito\"`"));
                }
            }
            let s = rp.issuer.clone().unwrap_or_default();
            if s.is_empty() {
                return Err(err("issuer", "missing".into(), "set `issuer` to the provider's issuer URL (its discovery document is at <issuer>/.well-known/openid-configuration)"));
            }
            let u = Url::parse(&s).map_err(|e| err("issuer", format!("`{s}` is not a URL ({e})"), "use the issuer URL exactly as the provider publishes it, e.g. \"https://id.example.com\""))?;
            check_provider_url(&u)
                .map_err(|p| err("issuer", p, "use the provider's https issuer URL"))?;
            if u.query().is_some() {
                return Err(err(
                    "issuer",
                    "an issuer URL has no query".into(),
                    "remove the `?…` part",
                ));
            }
            ProfileKind::Oidc { issuer: u }
        }
        other => {
            return Err(err(
                "kind",
                format!("unknown kind `{other}`"),
                "use `kind = \"cognito\"` or `kind = \"oidc\"`",
            ))
        }
    };
    let is_cognito = matches!(kind, ProfileKind::Cognito { .. });

    let scopes = rp
        .scopes
        .clone()
        .unwrap_or_else(|| vec!["openid".into(), "email".into(), "profile".into()]);
    if !scopes.iter().any(|s| s == "openid") {
        return Err(err(
            "scopes",
            "`openid` is missing, so the provider would issue no ID token".into(),
            "add \"openid\" to `scopes`",
        ));
    }
    if let Some(bad) = scopes.iter().find(|s| {
        s.is_empty()
            || s.chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\')
    }) {
        return Err(err(
            "scopes",
            format!("`{bad}` is not a valid scope"),
            "list each scope as its own string, e.g. [\"openid\", \"email\"]",
        ));
    }

    let redirect_host = rp.redirect_host.clone().unwrap_or_else(|| {
        if is_cognito {
            "localhost".into()
        } else {
            "127.0.0.1".into()
        }
    });
    let redirect_host = match redirect_host.as_str() {
        "localhost" | "127.0.0.1" => redirect_host,
        "::1" | "[::1]" => "[::1]".to_string(),
        other => return Err(err("redirect_host", format!("`{other}` is not a loopback host"), "use \"localhost\", \"127.0.0.1\" or \"[::1]\": the callback listener binds loopback only")),
    };
    let redirect_path = rp
        .redirect_path
        .clone()
        .unwrap_or_else(|| "/callback".into());
    if !redirect_path.starts_with('/')
        || redirect_path.contains(['?', '#', ' '])
        || redirect_path.chars().any(|c| c.is_control())
    {
        return Err(err(
            "redirect_path",
            format!("`{redirect_path}` is not a plain absolute path"),
            "use a path like \"/callback\" (leading slash, no query or fragment)",
        ));
    }
    let any_port = rp.any_port.unwrap_or(false);
    let ports = match &rp.ports {
        None => {
            if any_port {
                vec![]
            } else {
                DEFAULT_PORTS.to_vec()
            }
        }
        Some(list) => {
            let mut out = Vec::new();
            for p in list {
                if *p < 1024 || *p > 65535 {
                    return Err(err("ports", format!("{p} is not a usable port"), "use ports between 1024 and 65535, registered at the provider as http://localhost:<port>/callback"));
                }
                out.push(*p as u16);
            }
            out
        }
    };
    if any_port && !ports.is_empty() {
        return Err(err("ports", "`ports` and `any_port = true` are both set".into(), "remove `ports` to use an ephemeral port (the provider must accept any loopback port), or remove `any_port`"));
    }
    if !any_port && ports.is_empty() {
        return Err(err("ports", "the list is empty".into(), "list at least one port, or set `any_port = true` for providers that accept any loopback port (RFC 8252)"));
    }
    if any_port && is_cognito {
        return Err(err(
            "any_port",
            "Cognito matches the redirect URI exactly, port included".into(),
            "remove `any_port` and list the ports registered as callback URLs in `ports`",
        ));
    }
    let sign_out_uri = match &rp.sign_out_uri {
        None => None,
        Some(s) => Some(Url::parse(s).map_err(|e| err("sign_out_uri", format!("`{s}` is not a URL ({e})"), "use the sign-out URL registered at the provider, e.g. \"http://localhost:53682/signed-out\""))?),
    };
    if let Some(idp) = &rp.identity_provider {
        if idp.is_empty() || idp.len() > 128 || idp.chars().any(|c| c.is_control()) {
            return Err(err("identity_provider", format!("`{}` is not an identity provider name", idp.escape_debug()), "use the provider name as configured in the user pool, e.g. \"COGNITO\", \"Google\" or your SAML/OIDC provider's name, or remove the field"));
        }
    }
    let api_token = match rp.api_token.as_deref() {
        None | Some("id") => TokenChoice::Id,
        Some("access") => TokenChoice::Access,
        Some(o) => {
            return Err(err(
                "api_token",
                format!("`{o}` is not a token kind"),
                "use \"id\" or \"access\"",
            ))
        }
    };
    let api_scheme = match rp.api_scheme.as_deref() {
        None => {
            if is_cognito {
                Scheme::Raw
            } else {
                Scheme::Bearer
            }
        }
        Some("bearer") => Scheme::Bearer,
        Some("raw") => Scheme::Raw,
        Some(o) => return Err(err(
            "api_scheme",
            format!("`{o}` is not a scheme"),
            "use \"bearer\" (Authorization: Bearer <token>) or \"raw\" (Authorization: <token>)",
        )),
    };
    let mut api_base_urls = Vec::new();
    for s in rp.api_base_urls.clone().unwrap_or_default() {
        let u = Url::parse(&s).map_err(|e| {
            err(
                "api_base_urls",
                format!("`{s}` is not a URL ({e})"),
                "list API base URLs like \"https://api.example.com/\"",
            )
        })?;
        if !matches!(u.scheme(), "https" | "http") || u.host_str().is_none() {
            return Err(err(
                "api_base_urls",
                format!("`{s}` is not an http(s) URL"),
                "list API base URLs like \"https://api.example.com/\"",
            ));
        }
        if u.scheme() == "http" && !u.host_str().map(is_loopback_host).unwrap_or(false) {
            return Err(err(
                "api_base_urls",
                format!("`{s}` would send tokens over plain http"),
                "use https (plain http only for loopback APIs)",
            ));
        }
        api_base_urls.push(u);
    }
    let browser_command = match &rp.browser_command {
        None => None,
        Some(v) if v.is_empty() || v[0].trim().is_empty() => return Err(err("browser_command", "empty command".into(), "give the program and its arguments as a list, e.g. [\"firefox\", \"--new-window\"]; the URL is appended as one argument")),
        Some(v) => Some(v.clone()),
    };
    let secs = |field: &str,
                v: Option<i64>,
                default: u64,
                min: u64,
                max: u64|
     -> Result<Duration, ConfigError> {
        match v {
            None => Ok(Duration::from_secs(default)),
            Some(x) if x >= min as i64 && x <= max as i64 => Ok(Duration::from_secs(x as u64)),
            Some(x) => Err(err(
                field,
                format!("{x} is out of range"),
                &format!("use a number of seconds between {min} and {max} (default {default})"),
            )),
        }
    };
    Ok(Profile {
        name: name.to_owned(),
        kind,
        client_id,
        scopes,
        redirect_host,
        redirect_path,
        ports,
        any_port,
        sign_out_uri,
        identity_provider: rp.identity_provider.clone(),
        api_token,
        api_scheme,
        api_base_urls,
        browser_command,
        sign_in_timeout: secs(
            "sign_in_timeout_secs",
            rp.sign_in_timeout_secs,
            300,
            10,
            3600,
        )?,
        http_timeout: secs("http_timeout_secs", rp.http_timeout_secs, 30, 1, 600)?,
        refresh_margin: secs("refresh_margin_secs", rp.refresh_margin_secs, 300, 0, 86400)?,
        clock_leeway: secs("clock_leeway_secs", rp.clock_leeway_secs, 60, 0, 600)?,
    })
}

impl Profile {
    /// A Cognito profile with the usual defaults (tests, the app's "add profile" form).
    pub fn cognito(
        name: &str,
        region: &str,
        user_pool_id: &str,
        domain: Url,
        client_id: &str,
    ) -> Profile {
        Profile {
            name: name.into(),
            kind: ProfileKind::Cognito {
                region: region.into(),
                user_pool_id: user_pool_id.into(),
                domain,
                issuer: None,
            },
            client_id: client_id.into(),
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            redirect_host: "localhost".into(),
            redirect_path: "/callback".into(),
            ports: DEFAULT_PORTS.to_vec(),
            any_port: false,
            sign_out_uri: None,
            identity_provider: None,
            api_token: TokenChoice::Id,
            api_scheme: Scheme::Raw,
            api_base_urls: vec![],
            browser_command: None,
            sign_in_timeout: Duration::from_secs(300),
            http_timeout: Duration::from_secs(30),
            refresh_margin: Duration::from_secs(300),
            clock_leeway: Duration::from_secs(60),
        }
    }

    /// A generic OIDC profile with the usual defaults (ephemeral loopback port on 127.0.0.1).
    pub fn oidc(name: &str, issuer: Url, client_id: &str) -> Profile {
        Profile {
            kind: ProfileKind::Oidc { issuer },
            redirect_host: "127.0.0.1".into(),
            ports: vec![],
            any_port: true,
            api_scheme: Scheme::Bearer,
            ..Profile::cognito(
                name,
                "us-east-1",
                "us-east-1_x",
                Url::parse("https://example.invalid").unwrap(),
                client_id,
            )
        }
    }

    pub fn is_cognito(&self) -> bool {
        matches!(self.kind, ProfileKind::Cognito { .. })
    }

    /// The issuer every token must carry.
    pub fn issuer(&self) -> String {
        match &self.kind {
            ProfileKind::Cognito {
                region,
                user_pool_id,
                issuer,
                ..
            } => match issuer {
                Some(u) => u.as_str().trim_end_matches('/').to_owned(),
                None => format!("https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"),
            },
            ProfileKind::Oidc { issuer } => {
                let s = issuer.as_str();
                // Url adds a trailing slash to a bare origin; issuers are compared as written.
                if issuer.path() == "/" {
                    s.trim_end_matches('/').to_owned()
                } else {
                    s.to_owned()
                }
            }
        }
    }

    /// Exactly the callback URLs to register at the provider.
    pub fn redirect_uris(&self) -> Vec<String> {
        if self.any_port {
            vec![format!(
                "http://{}{}",
                self.redirect_host, self.redirect_path
            )]
        } else {
            self.ports
                .iter()
                .map(|p| self.redirect_uri_for(*p))
                .collect()
        }
    }

    pub(crate) fn redirect_uri_for(&self, port: u16) -> String {
        format!(
            "http://{}:{}{}",
            self.redirect_host, port, self.redirect_path
        )
    }

    /// The sign-out URLs to register (Cognito "Allowed sign-out URLs").
    pub fn sign_out_uris(&self) -> Vec<String> {
        self.sign_out_uri.iter().map(|u| u.to_string()).collect()
    }

    /// The keychain account: profile name + issuer + client id, so two profiles never collide.
    pub fn keychain_account(&self) -> String {
        format!("{}|{}|{}", self.name, self.issuer(), self.client_id)
    }

    fn to_raw(&self) -> RawProfile {
        let mut r = RawProfile::default();
        match &self.kind {
            ProfileKind::Cognito {
                region,
                user_pool_id,
                domain,
                issuer,
            } => {
                r.kind = Some("cognito".into());
                r.region = Some(region.clone());
                r.user_pool_id = Some(user_pool_id.clone());
                r.domain = Some(domain.as_str().trim_end_matches('/').to_owned());
                r.issuer = issuer.as_ref().map(|u| u.to_string());
            }
            ProfileKind::Oidc { issuer } => {
                r.kind = Some("oidc".into());
                r.issuer = Some(self.issuer_string_for_save(issuer));
            }
        }
        r.client_id = Some(self.client_id.clone());
        r.scopes = Some(self.scopes.clone());
        r.redirect_host = Some(self.redirect_host.clone());
        r.redirect_path = Some(self.redirect_path.clone());
        if self.any_port {
            r.any_port = Some(true);
        } else {
            r.ports = Some(self.ports.iter().map(|p| *p as i64).collect());
        }
        r.sign_out_uri = self.sign_out_uri.as_ref().map(|u| u.to_string());
        r.identity_provider = self.identity_provider.clone();
        r.api_token = Some(
            match self.api_token {
                TokenChoice::Id => "id",
                TokenChoice::Access => "access",
            }
            .into(),
        );
        r.api_scheme = Some(
            match self.api_scheme {
                Scheme::Bearer => "bearer",
                Scheme::Raw => "raw",
            }
            .into(),
        );
        if !self.api_base_urls.is_empty() {
            r.api_base_urls = Some(self.api_base_urls.iter().map(|u| u.to_string()).collect());
        }
        r.browser_command = self.browser_command.clone();
        r.sign_in_timeout_secs = Some(self.sign_in_timeout.as_secs() as i64);
        r.http_timeout_secs = Some(self.http_timeout.as_secs() as i64);
        r.refresh_margin_secs = Some(self.refresh_margin.as_secs() as i64);
        r.clock_leeway_secs = Some(self.clock_leeway.as_secs() as i64);
        r
    }

    fn issuer_string_for_save(&self, issuer: &Url) -> String {
        if issuer.path() == "/" {
            issuer.as_str().trim_end_matches('/').to_owned()
        } else {
            issuer.to_string()
        }
    }
}
