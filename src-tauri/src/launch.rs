//! What `latchkey-app` does before it opens a window: `--help` and `--version` as text, and on
//! Linux a plain "no display" refusal (exit 1) where GTK would panic with a backtrace.

use std::ffi::OsString;

/// What the command line asks of the app before any window exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// Open the window.
    Window,
    /// Print [`usage`] and exit 0.
    Help,
    /// Print the name and version and exit 0.
    Version,
}

impl Launch {
    /// `--help`/`-h` or `--version`/`-V` anywhere among `args` (the program name excluded);
    /// anything else opens the window, as before (a second launch hands its arguments over).
    pub fn from_args(args: impl IntoIterator<Item = OsString>) -> Launch {
        let mut launch = Launch::Window;
        for arg in args {
            match arg.to_str() {
                Some("--help" | "-h") => return Launch::Help,
                Some("--version" | "-V") => launch = Launch::Version,
                _ => {}
            }
        }
        launch
    }
}

/// The short text of `latchkey-app --help`.
pub fn usage() -> String {
    format!(
        "latchkey-app {}: the Latchkey desktop app, sign-in to Amazon Cognito and OpenID Connect.\n\
         \n\
         Usage: latchkey-app [--help | --version]\n\
         \n\
         It opens a window (it needs a display) and takes no options. For a terminal, a remote\n\
         shell or a script, use the `latchkey` command: it shares the profiles and the session\n\
         with the app (`latchkey --help`, `man latchkey`).\n\
         \n\
         Environment:\n\
         \x20 LATCHKEY_CONFIG           profile file (default: config.toml in the OS config directory)\n\
         \x20 LATCHKEY_BROWSER_COMMAND  browser for every profile: a JSON list with {{url}}, `none`, or a program\n\
         \x20 LATCHKEY_LOG              log filter for stderr (default: warn,latchkey=info)",
        env!("CARGO_PKG_VERSION")
    )
}

/// No display server to open a window on: the variables looked at, as found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no display (DISPLAY is {display}, WAYLAND_DISPLAY is {wayland}); use the `latchkey` CLI in a terminal (`latchkey --help`), or start the app inside a graphical session")]
pub struct NoDisplay {
    display: String,
    wayland: String,
}

/// On Linux and the BSDs, a window needs an X11 (`DISPLAY`) or Wayland (`WAYLAND_DISPLAY`)
/// display; macOS and Windows always have one.
pub fn check_display(
    display: Option<OsString>,
    wayland_display: Option<OsString>,
) -> Result<(), NoDisplay> {
    if cfg!(any(target_os = "macos", target_os = "windows")) {
        return Ok(());
    }
    let set = |v: &Option<OsString>| v.as_ref().is_some_and(|v| !v.is_empty());
    if set(&display) || set(&wayland_display) {
        return Ok(());
    }
    let shown = |v: Option<OsString>| match v {
        None => "unset".to_owned(),
        Some(_) => "empty".to_owned(),
    };
    Err(NoDisplay {
        display: shown(display),
        wayland: shown(wayland_display),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn help_wins_then_version_and_anything_else_opens_the_window() {
        assert_eq!(Launch::from_args(args(&[])), Launch::Window);
        assert_eq!(Launch::from_args(args(&["--version", "-h"])), Launch::Help);
        assert_eq!(Launch::from_args(args(&["-V"])), Launch::Version);
        assert_eq!(Launch::from_args(args(&["latchkey://x"])), Launch::Window);
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn a_display_is_x11_or_wayland_and_an_empty_variable_is_none() {
        assert!(check_display(Some(":0".into()), None).is_ok());
        assert!(check_display(None, Some("wayland-0".into())).is_ok());
        let none = check_display(Some("".into()), None).unwrap_err();
        assert_eq!(none.display, "empty");
        assert_eq!(none.wayland, "unset");
    }
}
