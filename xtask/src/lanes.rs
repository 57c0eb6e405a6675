//! The test binaries of a full run, in two lanes side by side: most tests wait (for a browser,
//! a window, a keychain, a provider's fault), so two lanes finish in little more than the
//! longer one's time on CI's two cores. Each lane runs in its own [`Sandbox`] (D-Bus session,
//! gnome-keyring, Xvfb); the app's and the CLI's tests share one lane because both may bind the
//! demo provider's fixed ports (47211/47212). The binaries are built once, by
//! `cargo test --workspace --no-run`, and run directly (as cargo runs them: from their
//! package's directory, with `CARGO` and `CARGO_MANIFEST_DIR` set), so a lane never asks cargo
//! to resolve features for a subset of the workspace, which would rebuild dependencies.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use crate::linted_build::LintCount;
use crate::prereq::Sandbox;
use crate::report::Tally;
use crate::{cargo, project_root};

/// One test harness executable cargo built, and the package it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct TestBinary {
    pub package: String,
    /// What cargo's `Running` line calls it: `tests/it/main.rs`, `unittests src/lib.rs`.
    pub source: String,
    pub executable: PathBuf,
    /// The package's directory: the binary's working directory and `CARGO_MANIFEST_DIR`.
    pub dir: PathBuf,
}

/// The packages whose tests run in the first lane: the app (its package is `latchkey`) and the
/// CLI (see the module doc for why together).
const FIRST_LANE: [&str; 2] = ["latchkey", "latchkey-cli"];

/// What the test build made: the test binaries, and the lints found while building them.
pub struct Built {
    pub binaries: Vec<TestBinary>,
    pub lints: LintCount,
}

/// `cargo test --workspace --all-targets --no-run` with `env` (the linting wrapper's, see
/// [`crate::linted_build`]), returning the test binaries it built (`Err` when the build failed: its
/// diagnostics are on stderr, as usual).
pub fn build(env: &[(String, PathBuf)]) -> Result<Built, String> {
    let mut child = Command::new(cargo())
        .args(["test", "--workspace", "--all-targets", "--no-run"])
        .args(["--message-format", "json-diagnostic-rendered-ansi"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(project_root())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lints = LintCount::default();
    let mut binaries = Vec::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        lints.read(&message);
        binaries.extend(test_binary(&message));
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for cargo: {e}"))?;
    if !status.success() {
        return Err("the test build failed".into());
    }
    if binaries.is_empty() {
        return Err("cargo built no test binary".into());
    }
    Ok(Built { binaries, lints })
}

/// A test harness executable from one of cargo's JSON messages, as `cargo test` would run it
/// (`None` for anything else: libraries, the binaries tests run as programs, build scripts,
/// diagnostics, and the benches and examples `--all-targets` builds in test mode only to lint
/// them).
fn test_binary(message: &serde_json::Value) -> Option<TestBinary> {
    if message["reason"] != "compiler-artifact" || message["profile"]["test"] != true {
        return None;
    }
    let executable = PathBuf::from(message["executable"].as_str()?);
    let manifest = Path::new(message["manifest_path"].as_str()?);
    let target = &message["target"];
    let kinds: Vec<&str> = target["kind"]
        .as_array()?
        .iter()
        .filter_map(|k| k.as_str())
        .collect();
    if kinds.iter().any(|k| ["bench", "example"].contains(k)) {
        return None;
    }
    let src = Path::new(target["src_path"].as_str()?);
    let dir = manifest.parent()?.to_path_buf();
    let relative = src.strip_prefix(&dir).unwrap_or(src).display().to_string();
    let source = if kinds
        .iter()
        .any(|k| ["lib", "bin", "rlib", "cdylib", "staticlib"].contains(k))
    {
        format!("unittests {relative}")
    } else {
        relative
    };
    Some(TestBinary {
        package: package_name(message["package_id"].as_str()?, &dir),
        source,
        executable,
        dir,
    })
}

/// The package's name from cargo's package id: `path+file:///…/cli#latchkey-cli@0.1.0` (or,
/// when the name is the directory's, `path+file:///…/xtask#0.1.0`).
fn package_name(package_id: &str, dir: &Path) -> String {
    let fragment = package_id.rsplit_once('#').map_or("", |(_, f)| f);
    match fragment.split_once('@') {
        Some((name, _)) => name.to_string(),
        None => dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}

/// The two lanes: the app's and the CLI's binaries, then everything else (which also runs the
/// doc tests at its end).
pub fn split(binaries: Vec<TestBinary>) -> [Vec<TestBinary>; 2] {
    let (first, second) = binaries
        .into_iter()
        .partition(|b| FIRST_LANE.contains(&b.package.as_str()));
    [first, second]
}

/// Runs both lanes side by side, each in its own sandbox, with `env` set for every binary;
/// each output line is echoed with its lane's name, and counted into `tally`.
pub fn run(lanes: [Vec<TestBinary>; 2], env: &[(String, PathBuf)], tally: &mut Tally) {
    let names = ["app+cli", "others"];
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let handles: Vec<_> = lanes
            .into_iter()
            .zip(names)
            .enumerate()
            .map(|(i, (binaries, name))| {
                scope.spawn(move || run_lane(name, &binaries, i == 1, env))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a lane's thread does not panic"))
            .collect()
    });
    for lane in tallies {
        tally.absorb(lane);
    }
}

fn run_lane(
    name: &str,
    binaries: &[TestBinary],
    doc_tests: bool,
    env: &[(String, PathBuf)],
) -> Tally {
    let mut tally = Tally::default();
    let sandbox = match Sandbox::new() {
        Ok(sandbox) => sandbox,
        Err(e) => {
            eprintln!("xtask: lane {name}: {e}");
            tally.check(&format!("lane {name} (no sandbox)"), false);
            return tally;
        }
    };
    let exe = std::env::current_exe().expect("xtask knows its own path");
    let mut command = sandbox.command(&exe.to_string_lossy());
    command.arg("lane");
    if doc_tests {
        command.arg("--doc");
    }
    for b in binaries {
        command.arg(&b.dir).arg(&b.executable).arg(&b.source);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    if let Err(e) = tally.run_tests(&mut command, name) {
        eprintln!("xtask: lane {name}: {e}");
        tally.check(&format!("lane {name}"), false);
    }
    tally
}

/// `xtask lane [--doc] (DIR EXECUTABLE SOURCE)…`, inside a sandbox: runs each test binary from
/// its package's directory, as cargo would, then (with `--doc`) the workspace's doc tests.
/// Exits non-zero when any of them failed. Internal to `cargo xtask test`.
pub fn lane(args: &[String]) -> ExitCode {
    let (doc, triples) = match args.first().map(String::as_str) {
        Some("--doc") => (true, &args[1..]),
        _ => (false, args),
    };
    let mut ok = true;
    for t in triples.chunks(3) {
        let [dir, executable, source] = t else {
            eprintln!("xtask lane: expected DIR EXECUTABLE SOURCE triples");
            return ExitCode::from(2);
        };
        eprintln!("     Running {source} ({executable})");
        let status = Command::new(executable)
            .current_dir(dir)
            .env("CARGO", cargo())
            .env("CARGO_MANIFEST_DIR", dir)
            .status();
        ok &= status.is_ok_and(|s| s.success());
    }
    if doc {
        let status = Command::new(cargo())
            .args(["test", "--workspace", "--doc", "--no-fail-fast"])
            .current_dir(project_root())
            .status();
        ok &= status.is_ok_and(|s| s.success());
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(
        package_id: &str,
        kind: &str,
        src: &str,
        test: bool,
        exe: Option<&str>,
    ) -> serde_json::Value {
        serde_json::json!({
            "reason": "compiler-artifact",
            "package_id": package_id,
            "manifest_path": "/w/crates/cli/Cargo.toml",
            "target": {"kind": [kind], "name": "it", "src_path": src},
            "profile": {"test": test},
            "executable": exe,
            "fresh": true,
        })
    }

    #[test]
    fn test_harnesses_are_read_from_cargos_messages_and_nothing_else() {
        let it = artifact(
            "path+file:///w/crates/cli#latchkey-cli@0.1.0",
            "test",
            "/w/crates/cli/tests/it/main.rs",
            true,
            Some("/w/target/debug/deps/it-1"),
        );
        assert_eq!(
            test_binary(&it),
            Some(TestBinary {
                package: "latchkey-cli".into(),
                source: "tests/it/main.rs".into(),
                executable: "/w/target/debug/deps/it-1".into(),
                dir: "/w/crates/cli".into(),
            })
        );
        let unit = artifact(
            "path+file:///w/crates/cli#0.1.0",
            "bin",
            "/w/crates/cli/src/main.rs",
            true,
            Some("/w/target/debug/deps/latchkey-2"),
        );
        let unit = test_binary(&unit).unwrap();
        assert_eq!(
            (unit.package.as_str(), unit.source.as_str()),
            ("cli", "unittests src/main.rs")
        );
        // The program a test runs (CARGO_BIN_EXE_…) is an artifact too, but not a test harness.
        let program = artifact(
            "p#latchkey-cli@0.1.0",
            "bin",
            "/w/crates/cli/src/main.rs",
            false,
            Some("/w/target/debug/latchkey"),
        );
        assert_eq!(test_binary(&program), None);
        let library = artifact(
            "p#latchkey-cli@0.1.0",
            "lib",
            "/w/crates/cli/src/lib.rs",
            false,
            None,
        );
        assert_eq!(test_binary(&library), None);
        // `--all-targets` builds benches and examples in test mode to lint them; `cargo test`
        // does not run them, and neither do the lanes.
        for kind in ["bench", "example"] {
            let linted_only = artifact("p#b@0.1.0", kind, "/w/b.rs", true, Some("/w/t/b-1"));
            assert_eq!(test_binary(&linted_only), None, "{kind}");
        }
        let diagnostic = serde_json::json!({"reason": "compiler-message"});
        assert_eq!(test_binary(&diagnostic), None);
    }

    #[test]
    fn the_app_and_the_cli_share_a_lane_and_every_binary_runs_once() {
        let binary = |package: &str| TestBinary {
            package: package.into(),
            source: "tests/it/main.rs".into(),
            executable: format!("/t/{package}").into(),
            dir: "/w".into(),
        };
        let all: Vec<TestBinary> = [
            "latchkey-core",
            "latchkey",
            "latchkey-devidp",
            "latchkey-cli",
            "xtask",
        ]
        .into_iter()
        .map(binary)
        .collect();
        let [first, second] = split(all.clone());
        let names =
            |lane: &[TestBinary]| lane.iter().map(|b| b.package.clone()).collect::<Vec<_>>();
        assert_eq!(names(&first), ["latchkey", "latchkey-cli"]);
        assert_eq!(
            names(&second),
            ["latchkey-core", "latchkey-devidp", "xtask"]
        );
        assert_eq!(first.len() + second.len(), all.len());
    }
}
