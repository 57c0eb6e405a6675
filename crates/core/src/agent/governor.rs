//! The sign-in governor: a caller that may not interact never starts a browser sign-in (it is
//! told a sign-in is needed), and at most one sign-in per profile runs, its outcome shared.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// Each profile's sign-in outcomes as they come, and how many callers wait for the next one
/// (having been told, in a notification, that the user must sign in).
#[derive(Clone)]
struct Outcomes {
    published: watch::Sender<Option<Outcome>>,
    waiting: Arc<AtomicU32>,
}

type OutcomesByProfile = Arc<Mutex<HashMap<String, Outcomes>>>;

/// The sign-ins in flight, by profile, and the outcome of each profile's last one.
#[derive(Default)]
pub(crate) struct SignInGovernor {
    flights: Mutex<HashMap<String, Flight>>,
    outcomes: OutcomesByProfile,
}

/// The outcomes of `profile`, made on first use.
fn outcomes_of(outcomes: &OutcomesByProfile, profile: &str) -> Outcomes {
    let mut outcomes = outcomes.lock().unwrap();
    outcomes
        .entry(profile.to_owned())
        .or_insert_with(|| Outcomes {
            published: watch::channel(None).0,
            waiting: Arc::default(),
        })
        .clone()
}

/// A caller's place in line for the outcome of a profile's next sign-in: taken before the
/// caller looks at the session, so a sign-in that ends in between is not missed.
pub(crate) struct NextOutcome {
    outcome: watch::Receiver<Option<Outcome>>,
    waiting: Arc<AtomicU32>,
}

impl NextOutcome {
    /// The outcome of the next sign-in that ends, or `None` after `wait`. The caller counts
    /// as waiting (`sign_in_waiters`) meanwhile.
    pub(crate) async fn wait(mut self, wait: Duration) -> Option<Outcome> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let _waiting = Waiting(self.waiting.clone());
        match tokio::time::timeout(wait, self.outcome.changed()).await {
            Ok(Ok(())) => self.outcome.borrow().clone(),
            _ => None,
        }
    }
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

    /// Line up for the outcome of `profile`'s next sign-in (whoever starts it).
    pub(crate) fn next_outcome(&self, profile: &str) -> NextOutcome {
        let outcomes = outcomes_of(&self.outcomes, profile);
        NextOutcome {
            outcome: outcomes.published.subscribe(),
            waiting: outcomes.waiting,
        }
    }

    /// Whether a sign-in of `profile` runs now.
    pub(crate) fn running(&self, profile: &str) -> bool {
        let flights = self.flights.lock().unwrap();
        flights
            .get(profile)
            .is_some_and(|f| f.outcome.borrow().is_none())
    }

    /// How many callers wait for `profile`'s sign-in now: joined to the one running, or
    /// waiting for the user to start one.
    pub(crate) fn waiting(&self, profile: &str) -> u32 {
        let in_flight = {
            let flights = self.flights.lock().unwrap();
            flights
                .get(profile)
                .map_or(0, |f| f.waiting.load(Ordering::Relaxed))
        };
        let outcomes = self.outcomes.lock().unwrap();
        let for_next = outcomes
            .get(profile)
            .map_or(0, |o| o.waiting.load(Ordering::Relaxed));
        in_flight + for_next
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
        flights.insert(profile.clone(), flight.clone());
        let session = session.clone();
        let published = outcomes_of(&self.outcomes, &profile).published;
        tokio::spawn(async move {
            let result = session
                .sign_in(SignInOptions::default())
                .await
                .map(|user| shown_user(&user))
                .map_err(AgentError::from);
            done.send_replace(Some(result.clone()));
            published.send_replace(Some(result));
        });
        flight
    }
}
