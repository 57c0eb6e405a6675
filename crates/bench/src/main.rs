//! `latchkey-bench`: measures Latchkey against latchkey-devidp and prints one table.
//! Run through `cargo xtask bench` (release build, keychain sandbox, peer in the same run).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use latchkey_bench::flow::{BenchResult, Rig};
use latchkey_bench::junk::JunkPlan;
use latchkey_bench::measure;
use latchkey_bench::stats::{fmt_bytes, fmt_duration, fmt_ratio, Samples};
use latchkey_bench::table::{render, render_targets, Row, Target};
use latchkey_core::Vault;

const USAGE: &str = "\
latchkey-bench — Latchkey's benchmarks (normally run by `cargo xtask bench`)

USAGE:
    latchkey-bench [--quick] [--app PATH] [--hello PATH] [--cli PATH] [--deb PATH] [--peer DIR]
                   [--criterion DIR] [--skip LIST] [--out FILE]

    --quick           fewer runs (a smoke test; the numbers are not for BENCHMARKS.md)
    --app PATH        the desktop app binary (default: latchkey-app next to this binary)
    --hello PATH      the hello-world baseline (default: latchkey-hello next to this binary)
    --cli PATH        the `latchkey` CLI binary (default: latchkey next to this binary)
    --deb PATH        the .deb package whose size row 7 reports (default: none)
    --peer DIR        the peer's directory with node_modules (default: benches/peer)
    --criterion DIR   criterion's output to include (default: target/criterion)
    --skip LIST       comma-separated sections to skip: signin,verify,peer,junk,app,cli,aws,restore,herd,agent
    --only LIST       run only these sections (the same names); e.g. --only agent
    --out FILE        also write the table to FILE

Profiling aids (print timings, no table):
    --keychain-loop N core's chunked keychain write N times, then a single item write N times
    --verify-loop N   ID-token verification N times (memory vault, no keychain needed)

Needs a working keychain (Secret Service) and, for the app, a display: run it inside the
sandbox `cargo xtask bench` sets up.";

struct Args {
    quick: bool,
    app: PathBuf,
    hello: PathBuf,
    cli: PathBuf,
    deb: Option<PathBuf>,
    /// The floor process of `latchkey aws credentials` (built with this binary).
    floor: PathBuf,
    peer: PathBuf,
    criterion: PathBuf,
    skip: Vec<String>,
    /// Sections to run (empty: all but `skip`).
    only: Vec<String>,
    out: Option<PathBuf>,
    /// Profiling aids: only loop over one operation and print its timings.
    keychain_loop: Option<usize>,
    verify_loop: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let bin_dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    let mut a = Args {
        quick: false,
        app: bin_dir.join("latchkey-app"),
        hello: bin_dir.join("latchkey-hello"),
        cli: bin_dir.join("latchkey"),
        deb: None,
        floor: bin_dir.join("keychain-read-floor"),
        peer: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../benches/peer"),
        criterion: bin_dir
            .parent()
            .map(|t| t.join("criterion"))
            .unwrap_or_default(),
        skip: vec![],
        only: vec![],
        out: None,
        keychain_loop: None,
        verify_loop: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--app" => a.app = PathBuf::from(value("--app")?),
            "--hello" => a.hello = PathBuf::from(value("--hello")?),
            "--cli" => a.cli = PathBuf::from(value("--cli")?),
            "--deb" => a.deb = Some(PathBuf::from(value("--deb")?)),
            "--peer" => a.peer = PathBuf::from(value("--peer")?),
            "--criterion" => a.criterion = PathBuf::from(value("--criterion")?),
            "--skip" => {
                a.skip = value("--skip")?
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .collect()
            }
            "--only" => {
                a.only = value("--only")?
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .collect()
            }
            "--out" => a.out = Some(PathBuf::from(value("--out")?)),
            "--keychain-loop" => {
                a.keychain_loop = Some(value("--keychain-loop")?.parse().map_err(|_| "a count")?)
            }
            "--verify-loop" => {
                a.verify_loop = Some(value("--verify-loop")?.parse().map_err(|_| "a count")?)
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    Ok(a)
}

fn progress(what: &str) {
    eprintln!("latchkey-bench: {what}");
}

/// Element-wise sum of two sample sets measured in the same runs.
fn sum(a: &Samples, b: &Samples) -> Samples {
    Samples::from_vec(
        a.values()
            .iter()
            .zip(b.values())
            .map(|(x, y)| *x + *y)
            .collect(),
    )
}

fn ratio_note(a: Duration, b: Duration) -> String {
    fmt_ratio(a, b)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("latchkey-bench: {e}");
            std::process::exit(2);
        }
    };
    match run(args).await {
        Ok(()) => {}
        Err(e) => {
            eprintln!("latchkey-bench: {e}");
            std::process::exit(1);
        }
    }
}

async fn run(args: Args) -> BenchResult<()> {
    let started = Instant::now();
    let pid = std::process::id();
    let scratch = std::env::temp_dir().join(format!("latchkey-bench-{pid}"));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    // The cross-process refresh lock goes to a private directory.
    std::env::set_var("LATCHKEY_RUNTIME_DIR", scratch.join("run"));
    if args.keychain_loop.is_some() || args.verify_loop.is_some() {
        let result = profiling_loops(&args).await;
        let _ = std::fs::remove_dir_all(&scratch);
        return result;
    }
    let result = run_sections(&args, &scratch).await;
    let _ = std::fs::remove_dir_all(&scratch);
    let (rows, targets) = result?;
    let table = format!("{}\n{}", render_targets(&targets), render(&rows));
    println!("{table}");
    if let Some(out) = &args.out {
        std::fs::write(out, &table).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    progress(&format!(
        "done in {:.0} s (build excluded)",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

async fn profiling_loops(args: &Args) -> BenchResult<()> {
    let show = |what: &str, s: &Samples| {
        println!(
            "{what}: median {} p99 {} n {}",
            fmt_duration(s.median()),
            fmt_duration(s.p99()),
            s.len()
        )
    };
    if let Some(n) = args.verify_loop {
        let rig = Rig::start("Profile", Vault::memory())?;
        show("verify_id_token", &measure::verify_loop(&rig, n).await?);
    }
    if let Some(n) = args.keychain_loop {
        let service = format!("latchkey-bench-{}", std::process::id());
        let rig = Rig::start("Profile", Vault::system_with_service(&service))?;
        let (core, single) = measure::keychain_loop(&rig, n).await?;
        show("core store_session", &core);
        show("single item set_secret", &single);
    }
    Ok(())
}

async fn run_sections(
    args: &Args,
    scratch: &std::path::Path,
) -> BenchResult<(Vec<Row>, Vec<Target>)> {
    let skip = |s: &str| {
        args.skip.iter().any(|k| k == s)
            || !args.only.is_empty() && !args.only.iter().any(|k| k == s)
    };
    let q = args.quick;
    let n = |full: usize, quick: usize| if q { quick } else { full };
    let service = format!("latchkey-bench-{}", std::process::id());
    let vault = Vault::system_with_service(&service);
    let health = vault.probe();
    if !health.ok || !health.persistent {
        return Err(format!(
            "the keychain is not usable ({}); run inside `cargo xtask bench`, which starts a \
             private D-Bus session with an unlocked gnome-keyring",
            health.message
        ));
    }
    progress("starting latchkey-devidp (RSA key generation)");
    let rig = Rig::start("Bench", vault)?;
    let mut rows: Vec<Row> = Vec::new();
    let mut targets = Target::issue_17();
    targets.extend(latchkey_bench::agent::targets());
    let mut deb_size = None;

    // 1. sign-in overhead, its parts, the floor; 7. the peer (same work); 3. verification.
    let mut parts = None;
    let mut peer = None;
    if !skip("signin") {
        progress("1. sign-in: callback → SignedIn");
        let si = measure::sign_in(&rig, n(100, 10), n(20, 3)).await?;
        progress("1. sign-in parts: exchange, verification, keychain");
        let p = measure::parts(&rig, n(100, 10)).await?;
        if !skip("peer") {
            progress("7. peer: openid-client, same exchange + verification");
            match measure::peer(&rig, &args.peer, n(100, 10), n(2000, 200)).await {
                Ok(pr) => peer = Some(pr),
                Err(e) => progress(&format!("peer skipped: {e}")),
            }
        }
        let floor = sum(&p.exchange, &p.floor_write);
        let parts_median = p.exchange.median()
            + p.verify_id.median()
            + p.verify_access.median()
            + p.keychain_write.median();
        let rest = si.total.median().saturating_sub(parts_median);
        let chunks = p
            .stored_bytes
            .div_ceil(latchkey_core::internals::CHUNK_SIZE);
        let vs_floor = ratio(si.total.median(), floor.median());
        Target::record(
            &mut targets,
            1,
            fmt_duration(si.total.median()),
            format!("{} (floor)", fmt_duration(floor.median())),
            format!("×{vs_floor:.2}"),
            vs_floor <= 1.5,
        );
        rows.push(
            Row::new(
                "1",
                "Sign-in overhead: callback request sent → `SignedIn` (warm session)",
            )
            .samples(&si.total)
            .note(format!(
                "{} the floor (median); parts below",
                fmt_ratio(si.total.median(), floor.median())
            )),
        );
        rows.push(
            Row::new("1a", "… code exchange round trip (token POST + response)")
                .samples(&p.exchange)
                .note("includes the provider signing two RS256 tokens"),
        );
        rows.push(Row::new("1b", "… ID-token verification (JWKS cached)").samples(&p.verify_id));
        rows.push(
            Row::new("1c", "… access-token verification (Cognito profile)")
                .samples(&p.verify_access),
        );
        rows.push(
            Row::new(
                "1d",
                "(keychain read of the session, as restore does: not in 1)",
            )
            .samples(&p.keychain_read),
        );
        let layout = if p.stored_bytes < latchkey_core::internals::CHUNK_SIZE {
            "in one item".to_string()
        } else {
            format!("in {chunks} chunk item(s) + 1 index item")
        };
        rows.push(
            Row::new(
                "1e",
                "… keychain write (stored generation read, write, check)",
            )
            .samples(&p.keychain_write)
            .note(format!("{} B session {layout}", p.stored_bytes)),
        );
        rows.push(
            Row::new(
                "1f",
                "… rest: listener hand-off, profile lock, state (1 − 1a, 1b, 1c, 1e)",
            )
            .median(fmt_duration(rest))
            .note("difference of medians"),
        );
        rows.push(
            Row::new("1g", "Sign-in overhead, first sign-in of a new `Session`")
                .samples(&si.first)
                .note("adds the JWKS fetch and a new connection"),
        );
        rows.push(
            Row::new("F", "Floor: one token round trip + one keychain item write")
                .samples(&floor)
                .note(format!(
                    "1a + a single Secret Service item with the same {} B",
                    p.stored_bytes
                )),
        );
        let mut ev = Row::new("1x", "Code exchange + ID-token verification (1a + 1b)")
            .samples(&p.exchange_verify)
            .note("the work the peer does (row 7a)");
        if let Some(pr) = &peer {
            ev = ev.vs_peer(ratio_note(
                p.exchange_verify.median(),
                pr.exchange_verify.median(),
            ));
            let r = ratio(p.exchange_verify.median(), pr.exchange_verify.median());
            // The same figures without the provider's own time (devidp's counter), which
            // both clients wait for and neither can shorten.
            let client_side = match (p.provider_share, pr.provider_share) {
                (Some(ours), Some(theirs)) => format!(
                    "; client side ×{:.2}",
                    ratio(
                        p.exchange_verify.median().saturating_sub(ours),
                        pr.exchange_verify.median().saturating_sub(theirs)
                    )
                ),
                _ => String::new(),
            };
            Target::record(
                &mut targets,
                3,
                fmt_duration(p.exchange_verify.median()),
                format!(
                    "{} (openid-client)",
                    fmt_duration(pr.exchange_verify.median())
                ),
                format!("×{r:.2}{client_side}"),
                r <= 0.4,
            );
        }
        rows.push(ev);
        if let Some(share) = p.provider_share {
            rows.push(
                Row::new(
                    "1p",
                    "… of which the provider's own handling of the token request",
                )
                .median(fmt_duration(share))
                .note("devidp's counter, mean per exchange: parsing, two RS256 signatures, JSON"),
            );
        }
        parts = Some(p);
    }

    if !skip("verify") {
        progress("3. verification per token");
        let mut vrow = Row::new(
            "3a",
            "ID-token verification per token, criterion (JWKS cached)",
        );
        match measure::criterion_result(&args.criterion, "verify/id_token") {
            Some((median, p99, iters)) => {
                vrow = vrow
                    .median(fmt_duration(median))
                    .p99(fmt_duration(p99))
                    .n(format!("{iters} iters"))
                    .note("median/p99 of criterion's 100 sample means");
            }
            None => {
                vrow = vrow.note(format!(
                "no criterion results in {} (run `cargo bench -p latchkey-bench --bench verify`)",
                args.criterion.display()
            ))
            }
        }
        if let Some(pr) = &peer {
            if let Some((median, _, _)) =
                measure::criterion_result(&args.criterion, "verify/id_token")
            {
                vrow = vrow.vs_peer(ratio_note(median, pr.verify.median()));
            }
        }
        rows.push(vrow);
        if let Some((median, p99, iters)) =
            measure::criterion_result(&args.criterion, "verify/access_token")
        {
            rows.push(
                Row::new("3b", "Access-token verification per token, criterion")
                    .median(fmt_duration(median))
                    .p99(fmt_duration(p99))
                    .n(format!("{iters} iters")),
            );
        }
        if let Some(p) = &parts {
            let single = measure::verify_calls(&rig, p, n(2000, 200)).await?;
            let mut r = Row::new("3c", "ID-token verification, single timed calls")
                .samples(&single)
                .note("one `Instant` per call");
            if let Some(pr) = &peer {
                r = r.vs_peer(ratio_note(single.median(), pr.verify.median()));
                let faster = ratio(pr.verify.median(), single.median());
                Target::record(
                    &mut targets,
                    2,
                    fmt_duration(single.median()),
                    format!("{} (jose)", fmt_duration(pr.verify.median())),
                    format!("×{faster:.2} faster"),
                    faster >= 2.0,
                );
            }
            rows.push(r);
        }
    }

    if !skip("junk") {
        let runs = n(8, 2);
        progress(&format!(
            "5. listener under junk: {runs} × 10,000 junk requests around the real callback"
        ));
        let j = measure::junk(&rig, runs, JunkPlan::standard()).await?;
        rows.push(
            Row::new("5a", "Listener, no junk: callback sent → `SignedIn`").samples(&j.baseline),
        );
        let sent: usize = j.reports.iter().map(|r| r.sent).sum();
        let rejected: usize = j.reports.iter().map(|r| r.rejected_4xx).sum();
        let mut other_by_status = std::collections::BTreeMap::<u16, usize>::new();
        for r in &j.reports {
            for (s, c) in &r.other_status {
                *other_by_status.entry(*s).or_default() += c;
            }
        }
        let other = if other_by_status.is_empty() {
            "no other status".to_string()
        } else {
            other_by_status
                .iter()
                .map(|(s, c)| format!("{c}× HTTP {s}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let no_answer: usize = j.reports.iter().map(|r| r.no_answer).sum();
        let longest = j
            .reports
            .iter()
            .map(|r| r.elapsed)
            .max()
            .unwrap_or_default();
        let ok_callbacks = j.callback_statuses.iter().filter(|s| **s == 200).count();
        rows.push(
            Row::new(
                "5b",
                "Listener under 10,000 junk requests: callback sent → `SignedIn`",
            )
            .samples(&j.with_junk)
            .note(format!(
                "completed {}/{} (callback answered 200: {ok_callbacks}); +{} vs 5a (median); \
                 junk sent {sent}: {rejected} answered 4xx, {other}, {no_answer} \
                 unanswered (half-open/garbage/after close); longest junk run {}",
                j.completed,
                j.runs,
                fmt_duration(j.with_junk.median().saturating_sub(j.baseline.median())),
                fmt_duration(longest)
            )),
        );
    }

    if !skip("app") {
        app_rows(args, &rig, scratch, n(11, 2), &mut rows, &mut targets).await;
    }
    if let Some(deb) = &args.deb {
        match std::fs::metadata(deb) {
            Ok(m) => {
                rows.push(
                    Row::new("6g", "`.deb` package (app + CLI)")
                        .median(fmt_bytes(m.len()))
                        .note(deb.file_name().unwrap_or_default().to_string_lossy()),
                );
                deb_size = Some(m.len());
            }
            Err(e) => {
                rows.push(Row::new("6g", "`.deb` package").note(format!("{}: {e}", deb.display())))
            }
        }
    }
    if let Some(t) = targets.iter_mut().find(|t| t.id == 7) {
        let binary = std::fs::metadata(&args.app).map(|m| m.len()).ok();
        if let (Some(binary), Some(deb)) = (binary, deb_size) {
            t.latchkey = format!("{}; {}", fmt_bytes(binary), fmt_bytes(deb));
            t.met = Some(binary <= 12_000_000 && deb <= 6_000_000);
        }
    }

    if !skip("cli") {
        if args.cli.exists() {
            let runs = n(50, 5);
            progress(&format!(
                "2. `latchkey token` and `secret-tool lookup`: {runs} processes each"
            ));
            match measure::cli_token(&rig, &args.cli, scratch, runs).await {
                Ok(c) => {
                    let r = ratio(c.token.median(), c.lookup.median());
                    Target::record(
                        &mut targets,
                        4,
                        fmt_duration(c.token.median()),
                        format!("{} (secret-tool)", fmt_duration(c.lookup.median())),
                        format!("×{r:.2}"),
                        r <= 1.5,
                    );
                    rows.push(
                        Row::new(
                            "2e",
                            "`latchkey token` process, valid ID token cached: start → exit",
                        )
                        .samples(&c.token)
                        .note(format!("×{r:.2} `secret-tool lookup` (2f)")),
                    );
                    rows.push(
                        Row::new(
                            "2f",
                            "`secret-tool lookup` of the same keychain item: start → exit",
                        )
                        .samples(&c.lookup)
                        .note("libsecret; interleaved with 2e"),
                    );
                }
                Err(e) => {
                    rows.push(Row::new("2e", "`latchkey token`").note(format!("failed: {e}")))
                }
            }
        } else {
            rows.push(Row::new("2e", "`latchkey token`").note(format!(
                "{} not built (cargo build --release -p latchkey-cli)",
                args.cli.display()
            )));
        }
    }

    if !skip("agent") && args.cli.exists() {
        let runs = n(50, 5);
        progress(&format!(
            "9. the agent: {runs} `latchkey token` through it, then 200 at once"
        ));
        match latchkey_bench::agent::measure(&rig, &args.cli, scratch, runs).await {
            Ok(a) => latchkey_bench::agent::record(&a, &mut rows, &mut targets),
            Err(e) => rows.push(Row::new("9a", "the agent").note(format!("failed: {e}"))),
        }
    }

    if let Some(pr) = &peer {
        rows.push(
            Row::new(
                "7a",
                "Peer: openid-client code exchange + ID-token verification",
            )
            .samples(&pr.exchange_verify)
            .note(format!(
                "{}; `authorizationCodeGrant` with signature checks on{}",
                pr.versions,
                pr.provider_share
                    .map(|d| format!("; the provider's own handling {} (mean)", fmt_duration(d)))
                    .unwrap_or_default()
            )),
        );
        rows.push(
            Row::new("7b", "Peer: jose `jwtVerify` per token (local JWKS)")
                .samples(&pr.verify)
                .note("one timed call each"),
        );
    }

    if !skip("aws") {
        if args.cli.exists() && args.floor.exists() {
            let runs = n(50, 5);
            progress(&format!(
                "8. `latchkey aws credentials`, cached: {runs} processes, and the floor"
            ));
            let a = measure::aws_process(&rig, &args.cli, &args.floor, scratch, runs).await?;
            rows.push(
                Row::new(
                    "8",
                    "`latchkey aws credentials`, cached credentials: process spawn → exit",
                )
                .samples(&a.cli)
                .note(format!(
                    "{} the floor (median); no request: the session and the credentials come from the keychain",
                    fmt_ratio(a.cli.median(), a.floor.median())
                )),
            );
            rows.push(
                Row::new(
                    "8F",
                    "Floor: a process that reads one keychain item and exits",
                )
                .samples(&a.floor)
                .note(format!(
                    "`keychain-read-floor`, one Secret Service item of {} B (the credentials entry)",
                    a.stored_bytes
                )),
            );
        } else {
            rows.push(Row::new("8", "`latchkey aws credentials`").note(format!(
                "{} or {} not built (cargo build --release -p latchkey-cli -p latchkey-bench)",
                args.cli.display(),
                args.floor.display()
            )));
        }
    }

    // These move the provider's and the sessions' clocks forward: keep them last.
    if !skip("restore") {
        progress("2. restore at start-up");
        let r = measure::restore(&rig, n(100, 10), n(50, 5)).await?;
        rows.push(
            Row::new("2a", "`Session::restore()`, valid cached ID token")
                .samples(&r.valid)
                .note("keychain read only, no request"),
        );
        rows.push(
            Row::new("2b", "`Session::restore()`, refresh needed")
                .samples(&r.refresh)
                .note("keychain read + refresh + verification + keychain write"),
        );
        rows.push(
            Row::new("2c", "Start-up: `Vault::system()`")
                .samples(&r.connect)
                .note("connects on first use: nothing yet"),
        );
        rows.push(
            Row::new("2d", "Start-up: `Session::new()`")
                .samples(&r.new_session)
                .note("the Secret Service connection and its DH session, the HTTP client, the state; no item read (restore, 2a, reads)"),
        );
    }

    if !skip("herd") {
        let rounds = n(5, 2);
        progress(&format!(
            "4. thundering herd: {rounds} rounds of 1,000 tokens() at expiry"
        ));
        let h = measure::herd(&rig, rounds, 1000).await?;
        let all_one = h.refreshes_per_round.iter().all(|r| *r == 1);
        rows.push(
            Row::new(
                "4",
                "Herd: 1,000 concurrent `tokens()` at expiry, caller latency",
            )
            .samples(&h.latency)
            .note(format!(
                "refresh requests at the provider per round: {:?} ({}); failed calls: {}",
                h.refreshes_per_round,
                if all_one { "exactly 1 each" } else { "NOT 1" },
                h.failures
            )),
        );
    }

    rows.sort_by_key(|r| section_order(&r.id));
    Ok((rows, targets))
}

/// `a / b` of two medians.
fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(f64::MIN_POSITIVE)
}

/// Median of some byte counts.
fn median_bytes(mut v: Vec<u64>) -> u64 {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// Section 6: the app against the hello-world, launched alternately.
async fn app_rows(
    args: &Args,
    rig: &Rig,
    scratch: &std::path::Path,
    launches: usize,
    rows: &mut Vec<Row>,
    targets: &mut [Target],
) {
    if !args.app.exists() {
        rows.push(Row::new("6", "App").note(format!(
            "{} not built (cargo build --release -p latchkey)",
            args.app.display()
        )));
        return;
    }
    let hello = args.hello.exists().then_some(args.hello.as_path());
    progress(&format!(
        "6. the app{}: {launches} launches each under Xvfb",
        if hello.is_some() {
            " and the hello-world"
        } else {
            ""
        }
    ));
    let a = match measure::app(rig, &args.app, hello, scratch, launches).await {
        Ok(a) => a,
        Err(e) => {
            rows.push(Row::new("6", "App").note(format!("failed: {e}")));
            return;
        }
    };
    let paint = |l: &[latchkey_bench::app::AppLaunch]| {
        Samples::from_vec(l.iter().map(|l| l.first_paint).collect())
    };
    let pss = |l: &[latchkey_bench::app::AppLaunch]| {
        median_bytes(l.iter().map(|l| l.memory.pss).collect())
    };
    let rss = |l: &[latchkey_bench::app::AppLaunch]| {
        median_bytes(l.iter().map(|l| l.memory.rss).collect())
    };
    let by_process = |l: &[latchkey_bench::app::AppLaunch]| {
        l.last()
            .map(|l| {
                l.by_process
                    .iter()
                    .map(|(name, m)| format!("{name} {}", fmt_bytes(m.pss)))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let fp = paint(&a.launches);
    let restored: Vec<Duration> = a.launches.iter().filter_map(|l| l.restored).collect();
    let restored_n = restored.len();
    rows.push(
        Row::new("6a", "App: process start → first paint (Xvfb)")
            .samples(&fp)
            .note("`first paint` log line (UI called `ui_ready`)"),
    );
    rows.push(
        Row::new("6b", "App: process start → session restored")
            .samples(&Samples::from_vec(restored))
            .note(format!(
                "core's `signed_in` state line; seen in {restored_n}/{} launches",
                a.launches.len()
            )),
    );
    rows.push(
        Row::new("6c", "App: PSS at idle, signed in (all processes)")
            .median(fmt_bytes(pss(&a.launches)))
            .n(a.launches.len())
            .note(format!(
                "3 s after paint; RSS {}; last launch: {}",
                fmt_bytes(rss(&a.launches)),
                by_process(&a.launches)
            )),
    );
    rows.push(
        Row::new("6d", "App: stripped release binary (latchkey-app)")
            .median(fmt_bytes(a.binary_size))
            .note("profile.release"),
    );
    if a.hello.is_empty() {
        rows.push(Row::new("6e", "Hello-world").note(format!(
            "{} not built (cargo build --release -p latchkey-hello)",
            args.hello.display()
        )));
        return;
    }
    let hp = paint(&a.hello);
    rows.push(
        Row::new("6e", "Hello-world: process start → first paint (Xvfb)")
            .samples(&hp)
            .note("same Tauri features, window and ui/; launched alternately with the app"),
    );
    rows.push(
        Row::new("6f", "Hello-world: PSS at idle (all processes)")
            .median(fmt_bytes(pss(&a.hello)))
            .n(a.hello.len())
            .note(format!(
                "RSS {}; last launch: {}",
                fmt_bytes(rss(&a.hello)),
                by_process(&a.hello)
            )),
    );
    let mem = pss(&a.launches) as f64 / pss(&a.hello).max(1) as f64;
    Target::record(
        targets,
        5,
        fmt_bytes(pss(&a.launches)),
        format!("{} (hello-world)", fmt_bytes(pss(&a.hello))),
        format!("×{mem:.2}"),
        mem <= 1.05,
    );
    let paint_ratio = ratio(fp.median(), hp.median());
    Target::record(
        targets,
        6,
        fmt_duration(fp.median()),
        format!("{} (hello-world)", fmt_duration(hp.median())),
        format!("×{paint_ratio:.2}"),
        paint_ratio <= 1.1,
    );
}

/// Table order: by section number, the floor after section 1's parts.
fn section_order(id: &str) -> (u32, String) {
    let major = match id.chars().next() {
        Some('F') => 1,
        Some(c) => c.to_digit(10).unwrap_or(9),
        None => 9,
    };
    let minor = if id == "F" {
        "y".to_string()
    } else {
        id.to_string()
    };
    (major, minor)
}
