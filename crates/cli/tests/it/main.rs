//! The CLI's integration tests, one module per area, in one test binary (one link instead of
//! one per file); `common` runs the built `latchkey` binary with its own config and keychain service.

mod agent;
mod agent_consumers;
mod agent_lifetime;
mod agent_notify;
mod agent_systemd;
mod aws;
mod aws_consumer;
mod aws_exec;
mod aws_serve;
mod bad_profile;
mod browser_profile;
mod call_limit;
mod call_path;
mod cli;
mod cli_doc;
mod common;
mod exit_codes;
mod first_run;
mod help_text;
mod inspect;
mod json_reports;
mod kernel_keyring;
mod keychain_locked;
mod kubectl;
mod messages;
mod profile_import;
mod provider_check;
mod quickstart;
mod readme;
mod refresh;
mod stray;
mod windows;

// The command line's definition (`messages.rs` includes `src/cli.rs`) uses these.
#[allow(dead_code)]
#[path = "../../src/failure.rs"]
mod failure;
#[allow(dead_code)]
#[path = "../../src/help.rs"]
mod help;
#[allow(dead_code)]
#[path = "../../src/profile_args.rs"]
mod profile_args;
