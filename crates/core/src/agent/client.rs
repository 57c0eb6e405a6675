//! The client side of the agent's socket: connect (to an agent of this same user only), say
//! hello, then one request → one response.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;

use super::place::{current_uid, AgentPlace};
use super::protocol::{
    encode_line, AgentError, Request, Response, MAX_LINE_BYTES, PROTOCOL_VERSION,
};

/// How long connecting and the hello may take before the agent counts as absent.
const HELLO_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a request to the agent got no answer of its own.
#[derive(Debug, thiserror::Error)]
pub enum AgentCallError {
    /// The socket failed (the agent went away mid-request).
    #[error("the agent's socket failed ({0})")]
    Io(#[from] io::Error),
    /// The agent answered with an error.
    #[error("{0}")]
    Refused(AgentError),
    /// The agent answered with something that is not an answer to the request.
    #[error("the agent answered `{0}`, which does not answer the request")]
    Unexpected(&'static str),
}

/// A connection to this user's agent, after the hello.
pub struct AgentClient {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    pid: u32,
    config: String,
}

impl AgentClient {
    /// Connect and say hello; `Ok(None)` when no agent answers there (no socket, nobody
    /// listening, an agent of another user or another protocol version, no hello in time).
    pub async fn connect(place: &AgentPlace) -> Result<Option<AgentClient>, AgentCallError> {
        match tokio::time::timeout(HELLO_TIMEOUT, Self::greet(place)).await {
            Ok(result) => result,
            Err(_) => Ok(None),
        }
    }

    async fn greet(place: &AgentPlace) -> Result<Option<AgentClient>, AgentCallError> {
        let stream = match UnixStream::connect(place.socket()).await {
            Ok(s) => s,
            Err(e) if absent(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        // The socket's owner must be this user too: another's could hand out anything.
        if stream.peer_cred().map(|c| c.uid()).ok() != Some(current_uid()) {
            tracing::warn!("the agent socket belongs to another user; not using it");
            return Ok(None);
        }
        let (reader, writer) = stream.into_split();
        let mut client = AgentClient {
            reader: BufReader::new(reader),
            writer,
            pid: 0,
            config: String::new(),
        };
        let hello = Request::Hello {
            version: PROTOCOL_VERSION,
        };
        match client.request(&hello).await {
            Ok(Response::Hello { pid, config, .. }) => {
                client.pid = pid;
                client.config = config;
                Ok(Some(client))
            }
            Ok(_) | Err(AgentCallError::Refused(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The agent's process id.
    pub fn agent_pid(&self) -> u32 {
        self.pid
    }

    /// The profiles file the agent reads.
    pub fn agent_config(&self) -> &str {
        &self.config
    }

    /// Send `request`, read its answer; an error answer is [`AgentCallError::Refused`].
    pub async fn request(&mut self, request: &Request) -> Result<Response, AgentCallError> {
        self.writer.write_all(&encode_line(request)).await?;
        self.writer.flush().await?;
        self.next().await
    }

    /// The next line the agent sends (after `subscribe`, the next state change).
    pub async fn next(&mut self) -> Result<Response, AgentCallError> {
        let mut line = Vec::new();
        let read = (&mut self.reader)
            .take(4 * MAX_LINE_BYTES as u64)
            .read_until(b'\n', &mut line)
            .await?;
        if read == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        match serde_json::from_slice(&line) {
            Ok(Response::Error(e)) => Err(AgentCallError::Refused(e)),
            Ok(response) => Ok(response),
            Err(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e).into()),
        }
    }
}

/// Whether connecting failed because no agent listens there.
fn absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
    )
}
