//! The profiles' commands: using, saving, testing, exporting and removing one, importing with
//! a review first, and the keychain's stray sessions.

use latchkey_core::config::{Config, ImportReview, ProfileDraft, MAX_IMPORT_BYTES};
use latchkey_core::{DiscoveredBrowser, ErrorKind, ProbeReport, StraySession};
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt;

use crate::error::{CommandError, CommandResult};
use crate::models::{ImportReviewView, ProfileSaved};
use crate::state::AppState;

#[tauri::command]
pub async fn use_profile(name: String, state: State<'_, AppState>) -> CommandResult<()> {
    let profile = {
        let mut config = state.config.lock().await;
        let profile = config.profile(&name)?.clone();
        config.default = Some(name);
        state.save(&config)?;
        profile
    };
    state.switch_to(profile).await
}

#[tauri::command]
pub async fn remove_profile(name: String, state: State<'_, AppState>) -> CommandResult<()> {
    state.remove_profile(&name).await
}

/// Adds a profile (`editing` false: never over an existing one) or saves an edit from the
/// settings form: core's validation, then a live check.
#[tauri::command]
pub async fn save_profile(
    name: String,
    draft: ProfileDraft,
    editing: bool,
    state: State<'_, AppState>,
) -> CommandResult<ProfileSaved> {
    state.save_profile(&name, draft, editing).await
}

/// Every setting of profile `name` as the profiles file would write it (also an invalid one's,
/// to fix it), for the edit form.
#[tauri::command]
pub async fn profile_draft(
    name: String,
    state: State<'_, AppState>,
) -> CommandResult<ProfileDraft> {
    let config = state.config.lock().await;
    match config.draft(&name) {
        Some(draft) => Ok(draft),
        None => Err(config.profile(&name).map(|_| ()).unwrap_err().into()),
    }
}

/// "Test connection": the form's settings, checked like the profiles file, then the provider
/// asked live (discovery, keys, clock, and for Cognito each callback URL). Nothing is saved.
#[tauri::command]
pub async fn test_connection(
    name: String,
    draft: ProfileDraft,
    state: State<'_, AppState>,
) -> CommandResult<ProbeReport> {
    let profile = state.validate(&name, &draft).await?;
    Ok(latchkey_core::probe(&profile).await)
}

/// Writes profile `name` (no secrets: a profile holds none) to a file the user picks.
#[tauri::command]
pub async fn export_profile(
    name: String,
    app: AppHandle,
    state: State<'_, AppState>,
) -> CommandResult<Option<String>> {
    let text = Config::export_profile(state.config.lock().await.profile(&name)?);
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Export the profile")
        .set_file_name(format!("{name}.latchkey.toml"))
        .add_filter("Latchkey profile", &["toml"])
        .save_file(move |path| {
            let _ = tx.send(path);
        });
    let Some(path) = rx.await.ok().flatten() else {
        return Ok(None);
    };
    let path = path
        .into_path()
        .map_err(|e| CommandError::new(ErrorKind::Internal, format!("not a file path: {e}")))?;
    std::fs::write(&path, text).map_err(|e| {
        CommandError::new(
            ErrorKind::Internal,
            format!("cannot write {}: {e}", path.display()),
        )
    })?;
    Ok(Some(path.display().to_string()))
}

/// "Import…": the profiles of a file the user picks, reviewed (every setting that differs from
/// the defaults, where tokens go first, what was dropped) and kept for `confirm_import`:
/// nothing is saved before the user says "Save profile" or "Replace profile".
#[tauri::command]
pub async fn review_import_file(
    app: AppHandle,
    state: State<'_, AppState>,
) -> CommandResult<Vec<ImportReviewView>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Import a profile")
        .add_filter("Latchkey profile", &["toml"])
        .pick_file(move |path| {
            let _ = tx.send(path);
        });
    let Some(path) = rx.await.ok().flatten() else {
        return Ok(vec![]);
    };
    let path = path
        .into_path()
        .map_err(|e| CommandError::new(ErrorKind::Internal, format!("not a file path: {e}")))?;
    let too_large = std::fs::metadata(&path).is_ok_and(|m| m.len() > MAX_IMPORT_BYTES);
    if too_large {
        return Err(CommandError::new(
            ErrorKind::Config,
            format!(
                "{} is larger than 1 MiB: not a profile file",
                path.display()
            ),
        ));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| {
        CommandError::new(
            ErrorKind::Config,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    reviewed(state.review_import(&text, &path).await?)
}

/// "Paste a profile": the same review for a profile copied from a wiki or a message.
#[tauri::command]
pub async fn review_import_text(
    text: String,
    state: State<'_, AppState>,
) -> CommandResult<Vec<ImportReviewView>> {
    if text.len() as u64 > MAX_IMPORT_BYTES {
        return Err(CommandError::new(
            ErrorKind::Config,
            "the pasted text is larger than 1 MiB: not a profile",
        ));
    }
    reviewed(
        state
            .review_import(&text, std::path::Path::new("(pasted profile)"))
            .await?,
    )
}

fn reviewed(reviews: Vec<ImportReview>) -> CommandResult<Vec<ImportReviewView>> {
    Ok(reviews
        .into_iter()
        .map(|review| ImportReviewView {
            action: review.action(),
            review,
        })
        .collect())
}

/// "Save profile NAME" / "Replace profile NAME" under a review: saves exactly what was
/// reviewed; `replace` is the user's explicit answer for an existing name.
#[tauri::command]
pub async fn confirm_import(
    name: String,
    replace: bool,
    state: State<'_, AppState>,
) -> CommandResult<()> {
    state.confirm_import(&name, replace).await
}

/// "Stray sessions…": the keychain's sessions that no profile reaches (a hand edit of the
/// file, an older version), named by profile, issuer and client id; never a secret.
#[tauri::command]
pub async fn stray_sessions(state: State<'_, AppState>) -> CommandResult<Vec<StraySession>> {
    state.stray_sessions().await
}

/// Revokes what it can of the stray sessions and deletes every item; one sentence each.
#[tauri::command]
pub async fn remove_stray_sessions(state: State<'_, AppState>) -> CommandResult<Vec<String>> {
    state.remove_stray_sessions().await
}

/// The browsers and browser profiles found on this computer, each with the `browser` setting
/// that opens it (the profile form's Browser choice).
#[tauri::command]
pub async fn discover_browsers() -> CommandResult<Vec<DiscoveredBrowser>> {
    Ok(
        tokio::task::spawn_blocking(latchkey_core::discover_browsers)
            .await
            .unwrap_or_default(),
    )
}
