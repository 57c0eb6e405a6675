//! The activity log: latchkey-core's protocol trace (a `tracing` layer), kept for the UI.
//! Core never logs a secret (its tests check that), so entries are safe to show and export.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tauri::{AppHandle, Emitter};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

const CAPACITY: usize = 2_000;

/// One line of the trace.
#[derive(Clone, Debug, Serialize)]
pub struct ActivityEntry {
    pub at_ms: u64,
    pub level: String,
    pub target: String,
    pub message: String,
}

/// The shared, bounded trace; the UI reads it and receives new entries as `activity` events.
#[derive(Clone, Default)]
pub struct ActivityLog {
    entries: Arc<Mutex<VecDeque<ActivityEntry>>>,
    app: Arc<OnceLock<AppHandle>>,
}

impl ActivityLog {
    /// Starts forwarding new entries to the window once the app exists.
    pub fn attach(&self, app: AppHandle) {
        let _ = self.app.set(app);
    }

    pub fn entries(&self) -> Vec<ActivityEntry> {
        self.lock().iter().cloned().collect()
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The log as plain text, one entry a line, for export.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        for e in self.lock().iter() {
            let _ = writeln!(text, "{} {:5} {} {}", e.at_ms, e.level, e.target, e.message);
        }
        text
    }

    /// Writes the log to a timestamped file in the Downloads folder (`fallback` when there is
    /// none) and returns its path.
    pub fn export(
        &self,
        app: &AppHandle,
        fallback: &std::path::Path,
    ) -> latchkey_core::Result<std::path::PathBuf> {
        use tauri::Manager;
        let dir = app
            .path()
            .download_dir()
            .unwrap_or_else(|_| fallback.to_owned());
        let failed = |what: &str, path: &std::path::Path, e: std::io::Error| {
            latchkey_core::Error::new(
                latchkey_core::ErrorKind::Internal,
                format!("cannot {what} {}: {e}", path.display()),
            )
        };
        std::fs::create_dir_all(&dir).map_err(|e| failed("create", &dir, e))?;
        let path = dir.join(format!("latchkey-activity-{}.log", now_ms() / 1000));
        std::fs::write(&path, self.to_text()).map_err(|e| failed("write", &path, e))?;
        Ok(path)
    }

    /// Records an entry that comes from the shell itself rather than from core.
    pub fn note(&self, level: &str, message: impl Into<String>) {
        self.push(ActivityEntry {
            at_ms: now_ms(),
            level: level.to_string(),
            target: "latchkey_app".into(),
            message: message.into(),
        });
    }

    fn push(&self, entry: ActivityEntry) {
        {
            let mut entries = self.lock();
            if entries.len() == CAPACITY {
                entries.pop_front();
            }
            entries.push_back(entry.clone());
        }
        if let Some(app) = self.app.get() {
            let _ = app.emit("activity", entry);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<ActivityEntry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A `tracing` layer that copies the client's own events (core and app, DEBUG and up:
/// discovery, authorize, callback, exchange, verification, refresh, API calls) into the log.
pub struct ActivityLayer(pub ActivityLog);

impl<S: Subscriber> Layer<S> for ActivityLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !meta.target().starts_with("latchkey") {
            return;
        }
        let mut visitor = MessageVisitor::default();
        event.record(&mut visitor);
        self.0.push(ActivityEntry {
            at_ms: now_ms(),
            level: meta.level().to_string(),
            target: meta.target().to_string(),
            message: visitor.text,
        });
    }
}

#[derive(Default)]
struct MessageVisitor {
    text: String,
}

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.text, "{value:?}");
            // `{:?}` of a format_args message has no quotes; keep it as is.
        } else {
            let _ = write!(self.text, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.text.push_str(value);
        } else {
            let _ = write!(self.text, " {}={value}", field.name());
        }
    }
}
