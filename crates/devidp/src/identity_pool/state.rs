//! The running identity pool's memory: the identities it made and the credentials it
//! issued, which STS and the IAM demo API check signed requests against.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::config::IdentityPoolConfig;
use crate::provider::SigningKey;
use crate::provider::{random_token, Provider};

/// Credentials this pool (or its STS) handed out, by access key id.
#[derive(Clone, Debug)]
pub(crate) struct IssuedCredentials {
    pub(crate) secret_access_key: String,
    pub(crate) session_token: String,
    pub(crate) expires_at: i64,
    pub(crate) role_arn: String,
    pub(crate) session_name: String,
    pub(crate) identity_id: String,
}

impl IssuedCredentials {
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub(crate) fn assumed_role_arn(&self, account_id: &str) -> String {
        let role = self.role_arn.rsplit('/').next().unwrap_or_default();
        format!(
            "arn:aws:sts::{account_id}:assumed-role/{role}/{}",
            self.session_name
        )
    }
}

/// The running pool: its settings, its origin, identities and issued credentials.
pub(crate) struct IdentityPoolState {
    pub(crate) config: IdentityPoolConfig,
    pub(crate) base_url: String,
    /// Identity id → the `sub` it belongs to.
    identities: Mutex<HashMap<String, String>>,
    issued: Mutex<HashMap<String, IssuedCredentials>>,
    /// Signs the OpenID tokens of the classic flow (RS256, as AWS's; the public key is at
    /// `/.well-known/jwks_uri`). Made on first use: most pools never issue one.
    openid_key: OnceLock<SigningKey>,
}

impl IdentityPoolState {
    pub(crate) fn new(config: IdentityPoolConfig, base_url: String) -> Self {
        IdentityPoolState {
            config,
            base_url,
            identities: Mutex::new(HashMap::new()),
            issued: Mutex::new(HashMap::new()),
            openid_key: OnceLock::new(),
        }
    }

    /// The key that signs (and, at STS, checks) this pool's OpenID tokens.
    pub(crate) fn openid_key(&self) -> &SigningKey {
        self.openid_key.get_or_init(|| {
            SigningKey::generate().expect("the system's random source gives an RSA key")
        })
    }

    pub(crate) fn issued(&self, access_key_id: &str) -> Option<IssuedCredentials> {
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(access_key_id)
            .cloned()
    }

    /// New credentials for `role_arn`, remembered so the demo IAM API and STS can check them.
    pub(crate) fn issue(
        &self,
        p: &Provider,
        role_arn: &str,
        session_name: &str,
        identity_id: &str,
        ttl_secs: i64,
    ) -> (String, IssuedCredentials) {
        let access_key_id = format!("ASIA{}", random_upper(16));
        let issued = IssuedCredentials {
            secret_access_key: random_token(30),
            // Real session tokens are long base64 blobs that start like this one.
            session_token: format!("IQoJb3JpZ2luX2VjE{}", random_token(600)),
            expires_at: p.now() + ttl_secs,
            role_arn: role_arn.to_owned(),
            session_name: session_name.to_owned(),
            identity_id: identity_id.to_owned(),
        };
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(access_key_id.clone(), issued.clone());
        (access_key_id, issued)
    }

    /// The stable identity id of a user (`REGION:` + a UUID derived from pool and `sub`).
    pub(super) fn identity_for(&self, sub: &str) -> String {
        let guid = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!(
                "latchkey-devidp-identity:{}:{sub}",
                self.config.identity_pool_id
            )
            .as_bytes(),
        );
        let id = format!("{}:{guid}", self.config.region());
        self.identities
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), sub.to_owned());
        id
    }

    pub(super) fn owner_of(&self, identity_id: &str) -> Option<String> {
        self.identities
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(identity_id)
            .cloned()
    }
}

/// `ASIA…`-style characters: upper-case letters and digits.
fn random_upper(n: usize) -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}
