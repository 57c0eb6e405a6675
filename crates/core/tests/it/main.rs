//! latchkey-core's integration tests, one module per area, in one test binary (one link of
//! the whole stack instead of one per file); `cargo test -p latchkey-core --test it -- flow::` runs one.

mod agent_settings;
mod api_response_limit;
mod aws;
mod aws_peers;
mod aws_session;
mod browser;
mod catalogue;
mod cognito_flows;
mod concurrency;
mod config;
mod configuration_reference;
mod flow;
mod fuzz;
mod hardening;
mod inspector;
mod keychain;
mod keychain_connect;
mod logs;
mod profile_change;
mod refresh_faults;
mod signed_out_page;
mod stray;
mod throttling;
mod windows;
