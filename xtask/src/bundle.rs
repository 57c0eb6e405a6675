//! `cargo xtask bundle`: the release app packaged as .deb and .rpm with the Tauri bundler.

pub fn bundle(_args: &[String]) -> Result<(), String> {
    Err("`cargo xtask bundle` is not implemented yet".into())
}
