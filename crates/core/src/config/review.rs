//! A profile file from elsewhere, reviewed before anything is saved: every setting that differs
//! from the defaults (where tokens go first), what was dropped as machine-local, and what a
//! replace would change. A profile file is untrusted input (docs/threat-model.md).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::{Config, ConfigError, Profile, ProfileDraft};

/// Settings that belong to this machine, never to a shared file: a program to run is not
/// something a colleague's file may choose. An import drops them (and says so); a replace
/// keeps this machine's own; an export leaves them out.
pub const MACHINE_LOCAL: &[&str] = &["browser", "browser_command"];

/// The settings that say where tokens go or how the sign-in works, in the order a review
/// shows them (a dotted prefix covers a table: `aws.`, `authorize_params.`).
const WHERE_TOKENS_GO: &[&str] = &[
    "kind",
    "issuer",
    "region",
    "user_pool_id",
    "domain",
    "client_id",
    "api_base_urls",
    "aws.",
    "authorize_params.",
    "api_token",
    "api_scheme",
    "api_token_header",
    "sign_out_uri",
    "identity_provider",
    // How tokens are handed out on this machine: an import that stops the confirmation or
    // keeps tokens longer in memory is shown first, with this machine's value beside it.
    "agent.",
];

/// The largest profile file an import reads: a profile is a few hundred bytes.
pub const MAX_IMPORT_BYTES: u64 = 1024 * 1024;

/// One setting as a review shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewedSetting {
    /// The profiles file's name for it (`api_base_urls`, `aws.identity_endpoint`, …).
    pub field: String,
    /// What the imported profile says (`(default)` when a replace resets it).
    pub value: String,
    /// The existing profile's value, when a replace changes this setting.
    pub previous: Option<String>,
    /// It says where tokens go or how the sign-in works: shown first, and marked.
    pub security: bool,
}

/// A setting the file carried that the import leaves out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DroppedSetting {
    /// The profiles file's name for it (one of [`MACHINE_LOCAL`], e.g. `browser`).
    pub field: String,
    /// Why it was left out and what is used instead, as a sentence for the user.
    pub reason: String,
}

/// What saving one imported profile would do. Built by [`Config::review_import`], saved by
/// [`Config::insert_reviewed`]; nothing is written before that.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReview {
    /// The profile's name: its `[profiles.NAME]` table in the imported file.
    pub name: String,
    /// Every setting that differs from the defaults or, for a replace, from the existing
    /// profile: where tokens go first.
    pub settings: Vec<ReviewedSetting>,
    /// The machine-local settings the file carried and the import leaves out (empty when
    /// none).
    pub dropped: Vec<DroppedSetting>,
    /// A profile of this name exists: saving replaces it, only after an explicit "Replace".
    pub replaces: bool,
    /// The settings whose change sends tokens elsewhere: the existing profile's session is
    /// signed out (revoked, deleted) before the replace is saved.
    pub moves_session: Vec<String>,
    /// The profile that would be saved (validated, machine-local settings from this machine).
    #[serde(skip)]
    pub profile: Profile,
}

impl ImportReview {
    /// The words of the button that saves it: "Replace profile X" when one exists.
    pub fn action(&self) -> String {
        match self.replaces {
            true => format!("Replace profile {}", self.name),
            false => format!("Save profile {}", self.name),
        }
    }
}

impl Config {
    /// Reviews the profiles of a profiles file (an exported one) against this configuration:
    /// each validated with the file's messages, its machine-local settings dropped, its
    /// differences listed. Nothing is saved. `path` is for messages.
    pub fn review_import(&self, text: &str, path: &Path) -> Result<Vec<ImportReview>, ConfigError> {
        Config::import_profiles(text, path)?
            .into_iter()
            .map(|(name, draft)| self.review_one(&name, draft, path))
            .collect()
    }

    /// Reviews one profile read from another tool's file (a Cognito app client's settings, as
    /// a draft) exactly as a profile of an imported file: validated, machine-local settings
    /// dropped, differences listed. Nothing is saved. `path` is for messages.
    pub fn review_draft(
        &self,
        name: &str,
        draft: ProfileDraft,
        path: &Path,
    ) -> Result<ImportReview, ConfigError> {
        self.review_one(name, draft, path)
    }

    fn review_one(
        &self,
        name: &str,
        mut draft: ProfileDraft,
        path: &Path,
    ) -> Result<ImportReview, ConfigError> {
        let dropped = drop_machine_local(&mut draft);
        let existing = self.profiles.get(name);
        let mut profile = draft.validate(name, path)?;
        if let Some(old) = existing {
            profile.browser = old.browser.clone();
        }
        let replaces = existing.is_some() || self.invalid.contains_key(name);
        let settings = reviewed_settings(&profile, existing);
        let moves_session = existing
            .map(|old| old.token_destination_changes(&profile))
            .unwrap_or_default()
            .into_iter()
            .map(str::to_owned)
            .collect();
        Ok(ImportReview {
            name: name.to_owned(),
            settings,
            dropped,
            replaces,
            moves_session,
            profile,
        })
    }

    /// Saves a reviewed import (in memory: [`Config::save`] writes the file). A profile of the
    /// same name is replaced only when `replace` says so; otherwise [`ConfigError::Exists`].
    /// The caller signs the old session out first when the review says it moves.
    pub fn insert_reviewed(
        &mut self,
        review: &ImportReview,
        replace: bool,
    ) -> Result<&Profile, ConfigError> {
        let exists =
            self.profiles.contains_key(&review.name) || self.invalid.contains_key(&review.name);
        if exists && !replace {
            return Err(ConfigError::Exists {
                path: self.path_for_messages(),
                name: review.name.clone(),
            });
        }
        self.insert(review.profile.clone());
        Ok(&self.profiles[&review.name])
    }
}

/// Takes the machine-local settings ([`MACHINE_LOCAL`]) out of `draft`, saying which.
fn drop_machine_local(draft: &mut ProfileDraft) -> Vec<DroppedSetting> {
    let carried = [
        ("browser", draft.browser.take().is_some()),
        ("browser_command", draft.browser_command.take().is_some()),
    ];
    carried
        .into_iter()
        .filter(|(_, was_there)| *was_there)
        .map(|(field, _)| DroppedSetting {
            field: field.into(),
            reason: "a profile file may not choose a program to run on this machine; this \
                     machine's own setting (or the system browser) is used"
                .into(),
        })
        .collect()
}

/// The settings a review lists: where tokens go first, then the others, each in file order.
fn reviewed_settings(profile: &Profile, existing: Option<&Profile>) -> Vec<ReviewedSetting> {
    let non_default = flatten(&ProfileDraft::minimal(profile));
    let new = flatten(&ProfileDraft::from_profile(profile));
    let old = existing.map(|p| flatten(&ProfileDraft::from_profile(p)));
    let mut fields: Vec<&String> = non_default.keys().collect();
    if let Some(old) = &old {
        fields.extend(
            old.keys()
                .chain(new.keys())
                .filter(|f| old.get(*f) != new.get(*f)),
        );
    }
    fields.sort_by_key(|f| (security_rank(f), *f));
    fields.dedup();
    fields
        .into_iter()
        .filter(|f| !MACHINE_LOCAL.contains(&f.as_str()))
        .map(|field| {
            let previous = old
                .as_ref()
                .map(|old| old.get(field))
                .filter(|before| *before != new.get(field))
                .map(|before| before.cloned().unwrap_or_else(|| "(not set)".into()));
            ReviewedSetting {
                field: field.clone(),
                value: new
                    .get(field)
                    .cloned()
                    .unwrap_or_else(|| "(not set)".into()),
                previous,
                security: security_rank(field) < WHERE_TOKENS_GO.len(),
            }
        })
        .collect()
}

/// The position of `field` in [`WHERE_TOKENS_GO`], or past its end.
fn security_rank(field: &str) -> usize {
    WHERE_TOKENS_GO
        .iter()
        .position(|s| match s.strip_suffix('.') {
            Some(table) => field
                .strip_prefix(table)
                .is_some_and(|r| r.starts_with('.')),
            None => field == *s,
        })
        .unwrap_or(WHERE_TOKENS_GO.len())
}

/// A draft as `field → value` lines (`aws.role_arn`, `authorize_params.lang`), values as the
/// file would say them; unset settings are absent.
fn flatten(draft: &ProfileDraft) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let value = serde_json::to_value(draft).expect("a draft is plain data");
    flatten_into("", &value, &mut out);
    out
}

fn flatten_into(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let field = match prefix {
                    "" => key.clone(),
                    _ => format!("{prefix}.{key}"),
                };
                flatten_into(&field, v, out);
            }
        }
        Value::Null => {}
        Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
        Value::Array(items) => {
            let words: Vec<String> = items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                .collect();
            out.insert(prefix.to_owned(), words.join(", "));
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_security_rank_puts_where_tokens_go_first_and_tables_by_prefix() {
        assert!(security_rank("issuer") < security_rank("api_base_urls"));
        assert!(security_rank("api_base_urls") < security_rank("aws.identity_endpoint"));
        assert!(security_rank("aws.identity_endpoint") < security_rank("authorize_params.lang"));
        assert_eq!(security_rank("scopes"), WHERE_TOKENS_GO.len());
        assert_eq!(security_rank("awsx"), WHERE_TOKENS_GO.len());
    }
}
