//! `cargo xtask`: Latchkey's set-up and orchestration commands.
//! Each command installs what it needs on a fresh Debian machine (or says exactly what is missing).

mod bench;
mod bundle;
mod cross;
mod fuzz;
mod lanes;
mod linted_build;
mod machine;
mod prereq;
mod record_cognito;
mod report;
mod run;
mod shots;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
cargo xtask — set-up and orchestration for Latchkey

USAGE:
    cargo xtask <COMMAND> [ARGS…]

COMMANDS:
    run [ARGS…]       Build and start the desktop app (on the built-in development provider
                      when no profile is configured). Extra ARGS go to the app.
    test [FILTER]     Everything that proves the project works: cargo fmt --check, clippy
                      and rustdoc (warnings are errors; both inside the test build), `cross
                      --check-only --without-app` (Windows and macOS type-checks and lints,
                      beside the rest at low priority), the .deb of the tests' binaries
                      installed and launched (as root), and every test binary of the
                      workspace, in two lanes side by side, each inside a D-Bus session with
                      an unlocked gnome-keyring and under Xvfb. Prints each phase's time;
                      ends with `N passed, N failed`.
                      FILTER is passed to cargo test (and skips the static checks).
                      --clock-ahead[=SECS]: then core's and the CLI's suites once more with
                      every test provider's clock SECS (default 5) ahead (opt-in: not in CI).
    screenshots       Write PNGs of the app's main screens under Xvfb (docs/screenshots/).
    bench             Measure sign-in, restore, refresh, verification, the listener under junk
                      and the app's start-up against a peer; prints one table (BENCHMARKS.md).
    bundle            Build the release app and package it as .deb and .rpm.
    cross [--check-only] [--without-app]
                      Windows and macOS from Linux: type-check and lint core, the CLI and the
                      app for both, build the Windows CLI and run core's and the CLI's tests
                      under Wine (see CONTRIBUTING.md, Platforms).
    fuzz [INPUTS]     Core's fuzz targets (request-head parser, JWT decoder, JWKS parser, ID-token
                      verifier) with INPUTS inputs each, default 1000000, in a release build.
                      `test` runs them with a bounded count.
    record-cognito    Rewrite devidp's discovery and JWKS fixtures from a real user pool through a
                      sanitiser (no token, id or account number is written). Needs the internet
                      and LATCHKEY_LIVE_COGNITO_{REGION,POOL_ID,DOMAIN,CLIENT_ID}; never in CI.
    help              This text.

ENVIRONMENT:
    LATCHKEY_SKIP_INSTALL=1   never run apt-get/npm/cargo install; only report what is missing
    CI=true                   non-interactive (as in .ci/run)

Missing Debian packages are installed with apt-get when running as root; otherwise the exact
`sudo apt-get install …` line is printed and the command exits non-zero.";

fn main() -> ExitCode {
    let all: Vec<String> = std::env::args().skip(1).collect();
    // Before anything else: as cargo's rustc wrapper, the compilation's variables are needed.
    if linted_build::is_wrapper_invocation(all.first().map(String::as_str)) {
        return linted_build::wrap(&all);
    }
    forget_cargo_run_variables();
    let mut args = all.into_iter();
    let command = args.next().unwrap_or_else(|| "help".into());
    let rest: Vec<String> = args.collect();
    if command == "lane" {
        return lanes::lane(&rest);
    }
    let result = match command.as_str() {
        "run" => run::run(&rest),
        "test" => test::test(&rest),
        "screenshots" => shots::screenshots(),
        "bench" => bench::bench(&rest),
        "bundle" => bundle::bundle(&rest),
        "cross" => cross::cross(&rest),
        "fuzz" => fuzz::fuzz(&rest),
        "record-cognito" => record_cognito::record_cognito(&rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!(
            "unknown command `{other}`; run `cargo xtask help` for the list"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo run` hands xtask its own package's variables (`CARGO_PKG_*`, `CARGO_MANIFEST_DIR`, …).
/// Nested builds would inherit them, and build scripts that watch them (ring's does) would then
/// rebuild half the tree whenever a build switches between `cargo` and `cargo xtask`. Drop
/// them once, before any child process starts.
fn forget_cargo_run_variables() {
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_cargo_run_variable) {
            std::env::remove_var(name);
        }
    }
}

fn is_cargo_run_variable(name: &str) -> bool {
    [
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_BIN_",
        "CARGO_CRATE_",
    ]
    .iter()
    .any(|prefix| name.starts_with(prefix))
        || ["CARGO_PRIMARY_PACKAGE", "OUT_DIR"].contains(&name)
}

/// The workspace root (the parent of `xtask/`).
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// The cargo that runs us, so nested builds use the same toolchain.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

#[cfg(test)]
mod tests {
    use super::is_cargo_run_variable;

    #[test]
    fn nested_builds_do_not_inherit_xtask_package_variables() {
        assert!(is_cargo_run_variable("CARGO_PKG_NAME"));
        assert!(is_cargo_run_variable("CARGO_MANIFEST_DIR"));
        assert!(!is_cargo_run_variable("CARGO"));
        assert!(!is_cargo_run_variable("CARGO_HOME"));
        assert!(!is_cargo_run_variable("CARGO_TARGET_DIR"));
    }
}
