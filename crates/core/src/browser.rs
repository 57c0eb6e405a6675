//! How the authorization URL reaches the user's browser: the system default (`open`), a
//! configured argument vector run without a shell (URL as one argument), nothing, or a test
//! double; and which of them a profile gets ([`BrowserChoice`], the one reader of
//! `LATCHKEY_BROWSER_COMMAND`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use url::Url;

use crate::authorize::validate_browser_url;
use crate::config::{BrowserCommand, BrowserSetting, Profile, OPEN_NOTHING, SYSTEM_DEFAULT};
use crate::error::{Error, ErrorKind, Result};

/// Opens a URL in the system browser (never an embedded webview).
pub trait Browser: Send + Sync {
    /// Hands `url` to the browser and returns without waiting for it. The real browsers refuse
    /// a URL that is not https (or http to loopback) or holds control or shell characters, and
    /// report that or a browser that cannot be started as an [`ErrorKind::Browser`] error.
    fn open(&self, url: &Url) -> Result<()>;
}

/// The OS default browser via `open::that_detached`.
#[derive(Debug, Default, Clone)]
pub struct SystemBrowser;

impl Browser for SystemBrowser {
    fn open(&self, url: &Url) -> Result<()> {
        validate_browser_url(url)?;
        #[cfg(windows)]
        refuse_environment_references(url)?;
        // Windows: ShellExecuteExW with the URL as the file to open (Cargo.toml), so no
        // command line (cmd's `&`, PowerShell's quoting) ever sees it.
        open::that_detached(url.as_str()).map_err(|e| {
            Error::new(ErrorKind::Browser, format!("could not open the system browser ({e}). Open the sign-in URL shown by Latchkey yourself, or set `browser` in the profile."))
        })
    }
}

/// ShellExecute expands `%NAME%` in the target it opens (measured under Wine: `%PATH%`
/// reached the browser as the value of PATH), which would send an environment variable's
/// value to the provider. A `%` that does not start a percent-escape is malformed in a URL
/// anyway; Latchkey's own URLs encode every literal `%` as `%25`.
#[cfg(windows)]
fn refuse_environment_references(url: &Url) -> Result<()> {
    let bytes = url.as_str().as_bytes();
    let bare_percent = bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if bare_percent {
        return Err(Error::new(ErrorKind::Browser, "refusing to open the authorization URL: it has a `%` that is not a percent-escape, which Windows would read as an environment variable. Check the provider's authorization endpoint."));
    }
    Ok(())
}

/// A configured program: `argv[0]` with the other elements, the URL in place of `{url}` (or
/// appended), spawned directly (no shell).
#[derive(Debug, Clone)]
pub struct CommandBrowser {
    /// The checked argument vector.
    pub command: BrowserCommand,
}

impl Browser for CommandBrowser {
    fn open(&self, url: &Url) -> Result<()> {
        validate_browser_url(url)?;
        let wanted = self.command.program();
        let program = locate_program(wanted).ok_or_else(|| {
            Error::new(ErrorKind::Browser, format!("the browser program `{wanted}` was not found (not an executable file{}). Install it, fix `browser` in the profile (or LATCHKEY_BROWSER_COMMAND), or open the sign-in URL yourself.", if Path::new(wanted).is_absolute() { "" } else { " in any PATH directory" }))
        })?;
        std::process::Command::new(&program)
            .args(self.command.arguments_for(url.as_str()))
            .stdin(std::process::Stdio::null())
            .spawn()
            .map(|_child| ())
            .map_err(|e| {
                Error::new(ErrorKind::Browser, format!("could not run the browser program `{wanted}` ({e}). Fix `browser` in the profile or open the sign-in URL yourself."))
            })
    }
}

/// Does nothing: the caller shows the URL (`--no-browser`, `browser = "none"`).
#[derive(Debug, Default, Clone)]
pub struct NoBrowser;

impl Browser for NoBrowser {
    fn open(&self, _url: &Url) -> Result<()> {
        Ok(())
    }
}

/// Opens nothing and says why: [`BROWSER_COMMAND_VAR`] is set to something unusable.
#[derive(Debug, Clone)]
struct UnusableBrowser {
    reason: String,
}

impl Browser for UnusableBrowser {
    fn open(&self, _url: &Url) -> Result<()> {
        Err(Error::new(ErrorKind::Config, self.reason.clone()))
    }
}

/// Where `program` runs from: an absolute path that is an executable file, or the first
/// executable file of that name in a `PATH` directory; `None` when there is none.
pub fn locate_program(program: &str) -> Option<PathBuf> {
    let path = Path::new(program);
    if path.is_absolute() {
        return is_executable(path).then(|| path.to_owned());
    }
    if path.components().count() != 1 {
        return None;
    }
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs)
        .flat_map(|d| executable_names(program).map(move |n| d.join(n)))
        .find(|candidate| is_executable(candidate))
}

fn executable_names(program: &str) -> impl Iterator<Item = String> {
    let windows_exe = cfg!(windows).then(|| format!("{program}.exe"));
    std::iter::once(program.to_owned()).chain(windows_exe)
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// The environment variable that names a browser for every profile (tests, remote set-ups);
/// it wins over a profile's `browser`. Read only by [`BrowserChoice`]. Its value is a JSON
/// array (`["firefox", "-P", "work", "{url}"]`), `none`, `system`, or a command line split on
/// whitespace (the older form).
pub const BROWSER_COMMAND_VAR: &str = "LATCHKEY_BROWSER_COMMAND";

/// Which program opens a profile's URLs, and where that was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrowserChoice {
    /// [`BROWSER_COMMAND_VAR`].
    Environment(BrowserSetting),
    /// The profile's `browser` (not the system default).
    Profile(BrowserSetting),
    /// The OS default browser.
    System,
    /// [`BROWSER_COMMAND_VAR`] is set to something that is not a browser: why, and the fix.
    UnusableEnvironment(String),
}

impl BrowserChoice {
    /// `LATCHKEY_BROWSER_COMMAND` when it is set and not blank, else the profile's `browser`,
    /// else the system browser (also without a profile).
    pub fn for_profile(profile: Option<&Profile>) -> BrowserChoice {
        let from_env = std::env::var(BROWSER_COMMAND_VAR).ok();
        BrowserChoice::choose(from_env.as_deref(), profile)
    }

    /// The rule behind [`BrowserChoice::for_profile`], given the variable's value: one that
    /// holds only blanks is as if unset.
    fn choose(from_env: Option<&str>, profile: Option<&Profile>) -> BrowserChoice {
        if let Some(value) = from_env.filter(|v| !v.trim().is_empty()) {
            return match parse_command_line(value) {
                Ok(setting) => BrowserChoice::Environment(setting),
                Err(e) => BrowserChoice::UnusableEnvironment(format!(
                    "{BROWSER_COMMAND_VAR} is not usable: {}",
                    e.message()
                )),
            };
        }
        match profile.map(|p| &p.browser) {
            None | Some(BrowserSetting::System) => BrowserChoice::System,
            Some(setting) => BrowserChoice::Profile(setting.clone()),
        }
    }

    /// The setting chosen (`None` when the variable is unusable).
    pub fn setting(&self) -> Option<&BrowserSetting> {
        match self {
            BrowserChoice::Environment(s) | BrowserChoice::Profile(s) => Some(s),
            BrowserChoice::System => Some(&BrowserSetting::System),
            BrowserChoice::UnusableEnvironment(_) => None,
        }
    }

    /// The argument vector, when a program is configured.
    pub fn command(&self) -> Option<&BrowserCommand> {
        match self.setting() {
            Some(BrowserSetting::Command(c)) => Some(c),
            _ => None,
        }
    }

    /// Whether no browser is opened (`none`): the caller shows the address.
    pub fn opens_nothing(&self) -> bool {
        self.setting() == Some(&BrowserSetting::OpenNothing)
    }

    /// The browser that opens URLs this way.
    pub fn browser(&self) -> Arc<dyn Browser> {
        match self {
            BrowserChoice::UnusableEnvironment(reason) => Arc::new(UnusableBrowser {
                reason: reason.clone(),
            }),
            _ => browser_for(self.setting().unwrap_or(&BrowserSetting::System)),
        }
    }
}

/// The browser a setting describes.
pub fn browser_for(setting: &BrowserSetting) -> Arc<dyn Browser> {
    match setting {
        BrowserSetting::System => Arc::new(SystemBrowser),
        BrowserSetting::OpenNothing => Arc::new(NoBrowser),
        BrowserSetting::Command(command) => Arc::new(CommandBrowser {
            command: command.clone(),
        }),
    }
}

/// A browser as `LATCHKEY_BROWSER_COMMAND` and `latchkey login --browser-command` give it: a
/// JSON array of strings (`["firefox", "-P", "work", "{url}"]`), `none`, `system`, or a
/// command line split on whitespace (no quoting: use the array for arguments with spaces).
pub fn parse_command_line(line: &str) -> Result<BrowserSetting> {
    let line = line.trim();
    let argv: Vec<String> = match line {
        OPEN_NOTHING => return Ok(BrowserSetting::OpenNothing),
        SYSTEM_DEFAULT => return Ok(BrowserSetting::System),
        l if l.starts_with('[') => serde_json::from_str(l).map_err(|e| {
            Error::new(ErrorKind::Config, format!("the browser command is not a JSON array of strings ({e}). Write it as [\"firefox\", \"-P\", \"work\", \"{{url}}\"]."))
        })?,
        l => l.split_whitespace().map(str::to_owned).collect(),
    };
    BrowserCommand::new(argv)
        .map(BrowserSetting::Command)
        .map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("the browser command is not usable: {e}. Fix: {}.", e.fix()),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    fn command(words: &[&str]) -> BrowserSetting {
        BrowserSetting::Command(BrowserCommand::new(argv(words)).unwrap())
    }

    #[test]
    fn the_variable_wins_over_the_profile_which_wins_over_the_system_browser() {
        let url = Url::parse("https://example.auth.eu-west-1.amazoncognito.com").unwrap();
        let mut profile = Profile::cognito("p", "eu-west-1", "eu-west-1_Pool", url, "client");
        assert_eq!(
            BrowserChoice::choose(None, Some(&profile)),
            BrowserChoice::System
        );
        profile.browser = command(&["firefox", "--new-window"]);
        assert_eq!(
            BrowserChoice::choose(None, Some(&profile)),
            BrowserChoice::Profile(command(&["firefox", "--new-window"]))
        );
        let chosen = BrowserChoice::choose(Some(" hook  --quiet "), Some(&profile));
        assert_eq!(
            chosen,
            BrowserChoice::Environment(command(&["hook", "--quiet"]))
        );
        assert_eq!(
            BrowserChoice::choose(Some(" \t"), Some(&profile)),
            BrowserChoice::Profile(command(&["firefox", "--new-window"])),
            "a blank variable is as if unset"
        );
        assert!(BrowserChoice::choose(Some("none"), None).opens_nothing());
    }

    #[test]
    fn the_variable_takes_a_json_array_and_an_unusable_one_fails_when_opening() {
        let chosen =
            BrowserChoice::choose(Some(r#"["/opt/my browser/run", "--x=a b", "{url}"]"#), None);
        assert_eq!(
            chosen,
            BrowserChoice::Environment(command(&["/opt/my browser/run", "--x=a b", "{url}"]))
        );
        let url = Url::parse("https://id.example.com/authorize").unwrap();
        for unusable in [r#"["firefox", 3]"#, "./relative.sh", r#"["{url}"]"#] {
            let chosen = BrowserChoice::choose(Some(unusable), None);
            assert!(
                matches!(chosen, BrowserChoice::UnusableEnvironment(_)),
                "{unusable}"
            );
            let e = chosen.browser().open(&url).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{unusable}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_program_is_found_by_absolute_path_or_on_path_only() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("browser");
        std::fs::write(&program, "#!/bin/sh\n").unwrap();
        assert_eq!(
            locate_program(&program.display().to_string()),
            None,
            "not executable yet"
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            locate_program(&program.display().to_string()),
            Some(program.clone())
        );
        assert_eq!(locate_program("latchkey-surely-not-a-program"), None);
        assert_eq!(locate_program("sub/browser"), None);
    }
}
