//! The AWS credentials view's commands: the identity and credentials' facts, the secret on
//! request, the credentials copied as environment variables, and the `~/.aws/config` section.

use std::path::PathBuf;

use latchkey_core::aws::{aws_profile_name, config_snippet, env_exports};
use latchkey_core::AwsIdentity;
use tauri::{AppHandle, State};

use super::copy_secret;
use crate::error::CommandResult;
use crate::models::Copied;
use crate::state::AppState;

/// The AWS credentials view: identity, role, the user's roles, access key id and times (the
/// credentials are fetched if none are held; no secret crosses here).
#[tauri::command]
pub async fn aws_identity(state: State<'_, AppState>) -> CommandResult<AwsIdentity> {
    Ok(state.session().await.0.aws_identity().await?)
}

/// The only way the AWS secret access key reaches the window: the user pressed "Reveal…" and
/// confirmed.
#[tauri::command]
pub async fn reveal_aws(state: State<'_, AppState>) -> CommandResult<String> {
    let creds = state.session().await.0.aws_credentials().await?;
    state
        .activity
        .note("INFO", "AWS secret access key shown to the user");
    Ok(creds.secret_access_key.expose().to_owned())
}

/// "Copy as environment variables…": `export AWS_…` lines with all three values, put on the
/// clipboard from here (they never pass through the window) and cleared like a token.
#[tauri::command]
pub async fn copy_aws_environment(
    app: AppHandle,
    state: State<'_, AppState>,
) -> CommandResult<Copied> {
    let creds = state.session().await.0.aws_credentials().await?;
    copy_secret(
        app,
        &state,
        env_exports(&creds).map_err(latchkey_core::Error::from)?,
        "AWS credentials (as environment variables)",
    )
}

/// The `~/.aws/config` section that runs the `latchkey` CLI installed next to the app.
#[tauri::command]
pub async fn aws_config_snippet(state: State<'_, AppState>) -> CommandResult<String> {
    let (_, profile) = state.session().await;
    let pool = profile.identity_pool()?;
    let snippet = config_snippet(
        &aws_profile_name(&profile.name),
        &cli_program(),
        &profile.name,
        &pool.region,
    );
    Ok(snippet.map_err(latchkey_core::Error::from)?)
}

/// The `latchkey` CLI next to this app (the packages install both in `/usr/bin`), else its
/// bare name.
fn cli_program() -> PathBuf {
    let name = if cfg!(windows) {
        "latchkey.exe"
    } else {
        "latchkey"
    };
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(name)))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}
