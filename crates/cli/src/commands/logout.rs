//! `latchkey logout`: revoke, delete from the keychain, optionally open the provider's logout
//! page; with `--stray`, the same for every session no profile uses any more. A revocation
//! that fails is a warning on stderr (`revocation_error` with `--json`): the keychain entry is
//! deleted all the same.

use crate::cli::LogoutArgs;
use crate::context::{keychain_message, Ctx};
use crate::failure::{one_line, CliResult, Exit, Failure};
use crate::output::print_json;
use latchkey_core::config::Config;
use latchkey_core::BrowserChoice;
use latchkey_core::{find_stray_sessions, remove_stray_sessions};
use latchkey_core::{SessionState, Vault};
use latchkey_core::{StrayError, StrayOutcome, StrayRemoval};

pub async fn run(ctx: &Ctx, a: LogoutArgs) -> CliResult<Exit> {
    if a.stray {
        return remove_strays(ctx, a.json).await;
    }
    let session = ctx.session(None)?;
    // A session that cannot be restored (expired, damaged) is still deleted below.
    let was_signed_in = matches!(
        session.restore().await,
        Ok(SessionState::SignedIn { .. } | SessionState::Refreshing { .. })
    );
    let outcome = session.sign_out(a.everywhere).await?;
    let profile = session.profile().name.clone();
    let mut opened = false;
    let mut open_error = None;
    if let Some(url) = &outcome.logout_url {
        if !a.no_browser {
            let browser = BrowserChoice::for_profile(Some(session.profile())).browser();
            match browser.open(url.expose()) {
                Ok(()) => opened = true,
                Err(e) => open_error = Some(e.message().to_owned()),
            }
        }
    }
    if a.json {
        print_json(&serde_json::json!({
            "signed_out": true,
            "was_signed_in": was_signed_in,
            "profile": profile,
            "revoked": outcome.revoked,
            "revocation_error": outcome.revocation_error,
            "signed_out_everywhere": outcome.signed_out_everywhere,
            "logout_url": outcome.logout_url,
            "logout_page_opened": opened,
            "warnings": outcome.warnings,
        }))?;
    } else {
        for w in &outcome.warnings {
            eprintln!("latchkey: warning: {}", one_line(w));
        }
        let revoked = if outcome.signed_out_everywhere {
            "every device's refresh token ended, "
        } else if outcome.revoked {
            "refresh token revoked, "
        } else if outcome.revocation_error.is_some() {
            "refresh token NOT revoked at the provider, "
        } else {
            ""
        };
        if was_signed_in {
            println!("Signed out of profile `{profile}` ({revoked}keychain entry deleted).");
        } else {
            println!("Not signed in to profile `{profile}`; nothing is left in the keychain.");
        }
        if let Some(url) = &outcome.logout_url {
            if opened {
                println!("Opened the provider's logout page to end its browser session.");
            } else {
                if let Some(e) = open_error {
                    eprintln!("latchkey: warning: {}", one_line(&e));
                }
                // Shown without `id_token_hint`: the ID token is not printed to the terminal.
                println!("To end the provider's browser session too, open: {url}");
            }
        }
    }
    Ok(Exit::Ok)
}

/// `logout --stray`: revoke and delete what no profile of the file (read leniently: an invalid
/// profile keeps its items) reaches, and say per session what happened.
async fn remove_strays(ctx: &Ctx, json: bool) -> CliResult<Exit> {
    let config = Config::load_lenient(&ctx.config_path()?)?;
    let vault = Vault::system();
    let strays = find_stray_sessions(&vault, &config)
        .await
        .map_err(|e| match e {
            StrayError::Keychain(e) => Failure::new(Exit::Keychain, keychain_message(e.message())),
            cannot_list => Failure::from(latchkey_core::Error::from(cannot_list)),
        })?;
    let removals = remove_stray_sessions(&vault, &config, strays).await;
    let failed = removals
        .iter()
        .any(|r| matches!(r.outcome, StrayOutcome::NotRemoved { .. }));
    if json {
        print_json(&serde_json::json!({ "strays": removals }))?;
    } else {
        print_removals(&removals);
    }
    Ok(if failed { Exit::Keychain } else { Exit::Ok })
}

fn print_removals(removals: &[StrayRemoval]) {
    if removals.is_empty() {
        println!("No stray sessions: every Latchkey item in the keychain belongs to a profile.");
        return;
    }
    for r in removals {
        let s = &r.stray;
        println!(
            "`{}` (issuer {}, client {}; {}): {}.",
            s.profile_name,
            s.issuer,
            s.client_id,
            s.contents(),
            one_line(&r.describe())
        );
    }
}
