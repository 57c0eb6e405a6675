//! Errors as the UI receives them: core's error serialised as it is (`{kind, check?, message}`,
//! the message saying what to do). Core errors never carry a secret.

use latchkey_core::{Error, ErrorKind};
use serde::{Serialize, Serializer};

/// A command's failure: a `latchkey_core::Error` on the wire.
#[derive(Debug)]
pub struct CommandError(pub Error);

impl CommandError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self(Error::new(kind, message))
    }
}

impl Serialize for CommandError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl From<Error> for CommandError {
    fn from(error: Error) -> Self {
        Self(error)
    }
}

impl From<latchkey_core::config::ConfigError> for CommandError {
    fn from(error: latchkey_core::config::ConfigError) -> Self {
        Self(error.into())
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
