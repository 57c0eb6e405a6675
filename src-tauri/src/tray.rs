//! The tray icon: its menu drawn from `tray_menu` with every profile's state as the agent
//! reports it (one subscription, redrawn on each change), and what its items do.

use std::collections::BTreeMap;

use latchkey_core::agent::{AgentClient, AgentPlace, ProfileStatus, Request, Response};
use latchkey_core::config::TokenChoice;
use latchkey_core::{SignInOptions, SignOutScope};
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Emitter, Manager, Wry};
use tokio::sync::Mutex;

use crate::agent_host::AgentHost;
use crate::state::{bring_to_front, AppState};
use crate::tray_menu::{tray_menu, tray_tooltip, TrayAction, TrayItem};

const TRAY_ID: &str = "latchkey";

/// The tray's icon and the statuses its menu shows, by profile name (in the file's order).
pub struct Tray {
    icon: TrayIcon,
    statuses: Mutex<BTreeMap<String, ProfileStatus>>,
    agent_line: String,
}

/// Put Latchkey's icon in the tray with Open and Quit; the profiles follow from the agent.
pub fn install(app: &AppHandle, agent_line: String) -> tauri::Result<()> {
    let mut builder = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip(tray_tooltip(&[], &agent_line))
        .menu(&build_menu(app, &tray_menu(&[], chrono::Utc::now()))?)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| dispatch(app.clone(), event.id().as_ref()));
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    let icon = builder.build(app)?;
    app.manage(Tray {
        icon,
        statuses: Mutex::new(BTreeMap::new()),
        agent_line,
    });
    let watcher = app.clone();
    tauri::async_runtime::spawn(async move { watch_agent(watcher).await });
    Ok(())
}

/// Ask the agent for `profile`'s state again (after the window's session changed it: the
/// agent forgets what it held and reads the keychain anew) and redraw the menu.
pub fn profile_changed(app: &AppHandle, profile: String) {
    if app.try_state::<Tray>().is_none() {
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let Some(mut agent) = connect().await else {
            return;
        };
        let forget = Request::Forget {
            profile: profile.clone(),
        };
        let _ = agent.request(&forget).await;
        let status = Request::Status {
            profile: Some(profile),
        };
        if let Ok(Response::Status { profiles, .. }) = agent.request(&status).await {
            update(&app, profiles).await;
        }
    });
}

async fn connect() -> Option<AgentClient> {
    AgentClient::connect(&AgentPlace::from_env())
        .await
        .ok()
        .flatten()
}

/// Every profile's state once, then each change as the agent sends it.
async fn watch_agent(app: AppHandle) {
    let names: Vec<String> = {
        let state = app.state::<AppState>();
        let config = state.config.lock().await;
        config.profiles.keys().cloned().collect()
    };
    let Some(mut agent) = connect().await else {
        tracing::info!("no agent answers; the tray shows no profiles");
        return;
    };
    for name in names {
        let status = Request::Status {
            profile: Some(name),
        };
        if let Ok(Response::Status { profiles, .. }) = agent.request(&status).await {
            update(&app, profiles).await;
        }
    }
    if !matches!(
        agent.request(&Request::Subscribe).await,
        Ok(Response::Subscribed)
    ) {
        return;
    }
    while let Ok(Response::StateChanged(status)) = agent.next().await {
        update(&app, vec![status]).await;
    }
    tracing::info!("the agent stopped; the tray menu keeps its last states");
}

async fn update(app: &AppHandle, changed: Vec<ProfileStatus>) {
    let Some(tray) = app.try_state::<Tray>() else {
        return;
    };
    let statuses: Vec<ProfileStatus> = {
        let mut held = tray.statuses.lock().await;
        for status in changed {
            held.insert(status.profile.clone(), status);
        }
        held.values().cloned().collect()
    };
    let model = tray_menu(&statuses, chrono::Utc::now());
    match build_menu(app, &model) {
        Ok(menu) => {
            let _ = tray.icon.set_menu(Some(menu));
            let _ = tray
                .icon
                .set_tooltip(Some(tray_tooltip(&statuses, &tray.agent_line)));
        }
        Err(e) => tracing::warn!(error = %e, "the tray menu could not be drawn"),
    }
}

fn build_menu(app: &AppHandle, items: &[TrayItem]) -> tauri::Result<Menu<Wry>> {
    let menu = Menu::new(app)?;
    for (n, item) in items.iter().enumerate() {
        match item {
            TrayItem::Note(text) => menu.append(&MenuItem::with_id(
                app,
                format!("note-{n}"),
                text,
                false,
                None::<&str>,
            )?)?,
            TrayItem::Action { label, action } => menu.append(&MenuItem::with_id(
                app,
                action.id(),
                label,
                true,
                None::<&str>,
            )?)?,
            TrayItem::Separator => menu.append(&PredefinedMenuItem::separator(app)?)?,
        }
    }
    Ok(menu)
}

fn dispatch(app: AppHandle, id: &str) {
    let Some(action) = TrayAction::from_id(id) else {
        return;
    };
    tauri::async_runtime::spawn(async move {
        if let Err(message) = act(&app, action).await {
            app.state::<AppState>().activity.note("WARN", message);
        }
    });
}

async fn act(app: &AppHandle, action: TrayAction) -> Result<(), String> {
    match action {
        TrayAction::Open => show_window(app),
        TrayAction::Quit => quit_after_asking(app),
        TrayAction::SignIn(profile) => sign_in(app, profile).await?,
        TrayAction::SignOut(profile) => sign_out(app, profile).await?,
        TrayAction::CopyToken(profile) => copy_token(app, profile).await?,
    }
    Ok(())
}

/// Show the window again (it may be hidden in the tray).
pub fn show_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
    }
    bring_to_front(app);
}

/// Quit stops the agent that tools rely on: the window comes up and asks first (in the app's
/// own dialog, `confirm_quit`), and quits only on "Quit" (the `quit_app` command).
fn quit_after_asking(app: &AppHandle) {
    let ours = app.state::<AgentHost>().holding().is_ours();
    let text = match ours {
        true => "Quitting stops Latchkey's session agent: latchkey, kubectl and the AWS SDKs then read the keychain themselves (or start `latchkey agent`). Signed-in sessions stay in the keychain.",
        false => "The session agent that answers your tools runs in another process and keeps running; signed-in sessions stay in the keychain.",
    };
    show_window(app);
    let _ = app.emit("confirm_quit", text);
}

/// Stop the app's agent (its socket goes) and end the app.
pub async fn quit_now(app: AppHandle) {
    app.state::<AgentHost>().stop().await;
    app.exit(0);
}

/// The active profile signs in through the window's session (the window shows it); another
/// through the agent.
async fn sign_in(app: &AppHandle, profile: String) -> Result<(), String> {
    let state = app.state::<AppState>();
    let (session, active) = state.session().await;
    if active.name == profile {
        show_window(app);
        session
            .sign_in(SignInOptions::default())
            .await
            .map_err(|e| format!("signing in to `{profile}` from the tray: {e}"))?;
        return Ok(());
    }
    agent_request(Request::SignIn {
        profile: Some(profile),
        interactive: true,
    })
    .await
    .map(drop)
}

async fn sign_out(app: &AppHandle, profile: String) -> Result<(), String> {
    let state = app.state::<AppState>();
    let (session, active) = state.session().await;
    if active.name == profile {
        let outcome = session
            .sign_out(SignOutScope::ThisDevice)
            .await
            .map_err(|e| format!("signing out of `{profile}` from the tray: {e}"))?;
        for warning in outcome.warnings {
            state
                .activity
                .note("WARN", format!("signing `{profile}` out: {warning}"));
        }
        return Ok(());
    }
    agent_request(Request::SignOut {
        profile: Some(profile),
        everywhere: false,
    })
    .await
    .map(drop)
}

/// The profile's ID token on the clipboard, marked sensitive and cleared after 30 s.
async fn copy_token(app: &AppHandle, profile: String) -> Result<(), String> {
    let state = app.state::<AppState>();
    let (session, active) = state.session().await;
    let token = if active.name == profile {
        let token = session
            .token(TokenChoice::Id)
            .await
            .map_err(|e| format!("copying the token of `{profile}`: {e}"))?;
        token.expose().to_owned()
    } else {
        let request = Request::Token {
            profile: Some(profile.clone()),
            token: TokenChoice::Id,
            min_seconds_left: 60,
            interactive: false,
            // A click in the tray: a needed sign-in is answered at once, not waited for.
            wait_seconds: 0,
        };
        match agent_request(request).await? {
            Response::Token { token, .. } => token.expose().to_owned(),
            other => {
                return Err(format!(
                    "the agent answered {} to a token request",
                    other.name()
                ))
            }
        }
    };
    crate::commands::copy_secret(
        app.clone(),
        &state,
        token,
        &format!("ID token of `{profile}`"),
    )
    .map(drop)
    .map_err(|e| e.0.message().to_owned())
}

async fn agent_request(request: Request) -> Result<Response, String> {
    let mut agent = connect()
        .await
        .ok_or("no session agent answers; start `latchkey agent` or restart Latchkey")?;
    agent.request(&request).await.map_err(|e| e.to_string())
}
