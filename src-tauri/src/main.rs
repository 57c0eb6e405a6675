//! The `latchkey-app` binary: starts the desktop shell in `lib.rs`.

// Prevents an extra console window on Windows in release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    latchkey_app::run();
}
