//! The API console's commands: a request sent with the session's token (and cancelled), the
//! profile's saved requests and history, and a request as a curl command.

use std::time::Duration;

use latchkey_core::{resolve_api_url, ApiRequest, ApiUrlError, ErrorKind};
use tauri::State;
use url::Url;

use crate::console::{self, ConsoleData, ConsoleRequest, HistoryEntry};
use crate::error::{CommandError, CommandResult};
use crate::models::ApiResult;
use crate::state::AppState;

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

/// A relative URL in the console is resolved against the profile's first API base URL (core's
/// rule, shared with `latchkey call`).
fn resolve_url(bases: &[Url], raw: &str) -> CommandResult<Url> {
    resolve_api_url(bases, raw).map_err(|e| match e {
        ApiUrlError::NoApiBaseUrl { .. } => CommandError::new(
            ErrorKind::Config,
            "this profile has no API base URL: enter a full URL, or add one in Profiles & settings",
        ),
        ApiUrlError::Invalid { .. } => CommandError::new(ErrorKind::Config, e.to_string()),
    })
}
