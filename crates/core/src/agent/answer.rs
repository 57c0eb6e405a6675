//! One request in, one response out: what the agent does for each request, from the sessions
//! it holds (the session's own single-flight refresh does the refreshing).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::mpsc;

use super::confirm::{self, Caller};
use super::governor::{sign_in_needed, SignInGovernor};
use super::held::{is_signed_in, status_of, Held, HeldSessions};
use super::notify::SignInNotifier;
use super::protocol::{
    AgentError, AgentErrorKind, AgentFacts, Response, WireAwsCredentials, PROTOCOL_VERSION,
};
use crate::config::TokenChoice;
use crate::error::{Error, ErrorKind};
use crate::session::SignOutScope;

/// What every connection shares: the sessions, the governor, the counters.
pub(crate) struct AgentCore {
    pub(crate) held: HeldSessions,
    governor: SignInGovernor,
    notifier: SignInNotifier,
    pub(crate) refused_peers: AtomicU64,
}

/// A failure whose cure is a sign-in: no session, or the provider ended it.
fn needs_sign_in(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::NotSignedIn | ErrorKind::SessionExpired)
}

impl AgentCore {
    /// The core, and the profiles whose sign-in notification the user clicks (for
    /// [`AgentCore::sign_in_on_clicks`]).
    pub(crate) fn new(held: HeldSessions) -> (Self, mpsc::UnboundedReceiver<String>) {
        let (notifier, clicked) = SignInNotifier::new();
        let core = AgentCore {
            held,
            governor: SignInGovernor::default(),
            notifier,
            refused_peers: AtomicU64::new(0),
        };
        (core, clicked)
    }

    /// Start the sign-in of each profile whose notification the user clicks (the browser
    /// opens in the agent), for as long as the core lives.
    pub(crate) async fn sign_in_on_clicks(
        core: Weak<AgentCore>,
        mut clicked: mpsc::UnboundedReceiver<String>,
    ) {
        while let Some(profile) = clicked.recv().await {
            let Some(core) = core.upgrade() else { return };
            tokio::spawn(async move { core.sign_in_clicked(profile).await });
        }
    }

    async fn sign_in_clicked(&self, profile: String) {
        let held = match self.held.get(Some(&profile)).await {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(profile, kind = ?e.kind(), "cannot sign in from the notification");
                return;
            }
        };
        match self.governor.sign_in(&held.session).await {
            Ok(_) => tracing::info!(profile, "signed in from the notification"),
            Err(e) => tracing::warn!(profile, kind = ?e.kind, engine_kind = ?e.engine_kind,
                "the sign-in from the notification failed"),
        }
    }

    /// Run `attempt`; when it fails for want of a sign-in, show the profile's notification
    /// (unless a sign-in runs already) and, for a caller that may wait, wait up to
    /// `wait_seconds` for the sign-in's outcome and run `attempt` once more.
    async fn after_sign_in<F, Fut>(
        &self,
        profile: Option<&str>,
        wait_seconds: u64,
        attempt: F,
    ) -> Result<Response, AgentError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Response, AgentError>>,
    {
        match attempt().await {
            Err(e) if e.kind == AgentErrorKind::SignInNeeded => {}
            done => return done,
        }
        let held = self.held.get(profile).await?;
        let name = held.session.profile().name.clone();
        // In line before looking again: a sign-in that ends from here on is seen.
        let next = self.governor.next_outcome(&name);
        if is_signed_in(&held.session.state()) {
            return attempt().await;
        }
        if !self.governor.running(&name) {
            self.notifier.sign_in_needed(&name);
        }
        if wait_seconds == 0 {
            return Err(sign_in_needed(&name));
        }
        match next.wait(Duration::from_secs(wait_seconds)).await {
            Some(Ok(_user)) => attempt().await,
            Some(Err(failed)) => Err(failed),
            None => Err(sign_in_needed(&name)),
        }
    }

    /// The user's "Allow" for handing `what` to `caller`, when the profile asks for it
    /// (`agent.confirm`); otherwise nothing to wait for.
    async fn confirmed(held: &Held, what: &str, caller: &Caller) -> Result<(), AgentError> {
        let profile = held.session.profile();
        match profile.agent.confirm {
            true => confirm::hand_out(&profile.name, what, caller).await,
            false => Ok(()),
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
    ) -> Result<Arc<Held>, AgentError> {
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
        wait_seconds: u64,
        caller: &Caller,
    ) -> Result<Response, AgentError> {
        self.after_sign_in(profile, wait_seconds, || {
            self.token_once(profile, which, min_seconds_left, interactive, caller)
        })
        .await
    }

    async fn token_once(
        &self,
        profile: Option<&str>,
        which: TokenChoice,
        min_seconds_left: u64,
        interactive: bool,
        caller: &Caller,
    ) -> Result<Response, AgentError> {
        let held = self.signed_in(profile, interactive).await?;
        let session = &held.session;
        let name = &session.profile().name;
        let what = match which {
            TokenChoice::Id => "the ID token",
            TokenChoice::Access => "the access token",
        };
        Self::confirmed(&held, what, caller).await?;
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
        wait_seconds: u64,
        caller: &Caller,
    ) -> Result<Response, AgentError> {
        self.after_sign_in(profile, wait_seconds, || {
            self.aws_credentials_once(profile, interactive, caller)
        })
        .await
    }

    async fn aws_credentials_once(
        &self,
        profile: Option<&str>,
        interactive: bool,
        caller: &Caller,
    ) -> Result<Response, AgentError> {
        // As without an agent: a profile without an identity pool is told so before a missing
        // sign-in.
        let held = self.held.get(profile).await?;
        let name = &held.session.profile().name;
        if held.session.profile().aws.is_some() && is_signed_in(&held.session.state()) {
            Self::confirmed(&held, "AWS credentials", caller).await?;
        }
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
