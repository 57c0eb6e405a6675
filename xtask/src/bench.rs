//! `cargo xtask bench`: Latchkey's benchmarks, printed as one table (see BENCHMARKS.md).
//!
//! Steps: prerequisites (Debian packages, the peer's npm packages) → release builds of the app,
//! its hello-world baseline, the CLI, the `.deb` and the bench binary (timed, not counted) →
//! criterion's per-token verification bench → `latchkey-bench` inside the sandbox (private
//! D-Bus session, unlocked gnome-keyring, Xvfb), which measures everything else, runs the
//! peer, the app, the baseline and the CLI, and prints the targets of issue 17 and the table.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::machine::Machine;
use crate::prereq::{self, Sandbox};
use crate::{bundle, cargo, project_root};

const HELP: &str = "\
cargo xtask bench [--quick] [--skip LIST] [--out FILE]

    --quick       fewer runs (a smoke test, a minute or so; not for BENCHMARKS.md)
    --skip LIST   sections to leave out: signin,verify,peer,junk,app,cli,aws,restore,herd,agent,criterion
    --out FILE    also write the table to FILE

Builds the release app, its hello-world baseline, the CLI, the .deb and the bench binary first
(not counted in the run time), then runs every measurement (under 10 minutes on a 2-core
machine) and prints the targets of issue 17 and one table.";

fn run(what: &str, cmd: &mut Command) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("could not run {what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

pub fn bench(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{HELP}");
        return Ok(());
    }
    let root = project_root();
    let skip: Vec<String> = args
        .iter()
        .position(|a| a == "--skip")
        .and_then(|i| args.get(i + 1))
        .map(|l| l.split(',').map(|s| s.trim().to_owned()).collect())
        .unwrap_or_default();
    let quick = args.iter().any(|a| a == "--quick");

    prereq::ensure_debian_packages("building the app", prereq::APP_PACKAGES)?;
    prereq::ensure_debian_packages(
        "the keychain and display sandbox",
        &["xvfb", "xauth", "dbus", "gnome-keyring", "libsecret-tools"],
    )?;
    let peer_dir = root.join("benches").join("peer");
    if !skip.iter().any(|s| s == "peer") {
        prereq::ensure_npm_packages(&peer_dir)?;
    }

    let build_started = Instant::now();
    // The app exactly as `tauri build` compiles it (production assets, so `tauri build` below
    // finds it built), and the hello-world baseline in the same invocation: one feature
    // resolution, so the two share every Tauri artifact.
    println!(
        "xtask: cargo build --release -p latchkey -p latchkey-hello --bins --features tauri/custom-protocol"
    );
    run(
        "the release build of the app and the hello-world",
        Command::new(cargo())
            .args([
                "build",
                "--release",
                "-p",
                "latchkey",
                "-p",
                "latchkey-hello",
                "--bins",
                "--features",
                "tauri/custom-protocol",
            ])
            .current_dir(&root),
    )?;
    // The CLI and the package users install (row 7 reports its size).
    let deb = bundle::package(&root, "deb", false, bundle::Build::Release)?
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .ok_or("the bundler built no .deb")?;
    // The bench binaries (with the floor process) and the criterion bench in one invocation
    // (one feature set, release settings through the bench profile). The criterion executable is then run directly, so
    // the measurements never wait on cargo's build lock.
    println!("xtask: cargo bench -p latchkey-bench --bench verify --no-run");
    let out = Command::new(cargo())
        .args([
            "bench",
            "-p",
            "latchkey-bench",
            "--bench",
            "verify",
            "--no-run",
        ])
        .current_dir(&root)
        .stderr(std::process::Stdio::piped())
        .output()
        .map_err(|e| format!("could not run cargo bench: {e}"))?;
    let log = String::from_utf8_lossy(&out.stderr);
    eprint!("{log}");
    if !out.status.success() {
        return Err(format!(
            "the release build of latchkey-bench failed ({})",
            out.status
        ));
    }
    let criterion_exe = log
        .lines()
        .filter(|l| l.contains("Executable") && l.contains("verify"))
        .find_map(|l| {
            let start = l.rfind('(')? + 1;
            let end = l.rfind(')')?;
            Some(root.join(&l[start..end]))
        })
        .ok_or("cargo bench --no-run did not name the criterion executable")?;
    let build_secs = build_started.elapsed().as_secs_f64();

    let run_started = Instant::now();
    let criterion_dir = root.join("target").join("criterion");
    if !skip.iter().any(|s| s == "criterion" || s == "verify") {
        println!("xtask: criterion: ID-token verification per token");
        let mut cmd = Command::new(&criterion_exe);
        cmd.arg("--bench")
            .env("CRITERION_HOME", &criterion_dir)
            .current_dir(&root);
        if quick {
            cmd.args(["--warm-up-time", "0.5", "--measurement-time", "1"]);
        }
        run("the criterion bench", &mut cmd)?;
    }

    let binary = root.join("target").join("release").join("latchkey-bench");
    let sandbox = Sandbox::new()?;
    let mut cmd = sandbox.command(&binary.to_string_lossy());
    let release = root.join("target").join("release");
    cmd.arg("--app")
        .arg(release.join("latchkey-app"))
        .arg("--hello")
        .arg(release.join("latchkey-hello"))
        .arg("--cli")
        .arg(release.join("latchkey"))
        .arg("--deb")
        .arg(&deb)
        .arg("--peer")
        .arg(&peer_dir)
        .arg("--criterion")
        .arg(&criterion_dir);
    let mut out_file = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => {
                cmd.arg("--quick");
            }
            "--skip" | "--out" => {
                let value = it.next().ok_or(format!("{a} needs a value"))?;
                let value = if a == "--out" {
                    let path = absolute(value);
                    out_file = Some(path.clone());
                    path
                } else {
                    value.clone()
                };
                cmd.arg(a).arg(value);
            }
            other => return Err(format!("unknown argument `{other}`\n\n{HELP}")),
        }
    }
    println!("xtask: latchkey-bench (sandbox: private D-Bus session, gnome-keyring, Xvfb)");
    let machine = Machine::observe();
    run("latchkey-bench", &mut cmd)?;
    let machine = machine.finished();
    print!("\n{machine}");
    if let Some(out) = out_file {
        // The header goes on top of the table, so a recorded run says where it ran.
        let table = std::fs::read_to_string(&out).map_err(|e| format!("{out}: {e}"))?;
        std::fs::write(&out, format!("{machine}\n{table}")).map_err(|e| format!("{out}: {e}"))?;
    }
    println!(
        "xtask: bench finished in {:.0} s (build before it: {:.0} s, not counted)",
        run_started.elapsed().as_secs_f64(),
        build_secs
    );
    Ok(())
}

fn absolute(p: &str) -> String {
    let path = Path::new(p);
    if path.is_absolute() {
        p.to_owned()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path).to_string_lossy().into_owned())
            .unwrap_or_else(|_| p.to_owned())
    }
}
