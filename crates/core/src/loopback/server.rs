//! A small, bounded HTTP server on loopback sockets (tokio): at most [`MAX_CONNECTIONS`]
//! connections at once, a request head of at most 8 KiB read within [`READ_TIMEOUT`], one
//! response, then the connection closes. At the cap, the connection that has waited longest
//! without sending a request makes room, so idle connections cannot keep the browser's
//! callback out. Stopping it releases the port before `stop` returns.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;

use super::request::{head_end, parse_head, HeadError, Page, RequestHead, MAX_HEAD_BYTES};

/// How long a connection may take to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once (a flood cannot grow memory); a new one beyond them takes the
/// place of the one that has waited longest for its request head, or is closed at once when
/// every connection is being answered. 64 × an 8 KiB head is half a megabyte at most, and
/// enough that a fresh connection (the browser's callback) is not pushed out by newer ones
/// before it has sent its request.
pub const MAX_CONNECTIONS: usize = 64;

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
        let slots = Arc::new(Slots::default());
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
                slots.clone(),
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
    slots: Arc<Slots>,
    events: mpsc::UnboundedSender<R::Event>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => match Slots::take(&slots) {
                    Some(slot) => {
                        let (responder, events) = (responder.clone(), events.clone());
                        tokio::spawn(async move {
                            serve_connection(stream, &*responder, &events, slot).await;
                        });
                    }
                    None => tracing::debug!("loopback: too many connections; closed one unread"),
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
    mut slot: Slot,
) {
    let make_room = slot.make_room.clone();
    let head = tokio::select! {
        head = tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)) => head,
        _ = make_room.notified() => {
            tracing::debug!("loopback: closed a connection that sent no request, to make room");
            return;
        }
    };
    if !slot.answering() {
        return; // its place went to a newer connection as the head arrived
    }
    let (page, event) = match head {
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

/// The connections being served. Those still waiting for their request head are kept in
/// arrival order: at the cap, the first of them makes room for a new connection.
#[derive(Default)]
struct Slots(Mutex<SlotTable>);

#[derive(Default)]
struct SlotTable {
    taken: usize,
    next_id: u64,
    waiting_for_head: VecDeque<(u64, Arc<Notify>)>,
}

/// One connection's place: given back when it ends, unless it went to a newer connection.
struct Slot {
    slots: Arc<Slots>,
    id: u64,
    answering: bool,
    /// Told when a newer connection takes this place.
    make_room: Arc<Notify>,
}

impl Slots {
    /// A place for a new connection: a free one, or the place of the connection that has
    /// waited longest for its request head (told to close); none while every connection is
    /// being answered.
    fn take(slots: &Arc<Slots>) -> Option<Slot> {
        let mut table = slots.0.lock().unwrap_or_else(|p| p.into_inner());
        if table.taken < MAX_CONNECTIONS {
            table.taken += 1;
        } else {
            let (_, oldest) = table.waiting_for_head.pop_front()?;
            oldest.notify_one();
        }
        table.next_id += 1;
        let (id, make_room) = (table.next_id, Arc::new(Notify::new()));
        table.waiting_for_head.push_back((id, make_room.clone()));
        Some(Slot {
            slots: slots.clone(),
            id,
            answering: false,
            make_room,
        })
    }
}

impl Slot {
    /// The request head arrived: from now on this connection keeps its place. False when the
    /// place already went to a newer connection.
    fn answering(&mut self) -> bool {
        let mut table = self.slots.0.lock().unwrap_or_else(|p| p.into_inner());
        let Some(i) = table
            .waiting_for_head
            .iter()
            .position(|(id, _)| *id == self.id)
        else {
            return false;
        };
        table.waiting_for_head.remove(i);
        self.answering = true;
        true
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.slots.0.lock().unwrap_or_else(|p| p.into_inner());
        let waiting = table
            .waiting_for_head
            .iter()
            .position(|(id, _)| *id == self.id);
        if let Some(i) = waiting {
            table.waiting_for_head.remove(i);
        }
        // A place taken over by a newer connection is that connection's to give back.
        if waiting.is_some() || self.answering {
            table.taken -= 1;
        }
    }
}

pub(crate) async fn read_head(stream: &mut TcpStream) -> Result<RequestHead, HeadError> {
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
