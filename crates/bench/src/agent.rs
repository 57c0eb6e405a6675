//! Section 9: the session agent — `latchkey token` answered by a running headless `latchkey
//! agent` against `secret-tool lookup`, 200 concurrent callers, and the agent's idle RSS.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::flow::{BenchResult, Rig};
use crate::measure::signed_in_config;
use crate::stats::{fmt_bytes, fmt_duration, Samples};
use crate::table::{Row, Target};

/// Callers started at once for the concurrency rows.
pub const CONCURRENT_CALLERS: usize = 200;
/// How long the agent rests before its idle RSS is read.
const REST: Duration = Duration::from_secs(2);

/// What section 9 measured.
pub struct AgentBench {
    /// `latchkey token` through the agent: process start → exit.
    pub token: Samples,
    /// `secret-tool lookup` of the session's keychain item, interleaved.
    pub lookup: Samples,
    /// Each of [`CONCURRENT_CALLERS`] `latchkey token` processes started at once.
    pub concurrent: Samples,
    /// The agent's resident set after the runs and a rest, in bytes.
    pub idle_rss: u64,
}

/// The agent, killed when dropped.
struct RunningAgent(Child);

impl Drop for RunningAgent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Measure with the CLI at `cli` and a valid session saved for the rig's profile.
pub async fn measure(
    rig: &Rig,
    cli: &Path,
    scratch: &Path,
    runs: usize,
) -> BenchResult<AgentBench> {
    let config = signed_in_config(rig, scratch).await?;
    let service = rig.vault.service().to_owned();
    let account = rig.profile.keychain_account();
    let runtime = scratch.join("agent-run");
    let cli = cli.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let latchkey = |args: &[&str]| {
            let mut c = Command::new(&cli);
            c.args(args)
                .env("LATCHKEY_CONFIG", &config)
                .env("LATCHKEY_KEYCHAIN_SERVICE", &service)
                .env("LATCHKEY_RUNTIME_DIR", &runtime)
                .env_remove("LATCHKEY_AGENT")
                .env_remove("LATCHKEY_LOG")
                .stdin(Stdio::null());
            c
        };
        let lookup = || {
            let mut c = Command::new("secret-tool");
            c.args(["lookup", "service", &service, "username", &account]);
            c
        };
        let agent = start_agent(latchkey(&["agent"]), &runtime.join("agent.sock"))?;
        let mut bench = AgentBench {
            token: Samples::new(),
            lookup: Samples::new(),
            concurrent: Samples::new(),
            idle_rss: 0,
        };
        for i in 0..runs + 3 {
            let t = timed(&mut latchkey(&["token"]), "latchkey token")?;
            let l = timed(&mut lookup(), "secret-tool lookup")?;
            if i >= 3 {
                bench.token.push(t);
                bench.lookup.push(l);
            }
        }
        bench.concurrent = concurrent(|| latchkey(&["token"]))?;
        std::thread::sleep(REST);
        bench.idle_rss = rss_of(agent.0.id())?;
        Ok(bench)
    })
    .await
    .map_err(|e| e.to_string())?
}

fn start_agent(mut command: Command, socket: &Path) -> BenchResult<RunningAgent> {
    let mut agent = RunningAgent(
        command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start `latchkey agent`: {e}"))?,
    );
    let start = Instant::now();
    while !socket.exists() {
        if agent.0.try_wait().ok().flatten().is_some() || start.elapsed() > Duration::from_secs(30)
        {
            return Err("`latchkey agent` did not bind its socket".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(agent)
}

fn timed(command: &mut Command, what: &str) -> BenchResult<Duration> {
    let t = Instant::now();
    let out = command
        .output()
        .map_err(|e| format!("could not run {what}: {e}"))?;
    let d = t.elapsed();
    if !out.status.success() || out.stdout.is_empty() {
        return Err(format!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(d)
}

/// [`CONCURRENT_CALLERS`] processes started together, each timed start → exit.
fn concurrent(command: impl Fn() -> Command + Sync) -> BenchResult<Samples> {
    let times: Vec<BenchResult<Duration>> = std::thread::scope(|scope| {
        let callers: Vec<_> = (0..CONCURRENT_CALLERS)
            .map(|_| scope.spawn(|| timed(&mut command(), "latchkey token (concurrent)")))
            .collect();
        callers
            .into_iter()
            .map(|c| {
                c.join()
                    .unwrap_or_else(|_| Err("a caller thread panicked".into()))
            })
            .collect()
    });
    Ok(Samples::from_vec(
        times.into_iter().collect::<BenchResult<_>>()?,
    ))
}

/// The resident set of process `pid` (`VmRSS` in /proc), in bytes.
fn rss_of(pid: u32) -> BenchResult<u64> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .ok_or("no VmRSS in /proc/PID/status")?;
    Ok(kib * 1024)
}

/// Issue 24's targets (8–10), not measured yet.
pub fn targets() -> Vec<Target> {
    [
        (
            8,
            "`latchkey token` through the agent vs `secret-tool lookup` (9a vs 9b)",
            "≤ ×0.3",
        ),
        (
            9,
            "200 concurrent `latchkey token` through the agent: p50 / p99 (9c)",
            "all exit 0; reported",
        ),
        (10, "Headless agent idle RSS (9d)", "≤ 15 MB"),
    ]
    .into_iter()
    .map(|(id, what, target)| Target {
        id,
        what,
        target,
        latchkey: "–".into(),
        baseline: "–".into(),
        ratio: "–".into(),
        met: None,
    })
    .collect()
}

/// The rows and targets of a measurement.
pub fn record(bench: &AgentBench, rows: &mut Vec<Row>, targets: &mut [Target]) {
    let (token, lookup) = (bench.token.median(), bench.lookup.median());
    let r = token.as_secs_f64() / lookup.as_secs_f64().max(f64::EPSILON);
    Target::record(
        targets,
        8,
        fmt_duration(token),
        format!("{} (secret-tool)", fmt_duration(lookup)),
        format!("×{r:.2}"),
        r <= 0.3,
    );
    let c = &bench.concurrent;
    Target::record(
        targets,
        9,
        format!("{} / {}", fmt_duration(c.median()), fmt_duration(c.p99())),
        "–",
        "–",
        c.len() == CONCURRENT_CALLERS,
    );
    Target::record(
        targets,
        10,
        fmt_bytes(bench.idle_rss),
        "15 MB",
        "–",
        bench.idle_rss <= 15_000_000,
    );
    rows.push(
        Row::new(
            "9a",
            "`latchkey token` through a running `latchkey agent`: start → exit",
        )
        .samples(&bench.token)
        .note(format!("×{r:.2} `secret-tool lookup` (9b)")),
    );
    rows.push(
        Row::new(
            "9b",
            "`secret-tool lookup` of the same keychain item: start → exit",
        )
        .samples(&bench.lookup)
        .note("libsecret; interleaved with 9a"),
    );
    rows.push(Row::new("9c", format!("{CONCURRENT_CALLERS} `latchkey token` processes at once through the agent: each start → exit")).samples(c).note("one agent, one keychain read"));
    rows.push(
        Row::new(
            "9d",
            "Headless `latchkey agent` RSS at idle, one profile held",
        )
        .median(fmt_bytes(bench.idle_rss))
        .note("VmRSS after the runs above and a 2 s rest"),
    );
}
