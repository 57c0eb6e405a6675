//! The CLI's side of the session agent: `token`, `aws credentials`, `call` (for its token) and
//! `status` ask it first
//! when its socket answers (and it reads the same profiles file), and go on as before when not.
//! `LATCHKEY_AGENT=off` keeps the CLI away from the socket; on Windows no agent answers yet.

use latchkey_core::config::TokenChoice;
#[cfg(unix)]
use latchkey_core::Error as CoreError;
use latchkey_core::{AwsCredentials, SecretToken};

use crate::context::Ctx;
use crate::failure::{CliResult, Exit, Failure};

/// For `token` and `aws credentials` when the agent did not hand out: a profile that asks the
/// user before each hand-out (`agent.confirm`) hands out only through the agent, which asks;
/// this process cannot, so it refuses rather than hand out unasked.
pub fn direct_hand_out(profile: &latchkey_core::config::Profile) -> CliResult<()> {
    if !profile.agent.confirm {
        return Ok(());
    }
    Err(Failure::new(
        Exit::HandOutRefused,
        format!(
            "profile {name} hands out credentials only through the agent, which asks you first \
             (`agent.confirm`), and no agent handed them out. Start it with `latchkey agent` (or \
             open the Latchkey app) and sign in with `latchkey login --profile {name}` if needed.",
            name = profile.name
        ),
    ))
}

/// A token as the agent handed it out.
pub struct AgentToken {
    pub token: SecretToken,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub warning: Option<String>,
}

#[cfg(unix)]
mod unix {
    use std::io::IsTerminal;

    use latchkey_core::agent::{
        AgentCallError, AgentClient, AgentError, AgentErrorKind, AgentPlace, Request, Response,
    };

    use super::*;

    /// Whether `LATCHKEY_AGENT` turns the agent off.
    fn agent_off() -> bool {
        std::env::var("LATCHKEY_AGENT").is_ok_and(|v| v.eq_ignore_ascii_case("off"))
    }

    /// Whether this caller may interact: a terminal on stdin and stderr (`token` and `aws`
    /// have no `--no-browser`).
    fn interactive() -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    /// A connection to this user's agent when one answers and serves the same profiles file.
    async fn connect(ctx: &Ctx) -> Option<AgentClient> {
        if agent_off() {
            return None;
        }
        let client = AgentClient::connect(&AgentPlace::from_env()).await.ok()??;
        let ours = ctx.config_path().ok()?;
        let same = |a: &std::path::Path, b: &std::path::Path| {
            a == b
                || (a
                    .canonicalize()
                    .ok()
                    .is_some_and(|a| Some(a) == b.canonicalize().ok()))
        };
        same(&ours, std::path::Path::new(client.agent_config())).then_some(client)
    }

    /// Ask the agent; `Ok(None)`: no agent, or an answer the direct path words better (no
    /// session: today's message), or the agent failed mid-request.
    async fn ask(ctx: &Ctx, request: Request) -> CliResult<Option<Response>> {
        let Some(mut client) = connect(ctx).await else {
            return Ok(None);
        };
        match client.request(&request).await {
            Ok(response) => Ok(Some(response)),
            Err(AgentCallError::Refused(e)) => refused(e),
            Err(e) => {
                tracing::debug!(error = %e, "the agent did not answer; going on without it");
                Ok(None)
            }
        }
    }

    fn refused(e: AgentError) -> CliResult<Option<Response>> {
        match e.kind {
            AgentErrorKind::SignInNeeded => {
                return Err(Failure::new(Exit::SignInNeeded, e.message))
            }
            // Never the direct path after a refusal: it would hand out what the user refused.
            AgentErrorKind::HandOutRefused => {
                return Err(Failure::new(Exit::HandOutRefused, e.message))
            }
            _ => {}
        }
        match e.engine_error() {
            Some(core) if needs_sign_in(&core) => Ok(None),
            Some(core) => Err(core.into()),
            None => {
                tracing::debug!(kind = ?e.kind, "the agent refused the request; going on without it");
                Ok(None)
            }
        }
    }

    fn needs_sign_in(e: &CoreError) -> bool {
        use latchkey_core::ErrorKind as K;
        matches!(e.kind(), K::NotSignedIn | K::SessionExpired)
    }

    pub async fn token(
        ctx: &Ctx,
        profile: &str,
        which: TokenChoice,
        wait_seconds: u64,
    ) -> CliResult<Option<AgentToken>> {
        token_with(ctx, profile, which, wait_seconds, 0).await
    }

    /// A token newer than the one an API just refused: the agent refreshes first.
    pub async fn renewed_token(
        ctx: &Ctx,
        profile: &str,
        which: TokenChoice,
    ) -> CliResult<Option<AgentToken>> {
        token_with(ctx, profile, which, 0, RENEW).await
    }

    /// More seconds than any token lasts: asked for, the agent refreshes.
    const RENEW: u64 = 366 * 24 * 3600;

    async fn token_with(
        ctx: &Ctx,
        profile: &str,
        which: TokenChoice,
        wait_seconds: u64,
        min_seconds_left: u64,
    ) -> CliResult<Option<AgentToken>> {
        let request = Request::Token {
            profile: Some(profile.to_owned()),
            token: which,
            min_seconds_left,
            interactive: interactive(),
            wait_seconds,
        };
        match ask(ctx, request).await? {
            Some(Response::Token {
                token,
                expires_at,
                warning,
                ..
            }) => Ok(Some(AgentToken {
                token,
                expires_at,
                warning,
            })),
            _ => Ok(None),
        }
    }

    pub async fn aws_credentials(
        ctx: &Ctx,
        profile: &str,
        wait_seconds: u64,
    ) -> CliResult<Option<AwsCredentials>> {
        let request = Request::AwsCredentials {
            profile: Some(profile.to_owned()),
            interactive: interactive(),
            wait_seconds,
        };
        match ask(ctx, request).await? {
            Some(Response::AwsCredentials(c)) => Ok(Some(c.into_credentials())),
            _ => Ok(None),
        }
    }

    /// Tell the agent (if one answers) to drop what it holds of `profile`: this process just
    /// signed in or out, and the agent must not hand out the old session's tokens.
    pub async fn forget(ctx: &Ctx, profile: &str) {
        let request = Request::Forget {
            profile: profile.to_owned(),
        };
        if let Some(mut client) = connect(ctx).await {
            let _ = client.request(&request).await;
        }
    }

    /// The pid of the agent that answers and the state it holds `profile` in, for `status`
    /// (no state when it could not say: the profile fails to load there, say).
    pub async fn agent_view(ctx: &Ctx, profile: &str) -> Option<(u32, Option<String>)> {
        let mut client = connect(ctx).await?;
        let pid = client.agent_pid();
        let request = Request::Status {
            profile: Some(profile.to_owned()),
        };
        let state = match client.request(&request).await {
            Ok(Response::Status { profiles, .. }) => {
                profiles.into_iter().next().map(|held| held.state)
            }
            _ => None,
        };
        Some((pid, state))
    }
}

#[cfg(not(unix))]
mod other {
    use super::*;

    pub async fn token(_: &Ctx, _: &str, _: TokenChoice, _: u64) -> CliResult<Option<AgentToken>> {
        Ok(None)
    }

    pub async fn renewed_token(_: &Ctx, _: &str, _: TokenChoice) -> CliResult<Option<AgentToken>> {
        Ok(None)
    }

    pub async fn aws_credentials(_: &Ctx, _: &str, _: u64) -> CliResult<Option<AwsCredentials>> {
        Ok(None)
    }

    pub async fn agent_view(_: &Ctx, _: &str) -> Option<(u32, Option<String>)> {
        None
    }

    pub async fn forget(_: &Ctx, _: &str) {}
}

#[cfg(not(unix))]
pub use other::{agent_view, aws_credentials, forget, renewed_token, token};
#[cfg(unix)]
pub use unix::{agent_view, aws_credentials, forget, renewed_token, token};
