//! How a failure leaves the CLI: one line on stderr (`latchkey: …`, or with `--json` one JSON
//! object) and a documented exit code (the table is `cli::EXIT_CODES_HELP`). Core error kinds
//! map onto those codes here, and only here.

use std::process::ExitCode;

use latchkey_core::{CheckName, Error as CoreError, ErrorKind};
use serde::Serialize;

/// The documented exit codes (`EXIT_TABLE` says what each means). 2 is a usage error and
/// nothing else, as for clap, grep and bash; 130 is SIGINT's (128 + 2), as in a shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Other = 1,
    Usage = 2,
    ProviderUnreachable = 3,
    Keychain = 4,
    Config = 5,
    SignInAborted = 6,
    OriginNotAllowed = 7,
    PortUnavailable = 8,
    HttpStatus = 9,
    AwsRefused = 10,
    ExpectationFailed = 11,
    NotSignedIn = 12,
    /// A sign-in is needed and the caller may not open a browser (the agent's governor).
    SignInNeeded = 13,
    /// The profile's hand-outs need the user's "Allow" (`agent.confirm`) and it did not come.
    HandOutRefused = 14,
    Interrupted = 130,
}

/// Every exit code and what it means, in order: the table `latchkey --help` and the man page's
/// EXIT STATUS print once, and each command's `--help` prints its own rows of.
pub const EXIT_TABLE: &[(u8, &str)] = &[
    (0, "success"),
    (
        1,
        "any other error (verification failure, browser, internal)",
    ),
    (
        2,
        "usage error: an unknown flag, a bad or missing value or argument",
    ),
    (3, "provider unreachable or answering with an error"),
    (4, "keychain unavailable or refusing access"),
    (5, "configuration invalid (file, profile or flag values)"),
    (
        6,
        "sign-in aborted: the user closed or denied it, or it timed out",
    ),
    (
        7,
        "token refused: the URL's origin is not in the profile's `api_base_urls`",
    ),
    (8, "no callback port free"),
    (
        9,
        "`call --fail`: the API answered with HTTP status 400 or above",
    ),
    (
        10,
        "`aws`, `call --sigv4`: the identity pool refused (`latchkey aws --help`)",
    ),
    (
        11,
        "`inspect`: a check or an expectation (`--expect`, the profile's) failed",
    ),
    (
        12,
        "not signed in, or the provider ended the session: run `latchkey login`",
    ),
    (
        13,
        "sign-in needed (the agent asked a caller that cannot interact to sign in)",
    ),
    (
        14,
        "hand-out refused: no Allow came for a profile with `agent.confirm`",
    ),
    (
        130,
        "interrupted (Ctrl-C): a waiting sign-in is cancelled, a saved one kept",
    ),
];

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

    /// The `kind` of a failure the CLI itself decided (core errors carry their own): core's
    /// `ErrorKind` name where one fits, else the CLI's own (`usage`, `http_status`,
    /// `expectation_failed`).
    fn kind_name(self) -> &'static str {
        match self {
            Exit::Ok | Exit::Other => "internal",
            Exit::NotSignedIn => "not_signed_in",
            Exit::ProviderUnreachable => "provider_unreachable",
            Exit::Keychain => "keychain",
            Exit::Config => "config",
            Exit::SignInAborted => "cancelled",
            Exit::OriginNotAllowed => "origin_not_allowed",
            Exit::PortUnavailable => "port_unavailable",
            Exit::HttpStatus => "http_status",
            Exit::AwsRefused => "access_denied",
            Exit::ExpectationFailed => "expectation_failed",
            Exit::SignInNeeded => "sign_in_needed",
            Exit::HandOutRefused => "hand_out_refused",
            Exit::Usage => "usage",
            Exit::Interrupted => "cancelled",
        }
    }
}

/// A failure of a command: what to print and which code to exit with.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
    /// Core's `ErrorKind` when core failed; `None`: the CLI's own, named after `exit`.
    kind: Option<ErrorKind>,
    /// The verification check that failed, when one did.
    check: Option<CheckName>,
}

impl Failure {
    pub fn new(exit: Exit, message: impl Into<String>) -> Failure {
        Failure {
            exit,
            message: message.into(),
            kind: None,
            check: None,
        }
    }

    /// A failure the CLI words itself about a core `kind` (the `kind` its JSON reports).
    pub fn with_kind(exit: Exit, kind: ErrorKind, message: impl Into<String>) -> Failure {
        Failure {
            kind: Some(kind),
            ..Failure::new(exit, message)
        }
    }

    /// Ctrl-C (SIGINT) ended the command: exit 130, core's kind `cancelled`.
    pub fn interrupted(message: impl Into<String>) -> Failure {
        Failure::with_kind(Exit::Interrupted, ErrorKind::Cancelled, message)
    }

    /// A token that failed verification check `check`: core's kind `verification`, the check
    /// named (as core's own verification errors are), and `exit`.
    pub fn check_failed(exit: Exit, check: CheckName, message: impl Into<String>) -> Failure {
        Failure {
            kind: Some(ErrorKind::Verification),
            check: Some(check),
            ..Failure::new(exit, message)
        }
    }

    /// Print the failure (if it has a message) and return the code: one `latchkey: …` line,
    /// or with `json` one `{"error":{"kind","check"?,"message","exit_code"}}` line.
    pub fn report(&self, json: bool) -> ExitCode {
        if json {
            eprintln!("{}", self.to_json());
        } else if !self.message.is_empty() {
            eprintln!("latchkey: {}", one_line(&self.message));
        }
        self.exit.into()
    }

    fn to_json(&self) -> String {
        let kind = match self.kind {
            Some(kind) => serde_json::to_value(kind).unwrap_or_default(),
            None => self.exit.kind_name().into(),
        };
        let report = ErrorReport {
            error: ErrorBody {
                check: self.check.map(CheckName::as_str),
                exit_code: self.exit as u8,
                kind,
                message: one_line(&self.message),
            },
        };
        serde_json::to_string(&report).unwrap_or_default()
    }
}

/// A failure as `--json` prints it on stderr: `{"error":{"check"?,"exit_code","kind","message"}}`.
#[derive(Serialize)]
struct ErrorReport {
    error: ErrorBody,
}

#[derive(Serialize)]
struct ErrorBody {
    /// The verification check that failed, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    check: Option<&'static str>,
    exit_code: u8,
    /// Core's `ErrorKind` (snake_case), or the CLI's own kind.
    kind: serde_json::Value,
    message: String,
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
        Failure {
            kind: Some(e.kind()),
            check: e.failed_check(),
            ..Failure::new(exit, e.message())
        }
    }
}

impl From<latchkey_core::config::ConfigError> for Failure {
    fn from(e: latchkey_core::config::ConfigError) -> Failure {
        Failure::new(Exit::Config, e.to_string())
    }
}

pub type CliResult<T = ()> = Result<T, Failure>;
