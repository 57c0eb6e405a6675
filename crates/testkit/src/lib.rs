//! latchkey-testkit: the one place for test helpers (publish = false). Free ports, a devidp
//! with a matching profile, the hosted-UI sign-in over plain HTTP, browsers for `Session`, a
//! rewriting proxy and a token forger for provider faults, a TLS front for HTTPS-only
//! consumers, secret masking for failure reports, moto and a private gnome-keyring, a desktop notification server that records and clicks, and — with
//! the `webdriver` feature — Chromium and the app window.
//!
//! ```no_run
//! # async fn demo() {
//! use latchkey_testkit::{signed_in, start_cognito};
//! let (idp, profile) = start_cognito(|_| {});
//! let session = signed_in(profile, latchkey_core::Vault::memory()).await;
//! assert!(idp.stats().token_authorization_code == 1);
//! # let _ = session; }
//! ```

mod forge;
mod http;
mod keychain;
mod logs;
mod names;
#[cfg(target_os = "linux")]
mod notifications;
mod peers;
mod ports;
mod process_env;
mod provider;
mod proxy;
mod secrets;
mod session;
mod tls;
#[cfg(all(feature = "webdriver", target_os = "linux"))]
pub mod tray;
#[cfg(feature = "webdriver")]
pub mod webdriver;
#[cfg(all(feature = "webdriver", target_os = "linux"))]
pub mod window_manager;

/// The development provider, re-exported so test crates need no dependency of their own.
pub use latchkey_devidp as devidp;

pub use forge::{forging_idp, good_claims, verdict, Forger};
pub use http::{
    http, login_to_callback, login_to_callback_blocking, login_with, q, try_login_to_callback,
    visit, with_param, xsrf_cookie, HttpBrowser, ManualBrowser,
};
pub use keychain::{keychain_vault, secret_tool_items};
pub use logs::LogCapture;
pub use names::{unique, unique_service};
#[cfg(target_os = "linux")]
pub use notifications::{NoNotificationServer, NotificationServer, RecordedNotification};
pub use peers::{aws_peer_bin, aws_peers_dir, Moto, ISOLATED_KEYRING_SCRIPT, MOTO_ROLE};
pub use ports::{free_port, port_is_free, wait_for_port, wait_port_released};
pub use process_env::ProcessEnv;
pub use provider::{
    cognito_profile, oidc_profile, provider_clock_ahead, start_cognito, start_idp,
    with_identity_pool, CLOCK_AHEAD_VAR,
};
pub use proxy::{
    json_rewrite, proxied_idp, proxied_idp_mapped, Exchanges, PathMap, Proxy, Rewrite,
};
pub use secrets::mask_secrets;
pub use session::{manual_sign_in, memory_options, options_with, signed_in, SignInTask};
pub use tls::TlsFront;
