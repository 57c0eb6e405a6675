//! The CLI's integration tests, one module per area, in one test binary (one link instead of
//! one per file); `common` runs the built `latchkey` binary with its own config and keychain service.

mod agent;
mod aws;
mod aws_consumer;
mod call_limit;
mod call_path;
mod cli;
mod common;
mod inspect;
mod json_reports;
mod keychain_locked;
mod kubectl;
mod messages;
mod profile_import;
mod quickstart;
mod refresh;
mod stray;
mod windows;
