//! `latchkey login`: browser sign-in with progress on stderr; Ctrl-C cancels and frees the port.
//! With `--paste`, the address the browser ended on is read from stdin instead of the listener.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use latchkey_core::{Browser, CommandBrowser};
use latchkey_core::{Entry, SessionState, SignInOptions};
use url::Url;

use crate::cli::LoginArgs;
use crate::context::Ctx;
use crate::failure::{CliResult, Exit, Failure};
use crate::output::{mm_ss, print_json, when};

pub async fn run(ctx: &Ctx, a: LoginArgs) -> CliResult<Exit> {
    let browser: Option<Arc<dyn Browser>> = match &a.browser_command {
        Some(cmd) => Some(
            CommandBrowser::from_command_line(cmd)
                .map(Arc::new)
                .ok_or_else(|| {
                    Failure::new(
                Exit::Config,
                "--browser-command is empty; give a program, e.g. --browser-command firefox.",
            )
                })?,
        ),
        None => None,
    };
    let session = ctx.session(browser)?;
    let profile = session.profile().clone();
    if let Some(p) = a.port {
        if !profile.any_port && !profile.ports.contains(&p) {
            eprintln!(
                "latchkey: warning: port {p} is not in profile `{}`'s ports; the provider must have http://{}:{p}{} registered.",
                profile.name, profile.redirect_host, profile.redirect_path
            );
        }
    }
    let opts = SignInOptions {
        entry: if a.signup {
            Entry::SignUp
        } else if a.switch_user {
            Entry::AnotherUser
        } else {
            Entry::SignIn
        },
        extra_params: a.params.clone(),
        timeout: a.timeout.map(Duration::from_secs).unwrap_or(Duration::ZERO),
        port: a.port,
        no_browser: a.no_browser || a.paste,
    };
    let tty = std::io::stderr().is_terminal();
    let mut states = session.subscribe();
    let signing_in = {
        let s = session.clone();
        tokio::spawn(async move { s.sign_in(opts).await })
    };
    tokio::pin!(signing_in);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let mut deadline = None;
    let mut countdown_shown = false;
    let mut cancelled = false;
    let mut ticks: u64 = 0;
    let (paste_tx, mut pasted) = tokio::sync::mpsc::channel(1);
    let mut paste_tx = Some(paste_tx);
    let result = loop {
        tokio::select! {
            r = &mut signing_in => break r.map_err(|e| Failure::new(Exit::Other, format!("the sign-in task failed ({e}); this is a bug.")))?,
            changed = states.changed() => {
                if changed.is_err() { continue; }
                let st = states.borrow_and_update().clone();
                if let SessionState::SigningIn { authorize_url, redirect_uri, expires_at } = st {
                    if a.paste {
                        eprintln!("Open this URL in a browser on any computer to sign in to profile `{}`:", profile.name);
                        eprintln!();
                        eprintln!("  {authorize_url}");
                        eprintln!();
                        eprintln!("After signing in, the browser ends on {redirect_uri}?code=… (the page may say it cannot connect).");
                        eprintln!("Copy that whole address from the address bar, paste it here and press Enter (until {}; Ctrl-C cancels):", expires_at.format("%H:%M:%S UTC"));
                        if let Some(tx) = paste_tx.take() {
                            tokio::task::spawn_blocking(move || { let _ = tx.blocking_send(read_pasted_address()); });
                        }
                        continue;
                    }
                    deadline = Some(expires_at);
                    if a.no_browser {
                        eprintln!("Open this URL in a browser on this machine to sign in to profile `{}`:", profile.name);
                        eprintln!();
                        eprintln!("  {authorize_url}");
                        eprintln!();
                        if let Some(port) = Url::parse(&redirect_uri).ok().and_then(|u| u.port()) {
                            eprintln!("From another computer, forward the callback port first: ssh -L {port}:localhost:{port} …");
                        }
                    } else {
                        eprintln!("Opening the browser to sign in to profile `{}`…", profile.name);
                        eprintln!("If it does not open, visit: {authorize_url}");
                    }
                    eprintln!("Waiting for the redirect to {redirect_uri} (until {}; Ctrl-C cancels).", expires_at.format("%H:%M:%S UTC"));
                }
            }
            _ = ticker.tick(), if deadline.is_some() => {
                let left = deadline.map(|d| ((d - Utc::now()).num_milliseconds() + 999) / 1000).unwrap_or(0);
                if tty {
                    eprint!("\r\x1b[2KWaiting for the browser sign-in… {} left (Ctrl-C cancels)", mm_ss(left));
                    let _ = std::io::stderr().flush();
                    countdown_shown = true;
                } else {
                    // Logs and pipes get a plain line every 30 s instead of a redrawn countdown.
                    ticks += 1;
                    if ticks.is_multiple_of(30) && left > 0 {
                        eprintln!("Still waiting for the browser sign-in ({} left).", mm_ss(left));
                    }
                }
            }
            Some(address) = pasted.recv() => {
                let refused = match address {
                    Some(address) => session.submit_callback(&address).err(),
                    None => Some(latchkey_core::Error::new(
                        latchkey_core::ErrorKind::Cancelled,
                        "nothing was pasted (stdin closed); the callback port is closed. Run `latchkey login --paste` again and paste the address the browser ended on.",
                    )),
                };
                if let Some(e) = refused {
                    // The sign-in stops here: its port closes before the error is shown.
                    session.cancel_sign_in();
                    let _ = (&mut signing_in).await;
                    break Err(e);
                }
            }
            _ = tokio::signal::ctrl_c() => {
                if cancelled {
                    // A second Ctrl-C: do not wait for the engine any longer.
                    break Err(latchkey_core::Error::new(
                        latchkey_core::ErrorKind::Cancelled,
                        "the sign-in was cancelled.",
                    ));
                }
                cancelled = true;
                session.cancel_sign_in();
            }
        }
    };
    if countdown_shown {
        eprint!("\r\x1b[2K");
        let _ = std::io::stderr().flush();
    }
    let user = result?;
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
    let tokens = session.tokens().await.ok();
    if a.json {
        print_json(&serde_json::json!({
            "signed_in": true,
            "profile": profile.name,
            "user": user,
            "id_expires_at": tokens.as_ref().map(|t| t.id_expires_at),
            "keychain": session.storage(),
        }))?;
    } else {
        let who = user
            .email
            .clone()
            .or(user.username.clone())
            .unwrap_or(user.sub.clone());
        eprintln!("Signed in as {who} (profile `{}`).", profile.name);
        if let Some(t) = tokens {
            eprintln!(
                "ID token valid until {}; the session is saved in {}.",
                when(t.id_expires_at),
                session.storage().store_name
            );
        }
    }
    Ok(Exit::Ok)
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
