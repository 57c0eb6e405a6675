//! The configuration file on disk: read, parsed into drafts with `toml_edit` (so the document
//! keeps comments and layout), rendered back with only what changed, written atomically.

use std::io::Write;
use std::path::Path;

use toml_edit::{DocumentMut, Item, Table};

use super::settings::{closest_setting, SETTINGS_REFERENCE, SUB_TABLES};
use super::{Config, ConfigError, Profile, ProfileDraft};

/// Top-level keys of the file.
const TOP_LEVEL: &[&str] = &["default", "profiles"];

pub(super) fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ConfigError::NotFound {
            path: path.to_owned(),
        },
        _ => ConfigError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        },
    })
}

type Drafts = Vec<(String, Result<ProfileDraft, ConfigError>)>;

/// The document, its `default`, and each profile's draft (or why it is not one).
pub(super) fn parse(
    text: &str,
    path: &Path,
) -> Result<(DocumentMut, Option<String>, Drafts), ConfigError> {
    let syntax = |message: String| ConfigError::Parse {
        path: path.to_owned(),
        message: message.trim().replace('\n', " "),
    };
    let document: DocumentMut = text.parse().map_err(|e| syntax(format!("{e}")))?;
    if let Some((key, _)) = document.iter().find(|(k, _)| !TOP_LEVEL.contains(k)) {
        return Err(syntax(format!(
            "unknown top-level key `{key}` (the file holds `default` and `[profiles.NAME]` tables)"
        )));
    }
    let default = match document.get("default") {
        None => None,
        Some(item) => Some(
            item.as_str()
                .ok_or_else(|| syntax("`default` must be a string (a profile name)".into()))?
                .to_owned(),
        ),
    };
    let mut drafts = Drafts::new();
    if let Some(profiles) = document.get("profiles") {
        let table = profiles.as_table_like().ok_or_else(|| {
            syntax("`profiles` must be a table of `[profiles.NAME]` tables".into())
        })?;
        for (name, _) in table.iter() {
            let draft = draft_in(&document, name, path)
                .unwrap_or_else(|| Err(invalid_table(path, name, "it is not a table")));
            drafts.push((name.to_owned(), draft));
        }
    }
    Ok((document, default, drafts))
}

fn invalid_table(path: &Path, name: &str, problem: &str) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_owned(),
        profile: name.to_owned(),
        field: "(profile)".into(),
        problem: problem.to_owned(),
        fix: format!("write the profile as a `[profiles.{name}]` table of settings"),
    }
}

/// The draft of profile `name` in `document`, if there is such a profile.
pub(super) fn draft(
    document: &DocumentMut,
    name: &str,
) -> Option<Result<ProfileDraft, ConfigError>> {
    draft_in(document, name, Path::new("<configuration>"))
}

fn draft_in(
    document: &DocumentMut,
    name: &str,
    path: &Path,
) -> Option<Result<ProfileDraft, ConfigError>> {
    let item = document.get("profiles")?.as_table_like()?.get(name)?;
    let Some(table) = item.as_table_like() else {
        return Some(Err(invalid_table(path, name, "it is not a table")));
    };
    let mut body = Table::new();
    for (k, v) in table.iter() {
        body.insert(k, v.clone());
    }
    // A document, not the table alone: a table displays its values but not its sub-tables.
    let text = DocumentMut::from(body).to_string();
    Some(
        toml_edit::de::from_str::<ProfileDraft>(&text)
            .map_err(|e| not_a_draft(&e, table, path, name)),
    )
}

/// Why profile `name`'s table (`table`) is not a draft: a misspelt key is named as written
/// (`aws.KEY` inside the `[aws]` table, `agent.KEY` inside `[agent]`) with the known key
/// closest to it.
fn not_a_draft(
    e: &toml_edit::de::Error,
    table: &dyn toml_edit::TableLike,
    path: &Path,
    name: &str,
) -> ConfigError {
    let message = e.message().trim().replace('\n', " ");
    let unknown = message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("unknown field"));
    let sub_table_with = |key: &str| {
        SUB_TABLES.into_iter().find(|sub| {
            !table.contains_key(key)
                && table
                    .get(sub)
                    .and_then(Item::as_table_like)
                    .is_some_and(|t| t.contains_key(key))
        })
    };
    let (key, did_you_mean) = match unknown {
        Some(key) => match sub_table_with(key) {
            Some(sub) => (
                format!("{sub}.{key}"),
                closest_setting(key, Some(sub)).map(|k| format!("{sub}.{k}")),
            ),
            None => (key.to_owned(), closest_setting(key, None)),
        },
        None => {
            return ConfigError::Invalid {
                path: path.to_owned(),
                profile: name.to_owned(),
                field: "(profile)".to_owned(),
                problem: message,
                fix: format!(
                    "correct the value (every setting is described in {SETTINGS_REFERENCE})"
                ),
            }
        }
    };
    ConfigError::UnknownKey {
        path: path.to_owned(),
        profile: name.to_owned(),
        key,
        did_you_mean,
    }
}

/// `document` with `config`'s default and profiles written into it: settings of existing
/// profiles updated in place (comments kept), new profiles with their non-default settings,
/// removed profiles gone, invalid profiles untouched.
pub(super) fn render(document: &DocumentMut, config: &Config) -> String {
    let mut doc = document.clone();
    match (
        &config.default,
        doc.get_mut("default").and_then(Item::as_value_mut),
    ) {
        (Some(d), Some(old)) if old.as_str() == Some(d) => {}
        (Some(d), Some(old)) => {
            let decor = old.decor().clone();
            *old = d.as_str().into();
            *old.decor_mut() = decor;
        }
        (Some(d), None) => doc["default"] = toml_edit::value(d.as_str()),
        (None, _) => {
            doc.remove("default");
        }
    }
    if !doc.contains_key("profiles") {
        let mut profiles = Table::new();
        profiles.set_implicit(true);
        doc.insert("profiles", Item::Table(profiles));
    }
    let profiles = doc["profiles"]
        .as_table_like_mut()
        .expect("checked when parsed");
    let gone: Vec<String> = profiles
        .iter()
        .map(|(k, _)| k.to_owned())
        .filter(|k| !config.profiles.contains_key(k) && !config.invalid.contains_key(k))
        .collect();
    for name in gone {
        profiles.remove(&name);
    }
    for (name, profile) in &config.profiles {
        if profiles.get(name).is_none() {
            profiles.insert(name, Item::Table(Table::new()));
        }
        let table = profiles
            .get_mut(name)
            .and_then(Item::as_table_like_mut)
            .expect("inserted above");
        write_settings(table, profile);
    }
    doc.to_string()
}

/// Update `table` to `profile`'s settings: a key already there keeps its text (and comments)
/// when it still means the same (`'myapp'` for the full domain URL), else its value is
/// replaced; other non-default settings are added, settings no longer set removed. Nested
/// settings (`[profiles.NAME.aws]`) are a sub-table, updated key by key the same way.
fn write_settings(table: &mut dyn toml_edit::TableLike, profile: &Profile) {
    let full = settings(&ProfileDraft::from_profile(profile));
    let minimal = settings(&ProfileDraft::minimal(profile));
    write_table(table, &full, &[], Some(&minimal), profile);
}

/// [`write_settings`] for the (sub-)table at `path` of the profile's settings.
fn write_table(
    table: &mut dyn toml_edit::TableLike,
    full: &Table,
    path: &[&str],
    minimal: Option<&dyn toml_edit::TableLike>,
    profile: &Profile,
) {
    let Some(here) = table_at(full, path) else {
        return;
    };
    let stale: Vec<String> = table
        .iter()
        .map(|(k, _)| k.to_owned())
        .filter(|k| !here.contains_key(k))
        .collect();
    for key in stale {
        table.remove(&key);
    }
    for (key, item) in here.iter() {
        let Some(mut value) = item.as_value().cloned() else {
            continue;
        };
        let wanted = minimal.and_then(|m| m.get(key));
        if value.is_inline_table() {
            let in_file = table.get(key).is_some_and(Item::is_table_like);
            if !in_file {
                if wanted.is_none() {
                    continue;
                }
                table.insert(key, Item::Table(Table::new()));
            }
            let sub = table
                .get_mut(key)
                .and_then(Item::as_table_like_mut)
                .expect("a table is there");
            let nested = [path, &[key]].concat();
            write_table(
                sub,
                full,
                &nested,
                wanted.and_then(Item::as_table_like),
                profile,
            );
            continue;
        }
        match table.get_mut(key).and_then(Item::as_value_mut) {
            Some(old) if means_the_same(full, path, key, old, profile) => {}
            Some(old) => {
                *value.decor_mut() = old.decor().clone();
                *old = value;
            }
            None if wanted.is_some() => {
                value.decor_mut().clear();
                table.insert(key, Item::Value(value));
            }
            None => {}
        }
    }
}

/// The (sub-)table at `path` in `table`.
fn table_at<'t>(table: &'t Table, path: &[&str]) -> Option<&'t dyn toml_edit::TableLike> {
    let mut here: &dyn toml_edit::TableLike = table;
    for key in path {
        here = here.get(key)?.as_table_like()?;
    }
    Some(here)
}

/// Does the file's `old` value of `key` (in the sub-table at `path`) give the same profile as
/// the new one?
fn means_the_same(
    full: &Table,
    path: &[&str],
    key: &str,
    old: &toml_edit::Value,
    profile: &Profile,
) -> bool {
    let mut with_old = full.clone();
    let mut here: &mut dyn toml_edit::TableLike = &mut with_old;
    for part in path {
        match here.get_mut(part).and_then(Item::as_table_like_mut) {
            Some(next) => here = next,
            None => return false,
        }
    }
    here.insert(key, Item::Value(old.clone()));
    toml_edit::de::from_str::<ProfileDraft>(&with_old.to_string())
        .ok()
        .and_then(|d| d.validate(&profile.name, Path::new("")).ok())
        .is_some_and(|p| &p == profile)
}

fn settings(draft: &ProfileDraft) -> Table {
    toml_edit::ser::to_document(draft)
        .map(|d| d.as_table().clone())
        .unwrap_or_default()
}

/// Write `text` to `path` through a temporary file in the same directory and a rename: a
/// crash or a full disk leaves the old file, never half a new one.
pub(super) fn write_atomically(path: &Path, text: &str) -> Result<(), ConfigError> {
    let failed = |e: &dyn std::fmt::Display| ConfigError::Write {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| failed(&e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| failed(&e))?;
    tmp.write_all(text.as_bytes()).map_err(|e| failed(&e))?;
    tmp.as_file().sync_all().map_err(|e| failed(&e))?;
    tmp.persist(path).map_err(|e| failed(&e.error))?;
    Ok(())
}
