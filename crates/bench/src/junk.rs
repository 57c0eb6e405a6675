//! Junk for the loopback listener: bad paths, a wrong Host or method, bad `state`, garbage
//! bytes and half-open connections, sent over raw TCP to loopback only. Every run is bounded
//! (a fixed count, per-connection timeouts, an overall deadline) and stops by itself.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// How much junk, of which kinds.
#[derive(Debug, Clone, Copy)]
pub struct JunkPlan {
    /// Junk requests in total (10,000 in the benchmark).
    pub total: usize,
    /// Concurrent senders of complete junk requests.
    pub senders: usize,
    /// Of `total`, how many are half-open connections (connect, send half a request, stall).
    pub half_open: usize,
    /// At most this many half-open connections are held at once.
    pub half_open_at_once: usize,
    /// How long each half-open connection is held before it is dropped.
    pub half_open_hold: Duration,
}

impl JunkPlan {
    pub fn standard() -> JunkPlan {
        JunkPlan {
            total: 10_000,
            senders: 16,
            half_open: 1_000,
            half_open_at_once: 200,
            half_open_hold: Duration::from_millis(250),
        }
    }
}

/// What the junk achieved.
#[derive(Debug, Clone, Default)]
pub struct JunkReport {
    /// Junk requests sent (complete ones and half-open connections).
    pub sent: usize,
    /// Answers with a 4xx status (the listener rejected them, as it should).
    pub rejected_4xx: usize,
    /// Answers with any other status, by status (a 2xx here would be a bug).
    pub other_status: BTreeMap<u16, usize>,
    /// Connections that failed, timed out or got no status line (e.g. garbage closed by the
    /// server, or the listener already gone after the sign-in).
    pub no_answer: usize,
    pub elapsed: Duration,
}

struct Shared {
    next: AtomicUsize,
    sent: AtomicUsize,
    rejected: AtomicUsize,
    other: Mutex<BTreeMap<u16, usize>>,
    no_answer: AtomicUsize,
    stop: AtomicBool,
    half_sent: tokio::sync::Notify,
}

/// A running junk flood.
pub struct JunkRun {
    shared: Arc<Shared>,
    plan: JunkPlan,
    tasks: JoinSet<()>,
    started: Instant,
}

const DEADLINE: Duration = Duration::from_secs(30);
const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// Starts flooding the listener of `redirect_uri` (`http://localhost:PORT/path`).
pub fn start(plan: JunkPlan, redirect_uri: &str) -> JunkRun {
    let url = url::Url::parse(redirect_uri).ok();
    let port = url.as_ref().and_then(|u| u.port()).unwrap_or(0);
    let host = url
        .as_ref()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "localhost".into());
    let path = url
        .as_ref()
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|| "/callback".into());
    let host_header = format!("{host}:{port}");
    let addrs: Vec<SocketAddr> = if host == "localhost" {
        vec![
            SocketAddr::from(([127, 0, 0, 1], port)),
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port)),
        ]
    } else {
        vec![SocketAddr::from(([127, 0, 0, 1], port))]
    };
    let shared = Arc::new(Shared {
        next: AtomicUsize::new(0),
        sent: AtomicUsize::new(0),
        rejected: AtomicUsize::new(0),
        other: Mutex::default(),
        no_answer: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        half_sent: tokio::sync::Notify::new(),
    });
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    let complete = plan.total - plan.half_open;
    for w in 0..plan.senders {
        let shared = shared.clone();
        let addrs = addrs.clone();
        let host_header = host_header.clone();
        let path = path.clone();
        tasks.spawn(async move {
            loop {
                let i = shared.next.fetch_add(1, Ordering::SeqCst);
                if i >= complete
                    || shared.stop.load(Ordering::SeqCst)
                    || started.elapsed() > DEADLINE
                {
                    break;
                }
                let addr = addrs[(i + w) % addrs.len()];
                let bytes = junk_request(i, &host_header, &path);
                let status = tokio::time::timeout(IO_TIMEOUT, send(addr, &bytes)).await;
                match status {
                    Ok(Some(s)) if (400..500).contains(&s) => {
                        shared.rejected.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(Some(s)) => {
                        *shared.other.lock().unwrap().entry(s).or_default() += 1;
                    }
                    _ => {
                        shared.no_answer.fetch_add(1, Ordering::SeqCst);
                    }
                }
                note_sent(&shared, plan.total);
            }
        });
    }
    {
        let shared = shared.clone();
        let addrs = addrs.clone();
        let host_header = host_header.clone();
        let path = path.clone();
        tasks.spawn(async move {
            let slots = Arc::new(tokio::sync::Semaphore::new(plan.half_open_at_once));
            let mut holders = JoinSet::new();
            for i in 0..plan.half_open {
                if shared.stop.load(Ordering::SeqCst) || started.elapsed() > DEADLINE {
                    break;
                }
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    break;
                };
                let addr = addrs[i % addrs.len()];
                let partial = format!("GET {path}?state=");
                let full_head = format!("GET {path} HTTP/1.1\r\nHost: {host_header}\r\n");
                let shared = shared.clone();
                holders.spawn(async move {
                    let _permit = permit;
                    let opened = tokio::time::timeout(IO_TIMEOUT, async {
                        let mut s = TcpStream::connect(addr).await.ok()?;
                        let head = if i % 2 == 0 { partial } else { full_head };
                        s.write_all(head.as_bytes()).await.ok()?;
                        Some(s)
                    })
                    .await
                    .ok()
                    .flatten();
                    note_sent(&shared, plan.total);
                    if opened.is_none() {
                        shared.no_answer.fetch_add(1, Ordering::SeqCst);
                    }
                    tokio::time::sleep(plan.half_open_hold).await;
                    drop(opened);
                });
                while holders.try_join_next().is_some() {}
            }
            while holders.join_next().await.is_some() {}
        });
    }
    JunkRun {
        shared,
        plan,
        tasks,
        started,
    }
}

fn note_sent(shared: &Shared, total: usize) {
    let n = shared.sent.fetch_add(1, Ordering::SeqCst) + 1;
    if n == total / 2 {
        shared.half_sent.notify_waiters();
    }
}

impl JunkRun {
    /// Resolves once half of the junk is out (or the run ends).
    pub async fn wait_until_half_sent(&self) {
        let deadline = self.started + DEADLINE;
        loop {
            let notified = self.shared.half_sent.notified();
            if self.shared.sent.load(Ordering::SeqCst) >= self.plan.total / 2
                || Instant::now() > deadline
            {
                return;
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
    }

    /// Lets the junk finish (bounded by its deadline) and reports.
    pub async fn finish(mut self) -> JunkReport {
        let rest = DEADLINE.saturating_sub(self.started.elapsed()) + Duration::from_secs(5);
        let tasks = &mut self.tasks;
        let _ =
            tokio::time::timeout(rest, async { while tasks.join_next().await.is_some() {} }).await;
        self.shared.stop.store(true, Ordering::SeqCst);
        self.tasks.abort_all();
        JunkReport {
            sent: self.shared.sent.load(Ordering::SeqCst),
            rejected_4xx: self.shared.rejected.load(Ordering::SeqCst),
            other_status: self.shared.other.lock().unwrap().clone(),
            no_answer: self.shared.no_answer.load(Ordering::SeqCst),
            elapsed: self.started.elapsed(),
        }
    }
}

/// A cheap deterministic byte stream (garbage that is the same on every run).
fn garbage(seed: usize, len: usize) -> Vec<u8> {
    let mut x = (seed as u64)
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x & 0xff) as u8
        })
        .collect()
}

/// The `i`-th complete junk request: 4 in 9 bad paths/Host/method, 3 in 9 bad `state`,
/// 2 in 9 garbage bytes.
fn junk_request(i: usize, host: &str, path: &str) -> Vec<u8> {
    let get = |target: &str, host: &str| {
        format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").into_bytes()
    };
    match i % 9 {
        0 => get("/", host),
        1 => get("/favicon.ico", host),
        2 => get(&format!("{path}/../admin?code=x&state=y"), host),
        3 => get(&format!("{path}?code=abc&state=nope"), "evil.example:80"),
        4 => get(&format!("{path}?code=abc&state=wrong-{i}"), host),
        5 => get(&format!("{path}?code=abc"), host),
        6 => get(&format!("{path}?state=a&state=b&code=c"), host),
        7 => garbage(i, 64 + i % 900),
        _ => {
            let mut g = b"POST ".to_vec();
            g.extend_from_slice(path.as_bytes());
            g.extend_from_slice(b" HTTP/1.1\r\nContent-Length: 5\r\n\r\n");
            g.extend_from_slice(&garbage(i, 5));
            g
        }
    }
}

/// Send `bytes`, half-close, and read the status code of the answer (if any).
async fn send(addr: SocketAddr, bytes: &[u8]) -> Option<u16> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    let _ = s.write_all(bytes).await;
    let _ = s.shutdown().await;
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() >= 12 {
                    break;
                }
            }
        }
    }
    let line = String::from_utf8_lossy(&buf);
    line.strip_prefix("HTTP/1.1 ")
        .or_else(|| line.strip_prefix("HTTP/1.0 "))
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
}
