//! latchkey-core: the sign-in engine behind the Latchkey app and CLI.
//! `Session` is the entry point; the other modules are its rooms.
//!
//! ```no_run
//! # async fn demo() -> Result<(), latchkey_core::Error> {
//! use latchkey_core::{ApiRequest, Config, Session, SessionOptions, SignInOptions};
//! let config = Config::load_default()?;
//! let profile = config.default_profile()?.clone();
//! let session = Session::new(profile, SessionOptions::default())?; // OS keychain, system browser
//! let mut states = session.subscribe(); // SessionState changes for the UI
//! session.restore().await?; // SignedIn from the keychain, or SignedOut with a reason
//! if session.tokens().await.is_err() {
//!     session.sign_in(SignInOptions::default()).await?;
//! }
//! let url = url::Url::parse("https://api.example.com/me").unwrap();
//! let resp = session.call(ApiRequest::get(url)).await?; // origin must be in api_base_urls
//! println!("{} {}", resp.status, resp.text());
//! let out = session.sign_out(true).await?; // revoke + delete; open out.logout_url
//! # let _ = (states.borrow_and_update(), out); Ok(()) }
//! ```

pub mod api;
pub mod authorize;
pub mod aws;
pub mod browser;
pub mod config;
pub mod error;
pub mod inspect;
pub mod loopback;
pub mod provider;
pub mod secret;
pub mod session;
pub mod vault;
pub mod verify;

pub use api::{ApiRequest, ApiResponse};
pub use aws::{AwsCredentials, AwsError, IdentityFlow, IdentityPoolSettings};
pub use browser::{Browser, CommandBrowser, NoBrowser, SystemBrowser};
pub use config::{Config, ConfigError, Profile, ProfileKind, Scheme, TokenChoice};
pub use error::{Error, ErrorKind, Result};
pub use inspect::{inspect_jwt, ClaimRow, Inspection};
pub use secret::{RefreshToken, SecretToken};
pub use session::{
    Clock, OffsetClock, RefreshTokenInfo, Session, SessionOptions, SessionState, SignInOptions,
    SignOutOutcome, StorageInfo, SystemClock, Tokens, UserSummary,
};
pub use vault::{Vault, VaultHealth};
pub use verify::Check;
