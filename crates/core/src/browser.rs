//! How the authorization URL reaches the user's browser: the system default (`open`), a
//! configured command run without a shell (URL as one argument), or a test double.

use std::sync::Arc;

use url::Url;

use crate::error::{Error, ErrorKind, Result};

/// Opens a URL in the system browser (never an embedded webview).
pub trait Browser: Send + Sync {
    fn open(&self, url: &Url) -> Result<()>;
}

/// The OS default browser via `open::that_detached`.
#[derive(Debug, Default, Clone)]
pub struct SystemBrowser;

impl Browser for SystemBrowser {
    fn open(&self, url: &Url) -> Result<()> {
        crate::authorize::validate_browser_url(url)?;
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
    pub argv: Vec<String>,
}

impl Browser for CommandBrowser {
    fn open(&self, url: &Url) -> Result<()> {
        crate::authorize::validate_browser_url(url)?;
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

/// The default for a profile: its `browser_command`, else the system browser.
pub fn for_command(argv: Option<&Vec<String>>) -> Arc<dyn Browser> {
    match argv {
        Some(a) => Arc::new(CommandBrowser { argv: a.clone() }),
        None => Arc::new(SystemBrowser),
    }
}
