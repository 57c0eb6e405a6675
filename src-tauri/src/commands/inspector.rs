//! The token inspector's commands: the current and pasted tokens verified and explained, the
//! profile's expectations, userinfo, the refresh token's facts, and a token revealed or copied.

use latchkey_core::config::TokenChoice;
use latchkey_core::{GivenKeys, Inspection, RefreshTokenInfo};
use tauri::{AppHandle, State};

use super::copy_secret;
use crate::error::CommandResult;
use crate::models::Copied;
use crate::state::AppState;

/// The current ID or access token, verified, with the profile's expectations judged.
#[tauri::command]
pub async fn inspect_token(
    which: TokenChoice,
    state: State<'_, AppState>,
) -> CommandResult<Inspection> {
    let mut inspection = state.session().await.0.inspect_current(which).await?;
    inspection.judge_applicable(&state.expectations().await);
    Ok(inspection)
}

/// A pasted token, verified against the active provider when it can be.
#[tauri::command]
pub async fn inspect_pasted(
    token: String,
    state: State<'_, AppState>,
) -> CommandResult<Inspection> {
    let mut inspection = state.session().await.0.inspect_token(token.trim()).await?;
    inspection.judge_applicable(&state.expectations().await);
    Ok(inspection)
}

/// A pasted token, verified against keys the user gave (a JWKS URL, a JWKS, a PEM key); the
/// token itself goes nowhere.
#[tauri::command]
pub async fn inspect_with_keys(
    token: String,
    keys: GivenKeys,
    state: State<'_, AppState>,
) -> CommandResult<Inspection> {
    let mut inspection = latchkey_core::inspect_with_keys(token.trim(), &keys, None).await?;
    inspection.judge_applicable(&state.expectations().await);
    Ok(inspection)
}

/// Replaces the active profile's expectations; answers with them as saved.
#[tauri::command]
pub async fn save_expectations(
    expect: Vec<String>,
    state: State<'_, AppState>,
) -> CommandResult<Vec<String>> {
    state.save_expectations(expect).await
}

/// What the provider's userinfo endpoint says about the signed-in user.
#[tauri::command]
pub async fn userinfo(state: State<'_, AppState>) -> CommandResult<serde_json::Value> {
    Ok(state.session().await.0.userinfo().await?)
}

#[tauri::command]
pub async fn refresh_token_info(
    state: State<'_, AppState>,
) -> CommandResult<Option<RefreshTokenInfo>> {
    Ok(state.session().await.0.refresh_token_info())
}

/// The only way a token reaches the window: the user asked to see the raw token. Never the
/// refresh token.
#[tauri::command]
pub async fn reveal_token(which: TokenChoice, state: State<'_, AppState>) -> CommandResult<String> {
    let token = state.session().await.0.token(which).await?;
    state.activity.note(
        "INFO",
        format!("{} token revealed by the user", which.as_str()),
    );
    Ok(token.expose().to_owned())
}

/// Puts the token on the clipboard from here (it never passes through the window) and clears
/// the clipboard after [`CLIPBOARD_CLEAR_AFTER`] if it still holds that token.
#[tauri::command]
pub async fn copy_token(
    which: TokenChoice,
    app: AppHandle,
    state: State<'_, AppState>,
) -> CommandResult<Copied> {
    let token = state.session().await.0.token(which).await?;
    copy_secret(
        app,
        &state,
        token.expose().to_owned(),
        &format!("{} token", which.as_str()),
    )
}
