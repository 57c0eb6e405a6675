//! Latchkey's desktop shell: wires the Tauri builder, the commands and the events.
//! No protocol logic lives here; everything goes through `latchkey_core::Session`.

#[tauri::command]
fn app_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Starts the desktop app.
pub fn run() {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![app_version])
        .run(tauri::generate_context!())
        .expect("error while running the Latchkey desktop app");
}
