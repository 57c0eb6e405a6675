//! Settings renamed since a file was written: read in their old form, rewritten in the new one
//! when the file is loaded, and reported once (afterwards the file no longer has the old form).

use serde::Serialize;

use super::{Config, ProfileDraft};

/// One setting of one profile that was read in its old form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Migration {
    /// The profile whose setting was renamed.
    pub profile: String,
    /// The old key (`browser_command`).
    pub from: &'static str,
    /// The new key (`browser`).
    pub to: &'static str,
    /// Whether the file was rewritten in the new form (`false`: it could not be written, and
    /// the old form keeps working).
    pub rewritten: bool,
}

impl Migration {
    /// The sentence a user reads once.
    pub fn notice(&self) -> String {
        let Migration {
            profile, from, to, ..
        } = self;
        match self.rewritten {
            true => format!("profile `{profile}`: `{from}` is now written `{to}` (same program and arguments, the sign-in address still comes last); the file was updated."),
            false => format!("profile `{profile}`: `{from}` is an old name for `{to}`; it still works, but the file could not be updated. Rename the key to `{to}`."),
        }
    }
}

/// The old keys profile `name`'s draft uses.
pub(super) fn legacy_keys(name: &str, draft: Option<&ProfileDraft>) -> Vec<Migration> {
    draft
        .filter(|d| d.browser_command.is_some())
        .map(|_| Migration {
            profile: name.to_owned(),
            from: "browser_command",
            to: "browser",
            rewritten: false,
        })
        .into_iter()
        .collect()
}

/// A loaded `config` with its old keys rewritten on disk (when there are any).
pub(super) fn rewrite(mut config: Config) -> Config {
    if config.migrations.is_empty() {
        return config;
    }
    let saved = config.save().is_ok();
    if !saved {
        tracing::warn!("could not rewrite the configuration file in its new form");
    }
    for m in &mut config.migrations {
        m.rewritten = saved;
    }
    config
}
