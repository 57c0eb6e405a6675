//! Output helpers: each command's report on stdout, as JSON for scripts or as text for
//! people; readable times and terminal-safe claim values.

use std::fmt::Display;

use chrono::{DateTime, Utc};
use latchkey_core::relative;
use serde::Serialize;

use crate::failure::{CliResult, Exit, Failure};

/// A command's report on stdout: with `json`, its JSON form with the keys of every object in
/// alphabetical order (as `--json` has always printed them); else its `Display`, for people.
pub fn print_report<R: Serialize + Display>(report: &R, json: bool) -> CliResult {
    match json {
        true => print_json(&to_json(report)?),
        false => {
            print!("{report}");
            Ok(())
        }
    }
}

/// `value` as JSON, pretty-printed, keys in the order its `Serialize` gives them.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> CliResult {
    let text = serde_json::to_string_pretty(value).map_err(cannot_encode)?;
    println!("{text}");
    Ok(())
}

/// `value` as a JSON tree (objects keep their keys sorted).
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> CliResult<serde_json::Value> {
    serde_json::to_value(value).map_err(cannot_encode)
}

fn cannot_encode(e: serde_json::Error) -> Failure {
    Failure::new(Exit::Other, format!("cannot encode JSON output ({e})."))
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

/// Where a session is kept, as `status` and `login` report it: core's storage facts, and the
/// store's lifetime when it is limited (the Linux kernel keyring).
#[derive(Serialize)]
pub struct KeychainFacts {
    pub lifetime: Option<&'static str>,
    pub persistent: bool,
    pub store_name: String,
    pub warning: Option<String>,
}

impl KeychainFacts {
    pub fn of(session: &latchkey_core::Session) -> Self {
        let storage = session.storage();
        KeychainFacts {
            lifetime: session.storage_lifetime(),
            persistent: storage.persistent,
            store_name: storage.store_name,
            warning: storage.warning,
        }
    }
}

impl std::fmt::Display for KeychainFacts {
    /// The `keychain` line of `status` and `login`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.lifetime {
            Some(lifetime) => writeln!(f, "  keychain        {}: {lifetime}", self.store_name),
            None => writeln!(f, "  keychain        {}", self.store_name),
        }
    }
}
