//! The commands the window may call. Each one is a few lines over `latchkey_core::Session`;
//! errors come back as `{ kind, message }`.

use std::time::Duration;

use latchkey_core::config::{Profile, Scheme, TokenChoice};
use latchkey_core::{inspect, ApiRequest, SessionState, SignInOptions, SignOutOutcome};
use tauri::State;
use url::Url;

use crate::demo::{self, DEMO_CREDENTIALS};
use crate::error::{CommandError, CommandResult};
use crate::models::{
    ApiCall, ApiResult, AppInfo, ProfileForm, ProfileSaved, ProfileSummary, SessionView, VaultView,
};
use crate::state::AppState;

#[tauri::command]
pub async fn app_info(state: State<'_, AppState>) -> CommandResult<AppInfo> {
    let (_, active) = state.session().await;
    let config = state.config.lock().await;
    let health = state.vault.probe();
    let profiles = config
        .profiles
        .values()
        .map(|p| ProfileSummary {
            name: p.name.clone(),
            kind: if p.is_cognito() { "Cognito" } else { "OIDC" },
            issuer: p.issuer(),
            removable: p.name != active.name,
        })
        .collect();
    let is_demo = demo::is_demo(&active);
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        commit: env!("LATCHKEY_COMMIT"),
        profiles,
        active_profile: active.name.clone(),
        provider_label: match (&state.devidp, is_demo) {
            (Some(idp), true) => format!("the development provider ({})", idp.base_url()),
            _ => active.issuer(),
        },
        demo: is_demo.then_some(DEMO_CREDENTIALS),
        vault: VaultView {
            store: health.store_name.clone(),
            ok: health.ok,
            message: health.message.clone(),
        },
        api_bases: active.api_base_urls.iter().map(Url::to_string).collect(),
        licences: include_str!(concat!(env!("OUT_DIR"), "/licences.txt")),
    })
}

#[tauri::command]
pub async fn session_state(state: State<'_, AppState>) -> CommandResult<SessionView> {
    Ok(state.view().await)
}

#[tauri::command]
pub async fn sign_in(signup: bool, state: State<'_, AppState>) -> CommandResult<SessionView> {
    let (session, _) = state.session().await;
    session
        .sign_in(SignInOptions {
            signup,
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
            "internal",
            "no sign-in is waiting for the browser",
        ));
    };
    let browser = latchkey_core::browser::for_command(profile.browser_command.as_ref());
    Ok(browser.open(&authorize_url)?)
}

#[tauri::command]
pub async fn refresh_now(state: State<'_, AppState>) -> CommandResult<SessionView> {
    state.session().await.0.force_refresh().await?;
    Ok(state.view().await)
}

#[tauri::command]
pub async fn sign_out(
    everywhere: bool,
    state: State<'_, AppState>,
) -> CommandResult<SignOutOutcome> {
    let (session, profile) = state.session().await;
    let mut outcome = session.sign_out(everywhere).await?;
    if let Some(url) = &outcome.logout_url {
        let browser = latchkey_core::browser::for_command(profile.browser_command.as_ref());
        if let Err(e) = browser.open(url) {
            outcome.warnings.push(format!(
                "signed out here, but the provider's logout page did not open ({e}); open {url} to end the browser session too"
            ));
        }
    }
    Ok(outcome)
}

fn token_choice(which: &str) -> CommandResult<TokenChoice> {
    match which {
        "id" => Ok(TokenChoice::Id),
        "access" => Ok(TokenChoice::Access),
        other => Err(CommandError::new(
            "internal",
            format!("no token called `{other}`"),
        )),
    }
}

#[tauri::command]
pub async fn inspect_token(
    which: String,
    state: State<'_, AppState>,
) -> CommandResult<inspect::Inspection> {
    let session = state.session().await.0;
    Ok(session.inspect_current(token_choice(&which)?).await?)
}

#[tauri::command]
pub async fn inspect_pasted(
    token: String,
    state: State<'_, AppState>,
) -> CommandResult<inspect::Inspection> {
    let session = state.session().await.0;
    Ok(session.inspect_token(token.trim()).await?)
}

#[tauri::command]
pub async fn refresh_token_info(
    state: State<'_, AppState>,
) -> CommandResult<Option<latchkey_core::RefreshTokenInfo>> {
    Ok(state.session().await.0.refresh_token_info())
}

/// The only way a token reaches the window: the user pressed "Copy token…" and confirmed.
/// Never the refresh token.
#[tauri::command]
pub async fn reveal_token(which: String, state: State<'_, AppState>) -> CommandResult<String> {
    let choice = token_choice(&which)?;
    let tokens = state.session().await.0.tokens().await?;
    state
        .activity
        .note("INFO", format!("{which} token copied by the user"));
    Ok(match choice {
        TokenChoice::Id => tokens.id_token.expose().to_owned(),
        TokenChoice::Access => tokens.access_token.expose().to_owned(),
    })
}

#[tauri::command]
pub async fn call_api(request: ApiCall, state: State<'_, AppState>) -> CommandResult<ApiResult> {
    let (session, profile) = state.session().await;
    let url = resolve_url(&profile, &request.url)?;
    let headers = request.headers.into_iter().collect();
    let response = session
        .call(ApiRequest {
            method: request.method,
            url,
            headers,
            body: request.body.map(String::into_bytes),
            token: Some(token_choice(&request.token)?),
            scheme: Some(if request.scheme == "bearer" {
                Scheme::Bearer
            } else {
                Scheme::Raw
            }),
            allow_any_origin: request.allow_any_origin,
        })
        .await?;
    let body = String::from_utf8_lossy(&response.body).into_owned();
    let why = (response.status == 401 || response.status == 403).then(|| {
        response
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("www-authenticate"))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| body.chars().take(300).collect())
    });
    Ok(ApiResult {
        status: response.status,
        headers: response.headers,
        body,
        elapsed_ms: response.elapsed.as_millis() as u64,
        why,
    })
}

/// A relative URL in the console is resolved against the profile's first API base URL.
fn resolve_url(profile: &Profile, raw: &str) -> CommandResult<Url> {
    if let Ok(url) = Url::parse(raw) {
        return Ok(url);
    }
    let base = profile.api_base_urls.first().ok_or_else(|| {
        CommandError::new(
            "config",
            "this profile has no API base URL: enter a full URL, or add one in Profiles & settings",
        )
    })?;
    base.join(raw)
        .map_err(|e| CommandError::new("config", format!("`{raw}` is not a valid URL: {e}")))
}

#[tauri::command]
pub fn activity_log(state: State<'_, AppState>) -> Vec<crate::activity::ActivityEntry> {
    state.activity.entries()
}

#[tauri::command]
pub fn clear_activity(state: State<'_, AppState>) {
    state.activity.clear();
}

/// Writes the activity log to a timestamped file in the Downloads folder (the app's data
/// directory when there is none) and returns its path.
#[tauri::command]
pub fn export_activity(state: State<'_, AppState>) -> CommandResult<String> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let dir = export_dir(&state);
    std::fs::create_dir_all(&dir).map_err(|e| {
        CommandError::new("internal", format!("cannot create {}: {e}", dir.display()))
    })?;
    let path = dir.join(format!("latchkey-activity-{stamp}.log"));
    std::fs::write(&path, state.activity.to_text()).map_err(|e| {
        CommandError::new("internal", format!("cannot write {}: {e}", path.display()))
    })?;
    Ok(path.display().to_string())
}

fn export_dir(state: &AppState) -> std::path::PathBuf {
    use tauri::Manager;
    state
        .app
        .path()
        .download_dir()
        .unwrap_or_else(|_| state.data_dir.clone())
}

#[tauri::command]
pub async fn use_profile(name: String, state: State<'_, AppState>) -> CommandResult<()> {
    let profile = {
        let mut config = state.config.lock().await;
        let profile = config.profile(&name)?.clone();
        config.default = Some(name);
        save(&config)?;
        profile
    };
    state.switch_to(profile).await
}

#[tauri::command]
pub async fn remove_profile(name: String, state: State<'_, AppState>) -> CommandResult<()> {
    let (_, active) = state.session().await;
    if active.name == name {
        return Err(CommandError::new(
            "config",
            "this profile is in use: switch to another profile first",
        ));
    }
    let mut config = state.config.lock().await;
    config.profiles.remove(&name);
    save(&config)
}

/// Creates a profile from the settings form after checking the provider live.
#[tauri::command]
pub async fn save_profile(
    form: ProfileForm,
    state: State<'_, AppState>,
) -> CommandResult<ProfileSaved> {
    let invalid = |field: &str, fix: &str| CommandError::new("config", format!("{field}: {fix}"));
    let name = form.name.trim();
    if name.is_empty() {
        return Err(invalid(
            "Profile name",
            "give the profile a name, e.g. `work`",
        ));
    }
    if form.client_id.trim().is_empty() {
        return Err(invalid(
            "App client id",
            "copy it from the provider's app client page",
        ));
    }
    let mut profile = if form.kind == "oidc" {
        let issuer = Url::parse(form.issuer.trim())
            .map_err(|e| invalid("Issuer URL", &format!("not a URL ({e})")))?;
        Profile::oidc(name, issuer, form.client_id.trim())
    } else {
        let domain = Url::parse(form.domain.trim()).map_err(|e| {
            invalid(
                "Hosted-UI domain",
                &format!(
                    "not a URL ({e}); it looks like https://prefix.auth.region.amazoncognito.com"
                ),
            )
        })?;
        Profile::cognito(
            name,
            form.region.trim(),
            form.user_pool_id.trim(),
            domain,
            form.client_id.trim(),
        )
    };
    if !form.scopes.is_empty() {
        profile.scopes = form.scopes;
    }
    if !form.ports.is_empty() {
        profile.ports = form.ports;
        profile.any_port = false;
    }
    profile.api_base_urls = form
        .api_base_urls
        .iter()
        .map(|u| {
            Url::parse(u)
                .map_err(|e| invalid("API base URLs", &format!("`{u}` is not a URL ({e})")))
        })
        .collect::<CommandResult<_>>()?;
    if profile.is_cognito() {
        // Cognito's /logout needs a registered sign-out URL; Latchkey answers it on loopback.
        profile.sign_out_uri = Url::parse(&format!(
            "http://localhost:{}/signed-out",
            profile.ports.first().copied().unwrap_or(53682)
        ))
        .ok();
    }
    let check = check_discovery(&profile).await?;
    let saved = ProfileSaved {
        message: format!("Saved. {check}"),
        redirect_uris: profile.redirect_uris(),
        sign_out_uris: profile.sign_out_uris(),
    };
    let mut config = state.config.lock().await;
    config.insert(profile);
    save(&config)?;
    Ok(saved)
}

/// Live check: the discovery document is reachable and names the issuer the profile expects.
async fn check_discovery(profile: &Profile) -> CommandResult<String> {
    let issuer = profile.issuer();
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let unreachable = |e: String| {
        CommandError::new(
            "provider_unreachable",
            format!(
                "could not read {url}: {e}. Check the region, pool id or issuer, and your network."
            ),
        )
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| unreachable(e.to_string()))?;
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    if !response.status().is_success() {
        return Err(unreachable(format!("HTTP {}", response.status())));
    }
    let doc: serde_json::Value = response
        .json()
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    match doc["issuer"].as_str() {
        Some(found) if found == issuer => Ok(format!("The provider answered and its issuer is {issuer}.")),
        Some(found) => Err(CommandError::new(
            "config",
            format!("the discovery document names the issuer {found}, not {issuer}: check the region and pool id (or the issuer URL)."),
        )),
        None => Err(unreachable("the document has no issuer".into())),
    }
}

fn save(config: &latchkey_core::config::Config) -> CommandResult<()> {
    Ok(crate::state::save_config(config)?)
}

/// The UI's first-paint marker (benchmarks measure start-up to it).
#[tauri::command]
pub fn ui_ready() {
    tracing::info!(target: "latchkey_app", "first paint");
}
