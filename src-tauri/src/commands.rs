//! The commands the window may call (the same list is in `build.rs` and allowed in
//! `capabilities/default.json`). Each is a few lines over `latchkey_core::Session` or the app
//! state; arguments are typed; errors come back as core's `{kind, check?, aws?, message}`.

use std::path::PathBuf;

use latchkey_core::aws::{aws_profile_name, config_snippet, env_exports};
use latchkey_core::config::{ProfileDraft, TokenChoice};
use latchkey_core::{
    ApiRequest, AwsIdentity, Entry, ErrorKind, Inspection, RefreshTokenInfo, SessionState,
    SignInOptions, SignOutOutcome,
};
use tauri::State;
use url::Url;

use crate::demo::{self, DEMO_CREDENTIALS};
use crate::error::{CommandError, CommandResult};
use crate::models::{
    ApiCall, ApiResult, AppInfo, AwsReveal, ProfileSaved, ProfileSummary, SessionView, VaultView,
};
use crate::state::AppState;

#[tauri::command]
pub async fn app_info(state: State<'_, AppState>) -> CommandResult<AppInfo> {
    let (session, active) = state.session().await;
    let health = session.check_keychain().await;
    let config = state.config.lock().await;
    let valid = config.profiles.values().map(|p| ProfileSummary {
        name: p.name.clone(),
        kind: if p.is_cognito() { "Cognito" } else { "OIDC" },
        issuer: p.issuer(),
        removable: p.name != active.name,
        invalid: None,
    });
    let invalid = config.invalid.iter().map(|(name, e)| ProfileSummary {
        name: name.clone(),
        kind: "invalid",
        issuer: String::new(),
        removable: true,
        invalid: Some(e.to_string()),
    });
    let is_demo = demo::is_demo(&active);
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        commit: env!("LATCHKEY_COMMIT"),
        profiles: valid.chain(invalid).collect(),
        active_profile: active.name.clone(),
        provider_label: match (&state.devidp, is_demo) {
            (Some(idp), true) => format!("the development provider ({})", idp.base_url()),
            _ => active.issuer(),
        },
        demo: is_demo.then_some(DEMO_CREDENTIALS),
        vault: VaultView {
            store: health.store_name,
            ok: health.ok,
            message: health.message,
        },
        api_bases: active.api_base_urls.iter().map(Url::to_string).collect(),
        config_error: state.config_error.clone(),
        licences: include_str!(concat!(env!("OUT_DIR"), "/licences.txt")),
    })
}

#[tauri::command]
pub async fn session_state(state: State<'_, AppState>) -> CommandResult<SessionView> {
    Ok(state.view().await)
}

#[tauri::command]
pub async fn sign_in(signup: bool, state: State<'_, AppState>) -> CommandResult<SessionView> {
    let options = SignInOptions {
        entry: if signup { Entry::SignUp } else { Entry::SignIn },
        ..SignInOptions::default()
    };
    state.session().await.0.sign_in(options).await?;
    Ok(state.view().await)
}

#[tauri::command]
pub async fn cancel_sign_in(state: State<'_, AppState>) -> CommandResult<()> {
    state.session().await.0.cancel_sign_in();
    Ok(())
}

#[tauri::command]
pub async fn open_authorize_url_again(state: State<'_, AppState>) -> CommandResult<()> {
    let (session, profile) = state.session().await;
    let SessionState::SigningIn { authorize_url, .. } = session.state() else {
        return Err(CommandError::new(
            ErrorKind::NotSignedIn,
            "no sign-in is waiting for the browser",
        ));
    };
    let browser = latchkey_core::internals::browser_for_command(profile.browser_command.as_ref());
    Ok(browser.open(&authorize_url)?)
}

#[tauri::command]
pub async fn refresh_now(state: State<'_, AppState>) -> CommandResult<SessionView> {
    state.session().await.0.force_refresh().await?;
    Ok(state.view().await)
}

/// Signs out; the provider's logout page opens here, in the system browser. The window gets
/// the outcome with the logout URL redacted (no `id_token_hint`).
#[tauri::command]
pub async fn sign_out(
    everywhere: bool,
    state: State<'_, AppState>,
) -> CommandResult<SignOutOutcome> {
    let (session, profile) = state.session().await;
    let mut outcome = session.sign_out(everywhere).await?;
    if let Some(url) = &outcome.logout_url {
        let browser =
            latchkey_core::internals::browser_for_command(profile.browser_command.as_ref());
        if let Err(e) = browser.open(url.expose()) {
            outcome.warnings.push(format!("signed out here, but the provider's logout page did not open ({e}); open {url} to end the browser session too"));
        }
    }
    Ok(outcome)
}

#[tauri::command]
pub async fn inspect_token(
    which: TokenChoice,
    state: State<'_, AppState>,
) -> CommandResult<Inspection> {
    Ok(state.session().await.0.inspect_current(which).await?)
}

#[tauri::command]
pub async fn inspect_pasted(
    token: String,
    state: State<'_, AppState>,
) -> CommandResult<Inspection> {
    Ok(state.session().await.0.inspect_token(token.trim()).await?)
}

#[tauri::command]
pub async fn refresh_token_info(
    state: State<'_, AppState>,
) -> CommandResult<Option<RefreshTokenInfo>> {
    Ok(state.session().await.0.refresh_token_info())
}

/// The only way a token reaches the window: the user pressed "Copy token…" and confirmed.
/// Never the refresh token.
#[tauri::command]
pub async fn reveal_token(which: TokenChoice, state: State<'_, AppState>) -> CommandResult<String> {
    let token = state.session().await.0.token(which).await?;
    state.activity.note(
        "INFO",
        format!("{} token copied by the user", which.as_str()),
    );
    Ok(token.expose().to_owned())
}

#[tauri::command]
pub async fn call_api(request: ApiCall, state: State<'_, AppState>) -> CommandResult<ApiResult> {
    let (session, profile) = state.session().await;
    let url = resolve_url(&profile.api_base_urls, &request.url)?;
    let response = session
        .call(ApiRequest {
            method: request.method,
            url,
            headers: request.headers,
            body: request.body.map(String::into_bytes),
            token: Some(request.token),
            scheme: Some(request.scheme),
            aws_service: request.aws_service,
            aws_region: request.aws_region,
            allow_any_origin: request.allow_any_origin,
        })
        .await?;
    Ok(ApiResult::from(response))
}

/// The AWS credentials view: identity, role, the user's roles, access key id and times (the
/// credentials are fetched if none are held; no secret crosses here).
#[tauri::command]
pub async fn aws_identity(state: State<'_, AppState>) -> CommandResult<AwsIdentity> {
    Ok(state.session().await.0.aws_identity().await?)
}

/// The only way AWS secrets reach the window: the user pressed "Reveal…" or "Copy as
/// environment variables…" and confirmed.
#[tauri::command]
pub async fn reveal_aws(what: AwsReveal, state: State<'_, AppState>) -> CommandResult<String> {
    let creds = state.session().await.0.aws_credentials().await?;
    let (text, note) = match what {
        AwsReveal::SecretAccessKey => (
            creds.secret_access_key.expose().to_owned(),
            "AWS secret access key shown to the user",
        ),
        AwsReveal::Environment => (
            env_exports(&creds),
            "AWS credentials copied as environment variables by the user",
        ),
    };
    state.activity.note("INFO", note);
    Ok(text)
}

/// The `~/.aws/config` section that runs the `latchkey` CLI installed next to the app.
#[tauri::command]
pub async fn aws_config_snippet(state: State<'_, AppState>) -> CommandResult<String> {
    let (_, profile) = state.session().await;
    let pool = profile.identity_pool()?;
    Ok(config_snippet(
        &aws_profile_name(&profile.name),
        &cli_program(),
        &profile.name,
        &pool.region,
    ))
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

/// A relative URL in the console is resolved against the profile's first API base URL.
fn resolve_url(bases: &[Url], raw: &str) -> CommandResult<Url> {
    if let Ok(url) = Url::parse(raw) {
        return Ok(url);
    }
    let base = bases.first().ok_or_else(|| {
        CommandError::new(
            ErrorKind::Config,
            "this profile has no API base URL: enter a full URL, or add one in Profiles & settings",
        )
    })?;
    base.join(raw).map_err(|e| {
        CommandError::new(
            ErrorKind::Config,
            format!("`{raw}` is not a valid URL: {e}"),
        )
    })
}

#[tauri::command]
pub fn activity_log(state: State<'_, AppState>) -> Vec<crate::activity::ActivityEntry> {
    state.activity.entries()
}

#[tauri::command]
pub fn clear_activity(state: State<'_, AppState>) {
    state.activity.clear();
}

/// Writes the activity log to a timestamped file (Downloads, else the data directory).
#[tauri::command]
pub fn export_activity(state: State<'_, AppState>) -> CommandResult<String> {
    Ok(state
        .activity
        .export(&state.app, &state.data_dir)?
        .display()
        .to_string())
}

#[tauri::command]
pub async fn use_profile(name: String, state: State<'_, AppState>) -> CommandResult<()> {
    let profile = {
        let mut config = state.config.lock().await;
        let profile = config.profile(&name)?.clone();
        config.default = Some(name);
        state.save(&config)?;
        profile
    };
    state.switch_to(profile).await
}

#[tauri::command]
pub async fn remove_profile(name: String, state: State<'_, AppState>) -> CommandResult<()> {
    state.remove_profile(&name).await
}

/// Adds or replaces a profile from the settings form: core's validation, then a live check.
#[tauri::command]
pub async fn save_profile(
    name: String,
    draft: ProfileDraft,
    state: State<'_, AppState>,
) -> CommandResult<ProfileSaved> {
    state.save_profile(&name, draft).await
}

/// The UI's first-paint marker (benchmarks measure start-up to it).
#[tauri::command]
pub fn ui_ready() {
    tracing::info!(target: "latchkey_app", "first paint");
}
