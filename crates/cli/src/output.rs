//! Output helpers: JSON on stdout for scripts, readable times for people.

use chrono::{DateTime, Utc};
use latchkey_core::relative;
use serde::Serialize;

use crate::failure::{CliResult, Exit, Failure};

pub fn print_json<T: Serialize + ?Sized>(value: &T) -> CliResult {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::new(Exit::Other, format!("cannot encode JSON output ({e}).")))?;
    println!("{text}");
    Ok(())
}

/// `2026-11-23 15:04:05 UTC (in 59 min)`.
pub fn when(t: DateTime<Utc>) -> String {
    format!(
        "{} ({})",
        t.format("%Y-%m-%d %H:%M:%S UTC"),
        relative(t.timestamp() - Utc::now().timestamp())
    )
}

/// `4:07` for a countdown.
pub fn mm_ss(secs: i64) -> String {
    let s = secs.max(0);
    format!("{}:{:02}", s / 60, s % 60)
}

/// A claim value for the terminal: a pasted token is untrusted, so control characters (an
/// escape sequence could rewrite the screen) are shown as `\u{..}`, never sent raw.
pub fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => printable(s),
        other => printable(&other.to_string()),
    }
}

pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| match c.is_control() {
            true => c.escape_unicode().to_string(),
            false => c.to_string(),
        })
        .collect()
}
