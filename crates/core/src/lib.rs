//! latchkey-core: the sign-in engine behind the Latchkey app and CLI.
//! `Session` is the entry point; the other modules are its rooms.

pub mod api;
pub mod authorize;
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
