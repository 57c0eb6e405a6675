//! A store that dies mid-write, for tests: a power cut between two keychain writes is a fault
//! no real store produces on demand, so this wrapper of a vault's own store makes one.

use std::sync::{Arc, Mutex};

use super::backend::Backend;
use super::chunked::{commits_a_value, RawStore};
use super::Vault;
use crate::error::{Error, Result};

/// Where a write stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashPoint {
    /// Right before the header that commits the value is written: a chunked value's chunks
    /// are written and read back, and nothing points at them yet.
    BeforeCommit,
    /// Right after the header is written and confirmed, before the chunks it replaced are
    /// deleted.
    AfterCommit,
}

/// A mock, the one kind the tests use: a fault no real part can produce on demand (the
/// process dying between two keychain writes). It wraps a vault's own store (the real
/// keychain, or memory) so that every write through [`CrashingStore::vault`] stops at the
/// [`CrashPoint`] set, as if the process died there; reads and deletes pass through.
#[derive(Clone)]
pub struct CrashingStore {
    crash_at: Arc<Mutex<Option<CrashPoint>>>,
    vault: Vault,
}

impl CrashingStore {
    /// `vault`'s store (connected now if it is the OS keychain), wrapped: no crash until
    /// [`CrashingStore::crash_at`] sets one.
    pub fn over(vault: &Vault) -> Result<CrashingStore> {
        let crash_at = Arc::new(Mutex::new(None));
        let wrap = |inner: &Arc<dyn RawStore>| -> Arc<dyn RawStore> {
            Arc::new(CrashingRaw {
                inner: inner.clone(),
                crash_at: crash_at.clone(),
            })
        };
        let backend = match vault.backend() {
            Backend::Keyring(inner) => Backend::Keyring(wrap(inner)),
            Backend::Memory(inner) => Backend::Memory(wrap(inner)),
            Backend::Unavailable(e) => return Err(e.clone()),
        };
        let mut crashing = Vault::with_backend(backend, vault.store_name());
        crashing.service = vault.service().to_owned();
        Ok(CrashingStore {
            crash_at,
            vault: crashing,
        })
    }

    /// A vault (the same service and store name as the one wrapped) that writes through this
    /// store.
    pub fn vault(&self) -> Vault {
        self.vault.clone()
    }

    /// Stop every write at `point` from now on (`None`: let writes finish).
    pub fn crash_at(&self, point: Option<CrashPoint>) {
        *self.crash_at.lock().unwrap_or_else(|p| p.into_inner()) = point;
    }
}

struct CrashingRaw {
    inner: Arc<dyn RawStore>,
    crash_at: Arc<Mutex<Option<CrashPoint>>>,
}

impl CrashingRaw {
    fn armed(&self, point: CrashPoint) -> bool {
        *self.crash_at.lock().unwrap_or_else(|p| p.into_inner()) == Some(point)
    }
}

impl RawStore for CrashingRaw {
    fn get(&self, item: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get(item)
    }

    fn set(&self, item: &str, bytes: &[u8]) -> Result<()> {
        if self.armed(CrashPoint::BeforeCommit) && commits_a_value(bytes) {
            return Err(Error::internal(
                "simulated crash before the keychain commit",
            ));
        }
        self.inner.set(item, bytes)
    }

    fn delete(&self, item: &str) -> Result<()> {
        self.inner.delete(item)
    }

    /// The protocol confirms the commit and nothing else: a crash right after it.
    fn confirm(&self, item: &str, bytes: &[u8]) -> Result<bool> {
        let stored = self.inner.confirm(item, bytes)?;
        if stored && self.armed(CrashPoint::AfterCommit) {
            return Err(Error::internal("simulated crash after the keychain commit"));
        }
        Ok(stored)
    }

    fn names(&self) -> Result<Option<Vec<String>>> {
        self.inner.names()
    }
}
