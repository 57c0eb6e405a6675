//! The keychain: the refresh token (and the current ID/access tokens) in the OS credential
//! store, one item per session where it fits and chunked where it does not (16 KB round-trips
//! everywhere), checked after every write (`Vault::confirm_stored`), under a cross-process lock
//! (`lock`). No store → a specific error and memory-only mode; never a plaintext file.

mod aws;
mod item;
mod lock;
mod stored;

use item::Index;

pub(crate) use aws::aws_account;
pub use aws::StoredAwsCredentials;
pub use lock::lock_path;
pub use lock::runtime_dir;
pub(crate) use lock::ProfileLock;
pub use stored::StoredSession;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

/// Bytes per keychain item. Windows caps one credential blob at 2,560 bytes
/// (`CRED_MAX_CREDENTIAL_BLOB_SIZE`); elsewhere a session (≈ 3.5 KB with Cognito's tokens)
/// fits in one item with its header, and every item written costs a keyring file rewrite
/// (the sign-in's largest part, see BENCHMARKS.md), so items are larger.
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

/// A [`Backend`], or the OS keychain's, made on first use: a [`Vault::system`] that is never
/// used (one replaced in [`crate::SessionOptions`], say) opens no connection, and the
/// connection's cost (on Linux a D-Bus connection and a Diffie-Hellman session with the Secret
/// Service) lands on the blocking thread of the first operation.
#[derive(Clone)]
enum BackendCell {
    Ready(Backend),
    System(Arc<OnceLock<Backend>>),
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
    crash_after_commit: Arc<AtomicBool>,
    /// Unit tests: stop a write right before its header is written.
    #[cfg(test)]
    crash_before_commit: Arc<AtomicBool>,
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
        Vault {
            is_platform_store: true,
            ..Self::with_cell(BackendCell::System(Arc::default()), platform_store_name())
        }
    }

    /// The backend operations use: for [`Vault::system`], the platform store, connected now
    /// if this is the first use.
    fn backend(&self) -> &Backend {
        match &self.backend {
            BackendCell::Ready(backend) => backend,
            BackendCell::System(connected) => connected.get_or_init(|| match platform_store() {
                Ok(s) => Backend::Keyring(s),
                Err(e) => {
                    Backend::Unavailable(keychain_error(platform_store_name(), "connect", &e))
                }
            }),
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
        Self::with_cell(BackendCell::Ready(backend), name)
    }

    fn with_cell(backend: BackendCell, name: &str) -> Vault {
        Vault {
            backend,
            service: service_name(),
            store_name: name.to_owned(),
            crash_after_commit: Arc::default(),
            #[cfg(test)]
            crash_before_commit: Arc::default(),
            write_lock: Arc::default(),
            is_platform_store: false,
        }
    }

    pub fn store_name(&self) -> &str {
        &self.store_name
    }

    /// Why the OS keychain cannot be used at all (no store to connect to), if that is so.
    pub(crate) fn unavailable(&self) -> Option<&Error> {
        match self.backend() {
            Backend::Unavailable(e) => Some(e),
            _ => None,
        }
    }

    pub fn is_persistent(&self) -> bool {
        matches!(self.backend(), Backend::Keyring(_))
    }

    /// Read-only health check: the store answers a read of `account`'s item (whatever it
    /// holds). Writes are checked where they happen: every write is confirmed. For the app's
    /// start-up, which must not write to the keychain just to show that it can.
    pub fn health(&self, account: &str) -> VaultHealth {
        match (self.backend(), self.raw_get(account)) {
            (Backend::Keyring(_), Ok(_)) => VaultHealth {
                store_name: self.store_name.clone(),
                ok: true,
                persistent: true,
                message: "the keychain answers (read-only check; every write is confirmed)".into(),
            },
            (Backend::Keyring(_), Err(e)) => VaultHealth {
                store_name: self.store_name.clone(),
                ok: false,
                persistent: false,
                message: e.message().to_owned(),
            },
            _ => self.probe(),
        }
    }

    /// Write, read back and delete a probe entry; report which store is active (what
    /// `latchkey doctor` runs).
    pub fn probe(&self) -> VaultHealth {
        let name = self.store_name.clone();
        match self.backend() {
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

    pub(crate) fn raw_get(&self, account: &str) -> Result<Option<Vec<u8>>> {
        match self.backend() {
            Backend::Unavailable(e) => Err(e.clone()),
            Backend::Memory(m) => Ok(m.lock().unwrap().get(account).cloned()),
            Backend::Keyring(s) => match self.entry(s, account)?.get_secret() {
                Ok(v) => Ok(Some(v)),
                Err(keyring_core::Error::NoEntry) => Ok(None),
                Err(e) => Err(keychain_error(&self.store_name, "read", &e)),
            },
        }
    }

    pub(crate) fn raw_set(&self, account: &str, value: &[u8]) -> Result<()> {
        match self.backend() {
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
        match self.backend() {
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

    /// Every account with an item under this vault's service (sessions, their chunks, AWS
    /// credentials, whatever a crash left), or `None` when the store cannot list its items.
    pub(crate) fn accounts(&self) -> Result<Option<Vec<String>>> {
        let store = match self.backend() {
            Backend::Unavailable(e) => return Err(e.clone()),
            Backend::Memory(m) => return Ok(Some(m.lock().unwrap().keys().cloned().collect())),
            Backend::Keyring(store) => store,
        };
        let spec = HashMap::from([("service", self.service.as_str())]);
        match store.search(&spec) {
            // A store may match the service loosely (the mock store by substring): only this
            // service's items count.
            Ok(found) => Ok(Some(
                (found.iter().filter_map(keyring_core::Entry::get_specifiers))
                    .filter(|(service, _)| *service == self.service)
                    .map(|(_, account)| account)
                    .collect(),
            )),
            Err(keyring_core::Error::NotSupportedByStore(_) | keyring_core::Error::Invalid(..)) => {
                Ok(None)
            }
            Err(e) => Err(Error::new(
                ErrorKind::Keychain,
                format!(
                    "{}: could not list Latchkey's items ({e}). Unlock the keychain and try again.",
                    self.store_name
                ),
            )),
        }
    }

    // ---- values: inline in the account's item when they fit, else chunked ----

    pub(crate) fn chunk_account(account: &str, gen: u64, i: usize) -> String {
        format!("{account}#{gen}.{i}")
    }

    /// The account's own item: its header, and the value when it is stored inline.
    fn read_item(&self, account: &str) -> Result<Option<(Index, Vec<u8>)>> {
        match self.raw_get(account)? {
            None => Ok(None),
            Some(item) => Index::decode(&item).map(Some).ok_or_else(|| {
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

    /// The value an item points at: its inline bytes, or its chunks.
    fn value_of(&self, account: &str, idx: &Index, inline: Vec<u8>) -> Result<Vec<u8>> {
        if idx.chunks == 0 {
            Ok(inline)
        } else {
            self.read_chunks(account, idx)
        }
    }

    /// Read a value.
    pub(crate) fn get_bytes(&self, account: &str) -> Result<Option<Vec<u8>>> {
        match self.read_item(account)? {
            None => Ok(None),
            Some((idx, inline)) => self.value_of(account, &idx, inline).map(Some),
        }
    }

    fn delete_generation(&self, account: &str, gen: u64, known_chunks: Option<usize>) {
        match known_chunks {
            Some(n) => (0..n).for_each(|i| {
                let _ = self.raw_delete(&Self::chunk_account(account, gen, i));
            }),
            None => self.delete_chunks_from(account, gen, 0),
        }
    }

    /// Delete the chunk items `first`, `first + 1`, … of `gen` while they exist (at most 64).
    fn delete_chunks_from(&self, account: &str, gen: u64, first: usize) {
        for i in first..first.max(64) {
            let acc = Self::chunk_account(account, gen, i);
            if matches!(self.raw_get(&acc), Ok(None) | Err(_)) {
                break;
            }
            let _ = self.raw_delete(&acc);
        }
    }

    /// Write a value (the caller holds `write_lock`; `old` is the item as it was). A crash at
    /// any point leaves either the old or the new value readable, never neither.
    ///
    /// A value that fits in one item (a session, outside Windows) is written in place: one
    /// keychain write that replaces the old value at once, then a check that it is stored
    /// (some stores "succeed" without storing, F6; see [`Vault::confirm_stored`]). A larger
    /// one goes to new-generation chunk items, read back before the header points at them.
    /// Chunks of the generation replaced are deleted after the commit; the new header names
    /// them until the next write, so a crash before that deletion leaves a record, not an
    /// orphan. A chunked write over an inline value first marks the old header `pending`, so
    /// a crash before its commit leaves a record too.
    fn write(
        &self,
        account: &str,
        old_item: Option<&(Index, Vec<u8>)>,
        value: &[u8],
    ) -> Result<()> {
        let old = old_item.map(|(idx, _)| idx);
        let gen = old.map_or(1, |o| o.gen + 1);
        let replaced = old.and_then(Index::chunk_items);
        let mut idx = Index {
            v: 2,
            gen,
            chunks: 0,
            len: value.len(),
            stale: replaced,
            pending: None,
        };
        let inline = idx.encode(value);
        let item = if inline.len() <= CHUNK_SIZE {
            inline
        } else {
            if let Some((o, v)) = old_item.filter(|(o, _)| o.holds_value_inline()) {
                self.raw_set(
                    account,
                    &Index {
                        pending: Some(gen),
                        ..*o
                    }
                    .encode(v),
                )?;
            }
            let chunks: Vec<&[u8]> = value.chunks(CHUNK_SIZE).collect();
            for (i, c) in chunks.iter().enumerate() {
                self.raw_set(&Self::chunk_account(account, gen, i), c)?;
            }
            idx.chunks = chunks.len();
            if self.read_chunks(account, &idx)? != value {
                self.delete_generation(account, gen, Some(idx.chunks));
                return Err(Error::new(ErrorKind::Keychain, format!("{}: the keychain did not store the value (read-back differs). The old session is kept.", self.store_name)));
            }
            idx.encode(&[])
        };
        #[cfg(test)]
        if self.crash_before_commit.load(Ordering::SeqCst) {
            return Err(Error::internal(
                "simulated crash before the keychain commit",
            ));
        }
        self.raw_set(account, &item)?;
        if !self.confirm_stored(account, &item)? {
            return Err(Error::new(ErrorKind::Keychain, format!("{}: the keychain did not store the session (checked after writing). The session is kept in memory only.", self.store_name)));
        }
        if self.crash_after_commit.load(Ordering::SeqCst) {
            return Err(Error::internal("simulated crash after the keychain commit"));
        }
        // The generation just replaced, and any an earlier crash left named in the old header.
        for stale in [replaced, old.and_then(|o| o.stale)].into_iter().flatten() {
            self.delete_generation(account, stale.gen, Some(stale.chunks));
        }
        // Chunks of this generation beyond the ones it uses: left by a chunked write that
        // crashed before its commit (it wrote the same generation). One read when none is;
        // none at all over an inline value that no chunked write had marked `pending`.
        let inline_unmarked = old.is_some_and(|o| o.holds_value_inline() && o.pending != Some(gen));
        if idx.chunks > 0 || !inline_unmarked {
            self.delete_chunks_from(account, gen, idx.chunks);
        }
        // A first-version header named nothing stale: that format deleted the generation
        // before the old one on every write, so a crash may have left exactly that one.
        if let Some(o) = old.filter(|o| o.v < 2 && o.gen >= 2) {
            self.delete_generation(account, o.gen - 1, None);
        }
        Ok(())
    }

    /// Whether `account`'s item now holds `item`, after a write the store reported done (F6:
    /// some stores report success and store nothing). The Secret Service's own answer to
    /// `CreateItem`/`SetSecret` is that the item holds the secret, so there one search shows
    /// that the item exists (what a store that stores nothing fails), without reading the
    /// secret back through a new item proxy and the session's decryption: ≈ 0.6 ms of a
    /// sign-in's keychain work (BENCHMARKS.md, row 1). Every other store, and any store handed
    /// in (tests), is read back and compared.
    fn confirm_stored(&self, account: &str, item: &[u8]) -> Result<bool> {
        #[cfg(all(
            unix,
            not(any(target_os = "macos", target_os = "ios", target_os = "android"))
        ))]
        if let (true, Backend::Keyring(store)) = (self.is_platform_store, self.backend()) {
            let spec = HashMap::from([("service", self.service.as_str()), ("username", account)]);
            return store
                .search(&spec)
                .map(|found| found.len() == 1)
                .map_err(|e| keychain_error(&self.store_name, "read back", &e));
        }
        Ok(self.raw_get(account)?.as_deref() == Some(item))
    }

    /// Write a value (see [`Vault::write`] for the layout and the crash guarantees).
    pub(crate) fn set_bytes(&self, account: &str, value: &[u8]) -> Result<()> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let old = self.read_item(account).ok().flatten();
        self.write(account, old.as_ref(), value)
    }

    /// Delete a value and its chunks.
    pub(crate) fn delete(&self, account: &str) -> Result<()> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Ok(Some((idx, _))) = self.read_item(account) {
            for chunks in [idx.chunk_items(), idx.stale].into_iter().flatten() {
                self.delete_generation(account, chunks.gen, Some(chunks.chunks));
            }
            // Chunks of a write that crashed before its commit, or (first-version headers,
            // which named nothing stale) after it.
            self.delete_generation(account, idx.gen + 1, None);
            if idx.v < 2 && idx.gen >= 1 {
                self.delete_generation(account, idx.gen - 1, None);
            }
        }
        self.raw_delete(account)
    }

    pub(crate) fn load_session(&self, account: &str) -> Result<Option<StoredSession>> {
        match self.get_bytes(account)? {
            None => Ok(None),
            Some(b) => parse_session(&self.store_name, &b).map(Some),
        }
    }

    /// Store exactly `s` (tests plant sessions with it).
    pub(crate) fn store_session(&self, account: &str, s: &StoredSession) -> Result<()> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let old = self.read_item(account).ok().flatten();
        self.write(
            account,
            old.as_ref(),
            &serde_json::to_vec(s).map_err(Error::internal)?,
        )
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
        let old = self.read_item(account).ok().flatten();
        let stored_generation = old
            .as_ref()
            .and_then(|(idx, inline)| self.value_of(account, idx, inline.clone()).ok())
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
        self.write(account, base.old.as_ref(), &bytes)?;
        Ok(s.generation)
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

    fn items(v: &Vault) -> Vec<String> {
        let Backend::Memory(m) = v.backend() else {
            unreachable!()
        };
        let mut names: Vec<String> = m.lock().unwrap().keys().cloned().collect();
        names.sort();
        names
    }

    #[test]
    fn chunked_round_trip_in_memory_and_shrink_cleans_stale_chunks() {
        let v = Vault::memory();
        let big: Vec<u8> = (0..16 * 1024).map(|i| (i % 251) as u8).collect();
        v.set_bytes("acc", &big).unwrap();
        assert_eq!(v.get_bytes("acc").unwrap().unwrap(), big);
        assert_eq!(items(&v).len(), 1 + big.len().div_ceil(CHUNK_SIZE));
        v.set_bytes("acc", b"small").unwrap();
        assert_eq!(v.get_bytes("acc").unwrap().unwrap(), b"small");
        // one item, the value inline: the chunks of the big value are gone
        assert_eq!(items(&v), ["acc"]);
        v.delete("acc").unwrap();
        assert!(items(&v).is_empty());
    }

    #[test]
    fn a_value_that_fits_is_one_item_rewritten_in_place() {
        let v = Vault::memory();
        // A Cognito session (≈ 3.5 KB) elsewhere; under Windows' 2,560-byte item limit, less.
        let session = vec![b'x'; 3560.min(CHUNK_SIZE - 256)];
        for round in 0..3u8 {
            let value = [&session[..], &[round]].concat();
            v.set_bytes("acc", &value).unwrap();
            assert_eq!(items(&v), ["acc"], "round {round}");
            assert_eq!(v.get_bytes("acc").unwrap().unwrap(), value);
        }
    }

    #[test]
    fn chunks_left_by_a_crash_after_the_commit_go_with_the_next_write() {
        let v = Vault::memory();
        let big = vec![7u8; 2 * CHUNK_SIZE];
        v.set_bytes("acc", &big).unwrap();
        v.simulate_crash_after_commit(true);
        assert!(v.set_bytes("acc", b"small").is_err(), "the simulated crash");
        v.simulate_crash_after_commit(false);
        // The new value is committed; the old chunks are still there, named in its header.
        assert_eq!(v.get_bytes("acc").unwrap().unwrap(), b"small");
        assert_eq!(items(&v).len(), 1 + 2);
        v.set_bytes("acc", b"smaller").unwrap();
        assert_eq!(items(&v), ["acc"]);
        // The same after a crash between two chunked writes, and at sign-out.
        v.set_bytes("acc", &big).unwrap();
        v.simulate_crash_after_commit(true);
        let _ = v.set_bytes("acc", &[8u8; 2 * CHUNK_SIZE]);
        v.simulate_crash_after_commit(false);
        assert_eq!(items(&v).len(), 1 + 2 + 2);
        v.delete("acc").unwrap();
        assert!(items(&v).is_empty());
    }

    #[test]
    fn a_first_version_index_still_reads_and_is_replaced_cleanly() {
        let v = Vault::memory();
        let value = vec![5u8; 100];
        let Backend::Memory(m) = v.backend() else {
            unreachable!()
        };
        {
            let mut m = m.lock().unwrap();
            m.insert(
                "acc".into(),
                br#"{"v":1,"gen":4,"chunks":1,"len":100}"#.to_vec(),
            );
            m.insert("acc#4.0".into(), value.clone());
            // what that format's crash after a commit left: the generation before
            m.insert("acc#3.0".into(), vec![4u8; 100]);
        }
        assert_eq!(v.get_bytes("acc").unwrap().unwrap(), value);
        v.set_bytes("acc", b"new").unwrap();
        assert_eq!(items(&v), ["acc"]);
        assert_eq!(v.get_bytes("acc").unwrap().unwrap(), b"new");
        let (idx, _) = v.read_item("acc").unwrap().unwrap();
        assert_eq!((idx.v, idx.gen, idx.chunks), (2, 5, 0));
    }

    #[test]
    fn chunks_left_by_a_crash_before_the_commit_go_with_the_next_write() {
        let v = Vault::memory();
        v.set_bytes("acc", b"session").unwrap();
        // A chunked write of generation 2 that dies before its header is written: its chunks
        // exist, nothing points at them, and the old header says a chunked write was pending.
        v.crash_before_commit.store(true, Ordering::SeqCst);
        assert!(v.set_bytes("acc", &vec![b'x'; CHUNK_SIZE + 10]).is_err());
        v.crash_before_commit.store(false, Ordering::SeqCst);
        assert_eq!(items(&v), ["acc", "acc#2.0", "acc#2.1"]);
        assert_eq!(v.get_bytes("acc").unwrap().unwrap(), b"session");
        let (idx, _) = v.read_item("acc").unwrap().unwrap();
        assert_eq!(idx.pending, Some(2));
        // The next write (inline, the same generation) finds them through that mark.
        v.set_bytes("acc", b"next session").unwrap();
        assert_eq!(items(&v), ["acc"]);
        assert_eq!(v.get_bytes("acc").unwrap().unwrap(), b"next session");
        let (idx, _) = v.read_item("acc").unwrap().unwrap();
        assert_eq!((idx.gen, idx.pending), (2, None));
    }

    #[test]
    fn an_item_of_an_unknown_format_version_is_damaged_not_misread() {
        let v = Vault::memory();
        let Backend::Memory(m) = v.backend() else {
            unreachable!()
        };
        m.lock().unwrap().insert(
            "acc".into(),
            b"{\"v\":3,\"gen\":1,\"chunks\":0,\"len\":2}\nhi".to_vec(),
        );
        let err = v.get_bytes("acc").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Keychain);
    }

    #[test]
    fn the_newer_session_gets_a_generation_above_the_stored_one() {
        let v = Vault::memory();
        let mut s: StoredSession = serde_json::from_value(serde_json::json!({
            "version": 1, "generation": 9, "refresh_token": null, "refresh_stored_since": 0,
            "id_token": "i", "access_token": "a", "id_expires_at": 0, "access_expires_at": 0,
            "issuer": "https://issuer", "client_id": "c", "sub": "s", "aud": ["c"],
        }))
        .unwrap();
        v.store_session("acc", &s).unwrap();
        s.generation = 2;
        assert_eq!(v.store_newer_session("acc", &s).unwrap(), 10);
        assert_eq!(v.load_session("acc").unwrap().unwrap().generation, 10);
        s.generation = 20;
        assert_eq!(v.store_newer_session("acc", &s).unwrap(), 20);

        // Over an item read before (a sign-in reads it while the code is exchanged): the same
        // generation rule, and the item it read is the one replaced.
        let base = v.write_base("acc");
        s.generation = 3;
        assert_eq!(v.store_newer_session_on("acc", &base, &s).unwrap(), 21);
        assert_eq!(v.load_session("acc").unwrap().unwrap().generation, 21);
        let fresh = v.write_base("another-account");
        assert_eq!(
            v.store_newer_session_on("another-account", &fresh, &s)
                .unwrap(),
            3
        );
    }

    #[test]
    fn a_write_over_an_earlier_read_still_removes_the_chunks_it_replaces() {
        let v = Vault::memory();
        let big = vec![b'x'; CHUNK_SIZE * 2 + 10];
        v.set_bytes("acc", &big).unwrap();
        assert!(items(&v).iter().any(|i| i.starts_with("acc#")));
        let mut s: StoredSession = serde_json::from_value(serde_json::json!({
            "version": 1, "generation": 1, "refresh_token": null, "refresh_stored_since": 0,
            "id_token": "i", "access_token": "a", "id_expires_at": 0, "access_expires_at": 0,
            "issuer": "https://issuer", "client_id": "c", "sub": "s", "aud": ["c"],
        }))
        .unwrap();
        let base = v.write_base("acc");
        s.generation = 1;
        v.store_newer_session_on("acc", &base, &s).unwrap();
        assert_eq!(
            items(&v),
            vec!["acc".to_string()],
            "only the session's own item is left"
        );
    }

    /// The real Secret Service (`cargo xtask test` runs every test with one): a write is
    /// confirmed by finding its item, and a missing item is not taken as stored.
    #[test]
    #[cfg(target_os = "linux")]
    fn on_the_secret_service_a_write_is_confirmed_by_finding_its_item() {
        let v = Vault::system_with_service(&format!("latchkey-confirm-{}", std::process::id()));
        assert!(
            !v.confirm_stored("nobody", b"x").unwrap(),
            "no item, not stored"
        );
        v.raw_set("somebody", b"value").unwrap();
        assert!(v.confirm_stored("somebody", b"value").unwrap());
        v.raw_delete("somebody").unwrap();
        assert!(!v.confirm_stored("somebody", b"value").unwrap());
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
