//! How a failure leaves the CLI: one line on stderr (`latchkey: …`) and a documented exit code
//! (the table is `cli::EXIT_CODES_HELP`). Core error kinds map onto those codes here, and only here.

use std::process::ExitCode;

use latchkey_core::{Error as CoreError, ErrorKind};

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Other = 1,
    NotSignedIn = 2,
    ProviderUnreachable = 3,
    Keychain = 4,
    Config = 5,
    SignInAborted = 6,
    OriginNotAllowed = 7,
    PortUnavailable = 8,
    HttpStatus = 9,
    AwsRefused = 10,
    Usage = 64,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

impl Exit {
    pub fn for_kind(kind: ErrorKind) -> Exit {
        match kind {
            ErrorKind::NotSignedIn | ErrorKind::SessionExpired => Exit::NotSignedIn,
            ErrorKind::ProviderUnreachable | ErrorKind::ProviderError => Exit::ProviderUnreachable,
            ErrorKind::Keychain => Exit::Keychain,
            ErrorKind::Config => Exit::Config,
            ErrorKind::Timeout | ErrorKind::Cancelled | ErrorKind::AccessDenied => {
                Exit::SignInAborted
            }
            ErrorKind::OriginNotAllowed => Exit::OriginNotAllowed,
            ErrorKind::PortUnavailable => Exit::PortUnavailable,
            ErrorKind::Verification
            | ErrorKind::Browser
            | ErrorKind::Busy
            | ErrorKind::Internal => Exit::Other,
            #[allow(unreachable_patterns)]
            _ => Exit::Other,
        }
    }
}

/// A failure of a command: what to print and which code to exit with.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
}

impl Failure {
    pub fn new(exit: Exit, message: impl Into<String>) -> Failure {
        Failure {
            exit,
            message: message.into(),
        }
    }

    /// Print the one line (if any) and return the code.
    pub fn report(&self) -> ExitCode {
        if !self.message.is_empty() {
            eprintln!("latchkey: {}", one_line(&self.message));
        }
        self.exit.into()
    }
}

/// Collapse whitespace runs (including newlines) so every error is one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl From<CoreError> for Failure {
    fn from(e: CoreError) -> Failure {
        let exit = match (e.kind(), e.aws_failure()) {
            // The identity pool refused (not the user at a sign-in page): its own code.
            (ErrorKind::AccessDenied, Some(_)) => Exit::AwsRefused,
            (kind, _) => Exit::for_kind(kind),
        };
        Failure::new(exit, e.message())
    }
}

impl From<latchkey_core::config::ConfigError> for Failure {
    fn from(e: latchkey_core::config::ConfigError) -> Failure {
        Failure::new(Exit::Config, e.to_string())
    }
}

pub type CliResult<T = ()> = Result<T, Failure>;
