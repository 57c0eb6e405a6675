//! The activity log's commands: its entries, clearing it, and exporting it to a file.

use tauri::State;

use crate::error::CommandResult;
use crate::state::AppState;

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
