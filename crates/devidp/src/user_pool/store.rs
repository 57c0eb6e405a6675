//! The pool's mutable records: users, authorization codes, refresh-token grants, browser
//! sessions, and their optional JSON persistence (refresh tokens are stored only as hashes).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{MessageMfa, UserRecord, UsernameAttribute};
use crate::user_pool::keys::{KeySet, SigningKey};

/// A user of the pool (configured or signed up).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct User {
    pub(crate) username: String,
    pub(crate) sub: String,
    pub(crate) email: String,
    pub(crate) groups: Vec<String>,
    pub(crate) attributes: BTreeMap<String, String>,
    /// hex(SHA-256(salt ‖ password)): enough for a development provider, never the password.
    pub(crate) password_hash: String,
    pub(crate) salt: String,
    pub(crate) confirmed: bool,
    #[serde(default)]
    pub(crate) signed_up: bool,
    #[serde(skip)]
    pub(crate) confirmation_code: Option<String>,
    /// `FORCE_CHANGE_PASSWORD`: the next password sign-in must set a new password.
    #[serde(default)]
    pub(crate) force_change_password: bool,
    /// The user's TOTP authenticator (base32 secret), once set up.
    #[serde(default)]
    pub(crate) totp_secret: Option<String>,
    /// A one-time code by SMS or e-mail after the password, if the user has that MFA.
    #[serde(default)]
    pub(crate) message_mfa: Option<MessageMfa>,
    /// Federated identities (the ID token's `identities` claim); empty for pool users.
    #[serde(default)]
    pub(crate) identities: Vec<Identity>,
    /// A pending forgot-password code and until when it works.
    #[serde(skip)]
    pub(crate) reset_code: Option<(String, i64)>,
}

/// One entry of the `identities` claim, with Cognito's field names and (string) types.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Identity {
    pub(crate) user_id: String,
    pub(crate) provider_name: String,
    pub(crate) provider_type: String,
    pub(crate) issuer: Option<String>,
    pub(crate) primary: String,
    pub(crate) date_created: String,
}

impl User {
    /// A configured user. In a pool that signs in with e-mail or phone number the username is
    /// generated, equal to `sub` (Cognito: "automatically generates a username value").
    pub(crate) fn from_record(
        record: &UserRecord,
        user_pool_id: &str,
        username_attributes: &[UsernameAttribute],
    ) -> User {
        // A stable sub per pool + name in the users file, so restarts keep identities.
        let sub = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!(
                "latchkey-devidp:{user_pool_id}:{}",
                record.username.to_lowercase()
            )
            .as_bytes(),
        )
        .to_string();
        let salt = random_hex(16);
        let username = if username_attributes.is_empty() {
            record.username.clone()
        } else {
            sub.clone()
        };
        User {
            username,
            sub,
            email: record.email.clone(),
            groups: record.groups.clone(),
            attributes: record.attributes.clone(),
            password_hash: hash_password(&salt, &record.password),
            salt,
            confirmed: true,
            signed_up: false,
            confirmation_code: None,
            force_change_password: record.force_change_password,
            totp_secret: record.totp_secret.clone(),
            message_mfa: record.mfa,
            identities: Vec::new(),
            reset_code: None,
        }
    }

    /// A user who signed up with `email` (and, in a plain-username pool, `username`).
    pub(crate) fn signed_up(username: Option<&str>, email: &str, password: &str) -> User {
        let salt = random_hex(16);
        let sub = uuid::Uuid::new_v4().to_string();
        User {
            username: username.map_or_else(|| sub.clone(), str::to_string),
            sub,
            email: email.to_string(),
            groups: Vec::new(),
            attributes: BTreeMap::new(),
            password_hash: hash_password(&salt, password),
            salt,
            confirmed: false,
            signed_up: true,
            confirmation_code: None,
            force_change_password: false,
            totp_secret: None,
            message_mfa: None,
            identities: Vec::new(),
            reset_code: None,
        }
    }

    /// The username Cognito gives a user created by a federated sign-in: `{provider}_{id}`
    /// in lower case (`google_1234…`, aws-amplify/amplify-js#13844; fixtures/README.md).
    pub(crate) fn federated_username(provider: &str, user_id: &str) -> String {
        format!("{provider}_{user_id}").to_lowercase()
    }

    /// A user created by a federated sign-in: [`User::federated_username`], no password.
    pub(crate) fn federated(identity: Identity, email: &str, name: &str, group: String) -> User {
        let mut attributes = BTreeMap::new();
        if !name.is_empty() {
            attributes.insert("name".to_string(), name.to_string());
        }
        User {
            username: User::federated_username(&identity.provider_name, &identity.user_id),
            sub: uuid::Uuid::new_v4().to_string(),
            email: email.to_string(),
            groups: vec![group],
            attributes,
            password_hash: String::new(),
            salt: String::new(),
            confirmed: true,
            signed_up: true,
            confirmation_code: None,
            force_change_password: false,
            totp_secret: None,
            message_mfa: None,
            identities: vec![identity],
            reset_code: None,
        }
    }

    /// Whether the user's e-mail address and phone number count as verified: a local user's
    /// do (devidp's seeds are confirmed, sign-ups confirm a code); a federated user's do not,
    /// as Cognito marks mapped attributes unverified unless the IdP maps `email_verified` too
    /// (developer guide, cognito-user-pools-specifying-attribute-mapping).
    pub(crate) fn contact_verified(&self) -> bool {
        self.identities.is_empty()
    }

    /// Sets a new password (and ends `FORCE_CHANGE_PASSWORD`).
    pub(crate) fn set_password(&mut self, password: &str) {
        self.salt = random_hex(16);
        self.password_hash = hash_password(&self.salt, password);
        self.force_change_password = false;
        self.reset_code = None;
    }

    pub(crate) fn password_matches(&self, password: &str) -> bool {
        !self.password_hash.is_empty() && hash_password(&self.salt, password) == self.password_hash
    }
}

fn hash_password(salt: &str, password: &str) -> String {
    hex(&Sha256::digest(format!("{salt}{password}").as_bytes()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn random_hex(n: usize) -> String {
    use rand::RngCore;
    let mut bytes = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// A random URL-safe string of `n` random bytes.
pub(crate) fn random_token(n: usize) -> String {
    use rand::RngCore;
    let mut bytes = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut bytes);
    crate::user_pool::jwt::b64url(&bytes)
}

/// The key under which a refresh token's grant is stored: hex SHA-256 of the token.
pub(crate) fn token_digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A single-use authorization code, bound to client, redirect URI and PKCE challenge.
#[derive(Clone, Debug)]
pub(crate) struct AuthCode {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: Option<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) username: String,
    pub(crate) auth_time: i64,
    /// How the user authenticated (`pwd`, `otp`, `mfa`), for the `amr` claim.
    pub(crate) amr: Vec<String>,
    pub(crate) expires_at: i64,
    pub(crate) used: bool,
}

/// What one refresh token stands for. `family` is the `origin_jti` shared by every token
/// issued from the original sign-in; revoking any member revokes the family.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct RefreshGrant {
    pub(crate) family: String,
    pub(crate) client_id: String,
    pub(crate) username: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) auth_time: i64,
    /// The original authentication's methods, kept for refreshed tokens.
    #[serde(default)]
    pub(crate) amr: Vec<String>,
    pub(crate) expires_at: i64,
    /// Set when the token was rotated out: it works until this time (the grace period).
    pub(crate) retired_until: Option<i64>,
}

/// Failed password (or MFA code) attempts of one user, for Cognito's lockout.
#[derive(Clone, Debug, Default)]
pub(crate) struct Lockout {
    pub(crate) failures: u32,
    pub(crate) locked_until: i64,
    pub(crate) last_attempt: i64,
}

/// What a half-finished sign-in still has to do (Cognito's challenge `Session`).
#[derive(Clone, Debug)]
pub(crate) enum ChallengeStep {
    /// `NEW_PASSWORD_REQUIRED`.
    NewPassword,
    /// `MFA_SETUP`: the secret offered to the user, not yet confirmed by a code.
    MfaSetup { secret: String },
    /// `SOFTWARE_TOKEN_MFA`.
    MfaCode,
    /// `SMS_MFA` / `EMAIL_OTP`: the code "sent" by text message or e-mail.
    MessageCode {
        channel: MessageMfa,
        code: OneTimeCode,
    },
}

/// A one-time code sent in a message; its Debug never shows it.
#[derive(Clone)]
pub(crate) struct OneTimeCode(pub(crate) String);

impl OneTimeCode {
    /// Six random digits, as Cognito's SMS and e-mail codes are.
    pub(crate) fn random() -> OneTimeCode {
        use rand::Rng;
        OneTimeCode(format!("{:06}", rand::thread_rng().gen_range(0..1_000_000)))
    }
}

impl std::fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneTimeCode(<hidden>)")
    }
}

/// A half-finished sign-in, keyed by the random `session` value its form carries.
#[derive(Clone, Debug)]
pub(crate) struct Challenge {
    pub(crate) username: String,
    pub(crate) step: ChallengeStep,
    pub(crate) expires_at: i64,
}

/// A signed-in browser (the `cognito` cookie).
#[derive(Clone, Debug)]
pub(crate) struct BrowserSession {
    pub(crate) username: String,
    pub(crate) auth_time: i64,
    pub(crate) amr: Vec<String>,
    pub(crate) expires_at: i64,
}

/// All mutable records of the pool.
#[derive(Default)]
pub(crate) struct Store {
    /// What users sign in with besides their username (Cognito's `UsernameAttributes`).
    pub(crate) username_attributes: Vec<UsernameAttribute>,
    /// Keyed by lower-cased username (usernames are case-insensitive).
    pub(crate) users: BTreeMap<String, User>,
    pub(crate) codes: HashMap<String, AuthCode>,
    /// Keyed by [`token_digest`] of the refresh token.
    pub(crate) grants: HashMap<String, RefreshGrant>,
    pub(crate) revoked_families: HashSet<String>,
    pub(crate) sessions: HashMap<String, BrowserSession>,
    pub(crate) last_confirmation_code: Option<String>,
    /// Keyed by username.
    pub(crate) lockouts: HashMap<String, Lockout>,
    /// Wrong password-reset codes, keyed by username (Cognito's LimitExceededException).
    pub(crate) code_attempts: HashMap<String, Lockout>,
    /// Keyed by the challenge's `session` value.
    pub(crate) challenges: HashMap<String, Challenge>,
    /// Codes the stand-in external IdP page handed out: code → (provider, identity, email, name).
    pub(crate) idp_codes: HashMap<String, FederatedLogin>,
}

/// What the stand-in external IdP page said about the person, waiting at `/oauth2/idpresponse`.
#[derive(Clone, Debug)]
pub(crate) struct FederatedLogin {
    pub(crate) provider: String,
    pub(crate) user_id: String,
    pub(crate) email: String,
    pub(crate) name: String,
    /// The authorize parameters of the sign-in this belongs to.
    pub(crate) params: Vec<(String, String)>,
    /// The `state` the provider sent back with the code.
    pub(crate) state: String,
    pub(crate) expires_at: i64,
}

impl Store {
    pub(crate) fn new(username_attributes: Vec<UsernameAttribute>) -> Store {
        Store {
            username_attributes,
            ..Store::default()
        }
    }

    /// The user with this (case-insensitive) username.
    pub(crate) fn user(&self, username: &str) -> Option<&User> {
        self.users.get(&username.to_lowercase())
    }

    /// The user someone means by what they typed at sign-in: the username, or the e-mail
    /// address / phone number when the pool signs in with those.
    pub(crate) fn find_sign_in(&self, name: &str) -> Option<&User> {
        let name = name.trim();
        self.user(name).or_else(|| {
            self.users.values().find(|u| {
                self.username_attributes.iter().any(|a| match a {
                    UsernameAttribute::Email => u.email.eq_ignore_ascii_case(name),
                    UsernameAttribute::PhoneNumber => {
                        u.attributes.get("phone_number").is_some_and(|p| p == name)
                    }
                })
            })
        })
    }

    /// The username behind a sign-in name (see [`Store::find_sign_in`]).
    pub(crate) fn username_of(&self, name: &str) -> Option<String> {
        self.find_sign_in(name).map(|u| u.username.clone())
    }

    pub(crate) fn user_mut(&mut self, username: &str) -> Option<&mut User> {
        self.users.get_mut(&username.to_lowercase())
    }

    pub(crate) fn add_user(&mut self, user: User) {
        self.users.insert(user.username.to_lowercase(), user);
    }
}

/// The JSON state file's contents.
#[derive(Serialize, Deserialize)]
pub(crate) struct PersistedState {
    pub(crate) version: u32,
    pub(crate) id_key_pem: String,
    pub(crate) access_key_pem: String,
    #[serde(default)]
    pub(crate) grants: HashMap<String, RefreshGrant>,
    #[serde(default)]
    pub(crate) revoked_families: HashSet<String>,
    #[serde(default)]
    pub(crate) signed_up_users: Vec<User>,
}

impl PersistedState {
    pub(crate) fn capture(keys: &KeySet, store: &Store) -> Result<Self, String> {
        Ok(PersistedState {
            version: 1,
            id_key_pem: keys.id.to_pkcs8_pem()?,
            access_key_pem: keys.access.to_pkcs8_pem()?,
            grants: store.grants.clone(),
            revoked_families: store.revoked_families.clone(),
            signed_up_users: store
                .users
                .values()
                .filter(|u| u.signed_up && u.confirmed)
                .cloned()
                .collect(),
        })
    }

    pub(crate) fn keys(&self) -> Result<KeySet, String> {
        Ok(KeySet {
            id: SigningKey::from_pkcs8_pem(&self.id_key_pem)
                .map_err(|e| format!("ID-token key: {e}"))?,
            access: SigningKey::from_pkcs8_pem(&self.access_key_pem)
                .map_err(|e| format!("access-token key: {e}"))?,
        })
    }

    pub(crate) fn read(path: &Path) -> Result<Option<Self>, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| format!("not a devidp state file ({e})")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Writes atomically (temp file + rename), readable by the owner only.
    pub(crate) fn write(&self, path: &Path) -> Result<(), String> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        let tmp = path.with_extension("tmp");
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&tmp).map_err(|e| e.to_string())?;
            file.write_all(&json).map_err(|e| e.to_string())?;
            file.sync_all().map_err(|e| e.to_string())?;
        }
        std::fs::rename(&tmp, path).map_err(|e| e.to_string())
    }
}
