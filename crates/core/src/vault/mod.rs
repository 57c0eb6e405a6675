//! The keychain: the refresh token (and the current ID/access tokens) in the OS credential
//! store, chunked so 16 KB round-trips everywhere, written and read back before old data goes,
//! under a cross-process lock (`lock`). No store → a specific error and memory-only mode;
//! never a plaintext file.

mod aws;
mod lock;
mod stored;

pub(crate) use aws::aws_account;
pub use aws::StoredAwsCredentials;
pub use lock::lock_path;
pub use lock::runtime_dir;
pub(crate) use lock::ProfileLock;
pub use stored::StoredSession;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

/// Bytes per keychain item. Windows caps one credential blob at 2,560 bytes
/// (`CRED_MAX_CREDENTIAL_BLOB_SIZE`); elsewhere a session (≈ 3.5 KB with Cognito's tokens)
/// fits in one item, and every item written costs a keyring file rewrite (the sign-in's
/// largest part, see BENCHMARKS.md), so chunks are larger.
#[cfg(windows)]
pub const CHUNK_SIZE: usize = 2560;
/// Bytes per keychain item (see the Windows value for why it differs).
#[cfg(not(windows))]
pub const CHUNK_SIZE: usize = 8 * 1024;

/// Result of the start-up probe: which store is active and whether it works.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VaultHealth {
    pub store_name: String,
    pub ok: bool,
    /// True when values survive a restart (false for memory-only).
    pub persistent: bool,
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
}

#[derive(Clone)]
enum Backend {
    Keyring(Arc<keyring_core::CredentialStore>),
    Memory(Arc<Mutex<HashMap<String, Vec<u8>>>>),
    Unavailable(Error),
}

/// Secret storage for sessions. Cheap to clone.
#[derive(Clone)]
pub struct Vault {
    backend: Backend,
    service: String,
    store_name: String,
    crash_after_commit: Arc<AtomicBool>,
    write_lock: Arc<Mutex<()>>,
    /// The OS keychain of [`Vault::system`] (not a store handed in by a test).
    is_platform_store: bool,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("store", &self.store_name)
            .field("service", &self.service)
            .finish()
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy)]
struct Index {
    v: u32,
    gen: u64,
    chunks: usize,
    len: usize,
}

fn service_name() -> String {
    std::env::var("LATCHKEY_KEYCHAIN_SERVICE")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "latchkey".into())
}

fn platform_store_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "macOS Keychain"
    } else if cfg!(target_os = "windows") {
        "Windows Credential Manager"
    } else {
        "Secret Service (org.freedesktop.secrets)"
    }
}

fn platform_store() -> std::result::Result<Arc<keyring_core::CredentialStore>, keyring_core::Error>
{
    #[cfg(target_os = "macos")]
    {
        Ok(apple_native_keyring_store::keychain::Store::new()?)
    }
    #[cfg(target_os = "windows")]
    {
        Ok(windows_native_keyring_store::Store::new()?)
    }
    #[cfg(all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ))]
    {
        Ok(zbus_secret_service_keyring_store::Store::new()?)
    }
    #[cfg(not(any(
        target_os = "macos",
        target_os = "windows",
        all(unix, not(any(target_os = "ios", target_os = "android")))
    )))]
    {
        Err(keyring_core::Error::NotSupportedByStore(
            "no keychain on this platform".into(),
        ))
    }
}

/// Turn a keyring error into a message that says what happened and what to do.
fn keychain_error(store: &str, op: &str, e: &keyring_core::Error) -> Error {
    use keyring_core::Error as K;
    let (what, fix) = match e {
        K::NoStorageAccess(_) => (
            "the keychain is locked or refused access".to_string(),
            "unlock your login keychain/keyring (on Linux: the 'login' collection of gnome-keyring or KeePassXC) and try again",
        ),
        K::PlatformFailure(inner) => (
            format!("the keychain service is not available ({inner})"),
            if cfg!(target_os = "linux") {
                "start a Secret Service provider (gnome-keyring-daemon or KeePassXC) in your desktop session; over SSH, run inside `dbus-run-session` with an unlocked keyring"
            } else {
                "make sure you are signed in to a desktop session with an unlocked keychain"
            },
        ),
        K::NoDefaultStore => ("no keychain store is configured".to_string(), "this is a bug; please report it"),
        K::TooLong(what, max) => (format!("the value is too long for this keychain ({what}, max {max})"), "this is a bug; please report it"),
        K::BadEncoding(_) | K::BadDataFormat(..) => ("the stored entry is damaged".to_string(), "sign out and sign in again to replace it"),
        other => (format!("{other}"), "try again; if it persists, sign out and sign in again"),
    };
    Error::keychain(store, op, &what, fix)
}

impl Vault {
    /// The OS keychain (Secret Service, macOS Keychain, Windows Credential Manager).
    /// Never fails: an unavailable store shows up in [`Vault::probe`] and in every operation.
    pub fn system() -> Vault {
        let backend = match platform_store() {
            Ok(s) => Backend::Keyring(s),
            Err(e) => Backend::Unavailable(keychain_error(platform_store_name(), "connect", &e)),
        };
        Vault {
            is_platform_store: true,
            ..Self::with_backend(backend, platform_store_name())
        }
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
        Self::with_backend(
            Backend::Memory(Arc::default()),
            "memory only (not persisted)",
        )
    }

    /// A specific keyring-core store (e.g. `keyring_core::mock::Store` in tests).
    pub fn with_store(store: Arc<keyring_core::CredentialStore>, name: &str) -> Vault {
        Self::with_backend(Backend::Keyring(store), name)
    }

    fn with_backend(backend: Backend, name: &str) -> Vault {
        Vault {
            backend,
            service: service_name(),
            store_name: name.to_owned(),
            crash_after_commit: Arc::default(),
            write_lock: Arc::default(),
            is_platform_store: false,
        }
    }

    pub fn store_name(&self) -> &str {
        &self.store_name
    }

    /// Why the OS keychain cannot be used at all (no store to connect to), if that is so.
    pub(crate) fn unavailable(&self) -> Option<&Error> {
        match &self.backend {
            Backend::Unavailable(e) => Some(e),
            _ => None,
        }
    }

    pub fn is_persistent(&self) -> bool {
        matches!(self.backend, Backend::Keyring(_))
    }

    /// Write, read back and delete a probe entry; report which store is active.
    pub fn probe(&self) -> VaultHealth {
        let name = self.store_name.clone();
        match &self.backend {
            Backend::Unavailable(e) => VaultHealth {
                store_name: name,
                ok: false,
                persistent: false,
                message: e.message().to_owned(),
            },
            Backend::Memory(_) => VaultHealth {
                store_name: name,
                ok: true,
                persistent: false,
                message: "secrets are kept in memory only and are lost when Latchkey exits".into(),
            },
            Backend::Keyring(_) => {
                let account = format!("probe-{}", std::process::id());
                let value = b"latchkey-probe";
                let result = self.raw_set(&account, value).and_then(|_| self.raw_get(&account)).and_then(|got| {
                    if got.as_deref() == Some(&value[..]) {
                        Ok(())
                    } else {
                        Err(Error::new(ErrorKind::Keychain, format!("{}: a value written could not be read back (the keychain accepted it but stored nothing). Latchkey keeps the session in memory only.", self.store_name)))
                    }
                });
                let _ = self.raw_delete(&account);
                match result {
                    Ok(()) => VaultHealth {
                        store_name: name,
                        ok: true,
                        persistent: true,
                        message: "the keychain works (write, read back, delete)".into(),
                    },
                    Err(e) => VaultHealth {
                        store_name: name,
                        ok: false,
                        persistent: false,
                        message: e.message().to_owned(),
                    },
                }
            }
        }
    }

    // ---- raw single-item operations ----

    fn entry(
        &self,
        store: &Arc<keyring_core::CredentialStore>,
        account: &str,
    ) -> Result<keyring_core::Entry> {
        store
            .build(&self.service, account, self.entry_modifiers().as_ref())
            .map_err(|e| keychain_error(&self.store_name, "open an entry", &e))
    }

    /// Windows: credentials stay on this computer (`CRED_PERSIST_LOCAL_MACHINE`). The store's
    /// default, Enterprise persistence, roams them to every computer a domain user with a
    /// roaming profile signs in to, where another Latchkey would refresh with the same token
    /// outside this computer's refresh lock; with rotation the provider then sees a reused
    /// refresh token and revokes the whole grant.
    fn entry_modifiers(&self) -> Option<HashMap<&'static str, &'static str>> {
        (cfg!(windows) && self.is_platform_store).then(|| HashMap::from([("persistence", "Local")]))
    }

    fn raw_get(&self, account: &str) -> Result<Option<Vec<u8>>> {
        match &self.backend {
            Backend::Unavailable(e) => Err(e.clone()),
            Backend::Memory(m) => Ok(m.lock().unwrap().get(account).cloned()),
            Backend::Keyring(s) => match self.entry(s, account)?.get_secret() {
                Ok(v) => Ok(Some(v)),
                Err(keyring_core::Error::NoEntry) => Ok(None),
                Err(e) => Err(keychain_error(&self.store_name, "read", &e)),
            },
        }
    }

    fn raw_set(&self, account: &str, value: &[u8]) -> Result<()> {
        match &self.backend {
            Backend::Unavailable(e) => Err(e.clone()),
            Backend::Memory(m) => {
                m.lock().unwrap().insert(account.to_owned(), value.to_vec());
                Ok(())
            }
            Backend::Keyring(s) => self
                .entry(s, account)?
                .set_secret(value)
                .map_err(|e| keychain_error(&self.store_name, "write", &e)),
        }
    }

    fn raw_delete(&self, account: &str) -> Result<()> {
        match &self.backend {
            Backend::Unavailable(e) => Err(e.clone()),
            Backend::Memory(m) => {
                m.lock().unwrap().remove(account);
                Ok(())
            }
            Backend::Keyring(s) => match self.entry(s, account)?.delete_credential() {
                Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
                Err(e) => Err(keychain_error(&self.store_name, "delete", &e)),
            },
        }
    }

    // ---- chunked values ----

    fn chunk_account(account: &str, gen: u64, i: usize) -> String {
        format!("{account}#{gen}.{i}")
    }

    fn read_index(&self, account: &str) -> Result<Option<Index>> {
        match self.raw_get(account)? {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b).map(Some).map_err(|_| {
                Error::keychain_damaged(&self.store_name, "the stored session index is damaged")
            }),
        }
    }

    fn read_chunks(&self, account: &str, idx: &Index) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(idx.len);
        for i in 0..idx.chunks {
            match self.raw_get(&Self::chunk_account(account, idx.gen, i))? {
                Some(c) => out.extend_from_slice(&c),
                None => {
                    return Err(Error::keychain_damaged(
                        &self.store_name,
                        "part of the stored session is missing",
                    ))
                }
            }
        }
        if out.len() != idx.len {
            return Err(Error::keychain_damaged(
                &self.store_name,
                "the stored session has the wrong length",
            ));
        }
        Ok(out)
    }

    /// Read a chunked value.
    pub(crate) fn get_bytes(&self, account: &str) -> Result<Option<Vec<u8>>> {
        match self.read_index(account)? {
            None => Ok(None),
            Some(idx) => self.read_chunks(account, &idx).map(Some),
        }
    }

    fn delete_generation(&self, account: &str, gen: u64, known_chunks: Option<usize>) {
        let max = known_chunks.unwrap_or(64);
        for i in 0..max {
            let acc = Self::chunk_account(account, gen, i);
            if known_chunks.is_none() && matches!(self.raw_get(&acc), Ok(None) | Err(_)) {
                break;
            }
            let _ = self.raw_delete(&acc);
        }
    }

    /// Write a chunked value: new chunks, read back, then the index, then drop the old chunks.
    /// A crash at any point leaves either the old or the new value readable, never neither.
    pub(crate) fn set_bytes(&self, account: &str, value: &[u8]) -> Result<()> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let old = self.read_index(account).ok().flatten();
        let gen = old.map(|o| o.gen + 1).unwrap_or(1);
        let chunks: Vec<&[u8]> = if value.is_empty() {
            vec![]
        } else {
            value.chunks(CHUNK_SIZE).collect()
        };
        for (i, c) in chunks.iter().enumerate() {
            self.raw_set(&Self::chunk_account(account, gen, i), c)?;
        }
        let idx = Index {
            v: 1,
            gen,
            chunks: chunks.len(),
            len: value.len(),
        };
        // Read the new chunks back before anything points at them (F6: some stores "succeed"
        // without storing).
        if self.read_chunks(account, &idx)? != value {
            self.delete_generation(account, gen, Some(idx.chunks));
            return Err(Error::new(ErrorKind::Keychain, format!("{}: the keychain did not store the value (read-back differs). The old session is kept.", self.store_name)));
        }
        self.raw_set(account, &serde_json::to_vec(&idx).map_err(Error::internal)?)?;
        match self.read_index(account)? {
            Some(back)
                if back.gen == idx.gen && back.chunks == idx.chunks && back.len == idx.len => {}
            _ => {
                return Err(Error::new(ErrorKind::Keychain, format!("{}: the keychain did not store the session index (read-back differs). The session is kept in memory only.", self.store_name)));
            }
        }
        if self.crash_after_commit.load(Ordering::SeqCst) {
            return Err(Error::internal("simulated crash after the keychain commit"));
        }
        if let Some(o) = old {
            self.delete_generation(account, o.gen, Some(o.chunks));
        }
        // A crash after a previous commit may have left the generation before it.
        if gen >= 2 {
            self.delete_generation(account, gen - 2, None);
        }
        Ok(())
    }

    /// Delete a chunked value and its chunks.
    pub(crate) fn delete(&self, account: &str) -> Result<()> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Ok(Some(idx)) = self.read_index(account) {
            self.delete_generation(account, idx.gen, Some(idx.chunks));
            if idx.gen >= 1 {
                self.delete_generation(account, idx.gen - 1, None);
            }
        }
        self.raw_delete(account)
    }

    pub(crate) fn load_session(&self, account: &str) -> Result<Option<StoredSession>> {
        match self.get_bytes(account)? {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b).map(Some).map_err(|_| {
                Error::keychain_damaged(
                    &self.store_name,
                    "the stored session is damaged or from an incompatible version",
                )
            }),
        }
    }

    pub(crate) fn store_session(&self, account: &str, s: &StoredSession) -> Result<()> {
        self.set_bytes(account, &serde_json::to_vec(s).map_err(Error::internal)?)
    }

    /// Test hook: make the next writes stop right after the new value is committed, before the
    /// old one is deleted, as if the process died there.
    #[doc(hidden)]
    pub fn simulate_crash_after_commit(&self, on: bool) {
        self.crash_after_commit.store(on, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_round_trip_in_memory_and_shrink_cleans_stale_chunks() {
        let v = Vault::memory();
        let big: Vec<u8> = (0..16 * 1024).map(|i| (i % 251) as u8).collect();
        v.set_bytes("acc", &big).unwrap();
        assert_eq!(v.get_bytes("acc").unwrap().unwrap(), big);
        v.set_bytes("acc", b"small").unwrap();
        assert_eq!(v.get_bytes("acc").unwrap().unwrap(), b"small");
        let Backend::Memory(m) = &v.backend else {
            unreachable!()
        };
        // index + one chunk: the chunks of the big value are gone
        assert_eq!(m.lock().unwrap().len(), 2);
        v.delete("acc").unwrap();
        assert!(m.lock().unwrap().is_empty());
    }

    #[test]
    fn mock_store_errors_are_specific() {
        let store = keyring_core::mock::Store::new().unwrap();
        let v = Vault::with_store(store, "mock");
        assert!(v.probe().ok);
        v.set_bytes("a", b"x").unwrap();
        assert_eq!(v.get_bytes("a").unwrap().unwrap(), b"x");
    }
}
