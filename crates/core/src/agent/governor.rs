//! The sign-in governor: a caller that may not interact never starts a browser sign-in (it is
//! told a sign-in is needed), and at most one sign-in per profile runs, its outcome shared.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::watch;

use super::held::shown_user;
use super::protocol::{AgentError, AgentErrorKind};
use crate::session::{Session, SignInOptions};

/// What a finished sign-in gives every caller that waited for it.
type Outcome = Result<String, AgentError>;

/// The sign-ins in flight, by profile.
#[derive(Default)]
pub(crate) struct SignInGovernor {
    in_flight: Mutex<HashMap<String, watch::Receiver<Option<Outcome>>>>,
}

/// The answer for a caller that may not interact and whose profile needs a sign-in.
pub(crate) fn sign_in_needed(profile: &str) -> AgentError {
    AgentError::new(
        AgentErrorKind::SignInNeeded,
        format!(
            "profile `{profile}` needs a sign-in, and this caller may not open a browser (no terminal, or --no-browser). Run `latchkey login --profile {profile}` in a terminal, then try again."
        ),
    )
}

impl SignInGovernor {
    /// Sign `session` in, or wait for the sign-in already running for its profile; every
    /// caller gets the same outcome (the user shown, or the failure). The sign-in runs on its
    /// own task, so a caller that goes away does not cancel it for the others.
    pub(crate) async fn sign_in(&self, session: &Session) -> Outcome {
        let mut outcome = self.join_or_start(session);
        let done = match outcome.wait_for(Option::is_some).await {
            Ok(done) => done.clone(),
            Err(_) => None,
        };
        done.unwrap_or_else(|| {
            Err(AgentError::new(
                AgentErrorKind::Engine,
                "the sign-in ended without an outcome; try again.",
            ))
        })
    }

    fn join_or_start(&self, session: &Session) -> watch::Receiver<Option<Outcome>> {
        let profile = session.profile().name.clone();
        let mut in_flight = self.in_flight.lock().unwrap();
        if let Some(running) = in_flight.get(&profile) {
            if running.borrow().is_none() {
                return running.clone();
            }
        }
        let (done, outcome) = watch::channel(None);
        in_flight.insert(profile, outcome.clone());
        let session = session.clone();
        tokio::spawn(async move {
            let result = session
                .sign_in(SignInOptions::default())
                .await
                .map(|user| shown_user(&user))
                .map_err(AgentError::from);
            done.send_replace(Some(result));
        });
        outcome
    }
}
