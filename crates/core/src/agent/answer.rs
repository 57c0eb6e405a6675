//! One request in, one response out: what the agent does for each request, from the sessions
//! it holds (the session's own single-flight refresh does the refreshing).

use std::sync::atomic::{AtomicU64, Ordering};

use super::governor::{sign_in_needed, SignInGovernor};
use super::held::{is_signed_in, status_of, Held, HeldSessions};
use super::protocol::{AgentError, AgentFacts, Response, WireAwsCredentials, PROTOCOL_VERSION};
use crate::config::TokenChoice;
use crate::error::{Error, ErrorKind};
use crate::session::SignOutScope;

/// What every connection shares: the sessions, the governor, the counters.
pub(crate) struct AgentCore {
    pub(crate) held: HeldSessions,
    governor: SignInGovernor,
    pub(crate) refused_peers: AtomicU64,
}

/// A failure whose cure is a sign-in: no session, or the provider ended it.
fn needs_sign_in(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::NotSignedIn | ErrorKind::SessionExpired)
}

impl AgentCore {
    pub(crate) fn new(held: HeldSessions) -> Self {
        AgentCore {
            held,
            governor: SignInGovernor::default(),
            refused_peers: AtomicU64::new(0),
        }
    }

    pub(crate) fn hello(&self) -> Response {
        Response::Hello {
            version: PROTOCOL_VERSION,
            pid: std::process::id(),
            config: self.held.config_path().display().to_string(),
        }
    }

    /// An engine failure as answered: one that a sign-in would cure becomes `sign_in_needed`
    /// for a caller that may not interact (it must not wait for a browser).
    fn failure(e: Error, profile: &str, interactive: bool) -> AgentError {
        if !interactive && needs_sign_in(&e) {
            return sign_in_needed(profile);
        }
        AgentError::from(e)
    }

    /// The held session of `profile`, signed in, or the failure to answer.
    async fn signed_in(
        &self,
        profile: Option<&str>,
        interactive: bool,
    ) -> Result<std::sync::Arc<Held>, AgentError> {
        let held = self.held.get(profile).await?;
        if is_signed_in(&held.session.state()) {
            return Ok(held);
        }
        let name = held.session.profile().name.clone();
        Err(Self::failure(Error::not_signed_in(), &name, interactive))
    }

    pub(crate) async fn token(
        &self,
        profile: Option<&str>,
        which: TokenChoice,
        min_seconds_left: u64,
        interactive: bool,
    ) -> Result<Response, AgentError> {
        let held = self.signed_in(profile, interactive).await?;
        let session = &held.session;
        let name = &session.profile().name;
        let fail = |e| Self::failure(e, name, interactive);
        let mut tokens = session.tokens().await.map_err(fail)?;
        let left = |t: &crate::session::Tokens| {
            match which {
                TokenChoice::Id => t.id_expires_at,
                TokenChoice::Access => t.access_expires_at,
            }
            .timestamp()
                - session.now()
        };
        if left(&tokens) < min_seconds_left as i64 {
            tokens = session.force_refresh().await.map_err(fail)?;
        }
        let token = session.token(which).await.map_err(fail)?;
        Ok(Response::Token {
            profile: name.clone(),
            kind: which,
            token,
            expires_at: match which {
                TokenChoice::Id => tokens.id_expires_at,
                TokenChoice::Access => tokens.access_expires_at,
            },
            warning: tokens.warning,
        })
    }

    pub(crate) async fn aws_credentials(
        &self,
        profile: Option<&str>,
        interactive: bool,
    ) -> Result<Response, AgentError> {
        // As without an agent: a profile without an identity pool is told so before a missing
        // sign-in.
        let held = self.held.get(profile).await?;
        let name = &held.session.profile().name;
        let creds = held
            .session
            .aws_credentials()
            .await
            .map_err(|e| Self::failure(e, name, interactive))?;
        Ok(Response::AwsCredentials(WireAwsCredentials::new(
            name, creds,
        )))
    }

    pub(crate) async fn status(&self, profile: Option<&str>) -> Result<Response, AgentError> {
        let held = match profile {
            Some(name) => vec![self.held.get(Some(name)).await?],
            None => self.held.all().await,
        };
        let profiles = held
            .iter()
            .map(|h| {
                let name = &h.session.profile().name;
                let mut status = status_of(name, &h.session.state());
                status.sign_in_waiters = self.governor.waiting(name);
                status
            })
            .collect();
        Ok(Response::Status {
            agent: AgentFacts {
                pid: std::process::id(),
                version: PROTOCOL_VERSION,
                keychain_reads: self.held.keychain_reads(),
                refused_peers: self.refused_peers.load(Ordering::Relaxed),
            },
            profiles,
        })
    }

    pub(crate) async fn sign_in(
        &self,
        profile: Option<&str>,
        interactive: bool,
    ) -> Result<Response, AgentError> {
        let held = self.held.get(profile).await?;
        let name = held.session.profile().name.clone();
        if !interactive {
            return Err(sign_in_needed(&name));
        }
        let user = self.governor.sign_in(&held.session).await?;
        Ok(Response::SignedIn {
            profile: name,
            user,
        })
    }

    pub(crate) async fn sign_out(
        &self,
        profile: Option<&str>,
        everywhere: bool,
    ) -> Result<Response, AgentError> {
        let held = self.held.get(profile).await?;
        let outcome = held
            .session
            .sign_out(SignOutScope::everywhere_if(everywhere))
            .await?;
        Ok(Response::SignedOut {
            profile: held.session.profile().name.clone(),
            revoked: outcome.revoked,
        })
    }
}
