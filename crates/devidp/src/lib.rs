//! latchkey-devidp: a local, Cognito-compatible OAuth 2.0 / OIDC provider for development and tests.
//!
//! It serves one user pool with one public app client on `http://127.0.0.1:PORT`, and behaves
//! like Amazon Cognito's hosted UI (see `reference/cognito.md`): `/oauth2/authorize` (exact
//! redirect-URI match, PKCE S256 only), `/login`, `/signup` + `/confirmUser`, `/logout`,
//! `/oauth2/token` (authorization_code; refresh_token with optional rotation), `/oauth2/userInfo`,
//! `/oauth2/revoke`, `/{pool}/.well-known/openid-configuration` and `/{pool}/.well-known/jwks.json`,
//! plus a demo protected API (`/demo-api/me`, `/demo-api/orders`, `/demo-api/admin`) that wants
//! the ID token like an API Gateway Cognito authorizer.
//!
//! Next to the user pool it serves an identity pool on a second loopback origin
//! ([`DevIdp::identity_endpoint`]): the Cognito Identity API (`GetId`,
//! `GetCredentialsForIdentity`, `GetOpenIdToken`) and STS (`AssumeRoleWithWebIdentity`,
//! `GetCallerIdentity`), with the roles of the users' groups in their ID tokens, and a demo API
//! behind IAM authorization (`/demo-aws-api/me`, `/demo-aws-api/admin`) that checks SigV4
//! signatures like API Gateway. See [`IdentityPoolConfig`].
//!
//! ```no_run
//! let idp = latchkey_devidp::DevIdp::start(latchkey_devidp::DevIdpConfig::default()).unwrap();
//! println!("sign in at {}, issuer {}", idp.base_url(), idp.issuer());
//! // dropping `idp` stops the server and frees the port
//! ```
//!
//! For tests it has fault switches ([`Fault`]), a clock hook ([`DevIdp::advance_clock`]) and
//! counters ([`Stats`]), in process or through the control endpoint on the same port:
//!
//! ```text
//! GET    /_devidp/faults               list the faults that are on
//! POST   /_devidp/faults               switch faults on (cumulative): "name", "name=value",
//!                                      {"fault": "token_slow", "millis": 1500}, or an array
//! DELETE /_devidp/faults               switch every fault off
//! POST   /_devidp/rotate-keys          replace both signing keys
//! POST   /_devidp/clock                advance the provider's clock: {"advance_secs": 360}
//! GET    /_devidp/stats                request counters (JSON form of Stats)
//! GET    /_devidp/confirmation-code    the last sign-up confirmation code
//! GET    /_devidp/log?n=50             the last log lines (secrets masked)
//! ```
//!
//! Fault names are listed in [`FAULT_NAMES`].
//!
//! It shares no code with latchkey-core on purpose: it is the other side of the wire.

mod cli;
mod config;
mod control;
mod demo_api;
mod demo_aws_api;
mod error;
mod faults;
mod hosted_ui;
mod http;
mod identity_pool;
mod identity_sts;
mod jwt;
mod keys;
mod logbook;
mod oauth;
mod pages;
mod provider;
mod server;
mod sigv4_check;
mod store;
mod tokens;
mod verify;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub use cli::cli_main;
pub use config::{
    load_users_file, parse_users_toml, ClientConfig, DevIdpConfig, Rotation, UserRecord,
    DEFAULT_CALLBACK_PORTS, DEFAULT_CLIENT_ID, DEFAULT_USER_POOL_ID, DEMO_PASSWORD, DEMO_USERNAME,
    VIEWER_PASSWORD, VIEWER_USERNAME,
};
pub use control::CONTROL_HELP;
pub use error::DevIdpError;
pub use faults::{Fault, FAULT_NAMES};
pub use identity_pool::{
    AmbiguousRoleResolution, GroupRole, IdentityPoolConfig, DEMO_ACCOUNT_ID, DEMO_ADMIN_ROLE,
    DEMO_AUTHENTICATED_ROLE, DEMO_IDENTITY_POOL_ID, DEMO_USER_ROLE,
};
pub use provider::Stats;

use identity_pool::IdentityPoolState;
use keys::KeySet;
use provider::{Provider, Settings};
use store::{PersistedState, Store, User};

/// A running development provider. Dropping it stops the server, joins its threads and
/// frees the port.
pub struct DevIdp {
    provider: Arc<Provider>,
    server: Option<Arc<tiny_http::Server>>,
    workers: Vec<JoinHandle<()>>,
    /// The identity pool's own origin (`cognito-identity` + STS), when one is configured.
    identity_server: Option<Arc<tiny_http::Server>>,
    identity_workers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for DevIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIdp")
            .field("base_url", &self.base_url())
            .field("issuer", &self.issuer())
            .finish()
    }
}

impl DevIdp {
    /// Validates the configuration, loads or generates the keys, binds 127.0.0.1:`port`
    /// and starts serving.
    pub fn start(config: DevIdpConfig) -> Result<DevIdp, DevIdpError> {
        config::validate_config(&config)?;
        let persisted = match &config.state_file {
            Some(path) => PersistedState::read(path).map_err(|reason| DevIdpError::StateFile {
                path: path.clone(),
                reason,
            })?,
            None => None,
        };
        let keys = match &persisted {
            Some(state) => state.keys().map_err(|reason| DevIdpError::StateFile {
                path: config.state_file.clone().unwrap_or_default(),
                reason,
            })?,
            None => KeySet::generate()?,
        };
        let mut store = Store::default();
        for record in &config.users {
            store.add_user(User::from_record(record, &config.user_pool_id));
        }
        if let Some(state) = persisted {
            store.grants = state.grants;
            store.revoked_families = state.revoked_families;
            for user in state.signed_up_users {
                if store.user(&user.username).is_none() {
                    store.add_user(user);
                }
            }
        }

        let server = bind(config.port)?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or_else(|| DevIdpError::Bind {
                port: config.port,
                reason: "not a TCP listener".into(),
            })?;
        let base_url = format!("http://127.0.0.1:{port}");
        let issuer = config
            .issuer
            .clone()
            .map(|i| i.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("{base_url}/{}", config.user_pool_id));
        let settings = Settings {
            base_url,
            issuer,
            user_pool_id: config.user_pool_id.clone(),
            port,
            client: config.client.clone(),
            state_file: config.state_file.clone(),
            group_roles: config.group_roles.clone(),
        };
        let provider = Arc::new(Provider::new(settings, keys, store));
        provider.persist();
        provider.log(format!(
            "started on {} (issuer {}, client {}, {} users)",
            provider.settings.base_url,
            provider.settings.issuer,
            provider.settings.client.client_id,
            config.users.len()
        ));
        for warning in config::cognito_range_warnings(&config) {
            provider.log(format!("note: {warning}"));
        }
        let (identity_server, identity_workers) = match &config.identity_pool {
            Some(pool) => {
                let (server, workers) = start_identity_origin(&provider, pool.clone())?;
                (Some(server), workers)
            }
            None => (None, Vec::new()),
        };
        let server = Arc::new(server);
        let workers = server::spawn_main_workers(Arc::clone(&server), Arc::clone(&provider));
        Ok(DevIdp {
            provider,
            server: Some(server),
            workers,
            identity_server,
            identity_workers,
        })
    }

    /// `http://127.0.0.1:PORT/`: the identity pool's origin (Cognito Identity and STS), the
    /// `identity_endpoint` of a profile that uses this provider's identity pool.
    pub fn identity_endpoint(&self) -> Option<String> {
        self.provider
            .identity_pool
            .get()
            .map(|pool| format!("{}/", pool.base_url))
    }

    /// The identity pool as configured, if there is one.
    pub fn identity_pool(&self) -> Option<IdentityPoolConfig> {
        self.provider
            .identity_pool
            .get()
            .map(|pool| pool.config.clone())
    }

    /// `http://127.0.0.1:PORT` (no trailing slash): the hosted-UI "domain".
    pub fn base_url(&self) -> String {
        self.provider.settings.base_url.clone()
    }

    /// The `iss` of the tokens (default `http://127.0.0.1:PORT/{user_pool_id}`).
    pub fn issuer(&self) -> String {
        self.provider.settings.issuer.clone()
    }

    /// `{base_url}/{user_pool_id}/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!(
            "{}/{}/.well-known/openid-configuration",
            self.provider.settings.base_url, self.provider.settings.user_pool_id
        )
    }

    pub fn client_id(&self) -> String {
        self.provider.settings.client.client_id.clone()
    }

    pub fn port(&self) -> u16 {
        self.provider.settings.port
    }

    pub fn user_pool_id(&self) -> String {
        self.provider.settings.user_pool_id.clone()
    }

    /// The app client as configured (callback URLs, rotation, lifetimes…).
    pub fn client(&self) -> ClientConfig {
        self.provider.settings.client.clone()
    }

    /// Switches a fault on (cumulative; a parameterised fault replaces its earlier value).
    pub fn set_fault(&self, fault: Fault) {
        self.provider.log(format!("fault {fault} switched on"));
        self.provider.faults().set(fault);
    }

    /// Switches every fault off.
    pub fn clear_faults(&self) {
        self.provider.faults().clear();
        self.provider.log("all faults cleared".to_string());
    }

    /// The faults that are on, in their text form (`token_slow=1500ms`, …).
    pub fn faults(&self) -> Vec<String> {
        self.provider.faults().list()
    }

    /// Replaces both signing keys (new `kid`s; the old keys leave the JWKS at once).
    pub fn rotate_keys(&self) {
        if let Err(e) = rotate_keys(&self.provider) {
            self.provider.log(format!("key rotation failed: {e}"));
        }
    }

    /// Moves the provider's clock forward (or back, with a negative value) for everything:
    /// code, cookie and refresh-token expiry, rotation grace periods, token times. Lets tests
    /// expire a 5-minute code without sleeping.
    pub fn advance_clock(&self, by: Duration) {
        advance_clock_secs(&self.provider, by.as_secs() as i64);
    }

    /// Request counters since start.
    pub fn stats(&self) -> Stats {
        self.provider.stats()
    }

    /// The last sign-up confirmation code (also in the log and the page's `#dev-code`).
    pub fn last_confirmation_code(&self) -> Option<String> {
        self.provider.store().last_confirmation_code.clone()
    }

    /// The last `n` log lines; codes, tokens, state and passwords are masked.
    pub fn log_tail(&self, n: usize) -> Vec<String> {
        self.provider.log.tail(n)
    }

    /// Stops the server now (the same as dropping the handle).
    pub fn stop(self) {}
}

impl Drop for DevIdp {
    fn drop(&mut self) {
        self.provider.stopping.store(true, Ordering::SeqCst);
        if let Some(server) = &self.server {
            for _ in &self.workers {
                server.unblock();
            }
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
        if let Some(server) = &self.identity_server {
            for _ in &self.identity_workers {
                server.unblock();
            }
        }
        for worker in self.identity_workers.drain(..) {
            let _ = worker.join();
        }
        for server in [&self.server, &self.identity_server].into_iter().flatten() {
            server::refuse_pending(server);
        }
        // The last references: tiny_http closes the listening sockets.
        self.server.take();
        self.identity_server.take();
        self.provider.log("stopped".to_string());
    }
}

/// Binds the identity pool's origin and starts its workers.
fn start_identity_origin(
    provider: &Arc<Provider>,
    config: IdentityPoolConfig,
) -> Result<(Arc<tiny_http::Server>, Vec<JoinHandle<()>>), DevIdpError> {
    let server = bind(config.port)?;
    let port = server
        .server_addr()
        .to_ip()
        .map(|a| a.port())
        .ok_or_else(|| DevIdpError::Bind {
            port: config.port,
            reason: "not a TCP listener".into(),
        })?;
    let base_url = format!("http://127.0.0.1:{port}");
    provider.log(format!(
        "identity pool {} on {base_url} (Cognito Identity and STS)",
        config.identity_pool_id
    ));
    let _ = provider
        .identity_pool
        .set(IdentityPoolState::new(config, base_url));
    let server = Arc::new(server);
    let workers = server::spawn_workers(
        Arc::clone(&server),
        Arc::clone(provider),
        "devidp-identity",
        2,
        identity_pool::route,
    );
    Ok((server, workers))
}

/// Binds 127.0.0.1:port, retrying briefly when a fixed port is still being released.
fn bind(port: u16) -> Result<tiny_http::Server, DevIdpError> {
    let mut attempts = 0;
    loop {
        match tiny_http::Server::http(("127.0.0.1", port)) {
            Ok(server) => return Ok(server),
            Err(e) => {
                attempts += 1;
                if port == 0 || attempts >= 20 {
                    return Err(DevIdpError::Bind {
                        port,
                        reason: e.to_string(),
                    });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

pub(crate) fn rotate_keys(p: &Provider) -> Result<(), DevIdpError> {
    let fresh = KeySet::generate()?;
    let (id_kid, access_kid) = (fresh.id.kid.clone(), fresh.access.kid.clone());
    *p.keys.write().unwrap_or_else(|e| e.into_inner()) = fresh;
    p.persist();
    p.log(format!(
        "keys rotated: id kid {id_kid}, access kid {access_kid}"
    ));
    Ok(())
}

pub(crate) fn advance_clock_secs(p: &Provider, secs: i64) -> i64 {
    let total = p.clock_advance.fetch_add(secs, Ordering::SeqCst) + secs;
    p.log(format!("clock advanced by {secs} s (total {total} s)"));
    total
}
