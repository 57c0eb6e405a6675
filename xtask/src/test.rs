//! `cargo xtask test`: formatting, lints, docs and every test, with real parts underneath.
//! Tests run in a [`Sandbox`]: a private D-Bus session with an unlocked gnome-keyring, under Xvfb.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::prereq::{
    ensure_debian_packages, ensure_debian_packages_without_recommends, ensure_npm_packages,
    ensure_python_packages, ensure_tauri_driver, Sandbox, APP_PACKAGES, TEST_PACKAGES,
};
use crate::{bundle, cargo, cross, project_root};

/// What a run found: checks and tests passed and failed, and the names of the failures.
#[derive(Default)]
pub struct Tally {
    passed: u64,
    failed: u64,
    failures: Vec<String>,
}

impl Tally {
    /// Counts one check (fmt, clippy, a build …) as passed or failed.
    pub fn check(&mut self, name: &str, ok: bool) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
            self.failures.push(name.to_string());
        }
    }

    /// Runs a `cargo test` command, echoing its output and counting every test binary's
    /// `test result:` line. A build failure or a crashed test binary counts as one failure.
    pub fn run_cargo_test(&mut self, command: &mut Command) -> Result<(), String> {
        command.stdout(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| format!("could not start {:?}: {e}", command.get_program()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut test_results_seen = 0;
        let failures_before = self.failures.len();
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("reading test output: {e}"))?;
            println!("{line}");
            if let Some((passed, failed)) = parse_test_result(&line) {
                test_results_seen += 1;
                self.passed += passed;
                self.failed += failed;
            }
            if let Some(name) = line
                .strip_prefix("test ")
                .and_then(|l| l.strip_suffix(" ... FAILED"))
            {
                self.failures.push(name.to_string());
            }
        }
        let status = child
            .wait()
            .map_err(|e| format!("waiting for cargo test: {e}"))?;
        if !status.success() && self.failures.len() == failures_before {
            // A build failure or a crashed test binary: no per-test line says so.
            self.check("cargo test (build or test binary failed)", false);
        }
        if test_results_seen == 0 && status.success() {
            self.check("cargo test ran no test binary", false);
        }
        Ok(())
    }

    pub fn passed(&self) -> u64 {
        self.passed
    }

    pub fn failed(&self) -> u64 {
        self.failed
    }

    /// Adds another run's counts and failures to this one.
    pub fn absorb(&mut self, other: Tally) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.failures.extend(other.failures);
    }

    /// Prints the failures and the closing `N passed, N failed` line.
    pub fn finish(self) -> Result<(), String> {
        println!();
        if !self.failures.is_empty() {
            println!("failed:");
            for name in &self.failures {
                println!("    {name}");
            }
        }
        println!("{} passed, {} failed", self.passed, self.failed);
        if self.failed == 0 {
            Ok(())
        } else {
            Err(format!("{} check(s) failed", self.failed))
        }
    }
}

pub fn test(args: &[String]) -> Result<(), String> {
    let root = project_root();
    let filter: Vec<String> = args.to_vec();
    if cfg!(target_os = "linux") {
        ensure_debian_packages("building the desktop app", APP_PACKAGES)?;
        ensure_debian_packages("the test suite", TEST_PACKAGES)?;
    }
    if filter.is_empty() && cfg!(target_os = "linux") {
        ensure_debian_packages_without_recommends(
            "checking the Windows and macOS builds",
            cross::CROSS_PACKAGES,
        )?;
    }
    let tauri_driver = ensure_tauri_driver()?;
    for dir in ["tests/interop", "benches/peer"] {
        ensure_npm_packages(&root.join(dir))?;
    }
    ensure_python_packages(&root.join("tests/interop/aws"))?;

    let mut tally = Tally::default();

    if filter.is_empty() {
        banner("cargo fmt --check");
        tally.check(
            "cargo fmt --check",
            run_ok(Command::new(cargo()).args(["fmt", "--all", "--check"])),
        );

        banner("cargo clippy --workspace --all-targets -- -D warnings");
        tally.check(
            "cargo clippy",
            run_ok(Command::new(cargo()).args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--quiet",
                "--",
                "-D",
                "warnings",
            ])),
        );

        banner("cargo doc --workspace --no-deps (warnings are errors)");
        tally.check(
            "cargo doc",
            run_ok(
                Command::new(cargo())
                    .args(["doc", "--workspace", "--no-deps", "--quiet"])
                    .env("RUSTDOCFLAGS", "-D warnings"),
            ),
        );

        // Windows and macOS type-checks and lints of core and the CLI. The app's (Tauri and
        // the webview crates for two more targets), the Windows build and the tests under
        // Wine do not fit CI's budget: they run on demand with `cargo xtask cross`.
        if cfg!(target_os = "linux") {
            banner("cargo xtask cross --check-only --without-app (Windows and macOS type-checks and lints)");
            let options = cross::Options {
                check_only: true,
                without_app: true,
            };
            cross::run(&options, &mut tally)?;
        }
    }

    // The package users install, built the way `cargo xtask bundle` builds it, for the
    // install-launch-uninstall test (tests/bundle_deb.rs). Opt-in: a cold release build of the
    // app and the CLI adds well over five minutes to the run (see README, "Install").
    let deb = if package_test_wanted(&filter) {
        banner("cargo xtask bundle --bundles deb (release app and CLI, packaged)");
        let started = std::time::Instant::now();
        let built = bundle::package(&root, "deb", false);
        println!(
            "xtask: the .deb took {:.0} s to build",
            started.elapsed().as_secs_f64()
        );
        let deb = built.map(|p| {
            p.into_iter()
                .find(|p| p.extension().is_some_and(|e| e == "deb"))
        });
        tally.check(
            "cargo xtask bundle --bundles deb",
            matches!(deb, Ok(Some(_))),
        );
        if let Err(e) = &deb {
            eprintln!("xtask: {e}");
        }
        deb.ok().flatten()
    } else {
        if filter.is_empty() {
            println!(
                "\nxtask: the .deb install test is opt-in (a release build): \
                 `sudo LATCHKEY_BUNDLE_TEST=1 cargo xtask test` includes it"
            );
        }
        None
    };

    banner("cargo test --workspace (D-Bus session + gnome-keyring + Xvfb)");
    let sandbox = Sandbox::new()?;
    let mut command = sandbox.command(&cargo());
    if let Some(deb) = &deb {
        command
            .env("LATCHKEY_BUNDLE_TEST", "1")
            .env("LATCHKEY_DEB", deb);
    }
    command
        .args(["test", "--workspace", "--no-fail-fast"])
        .args(if filter.is_empty() {
            vec![]
        } else {
            [vec!["--".to_string()], filter].concat()
        })
        .env("LATCHKEY_TAURI_DRIVER", &tauri_driver);
    tally.run_cargo_test(&mut command)?;
    drop(sandbox);
    tally.finish()
}

/// Whether this run builds the .deb for the install test: asked for with
/// `LATCHKEY_BUNDLE_TEST=1`, on Linux, in a full run or one filtered to the bundle test (the
/// test itself says so when it is not run as root).
fn package_test_wanted(filter: &[String]) -> bool {
    cfg!(target_os = "linux")
        && std::env::var("LATCHKEY_BUNDLE_TEST").is_ok_and(|v| v == "1")
        && (filter.is_empty() || filter.iter().any(|f| f.contains("bundle")))
}

pub fn banner(title: &str) {
    println!("\n==> {title}");
}

pub fn run_ok(command: &mut Command) -> bool {
    command.current_dir(project_root());
    match command.status() {
        Ok(status) => status.success(),
        Err(e) => {
            eprintln!("xtask: could not run {command:?}: {e}");
            false
        }
    }
}

/// Parses cargo test's `test result: ok. 12 passed; 0 failed; …` line.
fn parse_test_result(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let words: Vec<&str> = rest.split_whitespace().collect();
    let count = |label: &str| -> Option<u64> {
        words
            .windows(2)
            .find(|pair| pair[1].trim_end_matches([';', ',']) == label)
            .and_then(|pair| pair[0].parse().ok())
    };
    Some((count("passed")?, count("failed")?))
}

#[cfg(test)]
mod tests {
    use super::parse_test_result;

    #[test]
    fn parses_cargo_test_summary_lines() {
        assert_eq!(
            parse_test_result("test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s"),
            Some((12, 0))
        );
        assert_eq!(
            parse_test_result(
                "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out"
            ),
            Some((3, 2))
        );
        assert_eq!(parse_test_result("running 3 tests"), None);
    }
}
