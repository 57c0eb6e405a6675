//! End-to-end tests of the app package (real browser, real keychain, real providers, the app
//! window), one module per area in one test binary; `support` is the harness they share.

mod app_agent;
mod app_console;
mod app_headless;
mod app_import;
mod app_profiles;
mod app_tray;
mod app_window;
mod app_window_checks;
mod browser_keep_alive;
mod browser_signin;
mod bundle_deb;
mod console_curl;
mod interop_oidc_provider;
mod keychain_secret_service;
mod support;
