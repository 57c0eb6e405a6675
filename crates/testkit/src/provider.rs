//! A development provider with a profile that matches it: an OIDC one (discovery, any
//! loopback port) or a Cognito-kind one (a fixed `localhost` callback port registered exactly).

use std::time::Duration;

use latchkey_core::{Profile, ProfileKind};
use latchkey_devidp::{ClientConfig, DevIdp, DevIdpConfig};
use url::Url;

use crate::ports::free_port;

/// A provider whose app client accepts any loopback port (for OIDC-kind profiles).
pub fn start_idp(tweak: impl FnOnce(&mut DevIdpConfig)) -> DevIdp {
    let mut cfg = DevIdpConfig {
        client: ClientConfig {
            any_loopback_port: true,
            ..Default::default()
        },
        ..Default::default()
    };
    tweak(&mut cfg);
    started(cfg)
}

/// The environment variable that puts every provider the test kit starts this many seconds
/// ahead of the host clock (clock skew: `iat`, `auth_time` and every expiry run ahead, as
/// when the user's machine is behind AWS). `cargo xtask test --clock-ahead` sets it.
pub const CLOCK_AHEAD_VAR: &str = "LATCHKEY_TEST_DEVIDP_CLOCK_AHEAD";

/// A provider started from `cfg`, its clock moved ahead by [`CLOCK_AHEAD_VAR`] when set.
fn started(cfg: DevIdpConfig) -> DevIdp {
    let idp = DevIdp::start(cfg).expect("devidp starts");
    if let Some(secs) = clock_ahead() {
        idp.advance_clock(Duration::from_secs(secs));
    }
    idp
}

/// How far ahead of the host clock the providers the test kit starts run ([`CLOCK_AHEAD_VAR`];
/// 0 when unset), for a test that names an instant by the provider's clock (a due time, a
/// lifetime measured from the host clock).
pub fn provider_clock_ahead() -> i64 {
    clock_ahead().map_or(0, |secs| secs as i64)
}

/// [`CLOCK_AHEAD_VAR`] in whole seconds; unset or empty: none.
fn clock_ahead() -> Option<u64> {
    let value = std::env::var(CLOCK_AHEAD_VAR).ok()?;
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    Some(value.parse().unwrap_or_else(|_| {
        panic!("{CLOCK_AHEAD_VAR}={value:?} is not a whole number of seconds (e.g. 5)")
    }))
}

/// A generic OIDC profile for `idp` (discovery, ephemeral port on 127.0.0.1).
pub fn oidc_profile(idp: &DevIdp) -> Profile {
    let mut p = Profile::oidc("test", url(&idp.issuer()), &idp.client_id());
    p.api_base_urls = vec![url(&idp.base_url())];
    p.sign_in_timeout = Duration::from_secs(30);
    p
}

/// A provider whose app client has exactly one callback URL and one sign-out URL on a free
/// `localhost` port (as a Cognito app client is set up), and a Cognito-kind profile for it.
pub fn start_cognito(tweak: impl FnOnce(&mut DevIdpConfig)) -> (DevIdp, Profile) {
    let port = free_port();
    let mut cfg = DevIdpConfig::default();
    cfg.client
        .callback_urls
        .push(format!("http://localhost:{port}/callback"));
    cfg.client
        .sign_out_urls
        .push(format!("http://localhost:{port}/signed-out"));
    tweak(&mut cfg);
    let idp = started(cfg);
    let profile = cognito_profile(&idp, "cog", port);
    (idp, profile)
}

/// A Cognito-kind profile `name` for `idp`: hosted UI on its pool domain, issuer on its
/// cognito-idp origin, callback and sign-out on `localhost:{port}`, its demo API allowed.
pub fn cognito_profile(idp: &DevIdp, name: &str, port: u16) -> Profile {
    let mut p = Profile::cognito(
        name,
        "us-east-1",
        &idp.user_pool_id(),
        url(&idp.base_url()),
        &idp.client_id(),
    );
    if let ProfileKind::Cognito { issuer, .. } = &mut p.kind {
        *issuer = Some(url(&idp.issuer()));
    }
    p.ports = vec![port];
    p.sign_out_uri = Some(url(&format!("http://localhost:{port}/signed-out")));
    p.api_base_urls = vec![url(&idp.base_url())];
    p.sign_in_timeout = Duration::from_secs(30);
    p
}

fn url(s: &str) -> Url {
    Url::parse(s).expect("devidp URLs are valid")
}

/// `profile` with an `[aws]` table for `idp`'s identity pool (its own origin), asking for
/// `role` when given.
pub fn with_identity_pool(idp: &DevIdp, mut profile: Profile, role: Option<&str>) -> Profile {
    profile.aws = Some(latchkey_core::IdentityPoolSettings {
        identity_pool_id: idp
            .identity_pool()
            .expect("an identity pool")
            .identity_pool_id,
        identity_endpoint: Some(Url::parse(&idp.identity_endpoint().unwrap()).unwrap()),
        role_arn: role.map(str::to_owned),
        ..Default::default()
    });
    profile
}
