//! The agent's server: the one holder per user (an advisory lock held for its life), its
//! socket, and the connections: the peer's uid checked, bounded lines read with a time limit.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{watch, Semaphore};

use super::answer::AgentCore;
use super::client::AgentClient;
use super::confirm::Caller;
use super::held::HeldSessions;
use super::place::{current_uid, restrict_socket, AgentPlace, PlaceError};
use super::protocol::{
    encode_line, AgentError, AgentErrorKind, Request, Response, DEFAULT_READ_TIMEOUT,
    MAX_CONNECTIONS, MAX_LINE_BYTES, PROTOCOL_VERSION,
};

/// How long a second agent keeps asking a first one that holds the lock but does not answer
/// yet (it may be binding its socket), in tries of [`HELLO_RETRY_PAUSE`].
const HELLO_TRIES: u32 = 40;
const HELLO_RETRY_PAUSE: Duration = Duration::from_millis(50);
/// How long the agent waits after a failed accept before the next.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// How an agent is set up.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// The profiles file whose profiles it serves.
    pub config_path: PathBuf,
    /// Where its socket and lock live.
    pub place: AgentPlace,
    /// How long it waits for each request line.
    pub read_timeout: Duration,
}

impl AgentOptions {
    /// The defaults for `config_path`: the place from the environment, the default timeout.
    pub fn new(config_path: PathBuf) -> Self {
        AgentOptions {
            config_path,
            place: AgentPlace::from_env(),
            read_timeout: DEFAULT_READ_TIMEOUT,
        }
    }
}

/// Why an agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentStartError {
    /// The directory failed its checks.
    #[error("the agent's directory cannot be used: {0}")]
    Place(#[from] PlaceError),
    /// The socket systemd passed cannot be used.
    #[error(transparent)]
    Activation(#[from] super::activation::ActivationError),
    /// Another process holds the agent lock and does not answer on the socket.
    #[error("another Latchkey agent holds {lock} but does not answer on {socket}; end that process (or remove the lock file if none runs), then start again.")]
    Unanswered {
        /// The lock file.
        lock: String,
        /// The socket.
        socket: String,
    },
    /// The lock file or the socket could not be set up.
    #[error("cannot set up {path} ({source}); set LATCHKEY_RUNTIME_DIR to a writable directory.")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
}

/// What starting an agent found.
pub enum AgentStart {
    /// This process is the agent now: run it.
    Started(Agent),
    /// Another agent of this user answers on the socket.
    AlreadyRunning {
        /// Its process id.
        pid: u32,
    },
}

/// The running agent: its lock, its socket, what its connections share.
pub struct Agent {
    listener: UnixListener,
    core: Arc<AgentCore>,
    place: AgentPlace,
    read_timeout: Duration,
    stop: watch::Sender<bool>,
    /// Whether systemd passed the socket (then it is systemd's to remove).
    activated: bool,
    /// Held (locked) for the agent's life; dropping it releases the lock.
    _lock: std::fs::File,
}

impl Agent {
    /// Become this user's agent: prepare the directory, take the lock (or find the agent that
    /// holds it), replace a stale socket and bind a new one, 0600.
    pub async fn start(options: AgentOptions) -> Result<AgentStart, AgentStartError> {
        let place = options.place.clone();
        place.prepare()?;
        let lock = open_lock(&place)?;
        if !lock_taken(&lock) {
            return match running_agent(&place).await {
                Some(pid) => Ok(AgentStart::AlreadyRunning { pid }),
                None => Err(AgentStartError::Unanswered {
                    lock: place.lock_file().display().to_string(),
                    socket: place.socket().display().to_string(),
                }),
            };
        }
        let passed = super::activation::passed_listener()?;
        let activated = passed.is_some();
        let listener = match passed {
            Some(listener) => {
                UnixListener::from_std(listener).map_err(|source| AgentStartError::Io {
                    path: place.socket().display().to_string(),
                    source,
                })?
            }
            None => bind(&place)?,
        };
        tracing::info!(socket = %place.socket().display(), "agent listening");
        let (core, clicked) = AgentCore::new(HeldSessions::new(options.config_path));
        let core = Arc::new(core);
        tokio::spawn(AgentCore::sign_in_on_clicks(Arc::downgrade(&core), clicked));
        Ok(AgentStart::Started(Agent {
            listener,
            core,
            place,
            read_timeout: options.read_timeout,
            stop: watch::channel(false).0,
            activated,
            _lock: lock,
        }))
    }

    /// The socket it listens on.
    pub fn socket(&self) -> PathBuf {
        self.place.socket()
    }

    /// Serve until `shutdown` completes or a client sends `stop`; the socket is removed then.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) {
        let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let mut stopped = self.stop.subscribe();
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
                _ = &mut shutdown => break,
                _ = stopped.wait_for(|s| *s) => break,
            };
            let stream = tokio::select! {
                accepted = self.listener.accept() => accepted,
                _ = &mut shutdown => break,
                _ = stopped.wait_for(|s| *s) => break,
            };
            let Ok((stream, _)) = stream else {
                // Out of file descriptors, say: pause rather than spin.
                tokio::time::sleep(ACCEPT_PAUSE).await;
                continue;
            };
            let connection = Connection {
                core: self.core.clone(),
                read_timeout: self.read_timeout,
                stop: self.stop.clone(),
                caller: Caller {
                    pid: peer_pid(&stream),
                    ..Caller::default()
                },
            };
            tokio::spawn(async move {
                connection.serve(stream).await;
                drop(permit);
            });
        }
        let _ = self.stop.send(true);
        if !self.activated {
            let _ = std::fs::remove_file(self.place.socket());
        }
        tracing::info!("agent stopped");
    }
}

fn open_lock(place: &AgentPlace) -> Result<std::fs::File, AgentStartError> {
    let path = place.lock_file();
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| AgentStartError::Io {
            path: path.display().to_string(),
            source,
        })
}

fn lock_taken(lock: &std::fs::File) -> bool {
    fs4::FileExt::try_lock(lock).is_ok()
}

/// The pid of the agent answering on `place`'s socket, asking for a while.
async fn running_agent(place: &AgentPlace) -> Option<u32> {
    for _ in 0..HELLO_TRIES {
        if let Ok(Some(client)) = AgentClient::connect(place).await {
            return Some(client.agent_pid());
        }
        tokio::time::sleep(HELLO_RETRY_PAUSE).await;
    }
    None
}

/// Bind the socket (replacing a stale one: the lock says no agent runs) and make it 0600.
fn bind(place: &AgentPlace) -> Result<UnixListener, AgentStartError> {
    let socket = place.socket();
    let io = |source| AgentStartError::Io {
        path: socket.display().to_string(),
        source,
    };
    match std::fs::remove_file(&socket) {
        Ok(()) => tracing::info!("replaced a stale agent socket"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let listener = UnixListener::bind(&socket).map_err(io)?;
    restrict_socket(&socket).map_err(io)?;
    Ok(listener)
}

/// One request line as read.
enum Read {
    /// A line; `last` when the client closed its side after it (no newline).
    Line {
        bytes: Vec<u8>,
        last: bool,
    },
    /// The client closed its side.
    End,
    TooLong,
    TimedOut,
}

/// One client's connection.
struct Connection {
    core: Arc<AgentCore>,
    read_timeout: Duration,
    stop: watch::Sender<bool>,
    /// The peer process (named only when a confirmation asks about it).
    caller: Caller,
}

/// The peer's process id, where the platform tells it.
fn peer_pid(stream: &UnixStream) -> Option<u32> {
    let pid = stream.peer_cred().ok()?.pid()?;
    u32::try_from(pid).ok()
}

impl Connection {
    async fn serve(self, stream: UnixStream) {
        if !self.peer_is_us(&stream) {
            let (_, mut writer) = stream.into_split();
            let refusal = AgentError::new(
                AgentErrorKind::PeerRefused,
                "this agent serves only its own user; run your own (`latchkey agent`).",
            );
            let _ = write(&mut writer, &Response::Error(refusal)).await;
            return;
        }
        let (reader, mut writer) = stream.into_split();
        let mut reader = BufReader::new(reader);
        let mut greeted = false;
        loop {
            let (bytes, last) = match self.read(&mut reader).await {
                Read::Line { bytes, last } => (bytes, last),
                Read::End => return,
                Read::TooLong => return refuse(&mut writer, AgentErrorKind::LineTooLong).await,
                Read::TimedOut => return refuse(&mut writer, AgentErrorKind::Timeout).await,
            };
            let answer = match serde_json::from_slice::<Request>(&bytes) {
                Err(_) => Err(malformed()),
                Ok(Request::Hello { version }) => {
                    greeted = version == PROTOCOL_VERSION;
                    self.hello(version)
                }
                Ok(_) if !greeted => Err(AgentError::new(
                    AgentErrorKind::HelloFirst,
                    "send `hello` with the protocol version first; see docs/agent-protocol.md.",
                )),
                Ok(Request::Subscribe) => return self.stream_changes(reader, writer).await,
                Ok(Request::Stop) => {
                    tracing::info!("stop requested");
                    let _ = write(&mut writer, &Response::Stopping).await;
                    let _ = self.stop.send(true);
                    return;
                }
                Ok(request) => self.answer(request).await,
            };
            let response = answer.unwrap_or_else(Response::Error);
            let closes = matches!(&response, Response::Error(e) if e.closes_connection());
            if write(&mut writer, &response).await.is_err() || closes || last {
                return;
            }
        }
    }

    fn hello(&self, version: u32) -> Result<Response, AgentError> {
        if version != PROTOCOL_VERSION {
            return Err(AgentError::new(
                AgentErrorKind::UnsupportedVersion,
                format!("this agent speaks protocol version {PROTOCOL_VERSION}, not {version}; use a latchkey of the same release as the agent."),
            ));
        }
        Ok(self.core.hello())
    }

    async fn answer(&self, request: Request) -> Result<Response, AgentError> {
        let core = &self.core;
        match request {
            Request::Token {
                profile,
                token,
                min_seconds_left,
                interactive,
                wait_seconds,
            } => {
                let profile = profile.as_deref();
                core.token(
                    profile,
                    token,
                    min_seconds_left,
                    interactive,
                    wait_seconds,
                    &self.caller,
                )
                .await
            }
            Request::AwsCredentials {
                profile,
                interactive,
                wait_seconds,
            } => {
                core.aws_credentials(profile.as_deref(), interactive, wait_seconds, &self.caller)
                    .await
            }
            Request::Status { profile } => core.status(profile.as_deref()).await,
            Request::SignIn {
                profile,
                interactive,
            } => core.sign_in(profile.as_deref(), interactive).await,
            Request::SignOut {
                profile,
                everywhere,
            } => core.sign_out(profile.as_deref(), everywhere).await,
            Request::Forget { profile } => {
                core.held.forget(&profile).await;
                Ok(Response::Forgotten { profile })
            }
            Request::Hello { .. } | Request::Subscribe | Request::Stop => Err(malformed()),
        }
    }

    /// After `subscribe`: every state change, one line each, until the client goes away or
    /// the agent stops.
    async fn stream_changes(
        &self,
        mut reader: BufReader<OwnedReadHalf>,
        mut writer: OwnedWriteHalf,
    ) {
        let mut changes = self.core.held.subscribe();
        let mut stopped = self.stop.subscribe();
        if write(&mut writer, &Response::Subscribed).await.is_err() {
            return;
        }
        let mut ignored = [0u8; 256];
        loop {
            let change = tokio::select! {
                change = changes.recv() => change,
                read = reader.read(&mut ignored) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                },
                _ = stopped.wait_for(|s| *s) => return,
            };
            match change {
                Ok(status) => {
                    if write(&mut writer, &Response::StateChanged(status))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Whether the peer runs as this process's user; another is counted and logged.
    fn peer_is_us(&self, stream: &UnixStream) -> bool {
        let uid = stream.peer_cred().map(|c| c.uid()).ok();
        if uid == Some(current_uid()) {
            return true;
        }
        self.core.refused_peers.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(peer_uid = ?uid, "refused a connection from another user");
        false
    }

    async fn read(&self, reader: &mut BufReader<OwnedReadHalf>) -> Read {
        let mut bytes = Vec::new();
        let mut limited = (&mut *reader).take(MAX_LINE_BYTES as u64 + 1);
        let line = limited.read_until(b'\n', &mut bytes);
        match tokio::time::timeout(self.read_timeout, line).await {
            Err(_) => Read::TimedOut,
            Ok(Err(_)) | Ok(Ok(0)) => Read::End,
            Ok(Ok(_)) if bytes.len() > MAX_LINE_BYTES => Read::TooLong,
            Ok(Ok(_)) => {
                let last = bytes.last() != Some(&b'\n');
                Read::Line { bytes, last }
            }
        }
    }
}

fn malformed() -> AgentError {
    tracing::warn!("malformed request");
    AgentError::new(
        AgentErrorKind::Malformed,
        "the line is not a request this agent knows; see docs/agent-protocol.md.",
    )
}

async fn refuse(writer: &mut OwnedWriteHalf, kind: AgentErrorKind) {
    let message = match kind {
        AgentErrorKind::LineTooLong => format!(
            "the request line is longer than {MAX_LINE_BYTES} bytes; the connection is closed."
        ),
        _ => "no complete request line came in time; the connection is closed.".to_owned(),
    };
    tracing::warn!(kind = ?kind, "closed a connection");
    let _ = write(writer, &Response::Error(AgentError::new(kind, message))).await;
}

async fn write(writer: &mut OwnedWriteHalf, response: &Response) -> std::io::Result<()> {
    writer.write_all(&encode_line(response)).await?;
    writer.flush().await
}
