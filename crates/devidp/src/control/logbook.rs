//! The provider's activity log: every line goes to `tracing` and to a bounded in-memory tail.
//! Secrets (codes, tokens, state, passwords) only ever appear masked, via [`mask`].

use std::collections::VecDeque;
use std::sync::Mutex;

const TAIL_CAPACITY: usize = 2000;

/// Recent log lines, kept for [`crate::DevIdp::log_tail`] and `GET /_devidp/log`.
pub(crate) struct Logbook {
    lines: Mutex<VecDeque<String>>,
}

impl Logbook {
    pub(crate) fn new() -> Self {
        Logbook {
            lines: Mutex::new(VecDeque::new()),
        }
    }

    pub(crate) fn log(&self, line: String) {
        tracing::info!(target: "latchkey_devidp", "{line}");
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == TAIL_CAPACITY {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    pub(crate) fn tail(&self, n: usize) -> Vec<String> {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        let skip = lines.len().saturating_sub(n);
        lines.iter().skip(skip).cloned().collect()
    }
}

/// A loggable stand-in for a secret: its first 4 characters and its length, never the value.
pub(crate) fn mask(secret: &str) -> String {
    let len = secret.chars().count();
    if len <= 8 {
        format!("****({len} chars)")
    } else {
        let head: String = secret.chars().take(4).collect();
        format!("{head}…({len} chars)")
    }
}

/// Like [`mask`] for an optional secret.
pub(crate) fn mask_opt(secret: Option<&str>) -> String {
    secret.map(mask).unwrap_or_else(|| "-".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_never_shows_the_whole_secret() {
        assert_eq!(mask("short"), "****(5 chars)");
        assert_eq!(mask("0123456789abcdef"), "0123…(16 chars)");
        assert_eq!(mask_opt(None), "-");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let log = Logbook::new();
        for i in 0..5 {
            log.log(format!("line {i}"));
        }
        assert_eq!(log.tail(2), vec!["line 3", "line 4"]);
        assert_eq!(log.tail(10).len(), 5);
    }
}
