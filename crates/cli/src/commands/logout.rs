//! `latchkey logout`: revoke, delete from the keychain, optionally open the provider's logout
//! page; with `--stray`, the same for every session no profile uses any more. A revocation
//! that fails is a warning on stderr (`revocation_error` with `--json`): the keychain entry is
//! deleted all the same.

use std::fmt;

use latchkey_core::config::Config;
use latchkey_core::{find_stray_sessions, remove_stray_sessions};
use latchkey_core::{BrowserChoice, LogoutUrl};
use latchkey_core::{SessionState, SignOutScope, Vault};
use latchkey_core::{StrayError, StrayOutcome, StrayRemoval};
use serde::Serialize;

use crate::agent_link;
use crate::cli::LogoutArgs;
use crate::context::{keychain_message, Ctx};
use crate::failure::{one_line, CliResult, Exit, Failure};
use crate::output::print_report;

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
    let outcome = session
        .sign_out(SignOutScope::everywhere_if(a.everywhere))
        .await?;
    agent_link::forget(ctx, &session.profile().name).await;
    let mut opened = false;
    let mut open_error = None;
    if let (Some(url), false) = (&outcome.logout_url, a.no_browser) {
        match BrowserChoice::for_profile(Some(session.profile()))
            .browser()
            .open(url.expose())
        {
            Ok(()) => opened = true,
            Err(e) => open_error = Some(e.message().to_owned()),
        }
    }
    if !a.json {
        for w in outcome.warnings.iter().chain(&open_error) {
            eprintln!("latchkey: warning: {}", one_line(w));
        }
    }
    let report = LogoutReport {
        logout_page_opened: opened,
        logout_url: outcome.logout_url.as_ref(),
        profile: &session.profile().name,
        revocation_error: outcome.revocation_error.as_deref(),
        revoked: outcome.revoked,
        signed_out: true,
        signed_out_everywhere: outcome.signed_out_everywhere,
        warnings: &outcome.warnings,
        was_signed_in,
    };
    print_report(&report, a.json)?;
    Ok(Exit::Ok)
}

/// `latchkey logout`'s report: what was revoked and deleted, and the provider's logout page
/// (shown without `id_token_hint`: the ID token is never printed).
#[derive(Serialize)]
struct LogoutReport<'a> {
    logout_page_opened: bool,
    logout_url: Option<&'a LogoutUrl>,
    profile: &'a str,
    revocation_error: Option<&'a str>,
    revoked: bool,
    signed_out: bool,
    signed_out_everywhere: bool,
    warnings: &'a [String],
    was_signed_in: bool,
}

impl fmt::Display for LogoutReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let profile = self.profile;
        let revoked = if self.signed_out_everywhere {
            "every device's refresh token ended, "
        } else if self.revoked {
            "refresh token revoked, "
        } else if self.revocation_error.is_some() {
            "refresh token NOT revoked at the provider, "
        } else {
            ""
        };
        match self.was_signed_in {
            true => writeln!(
                f,
                "Signed out of profile `{profile}` ({revoked}keychain entry deleted)."
            )?,
            false => writeln!(
                f,
                "Not signed in to profile `{profile}`; nothing is left in the keychain."
            )?,
        }
        match (self.logout_url, self.logout_page_opened) {
            (Some(_), true) => writeln!(
                f,
                "Opened the provider's logout page to end its browser session."
            ),
            (Some(url), false) => {
                writeln!(f, "To end the provider's browser session too, open: {url}")
            }
            (None, _) => Ok(()),
        }
    }
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
    print_report(&StrayReport { strays: removals }, json)?;
    Ok(if failed { Exit::Keychain } else { Exit::Ok })
}

/// `logout --stray`'s report: per stray session, what was revoked and deleted.
#[derive(Serialize)]
struct StrayReport {
    #[serde(serialize_with = "super::stray_json::serialize_removals")]
    strays: Vec<StrayRemoval>,
}

impl fmt::Display for StrayReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.strays.is_empty() {
            return writeln!(
                f,
                "No stray sessions: every Latchkey item in the keychain belongs to a profile."
            );
        }
        for r in &self.strays {
            let s = &r.stray;
            writeln!(
                f,
                "`{}` (issuer {}, client {}; {}): {}.",
                s.profile_name,
                s.issuer,
                s.client_id,
                s.contents(),
                one_line(&r.describe())
            )?;
        }
        Ok(())
    }
}
