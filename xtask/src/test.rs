//! `cargo xtask test`: formatting, lints, docs and every test, with real parts underneath.
//! Tests run in a [`Sandbox`]: a private D-Bus session with an unlocked gnome-keyring, under Xvfb.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::prereq::{
    ensure_debian_packages, ensure_debian_packages_without_recommends, ensure_npm_packages,
    ensure_python_packages, ensure_tauri_driver, Sandbox, APP_PACKAGES, TEST_PACKAGES,
};
use crate::{bundle, cargo, cross, prereq, project_root};

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
    // install-launch-uninstall test (tests/bundle_deb.rs): part of every full run as root, so
    // CI proves an installed Latchkey on every change (see README, "Install").
    let deb = match package_test(&filter) {
        PackageTest::Run => build_deb(&root, &mut tally),
        PackageTest::Skip(why) => {
            println!("\nxtask: the .deb install test is skipped: {why}");
            None
        }
        PackageTest::Refuse(why) => {
            eprintln!("\nxtask: {why}");
            tally.check("the .deb install test (cannot run here)", false);
            None
        }
        PackageTest::NotAsked => None,
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

/// What a run does about the package test (build the .deb, install, launch, uninstall).
#[derive(Debug, PartialEq)]
enum PackageTest {
    Run,
    /// Left out, and the run says why.
    Skip(String),
    /// Asked for (or CI) but impossible here: a failure, with what to do.
    Refuse(String),
    /// Not part of this (filtered) run.
    NotAsked,
}

/// The package test runs in every full run on Debian as root (CI's case), and in a run
/// filtered to it. `LATCHKEY_BUNDLE_TEST=0` leaves it out, `=1` insists on it. Under CI, or
/// when insisted on, not being able to run it is a failure, not a skip.
fn package_test(filter: &[String]) -> PackageTest {
    let setting = std::env::var("LATCHKEY_BUNDLE_TEST").ok();
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let wanted_by_filter = filter.is_empty() || filter.iter().any(|f| f.contains("bundle"));
    decide_package_test(&PackageTestFacts {
        linux: cfg!(target_os = "linux"),
        setting: setting.as_deref(),
        ci,
        wanted_by_filter,
        dpkg: prereq::answers("dpkg"),
        root: prereq::is_root(),
        already_installed: prereq::is_installed(DEB_PACKAGE),
    })
}

/// The Debian package the bundler builds (tests/bundle_deb.rs installs and removes it).
const DEB_PACKAGE: &str = "latchkey";

struct PackageTestFacts<'a> {
    linux: bool,
    setting: Option<&'a str>,
    ci: bool,
    wanted_by_filter: bool,
    dpkg: bool,
    root: bool,
    already_installed: bool,
}

fn decide_package_test(facts: &PackageTestFacts) -> PackageTest {
    let insisted = facts.setting == Some("1");
    if !facts.linux || !facts.wanted_by_filter {
        return PackageTest::NotAsked;
    }
    if facts.setting == Some("0") {
        return PackageTest::Skip("LATCHKEY_BUNDLE_TEST=0".into());
    }
    let obstacle = if !facts.dpkg {
        Some("it needs dpkg (Debian or Ubuntu)".to_string())
    } else if !facts.root {
        Some(
            "it installs the package with dpkg -i, which needs root: run \
             `sudo cargo xtask test bundle_deb`"
                .to_string(),
        )
    } else if facts.already_installed {
        Some(format!(
            "the `{DEB_PACKAGE}` package is installed on this machine and the test would \
             replace and remove it: `sudo dpkg -r {DEB_PACKAGE}` first, or \
             LATCHKEY_BUNDLE_TEST=0 to leave the test out"
        ))
    } else {
        None
    };
    match obstacle {
        None => PackageTest::Run,
        Some(why) if insisted || facts.ci => {
            PackageTest::Refuse(format!("the .deb install test cannot run: {why}"))
        }
        Some(why) => PackageTest::Skip(why),
    }
}

/// Builds the .deb with `cargo xtask bundle`'s steps (a release build of the app and the
/// CLI), counts the build as a check and says how long it took.
fn build_deb(root: &std::path::Path, tally: &mut Tally) -> Option<std::path::PathBuf> {
    banner("cargo xtask bundle --bundles deb (release app and CLI, packaged)");
    let started = std::time::Instant::now();
    let built = bundle::package(root, "deb", false);
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
    use super::{decide_package_test, parse_test_result, PackageTest, PackageTestFacts};

    /// A full run on a fresh Debian machine as root, the way CI runs.
    fn ci_machine() -> PackageTestFacts<'static> {
        PackageTestFacts {
            linux: true,
            setting: None,
            ci: true,
            wanted_by_filter: true,
            dpkg: true,
            root: true,
            already_installed: false,
        }
    }

    #[test]
    fn the_package_test_runs_in_ci_and_cannot_be_skipped_there_by_accident() {
        assert_eq!(decide_package_test(&ci_machine()), PackageTest::Run);
        let not_root = PackageTestFacts {
            root: false,
            ..ci_machine()
        };
        assert!(matches!(
            decide_package_test(&not_root),
            PackageTest::Refuse(_)
        ));
        let installed = PackageTestFacts {
            already_installed: true,
            ..ci_machine()
        };
        assert!(matches!(
            decide_package_test(&installed),
            PackageTest::Refuse(_)
        ));
        let opted_out = PackageTestFacts {
            setting: Some("0"),
            ..ci_machine()
        };
        assert!(matches!(
            decide_package_test(&opted_out),
            PackageTest::Skip(_)
        ));
    }

    #[test]
    fn outside_ci_a_missing_precondition_skips_unless_the_test_is_insisted_on() {
        let developer = PackageTestFacts {
            ci: false,
            root: false,
            ..ci_machine()
        };
        assert!(matches!(
            decide_package_test(&developer),
            PackageTest::Skip(_)
        ));
        let insisted = PackageTestFacts {
            setting: Some("1"),
            ..developer
        };
        assert!(matches!(
            decide_package_test(&insisted),
            PackageTest::Refuse(_)
        ));
        let no_dpkg = PackageTestFacts {
            ci: false,
            dpkg: false,
            ..ci_machine()
        };
        assert!(matches!(
            decide_package_test(&no_dpkg),
            PackageTest::Skip(_)
        ));
        let filtered_elsewhere = PackageTestFacts {
            wanted_by_filter: false,
            ..ci_machine()
        };
        assert_eq!(
            decide_package_test(&filtered_elsewhere),
            PackageTest::NotAsked
        );
    }

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
