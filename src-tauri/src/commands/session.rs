//! The session's commands: its state, signing in (also as another user), the waiting sign-in,
//! refreshing now and signing out.

use latchkey_core::{Entry, ErrorKind, SessionState, SignInOptions, SignOutOutcome};
use tauri::State;

use crate::error::{CommandError, CommandResult};
use crate::models::SessionView;
use crate::state::AppState;

#[tauri::command]
pub async fn session_state(state: State<'_, AppState>) -> CommandResult<SessionView> {
    Ok(state.view().await)
}

#[tauri::command]
pub async fn sign_in(entry: Entry, state: State<'_, AppState>) -> CommandResult<SessionView> {
    let options = SignInOptions {
        entry,
        ..SignInOptions::default()
    };
    state.session().await.0.sign_in(options).await?;
    Ok(state.view().await)
}

/// "Sign in as another user": signs out here (the refresh token revoked and deleted), then
/// signs in on the provider's page that ends its browser session first and asks who signs in
/// (Cognito's `/logout` … `response_type=code` form; `prompt=login` elsewhere).
#[tauri::command]
pub async fn switch_user(state: State<'_, AppState>) -> CommandResult<SessionView> {
    let session = state.session().await.0;
    let outcome = session
        .sign_out(latchkey_core::SignOutScope::ThisDevice)
        .await?;
    for warning in outcome.warnings {
        state
            .activity
            .note("WARN", format!("switching user: {warning}"));
    }
    session
        .sign_in(SignInOptions {
            entry: Entry::AnotherUser,
            ..SignInOptions::default()
        })
        .await?;
    Ok(state.view().await)
}

#[tauri::command]
pub async fn cancel_sign_in(state: State<'_, AppState>) -> CommandResult<()> {
    state.session().await.0.cancel_sign_in();
    Ok(())
}

#[tauri::command]
pub async fn open_authorize_url_again(state: State<'_, AppState>) -> CommandResult<()> {
    let (session, profile) = state.session().await;
    let SessionState::SigningIn { authorize_url, .. } = session.state() else {
        return Err(CommandError::new(
            ErrorKind::NotSignedIn,
            "no sign-in is waiting for the browser",
        ));
    };
    let browser = latchkey_core::BrowserChoice::for_profile(Some(&profile)).browser();
    Ok(browser.open(&authorize_url)?)
}

#[tauri::command]
pub async fn refresh_now(state: State<'_, AppState>) -> CommandResult<SessionView> {
    state.session().await.0.force_refresh().await?;
    Ok(state.view().await)
}

/// Signs out; the provider's logout page opens here, in the system browser. The window gets
/// the outcome with the logout URL redacted (no `id_token_hint`).
#[tauri::command]
pub async fn sign_out(
    everywhere: bool,
    state: State<'_, AppState>,
) -> CommandResult<SignOutOutcome> {
    let (session, profile) = state.session().await;
    let scope = latchkey_core::SignOutScope::everywhere_if(everywhere);
    let mut outcome = session.sign_out(scope).await?;
    if let Some(url) = &outcome.logout_url {
        let browser = latchkey_core::BrowserChoice::for_profile(Some(&profile)).browser();
        if let Err(e) = browser.open(url.expose()) {
            outcome.warnings.push(format!("signed out here, but the provider's logout page did not open ({e}); open {url} to end the browser session too"));
        }
    }
    Ok(outcome)
}
