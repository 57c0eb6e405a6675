//! The running provider's shared state: resolved settings, keys, records, faults, counters,
//! the clock (with its test hooks) and persistence. Every request handler borrows a `Provider`.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, RwLock, RwLockReadGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::config::{
    is_loopback_host, ClientConfig, DemoApiConfig, FederatedIdp, GroupRole, MfaMode,
};
use crate::control::faults::FaultSet;
use crate::control::logbook::Logbook;
use crate::error::DevIdpError;
use crate::user_pool::keys::KeySet;
use crate::user_pool::store::{PersistedState, Store};

// What the services (user pool, identity pool, demo APIs, control) share. They reach each
// other only through this module: the `Provider` below, the methods each service adds to it
// (`impl Provider` blocks in their own modules), and these re-exports.
pub(crate) use crate::control::faults::{pad_object, Fault, Oversized};
pub(crate) use crate::control::logbook::{mask, mask_opt};
pub(crate) use crate::identity_pool::{format_amz_date, IdentityPoolState, SignatureProblem};
pub(crate) use crate::user_pool::jwt;
pub(crate) use crate::user_pool::keys::SigningKey;
pub(crate) use crate::user_pool::store::{hex, random_token};
pub(crate) use crate::user_pool::verify::{
    audiences as claim_audiences, scopes as claim_scopes, Rejected,
};

/// Request counters, for tests that assert e.g. "exactly one refresh request".
/// Token counters count every request with that grant type, successful or not.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// `GET /oauth2/authorize` requests.
    pub authorize: u64,
    /// Successful password sign-ins (`POST /login`).
    pub logins: u64,
    /// Rejected password sign-ins.
    pub failed_logins: u64,
    /// Sign-in attempts refused during a lockout ("Password attempts exceeded").
    pub locked_out_logins: u64,
    /// Password-reset codes refused because of earlier wrong ones ("Attempt limit exceeded").
    pub code_attempts_exceeded: u64,
    /// Silent sign-ins through the `cognito` cookie.
    pub cookie_logins: u64,
    /// `POST /oauth2/token` with `grant_type=authorization_code`.
    pub token_authorization_code: u64,
    /// `POST /oauth2/token` with `grant_type=refresh_token`.
    pub token_refresh_token: u64,
    /// `POST /oauth2/token` with any other or no grant type.
    pub token_other: u64,
    /// `POST /oauth2/revoke` requests.
    pub revocations: u64,
    /// `/oauth2/userInfo` requests.
    pub userinfo: u64,
    /// `GET /logout` requests.
    pub logouts: u64,
    /// Discovery document fetches.
    pub discovery: u64,
    /// JWKS fetches.
    pub jwks: u64,
    /// Completed sign-ups (confirmed).
    pub signups: u64,
    /// Demo API requests (any status).
    pub demo_api: u64,
    /// `GlobalSignOut` calls on the `cognito-idp` JSON API (any outcome).
    pub global_sign_outs: u64,
    /// `GetUser` calls on the JSON API (any outcome).
    pub get_user: u64,
    /// Refreshes on the JSON API: `InitiateAuth` and `GetTokensFromRefreshToken` (any outcome).
    pub json_api_refreshes: u64,
    /// Identity pool `GetId` requests (any outcome).
    pub identity_get_id: u64,
    /// Identity pool `GetCredentialsForIdentity` requests (any outcome).
    pub identity_get_credentials: u64,
    /// Identity pool `GetOpenIdToken` requests (any outcome).
    pub identity_get_open_id_token: u64,
    /// Credentials issued by `GetCredentialsForIdentity`.
    pub identity_credentials_issued: u64,
    /// STS requests on the identity origin (any action, any outcome).
    pub sts_requests: u64,
    /// Demo IAM API requests (any status).
    pub demo_aws_api: u64,
    /// Time spent answering `POST /oauth2/token` requests (form, code or refresh token,
    /// signing, JSON), summed in microseconds: the provider's own share of a token round trip,
    /// which `cargo xtask bench` takes out to compare clients (BENCHMARKS.md, row 3).
    pub token_handling_micros: u64,
}

/// Settings fixed at start-up.
pub(crate) struct Settings {
    /// The pool domain's origin (hosted UI, `/oauth2/*`), as clients see it.
    pub(crate) base_url: String,
    /// The `cognito-idp` origin (discovery, JWKS, JSON API), as clients see it.
    pub(crate) idp_url: String,
    /// `{idp_url}/{user_pool_id}`.
    pub(crate) issuer: String,
    pub(crate) user_pool_id: String,
    pub(crate) port: u16,
    pub(crate) issuer_port: u16,
    pub(crate) client: ClientConfig,
    pub(crate) mfa: MfaMode,
    pub(crate) amr_claims: bool,
    pub(crate) identity_providers: Vec<FederatedIdp>,
    pub(crate) demo_api: DemoApiConfig,
    pub(crate) state_file: Option<std::path::PathBuf>,
    /// `Cache-Control: max-age` of the JWKS answer, in seconds (`None`: no header).
    pub(crate) jwks_max_age: Option<u64>,
    /// The per-run secret every `/_devidp/*` request must carry.
    pub(crate) control_token: String,
    /// Roles of user-pool groups (`cognito:roles` / `cognito:preferred_role` in ID tokens).
    pub(crate) group_roles: Vec<GroupRole>,
}

pub(crate) struct Provider {
    pub(crate) settings: Settings,
    pub(crate) keys: RwLock<KeySet>,
    pub(crate) store: Mutex<Store>,
    pub(crate) faults: Mutex<FaultSet>,
    pub(crate) stats: Mutex<Stats>,
    /// Seconds added to the real clock for everything (code/cookie/refresh expiry, tokens).
    pub(crate) clock_advance: AtomicI64,
    pub(crate) log: Logbook,
    pub(crate) stopping: AtomicBool,
    /// The identity pool, once its origin is bound (see [`crate::identity_pool`]).
    pub(crate) identity_pool: OnceLock<IdentityPoolState>,
}

/// Lifetime of an authorization code (Cognito: 5 minutes).
pub(crate) const CODE_TTL_SECS: i64 = 300;
/// Lifetime of the `cognito` session cookie (Cognito: 1 hour).
pub(crate) const SESSION_TTL_SECS: i64 = 3600;

impl Provider {
    pub(crate) fn new(settings: Settings, keys: KeySet, store: Store) -> Self {
        Provider {
            settings,
            keys: RwLock::new(keys),
            store: Mutex::new(store),
            faults: Mutex::new(FaultSet::default()),
            stats: Mutex::new(Stats::default()),
            clock_advance: AtomicI64::new(0),
            log: Logbook::new(),
            stopping: AtomicBool::new(false),
            identity_pool: OnceLock::new(),
        }
    }

    /// The provider's notion of now (Unix seconds), including [`crate::DevIdp::advance_clock`].
    pub(crate) fn now(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        real + self.clock_advance.load(Ordering::SeqCst)
    }

    /// Now as written into token claims: [`Self::now`] plus the `clock_offset` fault.
    pub(crate) fn token_now(&self) -> i64 {
        self.now() + self.faults().clock_offset()
    }

    pub(crate) fn log(&self, line: String) {
        self.log.log(line);
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultSet> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn has_fault(&self, fault: &Fault) -> bool {
        self.faults().has(fault)
    }

    pub(crate) fn keys(&self) -> RwLockReadGuard<'_, KeySet> {
        self.keys.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn count(&self, bump: impl FnOnce(&mut Stats)) {
        bump(&mut self.stats.lock().unwrap_or_else(|e| e.into_inner()));
    }

    pub(crate) fn stats(&self) -> Stats {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sleeps up to `total`, returning early when the provider stops.
    pub(crate) fn pause(&self, total: Duration) {
        let step = Duration::from_millis(20);
        let mut left = total;
        while !left.is_zero() && !self.stopping.load(Ordering::SeqCst) {
            let now = left.min(step);
            std::thread::sleep(now);
            left -= now;
        }
    }

    /// Replaces both signing keys (new `kid`s; the old keys leave the JWKS at once).
    pub(crate) fn rotate_keys(&self) -> Result<(), DevIdpError> {
        let fresh = KeySet::generate()?;
        let (id_kid, access_kid) = (fresh.id.kid.clone(), fresh.access.kid.clone());
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        self.persist();
        self.log(format!(
            "keys rotated: id kid {id_kid}, access kid {access_kid}"
        ));
        Ok(())
    }

    /// Moves the clock by `secs` (either way); returns the total advance so far.
    pub(crate) fn advance_clock(&self, secs: i64) -> i64 {
        let total = self.clock_advance.fetch_add(secs, Ordering::SeqCst) + secs;
        self.log(format!("clock advanced by {secs} s (total {total} s)"));
        total
    }

    /// Writes the state file, if one is configured. Failures are logged, not fatal.
    pub(crate) fn persist(&self) {
        let Some(path) = &self.settings.state_file else {
            return;
        };
        let captured = {
            let keys = self.keys();
            let store = self.store();
            PersistedState::capture(&keys, &store)
        };
        if let Err(e) = captured.and_then(|state| state.write(path)) {
            self.log(format!(
                "could not write state file {}: {e}",
                path.display()
            ));
        }
    }

    /// Whether a redirect (or sign-out) URI is registered: exact string match, or with
    /// `any_loopback_port`, the same scheme/host/path/query on any port of an `http` loopback URL.
    pub(crate) fn uri_registered(&self, candidate: &str, registered: &[String]) -> bool {
        if registered.iter().any(|r| r == candidate) {
            return true;
        }
        if !self.settings.client.any_loopback_port {
            return false;
        }
        let Ok(c) = url::Url::parse(candidate) else {
            return false;
        };
        if c.scheme() != "http" || !c.host_str().is_some_and(is_loopback_host) {
            return false;
        }
        registered.iter().any(|r| {
            url::Url::parse(r).is_ok_and(|r| {
                r.scheme() == "http"
                    && r.host_str() == c.host_str()
                    && r.path() == c.path()
                    && r.query() == c.query()
                    && c.fragment().is_none()
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// The services a request reaches, and `config/` beneath them all.
    const SERVICES: [&str; 5] = [
        "config",
        "user_pool",
        "identity_pool",
        "demo_apis",
        "control",
    ];

    fn rust_files(dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).expect("read a source directory") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                files.extend(rust_files(&path));
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
        files
    }

    /// A service names another only through `provider.rs`; `config/` names none, nor the
    /// provider: it is plain data every service reads.
    #[test]
    fn services_reach_each_other_only_through_the_provider() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for service in SERVICES {
            let forbidden: Vec<String> = SERVICES
                .iter()
                .filter(|other| **other != service && **other != "config")
                .chain((service == "config").then_some(&"provider"))
                .map(|other| format!("crate::{other}"))
                .collect();
            for file in rust_files(&src.join(service)) {
                let text = std::fs::read_to_string(&file).expect("read a source file");
                for path in &forbidden {
                    assert!(
                        !text.contains(path.as_str()),
                        "{} names {path}: reach it through crate::provider",
                        file.display()
                    );
                }
            }
        }
    }
}
