//! A profile's `browser`: the system default, "open nothing" (the address is shown and copied),
//! or an argument vector with a `{url}` placeholder that is run without a shell.

use serde::{Deserialize, Serialize};

/// The placeholder an argument vector's elements may hold once: the sign-in address goes there
/// (`"{url}"`, or inside an element: `"--app={url}"`). Without it the address is appended as
/// the last argument, as `BROWSER`, aws-vault's `--stdout | xargs` and granted expect.
pub const URL_PLACEHOLDER: &str = "{url}";

/// `browser = "system"`: the OS default browser (also what an absent `browser` means).
pub const SYSTEM_DEFAULT: &str = "system";

/// `browser = "none"`: open nothing; the address is printed (CLI) or shown and copied (app).
pub const OPEN_NOTHING: &str = "none";

/// Which browser opens a profile's sign-in page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "argv", rename_all = "snake_case")]
pub enum BrowserSetting {
    /// The OS default browser.
    #[default]
    System,
    /// No program is started: the user opens the address shown.
    OpenNothing,
    /// This program, run directly with these arguments.
    Command(BrowserCommand),
}

impl std::fmt::Display for BrowserSetting {
    /// As `browser` is written: `system`, `none`, or the vector as a JSON array.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BrowserSetting::System => f.write_str(SYSTEM_DEFAULT),
            BrowserSetting::OpenNothing => f.write_str(OPEN_NOTHING),
            BrowserSetting::Command(c) => {
                let json = serde_json::to_string(c.argv()).map_err(|_| std::fmt::Error)?;
                f.write_str(&json.replace("\",\"", "\", \""))
            }
        }
    }
}

/// A checked argument vector: a program (an absolute path or a bare name looked up on `PATH`
/// when it runs), then its arguments, with [`URL_PLACEHOLDER`] at most once and not in the
/// program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct BrowserCommand(Vec<String>);

/// Why an argument vector cannot be a [`BrowserCommand`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrowserCommandError {
    /// The vector is empty or its program is blank.
    #[error("the command names no program")]
    NoProgram,
    /// The program is a relative path (`./open.sh`, `bin/x`): it would depend on the working
    /// directory.
    #[error("the program `{0}` is a relative path")]
    RelativeProgram(String),
    /// The program itself holds the placeholder.
    #[error("the program cannot be the `{{url}}` placeholder")]
    PlaceholderAsProgram,
    /// The placeholder appears more than once.
    #[error("`{{url}}` appears {0} times")]
    PlaceholderRepeated(usize),
}

impl BrowserCommandError {
    /// What to write instead, for a configuration error's "Fix:".
    pub fn fix(&self) -> &'static str {
        match self {
            BrowserCommandError::RelativeProgram(_) => "give the program as a bare name found on PATH (\"firefox\") or as an absolute path (\"/usr/bin/firefox\")",
            _ => "give the program, then its arguments, with \"{url}\" where the address goes once, e.g. [\"firefox\", \"-P\", \"work\", \"{url}\"] (without \"{url}\" the address is the last argument)",
        }
    }
}

impl BrowserCommand {
    /// Checks `argv` (see [`BrowserCommand`]).
    pub fn new(argv: Vec<String>) -> Result<BrowserCommand, BrowserCommandError> {
        let program = argv.first().map(|p| p.trim()).unwrap_or_default();
        if program.is_empty() {
            return Err(BrowserCommandError::NoProgram);
        }
        if program.contains(URL_PLACEHOLDER) {
            return Err(BrowserCommandError::PlaceholderAsProgram);
        }
        if is_relative_path(program) {
            return Err(BrowserCommandError::RelativeProgram(program.to_owned()));
        }
        let placeholders: usize = argv
            .iter()
            .map(|a| a.matches(URL_PLACEHOLDER).count())
            .sum();
        if placeholders > 1 {
            return Err(BrowserCommandError::PlaceholderRepeated(placeholders));
        }
        Ok(BrowserCommand(argv))
    }

    /// The program: an absolute path or a bare name.
    pub fn program(&self) -> &str {
        &self.0[0]
    }

    /// The vector as configured (placeholder included).
    pub fn argv(&self) -> &[String] {
        &self.0
    }

    /// The arguments after the program with `url` in place of the placeholder (or appended
    /// when there is none): each element stays one argument, byte for byte.
    pub fn arguments_for(&self, url: &str) -> Vec<String> {
        let mut args: Vec<String> = self.0[1..]
            .iter()
            .map(|a| a.replace(URL_PLACEHOLDER, url))
            .collect();
        if !self.0.iter().any(|a| a.contains(URL_PLACEHOLDER)) {
            args.push(url.to_owned());
        }
        args
    }
}

/// A path with a directory part that does not start at the root (`./x`, `bin/x`).
fn is_relative_path(program: &str) -> bool {
    let path = std::path::Path::new(program);
    path.components().count() > 1 && !path.is_absolute()
}

/// `browser` as written: a word (`"system"`, `"none"`) or an argument vector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BrowserDraft {
    /// `"system"` or `"none"`.
    Word(String),
    /// `["firefox", "-P", "work", "{url}"]`.
    Argv(Vec<String>),
}

impl BrowserDraft {
    /// How `setting` is written (`None` for the default, the system browser).
    pub fn from_setting(setting: &BrowserSetting) -> Option<BrowserDraft> {
        match setting {
            BrowserSetting::System => None,
            BrowserSetting::OpenNothing => Some(BrowserDraft::Word(OPEN_NOTHING.into())),
            BrowserSetting::Command(c) => Some(BrowserDraft::Argv(c.argv().to_vec())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn the_url_replaces_the_placeholder_or_comes_last() {
        let firefox = BrowserCommand::new(argv(&["firefox", "-P", "work", "{url}", "-x"])).unwrap();
        assert_eq!(
            firefox.arguments_for("https://a/b"),
            argv(&["-P", "work", "https://a/b", "-x"])
        );
        let app = BrowserCommand::new(argv(&["chromium", "--app={url}"])).unwrap();
        assert_eq!(app.arguments_for("https://a"), argv(&["--app=https://a"]));
        let plain = BrowserCommand::new(argv(&["/usr/bin/firefox", "--new-window"])).unwrap();
        assert_eq!(
            plain.arguments_for("https://a"),
            argv(&["--new-window", "https://a"])
        );
    }

    #[test]
    fn a_vector_without_a_usable_program_or_with_two_placeholders_is_refused() {
        let refused = |w: &[&str]| BrowserCommand::new(argv(w)).unwrap_err();
        assert_eq!(refused(&[]), BrowserCommandError::NoProgram);
        assert_eq!(refused(&[" "]), BrowserCommandError::NoProgram);
        assert_eq!(
            refused(&["{url}"]),
            BrowserCommandError::PlaceholderAsProgram
        );
        assert!(matches!(
            refused(&["./open.sh"]),
            BrowserCommandError::RelativeProgram(_)
        ));
        assert!(matches!(
            refused(&["bin/firefox"]),
            BrowserCommandError::RelativeProgram(_)
        ));
        assert_eq!(
            refused(&["firefox", "{url}", "--x={url}"]),
            BrowserCommandError::PlaceholderRepeated(2)
        );
    }
}
