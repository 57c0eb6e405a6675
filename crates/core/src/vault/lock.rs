//! The cross-process profile lock: every keychain write of a profile's session (sign-in,
//! refresh, sign-out) happens under it, so the app and the CLI never lose each other's writes.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};

/// How long to wait for another process's write before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(120);

/// The directory for the lock files: `$LATCHKEY_RUNTIME_DIR`, the OS runtime dir
/// (`$XDG_RUNTIME_DIR`), else the cache dir.
pub fn runtime_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("LATCHKEY_RUNTIME_DIR") {
        return PathBuf::from(p);
    }
    if let Some(d) =
        directories::BaseDirs::new().and_then(|b| b.runtime_dir().map(|r| r.join("latchkey")))
    {
        return d;
    }
    directories::ProjectDirs::from("dev", "latchkey", "Latchkey")
        .map(|d| d.cache_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("latchkey"))
}

/// Where the lock of one keychain entry lives (a hash: the account names no secret, but it
/// need not show up in a directory listing either).
pub fn lock_path(service: &str, account: &str) -> PathBuf {
    use sha2::Digest;
    let h = sha2::Sha256::digest(format!("{service}|{account}").as_bytes());
    let hex: String = h[..8].iter().map(|b| format!("{b:02x}")).collect();
    runtime_dir().join(format!("refresh-{hex}.lock"))
}

/// Held while a profile's session is written. Released on drop.
pub(crate) struct ProfileLock {
    _file: std::fs::File,
}

impl ProfileLock {
    /// Wait (asynchronously) until no other process holds the lock at `path`.
    pub(crate) async fn acquire(path: PathBuf) -> Result<ProfileLock> {
        let unusable = |what: &str, e: &dyn std::fmt::Display| {
            Error::new(
                ErrorKind::Internal,
                format!("cannot {what} the session lock {} ({e}); set LATCHKEY_RUNTIME_DIR to a writable directory.", path.display()),
            )
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| unusable("create the directory of", &e))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| unusable("open", &e))?;
        let deadline = tokio::time::Instant::now() + LOCK_WAIT;
        loop {
            match fs4::FileExt::try_lock(&file) {
                Ok(()) => return Ok(ProfileLock { _file: file }),
                Err(fs4::TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(25)).await
                }
                Err(e) => return Err(Error::new(ErrorKind::Internal, format!("cannot take the session lock {} ({e}); another Latchkey process may be stuck: end it and retry.", path.display()))),
            }
        }
    }
}
