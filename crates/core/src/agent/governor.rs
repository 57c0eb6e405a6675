//! The sign-in governor: a caller that may not interact never starts a browser sign-in (it is
//! told a sign-in is needed), and at most one sign-in per profile runs, its outcome shared.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::held::shown_user;
use super::protocol::{AgentError, AgentErrorKind};
use crate::session::{Session, SignInOptions};

/// What a finished sign-in gives every caller that waited for it.
type Outcome = Result<String, AgentError>;

/// One sign-in running (or just finished): its outcome when there is one, and how many callers
/// wait for it.
#[derive(Clone)]
struct Flight {
    outcome: watch::Receiver<Option<Outcome>>,
    waiting: Arc<AtomicU32>,
}

/// The sign-ins in flight, by profile.
#[derive(Default)]
pub(crate) struct SignInGovernor {
    flights: Mutex<HashMap<String, Flight>>,
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

/// Counts a caller as waiting for as long as it lives.
struct Waiting(Arc<AtomicU32>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl SignInGovernor {
    /// Sign `session` in, or wait for the sign-in already running for its profile; every
    /// caller gets the same outcome (the user shown, or the failure). The sign-in runs on its
    /// own task, so a caller that goes away does not cancel it for the others.
    pub(crate) async fn sign_in(&self, session: &Session) -> Outcome {
        let Flight {
            mut outcome,
            waiting,
        } = self.join_or_start(session);
        waiting.fetch_add(1, Ordering::Relaxed);
        let _waiting = Waiting(waiting);
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

    /// How many callers wait for `profile`'s sign-in now.
    pub(crate) fn waiting(&self, profile: &str) -> u32 {
        let flights = self.flights.lock().unwrap();
        flights
            .get(profile)
            .map_or(0, |f| f.waiting.load(Ordering::Relaxed))
    }

    fn join_or_start(&self, session: &Session) -> Flight {
        let profile = session.profile().name.clone();
        let mut flights = self.flights.lock().unwrap();
        if let Some(running) = flights.get(&profile) {
            if running.outcome.borrow().is_none() {
                return running.clone();
            }
        }
        let (done, outcome) = watch::channel(None);
        let flight = Flight {
            outcome,
            waiting: Arc::default(),
        };
        flights.insert(profile, flight.clone());
        let session = session.clone();
        tokio::spawn(async move {
            let result = session
                .sign_in(SignInOptions::default())
                .await
                .map(|user| shown_user(&user))
                .map_err(AgentError::from);
            done.send_replace(Some(result));
        });
        flight
    }
}
