//! The session agent inside the app: started with the app unless another agent of this user
//! already answers (then the app says so and starts no second one), stopped by Quit.
//!
//! One holder, one refresh: the agent's sessions and the window's session of the same profile
//! live in this one process, and every refresh or keychain write of a profile happens under
//! core's profile lock (an `flock`, which excludes two open files in one process as it does two
//! processes) and adopts what the other wrote first, so a profile is never refreshed twice.

use std::path::PathBuf;

use latchkey_core::agent::{Agent, AgentOptions, AgentStart};
use tauri::async_runtime::JoinHandle;
use tokio::sync::{oneshot, Mutex};

/// Who answers this user's tools, as the app found it at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentHolding {
    /// This app runs the agent, on `socket`.
    Ours { socket: PathBuf },
    /// Another process (a headless `latchkey agent`) answers; the app started none.
    Elsewhere { pid: u32 },
    /// No agent could start here; tools read the keychain themselves.
    Unavailable { reason: String },
}

impl AgentHolding {
    /// One line for the window's status area and the tray's tooltip.
    pub fn describe(&self) -> String {
        match self {
            AgentHolding::Ours { .. } => format!(
                "Session agent: this app (pid {}) answers latchkey, kubectl and the AWS SDKs.",
                std::process::id()
            ),
            AgentHolding::Elsewhere { pid } => format!(
                "Session agent: another agent (pid {pid}, `latchkey agent`) already answers; this app did not start a second."
            ),
            AgentHolding::Unavailable { reason } => format!(
                "Session agent: not running ({reason}); tools read the keychain themselves."
            ),
        }
    }

    /// `ours`, `elsewhere` or `none`, for the window (and its tests) to tell apart.
    pub fn holder(&self) -> &'static str {
        match self {
            AgentHolding::Ours { .. } => "ours",
            AgentHolding::Elsewhere { .. } => "elsewhere",
            AgentHolding::Unavailable { .. } => "none",
        }
    }

    pub fn is_ours(&self) -> bool {
        matches!(self, AgentHolding::Ours { .. })
    }
}

/// The app's agent task, if it runs one, and how to stop it.
pub struct AgentHost {
    holding: AgentHolding,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    serving: Mutex<Option<JoinHandle<()>>>,
}

impl AgentHost {
    /// Try to become this user's agent for the profiles in `config_path` (needs the async
    /// runtime); serving runs as a task until [`AgentHost::stop`].
    pub async fn start(config_path: PathBuf) -> AgentHost {
        let (holding, stop, serving) = match Agent::start(AgentOptions::new(config_path)).await {
            Ok(AgentStart::Started(agent)) => {
                let socket = agent.socket();
                let (stop, stopped) = oneshot::channel::<()>();
                let serving = tauri::async_runtime::spawn(agent.run_until(async {
                    let _ = stopped.await;
                }));
                (AgentHolding::Ours { socket }, Some(stop), Some(serving))
            }
            Ok(AgentStart::AlreadyRunning { pid }) => (AgentHolding::Elsewhere { pid }, None, None),
            Err(e) => (
                AgentHolding::Unavailable {
                    reason: e.to_string(),
                },
                None,
                None,
            ),
        };
        tracing::info!(holding = ?holding, "session agent");
        AgentHost {
            holding,
            stop: Mutex::new(stop),
            serving: Mutex::new(serving),
        }
    }

    pub fn holding(&self) -> &AgentHolding {
        &self.holding
    }

    /// Stop the app's agent and wait until its socket is gone (nothing when another process
    /// holds); idempotent.
    pub async fn stop(&self) {
        if let Some(stop) = self.stop.lock().await.take() {
            let _ = stop.send(());
        }
        if let Some(serving) = self.serving.lock().await.take() {
            let _ = serving.await;
        }
    }
}
