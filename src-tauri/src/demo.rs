//! The embedded development provider: on first run the app starts latchkey-devidp in-process
//! and creates a "Demo" profile for it (with its identity pool, so AWS credentials and SigV4
//! calls work too), so the whole flow works with no account anywhere.

use std::net::Ipv4Addr;
use std::path::Path;

use latchkey_core::config::{Config, Profile, ProfileKind};
use latchkey_core::IdentityPoolSettings;
use latchkey_devidp::{ClientConfig, DevIdp, DevIdpConfig, IdentityPoolConfig};
use url::Url;

/// The profile the app creates for its embedded provider.
pub const DEMO_PROFILE: &str = "Demo";
/// The port the embedded provider prefers for its pool domain (hosted UI, demo API), so the
/// Demo profile (and its keychain entry) stays valid across restarts; another one is picked
/// when it is taken. The same as `latchkey devidp`'s, so one demo profile fits both.
pub const DEMO_PORT: u16 = latchkey_devidp::DEMO_PORT;
/// The port it prefers for its `cognito-idp` origin (discovery, JWKS, `iss`).
pub const DEMO_ISSUER_PORT: u16 = latchkey_devidp::DEMO_ISSUER_PORT;
/// The port it prefers for its identity pool's origin (Cognito Identity and STS).
pub const DEMO_IDENTITY_PORT: u16 = 47_213;

/// Credentials shown in the demo banner.
#[derive(Clone, serde::Serialize)]
pub struct DemoCredentials {
    pub username: &'static str,
    pub password: &'static str,
    pub viewer_username: &'static str,
    pub viewer_password: &'static str,
}

pub const DEMO_CREDENTIALS: DemoCredentials = DemoCredentials {
    username: latchkey_devidp::DEMO_USERNAME,
    password: latchkey_devidp::DEMO_PASSWORD,
    viewer_username: latchkey_devidp::VIEWER_USERNAME,
    viewer_password: latchkey_devidp::VIEWER_PASSWORD,
};

/// Whether `profile` is the embedded provider's profile (a Cognito-style profile on loopback).
pub fn is_demo(profile: &Profile) -> bool {
    match &profile.kind {
        ProfileKind::Cognito { domain, .. } => {
            profile.name == DEMO_PROFILE && domain.host_str() == Some("127.0.0.1")
        }
        ProfileKind::Oidc { .. } => false,
    }
}

/// The Demo profile for a provider on `port` (pool domain), `issuer_port` (cognito-idp) and
/// `identity_port` (its identity pool).
fn demo_profile(port: u16, issuer_port: u16, identity_port: u16) -> Profile {
    let base = format!("http://127.0.0.1:{port}");
    let domain = Url::parse(&base).expect("a loopback URL is valid");
    let pool = latchkey_devidp::DEFAULT_USER_POOL_ID;
    let mut profile = Profile::cognito(
        DEMO_PROFILE,
        "us-east-1",
        pool,
        domain.clone(),
        latchkey_devidp::DEFAULT_CLIENT_ID,
    );
    if let ProfileKind::Cognito { issuer, .. } = &mut profile.kind {
        *issuer = Some(
            Url::parse(&format!("http://127.0.0.1:{issuer_port}/{pool}")).expect("valid issuer"),
        );
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
        identity_endpoint: Url::parse(&format!("http://127.0.0.1:{identity_port}/")).ok(),
        ..IdentityPoolSettings::default()
    });
    profile
}

/// The port of the Demo profile's identity endpoint, if it has one.
fn identity_port(profile: &Profile) -> Option<u16> {
    profile.aws.as_ref()?.identity_endpoint.as_ref()?.port()
}

/// Makes sure the Demo profile exists when there is no other, and starts the provider it
/// points at (the caller saves the profiles). Returns the running provider, or `None` when
/// the config has no Demo profile.
pub fn ensure(config: &mut Config, data_dir: &Path) -> Result<Option<DevIdp>, String> {
    if config.profiles.is_empty() {
        config.insert(demo_profile(
            DEMO_PORT,
            DEMO_ISSUER_PORT,
            DEMO_IDENTITY_PORT,
        ));
        config.default = Some(DEMO_PROFILE.into());
    }
    let Some(profile) = config
        .profiles
        .get(DEMO_PROFILE)
        .filter(|p| is_demo(p))
        .cloned()
    else {
        return Ok(None);
    };
    let wanted = match &profile.kind {
        ProfileKind::Cognito { domain, .. } => domain.port().unwrap_or(DEMO_PORT),
        ProfileKind::Oidc { .. } => DEMO_PORT,
    };
    // A Demo profile from before the provider had two origins names the hosted-UI port in
    // its issuer too: it moves to the cognito-idp port.
    let wanted_issuer = Url::parse(&profile.issuer())
        .ok()
        .and_then(|u| u.port())
        .filter(|p| *p != wanted)
        .unwrap_or(DEMO_ISSUER_PORT);
    let free = |port: u16| std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok();
    let wanted_identity = identity_port(&profile).unwrap_or(DEMO_IDENTITY_PORT);
    let port = if free(wanted) { wanted } else { 0 };
    let issuer_port = if free(wanted_issuer) {
        wanted_issuer
    } else {
        0
    };
    let identity_port = if free(wanted_identity) {
        wanted_identity
    } else {
        0
    };
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    // LATCHKEY_DEVIDP_USERS: a users TOML (see `latchkey-devidp --help`) instead of the demo users.
    let users = match std::env::var_os("LATCHKEY_DEVIDP_USERS") {
        Some(path) => {
            latchkey_devidp::load_users_file(Path::new(&path)).map_err(|e| e.to_string())?
        }
        None => DevIdpConfig::default().users,
    };
    let idp = DevIdp::start(DevIdpConfig {
        port,
        issuer_port,
        users,
        client: ClientConfig {
            callback_urls: profile.redirect_uris(),
            sign_out_urls: profile.sign_out_uris(),
            ..ClientConfig::default()
        },
        state_file: Some(data_dir.join("devidp-state.json")),
        // LATCHKEY_DEVIDP_CONTROL_TOKEN: the secret out-of-process tests use to drive the
        // provider's control endpoint; without it, a random one nobody outside knows.
        control_token: std::env::var(latchkey_devidp::CONTROL_TOKEN_ENV).ok(),
        identity_pool: Some(IdentityPoolConfig {
            port: identity_port,
            ..IdentityPoolConfig::default()
        }),
        ..DevIdpConfig::default()
    })
    .map_err(|e| format!("the development provider did not start: {e}"))?;
    let domain = match &profile.kind {
        ProfileKind::Cognito { domain, .. } => domain.as_str().trim_end_matches('/').to_string(),
        ProfileKind::Oidc { .. } => String::new(),
    };
    let identity_endpoint = idp.identity_endpoint().unwrap_or_default();
    let profile_identity_endpoint = profile
        .aws
        .as_ref()
        .and_then(|aws| aws.identity_endpoint.as_ref())
        .map(Url::to_string);
    if idp.base_url() != domain
        || idp.issuer() != profile.issuer()
        || profile_identity_endpoint.as_deref() != Some(identity_endpoint.as_str())
    {
        // A preferred port was taken (or the profile predates the two origins, or the
        // identity pool): point the Demo profile at where the provider is now.
        tracing::warn!(
            target: "latchkey_app",
            "the development provider moved to {} (cognito-idp {}, identity pool {identity_endpoint})",
            idp.base_url(),
            idp.cognito_idp_url()
        );
        let identity_port = Url::parse(&identity_endpoint)
            .ok()
            .and_then(|u| u.port())
            .unwrap_or(DEMO_IDENTITY_PORT);
        let mut moved = demo_profile(idp.port(), idp.issuer_port(), identity_port);
        moved.browser = profile.browser.clone();
        config.insert(moved);
    }
    Ok(Some(idp))
}
