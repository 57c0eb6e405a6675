//! Latchkey's desktop shell: wires the Tauri builder, the state, the commands and the events.
//! No protocol logic lives here; everything goes through `latchkey_core::Session`.

mod activity;
mod agent_host;
mod commands;
pub mod console;
mod demo;
mod error;
pub mod launch;
mod models;
mod settings;
mod signed_out;
mod state;
mod tray;
mod tray_menu;

use tauri::{Manager, RunEvent, WindowEvent};
use tauri_plugin_window_state::StateFlags;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::activity::{ActivityLayer, ActivityLog};
use crate::agent_host::AgentHost;
use crate::settings::{CloseToTray, TrayPresence};
use crate::state::AppState;

/// Starts the desktop app.
pub fn run() {
    let activity = ActivityLog::default();
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(
                    EnvFilter::try_from_env("LATCHKEY_LOG")
                        .unwrap_or_else(|_| EnvFilter::new("warn,latchkey=info")),
                ),
        )
        .with(
            ActivityLayer(activity.clone())
                .with_filter(EnvFilter::new("latchkey_core=debug,latchkey_app=debug")),
        )
        .try_init();

    tauri::Builder::default()
        // First: a second launch hands over to the running app, which comes to the front.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            tray::show_window(app);
        }))
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_state_flags(StateFlags::SIZE | StateFlags::MAXIMIZED)
                .build(),
        )
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_dialog::init())
        .setup(move |app| {
            activity.attach(app.handle().clone());
            // On the async runtime: the session's background keeper is a task.
            let handle = app.handle().clone();
            let state = tauri::async_runtime::block_on(async {
                AppState::start(handle, activity.clone())
            })?;
            let (session, _) = tauri::async_runtime::block_on(state.session());
            let config_path = tauri::async_runtime::block_on(state.config.lock())
                .path
                .clone()
                .unwrap_or_default();
            let data_dir = state.data_dir.clone();
            app.manage(state);
            start_agent_and_tray(app.handle(), config_path, data_dir);
            // Restore from the keychain without a browser; the window hears the result.
            tauri::async_runtime::spawn(async move {
                let _ = session.restore().await;
            });
            Ok(())
        })
        .on_window_event(close_to_tray)
        .invoke_handler(commands::handler())
        .build(tauri::generate_context!())
        .expect("error while building the Latchkey desktop app")
        .run(|app, event| {
            if let (RunEvent::Exit, Some(agent)) = (event, app.try_state::<AgentHost>()) {
                // The app's agent goes with it: its socket removed, the tools told nothing stale.
                tauri::async_runtime::block_on(agent.stop());
            }
        });
}

/// The in-process agent (or a note that another answers), the close-to-tray setting, and the
/// tray icon where the desktop has a tray.
fn start_agent_and_tray(
    app: &tauri::AppHandle,
    config_path: std::path::PathBuf,
    data_dir: std::path::PathBuf,
) {
    let host = tauri::async_runtime::block_on(AgentHost::start(config_path));
    let agent_line = host.holding().describe();
    app.state::<AppState>()
        .activity
        .note("INFO", agent_line.clone());
    app.manage(host);
    let presence = TrayPresence::detect();
    if let TrayPresence::Missing { why } = &presence {
        app.state::<AppState>().activity.note(
            "INFO",
            format!("no tray icon: {why}; closing the window quits Latchkey"),
        );
    }
    if presence.available() {
        if let Err(e) = tray::install(app, agent_line) {
            tracing::warn!(error = %e, "the tray icon could not be installed");
        }
    }
    app.manage(CloseToTray::new(presence, data_dir));
}

/// Closing the main window hides it while "keep running in the tray" is on; else the app quits
/// (and its agent stops).
fn close_to_tray(window: &tauri::Window, event: &WindowEvent) {
    if let WindowEvent::CloseRequested { api, .. } = event {
        let keeps = window
            .try_state::<CloseToTray>()
            .is_some_and(|close| close.keeps_in_tray());
        if keeps && window.label() == "main" {
            api.prevent_close();
            let _ = window.hide();
            tracing::info!("window closed; Latchkey keeps running in the tray");
        }
    }
}
