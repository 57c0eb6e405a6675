//! The platform store: the OS keychain of each OS (or any keyring-core store handed in) and
//! memory-only storage, each a [`RawStore`], and the keychain's errors as messages that say what to do.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::chunked::RawStore;
use super::store_choice::{self, StoreChoice, SystemStore, KERNEL_STORE_NAME};
use crate::error::{Error, ErrorKind, Result};

/// Where a vault's items go.
#[derive(Clone)]
pub(super) enum Backend {
    /// Values survive a restart: the OS keychain, a keyring-core store handed in, or a test
    /// store over one of those.
    Keyring(Arc<dyn RawStore>),
    Memory(Arc<dyn RawStore>),
    Unavailable(Error),
}

/// A [`Backend`], or the system store's, made on first use: a [`super::Vault::system`] that is
/// never used (one replaced in [`crate::SessionOptions`], say) opens no connection, and the
/// connection's cost (on Linux a D-Bus connection and a Diffie-Hellman session with the Secret
/// Service) lands on the blocking thread of the first operation.
#[derive(Clone)]
pub(super) enum BackendCell {
    Ready(Backend),
    System {
        /// The store `LATCHKEY_KEYCHAIN` and the session chose, or why the choice is invalid.
        choice: Result<StoreChoice, Error>,
        /// The connection, and the store it is to (the choice, or what `auto` fell back to).
        connected: Arc<OnceLock<(Backend, Option<StoreChoice>)>>,
    },
}

impl BackendCell {
    /// The system store as `LATCHKEY_KEYCHAIN` and the session choose it, not yet connected.
    pub(super) fn system() -> BackendCell {
        BackendCell::System {
            choice: store_choice::choose_from_env(),
            connected: Arc::default(),
        }
    }

    /// The backend: for the system store, connected now (under `service`) if this is the
    /// first use.
    pub(super) fn get(&self, service: &str) -> &Backend {
        match self {
            BackendCell::Ready(backend) => backend,
            BackendCell::System { choice, connected } => {
                &connected
                    .get_or_init(|| match choice {
                        Ok(choice) => connect(choice, service),
                        Err(e) => (Backend::Unavailable(e.clone()), None),
                    })
                    .0
            }
        }
    }

    /// The system store in use (once connected: what `auto` fell back to, if it did), when
    /// this is the system store and the choice is valid.
    pub(super) fn choice(&self) -> Option<&StoreChoice> {
        match self {
            BackendCell::System {
                choice: Ok(chosen),
                connected,
            } => Some(
                connected
                    .get()
                    .and_then(|(_, used)| used.as_ref())
                    .unwrap_or(chosen),
            ),
            _ => None,
        }
    }
}

/// A connection to the chosen store, or why there is none; with the store it is to.
fn connect(choice: &StoreChoice, service: &str) -> (Backend, Option<StoreChoice>) {
    let name = system_store_name(choice.store);
    match choice.store {
        SystemStore::Platform => match platform_store() {
            Ok(opened) => (
                Backend::Keyring(Arc::new(KeyringStore {
                    store: opened,
                    service: service.to_owned(),
                    store_name: name.to_owned(),
                    is_platform_store: true,
                })),
                Some(choice.clone()),
            ),
            Err(e) if choice.may_fall_back => {
                tracing::debug!(error = %e, "no Secret Service answered; using the kernel keyring");
                (
                    kernel_store(service),
                    Some(store_choice::no_secret_service()),
                )
            }
            Err(e) => (
                Backend::Unavailable(keychain_error(name, "connect", &e)),
                Some(choice.clone()),
            ),
        },
        SystemStore::Kernel => (kernel_store(service), Some(choice.clone())),
    }
}

/// The Linux kernel keyring, or why there is none.
fn kernel_store(service: &str) -> Backend {
    #[cfg(target_os = "linux")]
    {
        match super::kernel::KernelKeyring::open(service) {
            Ok(keyring) => Backend::Keyring(Arc::new(keyring)),
            Err(e) => Backend::Unavailable(e),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = service;
        Backend::Unavailable(Error::new(
            ErrorKind::Config,
            "the kernel keyring is Linux only; unset LATCHKEY_KEYCHAIN.",
        ))
    }
}

/// The name of the system store `store`, for messages.
pub(super) fn system_store_name(store: SystemStore) -> &'static str {
    match store {
        SystemStore::Platform => platform_store_name(),
        SystemStore::Kernel => KERNEL_STORE_NAME,
    }
}

impl Backend {
    /// Items in a map in this process.
    pub(super) fn memory() -> Backend {
        Backend::Memory(Arc::new(MemoryStore::default()))
    }

    /// A keyring-core store handed in (not the OS keychain of [`super::Vault::system`]).
    pub(super) fn keyring(
        store: Arc<keyring_core::CredentialStore>,
        service: &str,
        store_name: &str,
    ) -> Backend {
        Backend::Keyring(Arc::new(KeyringStore {
            store,
            service: service.to_owned(),
            store_name: store_name.to_owned(),
            is_platform_store: false,
        }))
    }

    /// The store items go to, or why there is none.
    pub(super) fn raw(&self) -> Result<&dyn RawStore> {
        match self {
            Backend::Keyring(raw) | Backend::Memory(raw) => Ok(raw.as_ref()),
            Backend::Unavailable(e) => Err(e.clone()),
        }
    }
}

/// The keychain service name entries are stored under: `$LATCHKEY_KEYCHAIN_SERVICE`, else
/// `latchkey`.
pub(super) fn service_name() -> String {
    std::env::var("LATCHKEY_KEYCHAIN_SERVICE")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "latchkey".into())
}

pub(super) fn platform_store_name() -> &'static str {
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
                "start a Secret Service provider (gnome-keyring-daemon or KeePassXC) in your desktop session; over SSH, run inside `dbus-run-session` with an unlocked keyring, or set LATCHKEY_KEYCHAIN=kernel to keep the session in the kernel keyring (lost at reboot)"
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

/// Items in a keyring-core store: one credential per item, under the vault's service.
struct KeyringStore {
    store: Arc<keyring_core::CredentialStore>,
    service: String,
    store_name: String,
    /// The OS keychain of [`super::Vault::system`] (not a store handed in by a test).
    is_platform_store: bool,
}

impl KeyringStore {
    fn entry(&self, account: &str) -> Result<keyring_core::Entry> {
        self.store
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
}

impl RawStore for KeyringStore {
    fn get(&self, account: &str) -> Result<Option<Vec<u8>>> {
        match self.entry(account)?.get_secret() {
            Ok(v) => Ok(Some(v)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(keychain_error(&self.store_name, "read", &e)),
        }
    }

    fn set(&self, account: &str, value: &[u8]) -> Result<()> {
        self.entry(account)?
            .set_secret(value)
            .map_err(|e| keychain_error(&self.store_name, "write", &e))
    }

    fn delete(&self, account: &str) -> Result<()> {
        match self.entry(account)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(keychain_error(&self.store_name, "delete", &e)),
        }
    }

    /// The Secret Service's own answer to `CreateItem`/`SetSecret` is that the item holds the
    /// secret, so there one search shows that the item exists (what a store that stores
    /// nothing fails), without reading the secret back through a new item proxy and the
    /// session's decryption: ≈ 0.6 ms of a sign-in's keychain work (BENCHMARKS.md, row 1).
    /// Every other store, and any store handed in (tests), is read back and compared.
    fn confirm(&self, account: &str, item: &[u8]) -> Result<bool> {
        #[cfg(all(
            unix,
            not(any(target_os = "macos", target_os = "ios", target_os = "android"))
        ))]
        if self.is_platform_store {
            let spec = HashMap::from([("service", self.service.as_str()), ("username", account)]);
            return self
                .store
                .search(&spec)
                .map(|found| found.len() == 1)
                .map_err(|e| keychain_error(&self.store_name, "read back", &e));
        }
        Ok(self.get(account)?.as_deref() == Some(item))
    }

    fn names(&self) -> Result<Option<Vec<String>>> {
        let spec = HashMap::from([("service", self.service.as_str())]);
        match self.store.search(&spec) {
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
}

/// Items in a map in this process: nothing survives it.
#[derive(Default)]
struct MemoryStore {
    items: Mutex<HashMap<String, Vec<u8>>>,
}

impl RawStore for MemoryStore {
    fn get(&self, account: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.items.lock().unwrap().get(account).cloned())
    }

    fn set(&self, account: &str, value: &[u8]) -> Result<()> {
        self.items
            .lock()
            .unwrap()
            .insert(account.to_owned(), value.to_vec());
        Ok(())
    }

    fn delete(&self, account: &str) -> Result<()> {
        self.items.lock().unwrap().remove(account);
        Ok(())
    }

    fn names(&self) -> Result<Option<Vec<String>>> {
        Ok(Some(self.items.lock().unwrap().keys().cloned().collect()))
    }
}
