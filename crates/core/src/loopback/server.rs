//! A small, bounded HTTP server on loopback sockets (tokio): at most [`MAX_CONNECTIONS`]
//! connections at once, a request head of at most 8 KiB read within [`READ_TIMEOUT`], one
//! response, then the connection closes. Stopping it releases the port before `stop` returns.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinHandle;

use super::request::{head_end, parse_head, HeadError, Page, RequestHead, MAX_HEAD_BYTES};

/// How long a connection may take to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more are closed at once (a flood cannot grow memory).
pub const MAX_CONNECTIONS: usize = 16;

/// Answers one request; an event (if any) goes to the server's owner after the answer is sent.
pub(crate) trait Responder: Send + Sync + 'static {
    type Event: Send + 'static;
    fn respond(&self, head: &RequestHead) -> (Page, Option<Self::Event>);
}

pub(crate) struct Server {
    stop: watch::Sender<bool>,
    accepting: Vec<JoinHandle<()>>,
    addrs: Vec<SocketAddr>,
}

impl Server {
    /// Serve `sockets` (already bound) with `responder`. Needs a tokio runtime.
    pub fn start<R: Responder>(
        sockets: Vec<std::net::TcpListener>,
        responder: Arc<R>,
    ) -> io::Result<(Server, mpsc::UnboundedReceiver<R::Event>)> {
        let (stop, _) = watch::channel(false);
        let (events, rx) = mpsc::unbounded_channel();
        let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let mut server = Server {
            stop,
            accepting: vec![],
            addrs: vec![],
        };
        for socket in sockets {
            socket.set_nonblocking(true)?;
            let listener = TcpListener::from_std(socket)?;
            server.addrs.push(listener.local_addr()?);
            server.accepting.push(tokio::spawn(accept_loop(
                listener,
                responder.clone(),
                permits.clone(),
                events.clone(),
                server.stop.subscribe(),
            )));
        }
        Ok((server, rx))
    }

    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Stop accepting; when this returns the listening sockets are closed.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        for task in self.accepting.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.accepting {
            task.abort();
        }
    }
}

async fn accept_loop<R: Responder>(
    listener: TcpListener,
    responder: Arc<R>,
    permits: Arc<Semaphore>,
    events: mpsc::UnboundedSender<R::Event>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => match permits.clone().try_acquire_owned() {
                    Ok(permit) => {
                        let (responder, events) = (responder.clone(), events.clone());
                        tokio::spawn(async move {
                            serve_connection(stream, &*responder, &events).await;
                            drop(permit);
                        });
                    }
                    Err(_) => tracing::debug!("loopback: too many connections; closed one unread"),
                },
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
        }
    }
}

async fn serve_connection<R: Responder>(
    mut stream: TcpStream,
    responder: &R,
    events: &mpsc::UnboundedSender<R::Event>,
) {
    let (page, event) = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(head)) => responder.respond(&head),
        Ok(Err(e)) => {
            tracing::debug!(why = %e, "loopback: refused a malformed request");
            (
                Page::new(
                    e.status(),
                    "Latchkey",
                    "This is not a request Latchkey answers.",
                ),
                None,
            )
        }
        Err(_) => {
            tracing::debug!("loopback: a connection sent no request in time; closed");
            return;
        }
    };
    let _ = stream.write_all(&page.to_bytes()).await;
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
    if let Some(event) = event {
        let _ = events.send(event);
    }
}

async fn read_head(stream: &mut TcpStream) -> Result<RequestHead, HeadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|_| HeadError::Malformed("connection error"))?;
        if n == 0 {
            return Err(HeadError::Malformed("the connection closed mid-request"));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = head_end(&buf) {
            return parse_head(&buf[..end]);
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(HeadError::TooLarge);
        }
    }
}
