//! Latchkey's desktop shell: wires the Tauri builder, the state, the commands and the events.
//! No protocol logic lives here; everything goes through `latchkey_core::Session`.

mod activity;
mod commands;
pub mod console;
mod demo;
mod error;
pub mod launch;
mod models;
mod signed_out;
mod state;

use tauri::Manager;
use tauri_plugin_window_state::StateFlags;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::activity::{ActivityLayer, ActivityLog};
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
            state::bring_to_front(app);
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
            app.manage(state);
            // Restore from the keychain without a browser; the window hears the result.
            tauri::async_runtime::spawn(async move {
                let _ = session.restore().await;
            });
            Ok(())
        })
        .invoke_handler(commands::handler())
        .run(tauri::generate_context!())
        .expect("error while running the Latchkey desktop app");
}
