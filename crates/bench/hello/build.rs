//! Tauri's code generation for the baseline, with the three commands the shared ui/ needs to
//! reach its first paint.

fn main() {
    let manifest =
        tauri_build::AppManifest::new().commands(&["app_info", "session_state", "ui_ready"]);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri-build");
}
