//! The desktop app, started as a user would: time to its `first paint` log line (the UI calls
//! `ui_ready` once it has painted) and to the restored session, then the RSS of its process
//! tree at idle. Linux only (reads /proc).

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
    /// VmRSS summed over the app and its WebKit children, at idle.
    pub rss_total: u64,
    /// (process name, VmRSS) of each process counted.
    pub rss_by_process: Vec<(String, u64)>,
}

/// Where the app finds its profile and keeps its data, and which keychain service it uses.
pub struct AppEnv {
    pub binary: PathBuf,
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

fn rss_of_tree(root: u32) -> Vec<(String, u64)> {
    process_tree(root)
        .into_iter()
        .filter_map(|pid| {
            let st = read_status(pid)?;
            let name = st.get("Name").cloned().unwrap_or_default();
            let rss = st.get("VmRSS").map(|v| parse_kb(v)).unwrap_or(0);
            Some((name, rss))
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
/// the session is restored before reading RSS.
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
    while (first_paint.is_none() || restored.is_none()) && Instant::now() < deadline {
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
    let rss_by_process = rss_of_tree(child.id());
    let rss_total = rss_by_process.iter().map(|(_, r)| r).sum();
    stop(child);
    Ok(AppLaunch {
        first_paint,
        restored,
        rss_total,
        rss_by_process,
    })
}
