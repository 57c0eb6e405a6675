//! How the session agent keeps one profile's tokens (`[profiles.NAME.agent]`): forgotten after a
//! while without a request (`idle_forget_secs`), handed out only when the user says yes (`confirm`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::validate::{Checked, Problems};

/// The values `agent.idle_forget_secs` may take: a second to 30 days.
pub const IDLE_FORGET_RANGE_SECS: (u64, u64) = (1, 30 * 24 * 3600);

/// A profile's agent settings, checked. The default keeps the tokens in memory while the agent
/// runs and hands them out without asking (what an agent without these settings does).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AgentSettings {
    /// After this long without a request for the profile, the agent forgets its tokens (the
    /// keychain keeps the refresh token; the next request reads it again). `None`: never.
    pub idle_forget: Option<Duration>,
    /// Each hand-out of a token or of AWS credentials waits for the user's "Allow" in a
    /// desktop notification (as `ssh-add -c` does for SSH keys); no answer is a refusal.
    pub confirm: bool,
}

/// `[profiles.NAME.agent]` as written, unchecked; its errors name the field as `agent.<field>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentDraft {
    /// Seconds without a request after which the agent forgets the profile's tokens, 1 to
    /// 2592000 (30 days); absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_forget_secs: Option<i64>,
    /// `true`: every hand-out of a token or AWS credentials asks the user first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm: Option<bool>,
}

impl AgentDraft {
    /// `settings` written out; `None` for the defaults (a file need not say them).
    pub fn from_settings(settings: &AgentSettings) -> Option<AgentDraft> {
        (settings != &AgentSettings::default()).then(|| AgentDraft {
            idle_forget_secs: settings
                .idle_forget
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            confirm: settings.confirm.then_some(true),
        })
    }
}

/// Checks `[profiles.NAME.agent]` (absent: the defaults).
pub(super) fn from_draft(p: &Problems, draft: Option<&AgentDraft>) -> Checked<AgentSettings> {
    let Some(d) = draft else {
        return Ok(AgentSettings::default());
    };
    let (min, max) = IDLE_FORGET_RANGE_SECS;
    let idle_forget = match d.idle_forget_secs {
        None => None,
        Some(x) => match u64::try_from(x) {
            Ok(x) if (min..=max).contains(&x) => Some(Duration::from_secs(x)),
            _ => {
                return Err(p.err(
                    "agent.idle_forget_secs",
                    format!("{x} is out of range"),
                    &format!(
                        "use a number of seconds between {min} and {max} (1800 is half an \
                         hour), or remove it to keep the tokens while the agent runs"
                    ),
                ))
            }
        },
    };
    Ok(AgentSettings {
        idle_forget,
        confirm: d.confirm.unwrap_or(false),
    })
}
