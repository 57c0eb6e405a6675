//! The commands the window may call, one file per view (the same names are in `build.rs`'s
//! `COMMANDS`, allowed in `capabilities/default.json` and wrapped one by one in `ui/bridge.js`).
//! Each is a few lines over `latchkey_core::Session` or the app state; arguments are typed;
//! errors come back as core's `{kind, check?, aws?, message}`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use latchkey_core::ErrorKind;
use tauri::AppHandle;
use tauri_plugin_clipboard_manager::ClipboardExt;

use crate::error::{CommandError, CommandResult};
use crate::models::Copied;
use crate::state::AppState;

mod activity;
mod app;
mod aws;
mod console;
mod inspector;
mod profiles;
mod session;
#[cfg(test)]
mod tests;

/// Every command, for the builder's `invoke_handler`.
pub fn handler() -> impl Fn(tauri::ipc::Invoke<tauri::Wry>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        app::app_info,
        session::session_state,
        session::sign_in,
        session::switch_user,
        session::cancel_sign_in,
        session::open_authorize_url_again,
        session::refresh_now,
        session::sign_out,
        inspector::inspect_token,
        inspector::inspect_pasted,
        inspector::inspect_with_keys,
        inspector::save_expectations,
        inspector::userinfo,
        inspector::refresh_token_info,
        inspector::reveal_token,
        inspector::copy_token,
        app::copy_text,
        console::call_api,
        console::cancel_api_call,
        console::console_load,
        console::console_save,
        console::console_delete,
        console::console_clear_history,
        console::curl_command,
        aws::aws_identity,
        aws::reveal_aws,
        aws::copy_aws_environment,
        aws::aws_config_snippet,
        activity::activity_log,
        activity::clear_activity,
        activity::export_activity,
        profiles::use_profile,
        profiles::remove_profile,
        profiles::save_profile,
        profiles::profile_draft,
        profiles::test_connection,
        profiles::export_profile,
        profiles::review_import_file,
        profiles::review_import_text,
        profiles::confirm_import,
        profiles::stray_sessions,
        profiles::remove_stray_sessions,
        profiles::discover_browsers,
        app::ui_ready,
        app::set_keep_in_tray,
        app::quit_app,
    ]
}

/// How long a copied token stays on the clipboard.
pub const CLIPBOARD_CLEAR_AFTER: Duration = Duration::from_secs(30);

/// Puts `secret` on the clipboard marked as a secret, so clipboard managers keep it out of
/// their history (`x-kde-passwordManagerHint` on X11 and Wayland, `org.nspasteboard.ConcealedType`
/// on macOS, `ExcludeClipboardContentFromMonitorProcessing` on Windows: the clipboard plugin's
/// `write_secret`, whose clipboard lives as long as the app and serves the X11 selection), and
/// clears it after [`CLIPBOARD_CLEAR_AFTER`] unless the clipboard holds something else by then
/// (or another secret was copied since).
pub(crate) fn copy_secret(
    app: AppHandle,
    state: &AppState,
    secret: String,
    what: &str,
) -> CommandResult<Copied> {
    app.clipboard().write_secret(secret.clone()).map_err(|e| {
        CommandError::new(
            ErrorKind::Internal,
            format!("the clipboard refused the {what} ({e}); nothing was copied"),
        )
    })?;
    state.activity.note(
        "INFO",
        format!(
            "{what} copied by the user; the clipboard is cleared in {} s",
            CLIPBOARD_CLEAR_AFTER.as_secs()
        ),
    );
    let generation = state.clipboard_generation.fetch_add(1, Ordering::SeqCst) + 1;
    let what = what.to_owned();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(CLIPBOARD_CLEAR_AFTER).await;
        let state = tauri::Manager::state::<AppState>(&app);
        let still_ours = state.clipboard_generation.load(Ordering::SeqCst) == generation
            && app.clipboard().read_text().is_ok_and(|t| t == secret);
        if still_ours && app.clipboard().clear().is_ok() {
            state.activity.note(
                "INFO",
                format!("the copied {what} was cleared from the clipboard"),
            );
        }
    });
    Ok(Copied {
        clears_in_secs: CLIPBOARD_CLEAR_AFTER.as_secs(),
    })
}
