//! `agent.confirm`: each hand-out of a profile's token or AWS credentials waits for the user's
//! "Allow" in a desktop notification naming the program that asked, as `ssh-add -c` does for SSH
//! keys. "Deny", a dismissed notification, no answer within [`CONFIRM_TIMEOUT`] or no way to ask
//! at all refuse the hand-out: the answer is never assumed.

use std::time::Duration;

use super::protocol::{AgentError, AgentErrorKind};

/// How long a hand-out waits for the user's answer before it is refused.
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(60);

/// The notification's action keys.
pub(crate) const ALLOW_ACTION: &str = "allow";
pub(crate) const DENY_ACTION: &str = "deny";

/// The notification's title for a hand-out of `profile`'s credentials.
pub(crate) fn summary(profile: &str) -> String {
    format!("Allow a hand-out of {profile}?")
}

/// The process on the other end of a connection, as the question names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// Its process id, from the socket's peer credentials.
    pub pid: Option<u32>,
    /// Its program name (`/proc/PID/comm` on Linux).
    pub program: Option<String>,
    /// The program that started it (`kubectl` for the `latchkey token` kubectl runs).
    pub parent: Option<String>,
}

impl Caller {
    /// The process `pid`, named from `/proc` where there is one.
    pub fn of_pid(pid: u32) -> Caller {
        let comm = |pid: u32| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .ok()
                .map(|s| s.trim().to_owned())
        };
        let parent_pid = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| parent_of(&stat));
        Caller {
            pid: Some(pid),
            program: comm(pid),
            parent: parent_pid.and_then(comm),
        }
    }

    /// "kubectl (pid 42)", "latchkey (pid 42, started by kubectl)", "a process".
    pub fn describe(&self) -> String {
        let name = self.program.as_deref().unwrap_or("a process");
        let mut facts = Vec::new();
        if let Some(pid) = self.pid {
            facts.push(format!("pid {pid}"));
        }
        if let Some(parent) = &self.parent {
            facts.push(format!("started by {parent}"));
        }
        match facts.is_empty() {
            true => name.to_owned(),
            false => format!("{name} ({})", facts.join(", ")),
        }
    }
}

/// The parent pid from `/proc/PID/stat` (the field after the parenthesised name, which may
/// itself hold spaces and parentheses).
fn parent_of(stat: &str) -> Option<u32> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// Why a hand-out was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Denied,
    Dismissed,
    NoAnswer,
    CannotAsk,
}

impl Refusal {
    fn into_error(self, profile: &str, detail: &str) -> AgentError {
        let why = match self {
            Refusal::Denied => "the hand-out was denied in the notification".to_owned(),
            Refusal::Dismissed => "the notification was dismissed without an answer".to_owned(),
            Refusal::NoAnswer => format!(
                "nobody answered the notification within {} s",
                CONFIRM_TIMEOUT.as_secs()
            ),
            Refusal::CannotAsk => format!("no desktop notification could ask ({detail})"),
        };
        AgentError::new(
            AgentErrorKind::HandOutRefused,
            format!(
                "profile {profile} hands out credentials only when you allow it \
                 (`agent.confirm`), and {why}. Ask again and choose Allow, or set \
                 `confirm = false` in [profiles.{profile}.agent]."
            ),
        )
    }
}

/// Ask the user whether `caller` may have `what` (e.g. "the ID token") of `profile`.
pub(crate) async fn hand_out(profile: &str, what: &str, caller: &Caller) -> Result<(), AgentError> {
    let caller = match (caller.pid, &caller.program) {
        (Some(pid), None) => &Caller::of_pid(pid),
        _ => caller,
    };
    let outcome = ask(profile, what, caller).await;
    match outcome {
        Ok(()) => {
            tracing::info!(profile, what, caller = %caller.describe(), "hand-out allowed");
            Ok(())
        }
        Err((refusal, detail)) => {
            tracing::warn!(profile, what, caller = %caller.describe(), ?refusal, "hand-out refused");
            Err(refusal.into_error(profile, &detail))
        }
    }
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
async fn ask(_profile: &str, _what: &str, _caller: &Caller) -> Result<(), (Refusal, String)> {
    Err((
        Refusal::CannotAsk,
        "notifications are shown on Linux desktops only".into(),
    ))
}

#[cfg(all(unix, not(target_os = "macos")))]
async fn ask(profile: &str, what: &str, caller: &Caller) -> Result<(), (Refusal, String)> {
    use futures_util::StreamExt;
    use std::collections::HashMap;
    use zbus::zvariant::Value;

    let cannot = |e: zbus::Error| (Refusal::CannotAsk, e.to_string());
    let proxy = super::notify::bus::connect().await.map_err(cannot)?;
    // Followed before the notification exists, so no answer is missed; one stream keeps the
    // server's order (an action, then the close it causes).
    let mut signals = proxy.inner().receive_all_signals().await.map_err(cannot)?;
    let body = format!("{} asks for {what} of {profile}.", caller.describe());
    let hints = HashMap::from([("urgency", Value::U8(2))]);
    let id = proxy
        .notify(
            "Latchkey",
            0,
            "dialog-password",
            &summary(profile),
            &body,
            &[ALLOW_ACTION, "Allow", DENY_ACTION, "Deny"],
            hints,
            0,
        )
        .await
        .map_err(cannot)?;
    let answer = async {
        while let Some(message) = signals.next().await {
            let body = message.body();
            match message.header().member().map(|m| m.as_str()) {
                Some("ActionInvoked") => match body.deserialize::<(u32, String)>() {
                    Ok((i, key)) if i == id && key == ALLOW_ACTION => return Ok(()),
                    Ok((i, _)) if i == id => return Err(Refusal::Denied),
                    _ => {}
                },
                Some("NotificationClosed") => match body.deserialize::<(u32, u32)>() {
                    Ok((i, _)) if i == id => return Err(Refusal::Dismissed),
                    _ => {}
                },
                _ => {}
            }
        }
        Err(Refusal::CannotAsk)
    };
    match tokio::time::timeout(CONFIRM_TIMEOUT, answer).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(refusal)) => Err((refusal, "the notification server went away".into())),
        Err(_) => {
            let _ = proxy.close_notification(id).await;
            Err((Refusal::NoAnswer, String::new()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_pid_is_read_past_a_name_with_spaces_and_parentheses() {
        let stat = "4242 (my (odd) prog) S 17 4242 4242 0 -1 4194560";
        assert_eq!(parent_of(stat), Some(17));
        assert_eq!(parent_of("garbage"), None);
    }

    #[test]
    fn a_caller_is_named_with_what_is_known_of_it() {
        let full = Caller {
            pid: Some(42),
            program: Some("latchkey".into()),
            parent: Some("kubectl".into()),
        };
        assert_eq!(full.describe(), "latchkey (pid 42, started by kubectl)");
        assert_eq!(Caller::default().describe(), "a process");
    }

    #[test]
    fn this_process_is_found_in_proc_with_its_parent() {
        if !std::path::Path::new("/proc/self/stat").exists() {
            return;
        }
        let me = Caller::of_pid(std::process::id());
        assert!(me.program.is_some(), "{me:?}");
        assert!(me.parent.is_some(), "{me:?}");
    }
}
