//! `cargo xtask test`: formatting, lints, docs and every test, with real parts underneath.
//! Tests run in a [`Sandbox`]: a private D-Bus session with an unlocked gnome-keyring, under Xvfb.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::prereq::{
    ensure_debian_packages, ensure_debian_packages_without_recommends, ensure_npm_packages,
    ensure_python_packages, ensure_tauri_driver, Sandbox, APP_PACKAGES, TEST_PACKAGES,
};
use crate::report::{run_ok, Tally, Timeline};
use crate::{bundle, cargo, cross, lanes, linted_build, prereq, project_root};

pub fn test(args: &[String]) -> Result<(), String> {
    let root = project_root();
    let (clock_ahead, filter) = split_clock_ahead(args)?;
    let mut timeline = Timeline::start();
    timeline.phase("prerequisites: Debian, npm and Python packages, tauri-driver");
    let tauri_driver = ensure_prerequisites(&root, &filter)?;
    let mut tally = Tally::default();
    let cross_lints = if filter.is_empty() && cfg!(target_os = "linux") {
        Some(CrossLints::start(&root)?)
    } else {
        None
    };
    if filter.is_empty() {
        format_check(&mut timeline, &mut tally);
        full_test_run(&root, &tauri_driver, &mut timeline, &mut tally);
    } else {
        filtered_test_run(&filter, &tauri_driver, &mut timeline, &mut tally)?;
    }
    if let Some(secs) = clock_ahead {
        clock_ahead_run(secs, &tauri_driver, &mut timeline, &mut tally)?;
    }
    if let Some(lints) = cross_lints {
        timeline.phase("waiting for the Windows and macOS type-checks and lints");
        lints.finish(&mut tally)?;
    }
    timeline.summary();
    tally.finish()
}

/// What the test kit reads to start every provider ahead of the host clock (testkit's
/// `CLOCK_AHEAD_VAR`).
const CLOCK_AHEAD_VAR: &str = "LATCHKEY_TEST_DEVIDP_CLOCK_AHEAD";
/// `--clock-ahead` without a value: a few seconds, more than a client without leeway allows.
const DEFAULT_CLOCK_AHEAD: u64 = 5;

/// `--clock-ahead[=SECS]` out of the arguments (an opt-in extra pass of the core and CLI
/// suites with the providers' clocks ahead: issue 26 item 8); the rest is the test filter.
fn split_clock_ahead(args: &[String]) -> Result<(Option<u64>, Vec<String>), String> {
    let mut secs = None;
    let mut filter = Vec::new();
    for arg in args {
        match arg.strip_prefix("--clock-ahead") {
            Some("") => secs = Some(DEFAULT_CLOCK_AHEAD),
            Some(value) => {
                let value = value.strip_prefix('=').unwrap_or(value);
                secs = Some(value.parse().map_err(|_| {
                    format!("--clock-ahead={value}: give whole seconds, e.g. --clock-ahead=5")
                })?);
            }
            None => filter.push(arg.clone()),
        }
    }
    Ok((secs, filter))
}

/// The Debian, npm and Python packages the run needs; returns tauri-driver's path.
fn ensure_prerequisites(root: &Path, filter: &[String]) -> Result<PathBuf, String> {
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
    Ok(tauri_driver)
}

/// Formatting: a full run's first check (clippy and rustdoc run inside its build: see
/// [`linted_build`]).
fn format_check(timeline: &mut Timeline, tally: &mut Tally) {
    timeline.phase("cargo fmt --check");
    tally.check(
        "cargo fmt --check",
        run_ok(Command::new(cargo()).args(["fmt", "--all", "--check"])),
    );
}

/// The Windows and macOS type-checks and lints of core and the CLI (`cargo xtask cross
/// --check-only --without-app`; the app's, the Windows build and the tests under Wine do not
/// fit CI's budget and run on demand with `cargo xtask cross`). They build into their own
/// target directory with Debian's toolchain and share nothing with the rest of the run, so
/// they run beside it at the lowest CPU priority: they take the cores the run leaves idle
/// (downloads, a browser or a keychain being waited for), and never slow it down. Their
/// output goes to a log, printed whole when they are waited for.
struct CrossLints {
    child: std::process::Child,
    log: PathBuf,
    started: std::time::Instant,
}

impl CrossLints {
    const LOG: &'static str = "target/xtask-cross-lints.log";

    fn start(root: &Path) -> Result<Self, String> {
        let log = root.join(Self::LOG);
        let file = std::fs::File::create(&log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let stderr = file
            .try_clone()
            .map_err(|e| format!("cannot share {}: {e}", log.display()))?;
        let xtask = std::env::current_exe().map_err(|e| format!("where is xtask? {e}"))?;
        let child = Command::new("nice")
            .args(["-n", "19"])
            .arg(xtask)
            .args(["cross", "--check-only", "--without-app"])
            .current_dir(root)
            .stdin(std::process::Stdio::null())
            .stdout(file)
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("could not start the cross lints: {e}"))?;
        println!(
            "\nxtask: the Windows and macOS type-checks and lints run in the background \
             (nice 19); their output: {}",
            log.display()
        );
        Ok(Self {
            child,
            log,
            started: std::time::Instant::now(),
        })
    }

    /// Waits for the lints, prints their log and counts them as one check.
    fn finish(mut self, tally: &mut Tally) -> Result<(), String> {
        let status = self
            .child
            .wait()
            .map_err(|e| format!("waiting for the cross lints: {e}"))?;
        let output = std::fs::read_to_string(&self.log).unwrap_or_default();
        println!("{output}");
        println!(
            "xtask: the cross lints took {:.0} s in the background",
            self.started.elapsed().as_secs_f64()
        );
        tally.check(
            "cargo xtask cross --check-only --without-app (Windows and macOS lints)",
            status.success(),
        );
        Ok(())
    }
}

/// A full run's build and tests: the test binaries are built once, with clippy's lints and
/// rustdoc run on each workspace target as it compiles ([`linted_build`]: no check pass of
/// their own); the .deb for the install-launch-uninstall test (the app's `it` binary, module
/// bundle_deb) packages those same debug binaries ([`bundle::Build::Tests`]) — part of every
/// full run as root, so CI proves an installed Latchkey on every change (CONTRIBUTING.md,
/// "Building the packages"); then the binaries run in two lanes side by side ([`lanes`]).
fn full_test_run(root: &Path, tauri_driver: &Path, timeline: &mut Timeline, tally: &mut Tally) {
    timeline.phase(
        "cargo test --workspace --all-targets --no-run, clippy and rustdoc on every workspace \
         target as it compiles (warnings are errors)",
    );
    let mut env: Vec<(String, PathBuf)> = match linted_build::env() {
        Ok(env) => env.into_iter().map(|(k, v)| (k, v.into())).collect(),
        Err(e) => {
            eprintln!("xtask: {e}");
            tally.check("cargo test --workspace --all-targets --no-run", false);
            return;
        }
    };
    let built = match lanes::build(&env) {
        Ok(built) => built,
        Err(e) => {
            eprintln!("xtask: {e}");
            tally.check("cargo test --workspace --all-targets --no-run", false);
            return;
        }
    };
    tally.check("cargo test --workspace --all-targets --no-run", true);
    let lints = &built.lints;
    if !lints.clean() {
        eprintln!(
            "xtask: clippy, rustc and rustdoc reported {} warning(s) and {} error(s), above",
            lints.warnings, lints.errors
        );
    }
    tally.check(
        "clippy and rustdoc on every workspace target (warnings are errors)",
        lints.clean(),
    );
    env.push(("LATCHKEY_TAURI_DRIVER".into(), tauri_driver.to_path_buf()));
    if let Some(deb) = package_for_the_install_test(root, &[], timeline, tally) {
        env.push(("LATCHKEY_BUNDLE_TEST".into(), "1".into()));
        env.push(("LATCHKEY_DEB".into(), deb));
    }
    timeline.phase("the tests, two lanes side by side (app+cli | others), each in a sandbox");
    lanes::run(lanes::split(built.binaries), &env, tally);
}

/// `--clock-ahead`: core's and the CLI's suites once more, every test provider's clock `secs`
/// ahead of the host's (opt-in, not in CI: issue 26 item 8).
fn clock_ahead_run(
    secs: u64,
    tauri_driver: &Path,
    timeline: &mut Timeline,
    tally: &mut Tally,
) -> Result<(), String> {
    timeline.phase(&format!(
        "core and CLI suites again, every test provider's clock {secs} s ahead (--clock-ahead)"
    ));
    let sandbox = Sandbox::new()?;
    let mut skewed = sandbox.command(&cargo());
    skewed
        .args(["test", "-p", "latchkey-core", "-p", "latchkey-cli"])
        .args(["--test", "it", "--no-fail-fast"])
        .env(CLOCK_AHEAD_VAR, secs.to_string())
        .env("LATCHKEY_TAURI_DRIVER", tauri_driver);
    tally.run_cargo_test(&mut skewed)
}

/// A run filtered to some tests: `cargo test --workspace -- FILTER` in one sandbox (with the
/// package test when the filter asks for it).
fn filtered_test_run(
    filter: &[String],
    tauri_driver: &Path,
    timeline: &mut Timeline,
    tally: &mut Tally,
) -> Result<(), String> {
    let deb = match package_test(filter) {
        PackageTest::Run => {
            timeline.phase("cargo test --workspace --no-run (the build the .deb packages)");
            let built = run_ok(Command::new(cargo()).args(["test", "--workspace", "--no-run"]));
            tally.check("cargo test --workspace --no-run", built);
            built
                .then(|| package_for_the_install_test(&project_root(), filter, timeline, tally))
                .flatten()
        }
        _ => package_for_the_install_test(&project_root(), filter, timeline, tally),
    };
    timeline.phase("cargo test --workspace (D-Bus session + gnome-keyring + Xvfb)");
    let sandbox = Sandbox::new()?;
    let mut command = sandbox.command(&cargo());
    if let Some(deb) = &deb {
        command
            .env("LATCHKEY_BUNDLE_TEST", "1")
            .env("LATCHKEY_DEB", deb);
    }
    command
        .args(["test", "--workspace", "--no-fail-fast", "--"])
        .args(filter)
        .env("LATCHKEY_TAURI_DRIVER", tauri_driver);
    tally.run_cargo_test(&mut command)
}

/// The .deb of the tests' (already built) binaries, when this run tests the package; says
/// why not otherwise.
fn package_for_the_install_test(
    root: &Path,
    filter: &[String],
    timeline: &mut Timeline,
    tally: &mut Tally,
) -> Option<PathBuf> {
    match package_test(filter) {
        PackageTest::Run => {
            timeline.phase("the .deb of those binaries (tauri bundle --debug)");
            build_deb(root, tally)
        }
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
    }
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

/// The Debian package the bundler builds (the app's test module bundle_deb, in
/// tests/it/bundle_deb.rs, installs and removes it).
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

/// Packages the tests' binaries as a .deb, counts it as a check and says how long it took.
fn build_deb(root: &Path, tally: &mut Tally) -> Option<PathBuf> {
    let started = std::time::Instant::now();
    let built = bundle::package(root, "deb", false, bundle::Build::Tests);
    println!(
        "xtask: the .deb took {:.0} s to package",
        started.elapsed().as_secs_f64()
    );
    let deb = built.map(|p| {
        p.into_iter()
            .find(|p| p.extension().is_some_and(|e| e == "deb"))
    });
    tally.check(
        "the .deb of the tests' binaries",
        matches!(deb, Ok(Some(_))),
    );
    if let Err(e) = &deb {
        eprintln!("xtask: {e}");
    }
    deb.ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::{
        decide_package_test, split_clock_ahead, PackageTest, PackageTestFacts, DEFAULT_CLOCK_AHEAD,
    };

    #[test]
    fn clock_ahead_is_an_opt_in_flag_taken_out_of_the_filter() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            split_clock_ahead(&args(&["flow"])).unwrap(),
            (None, args(&["flow"]))
        );
        assert_eq!(
            split_clock_ahead(&args(&["--clock-ahead", "flow"])).unwrap(),
            (Some(DEFAULT_CLOCK_AHEAD), args(&["flow"]))
        );
        assert_eq!(
            split_clock_ahead(&args(&["--clock-ahead=30"])).unwrap(),
            (Some(30), vec![])
        );
        assert!(split_clock_ahead(&args(&["--clock-ahead=soon"])).is_err());
    }

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
}
