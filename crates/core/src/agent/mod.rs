//! The session agent: one process per user that holds every profile's `Session` in memory and
//! answers tools (the CLI, kubectl, the AWS SDKs) over a socket only its user can open.
//!
//! `place` is where it lives (or `activation`: the socket systemd passes it): directory 0700,
//! socket 0600, the lock that makes it the only one; `server` accepts connections and checks
//! each peer's uid; `protocol` is the wire (newline-delimited JSON, `docs/agent-protocol.md`);
//! `answer` does what a request asks with the sessions in `held` (each forgotten after its
//! profile's `agent.idle_forget_secs` without a request); `confirm` asks the user before each
//! hand-out of a profile with `agent.confirm`; `governor` keeps a caller that may not interact
//! from starting a sign-in and runs at most one sign-in per profile; `notify` tells the user a
//! sign-in is needed (a desktop notification whose "Sign in" starts it); `client` is the other
//! end. Unix only for now (Windows: a named pipe, later).

mod activation;
mod answer;
mod client;
mod confirm;
mod governor;
mod held;
mod notify;
mod place;
mod protocol;
mod server;

pub use activation::ActivationError;
pub use client::{AgentCallError, AgentClient};
pub use confirm::{Caller, CONFIRM_TIMEOUT};
pub use place::{AgentPlace, PlaceError, SOCKET_NAME};
pub use protocol::{
    AgentError, AgentErrorKind, AgentFacts, ProfileStatus, Request, Response, WireAwsCredentials,
    DEFAULT_READ_TIMEOUT, MAX_CONNECTIONS, MAX_LINE_BYTES, PROTOCOL_VERSION,
};
pub use server::{Agent, AgentOptions, AgentStart, AgentStartError};
