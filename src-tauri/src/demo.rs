//! The embedded development provider: on first run the app starts latchkey-devidp in-process
//! and creates a "Demo" profile for it (latchkey-demo, shared with the CLI, does both).

use latchkey_core::config::Config;
pub use latchkey_demo::is_demo;
use latchkey_devidp::DevIdp;
use std::path::Path;

/// Credentials shown in the demo banner.
#[derive(Clone, serde::Serialize)]
pub struct DemoCredentials {
    pub username: &'static str,
    pub password: &'static str,
    pub viewer_username: &'static str,
    pub viewer_password: &'static str,
}

pub const DEMO_CREDENTIALS: DemoCredentials = DemoCredentials {
    username: latchkey_devidp::DEMO_USERNAME,
    password: latchkey_devidp::DEMO_PASSWORD,
    viewer_username: latchkey_devidp::VIEWER_USERNAME,
    viewer_password: latchkey_devidp::VIEWER_PASSWORD,
};

/// Makes sure the Demo profile exists when there is no other, and starts the provider it
/// points at (the caller saves the profiles). Returns the running provider, or `None` when
/// the config has no Demo profile.
pub fn ensure(config: &mut Config, data_dir: &Path) -> Result<Option<DevIdp>, String> {
    latchkey_demo::ensure(config, data_dir).map_err(|e| e.to_string())
}
