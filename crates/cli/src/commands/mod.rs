//! One module per command; each is a few calls into `latchkey_core` plus output.

mod agent;
#[cfg(unix)]
mod agent_install;
mod aws;
mod aws_serve;
mod call;
mod completions;
mod doctor;
mod env;
mod exec;
mod inspect;
mod login;
mod logout;
mod man;
mod profile;
mod profile_browser;
mod profile_sources;
mod profile_view;
mod status;
mod stray_json;
mod token;
mod userinfo;

pub use completions::completions;
pub use exec::run as exec;
pub use man::man;

use crate::cli::Command;
use crate::context::Ctx;
use crate::failure::{CliResult, Exit};

pub async fn run(ctx: &Ctx, command: Command) -> CliResult<Exit> {
    match command {
        Command::Login(a) => login::run(ctx, a).await,
        Command::Status(a) => status::run(ctx, a).await,
        Command::Token(a) => token::run(ctx, a).await,
        Command::Call(a) => call::run(ctx, a).await,
        Command::Userinfo(a) => userinfo::run(ctx, a).await,
        Command::Inspect(a) => inspect::run(ctx, a).await,
        Command::Logout(a) => logout::run(ctx, a).await,
        Command::Profile(p) => profile::run(ctx, p).await,
        Command::Doctor(a) => doctor::run(ctx, a).await,
        Command::Aws(a) => aws::run(ctx, a).await,
        Command::Agent(a) => agent::run(ctx, a).await,
        Command::Env(a) => env::run(ctx, a).await,
        // Handled in main before the runtime starts.
        Command::Completions(_) | Command::Man | Command::Devidp(_) | Command::Exec(_) => {
            Ok(Exit::Ok)
        }
    }
}
