//! The caching layer of the AWS credentials provider: the credentials held in memory, their
//! keychain item (`{account}:aws`) and its cross-process lock; a session hook, so they end
//! with the session.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::aws::{AwsCredentials, CallerIdentity};
use crate::clock::utc;
use crate::error::{Error, Result};
use crate::session::{Hold, HookFuture, Session, SessionHook};
use crate::vault::{aws_account, lock_path, ProfileLock, StoredAwsCredentials, Vault};

/// AWS credentials held in memory: their stored form, and what STS said about them.
struct HeldAws {
    creds: StoredAwsCredentials,
    caller: Option<CallerIdentity>,
}

/// One session's AWS credentials: in memory, in the keychain, and the locks that make one
/// fetch at a time (the gate in this process, the item's lock across processes).
pub(crate) struct CredentialsCache {
    held: Mutex<Option<HeldAws>>,
    /// Serialises fetches (and sign-out) within this process.
    gate: Arc<tokio::sync::Mutex<()>>,
    vault: Vault,
    account: String,
    lock_path: PathBuf,
}

impl CredentialsCache {
    /// The cache of `session`'s AWS credentials, next to its keychain item. No I/O.
    pub(crate) fn for_session(session: &Session) -> CredentialsCache {
        let vault = session.vault().clone();
        let account = aws_account(&session.profile().keychain_account());
        CredentialsCache {
            held: Mutex::new(None),
            gate: Arc::new(tokio::sync::Mutex::new(())),
            lock_path: lock_path(vault.service(), &account),
            vault,
            account,
        }
    }

    /// Wait for the fetch in flight in this process, and keep others out while it lives.
    pub(super) async fn gate(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.gate.clone().lock_owned().await
    }

    /// The cross-process lock of the credentials' item (none for memory vaults).
    pub(super) async fn lock(&self) -> Result<Option<ProfileLock>> {
        if !self.vault.is_persistent() {
            return Ok(None);
        }
        ProfileLock::acquire(self.lock_path.clone()).await.map(Some)
    }

    /// The held credentials, when `accept` takes them.
    pub(super) fn held_if(
        &self,
        accept: impl Fn(&StoredAwsCredentials) -> bool,
    ) -> Option<AwsCredentials> {
        let held = self.held.lock().unwrap();
        held.as_ref()
            .map(|h| &h.creds)
            .filter(|s| accept(s))
            .map(|s| to_credentials(s, None))
    }

    /// The stored form of the held credentials, whatever their state.
    pub(super) fn held(&self) -> Option<StoredAwsCredentials> {
        let held = self.held.lock().unwrap();
        held.as_ref().map(|h| h.creds.clone())
    }

    /// Make `stored` the held credentials.
    pub(super) fn hold(&self, stored: StoredAwsCredentials) -> AwsCredentials {
        let creds = to_credentials(&stored, None);
        *self.held.lock().unwrap() = Some(HeldAws {
            creds: stored,
            caller: None,
        });
        creds
    }

    /// What STS said about the held credentials with this access key id, if it was asked.
    pub(super) fn held_caller(&self, access_key_id: &str) -> Option<CallerIdentity> {
        let held = self.held.lock().unwrap();
        held.as_ref()
            .filter(|h| h.creds.access_key_id == access_key_id)
            .and_then(|h| h.caller.clone())
    }

    /// Remember what STS said about the held credentials with this access key id.
    pub(super) fn set_caller(&self, access_key_id: &str, caller: &CallerIdentity) {
        if let Some(h) = self.held.lock().unwrap().as_mut() {
            if h.creds.access_key_id == access_key_id {
                h.caller = Some(caller.clone());
            }
        }
    }

    /// The stored credentials; a keychain that cannot be read counts as none (a fetch
    /// follows, and its store says what is wrong).
    pub(super) async fn load(&self) -> Option<StoredAwsCredentials> {
        let (vault, account) = (self.vault.clone(), self.account.clone());
        match tokio::task::spawn_blocking(move || vault.load_aws(&account)).await {
            Ok(Ok(stored)) => stored,
            Ok(Err(e)) => {
                tracing::debug!(kind = ?e.kind(), "could not read the stored AWS credentials");
                None
            }
            Err(_) => None,
        }
    }

    /// Store fetched credentials (before they are handed out); on a keychain failure they are
    /// kept in memory only, as the session is.
    pub(super) async fn store(&self, stored: &StoredAwsCredentials) {
        let (vault, account) = (self.vault.clone(), self.account.clone());
        let stored = stored.clone();
        let result = tokio::task::spawn_blocking(move || vault.store_aws(&account, &stored))
            .await
            .map_err(Error::internal)
            .and_then(|r| r);
        if let Err(e) = result {
            tracing::warn!(kind = ?e.kind(), "could not store the AWS credentials in the keychain; keeping them in memory only");
        }
    }

    /// Forget the credentials here and in the keychain.
    async fn forget(&self) -> Result<()> {
        self.forget_held();
        let (vault, account) = (self.vault.clone(), self.account.clone());
        tokio::task::spawn_blocking(move || vault.delete(&account))
            .await
            .map_err(Error::internal)?
    }
}

/// The credentials end with the session. Sign-out holds the gate and the item's lock while it
/// runs; a session that ends during a refresh deletes them without either (the fetch waiting
/// for that refresh holds them) and needs not: that fetch fails with the session.
impl SessionHook for CredentialsCache {
    fn name(&self) -> &'static str {
        "the saved AWS credentials"
    }

    fn hold_off(&self) -> HookFuture<'_, (Hold, Option<Error>)> {
        Box::pin(async move {
            let gate = self.gate().await;
            match self.lock().await {
                Ok(lock) => (Box::new((gate, lock)) as Hold, None),
                Err(e) => (Box::new(gate) as Hold, Some(e)),
            }
        })
    }

    fn ended(&self) -> HookFuture<'_, Result<()>> {
        Box::pin(self.forget())
    }

    fn forget_held(&self) {
        *self.held.lock().unwrap() = None;
    }

    fn held_secrets(&self) -> Vec<String> {
        let held = self.held.lock().unwrap();
        held.iter()
            .flat_map(|h| {
                [
                    h.creds.secret_access_key.expose(),
                    h.creds.session_token.expose(),
                ]
            })
            .map(str::to_owned)
            .collect()
    }

    fn held_until(&self, sub: &str) -> Option<i64> {
        let held = self.held.lock().unwrap();
        held.as_ref()
            .filter(|h| h.creds.sub == sub)
            .map(|h| h.creds.expires_at)
    }
}

pub(super) fn to_credentials(
    stored: &StoredAwsCredentials,
    warning: Option<String>,
) -> AwsCredentials {
    AwsCredentials {
        access_key_id: stored.access_key_id.clone(),
        secret_access_key: stored.secret_access_key.clone(),
        session_token: stored.session_token.clone(),
        expiration: utc(stored.expires_at),
        identity_id: stored.identity_id.clone(),
        role_arn: stored.role_arn.clone(),
        warning,
    }
}
