//! The commands the window may call (the same list is in `build.rs` and allowed in
//! `capabilities/default.json`). Each is a few lines over `latchkey_core::Session` or the app
//! state; arguments are typed; errors come back as core's `{kind, check?, aws?, message}`.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use latchkey_core::aws::{aws_profile_name, config_snippet, env_exports};
use latchkey_core::config::{Config, ImportReview, ProfileDraft, TokenChoice, MAX_IMPORT_BYTES};
use latchkey_core::{
    ApiRequest, AwsIdentity, BrowserChoice, Entry, ErrorKind, GivenKeys, Inspection, ProbeReport,
    RefreshTokenInfo, SessionState, SignInOptions, SignOutOutcome, StraySession,
};
use tauri::{AppHandle, State};
use tauri_plugin_clipboard_manager::ClipboardExt;
use tauri_plugin_dialog::DialogExt;
use url::Url;

use crate::console::{self, ConsoleData, ConsoleRequest, HistoryEntry};
use crate::demo::{self, DEMO_CREDENTIALS};
use crate::error::{CommandError, CommandResult};
use crate::models::{
    ApiResult, AppInfo, Copied, ImportReviewView, ProfileSaved, ProfileSummary, SessionView,
    VaultView,
};
use crate::state::AppState;

/// How long a copied token stays on the clipboard.
pub const CLIPBOARD_CLEAR_AFTER: Duration = Duration::from_secs(30);

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
        config_path: config
            .path
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        expectations: config
            .profiles
            .get(&active.name)
            .map(|p| p.expect.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
        licences: include_str!(concat!(env!("OUT_DIR"), "/licences.txt")),
    })
}

#[tauri::command]
pub async fn session_state(state: State<'_, AppState>) -> CommandResult<SessionView> {
    Ok(state.view().await)
}

#[tauri::command]
pub async fn sign_in(entry: Entry, state: State<'_, AppState>) -> CommandResult<SessionView> {
    let options = SignInOptions {
        entry,
        ..SignInOptions::default()
    };
    state.session().await.0.sign_in(options).await?;
    Ok(state.view().await)
}

/// "Sign in as another user": signs out here (the refresh token revoked and deleted), then
/// signs in on the provider's page that ends its browser session first and asks who signs in
/// (Cognito's `/logout` … `response_type=code` form; `prompt=login` elsewhere).
#[tauri::command]
pub async fn switch_user(state: State<'_, AppState>) -> CommandResult<SessionView> {
    let session = state.session().await.0;
    let outcome = session.sign_out(false).await?;
    for warning in outcome.warnings {
        state
            .activity
            .note("WARN", format!("switching user: {warning}"));
    }
    session
        .sign_in(SignInOptions {
            entry: Entry::AnotherUser,
            ..SignInOptions::default()
        })
        .await?;
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
    let browser = BrowserChoice::for_profile(Some(&profile)).browser();
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
        let browser = BrowserChoice::for_profile(Some(&profile)).browser();
        if let Err(e) = browser.open(url.expose()) {
            outcome.warnings.push(format!("signed out here, but the provider's logout page did not open ({e}); open {url} to end the browser session too"));
        }
    }
    Ok(outcome)
}

/// The current ID or access token, verified, with the profile's expectations judged.
#[tauri::command]
pub async fn inspect_token(
    which: TokenChoice,
    state: State<'_, AppState>,
) -> CommandResult<Inspection> {
    let mut inspection = state.session().await.0.inspect_current(which).await?;
    inspection.judge_applicable(&state.expectations().await);
    Ok(inspection)
}

/// A pasted token, verified against the active provider when it can be.
#[tauri::command]
pub async fn inspect_pasted(
    token: String,
    state: State<'_, AppState>,
) -> CommandResult<Inspection> {
    let mut inspection = state.session().await.0.inspect_token(token.trim()).await?;
    inspection.judge_applicable(&state.expectations().await);
    Ok(inspection)
}

/// A pasted token, verified against keys the user gave (a JWKS URL, a JWKS, a PEM key); the
/// token itself goes nowhere.
#[tauri::command]
pub async fn inspect_with_keys(
    token: String,
    keys: GivenKeys,
    state: State<'_, AppState>,
) -> CommandResult<Inspection> {
    let mut inspection = latchkey_core::inspect_with_keys(token.trim(), &keys, None).await?;
    inspection.judge_applicable(&state.expectations().await);
    Ok(inspection)
}

/// Replaces the active profile's expectations; answers with them as saved.
#[tauri::command]
pub async fn save_expectations(
    expect: Vec<String>,
    state: State<'_, AppState>,
) -> CommandResult<Vec<String>> {
    state.save_expectations(expect).await
}

/// What the provider's userinfo endpoint says about the signed-in user.
#[tauri::command]
pub async fn userinfo(state: State<'_, AppState>) -> CommandResult<serde_json::Value> {
    Ok(state.session().await.0.userinfo().await?)
}

#[tauri::command]
pub async fn refresh_token_info(
    state: State<'_, AppState>,
) -> CommandResult<Option<RefreshTokenInfo>> {
    Ok(state.session().await.0.refresh_token_info())
}

/// The only way a token reaches the window: the user asked to see the raw token. Never the
/// refresh token.
#[tauri::command]
pub async fn reveal_token(which: TokenChoice, state: State<'_, AppState>) -> CommandResult<String> {
    let token = state.session().await.0.token(which).await?;
    state.activity.note(
        "INFO",
        format!("{} token revealed by the user", which.as_str()),
    );
    Ok(token.expose().to_owned())
}

/// Puts the token on the clipboard from here (it never passes through the window) and clears
/// the clipboard after [`CLIPBOARD_CLEAR_AFTER`] if it still holds that token.
#[tauri::command]
pub async fn copy_token(
    which: TokenChoice,
    app: AppHandle,
    state: State<'_, AppState>,
) -> CommandResult<Copied> {
    let token = state.session().await.0.token(which).await?;
    copy_secret(
        app,
        &state,
        token.expose().to_owned(),
        &format!("{} token", which.as_str()),
    )
}

/// Puts `secret` on the clipboard marked as a secret, so clipboard managers keep it out of
/// their history (`x-kde-passwordManagerHint` on X11 and Wayland, `org.nspasteboard.ConcealedType`
/// on macOS, `ExcludeClipboardContentFromMonitorProcessing` on Windows: the clipboard plugin's
/// `write_secret`, whose clipboard lives as long as the app and serves the X11 selection), and
/// clears it after [`CLIPBOARD_CLEAR_AFTER`] unless the clipboard holds something else by then
/// (or another secret was copied since).
fn copy_secret(
    app: AppHandle,
    state: &AppState,
    secret: String,
    what: &str,
) -> CommandResult<Copied> {
    app.clipboard().write_secret(secret.clone()).map_err(|e| {
        CommandError::new(
            ErrorKind::Internal,
            format!("the clipboard refused the {what} ({e}); nothing was copied"),
        )
    })?;
    state.activity.note(
        "INFO",
        format!(
            "{what} copied by the user; the clipboard is cleared in {} s",
            CLIPBOARD_CLEAR_AFTER.as_secs()
        ),
    );
    let generation = state.clipboard_generation.fetch_add(1, Ordering::SeqCst) + 1;
    let what = what.to_owned();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(CLIPBOARD_CLEAR_AFTER).await;
        let state = tauri::Manager::state::<AppState>(&app);
        let still_ours = state.clipboard_generation.load(Ordering::SeqCst) == generation
            && app.clipboard().read_text().is_ok_and(|t| t == secret);
        if still_ours && app.clipboard().clear().is_ok() {
            state.activity.note(
                "INFO",
                format!("the copied {what} was cleared from the clipboard"),
            );
        }
    });
    Ok(Copied {
        clears_in_secs: CLIPBOARD_CLEAR_AFTER.as_secs(),
    })
}

/// Puts text that is not a secret (a URL, a curl command) on the clipboard, unmarked: a
/// clipboard manager may keep it.
#[tauri::command]
pub fn copy_text(text: String, app: AppHandle) -> CommandResult<()> {
    app.clipboard().write_text(text).map_err(|e| {
        CommandError::new(
            ErrorKind::Internal,
            format!("the clipboard refused the text ({e})"),
        )
    })
}

/// Sends one console request (the token in its header, added by core), records it in the
/// profile's history without any token, and answers with the response.
#[tauri::command]
pub async fn call_api(
    request: ConsoleRequest,
    allow_any_origin: bool,
    state: State<'_, AppState>,
) -> CommandResult<ApiResult> {
    let (session, profile) = state.session().await;
    let url = request_url(&profile.api_base_urls, &request)?;
    let (cancel, cancelled) = tokio::sync::oneshot::channel();
    if let Some(previous) = state.console_cancel.lock().await.replace(cancel) {
        let _ = previous.send(());
    }
    let started = std::time::Instant::now();
    let call = session.call(ApiRequest {
        method: request.method.clone(),
        url,
        headers: request.headers.clone(),
        body: request.body.clone().map(String::into_bytes),
        token: Some(request.token),
        scheme: Some(request.scheme),
        aws_service: request.aws_service.clone(),
        aws_region: request.aws_region.clone(),
        allow_any_origin,
        token_header: Some(request.token_header.clone()),
        timeout: Some(Duration::from_secs(request.timeout_secs.clamp(1, 600))),
    });
    let outcome = tokio::select! {
        outcome = call => outcome,
        Ok(()) = cancelled => Err(latchkey_core::Error::new(
            ErrorKind::Cancelled,
            "the request was cancelled; its answer, if any, was not read",
        )),
    };
    let result = outcome.map(ApiResult::from);
    // A refusal to send the token anywhere is a question for the user, not a sent request.
    if !matches!(&result, Err(e) if e.kind() == ErrorKind::OriginNotAllowed) {
        let entry = HistoryEntry {
            at_ms: crate::activity::now_ms(),
            request,
            status: result.as_ref().ok().map(|r| r.status),
            elapsed_ms: result
                .as_ref()
                .map(|r| r.elapsed_ms)
                .unwrap_or_else(|_| started.elapsed().as_millis() as u64),
            size_bytes: result.as_ref().map(|r| r.size_bytes).unwrap_or(0),
            error: result.as_ref().err().map(|e| e.message().to_owned()),
        };
        if let Err(e) = state.console().await.record(entry, &session.held_secrets()) {
            state
                .activity
                .note("WARN", format!("the console history was not saved: {e}"));
        }
    }
    Ok(result?)
}

/// Cancels the console's request in flight, if there is one.
#[tauri::command]
pub async fn cancel_api_call(state: State<'_, AppState>) -> CommandResult<()> {
    if let Some(cancel) = state.console_cancel.lock().await.take() {
        let _ = cancel.send(());
    }
    Ok(())
}

/// The active profile's saved requests and history.
#[tauri::command]
pub async fn console_load(state: State<'_, AppState>) -> CommandResult<ConsoleData> {
    Ok(state.console().await.load())
}

/// Saves `request` under `name` (without any token) for the active profile.
#[tauri::command]
pub async fn console_save(
    name: String,
    request: ConsoleRequest,
    state: State<'_, AppState>,
) -> CommandResult<ConsoleData> {
    if name.trim().is_empty() {
        return Err(CommandError::new(
            ErrorKind::Config,
            "give the request a name to save it under",
        ));
    }
    let held = state.session().await.0.held_secrets();
    state
        .console()
        .await
        .save_request(&name, &request, &held)
        .map_err(|e| console_write_failed(&e))
}

#[tauri::command]
pub async fn console_delete(
    name: String,
    state: State<'_, AppState>,
) -> CommandResult<ConsoleData> {
    state
        .console()
        .await
        .delete_request(&name)
        .map_err(|e| console_write_failed(&e))
}

#[tauri::command]
pub async fn console_clear_history(state: State<'_, AppState>) -> CommandResult<ConsoleData> {
    state
        .console()
        .await
        .clear_history()
        .map_err(|e| console_write_failed(&e))
}

fn console_write_failed(e: &std::io::Error) -> CommandError {
    CommandError::new(
        ErrorKind::Internal,
        format!(
            "the console's file could not be written ({e}); check the data folder's permissions"
        ),
    )
}

/// The request as a curl command that reads the token (or the AWS credentials) from
/// `latchkey` when it runs, never holding one itself nor putting one on a command line.
#[tauri::command]
pub async fn curl_command(
    request: ConsoleRequest,
    state: State<'_, AppState>,
) -> CommandResult<String> {
    let (session, profile) = state.session().await;
    let url = request_url(&profile.api_base_urls, &request)?;
    let pool_region = profile
        .aws
        .as_ref()
        .and_then(|aws| aws.resolve(&profile.kind).ok())
        .map(|pool| pool.region);
    Ok(console::curl_command(
        &request,
        &url,
        &profile.name,
        pool_region.as_deref(),
        &session.held_secrets(),
    ))
}

/// The request's URL: resolved against the profile's first API base URL when relative, with
/// the editor's query parameters added.
fn request_url(bases: &[Url], request: &ConsoleRequest) -> CommandResult<Url> {
    let mut url = resolve_url(bases, request.url.trim())?;
    if !request.params.is_empty() {
        let mut query = url.query_pairs_mut();
        for (k, v) in request.params.iter().filter(|(k, _)| !k.is_empty()) {
            query.append_pair(k, v);
        }
    }
    Ok(url)
}

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

/// Adds a profile (`editing` false: never over an existing one) or saves an edit from the
/// settings form: core's validation, then a live check.
#[tauri::command]
pub async fn save_profile(
    name: String,
    draft: ProfileDraft,
    editing: bool,
    state: State<'_, AppState>,
) -> CommandResult<ProfileSaved> {
    state.save_profile(&name, draft, editing).await
}

/// Every setting of profile `name` as the profiles file would write it (also an invalid one's,
/// to fix it), for the edit form.
#[tauri::command]
pub async fn profile_draft(
    name: String,
    state: State<'_, AppState>,
) -> CommandResult<ProfileDraft> {
    let config = state.config.lock().await;
    match config.draft(&name) {
        Some(draft) => Ok(draft),
        None => Err(config.profile(&name).map(|_| ()).unwrap_err().into()),
    }
}

/// "Test connection": the form's settings, checked like the profiles file, then the provider
/// asked live (discovery, keys, clock, and for Cognito each callback URL). Nothing is saved.
#[tauri::command]
pub async fn test_connection(
    name: String,
    draft: ProfileDraft,
    state: State<'_, AppState>,
) -> CommandResult<ProbeReport> {
    let profile = state.validate(&name, &draft).await?;
    Ok(latchkey_core::probe(&profile).await)
}

/// Writes profile `name` (no secrets: a profile holds none) to a file the user picks.
#[tauri::command]
pub async fn export_profile(
    name: String,
    app: AppHandle,
    state: State<'_, AppState>,
) -> CommandResult<Option<String>> {
    let text = Config::export_profile(state.config.lock().await.profile(&name)?);
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Export the profile")
        .set_file_name(format!("{name}.latchkey.toml"))
        .add_filter("Latchkey profile", &["toml"])
        .save_file(move |path| {
            let _ = tx.send(path);
        });
    let Some(path) = rx.await.ok().flatten() else {
        return Ok(None);
    };
    let path = path
        .into_path()
        .map_err(|e| CommandError::new(ErrorKind::Internal, format!("not a file path: {e}")))?;
    std::fs::write(&path, text).map_err(|e| {
        CommandError::new(
            ErrorKind::Internal,
            format!("cannot write {}: {e}", path.display()),
        )
    })?;
    Ok(Some(path.display().to_string()))
}

/// "Import…": the profiles of a file the user picks, reviewed (every setting that differs from
/// the defaults, where tokens go first, what was dropped) and kept for `confirm_import`:
/// nothing is saved before the user says "Save profile" or "Replace profile".
#[tauri::command]
pub async fn review_import_file(
    app: AppHandle,
    state: State<'_, AppState>,
) -> CommandResult<Vec<ImportReviewView>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Import a profile")
        .add_filter("Latchkey profile", &["toml"])
        .pick_file(move |path| {
            let _ = tx.send(path);
        });
    let Some(path) = rx.await.ok().flatten() else {
        return Ok(vec![]);
    };
    let path = path
        .into_path()
        .map_err(|e| CommandError::new(ErrorKind::Internal, format!("not a file path: {e}")))?;
    let too_large = std::fs::metadata(&path).is_ok_and(|m| m.len() > MAX_IMPORT_BYTES);
    if too_large {
        return Err(CommandError::new(
            ErrorKind::Config,
            format!(
                "{} is larger than 1 MiB: not a profile file",
                path.display()
            ),
        ));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| {
        CommandError::new(
            ErrorKind::Config,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    reviewed(state.review_import(&text, &path).await?)
}

/// "Paste a profile": the same review for a profile copied from a wiki or a message.
#[tauri::command]
pub async fn review_import_text(
    text: String,
    state: State<'_, AppState>,
) -> CommandResult<Vec<ImportReviewView>> {
    if text.len() as u64 > MAX_IMPORT_BYTES {
        return Err(CommandError::new(
            ErrorKind::Config,
            "the pasted text is larger than 1 MiB: not a profile",
        ));
    }
    reviewed(
        state
            .review_import(&text, std::path::Path::new("(pasted profile)"))
            .await?,
    )
}

fn reviewed(reviews: Vec<ImportReview>) -> CommandResult<Vec<ImportReviewView>> {
    Ok(reviews
        .into_iter()
        .map(|review| ImportReviewView {
            action: review.action(),
            review,
        })
        .collect())
}

/// "Save profile NAME" / "Replace profile NAME" under a review: saves exactly what was
/// reviewed; `replace` is the user's explicit answer for an existing name.
#[tauri::command]
pub async fn confirm_import(
    name: String,
    replace: bool,
    state: State<'_, AppState>,
) -> CommandResult<()> {
    state.confirm_import(&name, replace).await
}

/// "Stray sessions…": the keychain's sessions that no profile reaches (a hand edit of the
/// file, an older version), named by profile, issuer and client id; never a secret.
#[tauri::command]
pub async fn stray_sessions(state: State<'_, AppState>) -> CommandResult<Vec<StraySession>> {
    state.stray_sessions().await
}

/// Revokes what it can of the stray sessions and deletes every item; one sentence each.
#[tauri::command]
pub async fn remove_stray_sessions(state: State<'_, AppState>) -> CommandResult<Vec<String>> {
    state.remove_stray_sessions().await
}

/// The UI's first-paint marker (benchmarks measure start-up to it).
#[tauri::command]
pub fn ui_ready() {
    tracing::info!(target: "latchkey_app", "first paint");
}
