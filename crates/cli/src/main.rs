//! `latchkey`: the terminal companion; a thin front over `latchkey_core::Session`.
//! Parses the command line, runs one command, and turns any failure into one line + exit code.

mod agent_link;
mod app_client;
mod cli;
mod commands;
mod context;
mod failure;
mod help;
mod output;
mod profile_args;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use context::Ctx;
use failure::{CliResult, Exit, Failure};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind as K;
            let code = match e.kind() {
                K::DisplayHelp
                | K::DisplayVersion
                | K::DisplayHelpOnMissingArgumentOrSubcommand => Exit::Ok,
                _ => Exit::Usage,
            };
            if code == Exit::Usage && std::env::args_os().any(|a| a == "--json") {
                // clap's first line (`error: …`), without its usage block and styling.
                let text = e.render().to_string();
                let first = text.lines().next().unwrap_or_default();
                let message = first.strip_prefix("error: ").unwrap_or(first);
                return Failure::new(Exit::Usage, message).report(true);
            }
            let _ = e.print();
            // clap prints "help" for a missing subcommand and exits non-zero itself; keep it a usage error.
            if e.kind() == K::DisplayHelpOnMissingArgumentOrSubcommand {
                return Exit::Usage.into();
            }
            return code.into();
        }
    };
    // Generated from the command line's own definition; no runtime, config or keychain.
    match &cli.command {
        Command::Completions(a) => return commands::completions(a.shell),
        Command::Man => return commands::man(),
        _ => {}
    }
    // The development provider owns its own runtime and signal handling.
    if let Command::Devidp(args) = &cli.command {
        let mut argv: Vec<std::ffi::OsString> = vec!["latchkey devidp".into()];
        argv.extend(args.args.iter().cloned());
        return latchkey_devidp::cli_main(argv);
    }
    if cli.global.verbose > 0 || cli.command.is_agent_server() {
        let level = match cli.global.verbose {
            0 | 1 => "info",
            2 => "debug",
            _ => "trace",
        };
        let filter =
            tracing_subscriber::EnvFilter::try_from_env("LATCHKEY_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(format!(
                    "latchkey_core={level},latchkey={level}"
                ))
            });
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_target(false)
            .init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("latchkey: cannot start the async runtime ({e}).");
            return Exit::Other.into();
        }
    };
    let json = cli.command.wants_json();
    let ctx = context::Ctx::new(cli.global.clone());
    // `exec` ends with its program's status and forwards Ctrl-C to it instead of ending first.
    if let Command::Exec(args) = cli.command {
        let result = runtime.block_on(commands::exec(&ctx, args));
        runtime.shutdown_timeout(std::time::Duration::from_millis(200));
        return match result {
            Ok(code) => ExitCode::from(code),
            Err(f) => f.report(false),
        };
    }
    let result = runtime.block_on(run_until_interrupted(&ctx, cli.command));
    // Do not wait for background tasks (e.g. a blocked stdin reader) at exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(exit) => exit.into(),
        Err(f) => f.report(json),
    }
}

/// Run `command`; Ctrl-C (SIGINT) ends it with exit 130, as a shell reports a process it
/// interrupted. `login` listens itself: it cancels its sign-in and frees the port first.
async fn run_until_interrupted(ctx: &Ctx, command: Command) -> CliResult<Exit> {
    // `login` cancels its sign-in on Ctrl-C; `aws serve` ends on it with exit 0.
    if matches!(
        command,
        Command::Login(_) | Command::Aws(cli::AwsCommand::Serve)
    ) {
        return commands::run(ctx, command).await;
    }
    tokio::select! {
        result = commands::run(ctx, command) => result,
        Ok(()) = tokio::signal::ctrl_c() => {
            Err(Failure::interrupted("interrupted (Ctrl-C); run the command again to finish it."))
        }
    }
}
