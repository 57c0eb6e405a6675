//! The benchmark's baseline (rows 5 and 6 of `cargo xtask bench`): Tauri with the app's
//! features, window, CSP and `ui/`, answering the two calls the UI makes before it paints with
//! a fixed signed-in session, and nothing else: no engine, no keychain, no runtime of its own.

// As the app: no console window on Windows in release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use serde_json::{json, Value};

/// What the app's `app_info` answers for a configured profile (src-tauri/src/models.rs).
#[tauri::command]
fn app_info() -> Value {
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "commit": "hello-world",
        "profiles": [{
            "name": "Bench", "kind": "Cognito", "issuer": "http://127.0.0.1:1/pool",
            "removable": false, "invalid": null
        }],
        "active_profile": "Bench",
        "provider_label": "http://127.0.0.1:1/pool",
        "demo": null,
        "vault": { "store": "Secret Service (org.freedesktop.secrets)", "ok": true, "message": "" },
        "api_bases": [],
        "config_error": null,
        "licences": ""
    })
}

/// A signed-in session as the app's `session_state` answers it once restored.
#[tauri::command]
fn session_state() -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    json!({
        "state": "signed_in",
        "reason": null, "error": null, "authorize_url": null, "redirect_uri": null,
        "started_at": null, "expires_at": null,
        "user": {
            "name": "Demo User", "username": "demo", "email": "demo@example.com",
            "groups": [], "sub": "00000000-0000-4000-8000-000000000000"
        },
        "tokens": [
            { "name": "ID token", "issued_at": now, "expires_at": now + 3600 },
            { "name": "Access token", "issued_at": now, "expires_at": now + 3600 }
        ],
        "refresh_margin_secs": 120,
        "profile": "Bench",
        "issuer": "http://127.0.0.1:1/pool",
        "client_id": "client",
        "store": "Secret Service (org.freedesktop.secrets)"
    })
}

/// The UI calls it once it has painted; the bench waits for this line, as for the app's.
#[tauri::command]
fn ui_ready() {
    eprintln!("first paint");
}

fn main() {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![app_info, session_state, ui_ready])
        .run(tauri::generate_context!())
        .expect("error while running the hello-world");
}
