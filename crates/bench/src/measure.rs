//! The measurements behind the table, one function per section of issue 8. Each returns raw
//! samples; `main.rs` turns them into rows.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey_core::internals::{self, decode_jwt, Provider};
use latchkey_core::{Clock, Session, SessionState, SignInOptions, Vault};

use crate::app::{self, AppEnv, AppLaunch};
use crate::flow::{self, core_like_client, BenchResult, HttpBrowser, Rig};
use crate::junk::{JunkPlan, JunkReport};
use crate::stats::Samples;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Sign in through `session` (its browser must be `browser`) and return callback → SignedIn.
async fn timed_sign_in(session: &Session, browser: &HttpBrowser) -> BenchResult<Duration> {
    let result = session.sign_in(SignInOptions::default()).await;
    let end = Instant::now();
    let errors = browser.take_errors();
    result.map_err(|e| format!("sign-in failed: {e} (browser: {errors:?})"))?;
    if !matches!(session.state(), SessionState::SignedIn { .. }) {
        return Err(format!("sign-in ended in state {}", session.state().name()));
    }
    let sent = browser
        .take_callback_sent()
        .ok_or("the browser never sent the callback")?;
    Ok(end.saturating_duration_since(sent))
}

// ---- 1. sign-in overhead and its parts ----

pub struct SignIn {
    /// Callback request sent → `sign_in()` returned `SignedIn` (warm session).
    pub total: Samples,
    /// The same for the first sign-in of a new `Session` (JWKS fetch, new connection).
    pub first: Samples,
}

pub async fn sign_in(rig: &Rig, runs: usize, fresh_runs: usize) -> BenchResult<SignIn> {
    let browser = HttpBrowser::new();
    let session = rig.session(Arc::new(browser.clone()))?;
    let mut total = Samples::new();
    for i in 0..runs + 5 {
        let d = timed_sign_in(&session, &browser).await?;
        if i >= 5 {
            total.push(d);
        }
    }
    let mut first = Samples::new();
    for _ in 0..fresh_runs {
        let browser = HttpBrowser::new();
        let session = rig.session(Arc::new(browser.clone()))?;
        first.push(timed_sign_in(&session, &browser).await?);
    }
    Ok(SignIn { total, first })
}

/// The parts of a sign-in after the callback, each timed on its own with core's public pieces.
pub struct Parts {
    pub exchange: Samples,
    pub verify_id: Samples,
    pub verify_access: Samples,
    /// `load_session` (what restore reads).
    pub keychain_read: Samples,
    /// `store_newer_session` (what a sign-in writes: stored generation, write, read-back).
    pub keychain_write: Samples,
    /// One Secret Service item written with the same bytes (the floor's keychain write).
    pub floor_write: Samples,
    /// exchange + verify_id of the same run (what the peer does).
    pub exchange_verify: Samples,
    /// The provider's own time per code exchange (devidp's counter, mean over the runs).
    pub provider_share: Option<Duration>,
    /// Bytes core stores per session, and in how many keychain items.
    pub stored_bytes: usize,
    pub id_token: String,
    pub access_token: String,
    pub nonce: String,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> BenchResult<T> + Send + 'static,
) -> BenchResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(err)?
}

fn floor_store() -> BenchResult<Arc<keyring_core::CredentialStore>> {
    #[cfg(all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ))]
    {
        Ok(zbus_secret_service_keyring_store::Store::new().map_err(err)?)
    }
    #[cfg(not(all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    )))]
    {
        Err("the floor's keychain write is measured on Linux (Secret Service) only".into())
    }
}

/// The provider's own time answering code exchanges between two points of a run, from
/// devidp's counters: what a client cannot shorten, taken out of rows 1x and 7a to compare the
/// clients' own share (BENCHMARKS.md, row 3).
#[derive(Default)]
pub struct ProviderTime {
    micros: u64,
    exchanges: u64,
}

impl ProviderTime {
    pub fn start(rig: &Rig) -> ProviderTime {
        let s = rig.idp.stats();
        ProviderTime {
            micros: s.token_handling_micros,
            exchanges: s.token_authorization_code,
        }
    }

    /// The mean time per code exchange since [`ProviderTime::start`] (`None`: none happened).
    pub fn per_exchange(&self, rig: &Rig) -> Option<Duration> {
        let s = rig.idp.stats();
        let exchanges = s.token_authorization_code.checked_sub(self.exchanges)?;
        let micros = s.token_handling_micros.checked_sub(self.micros)?;
        (exchanges > 0).then(|| Duration::from_micros(micros / exchanges))
    }
}

pub async fn parts(rig: &Rig, runs: usize) -> BenchResult<Parts> {
    let provider = rig.provider()?;
    let http = core_like_client();
    let client_id = rig.profile.client_id.clone();
    let account = format!("{}#bench-parts", rig.profile.keychain_account());
    let floor_account = format!("{}#bench-floor", rig.profile.keychain_account());
    let store = floor_store()?;
    let service = rig.vault.service().to_owned();
    let mut p = Parts {
        exchange: Samples::new(),
        verify_id: Samples::new(),
        verify_access: Samples::new(),
        keychain_read: Samples::new(),
        keychain_write: Samples::new(),
        floor_write: Samples::new(),
        exchange_verify: Samples::new(),
        provider_share: None,
        stored_bytes: 0,
        id_token: String::new(),
        access_token: String::new(),
        nonce: String::new(),
    };
    let warm = 5;
    let mut provider_time = ProviderTime::default();
    for i in 0..warm + runs {
        if i == warm {
            provider_time = ProviderTime::start(rig);
        }
        let (code, req) = flow::fresh_code(rig, &provider, &http).await?;
        let t0 = Instant::now();
        let tokens = flow::exchange(&http, &provider, &client_id, &code, &req).await?;
        let t1 = Instant::now();
        let now = rig.clock.now();
        internals::verify_sign_in_id_token(
            &provider,
            &rig.profile,
            &tokens.id_token,
            now,
            Some(req.nonce.expose()),
            Some(&tokens.access_token),
        )
        .await
        .map_err(err)?;
        let t2 = Instant::now();
        internals::verify_access_token(&provider, &rig.profile, &tokens.access_token, now)
            .await
            .map_err(err)?;
        let t3 = Instant::now();
        let stored = stored_session(&provider, &rig.profile, &tokens, i as u64 + 1, now)?;
        let blob = serde_json::to_vec(&stored).map_err(err)?;
        // A keychain read as restore does it, then the write as core's redeem does it (the
        // stored generation read, the write, the read-back, in one pass), each off the async
        // threads.
        let (vault, acc) = (rig.vault.clone(), account.clone());
        let t4 = Instant::now();
        blocking(move || internals::load_session(&vault, &acc).map_err(err)).await?;
        let t5 = Instant::now();
        let (vault, acc) = (rig.vault.clone(), account.clone());
        blocking(move || {
            internals::store_newer_session(&vault, &acc, &stored)
                .map(drop)
                .map_err(err)
        })
        .await?;
        let t6 = Instant::now();
        let (store2, svc, facc, blob2) = (
            store.clone(),
            service.clone(),
            floor_account.clone(),
            blob.clone(),
        );
        blocking(move || {
            store2
                .build(&svc, &facc, None)
                .and_then(|e| e.set_secret(&blob2))
                .map_err(err)
        })
        .await?;
        let t7 = Instant::now();
        if i >= warm {
            p.exchange.push(t1 - t0);
            p.verify_id.push(t2 - t1);
            p.verify_access.push(t3 - t2);
            p.exchange_verify.push(t2 - t0);
            p.keychain_read.push(t5 - t4);
            p.keychain_write.push(t6 - t5);
            p.floor_write.push(t7 - t6);
        }
        p.stored_bytes = blob.len();
        p.id_token = tokens.id_token;
        p.access_token = tokens.access_token;
        p.nonce = req.nonce.expose().to_owned();
    }
    p.provider_share = provider_time.per_exchange(rig);
    // Leave nothing behind in the keychain.
    let (vault, acc) = (rig.vault.clone(), account.clone());
    let _ = blocking(move || internals::delete(&vault, &acc).map_err(err)).await;
    let _ = blocking(move || {
        store
            .build(&service, &floor_account, None)
            .and_then(|e| e.delete_credential())
            .map_err(err)
    })
    .await;
    Ok(p)
}

// ---- 3. verification per token (single calls; criterion has its own bench) ----

pub async fn verify_calls(rig: &Rig, parts: &Parts, runs: usize) -> BenchResult<Samples> {
    let provider: Provider = rig.provider()?;
    let now = rig.clock.now();
    let verify = || {
        internals::verify_sign_in_id_token(
            &provider,
            &rig.profile,
            &parts.id_token,
            now,
            Some(&parts.nonce),
            Some(&parts.access_token),
        )
    };
    verify().await.map_err(err)?;
    let mut s = Samples::new();
    for i in 0..runs + 200 {
        let t = Instant::now();
        verify().await.map_err(err)?;
        if i >= 200 {
            s.push(t.elapsed());
        }
    }
    Ok(s)
}

/// Criterion's figures for one benchmark: the median of per-iteration sample means, and the
/// 99th percentile of those means.
pub fn criterion_result(dir: &Path, id: &str) -> Option<(Duration, Duration, usize)> {
    let base = dir.join(id).join("new");
    let est: serde_json::Value =
        serde_json::from_slice(&std::fs::read(base.join("estimates.json")).ok()?).ok()?;
    let median = est.get("median")?.get("point_estimate")?.as_f64()?;
    let sample: serde_json::Value =
        serde_json::from_slice(&std::fs::read(base.join("sample.json")).ok()?).ok()?;
    let iters = sample.get("iters")?.as_array()?;
    let times = sample.get("times")?.as_array()?;
    let per_iter: Vec<Duration> = iters
        .iter()
        .zip(times)
        .filter_map(|(n, t)| Some(Duration::from_nanos((t.as_f64()? / n.as_f64()?) as u64)))
        .collect();
    let total_iters: f64 = iters.iter().filter_map(|n| n.as_f64()).sum();
    let s = Samples::from_vec(per_iter);
    Some((
        Duration::from_nanos(median as u64),
        s.p99(),
        total_iters as usize,
    ))
}

// ---- 2. restore ----

pub struct Restore {
    pub valid: Samples,
    pub refresh: Samples,
    /// `Vault::system()`: a new Secret Service connection (D-Bus + DH session).
    pub connect: Samples,
    /// `Session::new()` (no keychain I/O).
    pub new_session: Samples,
}

pub async fn restore(rig: &Rig, valid_runs: usize, refresh_runs: usize) -> BenchResult<Restore> {
    // A fresh saved session at the rig's current time.
    let browser = HttpBrowser::new();
    let session = rig.session(Arc::new(browser.clone()))?;
    timed_sign_in(&session, &browser).await?;
    drop(session);
    let service = rig.vault.service().to_owned();
    let mut r = Restore {
        valid: Samples::new(),
        refresh: Samples::new(),
        connect: Samples::new(),
        new_session: Samples::new(),
    };
    for i in 0..valid_runs + 3 {
        let svc = service.clone();
        let t0 = Instant::now();
        let vault = blocking(move || Ok(Vault::system_with_service(&svc))).await?;
        let t1 = Instant::now();
        let profile = rig.profile.clone();
        let mut options = rig.options(Arc::new(latchkey_core::NoBrowser));
        options.vault = vault;
        let session = blocking(move || Session::new(profile, options).map_err(err)).await?;
        let t2 = Instant::now();
        let before = rig.idp.stats().token_refresh_token;
        let state = session.restore().await.map_err(err)?;
        let t3 = Instant::now();
        if !matches!(state, SessionState::SignedIn { .. }) {
            return Err(format!("restore ended in {}", state.name()));
        }
        if rig.idp.stats().token_refresh_token != before {
            return Err("restore with a valid ID token refreshed".into());
        }
        if i >= 3 {
            r.connect.push(t1 - t0);
            r.new_session.push(t2 - t1);
            r.valid.push(t3 - t2);
        }
    }
    for i in 0..refresh_runs + 2 {
        rig.advance(3600);
        let session = rig.session(Arc::new(latchkey_core::NoBrowser))?;
        let before = rig.idp.stats().token_refresh_token;
        let t0 = Instant::now();
        let state = session.restore().await.map_err(err)?;
        let t1 = Instant::now();
        if !matches!(state, SessionState::SignedIn { .. }) {
            return Err(format!("restore with refresh ended in {}", state.name()));
        }
        let after = rig.idp.stats().token_refresh_token;
        if after != before + 1 {
            return Err(format!(
                "restore with an expired ID token made {} refresh requests",
                after - before
            ));
        }
        if i >= 2 {
            r.refresh.push(t1 - t0);
        }
    }
    Ok(r)
}

// ---- 4. thundering herd ----

pub struct Herd {
    pub latency: Samples,
    pub refreshes_per_round: Vec<u64>,
    pub failures: usize,
    pub callers: usize,
}

pub async fn herd(rig: &Rig, rounds: usize, callers: usize) -> BenchResult<Herd> {
    let browser = HttpBrowser::new();
    let session = rig.session(Arc::new(browser.clone()))?;
    timed_sign_in(&session, &browser).await?;
    let mut h = Herd {
        latency: Samples::new(),
        refreshes_per_round: vec![],
        failures: 0,
        callers,
    };
    for _ in 0..rounds {
        rig.advance(3600);
        let before = rig.idp.stats().token_refresh_token;
        let (go_tx, go_rx) = tokio::sync::watch::channel(None::<Instant>);
        let ready = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..callers {
            let s = session.clone();
            let mut rx = go_rx.clone();
            let ready = ready.clone();
            tasks.spawn(async move {
                ready.fetch_add(1, Ordering::SeqCst);
                let go = match rx.wait_for(|g| g.is_some()).await {
                    Ok(g) => g.expect("set"),
                    Err(_) => return (Duration::ZERO, false),
                };
                let ok = s.tokens().await.is_ok();
                (go.elapsed(), ok)
            });
        }
        while ready.load(Ordering::SeqCst) < callers {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let _ = go_tx.send(Some(Instant::now()));
        while let Some(r) = tasks.join_next().await {
            let (d, ok) = r.map_err(err)?;
            h.latency.push(d);
            if !ok {
                h.failures += 1;
            }
        }
        h.refreshes_per_round
            .push(rig.idp.stats().token_refresh_token - before);
    }
    Ok(h)
}

// ---- 5. listener under junk ----

pub struct Junk {
    pub baseline: Samples,
    pub with_junk: Samples,
    pub runs: usize,
    pub completed: usize,
    pub reports: Vec<JunkReport>,
    pub callback_statuses: Vec<u16>,
}

pub async fn junk(rig: &Rig, runs: usize, plan: JunkPlan) -> BenchResult<Junk> {
    let calm = HttpBrowser::new();
    let calm_session = rig.session(Arc::new(calm.clone()))?;
    let noisy = HttpBrowser::with_junk(plan);
    let noisy_session = rig.session(Arc::new(noisy.clone()))?;
    // Warm both sessions (JWKS, connections).
    timed_sign_in(&calm_session, &calm).await?;
    let mut j = Junk {
        baseline: Samples::new(),
        with_junk: Samples::new(),
        runs,
        completed: 0,
        reports: vec![],
        callback_statuses: vec![],
    };
    for _ in 0..runs {
        j.baseline.push(timed_sign_in(&calm_session, &calm).await?);
        match timed_sign_in(&noisy_session, &noisy).await {
            Ok(d) => {
                j.completed += 1;
                j.with_junk.push(d);
            }
            Err(e) => eprintln!("latchkey-bench: sign-in under junk failed: {e}"),
        }
        // The junk finishes on its own (bounded); collect its report.
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Some(r) = noisy.take_junk_report() {
                j.reports.push(r);
                break;
            }
            if Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if let Some(s) = noisy.take_callback_status() {
            j.callback_statuses.push(s);
        }
    }
    Ok(j)
}

// ---- 6. the app, against the hello-world baseline ----

pub struct App {
    pub launches: Vec<AppLaunch>,
    /// The hello-world's launches, interleaved with the app's.
    pub hello: Vec<AppLaunch>,
    pub binary_size: u64,
}

/// Writes a config with the rig's profile (the app's and the CLI's) and saves a valid session
/// for it; returns the config's path.
pub async fn signed_in_config(rig: &Rig, scratch: &Path) -> BenchResult<PathBuf> {
    let config_path = scratch.join("app-config.toml");
    let mut config = latchkey_core::Config::empty(&config_path);
    config.insert(rig.profile.clone());
    config.default = Some(rig.profile.name.clone());
    config.save_to(&config_path).map_err(err)?;
    let browser = HttpBrowser::new();
    let session = rig.session(Arc::new(browser.clone()))?;
    timed_sign_in(&session, &browser).await?;
    Ok(config_path)
}

/// Launches the app (signed in: a valid session is saved for its profile) and the hello-world
/// `launches` times each, alternately.
pub async fn app(
    rig: &Rig,
    binary: &Path,
    hello: Option<&Path>,
    scratch: &Path,
    launches: usize,
) -> BenchResult<App> {
    let config = signed_in_config(rig, scratch).await?;
    let env = |binary: &Path, restores: bool| {
        Arc::new(AppEnv {
            binary: binary.to_path_buf(),
            restores,
            config: config.clone(),
            data_home: scratch.join("app-data"),
            keychain_service: rig.vault.service().to_owned(),
        })
    };
    std::fs::create_dir_all(scratch.join("app-data")).map_err(err)?;
    let app_env = env(binary, true);
    let hello_env = hello.map(|h| env(h, false));
    let mut out = App {
        launches: vec![],
        hello: vec![],
        binary_size: std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0),
    };
    for _ in 0..launches {
        let e = app_env.clone();
        out.launches.push(
            blocking(move || app::launch(&e, Duration::from_secs(3), Duration::from_secs(60)))
                .await?,
        );
        if let Some(e) = hello_env.clone() {
            out.hello.push(
                blocking(move || app::launch(&e, Duration::from_secs(3), Duration::from_secs(60)))
                    .await?,
            );
        }
    }
    Ok(out)
}

// ---- 8. `latchkey token` as a whole process, against `secret-tool lookup` ----

pub struct CliToken {
    /// `latchkey token`: process start → exit, a valid ID token cached in the keychain.
    pub token: Samples,
    /// `secret-tool lookup` of the same keychain item: process start → exit.
    pub lookup: Samples,
}

/// Times `latchkey token` (the CLI at `cli`, on the rig's profile and keychain service, with
/// a valid session saved) and `secret-tool lookup` of the same item, alternately.
pub async fn cli_token(
    rig: &Rig,
    cli: &Path,
    scratch: &Path,
    runs: usize,
) -> BenchResult<CliToken> {
    let config = signed_in_config(rig, scratch).await?;
    let service = rig.vault.service().to_owned();
    let account = rig.profile.keychain_account();
    let refreshes = rig.idp.stats().token_refresh_token;
    let cli = cli.to_path_buf();
    let result = blocking(move || {
        let run = |cmd: &mut std::process::Command, what: &str| -> BenchResult<Duration> {
            let t = Instant::now();
            let out = cmd
                .stdin(std::process::Stdio::null())
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
        };
        let token = || {
            let mut c = std::process::Command::new(&cli);
            c.arg("token")
                .env("LATCHKEY_CONFIG", &config)
                .env("LATCHKEY_KEYCHAIN_SERVICE", &service)
                .env_remove("LATCHKEY_LOG");
            c
        };
        let lookup = || {
            let mut c = std::process::Command::new("secret-tool");
            c.args(["lookup", "service", &service, "username", &account]);
            c
        };
        let mut r = CliToken {
            token: Samples::new(),
            lookup: Samples::new(),
        };
        for i in 0..runs + 3 {
            let t = run(&mut token(), "latchkey token")?;
            let l = run(&mut lookup(), "secret-tool lookup")?;
            if i >= 3 {
                r.token.push(t);
                r.lookup.push(l);
            }
        }
        Ok(r)
    })
    .await?;
    if rig.idp.stats().token_refresh_token != refreshes {
        return Err("`latchkey token` refreshed: the cached ID token was meant to be valid".into());
    }
    Ok(result)
}

// ---- 7. the peer ----

pub struct Peer {
    pub exchange_verify: Samples,
    /// The provider's own time per code exchange during the peer's run (its warm-up included).
    pub provider_share: Option<Duration>,
    pub verify: Samples,
    pub versions: String,
}

pub async fn peer(rig: &Rig, dir: &Path, runs: usize, verify_runs: usize) -> BenchResult<Peer> {
    let script: PathBuf = dir.join("peer.mjs");
    if !dir.join("node_modules").join("openid-client").exists() {
        return Err(format!(
            "openid-client is not installed in {} (run `npm ci` there)",
            dir.display()
        ));
    }
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(&script)
        .current_dir(dir)
        .env("PEER_ISSUER", rig.idp.issuer())
        .env("PEER_CLIENT_ID", rig.idp.client_id())
        .env("PEER_REDIRECT_URI", rig.redirect_uri())
        .env("PEER_USERNAME", latchkey_devidp::DEMO_USERNAME)
        .env("PEER_PASSWORD", latchkey_devidp::DEMO_PASSWORD)
        .env("PEER_RUNS", runs.to_string())
        .env("PEER_VERIFY_RUNS", verify_runs.to_string())
        .kill_on_drop(true);
    let provider_time = ProviderTime::start(rig);
    let out = tokio::time::timeout(Duration::from_secs(180), cmd.output())
        .await
        .map_err(|_| "the peer did not finish within 180 s".to_string())?
        .map_err(|e| format!("could not run node: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the peer failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(err)?;
    let samples = |k: &str| {
        Samples::from_vec(
            v.get(k)
                .and_then(|a| a.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|n| n.as_f64())
                        .map(|n| Duration::from_nanos(n as u64))
                        .collect()
                })
                .unwrap_or_default(),
        )
    };
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("?").to_owned();
    Ok(Peer {
        exchange_verify: samples("exchange_verify_ns"),
        provider_share: provider_time.per_exchange(rig),
        verify: samples("verify_ns"),
        versions: format!(
            "openid-client {}, jose {}, Node {}",
            s("openid_client"),
            s("jose"),
            s("node")
        ),
    })
}

// ---- loops for profilers (perf, dbus-monitor); not part of the table ----

/// `runs` × core's chunked keychain write, a pause, then `runs` × one single-item write of the
/// same bytes: run it under `dbus-monitor --profile` or `perf record -a` to see where the time
/// goes. Returns (core write, single item write).
pub async fn keychain_loop(rig: &Rig, runs: usize) -> BenchResult<(Samples, Samples)> {
    let p = parts(rig, 1).await?;
    let provider = rig.provider()?;
    let tokens = flow::TokenSet {
        id_token: p.id_token.clone(),
        access_token: p.access_token.clone(),
        refresh_token: Some("r".repeat(1700)),
    };
    let stored = stored_session(&provider, &rig.profile, &tokens, 1, rig.clock.now())?;
    let blob = serde_json::to_vec(&stored).map_err(err)?;
    let account = format!("{}#bench-loop", rig.profile.keychain_account());
    let service = rig.vault.service().to_owned();
    let (vault, acc, s2) = (rig.vault.clone(), account.clone(), stored.clone());
    let core = blocking(move || {
        let mut s = Samples::new();
        for _ in 0..runs {
            let t = Instant::now();
            internals::store_session(&vault, &acc, &s2).map_err(err)?;
            s.push(t.elapsed());
        }
        internals::delete(&vault, &acc).map_err(err)?;
        Ok(s)
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let store = floor_store()?;
    let single = blocking(move || {
        let entry = store.build(&service, &account, None).map_err(err)?;
        let mut s = Samples::new();
        for _ in 0..runs {
            let t = Instant::now();
            entry.set_secret(&blob).map_err(err)?;
            s.push(t.elapsed());
        }
        let _ = entry.delete_credential();
        Ok(s)
    })
    .await?;
    Ok((core, single))
}

/// `runs` × `verify_id_token` on one token (JWKS cached), for `perf record`.
pub async fn verify_loop(rig: &Rig, runs: usize) -> BenchResult<Samples> {
    let provider = rig.provider()?;
    let http = core_like_client();
    let (code, req) = flow::fresh_code(rig, &provider, &http).await?;
    let tokens = flow::exchange(&http, &provider, &rig.profile.client_id, &code, &req).await?;
    let now = rig.clock.now();
    let mut s = Samples::new();
    for _ in 0..runs {
        let t = Instant::now();
        internals::verify_sign_in_id_token(
            &provider,
            &rig.profile,
            &tokens.id_token,
            now,
            Some(req.nonce.expose()),
            Some(&tokens.access_token),
        )
        .await
        .map_err(err)?;
        s.push(t.elapsed());
    }
    Ok(s)
}

/// The keychain form of a session with `tokens`, as core stores it after a sign-in.
fn stored_session(
    provider: &Provider,
    profile: &latchkey_core::Profile,
    tokens: &flow::TokenSet,
    generation: u64,
    now: i64,
) -> BenchResult<internals::StoredSession> {
    let jwt = decode_jwt(&tokens.id_token).map_err(err)?;
    let exp = jwt.claim_time("exp").ok_or("the ID token has no exp")?;
    serde_json::from_value(serde_json::json!({
        "version": 1,
        "generation": generation,
        "refresh_token": tokens.refresh_token,
        "refresh_stored_since": now,
        "id_token": tokens.id_token,
        "access_token": tokens.access_token,
        "id_expires_at": exp,
        "access_expires_at": exp,
        "id_issued_at": jwt.claim_time("iat"),
        "id_renewable": true,
        "issuer": provider.metadata.issuer,
        "client_id": profile.client_id,
        "sub": jwt.claim_str("sub").unwrap_or_default(),
        "aud": jwt.audiences_lenient(),
    }))
    .map_err(err)
}

// ---- 8. `latchkey aws credentials` as a whole process, against its floor ----

pub struct AwsProcess {
    /// `latchkey aws credentials` with cached credentials: spawn → exit.
    pub cli: Samples,
    /// `keychain-read-floor`: spawn → one Secret Service item read → exit.
    pub floor: Samples,
    /// Bytes of the credentials entry (the floor reads an item of this size).
    pub stored_bytes: usize,
}

/// Signs in with an identity pool, lets the CLI fetch once, then runs `cli aws credentials`
/// and the floor process `runs` times each, alternately (both with the environment the CLI
/// would have: the rig's keychain service, a profiles file in `scratch`).
pub async fn aws_process(
    rig: &Rig,
    cli: &Path,
    floor: &Path,
    scratch: &Path,
    runs: usize,
) -> BenchResult<AwsProcess> {
    let pool = rig
        .idp
        .identity_pool()
        .ok_or("the rig has no identity pool")?;
    let endpoint = rig.idp.identity_endpoint().ok_or("no identity endpoint")?;
    let mut profile = rig.profile.clone();
    profile.name = "BenchAws".into();
    profile.aws = Some(latchkey_core::IdentityPoolSettings {
        identity_pool_id: pool.identity_pool_id,
        identity_endpoint: Some(url::Url::parse(&endpoint).map_err(err)?),
        ..Default::default()
    });
    let config_path = scratch.join("aws-config.toml");
    let mut config = latchkey_core::Config::empty(&config_path);
    config.insert(profile.clone());
    config.default = Some(profile.name.clone());
    config.save().map_err(err)?;
    let browser = HttpBrowser::new();
    let session =
        Session::new(profile.clone(), rig.options(Arc::new(browser.clone()))).map_err(err)?;
    timed_sign_in(&session, &browser).await?;
    drop(session);

    let service = rig.vault.service().to_owned();
    let run_cli = {
        let (cli, config_path, service) = (cli.to_owned(), config_path.clone(), service.clone());
        move || -> BenchResult<Duration> {
            let t = Instant::now();
            let out = std::process::Command::new(&cli)
                .args(["aws", "credentials"])
                .env("LATCHKEY_CONFIG", &config_path)
                .env("LATCHKEY_KEYCHAIN_SERVICE", &service)
                .env_remove("LATCHKEY_PROFILE")
                .stdin(std::process::Stdio::null())
                .output()
                .map_err(|e| format!("{}: {e}", cli.display()))?;
            let elapsed = t.elapsed();
            if !out.status.success()
                || !String::from_utf8_lossy(&out.stdout).contains("AccessKeyId")
            {
                return Err(format!(
                    "`latchkey aws credentials` failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            Ok(elapsed)
        }
    };
    // The first run fetches (not counted); every later one finds them in the keychain.
    blocking({
        let run = run_cli.clone();
        move || run().map(|_| ())
    })
    .await?;
    let fetched = rig.idp.stats().identity_get_credentials;
    let account = latchkey_core::internals::aws_account(&profile);
    let blob = internals::get_bytes(&rig.vault, &account)
        .map_err(err)?
        .ok_or("the CLI stored no credentials")?;
    let floor_account = format!("{account}#bench-floor");
    let store = floor_store()?;
    {
        let entry = store.build(&service, &floor_account, None).map_err(err)?;
        entry.set_secret(&blob).map_err(err)?;
    }
    let run_floor = {
        let (floor, service, account) = (floor.to_owned(), service.clone(), floor_account.clone());
        move || -> BenchResult<Duration> {
            let t = Instant::now();
            let out = std::process::Command::new(&floor)
                .args([&service, &account])
                .stdin(std::process::Stdio::null())
                .output()
                .map_err(|e| format!("{}: {e}", floor.display()))?;
            let elapsed = t.elapsed();
            if !out.status.success() {
                return Err(format!(
                    "the floor process failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            Ok(elapsed)
        }
    };
    let measured = blocking(move || {
        let (mut cli, mut floor) = (Samples::new(), Samples::new());
        for i in 0..runs + 3 {
            let (c, f) = (run_cli()?, run_floor()?);
            if i >= 3 {
                cli.push(c);
                floor.push(f);
            }
        }
        Ok((cli, floor))
    })
    .await;
    let _ = store
        .build(&service, &floor_account, None)
        .and_then(|e| e.delete_credential());
    let (cli, floor) = measured?;
    if rig.idp.stats().identity_get_credentials != fetched {
        return Err("a cached run asked the identity pool again".into());
    }
    Ok(AwsProcess {
        cli,
        floor,
        stored_bytes: blob.len(),
    })
}
