//! `ConfigError`: why the profiles file could not be read, parsed, validated or written, each
//! message naming the file and the fix; it reaches callers as an [`ErrorKind::Config`] error.

use std::path::PathBuf;

use crate::error::{Error, ErrorKind};

/// Why the configuration file could not be read, parsed, validated or written; each message
/// names the file and the fix. Reaches callers as an [`ErrorKind::Config`] [`Error`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file does not exist (no profile was ever added, or `LATCHKEY_CONFIG` points
    /// nowhere).
    #[error("no configuration file at {path}. Add a profile with `latchkey profile add …` (`latchkey profile add demo --demo` for the built-in development provider; the app creates a Demo profile when it starts), or set LATCHKEY_CONFIG to the file to use.")]
    NotFound {
        /// The file that was looked for.
        path: PathBuf,
    },
    /// The file exists but could not be read (permissions, not a file, not UTF-8).
    #[error("cannot read {path}: {message}. Check the file's permissions.")]
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
    /// The file is not valid TOML, has an unknown top-level key or a malformed `default` or
    /// `profiles`; also an imported file with no `[profiles.NAME]` table.
    #[error("{path} is not valid TOML: {message}. Fix the syntax at the position shown.")]
    Parse {
        /// The file that was parsed.
        path: PathBuf,
        /// What is wrong, on one line (with the position for a TOML syntax error).
        message: String,
    },
    /// A profile has an invalid, missing or unknown field, or `default` names no profile.
    #[error("{path}: profile `{profile}`, field `{field}`: {problem}. Fix: {fix}")]
    Invalid {
        /// The file the profile is in (`<configuration>` when it was never loaded or saved).
        path: PathBuf,
        /// The profile at fault (escaped: it may not be a valid name yet).
        profile: String,
        /// The key at fault as written: `client_id`, `aws.role_arn`,
        /// `authorize_params.lang`, `default`, or a misspelt key.
        field: String,
        /// What is wrong with it.
        problem: String,
        /// What to write instead.
        fix: String,
    },
    /// A profile has a key Latchkey does not know (a misspelling, or a setting of another
    /// version); reported like [`ConfigError::Invalid`], with the known key meant, if any.
    #[error("{path}: profile `{profile}`, field `{key}`: unknown field `{key}`. Fix: {}", super::settings::unknown_key_fix(.did_you_mean.as_deref()))]
    UnknownKey {
        /// The file the profile is in.
        path: PathBuf,
        /// The profile at fault.
        profile: String,
        /// The key as written: `scope`, or `aws.rol_arn` inside the `[aws]` table.
        key: String,
        /// The known key closest to it (`scopes`, `aws.role_arn`), when one is close enough.
        did_you_mean: Option<String>,
    },
    /// A profile was asked for by a name the file does not define.
    #[error("{path}: no profile named `{name}`. Known profiles: {known}. Use one of them or add `[profiles.{name}]`.")]
    NoSuchProfile {
        /// The file that was searched.
        path: PathBuf,
        /// The name that was asked for.
        name: String,
        /// The valid profiles' names, comma-separated, or `(none)`.
        known: String,
    },
    /// No profile was named and the file sets no `default`, while it holds more or fewer than
    /// one profile (an invalid one counts).
    #[error("{path}: no default profile. Set `default = \"<name>\"` at the top of the file, or pass a profile name.")]
    NoDefault {
        /// The file without a `default`.
        path: PathBuf,
    },
    /// `LATCHKEY_CONFIG` is unset and the OS reports no configuration directory for this user
    /// (no home directory).
    #[error("cannot determine the configuration directory of this OS user. Set LATCHKEY_CONFIG to the file to use.")]
    NoConfigDir,
    /// Saving failed (directory, temporary file or rename); the file on disk is unchanged.
    #[error("cannot write {path}: {message}. Check the directory's permissions; the file was left as it was.")]
    Write {
        /// The file that was being written.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
    /// An import would replace a profile of the same name (valid or not) and replacing was not
    /// asked for (CLI: `--replace`).
    #[error("{path}: a profile named `{name}` already exists. Replacing it needs an explicit “Replace profile {name}” (CLI: `--replace`); or import it under another name.")]
    Exists {
        /// The file that holds the existing profile.
        path: PathBuf,
        /// The name of the profile that already exists.
        name: String,
    },
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::new(ErrorKind::Config, e.to_string())
    }
}
