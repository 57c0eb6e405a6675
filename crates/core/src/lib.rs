//! latchkey-core: the sign-in engine behind the Latchkey app and CLI.
//! [`Session`] is the entry point; the other modules are its rooms, mostly private.
//!
//! ```no_run
//! # async fn demo() -> Result<(), latchkey_core::Error> {
//! use latchkey_core::{ApiRequest, Config, Session, SessionOptions, SignInOptions};
//! use latchkey_core::{SignOutScope, TokenChoice};
//! let config = Config::load_default()?;
//! let profile = config.default_profile()?.clone();
//! let session = Session::new(profile, SessionOptions::default())?; // OS keychain, system browser
//! let mut states = session.subscribe(); // SessionState changes for the UI
//! session.restore().await?; // SignedIn from the keychain, or SignedOut with a reason
//! if session.tokens().await.is_err() {
//!     session.sign_in(SignInOptions::default()).await?;
//! }
//! let _keeper = session.keep_fresh(); // refresh in the background while it lives
//! let id_token = session.token(TokenChoice::Id).await?; // `Debug`/`Display` redact it
//! let url = url::Url::parse("https://api.example.com/me").unwrap();
//! let resp = session.call(ApiRequest::get(url)).await?; // origin must be in api_base_urls
//! println!("{} {}", resp.status, resp.text());
//! if session.profile().aws.is_some() {
//!     // the identity pool's AWS credentials: held, in the keychain, or fetched once
//!     let creds = session.aws_credentials().await?;
//!     println!("{}", latchkey_core::aws::credential_process_json(&creds));
//! }
//! let out = session.sign_out(SignOutScope::Everywhere).await?; // revoke + delete; open out.logout_url
//! # let _ = (states.borrow_and_update(), out, id_token); Ok(()) }
//! ```
//!
//! Sessions that no profile reaches any more (a profile's issuer or client id changed) are
//! listed by [`find_stray_sessions`] and revoked and deleted by [`remove_stray_sessions`].
//!
//! The modules stand in layers, each importing only from its own and those below: the floor
//! (`secret`, `clock`, `http`, `error`), `config`, the adapters (one room per outside party),
//! `session/`, and the credential providers beside it. `layers_test.rs` holds the table and
//! fails on an import from above or from this crate root.
//!
//! Errors carry an [`ErrorKind`] for decisions and, when a token was refused, the
//! [`CheckName`] of the check that failed ([`Error::failed_check`]); when AWS credentials could
//! not be had, the [`AwsFailure`] ([`Error::aws_failure`]).

// Without `test-support`, what only `internals` reaches is unused. Dead code is judged with the
// feature on, as every test and clippy run of the workspace builds it.
#![cfg_attr(not(feature = "test-support"), allow(dead_code, unused_imports))]
#![warn(missing_docs)]

#[cfg(unix)]
pub mod agent;
mod api;
mod authorize;
pub mod aws;
mod browser;
mod browser_profiles;
mod clock;
pub mod config;
mod error;
mod http;
mod inspect;
mod loopback;
mod provider;
#[cfg(any(test, doctest))]
mod readme;
mod secret;
mod session;
mod stray;
mod token_endpoint;
mod vault;
mod verify;

#[cfg(test)]
mod layers_test;

pub use api::{resolve_api_url, ApiRequest, ApiResponse, ApiUrlError, HeldSecrets};
pub use authorize::Entry;
pub use aws::{AwsCredentials, AwsCredentialsProvider, AwsError, AwsIdentity};
pub use browser::{
    browser_for, locate_program, parse_command_line, Browser, BrowserChoice, CommandBrowser,
    NoBrowser, SystemBrowser, BROWSER_COMMAND_VAR,
};
pub use browser_profiles::{discover_browsers, discover_browsers_in, DiscoveredBrowser};
pub use clock::{Clock, OffsetClock, SystemClock};
pub use config::{
    BrowserCommand, BrowserSetting, Config, ConfigError, Expectation, ExpectationError,
    IdentityFlow, IdentityPoolSettings, Profile, ProfileKind, Scheme, TokenChoice,
    DEFAULT_RESPONSE_LIMIT_MIB, EXPECTATION_SYNTAX, RESERVED_PARAMS, RESPONSE_LIMIT_RANGE_MIB,
};
pub use error::{AwsFailure, CheckName, Error, ErrorKind, Result};
pub use inspect::{inspect_jwt, inspect_with_keys, relative, ClaimRow, Inspection, TokenKind};
pub use provider::{probe, ProbeReport, ProbeStatus, ProbeStep};
pub use secret::{EndpointToken, RefreshToken, SecretToken};
pub use session::{
    EndCause, KeepFresh, LogoutUrl, ProviderCheck, RefreshTokenInfo, Session, SessionEnd,
    SessionOptions, SessionState, SignInOptions, SignOutOutcome, SignOutScope, StorageInfo, Tokens,
    UserSummary,
};
pub use stray::{
    find_stray_sessions, remove_sessions_of, remove_stray_sessions, EndpointSource,
    NotRevokedBecause, Revocation, StrayError, StrayOutcome, StrayRemoval, StraySession,
};
pub use vault::{runtime_dir, Vault, VaultHealth, KEYCHAIN_VAR};
pub use verify::{Check, ExpectationCheck, GivenKeys};

/// Engine parts that are not the API: for Latchkey's own test kit, benchmark and tests only
/// (feature `test-support`, which nothing else enables). Nothing here is stable; embedders use
/// the re-exports above.
#[cfg(feature = "test-support")]
#[doc(hidden)]
pub mod internals {
    pub use crate::authorize::{build_request, validate_browser_url, AuthorizationRequest};
    pub use crate::http::{DISCOVERY_LIMIT, JWKS_LIMIT, TOKEN_RESPONSE_LIMIT, USERINFO_LIMIT};
    pub use crate::loopback::{
        head_end, parse_head, serve_signed_out_page, CallbackExpectations, CallbackOutcome,
        Callbacks, HeadError, LoopbackListener, RequestHead, MAX_CONNECTIONS, MAX_HEAD_BYTES,
        READ_TIMEOUT,
    };
    pub use crate::provider::{Provider, ProviderMetadata, JWKS_REFETCH_INTERVAL};
    pub use crate::vault::{lock_path, CrashPoint, CrashingStore, CHUNK_SIZE};
    pub use crate::verify::{
        decode_jwt, Alg, DecodeError, Jwk, JwkSet, Jwt, ALLOWED_ALGS, DEFAULT_MAX_IAT_AGE,
        MAX_TOKEN_BYTES,
    };

    use crate::config::Profile;
    use crate::error::Result;
    use crate::vault::Vault;
    use crate::verify::Check;

    pub use crate::vault::{StoredAwsCredentials, StoredSession};

    /// The keychain account of a profile's AWS credentials (next to its session's).
    pub fn aws_account(profile: &Profile) -> String {
        crate::vault::aws_account(&profile.keychain_account())
    }

    /// The AWS credentials stored for a profile (tests look at what the keychain holds).
    pub fn load_aws_credentials(
        vault: &Vault,
        profile: &Profile,
    ) -> Result<Option<StoredAwsCredentials>> {
        vault.load_aws(&aws_account(profile))
    }

    /// Verify an ID token as a sign-in does (with the sign-in's nonce and access token when
    /// given): the benchmark's unit of work, and the tests' verdict on forged tokens.
    pub async fn verify_id_token(
        provider: &Provider,
        profile: &Profile,
        token: &str,
        now: i64,
    ) -> Result<Vec<Check>> {
        verify_sign_in_id_token(provider, profile, token, now, None, None).await
    }

    /// [`verify_id_token`] with the sign-in's `nonce` and `access_token` (for `at_hash`).
    pub async fn verify_sign_in_id_token(
        provider: &Provider,
        profile: &Profile,
        token: &str,
        now: i64,
        nonce: Option<&str>,
        access_token: Option<&str>,
    ) -> Result<Vec<Check>> {
        let mut verifier = crate::verify::IdTokenVerifier::new(provider, profile, now);
        if let Some(n) = nonce {
            verifier = verifier.nonce(n);
        }
        if let Some(a) = access_token {
            verifier = verifier.access_token(a);
        }
        verifier.verify(token).await.map(|v| v.checks)
    }

    /// Verify a Cognito access token.
    pub async fn verify_access_token(
        provider: &Provider,
        profile: &Profile,
        token: &str,
        now: i64,
    ) -> Result<Vec<Check>> {
        crate::verify::AccessTokenVerifier::new(provider, profile, now)
            .verify(token)
            .await
    }

    /// The stored session of `account` (tests look at what the keychain holds).
    pub fn load_session(vault: &Vault, account: &str) -> Result<Option<StoredSession>> {
        vault.load_session(account)
    }

    /// Store exactly this session (tests plant sessions, e.g. a 16 KB one).
    pub fn store_session(vault: &Vault, account: &str, session: &StoredSession) -> Result<()> {
        vault.store_session(account, session)
    }

    /// Store a session as a sign-in or a refresh does (its generation raised above the
    /// stored one's in the same pass); returns the generation written. The benchmark times it.
    pub fn store_newer_session(
        vault: &Vault,
        account: &str,
        session: &StoredSession,
    ) -> Result<u64> {
        vault.store_newer_session(account, session)
    }

    /// Raw chunked bytes of a keychain entry.
    pub fn get_bytes(vault: &Vault, account: &str) -> Result<Option<Vec<u8>>> {
        vault.get_bytes(account)
    }
    pub fn set_bytes(vault: &Vault, account: &str, value: &[u8]) -> Result<()> {
        vault.set_bytes(account, value)
    }
    pub fn delete(vault: &Vault, account: &str) -> Result<()> {
        vault.delete(account)
    }

    /// The name of every keychain item under `vault`'s service (`None`: the store cannot
    /// list them): tests look for what is left.
    pub fn keychain_items(vault: &Vault) -> Result<Option<Vec<String>>> {
        vault.accounts()
    }

    /// One keychain item as stored (a header, an inline value or a chunk), bypassing the
    /// format: tests look at the layout and plant what older versions or crashes left.
    pub fn raw_item(vault: &Vault, item: &str) -> Result<Option<Vec<u8>>> {
        vault.raw_get(item)
    }
    /// Write one keychain item as is (see [`raw_item`]).
    pub fn plant_raw_item(vault: &Vault, item: &str, bytes: &[u8]) -> Result<()> {
        vault.raw_set(item, bytes)
    }
    /// The name of chunk `i` of generation `gen` of `account`'s value.
    pub fn chunk_item(account: &str, gen: u64, i: usize) -> String {
        Vault::chunk_account(account, gen, i)
    }
}
