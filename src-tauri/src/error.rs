//! Errors as the UI receives them: `{ kind, message }`, the message saying what to do.
//! Built from latchkey-core's errors, which never carry a secret.

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct CommandError {
    pub kind: String,
    pub message: String,
}

impl CommandError {
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            message: message.into(),
        }
    }
}

impl From<latchkey_core::Error> for CommandError {
    fn from(error: latchkey_core::Error) -> Self {
        let kind = serde_json::to_value(error.kind())
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "internal".into());
        Self {
            kind,
            message: error.message().to_owned(),
        }
    }
}

impl From<latchkey_core::config::ConfigError> for CommandError {
    fn from(error: latchkey_core::config::ConfigError) -> Self {
        Self::new("config", error.to_string())
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
