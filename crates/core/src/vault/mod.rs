//! The keychain: the refresh token (and the current ID/access tokens) in the OS credential
//! store, one item per session where it fits and chunked where it does not (16 KB round-trips
//! everywhere, `chunked`), checked after every write, under a cross-process lock (`lock`).
//! No store → a specific error and memory-only mode; never a plaintext file.

mod aws;
mod backend;
mod chunked;
mod crashing;
mod item;
#[cfg(target_os = "linux")]
mod kernel;
mod lock;
mod store_choice;
mod stored;
#[cfg(test)]
mod tests;

use item::Index;

pub(crate) use aws::aws_account;
pub use aws::StoredAwsCredentials;
pub use chunked::CHUNK_SIZE;
pub use crashing::{CrashPoint, CrashingStore};
pub use lock::lock_path;
pub use lock::runtime_dir;
pub(crate) use lock::ProfileLock;
pub use store_choice::KEYCHAIN_VAR;
pub use stored::StoredSession;

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use backend::{service_name, system_store_name, Backend, BackendCell};
use store_choice::{StoreChoice, SystemStore, KERNEL_LIFETIME};

/// Result of the start-up probe: which store is active and whether it works.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VaultHealth {
    /// The store checked, for people: "macOS Keychain", "Windows Credential Manager",
    /// "Secret Service (org.freedesktop.secrets)" or "memory only (not persisted)".
    pub store_name: String,
    /// True when the store answered as it should; memory-only is `ok` too, but not `persistent`.
    pub ok: bool,
    /// True when values survive a restart (false for memory-only).
    pub persistent: bool,
    /// One sentence for people: what the check found, or the keychain's error when it failed;
    /// without the store's name (that is `store_name`), so `"{store_name}: {message}"` reads once.
    pub message: String,
}

impl VaultHealth {
    /// The probe itself could not run (`why`).
    pub(crate) fn failed(store_name: String, why: impl std::fmt::Display) -> Self {
        VaultHealth {
            store_name,
            ok: false,
            persistent: false,
            message: format!("the keychain check could not run ({why})"),
        }
    }

    /// The store answered as it should (`persistent`: and keeps values across restarts).
    fn working(store_name: String, persistent: bool, message: &str) -> Self {
        VaultHealth {
            store_name,
            ok: true,
            persistent,
            message: message.into(),
        }
    }

    /// The store failed with `e`: nothing is persisted.
    fn broken(store_name: String, e: &Error) -> Self {
        VaultHealth {
            ok: false,
            persistent: false,
            message: without_store_name(&store_name, e.message()).to_owned(),
            store_name,
        }
    }
}

/// A keychain error's message starts with its store's name (`Error::keychain`); the health
/// report carries that name apart.
fn without_store_name<'a>(store_name: &str, message: &'a str) -> &'a str {
    message
        .strip_prefix(store_name)
        .and_then(|rest| rest.strip_prefix(": "))
        .unwrap_or(message)
}

/// A stored session's item as a write found it: its header and inline value (`None`: no item),
/// and the stored session's generation (0 when there is none or it cannot be read).
pub(crate) struct WriteBase {
    old: Option<(Index, Vec<u8>)>,
    stored_generation: u64,
}

/// Secret storage for sessions. Cheap to clone.
#[derive(Clone)]
pub struct Vault {
    backend: BackendCell,
    service: String,
    store_name: String,
    write_lock: Arc<Mutex<()>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("store", &self.store_name)
            .field("service", &self.service)
            .finish()
    }
}

/// The one field of a stored session a write needs from the session it replaces.
#[derive(Deserialize)]
struct Generation {
    generation: u64,
}

fn parse_session(store_name: &str, bytes: &[u8]) -> Result<StoredSession> {
    serde_json::from_slice(bytes).map_err(|_| {
        Error::keychain_damaged(
            store_name,
            "the stored session is damaged or from an incompatible version",
        )
    })
}

impl Vault {
    /// The OS keychain (Secret Service, macOS Keychain, Windows Credential Manager), or on
    /// Linux the kernel keyring where no D-Bus session bus runs or `LATCHKEY_KEYCHAIN=kernel`.
    /// Never fails: an unavailable store shows up in [`Vault::probe`] and in every operation.
    pub fn system() -> Vault {
        let cell = BackendCell::system();
        let store = cell.choice().map_or(SystemStore::Platform, |c| c.store);
        Self::with_cell(cell, system_store_name(store))
    }

    /// Why this store is used, for `doctor`: `None` for a store handed in or memory only.
    pub fn store_reason(&self) -> Option<&'static str> {
        self.used_system_store().map(|c| c.why)
    }

    /// For [`Vault::system`], the store it uses: connected first, because `auto` settles on
    /// the kernel keyring only when no Secret Service answers the connection.
    fn used_system_store(&self) -> Option<&StoreChoice> {
        self.backend.choice()?;
        self.backend();
        self.backend.choice()
    }

    /// How long the store keeps a session when that is not "until it is deleted": for the
    /// kernel keyring, a sentence saying it is lost at reboot and after days unused.
    pub fn lifetime(&self) -> Option<&'static str> {
        let kernel = self.used_system_store().map(|c| c.store) == Some(SystemStore::Kernel);
        kernel.then_some(KERNEL_LIFETIME)
    }

    /// The backend operations use: for [`Vault::system`], the platform store, connected now
    /// if this is the first use.
    fn backend(&self) -> &Backend {
        self.backend.get(&self.service)
    }

    /// The OS keychain with an explicit service name (tests use a unique one each).
    pub fn system_with_service(service: &str) -> Vault {
        let mut v = Self::system();
        v.service = service.to_owned();
        v
    }

    /// The keychain service name entries are stored under.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// In-memory only (for `--memory` sessions, tests, or when the keychain is unavailable).
    pub fn memory() -> Vault {
        Self::with_backend(Backend::memory(), "memory only (not persisted)")
    }

    /// A specific keyring-core store (e.g. `keyring_core::mock::Store` in tests).
    pub fn with_store(store: Arc<keyring_core::CredentialStore>, name: &str) -> Vault {
        Self::with_backend(Backend::keyring(store, &service_name(), name), name)
    }

    fn with_backend(backend: Backend, name: &str) -> Vault {
        Self::with_cell(BackendCell::Ready(backend), name)
    }

    fn with_cell(backend: BackendCell, name: &str) -> Vault {
        Vault {
            backend,
            service: service_name(),
            store_name: name.to_owned(),
            write_lock: Arc::default(),
        }
    }

    /// The store's name for messages: the platform keychain's ("macOS Keychain", …), the name
    /// given to [`Vault::with_store`], or "memory only (not persisted)".
    pub fn store_name(&self) -> &str {
        match self.used_system_store() {
            Some(used) => system_store_name(used.store),
            None => &self.store_name,
        }
    }

    /// Why the OS keychain cannot be used at all (no store to connect to), if that is so.
    pub(crate) fn unavailable(&self) -> Option<&Error> {
        match self.backend() {
            Backend::Unavailable(e) => Some(e),
            _ => None,
        }
    }

    /// True when secrets go to a keychain and survive a restart; false for memory-only and when the
    /// OS keychain is unavailable. Connects to the OS keychain if this is its first use.
    pub fn is_persistent(&self) -> bool {
        matches!(self.backend(), Backend::Keyring(_))
    }

    /// Read-only health check: the store answers a read of `account`'s item (whatever it
    /// holds). Writes are checked where they happen: every write is confirmed. For the app's
    /// start-up, which must not write to the keychain just to show that it can.
    pub fn health(&self, account: &str) -> VaultHealth {
        let backend = self.backend();
        let name = self.store_name().to_owned();
        match (backend, self.raw_get(account)) {
            (Backend::Keyring(_), Ok(_)) => VaultHealth::working(
                name,
                true,
                "the keychain answers (read-only check; every write is confirmed)",
            ),
            (Backend::Keyring(_), Err(e)) => VaultHealth::broken(name, &e),
            _ => self.probe(),
        }
    }

    /// Write, read back and delete a probe entry; report which store is active (what
    /// `latchkey doctor` runs).
    pub fn probe(&self) -> VaultHealth {
        let backend = self.backend();
        let name = self.store_name().to_owned();
        match backend {
            Backend::Unavailable(e) => VaultHealth::broken(name, e),
            Backend::Memory(_) => VaultHealth::working(
                name,
                false,
                "secrets are kept in memory only and are lost when Latchkey exits",
            ),
            Backend::Keyring(_) => {
                let account = format!("probe-{}", std::process::id());
                let round_trip =
                    (self.items()).and_then(|items| items.round_trip(&account, b"latchkey-probe"));
                match round_trip {
                    Ok(()) => VaultHealth::working(name, true, &self.works_message()),
                    Err(e) => VaultHealth::broken(name, &e),
                }
            }
        }
    }

    /// What `probe` says of a working store: that it works, why it is the one used, and its
    /// lifetime when it is limited.
    fn works_message(&self) -> String {
        let mut message = "the keychain works (write, read back, delete)".to_owned();
        if let Some(why) = self.store_reason() {
            message.push_str(&format!("; used because {why}"));
        }
        if let Some(lifetime) = self.lifetime() {
            message.push_str(&format!("; sessions are {lifetime}"));
        }
        message
    }

    pub(crate) fn load_session(&self, account: &str) -> Result<Option<StoredSession>> {
        match self.get_bytes(account)? {
            None => Ok(None),
            Some(b) => parse_session(self.store_name(), &b).map(Some),
        }
    }

    /// Store exactly `s` (tests plant sessions with it).
    pub(crate) fn store_session(&self, account: &str, s: &StoredSession) -> Result<()> {
        self.set_bytes(account, &serde_json::to_vec(s).map_err(Error::internal)?)
    }

    /// Store `s` as the newest session of `account`: its generation is raised above the
    /// stored session's, read in the same pass as the write (one read, one write, one
    /// read-back). Returns the generation written.
    pub(crate) fn store_newer_session(&self, account: &str, s: &StoredSession) -> Result<u64> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let base = self.write_base(account);
        self.write_newer_session(account, &base, s)
    }

    /// What [`Vault::store_newer_session_on`] writes over: `account`'s item as it is now. A
    /// read error counts as no item (the write then starts a new one). The caller must hold
    /// the profile lock from this read until the write, so that nothing is written between.
    pub(crate) fn write_base(&self, account: &str) -> WriteBase {
        let Ok(items) = self.items() else {
            return WriteBase {
                old: None,
                stored_generation: 0,
            };
        };
        let old = items.read_item(account).ok().flatten();
        let stored_generation = old
            .as_ref()
            .and_then(|(idx, inline)| items.value_of(account, idx, inline.clone()).ok())
            .and_then(|b| serde_json::from_slice::<Generation>(&b).ok())
            .map_or(0, |g| g.generation);
        WriteBase {
            old,
            stored_generation,
        }
    }

    /// [`Vault::store_newer_session`] over an item read earlier with [`Vault::write_base`]
    /// (a sign-in reads it while the code is exchanged): one write and its read-back.
    pub(crate) fn store_newer_session_on(
        &self,
        account: &str,
        base: &WriteBase,
        s: &StoredSession,
    ) -> Result<u64> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.write_newer_session(account, base, s)
    }

    fn write_newer_session(
        &self,
        account: &str,
        base: &WriteBase,
        s: &StoredSession,
    ) -> Result<u64> {
        let mut s = s.clone();
        s.generation = s.generation.max(base.stored_generation.saturating_add(1));
        let bytes = serde_json::to_vec(&s).map_err(Error::internal)?;
        self.items()?.write(account, base.old.as_ref(), &bytes)?;
        Ok(s.generation)
    }
}
