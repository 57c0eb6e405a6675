//! The app's own commands: what the window learns about the build, the profiles and the
//! keychain, plain text to the clipboard, and the first-paint marker.

use latchkey_core::ErrorKind;
use tauri::{AppHandle, State};
use tauri_plugin_clipboard_manager::ClipboardExt;
use url::Url;

use crate::agent_host::AgentHost;
use crate::demo::{self, DEMO_CREDENTIALS};
use crate::error::{CommandError, CommandResult};
use crate::models::{AppInfo, ProfileSummary, TrayView, VaultView};
use crate::settings::{CloseToTray, TrayPresence};
use crate::state::AppState;

#[tauri::command]
pub async fn app_info(
    state: State<'_, AppState>,
    agent: State<'_, AgentHost>,
    close: State<'_, CloseToTray>,
) -> CommandResult<AppInfo> {
    let (session, active) = state.session().await;
    let health = session.check_keychain().await;
    let config = state.config.lock().await;
    let valid = config.profiles.values().map(|p| ProfileSummary {
        name: p.name.clone(),
        kind: if p.is_cognito() { "Cognito" } else { "OIDC" },
        issuer: p.issuer(),
        removable: p.name != active.name,
        invalid: None,
    });
    let invalid = config.invalid.iter().map(|(name, e)| ProfileSummary {
        name: name.clone(),
        kind: "invalid",
        issuer: String::new(),
        removable: true,
        invalid: Some(e.to_string()),
    });
    let is_demo = demo::is_demo(&active);
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        commit: env!("LATCHKEY_COMMIT"),
        profiles: valid.chain(invalid).collect(),
        active_profile: active.name.clone(),
        provider_label: match (&state.devidp, is_demo) {
            (Some(idp), true) => format!("the development provider ({})", idp.base_url()),
            _ => active.issuer(),
        },
        demo: is_demo.then_some(DEMO_CREDENTIALS),
        vault: VaultView {
            store: health.store_name,
            ok: health.ok,
            message: health.message,
        },
        api_bases: active.api_base_urls.iter().map(Url::to_string).collect(),
        config_error: state.config_error.clone(),
        config_path: config
            .path
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        expectations: config
            .profiles
            .get(&active.name)
            .map(|p| p.expect.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
        licences: include_str!(concat!(env!("OUT_DIR"), "/licences.txt")),
        agent: agent.holding().describe(),
        agent_holder: agent.holding().holder(),
        tray: tray_view(&close),
    })
}

fn tray_view(close: &CloseToTray) -> TrayView {
    TrayView {
        available: close.presence.available(),
        keep_in_tray: close.keeps_in_tray(),
        why_not: match &close.presence {
            TrayPresence::Available => None,
            TrayPresence::Missing { why } => {
                Some(format!("Closing the window quits Latchkey: {why}."))
            }
        },
    }
}

/// "Quit" in the dialog the tray's Quit opened: the app's agent stops (its socket goes), then
/// the app ends.
#[tauri::command]
pub async fn quit_app(app: AppHandle) -> CommandResult<()> {
    crate::tray::quit_now(app).await;
    Ok(())
}

/// The "keep running in the tray when the window closes" setting, saved with the app's
/// settings; answers the setting as it now stands.
#[tauri::command]
pub async fn set_keep_in_tray(
    keep: bool,
    close: State<'_, CloseToTray>,
) -> CommandResult<TrayView> {
    close.choose(keep).map_err(|e| {
        CommandError::new(
            ErrorKind::Internal,
            format!("the setting could not be saved ({e}); check that the app's data directory is writable"),
        )
    })?;
    Ok(tray_view(&close))
}

/// Puts text that is not a secret (a URL, a curl command) on the clipboard, unmarked: a
/// clipboard manager may keep it.
#[tauri::command]
pub fn copy_text(text: String, app: AppHandle) -> CommandResult<()> {
    app.clipboard().write_text(text).map_err(|e| {
        CommandError::new(
            ErrorKind::Internal,
            format!("the clipboard refused the text ({e})"),
        )
    })
}

/// The UI's first-paint marker (benchmarks measure start-up to it).
#[tauri::command]
pub fn ui_ready() {
    tracing::info!(target: "latchkey_app", "first paint");
}
