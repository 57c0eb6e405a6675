//! Errors the development provider reports when it cannot start or cannot read its inputs.
//! Each message names the thing at fault (port, file, setting) and what was wrong with it.

use std::path::PathBuf;

/// Why [`crate::DevIdp::start`] (or the users-file loader) failed.
#[derive(Debug, thiserror::Error)]
pub enum DevIdpError {
    /// The loopback listener could not be bound.
    #[error("cannot listen on 127.0.0.1:{port}: {reason}")]
    Bind {
        /// The port asked for (0: any free port).
        port: u16,
        /// What the operating system said.
        reason: String,
    },
    /// A setting in [`crate::DevIdpConfig`] is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The TOML users file is missing or malformed.
    #[error("users file {}: {reason}", path.display())]
    UsersFile {
        /// The file as given.
        path: PathBuf,
        /// What is wrong with it (one line, with a line number when TOML knows it).
        reason: String,
    },
    /// The JSON state file could not be read or written.
    #[error("state file {}: {reason}", path.display())]
    StateFile {
        /// The file as given.
        path: PathBuf,
        /// What went wrong reading or writing it.
        reason: String,
    },
    /// RSA key generation or decoding failed.
    #[error("signing keys: {0}")]
    Keys(String),
}
