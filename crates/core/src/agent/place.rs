//! Where the agent lives: its directory (0700, the user's own), its socket (0600) and the lock
//! that makes it the one agent of the user, and the checks a directory must pass to be used.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The socket's file name inside the agent's directory.
pub const SOCKET_NAME: &str = "agent.sock";
const LOCK_NAME: &str = "agent.lock";

/// The agent's directory and the files in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPlace {
    /// `$LATCHKEY_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/latchkey`, else `/tmp/latchkey-UID`.
    pub dir: PathBuf,
    /// Whether `dir` sits in a shared directory (the `/tmp` fallback): a looser mode there is
    /// refused rather than tightened.
    shared_parent: bool,
}

/// Why the agent's directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    /// It belongs to another user.
    #[error("{dir} belongs to user {owner}, not to you (user {you}); remove it or set LATCHKEY_RUNTIME_DIR to a directory of your own.")]
    NotYours {
        /// The directory.
        dir: String,
        /// Its owner's uid.
        owner: u32,
        /// This process's uid.
        you: u32,
    },
    /// Others may enter it (its mode is looser than 0700) and it sits in a shared directory.
    #[error("{dir} has mode {mode:o}: others may enter it. Run `chmod 700 {dir}` (or remove it), then start the agent again.")]
    Loose {
        /// The directory.
        dir: String,
        /// Its permission bits.
        mode: u32,
    },
    /// It is not a directory (a file, or a symbolic link).
    #[error(
        "{dir} is not a directory; remove it or set LATCHKEY_RUNTIME_DIR to another directory."
    )]
    NotADirectory {
        /// The path.
        dir: String,
    },
    /// The file system refused.
    #[error("cannot prepare {dir} ({source}); set LATCHKEY_RUNTIME_DIR to a writable directory.")]
    Io {
        /// The path.
        dir: String,
        /// What the system said.
        source: io::Error,
    },
}

/// This process's effective uid.
pub fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

impl AgentPlace {
    /// The place this user's agent uses, from the environment.
    pub fn from_env() -> AgentPlace {
        if let Some(dir) = std::env::var_os("LATCHKEY_RUNTIME_DIR") {
            return AgentPlace::at(PathBuf::from(dir));
        }
        match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
            Some(run) => AgentPlace::at(PathBuf::from(run).join("latchkey")),
            None => AgentPlace {
                dir: std::env::temp_dir().join(format!("latchkey-{}", current_uid())),
                shared_parent: true,
            },
        }
    }

    /// A place in `dir` (whose parent only its user can enter).
    pub fn at(dir: PathBuf) -> AgentPlace {
        AgentPlace {
            dir,
            shared_parent: false,
        }
    }

    /// The socket's path.
    pub fn socket(&self) -> PathBuf {
        self.dir.join(SOCKET_NAME)
    }

    pub(crate) fn lock_file(&self) -> PathBuf {
        self.dir.join(LOCK_NAME)
    }

    fn shown(&self) -> String {
        self.dir.display().to_string()
    }

    /// Create the directory 0700, or check the one there: the user's own, a directory, and
    /// 0700 (a looser one is tightened, except in a shared parent such as `/tmp`, where it is
    /// refused).
    pub fn prepare(&self) -> Result<(), PlaceError> {
        let io = |source| PlaceError::Io {
            dir: self.shown(),
            source,
        };
        if let Some(parent) = self.dir.parent().filter(|_| !self.shared_parent) {
            fs::create_dir_all(parent).map_err(io)?;
        }
        match fs::DirBuilder::new().mode(0o700).create(&self.dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
        let meta = fs::symlink_metadata(&self.dir).map_err(io)?;
        self.check_existing(&meta)?;
        if meta.mode() & 0o077 != 0 {
            fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        Ok(())
    }

    fn check_existing(&self, meta: &fs::Metadata) -> Result<(), PlaceError> {
        if !meta.file_type().is_dir() {
            return Err(PlaceError::NotADirectory { dir: self.shown() });
        }
        let you = current_uid();
        if meta.uid() != you {
            return Err(PlaceError::NotYours {
                dir: self.shown(),
                owner: meta.uid(),
                you,
            });
        }
        if self.shared_parent && meta.mode() & 0o077 != 0 {
            return Err(PlaceError::Loose {
                dir: self.shown(),
                mode: meta.mode() & 0o7777,
            });
        }
        Ok(())
    }
}

/// Make `path` (the socket just bound) readable and writable by its owner only.
pub(crate) fn restrict_socket(path: &Path) -> io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_directory_is_0700_and_a_loose_one_is_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let place = AgentPlace::at(tmp.path().join("run"));
        place.prepare().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().mode() & 0o777;
        assert_eq!(mode(&place.dir), 0o700);
        fs::set_permissions(&place.dir, fs::Permissions::from_mode(0o755)).unwrap();
        place.prepare().unwrap();
        assert_eq!(mode(&place.dir), 0o700);
    }

    #[test]
    fn a_loose_directory_in_a_shared_parent_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("latchkey-shared");
        fs::DirBuilder::new().mode(0o755).create(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let place = AgentPlace {
            dir,
            shared_parent: true,
        };
        assert!(matches!(place.prepare(), Err(PlaceError::Loose { .. })));
    }

    #[test]
    fn a_symbolic_link_is_not_a_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("elsewhere");
        fs::create_dir(&target).unwrap();
        let link = tmp.path().join("run");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let place = AgentPlace::at(link);
        assert!(matches!(
            place.prepare(),
            Err(PlaceError::NotADirectory { .. })
        ));
    }
}
