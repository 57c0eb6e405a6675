//! Environment variables a test sets in its own process: one lock for the whole test binary, so
//! tests that share the process never see each other's values, and the old values back on drop.

use std::ffi::{OsStr, OsString};
use std::sync::{Mutex, MutexGuard};

static PROCESS_ENV: Mutex<()> = Mutex::new(());

/// Held for as long as a test relies on (or has changed) this process's environment. Declare it
/// after what its values name (a temporary directory, say): it restores them before that goes.
pub struct ProcessEnv {
    saved: Vec<(OsString, Option<OsString>)>,
    _lock: MutexGuard<'static, ()>,
}

impl ProcessEnv {
    /// Waits until no other test of this process holds the environment.
    pub fn lock() -> ProcessEnv {
        // A test that failed while holding it changed nothing that its drop did not restore.
        let lock = PROCESS_ENV
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        ProcessEnv {
            saved: Vec::new(),
            _lock: lock,
        }
    }

    /// Sets `name` to `value` until this is dropped.
    pub fn set(&mut self, name: &str, value: impl AsRef<OsStr>) {
        self.saved.push((name.into(), std::env::var_os(name)));
        std::env::set_var(name, value);
    }
}

impl Drop for ProcessEnv {
    fn drop(&mut self) {
        for (name, old) in self.saved.drain(..).rev() {
            match old {
                Some(old) => std::env::set_var(&name, old),
                None => std::env::remove_var(&name),
            }
        }
    }
}
