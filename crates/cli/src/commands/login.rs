//! `latchkey login`: browser sign-in with progress on stderr; Ctrl-C cancels and frees the port.
//! With `--paste`, the address the browser ended on is read from stdin instead of the listener.

use std::fmt;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use latchkey_core::config::BrowserSetting;
use latchkey_core::UserSummary;
use latchkey_core::{browser_for, parse_command_line, Browser, BrowserChoice};
use latchkey_core::{Entry, Error as CoreError, ErrorKind, Session, SessionState, SignInOptions};
use serde::Serialize;
use tokio::sync::mpsc;
use url::Url;

use super::profile_sources;
use crate::agent_link;
use crate::cli::LoginArgs;
use crate::context::Ctx;
use crate::failure::{CliResult, Exit, Failure};
use crate::output::{mm_ss, print_report, when, KeychainFacts};

pub async fn run(ctx: &Ctx, a: LoginArgs) -> CliResult<Exit> {
    let chosen = match &a.browser_command {
        Some(cmd) => Some(parse_command_line(cmd).map_err(|e| {
            Failure::new(Exit::Config, format!("--browser-command: {}", e.message()))
        })?),
        None => None,
    };
    offer_demo_when_no_profile(ctx)?;
    let browser: Option<Arc<dyn Browser>> = chosen.as_ref().map(browser_for);
    let session = ctx.session(browser)?;
    let opens_nothing = match &chosen {
        Some(setting) => *setting == BrowserSetting::OpenNothing,
        None => BrowserChoice::for_profile(Some(session.profile())).opens_nothing(),
    };
    let profile = session.profile().clone();
    if let Some(p) = a.port {
        if !profile.any_port && !profile.ports.contains(&p) {
            eprintln!(
                "latchkey: warning: port {p} is not in profile `{}`'s ports; the provider must have http://{}:{p}{} registered.",
                profile.name, profile.redirect_host, profile.redirect_path
            );
        }
    }
    let user = sign_in(&session, &a, opens_nothing).await?;
    agent_link::forget(ctx, &session.profile().name).await;
    if let Some(warning) = session.storage().warning {
        // Signed in, but the session could not be saved: the CLI cannot keep it in memory.
        return Err(Failure::new(
            Exit::Keychain,
            format!(
                "signed in as {}, but the session was not saved: {}",
                user.email.as_deref().unwrap_or(&user.sub),
                crate::context::keychain_message(&warning)
            ),
        ));
    }
    let report = LoginReport {
        id_expires_at: session.tokens().await.ok().map(|t| t.id_expires_at),
        keychain: KeychainFacts::of(&session),
        profile: &profile.name,
        signed_in: true,
        user: &user,
    };
    match a.json {
        true => {
            print_report(&report, true)?;
            if let Some(lifetime) = report.keychain.lifetime {
                let store = &report.keychain.store_name;
                eprintln!("latchkey: note: the session is in the {store}; it is {lifetime}.");
            }
        }
        // For people on stderr: stdout stays empty (it is for data).
        false => eprint!("{report}"),
    }
    Ok(Exit::Ok)
}

/// With no profile at all: on a terminal, offer the built-in development provider (and add
/// it); without one, or declined, say what to run (exit 5, as any missing configuration).
fn offer_demo_when_no_profile(ctx: &Ctx) -> CliResult<()> {
    let config = ctx.load_config()?;
    let Some(no_profile) = crate::context::no_profile(&config) else {
        return Ok(());
    };
    if !profile_sources::terminal_wants_demo()? {
        return Err(no_profile);
    }
    let name = profile_sources::DEMO_NAME;
    let (profile, path, _) = profile_sources::save_demo(ctx, name, false, true)?;
    eprintln!(
        "Added profile `{}` to {}; signing in as {} (password {}).",
        profile.name,
        path.display(),
        latchkey_devidp::DEMO_USERNAME,
        latchkey_devidp::DEMO_PASSWORD
    );
    Ok(())
}

/// `latchkey login`'s report: who signed in, until when, and where the session is kept.
#[derive(Serialize)]
struct LoginReport<'a> {
    id_expires_at: Option<DateTime<Utc>>,
    keychain: KeychainFacts,
    profile: &'a str,
    signed_in: bool,
    user: &'a UserSummary,
}

impl fmt::Display for LoginReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let user = self.user;
        let who = (user.email.as_ref().or(user.username.as_ref())).unwrap_or(&user.sub);
        writeln!(f, "Signed in as {who} (profile `{}`).", self.profile)?;
        if let Some(at) = self.id_expires_at {
            writeln!(
                f,
                "ID token valid until {}; the session is saved in {}.",
                when(at),
                self.keychain.store_name
            )?;
        }
        if let Some(lifetime) = self.keychain.lifetime {
            writeln!(f, "Note: it is {lifetime}.")?;
        }
        Ok(())
    }
}

/// The sign-in the flags ask for, run while the progress is shown and Ctrl-C (or a pasted
/// address) is listened for.
async fn sign_in(session: &Session, a: &LoginArgs, opens_nothing: bool) -> CliResult<UserSummary> {
    let opts = SignInOptions {
        entry: if a.signup {
            Entry::SignUp
        } else if a.switch_user {
            Entry::AnotherUser
        } else {
            Entry::SignIn
        },
        extra_params: a.params.clone(),
        timeout: a.timeout.map(Duration::from_secs),
        port: a.port,
        no_browser: a.no_browser || a.paste,
    };
    let mut states = session.subscribe();
    let signing_in = {
        let s = session.clone();
        tokio::spawn(async move { s.sign_in(opts).await })
    };
    tokio::pin!(signing_in);
    let mut progress = Progress::new(session, a, opens_nothing);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let mut cancelled = false;
    let result = loop {
        tokio::select! {
            r = &mut signing_in => break r.map_err(|e| Failure::new(Exit::Other, format!("the sign-in task failed ({e}); this is a bug.")))?,
            changed = states.changed() => {
                if changed.is_ok() {
                    let state = states.borrow_and_update().clone();
                    progress.announce(state);
                }
            }
            _ = ticker.tick(), if progress.deadline.is_some() => progress.tick(),
            Some(address) = progress.pasted.recv() => {
                if let Some(e) = submit_pasted(session, address) {
                    // The sign-in stops here: its port closes before the error is shown.
                    session.cancel_sign_in();
                    let _ = (&mut signing_in).await;
                    break Err(e);
                }
            }
            Ok(()) = tokio::signal::ctrl_c() => {
                if cancelled {
                    // A second Ctrl-C: do not wait for the engine any longer.
                    break Err(CoreError::new(ErrorKind::Cancelled, "the sign-in was cancelled."));
                }
                cancelled = true;
                session.cancel_sign_in();
            }
        }
    };
    progress.clear();
    result.map_err(|e| match e.kind() {
        ErrorKind::Cancelled if cancelled => interrupted(&e),
        _ => e.into(),
    })
}

/// The sign-in Ctrl-C cancelled: exit 130; the port is closed and a saved session untouched.
fn interrupted(e: &CoreError) -> Failure {
    Failure::interrupted(format!(
        "{} (Ctrl-C); the callback port is closed and any saved session is kept.",
        e.message().trim_end_matches('.')
    ))
}

/// Hand a pasted address to the engine; `Some` error when it was refused or none came.
fn submit_pasted(session: &Session, address: Option<String>) -> Option<CoreError> {
    match address {
        Some(address) => session.submit_callback(&address).err(),
        None => Some(CoreError::new(
            ErrorKind::Cancelled,
            "nothing was pasted (stdin closed); the callback port is closed. Run `latchkey login --paste` again and paste the address the browser ended on.",
        )),
    }
}

/// What the user sees on stderr while the sign-in waits: where to go, then a countdown on a
/// terminal (a line every 30 s in logs and pipes).
struct Progress {
    profile: String,
    paste: bool,
    no_browser: bool,
    tty: bool,
    deadline: Option<DateTime<Utc>>,
    countdown_shown: bool,
    ticks: u64,
    paste_tx: Option<mpsc::Sender<Option<String>>>,
    /// The address pasted on stdin (`--paste`), or `None` at its end.
    pasted: mpsc::Receiver<Option<String>>,
}

impl Progress {
    /// `opens_nothing`: no browser is started (`browser = "none"`), so the address is shown as
    /// with `--no-browser`.
    fn new(session: &Session, a: &LoginArgs, opens_nothing: bool) -> Progress {
        let (paste_tx, pasted) = mpsc::channel(1);
        Progress {
            profile: session.profile().name.clone(),
            paste: a.paste,
            no_browser: a.no_browser || opens_nothing,
            tty: std::io::stderr().is_terminal(),
            deadline: None,
            countdown_shown: false,
            ticks: 0,
            paste_tx: Some(paste_tx),
            pasted,
        }
    }

    /// A new state: once the sign-in waits, say where to sign in and until when.
    fn announce(&mut self, state: SessionState) {
        let SessionState::SigningIn {
            authorize_url,
            redirect_uri,
            expires_at,
        } = state
        else {
            return;
        };
        let profile = &self.profile;
        let until = expires_at.format("%H:%M:%S UTC");
        if self.paste {
            eprintln!(
                "Open this URL in a browser on any computer to sign in to profile `{profile}`:"
            );
            eprintln!();
            eprintln!("  {authorize_url}");
            eprintln!();
            eprintln!("After signing in, the browser ends on {redirect_uri}?code=… (the page may say it cannot connect).");
            eprintln!("Copy that whole address from the address bar, paste it here and press Enter (until {until}; Ctrl-C cancels):");
            if let Some(tx) = self.paste_tx.take() {
                tokio::task::spawn_blocking(move || {
                    let _ = tx.blocking_send(read_pasted_address());
                });
            }
            return;
        }
        self.deadline = Some(expires_at);
        if self.no_browser {
            eprintln!(
                "Open this URL in a browser on this machine to sign in to profile `{profile}`:"
            );
            eprintln!();
            eprintln!("  {authorize_url}");
            eprintln!();
            if let Some(port) = Url::parse(&redirect_uri).ok().and_then(|u| u.port()) {
                eprintln!("From another computer, forward the callback port first: ssh -L {port}:localhost:{port} …");
            }
        } else {
            eprintln!("Opening the browser to sign in to profile `{profile}`…");
            eprintln!("If it does not open, visit: {authorize_url}");
        }
        eprintln!("Waiting for the redirect to {redirect_uri} (until {until}; Ctrl-C cancels).");
    }

    /// Once a second while waiting: the countdown.
    fn tick(&mut self) {
        let left = self
            .deadline
            .map(|d| ((d - Utc::now()).num_milliseconds() + 999) / 1000)
            .unwrap_or(0);
        if self.tty {
            eprint!(
                "\r\x1b[2KWaiting for the browser sign-in… {} left (Ctrl-C cancels)",
                mm_ss(left)
            );
            let _ = std::io::stderr().flush();
            self.countdown_shown = true;
        } else {
            // Logs and pipes get a plain line every 30 s instead of a redrawn countdown.
            self.ticks += 1;
            if self.ticks.is_multiple_of(30) && left > 0 {
                eprintln!(
                    "Still waiting for the browser sign-in ({} left).",
                    mm_ss(left)
                );
            }
        }
    }

    /// Erase the countdown line, if one was drawn.
    fn clear(&self) {
        if self.countdown_shown {
            eprint!("\r\x1b[2K");
            let _ = std::io::stderr().flush();
        }
    }
}

/// The first non-empty line on stdin (the pasted address), or `None` at its end. The line is
/// handed to the engine as is and never printed: it holds the authorization code.
fn read_pasted_address() -> Option<String> {
    for line in std::io::stdin().lock().lines() {
        match line {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => return Some(line),
            Err(_) => return None,
        }
    }
    None
}
