//! `latchkey env --shell SHELL`: the profile's AWS credentials as lines a shell evaluates (or
//! one JSON object), for people who want them in their shell despite `exec`.

use latchkey_core::aws::{credential_variables, shell_exports, ExportShell};
use latchkey_core::Error as CoreError;

use super::aws::profile_credentials;
use crate::cli::{EnvArgs, EnvShell};
use crate::context::Ctx;
use crate::failure::{CliResult, Exit};

pub async fn run(ctx: &Ctx, args: EnvArgs) -> CliResult<Exit> {
    let region = ctx.profile()?.identity_pool()?.region;
    let creds = profile_credentials(ctx, args.wait_for_sign_in).await?;
    let variables = credential_variables(&creds, &region).map_err(CoreError::from)?;
    print!("{}", shell_exports(&variables, export_shell(args.shell)));
    Ok(Exit::Ok)
}

fn export_shell(shell: EnvShell) -> ExportShell {
    match shell {
        EnvShell::Bash | EnvShell::Zsh => ExportShell::Posix,
        EnvShell::Fish => ExportShell::Fish,
        EnvShell::Powershell => ExportShell::PowerShell,
        EnvShell::Json => ExportShell::Json,
    }
}
