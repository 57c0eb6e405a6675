//! How the authorization URL reaches the user's browser: the system default (`open`), a
//! configured command run without a shell (URL as one argument), or a test double; and which
//! of them a profile gets ([`BrowserChoice`], the one reader of `LATCHKEY_BROWSER_COMMAND`).

use std::sync::Arc;

use url::Url;

use crate::authorize::validate_browser_url;
use crate::config::Profile;
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
            Error::new(ErrorKind::Browser, format!("could not open the system browser ({e}). Open the sign-in URL shown by Latchkey yourself, or set `browser_command` in the profile."))
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

/// A configured program: `argv[0] argv[1..] <url>`, spawned directly (no shell).
#[derive(Debug, Clone)]
pub struct CommandBrowser {
    /// The program, then its leading arguments; the URL is appended as the last argument.
    /// Empty is an [`ErrorKind::Config`] error when a URL is opened.
    pub argv: Vec<String>,
}

impl Browser for CommandBrowser {
    fn open(&self, url: &Url) -> Result<()> {
        validate_browser_url(url)?;
        let (prog, args) = self.argv.split_first().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "`browser_command` is empty; give a program name.",
            )
        })?;
        std::process::Command::new(prog)
            .args(args)
            .arg(url.as_str())
            .stdin(std::process::Stdio::null())
            .spawn()
            .map(|_child| ())
            .map_err(|e| {
                Error::new(ErrorKind::Browser, format!("could not run the browser command `{prog}` ({e}). Fix `browser_command` in the profile or open the sign-in URL yourself."))
            })
    }
}

/// Does nothing: the caller shows the URL (`--no-browser`).
#[derive(Debug, Default, Clone)]
pub struct NoBrowser;

impl Browser for NoBrowser {
    fn open(&self, _url: &Url) -> Result<()> {
        Ok(())
    }
}

/// The environment variable that names a browser command for every profile (tests, remote
/// set-ups); it wins over a profile's `browser_command`. Read only by [`BrowserChoice`].
pub const BROWSER_COMMAND_VAR: &str = "LATCHKEY_BROWSER_COMMAND";

/// Which program opens a profile's URLs, and where that was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrowserChoice {
    /// [`BROWSER_COMMAND_VAR`], split on whitespace.
    Environment(Vec<String>),
    /// The profile's `browser_command`.
    Profile(Vec<String>),
    /// The OS default browser.
    System,
}

impl BrowserChoice {
    /// `LATCHKEY_BROWSER_COMMAND` when it names a program, else the profile's
    /// `browser_command`, else the system browser (also without a profile).
    pub fn for_profile(profile: Option<&Profile>) -> BrowserChoice {
        let from_env = std::env::var(BROWSER_COMMAND_VAR).ok();
        BrowserChoice::choose(from_env.as_deref(), profile)
    }

    /// The rule behind [`BrowserChoice::for_profile`], given the variable's value: one that
    /// names no program (empty, blanks) is as if unset.
    fn choose(from_env: Option<&str>, profile: Option<&Profile>) -> BrowserChoice {
        if let Some(argv) = from_env.and_then(split_command_line) {
            return BrowserChoice::Environment(argv);
        }
        match profile.and_then(|p| p.browser_command.clone()) {
            Some(argv) => BrowserChoice::Profile(argv),
            None => BrowserChoice::System,
        }
    }

    /// The program and its leading arguments; `None` for the system browser.
    pub fn command(&self) -> Option<&[String]> {
        match self {
            BrowserChoice::Environment(argv) | BrowserChoice::Profile(argv) => Some(argv),
            BrowserChoice::System => None,
        }
    }

    /// The browser that opens URLs this way.
    pub fn browser(&self) -> Arc<dyn Browser> {
        match self.command() {
            Some(argv) => Arc::new(CommandBrowser {
                argv: argv.to_vec(),
            }),
            None => Arc::new(SystemBrowser),
        }
    }
}

impl CommandBrowser {
    /// A command line as `LATCHKEY_BROWSER_COMMAND` and `latchkey login --browser-command` take
    /// it: split on whitespace, the URL appended. `None` when it names no program.
    pub fn from_command_line(line: &str) -> Option<CommandBrowser> {
        split_command_line(line).map(|argv| CommandBrowser { argv })
    }
}

fn split_command_line(line: &str) -> Option<Vec<String>> {
    let argv: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    (!argv.is_empty()).then_some(argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn the_variable_wins_over_the_profile_which_wins_over_the_system_browser() {
        let url = Url::parse("https://example.auth.eu-west-1.amazoncognito.com").unwrap();
        let mut profile = Profile::cognito("p", "eu-west-1", "eu-west-1_Pool", url, "client");
        assert_eq!(
            BrowserChoice::choose(None, Some(&profile)),
            BrowserChoice::System
        );
        profile.browser_command = Some(argv(&["firefox", "--new-window"]));
        assert_eq!(
            BrowserChoice::choose(None, Some(&profile)),
            BrowserChoice::Profile(argv(&["firefox", "--new-window"]))
        );
        let chosen = BrowserChoice::choose(Some(" hook  --quiet "), Some(&profile));
        assert_eq!(
            chosen,
            BrowserChoice::Environment(argv(&["hook", "--quiet"]))
        );
        assert_eq!(
            BrowserChoice::choose(Some(" \t"), Some(&profile)).command(),
            Some(&argv(&["firefox", "--new-window"])[..]),
            "a blank variable is as if unset"
        );
        assert_eq!(
            BrowserChoice::choose(Some("hook"), None),
            BrowserChoice::Environment(argv(&["hook"]))
        );
        assert!(CommandBrowser::from_command_line("   ").is_none());
    }
}
