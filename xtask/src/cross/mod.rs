//! `cargo xtask cross`: Latchkey for Windows and macOS, checked from this Linux machine with
//! Debian's own Rust and std source; Windows tests run under Wine against a devidp on Linux.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::prereq::ensure_debian_packages_without_recommends;
use crate::project_root;
use crate::report::{banner, minutes, run_ok, Tally};

mod lint;
mod wine;

/// Debian's Rust 1.96 with its std source (so `-Zbuild-std` can build std for any target),
/// its clippy, and the MinGW-w64 C toolchain (ring's C code for Windows, the linker).
pub const CROSS_PACKAGES: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "rust-web-clippy",
    "gcc-mingw-w64-x86-64",
];

/// What runs the Windows tests: Wine (64-bit), without its recommendations.
pub const WINE_PACKAGES: &[&str] = &["wine", "wine64"];

/// Debian's cargo (from `cargo-web`), never rustup's: rustup cannot add targets here.
const DEBIAN_CARGO: &str = "/usr/bin/cargo";

pub const WINDOWS: &str = "x86_64-pc-windows-gnu";
pub const MACOS: &str = "aarch64-apple-darwin";

const USAGE: &str = "\
cargo xtask cross [--check-only] [--without-app]

Windows (x86_64-pc-windows-gnu): clippy -D warnings (which type-checks first) on core and the
CLI with their tests, and on the app; a build of the Windows CLI; then core's and the CLI's
tests under Wine, with a development provider running natively on Linux for the cross-OS
sign-in. macOS (aarch64-apple-darwin): clippy -D warnings on core, the CLI and the app, with
the two build scripts that need the macOS SDK left out; nothing is linked or run.
actionlint on .github/workflows. --check-only stops before the Windows build and Wine;
--without-app leaves the app out of the type-checks and lints (what `cargo xtask test` runs).

Installs Debian's rustc-web, cargo-web, rust-web-src, rust-web-clippy, gcc-mingw-w64-x86-64
and Wine when run as root; builds into target/cross/. Ends with `N passed, N failed`.";

#[derive(Default)]
pub struct Options {
    /// Type-check and lint only: no Windows build, no Wine.
    pub check_only: bool,
    /// Leave the app out of the type-checks and lints: Tauri and the webview crates for two
    /// more targets are most of their cost (CI's budget, see `cargo xtask test`).
    pub without_app: bool,
}

pub fn cross(args: &[String]) -> Result<(), String> {
    let mut options = Options::default();
    for arg in args {
        match arg.as_str() {
            "--check-only" => options.check_only = true,
            "--without-app" => options.without_app = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    let mut tally = Tally::default();
    run(&options, &mut tally)?;
    tally.finish()
}

/// Every step of `cargo xtask cross`, counted in `tally` (`cargo xtask test` runs
/// `cross --check-only --without-app` as a process of its own, in the background).
pub fn run(options: &Options, tally: &mut Tally) -> Result<(), String> {
    if !cfg!(target_os = "linux") {
        return Err(
            "`cargo xtask cross` runs on Linux (Debian); on Windows or macOS build \
                    and test natively (see .github/workflows/windows-macos.yml)"
                .into(),
        );
    }
    ensure_debian_packages_without_recommends(
        "checking the Windows and macOS builds",
        CROSS_PACKAGES,
    )?;
    if !options.check_only {
        ensure_debian_packages_without_recommends("the Windows tests", WINE_PACKAGES)?;
    }
    let root = project_root();
    let clock = Clock(Instant::now());
    lint::type_checks_and_lints(&root, options, &clock, tally)?;
    if options.check_only {
        clock.banner("type-checks and lints done");
        return Ok(());
    }
    build_windows_cli(&root, &clock, tally);
    wine::run_tests(&root, &clock, tally)?;
    clock.banner("done");
    Ok(())
}

/// `latchkey.exe`, built with Debian's toolchain; its size is printed.
fn build_windows_cli(root: &Path, clock: &Clock, tally: &mut Tally) {
    clock.banner(&format!(
        "Windows build: cargo build --target {WINDOWS} -p latchkey-cli"
    ));
    let built = run_ok(debian_cargo("build", WINDOWS, root).args([
        "-p",
        "latchkey-cli",
        "--bin",
        "latchkey",
    ]));
    tally.check(&format!("build of latchkey.exe for {WINDOWS}"), built);
    if built {
        let exe = cross_target_dir(root)
            .join(WINDOWS)
            .join("debug")
            .join("latchkey.exe");
        match exe.metadata() {
            Ok(m) => println!("built {} ({} bytes)", exe.display(), m.len()),
            Err(e) => println!("{} is missing: {e}", exe.display()),
        }
    }
}

/// Banners with the time since `cargo xtask cross` started (the steps' costs, for CI budgets).
struct Clock(Instant);

impl Clock {
    fn banner(&self, title: &str) {
        banner(&format!("[{}] {title}", minutes(self.0.elapsed())));
    }
}

/// Where the cross builds go: their own directory, since Debian's toolchain and rustup's
/// cannot share build artefacts.
fn cross_target_dir(root: &Path) -> PathBuf {
    root.join("target").join("cross")
}

/// Debian's cargo for `target`, building std from source, in `target/cross`.
fn debian_cargo(subcommand: &str, target: &str, root: &Path) -> Command {
    let mut command = Command::new(DEBIAN_CARGO);
    command
        .args([
            subcommand,
            "--target",
            target,
            "-Zbuild-std=std,panic_abort",
        ])
        // -Z flags on a stable toolchain; this is how Debian's own packaging builds std.
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", cross_target_dir(root))
        // Debian's rustc, rustdoc and cargo-clippy first, whatever rustup put on PATH.
        .env("PATH", debian_first_path())
        .current_dir(root);
    // rustup's cargo hands these to the processes under it; they would point back at
    // rustup's toolchain.
    for name in [
        "RUSTC",
        "RUSTDOC",
        "RUSTUP_TOOLCHAIN",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO",
        "CARGO_BUILD_RUSTC",
        "CARGO_BUILD_TARGET",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
    ] {
        command.env_remove(name);
    }
    command
}

fn debian_first_path() -> String {
    let rest = std::env::var("PATH").unwrap_or_default();
    format!("/usr/bin:/bin:{rest}")
}
