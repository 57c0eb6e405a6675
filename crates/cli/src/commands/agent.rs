//! `latchkey agent`: the session agent in the foreground (headless, logging to stderr), and
//! `agent status` / `agent stop` for the one that runs.

use crate::cli::AgentArgs;
use crate::context::Ctx;
use crate::failure::{CliResult, Exit};

#[cfg(not(unix))]
pub async fn run(_: &Ctx, _: AgentArgs) -> CliResult<Exit> {
    Err(crate::failure::Failure::new(
        Exit::Other,
        "the session agent is not available on this system yet; every command works without it.",
    ))
}

#[cfg(unix)]
pub use unix::run;

#[cfg(unix)]
mod unix {
    use std::fmt;
    use std::time::Duration;

    use chrono::{DateTime, Utc};
    use latchkey_core::agent::{
        Agent, AgentClient, AgentFacts, AgentOptions, AgentPlace, AgentStart, ProfileStatus,
        Request, Response,
    };
    use serde::Serialize;

    use super::*;
    use crate::cli::AgentCommand;
    use crate::failure::Failure;
    use crate::output::print_report;

    /// How long `agent stop` waits for the socket to go.
    const STOP_WAIT: Duration = Duration::from_secs(10);

    pub async fn run(ctx: &Ctx, a: AgentArgs) -> CliResult<Exit> {
        match a.command {
            None => serve(ctx, Duration::from_secs(a.read_timeout.max(1))).await,
            Some(AgentCommand::Status { json }) => status(json).await,
            Some(AgentCommand::Stop) => stop().await,
            Some(AgentCommand::Install { uninstall }) => {
                super::super::agent_install::run(uninstall)
            }
        }
    }

    async fn serve(ctx: &Ctx, read_timeout: Duration) -> CliResult<Exit> {
        let options = AgentOptions {
            read_timeout,
            ..AgentOptions::new(ctx.config_path()?)
        };
        let start = Agent::start(options)
            .await
            .map_err(|e| Failure::new(Exit::Other, e.to_string()))?;
        match start {
            AgentStart::AlreadyRunning { pid } => {
                eprintln!("latchkey: agent already running, pid {pid}.");
                Ok(Exit::Ok)
            }
            AgentStart::Started(agent) => {
                // A demo profile's provider lives as long as the agent that serves it.
                ctx.serve_demo_profiles();
                eprintln!(
                    "latchkey: agent running, pid {}, on {}; Ctrl-C stops it.",
                    std::process::id(),
                    agent.socket().display()
                );
                agent.run_until(shutdown_signal()).await;
                Ok(Exit::Ok)
            }
        }
    }

    /// Ctrl-C or SIGTERM.
    async fn shutdown_signal() {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async {
                match term.as_mut() {
                    Some(t) => { t.recv().await; }
                    None => std::future::pending::<()>().await,
                }
            } => {}
        }
    }

    fn no_agent(place: &AgentPlace) -> Failure {
        Failure::new(
            Exit::Other,
            format!(
                "no agent answers on {}; start one with `latchkey agent`.",
                place.socket().display()
            ),
        )
    }

    async fn connect(place: &AgentPlace) -> CliResult<Option<AgentClient>> {
        AgentClient::connect(place)
            .await
            .map_err(|e| Failure::new(Exit::Other, e.to_string()))
    }

    async fn status(json: bool) -> CliResult<Exit> {
        let place = AgentPlace::from_env();
        let mut client = connect(&place).await?.ok_or_else(|| no_agent(&place))?;
        let answer = client
            .request(&Request::Status { profile: None })
            .await
            .map_err(|e| Failure::new(Exit::Other, e.to_string()))?;
        let Response::Status { agent, profiles } = &answer else {
            return Err(Failure::new(
                Exit::Other,
                "the agent's answer is not a status.",
            ));
        };
        let report = AgentStatusReport {
            agent,
            profiles: profiles.iter().map(AgentProfileRow::from).collect(),
            socket: place.socket().display().to_string(),
        };
        print_report(&report, json)?;
        Ok(Exit::Ok)
    }

    /// `latchkey agent status`'s report: the agent, its socket, and each profile it holds.
    #[derive(Serialize)]
    struct AgentStatusReport<'a> {
        agent: &'a AgentFacts,
        profiles: Vec<AgentProfileRow<'a>>,
        socket: String,
    }

    /// One profile the agent holds. The agent knows the user only as a label, so the field is
    /// `user_label`, not `user` (which is the user object everywhere else).
    #[derive(Serialize)]
    struct AgentProfileRow<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        id_expires_at: Option<DateTime<Utc>>,
        profile: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<&'a str>,
        sign_in_waiters: u32,
        state: &'a str,
        /// Email, else username, else subject, when signed in.
        #[serde(skip_serializing_if = "Option::is_none")]
        user_label: Option<&'a str>,
    }

    impl<'a> From<&'a ProfileStatus> for AgentProfileRow<'a> {
        fn from(p: &'a ProfileStatus) -> Self {
            AgentProfileRow {
                id_expires_at: p.id_expires_at,
                profile: &p.profile,
                reason: p.reason.as_deref(),
                sign_in_waiters: p.sign_in_waiters,
                state: &p.state,
                user_label: p.user.as_deref(),
            }
        }
    }

    impl fmt::Display for AgentStatusReport<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let agent = self.agent;
            writeln!(f, "Agent running, pid {}", agent.pid)?;
            writeln!(f, "  socket          {}", self.socket)?;
            writeln!(f, "  protocol        {}", agent.version)?;
            writeln!(f, "  keychain reads  {}", agent.keychain_reads)?;
            writeln!(f, "  refused peers   {}", agent.refused_peers)?;
            for p in &self.profiles {
                let who = p.user_label.unwrap_or("-");
                writeln!(f, "  profile {:<16} {:<11} {who}", p.profile, p.state)?;
            }
            Ok(())
        }
    }

    async fn stop() -> CliResult<Exit> {
        let place = AgentPlace::from_env();
        let Some(mut client) = connect(&place).await? else {
            eprintln!("latchkey: no agent was running.");
            return Ok(Exit::Ok);
        };
        let pid = client.agent_pid();
        client
            .request(&Request::Stop)
            .await
            .map_err(|e| Failure::new(Exit::Other, e.to_string()))?;
        let deadline = tokio::time::Instant::now() + STOP_WAIT;
        // A socket systemd passed stays (it is systemd's): then the process ending says it.
        while place.socket().exists() && process_runs(pid) && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!("latchkey: agent pid {pid} stopped.");
        Ok(Exit::Ok)
    }

    /// Whether process `pid` runs (a zombie does not); where /proc is missing, assume so.
    fn process_runs(pid: u32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state follows the command name, which is in parentheses.
            Ok(stat) => stat
                .rsplit_once(')')
                .is_none_or(|(_, rest)| !rest.trim_start().starts_with('Z')),
            Err(_) => !std::path::Path::new("/proc/self").exists(),
        }
    }
}
