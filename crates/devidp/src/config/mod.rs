//! Every setting of a development provider, as plain data: the user pool and its app client
//! here, users, identity pool and demo APIs beside; the checks Cognito would make. No handler.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::DevIdpError;

mod demo_api;
mod identity_pool;
mod users;

pub use demo_api::DemoApiConfig;
pub use identity_pool::{
    AmbiguousRoleResolution, GroupRole, IdentityPoolConfig, DEMO_ACCOUNT_ID, DEMO_ADMIN_ROLE,
    DEMO_AUTHENTICATED_ROLE, DEMO_IDENTITY_POOL_ID, DEMO_USER_ROLE,
};
use users::validate_sign_in_names;
pub(crate) use users::{base32_decode, validate_users, BASE32};
pub use users::{
    load_users_file, parse_users_toml, MessageMfa, UserRecord, UsernameAttribute, DEMO_PASSWORD,
    DEMO_USERNAME, OTP_PASSWORD, OTP_USERNAME, VIEWER_PASSWORD, VIEWER_USERNAME,
};

/// Default user pool id; it matches Cognito's `^[a-z]{2}-(gov-)?[a-z]+-\d_[A-Za-z0-9]+$` pattern.
pub const DEFAULT_USER_POOL_ID: &str = "us-east-1_DevPool01";
/// Default app client id (a public client: no secret), shaped like Cognito's: 26 characters
/// `[a-z0-9]` (fixtures/access_token.json's `client_id`).
pub const DEFAULT_CLIENT_ID: &str = "latchkeydev0desktop0client";
/// Loopback ports registered by default, in the order a client should try them.
pub const DEFAULT_CALLBACK_PORTS: [u16; 3] = [53682, 53683, 53684];

/// Everything a [`crate::DevIdp`] needs to start.
///
/// Like AWS, the provider answers on two origins: the user pool's domain (hosted UI,
/// `/oauth2/*`, `/logout`; `port`) and the `cognito-idp` service (discovery, JWKS, the `iss`
/// of every token and the JSON API; `issuer_port`). A client that fetches keys or discovery
/// from the wrong one fails here as it would on AWS.
#[derive(Clone, Debug)]
pub struct DevIdpConfig {
    /// Port of the pool-domain origin on 127.0.0.1; 0 picks a free ephemeral port.
    pub port: u16,
    /// Port of the `cognito-idp` origin on 127.0.0.1; 0 picks a free ephemeral port.
    pub issuer_port: u16,
    /// The pool id: part of the issuer and of the discovery/JWKS paths.
    pub user_pool_id: String,
    /// The origins clients reach the provider at when something stands in front of it (a
    /// test proxy): every URL the provider writes (discovery, `iss`, redirects) uses them.
    /// Default: the two loopback origins it binds.
    pub public_urls: Option<PublicUrls>,
    /// The one app client of the pool.
    pub client: ClientConfig,
    /// Users who can sign in (signed-up users are added at run time).
    pub users: Vec<UserRecord>,
    /// What users sign in with (Cognito's `UsernameAttributes`). With `email` (the default,
    /// as in the Demo pool) or `phone_number`, the pool generates each user's username: a UUID
    /// equal to `sub`, which is what `cognito:username` then says. Empty: plain usernames,
    /// chosen by the user or the users file.
    pub username_attributes: Vec<UsernameAttribute>,
    /// Multi-factor authentication with a TOTP authenticator (Cognito's `MfaConfiguration`).
    pub mfa: MfaMode,
    /// Put `amr` in ID tokens (`["pwd"]`, or `["pwd", "otp", "mfa"]` after a TOTP code), as
    /// pools with Cognito's gradually rolled-out ACR/AMR claims do. Off: the classic tokens,
    /// which carry no evidence of MFA at all.
    pub amr_claims: bool,
    /// External identity providers (federated sign-in through a stand-in page on this provider).
    pub identity_providers: Vec<FederatedIdp>,
    /// The demo API's authorizers (token header, scopes, audiences).
    pub demo_api: DemoApiConfig,
    /// Optional JSON file that keeps signing keys, refresh-token grants (hashed) and
    /// signed-up users across restarts.
    pub state_file: Option<PathBuf>,
    /// `Cache-Control: max-age=N` on the JWKS answer; `None` sends no `Cache-Control` there
    /// (what Cognito sends is UNCONFIRMED: see `crates/devidp/fixtures/README.md`).
    pub jwks_max_age: Option<Duration>,
    /// The secret every control request (`/_devidp/*`) must carry in the
    /// [`crate::CONTROL_TOKEN_HEADER`] header; `None` generates a random one per run
    /// ([`crate::DevIdp::control_token`]). At least 16 visible ASCII characters.
    pub control_token: Option<String>,
    /// IAM roles of user-pool groups; they appear in ID tokens as Cognito puts them there.
    pub group_roles: Vec<GroupRole>,
    /// The identity pool served on its own loopback origin (`None`: no identity pool).
    pub identity_pool: Option<IdentityPoolConfig>,
}

/// The two origins as clients see them (see [`DevIdpConfig::public_urls`]), e.g.
/// `http://127.0.0.1:8000` for both when one proxy routes by path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicUrls {
    /// Stands for `https://{prefix}.auth.{region}.amazoncognito.com`.
    pub hosted_ui: String,
    /// Stands for `https://cognito-idp.{region}.amazonaws.com`; the issuer is this plus `/{pool}`.
    pub cognito_idp: String,
}

impl Default for DevIdpConfig {
    fn default() -> Self {
        DevIdpConfig {
            port: 0,
            issuer_port: 0,
            user_pool_id: DEFAULT_USER_POOL_ID.to_string(),
            public_urls: None,
            client: ClientConfig::default(),
            users: UserRecord::demo_users(),
            username_attributes: vec![UsernameAttribute::Email],
            mfa: MfaMode::Off,
            amr_claims: false,
            identity_providers: Vec::new(),
            demo_api: DemoApiConfig::default(),
            state_file: None,
            jwks_max_age: None,
            control_token: None,
            group_roles: GroupRole::demo_roles(),
            identity_pool: Some(IdentityPoolConfig::default()),
        }
    }
}

/// The pool's MFA setting (Cognito's `MfaConfiguration`; the API's default is `OFF`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MfaMode {
    /// No second factor.
    Off,
    /// Users who set up an authenticator are asked for a code.
    Optional,
    /// Every user is asked for a code; one without an authenticator sets it up at sign-in.
    Required,
}

impl std::str::FromStr for MfaMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "off" => Ok(MfaMode::Off),
            "optional" => Ok(MfaMode::Optional),
            "required" | "on" => Ok(MfaMode::Required),
            other => Err(format!(
                "{other:?} is not an MFA mode (off, optional, required)"
            )),
        }
    }
}

/// An external identity provider of the pool, e.g. `Google`. devidp has no Google: the
/// browser goes to a stand-in sign-in page on the pool domain, where the person says who they
/// are at that provider, and comes back through `/oauth2/idpresponse` as Cognito's would.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederatedIdp {
    /// The provider name (`identity_provider=` value, and the `providerName` in `identities`).
    pub name: String,
    /// `Google`, `Facebook`, `LoginWithAmazon`, `SignInWithApple`, `OIDC` or `SAML`.
    pub provider_type: String,
    /// Values `idp_identifier=` may name this provider by.
    pub identifiers: Vec<String>,
}

impl FederatedIdp {
    /// A provider called `name`; social providers' names are their types, others are OIDC.
    pub fn named(name: &str) -> FederatedIdp {
        let social = ["Google", "Facebook", "LoginWithAmazon", "SignInWithApple"];
        FederatedIdp {
            name: name.to_string(),
            provider_type: if social.contains(&name) { name } else { "OIDC" }.to_string(),
            identifiers: Vec::new(),
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
    /// The app client id (`aud` of ID tokens, `client_id` of access tokens).
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
    /// ID-token lifetime (Cognito: 5 minutes to 1 day).
    pub id_token_ttl: Duration,
    /// Access-token lifetime (Cognito: 5 minutes to 1 day).
    pub access_token_ttl: Duration,
    /// Refresh-token lifetime (Cognito: 60 minutes to 10 years).
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

/// Whether an `http` URL points at a loopback host.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1")
}

/// The `http` hosts Cognito lets an app client register: `localhost` (documented in
/// CreateUserPoolClient) and, since 2025, `127.0.0.1` (an AWS engineer in microsoft/vscode#256122).
/// `[::1]` is refused: no AWS source says it is accepted (fixtures/README.md).
fn is_registrable_http_host(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1")
}

/// Checks the configuration against Cognito's own limits before anything binds.
pub(crate) fn validate_config(config: &DevIdpConfig) -> Result<(), DevIdpError> {
    first_config_problem(config).map_err(DevIdpError::Config)
}

/// The first thing a real pool would refuse, in the order the checks have always run.
fn first_config_problem(config: &DevIdpConfig) -> Result<(), String> {
    if config.client.client_id.trim().is_empty() {
        return Err("client_id is empty".into());
    }
    if config.user_pool_id.trim().is_empty() || config.user_pool_id.contains('/') {
        return Err(format!(
            "user_pool_id {:?} must be non-empty and contain no '/'",
            config.user_pool_id
        ));
    }
    check_client_urls(&config.client)?;
    check_rotation(&config.client)?;
    check_lifetimes(&config.client)?;
    check_control_token(config.control_token.as_deref())?;
    check_public_urls(config.public_urls.as_ref())?;
    if config.port != 0 && config.port == config.issuer_port {
        return Err(format!(
            "port and issuer_port are both {}: the hosted UI and cognito-idp need two origins",
            config.port
        ));
    }
    check_identity_providers(&config.identity_providers)?;
    if let Some(pool) = &config.identity_pool {
        pool.validate()?;
    }
    validate_users(&config.users)?;
    validate_sign_in_names(&config.users, &config.username_attributes)
}

/// At most 100 callback and 100 sign-out URLs, each one Cognito would register.
fn check_client_urls(client: &ClientConfig) -> Result<(), String> {
    if client.callback_urls.len() > 100 || client.sign_out_urls.len() > 100 {
        return Err("Cognito allows at most 100 callback URLs and 100 sign-out URLs".into());
    }
    for (kind, urls) in [
        ("callback URL", &client.callback_urls),
        ("sign-out URL", &client.sign_out_urls),
    ] {
        for raw in urls {
            check_registered_url(kind, raw)?;
        }
    }
    Ok(())
}

/// A rotated-out refresh token keeps working for 0 to 60 s.
fn check_rotation(client: &ClientConfig) -> Result<(), String> {
    if let Some(rotation) = client.rotation {
        if rotation.grace_period > Duration::from_secs(60) {
            return Err(format!(
                "rotation grace period is {} s; Cognito allows 0 to 60 s",
                rotation.grace_period.as_secs()
            ));
        }
    }
    Ok(())
}

/// The console's and the API's limits (CreateUserPoolClient): a pool refuses anything else.
fn check_lifetimes(client: &ClientConfig) -> Result<(), String> {
    const MINUTE: u64 = 60;
    const DAY: u64 = 86_400;
    for (name, ttl, min, max, range) in [
        (
            "ID-token lifetime",
            client.id_token_ttl,
            5 * MINUTE,
            DAY,
            "5 minutes to 1 day",
        ),
        (
            "access-token lifetime",
            client.access_token_ttl,
            5 * MINUTE,
            DAY,
            "5 minutes to 1 day",
        ),
        (
            "refresh-token lifetime",
            client.refresh_token_ttl,
            60 * MINUTE,
            3650 * DAY,
            "60 minutes to 10 years",
        ),
    ] {
        let secs = ttl.as_secs();
        if secs < min || secs > max {
            return Err(format!(
                "{name} {secs} s is outside Cognito's range of {range}"
            ));
        }
    }
    Ok(())
}

fn check_control_token(token: Option<&str>) -> Result<(), String> {
    match token {
        Some(token) if token.len() < 16 || !token.bytes().all(|b| b.is_ascii_graphic()) => {
            Err("the control token must be at least 16 visible ASCII characters (no spaces)".into())
        }
        _ => Ok(()),
    }
}

/// Each public URL is an http(s) origin: no path, no query.
fn check_public_urls(urls: Option<&PublicUrls>) -> Result<(), String> {
    let Some(urls) = urls else {
        return Ok(());
    };
    for (name, raw) in [
        ("hosted_ui", &urls.hosted_ui),
        ("cognito_idp", &urls.cognito_idp),
    ] {
        match url::Url::parse(raw) {
            Ok(u)
                if matches!(u.scheme(), "http" | "https")
                    && u.path().trim_end_matches('/').is_empty()
                    && u.query().is_none() => {}
            _ => {
                return Err(format!(
                    "public_urls.{name} {raw:?} is not an http(s) origin"
                ))
            }
        }
    }
    Ok(())
}

fn check_identity_providers(providers: &[FederatedIdp]) -> Result<(), String> {
    for idp in providers {
        if idp.name.is_empty() || idp.name == "COGNITO" || idp.name.contains(['_', ' ', '/']) {
            return Err(format!(
                "identity provider name {:?} must be non-empty, not COGNITO, without _ / or spaces",
                idp.name
            ));
        }
    }
    Ok(())
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
    if url.scheme() == "http" && !url.host_str().is_some_and(is_registrable_http_host) {
        return Err(format!("{kind} {raw} cannot use the HTTP protocol."));
    }
    Ok(())
}

/// Settings that work here but that a real Cognito pool would refuse (logged at start-up).
pub(crate) fn cognito_range_warnings(config: &DevIdpConfig) -> Vec<String> {
    let mut warnings = Vec::new();
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
}
