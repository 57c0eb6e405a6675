//! Profiles: the TOML file that says which provider, client and loopback ports to use. One
//! pipeline for the file, the CLI and the app: [`ProfileDraft`] → `validate` → [`Config::insert`]
//! → [`Config::save`] (atomic, keeping the user's comments and layout). Every invalid field
//! becomes an error naming the file, the profile, the field and the fix.

mod agent_settings;
mod api_settings;
mod authorize_params;
mod browser_setting;
mod draft;
mod error;
mod expectation;
mod file;
mod identity_pool;
mod migrate;
mod review;
mod settings;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

pub use agent_settings::{AgentDraft, AgentSettings, IDLE_FORGET_RANGE_SECS};
pub(crate) use api_settings::is_header_name;
pub use api_settings::{DEFAULT_RESPONSE_LIMIT_MIB, RESPONSE_LIMIT_RANGE_MIB};
pub(crate) use authorize_params::is_reserved_param;
pub use authorize_params::RESERVED_PARAMS;
pub use browser_setting::{
    BrowserCommand, BrowserCommandError, BrowserDraft, BrowserSetting, OPEN_NOTHING,
    SYSTEM_DEFAULT, URL_PLACEHOLDER,
};
pub use draft::{AwsDraft, ProfileDraft};
pub use error::ConfigError;
pub use expectation::{Expectation, ExpectationError, EXPECTATION_SYNTAX};
pub use identity_pool::{IdentityFlow, IdentityPoolSettings, SettingsError};
pub use migrate::Migration;
pub use review::{DroppedSetting, ImportReview, ReviewedSetting, MACHINE_LOCAL, MAX_IMPORT_BYTES};
pub use settings::{setting_names, SETTINGS_REFERENCE};

/// Which token a protected API receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TokenChoice {
    /// The ID token (`api_token = "id"`, the default): the user's identity claims, audience
    /// this app's client id.
    #[default]
    Id,
    /// The access token (`api_token = "access"`), e.g. for APIs that authorize by scope.
    Access,
}

/// How an API call is authorized: the token in the `Authorization` header, or a SigV4
/// signature made with the identity pool's AWS credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// `Authorization: Bearer <token>`
    Bearer,
    /// `Authorization: <token>` (API Gateway REST Cognito authorizers)
    Raw,
    /// AWS Signature Version 4 with the profile's AWS credentials (API Gateway `AWS_IAM`
    /// authorization, Lambda function URLs, AppSync with IAM); needs an `[aws]` table.
    Sigv4,
}

/// Where the provider's endpoints come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ProfileKind {
    /// An Amazon Cognito user pool: issuer and endpoints are derived the Cognito way.
    Cognito {
        /// The user pool's AWS region, e.g. `eu-west-1` (part of the derived issuer).
        region: String,
        /// The user pool id, e.g. `eu-west-1_AbCdEf123`; it starts with `region` unless
        /// `issuer` overrides the issuer.
        user_pool_id: String,
        /// Hosted-UI base URL (`https://prefix.auth.region.amazoncognito.com` or a custom domain).
        domain: Url,
        /// Issuer override (for local emulators); normally derived from region and pool id.
        issuer: Option<Url>,
    },
    /// Any OpenID Connect provider: everything comes from discovery.
    Oidc {
        /// The issuer URL exactly as the provider publishes it; discovery is read from
        /// `<issuer>/.well-known/openid-configuration`.
        issuer: Url,
    },
}

/// One validated profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// The `[profiles.NAME]` table name: 1 to 64 letters, digits, `.`, `_` or `-` (also the
    /// keychain account's first part).
    pub name: String,
    /// The provider: a Cognito user pool or a generic OpenID Connect issuer.
    pub kind: ProfileKind,
    /// The app client id registered at the provider (a public client: no secret).
    pub client_id: String,
    /// The scopes asked for at sign-in; always includes `openid` (default `openid email
    /// profile`).
    pub scopes: Vec<String>,
    /// The loopback host of the redirect URI: `localhost` (Cognito default), `127.0.0.1`
    /// (OIDC default) or `[::1]`.
    pub redirect_host: String,
    /// The path of the redirect URI, e.g. `/callback` (the default).
    pub redirect_path: String,
    /// Ports to try in order (Cognito matches the redirect URI exactly, port included).
    pub ports: Vec<u16>,
    /// Bind an ephemeral port (RFC 8252 §7.3 any-port matching at the provider).
    pub any_port: bool,
    /// Where the provider's logout page sends the browser (`logout_uri` or
    /// `post_logout_redirect_uri`); Cognito profiles default to `/signed-out` on the first
    /// port, `None` when unset on an OIDC profile.
    pub sign_out_uri: Option<Url>,
    /// The `identity_provider` authorize parameter (Cognito: go straight to this federated
    /// provider, e.g. `Google` or a SAML provider's name); `None` sends none.
    pub identity_provider: Option<String>,
    /// More authorize request parameters (`[profiles.NAME.authorize_params]`: `lang`,
    /// `idp_identifier`, …); never one of [`RESERVED_PARAMS`].
    pub authorize_params: BTreeMap<String, String>,
    /// Which token API calls and `latchkey token --format kubectl` send unless told otherwise
    /// (default: the ID token).
    pub api_token: TokenChoice,
    /// How API calls carry it: `raw` by default for Cognito, `bearer` for OIDC, or `sigv4`.
    pub api_scheme: Scheme,
    /// The header the token travels in (API Gateway's "Token Source"; `Authorization`).
    pub api_token_header: String,
    /// How many MiB of an API's answer are read (`api_response_limit_mib`); the rest is cut
    /// and the answer marked truncated.
    pub api_response_limit_mib: u32,
    /// The origins a token may be sent to; a call to any other origin is an
    /// [`ErrorKind::OriginNotAllowed`](crate::error::ErrorKind::OriginNotAllowed) error unless allowed for that one call (empty: every
    /// call needs that).
    pub api_base_urls: Vec<Url>,
    /// What opens the sign-in page (`browser`): the system browser, nothing, or a program run
    /// without a shell. Machine-local: never exported or imported.
    pub browser: BrowserSetting,
    /// How long a sign-in waits for the browser's callback (`sign_in_timeout_secs`, 10 to
    /// 3600 s, default 300 s).
    pub sign_in_timeout: Duration,
    /// The timeout of each request to the provider (`http_timeout_secs`, 1 to 600 s, default
    /// 30 s).
    pub http_timeout: Duration,
    /// How long before the tokens expire they are refreshed (`refresh_margin_secs`, 0 to
    /// 86400 s, default 300 s; capped at a share of a short lifetime).
    pub refresh_margin: Duration,
    /// The tolerated clock difference with the provider when checking `exp`, `iat` and `nbf`
    /// (`clock_leeway_secs`, 0 to 600 s, default 60 s).
    pub clock_leeway: Duration,
    /// The user's assertions about the tokens (`expect = ["group=admins"]`), shown next to
    /// the verification checks and judged by `latchkey inspect`.
    pub expect: Vec<Expectation>,
    /// The identity pool that trades the ID token for AWS credentials (`[profiles.NAME.aws]`),
    /// checked against the profile when it was validated.
    pub aws: Option<IdentityPoolSettings>,
    /// How the session agent keeps this profile's tokens (`[profiles.NAME.agent]`).
    pub agent: AgentSettings,
}

/// The configuration file: several profiles, one default.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file's top-level `default`: the profile used when none is named (`None` when
    /// unset).
    pub default: Option<String>,
    /// The valid profiles, by name.
    pub profiles: BTreeMap<String, Profile>,
    /// Where this configuration was loaded from (for messages and `save`).
    pub path: Option<PathBuf>,
    /// Profiles in the file that failed validation (lenient loading only), kept as written.
    pub invalid: BTreeMap<String, ConfigError>,
    /// Settings read in an old form and rewritten in the new one when the file was loaded
    /// (each to be said once: the file no longer has the old form).
    pub migrations: Vec<Migration>,
    /// The file as read, so that saving keeps comments, order and layout.
    document: toml_edit::DocumentMut,
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

    /// An empty configuration that will be saved to `path`.
    pub fn empty(path: &Path) -> Config {
        Config {
            path: Some(path.to_owned()),
            ..Config::default()
        }
    }

    /// [`Config::load`] from [`Config::default_path`]; a missing file is
    /// [`ConfigError::NotFound`].
    pub fn load_default() -> Result<Config, ConfigError> {
        Self::load(&Self::default_path()?)
    }

    /// Read and validate the file; the first invalid profile is an error.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::parse(&file::read(path)?, path).map(migrate::rewrite)
    }

    /// Read the file, keeping invalid profiles aside in [`Config::invalid`] (the app shows
    /// them and lets the user fix or remove them; it still starts).
    pub fn load_lenient(path: &Path) -> Result<Config, ConfigError> {
        Self::parse_lenient(&file::read(path)?, path).map(migrate::rewrite)
    }

    /// Parse and validate TOML text; `path` is used in messages and by `save`.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config = Self::parse_lenient(text, path)?;
        if let Some(e) = config.invalid.values().next() {
            return Err(e.clone());
        }
        if let Some(d) = &config.default {
            if !config.profiles.contains_key(d) {
                return Err(ConfigError::Invalid {
                    path: path.to_owned(),
                    profile: d.clone(),
                    field: "default".into(),
                    problem: format!("`default` names profile `{d}`, which is not defined"),
                    fix: format!(
                        "add a `[profiles.{d}]` table or set `default` to one of: {}",
                        known(&config.profiles)
                    ),
                });
            }
        }
        Ok(config)
    }

    /// Like [`Config::parse`], with invalid profiles set aside instead of failing.
    pub fn parse_lenient(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let (document, default, drafts) = file::parse(text, path)?;
        let mut config = Config {
            default,
            path: Some(path.to_owned()),
            document,
            ..Config::default()
        };
        for (name, draft) in drafts {
            let legacy = migrate::legacy_keys(&name, draft.as_ref().ok());
            match draft.and_then(|d| d.validate(&name, path)) {
                Ok(p) => {
                    config.migrations.extend(legacy);
                    config.profiles.insert(name, p);
                }
                Err(e) => {
                    config.invalid.insert(name, e);
                }
            }
        }
        Ok(config)
    }

    /// The profile `name` as written in the file (also an invalid one, to fix it).
    pub fn draft(&self, name: &str) -> Option<ProfileDraft> {
        match self.profiles.get(name) {
            Some(p) => Some(ProfileDraft::from_profile(p)),
            None => file::draft(&self.document, name).and_then(Result::ok),
        }
    }

    /// Write the file where it was read from (the default path for a new one): atomically,
    /// keeping comments and layout, writing new profiles' non-default settings only.
    pub fn save(&self) -> Result<(), ConfigError> {
        let path = match &self.path {
            Some(p) => p.clone(),
            None => Self::default_path()?,
        };
        self.save_to(&path)
    }

    /// Write to `path` (nothing is written when the file already says exactly this).
    pub fn save_to(&self, path: &Path) -> Result<(), ConfigError> {
        let text = file::render(&self.document, self);
        if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
            return Ok(());
        }
        file::write_atomically(path, &text)
    }

    fn path_for_messages(&self) -> PathBuf {
        self.path
            .clone()
            .unwrap_or_else(|| PathBuf::from("<configuration>"))
    }

    /// The valid profile `name`; an invalid one is its validation error, an unknown one
    /// [`ConfigError::NoSuchProfile`].
    pub fn profile(&self, name: &str) -> Result<&Profile, ConfigError> {
        if let Some(e) = self.invalid.get(name) {
            return Err(e.clone());
        }
        self.profiles
            .get(name)
            .ok_or_else(|| ConfigError::NoSuchProfile {
                path: self.path_for_messages(),
                name: name.to_owned(),
                known: known(&self.profiles),
            })
    }

    /// The name of the profile used when none is named: `default`, or the only profile of the
    /// file (valid or set aside) when there is exactly one.
    pub fn default_name(&self) -> Option<&str> {
        if let Some(d) = &self.default {
            return Some(d);
        }
        let mut names = self.profiles.keys().chain(self.invalid.keys());
        match (names.next(), names.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    }

    /// The `default` profile, or the only profile when there is exactly one (its own error
    /// when that one is set aside as invalid).
    pub fn default_profile(&self) -> Result<&Profile, ConfigError> {
        match self.default_name() {
            Some(name) => self.profile(name),
            None => Err(ConfigError::NoDefault {
                path: self.path_for_messages(),
            }),
        }
    }

    /// Add or replace a profile (a fixed invalid one stops being invalid).
    pub fn insert(&mut self, profile: Profile) {
        self.invalid.remove(&profile.name);
        self.profiles.insert(profile.name.clone(), profile);
    }

    /// Validate `draft` as profile `name` and insert it: the one way the CLI and the app add
    /// or edit a profile.
    pub fn insert_draft(
        &mut self,
        name: &str,
        draft: &ProfileDraft,
    ) -> Result<&Profile, ConfigError> {
        let profile = draft.validate(name, &self.path_for_messages())?;
        self.insert(profile);
        Ok(&self.profiles[name])
    }

    /// `profile` alone as a profiles file (a `[profiles.NAME]` table of its non-default
    /// settings): what the app's "Export" writes. A profile holds no secret (a client secret
    /// is refused), so the file can be shared; its machine-local settings
    /// ([`MACHINE_LOCAL`]: the browser command) stay on this machine.
    pub fn export_profile(profile: &Profile) -> String {
        let mut config = Config::default();
        config.insert(Profile {
            browser: BrowserSetting::System,
            ..profile.clone()
        });
        file::render(&config.document, &config)
    }

    /// The profiles of a profiles file (an exported one), as drafts to check and save through
    /// [`Config::insert_draft`]; `path` is for messages.
    pub fn import_profiles(
        text: &str,
        path: &Path,
    ) -> Result<Vec<(String, ProfileDraft)>, ConfigError> {
        let (_, _, drafts) = file::parse(text, path)?;
        if drafts.is_empty() {
            return Err(ConfigError::Parse {
                path: path.to_owned(),
                message: "the file holds no `[profiles.NAME]` table".into(),
            });
        }
        drafts
            .into_iter()
            .map(|(name, draft)| draft.map(|d| (name, d)))
            .collect()
    }

    /// Remove a profile (valid or not); the default moves off it.
    pub fn remove(&mut self, name: &str) -> Option<Profile> {
        self.invalid.remove(name);
        if self.default.as_deref() == Some(name) {
            self.default = None;
        }
        self.profiles.remove(name)
    }
}

fn known(profiles: &BTreeMap<String, Profile>) -> String {
    if profiles.is_empty() {
        "(none)".into()
    } else {
        profiles.keys().cloned().collect::<Vec<_>>().join(", ")
    }
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
            sign_out_uri: Url::parse(&format!("http://localhost:{}/signed-out", DEFAULT_PORTS[0]))
                .ok(),
            identity_provider: None,
            authorize_params: BTreeMap::new(),
            api_token: TokenChoice::Id,
            api_scheme: Scheme::Raw,
            api_token_header: "Authorization".into(),
            api_response_limit_mib: DEFAULT_RESPONSE_LIMIT_MIB,
            api_base_urls: vec![],
            browser: BrowserSetting::System,
            sign_in_timeout: Duration::from_secs(300),
            http_timeout: Duration::from_secs(30),
            refresh_margin: Duration::from_secs(300),
            clock_leeway: Duration::from_secs(60),
            expect: Vec::new(),
            aws: None,
            agent: AgentSettings::default(),
        }
    }

    /// A generic OIDC profile with the usual defaults (ephemeral loopback port on 127.0.0.1).
    pub fn oidc(name: &str, issuer: Url, client_id: &str) -> Profile {
        Profile {
            kind: ProfileKind::Oidc { issuer },
            redirect_host: "127.0.0.1".into(),
            ports: vec![],
            any_port: true,
            sign_out_uri: None,
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

    /// Whether the provider is a Cognito user pool (`kind = "cognito"`) rather than a generic
    /// OpenID Connect provider.
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

    /// The settings in which `next` sends this profile's tokens somewhere else: another
    /// provider or app client (`issuer`, `client_id`, the hosted-UI `domain`), other APIs
    /// (`api_base_urls`), another identity pool or role (`aws`). A session is never carried
    /// over such a change: it is signed out first ([`crate::Session::sign_out_if_moved`]).
    pub fn token_destination_changes(&self, next: &Profile) -> Vec<&'static str> {
        let domain = |p: &Profile| match &p.kind {
            ProfileKind::Cognito { domain, .. } => Some(domain.clone()),
            ProfileKind::Oidc { .. } => None,
        };
        [
            ("issuer", self.issuer() != next.issuer()),
            ("client_id", self.client_id != next.client_id),
            ("domain", domain(self) != domain(next)),
            ("api_base_urls", self.api_base_urls != next.api_base_urls),
            ("aws", self.aws != next.aws),
        ]
        .into_iter()
        .filter_map(|(field, changed)| changed.then_some(field))
        .collect()
    }

    /// The keychain account: profile name + issuer + client id, so two profiles never collide.
    pub fn keychain_account(&self) -> String {
        format!("{}|{}|{}", self.name, self.issuer(), self.client_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exported_profile_imports_as_the_same_profile() {
        let mut profile = Profile::cognito(
            "work",
            "eu-west-1",
            "eu-west-1_AbCdEf123",
            Url::parse("https://myapp.auth.eu-west-1.amazoncognito.com").unwrap(),
            "1example23456789",
        );
        profile.api_token_header = "X-Api-Token".into();
        profile.expect = vec!["group=admins".parse().unwrap()];
        let text = Config::export_profile(&profile);
        assert!(text.contains("[profiles.work]"), "{text}");
        assert!(
            !text.contains("default"),
            "an export sets no default: {text}"
        );
        let imported = Config::import_profiles(&text, Path::new("work.toml")).unwrap();
        assert_eq!(imported.len(), 1);
        let (name, draft) = &imported[0];
        assert_eq!(
            draft.validate(name, Path::new("work.toml")).unwrap(),
            profile
        );
    }

    #[test]
    fn an_import_of_a_file_without_profiles_or_with_a_secret_says_so() {
        let e = Config::import_profiles("default = \"x\"\n", Path::new("a.toml")).unwrap_err();
        assert!(e.to_string().contains("no `[profiles.NAME]` table"), "{e}");
        let with_typo = "[profiles.w]\nclient_idd = \"x\"\n";
        let e = Config::import_profiles(with_typo, Path::new("a.toml")).unwrap_err();
        assert!(
            matches!(e, ConfigError::UnknownKey { ref key, .. } if key == "client_idd"),
            "{e}"
        );
    }
}
