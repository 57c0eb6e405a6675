//! The Linux kernel keyring (keyutils) as a store: each item a `user` key in the user's
//! persistent keyring, so it outlives the process and the login session, never a reboot.

use linux_keyutils::{KeyError, KeyRing, KeyRingIdentifier};

use super::chunked::RawStore;
use super::store_choice::KERNEL_STORE_NAME;
use crate::error::{Error, Result};

/// The user's persistent keyring (persistent-keyring(7)), linked into the user keyring. Not
/// the session keyring the keyring ecosystem's keyutils store uses: a process started without
/// a login session keyring (no `pam_keyinit`: containers, CI) gets a new one of its own on its
/// first write, so another process would never find the key. Not the process keyring either:
/// it is installed in the calling thread's credentials only, and the vault runs on many
/// threads. Every thread possesses the user keyring (the session keyring, or without one the
/// user-session keyring, links it), so every thread possesses the persistent keyring.
pub(super) struct KernelKeyring {
    persistent: KeyRing,
    service: String,
}

impl KernelKeyring {
    /// The persistent keyring, linked into the user keyring; this also resets its expiry timer.
    pub(super) fn open(service: &str) -> Result<KernelKeyring> {
        let persistent = KeyRing::get_persistent(KeyRingIdentifier::User)
            .map_err(|e| kernel_error("open the persistent keyring", e))?;
        Ok(KernelKeyring {
            persistent,
            service: service.to_owned(),
        })
    }

    /// The key's description: the service and the item, so that two services never meet.
    fn description(&self, item: &str) -> String {
        format!("{}:{item}", self.service)
    }
}

impl RawStore for KernelKeyring {
    fn get(&self, item: &str) -> Result<Option<Vec<u8>>> {
        match self.persistent.search(&self.description(item)) {
            Ok(key) => key
                .read_to_vec()
                .map(Some)
                .map_err(|e| kernel_error("read", e)),
            Err(KeyError::KeyDoesNotExist) => Ok(None),
            Err(e) => Err(kernel_error("read", e)),
        }
    }

    /// `add_key` replaces the payload of a key of the same description in the keyring.
    fn set(&self, item: &str, bytes: &[u8]) -> Result<()> {
        self.persistent
            .add_key(&self.description(item), bytes)
            .map(drop)
            .map_err(|e| kernel_error("write", e))
    }

    /// Unlinked, not invalidated: an invalidated key can still be found for a moment by the
    /// process that invalidated it; the kernel frees the unlinked key.
    fn delete(&self, item: &str) -> Result<()> {
        match self.persistent.search(&self.description(item)) {
            Ok(key) => self
                .persistent
                .unlink_key(key)
                .map_err(|e| kernel_error("delete", e)),
            Err(KeyError::KeyDoesNotExist) => Ok(()),
            Err(e) => Err(kernel_error("delete", e)),
        }
    }

    fn names(&self) -> Result<Option<Vec<String>>> {
        Ok(None)
    }
}

/// The kernel refused a `keyctl` call (a container's seccomp profile can forbid them; a user's
/// key quota can be full): what happened and what to do.
fn kernel_error(op: &str, e: KeyError) -> Error {
    let fix = match e {
        KeyError::QuotaExceeded => "sign out of profiles you do not use (`latchkey logout --profile NAME`), or raise /proc/sys/kernel/keys/maxbytes",
        _ => "check that `keyctl show @u` works here (a container may forbid keyctl), or run where a Secret Service answers and set LATCHKEY_KEYCHAIN=secret-service",
    };
    Error::keychain(
        KERNEL_STORE_NAME,
        op,
        &format!("the kernel refused ({e})"),
        fix,
    )
}
