//! latchkey-devidp: a local, Cognito-compatible OAuth 2.0 / OIDC provider for development and tests.
//!
//! It serves one user pool with one public app client on two loopback origins, like AWS (see
//! `reference/cognito.md` and `fixtures/README.md`). The **pool domain** ([`DevIdp::base_url`])
//! has the hosted UI and OAuth endpoints: `/oauth2/authorize` (exact redirect-URI match, PKCE
//! S256 only), `/login` (CSRF token, lockout), `/signup` + `/confirm`, `/forgotPassword` +
//! `/confirmforgotPassword`, `/forceChangePassword`, `/mfa` (TOTP, SMS and e-mail codes), pages
//! in English or French (`lang`), `/passkeys/*` (a page: not emulated), federated sign-in through
//! `/oauth2/idpresponse`, `/logout`, `/oauth2/token` (authorization_code; refresh_token with
//! optional rotation), `/oauth2/userInfo`, `/oauth2/revoke`, and a demo protected API answering
//! like API Gateway (`/demo-api/*` REST with a Cognito authorizer, `/demo-http-api/*` HTTP API
//! with a JWT authorizer). The **cognito-idp** origin ([`DevIdp::cognito_idp_url`]) has
//! `/{pool}/.well-known/openid-configuration`, `/{pool}/.well-known/jwks.json` and the JSON
//! API's `GlobalSignOut`; the tokens' `iss` ([`DevIdp::issuer`]) is on it.
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
//! // dropping `idp` stops both listeners and frees the ports
//! ```
//!
//! For tests it has fault switches ([`Fault`]), a clock hook ([`DevIdp::advance_clock`]) and
//! counters ([`Stats`]), in process or through the control endpoint on the pool domain. Every
//! control request carries the per-run secret ([`DevIdp::control_token`]) in the
//! [`CONTROL_TOKEN_HEADER`] header, sends bodies as `application/json`, and gets no CORS
//! headers, so a web page open in the user's browser cannot drive it:
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
//!
//! The source is laid out by service: `config/` (every setting, plain data), `user_pool/`
//! (with `hosted_ui/`), `identity_pool/`, `demo_apis/` and `control/` (faults, log); they
//! reach each other only through `provider.rs`, and `server.rs` routes requests to them.

#![warn(missing_docs)]

mod cli;
mod config;
mod control;
mod demo_apis;
mod error;
mod http;
mod identity_pool;
mod provider;
mod server;
mod user_pool;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub use cli::{cli_main, DEMO_ISSUER_PORT, DEMO_PORT};
pub use config::{
    load_users_file, parse_users_toml, AmbiguousRoleResolution, ClientConfig, DemoApiConfig,
    DevIdpConfig, FederatedIdp, GroupRole, IdentityPoolConfig, MessageMfa, MfaMode, PublicUrls,
    Rotation, UserRecord, UsernameAttribute, DEFAULT_CALLBACK_PORTS, DEFAULT_CLIENT_ID,
    DEFAULT_USER_POOL_ID, DEMO_ACCOUNT_ID, DEMO_ADMIN_ROLE, DEMO_AUTHENTICATED_ROLE,
    DEMO_IDENTITY_POOL_ID, DEMO_PASSWORD, DEMO_USERNAME, DEMO_USER_ROLE, OTP_PASSWORD,
    OTP_USERNAME, VIEWER_PASSWORD, VIEWER_USERNAME,
};
pub use control::faults::{
    Fault, Oversized, FAULT_NAMES, OVERSIZED_ID_TOKEN_BYTES, OVERSIZED_RESPONSE_BYTES,
};
pub use control::{CONTROL_HELP, CONTROL_TOKEN_ENV, CONTROL_TOKEN_HEADER};
pub use error::DevIdpError;
pub use provider::Stats;

use provider::{IdentityPoolState, Provider, Settings};
use server::Origin;
use user_pool::keys::KeySet;
use user_pool::store::{PersistedState, Store, User};

/// A running development provider. Dropping it stops both listeners, joins their threads and
/// frees the ports.
pub struct DevIdp {
    provider: Arc<Provider>,
    listeners: Vec<Listener>,
}

/// One bound origin and the worker threads serving it.
struct Listener {
    server: Arc<tiny_http::Server>,
    workers: Vec<JoinHandle<()>>,
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
    /// Validates the configuration, loads or generates the keys, binds the two loopback
    /// origins (`port` for the pool domain, `issuer_port` for `cognito-idp`) and starts serving.
    pub fn start(config: DevIdpConfig) -> Result<DevIdp, DevIdpError> {
        config::validate_config(&config)?;
        let (keys, persisted) = load_state(&config)?;
        let store = initial_store(&config, persisted);
        let hosted = bind(config.port)?;
        let cognito = bind(config.issuer_port)?;
        let ports = (
            local_port(&hosted, config.port)?,
            local_port(&cognito, config.issuer_port)?,
        );
        let provider = Arc::new(Provider::new(settings(&config, ports), keys, store));
        provider.persist();
        provider.log(format!(
            "started: hosted UI {}, cognito-idp {} (issuer {}), client {}, {} users",
            provider.settings.base_url,
            provider.settings.idp_url,
            provider.settings.issuer,
            provider.settings.client.client_id,
            config.users.len()
        ));
        for warning in config::cognito_range_warnings(&config) {
            provider.log(format!("note: {warning}"));
        }
        let mut origins = vec![(hosted, Origin::HostedUi), (cognito, Origin::CognitoIdp)];
        if let Some(pool) = &config.identity_pool {
            origins.push((
                bind_identity_origin(&provider, pool.clone())?,
                Origin::CognitoIdentity,
            ));
        }
        let listeners = origins
            .into_iter()
            .map(|(server, origin)| {
                let server = Arc::new(server);
                let workers =
                    server::spawn_workers(Arc::clone(&server), Arc::clone(&provider), origin);
                Listener { server, workers }
            })
            .collect();
        Ok(DevIdp {
            provider,
            listeners,
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

    /// The pool domain's origin (`http://127.0.0.1:PORT`, no trailing slash): hosted UI,
    /// `/oauth2/*`, `/logout`, the demo API and the control endpoint. Stands for
    /// `https://{prefix}.auth.{region}.amazoncognito.com`.
    pub fn base_url(&self) -> String {
        self.provider.settings.base_url.clone()
    }

    /// The `cognito-idp` origin (`http://127.0.0.1:ISSUER_PORT`): discovery, JWKS and the JSON
    /// API. Stands for `https://cognito-idp.{region}.amazonaws.com`.
    pub fn cognito_idp_url(&self) -> String {
        self.provider.settings.idp_url.clone()
    }

    /// The `iss` of the tokens: `{cognito_idp_url}/{user_pool_id}`.
    pub fn issuer(&self) -> String {
        self.provider.settings.issuer.clone()
    }

    /// `{issuer}/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.provider.settings.issuer
        )
    }

    /// `{issuer}/.well-known/jwks.json`.
    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.provider.settings.issuer)
    }

    /// The app client id.
    pub fn client_id(&self) -> String {
        self.provider.settings.client.client_id.clone()
    }

    /// The pool domain's port.
    pub fn port(&self) -> u16 {
        self.provider.settings.port
    }

    /// The `cognito-idp` origin's port.
    pub fn issuer_port(&self) -> u16 {
        self.provider.settings.issuer_port
    }

    /// The user pool id (part of the issuer and of the discovery and JWKS paths).
    pub fn user_pool_id(&self) -> String {
        self.provider.settings.user_pool_id.clone()
    }

    /// The app client as configured (callback URLs, rotation, lifetimes…).
    pub fn client(&self) -> ClientConfig {
        self.provider.settings.client.clone()
    }

    /// The secret a control request (`/_devidp/*`) must send in the [`CONTROL_TOKEN_HEADER`]
    /// header: the configured one, or one generated for this run.
    pub fn control_token(&self) -> String {
        self.provider.settings.control_token.clone()
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
        if let Err(e) = self.provider.rotate_keys() {
            self.provider.log(format!("key rotation failed: {e}"));
        }
    }

    /// Moves the provider's clock forward (or back, with a negative value) for everything:
    /// code, cookie and refresh-token expiry, rotation grace periods, token times. Lets tests
    /// expire a 5-minute code without sleeping.
    pub fn advance_clock(&self, by: Duration) {
        self.provider.advance_clock(by.as_secs() as i64);
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
        for listener in &self.listeners {
            for _ in &listener.workers {
                listener.server.unblock();
            }
        }
        for listener in &mut self.listeners {
            for worker in listener.workers.drain(..) {
                let _ = worker.join();
            }
            server::refuse_pending(&listener.server);
        }
        // The last references: tiny_http closes the listening sockets.
        self.listeners.clear();
        self.provider.log("stopped".to_string());
    }
}

/// The keys and records of the state file, if one is configured and exists; else new keys.
fn load_state(config: &DevIdpConfig) -> Result<(KeySet, Option<PersistedState>), DevIdpError> {
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
    Ok((keys, persisted))
}

/// The configured users, then what the state file kept: grants, revocations, signed-up users.
fn initial_store(config: &DevIdpConfig, persisted: Option<PersistedState>) -> Store {
    let mut store = Store::new(config.username_attributes.clone());
    for record in &config.users {
        store.add_user(User::from_record(
            record,
            &config.user_pool_id,
            &config.username_attributes,
        ));
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
    store
}

/// The settings the running provider serves with, once the two origins have their ports.
fn settings(config: &DevIdpConfig, (port, issuer_port): (u16, u16)) -> Settings {
    let (base_url, idp_url) = match &config.public_urls {
        Some(urls) => (
            urls.hosted_ui.trim_end_matches('/').to_string(),
            urls.cognito_idp.trim_end_matches('/').to_string(),
        ),
        None => (
            format!("http://127.0.0.1:{port}"),
            format!("http://127.0.0.1:{issuer_port}"),
        ),
    };
    Settings {
        issuer: format!("{idp_url}/{}", config.user_pool_id),
        base_url,
        idp_url,
        user_pool_id: config.user_pool_id.clone(),
        port,
        issuer_port,
        client: config.client.clone(),
        mfa: config.mfa,
        amr_claims: config.amr_claims,
        identity_providers: config.identity_providers.clone(),
        demo_api: config.demo_api.clone(),
        state_file: config.state_file.clone(),
        jwks_max_age: config.jwks_max_age.map(|d| d.as_secs()),
        control_token: config
            .control_token
            .clone()
            .unwrap_or_else(|| user_pool::store::random_token(32)),
        group_roles: config.group_roles.clone(),
    }
}

/// Binds the identity pool's origin and makes the pool known to the provider.
fn bind_identity_origin(
    provider: &Arc<Provider>,
    config: IdentityPoolConfig,
) -> Result<tiny_http::Server, DevIdpError> {
    let server = bind(config.port)?;
    let base_url = format!("http://127.0.0.1:{}", local_port(&server, config.port)?);
    provider.log(format!(
        "identity pool {} on {base_url} (Cognito Identity and STS)",
        config.identity_pool_id
    ));
    let _ = provider
        .identity_pool
        .set(IdentityPoolState::new(config, base_url));
    Ok(server)
}

fn local_port(server: &tiny_http::Server, asked: u16) -> Result<u16, DevIdpError> {
    server
        .server_addr()
        .to_ip()
        .map(|a| a.port())
        .ok_or_else(|| DevIdpError::Bind {
            port: asked,
            reason: "not a TCP listener".into(),
        })
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
