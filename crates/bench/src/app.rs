//! The desktop app (or the hello-world baseline), started as a user would: time to its
//! `first paint` log line (the UI calls `ui_ready` once it has painted) and to the restored
//! session, then the memory of its process tree at idle (PSS and RSS). Linux only (reads /proc).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::flow::BenchResult;

/// One launch of the app.
#[derive(Debug, Clone)]
pub struct AppLaunch {
    pub first_paint: Duration,
    /// When core logged the restored `signed_in` state (None: never seen).
    pub restored: Option<Duration>,
    /// Memory of the app and its WebKit children at idle, summed.
    pub memory: Memory,
    /// (process name, memory) of each process counted.
    pub by_process: Vec<(String, Memory)>,
}

/// One process's (or a tree's) memory: PSS (shared pages divided among the processes that
/// map them, so a sum over processes counts each page once) and RSS.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub pss: u64,
    pub rss: u64,
}

impl std::ops::Add for Memory {
    type Output = Memory;
    fn add(self, o: Memory) -> Memory {
        Memory {
            pss: self.pss + o.pss,
            rss: self.rss + o.rss,
        }
    }
}

/// Where the app finds its profile and keeps its data, and which keychain service it uses.
pub struct AppEnv {
    /// The app, or the hello-world baseline (which has no session to restore).
    pub binary: PathBuf,
    /// Wait for the restored session too (the app), or for the first paint only (the baseline).
    pub restores: bool,
    pub config: PathBuf,
    pub data_home: PathBuf,
    pub keychain_service: String,
}

fn read_status(pid: u32) -> Option<HashMap<String, String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
            .collect(),
    )
}

fn parse_kb(v: &str) -> u64 {
    v.split_whitespace()
        .next()
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// `root` and all its descendants (by PPid in /proc).
pub fn process_tree(root: u32) -> Vec<u32> {
    let mut parent_of: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if let Some(st) = read_status(pid) {
                if let Some(pp) = st.get("PPid").and_then(|p| p.parse::<u32>().ok()) {
                    parent_of.push((pid, pp));
                }
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        for (c, pp) in &parent_of {
            if *pp == p && !tree.contains(c) {
                tree.push(*c);
            }
        }
        i += 1;
    }
    tree
}

/// `Pss:` and `Rss:` of /proc/PID/smaps_rollup (kB → bytes).
fn memory_of(pid: u32) -> Option<Memory> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(parse_kb)
            .unwrap_or(0)
    };
    Some(Memory {
        pss: field("Pss:"),
        rss: field("Rss:"),
    })
}

fn memory_of_tree(root: u32) -> Vec<(String, Memory)> {
    process_tree(root)
        .into_iter()
        .filter_map(|pid| {
            let name = read_status(pid)?.get("Name").cloned().unwrap_or_default();
            Some((name, memory_of(pid)?))
        })
        .collect()
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([sig, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Ends the app (SIGTERM, then SIGKILL), and any of its children still running, by pid.
fn stop(mut child: Child) {
    let tree = process_tree(child.id());
    signal(child.id(), "-TERM");
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if !matches!(child.try_wait(), Ok(Some(_))) {
        let _ = child.kill();
        let _ = child.wait();
    }
    for pid in tree.into_iter().skip(1) {
        if Path::new(&format!("/proc/{pid}")).exists() {
            signal(pid, "-KILL");
        }
    }
}

/// Launches the app once and measures it. `idle`: how long to wait after the UI is ready and
/// the session is restored before reading the memory.
pub fn launch(env: &AppEnv, idle: Duration, timeout: Duration) -> BenchResult<AppLaunch> {
    let started = Instant::now();
    let mut child = Command::new(&env.binary)
        .env("LATCHKEY_LOG", "info,latchkey_core::session=debug")
        .env("LATCHKEY_CONFIG", &env.config)
        .env("XDG_DATA_HOME", &env.data_home)
        .env("LATCHKEY_KEYCHAIN_SERVICE", &env.keychain_service)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", env.binary.display()))?;
    let stderr = child.stderr.take().ok_or("no stderr pipe")?;
    let (tx, rx) = mpsc::channel::<(Instant, String)>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    let mut first_paint = None;
    let mut restored = None;
    let mut tail: Vec<String> = Vec::new();
    let deadline = started + timeout;
    while (first_paint.is_none() || (env.restores && restored.is_none()))
        && Instant::now() < deadline
    {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok((at, line)) => {
                if first_paint.is_none() && line.contains("first paint") {
                    first_paint = Some(at - started);
                }
                if restored.is_none()
                    && line.contains("latchkey_core::session")
                    && line.contains("session state")
                    && line.contains("signed_in")
                {
                    restored = Some(at - started);
                }
                tail.push(line);
                if tail.len() > 40 {
                    tail.remove(0);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!(
                        "the app exited early ({status}); its last log lines:\n{}",
                        tail.join("\n")
                    ));
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let Some(first_paint) = first_paint else {
        stop(child);
        return Err(format!(
            "no `first paint` line within {} s; the app's last log lines:\n{}",
            timeout.as_secs(),
            tail.join("\n")
        ));
    };
    std::thread::sleep(idle);
    let by_process = memory_of_tree(child.id());
    let memory = by_process
        .iter()
        .fold(Memory::default(), |sum, (_, m)| sum + *m);
    stop(child);
    Ok(AppLaunch {
        first_paint,
        restored,
        memory,
        by_process,
    })
}
